#!/usr/bin/env python3
"""random_reads.py FILE COUNT SIZE SPAN: COUNT reads of SIZE bytes at random
SIZE-aligned offsets below SPAN (bytes) of FILE, with a fixed seed, so that
two runs over two disks read the same offsets."""
import os
import random
import sys

path, count, size, span = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
r = random.Random(17)
fd = os.open(path, os.O_RDONLY)
try:
    span = min(span, os.fstat(fd).st_size)
    for _ in range(count):
        at = r.randrange(span // size) * size
        if len(os.pread(fd, size, at)) != size:
            sys.exit(f"short read at {at}")
finally:
    os.close(fd)
