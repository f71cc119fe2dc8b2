// crashwriter: the writer of the crash test. It writes records to a file
// and keeps a journal that tells which writes completed an fdatasync, so
// that after the daemon is killed and the file remounted, `verify` can
// check that every synced write is there.
//
//   crashwriter write FILE JOURNAL REGION_START REGION_BYTES ROUND [SEED]
//       writes forever (until an error): page-aligned 4..64 KiB writes at
//       random places of the region, from a generator seeded with SEED and
//       ROUND (ROUND alone without SEED); journal line "I seq off len"
//       before each write, "S seq" after its fdatasync (the journal is
//       fsynced). Sequence numbers are ROUND * 1e6 + n.
//   crashwriter verify FILE JOURNAL
//       for every page, the newest synced write covering it must be there
//       (or the one write that had begun but not synced, if it covers it).
//   crashwriter fill FILE BYTES SEED
//       writes BYTES pseudo-random bytes from SEED (the same for the same
//       seed on every machine: mt19937_64).
//   crashwriter tear DELTA JOURNAL KIND SEED
//       while no daemon holds DELTA (a delta log, core/delta/delta_log.h):
//       reads its records as the replay does, then appends at its end a
//       torn record of KIND for the first page of the journal's newest
//       synced write, with contents no write of the journal has:
//         short-header     the first 1..31 bytes of a page record
//         short-payload    a page record's whole header (its checksum
//                          holds for the whole payload) + 1..4095 bytes
//         flipped-payload  a whole page record, one payload byte flipped
//         flipped-size     a size record (size 4096), one of the size's two
//                          low bytes flipped
//         zeros            a record's worth of zeros (what a power loss
//                          leaves when the size landed and the data not)
//       Prints "END NATURAL APPENDED KIND PAGE": bytes of whole records, of
//       a torn tail that was there already (the kill's own; 0 if none) and
//       of the appended record. The next open must cut NATURAL + APPENDED
//       bytes at END. Exit 2 on any failure.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#define XXH_INLINE_ALL  // header only: this tool links no library
#include <xxhash.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr uint64_t kPage = 4096;

// The content of write `seq`: every 8-byte word names the write and itself.
void fill(std::vector<uint8_t>& buf, uint64_t seq, uint64_t off) {
  for (size_t i = 0; i < buf.size(); i += 8) {
    const uint64_t word = (seq << 40) ^ (off + i);
    std::memcpy(buf.data() + i, &word, 8);
  }
}

void journal_line(int fd, const std::string& line) {
  const std::string l = line + "\n";
  if (write(fd, l.data(), l.size()) != ssize_t(l.size()) || fsync(fd) != 0) {
    perror("journal");
    std::exit(2);
  }
}

int cmd_write(const char* file, const char* journal, uint64_t start, uint64_t bytes, unsigned round, const char* seed) {
  const int fd = open(file, O_RDWR | O_CLOEXEC);
  const int jfd = open(journal, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 || jfd < 0) {
    perror("open");
    return 2;
  }
  std::mt19937_64 rng(round);
  if (seed) {
    const uint64_t s = std::strtoull(seed, nullptr, 10);
    std::seed_seq seq{uint32_t(s), uint32_t(s >> 32), uint32_t(round)};
    rng.seed(seq);
  }
  // Sequence numbers continue across runs: round * 1e6 keeps them distinct.
  for (uint64_t n = 0;; ++n) {
    const uint64_t seq = uint64_t(round) * 1000000 + n;
    const uint64_t len = (1 + rng() % 16) * kPage;
    const uint64_t off = start + (rng() % ((bytes - len) / kPage)) * kPage;
    std::vector<uint8_t> buf(len);
    fill(buf, seq, off);
    journal_line(jfd, "I " + std::to_string(seq) + " " + std::to_string(off) + " " + std::to_string(len));
    if (pwrite(fd, buf.data(), len, off_t(off)) != ssize_t(len)) return 1;  // the daemon is gone
    if (fdatasync(fd) != 0) return 1;
    journal_line(jfd, "S " + std::to_string(seq));
  }
}

struct Write {
  uint64_t seq, off, len;
  bool synced;
};

int cmd_verify(const char* file, const char* journal) {
  FILE* j = fopen(journal, "r");
  if (!j) {
    perror("journal");
    return 2;
  }
  std::vector<Write> writes;
  std::map<uint64_t, size_t> by_seq;
  char kind;
  unsigned long long a, b, c;
  while (fscanf(j, " %c", &kind) == 1) {
    if (kind == 'I' && fscanf(j, "%llu %llu %llu", &a, &b, &c) == 3) {
      by_seq[a] = writes.size();
      writes.push_back({a, b, c, false});
    } else if (kind == 'S' && fscanf(j, "%llu", &a) == 1) {
      writes[by_seq.at(a)].synced = true;
    }
  }
  fclose(j);
  // Per page: the newest synced write, and any later unsynced ones (only the
  // last write of each run can be unsynced).
  std::map<uint64_t, std::vector<const Write*>> allowed;
  for (const Write& w : writes) {
    for (uint64_t p = w.off; p < w.off + w.len; p += kPage) {
      auto& list = allowed[p];
      if (w.synced) list.clear();
      list.push_back(&w);
    }
  }
  const int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    perror("open");
    return 2;
  }
  size_t checked = 0, bad = 0;
  std::vector<uint8_t> got(kPage), want(kPage);
  for (const auto& [page, list] : allowed) {
    if (!list.front()->synced) continue;  // never synced: nothing is promised
    if (pread(fd, got.data(), kPage, off_t(page)) != ssize_t(kPage)) {
      perror("pread");
      return 2;
    }
    bool match = false;
    for (const Write* w : list) {
      std::vector<uint8_t> buf(w->len);
      fill(buf, w->seq, w->off);
      if (std::memcmp(got.data(), buf.data() + (page - w->off), kPage) == 0) match = true;
    }
    ++checked;
    if (!match && ++bad <= 10)
      std::fprintf(stderr, "page %llu: synced write %llu is missing\n", (unsigned long long)page,
                   (unsigned long long)list.front()->seq);
  }
  std::printf("verify: %zu writes in the journal, %zu synced pages checked, %zu missing\n", writes.size(),
              checked, bad);
  return bad ? 1 : 0;
}

int cmd_fill(const char* file, uint64_t bytes, uint64_t seed) {
  const int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    perror("open");
    return 2;
  }
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> buf(1 << 16);
  for (uint64_t done = 0; done < bytes;) {
    for (size_t i = 0; i < buf.size(); i += 8) {
      const uint64_t word = rng();
      std::memcpy(buf.data() + i, &word, 8);
    }
    const size_t n = size_t(std::min<uint64_t>(buf.size(), bytes - done));
    if (write(fd, buf.data(), n) != ssize_t(n)) {
      perror("write");
      return 2;
    }
    done += n;
  }
  return close(fd) == 0 ? 0 : 2;
}

// The delta log format (core/delta/delta_log.h), kept apart from the
// daemon's code on purpose: header of 4096 bytes, then records of a 32-byte
// header (magic "DLTR", type, a, b, checksum = XXH3-64 of the 24 bytes
// before it and the payload) and, for a page record, a 4096-byte payload.
void put_le(uint8_t* p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = uint8_t(v >> (8 * i));
}
uint64_t get_le(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

constexpr uint64_t kLogHeader = 4096;
constexpr size_t kRecordHeader = 32;
constexpr uint32_t kRecordMagic = 0x52544c44;
constexpr uint32_t kPageRecord = 1, kSizeRecord = 2;
// A write sequence number no journal has (rounds would need 777215 writes
// each to reach it): the torn record's contents match no write.
constexpr uint64_t kTornSeq = (1u << 24) - 1;

// The checksum of a record: `summed` is its header's first 24 bytes and
// its payload, one after the other.
uint64_t record_checksum(const std::vector<uint8_t>& summed) { return XXH3_64bits(summed.data(), summed.size()); }

std::vector<uint8_t> make_record(uint32_t type, uint64_t a, uint64_t b, const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> r(24);
  put_le(r.data(), kRecordMagic, 4);
  put_le(r.data() + 4, type, 4);
  put_le(r.data() + 8, a, 8);
  put_le(r.data() + 16, b, 8);
  r.insert(r.end(), payload.begin(), payload.end());
  const uint64_t sum = record_checksum(r);
  r.insert(r.begin() + 24, 8, 0);
  put_le(r.data() + 24, sum, 8);
  return r;
}

bool pread_full(int fd, uint8_t* buf, size_t len, uint64_t off) {
  return pread(fd, buf, len, off_t(off)) == ssize_t(len);
}

// Where the records that hold end, as the daemon's replay sees it.
uint64_t end_of_records(int fd, uint64_t file_size) {
  uint64_t pos = kLogHeader;
  std::vector<uint8_t> buf(kRecordHeader + kPage);
  while (pos + kRecordHeader <= file_size && pread_full(fd, buf.data(), kRecordHeader, pos)) {
    const uint64_t type = get_le(buf.data() + 4, 4), sum = get_le(buf.data() + 24, 8);
    if (get_le(buf.data(), 4) != kRecordMagic || (type != kPageRecord && type != kSizeRecord)) break;
    const size_t len = type == kPageRecord ? kPage : 0;
    if (pos + kRecordHeader + len > file_size ||
        (len && !pread_full(fd, buf.data() + kRecordHeader, len, pos + kRecordHeader)))
      break;
    std::vector<uint8_t> summed(buf.begin(), buf.begin() + 24);
    summed.insert(summed.end(), buf.begin() + kRecordHeader, buf.begin() + kRecordHeader + len);
    if (record_checksum(summed) != sum) break;
    pos += kRecordHeader + len;
  }
  return pos;
}

// The page the torn record claims: the first of the newest synced write
// (verify checks it, so a record wrongly kept would show), else of the
// newest begun one.
uint64_t page_to_tear(const char* journal) {
  FILE* j = fopen(journal, "r");
  if (!j) return 0;
  std::map<uint64_t, uint64_t> off_of;
  uint64_t synced = UINT64_MAX, begun = 0;
  char kind;
  unsigned long long a, b, c;
  while (fscanf(j, " %c", &kind) == 1) {
    if (kind == 'I' && fscanf(j, "%llu %llu %llu", &a, &b, &c) == 3) {
      off_of[a] = b;
      begun = b;
    } else if (kind == 'S' && fscanf(j, "%llu", &a) == 1) {
      synced = off_of[a];
    }
  }
  fclose(j);
  return (synced != UINT64_MAX ? synced : begun) / kPage;
}

int cmd_tear(const char* delta, const char* journal, const std::string& kind, uint64_t seed) {
  const int fd = open(delta, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    perror(delta);
    return 2;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    std::fprintf(stderr, "%s is in use (is the daemon still running?)\n", delta);
    return 2;
  }
  struct stat st;
  char magic[8];
  if (fstat(fd, &st) != 0 || !pread_full(fd, reinterpret_cast<uint8_t*>(magic), 8, 0) ||
      std::memcmp(magic, "VDISKDLT", 8) != 0) {
    std::fprintf(stderr, "%s is not a delta log\n", delta);
    return 2;
  }
  const uint64_t size = uint64_t(st.st_size), end = end_of_records(fd, size);
  std::mt19937_64 rng(seed);
  const uint64_t page = page_to_tear(journal);
  std::vector<uint8_t> payload(kPage);
  fill(payload, kTornSeq, page * kPage);
  std::vector<uint8_t> r;
  if (kind == "short-header") {
    r = make_record(kPageRecord, page, 0, payload);
    r.resize(1 + rng() % (kRecordHeader - 1));
  } else if (kind == "short-payload") {
    r = make_record(kPageRecord, page, 0, payload);
    r.resize(kRecordHeader + 1 + rng() % (kPage - 1));
  } else if (kind == "flipped-payload") {
    r = make_record(kPageRecord, page, 0, payload);
    r[kRecordHeader + rng() % kPage] ^= uint8_t(1u << (rng() % 8));
  } else if (kind == "flipped-size") {
    r = make_record(kSizeRecord, kPage, kPage, {});
    r[8 + rng() % 2] ^= uint8_t(1u << (rng() % 8));  // size stays < 64 KiB: kept, it would hide every write
  } else if (kind == "zeros") {
    r.assign(kRecordHeader + kPage, 0);
  } else {
    std::fprintf(stderr, "unknown kind of torn record '%s'\n", kind.c_str());
    return 2;
  }
  if (pwrite(fd, r.data(), r.size(), off_t(size)) != ssize_t(r.size()) || fdatasync(fd) != 0) {
    perror("appending the torn record");
    return 2;
  }
  close(fd);
  std::printf("%llu %llu %zu %s %llu\n", (unsigned long long)end, (unsigned long long)(size - end), r.size(),
              kind.c_str(), (unsigned long long)page);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if ((argc == 7 || argc == 8) && std::strcmp(argv[1], "write") == 0)
    return cmd_write(argv[2], argv[3], std::strtoull(argv[4], nullptr, 10), std::strtoull(argv[5], nullptr, 10),
                     unsigned(std::strtoul(argv[6], nullptr, 10)), argc == 8 ? argv[7] : nullptr);
  if (argc == 4 && std::strcmp(argv[1], "verify") == 0) return cmd_verify(argv[2], argv[3]);
  if (argc == 5 && std::strcmp(argv[1], "fill") == 0)
    return cmd_fill(argv[2], std::strtoull(argv[3], nullptr, 10), std::strtoull(argv[4], nullptr, 10));
  if (argc == 6 && std::strcmp(argv[1], "tear") == 0)
    return cmd_tear(argv[2], argv[3], argv[4], std::strtoull(argv[5], nullptr, 10));
  std::fprintf(stderr,
               "usage: crashwriter write FILE JOURNAL REGION_START REGION_BYTES ROUND [SEED]\n"
               "       crashwriter verify FILE JOURNAL\n"
               "       crashwriter fill FILE BYTES SEED\n"
               "       crashwriter tear DELTA JOURNAL short-header|short-payload|flipped-payload|flipped-size|zeros "
               "SEED\n");
  return 2;
}
