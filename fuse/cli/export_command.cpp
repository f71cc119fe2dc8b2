#include "fuse/cli/export_command.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/image/error.h"
#include "core/image/io.h"
#include "core/image/log.h"
#include "formats/format_table.h"

namespace vdiskfs {
namespace {

bool all_zero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i]) return false;
  return true;
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
  const Image& image = *prepared.disk.image;
  const int fd = open(args.output.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) fail("cannot create {}: {}", args.output, strerror(errno));
  constexpr size_t kChunk = 1 << 20;
  std::vector<uint8_t> buf(kChunk);
  for (uint64_t off = 0; off < image.size(); off += kChunk) {
    const size_t n = size_t(std::min<uint64_t>(kChunk, image.size() - off));
    if (!ok(image.read(off, buf.data(), n))) {
      close(fd);
      unlink(args.output.c_str());
      fail("reading the disk at offset {} failed; see the log above", off);
    }
    if (all_zero(buf.data(), n)) continue;  // leave a hole
    const IoResult written = pwrite_full(fd, buf.data(), n, off);
    if (!written.complete()) {
      const int err = written.end == IoEnd::failed ? written.error : ENOSPC;
      close(fd);
      unlink(args.output.c_str());
      fail("writing {} at offset {}: {}", args.output, off, strerror(err));
    }
  }
  if (ftruncate(fd, off_t(image.size())) != 0 || fsync(fd) != 0 || close(fd) != 0)
    fail("finishing {}: {}", args.output, strerror(errno));
  if (!args.layout.quiet) log_info("wrote {} ({} bytes)", args.output, image.size());
  return 0;
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
    std::printf("%-20s %.3f\n%-20s %.3f\n", "scan_seconds", prepared.scan_seconds, "layout_seconds",
                prepared.layout_seconds);
    print_layout(prepared.disk);
    for (const std::string& note : prepared.disk.notes) std::printf("%-20s %s\n", "note", note.c_str());
    print_formats(formats);
  }
  return 0;
}

}  // namespace vdiskfs
