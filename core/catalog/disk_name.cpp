#include "core/catalog/disk_name.h"

#include <fmt/core.h>

#include "core/catalog/catalog_error.h"

namespace vdiskfs {

std::string disk_name_problem(std::string_view name) {
  if (name.empty()) return "it is empty";
  if (name.size() > 255) return fmt::format("it is {} bytes long, more than a folder name's 255", name.size());
  if (name == "." || name == "..") return "it names a folder itself";
  if (name.front() == '-') return "it starts with '-' (commands would take it for an option)";
  if (name.find('/') != std::string_view::npos) return "it holds a '/'";
  for (const char c : name)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return fmt::format("it holds the control character 0x{:02x}", static_cast<unsigned char>(c));
  return "";
}

void check_disk_name(std::string_view name) {
  if (const std::string problem = disk_name_problem(name); !problem.empty())
    fail_catalog(CatalogFault::bad_name, "'{}' cannot name a disk: {} (a disk's name becomes a folder name)", name,
                 problem);
}

}  // namespace vdiskfs
