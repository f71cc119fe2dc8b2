#pragma once
// The rule for a disk's name in the catalog: it becomes a folder name
// (MOUNTPOINT/NAME/ once a catalog is served) and a file name prefix.
#include <string>
#include <string_view>

namespace vdiskfs {

// Why `name` cannot name a disk ("" when it can): empty, longer than 255
// bytes, "." or "..", a leading '-', a '/', or a control character
// (below 0x20, or DEL); other bytes, UTF-8 included, are fine.
std::string disk_name_problem(std::string_view name);

// Throws CatalogError bad_name, saying why, when `name` cannot name a disk.
void check_disk_name(std::string_view name);

}  // namespace vdiskfs
