#!/usr/bin/env python3
"""seek_map.py FILE: walks FILE with lseek SEEK_DATA / SEEK_HOLE and checks
that every hole reads as zeros and that the data ranges are in order and
inside the file. Prints one JSON line: size, data bytes, ranges.
Exits 1 with a message naming the file and the offset when a check fails."""
import json
import os
import sys


def walk(fd, size):
    ranges, off = [], 0
    while off < size:
        try:
            start = os.lseek(fd, off, os.SEEK_DATA)
        except OSError:  # ENXIO: no data after off
            break
        end = os.lseek(fd, start, os.SEEK_HOLE)
        if not off <= start < end <= size:
            raise SystemExit(f"{sys.argv[1]}: bad range [{start}, {end}) after {off} (size {size})")
        ranges.append((start, end))
        off = end
    return ranges


def check_zeros(fd, start, end):
    os.lseek(fd, start, os.SEEK_SET)
    pos = start
    while pos < end:
        chunk = os.read(fd, min(end - pos, 1 << 20))
        if not chunk:
            raise SystemExit(f"{sys.argv[1]}: short read at {pos}")
        if chunk.count(0) != len(chunk):
            bad = pos + next(i for i, b in enumerate(chunk) if b)
            raise SystemExit(f"{sys.argv[1]}: SEEK_HOLE said hole, but byte {bad} is not zero")
        pos += len(chunk)


def main():
    fd = os.open(sys.argv[1], os.O_RDONLY)
    size = os.fstat(fd).st_size
    ranges = walk(fd, size)
    prev = 0
    for start, end in ranges + [(size, size)]:
        check_zeros(fd, prev, start)
        prev = end
    print(json.dumps({"size": size, "data": sum(e - s for s, e in ranges), "ranges": len(ranges)}))


main()
