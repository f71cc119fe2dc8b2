#pragma once
// A persistent delta: an append-only log file (format: delta_log_format.h).
//
//   header (4096 bytes) | record | record | ...
//   record = 32-byte header (magic, type, page or size, base limit,
//            checksum) + a 4096-byte payload for page records.
//
// Every write appends complete records in one pwrite; a record counts only
// if its checksum holds, so a daemon killed mid-write leaves at worst a torn
// tail, which the next open cuts off. Writes followed by a completed fsync
// are durable (fdatasync). The newest record of a page wins. A log that is
// mostly overwritten pages is rewritten (compacted) into a new file that
// replaces it by rename, so a crash leaves either the old or the new log.
#include <mutex>
#include <string>

#include "core/delta/page_store.h"

namespace vdiskfs {

// What a delta was written against, as stored in its header.
struct DeltaHeader {
  std::string base_identity;  // disk identity and exposed file, see delta_set
  uint64_t base_size = 0;
  int64_t created_ns = 0;
};

class DeltaLog final : public PageStore {
 public:
  // Creates a new delta (the file must not exist).
  static std::unique_ptr<DeltaLog> create(const std::string& path, const DeltaHeader& header);
  // Opens an existing delta, recovering from a torn tail. Throws Error when
  // the file is not a delta or is in use by another process.
  static std::unique_ptr<DeltaLog> open(const std::string& path);
  // Reads only the header (for linkage checks and `delta info`).
  static DeltaHeader read_header(const std::string& path);
  // Replays a delta read-only, without locking or repairing it, for
  // `delta info` (works while it is mounted).
  static std::unique_ptr<DeltaLog> inspect(const std::string& path);
  ~DeltaLog() override;

  const DeltaHeader& header() const { return header_; }
  uint64_t log_bytes() const { return end_; }
  uint64_t recovered_bytes() const { return recovered_; }  // torn tail cut at open

  bool has(uint64_t page) const override { return index_.count(page) != 0; }
  Status read_page(uint64_t page, uint8_t* out) const override;
  Status put(const std::vector<uint64_t>& pages, const uint8_t* data, const DeltaSize* new_size) override;
  Status set_size(const DeltaSize& s) override;
  DeltaSize size() const override { return size_; }
  bool empty() const override { return index_.empty(); }
  uint64_t pages_held() const override { return index_.size(); }
  std::vector<uint64_t> held_pages() const override;
  Status sync() override;
  // Logs above `bytes` that are mostly overwritten pages get rewritten
  // with only the live pages (default 64 MiB).
  void set_compaction_threshold(uint64_t bytes) { compact_above_ = bytes; }

 private:
  DeltaLog(std::string path, int fd, DeltaHeader header);
  void replay(bool repair);
  Status append(const std::vector<uint8_t>& records);
  void apply_size(const DeltaSize& s);
  void maybe_compact();
  bool compact();

  std::string path_;
  int fd_;
  DeltaHeader header_;
  std::unordered_map<uint64_t, uint64_t> index_;  // page -> payload offset
  DeltaSize size_;
  uint64_t end_ = 0;
  uint64_t recovered_ = 0;
  uint64_t compact_above_ = 64ull << 20;
};

}  // namespace vdiskfs
