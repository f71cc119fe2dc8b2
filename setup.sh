#!/bin/sh
# Installs every Debian 12 package that vdiskfs's build, tests, examples and
# benchmarks use. Safe to run again. Needs root (or sudo).
set -eu
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
PACKAGES="
  build-essential cmake pkg-config git
  libfuse3-dev fuse3 libfmt-dev nlohmann-json3-dev catch2 libxxhash-dev
  libcli11-dev zlib1g-dev libnfs-dev libsmbclient-dev libzstd-dev liblzma-dev libbz2-dev pigz
  e2fsprogs xfsprogs gdisk fdisk util-linux qemu-utils mount kmod coreutils attr acl
  procps time bc jq libcap2-bin libvmdk-utils libvhdi-utils
  tar libarchive-tools gzip bzip2 pbzip2 xz-utils zstd lz4 python3 clang libclang-rt-14-dev
  qemu-system-x86 debootstrap ca-certificates socat grub-pc-bin grub-common
  dosfstools mtools sleuthkit nbdkit libnbd-bin libnbd-dev fio ovmf grub-efi-amd64-bin
  nfs-ganesha nfs-ganesha-vfs rpcbind libnfs-utils samba samba-common-bin smbclient iproute2
  libsqlite3-dev sqlite3 libsystemd-dev
"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $PACKAGES
