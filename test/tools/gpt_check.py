#!/usr/bin/env python3
"""gpt_check.py IMAGE: checks IMAGE's two GPT headers and prints the disk size.

Reads the UEFI spec's header, not vdiskfs's code: the primary at LBA 1 and
the backup at the primary's alternate LBA must each have the signature
"EFI PART", a header size of 92..512 bytes, a matching CRC32 (computed here,
not by sgdisk), and LBAs naming themselves and each other; the backup must
be the file's last sector. Prints (alternate LBA + 1) * 512, the disk size by
the GPT; exits 1 naming the header, field and offset otherwise.
"""
import os
import struct
import sys
import zlib

SECTOR = 512


# Checks the header at LBA (whose alternate must be OTHER, if given); returns its alternate LBA.
def header(f, path, lba, what, other):
    at = lba * SECTOR
    f.seek(at)
    h = f.read(SECTOR)
    if h[0:8] != b"EFI PART":
        sys.exit(f"{path}: {what} GPT header signature at offset {at:#x}: {h[0:8]!r}, expected b'EFI PART'")
    size = struct.unpack_from("<I", h, 0x0C)[0]
    if not 92 <= size <= SECTOR:
        sys.exit(f"{path}: {what} GPT header size at offset {at + 0x0C:#x}: {size}")
    crc = struct.unpack_from("<I", h, 0x10)[0]
    if zlib.crc32(h[:0x10] + bytes(4) + h[0x14:size]) != crc:
        sys.exit(f"{path}: {what} GPT header CRC32 at offset {at + 0x10:#x}: {crc:#010x} does not match the header")
    mine, alternate = struct.unpack_from("<QQ", h, 0x18)
    if mine != lba or (other is not None and alternate != other):
        sys.exit(f"{path}: {what} GPT header LBAs at offset {at + 0x18:#x}: current {mine}, alternate {alternate}"
                 f" (it is at LBA {lba}{f', its other header at {other}' if other is not None else ''})")
    return alternate


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: gpt_check.py IMAGE")
    path = argv[1]
    size = os.stat(path).st_size
    if size % SECTOR:
        sys.exit(f"{path}: {size} bytes, not whole {SECTOR}-byte sectors")
    with open(path, "rb") as f:
        last = header(f, path, 1, "primary", None)
        if last != size // SECTOR - 1:
            sys.exit(f"{path}: the primary GPT header puts the backup at LBA {last}; the file's last sector is {size // SECTOR - 1}")
        header(f, path, last, "backup", 1)
    print((last + 1) * SECTOR)


if __name__ == "__main__":
    main(sys.argv)
