#include "core/disk/fstab.h"

#include <sstream>
#include <vector>

namespace vdiskfs {

std::optional<RootFsIdentity> parse_fstab_root(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string spec, mount_point;
    if (!(fields >> spec >> mount_point) || spec.empty() || spec[0] == '#') continue;
    if (mount_point != "/") continue;
    RootFsIdentity id;
    if (spec.rfind("UUID=", 0) == 0) {
      std::string value = spec.substr(5);
      if (value.size() > 1 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
      Uuid u;
      if (!parse_uuid(value, u)) return std::nullopt;
      id.uuid = u;
      return id;
    }
    if (spec.rfind("LABEL=", 0) == 0) {
      id.label = spec.substr(6);
      return id;
    }
    return std::nullopt;  // a device path or PARTUUID: nothing for the filesystem to carry
  }
  return std::nullopt;
}

std::optional<RootFsIdentity> root_identity_from_fstab(const Source& source) {
  const Tree& tree = source.tree();
  const uint32_t node = tree.lookup("etc/fstab");
  if (node == kNoIndex || !tree.nodes[node].is_regular()) return std::nullopt;
  const uint64_t size = tree.nodes[node].size;
  if (size == 0 || size > (1 << 20)) return std::nullopt;
  std::string text(size, '\0');
  std::vector<DataSegment> segs;
  tree.data_segments(node, segs);
  for (const DataSegment& s : segs)
    if (!ok(source.read_file(node, s.offset, reinterpret_cast<uint8_t*>(text.data()) + s.offset, s.length)))
      return std::nullopt;
  return parse_fstab_root(text);
}

}  // namespace vdiskfs
