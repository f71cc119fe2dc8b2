#pragma once
// Where written pages of an exposed file go: a delta. The store keeps the
// newest copy of each 4 KiB page and the file's logical size; it is either
// a crash-safe log file (DeltaLog) or memory (MemoryPageStore).
#include <array>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/image/status.h"

namespace vdiskfs {

inline constexpr uint32_t kDeltaPageSize = 4096;

// Size state of an overlaid file: its logical size, and how much of the
// base stays visible (a truncation hides base bytes for good).
struct DeltaSize {
  uint64_t size = 0;
  uint64_t base_limit = 0;
};

class PageStore {
 public:
  virtual ~PageStore() = default;
  // True when the delta holds page `page`.
  virtual bool has(uint64_t page) const = 0;
  // Copies a held page into out (4096 bytes); an error is never zeros.
  virtual Status read_page(uint64_t page, uint8_t* out) const = 0;
  // Stores whole pages, then the new size if given, atomically: all of it
  // or nothing (on ENOSPC).
  virtual Status put(const std::vector<uint64_t>& pages, const uint8_t* data,
                     const DeltaSize* new_size) = 0;
  // Records a new size; pages at or beyond the size are dropped.
  virtual Status set_size(const DeltaSize& s) = 0;
  virtual DeltaSize size() const = 0;
  virtual bool empty() const = 0;
  virtual uint64_t pages_held() const = 0;
  // The page numbers held, unsorted.
  virtual std::vector<uint64_t> held_pages() const = 0;
  // Makes everything stored so far durable.
  virtual Status sync() = 0;
};

// Pages in memory, gone at unmount (--delta-memory).
class MemoryPageStore final : public PageStore {
 public:
  explicit MemoryPageStore(DeltaSize initial) : size_(initial) {}
  bool has(uint64_t page) const override { return pages_.count(page) != 0; }
  Status read_page(uint64_t page, uint8_t* out) const override;
  Status put(const std::vector<uint64_t>& pages, const uint8_t* data, const DeltaSize* new_size) override;
  Status set_size(const DeltaSize& s) override;
  DeltaSize size() const override { return size_; }
  bool empty() const override { return pages_.empty(); }
  uint64_t pages_held() const override { return pages_.size(); }
  std::vector<uint64_t> held_pages() const override;
  Status sync() override { return Status::ok; }

 private:
  std::unordered_map<uint64_t, std::unique_ptr<std::array<uint8_t, kDeltaPageSize>>> pages_;
  DeltaSize size_;
};

}  // namespace vdiskfs
