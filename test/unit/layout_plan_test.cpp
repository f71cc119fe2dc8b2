// The layout from fstab (issue #15 point 1): parsing fstab text (fields,
// comments, escapes, how a line names its device, mount options), the plan
// made from it over a backup's tree (volumes, roles, ids, lines adapted or
// commented out and why, warnings), the guest's adapted etc/fstab and the
// plan's identity text. Trees are made with TreeBuilder from paths.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "core/disk/fstab.h"
#include "core/disk/layout_plan.h"
#include "core/source/tree_builder.h"

using namespace vdiskfs;

namespace {

const std::string kRootUuid = "0f3c2d4e-1a2b-4c5d-8e9f-0123456789ab";
const std::string kBootUuid = "1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c8d";
const std::string kSwapUuid = "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4";
const std::string kOtherUuid = "2b3c4d5e-6f70-4b1c-8d2e-3f405a6b7c8e";

// What Debian's installer writes for a UEFI machine with a separate /boot.
const std::string kDebianUefi =
    "# /etc/fstab: static file system information.\n"
    "#\n"
    "# <file system> <mount point>   <type>  <options>       <dump>  <pass>\n"
    "# / was on /dev/sda2 during installation\n"
    "UUID=" + kRootUuid + " /               ext4    errors=remount-ro 0       1\n"
    "# /boot was on /dev/sda3 during installation\n"
    "UUID=" + kBootUuid + " /boot           ext4    defaults        0       2\n"
    "# /boot/efi was on /dev/sda1 during installation\n"
    "UUID=5A1B-2C3D  /boot/efi       vfat    umask=0077      0       1\n"
    "# swap was on /dev/sda5 during installation\n"
    "UUID=" + kSwapUuid + " none            swap    sw              0       0\n";

// A backup's tree: directories, a few files, a symlink "web" -> "srv".
Tree backup_tree() {
  Node implied{};
  implied.mode = S_IFDIR | 0755;
  TreeBuilder b(implied);
  for (const char* d : {"boot/efi", "efi", "home", "var", "srv/my files", "data", "mnt/backup/sub", "mnt/usb", "etc",
                        "tmp", "proc"}) {
    EntrySpec s;
    s.attrs.mode = S_IFDIR | 0755;
    REQUIRE(b.add(d, s) == "");
  }
  for (const char* f : {"etc/fstab", "swapfile", "opt"}) {
    EntrySpec s;
    s.attrs.mode = S_IFREG | 0644;
    REQUIRE(b.add(f, s) == "");
  }
  EntrySpec link;
  link.attrs.mode = S_IFLNK | 0777;
  link.link_target = "srv";
  REQUIRE(b.add("web", link) == "");
  std::vector<uint64_t> payloads;
  return b.finish(payloads);
}

LayoutPlan plan(const std::string& text, bool fstab_ids = true) {
  static const Tree tree = backup_tree();
  PlanOptions options;
  options.fstab_ids = fstab_ids;
  options.origin = "fstab";
  return plan_layout(text, tree, options);
}

// A volume as one line: "kind mount id= label= role line=N [missing]".
std::string show(const PlannedVolume& v) {
  return std::string(volume_kind_name(v.kind)) + " " + v.mount_point + " id=" + v.fs_id + " label=" + v.label + " " +
         std::string(role_name(v.role)) + " line=" + std::to_string(v.line) + (v.missing_folder ? " missing" : "");
}

std::vector<std::string> volumes(const LayoutPlan& p) {
  std::vector<std::string> out;
  for (const PlannedVolume& v : p.volumes) out.push_back(show(v));
  return out;
}

// A change as one line: "N adapted vV type options: reason" or "N disabled: reason".
std::vector<std::string> changes(const LayoutPlan& p) {
  std::vector<std::string> out;
  for (const LineChange& c : p.changes)
    out.push_back(std::to_string(c.line) +
                  (c.kind == LineChange::Kind::adapted
                       ? " adapted v" + std::to_string(c.volume) + " " + c.type + " " + c.options
                       : std::string(" disabled")) +
                  ": " + c.reason);
  return out;
}

using Lines = std::vector<std::string>;

std::string root_line() { return "UUID=" + kRootUuid + " / ext4 defaults 0 1\n"; }

}  // namespace

TEST_CASE("parse_fstab: fields, comments, blank lines, tabs, escapes, short lines", "[layout]") {
  const auto lines = parse_fstab(
      "# comment\n"
      "\n"
      "UUID=abc\t/\text4  defaults \t0 1\n"
      "   # indented comment\n"
      "/dev/sda1 /mnt/my\\040disk\\011tab ext4\n"
      "x /a\\134b\\9\\400\n"
      "last");
  REQUIRE(lines.size() == 7);
  for (size_t i = 0; i < lines.size(); ++i) CHECK(lines[i].number == i + 1);
  CHECK(lines[0].text == "# comment");
  CHECK(lines[0].fields.empty());
  CHECK(lines[1].text == "");
  CHECK(lines[1].fields.empty());
  CHECK(lines[2].text == "UUID=abc\t/\text4  defaults \t0 1");
  CHECK(lines[2].fields == Lines{"UUID=abc", "/", "ext4", "defaults", "0", "1"});
  CHECK(lines[3].text == "   # indented comment");
  CHECK(lines[3].fields.empty());
  CHECK(lines[4].fields == Lines{"/dev/sda1", "/mnt/my disk\ttab", "ext4"});
  // \134 is a backslash; "\9" and "\400" are not escapes and stay as written.
  CHECK(lines[5].fields == Lines{"x", "/a\\b\\9\\400"});
  CHECK(lines[6].text == "last");
  CHECK(lines[6].fields == Lines{"last"});
  CHECK(parse_fstab("").empty());
  CHECK(parse_fstab("a\n").size() == 1);
}

TEST_CASE("parse_device: how fs_spec names a device", "[layout]") {
  auto check = [](const std::string& spec, DeviceKind kind, const std::string& value) {
    INFO(spec);
    const FstabDevice d = parse_device(spec);
    CHECK(d.kind == kind);
    CHECK(d.value == value);
  };
  check("UUID=" + kRootUuid, DeviceKind::uuid, kRootUuid);
  check("UUID=\"5A1B-2C3D\"", DeviceKind::uuid, "5A1B-2C3D");
  check("LABEL=root", DeviceKind::label, "root");
  check("LABEL=\"my disk\"", DeviceKind::label, "my disk");
  check("PARTUUID=0a1b2c3d-02", DeviceKind::partuuid, "0a1b2c3d-02");
  check("PARTLABEL=EFI", DeviceKind::partlabel, "EFI");
  check("/dev/sda1", DeviceKind::path, "/dev/sda1");
  check("/dev/mapper/vg0-root", DeviceKind::path, "/dev/mapper/vg0-root");
  check("tmpfs", DeviceKind::other, "tmpfs");
  check("server:/export", DeviceKind::other, "server:/export");
  check("uuid=abc", DeviceKind::other, "uuid=abc");  // the tags are upper case
}

TEST_CASE("has_mount_option: whole comma-separated options only", "[layout]") {
  CHECK(has_mount_option("defaults,noauto,user", "noauto"));
  CHECK(has_mount_option("noauto", "noauto"));
  CHECK(has_mount_option(",ro,", "ro"));
  CHECK_FALSE(has_mount_option("noautomount", "noauto"));
  CHECK_FALSE(has_mount_option("x-systemd.automount", "auto"));
  CHECK_FALSE(has_mount_option("", "defaults"));
  CHECK_FALSE(has_mount_option("defaults", ""));
}

TEST_CASE("parse_fstab_root: the / entry's UUID or label", "[layout]") {
  const auto by_uuid = parse_fstab_root(kDebianUefi);
  REQUIRE(by_uuid);
  REQUIRE(by_uuid->uuid);
  Uuid expected;
  REQUIRE(parse_uuid(kRootUuid, expected));
  CHECK(*by_uuid->uuid == expected);
  CHECK(by_uuid->label == "");
  const auto by_label = parse_fstab_root("LABEL=rootfs / ext4 defaults 0 1\n");
  REQUIRE(by_label);
  CHECK_FALSE(by_label->uuid);
  CHECK(by_label->label == "rootfs");
  CHECK_FALSE(parse_fstab_root("/dev/sda1 / ext4 defaults 0 1\n"));
  CHECK_FALSE(parse_fstab_root("PARTUUID=0a1b2c3d-02 / ext4 defaults 0 1\n"));
  CHECK_FALSE(parse_fstab_root("UUID=not-a-uuid / ext4 defaults 0 1\n"));
  CHECK_FALSE(parse_fstab_root("UUID=" + kBootUuid + " /boot ext4 defaults 0 2\n"));
}

TEST_CASE("plan_layout: a Debian UEFI fstab resolves unchanged", "[layout]") {
  const LayoutPlan p = plan(kDebianUefi);
  CHECK(p.origin == "fstab");
  CHECK(p.text == kDebianUefi);
  CHECK(p.lines.size() == 11);
  CHECK(volumes(p) == Lines{
                          "ext4 / id=" + kRootUuid + " label= linux_filesystem line=5",
                          "ext4 /boot id=" + kBootUuid + " label= linux_filesystem line=7",
                          "fat32 /boot/efi id=5A1B-2C3D label= efi_system line=9",
                          "swap  id=" + kSwapUuid + " label= linux_swap line=11",
                      });
  CHECK(p.changes.empty());
  CHECK(p.warnings.empty());
}

TEST_CASE("plan_layout: roles and kinds by type and mount point", "[layout]") {
  const LayoutPlan p = plan(root_line() +
                            "UUID=AAAA-0001 /efi vfat umask=0077 0 1\n"
                            "UUID=aaaa-0002 /mnt/usb vfat defaults 0 0\n"
                            "LABEL=DATA /srv msdos defaults 0 0\n"
                            "LABEL=sixteen-bytes-xy /home auto defaults 0 2\n"
                            "LABEL=myswap none swap sw 0 0\n");
  CHECK(volumes(p) == Lines{
                          "ext4 / id=" + kRootUuid + " label= linux_filesystem line=1",
                          "fat32 /efi id=AAAA-0001 label= efi_system line=2",
                          "fat32 /mnt/usb id=aaaa-0002 label= microsoft_basic_data line=3",
                          "fat32 /srv id= label=DATA microsoft_basic_data line=4",
                          "ext4 /home id= label=sixteen-bytes-xy linux_filesystem line=5",
                          "swap  id= label=myswap linux_swap line=6",
                      });
  CHECK(p.changes.empty());
  CHECK(p.warnings.empty());
}

TEST_CASE("plan_layout: lines naming devices by path or PARTUUID, and other types, are adapted to ext4", "[layout]") {
  const LayoutPlan p = plan(
      "/dev/sda1 / ext4 errors=remount-ro 0 1\n"
      "/dev/mapper/vg0-home /home xfs defaults,inode64,noatime 0 2\n"
      "PARTUUID=0a1b2c3d-02 /var ext4 defaults 0 2\n"
      "UUID=" + kBootUuid + " /srv ext3 defaults,data=journal 0 2\n"
      "UUID=" + kOtherUuid + " /data btrfs subvol=@data,compress=zstd,noatime 0 0\n"
      "UUID=" + kOtherUuid + " /mnt btrfs subvol=@mnt 0 0\n"
      "PARTLABEL=tmp /tmp ext2 defaults 0 0\n");
  CHECK(volumes(p) == Lines{
                          "ext4 / id= label= linux_filesystem line=1",
                          "ext4 /home id= label= linux_filesystem line=2",
                          "ext4 /var id= label= linux_filesystem line=3",
                          "ext4 /srv id=" + kBootUuid + " label= linux_filesystem line=4",
                          "ext4 /data id=" + kOtherUuid + " label= linux_filesystem line=5",
                          "ext4 /mnt id= label= linux_filesystem line=6",
                          "ext4 /tmp id= label= linux_filesystem line=7",
                      });
  CHECK(changes(p) ==
        Lines{
            "1 adapted v0 ext4 errors=remount-ro: /dev/sda1 names the device by its path, which the disk cannot "
            "reproduce",
            "2 adapted v1 ext4 defaults,noatime: /dev/mapper/vg0-home names the device by its path, which the disk "
            "cannot reproduce; vdiskfs makes xfs as ext4 (options ext4 does not take left out: inode64)",
            "3 adapted v2 ext4 defaults: 0a1b2c3d-02 names the device by PARTUUID, which the disk cannot reproduce",
            "4 adapted v3 ext4 defaults,data=journal: vdiskfs makes ext3 as ext4",
            "5 adapted v4 ext4 noatime: vdiskfs makes btrfs as ext4 (options ext4 does not take left out: "
            "subvol=@data,compress=zstd)",
            "6 adapted v5 ext4 defaults: UUID=" + kOtherUuid +
                " names an earlier volume too; vdiskfs makes btrfs as ext4 (options ext4 does not take left out: "
                "subvol=@mnt)",
            "7 adapted v6 ext4 defaults: tmp names the device by PARTLABEL, which the disk cannot reproduce; vdiskfs "
            "makes ext2 as ext4",
        });
  CHECK(p.warnings.empty());
}

TEST_CASE("plan_layout: ids a volume cannot carry are adapted, the type kept", "[layout]") {
  const LayoutPlan p = plan(root_line() +
                            "LABEL=seventeen-bytes-x /home ext4 defaults 0 2\n"
                            "LABEL=TWELVECHARS1 /boot/efi vfat umask=0077 0 1\n"
                            "UUID=not-a-uuid /var ext4 defaults 0 2\n"
                            "LABEL=seventeen-bytes-s none swap sw 0 0\n");
  CHECK(volumes(p) == Lines{
                          "ext4 / id=" + kRootUuid + " label= linux_filesystem line=1",
                          "ext4 /home id= label= linux_filesystem line=2",
                          "fat32 /boot/efi id= label= efi_system line=3",
                          "ext4 /var id= label= linux_filesystem line=4",
                          "swap  id= label= linux_swap line=5",
                      });
  CHECK(changes(p) == Lines{
                          "2 adapted v1 ext4 defaults: LABEL=seventeen-bytes-x is longer than ext4's 16 bytes",
                          "3 adapted v2 vfat umask=0077: LABEL=TWELVECHARS1 is longer than fat32's 11 bytes",
                          "4 adapted v3 ext4 defaults: UUID=not-a-uuid is not a UUID ext4 takes",
                          "5 adapted v4 swap sw: LABEL=seventeen-bytes-s is longer than swap's 16 bytes",
                      });
}

TEST_CASE("plan_layout: a FAT volume whose UUID is an ext4 UUID is adapted", "[layout]") {
  const LayoutPlan p = plan(root_line() + "UUID=" + kBootUuid + " /boot/efi vfat umask=0077 0 1\n");
  CHECK(volumes(p) == Lines{
                          "ext4 / id=" + kRootUuid + " label= linux_filesystem line=1",
                          "fat32 /boot/efi id= label= efi_system line=2",
                      });
  CHECK(changes(p) == Lines{"2 adapted v1 vfat umask=0077: UUID=" + kBootUuid + " is not a UUID fat32 takes"});
  CHECK(p.warnings.empty());
}

TEST_CASE("plan_layout: swap by device path is adapted, a swap file stays a file", "[layout]") {
  const LayoutPlan p = plan(root_line() +
                            "/dev/sda5 none swap sw 0 0\n"
                            "/swapfile none swap sw 0 0\n"
                            "UUID=" + kSwapUuid + " none swap sw,noauto 0 0\n");
  CHECK(volumes(p) == Lines{
                          "ext4 / id=" + kRootUuid + " label= linux_filesystem line=1",
                          "swap  id= label= linux_swap line=2",
                      });
  CHECK(changes(p) ==
        Lines{"2 adapted v1 swap sw: /dev/sda5 names the device by its path, which the disk cannot reproduce"});
  CHECK(p.warnings.empty());
}

TEST_CASE("plan_layout: --no-fstab-identity adapts every volume", "[layout]") {
  const LayoutPlan p = plan(kDebianUefi, false);
  CHECK(volumes(p) == Lines{
                          "ext4 / id= label= linux_filesystem line=5",
                          "ext4 /boot id= label= linux_filesystem line=7",
                          "fat32 /boot/efi id= label= efi_system line=9",
                          "swap  id= label= linux_swap line=11",
                      });
  const std::string why = ": --no-fstab-identity: the volume's UUID is derived";
  CHECK(changes(p) == Lines{
                          "5 adapted v0 ext4 errors=remount-ro" + why,
                          "7 adapted v1 ext4 defaults" + why,
                          "9 adapted v2 vfat umask=0077" + why,
                          "11 adapted v3 swap sw" + why,
                      });
  CHECK(p.warnings.empty());
}

TEST_CASE("plan_layout: network, kernel, memory, bind and noauto entries are kept as they are", "[layout]") {
  const LayoutPlan p = plan(root_line() +
                            "server:/export /mnt/nfs nfs defaults 0 0\n"
                            "server:/export4 /mnt/nfs4 nfs4 defaults 0 0\n"
                            "//fileserver/share /mnt/share cifs credentials=/root/.smb 0 0\n"
                            "host:/path /mnt/h auto defaults 0 0\n"
                            "user@host:/ /mnt/ssh fuse.sshfs defaults 0 0\n"
                            "tmpfs /tmp tmpfs defaults,size=1G 0 0\n"
                            "proc /proc proc defaults 0 0\n"
                            "/srv/data /mnt/bind none bind 0 0\n"
                            "/srv/data2 /mnt/bind2 ext4 rbind 0 0\n"
                            "/images/x.img /mnt/img ext4 loop 0 0\n"
                            "none /mnt/none ext4 defaults 0 0\n"
                            "UUID=" + kOtherUuid + " /mnt/backup ext4 noauto,nofail 0 0\n"
                            "/dev/cdrom /media/cdrom iso9660 user,noauto 0 0\n");
  CHECK(volumes(p) == Lines{"ext4 / id=" + kRootUuid + " label= linux_filesystem line=1"});
  CHECK(p.changes.empty());
  CHECK(p.warnings.empty());
}

TEST_CASE("plan_layout: lines that cannot be understood are kept and reported by number", "[layout]") {
  const LayoutPlan p = plan(root_line() +
                            "garbage line\n"
                            "UUID=" + kOtherUuid + " home ext4 defaults 0 2\n"
                            "UUID=" + kBootUuid + " /srv/../boot ext4 defaults 0 2\n"
                            "UUID=" + kSwapUuid + " ./var ext4 defaults 0 2\n");
  CHECK(volumes(p) == Lines{"ext4 / id=" + kRootUuid + " label= linux_filesystem line=1"});
  CHECK(p.changes.empty());
  CHECK(p.warnings ==
        Lines{
            "fstab line 2 (garbage line): cannot be understood (fewer than 3 fields); kept as it is",
            "fstab line 3 (UUID=" + kOtherUuid + " home ext4 defaults 0 2): its mount point is not an absolute path; "
            "kept as it is",
            "fstab line 4 (UUID=" + kBootUuid + " /srv/../boot ext4 defaults 0 2): its mount point is not an "
            "absolute path; kept as it is",
            "fstab line 5 (UUID=" + kSwapUuid + " ./var ext4 defaults 0 2): its mount point is not an absolute "
            "path; kept as it is",
        });
}

TEST_CASE("plan_layout: duplicates, entries under noauto ones and mount points through files are commented out",
          "[layout]") {
  const std::string dup = "UUID=" + kOtherUuid + " /home ext4 defaults 0 2";
  const std::string nested = "UUID=" + kBootUuid + " /mnt/backup/sub ext4 defaults 0 2";
  const std::string file = "LABEL=opt /opt ext4 defaults 0 2";
  const std::string link = "LABEL=web /web ext4 defaults 0 2";
  const std::string through = "LABEL=site /web/site ext4 defaults 0 2";
  const std::string in_file = "LABEL=inner /opt/inner ext4 defaults 0 2";
  const LayoutPlan p = plan(root_line() +
                            "LABEL=home /home ext4 defaults 0 2\n" + dup + "\n" +
                            "LABEL=backup /mnt/backup ext4 noauto 0 0\n" + nested + "\n" + file + "\n" + link + "\n" +
                            through + "\n" + in_file + "\n");
  CHECK(volumes(p) == Lines{
                          "ext4 / id=" + kRootUuid + " label= linux_filesystem line=1",
                          "ext4 /home id= label=home linux_filesystem line=2",
                      });
  CHECK(changes(p) == Lines{
                          "3 disabled: a second entry for /home: the first one is on the disk",
                          "5 disabled: /mnt/backup/sub lies under /mnt/backup, which is noauto: its files stay in "
                          "that folder",
                          "6 disabled: /opt is a file in the backup, not a directory; its files stay where they are",
                          "7 disabled: /web is a symbolic link in the backup, not a directory; its files stay where "
                          "they are",
                          "8 disabled: /web is a symbolic link in the backup, not a directory; its files stay where "
                          "they are",
                          "9 disabled: /opt is a file in the backup, not a directory; its files stay where they are",
                      });
  const std::string out = "; commented out in the guest's fstab";
  CHECK(p.warnings ==
        Lines{
            "fstab line 3 (" + dup + "): a second entry for /home: the first one is on the disk" + out,
            "fstab line 5 (" + nested + "): /mnt/backup/sub lies under /mnt/backup, which is noauto: its files stay "
            "in that folder" + out,
            "fstab line 6 (" + file + "): /opt is a file in the backup, not a directory; its files stay where they "
            "are" + out,
            "fstab line 7 (" + link + "): /web is a symbolic link in the backup, not a directory; its files stay "
            "where they are" + out,
            "fstab line 8 (" + through + "): /web is a symbolic link in the backup, not a directory; its files stay "
            "where they are" + out,
            "fstab line 9 (" + in_file + "): /opt is a file in the backup, not a directory; its files stay where "
            "they are" + out,
        });
}

// The README's rule names no order: an entry under a noauto one's mount
// point is commented out wherever the noauto line stands.
TEST_CASE("plan_layout: an entry under a noauto one written before it is commented out too", "[layout]") {
  const LayoutPlan p = plan(root_line() +
                            "UUID=" + kBootUuid + " /mnt/backup/sub ext4 defaults 0 2\n"
                            "LABEL=backup /mnt/backup ext4 noauto 0 0\n");
  CHECK(volumes(p) == Lines{"ext4 / id=" + kRootUuid + " label= linux_filesystem line=1"});
  CHECK(changes(p) ==
        Lines{"2 disabled: /mnt/backup/sub lies under /mnt/backup, which is noauto: its files stay in that folder"});
}

TEST_CASE("plan_layout: a mount point missing from the backup gets an empty volume and a warning", "[layout]") {
  const std::string line = "UUID=" + kOtherUuid + " /newvol ext4 defaults 0 2";
  const std::string deep = "LABEL=deep /nothere/deep ext4 defaults 0 2";
  const LayoutPlan p = plan(root_line() + line + "\n" + deep + "\n");
  CHECK(volumes(p) == Lines{
                          "ext4 / id=" + kRootUuid + " label= linux_filesystem line=1",
                          "ext4 /newvol id=" + kOtherUuid + " label= linux_filesystem line=2 missing",
                          "ext4 /nothere/deep id= label=deep linux_filesystem line=3 missing",
                      });
  CHECK(p.changes.empty());
  CHECK(p.warnings == Lines{
                          "fstab line 2 (" + line +
                              "): /newvol is not in the backup: an empty volume, and an empty folder in its parent",
                          "fstab line 3 (" + deep +
                              "): /nothere/deep is not in the backup: an empty volume, and an empty folder in its "
                              "parent",
                      });
}

TEST_CASE("plan_layout: without a / entry a root volume comes first, with a warning", "[layout]") {
  const LayoutPlan p = plan("/dev/sdb1 /home ext4 defaults 0 2\n"
                            "UUID=" + kBootUuid + " /boot ext4 defaults 0 2\n");
  CHECK(volumes(p) == Lines{
                          "ext4 / id= label= linux_filesystem line=0",
                          "ext4 /home id= label= linux_filesystem line=1",
                          "ext4 /boot id=" + kBootUuid + " label= linux_filesystem line=2",
                      });
  CHECK(changes(p) ==
        Lines{"1 adapted v1 ext4 defaults: /dev/sdb1 names the device by its path, which the disk cannot reproduce"});
  CHECK(p.warnings == Lines{"fstab has no entry for /: the root volume gets a UUID of its own"});
}

TEST_CASE("plan_layout: the root moves first when / is not the first line", "[layout]") {
  const LayoutPlan p = plan("/dev/sdb1 /home ext4 defaults 0 2\n"
                            "UUID=" + kBootUuid + " /boot ext4 defaults 0 2\n"
                            "/dev/sda1 / xfs defaults 0 1\n"
                            "/dev/sda5 none swap sw 0 0\n");
  CHECK(volumes(p) == Lines{
                          "ext4 / id= label= linux_filesystem line=3",
                          "ext4 /home id= label= linux_filesystem line=1",
                          "ext4 /boot id=" + kBootUuid + " label= linux_filesystem line=2",
                          "swap  id= label= linux_swap line=4",
                      });
  const std::string path = " names the device by its path, which the disk cannot reproduce";
  CHECK(changes(p) == Lines{
                          "1 adapted v1 ext4 defaults: /dev/sdb1" + path,
                          "3 adapted v0 ext4 defaults: /dev/sda1" + path + "; vdiskfs makes xfs as ext4",
                          "4 adapted v3 swap sw: /dev/sda5" + path,
                      });
  CHECK(p.warnings.empty());
}

TEST_CASE("adapted_fstab: untouched lines as written, changed ones with the reason and the original", "[layout]") {
  const std::string text =
      "# static file system information\n"
      "UUID=" + kRootUuid + "\t/\text4\terrors=remount-ro\t0\t1\n"
      "\n"
      "/dev/sdb1   /srv/my\\040files   xfs   defaults,inode64   0   2\n"
      "   # indented comment\n"
      "UUID=" + kOtherUuid + " / ext4 defaults 0 1\n"
      "/dev/sdc1 /home ext4\n"
      "tmpfs  /tmp   tmpfs  defaults  0 0\n";
  const LayoutPlan p = plan(text);
  REQUIRE(p.volumes.size() == 3);
  CHECK(p.volumes[1].mount_point == "/srv/my files");
  const std::string expected =
      "# static file system information\n"
      "UUID=" + kRootUuid + "\t/\text4\terrors=remount-ro\t0\t1\n"
      "\n"
      "# vdiskfs: /dev/sdb1 names the device by its path, which the disk cannot reproduce; vdiskfs makes xfs as ext4 "
      "(options ext4 does not take left out: inode64)\n"
      "# /dev/sdb1   /srv/my\\040files   xfs   defaults,inode64   0   2\n"
      "UUID=11111111-2222-4333-8444-555555555555 /srv/my\\040files ext4 defaults 0 2\n"
      "   # indented comment\n"
      "# vdiskfs: a second entry for /: the first one is on the disk\n"
      "# UUID=" + kOtherUuid + " / ext4 defaults 0 1\n"
      "# vdiskfs: /dev/sdc1 names the device by its path, which the disk cannot reproduce\n"
      "# /dev/sdc1 /home ext4\n"
      "UUID=66666666-7777-4888-9999-aaaaaaaaaaaa /home ext4 defaults 0 0\n"
      "tmpfs  /tmp   tmpfs  defaults  0 0\n";
  CHECK(adapted_fstab(p, {kRootUuid, "11111111-2222-4333-8444-555555555555", "66666666-7777-4888-9999-aaaaaaaaaaaa"}) ==
        expected);
  // Nothing changed: the text as it was.
  const LayoutPlan same = plan(kDebianUefi);
  CHECK(adapted_fstab(same, {kRootUuid, kBootUuid, "5A1B-2C3D", kSwapUuid}) == kDebianUefi);
}

TEST_CASE("adapted_fstab: a FAT serial and a swap line", "[layout]") {
  const LayoutPlan p = plan(root_line() +
                            "/dev/sda1 /boot/efi vfat umask=0077 0 1\n"
                            "/dev/sda5 none swap sw 0 0\n");
  CHECK(adapted_fstab(p, {kRootUuid, "5A1B-2C3D", kSwapUuid}) ==
        root_line() +
            "# vdiskfs: /dev/sda1 names the device by its path, which the disk cannot reproduce\n"
            "# /dev/sda1 /boot/efi vfat umask=0077 0 1\n"
            "UUID=5A1B-2C3D /boot/efi vfat umask=0077 0 1\n"
            "# vdiskfs: /dev/sda5 names the device by its path, which the disk cannot reproduce\n"
            "# /dev/sda5 none swap sw 0 0\n"
            "UUID=" + kSwapUuid + " none swap sw 0 0\n");
}

TEST_CASE("plan_identity_text: stable for equal input, changed with the text or a volume's id", "[layout]") {
  const std::string a = plan_identity_text(plan(kDebianUefi));
  CHECK(a == plan_identity_text(plan(kDebianUefi)));
  CHECK(a.rfind("fstab=", 0) == 0);
  CHECK(a.find(";/=ext4@5,id=" + kRootUuid + ",label=;/boot=ext4@7,id=" + kBootUuid +
               ",label=;/boot/efi=fat32@9,id=5A1B-2C3D,label=;=swap@11,id=" + kSwapUuid + ",label=") ==
        std::string("fstab=0123456789abcdef").size());
  CHECK(plan_identity_text(plan(kDebianUefi + "# a comment more\n")) != a);
  // The same text, the ids derived: the volumes' ids changed.
  const std::string derived = plan_identity_text(plan(kDebianUefi, false));
  CHECK(derived != a);
  CHECK(derived.substr(0, 22) == a.substr(0, 22));
  // A label in place of a UUID.
  CHECK(plan_identity_text(plan("LABEL=root / ext4 defaults 0 1\n")) !=
        plan_identity_text(plan("LABEL=rott / ext4 defaults 0 1\n")));
}
