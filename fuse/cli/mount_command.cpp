#include "fuse/cli/mount_command.h"

#include <fmt/core.h>
#include <malloc.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/image/error.h"
#include "core/image/log.h"
#include "core/source/source_factory.h"
#include "core/delta/delta_set.h"
#include "core/restore/restore_manager.h"
#include "formats/format_table.h"
#include "formats/registry.h"
#include "fuse/file_table.h"
#include "fuse/fuse_ops.h"
#include "fuse/mount_point.h"

namespace vdiskfs {
namespace {

// The delta folder of a mount, before the disk is built.
std::string delta_dir_of(const MountArgs& args, const std::string& source_path) {
  if (!args.delta_dir.empty()) return args.delta_dir;
  return default_disk_delta_dir(args.name.empty() ? source_default_name(source_path) : args.name, args.layout,
                                source_path);
}

// The layout arguments of a mount: a delta made with the single layout
// (before layouts from fstab) keeps it when no layout option is given.
LayoutArgs layout_of_delta(const MountArgs& args) {
  LayoutArgs layout = args.layout;
  if (!layout.layout.empty() || !layout.layout_from.empty() || args.read_only || args.delta_memory || args.discard_delta)
    return layout;
  const std::string dir = delta_dir_of(args, resolve_source(layout.source));
  if (!single_layout_text(manifest_layout(dir))) return layout;
  layout.single_for_delta = dir;
  return layout;
}

// The mount's counters as JSON: the source's (a share's block cache) and
// the delta's size per exposed file.
std::string stats_json(const Source& source, const FileTable& files) {
  nlohmann::ordered_json j;
  j["source"] = source.describe();
  nlohmann::ordered_json counters = nlohmann::ordered_json::object();
  for (const auto& [name, value] : source.stats()) counters[name] = value;
  j["source_counters"] = counters;
  for (size_t i = 0; i < files.size(); ++i) j["files"][files.at(i).name] = {{"held_bytes", files.at(i).held_bytes()}};
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);  // names need not be UTF-8
}

// QEMU's name for the format of the exposed file with `suffix` (raw for the
// disk itself).
std::string qemu_format_of(const std::string& suffix) {
  for (const ContainerFormat& format : container_formats())
    for (const FormatFile& file : format.files)
      if (file.suffix == suffix && !file.qemu_format.empty()) return std::string(file.qemu_format);
  return "raw";
}

// Where the restore of `file_name` keeps its progress record: beside the
// deltas, or for a delta in memory under the state folder.
std::string restore_record_path(const DeltaSetOptions& delta, const std::string& identity_hex,
                                const std::string& file_name) {
  std::string dir = delta.dir;
  if (delta.mode != DeltaMode::directory) {
    dir = fmt::format("{}/restore/{}", state_dir(), identity_hex.substr(0, 16));
    std::filesystem::create_directories(dir);
  }
  return std::filesystem::absolute(dir).lexically_normal().string() + "/" + file_name + ".restore";
}

// A restore slot for an exposed file served through `overlay`.
std::shared_ptr<RestoreSlot> restore_slot(const ExposedFile& f, std::shared_ptr<const Image> base,
                                          const std::shared_ptr<OverlayFile>& overlay, std::string format,
                                          std::string record_path, const std::string& identity_hex) {
  RestoreFile rf;
  rf.name = f.name;
  rf.image = f.image;
  rf.base = std::move(base);
  rf.delta_pages = [overlay] { return overlay->delta_pages(); };
  rf.format = std::move(format);
  rf.record_path = std::move(record_path);
  rf.identity = fmt::format("{}:{}:{}", identity_hex, f.name, f.base_size);  // a grown container stays itself
  return std::make_shared<RestoreSlot>(std::move(rf));
}

}  // namespace

std::string default_disk_delta_dir(const std::string& name, const LayoutArgs& layout, const std::string& source_path) {
  // Each point in time of a chain (--at) writes to a delta of its own.
  const std::string key = layout.at ? fmt::format("{}@{}", source_path, layout.at) : source_path;
  return default_delta_dir(name, key);
}

int stats_command(const std::string& mount_point, bool json) {
  std::string value(1 << 16, '\0');
  const ssize_t n = getxattr(mount_point.c_str(), kStatsXattr, value.data(), value.size());
  if (n < 0) {
    if (errno == ENODATA || errno == ENOTSUP)
      fail("{} is not a vdiskfs mount with counters (no {} attribute)", mount_point, kStatsXattr);
    fail("cannot read the counters of {}: {}", mount_point, strerror(errno));
  }
  value.resize(size_t(n));
  if (json) {
    std::printf("%s\n", value.c_str());
    return 0;
  }
  const auto j = nlohmann::ordered_json::parse(value);
  std::printf("%-24s %s\n", "source", j["source"].get<std::string>().c_str());
  for (const auto& [name, v] : j["source_counters"].items()) std::printf("%-24s %s\n", name.c_str(), v.dump().c_str());
  for (const auto& [name, v] : j["files"].items())
    std::printf("%-24s %s\n", (name + " held").c_str(), v["held_bytes"].dump().c_str());
  return 0;
}

ExposedDisk expose_disk(const MountArgs& args) {
  ExposedDisk out;
  out.prepared = prepare_disk(layout_of_delta(args));
  PreparedDisk& prepared = out.prepared;
  if (prepared.source_path == args.mount_point) fail("source and mount point are the same directory");
  const std::string name = args.name.empty() ? source_default_name(prepared.source_path) : args.name;
  if (name.find('/') != std::string::npos || name == "." || name == "..")
    fail("--name {} is not a plain file name", name);
  out.name = name;

  const Disk& disk = prepared.disk;
  const Tree& tree = prepared.source->tree();
  const std::vector<std::string> formats = parse_formats(args.formats);
  ContainerInput input;
  input.disk = disk.image;
  disk.image->data_ranges(input.data);
  input.identity = disk.identity;
  input.name = name;
  input.timestamp_ns = disk.timestamp_ns;
  if (int(args.read_only) + int(args.delta_memory) + int(!args.delta_dir.empty()) > 1)
    fail("choose one of --read-only, --delta-memory and --delta DIR");
  DeltaSetOptions delta;
  delta.mode = args.read_only ? DeltaMode::none : args.delta_memory ? DeltaMode::memory : DeltaMode::directory;
  delta.dir = delta_dir_of(args, prepared.source_path);
  delta.discard = args.discard_delta;
  delta.layers = args.delta_layers;
  delta.disk_name = name;
  const DeltaSet deltas(delta, disk.identity, disk.layout, tree);
  for (ContainerFile& f : build_containers(input, formats)) {
    const std::string file_name = name + f.suffix;
    std::shared_ptr<OverlayFile> overlay;  // none on --read-only: the base is served itself
    const std::shared_ptr<const Image> lower = deltas.lower(file_name, f.image);
    if (delta.mode != DeltaMode::none)
      overlay = std::make_shared<OverlayFile>(lower, deltas.open(file_name, lower->size()));
    ExposedFile exposed = expose(file_name, lower, overlay, disk.timestamp_ns, f.allocated_bytes);
    if (overlay) {
      out.restores.push_back(restore_slot(exposed, lower, overlay, qemu_format_of(f.suffix),
                                          restore_record_path(delta, disk.identity.hex(), file_name),
                                          disk.identity.hex()));
      exposed.tap = out.restores.back();
    }
    out.files.add(std::move(exposed));
  }
  if (delta.mode == DeltaMode::directory && !args.layout.quiet) log_info("writes go to the delta in {}", delta.dir);

  malloc_trim(0);  // give the scan's and layout's scratch memory back
  if (!args.layout.quiet)
    log_info("{}: {} entries, {:.1f} MiB of data -> {}/{}.* ({:.1f} MiB disk, {} UUID {}, "
             "identity {}); scan {:.2f} s, layout {:.2f} s",
             prepared.source_path, tree.dirents.size() + 1, double(tree.data_bytes()) / (1 << 20),
             args.mount_point, name, double(disk.image->size()) / (1 << 20), disk.volume.type, disk.volume.uuid_text,
             disk.identity.hex(), prepared.scan_seconds, prepared.layout_seconds);
  return out;
}

int mount_command(const MountArgs& given) {
  if (!given.log_file.empty() && !log_to_file(given.log_file))
    fail("cannot open log file {}", given.log_file);
  MountArgs args = given;
  args.mount_point = check_mount_point(given.mount_point);
  const std::string& mount_point = args.mount_point;
  const ExposedDisk exposed = expose_disk(args);
  const PreparedDisk& prepared = exposed.prepared;
  const FileTable& files = exposed.files;
  const std::vector<std::shared_ptr<RestoreSlot>>& restores = exposed.restores;
  if (!args.foreground && args.log_file.empty()) log_to_syslog(true);

  FuseSettings settings;
  settings.mount_point = mount_point;
  settings.fs_name = "vdiskfs:" + prepared.source_path;
  settings.foreground = args.foreground;
  settings.read_only = args.read_only;
  settings.extra_options = args.fuse_options;
  settings.readahead_kib = args.readahead_kib;
  settings.direct_io = args.direct_io;
  const Source& source = *prepared.source;
  settings.stats = [&source, &files] { return stats_json(source, files); };
  if (!restores.empty()) {
    settings.restore_status = [&restores](size_t i) { return restores.at(i)->status(); };
    settings.restore_request = [&restores](size_t i, const std::string& req) { return restores.at(i)->request(req); };
  }
  return serve_fuse(files, settings);
}

}  // namespace vdiskfs
