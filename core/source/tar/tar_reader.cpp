#include "core/source/tar/tar_reader.h"

#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>

#include "core/image/arith.h"
#include "core/image/error.h"
#include "core/image/io.h"
#include "core/image/on_disk.h"
#include "core/source/tar/tar_acl.h"
#include "core/source/tar/tar_fields.h"
#include "core/source/tar/tar_header.h"

namespace vdiskfs {
namespace {

using tar::field_chars;
using tar::kBlock;
using tar::parse_number;

// Thrown when the walk reaches the end of what a damaged archive lets be
// read (ArchiveFile::damage()): the walk stops there, keeping the members
// before.
struct DamagedTail {
  uint64_t offset;  // archive offset the walk needed
};

// Reads the archive through a window so that a run of small members costs
// one pread per window, not one per header.
class WindowReader {
 public:
  WindowReader(const ArchiveFile& file, const std::string& name) : file_(file), name_(name) {}

  // Whether the archive holds at least `end` bytes (a compressed archive
  // decodes that far: see ArchiveFile::has).
  bool has(uint64_t end) const { return file_.has(end); }
  // The archive's size in bytes.
  uint64_t size() const { return file_.size(); }
  // See ArchiveFile::damage.
  std::optional<std::string> damage() const { return file_.damage(); }

  // `len` bytes at `offset`, valid until the next call.
  const uint8_t* at(uint64_t offset, size_t len) {
    if (!file_.has(offset + len)) {
      if (file_.damage()) throw DamagedTail{offset};
      fail("tar archive {} is truncated: {} bytes needed at offset {}, the file ends at {}", name_, len,
           offset, file_.size());
    }
    if (offset < start_ || offset + len > start_ + filled_) {
      buf_.resize(std::max<size_t>(kWindow, len));
      const uint64_t size = file_.has(offset + buf_.size()) ? offset + buf_.size() : file_.size();
      if (size < offset + len) {  // damage found while decoding the window: the end moved back
        if (file_.damage()) throw DamagedTail{offset};
        fail("tar archive {} is truncated: {} bytes needed at offset {}, the file ends at {}", name_, len, offset, size);
      }
      const size_t want = size_t(size - offset);
      const Status s = file_.read(offset, buf_.data(), want);
      if (s == Status::source_changed) fail("tar archive {} shrank or changed while being read (offset {})", name_, offset);
      if (!ok(s)) fail("cannot read tar archive {} at offset {} (see the line above)", name_, offset);
      start_ = offset;
      filled_ = want;
    }
    return buf_.data() + (offset - start_);
  }

 private:
  static constexpr size_t kWindow = 256 * 1024;
  const ArchiveFile& file_;
  const std::string& name_;
  std::vector<uint8_t> buf_;
  uint64_t start_ = 0;
  size_t filled_ = 0;
};

void reject_compressed(const uint8_t* p, uint64_t size, const std::string& name) {
  struct Magic {
    const char* bytes;
    size_t len;
    const char* what;
    const char* tool;
  };
  // gzip, zstd, xz and bzip2 were opened as such before
  // (open_decompressed); seen here, they are compressed twice.
  static const Magic magics[] = {
      {"\x1f\x8b", 2, "gzip", "gunzip -k"},         {"BZh", 3, "bzip2", "bunzip2 -k"},
      {"\xfd" "7zXZ", 5, "xz", "unxz -k"},          {"\x28\xb5\x2f\xfd", 4, "zstd", "zstd -d"},
      {"\x04\x22\x4d\x18", 4, "lz4", "lz4 -d"},      {"\x02\x21\x4c\x18", 4, "lz4", "lz4 -d"},  // lz4 -l: legacy frame
  };
  for (const Magic& m : magics)
    if (size >= m.len && std::memcmp(p, m.bytes, m.len) == 0)
      fail("{} is a {}-compressed archive: vdiskfs reads uncompressed, gzip, zstd, xz and bzip2 tar archives in place; "
           "decompress it first ({} {}), or re-compress it with pigz, pzstd or xz -T0",
           name, m.what, m.tool, name);
}

struct PaxState {
  std::map<std::string, std::string> global, local;
  const std::string* find(const std::string& key) const {
    if (auto it = local.find(key); it != local.end()) return &it->second;
    if (auto it = global.find(key); it != global.end()) return &it->second;
    return nullptr;
  }
};

// What a member's type flag makes of it, and whether data blocks follow
// its header. GNU tar (extract.c, prepare_to_extract; list.c) and
// libarchive (archive_read_support_format_tar.c, header_common) agree:
// '0', NUL and '7' are regular files, but a directory when the name ends in
// '/' (old V7 archives) and then without data whatever the size says;
// symlinks, devices, directories and fifos carry no data; a GNU dumpdir
// 'D' is a directory followed by its listing; unknown types are regular
// files with data ("extracted as normal file"). Hard links: see
// hard_link_has_data.
struct MemberKind {
  uint32_t bits = 0;     // S_IFMT type; 0: not a file (volume label, ...)
  bool data = false;     // data blocks of `size` bytes follow the header
  bool unknown = false;  // an unknown type flag read as a regular file
};

MemberKind member_kind(char type, bool trailing_slash) {
  switch (type) {
    case '0': case '\0': case '7':
      return trailing_slash ? MemberKind{S_IFDIR, false} : MemberKind{S_IFREG, true};
    case 'S': return {S_IFREG, true};
    case '1': return {S_IFREG, false};
    case '2': return {S_IFLNK, false};
    case '3': return {S_IFCHR, false};
    case '4': return {S_IFBLK, false};
    case '5': return {S_IFDIR, false};
    case 'D': return {S_IFDIR, true};
    case '6': return {S_IFIFO, false};
    case 'V': case 'M': return {0, true};
    default: return {S_IFREG, true, true};
  }
}

// The archive's dialect as libarchive tracks it header by header: pax once
// an 'x', 'g' or 'X' header was read, as long as the headers that follow
// carry the POSIX magic.
enum class Dialect { v7, ustar, pax, gnu };

// "1959-12-31 23:59:59.500000000 UTC", for messages.
std::string utc_text(Timestamp t) {
  const time_t sec = time_t(t.sec);
  std::tm tm{};
  if (!gmtime_r(&sec, &tm)) return fmt::format("{} s {} ns", t.sec, t.nsec);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:09} UTC", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, t.nsec);
}

// Old GNU sparse entries, up to the first empty one.
template <size_t N>
void read_gnu_sparse_entries(const tar::GnuSparseEntry (&entries)[N], std::vector<DataSegment>& out, bool& bad) {
  for (const tar::GnuSparseEntry& e : entries) {
    if (e.offset[0] == 0) return;
    const auto off = parse_number(field_chars(e.offset)), len = parse_number(field_chars(e.numbytes));
    if (!off || !len || *off < 0 || *len < 0) {
      bad = true;
      return;
    }
    out.push_back({uint64_t(*off), uint64_t(*len)});
  }
}

class Walker {
 public:
  Walker(const ArchiveFile& file, const std::string& name, const TarCallbacks& cb)
      : in_(file, name), name_(name), cb_(cb) {}

  void run() {
    try {
      walk();
    } catch (const DamagedTail& t) {
      damaged_tail(t.offset);
    }
  }

 private:
  // The members from archive offset `at` on cannot be read: the walk ends
  // with a warning (a refusal under --strict), or a refusal when nothing
  // before could be read.
  void damaged_tail(uint64_t at) {
    const std::string why = in_.damage().value_or("");
    if (!seen_member_) fail("tar archive {}: nothing of it can be read: {}", name_, why);
    cb_.warning("", fmt::format("the members from archive offset {} on are left out: {}", at, why));
  }

  // Whether a member's data (`stored` bytes at `data`, header at `pos`)
  // lies in the archive. Its data running into the damaged part of a
  // damaged archive keeps the member with a warning (its reads from there
  // on give EIO), unless the walk itself must read that data
  // (`walker_reads_it`: a dumpdir), which ends the walk there; in a whole
  // archive it is a refusal (truncated).
  void check_data(uint64_t pos, uint64_t data, uint64_t stored, const std::string& path, bool walker_reads_it) {
    if (data + stored >= data && in_.has(data + stored)) return;
    if (data + stored >= data && in_.damage()) {
      if (walker_reads_it) throw DamagedTail{pos};  // a dumpdir: the member cannot be made
      cb_.warning(path, fmt::format("its data (archive offset {}, {} bytes) runs into the damaged part of the archive, "
                                    "which ends at {}: reads of it from byte {} on give EIO",
                                    data, stored, in_.size(), in_.size() > data ? in_.size() - data : 0));
      return;
    }
    fail("tar archive {} is truncated: the member at offset {} needs {} bytes, the file ends at {}", name_, pos,
         data + stored, in_.size());
  }

  void walk() {
    if (!in_.has(1)) {
      if (in_.damage()) throw DamagedTail{0};
      fail("{} is empty: not a tar archive (a source is a directory or a tar archive)", name_);
    }
    if (!in_.has(kBlock) && in_.damage()) throw DamagedTail{0};
    const size_t head = in_.has(kBlock) ? kBlock : size_t(in_.size());
    reject_compressed(in_.at(0, head), head, name_);
    // An archive without members (tar -cf x.tar -T /dev/null) is only its
    // end marker: zero blocks.
    if (!in_.has(kBlock) || !(tar::checksum_ok(in_.at(0, kBlock)) || tar::is_zero_block(in_.at(0, kBlock))))
      fail("{} is not a tar archive (no valid tar header at offset 0); a source is a directory or a tar archive, plain or gzip, zstd, xz or bzip2 compressed", name_);
    uint64_t pos = 0;
    while (in_.has(pos + kBlock)) {
      const uint8_t* h = in_.at(pos, kBlock);
      if (tar::is_zero_block(h)) return;  // end-of-archive marker
      if (!tar::checksum_ok(h))
        fail("tar archive {} is corrupt: bad header checksum at offset {}", name_, pos);
      pos = member(pos);
    }
    if (in_.damage()) throw DamagedTail{pos};
    if (pos != in_.size())
      fail("tar archive {} is truncated: a partial header at offset {}", name_, pos);
    // A missing end marker is common for archives cut at a member boundary.
  }

  // A field that cannot be negative (sizes, ids, modes, device numbers).
  uint64_t number(std::string_view field, const char* what, uint64_t at) {
    auto v = parse_number(field);
    if (!v || *v < 0) fail("tar archive {} is corrupt: bad {} field in the header at offset {}", name_, what, at);
    return uint64_t(*v);
  }

  // Reads `len` bytes of extension data (long name, pax records) at `off`.
  std::string extension_data(uint64_t off, uint64_t len, uint64_t at) {
    if (len > (64u << 20)) fail("tar archive {}: extension header at offset {} is implausibly large ({} bytes)", name_, at, len);
    return std::string(reinterpret_cast<const char*>(in_.at(off, size_t(len))), size_t(len));
  }

  // Handles the header at `pos`; returns the offset of the next header.
  uint64_t member(uint64_t pos) {
    const tar::Header h = load<tar::Header>(in_.at(pos, kBlock));
    const char type = h.typeflag;
    note_dialect(h, type);
    if (type == 'L' || type == 'K' || type == 'x' || type == 'g' || type == 'X') return extension(h, type, pos);
    TarMember m;
    m.header_offset = first_header_ ? first_header_ - 1 : pos;
    first_header_ = 0;
    const std::string path = member_path(h);
    MemberKind kind = member_kind(type, !path.empty() && path.back() == '/');
    // The size field, unless a pax record overrides it; read only for
    // members whose size matters.
    const uint64_t data = pos + kBlock;
    const bool sized = kind.data || type == '1';
    const uint64_t size = sized ? pax_or_field("size", field_chars(h.size), "size", pos) : 0;
    if (type == '1' && size > 0) kind.data = hard_link_has_data();
    if (type == '1' && kind.data && cb_.warning)
      cb_.warning(path, fmt::format("pax hard link with {} bytes of data at offset {}: the data is skipped and the link "
                                    "names the earlier member's file; bsdtar writes these bytes into the linked file "
                                    "(GNU tar cannot read them)",
                                    size, data));
    const uint64_t stored = kind.data ? size : 0;
    uint64_t next = data + align_up(stored, kBlock);
    if (next < data) fail("tar archive {} is corrupt: the member at offset {} is larger than any file", name_, pos);
    if (type != 'S') check_data(pos, data, stored, path, type == 'D');  // 'S': after its extension blocks
    if (kind.bits == 0) {
      if (type == 'V') cb_.skipped(path, "tape volume label, not a file");
      else fail("tar archive {} is a multi-volume continuation at offset {}: not supported", name_, pos);
      reset_extensions();
      return next;
    }
    if (kind.unknown && cb_.warning)
      cb_.warning(path, fmt::format("unknown tar entry type '{}' at offset {}: read as a regular file, as GNU tar and "
                                    "bsdtar extract it",
                                    type, pos));
    m.path = path;
    if (const std::string why = fill_attrs(h, pos, kind.bits, m); !why.empty()) {
      cb_.skipped(path, why);
      reset_extensions();
      return next;
    }
    m.hard_link = type == '1';
    if (type == '1' || type == '2') {
      const std::string* pax_link = pax_.find("linkpath");
      m.link_target = pax_link ? *pax_link : !long_link_.empty() ? long_link_ : std::string(tar::field_string(field_chars(h.linkname)));
    }
    m.data_offset = data;
    m.stored_size = stored;
    // GNU --listed-incremental: a directory's listing (its dumpdir), as
    // the data of a 'D' member or a pax GNU.dumpdir record.
    if (type == 'D') {
      m.dumpdir = extension_data(data, stored, pos);
      m.has_dumpdir = true;
    } else if (const std::string* dumpdir = pax_.find("GNU.dumpdir"); dumpdir && kind.bits == S_IFDIR) {
      m.dumpdir = *dumpdir;
      m.has_dumpdir = true;
    }
    if (type == 'S') {
      gnu_sparse(h, pos, m);  // extension blocks sit between the header and the data
      next = m.data_offset + align_up(stored, kBlock);
      check_data(pos, m.data_offset, stored, path, false);
    }
    else if (const std::string* major = pax_.find("GNU.sparse.major"); major || pax_.find("GNU.sparse.map") || !sparse00_.empty())
      pax_sparse(major, pos, m);
    else if (const std::string* holes = pax_.find("SUN.holesdata"); holes && kind.bits == S_IFREG && type != '1')
      sun_holes(*holes, pos, m);
    if (kind.bits == S_IFREG && (!m.sparse || m.stored_whole) && !m.hard_link) m.attrs.size = stored;
    if (m.sparse) check_segments(m, pos);
    seen_member_ = true;
    cb_.member(m);
    reset_extensions();
    return next;
  }

  // An extension header (GNU long name or link, pax 'x'/'g', Solaris 'X',
  // which GNU tar and libarchive read as 'x'); returns the next header.
  uint64_t extension(const tar::Header& h, char type, uint64_t pos) {
    const uint64_t data = pos + kBlock;
    const uint64_t stored = number(field_chars(h.size), "size", pos);
    const uint64_t next = data + align_up(stored, kBlock);
    if (next < data) fail("tar archive {} is corrupt: the extension header at offset {} is larger than any file", name_, pos);
    if (!in_.has(data + stored)) {
      if (in_.damage()) throw DamagedTail{pos};  // the member it leads is lost with it
      fail("tar archive {} is truncated: the member at offset {} needs {} bytes, the file ends at {}", name_, pos,
           data + stored, in_.size());
    }
    if (!first_header_) first_header_ = pos + 1;
    if (type == 'L') long_name_ = trim_nul(extension_data(data, stored, pos));
    if (type == 'K') long_link_ = trim_nul(extension_data(data, stored, pos));
    if (type == 'x' || type == 'g' || type == 'X') pax_header(type, data, stored, pos);
    return next;
  }

  void note_dialect(const tar::Header& h, char type) {
    if (type == 'x' || type == 'g' || type == 'X') dialect_ = Dialect::pax;
    else if (tar::has_gnu_magic(h)) dialect_ = Dialect::gnu;
    else if (tar::has_ustar_magic(h)) dialect_ = dialect_ == Dialect::pax ? Dialect::pax : Dialect::ustar;
    else dialect_ = Dialect::v7;
  }

  // Whether a hard link whose size is not 0 has data blocks. POSIX.1-2001
  // lets a pax hard link carry its file's data; ustar, GNU and V7 readers
  // ignore the size. libarchive's rule (header_common, case '1'), followed
  // here: data in a pax archive only (its ustar heuristic bids on the link's
  // own, valid header, so it finds none there either). GNU tar never reads
  // data for a link: it would take such blocks for headers and skip them
  // with an error, so it cannot be followed. The data is skipped: the link
  // names the earlier member's file.
  bool hard_link_has_data() const { return dialect_ == Dialect::pax; }

  void pax_header(char type, uint64_t data, uint64_t len, uint64_t pos) {
    std::vector<std::pair<std::string, std::string>> records;
    if (!tar::parse_pax_records(extension_data(data, len, pos), records))
      fail("tar archive {} is corrupt: malformed pax header at offset {}", name_, pos);
    auto& into = type == 'g' ? pax_.global : pax_.local;
    for (auto& [k, v] : records) {
      if (k == "GNU.sparse.offset" || k == "GNU.sparse.numbytes") {  // format 0.0 repeats these
        auto n = tar::parse_decimal(v);
        if (!n) fail("tar archive {} is corrupt: pax {}={} is not a number (header at offset {})", name_, k, v, pos);
        sparse00_.push_back(*n);
      }
      into[k] = std::move(v);
    }
  }

  static std::string trim_nul(std::string s) {
    const size_t nul = s.find('\0');
    if (nul != std::string::npos) s.resize(nul);
    return s;
  }

  void reset_extensions() {
    pax_.local.clear();
    long_name_.clear();
    long_link_.clear();
    sparse00_.clear();
  }

  std::string member_path(const tar::Header& h) {
    if (const std::string* p = pax_.find("GNU.sparse.name")) return *p;
    if (const std::string* p = pax_.find("path")) return *p;
    if (!long_name_.empty()) return long_name_;
    std::string name(tar::field_string(field_chars(h.name)));
    // POSIX ustar keeps a prefix; GNU ("ustar  ") uses that room for times.
    if (tar::has_posix_magic(h)) {
      const std::string_view prefix = tar::field_string(field_chars(h.ustar.prefix));
      if (!prefix.empty()) name = std::string(prefix) + "/" + name;
    }
    return name;
  }

  // A numeric header field that a pax record (decimal) may override: the
  // field is read, and must be valid, only when no record does (GNU tar and
  // libarchive both extract a member whose overridden field is garbage,
  // bsdtar's base-256 mtime among them).
  uint64_t pax_or_field(const char* key, std::string_view field, const char* what, uint64_t pos) {
    if (auto v = pax_uint(key)) return *v;
    return number(field, what, pos);
  }

  // A number of a pax record or else of the header field that must lie in
  // [0, max] (ids, device numbers): "" with `out` set, or why the member is
  // refused (negative, or too large: cut to fit, uid 2^32 would be root).
  // A value that is not a number fails the mount as corrupt.
  std::string bounded(const char* key, std::string_view field, const char* what, uint64_t pos, int bits,
                      uint64_t& out) {
    bool negative = false;
    std::string shown;
    if (const std::string* v = pax_.find(key)) {
      std::string_view text = *v;
      negative = !text.empty() && text.front() == '-';
      if (negative) text.remove_prefix(1);
      const auto n = tar::parse_decimal(text);
      if (!n) fail("tar archive {} is corrupt: pax {}={} is not a number (header at offset {})", name_, key, *v, pos);
      out = *n;
      negative = negative && *n != 0;
      shown = fmt::format("pax {}={} (header at offset {})", key, *v, pos);
    } else {
      const auto n = parse_number(field);
      if (!n) fail("tar archive {} is corrupt: bad {} field in the header at offset {}", name_, what, pos);
      negative = *n < 0;
      out = uint64_t(*n);
      shown = fmt::format("{} field {} (header at offset {})", what, *n, pos);
    }
    if (negative) return shown + " is negative; the member is left out, as GNU tar refuses it";
    if (bits < 64 && out >> bits)
      return fmt::format("{} does not fit {} bits (cut to fit it would be {}); the member is left out, as GNU tar "
                         "refuses it: repack it with a valid {}",
                         shown, bits, out & ((uint64_t(1) << bits) - 1), what);
    return "";
  }

  // A pax time record, with a warning for the form GNU tar and bsdtar
  // extract 1 s apart (negative with a fraction).
  std::optional<Timestamp> warned_pax_time(const char* key, const TarMember& m, uint64_t pos) {
    auto t = pax_time(key);
    if (t && cb_.warning && tar::pax_time_ambiguous(*pax_.find(key)))
      cb_.warning(m.path, fmt::format("pax {}={} (header at offset {}) is read as POSIX defines it and GNU tar "
                                      "extracts it, {}; bsdtar extracts it 1 s later",
                                      key, *pax_.find(key), pos, utc_text(*t)));
    return t;
  }

  // The member's attributes; "" or why it is refused.
  std::string fill_attrs(const tar::Header& h, uint64_t pos, uint32_t bits, TarMember& m) {
    Node& a = m.attrs;
    a.mode = bits | uint32_t(number(field_chars(h.mode), "mode", pos) & 07777);
    if (bits == S_IFLNK) a.mode = S_IFLNK | 0777;  // Linux has no symlink modes: both tars extract 0777
    uint64_t uid = 0, gid = 0;
    if (std::string why = bounded("uid", field_chars(h.uid), "uid", pos, 32, uid); !why.empty()) return why;
    if (std::string why = bounded("gid", field_chars(h.gid), "gid", pos, 32, gid); !why.empty()) return why;
    a.uid = uint32_t(uid);
    a.gid = uint32_t(gid);
    if (auto t = warned_pax_time("mtime", m, pos)) {
      a.mtime = *t;
    } else {
      const auto seconds = parse_number(field_chars(h.mtime));
      if (!seconds)
        fail("tar archive {} is corrupt: bad mtime field (bytes {}-{}) in the header of {} at offset {} and no "
             "pax mtime record",
             name_, offsetof(tar::Header, mtime), offsetof(tar::Header, mtime) + sizeof h.mtime - 1, m.path, pos);
      a.mtime = {*seconds, 0};
    }
    Timestamp atime = a.mtime, ctime = a.mtime;
    if (tar::has_gnu_magic(h)) {  // GNU keeps atime and ctime with --incremental
      if (auto v = parse_number(field_chars(h.gnu.atime)); v && *v) atime = {*v, 0};
      if (auto v = parse_number(field_chars(h.gnu.ctime)); v && *v) ctime = {*v, 0};
    }
    a.atime = warned_pax_time("atime", m, pos).value_or(atime);
    a.ctime = warned_pax_time("ctime", m, pos).value_or(ctime);
    if (bits == S_IFCHR || bits == S_IFBLK) {
      // The tree holds a dev_t (glibc: 32-bit major and minor); the ext4
      // layer judges what its inodes can hold.
      uint64_t major = 0, minor = 0;
      std::string why = bounded("SCHILY.devmajor", field_chars(h.devmajor), "devmajor", pos, 32, major);
      if (why.empty()) why = bounded("SCHILY.devminor", field_chars(h.devminor), "devminor", pos, 32, minor);
      if (!why.empty()) return why;
      a.aux = makedev(uint32_t(major), uint32_t(minor));
    }
    collect_xattrs(m, pos);
    return "";
  }

  // Extended attributes and ACLs of the pax records, global ones first; a
  // later record of the same name wins, as it would on extraction.
  // SCHILY.xattr.NAME=bytes (GNU tar --xattrs, bsdtar, star);
  // LIBARCHIVE.xattr.NAME=base64 with NAME URL-encoded (bsdtar);
  // SCHILY.acl.access / .default, text ACLs (tar --acls, bsdtar, star).
  void collect_xattrs(TarMember& m, uint64_t pos) {
    std::map<std::string, std::string> found;
    std::string acl_access, acl_default;
    bool has_access = false, has_default = false;
    for (const auto* map : {&pax_.global, &pax_.local}) {
      for (const auto& [k, v] : *map) {
        if (k.rfind("SCHILY.xattr.", 0) == 0) {
          found[tar::schily_xattr_name(std::string_view(k).substr(13))] = v;
        } else if (k.rfind("LIBARCHIVE.xattr.", 0) == 0) {
          auto name = tar::url_decode(std::string_view(k).substr(17));
          auto value = tar::base64_decode(v);
          if (name && value) found[*name] = std::move(*value);
          else if (cb_.warning)
            cb_.warning(m.path, fmt::format("pax record {} (header at offset {}) is not a URL-encoded name with a "
                                            "base64 value: left out",
                                            k, pos));
        } else if (k == "SCHILY.acl.access" || k == "SCHILY.acl.default") {
          const bool is_default = k == "SCHILY.acl.default";
          if (S_ISLNK(m.attrs.mode)) {
            symlink_acl_left_out(m, k, pos);
            continue;
          }
          std::string value;
          uint32_t mode_bits = 0;
          const std::string why = tar::acl_text_to_xattr(v, is_default, value, mode_bits, &ids_);
          if (!why.empty()) {
            if (cb_.warning)
              cb_.warning(m.path, fmt::format("pax record {} (header at offset {}): {}; the ACL is left out, as "
                                              "tar -x leaves it",
                                              k, pos, why));
            continue;
          }
          (is_default ? has_default : has_access) = true;
          // Setting an access ACL sets the mode's permission bits from it.
          if (!is_default) m.attrs.mode = (m.attrs.mode & ~0777u) | mode_bits;
          (is_default ? acl_default : acl_access) = std::move(value);
        }
      }
    }
    // The text ACL records are what tar --acls restores: they replace an
    // xattr record of the same ACL (an empty value: no ACL beyond the mode).
    if (has_access) found.erase("system.posix_acl_access");
    if (has_default) found.erase("system.posix_acl_default");
    if (S_ISLNK(m.attrs.mode))
      for (const char* acl : {"system.posix_acl_access", "system.posix_acl_default"})
        if (found.erase(acl)) symlink_acl_left_out(m, std::string("xattr ") + acl, pos);
    if (!acl_access.empty()) found["system.posix_acl_access"] = std::move(acl_access);
    if (!acl_default.empty()) found["system.posix_acl_default"] = std::move(acl_default);
    for (auto& [k, v] : found) m.xattrs.emplace_back(k, std::move(v));
  }

  // An ACL record on a symlink: Linux keeps no ACLs on symlinks and GNU
  // tar sets none (nor their mode effect); left out with a warning.
  void symlink_acl_left_out(const TarMember& m, const std::string& record, uint64_t pos) {
    if (cb_.warning)
      cb_.warning(m.path, fmt::format("{} record (header at offset {}) on a symlink: left out with its mode effect, "
                                      "as tar -x leaves it (Linux has no ACLs on symlinks)",
                                      record, pos));
  }

  // A pax record parsed with `parse`: nullopt when absent, an error when
  // present but malformed.
  template <typename Parse>
  auto pax_field(const char* key, Parse parse, const char* what) -> decltype(parse(std::string_view())) {
    const std::string* v = pax_.find(key);
    if (!v) return std::nullopt;
    auto value = parse(*v);
    if (!value) fail("tar archive {} is corrupt: pax {}={} is not {}", name_, key, *v, what);
    return value;
  }
  std::optional<uint64_t> pax_uint(const char* key) { return pax_field(key, tar::parse_decimal, "a number"); }
  std::optional<Timestamp> pax_time(const char* key) { return pax_field(key, tar::parse_pax_time, "a time"); }

  void gnu_sparse(const tar::Header& h, uint64_t pos, TarMember& m) {
    bool bad = false;
    read_gnu_sparse_entries(h.gnu.sparse, m.segments, bad);
    m.attrs.size = number(field_chars(h.gnu.realsize), "realsize", pos);
    bool extended = h.gnu.isextended != 0;
    // Extension blocks follow the header; the data follows them.
    while (extended && !bad) {
      const auto e = load<tar::GnuSparseBlock>(in_.at(m.data_offset, kBlock));
      read_gnu_sparse_entries(e.sparse, m.segments, bad);
      extended = e.isextended != 0;
      m.data_offset += kBlock;
    }
    if (bad) fail("tar archive {} is corrupt: bad sparse map of the member at offset {}", name_, pos);
    m.sparse = true;
  }

  void pax_sparse(const std::string* major, uint64_t pos, TarMember& m) {
    m.sparse = true;
    const std::string* realsize = pax_.find("GNU.sparse.realsize");
    if (!realsize) realsize = pax_.find("GNU.sparse.size");
    auto size = realsize ? tar::parse_decimal(*realsize) : std::nullopt;
    if (!size) fail("tar archive {}: sparse member at offset {} has no real size", name_, pos);
    m.attrs.size = *size;
    std::vector<uint64_t> numbers;
    if (major && *major == "1") {
      // Format 1.0: the map is decimal lines at the start of the data,
      // padded to a block.
      uint64_t off = m.data_offset;
      std::string line;
      auto next_number = [&]() -> uint64_t {
        line.clear();
        while (true) {
          if (off >= m.data_offset + m.stored_size)
            fail("tar archive {} is corrupt: sparse map of the member at offset {} runs past its data", name_, pos);
          const char c = char(*in_.at(off++, 1));
          if (c == '\n') break;
          line += c;
        }
        auto v = tar::parse_decimal(line);
        if (!v) fail("tar archive {} is corrupt: bad sparse map entry '{}' at offset {}", name_, line, off);
        return *v;
      };
      const uint64_t count = next_number();
      if (count > (m.stored_size / 2 + 1)) fail("tar archive {} is corrupt: sparse map at offset {} too long", name_, pos);
      for (uint64_t i = 0; i < 2 * count; ++i) numbers.push_back(next_number());
      const uint64_t map_bytes = align_up(off - m.data_offset, kBlock);
      m.data_offset += map_bytes;
      m.stored_size -= std::min(m.stored_size, map_bytes);
    } else if (const std::string* map = pax_.find("GNU.sparse.map")) {  // 0.1
      std::string_view rest = *map;
      while (!rest.empty()) {
        const size_t comma = rest.find(',');
        auto v = tar::parse_decimal(rest.substr(0, comma));
        if (!v) fail("tar archive {} is corrupt: bad GNU.sparse.map at offset {}", name_, pos);
        numbers.push_back(*v);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      }
    } else {
      numbers = sparse00_;  // 0.0: offset/numbytes records in order
    }
    if (numbers.size() % 2) fail("tar archive {} is corrupt: odd sparse map at offset {}", name_, pos);
    for (size_t i = 0; i < numbers.size(); i += 2) m.segments.push_back({numbers[i], numbers[i + 1]});
  }

  // Solaris pax sparse files (libarchive, pax_attribute_SUN_holesdata): the
  // record " N1 N2 N3 ..." lists where holes and data alternate, a hole
  // first ([0, N1) hole, [N1, N2) data, ...), and the data blocks hold the
  // whole file, holes included. bsdtar leaves the holes as holes; GNU tar
  // ignores the record and writes the stored bytes (zeros, from a writer
  // that reads holes as zeros), so both extract the same content.
  void sun_holes(const std::string& value, uint64_t pos, TarMember& m) {
    std::string_view rest = value;
    if (rest.empty() || rest.front() != ' ')
      fail("tar archive {} is corrupt: SUN.holesdata of {} (header at offset {}) does not start with a space", name_,
           m.path, pos);
    rest.remove_prefix(1);
    uint64_t start = 0;
    bool hole = true;
    while (!rest.empty()) {
      const size_t space = rest.find(' ');
      const auto end = tar::parse_decimal(rest.substr(0, space));
      if (!end || *end < start || *end > m.stored_size)
        fail("tar archive {} is corrupt: SUN.holesdata of {} (header at offset {}) is not an ordered list of offsets "
             "inside its {} bytes",
             name_, m.path, pos, m.stored_size);
      if (!hole && *end > start) m.segments.push_back({start, *end - start});
      start = *end;
      hole = !hole;
      rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
    }
    if (!hole && m.stored_size > start) m.segments.push_back({start, m.stored_size - start});
    m.sparse = true;
    m.stored_whole = true;
  }

  // Sparse maps must be ordered, inside the file and match the stored bytes.
  void check_segments(TarMember& m, uint64_t pos) {
    std::vector<DataSegment> kept;
    uint64_t end = 0, stored = 0;
    for (const DataSegment& s : m.segments) {
      if (s.offset < end || s.offset + s.length > m.attrs.size || s.offset + s.length < s.offset)
        fail("tar archive {} is corrupt: sparse map of the member at offset {} is out of order or beyond its size",
             name_, pos);
      end = s.offset + s.length;
      stored += s.length;
      if (s.length) kept.push_back(s);
    }
    if (stored > m.stored_size)
      fail("tar archive {} is corrupt: sparse member at offset {} maps {} bytes but stores {}", name_, pos, stored,
           m.stored_size);
    m.segments = std::move(kept);
  }

  WindowReader in_;
  const std::string& name_;
  const TarCallbacks& cb_;
  PaxState pax_;
  std::string long_name_, long_link_;
  std::vector<uint64_t> sparse00_;
  uint64_t first_header_ = 0;  // 1 + offset of the first extension header of a member
  bool seen_member_ = false;   // a member was reported (a damaged tail then keeps them)
  Dialect dialect_ = Dialect::v7;
  tar::IdCache ids_;  // ACL user and group names resolved during this scan
};

}  // namespace

void read_tar(const ArchiveFile& file, const std::string& name, const TarCallbacks& callbacks) {
  Walker(file, name, callbacks).run();
}

}  // namespace vdiskfs
