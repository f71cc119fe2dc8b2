#pragma once
// `vdiskfs clone NAME NEW` and `vdiskfs clone merge NEW`: writable linked
// clones of a catalog disk. A clone freezes its parent's deltas into a
// read-only layer (core/delta/frozen_layer.h) on which parent and clone
// each go on with a delta of their own.
#include <string>

namespace vdiskfs {

struct CloneArgs {
  std::string file;       // --catalog FILE ("" = default_catalog_path())
  std::string name;       // NAME: the disk to clone (merge: the clone)
  std::string new_name;   // NEW: the clone's name
  std::string delta_dir;  // --delta DIR for the clone ("" = the state folder's)
  bool force = false;     // merge: drop the parent's own writes since the clone
  bool json = false;
};

// The folder of frozen layer `id` of catalog `catalog_file`: layers/<id>
// beside the catalog file.
std::string layer_dir_of(const std::string& catalog_file, const std::string& id);

// Each runs its command and returns the exit status; a refusal throws
// Error (CatalogError for the catalog and its disks) with the message.
int clone_command(const CloneArgs& args);
int clone_merge_command(const CloneArgs& args);

}  // namespace vdiskfs
