#include "core/delta/delta_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/delta/delta_log_format.h"
#include "core/image/error.h"
#include "core/image/io.h"
#include "core/image/log.h"

namespace vdiskfs {
namespace {

constexpr uint64_t kHeaderBytes = sizeof(DeltaLogHeader);
constexpr size_t kRecordHeader = sizeof(DeltaRecordHeader);

// The checksum a record must carry: of its header up to the checksum field,
// then of its payload.
uint64_t record_checksum(const DeltaRecordHeader& h, const uint8_t* payload, size_t payload_len) {
  XXH3_state_t st;  // on the stack: a write must not allocate per record
  XXH3_INITSTATE(&st);
  XXH3_64bits_reset(&st);
  XXH3_64bits_update(&st, &h, offsetof(DeltaRecordHeader, checksum));
  if (payload_len) XXH3_64bits_update(&st, payload, payload_len);
  return XXH3_64bits_digest(&st);
}

// Stores at `out` the header of a record of `type` with fields a and b,
// checksummed with its payload.
void write_record_header(uint8_t* out, uint32_t type, uint64_t a, uint64_t b, const uint8_t* payload,
                         size_t payload_len) {
  DeltaRecordHeader h{};
  h.magic = kDeltaRecordMagic;
  h.type = type;
  h.a = a;
  h.b = b;
  h.checksum = record_checksum(h, payload, payload_len);
  store(out, h);
}

// The checksum a delta header must carry: of the bytes before the field.
uint64_t header_checksum(const DeltaLogHeader& h) { return XXH3_64bits(&h, offsetof(DeltaLogHeader, checksum)); }

// Why a complete transfer stopped short, for a log line.
std::string io_failure(const IoResult& r) {
  return r.end == IoEnd::failed ? strerror(r.error) : "the file ends early";
}

DeltaHeader parse_header(const DeltaLogHeader& h, const std::string& path) {
  if (std::memcmp(h.magic, kDeltaLogMagic, sizeof h.magic) != 0) fail("{} is not a vdiskfs delta (bad magic)", path);
  if (h.version != kDeltaLogVersion)
    fail("{} is a delta of version {}, this vdiskfs reads version {}", path, h.version.get(), kDeltaLogVersion);
  if (header_checksum(h) != h.checksum) fail("{}: delta header checksum mismatch; the file is damaged", path);
  DeltaHeader d;
  d.base_size = h.base_size;
  d.created_ns = int64_t(h.created_ns.get());
  const size_t n = std::min<size_t>(h.identity_len, kDeltaIdentityMax);
  d.base_identity.assign(reinterpret_cast<const char*>(h.identity), n);
  return d;
}

int open_locked(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0600);
  if (fd < 0) fail("cannot open delta {}: {}", path, strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    fail("delta {} is in use by another vdiskfs mount", path);
  }
  return fd;
}

}  // namespace

DeltaLog::DeltaLog(std::string path, int fd, DeltaHeader header)
    : path_(std::move(path)), fd_(fd), header_(std::move(header)) {
  size_ = {header_.base_size, header_.base_size};
}

DeltaLog::~DeltaLog() { close(fd_); }

std::unique_ptr<DeltaLog> DeltaLog::create(const std::string& path, const DeltaHeader& header) {
  if (header.base_identity.size() > kDeltaIdentityMax) fail("delta identity too long");
  const int fd = open_locked(path, O_RDWR | O_CREAT | O_EXCL);
  DeltaLogHeader h{};
  std::memcpy(h.magic, kDeltaLogMagic, sizeof h.magic);
  h.version = kDeltaLogVersion;
  h.page_size = kDeltaPageSize;
  h.base_size = header.base_size;
  h.created_ns = uint64_t(header.created_ns);
  h.identity_len = uint32_t(header.base_identity.size());
  std::memcpy(h.identity, header.base_identity.data(), header.base_identity.size());
  h.checksum = header_checksum(h);
  const IoResult w = pwrite_full(fd, &h, sizeof h, 0);
  if (!w.complete() || fdatasync(fd) != 0) {
    const int err = !w.complete() ? (w.error ? w.error : ENOSPC) : errno;
    close(fd);
    unlink(path.c_str());
    fail("cannot create delta {}: {}", path, strerror(err));
  }
  std::unique_ptr<DeltaLog> log(new DeltaLog(path, fd, header));
  log->end_ = kHeaderBytes;
  return log;
}

DeltaHeader DeltaLog::read_header(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot open delta {}: {}", path, strerror(errno));
  DeltaLogHeader h;
  const bool ok_read = pread_full(fd, &h, sizeof h, 0).complete();
  close(fd);
  if (!ok_read) fail("{} is not a vdiskfs delta (too short)", path);
  return parse_header(h, path);
}

// Reads and checks the header of an open delta; closes fd on failure.
DeltaHeader header_of(int fd, const std::string& path) {
  DeltaLogHeader h;
  try {
    if (!pread_full(fd, &h, sizeof h, 0).complete()) fail("{} is not a vdiskfs delta (too short)", path);
    return parse_header(h, path);
  } catch (...) {
    close(fd);
    throw;
  }
}

std::unique_ptr<DeltaLog> DeltaLog::open(const std::string& path) {
  unlink((path + ".compact").c_str());  // an unfinished compaction: the log is intact
  const int fd = open_locked(path, O_RDWR);
  std::unique_ptr<DeltaLog> log(new DeltaLog(path, fd, header_of(fd, path)));
  log->replay(true);
  return log;
}

std::unique_ptr<DeltaLog> DeltaLog::inspect(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot open delta {}: {}", path, strerror(errno));
  std::unique_ptr<DeltaLog> log(new DeltaLog(path, fd, header_of(fd, path)));
  log->replay(false);
  return log;
}

void DeltaLog::apply_size(const DeltaSize& s) {
  const uint64_t keep = (s.size + kDeltaPageSize - 1) / kDeltaPageSize;
  for (auto it = index_.begin(); it != index_.end();)
    it = it->first >= keep ? index_.erase(it) : std::next(it);
  size_ = s;
}

// Reads records until the first one that is incomplete or fails its
// checksum; everything after it is a torn tail from an interrupted write.
void DeltaLog::replay(bool repair) {
  struct stat st;
  if (fstat(fd_, &st) != 0) fail("cannot stat delta {}: {}", path_, strerror(errno));
  const uint64_t file_size = uint64_t(st.st_size);
  uint64_t pos = kHeaderBytes;
  DeltaRecordHeader h;
  std::vector<uint8_t> payload(kDeltaPageSize);
  while (pos + kRecordHeader <= file_size) {
    if (!pread_full(fd_, &h, sizeof h, pos).complete() || h.magic != kDeltaRecordMagic) break;
    const uint32_t type = h.type;
    const size_t payload_len = type == kDeltaRecordPage ? kDeltaPageSize : 0;
    if (type != kDeltaRecordPage && type != kDeltaRecordSize) break;
    if (pos + kRecordHeader + payload_len > file_size) break;
    if (payload_len && !pread_full(fd_, payload.data(), payload_len, pos + kRecordHeader).complete()) break;
    if (record_checksum(h, payload.data(), payload_len) != h.checksum) break;
    if (type == kDeltaRecordPage)
      index_[h.a.get()] = pos + kRecordHeader;
    else
      apply_size({h.a.get(), h.b.get()});
    pos += kRecordHeader + payload_len;
  }
  if (pos < file_size) {
    recovered_ = file_size - pos;
    if (!repair) {
      end_ = pos;
      return;
    }
    log_warning("delta {}: cut a torn tail of {} bytes left by an interrupted write", path_, recovered_);
    if (ftruncate(fd_, off_t(pos)) != 0) fail("cannot repair delta {}: {}", path_, strerror(errno));
  }
  end_ = pos;
}

Status DeltaLog::read_page(uint64_t page, uint8_t* out) const {
  const uint64_t offset = index_.at(page);
  const IoResult r = pread_full(fd_, out, kDeltaPageSize, offset);
  if (r.complete()) return Status::ok;
  log_error("reading delta {} at offset {}: {}", path_, offset, io_failure(r));
  return Status::io_error;
}

Status DeltaLog::append(const std::vector<uint8_t>& records) {
  const IoResult w = pwrite_full(fd_, records.data(), records.size(), end_);
  if (!w.complete()) {
    const int err = w.end == IoEnd::failed ? w.error : ENOSPC;  // a write of nothing: no room
    // Leave no partial record behind: the delta stays as it was.
    if (ftruncate(fd_, off_t(end_)) != 0)
      log_error("delta {}: cannot cut a failed write: {}", path_, strerror(errno));
    if (err == ENOSPC || err == EDQUOT) return Status::no_space;
    log_error("writing delta {}: {}", path_, strerror(err));
    return Status::io_error;
  }
  end_ += records.size();
  return Status::ok;
}

Status DeltaLog::put(const std::vector<uint64_t>& pages, const uint8_t* data, const DeltaSize* new_size) {
  std::vector<uint8_t> records(pages.size() * (kRecordHeader + kDeltaPageSize) + (new_size ? kRecordHeader : 0));
  for (size_t i = 0; i < pages.size(); ++i) {
    uint8_t* r = records.data() + i * (kRecordHeader + kDeltaPageSize);
    const uint8_t* payload = data + i * kDeltaPageSize;
    std::memcpy(r + kRecordHeader, payload, kDeltaPageSize);
    write_record_header(r, kDeltaRecordPage, pages[i], 0, payload, kDeltaPageSize);
  }
  if (new_size)
    write_record_header(records.data() + records.size() - kRecordHeader, kDeltaRecordSize, new_size->size,
                        new_size->base_limit, nullptr, 0);
  const uint64_t first = end_;
  const Status s = append(records);
  if (!ok(s)) return s;
  for (size_t i = 0; i < pages.size(); ++i)
    index_[pages[i]] = first + i * (kRecordHeader + kDeltaPageSize) + kRecordHeader;
  if (new_size) apply_size(*new_size);
  maybe_compact();
  return Status::ok;
}

void DeltaLog::maybe_compact() {
  const uint64_t live = kHeaderBytes + index_.size() * (kRecordHeader + kDeltaPageSize) + kRecordHeader;
  if (end_ < compact_above_ || end_ < 2 * live) return;
  if (!compact()) log_warning("delta {}: compaction failed; the log keeps growing until there is room", path_);
}

// Writes header + live pages + size to <path>.compact, syncs it, renames it
// over the log. On any failure the old log stays in use, untouched.
bool DeltaLog::compact() {
  const std::string tmp = path_ + ".compact";
  const int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  auto give_up = [&] {
    close(fd);
    unlink(tmp.c_str());
    return false;
  };
  std::vector<uint8_t> buf(kHeaderBytes);
  if (!pread_full(fd_, buf.data(), kHeaderBytes, 0).complete()) return give_up();
  std::vector<std::pair<uint64_t, uint64_t>> pages(index_.begin(), index_.end());
  std::sort(pages.begin(), pages.end());
  std::unordered_map<uint64_t, uint64_t> index;
  uint64_t pos = 0;
  auto flush = [&] {
    if (!pwrite_full(fd, buf.data(), buf.size(), pos).complete()) return false;
    pos += buf.size();
    buf.clear();
    return true;
  };
  for (const auto& [page, offset] : pages) {
    const size_t at = buf.size();
    buf.resize(at + kRecordHeader + kDeltaPageSize);
    if (!pread_full(fd_, buf.data() + at + kRecordHeader, kDeltaPageSize, offset).complete()) return give_up();
    write_record_header(buf.data() + at, kDeltaRecordPage, page, 0, buf.data() + at + kRecordHeader, kDeltaPageSize);
    index[page] = pos + at + kRecordHeader;
    if (buf.size() >= (1u << 20) && !flush()) return give_up();
  }
  const size_t at = buf.size();
  buf.resize(at + kRecordHeader);
  write_record_header(buf.data() + at, kDeltaRecordSize, size_.size, size_.base_limit, nullptr, 0);
  if (!flush() || fdatasync(fd) != 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) return give_up();
  if (rename(tmp.c_str(), path_.c_str()) != 0) return give_up();
  const size_t slash = path_.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : path_.substr(0, slash);
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    fsync(dfd);  // make the rename durable
    close(dfd);
  }
  log_info("delta {}: compacted {} bytes of log into {}", path_, end_, pos);
  close(fd_);
  fd_ = fd;
  index_.swap(index);
  end_ = pos;
  return true;
}

Status DeltaLog::set_size(const DeltaSize& s) {
  std::vector<uint8_t> record(kRecordHeader);
  write_record_header(record.data(), kDeltaRecordSize, s.size, s.base_limit, nullptr, 0);
  const Status st = append(record);
  if (ok(st)) apply_size(s);
  return st;
}

Status DeltaLog::sync() {
  if (fdatasync(fd_) != 0) {
    log_error("fdatasync of delta {}: {}", path_, strerror(errno));
    return errno == ENOSPC ? Status::no_space : Status::io_error;
  }
  return Status::ok;
}

std::vector<uint64_t> DeltaLog::held_pages() const {
  std::vector<uint64_t> out;
  out.reserve(index_.size());
  for (const auto& [page, offset] : index_) out.push_back(page);
  return out;
}

}  // namespace vdiskfs
