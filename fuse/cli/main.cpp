// vdiskfs: the command line. Parses options and hands off to a command.
#include <sys/resource.h>

#include <algorithm>
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fmt/core.h>
#include <string>

#include "core/fs/filesystem.h"
#include "core/image/error.h"
#include "core/image/log.h"
#include "core/partition/partition_table.h"
#include "core/source/source_factory.h"
#include "formats/format_table.h"
#include "fuse/cli/catalog_command.h"
#include "fuse/cli/clone_command.h"
#include "fuse/cli/delta_command.h"
#include "fuse/cli/export_command.h"
#include "fuse/cli/fstab_args.h"
#include "fuse/cli/restore_command.h"
#include "fuse/cli/mount_command.h"
#include "fuse/cli/serve_command.h"

namespace {

// The SOURCE positional of a command that builds a disk: what it may be.
void add_source(CLI::App* cmd, vdiskfs::LayoutArgs& a) {
  // Required unless --chain gives the source (take_chain_file checks).
  cmd->add_option("SOURCE", a.source, vdiskfs::source_kinds_help() + " to present as a disk");
}

// How a share (nfs://, smb://) is reached and cached.
void add_remote_options(CLI::App* cmd, vdiskfs::LayoutArgs& a) {
  cmd->add_option("--credentials", a.credentials,
                  "SMB user and password from this file (username = ..., password = ..., domain = ...; mode 0600); "
                  "default: VDISKFS_SMB_USER, VDISKFS_SMB_PASSWORD, VDISKFS_SMB_DOMAIN, else guest");
  cmd->add_option("--timeout", a.timeout_seconds, "seconds a share may take to answer before a read gets EIO")
      ->capture_default_str();
  cmd->add_option("--connections", a.connections, "connections to a share: reads in flight at once")->capture_default_str();
  cmd->add_option("--cache-size", a.cache_size, "memory for the block cache in front of a share")->capture_default_str();
  cmd->add_option("--cache-dir", a.cache_dir,
                  "also cache a share's blocks in this folder on local disk; a compressed archive whose restart points "
                  "lie beyond --restart-limit is decompressed once into a copy here");
  cmd->add_option("--cache-dir-size", a.cache_dir_size, "at most this much in --cache-dir")->capture_default_str();
  cmd->add_option("--cache-policy", a.cache_policy,
                  "which blocks the cache keeps: arc (recency and frequency: a boot's repeated reads stay while a "
                  "scan passes) or lru")
      ->capture_default_str();
  cmd->add_option("--chain", a.chain_file,
                  "a chain of GNU tar --listed-incremental archives listed in FILE, one path a line (relative to "
                  "FILE's folder), the full backup first; instead of SOURCE");
  cmd->add_option("--index-dir", a.index_dir,
                  "keep each tar archive's index (its members, and a compressed stream's restart points) in DIR, "
                  "reused while the archive is unchanged (default: index/ in the state folder, beside the deltas)");
  cmd->add_flag("!--no-index", a.keep_index, "neither use nor keep a tar archive's index: scan it every time");
  cmd->add_option("--at", a.at, "a chain's point in time: the tree as of its Nth archive (default: the last)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--restart-limit", a.restart_limit,
                  "compressed archives: the most uncompressed output between two restart points (gzip deflate "
                  "blocks, zstd frames, xz blocks); beyond it the mount is refused unless --cache-dir is given")
      ->capture_default_str();
}

// Options that shape the disk, shared by every command that builds one.
void add_layout_options(CLI::App* cmd, vdiskfs::LayoutArgs& a) {
  cmd->add_option("--layout", a.layout,
                  "fstab: a partition per local entry of SOURCE/etc/fstab (the default when SOURCE has one); "
                  "single: one volume of --fs");
  cmd->add_option("--layout-from", a.layout_from, "plan the partitions from this fstab file instead of SOURCE/etc/fstab");
  cmd->add_option("--swap", a.swap, "size of each swap partition of a layout from fstab")->capture_default_str();
  cmd->add_option("--fs", a.filesystem,
                  "filesystem of the volume of the single layout: " + vdiskfs::filesystem_names() + " (default: ext4)");
  cmd->add_option("--table", a.table,
                  "partition table: " + vdiskfs::partition_table_names() +
                      " (mbr: disks up to 2 TiB; beyond four partitions, logical ones in an extended partition; no --bios-boot)")
      ->capture_default_str();
  cmd->add_option("--uuid", a.uuid, "filesystem UUID (ext4: xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx; fat32: the volume serial XXXX-XXXX; default: for ext4 the root entry of SOURCE/etc/fstab, else derived from the source)");
  cmd->add_option("--label", a.label, "volume label (ext4: up to 16 bytes; fat32: up to 11)");
  cmd->add_option("--free", a.free_space, "free space left in the volume: a size (10G) or a percentage of data+metadata")
      ->capture_default_str();
  cmd->add_option("--min-free", a.min_free, "at least this much free space")->capture_default_str();
  cmd->add_flag("!--no-fstab-identity", a.fstab_identity,
                "do not take the ext4 UUID/label from the root entry of SOURCE/etc/fstab");
  cmd->add_flag("!--no-xattrs", a.xattrs, "do not read or carry extended attributes");
  cmd->add_flag("--strict", a.strict, "fail when an entry of the source cannot be read (default: skip it with a warning)");
  cmd->add_flag("--one-file-system", a.one_file_system, "do not descend into directories on other filesystems");
  cmd->add_flag("--skip-unsupported", a.skip_unsupported,
                "leave out, with a warning listing them, entries the filesystem cannot hold at all (FAT32: "
                "symlinks, special files, files of 4 GiB or more, names FAT forbids); default: fail with the list");
  cmd->add_flag("--local-time", a.local_time, "FAT32: entry times in local time, as DOS and Windows (default: UTC)");
  cmd->add_option("--cluster-size", a.cluster_size,
                  "FAT32: bytes per cluster, 512 to 32K, a power of two (default: the FAT specification's table)");
  cmd->add_flag("--bios-boot", a.bios_boot,
                "add a 1 MiB BIOS boot partition (GPT entry 2; GPT only) so that grub-install can make the disk bootable");
  cmd->add_flag("-q,--quiet", a.quiet, "print only warnings and errors");
  add_remote_options(cmd, a);
}

// Every file a mount can expose: "<name>.img, .vmdk, ...".
std::string exposed_files_help() {
  std::string out;
  for (const vdiskfs::ContainerFormat& f : vdiskfs::container_formats())
    out += (out.empty() ? "<name>" : ", ") + vdiskfs::format_suffixes(f, ", ");
  return out;
}

// What a format does with a disk beyond its limit, for --formats.
std::string limit_help(const vdiskfs::ContainerFormat& f) {
  if (f.limit.empty()) return "";
  const char* what = f.beyond == vdiskfs::BeyondLimit::left_out ? "left out (with a warning)" : "the mount fails";
  return fmt::format("; beyond {}: {}", f.limit, what);
}

// --formats: each format's name, files and limit.
std::string formats_help() {
  std::string out = "exposed files: all, or a comma-separated list of:";
  for (const vdiskfs::ContainerFormat& f : vdiskfs::container_formats())
    out += fmt::format("\n  {} (<name>{}){}", f.name, vdiskfs::format_suffixes(f, ", <name>"), limit_help(f));
  return out;
}

// How a mount runs and serves its files, shared by mount (MountArgs) and
// serve (ServeArgs), which name these members alike.
template <typename Args>
void add_serving_options(CLI::App* cmd, Args& a) {
  cmd->add_flag("-f,--foreground", a.foreground, "stay in the foreground (logs go to stderr)");
  cmd->add_option("--formats", a.formats, formats_help())->capture_default_str();
  cmd->add_option("--log", a.log_file, "append log lines to this file (default: stderr in the foreground, syslog in the background)");
  cmd->add_option("--readahead", a.readahead_kib, "kernel readahead of the mount in KiB (0: kernel default)")
      ->capture_default_str();
  cmd->add_flag("--direct-io", a.direct_io,
                "bypass the kernel page cache for the exposed files (faster streaming reads; no mmap)");
  cmd->add_option("-o", a.fuse_options, "extra FUSE mount options (e.g. allow_other)")->delimiter(',');
}

// Lets a large tree keep many source files open for reads.
void raise_open_file_limit() {
  rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vdiskfs: files as virtual disks, without copying them.\n"
               "Mounts SOURCE (" + vdiskfs::source_kinds_help() + ") as a synthesized\n"
               "disk image (partition table: " + vdiskfs::partition_table_names() + "; filesystem: " +
               vdiskfs::filesystem_names() + ")\nwhose file data is read on demand from the source, which is never written."};
  app.set_version_flag("--version", "vdiskfs 0.1.0");
  app.require_subcommand(1);

  vdiskfs::MountArgs mount;
  CLI::App* mount_cmd = app.add_subcommand("mount", "Mount SOURCE as MOUNTPOINT/" + exposed_files_help());
  add_source(mount_cmd, mount.layout);
  mount_cmd->add_option("MOUNTPOINT", mount.mount_point, "empty directory to mount on (required)");
  add_serving_options(mount_cmd, mount);
  mount_cmd->add_option("--name", mount.name, "base name of the exposed files (default: the source's base name)");
  mount_cmd->add_flag("--read-only", mount.read_only, "refuse writes (EROFS); no delta");
  mount_cmd->add_option("--delta", mount.delta_dir,
                        "keep the writes of this mount in DIR (default: a state folder, see the README)");
  mount_cmd->add_flag("--delta-memory", mount.delta_memory, "keep writes in memory until unmount");
  mount_cmd->add_flag("--discard-delta", mount.discard_delta, "drop the existing delta and start fresh");
  add_layout_options(mount_cmd, mount.layout);

  vdiskfs::ServeArgs serve;
  CLI::App* serve_cmd = app.add_subcommand(
      "serve", "Serve every disk of a catalog in one mount: MOUNTPOINT/NAME/" + exposed_files_help() +
                   "; disks added to or removed from the catalog come and go within 2 s");
  serve_cmd->add_option("MOUNTPOINT", serve.mount_point, "empty directory to mount on")->required();
  serve_cmd->add_option("--catalog", serve.catalog, "the catalog file (default: catalog.db in the state folder, see the README)");
  add_serving_options(serve_cmd, serve);
  serve_cmd->add_flag("--read-only", serve.read_only, "refuse writes (EROFS) to every disk; no deltas");
  serve_cmd->add_option("--jobs", serve.jobs, "scans of sources at once")->capture_default_str();
  serve_cmd->add_flag("-q,--quiet", serve.quiet, "print only warnings and errors");

  vdiskfs::ExportArgs exp;
  CLI::App* export_cmd = app.add_subcommand(
      "export", "Write the disk of SOURCE to a new image file: raw or a container format; only data is read, free space stays a hole");
  add_source(export_cmd, exp.layout);
  export_cmd->add_option("OUTPUT", exp.output, "image file to create (never overwritten; required)");
  export_cmd->add_option("-O,--output-format", exp.format,
                         "raw (img), vmdk, vmdk-flat, vhd, vhd-fixed, vdi or qcow2 (default: from OUTPUT's suffix, else raw)");
  export_cmd->add_option("--jobs", exp.jobs, "reads in flight")->capture_default_str()->check(CLI::Range(1u, 64u));
  export_cmd->add_flag("--json", exp.json, "progress (one line a second) and the result as JSON lines on stdout");
  add_layout_options(export_cmd, exp.layout);

  vdiskfs::LayoutArgs info;
  bool info_json = false;
  CLI::App* info_cmd = app.add_subcommand("info", "Scan SOURCE and print the disk it would become and the formats it fits");
  add_source(info_cmd, info);
  info_cmd->add_flag("--json", info_json, "machine-readable output");
  add_layout_options(info_cmd, info);

  std::string stats_mount;
  bool stats_json = false;
  CLI::App* stats_cmd = app.add_subcommand("stats", "Show the counters of a mount (a share's block cache: hits, misses, bytes, evictions)");
  stats_cmd->add_option("MOUNTPOINT", stats_mount, "a vdiskfs mount")->required();
  stats_cmd->add_flag("--json", stats_json, "machine-readable output");

  vdiskfs::RestoreArgs rs;
  std::vector<std::string> status_files;
  bool status_json = false;
  CLI::App* restore_cmd = app.add_subcommand(
      "restore", "Copy a mounted disk to real storage while a VM runs on it (the copy runs in the mount's daemon)");
  restore_cmd->require_subcommand(1);
  CLI::App* restore_start = restore_cmd->add_subcommand(
      "start", "Start (or continue) the restore of MOUNTPOINT/NAME.img to TARGET: data ranges only, the guest's writes "
               "mirrored, verified at the end");
  restore_start->add_option("FILE", rs.file, "an exposed file of a running mount (MOUNTPOINT/NAME.img)")->required();
  restore_start->add_option("TARGET", rs.target,
                            "a new raw file, a block device, a new .qcow2 file, or nbd://HOST[:PORT]/EXPORT")
      ->required();
  restore_start->add_option("--rate", rs.rate_mib, "at most this many MiB/s (default: as fast as the guest's reads allow)")
      ->check(CLI::PositiveNumber);
  restore_start->add_flag("--restart", rs.restart,
                          "begin again: stop a running restore and drop the recorded progress (of this or another target)");
  restore_start->add_flag("--wait", rs.wait, "wait until the copy is verified (exit 0) or failed (exit 1), showing progress");
  restore_start->add_flag("--json", rs.json, "status as JSON on stdout (with --wait: a line a second)");
  restore_start->add_flag("-q,--quiet", rs.quiet, "no progress, only errors");
  CLI::App* restore_status = restore_cmd->add_subcommand("status", "Show restores: state, bytes, rate, time left, mirrored writes");
  restore_status->add_option("FILE", status_files, "exposed files (default: every file of every vdiskfs mount with a restore)");
  restore_status->add_flag("--json", status_json, "a JSON array of the statuses on stdout");
  CLI::App* restore_wait = restore_cmd->add_subcommand(
      "wait", "Wait until a running restore is verified (exit 0) or failed or stopped (exit 1), showing progress");
  restore_wait->add_option("FILE", rs.file, "an exposed file of a running mount")->required();
  restore_wait->add_flag("--json", rs.json, "the status as a JSON line a second on stdout");
  restore_wait->add_flag("-q,--quiet", rs.quiet, "no progress, only errors");
  CLI::App* restore_stop = restore_cmd->add_subcommand("stop", "Stop a restore, keeping its progress for 'restore start'");
  restore_stop->add_option("FILE", rs.file, "an exposed file of a running mount")->required();
  restore_stop->add_flag("--json", rs.json, "status as JSON on stdout");
  restore_stop->add_flag("-q,--quiet", rs.quiet, "only errors");
  CLI::App* restore_finish = restore_cmd->add_subcommand(
      "finish", "After a verified copy and the VM's shutdown: stop mirroring and print how to boot the target");
  restore_finish->add_option("FILE", rs.file, "an exposed file of a running mount")->required();
  restore_finish->add_flag("--force", rs.force, "even while the file is open (later writes do not reach the target)");
  restore_finish->add_flag("--json", rs.json, "status as JSON on stdout");

  CLI::App* delta_cmd = app.add_subcommand("delta", "Inspect or discard deltas");
  delta_cmd->require_subcommand(1);
  std::string delta_path;
  bool delta_json = false;
  CLI::App* delta_info = delta_cmd->add_subcommand("info", "Show a delta (a .delta file or a delta folder)");
  delta_info->add_option("PATH", delta_path, "delta file or folder")->required();
  delta_info->add_flag("--json", delta_json, "machine-readable output");
  CLI::App* delta_discard = delta_cmd->add_subcommand("discard", "Delete a delta (file or folder contents)");
  delta_discard->add_option("PATH", delta_path, "delta file or folder")->required();

  vdiskfs::CatalogArgs cat;
  CLI::App* catalog_cmd = app.add_subcommand("catalog", "The disks of this machine, kept in a catalog file (SQLite)");
  catalog_cmd->require_subcommand(1);
  catalog_cmd->fallthrough();  // --catalog also after the subcommand
  catalog_cmd->add_option("--catalog", cat.file, "the catalog file (default: catalog.db in the state folder, see the README)");
  CLI::App* catalog_add = catalog_cmd->add_subcommand(
      "add", "Add disk NAME over SOURCE with the layout options of mount; SOURCE must exist");
  catalog_add->add_option("NAME", cat.name, "the disk's name: a folder name (no '/', not . or .., no leading -)")->required();
  add_source(catalog_add, cat.layout);
  catalog_add->add_option("--delta", cat.delta_dir, "keep the disk's writes in DIR (default: a state folder, as mount)");
  catalog_add->add_flag("--json", cat.json, "the recorded disk as JSON on stdout");
  add_layout_options(catalog_add, cat.layout);
  CLI::App* catalog_remove = catalog_cmd->add_subcommand(
      "remove", "Remove disk NAME from the catalog, with its delta and the frozen layers no other disk stands on");
  catalog_remove->add_option("NAME", cat.name, "a disk of the catalog")->required();
  catalog_remove->add_flag("--keep-delta", cat.keep_delta, "leave its delta and unused layers on disk");
  CLI::App* catalog_list = catalog_cmd->add_subcommand("list", "List the disks of the catalog (never writes the file)");
  catalog_list->add_flag("--json", cat.json, "machine-readable output");
  CLI::App* catalog_show = catalog_cmd->add_subcommand(
      "show", "Show disk NAME: source, layout, identity, deltas, clones (never writes the file)");
  catalog_show->add_option("NAME", cat.name, "a disk of the catalog")->required();
  catalog_show->add_flag("--json", cat.json, "machine-readable output");
  CLI::App* catalog_check = catalog_cmd->add_subcommand(
      "check", "Check every disk for linkage faults (changed sources, written or reordered frozen layers); exit 1 when any");
  catalog_check->add_flag("--json", cat.json, "machine-readable output");

  vdiskfs::CloneArgs clone;
  CLI::App* clone_cmd = app.add_subcommand(
      "clone", "Clone catalog disk NAME as NEW: a linked, writable copy that costs nothing until written");
  clone_cmd->fallthrough();
  clone_cmd->add_option("--catalog", clone.file, "the catalog file (default: catalog.db in the state folder)");
  clone_cmd->add_option("NAME", clone.name, "the disk to clone");
  clone_cmd->add_option("NEW", clone.new_name, "the clone's name (a folder name)");
  clone_cmd->add_option("--delta", clone.delta_dir, "keep the clone's writes in DIR (default: a state folder)");
  clone_cmd->add_flag("--json", clone.json, "what was made, as JSON on stdout");
  CLI::App* clone_merge = clone_cmd->add_subcommand(
      "merge", "Fold clone NEW's writes into its parent and remove NEW (the parent must have no other clones)");
  clone_merge->add_option("NEW", clone.name, "the clone")->required();
  clone_merge->add_flag("--force", clone.force, "drop the parent's own writes made since the clone");

  // Exit statuses (README, "Exit status"): 0 done (also --help and
  // --version), 1 refused or failed, 2 a usage error. CLI11 prints its
  // message for a parse error and would return its own codes (100 and up).
  try {
    // `vdiskfs SOURCE MOUNTPOINT -o ...`, as mount.fuse3 runs it for fstab.
    if (auto fstab = vdiskfs::fstab_mount_args(std::vector<std::string>(argv + 1, argv + argc), app, *mount_cmd)) {
      std::reverse(fstab->begin(), fstab->end());  // CLI11 takes a vector last argument first
      app.parse(*fstab);
    } else {
      app.parse(argc, argv);
    }
  } catch (const vdiskfs::Error& e) {
    std::fprintf(stderr, "vdiskfs: error: %s\n", e.what());
    return 2;
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  // SOURCE or --chain, and the positional after SOURCE.
  try {
    if (*mount_cmd) vdiskfs::take_chain_file(mount.layout, &mount.mount_point, "MOUNTPOINT");
    if (*export_cmd) vdiskfs::take_chain_file(exp.layout, &exp.output, "OUTPUT");
    if (*info_cmd) vdiskfs::take_chain_file(info, nullptr, nullptr);
    if (*catalog_add) vdiskfs::take_chain_file(cat.layout, nullptr, nullptr);
  } catch (const vdiskfs::Error& e) {
    std::fprintf(stderr, "%s\nRun with --help for more information.\n", e.what());
    return 2;
  }
  raise_open_file_limit();
  try {
    if (*mount_cmd) {
      const int rc = vdiskfs::mount_command(mount);
      // A daemon in the background has no one to return its status to:
      // the log (--log FILE or syslog) says why it ends.
      if (rc != 0 && !mount.foreground)
        vdiskfs::log_error("the mount on {} ends with exit status {}", mount.mount_point, rc);
      return rc;
    }
    if (*serve_cmd) {
      const int rc = vdiskfs::serve_command(serve);
      if (rc != 0 && !serve.foreground) vdiskfs::log_error("the serve mount on {} ends with exit status {}", serve.mount_point, rc);
      return rc;
    }
    if (*export_cmd) return vdiskfs::export_command(exp);
    if (*info_cmd) return vdiskfs::info_command(info, info_json);
    if (*stats_cmd) return vdiskfs::stats_command(stats_mount, stats_json);
    if (*restore_start) return vdiskfs::restore_start_command(rs);
    if (*restore_status) return vdiskfs::restore_status_command(status_files, status_json);
    if (*restore_wait) return vdiskfs::restore_wait_command(rs);
    if (*restore_stop) return vdiskfs::restore_stop_command(rs);
    if (*restore_finish) return vdiskfs::restore_finish_command(rs);
    if (*delta_info) return vdiskfs::delta_info_command(delta_path, delta_json);
    if (*delta_discard) return vdiskfs::delta_discard_command(delta_path);
    if (*catalog_add) return vdiskfs::catalog_add_command(cat);
    if (*catalog_remove) return vdiskfs::catalog_remove_command(cat);
    if (*catalog_list) return vdiskfs::catalog_list_command(cat);
    if (*catalog_show) return vdiskfs::catalog_show_command(cat);
    if (*catalog_check) return vdiskfs::catalog_check_command(cat);
    if (*clone_merge) return vdiskfs::clone_merge_command(clone);
    if (*clone_cmd) {
      if (clone.name.empty() || clone.new_name.empty()) {
        std::fprintf(stderr, "vdiskfs clone: NAME and NEW are required\nRun with --help for more information.\n");
        return 2;
      }
      return vdiskfs::clone_command(clone);
    }
  } catch (const vdiskfs::Error& e) {
    vdiskfs::log_error("{}", e.what());
    return 1;
  } catch (const std::exception& e) {
    vdiskfs::log_error("unexpected failure: {}", e.what());
    return 1;
  }
  return 0;
}
