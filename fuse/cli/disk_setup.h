#pragma once
// What every command that builds a disk shares: the layout options from
// the command line, the scan of the source and the disk built from it.
#include <memory>
#include <string>

#include "core/source/source.h"
#include "core/disk/disk_builder.h"

namespace vdiskfs {

struct LayoutArgs {
  std::string source;     // SOURCE as typed (source_kinds_help)
  std::string filesystem;           // --fs: a row of the filesystem table ("" = ext4)
  // --layout: "" (from SOURCE/etc/fstab when it has one, else single),
  // "fstab" or "single"; --layout-from FILE: plan from that fstab.
  std::string layout;
  std::string layout_from;
  // Set by mount to the delta folder whose manifest says it was made with
  // the single layout: no layout from fstab then (and a log line says why).
  std::string single_for_delta;
  std::string swap = "1G";          // --swap: each swap partition's size
  std::string table = "gpt";        // --table: a row of the partition table table
  std::string uuid;        // "" = derived from the identity
  std::string label;
  std::string free_space = "20%";
  std::string min_free = "256M";
  bool strict = false;
  bool fstab_identity = true;  // take UUID/label from SOURCE/etc/fstab's "/" entry
  bool xattrs = true;          // carry extended attributes
  bool one_file_system = false;
  bool bios_boot = false;      // add a BIOS boot partition for GRUB
  bool skip_unsupported = false;  // leave out what the filesystem cannot hold at all (FAT32)
  bool local_time = false;        // FAT32 times in local time
  std::string cluster_size;       // FAT32 --cluster-size ("" = the specification's table)
  bool quiet = false;
  // Scan progress on a terminal; off where several scans run at once (serve).
  bool progress = true;
  // Shares (nfs://, smb://): how they are reached and cached.
  std::string credentials;         // --credentials FILE
  double timeout_seconds = 30;     // --timeout
  size_t connections = 4;          // --connections
  std::string cache_size = "256M"; // --cache-size (memory)
  std::string cache_dir;           // --cache-dir
  std::string cache_dir_size = "4G";  // --cache-dir-size
  std::string cache_policy = "arc";   // --cache-policy lru|arc
  // Compressed archives: the most output between restart points.
  std::string restart_limit = "64M";  // --restart-limit
  // Chains of --listed-incremental archives.
  std::string chain_file;  // --chain FILE: the archives, one a line (then SOURCE is not given)
  uint32_t at = 0;         // --at N: the point in time (1-based archive); 0: the last
  // Tar archives: where their kept indexes go (--index-dir; "" = the state
  // folder's index/), or none (--no-index).
  std::string index_dir;
  bool keep_index = true;
};

struct PreparedDisk {
  std::unique_ptr<Source> source;  // what open_source made of LayoutArgs::source
  Disk disk;
  std::string source_path;  // canonical (resolve_source): names the mount and its delta
  double scan_seconds = 0, layout_seconds = 0;
};

// --chain FILE: SOURCE becomes the chain the file lists, and the word
// typed as SOURCE moves to `next_positional` (MOUNTPOINT, OUTPUT: named
// `next_name` in messages; nullptr: the command has none). Throws Error
// when both or neither of SOURCE and --chain are given, or the positional
// after it is missing.
void take_chain_file(LayoutArgs& args, std::string* next_positional, const char* next_name);

// Checks the layout options without scanning the source: throws Error as
// prepare_disk would for a value it cannot use.
void check_layout_options(const LayoutArgs& args);

// Scans the source and builds the disk; throws Error with a clear message.
PreparedDisk prepare_disk(const LayoutArgs& args);

}  // namespace vdiskfs
