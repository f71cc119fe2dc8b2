#include "core/source/tar/tar_index.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/image/error.h"
#include "core/image/io.h"

namespace vdiskfs {
namespace {

constexpr char kMagic[8] = {'V', 'D', 'K', 'T', 'I', 'D', 'X', '\0'};
constexpr uint32_t kIndexVersion = 3;  // 3: page checksums are XXH3, not CRC-32
constexpr uint64_t kKeyBytes = 64 * 1024;

// Little-endian integers and length-prefixed strings appended to a string.
class Writer {
 public:
  void u8(uint8_t v) { out_.push_back(char(v)); }
  void u32(uint32_t v) { put(&v, sizeof v); }
  void u64(uint64_t v) { put(&v, sizeof v); }
  void str(std::string_view s) {
    u32(uint32_t(s.size()));
    out_.append(s);
  }
  void bytes(const std::vector<uint8_t>& b) { str(std::string_view(reinterpret_cast<const char*>(b.data()), b.size())); }
  void time(Timestamp t) {
    u64(uint64_t(t.sec));
    u32(t.nsec);
  }
  // A count, then each element as `each` writes it.
  template <class T, class F>
  void list(const std::vector<T>& v, F each) {
    u64(v.size());
    for (const T& x : v) each(x);
  }
  std::string& out() { return out_; }

 private:
  void put(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }  // x86-64 and arm64: little-endian
  std::string out_;
};

// The reverse of Writer, bounds-checked: Error naming the offset.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  uint8_t u8() { return uint8_t(take(1)[0]); }
  uint32_t u32() { return get<uint32_t>(); }
  uint64_t u64() { return get<uint64_t>(); }
  std::string str() { return std::string(take(u32())); }
  std::vector<uint8_t> bytes() {
    const std::string_view s = take(u32());
    return std::vector<uint8_t>(s.begin(), s.end());
  }
  Timestamp time() {
    const int64_t sec = int64_t(u64());
    const uint32_t nsec = u32();
    if (nsec > 999999999) fail("kept index: a time with {} nanoseconds at byte {}", nsec, pos_ - 4);
    return Timestamp{sec, nsec};
  }
  // A count of elements of at least `min_bytes` each: Error when more than
  // the bytes left could hold.
  size_t count(size_t min_bytes) {
    const uint64_t n = u64();
    if (n > (in_.size() - pos_) / min_bytes) fail("kept index: a count of {} at byte {} exceeds its size", n, pos_ - 8);
    return size_t(n);
  }
  bool done() const { return pos_ == in_.size(); }

 private:
  template <class T>
  T get() {
    T v;
    std::memcpy(&v, take(sizeof v).data(), sizeof v);
    return v;
  }
  std::string_view take(size_t n) {
    if (n > in_.size() - pos_) fail("kept index: truncated at byte {} ({} more bytes wanted)", pos_, n);
    const std::string_view s = in_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::string_view in_;
  size_t pos_ = 0;
};

void encode_spec(Writer& w, const EntrySpec& s) {
  const Node& a = s.attrs;
  w.u32(a.mode);
  w.u32(a.uid);
  w.u32(a.gid);
  w.time(a.atime);
  w.time(a.mtime);
  w.time(a.ctime);
  w.time(a.btime);
  w.u64(a.size);
  w.u64(a.aux);
  w.str(s.link_target);
  w.u8(s.sparse);
  w.list(s.segments, [&](const DataSegment& seg) {
    w.u64(seg.offset);
    w.u64(seg.length);
  });
  w.list(s.xattrs, [&](const std::pair<std::string, std::string>& x) {
    w.str(x.first);
    w.str(x.second);
  });
  w.u64(s.payload);
}

EntrySpec decode_spec(Reader& r) {
  EntrySpec s;
  Node& a = s.attrs;
  a.mode = r.u32();
  a.uid = r.u32();
  a.gid = r.u32();
  a.atime = r.time();
  a.mtime = r.time();
  a.ctime = r.time();
  a.btime = r.time();
  a.size = r.u64();
  a.aux = r.u64();
  s.link_target = r.str();
  s.sparse = r.u8() != 0;
  s.segments.resize(r.count(16));
  uint64_t end = 0;  // as the tar reader leaves them: in order, apart, inside the file
  for (DataSegment& seg : s.segments) {
    seg.offset = r.u64();
    seg.length = r.u64();
    if (seg.offset < end || seg.length > a.size || seg.offset > a.size - seg.length)
      fail("kept index: a data segment of {} at {} bytes out of order or beyond the file's size", seg.length,
           seg.offset);
    end = seg.offset + seg.length;
  }
  s.xattrs.resize(r.count(8));
  for (auto& [name, value] : s.xattrs) {
    name = r.str();
    value = r.str();
  }
  s.payload = r.u64();
  return s;
}

std::string encode_payload(const TarIndex& index) {
  Writer w;
  w.u8(index.stream ? 1 : 0);
  if (index.stream) {
    const StreamIndex& s = *index.stream;
    w.str(s.codec);
    w.u64(s.size);
    w.list(s.points, [&](const RestartPoint& p) {
      w.u64(p.out_offset);
      w.u64(p.in_offset);
      w.bytes(p.state);
    });
    w.list(s.sums, [&](uint32_t c) { w.u32(c); });
  }
  w.u64(index.events.size());
  for (const TarScanEvent& e : index.events) {
    w.u8(uint8_t(e.kind));
    w.str(e.path);
    w.str(e.text);
    w.u64(e.header_offset);
    if (e.kind != TarScanEvent::Kind::member) continue;
    encode_spec(w, e.spec);
    w.u8(uint8_t(e.stored_whole) | uint8_t(e.has_dumpdir) << 1);
    w.str(e.dumpdir);
  }
  return std::move(w.out());
}

uint64_t hash_range(const ArchiveFile& raw, uint64_t offset, uint64_t len) {
  std::vector<uint8_t> buf(static_cast<size_t>(len));
  if (len && !ok(raw.read(offset, buf.data(), buf.size())))
    fail("cannot read {} to check its kept index (see the line above)", raw.describe());
  return XXH3_64bits(buf.data(), buf.size());
}

}  // namespace

TarIndex decode_payload(std::string_view payload) {
  Reader r(payload);
  TarIndex index;
  if (r.u8()) {
    StreamIndex s;
    s.codec = r.str();
    s.size = r.u64();
    s.points.resize(r.count(20));
    for (RestartPoint& p : s.points) {
      p.out_offset = r.u64();
      p.in_offset = r.u64();
      p.state = r.bytes();
    }
    if (s.points.empty() || s.points.front().out_offset != 0)
      fail("kept index: the stream's restart points do not start at offset 0");
    for (size_t i = 1; i < s.points.size(); ++i)
      if (s.points[i].out_offset <= s.points[i - 1].out_offset || s.points[i].out_offset > s.size)
        fail("kept index: restart point {} is out of order", i);
    s.sums.resize(r.count(4));
    for (uint32_t& c : s.sums) c = r.u32();
    index.stream = std::move(s);
  }
  index.events.resize(r.count(17));
  for (TarScanEvent& e : index.events) {
    const uint8_t kind = r.u8();
    if (kind > uint8_t(TarScanEvent::Kind::warning)) fail("kept index: unknown event kind {}", kind);
    e.kind = TarScanEvent::Kind(kind);
    e.path = r.str();
    e.text = r.str();
    e.header_offset = r.u64();
    if (e.kind != TarScanEvent::Kind::member) continue;
    e.spec = decode_spec(r);
    const uint8_t flags = r.u8();
    e.stored_whole = flags & 1;
    e.has_dumpdir = flags & 2;
    e.dumpdir = r.str();
  }
  if (!r.done()) fail("kept index: bytes after the last event");
  return index;
}

ArchiveKey archive_key(const ArchiveFile& raw, uint32_t options_flags) {
  ArchiveKey key;
  key.size = raw.size();
  key.mtime = raw.mtime();
  key.flags = options_flags;
  const uint64_t n = std::min(key.size, kKeyBytes);
  key.head_hash = hash_range(raw, 0, n);
  key.tail_hash = hash_range(raw, key.size - n, n);
  return key;
}

std::string index_path(const std::string& dir, const ArchiveFile& raw) {
  const std::string name = raw.describe();
  const uint64_t h = XXH3_64bits(name.data(), name.size());
  std::string base = name.substr(name.find_last_of('/') + 1);
  if (base.empty()) base = "archive";
  if (base.size() > 128) base.resize(128);  // the hash keeps names apart; NAME_MAX is 255
  return fmt::format("{}/{}-{:016x}.vdidx", dir, base, h);
}

std::string encode_index(const ArchiveKey& key, const TarIndex& index) {
  const std::string payload = encode_payload(index);
  IndexHeader h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = kIndexVersion;
  h.key_flags = key.flags;
  h.archive_size = key.size;
  h.mtime_sec = key.mtime.sec;
  h.mtime_nsec = key.mtime.nsec;
  h.head_hash = key.head_hash;
  h.tail_hash = key.tail_hash;
  h.payload_bytes = payload.size();
  h.payload_hash = XXH3_64bits(payload.data(), payload.size());
  return std::string(reinterpret_cast<const char*>(&h), sizeof h) + payload;
}

std::optional<TarIndex> decode_index(std::string_view bytes, const ArchiveKey& key, std::string& why) {
  IndexHeader h;
  if (bytes.size() < sizeof h) {
    why = "shorter than its header";
    return std::nullopt;
  }
  std::memcpy(&h, bytes.data(), sizeof h);
  const std::string_view payload = bytes.substr(sizeof h);
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0 || h.version != kIndexVersion) {
    why = "not an index of this version of vdiskfs";
    return std::nullopt;
  }
  if (h.archive_size != key.size || h.mtime_sec != key.mtime.sec || h.mtime_nsec != key.mtime.nsec ||
      h.head_hash != key.head_hash || h.tail_hash != key.tail_hash) {
    why = "made for another version of the archive (size, mtime or content differ)";
    return std::nullopt;
  }
  if (h.key_flags != key.flags) {
    why = "made with other options (--no-xattrs)";
    return std::nullopt;
  }
  if (h.payload_bytes != payload.size() || h.payload_hash != XXH3_64bits(payload.data(), payload.size())) {
    why = "damaged (its checksum does not match)";
    return std::nullopt;
  }
  try {
    return decode_payload(payload);
  } catch (const std::exception& e) {  // Error, or bad_alloc for counts a crafted file claims
    why = e.what();
    return std::nullopt;
  }
}

std::optional<TarIndex> load_index(const std::string& path, const ArchiveKey& key, std::string& why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = errno == ENOENT ? "" : std::string("cannot be read: ") + strerror(errno);
    return std::nullopt;
  }
  in.seekg(0, std::ios::end);
  std::string bytes(size_t(std::max<std::streamoff>(in.tellg(), 0)), '\0');
  in.seekg(0);
  if (!in.read(bytes.data(), std::streamsize(bytes.size()))) {
    why = "cannot be read whole";
    return std::nullopt;
  }
  return decode_index(bytes, key, why);
}

std::string save_index(const std::string& path, const ArchiveKey& key, const TarIndex& index) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) return "cannot create its folder: " + ec.message();
  const std::string bytes = encode_index(key, index);
  std::string tmp = path + ".XXXXXX";
  const int fd = mkstemp(tmp.data());
  if (fd < 0) return std::string("cannot create a file beside it: ") + strerror(errno);
  const IoResult w = pwrite_full(fd, bytes.data(), bytes.size(), 0);
  // No fsync: an index torn by a crash fails its checksum and is made again.
  const bool written = w.complete();
  const int err = w.complete() ? errno : w.error ? w.error : ENOSPC;
  close(fd);
  if (!written || rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = written ? errno : err;
    unlink(tmp.c_str());
    return std::string("cannot write it: ") + strerror(e);
  }
  return "";
}

}  // namespace vdiskfs
