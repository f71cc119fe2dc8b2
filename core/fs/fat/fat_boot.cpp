#include "core/fs/fat/fat_boot.h"

#include <cstring>

#include "core/fs/fat/fat_format.h"
#include "core/image/on_disk.h"

namespace vdiskfs::fat {
namespace {

// jmp short to the boot code at 0x5A; nop.
inline constexpr uint8_t kJmpBoot[3] = {0xEB, 0x58, 0x90};
// int 18h (no bootable volume: the firmware tries its next device), then
// hlt in a loop should it return.
inline constexpr uint8_t kBootCode[] = {0xCD, 0x18, 0xF4, 0xEB, 0xFD};
inline constexpr uint16_t kSectorsPerTrack = 63;  // the usual LBA-assisted CHS geometry
inline constexpr uint16_t kHeads = 255;

}  // namespace

void write_boot_sector(const Geometry& geo, const FatOptions& options, const ShortName& label, uint8_t* out) {
  BootSector b{};
  std::memcpy(b.jmp_boot, kJmpBoot, sizeof kJmpBoot);
  std::memcpy(b.oem_name, "MSWIN4.1", 8);  // the name the specification recommends
  b.bytes_per_sector = uint16_t(kSectorBytes);
  b.sectors_per_cluster = uint8_t(geo.sectors_per_cluster);
  b.reserved_sectors = uint16_t(kReservedSectors);
  b.num_fats = uint8_t(kNumFats);
  b.media = kMediaFixed;
  b.sectors_per_track = kSectorsPerTrack;
  b.num_heads = kHeads;
  b.hidden_sectors = options.hidden_sectors;
  b.total_sectors_32 = uint32_t(geo.total_sectors);
  b.fat_size_32 = geo.fat_sectors;
  b.root_cluster = kRootCluster;
  b.fs_info_sector = uint16_t(kFsInfoSector);
  b.backup_boot_sector = uint16_t(kBackupBootSector);
  b.drive_number = kDriveNumberHard;
  b.boot_signature = kExtendedBootSignature;
  b.volume_id = options.volume_id;
  std::memcpy(b.volume_label, label.data(), label.size());
  std::memcpy(b.fs_type, "FAT32   ", 8);
  std::memcpy(b.boot_code, kBootCode, sizeof kBootCode);
  b.signature[0] = 0x55;
  b.signature[1] = 0xAA;
  store(out, b);
}

void write_fs_info(uint32_t free_clusters, uint32_t next_free, uint8_t* out) {
  FsInfo f{};
  f.lead_signature = kFsInfoLeadSignature;
  f.struct_signature = kFsInfoStructSignature;
  f.free_count = free_clusters;
  f.next_free = next_free;
  f.trail_signature = kFsInfoTrailSignature;
  store(out, f);
}

}  // namespace vdiskfs::fat
