#!/bin/bash
# debian_server.sh DIR: makes DIR a copy of the cached minimal Debian root
# (debian_root.sh) with what a real server's backup has and a bare
# debootstrap lacks: an fstab naming the root by UUID and a host name; plus,
# for tests, a unit that counts boots in /var/lib/vdiskfs-marker/boots on the
# root filesystem and prints "VDISKFS-MARKER boot=N" on the console.
set -euo pipefail
b=${1:?usage: debian_server.sh DIR}
[ ! -e "$b" ] || { echo "debian_server.sh: $b already exists" >&2; exit 1; }
root=$(bash "$(dirname "$0")/debian_root.sh")
cp -a "$root" "$b"
cat >"$b/etc/fstab" <<'EOF'
# <file system> <mount point> <type> <options> <dump> <pass>
UUID=2f5a1c3e-8d4b-4e6f-9a7c-1b2d3e4f5a6b / ext4 errors=remount-ro 0 1
EOF
echo restored-web01 >"$b/etc/hostname"
mkdir -p "$b/usr/local/sbin"
cat >"$b/usr/local/sbin/vdiskfs-marker" <<'EOF'
#!/bin/sh
# Counts boots in a file on the root filesystem and says so on the console.
state=/var/lib/vdiskfs-marker
mkdir -p "$state"
n=$(( $(cat "$state/boots" 2>/dev/null || echo 0) + 1 ))
echo "$n" >"$state/boots"
sync
echo "VDISKFS-MARKER boot=$n" >/dev/console
EOF
chmod 755 "$b/usr/local/sbin/vdiskfs-marker"
cat >"$b/etc/systemd/system/vdiskfs-marker.service" <<'EOF'
[Unit]
Description=vdiskfs test marker: count boots on the root filesystem
After=local-fs.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/vdiskfs-marker

[Install]
WantedBy=multi-user.target
EOF
ln -s ../vdiskfs-marker.service "$b/etc/systemd/system/multi-user.target.wants/vdiskfs-marker.service"
