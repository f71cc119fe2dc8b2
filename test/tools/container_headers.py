#!/usr/bin/env python3
"""Judges the headers and tables of a container file against the raw disk.

    container_headers.py vmdk FILE.vmdk DISK.img
    container_headers.py vdi FILE.vdi DISK.img

vmdk: a monolithicSparse extent as VMware Virtual Disk Format 1.1 lays it
out: "KDMV" magic, version 1, flags bit 0 (newline test) and bit 1
(redundant grain table), a descriptor of at least 20 sectors whose text
leaves most of it zero (room to be rewritten), a redundant grain directory
at rgdOffset (non-zero, not gdOffset) whose grain tables are other sectors
with the same entries as the primary ones, every table inside the overhead,
and every allocated grain holding the disk's bytes.

vdi: a VirtualBox VDI 1.1 dynamic image (header at fixed offsets: signature
0xbeda107f at 0x40, version 0x44, header size 0x48, type 0x4c, block map
offset 0x154, data offset 0x158, sector size 0x168, disk size 0x170, block
size 0x178, blocks 0x180, allocated blocks 0x184): data offset a multiple of
1 MiB past the block map, blocks without data marked zero (0xfffffffe, not
0xffffffff), every allocated block holding the disk's bytes.

Prints one summary line and exits 0, or names the first violation and
exits 1. Standard library only.
"""
import os
import struct
import sys

SECTOR = 512
MIB = 1 << 20


class Violation(Exception):
    pass


def need(cond, what):
    if not cond:
        raise Violation(what)


def read_at(f, offset, length):
    f.seek(offset)
    data = f.read(length)
    need(len(data) == length, f"short read: {length} bytes at {offset}, got {len(data)}")
    return data


def check_vmdk(path, img_path):
    img_size = os.path.getsize(img_path)
    file_size = os.path.getsize(path)
    with open(path, "rb") as f, open(img_path, "rb") as img:
        h = read_at(f, 0, SECTOR)
        magic, version, flags = struct.unpack_from("<III", h, 0)
        capacity, grain, desc_off, desc_size = struct.unpack_from("<QQQQ", h, 12)
        (gtes_per_gt,) = struct.unpack_from("<I", h, 44)
        rgd_off, gd_off, overhead = struct.unpack_from("<QQQ", h, 48)
        (compress,) = struct.unpack_from("<H", h, 77)
        need(h[0:4] == b"KDMV" and magic == 0x564D444B, f"magic {h[0:4]!r}, not KDMV")
        need(version == 1, f"version {version}, expected 1")
        need(flags & 1, f"flags {flags:#x}: bit 0 (valid newline detection) not set")
        need(flags & 2, f"flags {flags:#x}: bit 1 (redundant grain table) not set")
        need(flags & 0x30000 == 0 and compress == 0, f"flags {flags:#x} / compression {compress}: not a plain sparse extent")
        need(h[73:77] == b"\n \r\n", f"newline detection characters {h[73:77]!r}")
        need(capacity * SECTOR == img_size, f"capacity {capacity} sectors, the disk is {img_size} bytes")
        need(grain == 128, f"grain size {grain} sectors, expected 128 (64 KiB)")
        need(gtes_per_gt == 512, f"numGTEsPerGT {gtes_per_gt}, expected 512")
        # The embedded descriptor: text, then zeros up to descriptorSize.
        need(desc_off == 1, f"descriptorOffset {desc_off}, expected 1")
        need(desc_size >= 20, f"descriptorSize {desc_size} sectors, less than VMware's 20")
        area = read_at(f, desc_off * SECTOR, desc_size * SECTOR)
        text = area.split(b"\0", 1)[0]
        need(text.startswith(b"# Disk DescriptorFile\n"), f"descriptor starts {text[:30]!r}")
        need(b'createType="monolithicSparse"' in text, "descriptor: createType is not monolithicSparse")
        need(f"RW {capacity} SPARSE ".encode() in text, f"descriptor: no 'RW {capacity} SPARSE' extent line")
        need(area[len(text):].count(0) == len(area) - len(text), "descriptor area: bytes after the text are not all zero")
        room = len(area) - len(text)
        need(room * 2 >= len(area), f"descriptor: only {room} of {len(area)} bytes free to rewrite it")
        # Grain directories and their grain tables.
        need(rgd_off != 0, "rgdOffset is 0")
        need(rgd_off != gd_off, f"rgdOffset = gdOffset = {gd_off}")
        need(desc_off + desc_size <= min(rgd_off, gd_off), "the descriptor overlaps a grain directory")
        gt_bytes = gtes_per_gt * 4
        gd_entries = -(-capacity // (grain * gtes_per_gt))
        gd = struct.unpack(f"<{gd_entries}I", read_at(f, gd_off * SECTOR, gd_entries * 4))
        rgd = struct.unpack(f"<{gd_entries}I", read_at(f, rgd_off * SECTOR, gd_entries * 4))
        need(overhead % grain == 0, f"overHead {overhead} is not whole grains")
        regions = [(gd_off * SECTOR, gd_entries * 4, "GD"), (rgd_off * SECTOR, gd_entries * 4, "RGD")]
        grains = {}
        for i, (p, r) in enumerate(zip(gd, rgd)):
            need(p != 0 and r != 0, f"grain directory entry {i}: GT at {p}, RGT at {r} (0: unallocated)")
            need(p != r, f"grain directory entry {i}: GT and redundant GT are both sector {p}")
            regions += [(p * SECTOR, gt_bytes, f"GT {i}"), (r * SECTOR, gt_bytes, f"RGT {i}")]
            gt, rgt = read_at(f, p * SECTOR, gt_bytes), read_at(f, r * SECTOR, gt_bytes)
            need(gt == rgt, f"grain table {i} (sector {p}) differs from its redundant copy (sector {r})")
            for j, sector in enumerate(struct.unpack(f"<{gtes_per_gt}I", gt)):
                if sector:
                    grains[i * gtes_per_gt + j] = sector
        regions.sort()
        for (a, alen, an), (b, _, bn) in zip(regions, regions[1:]):
            need(a + alen <= b, f"{an} and {bn} overlap")
        need(regions[-1][0] + regions[-1][1] <= overhead * SECTOR, f"{regions[-1][2]} lies past the overhead")
        need(grains, "no grain is allocated (nothing to compare)")
        need(len(set(grains.values())) == len(grains), "two grain table entries point at one grain")
        for g, sector in sorted(grains.items()):
            need(sector >= overhead and sector % grain == 0, f"grain {g} at sector {sector}: inside the overhead or unaligned")
            need((sector + grain) * SECTOR <= file_size, f"grain {g} at sector {sector}: past the end of the file")
            want = read_at(img, g * grain * SECTOR, min(grain * SECTOR, img_size - g * grain * SECTOR))
            need(read_at(f, sector * SECTOR, len(want)) == want, f"grain {g} (sector {sector}) differs from the disk")
    print(f"vmdk ok: version {version}, flags {flags:#x}, descriptor {len(text)} of {desc_size * SECTOR} bytes, "
          f"GD at sector {gd_off}, RGD at sector {rgd_off}, {gd_entries} GTs equal to their RGTs, "
          f"{len(grains)} grains equal to the disk")


def check_vdi(path, img_path):
    img_size = os.path.getsize(img_path)
    file_size = os.path.getsize(path)
    with open(path, "rb") as f, open(img_path, "rb") as img:
        h = read_at(f, 0, SECTOR)
        sig, version, header_size, image_type = struct.unpack_from("<IIII", h, 0x40)
        off_blocks, off_data = struct.unpack_from("<II", h, 0x154)
        (sector_size,) = struct.unpack_from("<I", h, 0x168)
        (disk_size,) = struct.unpack_from("<Q", h, 0x170)
        block_size, block_extra, blocks, allocated = struct.unpack_from("<IIII", h, 0x178)
        uuid_link, uuid_parent = h[0x1A8:0x1B8], h[0x1B8:0x1C8]
        need(h.startswith(b"<<< ") and b">>>\n" in h[:0x40], f"pre-header text {h[:0x40]!r}")
        need(sig == 0xBEDA107F, f"signature {sig:#x} at 0x40, expected 0xbeda107f")
        need(version == 0x00010001, f"version {version:#x}, expected 1.1")
        need(header_size in (0x180, 0x190), f"header size {header_size:#x} (QEMU writes 0x180, VirtualBox 0x190)")
        need(image_type == 1, f"image type {image_type}, expected 1 (dynamic)")
        need(sector_size == 512, f"sector size {sector_size}")
        need(disk_size == img_size, f"disk size {disk_size}, the disk is {img_size} bytes")
        need(block_size == MIB and block_extra == 0, f"block size {block_size} + extra {block_extra}")
        need(blocks == -(-img_size // MIB), f"{blocks} blocks for {img_size} bytes")
        need(uuid_link == bytes(16) and uuid_parent == bytes(16), "link or parent UUID set: not a base image")
        need(0x48 + header_size <= off_blocks and off_blocks % SECTOR == 0, f"block map offset {off_blocks:#x}")
        need(off_data % MIB == 0, f"data offset {off_data:#x} is not a multiple of 1 MiB")
        need(off_data >= off_blocks + blocks * 4, f"data offset {off_data:#x} inside the block map")
        bmap = struct.unpack(f"<{blocks}I", read_at(f, off_blocks, blocks * 4))
        need(0xFFFFFFFF not in bmap, "a block is marked free (0xffffffff: any content), not zero")
        used = {i: e for i, e in enumerate(bmap) if e != 0xFFFFFFFE}
        need(len(used) == allocated, f"{len(used)} blocks mapped, the header says {allocated}")
        need(used, "no block is allocated (nothing to compare)")
        need(sorted(used.values()) == list(range(allocated)), "block map entries are not 0..allocated-1, each once")
        need(file_size == off_data + allocated * MIB, f"file is {file_size} bytes, expected {off_data + allocated * MIB}")
        for i, e in sorted(used.items()):
            want = read_at(img, i * MIB, min(MIB, img_size - i * MIB))
            need(read_at(f, off_data + e * MIB, len(want)) == want, f"block {i} (slot {e}) differs from the disk")
    print(f"vdi ok: header size {header_size:#x}, block map at {off_blocks:#x}, data at {off_data:#x} "
          f"({off_data // MIB} MiB), {allocated} of {blocks} blocks allocated and equal to the disk")


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("vmdk", "vdi"):
        sys.exit(__doc__.split("\n\n")[1])
    try:
        (check_vmdk if sys.argv[1] == "vmdk" else check_vdi)(sys.argv[2], sys.argv[3])
    except Violation as e:
        print(f"{sys.argv[1]} {sys.argv[2]}: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
