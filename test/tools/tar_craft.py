"""Tar headers written field by field, for archives no tar program writes:
V7 directories with a size, numbers ended by space, NUL or nothing,
base-256 of any width, garbage in fields a pax record overrides.
Used by test/integration/tar_dialects_test.sh and test/unit/tar_test.cpp."""

USTAR = b"ustar\x0000"

# Offsets of the header's fields (POSIX ustar; see core/source/tar/tar_header.h).
NAME, MODE, UID, GID, SIZE, MTIME = 0x000, 0x064, 0x06C, 0x074, 0x07C, 0x088
CHKSUM, TYPEFLAG, LINKNAME, MAGIC = 0x094, 0x09C, 0x09D, 0x101
CHKSUM_END = CHKSUM + 8


def octal(value, width):
    """An octal field of `width` bytes: digits and a NUL."""
    return b"%0*o\0" % (width - 1, value)


def b256(value, width):
    """A base-256 field of `width` bytes (two's complement, high bit set)."""
    return (value + (1 << (8 * width - 1)) if value >= 0 else value + (1 << (8 * width))).to_bytes(width, "big")


def header(name, size, typeflag=b"0", mode=None, uid=None, gid=None, sizef=None, mtime=None, magic=b"", link=b""):
    """A 512-byte header; each field given as bytes replaces the default."""
    h = bytearray(512)
    fields = [(NAME, name.encode()), (MODE, mode or octal(0o644, 8)), (UID, uid or octal(1000, 8)),
              (GID, gid or octal(1000, 8)), (SIZE, sizef if sizef is not None else octal(size, 12)),
              (MTIME, mtime or octal(1262304000, 12)), (TYPEFLAG, typeflag), (LINKNAME, link), (MAGIC, magic)]
    for off, value in fields:
        h[off:off + len(value)] = value
    h[CHKSUM:CHKSUM_END] = b" " * 8
    h[CHKSUM:CHKSUM_END] = b"%06o\0 " % sum(h)
    return bytes(h)


def pad(data):
    """Data padded to whole 512-byte blocks."""
    return data + b"\0" * (-len(data) % 512)


def pax(records, typeflag=b"x"):
    """A pax extended header with its records ((key, value) bytes pairs)."""
    body = b""
    for key, value in records:
        rec = b" " + key + b"=" + value + b"\n"
        n = len(rec) + 1
        while len(str(n)) + len(rec) != n:
            n += 1
        body += str(n).encode() + rec
    return header("PaxHeader", len(body), typeflag, magic=USTAR) + pad(body)


def write(path, blocks):
    """The archive: the blocks and the two zero blocks of its end."""
    with open(path, "wb") as f:
        f.write(b"".join(blocks) + b"\0" * 1024)
