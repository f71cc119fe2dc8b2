#include "core/source/tar/tar_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_set>

#include "core/image/error.h"
#include "core/image/io.h"
#include "core/image/log.h"
#include "core/source/compressed/decompressed_archive.h"
#include "core/source/tar/tar_reader.h"
#include "core/source/tree_builder.h"

namespace vdiskfs {

TarSource::TarSource(std::unique_ptr<ArchiveFile> file) : file_(std::move(file)), path_(file_->describe()) {}

TarSource::~TarSource() = default;

std::unique_ptr<TarSource> TarSource::open(const std::string& path, const ScanOptions& options,
                                           ScanReport& report) {
  return open(open_local_archive(path, "tar archive"), options, report);
}

std::unique_ptr<TarSource> TarSource::open(std::unique_ptr<ArchiveFile> file, const ScanOptions& options,
                                           ScanReport& report) {
  // Most archives hold entries of a few KiB: room for one per 4 KiB of the
  // file (compressed or not), at most 16 M.
  const uint64_t archive_size = file->size();
  std::unique_ptr<TarSource> src(new TarSource(open_decompressed(std::move(file), options)));
  const std::string& path = src->path_;
  // Directories the archive names only as parents: root-owned, 0755, the
  // archive's own time.
  Node implied;
  implied.mode = S_IFDIR | 0755;
  implied.atime = implied.mtime = implied.ctime = src->file_->mtime();
  TreeBuilder builder(implied);
  builder.reserve(size_t(std::min<uint64_t>(archive_size / 4096, 16u << 20)));
  uint64_t members = 0;
  std::unordered_set<uint64_t> stored_whole;  // data offsets of SUN.holesdata members
  auto skip = [&](const std::string& member, const std::string& why) {
    report.skipped.push_back(member + ": " + why);
    if (options.strict) fail("tar archive {}: member {}: {} (without --strict it is skipped)", path, member, why);
  };
  TarCallbacks callbacks;
  callbacks.skipped = skip;
  // Under --strict a warning fails the mount, as a skipped member does.
  callbacks.warning = [&](const std::string& member, const std::string& what) {
    if (options.strict)
      fail("tar archive {}: member {}: {} (--strict refuses it; without --strict it is a warning)", path, member,
           what);
    log_warning("tar archive {}: member {}: {}", path, member, what);
  };
  callbacks.member = [&](TarMember& m) {
    if (options.progress && (++members & 0xffff) == 0) options.progress(members);
    if (m.has_dumpdir) src->keep_dumpdir(m);
    std::string why;
    if (m.hard_link) {
      why = builder.add_hard_link(m.path, m.link_target);
    } else {
      EntrySpec spec;
      spec.attrs = m.attrs;
      spec.link_target = std::move(m.link_target);
      spec.sparse = m.sparse;
      spec.segments = std::move(m.segments);
      for (auto& [key, value] : m.xattrs) {
        if (options.xattrs) spec.xattrs.emplace_back(std::move(key), std::move(value));
      }
      spec.payload = m.data_offset;
      if (m.stored_whole) stored_whole.insert(m.data_offset);
      why = builder.add(m.path, std::move(spec));
    }
    if (!why.empty()) skip(m.path, why + fmt::format(" (header at offset {})", m.header_offset));
  };
  read_tar(*src->file_, path, callbacks);
  src->tree_ = builder.finish(src->data_offset_);
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

void TarSource::keep_dumpdir(TarMember& m) {
  std::vector<std::string_view> parts;
  if (!normalize_entry_path(m.path, parts).empty()) return;  // the member itself is refused and listed
  std::string path;
  for (std::string_view p : parts) path.append(path.empty() ? "" : "/").append(p);
  dumpdirs_.push_back({std::move(path), std::move(m.dumpdir), m.header_offset});
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
