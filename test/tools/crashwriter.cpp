// crashwriter: the writer of the crash test. It writes records to a file
// and keeps a journal that tells which writes completed an fdatasync, so
// that after the daemon is killed and the file remounted, `verify` can
// check that every synced write is there.
//
//   crashwriter write FILE JOURNAL REGION_START REGION_BYTES SEED
//       writes forever (until an error): page-aligned 4..64 KiB writes at
//       random places of the region; journal line "I seq off len" before
//       each write, "S seq" after its fdatasync (the journal is fsynced).
//   crashwriter verify FILE JOURNAL
//       for every page, the newest synced write covering it must be there
//       (or the one write that had begun but not synced, if it covers it).
#include <fcntl.h>
#include <unistd.h>

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

int cmd_write(const char* file, const char* journal, uint64_t start, uint64_t bytes, unsigned seed) {
  const int fd = open(file, O_RDWR | O_CLOEXEC);
  const int jfd = open(journal, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 || jfd < 0) {
    perror("open");
    return 2;
  }
  std::mt19937_64 rng(seed);
  // Sequence numbers continue across runs: seed * 1e6 keeps them distinct.
  for (uint64_t n = 0;; ++n) {
    const uint64_t seq = uint64_t(seed) * 1000000 + n;
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

}  // namespace

int main(int argc, char** argv) {
  if (argc == 7 && std::strcmp(argv[1], "write") == 0)
    return cmd_write(argv[2], argv[3], std::strtoull(argv[4], nullptr, 10), std::strtoull(argv[5], nullptr, 10),
                     unsigned(std::strtoul(argv[6], nullptr, 10)));
  if (argc == 4 && std::strcmp(argv[1], "verify") == 0) return cmd_verify(argv[2], argv[3]);
  std::fprintf(stderr,
               "usage: crashwriter write FILE JOURNAL REGION_START REGION_BYTES SEED\n"
               "       crashwriter verify FILE JOURNAL\n");
  return 2;
}
