// FdCache: bounded, never closes a descriptor in use, reports open errors.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/source/fd_cache.h"
#include "test_images.h"

using vdiskfs::FdCache;
using vdiskfs::test::TempDir;

namespace {

bool is_open(int fd) { return fcntl(fd, F_GETFD) != -1; }

// Files 0..n-1 in a temp dir; opener(k) opens file k and counts the calls.
struct Files {
  explicit Files(int n) {
    for (int i = 0; i < n; ++i) {
      const std::string p = (dir / std::to_string(i)).string();
      const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      REQUIRE(fd >= 0);
      struct stat st;
      REQUIRE(fstat(fd, &st) == 0);
      inodes.push_back(st.st_ino);
      close(fd);
    }
  }
  std::function<int()> opener(uint32_t k) {
    return [this, k] {
      ++opens;
      const int fd = ::open((dir / std::to_string(k)).c_str(), O_RDONLY | O_CLOEXEC);
      return fd < 0 ? -errno : fd;
    };
  }
  // True when fd refers to file k (not a recycled number).
  bool is_file(int fd, uint32_t k) const {
    struct stat st;
    return fstat(fd, &st) == 0 && st.st_ino == inodes[k];
  }
  TempDir dir;
  std::vector<ino_t> inodes;
  std::atomic<int> opens{0};
};

}  // namespace

TEST_CASE("FdCache keeps at most `capacity` released descriptors, evicting the oldest") {
  Files files(4);
  FdCache cache(2);
  int fd0, fd1, fd2;
  { auto l = cache.acquire(0, files.opener(0)); fd0 = l.fd(); }
  { auto l = cache.acquire(1, files.opener(1)); fd1 = l.fd(); }
  CHECK(files.opens == 2);
  { auto l = cache.acquire(0, files.opener(0)); CHECK(l.fd() == fd0); }  // hit: 0 is newest now
  CHECK(files.opens == 2);
  { auto l = cache.acquire(2, files.opener(2)); fd2 = l.fd(); }
  CHECK(files.opens == 3);
  CHECK_FALSE(is_open(fd1));  // the least recently used went
  CHECK(files.is_file(fd0, 0));
  CHECK(files.is_file(fd2, 2));
  { auto l = cache.acquire(0, files.opener(0)); CHECK(l.fd() == fd0); }
  { auto l = cache.acquire(2, files.opener(2)); CHECK(l.fd() == fd2); }
  CHECK(files.opens == 3);
  { auto l = cache.acquire(1, files.opener(1)); CHECK(files.is_file(l.fd(), 1)); }
  CHECK(files.opens == 4);
}

TEST_CASE("FdCache never closes a leased descriptor, even beyond capacity") {
  Files files(3);
  FdCache cache(1);
  auto l0 = std::make_unique<FdCache::Lease>(cache.acquire(0, files.opener(0)));
  auto l1 = std::make_unique<FdCache::Lease>(cache.acquire(1, files.opener(1)));
  auto l2 = std::make_unique<FdCache::Lease>(cache.acquire(2, files.opener(2)));
  const int fd0 = l0->fd(), fd1 = l1->fd(), fd2 = l2->fd();
  CHECK(files.is_file(fd0, 0));
  CHECK(files.is_file(fd1, 1));
  CHECK(files.is_file(fd2, 2));
  // A second lease on a held key shares the descriptor.
  {
    auto again = cache.acquire(1, files.opener(1));
    CHECK(again.fd() == fd1);
  }
  CHECK(files.opens == 3);
  CHECK(files.is_file(fd1, 1));  // still held by l1
  l0.reset();                    // over capacity: released ones close
  CHECK_FALSE(is_open(fd0));
  CHECK(files.is_file(fd1, 1));
  l1.reset();
  CHECK_FALSE(is_open(fd1));
  l2.reset();  // within capacity now: stays cached
  CHECK(files.is_file(fd2, 2));
  auto l = cache.acquire(2, files.opener(2));
  CHECK(l.fd() == fd2);
  CHECK(files.opens == 3);
}

TEST_CASE("FdCache reports opener failures and does not cache them") {
  FdCache cache(4);
  int calls = 0;
  auto failing = [&] {
    ++calls;
    return -ENOENT;
  };
  {
    auto l = cache.acquire(7, failing);
    CHECK(l.fd() < 0);
    CHECK(l.error() == ENOENT);
  }
  {
    auto l = cache.acquire(7, failing);
    CHECK(l.error() == ENOENT);
  }
  CHECK(calls == 2);
  // A later success for the same key is cached normally.
  Files files(1);
  int fd;
  {
    auto l = cache.acquire(7, files.opener(0));
    CHECK(l.error() == 0);
    fd = l.fd();
    CHECK(files.is_file(fd, 0));
  }
  auto l = cache.acquire(7, failing);
  CHECK(l.fd() == fd);
  CHECK(calls == 2);
}

TEST_CASE("FdCache under concurrent use never hands out a closed or recycled descriptor") {
  Files files(8);
  FdCache cache(2);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      uint32_t x = uint32_t(t) * 7919 + 1;
      for (int i = 0; i < 3000; ++i) {
        x = x * 1103515245 + 12345;
        const uint32_t k = (x >> 16) % 8;
        auto lease = cache.acquire(k, files.opener(k));
        if (lease.fd() < 0 || !files.is_file(lease.fd(), k)) ++wrong;
        std::this_thread::yield();
        if (lease.fd() >= 0 && !files.is_file(lease.fd(), k)) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(wrong == 0);
}
