#include "core/disk/layout_plan.h"

#include <fmt/core.h>
#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <set>

#include "core/fs/filesystem.h"

namespace vdiskfs {
namespace {

// Swap labels: 16 bytes (linux/swap.h sws_volume).
constexpr size_t kSwapLabelBytes = 16;

bool one_of(std::string_view word, std::initializer_list<std::string_view> words) {
  return std::find(words.begin(), words.end(), word) != words.end();
}

// Entries a disk does not hold: network filesystems, kernel and memory
// filesystems, images mounted from files.
bool kept_type(std::string_view type) {
  return one_of(type, {"nfs", "nfs4", "cifs", "smbfs", "smb3", "sshfs", "glusterfs", "ceph", "9p", "virtiofs", "davfs",
                       "afs", "ncpfs", "lustre", "none", "proc", "sysfs", "tmpfs", "devtmpfs", "devpts", "ramfs",
                       "cgroup", "cgroup2", "securityfs", "debugfs", "tracefs", "hugetlbfs", "mqueue", "pstore",
                       "efivarfs", "configfs", "fusectl", "binfmt_misc", "overlay", "bpf", "autofs", "iso9660", "udf",
                       "squashfs"}) ||
         type.rfind("fuse", 0) == 0;
}

// Entries a disk does not hold: network filesystems, kernel and memory
// filesystems, bind mounts, images mounted from files; a list of types
// ("udf,iso9660") when any of them is one.
bool kept_elsewhere(const std::vector<std::string>& f) {
  const std::string& spec = f[0];
  const std::string options = f.size() > 3 ? f[3] : "";
  for (std::string_view types = f[2]; !types.empty();) {
    const size_t comma = types.find(',');
    if (kept_type(types.substr(0, comma))) return true;
    types = comma == std::string_view::npos ? std::string_view() : types.substr(comma + 1);
  }
  if (has_mount_option(options, "bind") || has_mount_option(options, "rbind") || has_mount_option(options, "loop"))
    return true;
  return spec == "none" || spec.rfind("//", 0) == 0 || (spec[0] != '/' && spec.find(':') != std::string::npos &&
                                                         spec.find('=') == std::string::npos);
}

// Whether FAT's volume label holds `label` byte for byte: upper-case
// ASCII, digits, space and the punctuation an 8.3 name allows.
bool fat_label_as_written(std::string_view label) {
  for (char c : label) {
    const auto u = uint8_t(c);
    if (u < 0x20 || u > 0x7e || (c >= 'a' && c <= 'z') || std::string_view("\"*+,./:;<=>?[\\]|").find(c) != std::string_view::npos)
      return false;
  }
  return true;
}

// fs_mntops an ext4 volume takes from a line of another type; the rest go.
bool generic_option(std::string_view o) {
  if (one_of(o, {"defaults", "ro", "rw", "noatime", "relatime", "strictatime", "lazytime", "nodiratime", "nosuid",
                 "suid", "nodev", "dev", "noexec", "exec", "sync", "async", "nofail", "auto", "user", "nouser", "users",
                 "owner", "group", "_netdev", "acl", "noacl", "user_xattr", "discard", "nodiscard", "usrquota",
                 "grpquota", "quota"}))
    return true;
  for (std::string_view prefix : {"errors=", "x-", "comment=", "data=", "commit="})
    if (o.substr(0, prefix.size()) == prefix) return true;
  return false;
}

// Splits `options` into what ext4 takes (returned; "defaults" if none) and what it drops.
std::string ext4_options(std::string_view options, std::vector<std::string>& dropped) {
  std::string kept;
  while (!options.empty()) {
    const size_t comma = options.find(',');
    const std::string_view o = options.substr(0, comma);
    options = comma == std::string_view::npos ? std::string_view() : options.substr(comma + 1);
    if (o.empty()) continue;
    if (generic_option(o)) kept += (kept.empty() ? "" : ",") + std::string(o);
    else dropped.emplace_back(o);
  }
  return kept.empty() ? "defaults" : kept;
}

// "/var//log/" -> "/var/log"; "" for a path that is not absolute or has "." or "..".
std::string normal_mount_point(std::string_view path) {
  if (path.empty() || path[0] != '/') return "";
  std::string out;
  while (!path.empty()) {
    const size_t slash = path.find('/');
    const std::string_view part = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    if (part.empty()) continue;
    if (part == "." || part == "..") return "";
    out += "/" + std::string(part);
  }
  return out.empty() ? "/" : out;
}

bool under(std::string_view path, std::string_view dir) {
  if (dir == "/") return true;
  return path.size() > dir.size() && path.substr(0, dir.size()) == dir && path[dir.size()] == '/';
}

// What the backup holds at a mount point: "" a directory or nothing; else
// why it cannot be one (a file, a symlink, a path through one).
std::string folder_problem(const Tree& tree, const std::string& mount_point, bool& missing) {
  missing = false;
  std::string path;
  for (size_t start = 1; start <= mount_point.size();) {
    size_t slash = mount_point.find('/', start);
    if (slash == std::string::npos) slash = mount_point.size();
    path = mount_point.substr(1, slash - 1);
    start = slash + 1;
    const uint32_t node = tree.lookup(path);
    if (node == kNoIndex) {
      missing = true;
      return "";
    }
    if (!tree.nodes[node].is_dir())
      return fmt::format("/{} is a {} in the backup, not a directory", path,
                         tree.nodes[node].is_symlink() ? "symbolic link" : "file");
  }
  return "";
}

class Planner {
 public:
  Planner(const Tree& tree, const PlanOptions& options) : tree_(tree), options_(options) {}

  // Takes the mount point of a local noauto entry, wherever its line is:
  // the entries under it are ruled by it whatever the order of the lines.
  void note_noauto(const FstabLine& l) {
    const auto& f = l.fields;
    if (f.size() < 4 || f[2] == "swap" || kept_elsewhere(f) || !has_mount_option(f[3], "noauto")) return;
    if (const std::string m = normal_mount_point(f[1]); !m.empty()) noauto_.push_back(m);
  }

  void line(const FstabLine& l) {
    const auto& f = l.fields;
    if (f.empty()) return;
    if (f.size() < 3) return warn(l, "cannot be understood (fewer than 3 fields); kept as it is");
    if (f[2] == "swap") return swap(l);
    if (kept_elsewhere(f)) return;
    const std::string mount_point = normal_mount_point(f[1]);
    if (mount_point.empty()) return warn(l, "its mount point is not an absolute path; kept as it is");
    if (has_mount_option(option_field(f), "noauto")) return;  // noted before (note_noauto)
    for (const std::string& n : noauto_)
      if (under(mount_point, n))
        return disable(l, fmt::format("{} lies under {}, which is noauto: its files stay in that folder", mount_point, n));
    if (planned_.count(mount_point))
      return disable(l, fmt::format("a second entry for {}: the first one is on the disk", mount_point));
    bool missing = false;
    const std::string problem = mount_point == "/" ? "" : folder_problem(tree_, mount_point, missing);
    if (!problem.empty()) return disable(l, problem + "; its files stay where they are");
    if (missing) warn(l, fmt::format("{} is not in the backup: an empty volume, and an empty folder in its parent", mount_point));
    local(l, mount_point, missing);
  }

  LayoutPlan finish(LayoutPlan plan) {
    if (!planned_.count("/")) {
      PlannedVolume root;
      root.mount_point = "/";
      volumes_.insert(volumes_.begin(), root);
      plan.warnings.insert(plan.warnings.begin(),
                           fmt::format("{} has no entry for /: the root volume gets a UUID of its own", plan.origin));
    }
    std::stable_sort(volumes_.begin(), volumes_.end(), [](const PlannedVolume& a, const PlannedVolume& b) {
      return a.mount_point == "/" && b.mount_point != "/";
    });
    // The sort moved the root to the front: the changes name volumes by index.
    for (LineChange& c : changes_)
      if (c.kind == LineChange::Kind::adapted)
        for (size_t i = 0; i < volumes_.size(); ++i)
          if (volumes_[i].line == c.line) c.volume = i;
    plan.volumes = std::move(volumes_);
    plan.changes = std::move(changes_);
    plan.warnings.insert(plan.warnings.end(), warnings_.begin(), warnings_.end());
    return plan;
  }

 private:
  static std::string option_field(const std::vector<std::string>& f) { return f.size() > 3 ? f[3] : "defaults"; }

  void warn(const FstabLine& l, const std::string& what) {
    warnings_.push_back(fmt::format("{} line {} ({}): {}", options_.origin, l.number, l.text, what));
  }
  void disable(const FstabLine& l, const std::string& why) {
    warn(l, why + "; commented out in the guest's fstab");
    changes_.push_back({l.number, LineChange::Kind::disabled, 0, "", "", why});
  }
  void adapt(const FstabLine& l, std::string type, std::string options, std::string reason) {
    changes_.push_back({l.number, LineChange::Kind::adapted, volumes_.size() - 1, std::move(type), std::move(options),
                        std::move(reason)});
  }

  // Takes the UUID or label the line names into `v` when the volume can
  // carry it; returns why not ("" when it can).
  std::string take_id(const FstabDevice& device, PlannedVolume& v, size_t max_label, bool (*parse)(std::string_view, Uuid&)) {
    if (!options_.fstab_ids) return "--no-fstab-identity: the volume's UUID is derived";
    if (device.kind == DeviceKind::uuid) {
      Uuid u;
      if (!parse(device.value, u))
        return fmt::format("UUID={} is not a UUID {} takes", device.value, volume_kind_name(v.kind));
      if (!used_ids_.insert(device.value).second)
        return fmt::format("UUID={} names an earlier volume too", device.value);
      v.fs_id = device.value;
      return "";
    }
    if (device.kind == DeviceKind::label) {
      if (v.kind == VolumeKind::fat32 && !fat_label_as_written(device.value))
        return fmt::format("LABEL={} is not a label FAT stores as written (FAT keeps labels in upper case, "
                           "without . + , ; = [ ] and non-ASCII)",
                           device.value);
      if (device.value.size() > max_label)
        return fmt::format("LABEL={} is longer than {}'s {} bytes", device.value, volume_kind_name(v.kind), max_label);
      v.label = device.value;
      return "";
    }
    const char* how = device.kind == DeviceKind::path       ? "its path"
                      : device.kind == DeviceKind::partuuid ? "PARTUUID"
                      : device.kind == DeviceKind::partlabel ? "PARTLABEL"
                                                             : "a name";
    return fmt::format("{} names the device by {}, which the disk cannot reproduce", device.value, how);
  }

  void swap(const FstabLine& l) {
    const auto& f = l.fields;
    const FstabDevice device = parse_device(f[0]);
    if (has_mount_option(option_field(f), "noauto")) return;
    if (device.kind == DeviceKind::path && device.value.rfind("/dev/", 0) != 0) return;  // a swap file: in the tree
    PlannedVolume v;
    v.kind = VolumeKind::swap;
    v.role = PartitionRole::linux_swap;
    v.line = l.number;
    const std::string why = take_id(device, v, kSwapLabelBytes, parse_uuid);
    volumes_.push_back(v);
    if (!why.empty()) adapt(l, "swap", option_field(f), why);
  }

  void local(const FstabLine& l, const std::string& mount_point, bool missing) {
    const auto& f = l.fields;
    PlannedVolume v;
    v.mount_point = mount_point;
    v.line = l.number;
    v.missing_folder = missing;
    const std::string& type = f[2];
    const bool fat = one_of(type, {"vfat", "msdos", "fat"}) && mount_point != "/";
    v.kind = fat ? VolumeKind::fat32 : VolumeKind::ext4;
    v.role = !fat ? PartitionRole::linux_filesystem
             : one_of(mount_point, {"/boot/efi", "/efi"}) ? PartitionRole::efi_system
                                                          : PartitionRole::microsoft_basic_data;
    const Filesystem& fs = filesystem_named(volume_kind_name(v.kind));
    std::vector<std::string> reasons;
    if (std::string why = take_id(parse_device(f[0]), v, fs.max_label_bytes, fs.parse_uuid); !why.empty())
      reasons.push_back(why);
    std::string new_type = type, options = option_field(f);
    if (!fat && !one_of(type, {"ext4", "auto"})) {
      new_type = "ext4";
      std::vector<std::string> dropped;
      if (!one_of(type, {"ext2", "ext3"})) options = ext4_options(options, dropped);
      reasons.push_back(fmt::format("vdiskfs makes {} as ext4", type) +
                        (dropped.empty() ? "" : fmt::format(" (options ext4 does not take left out: {})",
                                                            fmt::format("{}", fmt::join(dropped, ",")))));
    }
    planned_.insert(mount_point);
    volumes_.push_back(v);
    if (!reasons.empty()) adapt(l, new_type, options, fmt::format("{}", fmt::join(reasons, "; ")));
  }

  const Tree& tree_;
  const PlanOptions& options_;
  std::vector<PlannedVolume> volumes_;
  std::vector<LineChange> changes_;
  std::vector<std::string> warnings_;
  std::vector<std::string> noauto_;
  std::set<std::string> planned_, used_ids_;
};

// fstab's escapes for a field written back: space, tab, newline, backslash.
std::string escape_field(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\\') out += fmt::format("\\{:03o}", unsigned(uint8_t(c)));
    else out += c;
  }
  return out;
}

}  // namespace

std::string_view volume_kind_name(VolumeKind kind) {
  switch (kind) {
    case VolumeKind::ext4: return "ext4";
    case VolumeKind::fat32: return "fat32";
    case VolumeKind::swap: return "swap";
  }
  return "?";
}

LayoutPlan plan_layout(std::string_view text, const Tree& tree, const PlanOptions& options) {
  LayoutPlan plan;
  plan.origin = options.origin;
  plan.text = std::string(text);
  plan.lines = parse_fstab(text);
  Planner planner(tree, options);
  for (const FstabLine& l : plan.lines) planner.note_noauto(l);
  for (const FstabLine& l : plan.lines) planner.line(l);
  return planner.finish(std::move(plan));
}

std::string adapted_fstab(const LayoutPlan& plan, const std::vector<std::string>& uuid_text) {
  std::string out;
  auto change = plan.changes.begin();
  for (const FstabLine& l : plan.lines) {
    if (change == plan.changes.end() || change->line != l.number) {
      out += l.text + "\n";
      continue;
    }
    out += fmt::format("# vdiskfs: {}\n# {}\n", change->reason, l.text);
    if (change->kind == LineChange::Kind::adapted) {
      const auto& f = l.fields;
      out += fmt::format("UUID={} {} {} {} {} {}\n", uuid_text[change->volume], escape_field(f[1]), change->type,
                         escape_field(change->options), f.size() > 4 ? f[4] : "0", f.size() > 5 ? f[5] : "0");
    }
    ++change;
  }
  // The last line ends as the fstab's own did.
  if (!plan.text.empty() && plan.text.back() != '\n' && !out.empty()) out.pop_back();
  return out;
}

std::string plan_identity_text(const LayoutPlan& plan) {
  std::string out = fmt::format("fstab={:016x}", XXH3_64bits(plan.text.data(), plan.text.size()));
  for (const PlannedVolume& v : plan.volumes)
    out += fmt::format(";{}={}@{},id={},label={}", v.mount_point, volume_kind_name(v.kind), v.line, v.fs_id, v.label);
  // The changed lines, reasons included: they are bytes of the guest's fstab.
  std::string changes;
  for (const LineChange& c : plan.changes)
    changes += fmt::format("{}|{}|{}|{}|{}|{}\n", c.line, int(c.kind), c.volume, c.type, c.options, c.reason);
  return out + fmt::format(";changes={:016x}", XXH3_64bits(changes.data(), changes.size()));
}

}  // namespace vdiskfs
