#include "core/fs/fat/fat_filesystem.h"

#include <fmt/core.h>
#include <unistd.h>

#include <cstdlib>

#include "core/fs/fat/fat_volume.h"
#include "core/image/error.h"
#include "core/image/log.h"

namespace vdiskfs::fat {
namespace {

// The serial in the first 4 bytes of a Uuid, as FAT stores it (BS_VolID).
uint32_t serial_of(const Uuid& u) {
  return uint32_t(u[0]) << 24 | uint32_t(u[1]) << 16 | uint32_t(u[2]) << 8 | uint32_t(u[3]);
}

Uuid uuid_of(uint32_t serial) {
  Uuid u{};
  for (int i = 0; i < 4; ++i) u[size_t(i)] = uint8_t(serial >> (24 - 8 * i));
  return u;
}

// "5A1B-2C3D", as blkid prints a FAT serial.
std::string serial_text(uint32_t serial) { return fmt::format("{:04X}-{:04X}", serial >> 16, serial & 0xffff); }

// Logs each line of `lines` under a heading, as warnings.
void warn_all(const std::vector<std::string>& lines, std::string_view heading) {
  if (lines.empty()) return;
  log_warning("{} ({}):", heading, lines.size());
  for (const std::string& line : lines) log_warning("  {}", line);
}

// The time zone local times are taken in, for the identity: $TZ when set,
// else where /etc/localtime points, else "localtime".
std::string zone_name() {
  if (const char* tz = std::getenv("TZ"); tz && *tz) return tz;
  char target[256];
  const ssize_t n = readlink("/etc/localtime", target, sizeof target - 1);
  return n > 0 ? std::string(target, size_t(n)) : "localtime";
}

}  // namespace

bool parse_volume_id(std::string_view text, Uuid& out) {
  std::string hex(text);
  if (hex.size() == 9 && hex[4] == '-') hex.erase(4, 1);  // "5A1B-2C3D", as blkid prints it
  Uuid u{};
  if (!parse_hex_bytes(hex, u.data(), 4)) return false;
  out = u;
  return true;
}

std::string volume_layout(const VolumeOptions& options) {
  if (options.label.size() > kMaxLabelBytes)
    fail("label '{}' is longer than FAT32's {} bytes", options.label, kMaxLabelBytes);
  const SizeSpec& free = options.free_space;
  // Local times depend on the zone: it is part of what shapes the bytes.
  return fmt::format("fat32;id={};label={};free={}{};min_free={};first_sector={};cluster={};times={};"
                     "skip_unsupported={}",
                     options.uuid ? serial_text(serial_of(*options.uuid)) : "derived", options.label,
                     free.is_percent ? free.percent : double(free.bytes), free.is_percent ? "%" : "B",
                     options.min_free_bytes, options.first_sector, options.cluster_bytes,
                     options.local_time ? "local:" + zone_name() : "utc", int(options.skip_unsupported));
}

Volume make_volume(const Source& source, const VolumeOptions& options, const Identity& identity) {
  if (options.first_sector > UINT32_MAX) fail("a FAT32 volume cannot start beyond sector 2^32 of its disk");
  FatOptions fat;
  fat.volume_id = serial_of(options.uuid ? *options.uuid : identity.derive("fat-volume-id"));
  fat.label = options.label;
  fat.hidden_sectors = uint32_t(options.first_sector);
  fat.free_space = options.free_space;
  fat.min_free_bytes = options.min_free_bytes;
  fat.local_time = options.local_time;
  fat.cluster_bytes = options.cluster_bytes;
  fat.skip_unsupported = options.skip_unsupported;
  fat.timestamp_ns = options.timestamp_ns;
  FatVolumeInfo info;
  Volume volume;
  volume.image = build_fat_volume(source, fat, &info);
  warn_all(info.skipped, "FAT32 cannot hold these entries; left out (--skip-unsupported)");
  warn_all(info.clamped_times, "times outside FAT's 1980-2107, stored as the nearest it holds");
  volume.type = "vfat";
  volume.uuid = uuid_of(fat.volume_id);
  volume.uuid_text = serial_text(fat.volume_id);
  volume.label = fat.label;
  volume.block_size = info.cluster_bytes;
  volume.blocks = info.clusters;
  volume.free_blocks = info.free_clusters;
  auto num = [](uint64_t v) { return std::to_string(v); };
  volume.facts = {
      {"fat_cluster_bytes", num(info.cluster_bytes)},
      {"fat_clusters", num(info.clusters)},
      {"fat_free_clusters", num(info.free_clusters)},
      {"fat_sectors_per_fat", num(info.fat_sectors)},
      {"extent_map_entries", num(info.extents)},
  };
  return volume;
}

}  // namespace vdiskfs::fat
