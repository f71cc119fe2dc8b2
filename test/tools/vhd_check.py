#!/usr/bin/env python3
"""vhd_check.py VHD IMG DISK_SIZE: an independent reader of a VHD file.

Follows Microsoft's Virtual Hard Disk Image Format Specification, not
vdiskfs's code: the 512-byte big-endian footer ("conectix", ones'-complement
checksum), for a dynamic disk the footer copy at offset 0, the 1024-byte
dynamic header ("cxsparse", own checksum), the BAT (big-endian sector
numbers, 0xFFFFFFFF unallocated) and each block's sector bitmap. Checks the
fields, that every block lies inside the file without overlapping another
block or the headers, that every bit of an allocated block's bitmap covering
a sector of the disk is set (vdiskfs allocates whole blocks of data), and
that the disk read through the BAT (or the fixed disk's data part) equals
IMG byte for byte. DISK_SIZE is the size the GPT of IMG gives.

Prints one line on success; exits 1 naming the field and offset otherwise.
"""
import os
import struct
import sys
import time

SECTOR = 512
FOOTER_BYTES = 512
DYN_HEADER_BYTES = 1024
UNALLOCATED = 0xFFFFFFFF
NO_OFFSET = 0xFFFFFFFFFFFFFFFF
VHD_EPOCH = 946684800  # 2000-01-01T00:00:00Z
PIECE = 2 << 20  # bytes read at a time when comparing


class Fault(Exception):
    """A defect of the file: the message names the field and its offset."""


# Raises Fault naming FIELD at byte OFFSET of the file.
def fault(field, offset, what):
    raise Fault(f"{field} at offset {offset:#x}: {what}")


# The spec's checksum: ones' complement of the byte sum, checksum field zeroed.
def vhd_checksum(data, field_at):
    zeroed = data[:field_at] + b"\0\0\0\0" + data[field_at + 4:]
    return ~sum(zeroed) & 0xFFFFFFFF


# CHS geometry of a disk of TOTAL sectors by the spec's appendix algorithm.
def spec_geometry(total):
    total = min(total, 65535 * 16 * 255)
    if total >= 65535 * 16 * 63:
        spt, heads = 255, 16
        cth = total // spt
    else:
        spt = 17
        cth = total // spt
        heads = max((cth + 1023) // 1024, 4)
        if cth >= heads * 1024 or heads > 16:
            spt, heads = 31, 16
            cth = total // spt
        if cth >= heads * 1024:
            spt, heads = 63, 16
            cth = total // spt
    return cth // heads, heads, spt


# Checks a footer (at file offset AT) and returns its fields as a dict.
def check_footer(f, at, disk_size, disk_type):
    def u32(o):
        return struct.unpack_from(">I", f, o)[0]

    def u64(o):
        return struct.unpack_from(">Q", f, o)[0]

    if f[0:8] != b"conectix":
        fault("footer cookie", at, f"{f[0:8]!r}, expected b'conectix'")
    stored, computed = u32(64), vhd_checksum(f, 64)
    if stored != computed:
        fault("footer checksum", at + 64, f"stored {stored:#010x}, computed {computed:#010x}")
    if not u32(8) & 2:
        fault("footer features", at + 8, f"{u32(8):#x}: the reserved bit 0x2 must be set")
    if u32(12) != 0x00010000:
        fault("footer file format version", at + 12, f"{u32(12):#x}, expected 0x10000")
    if u32(60) != disk_type:
        fault("footer disk type", at + 60, f"{u32(60)}, expected {disk_type}")
    data_offset = u64(16)
    if disk_type == 2 and data_offset != NO_OFFSET:
        fault("footer data offset", at + 16, f"{data_offset:#x}, a fixed disk has 0xffffffffffffffff")
    if u64(48) != disk_size:
        fault("footer current size", at + 48, f"{u64(48)}, the GPT gives {disk_size}")
    if u64(40) != disk_size:
        fault("footer original size", at + 40, f"{u64(40)}, the GPT gives {disk_size}")
    if u32(24) > time.time() - VHD_EPOCH + 86400:
        fault("footer time stamp", at + 24, f"{u32(24)} s after 2000-01-01 is in the future")
    app = f[28:32]
    if not all(0x20 <= c < 0x7F for c in app):
        fault("footer creator application", at + 28, f"{app!r} is not 4 printable characters")
    if f[36:40] not in (b"Wi2k", b"Mac "):
        fault("footer creator host OS", at + 36, f"{f[36:40]!r}, expected b'Wi2k' or b'Mac '")
    cyl, heads, spt = struct.unpack_from(">HBB", f, 56)
    want = spec_geometry(disk_size // SECTOR)
    if (cyl, heads, spt) != want:
        fault("footer disk geometry", at + 56, f"C/H/S {cyl}/{heads}/{spt}, the spec's algorithm gives {'/'.join(map(str, want))}")
    if cyl * heads * spt * SECTOR > disk_size:
        fault("footer disk geometry", at + 56, f"C/H/S {cyl}/{heads}/{spt} exceeds the current size")
    if f[68:84] == bytes(16):
        fault("footer unique id", at + 68, "all zero")
    if f[84] != 0:
        fault("footer saved state", at + 84, f"{f[84]}, expected 0")
    if any(f[85:512]):
        fault("footer reserved", at + 85 + next(i for i, c in enumerate(f[85:512]) if c), "not zero")
    return {"data_offset": data_offset, "geometry": (cyl, heads, spt), "creator": app.decode("ascii")}


# Raises Fault unless the bytes GOT of the VHD at FILE_AT equal WANT of the image at DISK_AT.
def expect_equal(got, want, field, file_at, disk_at):
    if got != want:
        i = next((i for i in range(min(len(got), len(want))) if got[i] != want[i]), min(len(got), len(want)))
        fault(field, file_at + i, f"byte {got[i:i + 1].hex() or 'missing'} differs from the image's"
              f" {want[i:i + 1].hex() or 'end'} at disk offset {disk_at + i:#x}")


# Compares the fixed disk's data part with the image.
def check_fixed(vhd, img, file_size, disk_size):
    if file_size != disk_size + FOOTER_BYTES:
        fault("file size", 0, f"{file_size}, expected the disk ({disk_size}) + a 512-byte footer")
    footer = os.pread(vhd, FOOTER_BYTES, disk_size)
    info = check_footer(footer, disk_size, disk_size, 2)
    for at in range(0, disk_size, PIECE):
        n = min(PIECE, disk_size - at)
        expect_equal(os.pread(vhd, n, at), os.pread(img, n, at), "data", at, at)
    return f"fixed, creator '{info['creator']}', C/H/S {'/'.join(map(str, info['geometry']))}"


# Checks the dynamic disk's headers, BAT, bitmaps and content.
def check_dynamic(vhd, img, file_size, disk_size):
    if file_size % SECTOR or file_size < FOOTER_BYTES * 2 + DYN_HEADER_BYTES:
        fault("file size", 0, f"{file_size} is not whole sectors holding footer, header and footer copy")
    footer_at = file_size - FOOTER_BYTES
    footer = os.pread(vhd, FOOTER_BYTES, footer_at)
    info = check_footer(footer, footer_at, disk_size, 3)
    copy = os.pread(vhd, FOOTER_BYTES, 0)
    if copy != footer:
        i = next(i for i in range(FOOTER_BYTES) if copy[i] != footer[i])
        fault("footer copy", i, f"byte {copy[i]:#04x} differs from the footer's {footer[i]:#04x} at {footer_at + i:#x}")
    hdr_at = info["data_offset"]
    if hdr_at % SECTOR or hdr_at < FOOTER_BYTES or hdr_at + DYN_HEADER_BYTES > footer_at:
        fault("footer data offset", footer_at + 16, f"{hdr_at:#x} is no place for the dynamic header")
    h = os.pread(vhd, DYN_HEADER_BYTES, hdr_at)
    if h[0:8] != b"cxsparse":
        fault("dynamic header cookie", hdr_at, f"{h[0:8]!r}, expected b'cxsparse'")
    stored, computed = struct.unpack_from(">I", h, 36)[0], vhd_checksum(h, 36)
    if stored != computed:
        fault("dynamic header checksum", hdr_at + 36, f"stored {stored:#010x}, computed {computed:#010x}")
    (next_offset, bat_at, version, entries, block) = struct.unpack_from(">QQIII", h, 8)
    if next_offset != NO_OFFSET:
        fault("dynamic header data offset", hdr_at + 8, f"{next_offset:#x}, expected 0xffffffffffffffff")
    if version != 0x00010000:
        fault("dynamic header version", hdr_at + 24, f"{version:#x}, expected 0x10000")
    if block < SECTOR or block & (block - 1):
        fault("dynamic header block size", hdr_at + 32, f"{block} is not a power of two of sectors")
    if entries != -(-disk_size // block):
        fault("dynamic header max table entries", hdr_at + 28, f"{entries}, the disk needs {-(-disk_size // block)} blocks of {block}")
    if any(h[40:768]):
        fault("dynamic header parent fields", hdr_at + 40 + next(i for i, c in enumerate(h[40:768]) if c),
              "not zero in a disk without parent")
    bat_bytes = -(-entries * 4 // SECTOR) * SECTOR
    if bat_at % SECTOR or bat_at + bat_bytes > footer_at:
        fault("dynamic header table offset", hdr_at + 16, f"{bat_at:#x}: the BAT ({bat_bytes} bytes) does not fit")
    # Regions that blocks must not overlap: footer copy, header, BAT, footer.
    fixed = sorted([(0, FOOTER_BYTES, "footer copy"), (hdr_at, hdr_at + DYN_HEADER_BYTES, "dynamic header"),
                    (bat_at, bat_at + bat_bytes, "BAT"), (footer_at, file_size, "footer")])
    for (a0, a1, an), (b0, b1, bn) in zip(fixed, fixed[1:]):
        if b0 < a1:
            fault(bn, b0, f"overlaps the {an} ({a0:#x}..{a1:#x})")
    bat = struct.unpack(f">{entries}I", os.pread(vhd, entries * 4, bat_at))
    bitmap_bytes = -(-(block // SECTOR) // 8 // SECTOR) * SECTOR
    slot = bitmap_bytes + block
    regions = list(fixed)
    for i, sector in enumerate(bat):
        if sector == UNALLOCATED:
            continue
        at = sector * SECTOR
        if at + slot > footer_at:
            fault(f"BAT entry {i}", bat_at + 4 * i, f"sector {sector:#x}: the block ({slot} bytes) ends past the footer at {footer_at:#x}")
        regions.append((at, at + slot, f"block {i} (BAT entry at {bat_at + 4 * i:#x})"))
    regions.sort()
    for (a0, a1, an), (b0, b1, bn) in zip(regions, regions[1:]):
        if b0 < a1:
            fault(bn, b0, f"overlaps the {an} ({a0:#x}..{a1:#x})")
    # Bitmaps, then content, block by block in disk order.
    allocated = 0
    zeros = bytes(block)
    for i, sector in enumerate(bat):
        disk_at = i * block
        n = min(block, disk_size - disk_at)
        want = os.pread(img, n, disk_at)
        if sector == UNALLOCATED:
            if want != zeros[:n]:
                j = next(j for j in range(n) if want[j])
                fault(f"BAT entry {i}", bat_at + 4 * i, f"unallocated, but the image has data at disk offset {disk_at + j:#x}")
            continue
        allocated += 1
        at = sector * SECTOR
        bitmap = os.pread(vhd, bitmap_bytes, at)
        covered = n // SECTOR  # sectors of this block inside the disk
        full, rest = divmod(covered, 8)
        bad = next((j for j in range(full) if bitmap[j] != 0xFF), None)
        if bad is None and rest and bitmap[full] & (0xFF00 >> rest) & 0xFF != (0xFF00 >> rest) & 0xFF:
            bad = full
        if bad is not None:
            fault(f"sector bitmap of block {i}", at + bad, f"{bitmap[bad]:#04x}: a sector of data is marked absent")
        for p in range(0, n, PIECE):
            m = min(PIECE, n - p)
            got = os.pread(vhd, m, at + bitmap_bytes + p)
            expect_equal(got, want[p:p + m], f"data of block {i}", at + bitmap_bytes + p, disk_at + p)
    return (f"dynamic, creator '{info['creator']}', C/H/S {'/'.join(map(str, info['geometry']))}, "
            f"{entries} blocks of {block >> 10} KiB, {allocated} allocated")


# Runs the checks and prints the summary line.
def main(argv):
    if len(argv) != 4:
        sys.exit("usage: vhd_check.py VHD IMG DISK_SIZE")
    path, img_path, disk_size = argv[1], argv[2], int(argv[3])
    try:
        vhd = os.open(path, os.O_RDONLY)
        img = os.open(img_path, os.O_RDONLY)
        file_size, img_size = os.fstat(vhd).st_size, os.fstat(img).st_size
        if img_size != disk_size:
            raise Fault(f"{img_path}: {img_size} bytes, the GPT gives {disk_size}")
        if disk_size % SECTOR:
            raise Fault(f"disk size {disk_size} is not whole sectors")
        footer = os.pread(vhd, FOOTER_BYTES, file_size - FOOTER_BYTES) if file_size >= FOOTER_BYTES else b""
        kind = struct.unpack_from(">I", footer, 60)[0] if len(footer) == FOOTER_BYTES else 0
        if kind == 2:
            summary = check_fixed(vhd, img, file_size, disk_size)
        elif kind == 3:
            summary = check_dynamic(vhd, img, file_size, disk_size)
        else:
            fault("footer disk type", max(file_size - FOOTER_BYTES + 60, 0), f"{kind}: neither fixed (2) nor dynamic (3)")
    except (Fault, OSError) as e:
        print(f"vhd_check: {path}: {e}", file=sys.stderr)
        return 1
    print(f"vhd_check: {path}: ok: {summary}, {disk_size} bytes equal to {img_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
