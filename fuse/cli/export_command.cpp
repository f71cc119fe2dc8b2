#include "fuse/cli/export_command.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <atomic>
#include <optional>
#include <vector>

#include "core/image/error.h"
#include "core/image/io.h"
#include "core/image/log.h"
#include "core/image/range_copy.h"
#include "core/source/source_factory.h"
#include "formats/format_table.h"
#include "fuse/cli/progress.h"

namespace vdiskfs {
namespace {

// The names of the table's formats, "img, vmdk, ...".
std::string format_names() {
  std::string names;
  for (const ContainerFormat& f : container_formats()) names += (names.empty() ? "" : ", ") + std::string(f.name);
  return names;
}

// The table's format that `export` writes: the one named (`raw` is `img`),
// else the one whose file suffix ends `output` (the longest), else `img`.
const ContainerFormat& export_format(const std::string& name, const std::string& output) {
  const std::string wanted = name == "raw" ? "img" : name;
  const ContainerFormat* best = nullptr;
  size_t best_len = 0;
  for (const ContainerFormat& f : container_formats()) {
    if (!wanted.empty()) {
      if (f.name == wanted) return f;
      continue;
    }
    for (const FormatFile& file : f.files)
      if (!file.descriptor && output.size() >= file.suffix.size() && file.suffix.size() > best_len &&
          output.compare(output.size() - file.suffix.size(), file.suffix.size(), file.suffix) == 0)
        best = &f, best_len = file.suffix.size();
  }
  if (!wanted.empty()) fail("-O {}: not a format; choose raw or one of: {}", name, format_names());
  if (best) return *best;
  for (const ContainerFormat& f : container_formats())
    if (f.name == "img") return f;
  fail("the format table has no raw image");
}

// The file of `format` for the disk of `prepared` (its data file: a
// descriptor is not written). Throws Error when the disk is beyond the
// format's limit.
ContainerFile export_file(const PreparedDisk& prepared, const ContainerFormat& format, const std::string& output) {
  ContainerInput in;
  in.disk = prepared.disk.image;
  in.disk->data_ranges(in.data);
  in.identity = prepared.disk.identity;
  in.name = source_default_name(prepared.source_path);
  in.timestamp_ns = prepared.disk.timestamp_ns;
  if (!disk_fits(format, in))
    fail("cannot export {} as {}: the disk ({} bytes) is beyond {}", output, format.name, in.disk->size(),
         format.limit.empty() ? "the format's limit" : std::string(format.limit));
  std::vector<ContainerFile> files = format.build(in, format);
  for (size_t i = 0; i < files.size() && i < format.files.size(); ++i)
    if (!format.files[i].descriptor) return std::move(files[i]);
  fail("format {} has no data file to export", format.name);
}

// Creates `output`; throws Error when it exists or cannot be made.
int create_output(const std::string& output) {
  const int fd = open(output.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    fail("cannot create {}: {}{}", output, strerror(errno),
         errno == EEXIST ? " (export never overwrites: remove it or choose another name)" : "");
  return fd;
}

// What the table's formats would do with the disk of `prepared`: for each,
// its name, files, limit and whether the disk is within it.
nlohmann::ordered_json formats_json(const PreparedDisk& prepared) {
  ContainerInput in;
  in.disk = prepared.disk.image;
  in.disk->data_ranges(in.data);
  in.identity = prepared.disk.identity;
  auto rows = nlohmann::ordered_json::array();
  for (const ContainerFormat& f : container_formats()) {
    nlohmann::ordered_json row, files = nlohmann::ordered_json::array();
    row["name"] = std::string(f.name);
    for (const FormatFile& file : f.files) {
      row["suffixes"].push_back(std::string(file.suffix));
      files.push_back({{"suffix", std::string(file.suffix)},
                       {"qemu_format", std::string(file.qemu_format)},
                       {"descriptor", file.descriptor}});
    }
    row["max_disk_bytes"] = f.max_disk_bytes ? nlohmann::ordered_json(*f.max_disk_bytes) : nullptr;
    row["fits"] = disk_fits(f, in);
    row["unit_bytes"] = f.unit_bytes ? nlohmann::ordered_json(*f.unit_bytes) : nullptr;
    row["files"] = files;
    rows.push_back(row);
  }
  return rows;
}

// One line of `info` per format: its files, and whether the disk is beyond its limit.
void print_formats(const nlohmann::ordered_json& formats) {
  for (const auto& row : formats) {
    std::string files;
    for (const auto& suffix : row["suffixes"]) files += (files.empty() ? "" : " ") + suffix.get<std::string>();
    std::printf("%-20s %s%s\n", ("format " + row["name"].get<std::string>()).c_str(), files.c_str(),
                row["fits"].get<bool>() ? "" : " (the disk is beyond its limit)");
  }
}

// The partitions of the disk, for `info --json`.
nlohmann::ordered_json partitions_json(const Disk& disk) {
  auto rows = nlohmann::ordered_json::array();
  for (size_t i = 0; i < disk.partitions.size(); ++i) {
    const DiskPartition& p = disk.partitions[i];
    nlohmann::ordered_json row;
    row["number"] = i + 1;
    row["mount_point"] = p.mount_point;
    row["type"] = p.volume.type.empty() ? std::string(role_name(p.role)) : p.volume.type;
    row["role"] = std::string(role_name(p.role));
    row["offset"] = p.offset;
    row["bytes"] = p.size;
    row["uuid"] = p.volume.uuid_text;
    row["label"] = p.volume.label;
    row["fstab_line"] = p.fstab_line ? nlohmann::ordered_json(p.fstab_line) : nullptr;
    rows.push_back(row);
  }
  return rows;
}

// The fstab lines the guest sees changed, for `info --json`.
nlohmann::ordered_json fstab_changes_json(const LayoutPlan& plan) {
  auto rows = nlohmann::ordered_json::array();
  for (const LineChange& c : plan.changes)
    rows.push_back({{"line", c.line},
                    {"original", plan.lines[c.line - 1].text},
                    {"action", c.kind == LineChange::Kind::adapted ? "adapted" : "commented out"},
                    {"reason", c.reason}});
  return rows;
}

// The layout part of `info`: one line per partition, one per changed fstab line.
void print_layout(const Disk& disk) {
  std::printf("%-20s %s\n", "layout", disk.plan ? ("fstab (" + disk.plan->origin + ")").c_str() : "single");
  for (size_t i = 0; i < disk.partitions.size(); ++i) {
    const DiskPartition& p = disk.partitions[i];
    const std::string type = p.volume.type.empty() ? std::string(role_name(p.role)) : p.volume.type;
    std::string id = p.volume.uuid_text.empty() ? "" : " UUID " + p.volume.uuid_text;
    if (!p.volume.label.empty()) id += " LABEL " + p.volume.label;
    std::printf("%-20s %s %s%s, %.1f MiB at %.1f MiB (%s)\n", fmt::format("partition {}", i + 1).c_str(),
                p.mount_point.empty() ? "-" : p.mount_point.c_str(), type.c_str(), id.c_str(), double(p.size) / (1 << 20),
                double(p.offset) / (1 << 20), std::string(role_name(p.role)).c_str());
  }
  if (!disk.plan) return;
  for (const LineChange& c : disk.plan->changes)
    std::printf("%-20s %s: %s\n", fmt::format("fstab line {}", c.line).c_str(),
                c.kind == LineChange::Kind::adapted ? "adapted" : "commented out", c.reason.c_str());
}

}  // namespace

int export_command(const ExportArgs& args) {
  PreparedDisk prepared = prepare_disk(args.layout);
  const ContainerFormat& format = export_format(args.format, args.output);
  const ContainerFile file = export_file(prepared, format, args.output);
  const Image& image = *file.image;
  std::vector<ByteRange> ranges;
  image.data_ranges(ranges);
  const uint64_t total = ranges_bytes(ranges);
  const int fd = create_output(args.output);
  std::atomic<uint64_t> done{0};
  CopyOptions options;
  options.jobs = args.jobs;
  ProgressReporter progress("exporting " + args.output, total, done,
                            progress_style(args.json, args.layout.quiet));
  const std::optional<CopyFailure> failure = copy_ranges(image, ranges, fd, options, done);
  progress.finish();
  const bool finished = !failure && ftruncate(fd, off_t(image.size())) == 0 && fsync(fd) == 0;
  const int finish_errno = errno;
  if (close(fd) != 0 || !finished) {
    unlink(args.output.c_str());
    if (failure && failure->reading)
      fail("reading the disk at offset {} failed (see the line above); {} was removed", failure->offset, args.output);
    if (failure)
      fail("writing {} at offset {}: {}; the partial file was removed", args.output, failure->offset,
           strerror(failure->error));
    fail("finishing {}: {}; the partial file was removed", args.output, strerror(finish_errno));
  }
  const double seconds = progress.seconds();
  if (args.json) {
    const nlohmann::ordered_json j = {{"output", args.output},  {"format", std::string(format.name)},
                                      {"size", image.size()},   {"data_bytes", total},
                                      {"seconds", seconds},     {"bytes_per_second", seconds > 0 ? uint64_t(double(total) / seconds) : 0}};
    std::printf("%s\n", j.dump().c_str());
  } else if (!args.layout.quiet) {
    log_info("wrote {} ({}, {} bytes; {} bytes of data read and written in {:.2f} s)", args.output, format.name,
             image.size(), total, seconds);
  }
  return 0;
}

// "2026-12-01T23:59:07Z".
std::string utc_iso8601(Timestamp t) {
  const time_t sec = time_t(t.sec);
  std::tm tm{};
  char text[32] = "";
  if (gmtime_r(&sec, &tm)) std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// A chain's points in time (tar_chain.h), for `info --json`; null for
// another source.
nlohmann::ordered_json chain_json(const Source& source) {
  const std::vector<PointInTime> points = source.points_in_time();
  if (points.empty()) return nullptr;
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (size_t i = 0; i < points.size(); ++i) {
    const PointInTime& p = points[i];
    out.push_back({{"at", i + 1},
                   {"archive", p.archive},
                   {"time", utc_iso8601(p.time)},
                   {"shown", p.shown},
                   {"entries", p.entries},
                   {"added", p.added},
                   {"changed", p.changed},
                   {"removed", p.removed},
                   {"renamed_directories", p.renamed}});
  }
  return out;
}

// The chain's points as lines, for `info`.
void print_chain(const Source& source) {
  const nlohmann::ordered_json j = chain_json(source);
  if (j.is_null()) return;
  for (const auto& p : j)
    std::printf("%-20s %s %s: %llu entries, %llu added, %llu changed, %llu removed, %llu directories renamed%s\n",
                fmt::format("point {}", p["at"].get<uint64_t>()).c_str(), p["time"].get<std::string>().c_str(),
                p["archive"].get<std::string>().c_str(), (unsigned long long)p["entries"].get<uint64_t>(),
                (unsigned long long)p["added"].get<uint64_t>(), (unsigned long long)p["changed"].get<uint64_t>(),
                (unsigned long long)p["removed"].get<uint64_t>(),
                (unsigned long long)p["renamed_directories"].get<uint64_t>(),
                p["shown"].get<bool>() ? " (shown)" : "");
}

int info_command(const LayoutArgs& args, bool json) {
  PreparedDisk prepared = prepare_disk(args);
  const auto facts = disk_facts(prepared.disk, prepared.source->tree());
  const nlohmann::ordered_json formats = formats_json(prepared);
  if (json) {
    nlohmann::ordered_json j;
    j["source"] = prepared.source_path;
    for (const auto& [key, value] : facts) {
      const bool numeric = !value.empty() && value.find_first_not_of("0123456789") == std::string::npos;
      if (numeric) j[key] = std::stoull(value);
      else j[key] = value;
    }
    if (auto chain = chain_json(*prepared.source); !chain.is_null()) j["chain"] = chain;
    j["scan_seconds"] = prepared.scan_seconds;
    j["layout_seconds"] = prepared.layout_seconds;
    j["layout"] = prepared.disk.plan ? "fstab" : "single";
    j["partitions"] = partitions_json(prepared.disk);
    if (prepared.disk.plan) {
      j["fstab"] = {{"origin", prepared.disk.plan->origin},
                    {"changes", fstab_changes_json(*prepared.disk.plan)},
                    {"warnings", prepared.disk.plan->warnings},
                    {"guest_fstab", prepared.disk.guest_fstab.empty() ? nlohmann::ordered_json(nullptr)
                                                                      : nlohmann::ordered_json(prepared.disk.guest_fstab)}};
    }
    j["notes"] = prepared.disk.notes;
    j["formats"] = formats;
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
  } else {
    std::printf("%-20s %s\n", "source", prepared.source_path.c_str());
    for (const auto& [key, value] : facts) std::printf("%-20s %s\n", key.c_str(), value.c_str());
    print_chain(*prepared.source);
    std::printf("%-20s %.3f\n%-20s %.3f\n", "scan_seconds", prepared.scan_seconds, "layout_seconds",
                prepared.layout_seconds);
    print_layout(prepared.disk);
    for (const std::string& note : prepared.disk.notes) std::printf("%-20s %s\n", "note", note.c_str());
    print_formats(formats);
  }
  return 0;
}

}  // namespace vdiskfs
