#include "core/disk/disk_builder.h"

#include <fmt/core.h>

#include <time.h>

#include <algorithm>

#include "core/fs/swap_area.h"
#include "core/image/error.h"
#include "core/image/log.h"
#include "core/image/mapped_image.h"
#include "core/partition/partition_table.h"
#include "core/partition/placement.h"
#include "core/source/source_view.h"
#include "core/source/tree_identity.h"

namespace vdiskfs {
namespace {

// The BIOS boot partition's size: room for GRUB's core image.
constexpr uint64_t kBiosBootBytes = 1 << 20;

VolumeOptions volume_options(const DiskOptions& options, const Tree& tree) {
  VolumeOptions v;
  v.uuid = options.fs_uuid;
  v.label = options.label;
  v.free_space = options.free_space;
  v.min_free_bytes = options.min_free_bytes;
  v.timestamp_ns = newest_past_time(tree);
  v.strict = options.strict;
  v.skip_unsupported = options.skip_unsupported;
  v.local_time = options.local_time;
  v.cluster_bytes = options.cluster_bytes;
  v.first_sector = kPartitionAlignment / kSectorSize;  // the first partition's start
  return v;
}

// The partition role of a volume of filesystem `type` (blkid's TYPE).
PartitionRole role_of(std::string_view type) {
  return type == "vfat" ? PartitionRole::microsoft_basic_data : PartitionRole::linux_filesystem;
}

// The BIOS boot partition: all zeros until a bootloader writes it (through a delta).
std::shared_ptr<const Image> empty_bios_boot() {
  return std::make_shared<MappedImage>(kBiosBootBytes, ExtentMap{}, std::vector<uint8_t>{}, nullptr,
                                       std::vector<std::shared_ptr<const Image>>{});
}


// The identity volume `i` of a disk derives its own ids from: the disk's
// for the first volume, a derived one for each other.
Identity volume_identity(const Identity& disk, size_t i) {
  if (i == 0) return disk;
  const Uuid u = disk.derive(fmt::format("volume-{}", i));
  Identity id;
  for (size_t b = 0; b < 8; ++b) {
    id.high = id.high << 8 | u[b];
    id.low = id.low << 8 | u[8 + b];
  }
  return id;
}

// A GPT partition name for a planned volume: its label, else "root",
// its mount point or "swap"; ASCII, at most 36 characters.
std::string partition_name(const PlannedVolume& v) {
  std::string name = !v.label.empty()             ? v.label
                     : v.kind == VolumeKind::swap ? "swap"
                     : v.mount_point == "/"       ? "root"
                                                  : v.mount_point;
  for (char& c : name)
    if (uint8_t(c) < 0x20 || uint8_t(c) > 0x7e) c = '_';
  return name.substr(0, 36);
}

bool lies_under(std::string_view path, std::string_view dir) {
  if (dir == "/") return path != "/";
  return path.size() > dir.size() && path.substr(0, dir.size()) == dir && path[dir.size()] == '/';
}

// The volume of `plan` whose mount point holds absolute `path` most
// closely (not counting a volume mounted at `path` itself); SIZE_MAX: none.
size_t volume_holding(const LayoutPlan& plan, std::string_view path) {
  size_t best = SIZE_MAX;
  for (size_t i = 0; i < plan.volumes.size(); ++i) {
    const std::string& m = plan.volumes[i].mount_point;
    if (plan.volumes[i].kind == VolumeKind::swap || !lies_under(path, m)) continue;
    if (best == SIZE_MAX || m.size() > plan.volumes[best].mount_point.size()) best = i;
  }
  return best;
}

// `path` relative to the mount point `dir` that holds it ("/boot/efi", "/boot" -> "efi").
std::string relative_to(std::string_view path, std::string_view dir) {
  return std::string(path.substr(dir == "/" ? 1 : dir.size() + 1));
}

// The child of directory `dir` named `name` in any ASCII case (FAT names); kNoIndex: none.
uint32_t child_named(const Tree& tree, uint32_t dir, std::string_view name) {
  const Node& d = tree.nodes[dir];
  for (uint32_t i = tree.child_begin(d); i < tree.child_begin(d) + tree.child_count(d); ++i) {
    const std::string_view n = tree.name(tree.dirents[i]);
    if (n.size() == name.size() &&
        std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
      return tree.dirents[i].node;
  }
  return kNoIndex;
}

// An ESP without \EFI\BOOT\BOOTX64.EFI (the path firmware boots when its
// NVRAM names no loader) gets one that reads the backup's own loader:
// EFI/<vendor>/shimx64.efi, else grubx64.efi (vendors in name order).
std::optional<ViewSpec::Alias> removable_loader(const Tree& tree, const std::string& root) {
  const uint32_t top = root.empty() ? 0 : tree.lookup(root);
  if (top == kNoIndex || !tree.nodes[top].is_dir()) return std::nullopt;
  const uint32_t efi = child_named(tree, top, "EFI");
  if (efi == kNoIndex || !tree.nodes[efi].is_dir()) return std::nullopt;
  const uint32_t boot = child_named(tree, efi, "BOOT");
  const bool boot_dir = boot != kNoIndex && tree.nodes[boot].is_dir();
  if (boot_dir && child_named(tree, boot, "BOOTX64.EFI") != kNoIndex) return std::nullopt;
  if (boot != kNoIndex && !boot_dir) return std::nullopt;
  const std::string efi_path = tree.relative_path(efi).substr(root.empty() ? 0 : root.size() + 1);
  const std::string boot_path = efi_path + "/" + (boot_dir ? std::string(tree.name(tree.dirents[tree.nodes[boot].first_link])) : "BOOT");
  const Node& e = tree.nodes[efi];
  for (std::string_view loader : {"shimx64.efi", "grubx64.efi"})
    for (uint32_t i = tree.child_begin(e); i < tree.child_begin(e) + tree.child_count(e); ++i) {
      const uint32_t vendor = tree.dirents[i].node;
      if (vendor == boot || !tree.nodes[vendor].is_dir()) continue;
      const uint32_t file = child_named(tree, vendor, loader);
      if (file == kNoIndex || !tree.nodes[file].is_regular()) continue;
      return ViewSpec::Alias{boot_path + "/BOOTX64.EFI",
                             efi_path + "/" + std::string(tree.name(tree.dirents[i])) + "/" +
                                 std::string(tree.name(tree.dirents[tree.nodes[file].first_link]))};
    }
  return std::nullopt;
}

// What volume `i` of `plan` holds of the source: its subtree, less the
// mount points of the volumes right below it (empty folders there).
ViewSpec view_of(const LayoutPlan& plan, size_t i, const std::string& describe) {
  const PlannedVolume& v = plan.volumes[i];
  ViewSpec view;
  view.root = v.mount_point == "/" ? "" : v.mount_point.substr(1);
  view.missing_root_empty = v.missing_folder;
  view.describe = fmt::format("{}, {}", describe, v.mount_point);
  for (size_t j = 0; j < plan.volumes.size(); ++j) {
    const PlannedVolume& below = plan.volumes[j];
    if (j == i || below.kind == VolumeKind::swap || volume_holding(plan, below.mount_point) != i) continue;
    view.cut.push_back(relative_to(below.mount_point, v.mount_point));
    if (below.missing_folder) view.added_dirs.push_back(view.cut.back());
  }
  return view;
}

// Where the partition after `specs` starts, in sectors, on a disk of
// `total` partitions (the count decides which ones an MBR chains).
uint64_t next_first_sector(std::vector<PartitionSpec> specs, size_t total, const TableFootprint& footprint) {
  const size_t index = specs.size();
  while (specs.size() < std::max(total, index + 1))
    specs.push_back({std::make_shared<MappedImage>(kSectorSize, ExtentMap{}, std::vector<uint8_t>{}, nullptr,
                                                   std::vector<std::shared_ptr<const Image>>{}),
                     PartitionRole::linux_filesystem, Uuid{}, ""});
  return place_partitions(std::move(specs), footprint).partitions[index].offset / kSectorSize;
}

// The id text blkid shows for volume kind `kind` with UUID bytes `u`.
std::string id_text(VolumeKind kind, const Uuid& u) {
  if (kind == VolumeKind::fat32) return fmt::format("{:02X}{:02X}-{:02X}{:02X}", u[0], u[1], u[2], u[3]);
  return uuid_to_string(u);
}

}  // namespace

int64_t newest_past_time(const Tree& tree) {
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  const Timestamp now_ts{int64_t(now.tv_sec), uint32_t(now.tv_nsec)};
  Timestamp newest;
  for (const Node& n : tree.nodes)
    for (const Timestamp& t : {n.mtime, n.ctime})
      if (t <= now_ts) newest = std::max(newest, t);
  return int64_t(newest.wrapped_ns());  // 1970 .. now: a plain nanosecond count
}

std::vector<std::pair<std::string, std::string>> disk_facts(const Disk& d, const Tree& tree) {
  auto num = [](uint64_t v) { return std::to_string(v); };
  std::vector<std::pair<std::string, std::string>> facts = {
      {"entries", num(tree.dirents.size() + 1)},
      {"inodes_used", num(d.volume.inodes - d.volume.free_inodes)},  // as df -i counts them
      {"data_bytes", num(tree.data_bytes())},
      {"disk_bytes", num(d.image->size())},
      {"allocated_bytes", num(d.allocated_bytes)},
      {"partition_offset", num(d.partition_offset)},
      {"partition_bytes", num(d.partition_size)},
      {"filesystem", d.volume.type},
      {"fs_uuid", d.volume.uuid_text},
      {"identity", d.identity.hex()},
  };
  facts.insert(facts.end(), d.volume.facts.begin(), d.volume.facts.end());
  return facts;
}

namespace {

// The single layout: one volume of options.filesystem (and a BIOS boot partition).
Disk build_single(const Source& source, const DiskOptions& options) {
  const Filesystem& filesystem = filesystem_named(options.filesystem);
  const PartitionTable& table = partition_table_named(options.table);
  const Tree& tree = source.tree();
  const VolumeOptions volume = volume_options(options, tree);
  // Everything that shapes the bytes of the disk goes into the identity.
  const std::string layout =
      fmt::format("vdiskfs-layout-1;{};{}{}", table.name, filesystem.layout(volume), options.bios_boot ? ";bios_boot" : "");
  Disk disk;
  disk.identity = compute_identity(tree, layout);
  disk.layout = layout;
  disk.volume = filesystem.build(source, volume, disk.identity);
  disk.fs_uuid = disk.volume.uuid;

  std::vector<PartitionSpec> partitions{{disk.volume.image, role_of(disk.volume.type),
                                         disk.identity.derive("gpt-partition"),
                                         options.label.empty() ? "vdiskfs" : options.label}};
  if (options.bios_boot)
    partitions.push_back({empty_bios_boot(), PartitionRole::bios_boot, disk.identity.derive("gpt-bios-boot"), "BIOS boot"});
  const Placement placement = place_partitions(std::move(partitions), *table.footprint);
  disk.image = table.encode(placement, disk.identity.derive("gpt-disk"));
  disk.partition_offset = placement.partitions[0].offset;
  disk.partition_size = placement.partitions[0].size;
  disk.allocated_bytes = (disk.volume.blocks - disk.volume.free_blocks) * disk.volume.block_size +
                         (disk.image->size() - disk.partition_size);
  disk.timestamp_ns = volume.timestamp_ns;
  for (size_t i = 0; i < placement.partitions.size(); ++i) {
    const PlacedPartition& p = placement.partitions[i];
    disk.partitions.push_back({i == 0 ? "/" : "", p.spec.role, i == 0 ? disk.volume : Volume{}, p.offset, p.size, 0});
  }
  return disk;
}


// The options of volume `v` of a plan, before its UUID is known.
VolumeOptions planned_volume_options(const PlannedVolume& v, const Filesystem& fs, VolumeOptions common) {
  if (!v.fs_id.empty()) {
    Uuid u;
    if (!fs.parse_uuid(v.fs_id, u)) fail("fstab UUID {} is not a {} UUID", v.fs_id, fs.name);
    common.uuid = u;
  }
  common.label = v.label;
  if (!fs.fat_options) {
    common.local_time = common.skip_unsupported = false;
    common.cluster_bytes = 0;
  }
  return common;
}

// The layout from fstab: a volume per planned entry, each reading its
// part of the source through a view; the guest's etc/fstab adapted.
Disk build_from_plan(const Source& source, const DiskOptions& options) {
  const LayoutPlan& plan = *options.plan;
  const PartitionTable& table = partition_table_named(options.table);
  const Tree& tree = source.tree();
  const VolumeOptions common = volume_options(options, tree);
  const size_t n = plan.volumes.size();
  std::vector<VolumeOptions> vo(n);
  std::vector<const Filesystem*> fs(n, nullptr);
  std::string layout = fmt::format("vdiskfs-layout-2;{};{}", table.name, plan_identity_text(plan));
  for (size_t i = 0; i < n; ++i) {
    const PlannedVolume& v = plan.volumes[i];
    if (v.kind == VolumeKind::swap) {
      Uuid u;
      if (!v.fs_id.empty() && parse_uuid(v.fs_id, u)) vo[i].uuid = u;
      layout += fmt::format(";swap;bytes={}", options.swap_bytes);
      continue;
    }
    fs[i] = &filesystem_named(volume_kind_name(v.kind));
    vo[i] = planned_volume_options(v, *fs[i], common);
    vo[i].first_sector = 0;  // placed after the volumes before it: follows from the rest
    layout += ";" + fs[i]->layout(vo[i]);
  }
  if (options.bios_boot) layout += ";bios_boot";

  Disk disk;
  disk.identity = compute_identity(tree, layout);
  disk.layout = layout;
  disk.timestamp_ns = common.timestamp_ns;
  disk.plan = plan;
  std::vector<std::string> uuid_text(n);
  for (size_t i = 0; i < n; ++i) {
    const VolumeKind kind = plan.volumes[i].kind;
    if (!vo[i].uuid)
      vo[i].uuid = volume_identity(disk.identity, i)
                       .derive(kind == VolumeKind::fat32 ? "fat-volume-id" : kind == VolumeKind::swap ? "swap-uuid" : "ext4-uuid");
    uuid_text[i] = id_text(kind, *vo[i].uuid);
  }
  const std::string guest_fstab = adapted_fstab(plan, uuid_text);
  if (read_tree_file(source, "etc/fstab") != guest_fstab) disk.guest_fstab = guest_fstab;
  const size_t fstab_volume = volume_holding(plan, "/etc/fstab");

  std::vector<PartitionSpec> specs;
  std::vector<Volume> volumes;
  for (size_t i = 0; i < n; ++i) {
    const PlannedVolume& v = plan.volumes[i];
    Volume volume;
    if (v.kind == VolumeKind::swap) {
      volume = build_swap(SwapOptions{options.swap_bytes, *vo[i].uuid, v.label});
    } else {
      ViewSpec view = view_of(plan, i, source.describe());
      if (i == fstab_volume && !disk.guest_fstab.empty())
        view.generated.push_back({relative_to("/etc/fstab", v.mount_point), disk.guest_fstab});
      if (v.role == PartitionRole::efi_system)
        if (auto alias = removable_loader(tree, view.root)) {
          std::string dos_path = alias->path;
          std::replace(dos_path.begin(), dos_path.end(), '/', '\\');
          disk.notes.push_back(fmt::format("ESP {}: \\{} reads {} (the backup's own loader; no copy)", v.mount_point,
                                           dos_path, alias->target));
          view.aliases.push_back(*std::move(alias));
        }
      const bool whole = view.root.empty() && view.cut.empty() && view.added_dirs.empty() && view.generated.empty() &&
                         view.aliases.empty();
      std::shared_ptr<const Source> part;
      if (!whole) disk.views.push_back(part = std::make_shared<SourceView>(source, view));
      vo[i].first_sector = next_first_sector(specs, n + (options.bios_boot ? 1 : 0), *table.footprint);
      volume = fs[i]->build(whole ? source : *part, vo[i], volume_identity(disk.identity, i));
    }
    specs.push_back({volume.image, v.role, disk.identity.derive(i == 0 ? "gpt-partition" : fmt::format("gpt-partition-{}", i)),
                     partition_name(v)});
    volumes.push_back(std::move(volume));
  }
  if (options.bios_boot)
    specs.push_back({empty_bios_boot(), PartitionRole::bios_boot, disk.identity.derive("gpt-bios-boot"), "BIOS boot"});
  const Placement placement = place_partitions(std::move(specs), *table.footprint);
  disk.image = table.encode(placement, disk.identity.derive("gpt-disk"));
  uint64_t partition_bytes = 0;
  for (size_t i = 0; i < placement.partitions.size(); ++i) {
    const PlacedPartition& p = placement.partitions[i];
    DiskPartition part{"", p.spec.role, i < n ? volumes[i] : Volume{}, p.offset, p.size, 0};
    if (i < n) {
      part.mount_point = plan.volumes[i].mount_point;
      part.fstab_line = plan.volumes[i].line;
      const Volume& v = part.volume;
      disk.allocated_bytes += v.type == "swap" ? kSwapPageBytes : (v.blocks - v.free_blocks) * v.block_size;
    }
    partition_bytes += p.size;
    disk.partitions.push_back(std::move(part));
  }
  disk.allocated_bytes += disk.image->size() - partition_bytes;
  disk.volume = volumes[0];
  disk.fs_uuid = disk.volume.uuid;
  disk.partition_offset = placement.partitions[0].offset;
  disk.partition_size = placement.partitions[0].size;
  return disk;
}

}  // namespace

bool single_layout_text(std::string_view layout) { return layout.rfind("vdiskfs-layout-1;", 0) == 0; }

Disk build_disk(const Source& source, const DiskOptions& options) {
  return options.plan ? build_from_plan(source, options) : build_single(source, options);
}

}  // namespace vdiskfs
