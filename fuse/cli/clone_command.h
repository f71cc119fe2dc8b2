#pragma once
// `vdiskfs clone NAME NEW` and `vdiskfs clone merge NEW`: writable linked
// clones of a catalog disk. A clone freezes its parent's deltas into a
// read-only layer (core/delta/frozen_layer.h) on which parent and clone
// each go on with a delta of their own.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "core/catalog/catalog_store.h"
#include "core/delta/frozen_layer.h"

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

// What a clone made: the new frozen layer (none when the parent had
// written nothing since its last clone) and its bytes.
struct CloneOutcome {
  std::optional<std::string> layer_id;
  std::string layer_dir;
  uint64_t frozen_bytes = 0;
};

// How the parent's writes get frozen into a new layer: (layer folder, id)
// -> the layer, or nullopt when there was nothing to freeze.
using FreezeFn = std::function<std::optional<LayerInfo>(const std::string& layer_dir, const std::string& id)>;

// Records `clone` (its parent, name, delta folder set) of `parent` in
// `store` of catalog file `catalog_file`, after `freeze` made the parent's
// new layer; `undo` puts a frozen layer back when the catalog refuses
// (nothing: the layer stays, unlisted). Throws CatalogError duplicate_name
// before freezing anything, and what freeze throws.
CloneOutcome record_clone(CatalogStore& store, const std::string& catalog_file, const CatalogDisk& parent,
                          const CatalogDisk& clone, const FreezeFn& freeze,
                          const std::function<void(const LayerInfo&)>& undo);
// True when delta folder `dir` holds writes that a clone must see.
bool holds_writes(const std::string& dir);
// CloneOutcome as the daemon answers it, and back.
std::string clone_outcome_json(const CloneOutcome& outcome);
CloneOutcome clone_outcome_of_json(const std::string& json);

// Each runs its command and returns the exit status; a refusal throws
// Error (CatalogError for the catalog and its disks) with the message.
int clone_command(const CloneArgs& args);
int clone_merge_command(const CloneArgs& args);

}  // namespace vdiskfs
