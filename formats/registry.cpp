#include "formats/registry.h"

#include <algorithm>
#include <sstream>

#include "core/image/error.h"
#include "core/image/log.h"
#include "formats/format_table.h"

namespace vdiskfs {
namespace {

// The names of every format, joined by ", ".
std::string all_names() {
  std::string out;
  for (const ContainerFormat& f : container_formats()) out += (out.empty() ? "" : ", ") + std::string(f.name);
  return out;
}

bool known(const std::string& name) {
  const auto& table = container_formats();
  return std::any_of(table.begin(), table.end(), [&](const ContainerFormat& f) { return f.name == name; });
}

}  // namespace

std::vector<std::string> parse_formats(const std::string& list) {
  std::vector<std::string> chosen;
  if (list.empty() || list == "all") {
    for (const ContainerFormat& f : container_formats()) chosen.emplace_back(f.name);
    return chosen;
  }
  std::stringstream in(list);
  std::string name;
  while (std::getline(in, name, ',')) {
    if (!known(name)) fail("unknown format '{}' in --formats; choose from {}", name, all_names());
    if (std::find(chosen.begin(), chosen.end(), name) == chosen.end()) chosen.push_back(name);
  }
  if (chosen.empty()) fail("--formats names no format");
  return chosen;
}

std::vector<ContainerFile> build_containers(const ContainerInput& in, const std::vector<std::string>& formats) {
  std::vector<ContainerFile> files;
  for (const ContainerFormat& f : container_formats()) {
    if (std::find(formats.begin(), formats.end(), f.name) == formats.end()) continue;
    if (!disk_fits(f, in)) {
      const std::string suffixes = format_suffixes(f, " and ");
      if (f.beyond == BeyondLimit::left_out) {
        log_warning("no {} for {}: the disk ({} bytes) exceeds {}", suffixes, in.name, in.disk->size(), f.limit);
        continue;
      }
      fail("cannot expose {} for {}: the disk ({} bytes) exceeds {}; leave {} out of --formats", suffixes,
           in.name, in.disk->size(), f.limit, f.name);
    }
    for (ContainerFile& file : f.build(in, f)) files.push_back(std::move(file));
  }
  return files;
}

}  // namespace vdiskfs
