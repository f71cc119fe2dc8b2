#include "core/source/tar/tar_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <unordered_set>

#include "core/image/error.h"
#include "core/image/io.h"
#include "core/image/log.h"
#include "core/source/compressed/decompressed_archive.h"
#include "core/source/tar/tar_index.h"
#include "core/source/tar/tar_reader.h"
#include "core/source/tree_builder.h"

namespace vdiskfs {

TarSource::TarSource(std::unique_ptr<ArchiveFile> file) : file_(std::move(file)), path_(file_->describe()) {}

TarSource::~TarSource() = default;

std::unique_ptr<TarSource> TarSource::open(const std::string& path, const ScanOptions& options,
                                           ScanReport& report) {
  return open(open_local_archive(path, "tar archive"), options, report);
}

namespace {

// The scan's events, from the archive (read_tar) or from a kept index,
// applied to the tree under construction: the one place that decides what
// a member, a hard link, a skipped member and a warning do.
class ScanApplier {
 public:
  ScanApplier(TreeBuilder& builder, const ScanOptions& options, ScanReport& report, const std::string& path)
      : builder_(builder), options_(options), report_(report), path_(path) {}

  // Applies `e`; keeps a copy when recording.
  void apply(TarScanEvent&& e) {
    if (recording_) recorded_.push_back(e);
    switch (e.kind) {
      case TarScanEvent::Kind::skipped: skip(e.path, e.text); return;
      case TarScanEvent::Kind::warning: warn(e.path, e.text); return;
      case TarScanEvent::Kind::hard_link: check(e.path, builder_.add_hard_link(e.path, e.text), e.header_offset); return;
      case TarScanEvent::Kind::member: member(std::move(e)); return;
    }
  }

  // Warnings are kept, not logged, until flush_warnings(): a walk of a
  // compressed archive may be done again (see TarSource::open).
  void defer_warnings() { deferring_ = true; }
  void flush_warnings() {
    for (const std::string& about : deferred_) log_warning("tar archive {}: {}", path_, about);
    deferred_.clear();
    deferring_ = false;
  }

  void record(size_t expected) {
    recording_ = true;
    recorded_.reserve(expected);
  }
  std::vector<TarScanEvent>& recorded() { return recorded_; }
  std::unordered_set<uint64_t>& stored_whole() { return stored_whole_; }
  std::vector<TarDumpdir>& dumpdirs() { return dumpdirs_; }

 private:
  void skip(const std::string& member, const std::string& why) {
    report_.skipped.push_back(member + ": " + why);
    if (options_.strict) fail("tar archive {}: member {}: {} (without --strict it is skipped)", path_, member, why);
  }
  // Under --strict a warning fails the mount, as a skipped member does.
  // An empty `member` is a warning about the archive as a whole.
  void warn(const std::string& member, const std::string& what) {
    const std::string about = member.empty() ? what : fmt::format("member {}: {}", member, what);
    if (options_.strict)
      fail("tar archive {}: {} (--strict refuses it; without --strict it is a warning)", path_, about);
    if (deferring_) deferred_.push_back(about);
    else log_warning("tar archive {}: {}", path_, about);
  }
  void check(const std::string& member, const std::string& why, uint64_t header_offset) {
    if (!why.empty()) skip(member, why + fmt::format(" (header at offset {})", header_offset));
  }
  void member(TarScanEvent&& e) {
    if (options_.progress && (++members_ & 0xffff) == 0) options_.progress(members_);
    if (e.has_dumpdir) keep_dumpdir(e);
    if (e.stored_whole) stored_whole_.insert(e.spec.payload);
    check(e.path, builder_.add(e.path, std::move(e.spec)), e.header_offset);
  }
  void keep_dumpdir(TarScanEvent& e) {
    std::string why;
    std::optional<std::string> path = normalized_entry_path(e.path, why);
    if (!path) return;  // the member itself is refused and listed
    dumpdirs_.push_back({std::move(*path), std::move(e.dumpdir), e.header_offset});
  }

  TreeBuilder& builder_;
  const ScanOptions& options_;
  ScanReport& report_;
  const std::string& path_;
  uint64_t members_ = 0;
  bool deferring_ = false;
  std::vector<std::string> deferred_;
  bool recording_ = false;
  std::vector<TarScanEvent> recorded_;
  std::unordered_set<uint64_t> stored_whole_;  // data offsets of SUN.holesdata members
  std::vector<TarDumpdir> dumpdirs_;
};

// The event of a member read from the archive.
TarScanEvent member_event(TarMember& m, bool xattrs) {
  TarScanEvent e;
  e.path = std::move(m.path);
  e.header_offset = m.header_offset;
  if (m.hard_link) {
    e.kind = TarScanEvent::Kind::hard_link;
    e.text = std::move(m.link_target);
    return e;
  }
  e.spec.attrs = m.attrs;
  e.spec.link_target = std::move(m.link_target);
  e.spec.sparse = m.sparse;
  e.spec.segments = std::move(m.segments);
  if (xattrs) e.spec.xattrs = std::move(m.xattrs);
  e.spec.payload = m.data_offset;
  e.stored_whole = m.stored_whole;
  e.has_dumpdir = m.has_dumpdir;
  e.dumpdir = std::move(m.dumpdir);
  return e;
}

// Whether the first pass over compressed `file`, run to its end, found
// damage (false when it fails otherwise).
bool damaged_to_the_end(const ArchiveFile& file) {
  try {
    (void)file.size();
  } catch (const Error&) {
    return false;
  }
  return file.damage().has_value();
}

// The kept index of `file` in options.index_dir, if there is a usable one
// (a log line says why one there is not used).
std::optional<TarIndex> kept_index(const ArchiveFile& file, const ArchiveKey& key, const std::string& index_file) {
  std::string why;
  std::optional<TarIndex> kept = load_index(index_file, key, why);
  if (!kept && !why.empty())
    log_info("the kept index {} of {} is not used: {}; the archive is scanned again", index_file, file.describe(), why);
  return kept;
}

// Saves the scan's events (and the stream's first pass) as the archive's
// kept index; a warning when it cannot (the next mount scans again). A
// compressed archive that was copied (--cache-dir) keeps none.
void save_kept_index(const ArchiveFile& archive, bool compressed, const ArchiveKey& key, const std::string& index_file,
                     std::vector<TarScanEvent>&& events) {
  TarIndex index;
  index.stream = stream_index_of(archive);
  if (compressed && !index.stream) return;  // decompressed into a --cache-dir copy
  index.events = std::move(events);
  if (const std::string why = save_index(index_file, key, index); !why.empty())
    log_warning("cannot keep the index of {} in {}: {} (the next mount scans it again)", archive.describe(),
                index_file, why);
}

}  // namespace

std::unique_ptr<TarSource> TarSource::open(std::unique_ptr<ArchiveFile> file, const ScanOptions& options,
                                           ScanReport& report) {
  const uint64_t archive_size = file->size();
  std::optional<ArchiveKey> key;
  std::string index_file;
  std::optional<TarIndex> kept;
  if (!options.index_dir.empty()) {
    key = archive_key(*file, options.xattrs ? ArchiveKey::kKeyXattrs : 0);
    index_file = index_path(options.index_dir, *file);
    kept = kept_index(*file, *key, index_file);
  }
  const ArchiveFile* raw = file.get();
  std::unique_ptr<ArchiveFile> archive;
  if (kept && kept->stream && !(archive = open_decompressed_kept(file, *kept->stream, options))) kept.reset();
  if (!archive) archive = open_decompressed(std::move(file), options);
  const bool compressed = archive.get() != raw;
  if (compressed != (kept && kept->stream.has_value())) kept.reset();  // made for the other kind: scan again
  std::unique_ptr<TarSource> src(new TarSource(std::move(archive)));
  const std::string& path = src->path_;
  // Directories the archive names only as parents: root-owned, 0755, the
  // archive's own time.
  Node implied;
  implied.mode = S_IFDIR | 0755;
  implied.atime = implied.mtime = implied.ctime = src->file_->mtime();
  // Room for the entries: the index's count, else one per 4 KiB of the
  // archive (one per 256 bytes of a compressed one: about 16:1), at most
  // 1 M (beyond, the vectors grow).
  const size_t entries = kept ? kept->events.size() + 1
                              : size_t(std::min<uint64_t>(archive_size / (compressed ? 256 : 4096), 1u << 20));
  std::optional<TreeBuilder> builder;
  std::optional<ScanApplier> applier;
  auto begin = [&] {
    applier.reset();
    builder.emplace(implied);
    builder->reserve(entries);
    applier.emplace(*builder, options, report, path);
  };
  begin();
  if (kept) {
    for (TarScanEvent& e : kept->events) applier->apply(std::move(e));
    log_info("{}: the tree and {} from the kept index {}", path,
             compressed ? "the stream's restart points" : "the members' offsets", index_file);
  } else {
    auto walk = [&] {
      if (key) applier->record(entries);
      TarCallbacks callbacks;
      callbacks.skipped = [&](const std::string& member, const std::string& why) {
        applier->apply(TarScanEvent{TarScanEvent::Kind::skipped, member, why, {}, false, false, {}, 0});
      };
      callbacks.warning = [&](const std::string& member, const std::string& what) {
        applier->apply(TarScanEvent{TarScanEvent::Kind::warning, member, what, {}, false, false, {}, 0});
      };
      callbacks.member = [&](TarMember& m) { applier->apply(member_event(m, options.xattrs)); };
      read_tar(*src->file_, path, callbacks);
    };
    if (compressed) applier->defer_warnings();
    const size_t skipped_before = report.skipped.size();
    try {
      walk();
    } catch (const Error&) {
      // Garbage the decoder had not yet found to be damage (a gzip CRC-32
      // is checked at the member's end) can fail the walk: the damage,
      // if that is what it was, decides.
      if (!compressed || !damaged_to_the_end(*src->file_)) throw;
    }
    // The first pass to the stream's end (what follows the tar's end
    // marker): its decoding thread has then ended, before the mount's
    // daemon forks.
    if (compressed) (void)src->file_->size();
    if (compressed && src->file_->damage()) {
      // The first pass found damage behind what the walk had read: the
      // walk is done again, and ends where the doubt begins.
      log_info("{}: scanned again up to the damage", path);
      report.skipped.resize(skipped_before);
      begin();
      walk();
    } else if (compressed) {
      applier->flush_warnings();
    }
    if (key) save_kept_index(*src->file_, compressed, *key, index_file, std::move(applier->recorded()));
  }
  src->dumpdirs_ = std::move(applier->dumpdirs());
  const std::unordered_set<uint64_t>& stored_whole = applier->stored_whole();
  src->tree_ = builder->finish(src->data_offset_);
  // Each sparse segment's place in the archive: the stored data is the
  // segments one after another, or the whole file (SUN.holesdata).
  Tree& tree = src->tree_;
  src->segment_offset_.resize(tree.segments.size());
  for (size_t node = 0; node < tree.nodes.size(); ++node) {
    const Node& n = tree.nodes[node];
    if (!n.is_regular() || !(n.flags & Node::kSparse)) continue;
    uint64_t at = src->data_offset_[node];
    const bool whole = stored_whole.count(at) != 0;
    const uint32_t first = uint32_t(n.aux), count = uint32_t(n.aux >> 32);
    for (uint32_t i = first; i < first + count; ++i) {
      src->segment_offset_[i] = whole ? src->data_offset_[node] + tree.segments[i].offset : at;
      at += tree.segments[i].length;
    }
  }
  return src;
}

void TarSource::data_order(std::vector<uint32_t>& files) const {
  files.clear();
  for (uint32_t n = 0; n < tree_.nodes.size(); ++n)
    if (tree_.nodes[n].is_regular()) files.push_back(n);
  std::stable_sort(files.begin(), files.end(),
                   [this](uint32_t a, uint32_t b) { return data_offset_[a] < data_offset_[b]; });
}

Status TarSource::read_file(uint32_t node, uint64_t offset, uint8_t* buf, size_t len) const {
  const Status s = read_member(node, offset, buf, len);
  // Checked after the read: an archive rewritten before or during it
  // never passes its bytes off as the scanned file's.
  if (s == Status::ok && !file_->unchanged()) return Status::source_changed;
  return s;
}

Status TarSource::read_member(uint32_t node, uint64_t offset, uint8_t* buf, size_t len) const {
  const Node& n = tree_.nodes[node];
  if (!(n.flags & Node::kSparse)) return file_->read(data_offset_[node] + offset, buf, len);
  // Sparse: holes read as zeros, data from the segment's stored bytes.
  std::memset(buf, 0, len);
  const uint32_t first = uint32_t(n.aux), count = uint32_t(n.aux >> 32);
  const DataSegment* segs = tree_.segments.data() + first;
  const DataSegment* it = std::upper_bound(segs, segs + count, offset,
                                           [](uint64_t off, const DataSegment& s) { return off < s.offset; });
  if (it != segs) --it;
  const uint64_t end = offset + len;
  for (; it != segs + count && it->offset < end; ++it) {
    const uint64_t from = std::max(offset, it->offset), to = std::min(end, it->offset + it->length);
    if (from >= to) continue;
    const Status s = file_->read(segment_offset_[first + (it - segs)] + (from - it->offset), buf + (from - offset),
                                 size_t(to - from));
    if (s != Status::ok) return s;
  }
  return Status::ok;
}

}  // namespace vdiskfs
