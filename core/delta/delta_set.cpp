#include "core/delta/delta_set.h"

#include <unistd.h>
#include <fmt/format.h>
#include <xxhash.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "core/delta/delta_log.h"
#include "core/delta/frozen_layer.h"
#include "core/image/error.h"
#include "core/image/log.h"

namespace vdiskfs {
namespace {

constexpr const char* kManifestName = "base.manifest";
// Lists the frozen layers a delta folder stands on (one folder a line,
// bottom first), so that a mount without them is refused, never served
// without the layers' writes.
constexpr const char* kLayersName = "layers.list";

std::string layers_path(const std::string& dir) { return dir + "/" + kLayersName; }

}  // namespace

std::vector<std::string> recorded_layers(const std::string& dir) {
  std::vector<std::string> layers;
  std::ifstream in(layers_path(dir));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) layers.push_back(line);
  return layers;
}

void record_layers(const std::string& dir, const std::vector<std::string>& layers) {
  if (layers.empty()) {
    unlink(layers_path(dir).c_str());
    return;
  }
  const std::string tmp = layers_path(dir) + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (const std::string& l : layers) out << l << "\n";
    out.flush();
    if (!out) fail("cannot write {}", tmp);
  }
  if (rename(tmp.c_str(), layers_path(dir).c_str()) != 0) fail("cannot write {}: {}", layers_path(dir), strerror(errno));
}

namespace {
constexpr const char* kManifestMagic = "vdiskfs-manifest 1";

// Escapes tab, newline and backslash so a path fits one manifest field.
std::string escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\t') out += "\\t";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string entry_line(const Tree& tree, uint32_t node, const std::string& path) {
  const Node& n = tree.nodes[node];
  std::string line = fmt::format("{:o}\t{}\t{}\t{}\t{}\t", n.mode, n.uid, n.gid, n.size, int64_t(n.mtime.wrapped_ns()));
  if (n.is_symlink()) line += escape(tree.link_target(n));
  line += "\t" + escape(path);
  return line;
}

// Path of one name (a hard-linked node has several; relative_path gives
// only the first).
std::string dirent_path(const Tree& tree, const Dirent& d) {
  const std::string parent = tree.relative_path(d.parent);
  return parent.empty() ? std::string(tree.name(d)) : parent + "/" + std::string(tree.name(d));
}

// The tab-separated fields of a manifest line.
std::vector<std::string> split_fields(const std::string& line) {
  std::vector<std::string> fields;
  std::istringstream in(line);
  for (std::string f; std::getline(in, f, '\t');) fields.push_back(f);
  return fields;
}

}  // namespace

bool deltas_hold_nothing(const std::string& dir) {
  for (const std::string& file : delta_files(dir)) {
    try {
      auto log = DeltaLog::inspect(file);
      if (!log->empty() || log->size().size != log->header().base_size) return false;
    } catch (const Error&) {
      return false;  // unreadable: keep it, and let the refusal explain
    }
  }
  return true;
}

std::string manifest_path(const std::string& dir) { return dir + "/" + kManifestName; }

void write_manifest(const std::string& path, const std::string& identity_hex, const std::string& layout,
                    const Tree& tree) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << kManifestMagic << "\nidentity\t" << identity_hex << "\nlayout\t" << escape(layout) << "\n";
    out << entry_line(tree, 0, "") << "\n";
    for (const Dirent& d : tree.dirents) out << entry_line(tree, d.node, dirent_path(tree, d)) << "\n";
    out.flush();
    if (!out) fail("cannot write manifest {}", tmp);
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) fail("cannot write manifest {}: {}", path, strerror(errno));
}

std::string manifest_identity(const std::string& dir) {
  std::ifstream in(manifest_path(dir));
  std::string magic, line;
  std::getline(in, magic);
  std::getline(in, line);
  return magic == kManifestMagic && line.rfind("identity\t", 0) == 0 ? line.substr(9) : "";
}

void set_manifest_identity(const std::string& dir, const std::string& identity_hex) {
  const std::string path = manifest_path(dir), tmp = path + ".tmp";
  {
    std::ifstream in(path);
    std::ofstream out(tmp, std::ios::trunc);
    std::string line;
    for (int n = 0; std::getline(in, line); ++n) out << (n == 1 ? "identity\t" + identity_hex : line) << "\n";
    out.flush();
    if (!in.eof() || !out) fail("cannot rewrite manifest {}", path);
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) fail("cannot rewrite manifest {}: {}", path, strerror(errno));
}

std::string manifest_layout(const std::string& dir) {
  std::ifstream in(manifest_path(dir));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("layout\t", 0) == 0) return line.substr(7);
  return "";
}

std::vector<std::string> manifest_changes(const std::string& path, const std::string& layout,
                                          const Tree& tree, size_t limit) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  std::vector<std::string> changes;
  auto add = [&](std::string s) {
    if (changes.size() < limit) changes.push_back(std::move(s));
    else if (changes.size() == limit) changes.push_back("...");
  };
  std::unordered_map<std::string, std::string> old_entries;  // path -> fields
  std::string old_layout;
  while (std::getline(in, line)) {
    if (line.rfind("identity\t", 0) == 0) continue;
    if (line.rfind("layout\t", 0) == 0) {
      old_layout = line.substr(7);
      continue;
    }
    const size_t cut = line.rfind('\t');
    if (cut == std::string::npos) continue;
    old_entries.emplace(line.substr(cut + 1), line.substr(0, cut));
  }
  if (old_layout != escape(layout)) add(fmt::format("layout options changed: '{}' -> '{}'", old_layout, escape(layout)));
  std::unordered_map<std::string, bool> seen;
  auto check = [&](uint32_t node, const std::string& p) {
    const std::string now = entry_line(tree, node, p);
    const std::string fields = now.substr(0, now.rfind('\t'));
    const std::string key = escape(p);
    seen[key] = true;
    auto it = old_entries.find(key);
    const std::string shown = p.empty() ? "/" : p;
    if (it == old_entries.end()) return add("added: " + shown);
    if (it->second == fields) return;
    // Fields: mode, uid, gid, size, mtime, link target.
    const auto a = split_fields(it->second), b = split_fields(fields);
    auto field = [](const std::vector<std::string>& v, size_t i) { return i < v.size() ? v[i] : std::string(); };
    const std::string mode_a = field(a, 0), uid_a = field(a, 1), gid_a = field(a, 2), size_a = field(a, 3),
                      mtime_a = field(a, 4);
    const std::string mode_b = field(b, 0), uid_b = field(b, 1), gid_b = field(b, 2), size_b = field(b, 3),
                      mtime_b = field(b, 4);
    if (size_a != size_b) add(fmt::format("changed size: {} ({} -> {} bytes)", shown, size_a, size_b));
    else if (mtime_a != mtime_b) add("modified (mtime): " + shown);
    else if (mode_a != mode_b) add(fmt::format("mode changed: {} ({} -> {})", shown, mode_a, mode_b));
    else if (uid_a != uid_b || gid_a != gid_b) add("owner changed: " + shown);
    else add("changed: " + shown);
  };
  check(0, "");
  for (const Dirent& d : tree.dirents) check(d.node, dirent_path(tree, d));
  for (const auto& [p, fields] : old_entries)
    if (!seen.count(p)) add("removed: " + p);
  return changes;
}

DeltaSet::DeltaSet(DeltaSetOptions options, const Identity& identity, const std::string& layout,
                   const Tree& tree)
    : options_(std::move(options)), disk_identity_hex_(identity.hex()), identity_hex_(identity.hex()) {
  if (options_.mode == DeltaMode::none) return;
  if (!options_.layers.empty()) {
    const std::vector<std::string> faults = layer_faults(options_.layers, disk_identity_hex_);
    if (!faults.empty())
      fail("linkage fault: the frozen layers under this disk do not hold:\n  {}\nThe disk is refused; "
           "vdiskfs catalog check lists every fault of the catalog",
           fmt::join(faults, "\n  "));
    identity_hex_ = stack_identity(options_.layers, disk_identity_hex_);
  }
  if (options_.mode != DeltaMode::directory) return;
  const std::string& dir = options_.dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail("cannot create delta folder {}: {}", dir, ec.message());
  if (options_.discard) {
    const int n = discard_deltas(dir);
    if (n) log_info("discarded {} file(s) of the old delta in {}", n, dir);
  }
  if (const auto recorded = recorded_layers(dir); !recorded.empty() && options_.layers.empty())
    fail("the delta in {} stands on frozen layers ({}, ...: a disk of a catalog with clones); without them its "
         "writes would be lost from view. Serve it with vdiskfs serve, or mount with --discard-delta to drop the "
         "delta and start fresh",
         dir, recorded.front());
  const std::string manifest = manifest_path(dir);
  record_layers(dir, options_.layers);
  if (std::filesystem::exists(manifest)) {
    std::ifstream in(manifest);
    std::string magic, id_line;
    std::getline(in, magic);
    std::getline(in, id_line);
    if (magic != kManifestMagic) fail("{} is not a vdiskfs manifest; pass --discard-delta to start fresh", manifest);
    if (id_line == "identity\t" + identity_hex_) return;  // same base: deltas apply
    if (deltas_hold_nothing(dir)) {  // nothing written: nothing to lose
      discard_deltas(dir);
      log_info("the empty delta in {} belonged to an older state of the source; starting fresh", dir);
      write_manifest(manifest, identity_hex_, layout, tree);
      return;
    }
    if (!options_.layers.empty())
      fail("linkage fault: the delta in {} was written over identity {}, but the disk's top frozen layer {} has "
           "identity {}: its layers changed under it. Restore the catalog's layers, or mount with --discard-delta",
           dir, id_line.substr(9), options_.layers.back(), identity_hex_);
    const auto changes = manifest_changes(manifest, layout, tree, 20);
    std::string list;
    for (const std::string& c : changes) list += "\n  " + c;
    if (changes.empty()) list = "\n  (no entry differs; the disk layout version changed)";
    fail("the delta in {} was written against a different base (identity {}, now {}). What changed:{}\n"
         "Restore the source, or mount with --discard-delta to drop the delta and start fresh.",
         dir, id_line.substr(9), identity_hex_, list);
  }
  write_manifest(manifest, identity_hex_, layout, tree);
}

std::string delta_base_identity(const std::string& identity_hex, const std::string& file_name, uint64_t base_size) {
  return fmt::format("{}|{}|{}", identity_hex, file_name, base_size);
}

std::shared_ptr<const Image> DeltaSet::lower(const std::string& file_name, std::shared_ptr<const Image> base) const {
  if (options_.mode == DeltaMode::none) return base;
  if (options_.layers.empty()) return base;
  if (file_name.rfind(options_.disk_name, 0) != 0)
    fail("exposed file {} is not a file of disk {}", file_name, options_.disk_name);
  return stack_layers(options_.layers, file_name.substr(options_.disk_name.size()), std::move(base),
                      disk_identity_hex_);
}

std::unique_ptr<PageStore> DeltaSet::open(const std::string& file_name, uint64_t base_size) const {
  if (options_.mode == DeltaMode::memory) return std::make_unique<MemoryPageStore>(DeltaSize{base_size, base_size});
  const std::string path = options_.dir + "/" + file_name + ".delta";
  const std::string want = delta_base_identity(identity_hex_, file_name, base_size);
  if (!std::filesystem::exists(path)) {
    timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return DeltaLog::create(path, {want, base_size, int64_t(now.tv_sec) * 1000000000 + now.tv_nsec});
  }
  auto log = DeltaLog::open(path);
  if (log->header().base_identity != want)
    fail("delta {} belongs to base '{}', not '{}'; mount with --discard-delta to start fresh", path,
         log->header().base_identity, want);
  return log;
}

std::string state_dir() {
  if (geteuid() == 0) return "/var/lib/vdiskfs";
  if (const char* state = getenv("XDG_STATE_HOME"); state && *state) return std::string(state) + "/vdiskfs";
  const char* home = getenv("HOME");
  return std::string(home ? home : "/tmp") + "/.local/state/vdiskfs";
}

std::string default_delta_dir(const std::string& name, const std::string& canonical_source) {
  const uint64_t h = XXH3_64bits(canonical_source.data(), canonical_source.size());
  return fmt::format("{}/{}-{:08x}", state_dir(), name, uint32_t(h));
}

std::vector<std::string> delta_files(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) return {path};
  if (!std::filesystem::is_directory(path, ec)) fail("{} is neither a delta file nor a delta folder", path);
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(path, ec))
    if (e.is_regular_file() && e.path().string().ends_with(".delta")) files.push_back(e.path().string());
  if (ec) fail("cannot list {}: {}", path, ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

int discard_deltas(const std::string& path) {
  int count = 0;
  for (const std::string& file : delta_files(path)) {
    DeltaLog::read_header(file);  // refuse to delete what is not a delta
    if (unlink(file.c_str()) != 0) fail("cannot delete {}: {}", file, strerror(errno));
    ++count;
  }
  if (std::filesystem::is_directory(path) && unlink(manifest_path(path).c_str()) == 0) ++count;
  if (std::filesystem::is_directory(path) && unlink(layers_path(path).c_str()) == 0) ++count;
  return count;
}

}  // namespace vdiskfs
