#include "core/source/block_cache_disk.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <vector>

#include "core/image/arith.h"
#include "core/image/error.h"
#include "core/image/io.h"
#include "core/image/log.h"

namespace vdiskfs {

namespace {

constexpr char kMagic[8] = {'V', 'D', 'F', 'S', 'B', 'L', 'K', '1'};
constexpr char kMarker[] = "VDISKFS-CACHE";
constexpr char kMarkerText[] = "vdiskfs block cache: files here are removed and rewritten by vdiskfs\n";
constexpr size_t kNameLength = 33;  // 16 hex digits, '-', 16 hex digits

// The checksum of a block file: its header up to the checksum field, then
// the block's bytes.
uint64_t block_checksum(const DiskBlockHeader& header, const uint8_t* data, size_t length) {
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  XXH3_64bits_update(state, &header, offsetof(DiskBlockHeader, checksum));
  XXH3_64bits_update(state, data, length);
  const uint64_t sum = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return sum;
}

// The subfolder (00..ff) of block `id`: stable across runs and hosts.
unsigned subfolder_of(const BlockId& id) {
  return unsigned((id.file_key * 0x9e3779b97f4a7c15ull + id.index * 0xc2b2ae3d27d4eb4full) >> 56);
}

// Parses 16 lowercase hex digits.
bool parse_hex16(const char* s, uint64_t& out) {
  out = 0;
  for (int i = 0; i < 16; ++i) {
    const char c = s[i];
    const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) return false;
    out = out << 4 | uint64_t(digit);
  }
  return true;
}

// The block a file name "<key>-<index>" names.
bool parse_block_name(const char* name, BlockId& id) {
  return std::strlen(name) == kNameLength && name[16] == '-' && parse_hex16(name, id.file_key) &&
         parse_hex16(name + 17, id.index);
}

bool ends_with(const char* name, const char* tail) {
  const size_t n = std::strlen(name), t = std::strlen(tail);
  return n >= t && std::memcmp(name + n - t, tail, t) == 0;
}

// Whether folder `dir` has entries other than "." and "..".
bool has_entries(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (!d) fail("cache folder {}: cannot read it: {}", dir, strerror(errno));
  bool any = false;
  while (const dirent* e = readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) any = true;
  }
  closedir(d);
  return any;
}

}  // namespace

DiskTier::DiskTier(std::string dir, uint64_t limit, uint32_t block_bytes)
    : dir_(std::move(dir)), limit_(limit), block_bytes_(block_bytes) {
  try {
    open_folder();
    index_files();
  } catch (...) {
    if (lock_fd_ >= 0) close(lock_fd_);
    throw;
  }
}

DiskTier::~DiskTier() { close(lock_fd_); }

uint64_t DiskTier::charge(size_t length) { return align_up(sizeof(DiskBlockHeader) + length, 4096); }

std::string DiskTier::path_of(const BlockId& id) const {
  return fmt::format("{}/{:02x}/{:016x}-{:016x}", dir_, subfolder_of(id), id.file_key, id.index);
}

void DiskTier::open_folder() {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) fail("cache folder {}: cannot make it: {}", dir_, ec.message());
  struct stat st;
  if (stat(dir_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) fail("cache folder {}: not a folder", dir_);
  const std::string marker = dir_ + "/" + kMarker;
  const bool fresh = access(marker.c_str(), F_OK) != 0;
  if (fresh && has_entries(dir_)) {
    fail("cache folder {} holds files but no {} marker: name an empty or new folder for the cache", dir_, kMarker);
  }
  lock_fd_ = open(marker.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) fail("cache folder {}: cannot open {}: {}", dir_, marker, strerror(errno));
  if (flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    fail("cache folder {} is in use by another vdiskfs process (it holds the lock on {})", dir_, marker);
  }
  if (fresh && !pwrite_full(lock_fd_, kMarkerText, sizeof kMarkerText - 1, 0).complete()) {
    fail("cache folder {}: cannot write {}: {}", dir_, marker, strerror(errno));
  }
  for (unsigned sub = 0; sub < 256; ++sub) {
    const std::string path = fmt::format("{}/{:02x}", dir_, sub);
    if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
      fail("cache folder {}: cannot make {}: {}", dir_, path, strerror(errno));
    }
  }
}

void DiskTier::index_files() {
  struct Found {
    int64_t mtime_ns;
    BlockId id;
    uint64_t charge;
  };
  std::vector<Found> found;
  for (unsigned sub = 0; sub < 256; ++sub) {
    const std::string path = fmt::format("{}/{:02x}", dir_, sub);
    DIR* d = opendir(path.c_str());
    if (!d) fail("cache folder {}: cannot read {}: {}", dir_, path, strerror(errno));
    while (const dirent* e = readdir(d)) {
      BlockId id;
      struct stat st;
      if (ends_with(e->d_name, ".tmp")) {
        unlinkat(dirfd(d), e->d_name, 0);  // a write a crash cut short
      } else if (parse_block_name(e->d_name, id) && subfolder_of(id) == sub &&
                 fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
        found.push_back({int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec, id,
                         align_up(uint64_t(st.st_size), 4096)});
      }
    }
    closedir(d);
  }
  std::stable_sort(found.begin(), found.end(), [](const Found& a, const Found& b) { return a.mtime_ns < b.mtime_ns; });
  std::lock_guard lock(mutex_);
  for (const Found& f : found) insert_locked(f.id, f.charge);
}

bool DiskTier::holds(const BlockId& id) const {
  std::lock_guard lock(mutex_);
  return where_.count(id) != 0;
}

bool DiskTier::load(const BlockId& id, uint8_t* buf, size_t length) {
  if (!holds(id)) return false;
  const std::string path = path_of(id);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  const bool good = fd >= 0 && read_file(fd, id, buf, length);
  if (good) futimens(fd, nullptr);  // the mtime keeps the LRU order for later runs
  if (fd >= 0) close(fd);
  std::lock_guard lock(mutex_);
  if (!good) {
    if (fd >= 0) {
      log_warning("cache folder {}: block file {} does not hold its block (torn, damaged, or written with "
                  "another block size): removed, the block is fetched again", dir_, path);
    }
    remove_locked(id);
    return false;
  }
  auto it = where_.find(id);
  if (it != where_.end()) order_.splice(order_.begin(), order_, it->second);
  return true;
}

bool DiskTier::read_file(int fd, const BlockId& id, uint8_t* buf, size_t length) const {
  uint8_t raw[sizeof(DiskBlockHeader)];
  if (!pread_full(fd, raw, sizeof raw, 0).complete()) return false;
  const auto header = vdiskfs::load<DiskBlockHeader>(raw);
  if (std::memcmp(header.magic, kMagic, sizeof kMagic) != 0 || header.file_key != id.file_key ||
      header.index != id.index || header.length != length || header.block_bytes != block_bytes_) {
    return false;
  }
  return pread_full(fd, buf, length, sizeof raw).complete() && header.checksum == block_checksum(header, buf, length);
}

void DiskTier::store(const BlockId& id, const uint8_t* data, size_t length) {
  bool held = false;
  {
    std::lock_guard lock(mutex_);
    auto it = where_.find(id);
    if (it != where_.end()) {
      order_.splice(order_.begin(), order_, it->second);
      held = true;
    }
  }
  if (held) {
    utimensat(AT_FDCWD, path_of(id).c_str(), nullptr, 0);  // the LRU order for later runs
    return;
  }
  const int error = write_file(id, data, length);
  if (error == 0) return;
  std::lock_guard lock(mutex_);
  if (!write_failure_logged_) {
    log_warning("cache folder {}: cannot write block files ({}): blocks evicted from memory are dropped; "
                "further failures are not logged", dir_, strerror(error));
    write_failure_logged_ = true;
  }
}

int DiskTier::write_file(const BlockId& id, const uint8_t* data, size_t length) {
  DiskBlockHeader header{};
  std::memcpy(header.magic, kMagic, sizeof kMagic);
  header.file_key = id.file_key;
  header.index = id.index;
  header.length = uint32_t(length);
  header.block_bytes = block_bytes_;
  header.checksum = block_checksum(header, data, length);
  uint8_t raw[sizeof(DiskBlockHeader)];
  vdiskfs::store(raw, header);

  const std::string path = path_of(id);
  std::string temp;
  {
    std::lock_guard lock(mutex_);
    temp = fmt::format("{}.{}.tmp", path, temp_serial_++);
  }
  const int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return errno;
  IoResult r = pwrite_full(fd, raw, sizeof raw, 0);
  if (r.complete()) r = pwrite_full(fd, data, length, sizeof raw);
  int error = r.complete() ? 0 : r.error ? r.error : ENOSPC;
  if (close(fd) != 0 && error == 0) error = errno;
  std::lock_guard lock(mutex_);
  if (error == 0 && rename(temp.c_str(), path.c_str()) != 0) error = errno;
  if (error != 0) {
    unlink(temp.c_str());
    return error;
  }
  insert_locked(id, charge(length));
  return 0;
}

void DiskTier::insert_locked(const BlockId& id, uint64_t charge) {
  auto it = where_.find(id);
  if (it != where_.end()) {
    bytes_ -= it->second->charge;
    order_.erase(it->second);
  }
  order_.push_front(Entry{id, charge});
  where_[id] = order_.begin();
  bytes_ += charge;
  while (bytes_ > limit_ && order_.size() > 1) {
    remove_locked(order_.back().id);
    ++evictions_;
  }
}

void DiskTier::remove_locked(const BlockId& id) {
  auto it = where_.find(id);
  if (it == where_.end()) return;
  unlink(path_of(id).c_str());
  bytes_ -= it->second->charge;
  order_.erase(it->second);
  where_.erase(it);
}

uint64_t DiskTier::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

uint64_t DiskTier::evictions() const {
  std::lock_guard lock(mutex_);
  return evictions_;
}

}  // namespace vdiskfs
