#include "fuse/cli/disk_setup.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/delta/delta_set.h"
#include "core/disk/fstab.h"
#include "core/fs/filesystem.h"
#include "core/image/error.h"
#include "core/image/log.h"
#include "core/image/size_parse.h"
#include "core/partition/partition_table.h"
#include "core/source/source_factory.h"

namespace vdiskfs {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Layout options that cannot go together, refused before the scan.
void check_layout_args(const LayoutArgs& args) {
  if (args.layout != "" && args.layout != "fstab" && args.layout != "single")
    fail("--layout {} is not a layout: fstab (the default when SOURCE has etc/fstab) or single", args.layout);
  if (!args.layout_from.empty() && args.layout == "single")
    fail("--layout single and --layout-from go against each other: choose one");
  if (args.layout == "fstab" || !args.layout_from.empty()) {
    if (!args.filesystem.empty()) fail("--fs is for --layout single: with a layout from fstab each volume's filesystem comes from its line");
    if (!args.uuid.empty() || !args.label.empty())
      fail("--uuid and --label are for --layout single: with a layout from fstab each volume's id comes from its line");
  }
}

// The layout from fstab when the arguments ask for it (or leave it to the
// source and it has an etc/fstab); none for the single layout.
std::optional<LayoutPlan> layout_plan(const LayoutArgs& args, const Source& source) {
  if (args.layout == "single") return std::nullopt;
  PlanOptions plan;
  plan.fstab_ids = args.fstab_identity;
  std::optional<std::string> text;
  if (!args.layout_from.empty()) {
    std::ifstream in(args.layout_from, std::ios::binary);
    if (!in) fail("--layout-from {}: cannot read it: {}", args.layout_from, strerror(errno));
    std::error_code ec;
    if (!std::filesystem::is_regular_file(args.layout_from, ec))
      fail("--layout-from {}: not a file (an fstab, like etc/fstab)", args.layout_from);
    text = std::string(std::istreambuf_iterator<char>(in), {});
    if (text->find_first_not_of(" \t\r\n") == std::string::npos)
      fail("--layout-from {} is empty: it names no filesystem to lay out", args.layout_from);
    plan.origin = args.layout_from;
  } else {
    text = read_tree_file(source, "etc/fstab");
    plan.origin = "etc/fstab of " + source.describe();
    if (!text && args.layout == "fstab")
      fail("{} has no readable etc/fstab for --layout fstab: use --layout-from FILE or --layout single", source.describe());
    if (!text) return std::nullopt;
    if (!args.single_for_delta.empty()) {
      log_info("the delta in {} was made with the one-partition layout, before layouts from fstab: mounting it with "
               "--layout single (--layout fstab --discard-delta starts over with the layout of {})",
               args.single_for_delta, plan.origin);
      return std::nullopt;
    }
    // Options for one filesystem say the user means the single layout.
    if (args.layout.empty() && (!args.filesystem.empty() || !args.uuid.empty() || !args.label.empty())) {
      if (!args.quiet) log_info("--fs, --uuid or --label given: the single layout, not the one of {}", plan.origin);
      return std::nullopt;
    }
  }
  LayoutPlan out = plan_layout(*text, source.tree(), plan);
  // An fstab that names no local filesystem (Debian's "UNCONFIGURED FSTAB"
  // of a fresh debootstrap) plans nothing: the single layout.
  if (out.volumes.size() == 1 && out.volumes[0].line == 0 && out.changes.empty() && out.warnings.size() <= 1 &&
      args.layout.empty() && args.layout_from.empty()) {
    if (!args.quiet) log_info("{} names no local filesystem: one volume (the single layout)", plan.origin);
    return std::nullopt;
  }
  for (const std::string& w : out.warnings) log_warning("{}", w);
  return out;
}

// The share options of the command line, checked.
RemoteOptions remote_options(const LayoutArgs& args) {
  RemoteOptions r;
  r.credentials = args.credentials;
  if (!(args.timeout_seconds > 0 && args.timeout_seconds <= 3600))
    fail("--timeout {} is not a number of seconds from 0 to 3600", args.timeout_seconds);
  r.timeout_ms = int(args.timeout_seconds * 1000);
  if (args.connections < 1 || args.connections > 64) fail("--connections {} is not from 1 to 64", args.connections);
  r.connections = args.connections;
  auto bytes = [](const std::string& text, const char* option) {
    const auto size = parse_size(text);
    if (!size || size->is_percent || size->bytes == 0) fail("{} {} is not a size (like 256M or 4G)", option, text);
    return size->bytes;
  };
  r.cache_bytes = bytes(args.cache_size, "--cache-size");
  r.cache_dir = args.cache_dir;
  if (!args.cache_dir.empty()) r.cache_dir_bytes = bytes(args.cache_dir_size, "--cache-dir-size");
  r.cache_policy = args.cache_policy;
  return r;
}

}  // namespace

namespace {

// The first pass over a compressed archive on a terminal: "decompressing:
// 45% (123.4 of 270.0 MiB), 52.1 MiB/s, 3 s left", redrawn at most five
// times a second.
std::function<void(uint64_t, uint64_t)> first_pass_printer() {
  using clock = std::chrono::steady_clock;
  auto start = std::make_shared<clock::time_point>(clock::now());
  auto last = std::make_shared<clock::time_point>();
  return [start, last](uint64_t done, uint64_t total) {
    if (done >= total) {
      std::fprintf(stderr, "\r\033[K");
      return;
    }
    const auto now = clock::now();
    if (now - *last < std::chrono::milliseconds(200) || total == 0) return;
    *last = now;
    const double seconds = std::chrono::duration<double>(now - *start).count();
    const double rate = seconds > 0 ? double(done) / seconds : 0;
    const double left = rate > 0 ? double(total - std::min(done, total)) / rate : 0;
    std::fprintf(stderr, "\rdecompressing: %3.0f%% (%.1f of %.1f MiB), %.1f MiB/s, %.0f s left\033[K",
                 100.0 * double(done) / double(total), double(done) / (1 << 20), double(total) / (1 << 20),
                 rate / (1 << 20), left);
  };
}

}  // namespace

void take_chain_file(LayoutArgs& args, std::string* next_positional, const char* next_name) {
  if (!args.chain_file.empty() && next_positional && next_positional->empty()) {
    *next_positional = args.source;  // `mount --chain FILE MOUNTPOINT`
    args.source.clear();
  }
  if (!args.chain_file.empty() && !args.source.empty())
    fail("give SOURCE or --chain {}, not both", args.chain_file);
  if (args.chain_file.empty() && args.source.empty()) fail("SOURCE is required (or --chain FILE)");
  if (next_positional && next_positional->empty()) fail("{} is required", next_name);
  if (!args.chain_file.empty()) args.source = read_chain_file(args.chain_file);
}

namespace {

// The disk options of the command line, checked: names the user typed
// are refused before the scan, which may be long.
DiskOptions disk_options(const LayoutArgs& args) {
  DiskOptions options;
  options.filesystem = args.filesystem.empty() ? "ext4" : args.filesystem;
  options.table = args.table;
  const Filesystem& fs = filesystem_named(options.filesystem);
  check_layout_args(args);
  partition_table_named(options.table);
  if (!args.uuid.empty()) {
    Uuid u;
    if (!fs.parse_uuid(args.uuid, u)) fail("--uuid {} is not a UUID ({})", args.uuid, fs.uuid_form);
    options.fs_uuid = u;
  }
  options.label = args.label;
  options.bios_boot = args.bios_boot;
  options.strict = args.strict;
  options.skip_unsupported = args.skip_unsupported;
  options.local_time = args.local_time;
  if (auto swap = parse_size(args.swap); !swap || swap->is_percent || swap->bytes % 4096 || swap->bytes < (40 << 10))
    fail("--swap {} is not a size of whole 4 KiB pages, at least 40K (like 1G or 512M)", args.swap);
  else
    options.swap_bytes = swap->bytes;
  if (!args.cluster_size.empty()) {
    const auto cluster = parse_size(args.cluster_size);
    if (!cluster || cluster->is_percent || cluster->bytes > UINT32_MAX)
      fail("--cluster-size {} is not a size (like 4K)", args.cluster_size);
    options.cluster_bytes = uint32_t(cluster->bytes);
  }
  auto free_space = parse_size(args.free_space);
  if (!free_space) fail("--free {} is not a size (like 20%, 512M or 10G)", args.free_space);
  options.free_space = *free_space;
  auto min_free = parse_size(args.min_free);
  if (!min_free || min_free->is_percent) fail("--min-free {} is not a size (like 256M)", args.min_free);
  options.min_free_bytes = min_free->bytes;
  return options;
}

// The scan options of the command line, checked.
ScanOptions scan_options(const LayoutArgs& args) {
  ScanOptions scan;
  scan.remote = remote_options(args);
  const auto limit = parse_size(args.restart_limit);
  if (!limit || limit->is_percent || limit->bytes == 0)
    fail("--restart-limit {} is not a size (like 64M or 1G)", args.restart_limit);
  scan.restart_limit = limit->bytes;
  scan.chain_at = args.at;
  if (args.keep_index) scan.index_dir = args.index_dir.empty() ? state_dir() + "/index" : args.index_dir;
  scan.strict = args.strict;
  scan.one_file_system = args.one_file_system;
  scan.xattrs = args.xattrs;
  // Progress only on a terminal: scripts see nothing but warnings.
  if (!args.quiet && args.progress && isatty(STDERR_FILENO)) {
    scan.progress = [](uint64_t entries) { std::fprintf(stderr, "\rscanning: %llu entries", (unsigned long long)entries); };
    scan.read_progress = first_pass_printer();
  }
  return scan;
}

}  // namespace

void check_layout_options(const LayoutArgs& args) {
  disk_options(args);
  scan_options(args);
}

PreparedDisk prepare_disk(const LayoutArgs& args) {
  DiskOptions options = disk_options(args);
  const Filesystem& fs = filesystem_named(options.filesystem);
  PreparedDisk out;
  out.source_path = resolve_source(args.source);
  const ScanOptions scan = scan_options(args);
  ScanReport report;
  auto t0 = std::chrono::steady_clock::now();
  out.source = open_source(out.source_path, scan, report);
  out.scan_seconds = seconds_since(t0);
  if (scan.progress) std::fprintf(stderr, "\r\033[K");  // the progress line gone
  if (!report.skipped.empty()) {
    log_warning("skipped {} entr{} that could not be read (use --strict to fail instead):",
                report.skipped.size(), report.skipped.size() == 1 ? "y" : "ies");
    for (const std::string& s : report.skipped) log_warning("  {}", s);
  }
  if (!report.not_descended.empty() && !args.quiet) {
    log_info("--one-file-system: {} director{} of {} on other filesystems kept empty, not descended into:",
             report.not_descended.size(), report.not_descended.size() == 1 ? "y" : "ies", out.source->describe());
    for (const std::string& s : report.not_descended) log_info("  {}", s);
  }
  options.plan = layout_plan(args, *out.source);
  // Options that shape only a FAT32 volume are refused with another one.
  if (!options.plan && !fs.fat_options && (args.local_time || args.skip_unsupported || !args.cluster_size.empty()))
    fail("--local-time, --skip-unsupported and --cluster-size are for --fs fat32, not {}", fs.name);
  // A restored system finds its root by the UUID or label in its fstab;
  // the root of a Linux backup is an ext4 volume, never a FAT one.
  if (!options.plan && args.fstab_identity && args.uuid.empty() && args.label.empty() && fs.linux_root) {
    if (auto root = root_identity_from_fstab(*out.source)) {
      if (root->uuid) {
        options.fs_uuid = root->uuid;
        if (!args.quiet) log_info("{} UUID {} from etc/fstab of {}", fs.name, uuid_to_string(*root->uuid), out.source->describe());
      } else if (root->label.size() <= fs.max_label_bytes) {
        options.label = root->label;
        if (!args.quiet) log_info("{} label '{}' from etc/fstab of {}", fs.name, root->label, out.source->describe());
      } else {
        log_warning("etc/fstab of {} names the root by label '{}', longer than {}'s {} bytes; not used",
                    out.source->describe(), root->label, fs.name, fs.max_label_bytes);
      }
    }
  }
  t0 = std::chrono::steady_clock::now();
  out.disk = build_disk(*out.source, options);
  out.layout_seconds = seconds_since(t0);
  if (!args.quiet) {
    for (const std::string& note : out.disk.notes) log_info("{}", note);
    if (out.disk.plan)
      for (const LineChange& c : out.disk.plan->changes)
        if (c.kind == LineChange::Kind::adapted)
          log_info("{} line {} adapted in the guest's etc/fstab: {}", out.disk.plan->origin, c.line, c.reason);
  }
  return out;
}

}  // namespace vdiskfs
