#include "core/source/compressed/decompressed_archive.h"

#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <list>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/image/error.h"
#include "core/image/log.h"
#include "core/source/compressed/stream_codec.h"

namespace vdiskfs {
namespace {

constexpr uint64_t kPage = 256 * 1024;           // unit of the cache and of the checksum table, bytes of output
constexpr uint64_t kRestartSpacing = 4ull << 20;  // restart points at least this far apart, bytes of output
constexpr size_t kCachePages = 256;               // pages kept in memory (64 MiB)
// Pages kept while the first pass runs: the tar scan reads forward, so a
// few suffice, and their buffers go round through the pool instead of
// 64 MiB of fresh memory being touched (a fifth of a fast zstd pass).
constexpr size_t kScanCachePages = 16;

// An allocator whose resize() leaves new bytes uninitialized: a page is
// always written by the decoder before it is read, and zero-filling 256 KiB
// first cost as much as a fast decoder's work.
template <class T>
struct UninitializedAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = UninitializedAllocator<U>;
  };
  UninitializedAllocator() = default;
  template <class U>
  UninitializedAllocator(const UninitializedAllocator<U>&) {}
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
using Page = std::vector<uint8_t, UninitializedAllocator<uint8_t>>;

// The checksum of a page of output kept by the first pass: the low 32 bits
// of its XXH3-64 (a tenth of CRC-32's time; it finds a changed archive,
// not an adversary).
uint32_t page_sum(const uint8_t* data, size_t len) { return uint32_t(XXH3_64bits(data, len)); }

std::string mib(uint64_t bytes) { return fmt::format("{:.1f} MiB", double(bytes) / (1 << 20)); }

// Page buffers, reused: a page dropped from the cache (or taken from the
// first pass) returns its buffer here, so that decoding a page neither maps
// fresh memory nor zero-fills it (a buffer keeps its size). Thread-safe;
// pages hold the pool alive.
class PagePool : public std::enable_shared_from_this<PagePool> {
 public:
  // A page of `size` bytes (at most kPage) of unspecified content.
  std::shared_ptr<Page> get(size_t size) {
    Page* p = nullptr;
    {
      std::lock_guard lock(mu_);
      if (!free_.empty()) {
        p = free_.back().release();
        free_.pop_back();
      }
    }
    if (!p) p = new Page(kPage);
    p->resize(size);
    return std::shared_ptr<Page>(p, [pool = shared_from_this()](Page* q) { pool->put(q); });
  }

 private:
  static constexpr size_t kKept = 32;  // free buffers kept (8 MiB)
  void put(Page* p) {
    std::unique_ptr<Page> owned(p);
    std::lock_guard lock(mu_);
    if (free_.size() < kKept) free_.push_back(std::move(owned));
  }
  std::mutex mu_;
  std::vector<std::unique_ptr<Page>> free_;
};

// One page of the first pass, as its decoding thread made it.
struct ScanPage {
  std::shared_ptr<Page> page;         // kPage bytes of output; fewer at the end or before an error
  std::vector<RestartPoint> points;   // restart points passed while decoding it
  uint64_t in_offset = 0;             // compressed offset reached
  bool end = false;                   // the stream ends after it (or at the error)
  double seconds = 0;                 // at the end: how long the thread took to decode the stream
  std::string unchecked;              // at the end: StreamDecoder::unchecked()
  std::optional<CorruptStream> error;  // the input was corrupt or cut after `page`
  std::exception_ptr failure;         // anything else the decoder threw
};

// The first pass's decoder, run on a thread of its own a few pages ahead
// of the scan that reads the archive, so that decoding and the tar scan
// share the machine's cores. It records restart points at least
// kRestartSpacing apart; the scan takes the pages
// in order (next()). The thread ends at the stream's end or error, or
// when the FirstPass is destroyed.
class FirstPass {
 public:
  FirstPass(std::unique_ptr<StreamDecoder> decoder, std::shared_ptr<PagePool> pool)
      : decoder_(std::move(decoder)), pool_(std::move(pool)) {}
  ~FirstPass() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  // The next page, waiting for it (the thread starts at the first call).
  ScanPage next() {
    std::unique_lock lock(mu_);
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    cv_.wait(lock, [&] { return !ahead_.empty() || broken_; });
    if (ahead_.empty()) {  // the thread could not hand a page over
      ScanPage p;
      p.failure = broken_;
      p.end = true;
      return p;
    }
    ScanPage p = std::move(ahead_.front());
    ahead_.pop_front();
    cv_.notify_all();
    return p;
  }

 private:
  static constexpr size_t kAhead = 16;  // pages decoded ahead of the scan (4 MiB)

  void run() {
    try {
      const auto start = std::chrono::steady_clock::now();
      uint64_t last_point = 0;
      for (bool end = false; !end;) {
        ScanPage sp = decode_page(last_point);
        end = sp.end;
        if (end) sp.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stop_ || ahead_.size() < kAhead; });
        if (stop_) return;
        ahead_.push_back(std::move(sp));
        cv_.notify_all();
      }
    } catch (...) {  // out of memory handing a page over
      std::lock_guard lock(mu_);
      broken_ = std::current_exception();
      cv_.notify_all();
    }
  }

  ScanPage decode_page(uint64_t& last_point) {
    ScanPage sp;
    size_t fill = 0;
    try {
      sp.page = pool_->get(kPage);
      while (fill < kPage) {
        const size_t n = decoder_->read(sp.page->data() + fill, kPage - fill);
        if (n == 0) {
          sp.end = true;
          break;
        }
        fill += n;
        if (decoder_->out_offset() - last_point < kRestartSpacing) continue;
        if (auto r = decoder_->restart_point()) {
          last_point = r->out_offset;
          sp.points.push_back(std::move(*r));
        }
      }
    } catch (const CorruptStream& e) {
      sp.error = e;
      sp.end = true;
    } catch (...) {
      sp.failure = std::current_exception();
      sp.end = true;
    }
    if (sp.page) sp.page->resize(fill);
    sp.in_offset = decoder_->in_offset();
    if (sp.end) sp.unchecked = decoder_->unchecked();
    return sp;
  }

  std::unique_ptr<StreamDecoder> decoder_;
  std::shared_ptr<PagePool> pool_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<ScanPage> ahead_;
  bool stop_ = false;
  std::exception_ptr broken_;  // run() failed outside a page
  std::thread thread_;
};

class DecompressedArchive : public ArchiveFile {
 public:
  DecompressedArchive(std::unique_ptr<ArchiveFile> in, std::unique_ptr<StreamCodec> codec, const ScanOptions& options)
      : in_(std::move(in)),
        codec_(std::move(codec)),
        limit_(options.restart_limit),
        copy_dir_(options.remote.cache_dir),
        progress_(options.read_progress) {
    points_.push_back(RestartPoint{});
    scan_ = std::make_unique<FirstPass>(codec_->decoder(*in_, points_.front()), pool_);
  }
  // Without a first pass: its results are given.
  DecompressedArchive(std::unique_ptr<ArchiveFile> in, std::unique_ptr<StreamCodec> codec, const ScanOptions& options,
                      const StreamIndex& kept)
      : in_(std::move(in)),
        codec_(std::move(codec)),
        limit_(options.restart_limit),
        progress_(options.read_progress) {
    points_ = kept.points;
    sums_ = kept.sums;
    end_ = kept.size;
    scanned_pages_ = sums_.size();
  }

  // The first pass's results, once it reached the end without a copy.
  std::optional<StreamIndex> kept() const {
    std::lock_guard lock(mu_);
    if (scan_ || copy_fd_ >= 0 || !damage_.empty()) return std::nullopt;
    return StreamIndex{codec_->name(), end_, points_, sums_};
  }
  ~DecompressedArchive() override {
    if (copy_fd_ >= 0) close(copy_fd_);
  }

  std::string describe() const override { return in_->describe(); }
  Timestamp mtime() const override { return in_->mtime(); }
  bool unchanged() const override { return in_->unchanged(); }

  std::optional<std::string> damage() const override {
    std::lock_guard lock(mu_);
    if (damage_.empty()) return std::nullopt;
    return damage_;
  }

  uint64_t size() const override {
    std::lock_guard lock(mu_);
    check_failed();
    while (scan_) advance_scan();
    return end_;
  }

  bool has(uint64_t end) const override {
    std::lock_guard lock(mu_);
    check_failed();
    while (scan_ && scanned_pages_ * kPage < end) advance_scan();
    return scan_ ? true : end <= end_;
  }

  Status read(uint64_t offset, uint8_t* buf, size_t len) const override {
    std::lock_guard lock(mu_);
    if (!failed_.empty() || into_damage(offset, len)) return Status::io_error;
    while (len) {
      const uint64_t p = offset / kPage;
      std::shared_ptr<const Page> page = get_page(p);
      if (into_damage(offset, len)) return Status::io_error;  // found while decoding that page
      if (!page) return scan_ || offset < end_ ? Status::io_error : Status::source_changed;
      const size_t at = size_t(offset - p * kPage);
      if (at >= page->size()) return Status::source_changed;  // beyond the end
      const size_t n = std::min(len, page->size() - at);
      std::memcpy(buf, page->data() + at, n);
      buf += n;
      offset += n;
      len -= n;
    }
    return Status::ok;
  }

  std::vector<std::pair<std::string, uint64_t>> stats() const override {
    auto rows = in_->stats();
    std::lock_guard lock(mu_);
    rows.emplace_back("decompressed_pages", decoded_pages_);
    rows.emplace_back("decompressed_page_hits", page_hits_);
    rows.emplace_back("decoder_restarts", restarts_);
    rows.emplace_back("restart_points", points_.size());
    return rows;
  }

 private:
  // The page `p` (kPage bytes of output, the last one shorter), or nullptr
  // past the end or after a decoding error (logged). While the first pass
  // runs, a decoding error throws Error instead: the scan reports it.
  std::shared_ptr<const Page> get_page(uint64_t p) const {
    if (auto hit = cached(p)) {
      ++page_hits_;
      return hit;
    }
    while (scan_ && p >= scanned_pages_) advance_scan();
    if (p * kPage >= end_ && !scan_) return nullptr;
    if (auto hit = cached(p)) return hit;
    if (copy_fd_ >= 0 && p * kPage < copied_) return from_copy(p);
    try {
      return decode_page(p);
    } catch (const CorruptStream& e) {
      hot_.reset();
      if (scan_) throw Error(e.what());
      log_error("{} (a read at uncompressed offset {} gets EIO)", e.what(), p * kPage);
      return nullptr;
    }
  }

  std::shared_ptr<const Page> cached(uint64_t p) const {
    auto it = cache_.find(p);
    if (it == cache_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second.second);
    return it->second.first;
  }

  void insert(uint64_t p, std::shared_ptr<const Page> page) const {
    if (cache_.count(p)) return;
    lru_.push_front(p);
    cache_.emplace(p, std::make_pair(std::move(page), lru_.begin()));
    while (cache_.size() > (scan_ ? kScanCachePages : kCachePages)) {
      const uint64_t victim = lru_.back();
      lru_.pop_back();
      cache_.erase(victim);
    }
  }

  // The first pass: takes the next page from its thread, records its checksum
  // and the restart points passed, caches it (and copies it to the copy
  // file, if any). An Error (an input that cannot be read, restart points
  // too far apart, a copy that cannot be written) ends the first pass for
  // good: later calls throw it again (failed_).
  void advance_scan() const {
    ScanPage sp = scan_->next();
    try {
      take(sp);
    } catch (const std::exception& e) {
      scan_.reset();
      failed_ = e.what();
      throw;
    }
  }

  void take(ScanPage& sp) const {
    if (sp.failure) std::rethrow_exception(sp.failure);
    if (sp.error && sp.error->input_failed) throw Error(sp.error->what());
    const uint64_t p = scanned_pages_;
    const size_t fill = sp.page->size();
    for (RestartPoint& r : sp.points) points_.push_back(std::move(r));
    if (p * kPage + fill - points_.back().out_offset > limit_ && copy_fd_ < 0) too_far_apart(p * kPage);
    if (progress_) progress_(sp.in_offset, in_->size());
    if (sp.error) {
      damaged(*sp.error, p, sp.page);
      return warn_unchecked(sp);
    }
    if (fill) {
      sums_.push_back(page_sum(sp.page->data(), fill));  
      if (copy_fd_ >= 0) write_copy(p * kPage, *sp.page);
      ++decoded_pages_;
      insert(p, std::move(sp.page));
      ++scanned_pages_;
    }
    if (fill == kPage) return;
    end_ = p * kPage + fill;  // the end of the stream
    scan_.reset();
    if (progress_) progress_(in_->size(), in_->size());  // done: the progress line goes
    log_info("{}: {} stream of {} bytes, {} restart points, first pass {:.2f} s", in_->describe(), codec_->name(), end_,
             points_.size(), sp.seconds);
    warn_unchecked(sp);
  }

  // The warning that part of the stream is covered by no check, if the
  // first pass's decoder said so at the end.
  void warn_unchecked(const ScanPage& sp) const {
    if (!sp.unchecked.empty()) log_warning("{}: {}", in_->describe(), sp.unchecked);
  }

  // Whether `len` bytes at `offset` reach the damaged part of the stream
  // (logged: the archive, the offset, where the damage begins).
  bool into_damage(uint64_t offset, size_t len) const {
    if (damage_.empty() || offset + len <= end_) return false;
    log_error("{}: a read of {} bytes at uncompressed offset {} reaches the damaged part of its {} stream (from "
              "uncompressed offset {} on): EIO",
              in_->describe(), len, offset, codec_->name(), end_);
    return true;
  }

  // Throws the Error that ended the first pass, if one did.
  void check_failed() const {
    if (!failed_.empty()) throw Error(failed_);
  }

  // The first pass met corrupt or truncated input while decoding page `p`
  // (`partial`: what it decoded of it before): the stream ends, for every
  // reader, where the doubt begins (see Suspect); reads from there on give
  // EIO (read()). The checksum table keeps the pages before, and the valid
  // part of the page the end falls in when it is at hand.
  void damaged(const CorruptStream& e, uint64_t p, const std::shared_ptr<Page>& partial) const {
    uint64_t from = p * kPage + partial->size();
    if (e.suspect == Suspect::since_restart_point) from = std::min(from, points_.back().out_offset);
    if (e.suspect == Suspect::since_unit) from = std::min(from, e.unit_out);
    end_ = from;
    scan_.reset();
    hot_.reset();
    sums_.resize(std::min<uint64_t>(sums_.size(), from / kPage));  // whole good pages
    if (const uint64_t q = from / kPage; from % kPage && sums_.size() == q) {
      std::shared_ptr<const Page> page = q == p ? partial : cached(q);
      if (page && page->size() >= from % kPage) {
        sums_.push_back(page_sum(page->data(), size_t(from % kPage)));
        if (q == p) insert(q, std::make_shared<const Page>(page->begin(), page->begin() + ptrdiff_t(from % kPage)));
      }
    }
    scanned_pages_ = sums_.size();
    damage_ = fmt::format("{}; what lies from uncompressed offset {} on cannot be read (EIO)", e.what(), from);
    log_error("{}", damage_);
    if (progress_) progress_(in_->size(), in_->size());
  }

  // Restart points lie further apart than the limit: an Error saying how to
  // re-compress, or with a copy folder, the stream from here on is copied
  // (and what came before is decoded again into the copy once).
  void too_far_apart(uint64_t page_start) const {
    const std::string path = in_->describe();
    if (copy_dir_.empty())
      fail("{} is {}-compressed with more than {} of output between restart points (from uncompressed offset {} on): "
           "reading a file in it would decompress up to that much each time. Re-compress it with restart points: {}; "
           "or mount it with --cache-dir DIR to decompress it once into a copy in DIR (or raise --restart-limit)",
           path, codec_->name(), mib(limit_), points_.back().out_offset, codec_->recompress_hint(path));
    char name[] = "/vdiskfs-decompressed-XXXXXX";
    std::string templ = copy_dir_ + name;
    copy_fd_ = mkstemp(templ.data());
    if (copy_fd_ < 0) fail("cannot create a file in --cache-dir {} for the copy of {}: {}", copy_dir_, path, strerror(errno));
    unlink(templ.c_str());
    log_warning("{}: its {} restart points lie more than {} apart; decompressing it once into a copy in {} "
                "(an unlinked file, as large as the uncompressed archive)",
                path, codec_->name(), mib(limit_), copy_dir_);
    // The pages before the one being decoded, decoded again into the copy.
    auto dec = codec_->decoder(*in_, points_.front());
    Page buf(kPage);
    for (uint64_t at = 0; at < page_start;) {
      const size_t n = dec->read(buf.data(), size_t(std::min<uint64_t>(kPage, page_start - at)));
      if (n == 0) throw dec_short(page_start);
      buf.resize(n);
      write_copy(at, buf);
      buf.resize(kPage);
      at += n;
    }
  }

  CorruptStream dec_short(uint64_t at) const {
    return CorruptStream(fmt::format("{} stream of {} ended before uncompressed offset {} on a second decoding",
                                     codec_->name(), in_->describe(), at),
                         0);
  }

  void write_copy(uint64_t at, const Page& page) const {
    const ssize_t n = pwrite(copy_fd_, page.data(), page.size(), off_t(at));
    if (n != ssize_t(page.size()))
      fail("cannot write the copy of {} in --cache-dir {}: {}", in_->describe(), copy_dir_,
           n < 0 ? strerror(errno) : "short write (disk full?)");
    copied_ = std::max<uint64_t>(copied_, at + page.size());
  }

  std::shared_ptr<const Page> from_copy(uint64_t p) const {
    auto page = pool_->get(size_t(std::min<uint64_t>(kPage, copied_ - p * kPage)));
    const ssize_t n = pread(copy_fd_, page->data(), page->size(), off_t(p * kPage));
    if (n != ssize_t(page->size())) {
      log_error("cannot read the copy of {} in {} at offset {}: {}", in_->describe(), copy_dir_, p * kPage,
                n < 0 ? strerror(errno) : "short read");
      return nullptr;
    }
    insert(p, page);
    return page;
  }

  // A page behind the first pass, decoded again: with the hot decoder if it
  // stands at or before it with no closer restart point, else from the
  // nearest restart point. Full pages passed on the way are cached too.
  std::shared_ptr<const Page> decode_page(uint64_t p) const {
    const uint64_t target = p * kPage;
    auto r = std::upper_bound(points_.begin(), points_.end(), target,
                              [](uint64_t t, const RestartPoint& x) { return t < x.out_offset; });
    const RestartPoint& from = *(r - 1);
    if (!hot_ || hot_->out_offset() > target || hot_->out_offset() < from.out_offset) {
      hot_ = codec_->decoder(*in_, from);
      ++restarts_;
    }
    Page skip;
    for (;;) {
      const uint64_t at = hot_->out_offset();
      if (at % kPage) {  // to the next page boundary
        skip.resize(size_t(kPage - at % kPage));
        fill(skip, at);
        continue;
      }
      const uint64_t q = at / kPage;
      auto page = pool_->get(size_t(std::min<uint64_t>(kPage, expected_end() - at)));
      fill(*page, at);
      if (q < sums_.size() && page_sum(page->data(), page->size()) != sums_[q])
        throw CorruptStream(fmt::format("{} stream of {}: the output at uncompressed offset {} differs from what the "
                                        "first pass decoded (checksum mismatch; the archive changed?)",
                                        codec_->name(), in_->describe(), at),
                            0);
      ++decoded_pages_;
      insert(q, page);
      if (q == p) return page;
    }
  }

  uint64_t expected_end() const { return scan_ ? scanned_pages_ * kPage : end_; }

  // Fills `buf` with the hot decoder's next bytes (at output offset `at`).
  void fill(Page& buf, uint64_t at) const {
    for (size_t got = 0; got < buf.size();) {
      const size_t n = hot_->read(buf.data() + got, buf.size() - got);
      if (n == 0) throw dec_short(at + buf.size());
      got += n;
    }
  }

  std::unique_ptr<ArchiveFile> in_;
  std::unique_ptr<StreamCodec> codec_;
  uint64_t limit_;
  std::string copy_dir_;
  std::shared_ptr<PagePool> pool_ = std::make_shared<PagePool>();
  std::function<void(uint64_t, uint64_t)> progress_;  // ScanOptions::read_progress
  mutable std::mutex mu_;
  mutable std::unique_ptr<FirstPass> scan_;      // the first pass; null once it reached the end
  mutable uint64_t scanned_pages_ = 0;
  mutable uint64_t end_ = 0;                      // the uncompressed size, once known
  mutable std::vector<RestartPoint> points_;      // by out_offset
  mutable std::vector<uint32_t> sums_;            // page_sum() of each page the first pass decoded
  mutable std::string damage_;                    // why the stream ends at end_, if the first pass met damage
  mutable std::string failed_;                    // the Error that ended the first pass, if one did
  mutable std::unique_ptr<StreamDecoder> hot_;    // the last reader's decoder
  mutable std::unordered_map<uint64_t, std::pair<std::shared_ptr<const Page>, std::list<uint64_t>::iterator>> cache_;
  mutable std::list<uint64_t> lru_;  // most recent first
  mutable int copy_fd_ = -1;
  mutable uint64_t copied_ = 0;  // bytes of output in the copy
  mutable uint64_t decoded_pages_ = 0, page_hits_ = 0, restarts_ = 0;
};

}  // namespace

namespace {

// The codec of the file's magic, or nullptr for an uncompressed file.
std::unique_ptr<StreamCodec> codec_of(const ArchiveFile& file) {
  uint8_t head[16] = {};
  const size_t n = size_t(std::min<uint64_t>(sizeof head, file.size()));
  if (n && !ok(file.read(0, head, n))) fail("cannot read the start of {} (see the line above)", file.describe());
  return detect_codec(head, n);
}

}  // namespace

std::unique_ptr<ArchiveFile> open_decompressed(std::unique_ptr<ArchiveFile> file, const ScanOptions& options) {
  std::unique_ptr<StreamCodec> codec = codec_of(*file);
  if (!codec) return file;
  return std::make_unique<DecompressedArchive>(std::move(file), std::move(codec), options);
}

std::unique_ptr<ArchiveFile> open_decompressed_kept(std::unique_ptr<ArchiveFile>& file, const StreamIndex& kept,
                                                    const ScanOptions& options) {
  std::unique_ptr<StreamCodec> codec = codec_of(*file);
  if (!codec || codec->name() != kept.codec || kept.size > (uint64_t(1) << 56) ||
      kept.sums.size() != (kept.size + kPage - 1) / kPage)
    return nullptr;
  for (size_t i = 1; i < kept.points.size(); ++i)  // compressed offsets go forward, inside the file
    if (kept.points[i].in_offset < kept.points[i - 1].in_offset || kept.points[i].in_offset > file->size()) return nullptr;
  return std::make_unique<DecompressedArchive>(std::move(file), std::move(codec), options, kept);
}

std::optional<StreamIndex> stream_index_of(const ArchiveFile& file) {
  const auto* d = dynamic_cast<const DecompressedArchive*>(&file);
  return d ? d->kept() : std::nullopt;
}

}  // namespace vdiskfs
