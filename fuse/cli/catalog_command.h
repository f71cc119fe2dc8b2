#pragma once
// `vdiskfs catalog [--catalog FILE] add|remove|list|show`: the disks a
// machine serves, kept in the catalog (core/catalog/catalog_store.h).
#include <string>

#include "fuse/cli/disk_setup.h"

namespace vdiskfs {

struct CatalogArgs {
  std::string file;       // --catalog FILE ("" = default_catalog_path())
  std::string name;       // NAME of add, remove, show
  LayoutArgs layout;      // add: SOURCE and the layout options of `vdiskfs mount`
  std::string delta_dir;  // add --delta DIR ("" = the state folder's, as mount)
  bool json = false;
  bool keep_delta = false;  // remove --keep-delta: leave its deltas on disk
};

// The default catalog file: catalog.db in the state folder (state_dir()).
std::string default_catalog_path();

// Each runs its command and returns the exit status; a refusal throws
// Error (CatalogError for the catalog file and its disks) with the message.
int catalog_add_command(const CatalogArgs& args);
int catalog_remove_command(const CatalogArgs& args);
int catalog_list_command(const CatalogArgs& args);
int catalog_show_command(const CatalogArgs& args);
// Exit status 0 when no disk has a linkage fault, 1 otherwise.
int catalog_check_command(const CatalogArgs& args);

}  // namespace vdiskfs
