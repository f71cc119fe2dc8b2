#include "core/delta/frozen_layer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/delta/delta_log.h"
#include "core/delta/delta_set.h"
#include "core/delta/overlay_file.h"
#include "core/image/error.h"
#include "core/image/io.h"

namespace vdiskfs {
namespace {

constexpr const char* kLayerInfoName = "layer.info";
constexpr const char* kLayerInfoMagic = "vdiskfs-layer 1";

std::string info_path(const std::string& dir) { return dir + "/" + kLayerInfoName; }

std::string file_name_of(const std::string& path) { return std::filesystem::path(path).filename().string(); }

// XXH3-64 of the bytes of file `path`, and its size in bytes.
std::pair<uint64_t, uint64_t> hash_file(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot read {}: {}", path, strerror(errno));
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  std::vector<uint8_t> buf(1 << 20);
  uint64_t bytes = 0;
  ssize_t n;
  while ((n = read(fd, buf.data(), buf.size())) > 0) {
    XXH3_64bits_update(state, buf.data(), size_t(n));
    bytes += uint64_t(n);
  }
  const int err = errno;
  const uint64_t hash = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  close(fd);
  if (n < 0) fail("cannot read {}: {}", path, strerror(err));
  return {hash, bytes};
}

std::string file_line(const LayerFile& f) { return fmt::format("file\t{}\t{}\t{:016x}", f.name, f.bytes, f.hash); }

// The identity of a layer: XXH3-128 of what it was made over and of its
// file lines, 32 hex digits.
std::string layer_identity(const std::string& below, const std::vector<LayerFile>& files) {
  std::string text = below;
  for (const LayerFile& f : files) text += "\n" + file_line(f);
  const XXH128_hash_t h = XXH3_128bits(text.data(), text.size());
  return fmt::format("{:016x}{:016x}", h.high64, h.low64);
}

// Writes `text` to `path` through a temporary file, synced, renamed over.
void write_synced(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("cannot write {}: {}", tmp, strerror(errno));
  const bool done = pwrite_full(fd, text.data(), text.size(), 0).complete() && fsync(fd) == 0;
  const int err = errno;
  close(fd);
  if (!done || rename(tmp.c_str(), path.c_str()) != 0) {
    unlink(tmp.c_str());
    fail("cannot write {}: {}", path, strerror(done ? errno : err ? err : ENOSPC));
  }
}

// One fault of a frozen file, or "" when it has the bytes recorded.
std::string file_fault(const LayerInfo& info, const LayerFile& f) {
  const std::string path = info.dir + "/" + f.name;
  struct stat st;
  if (stat(path.c_str(), &st) != 0)
    return fmt::format("frozen delta {} of layer {} is missing ({}); the disks over this layer cannot be served",
                       path, info.id, strerror(errno));
  if (uint64_t(st.st_size) != f.bytes)
    return fmt::format("frozen delta {} of layer {} was written to after it was frozen: {} bytes, not the {} "
                       "recorded in {}",
                       path, info.id, st.st_size, f.bytes, info_path(info.dir));
  const auto [hash, bytes] = hash_file(path);
  if (hash != f.hash)
    return fmt::format("frozen delta {} of layer {} was written to after it was frozen: its bytes changed (XXH3 "
                       "{:016x}, recorded {:016x} in {})",
                       path, info.id, hash, f.hash, info_path(info.dir));
  return "";
}

// The faults of one layer over identity `expected` (`under` says what that
// is, for the message).
void add_layer_faults(const LayerInfo& info, const std::string& expected, const std::string& under,
                      std::vector<std::string>& faults) {
  if (info.below != expected)
    faults.push_back(fmt::format("layer {} ({}) was frozen over identity {}, but now lies over {} (identity {}): {}",
                                 info.id, info.dir, info.below, under, expected,
                                 under.rfind("the disk", 0) == 0
                                     ? "the disk's source or layout changed since, or a layer under it is missing"
                                     : "the chain of layers is reordered or a layer is missing"));
  for (const LayerFile& f : info.files)
    if (std::string fault = file_fault(info, f); !fault.empty()) faults.push_back(std::move(fault));
  for (const std::string& path : delta_files(info.dir)) {
    const std::string name = file_name_of(path);
    bool known = false;
    for (const LayerFile& f : info.files) known = known || f.name == name;
    if (!known) faults.push_back(fmt::format("layer {} ({}) holds {}, which was not there when it was frozen", info.id,
                                             info.dir, name));
  }
}

// Moves the deltas `to_move` of `delta_dir` into the new layer folder
// `layer_dir`, copies the manifest, writes layer.info and points the
// manifest of `delta_dir` at the layer. On an error everything moved is put
// back.
LayerInfo move_into_layer(const std::string& delta_dir, const std::string& layer_dir, const std::string& id,
                          const std::string& disk, const std::string& below, const std::vector<std::string>& to_move) {
  std::error_code ec;
  if (!std::filesystem::create_directory(layer_dir, ec))
    fail("cannot create layer folder {}: {}", layer_dir, ec ? ec.message() : "it exists");
  std::vector<std::string> moved;
  try {
    for (const std::string& path : to_move) {
      const std::string to = layer_dir + "/" + file_name_of(path);
      if (rename(path.c_str(), to.c_str()) != 0) fail("cannot move {} to {}: {}", path, to, strerror(errno));
      moved.push_back(file_name_of(path));
    }
    std::filesystem::copy_file(manifest_path(delta_dir), manifest_path(layer_dir));
    LayerInfo info = write_layer_info(layer_dir, id, disk, below);
    set_manifest_identity(delta_dir, info.identity);
    std::vector<std::string> layers = recorded_layers(delta_dir);
    layers.push_back(layer_dir);
    record_layers(delta_dir, layers);
    return info;
  } catch (...) {
    for (const std::string& name : moved) rename((layer_dir + "/" + name).c_str(), (delta_dir + "/" + name).c_str());
    std::filesystem::remove_all(layer_dir, ec);
    throw;
  }
}

}  // namespace

LayerInfo read_layer_info(const std::string& dir) {
  std::ifstream in(info_path(dir));
  if (!in) fail("{} is not a frozen layer: it has no readable {}", dir, kLayerInfoName);
  std::string line;
  std::getline(in, line);
  if (line != kLayerInfoMagic) fail("{} is not a vdiskfs layer.info (first line '{}')", info_path(dir), line);
  LayerInfo info;
  info.dir = dir;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key;
    std::getline(fields, key, '\t');
    if (key == "id") std::getline(fields, info.id);
    else if (key == "disk") std::getline(fields, info.disk);
    else if (key == "below") std::getline(fields, info.below);
    else if (key == "identity") std::getline(fields, info.identity);
    else if (key == "file") {
      LayerFile f;
      std::string bytes, hash;
      std::getline(fields, f.name, '\t');
      std::getline(fields, bytes, '\t');
      std::getline(fields, hash);
      try {
        f.bytes = std::stoull(bytes);
        f.hash = std::stoull(hash, nullptr, 16);
      } catch (const std::exception&) {
        fail("{}: bad file line '{}'", info_path(dir), line);
      }
      info.files.push_back(std::move(f));
    }
  }
  if (info.id.empty() || info.disk.empty() || info.below.empty() || info.identity.empty())
    fail("{} lacks its id, disk, below or identity line; the layer is damaged", info_path(dir));
  return info;
}

LayerInfo write_layer_info(const std::string& layer_dir, const std::string& id, const std::string& disk,
                           const std::string& below) {
  LayerInfo info;
  info.dir = layer_dir;
  info.id = id;
  info.disk = disk;
  info.below = below;
  for (const std::string& path : delta_files(layer_dir)) {
    const auto [hash, bytes] = hash_file(path);
    info.files.push_back({file_name_of(path), bytes, hash});
  }
  info.identity = layer_identity(below, info.files);
  std::string text =
      fmt::format("{}\nid\t{}\ndisk\t{}\nbelow\t{}\nidentity\t{}\n", kLayerInfoMagic, id, disk, below, info.identity);
  for (const LayerFile& f : info.files) text += file_line(f) + "\n";
  write_synced(info_path(layer_dir), text);
  return info;
}

LayerInfo freeze_deltas(const std::string& delta_dir, const std::string& layer_dir, const std::string& id,
                        const std::string& disk) {
  const std::string below = manifest_identity(delta_dir);
  if (below.empty()) fail("{} has no manifest: there is nothing to freeze", delta_dir);
  // Held open (and so locked) while they move: no mount can take them.
  // Deltas that hold nothing are not frozen: the files of a clone can
  // differ from its parent's where nothing was written (a descriptor that
  // names the disk), and an empty delta is made again at the next mount.
  std::vector<std::unique_ptr<DeltaLog>> held;
  std::vector<std::string> to_move;
  for (const std::string& path : delta_files(delta_dir)) {
    held.push_back(DeltaLog::open(path));
    const DeltaLog& log = *held.back();
    if (log.empty() && log.size().size == log.header().base_size) continue;
    if (held.back()->sync() != Status::ok) fail("cannot sync delta {}", path);
    to_move.push_back(path);
  }
  LayerInfo info = move_into_layer(delta_dir, layer_dir, id, disk, below, to_move);
  for (const std::string& path : delta_files(delta_dir)) unlink(path.c_str());  // the empty ones left
  return info;
}

LayerInfo freeze_served_deltas(const std::string& delta_dir, const std::string& layer_dir, const std::string& id,
                               const std::string& disk,
                               const std::vector<std::pair<std::string, OverlayFile*>>& files) {
  const std::string below = manifest_identity(delta_dir);
  if (below.empty()) fail("{} has no manifest: there is nothing to freeze", delta_dir);
  std::vector<std::unique_lock<std::shared_mutex>> holds;
  std::vector<std::string> to_move;
  std::vector<bool> kept;
  for (const auto& [name, overlay] : files) {
    holds.push_back(overlay->hold());
    const std::string path = delta_dir + "/" + name + ".delta";
    if (overlay->held_store().sync() != Status::ok) fail("cannot sync delta {}", path);
    kept.push_back(!overlay->held_unchanged());
    if (kept.back()) to_move.push_back(path);
  }
  const LayerInfo info = move_into_layer(delta_dir, layer_dir, id, disk, below, to_move);
  for (size_t i = 0; i < files.size(); ++i) {
    const auto& [name, overlay] = files[i];
    const std::string path = delta_dir + "/" + name + ".delta";
    if (!kept[i]) unlink(path.c_str());  // made again below, over the layer's identity
    const uint64_t size = overlay->held_store().size().size;
    timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    overlay->restack_held(
        DeltaLog::create(path, {delta_base_identity(info.identity, name, size), size,
                                int64_t(now.tv_sec) * 1000000000 + now.tv_nsec}),
        kept[i]);
  }
  return info;
}

std::vector<std::string> layer_faults(const std::vector<std::string>& layer_dirs, const std::string& base_identity) {
  std::vector<std::string> faults;
  std::string expected = base_identity, under = "the disk";
  for (const std::string& dir : layer_dirs) {
    LayerInfo info;
    try {
      info = read_layer_info(dir);
    } catch (const Error& e) {
      faults.push_back(e.what());
      return faults;  // what lies above cannot be checked against it
    }
    add_layer_faults(info, expected, under, faults);
    expected = info.identity;
    under = fmt::format("layer {} ({})", info.id, info.dir);
  }
  return faults;
}

std::string stack_identity(const std::vector<std::string>& layer_dirs, const std::string& base_identity) {
  return layer_dirs.empty() ? base_identity : read_layer_info(layer_dirs.back()).identity;
}

std::shared_ptr<const Image> stack_layers(const std::vector<std::string>& layer_dirs, const std::string& suffix,
                                          std::shared_ptr<const Image> base, const std::string& base_identity) {
  std::string below = base_identity;
  for (const std::string& dir : layer_dirs) {
    const LayerInfo info = read_layer_info(dir);
    const std::string file_name = info.disk + suffix;
    const std::string path = dir + "/" + file_name + ".delta";
    if (std::filesystem::exists(path)) {
      std::unique_ptr<DeltaLog> log = DeltaLog::inspect(path);
      const std::string want = delta_base_identity(below, file_name, base->size());
      if (log->header().base_identity != want)
        fail("frozen delta {} of layer {} was written against '{}', not '{}' (the layer below): a linkage fault; "
             "vdiskfs catalog check lists the faults of the catalog",
             path, info.id, log->header().base_identity, want);
      base = std::make_shared<OverlayFile>(std::move(base), std::move(log));
    }
    below = info.identity;
  }
  return base;
}

}  // namespace vdiskfs
