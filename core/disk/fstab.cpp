#include "core/disk/fstab.h"

#include <sstream>

namespace vdiskfs {
namespace {

// fstab's escapes: "\040" is a space, "\011" a tab, "\134" a backslash.
std::string unescape(std::string_view field) {
  auto octal = [](char c) { return c >= '0' && c <= '7'; };
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && field.size() - i >= 4 &&
        field[i + 1] <= '3' && octal(field[i + 1]) && octal(field[i + 2]) && octal(field[i + 3])) {
      out += char((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 + (field[i + 3] - '0'));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

std::string unquote(std::string value) {
  if (value.size() > 1 && value.front() == '"' && value.back() == '"') return value.substr(1, value.size() - 2);
  return value;
}

}  // namespace

std::vector<FstabLine> parse_fstab(std::string_view text) {
  std::vector<FstabLine> lines;
  size_t number = 0;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    FstabLine line;
    line.number = ++number;
    line.text = std::string(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    std::istringstream in(line.text);
    std::string field;
    while (in >> field) {
      if (line.fields.empty() && field[0] == '#') break;
      line.fields.push_back(unescape(field));
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

FstabDevice parse_device(std::string_view spec) {
  static constexpr std::pair<std::string_view, DeviceKind> kTags[] = {
      {"UUID=", DeviceKind::uuid},
      {"LABEL=", DeviceKind::label},
      {"PARTUUID=", DeviceKind::partuuid},
      {"PARTLABEL=", DeviceKind::partlabel},
  };
  for (const auto& [tag, kind] : kTags)
    if (spec.substr(0, tag.size()) == tag) return {kind, unquote(std::string(spec.substr(tag.size())))};
  if (!spec.empty() && spec[0] == '/') return {DeviceKind::path, std::string(spec)};
  return {DeviceKind::other, std::string(spec)};
}

bool has_mount_option(std::string_view options, std::string_view option) {
  while (!options.empty()) {
    const size_t comma = options.find(',');
    if (options.substr(0, comma) == option) return true;
    options = comma == std::string_view::npos ? std::string_view() : options.substr(comma + 1);
  }
  return false;
}

std::optional<RootFsIdentity> parse_fstab_root(const std::string& text) {
  for (const FstabLine& line : parse_fstab(text)) {
    if (line.fields.size() < 2 || line.fields[1] != "/") continue;
    const FstabDevice device = parse_device(line.fields[0]);
    RootFsIdentity id;
    if (device.kind == DeviceKind::uuid) {
      Uuid u;
      if (!parse_uuid(device.value, u)) return std::nullopt;
      id.uuid = u;
      return id;
    }
    if (device.kind == DeviceKind::label) {
      id.label = device.value;
      return id;
    }
    return std::nullopt;  // a device path or PARTUUID: nothing for the filesystem to carry
  }
  return std::nullopt;
}

std::optional<std::string> read_tree_file(const Source& source, std::string_view path) {
  const Tree& tree = source.tree();
  const uint32_t node = tree.lookup(path);
  if (node == kNoIndex || !tree.nodes[node].is_regular()) return std::nullopt;
  const uint64_t size = tree.nodes[node].size;
  if (size > (1 << 20)) return std::nullopt;
  std::string text(size, '\0');
  std::vector<DataSegment> segs;
  tree.data_segments(node, segs);
  for (const DataSegment& s : segs)
    if (!ok(source.read_file(node, s.offset, reinterpret_cast<uint8_t*>(text.data()) + s.offset, s.length)))
      return std::nullopt;
  return text;
}

std::optional<RootFsIdentity> root_identity_from_fstab(const Source& source) {
  const auto text = read_tree_file(source, "etc/fstab");
  if (!text || text->empty()) return std::nullopt;
  return parse_fstab_root(*text);
}

}  // namespace vdiskfs
