#!/bin/bash
# debian_server.sh DIR [--xfs-root]: makes DIR a copy of the cached minimal
# Debian root (debian_root.sh) shaped like the backup of a Debian server
# installed for UEFI, with what a bare debootstrap lacks:
# - an fstab as Debian's installer writes it: `/` ext4 and a separate
#   `/boot` ext4 by UUID, `/boot/efi` vfat by its volume serial, and a swap
#   partition by UUID (the values below: tests read them from here);
# - an ESP in boot/efi: EFI/debian/grubx64.efi, a GRUB built with
#   grub-mkimage -O x86_64-efi (prefix /EFI/debian, the ESP), and its
#   EFI/debian/grub.cfg, which finds /boot by its fstab UUID and boots
#   /vmlinuz-VERSION and /initrd.img-VERSION from it with root=UUID=<the
#   root's UUID> and a serial console; it echoes "VDISKFS-GRUB-EFI ..."
#   lines, so a test sees on the console that this loader ran;
# - a host name;
# - for tests, a unit (after the local filesystems and the swap, before the
#   serial console's login prompt) that counts
#   boots in /var/lib/vdiskfs-marker/boots on the root filesystem and prints
#   on the console, each line prefixed "VDISKFS-MARKER ":
#     boot=N
#     previous-written=SHA256         (of the 4 MiB file the boot before wrote; none)
#     written=SHA256                  (of the 4 MiB file this boot wrote and synced)
#     /boot: SOURCE FSTYPE            (findmnt; "none" when not mounted)
#     /boot/efi: SOURCE FSTYPE
#     swap: NAME TYPE                 (swapon --show; "none" without swap)
#     fstab: LINE                     (every non-empty line of /etc/fstab)
# With --xfs-root the fstab holds only `/dev/mapper/vg0-root / xfs defaults
# 0 1` (a root on LVM and XFS, which vdiskfs makes ext4 and adapts the
# guest's fstab for); no /boot, ESP or swap lines, no ESP.
# The kernel and initrd stay in boot/ of the tree either way.
set -euo pipefail
usage="usage: debian_server.sh DIR [--xfs-root]"
b=${1:?$usage}
variant=${2:-uefi}
case $variant in uefi | --xfs-root) ;; *) echo "$usage" >&2; exit 2 ;; esac
[ ! -e "$b" ] || { echo "debian_server.sh: $b already exists" >&2; exit 1; }

# The identities the fstab names (Debian writes vfat serials in capitals).
root_uuid=2f5a1c3e-8d4b-4e6f-9a7c-1b2d3e4f5a6b
boot_uuid=7c3e9a51-2b4d-4f8e-a1c6-5d9e0f2a3b4c
esp_serial=5A1B-2C3D
swap_uuid=9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b

grub_efi=/usr/lib/grub/x86_64-efi
if [ "$variant" = uefi ]; then
    command -v grub-mkimage >/dev/null ||
        { echo "debian_server.sh: 'grub-mkimage' is missing: install the Debian package 'grub-common'" >&2; exit 1; }
    [ -f "$grub_efi/linux.mod" ] ||
        { echo "debian_server.sh: $grub_efi is missing: install the Debian package 'grub-efi-amd64-bin'" >&2; exit 1; }
fi
root=$(bash "$(dirname "$0")/debian_root.sh")
cp -a "$root" "$b"

if [ "$variant" = --xfs-root ]; then
    cat >"$b/etc/fstab" <<'EOF'
# <file system> <mount point> <type> <options> <dump> <pass>
/dev/mapper/vg0-root / xfs defaults 0 1
EOF
else
    cat >"$b/etc/fstab" <<EOF
# /etc/fstab: static file system information.
#
# <file system> <mount point>   <type>  <options>       <dump>  <pass>
# / was on /dev/sda2 during installation
UUID=$root_uuid /               ext4    errors=remount-ro 0       1
# /boot was on /dev/sda3 during installation
UUID=$boot_uuid /boot           ext4    defaults        0       2
# /boot/efi was on /dev/sda1 during installation
UUID=$esp_serial  /boot/efi       vfat    umask=0077      0       1
# swap was on /dev/sda4 during installation
UUID=$swap_uuid none            swap    sw              0       0
EOF
    # The ESP: GRUB for x86_64 UEFI as Debian puts it there (no shim), and
    # its configuration.
    kernel=$(ls "$b"/boot/vmlinuz-* | sort -V | tail -1)
    version=${kernel##*/vmlinuz-}
    esp=$b/boot/efi/EFI/debian
    mkdir -p "$esp"
    grub-mkimage -O x86_64-efi -o "$esp/grubx64.efi" -p /EFI/debian \
        part_gpt part_msdos fat ext2 normal linux boot search search_fs_uuid configfile echo \
        serial terminal efi_gop
    cat >"$esp/grub.cfg" <<EOF
# GRUB for UEFI (made by vdiskfs's test/integration/debian_server.sh): the
# kernel and initrd come from /boot, its own ext4 partition.
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial
set timeout=1
set default=0
echo "VDISKFS-GRUB-EFI grub.cfg read from the ESP"
search --no-floppy --fs-uuid --set=root $boot_uuid
menuentry "Debian GNU/Linux, $version" {
  echo "VDISKFS-GRUB-EFI loading /vmlinuz-$version from the /boot partition"
  linux /vmlinuz-$version root=UUID=$root_uuid ro console=ttyS0,115200
  initrd /initrd.img-$version
}
EOF
fi
echo restored-web01 >"$b/etc/hostname"
mkdir -p "$b/usr/local/sbin"
cat >"$b/usr/local/sbin/vdiskfs-marker" <<'EOF'
#!/bin/sh
# Counts boots in a file on the root filesystem and says on the console
# what is mounted at /boot and /boot/efi, which swap is active and what
# /etc/fstab holds.
state=/var/lib/vdiskfs-marker
mkdir -p "$state"
n=$(( $(cat "$state/boots" 2>/dev/null || echo 0) + 1 ))
echo "$n" >"$state/boots"
sync
# A file of 4 MiB written anew each boot and synced (a restore test finds
# the one of the boot before on the restored disk).
written=$state/written.bin
previous=$( [ -f "$written" ] && sha256sum <"$written" | cut -c1-64 || echo none)
head -c 4194304 /dev/urandom >"$written"
sync
mounted() { findmnt -n -o SOURCE,FSTYPE "$1" || echo none; }
swaps=$(swapon --show=NAME,TYPE --noheadings)
{
    echo "boot=$n"
    echo "previous-written=$previous"
    echo "written=$(sha256sum <"$written" | cut -c1-64)"
    echo "/boot: $(mounted /boot)"
    echo "/boot/efi: $(mounted /boot/efi)"
    echo "${swaps:-none}" | sed 's/^/swap: /'
    grep -v '^[[:space:]]*$' /etc/fstab | sed 's/^/fstab: /'
} | sed 's/^/VDISKFS-MARKER /' >/dev/console
EOF
chmod 755 "$b/usr/local/sbin/vdiskfs-marker"
cat >"$b/etc/systemd/system/vdiskfs-marker.service" <<'EOF'
[Unit]
Description=vdiskfs test marker: count boots on the root filesystem, show mounts and swap
After=local-fs.target swap.target
Before=serial-getty@ttyS0.service

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/vdiskfs-marker

[Install]
WantedBy=multi-user.target
EOF
ln -s ../vdiskfs-marker.service "$b/etc/systemd/system/multi-user.target.wants/vdiskfs-marker.service"
