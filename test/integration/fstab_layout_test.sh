#!/bin/bash
# The layout from fstab (issue #15 point 1), judged by tools vdiskfs did
# not make. A backup shaped like a Debian UEFI server, whose etc/fstab
# names / /boot /boot/efi and swap by UUID, /srv as xfs on LVM, a /home
# missing from the backup, and lines vdiskfs must keep, report or comment
# out (not understood, tmpfs, nfs, noauto and one nested under it, a second
# /boot, mount points that are or lie through symbolic links):
#  - sgdisk -v clean; partitions in fstab order with the GPT type GUIDs
#    (Linux filesystem, EFI System, Linux swap) and names sgdisk -i reads;
#  - blkid -p on every partition: the type and the UUID or label fstab
#    named, a fresh UUID for the adapted /srv; swaplabel reads the swap;
#  - e2fsck -fn clean on every ext4, fsck.fat -n on the ESP;
#  - every ext4 volume, mounted by the kernel, equals its subtree of the
#    backup (treetool compare, xattrs by getfattr) with the mount points
#    below it as empty folders carrying the backup's attributes; /home an
#    empty volume and an empty folder; the root's etc/fstab is the adapted
#    one (the /srv line renamed, commented-out lines with their reasons,
#    every other line byte for byte); the ESP through mtools equals the
#    backup's boot/efi plus \EFI\BOOT\BOOTX64.EFI holding shimx64.efi;
#  - vdiskfs info (text and --json) says all of that;
#  - --layout single, --layout-from, --table mbr (extended partition),
#    --swap SIZE and the refusals; the same backup as a tar archive gives
#    the same disk. The backup (and its etc/fstab) is unchanged afterwards.
source "$(dirname "$0")/lib.sh"
# FAT holds local times: UTC here, so that mcopy -m gives back the mtimes.
export TZ=UTC
require_root
for t in "fusermount3 fuse3" "sgdisk gdisk" "sfdisk fdisk" "partx util-linux" "blkid util-linux" \
         "swaplabel util-linux" "losetup mount" "e2fsck e2fsprogs" "fsck.fat dosfstools" "mcopy mtools" \
         "jq jq" "tar tar" "getfattr attr" "setfattr attr" "python3 python3" \
         "$VDISKFS vdiskfs(build)" "$TREETOOL treetool(build)"; do require $t; done
make_work
B=$WORK/backup
M=$WORK/mnt
mkdir -p "$M"

ROOT_UUID=2f5a1c3e-8d4b-4e6f-9a7c-1b2d3e4f5a6b
BOOT_UUID=11111111-2222-4333-8444-555555555555
ESP_SERIAL=5A1B-2C3D
SWAP_UUID=aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee
GUID_LINUX=0FC63DAF-8483-4772-8E79-3D69D8477DE4
GUID_ESP=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
GUID_SWAP=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F

# ---------------------------------------------------------------- the backup
mkdir -p "$B"/{etc,usr/bin,usr/lib,usr/share/doc,usr/local/opt/app,var/log,var/spool,tmp,dev} \
         "$B"/boot/{grub,efi/EFI/debian} "$B"/srv/{www/static,db,data/archive} "$B"/mnt/{usb/photos,nas}
# The fstab (line numbers matter below): 1 comment, 2-7 the volumes, 8-9
# not understood, 10-11 kept elsewhere, 12 blank, 13 noauto, 14 under it,
# 15 a second /boot, 16 a symlink, 17 through a symlink.
cat >"$B/etc/fstab" <<EOF
# /etc/fstab: static file system information.
UUID=$ROOT_UUID /               ext4    errors=remount-ro 0       1
UUID=$BOOT_UUID /boot ext4 defaults 0 2
UUID=$ESP_SERIAL	/boot/efi	vfat	umask=0077	0	1
UUID=$SWAP_UUID none swap sw 0 0
/dev/mapper/vg0-srv /srv xfs defaults,inode64,noatime 0 2
LABEL=home /home ext4 defaults 0 2
this-line-is-not-understood
/dev/sdc1 relative/mnt ext4 defaults 0 0
tmpfs /tmp tmpfs defaults,size=512M 0 0
nas.example:/export/backup /mnt/nas nfs defaults,_netdev 0 0

/dev/sdb1 /mnt/usb ext4 noauto 0 0
UUID=33333333-4444-4555-8666-777777777777 /mnt/usb/photos ext4 defaults 0 2
LABEL=oldboot /boot ext4 defaults 0 2
UUID=44444444-5555-4666-8777-888888888888 /opt ext4 defaults 0 2
UUID=55555555-6666-4777-8888-999999999999 /data/archive ext4 defaults 0 2
EOF
# Root volume: files of every kind, hard links, symlinks, xattrs.
echo web01 >"$B/etc/hostname"
echo "Welcome to web01" >"$B/etc/motd"
ln "$B/etc/motd" "$B/usr/share/doc/motd"
random_bytes 200000 >"$B/usr/bin/tool"
chmod 755 "$B/usr/bin/tool"
ln -s tool "$B/usr/bin/tool-link"
random_bytes 70000 >"$B/usr/lib/libx.so.1"
ln -s libx.so.1 "$B/usr/lib/libx.so"
echo "größe" >"$B/usr/share/doc/Ünïcödé name.txt"
truncate -s 5M "$B/var/log/sparse.log"
random_bytes 10000 | dd of="$B/var/log/sparse.log" bs=1 seek=1048576 conv=notrunc status=none
: >"$B/var/log/empty"
mkfifo "$B/var/spool/fifo"
mknod "$B/dev/null-like" c 1 3
chmod 1777 "$B/tmp"
echo '#!/bin/sh' >"$B/usr/local/opt/app/run.sh"
ln -s usr/local/opt "$B/opt"  # /opt in fstab: a symbolic link
ln -s srv/data "$B/data"      # /data/archive in fstab: through a symbolic link
random_bytes 100000 >"$B/srv/data/archive/2023.tar"
random_bytes 30000 >"$B/mnt/usb/photos/pic.jpg"  # under the noauto /mnt/usb
ln -s boot/vmlinuz-6.1.0-amd64 "$B/vmlinuz"
setfattr -n user.role -v web "$B/etc/hostname"
# /boot
random_bytes 300000 >"$B/boot/vmlinuz-6.1.0-amd64"
random_bytes 500000 >"$B/boot/initrd.img-6.1.0-amd64"
echo "linux /vmlinuz-6.1.0-amd64 root=UUID=$ROOT_UUID" >"$B/boot/grub/grub.cfg"
setfattr -n user.origin -v debian-installer "$B/boot/grub/grub.cfg"
# /boot/efi: what Debian installs there (no \EFI\BOOT).
random_bytes 900000 >"$B/boot/efi/EFI/debian/shimx64.efi"
random_bytes 1500000 >"$B/boot/efi/EFI/debian/grubx64.efi"
echo "search.fs_uuid $ROOT_UUID root" >"$B/boot/efi/EFI/debian/grub.cfg"
echo "shimx64.efi,debian,,This is the boot entry for debian" >"$B/boot/efi/EFI/debian/BOOTX64.CSV"
# /srv: owners, a hard link, xattrs (on the mount point too).
echo "<h1>web01</h1>" >"$B/srv/www/index.html"
random_bytes 40000 >"$B/srv/www/static/app.js"
ln "$B/srv/www/static/app.js" "$B/srv/www/static/app-v2.js"
random_bytes 2000000 >"$B/srv/db/data.bin"
mkdir "$B/srv/my data"  # a mount point of --layout-from's fstab
echo notes >"$B/srv/my data/notes.txt"
chown -R 33:33 "$B/srv/www"
chown 1000:1000 "$B/srv/db/data.bin"
setfattr -n user.backup -v nightly "$B/srv/www/index.html"
setfattr -n user.mount -v srv "$B/srv"
# The mount points' own attributes, then every folder's time (parents last).
chmod 0700 "$B/boot/efi"
chmod 0750 "$B/srv"
chown 0:50 "$B/srv"
touch -d '2023-03-04 05:06:07.123456789' "$B/boot/efi/EFI/debian/shimx64.efi"
find "$B" -mindepth 1 -depth -type d -exec touch -d '2023-05-06 07:08:09.5' {} +
touch -d '2022-01-02 03:04:05.25' "$B/srv" "$B/boot" "$B/boot/efi"
touch -d '2021-11-12 13:14:15.75' "$B"
chmod 0755 "$B"

# The same backup as a tar archive (--sparse: with its holes, as the
# directory has them, so that the tree and the derived UUIDs are the
# same), and the expected content of each
# volume (made now: reading the backup later would move its atimes, which
# the before/after hash covers).
tar --sparse --xattrs --xattrs-include='*' -cf "$WORK/backup.tar" -C "$B" . || die "tar of the backup failed"
E=$WORK/expect
mkdir -p "$E"
# empty_folder DIR: DIR's entries removed, its own times kept.
empty_folder() {
    touch -r "$1" "$WORK/stamp"
    find "$1" -mindepth 1 -delete
    touch -r "$WORK/stamp" "$1"
}
cp -a "$B" "$E/root"
cp -a "$B/boot" "$E/boot"
cp -a "$B/srv" "$E/srv"
cp -a "$B/boot/efi" "$E/esp"
empty_folder "$E/root/boot"
empty_folder "$E/root/srv"
empty_folder "$E/boot/efi"
# /home is missing: an empty folder with the root's owners and times, mode 0755.
touch -r "$E/root" "$WORK/stamp"
mkdir -m 0755 "$E/root/home" "$E/home"
touch -r "$WORK/stamp" "$E/root/home" "$E/home" "$E/root"
chown --reference="$E/root" "$E/home"
# The ESP: \EFI\BOOT\BOOTX64.EFI reads shimx64.efi.
mkdir "$E/esp/EFI/BOOT"
cp -p "$E/esp/EFI/debian/shimx64.efi" "$E/esp/EFI/BOOT/BOOTX64.EFI"
cp "$B/etc/fstab" "$WORK/fstab.orig"
fstab_sum=$(sha256sum <"$B/etc/fstab")
"$TREETOOL" hash "$B" >"$WORK/backup.before"
sha256sum <"$WORK/backup.tar" >"$WORK/tar.before"

# ------------------------------------------------------------ vdiskfs info
"$VDISKFS" info --json "$B" >"$WORK/info.json" 2>"$WORK/info.err" || die "vdiskfs info --json failed: $(cat "$WORK/info.err")"
J=$WORK/info.json
[ "$(jq -r .layout "$J")" = fstab ] || die "info --json: layout $(jq .layout "$J"), expected fstab"
got=$(jq -c '[.partitions[] | [.number, .mount_point, .type, .label, .fstab_line]]' "$J")
want='[[1,"/","ext4","",2],[2,"/boot","ext4","",3],[3,"/boot/efi","vfat","",4],[4,"","swap","",5],[5,"/srv","ext4","",6],[6,"/home","ext4","home",7]]'
[ "$got" = "$want" ] || die "info --json partitions [number, mount_point, type, label, fstab_line]: $got, expected $want"
got=$(jq -c '[.partitions[0:4][] | .uuid]' "$J")
want="[\"$ROOT_UUID\",\"$BOOT_UUID\",\"$ESP_SERIAL\",\"$SWAP_UUID\"]"
[ "$got" = "$want" ] || die "info --json: the UUIDs fstab names: $got, expected $want"
SRV_UUID=$(jq -r '.partitions[4].uuid' "$J")
HOME_UUID=$(jq -r '.partitions[5].uuid' "$J")
uuid_re='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
[[ $SRV_UUID =~ $uuid_re ]] || die "info --json: /srv's UUID '$SRV_UUID' is not a UUID"
[[ $HOME_UUID =~ $uuid_re ]] || die "info --json: /home's UUID '$HOME_UUID' is not a UUID"
! grep -qi "$SRV_UUID" "$B/etc/fstab" || die "the adapted /srv got UUID $SRV_UUID, which the fstab names"
[ "$SRV_UUID" != "$HOME_UUID" ] || die "/srv and /home got one UUID $SRV_UUID"
echo "ok: info --json: 6 partitions in fstab order; /srv gets $SRV_UUID, /home $HOME_UUID"

got=$(jq -c '[.fstab.changes[] | [.line, .action]]' "$J")
want='[[6,"adapted"],[14,"commented out"],[15,"commented out"],[16,"commented out"],[17,"commented out"]]'
[ "$got" = "$want" ] || die "info --json fstab.changes [line, action]: $got, expected $want"
for n in 6 14 15 16 17; do
    [ "$(jq -r --argjson n $n '.fstab.changes[] | select(.line == $n) | .original' "$J")" = "$(sed -n "${n}p" "$WORK/fstab.orig")" ] ||
        die "info --json: fstab.changes of line $n does not hold the line as written: $(jq -c .fstab.changes "$J")"
done
# reason_says LINE TEXT...: the reason of the change of fstab line LINE says every TEXT.
reason_says() {
    local n=$1 reason
    shift
    reason=$(jq -r --argjson n "$n" '.fstab.changes[] | select(.line == $n) | .reason' "$J")
    for t in "$@"; do
        grep -qF -- "$t" <<<"$reason" || die "info --json: the reason for fstab line $n ('$reason') does not say '$t'"
    done
}
reason_says 6 /dev/mapper/vg0-srv xfs ext4 inode64
reason_says 14 /mnt/usb noauto
reason_says 15 "second entry for /boot"
reason_says 16 "/opt is a symbolic link"
reason_says 17 "/data is a symbolic link"
# Warnings: one per line not understood, missing folder or commented out;
# none for the volumes, tmpfs, nfs or noauto lines.
got=$(jq -r '.fstab.warnings[]' "$J" | sed -nE 's/.* line ([0-9]+) \(.*/\1/p' | sort -n | tr '\n' ' ')
[ "$got" = "7 8 9 14 15 16 17 " ] || die "info --json: fstab.warnings name lines '$got', expected 7 8 9 14 15 16 17: $(jq .fstab.warnings "$J")"
# warning_says LINE TEXT: the warning naming fstab line LINE holds the line and says TEXT.
warning_says() {
    local w
    w=$(jq -r --arg n " line $1 (" '.fstab.warnings[] | select(contains($n))' "$J")
    grep -qF -- "($(sed -n "$1p" "$WORK/fstab.orig"))" <<<"$w" || die "the warning for fstab line $1 does not quote it: $w"
    grep -qF -- "$2" <<<"$w" || die "the warning for fstab line $1 ('$w') does not say '$2'"
}
warning_says 7 "/home is not in the backup"
warning_says 8 "cannot be understood"
warning_says 9 "not an absolute path"
grep -qF "line 8 (this-line-is-not-understood)" "$WORK/info.err" || die "info did not log the line not understood: $(cat "$WORK/info.err")"
echo "ok: info --json: fstab.changes and fstab.warnings as expected"

"$VDISKFS" info "$B" >"$WORK/info.txt" 2>/dev/null || die "vdiskfs info failed"
for re in "^layout +fstab " \
          "^partition 1 +/ ext4 UUID $ROOT_UUID," "^partition 2 +/boot ext4 UUID $BOOT_UUID," \
          "^partition 3 +/boot/efi vfat UUID $ESP_SERIAL,.*efi_system" "^partition 4 +- swap UUID $SWAP_UUID,.*linux_swap" \
          "^partition 5 +/srv ext4 UUID $SRV_UUID," "^partition 6 +/home ext4 UUID $HOME_UUID LABEL home," \
          "^fstab line 6 +adapted: .*xfs" "^fstab line 14 +commented out: " "^fstab line 15 +commented out: " \
          "^fstab line 16 +commented out: " "^fstab line 17 +commented out: " '^note .*\\EFI\\BOOT\\BOOTX64.EFI reads EFI/debian/shimx64.efi'; do
    grep -qE -- "$re" "$WORK/info.txt" || die "vdiskfs info does not print /$re/: $(cat "$WORK/info.txt")"
done
[ "$(grep -c "^partition [0-9]" "$WORK/info.txt")" = 6 ] || die "vdiskfs info lists $(grep -c "^partition [0-9]" "$WORK/info.txt") partitions, expected 6"
echo "ok: vdiskfs info lists the partitions and the changed fstab lines"

# Refusals, before any scan or with the reason.
expect_status $EXIT_REFUSED "--layout nope is not a layout" "$VDISKFS" info --layout nope "$B"
mkdir -p "$WORK/nofstab/etc"
echo hello >"$WORK/nofstab/etc/motd"
expect_status $EXIT_REFUSED "has no readable etc/fstab for --layout fstab" "$VDISKFS" info --layout fstab "$WORK/nofstab"
expect_status $EXIT_REFUSED "--fs is for --layout single" "$VDISKFS" info --layout fstab --fs fat32 "$B"
expect_status $EXIT_REFUSED "--swap 1000 is not a size of whole 4 KiB pages" "$VDISKFS" info --swap 1000 "$B"
expect_status $EXIT_REFUSED "--uuid and --label are for --layout single" \
    "$VDISKFS" info --layout fstab --uuid "$ROOT_UUID" "$B"
expect_status $EXIT_REFUSED "--layout single and --layout-from go against each other" \
    "$VDISKFS" info --layout single --layout-from "$B/etc/fstab" "$B"
expect_status $EXIT_REFUSED "--layout-from $WORK/no-such.fstab: cannot read it" \
    "$VDISKFS" info --layout-from "$WORK/no-such.fstab" "$B"
# What the ESP's FAT32 cannot hold fails the layout, naming it.
mkdir -p "$WORK/badesp/etc" "$WORK/badesp/boot/efi/EFI/debian"
echo "UUID=$ESP_SERIAL /boot/efi vfat umask=0077 0 1" >"$WORK/badesp/etc/fstab"
echo loader >"$WORK/badesp/boot/efi/EFI/debian/grubx64.efi"
ln -s grubx64.efi "$WORK/badesp/boot/efi/EFI/debian/link"
expect_status $EXIT_REFUSED "FAT32 cannot hold 1 entry" "$VDISKFS" info "$WORK/badesp"
grep -qF "EFI/debian/link" <<<"$OUT" || die "the ESP's refusal does not name EFI/debian/link: $OUT"

# ------------------------------------------------------------- disk checks
# attach IMAGE N: a read-only loop device over partition N of IMAGE, in PDEV.
attach() {
    local start sectors
    read -r start sectors < <(partx -g -n "$2" -o START,SECTORS "$1") || die "partx finds no partition $2 in $1"
    PDEV=$(losetup -r -f --show -o $((start * 512)) --sizelimit $((sectors * 512)) "$1") ||
        die "losetup over partition $2 of $1 failed"
    CLEANUP_LOOPS+=("$PDEV")
}

# blkid_is DEVICE KEY=VALUE...: blkid -p reads each KEY=VALUE on DEVICE
# (KEY= for none).
blkid_is() {
    local dev=$1 out kv
    shift
    out=$(blkid -p -o export "$dev") || die "blkid -p $dev found nothing"
    for kv in "$@"; do
        if [ "${kv#*=}" = "" ]; then
            ! grep -q "^$kv" <<<"$out" || die "blkid -p $dev: has ${kv%=}: $out"
        else
            grep -qx -- "$kv" <<<"$out" || die "blkid -p $dev: no $kv: $out"
        fi
    done
}

# fat_clean DEVICE: fsck.fat -n finds nothing.
fat_clean() {
    local out
    out=$(fsck.fat -n -v "$1" 2>&1) || die "fsck.fat -n $1 exited $?: $out"
    ! grep -qiE "fix|differ|invalid|bad|lost|\?" <<<"$out" || die "fsck.fat -n $1 reported problems: $out"
}

# swap_header DEVICE PAGES UUID: the version 1 swap header, read here
# (linux/swap.h): version 1, last_page PAGES-1, the UUID, SWAPSPACE2; and
# swaplabel reads the UUID.
swap_header() {
    python3 - "$1" "$2" "$3" <<'EOF' || die "the swap header of $1 is wrong (above)"
import struct, sys, uuid
dev, pages, want = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(dev, 'rb') as f:
    page = f.read(4096)
version, last_page = struct.unpack_from('<II', page, 0x400)
got = str(uuid.UUID(bytes=page[0x40c:0x41c]))
problems = []
if page[0xff6:0x1000] != b'SWAPSPACE2': problems.append(f'magic {page[0xff6:0x1000]!r}')
if version != 1: problems.append(f'version {version}')
if last_page != pages - 1: problems.append(f'last_page {last_page}, expected {pages - 1}')
if got != want: problems.append(f'UUID {got}, expected {want}')
if problems: sys.exit(f'FAIL: swap header of {dev}: ' + ', '.join(problems))
EOF
    local out
    out=$(swaplabel "$1" 2>&1) || die "swaplabel $1 failed: $out"
    grep -qx "UUID: *$3" <<<"$out" || die "swaplabel $1 reads '$out', expected UUID $3"
}

# check_volumes IMAGE SWAP_PAGES N1 N2 N3 N4 N5 N6: the partitions N1..N6
# of IMAGE hold, in this order, the root, /boot, the ESP, swap, /srv and
# /home with the types and ids of the fstab (fresh ones for /srv and /home),
# each clean for its own checker.
check_volumes() {
    local img=$1 pages=$2
    shift 2
    attach "$img" "$1"
    blkid_is "$PDEV" TYPE=ext4 UUID=$ROOT_UUID LABEL=
    expect_clean_fsck "$PDEV"
    attach "$img" "$2"
    blkid_is "$PDEV" TYPE=ext4 UUID=$BOOT_UUID LABEL=
    expect_clean_fsck "$PDEV"
    attach "$img" "$3"
    blkid_is "$PDEV" TYPE=vfat VERSION=FAT32 UUID=$ESP_SERIAL
    fat_clean "$PDEV"
    attach "$img" "$4"
    blkid_is "$PDEV" TYPE=swap UUID=$SWAP_UUID
    swap_header "$PDEV" "$pages" "$SWAP_UUID"
    attach "$img" "$5"
    blkid_is "$PDEV" TYPE=ext4 UUID=$SRV_UUID LABEL=
    expect_clean_fsck "$PDEV"
    attach "$img" "$6"
    blkid_is "$PDEV" TYPE=ext4 UUID=$HOME_UUID LABEL=home
    expect_clean_fsck "$PDEV"
    echo "ok: $img: blkid -p reads the fstab's types and ids; e2fsck, fsck.fat and the swap header clean"
    local l
    for l in "${CLEANUP_LOOPS[@]}"; do detach "$l"; done
}

# aligned IMAGE: every partition starts on a 1 MiB boundary.
aligned() {
    local start
    for start in $(partx -g -o START "$1"); do
        [ $((start % 2048)) = 0 ] || die "$1: a partition starts at sector $start, not on a 1 MiB boundary: $(partx -o NR,START,SECTORS "$1")"
    done
}

# check_gpt IMAGE: sgdisk -v clean; six partitions with the expected type
# GUIDs and names.
check_gpt() {
    local img=$1 out i
    out=$(sgdisk -v "$img" 2>&1)
    grep -q "No problems found" <<<"$out" || die "sgdisk -v $img: $out"
    aligned "$img"
    local guids=("$GUID_LINUX" "$GUID_LINUX" "$GUID_ESP" "$GUID_SWAP" "$GUID_LINUX" "$GUID_LINUX")
    local names=(root /boot /boot/efi swap /srv home)
    [ "$(partx -g -o NR "$img" | wc -l)" = 6 ] || die "$img holds $(partx -g -o NR "$img" | wc -l) partitions, expected 6: $(sgdisk -p "$img")"
    for i in 1 2 3 4 5 6; do
        out=$(sgdisk -i "$i" "$img")
        grep -q "^Partition GUID code: ${guids[i - 1]} " <<<"$out" ||
            die "partition $i of $img is not of type ${guids[i - 1]}: $out"
        grep -qxF "Partition name: '${names[i - 1]}'" <<<"$out" ||
            die "partition $i of $img is not named '${names[i - 1]}': $out"
    done
    echo "ok: $img: sgdisk -v clean; root, /boot, ESP, swap, /srv, home with their type GUIDs and names"
}

# check_guest_fstab FILE: the guest's etc/fstab: the backup's, line for
# line, except line 6 adapted (the /srv UUID, ext4, inode64 left out) and
# lines 14-17 commented out, each after a "# vdiskfs: <reason>" line and
# as "# <original>".
check_guest_fstab() {
    python3 - "$WORK/fstab.orig" "$1" "$SRV_UUID" <<'EOF' || die "the guest's etc/fstab is wrong (above): $(cat "$1")"
import sys
orig = open(sys.argv[1], 'rb').read().decode().split('\n')
guest = open(sys.argv[2], 'rb').read().decode()
srv_uuid = sys.argv[3]
assert orig[-1] == '' and guest.endswith('\n'), 'both end with a newline'
orig, lines = orig[:-1], guest.split('\n')[:-1]
changes = {6: ('xfs', f'UUID={srv_uuid} /srv ext4 defaults,noatime 0 2'), 14: ('noauto', None),
           15: ('second entry for /boot', None), 16: ('/opt is a symbolic link', None),
           17: ('/data is a symbolic link', None)}
if len(orig) < max(changes): sys.exit(f'FAIL: the backup fstab has {len(orig)} lines, fewer than the test expects')
at = 0
def take(n):
    global at
    if at >= len(lines): sys.exit(f'FAIL: guest fstab ends before what line {n} of the backup gives')
    at += 1
    return lines[at - 1]
for n, text in enumerate(orig, 1):
    if n not in changes:
        got = take(n)
        if got != text: sys.exit(f'FAIL: guest fstab: line {n} of the backup {text!r} became {got!r}')
        continue
    word, new = changes[n]
    got = take(n)
    if not got.startswith('# vdiskfs: ') or word not in got:
        sys.exit(f'FAIL: guest fstab: before line {n} expected "# vdiskfs: <reason saying {word}>", got {got!r}')
    got = take(n)
    if got != '# ' + text: sys.exit(f'FAIL: guest fstab: line {n} should follow as {"# " + text!r}, got {got!r}')
    if new is not None:
        got = take(n)
        if got != new: sys.exit(f'FAIL: guest fstab: line {n} adapted as {got!r}, expected {new!r}')
if at != len(lines): sys.exit(f'FAIL: guest fstab has more lines: {lines[at:]}')
print(f'ok: guest fstab: {len(orig)} lines of the backup, 1 adapted, 4 commented out, the rest byte for byte')
EOF
}

# same_xattrs EXPECTED DIR: getfattr -R dumps the same xattrs.
xattrs_of() { (cd "$1" && getfattr -R -P -h -d -m - . 2>/dev/null | { grep -v '^# file: \./lost+found$' || true; }); }
same_xattrs() {
    local a b
    a=$(xattrs_of "$1")
    b=$(xattrs_of "$2")
    [ "$a" = "$b" ] || die "xattrs of $2 differ from $1: $(diff <(echo "$a") <(echo "$b"))"
}

# same_tree EXPECTED DIR: treetool compare (lost+found aside) and xattrs.
same_tree() {
    local out
    out=$("$TREETOOL" compare "$1" "$2" --ignore lost+found) || die "$2 differs from $1: $out"
    same_xattrs "$1" "$2"
    echo "ok: $2 holds $1 ($(tail -1 <<<"$out"), xattrs equal)"
}

# check_content IMAGE: the kernel's view of every ext4 volume (partitions
# 1, 2, 5, 6) equals its expected tree; the root's etc/fstab is the adapted
# one (and what info --json shows); the ESP through mtools equals the
# backup's boot/efi plus EFI/BOOT/BOOTX64.EFI.
check_content() {
    local img=$1 n k
    for n in 1 2 5 6; do
        k=$WORK/k$n
        mkdir -p "$k"
        attach "$img" $n
        mount -t ext4 -o ro "$PDEV" "$k" || die "cannot mount partition $n of $img ($PDEV)"
        CLEANUP_MOUNTS+=("$k")
    done
    check_guest_fstab "$WORK/k1/etc/fstab"
    cmp -s "$WORK/k1/etc/fstab" <(jq -j .fstab.guest_fstab "$J") || die "info --json's guest_fstab is not the disk's etc/fstab"
    # The adapted fstab is the only difference from the backup's root: put it in the expected tree.
    cat "$WORK/k1/etc/fstab" >"$E/root/etc/fstab"
    touch -r "$B/etc/fstab" "$E/root/etc/fstab"
    same_tree "$E/root" "$WORK/k1"
    same_tree "$E/boot" "$WORK/k2"
    same_tree "$E/srv" "$WORK/k5"
    same_tree "$E/home" "$WORK/k6"
    [ -z "$(ls -A "$WORK/k6" | grep -vx lost+found)" ] || die "/home is not an empty volume: $(ls -A "$WORK/k6")"
    [ "$(stat -c %a "$WORK/k1/home")" = 755 ] || die "the missing /home is not a folder of mode 0755 in the root"
    for n in 6 5 2 1; do
        umount "$WORK/k$n" || die "umount $WORK/k$n failed"
    done
    local l
    for l in "${CLEANUP_LOOPS[@]}"; do detach "$l"; done

    local offset
    offset=$(($(partx -g -n 3 -o START "$img") * 512))
    rm -rf "$WORK/esp-out"
    MTOOLS_SKIP_CHECK=1 mcopy -s -m -n -i "$img@@$offset" ::/ "$WORK/esp-out" || die "mcopy -s of the ESP failed"
    # Names and bytes (diff -r), then mtimes within FAT's 2 s.
    out=$(diff -r "$E/esp" "$WORK/esp-out" 2>&1) || die "the ESP (mcopy -s) differs from the backup's boot/efi: $out"
    local f count=0 a b
    while IFS= read -r -d '' f; do
        a=$(stat -c %Y "$E/esp/$f")
        b=$(stat -c %Y "$WORK/esp-out/$f")
        ((a - b <= 2 && b - a <= 2)) || die "the ESP's $f has mtime $b, the backup's $a"
        count=$((count + 1))
    done < <(cd "$E/esp" && find . -type f -print0)
    echo "ok: mcopy -s of the ESP: $count files equal to the backup's boot/efi and EFI/BOOT/BOOTX64.EFI"
    cmp -s "$WORK/esp-out/EFI/BOOT/BOOTX64.EFI" "$B/boot/efi/EFI/debian/shimx64.efi" ||
        die "\\EFI\\BOOT\\BOOTX64.EFI does not hold the bytes of shimx64.efi"
}

# ----------------------------------------------------- the GPT fstab layout
mount_fg "$B" "$M" --read-only
img=$M/backup.img
check_gpt "$img"
check_volumes "$img" 262144 1 2 3 4 5 6
check_content "$img"
unmount_fg "$M"

# ------------------------------------------------ the same backup as a tar
mount_fg "$WORK/backup.tar" "$M" --read-only
img=$(ls "$M"/*.img)
check_gpt "$img"
check_volumes "$img" 262144 1 2 3 4 5 6
check_content "$img"
unmount_fg "$M"
echo "ok: the tar archive gives the same partitions, UUIDs and trees"

# ----------------------------------------------------------- other options
# --layout single: one ext4 partition with the fstab's root UUID, nothing else.
mount_fg "$B" "$M" --read-only --layout single
img=$M/backup.img
[ "$(partx -g -o NR "$img" | wc -l)" = 1 ] || die "--layout single: $(partx -g -o NR "$img" | wc -l) partitions: $(sgdisk -p "$img")"
sgdisk -v "$img" | grep -q "No problems found" || die "--layout single: sgdisk -v: $(sgdisk -v "$img")"
attach "$img" 1
blkid_is "$PDEV" TYPE=ext4 UUID=$ROOT_UUID
mkdir -p "$WORK/single"
mount -t ext4 -o ro "$PDEV" "$WORK/single" || die "--layout single: cannot mount the ext4"
CLEANUP_MOUNTS+=("$WORK/single")
out=$("$TREETOOL" compare "$B" "$WORK/single" --ignore lost+found) || die "--layout single: the volume differs from the backup: $out"
umount "$WORK/single"
detach "$PDEV"
unmount_fg "$M"
echo "ok: --layout single: one ext4 partition, UUID $ROOT_UUID, the whole backup"

# --layout-from FILE: partitions from another fstab, which the guest sees:
# the root by label; /srv, and below it a folder with a space (fstab's
# \040, kept escaped in the adapted line) and a missing /srv/new/deep
# (its parent missing too); a swap file (no partition) and a swap by label.
cat >"$WORK/other.fstab" <<'EOF'
LABEL=rootfs / ext4 defaults 0 1
UUID=66666666-7777-4888-9999-aaaaaaaaaaaa /srv ext4 defaults 0 2
/dev/sdd1 /srv/my\040data xfs defaults 0 2
UUID=77777777-8888-4999-aaaa-bbbbbbbbbbbb /srv/new/deep ext4 defaults 0 2
/swapfile none swap sw 0 0
LABEL=swap0 none swap sw 0 0
EOF
"$VDISKFS" info --json -q --swap 1M --layout-from "$WORK/other.fstab" "$B" >"$WORK/other.json" ||
    die "info --layout-from failed"
got=$(jq -c '[.partitions[] | [.mount_point, .type, .label, .fstab_line]]' "$WORK/other.json")
want='[["/","ext4","rootfs",1],["/srv","ext4","",2],["/srv/my data","ext4","",3],["/srv/new/deep","ext4","",4],["","swap","swap0",6]]'
[ "$got" = "$want" ] || die "--layout-from: partitions $got, expected $want"
[ "$(jq -c '[.fstab.changes[] | [.line, .action]]' "$WORK/other.json")" = '[[3,"adapted"]]' ] ||
    die "--layout-from: fstab.changes $(jq -c .fstab.changes "$WORK/other.json"), expected line 3 adapted"
data_uuid=$(jq -r '.partitions[2].uuid' "$WORK/other.json")
[[ $data_uuid =~ $uuid_re ]] || die "--layout-from: /srv/my data's UUID '$data_uuid' is not a UUID"
{
    sed -n 1,2p "$WORK/other.fstab"
    echo "# vdiskfs: $(jq -r '.fstab.changes[0].reason' "$WORK/other.json")"
    echo "# $(sed -n 3p "$WORK/other.fstab")"
    echo "UUID=$data_uuid /srv/my\\040data ext4 defaults 0 2"
    sed -n '4,$p' "$WORK/other.fstab"
} >"$WORK/other.guest"
mount_fg "$B" "$M" --read-only --swap 1M --layout-from "$WORK/other.fstab"
img=$M/backup.img
[ "$(partx -g -o NR "$img" | wc -l)" = 5 ] || die "--layout-from: $(partx -g -o NR "$img" | wc -l) partitions: $(sgdisk -p "$img")"
sgdisk -v "$img" | grep -q "No problems found" || die "--layout-from: sgdisk -v: $(sgdisk -v "$img")"
attach "$img" 1
blkid_is "$PDEV" TYPE=ext4 LABEL=rootfs
attach "$img" 2
blkid_is "$PDEV" TYPE=ext4 UUID=66666666-7777-4888-9999-aaaaaaaaaaaa LABEL=
attach "$img" 3
blkid_is "$PDEV" TYPE=ext4 UUID="$data_uuid" LABEL=
attach "$img" 4
blkid_is "$PDEV" TYPE=ext4 UUID=77777777-8888-4999-aaaa-bbbbbbbbbbbb LABEL=
attach "$img" 5
blkid_is "$PDEV" TYPE=swap LABEL=swap0
swaplabel "$PDEV" | grep -qx "LABEL: swap0" || die "--layout-from: swaplabel $PDEV: $(swaplabel "$PDEV")"
for n in 1 2 3 4; do
    attach "$img" $n
    mkdir -p "$WORK/o$n"
    mount -t ext4 -o ro "$PDEV" "$WORK/o$n" || die "--layout-from: cannot mount partition $n"
    CLEANUP_MOUNTS+=("$WORK/o$n")
done
cmp -s "$WORK/o1/etc/fstab" "$WORK/other.guest" ||
    die "--layout-from: the guest's etc/fstab is not FILE adapted: $(diff "$WORK/other.guest" "$WORK/o1/etc/fstab")"
[ -s "$WORK/o1/boot/vmlinuz-6.1.0-amd64" ] || die "--layout-from: /boot is no volume of its own there, yet the root lacks its files"
[ -z "$(ls -A "$WORK/o1/srv")" ] || die "--layout-from: /srv in the root volume is not empty"
[ -z "$(ls -A "$WORK/o2/my data")" ] || die "--layout-from: /srv/my data in the /srv volume is not empty"
[ -d "$WORK/o2/new/deep" ] && [ -z "$(ls -A "$WORK/o2/new/deep")" ] ||
    die "--layout-from: the missing /srv/new/deep is not an empty folder of the /srv volume"
[ "$(stat -c %a "$WORK/o2/new") $(stat -c %a "$WORK/o2/new/deep")" = "755 755" ] ||
    die "--layout-from: the folders added for /srv/new/deep are not 0755"
out=$("$TREETOOL" compare "$E/srv/my data" "$WORK/o3" --ignore lost+found) || die "--layout-from: /srv/my data's volume differs: $out"
[ -z "$(ls -A "$WORK/o4" | grep -vx lost+found)" ] || die "--layout-from: /srv/new/deep is not an empty volume: $(ls -A "$WORK/o4")"
for n in 4 3 2 1; do umount "$WORK/o$n" || die "umount $WORK/o$n failed"; done
for l in "${CLEANUP_LOOPS[@]}"; do detach "$l"; done
unmount_fg "$M"
echo "ok: --layout-from: partitions of FILE (a \\040 mount point adapted, a missing nested one, a swap by label, a swap file left alone); the guest's etc/fstab is FILE adapted"

# --table mbr: six volumes, so three primaries, an extended partition and logical ones.
# The table and the swap size are part of the disk's identity: /srv and
# /home get other derived UUIDs, which info names and the guest's fstab uses.
"$VDISKFS" info --json -q --table mbr --swap 64M "$B" >"$WORK/mbr.json" || die "info --table mbr failed"
SRV_UUID=$(jq -r '.partitions[4].uuid' "$WORK/mbr.json")
HOME_UUID=$(jq -r '.partitions[5].uuid' "$WORK/mbr.json")
jq -r .fstab.guest_fstab "$WORK/mbr.json" | grep -qxF "UUID=$SRV_UUID /srv ext4 defaults,noatime 0 2" ||
    die "--table mbr: the guest's fstab does not name /srv by its UUID $SRV_UUID: $(jq -r .fstab.guest_fstab "$WORK/mbr.json")"
mount_fg "$B" "$M" --read-only --table mbr --swap 64M
img=$M/backup.img
out=$(sfdisk --verify "$img" 2>&1) || die "sfdisk --verify $img: $out"
grep -q "No errors detected" <<<"$out" || die "sfdisk --verify $img: $out"
dump=$(sfdisk --dump "$img")
grep -qx "label: dos" <<<"$dump" || die "--table mbr: not a dos label: $dump"
types=$(grep "^$img" <<<"$dump" | sed -E 's/^[^ ]*img([0-9]+) :.*type=([0-9a-f]+).*/\1:\2/' | tr '\n' ' ')
[ "$types" = "1:83 2:83 3:ef 4:5 5:82 6:83 7:83 " ] && ext_ok=1 || ext_ok=0
[ "$types" = "1:83 2:83 3:ef 4:f 5:82 6:83 7:83 " ] && ext_ok=1
[ $ext_ok = 1 ] || die "--table mbr: partitions (number:type) '$types', expected 1:83 2:83 3:ef 4:5 (or f) 5:82 6:83 7:83: $dump"
grep -qE "^$img""1 : .*, bootable$" <<<"$dump" && [ "$(grep -c bootable <<<"$dump")" = 1 ] ||
    die "--table mbr: partition 1 is not the one active partition: $dump"
for n in 1 2 3 5 6 7; do
    [ $(($(partx -g -n $n -o START "$img") % 2048)) = 0 ] || die "--table mbr: partition $n is not aligned to 1 MiB: $dump"
done
[ "$(partx -g -n 5 -o SECTORS "$img" | tr -d ' ')" = $((64 << 11)) ] || die "--swap 64M: the swap partition has $(partx -g -n 5 -o SECTORS "$img") sectors"
check_volumes "$img" 16384 1 2 3 5 6 7
unmount_fg "$M"
echo "ok: --table mbr: sfdisk --verify clean, an extended partition with logical ones, each volume right; --swap 64M"

# A delta made with the one-partition layout (as every delta was before
# layouts from fstab) keeps it: a mount without layout options uses
# --layout single for it, says so, and shows the guest's write; with
# --layout fstab (and --discard-delta) the fstab's layout comes back.
mkdir -p "$WORK/olddelta-mnt"
mount_fg "$B" "$WORK/olddelta-mnt" --layout single --delta "$WORK/olddelta" --formats img
old_img=$WORK/olddelta-mnt/$(basename "$B").img
[ "$(partx -g "$old_img" | wc -l)" = 1 ] || die "--layout single: not one partition: $(partx -g "$old_img")"
printf 'written-before' | dd of="$old_img" bs=1 seek=$((3 << 20)) conv=notrunc,fsync status=none ||
    die "cannot write to the single-layout disk"
unmount_fg "$WORK/olddelta-mnt"
: >"$WORK/olddelta.log"
mount_fg "$B" "$WORK/olddelta-mnt" --delta "$WORK/olddelta" --formats img --log "$WORK/olddelta.log"
grep -q "was made with the one-partition layout.*mounting it with --layout single" "$WORK/olddelta.log" ||
    die "no log line saying the old delta keeps the single layout: $(cat "$WORK/olddelta.log")"
[ "$(partx -g "$old_img" | wc -l)" = 1 ] || die "the old delta's mount is not the single layout: $(partx -g "$old_img")"
[ "$(dd if="$old_img" bs=1 skip=$((3 << 20)) count=14 status=none)" = written-before ] ||
    die "the guest's write in the old delta is not there"
unmount_fg "$WORK/olddelta-mnt"
mount_fg "$B" "$WORK/olddelta-mnt" --layout fstab --discard-delta --delta "$WORK/olddelta" --formats img
[ "$(partx -g "$old_img" | wc -l)" = 6 ] || die "--layout fstab --discard-delta: not the fstab's 6 partitions: $(partx -g "$old_img")"
unmount_fg "$WORK/olddelta-mnt"
echo "ok: a delta of the single layout keeps it (log line, the write kept); --layout fstab --discard-delta starts over"

# The backup is untouched.
"$TREETOOL" hash "$B" >"$WORK/backup.after"
cmp -s "$WORK/backup.before" "$WORK/backup.after" || die "the backup changed"
[ "$(sha256sum <"$B/etc/fstab")" = "$fstab_sum" ] || die "the backup's etc/fstab changed"
cmp -s "$WORK/tar.before" <(sha256sum <"$WORK/backup.tar") || die "the tar archive changed"
# An fstab that needs no change is the guest's as it is, byte for byte,
# even without a newline at its end (adapted_fstab's "every line as
# written, except the changed ones").
mkdir -p "$WORK/nonl/etc"
printf 'UUID=%s / ext4 defaults 0 1' "$ROOT_UUID" >"$WORK/nonl/etc/fstab"
"$VDISKFS" info --json -q "$WORK/nonl" >"$WORK/nonl.json" || die "info of a source whose fstab ends without a newline failed"
[ "$(jq -c '.fstab.changes' "$WORK/nonl.json")" = "[]" ] || die "an fstab naming only / by UUID got changes: $(jq -c .fstab "$WORK/nonl.json")"
[ "$(jq -c '.fstab.guest_fstab' "$WORK/nonl.json")" = null ] ||
    die "an fstab that needs no change, ending without a newline, is not the guest's as it is: the guest gets $(jq -c .fstab.guest_fstab "$WORK/nonl.json") for $(jq -Rs . "$WORK/nonl/etc/fstab")"
echo "PASS: fstab_layout_test"
