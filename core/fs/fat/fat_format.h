#pragma once
// FAT32 on-disk structures and constants, after Microsoft's "FAT32 File
// System Specification" (fatgen103, version 1.03): the boot sector with
// its BPB, the FSInfo sector, the short directory entry and the long-name
// (VFAT) entry. Every field is little-endian; offsets are in bytes from
// the start of each structure.
#include <cstddef>
#include <cstdint>

#include "core/image/on_disk.h"

namespace vdiskfs::fat {

inline constexpr uint32_t kSectorBytes = 512;           // BPB_BytsPerSec: the only size we write
inline constexpr uint32_t kReservedSectors = 32;        // BPB_RsvdSecCnt, as the specification recommends for FAT32
inline constexpr uint32_t kNumFats = 2;                 // BPB_NumFATs
inline constexpr uint32_t kFsInfoSector = 1;            // BPB_FSInfo
inline constexpr uint32_t kBackupBootSector = 6;        // BPB_BkBootSec (FSInfo's backup follows it)
inline constexpr uint32_t kRootCluster = 2;             // BPB_RootClus: the first data cluster
inline constexpr uint32_t kMinClusters = 65525;         // fewer clusters make the volume FAT12 or FAT16
inline constexpr uint32_t kMaxClusters = 0x0FFFFFF5 - 2;  // cluster numbers end below the reserved 0x0FFFFFF5..
inline constexpr uint32_t kMinTotalSectors = 66600;     // the first row of the specification's FAT32 size table
inline constexpr uint32_t kFatEntryBytes = 4;
inline constexpr uint32_t kDirEntryBytes = 32;
inline constexpr uint32_t kMaxDirEntries = 65536;       // a directory holds at most 2 MiB of entries
inline constexpr uint64_t kMaxFileSize = 0xFFFFFFFFull;  // DIR_FileSize is 32 bits
inline constexpr uint32_t kMaxLongNameUnits = 255;      // UTF-16 units of a long name
inline constexpr uint32_t kLongNameUnitsPerEntry = 13;

// FAT entries (28 bits used; the top four are reserved and kept zero).
inline constexpr uint32_t kFatFree = 0;
inline constexpr uint32_t kFatEndOfChain = 0x0FFFFFFF;
inline constexpr uint32_t kFatMediaEntry = 0x0FFFFFF8;  // FAT[0]: BPB_Media in the low byte
inline constexpr uint32_t kFatCleanEntry = 0x0FFFFFFF;  // FAT[1]: clean shutdown, no hard errors

inline constexpr uint8_t kMediaFixed = 0xF8;     // BPB_Media for a fixed disk
inline constexpr uint8_t kDriveNumberHard = 0x80;  // BS_DrvNum
inline constexpr uint8_t kExtendedBootSignature = 0x29;  // BS_BootSig: the next three fields are valid

// DIR_Attr bits.
inline constexpr uint8_t kAttrReadOnly = 0x01;
inline constexpr uint8_t kAttrHidden = 0x02;
inline constexpr uint8_t kAttrSystem = 0x04;
inline constexpr uint8_t kAttrVolumeId = 0x08;
inline constexpr uint8_t kAttrDirectory = 0x10;
inline constexpr uint8_t kAttrArchive = 0x20;
inline constexpr uint8_t kAttrLongName = kAttrReadOnly | kAttrHidden | kAttrSystem | kAttrVolumeId;

inline constexpr uint8_t kLastLongEntry = 0x40;  // LDIR_Ord flag of the last (first stored) long-name entry

// Sector 0 (and its backup at sector 6): boot sector with the FAT32 BPB.
struct BootSector {
  uint8_t jmp_boot[3];         // 0x000 BS_jmpBoot: EB xx 90
  uint8_t oem_name[8];         // 0x003 BS_OEMName
  le16 bytes_per_sector;       // 0x00B BPB_BytsPerSec
  uint8_t sectors_per_cluster; // 0x00D BPB_SecPerClus
  le16 reserved_sectors;       // 0x00E BPB_RsvdSecCnt
  uint8_t num_fats;            // 0x010 BPB_NumFATs
  le16 root_entries;           // 0x011 BPB_RootEntCnt: 0 on FAT32
  le16 total_sectors_16;       // 0x013 BPB_TotSec16: 0 on FAT32
  uint8_t media;               // 0x015 BPB_Media
  le16 fat_size_16;            // 0x016 BPB_FATSz16: 0 on FAT32
  le16 sectors_per_track;      // 0x018 BPB_SecPerTrk
  le16 num_heads;              // 0x01A BPB_NumHeads
  le32 hidden_sectors;         // 0x01C BPB_HiddSec: sectors before the volume on its disk
  le32 total_sectors_32;       // 0x020 BPB_TotSec32
  le32 fat_size_32;            // 0x024 BPB_FATSz32: sectors of one FAT
  le16 ext_flags;              // 0x028 BPB_ExtFlags: 0 = both FATs mirrored
  le16 fs_version;             // 0x02A BPB_FSVer: 0.0
  le32 root_cluster;           // 0x02C BPB_RootClus
  le16 fs_info_sector;         // 0x030 BPB_FSInfo
  le16 backup_boot_sector;     // 0x032 BPB_BkBootSec
  uint8_t reserved[12];        // 0x034 BPB_Reserved
  uint8_t drive_number;        // 0x040 BS_DrvNum
  uint8_t reserved1;           // 0x041 BS_Reserved1
  uint8_t boot_signature;      // 0x042 BS_BootSig
  le32 volume_id;              // 0x043 BS_VolID: the volume serial
  uint8_t volume_label[11];    // 0x047 BS_VolLab
  uint8_t fs_type[8];          // 0x052 BS_FilSysType: "FAT32   "
  uint8_t boot_code[420];      // 0x05A
  uint8_t signature[2];        // 0x1FE 55 AA
};
static_assert(sizeof(BootSector) == 512);
static_assert(offsetof(BootSector, jmp_boot) == 0x000);
static_assert(offsetof(BootSector, oem_name) == 0x003);
static_assert(offsetof(BootSector, bytes_per_sector) == 0x00B);
static_assert(offsetof(BootSector, sectors_per_cluster) == 0x00D);
static_assert(offsetof(BootSector, reserved_sectors) == 0x00E);
static_assert(offsetof(BootSector, num_fats) == 0x010);
static_assert(offsetof(BootSector, root_entries) == 0x011);
static_assert(offsetof(BootSector, total_sectors_16) == 0x013);
static_assert(offsetof(BootSector, media) == 0x015);
static_assert(offsetof(BootSector, fat_size_16) == 0x016);
static_assert(offsetof(BootSector, sectors_per_track) == 0x018);
static_assert(offsetof(BootSector, num_heads) == 0x01A);
static_assert(offsetof(BootSector, hidden_sectors) == 0x01C);
static_assert(offsetof(BootSector, total_sectors_32) == 0x020);
static_assert(offsetof(BootSector, fat_size_32) == 0x024);
static_assert(offsetof(BootSector, ext_flags) == 0x028);
static_assert(offsetof(BootSector, fs_version) == 0x02A);
static_assert(offsetof(BootSector, root_cluster) == 0x02C);
static_assert(offsetof(BootSector, fs_info_sector) == 0x030);
static_assert(offsetof(BootSector, backup_boot_sector) == 0x032);
static_assert(offsetof(BootSector, reserved) == 0x034);
static_assert(offsetof(BootSector, drive_number) == 0x040);
static_assert(offsetof(BootSector, reserved1) == 0x041);
static_assert(offsetof(BootSector, boot_signature) == 0x042);
static_assert(offsetof(BootSector, volume_id) == 0x043);
static_assert(offsetof(BootSector, volume_label) == 0x047);
static_assert(offsetof(BootSector, fs_type) == 0x052);
static_assert(offsetof(BootSector, boot_code) == 0x05A);
static_assert(offsetof(BootSector, signature) == 0x1FE);

inline constexpr uint32_t kFsInfoLeadSignature = 0x41615252;   // "RRaA"
inline constexpr uint32_t kFsInfoStructSignature = 0x61417272; // "rrAa"
inline constexpr uint32_t kFsInfoTrailSignature = 0xAA550000;
inline constexpr uint32_t kFsInfoUnknown = 0xFFFFFFFF;         // free count or next free not known

// Sector 1 (and its backup at sector 7): FSInfo, the free-cluster hints.
struct FsInfo {
  le32 lead_signature;     // 0x000 FSI_LeadSig
  uint8_t reserved1[480];  // 0x004 FSI_Reserved1
  le32 struct_signature;   // 0x1E4 FSI_StrucSig
  le32 free_count;         // 0x1E8 FSI_Free_Count: free clusters
  le32 next_free;          // 0x1EC FSI_Nxt_Free: where to look for a free cluster
  uint8_t reserved2[12];   // 0x1F0 FSI_Reserved2
  le32 trail_signature;    // 0x1FC FSI_TrailSig
};
static_assert(sizeof(FsInfo) == 512);
static_assert(offsetof(FsInfo, lead_signature) == 0x000);
static_assert(offsetof(FsInfo, reserved1) == 0x004);
static_assert(offsetof(FsInfo, struct_signature) == 0x1E4);
static_assert(offsetof(FsInfo, free_count) == 0x1E8);
static_assert(offsetof(FsInfo, next_free) == 0x1EC);
static_assert(offsetof(FsInfo, reserved2) == 0x1F0);
static_assert(offsetof(FsInfo, trail_signature) == 0x1FC);

// A short (8.3) directory entry.
struct DirEntry {
  uint8_t name[11];           // 0x00 DIR_Name: 8 + 3 characters, space padded
  uint8_t attr;               // 0x0B DIR_Attr
  uint8_t nt_reserved;        // 0x0C DIR_NTRes
  uint8_t create_time_tenth;  // 0x0D DIR_CrtTimeTenth: 10 ms units, 0..199
  le16 create_time;           // 0x0E DIR_CrtTime
  le16 create_date;           // 0x10 DIR_CrtDate
  le16 access_date;           // 0x12 DIR_LstAccDate
  le16 first_cluster_hi;      // 0x14 DIR_FstClusHI
  le16 write_time;            // 0x16 DIR_WrtTime
  le16 write_date;            // 0x18 DIR_WrtDate
  le16 first_cluster_lo;      // 0x1A DIR_FstClusLO
  le32 file_size;             // 0x1C DIR_FileSize
};
static_assert(sizeof(DirEntry) == kDirEntryBytes);
static_assert(offsetof(DirEntry, name) == 0x00);
static_assert(offsetof(DirEntry, attr) == 0x0B);
static_assert(offsetof(DirEntry, nt_reserved) == 0x0C);
static_assert(offsetof(DirEntry, create_time_tenth) == 0x0D);
static_assert(offsetof(DirEntry, create_time) == 0x0E);
static_assert(offsetof(DirEntry, create_date) == 0x10);
static_assert(offsetof(DirEntry, access_date) == 0x12);
static_assert(offsetof(DirEntry, first_cluster_hi) == 0x14);
static_assert(offsetof(DirEntry, write_time) == 0x16);
static_assert(offsetof(DirEntry, write_date) == 0x18);
static_assert(offsetof(DirEntry, first_cluster_lo) == 0x1A);
static_assert(offsetof(DirEntry, file_size) == 0x1C);

// A long-name (VFAT) entry: 13 UTF-16 units of the name, stored before
// its short entry, last part first.
struct LongNameEntry {
  uint8_t order;          // 0x00 LDIR_Ord: 1-based, | kLastLongEntry on the last
  le16 name1[5];          // 0x01 LDIR_Name1: units 1..5
  uint8_t attr;           // 0x0B LDIR_Attr: kAttrLongName
  uint8_t type;           // 0x0C LDIR_Type: 0
  uint8_t checksum;       // 0x0D LDIR_Chksum: of the short name
  le16 name2[6];          // 0x0E LDIR_Name2: units 6..11
  le16 first_cluster_lo;  // 0x1A LDIR_FstClusLO: 0
  le16 name3[2];          // 0x1C LDIR_Name3: units 12..13
};
static_assert(sizeof(LongNameEntry) == kDirEntryBytes);
static_assert(offsetof(LongNameEntry, order) == 0x00);
static_assert(offsetof(LongNameEntry, name1) == 0x01);
static_assert(offsetof(LongNameEntry, attr) == 0x0B);
static_assert(offsetof(LongNameEntry, type) == 0x0C);
static_assert(offsetof(LongNameEntry, checksum) == 0x0D);
static_assert(offsetof(LongNameEntry, name2) == 0x0E);
static_assert(offsetof(LongNameEntry, first_cluster_lo) == 0x1A);
static_assert(offsetof(LongNameEntry, name3) == 0x1C);

}  // namespace vdiskfs::fat
