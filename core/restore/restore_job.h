#pragma once
// One restore: the background copy of an exposed file to a target while the
// guest runs on it, with the guest's writes mirrored to the target.
//
// The file is cut into chunks (1 MiB). Chunks that hold data (the base's
// data ranges and the delta's pages) are copied, hot ones first (the chunks
// the guest read most recently), then the rest in disk order; free space is
// never read (a target that did not start zeroed gets it zeroed once). A
// guest write that reached the delta is written to the target too, under
// the same per-chunk lock as the copy of that chunk, so the copy never puts
// older bytes over it. Every second the target is flushed and the progress
// record saved. When every chunk is copied, each is read back from both
// sides and compared (XXH3-64); a difference is written again and checked
// once more. Then the state is `verified` and mirroring goes on until
// `finish`.
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/image/image.h"
#include "core/restore/restore_record.h"
#include "core/restore/restore_target.h"

namespace vdiskfs {

// What a restore copies and where it keeps its record.
struct RestoreJobInput {
  std::shared_ptr<const Image> image;       // the file as the guest sees it (its overlay)
  std::shared_ptr<const Image> base;        // the base below the delta: its data ranges are what to copy
  std::function<std::vector<uint64_t>()> delta_pages;  // pages (4096 bytes) the delta holds, or null
  std::unique_ptr<RestoreTarget> target;
  std::string record_path;
  RestoreRecord record;   // a resumed restore's record, or a new one (file, target, identity, state "")
  uint64_t rate_bytes = 0;  // bytes per second; 0: as fast as the guest's own reads allow
  std::string format = "raw";  // QEMU's name for the file's format (raw, qcow2, vmdk, vpc, vdi)
  // The guest's reads in flight (the front end counts them); the copy
  // yields while it is above 0. Null: none counted.
  std::shared_ptr<std::atomic<int>> guest_reads;
};

class RestoreJob {
 public:
  static constexpr uint32_t kChunkBytes = 1 << 20;

  // Plans the copy from the base's data ranges and the record; mirrors the
  // guest's writes from here on.
  explicit RestoreJob(RestoreJobInput input);
  // Adds the delta's pages to the plan and starts the copy thread. Called
  // once, after the job receives the guest's writes (so none is missed).
  void start();
  // Stops the copy (state `stopped` unless done or failed), flushes the
  // target and saves the record.
  ~RestoreJob();

  // The guest's I/O (FileTap): read order and yielding, and mirroring.
  // A guest read of [offset, offset + len): its chunks are copied first.
  void guest_read(uint64_t offset, size_t len);
  void guest_written(uint64_t offset, const uint8_t* buf, size_t len);
  // The file's size changed (a truncate): the restore fails.
  void resized(uint64_t size);

  // Stops mirroring once the copy is verified: state `finished`. Returns ""
  // or why it cannot (not verified yet, failed).
  std::string finish();
  // Stops the copy and mirroring, keeping the record: state `stopped`.
  // Waits for the copy thread; later calls do nothing.
  void stop();
  // state, bytes done and total, rate, time left, mirrored writes, ...
  nlohmann::ordered_json status() const;
  std::string state() const;
  // The target as given to restore start.
  const std::string& target_spec() const { return target_name_; }

 private:
  void run();
  void plan_base();
  // Moves the state from `from` to `to` unless it changed (failed) or the
  // job is stopping. False: the copy thread ends.
  bool advance(const char* from, const char* to);
  void plan_delta();
  bool zero_free_space();
  bool copy_phase();
  bool verify_phase();
  // Copies chunk `c` when it is still pending. False: the job failed.
  bool copy_chunk(uint64_t c, std::vector<uint8_t>& buf);
  bool verify_chunk(uint64_t c, std::vector<uint8_t>& disk, std::vector<uint8_t>& target, uint64_t* hash);
  // The next pending chunk: a hot one, else the next in disk order; or -1.
  int64_t next_chunk();
  // Waits while the guest reads (reads in flight, or one in the last 2 ms;
  // at most 200 ms) and while the copy is ahead of --rate.
  void throttle(uint64_t bytes_this_run);
  void fail_with(const std::string& reason);
  // Flushes the target and saves the record (every second, and at the end).
  bool checkpoint();
  // Closes the target once no mirrored write is in flight.
  void release_target();
  bool stopping() const { return stop_.load(); }
  uint64_t chunk_len(uint64_t c) const;
  uint64_t chunk_count() const;
  // The file grew to `end` bytes (a container appending clusters): a file
  // target follows (the new chunks count as copied: zeros on both sides
  // but for the mirrored writes). Called with every chunk lock the write
  // needs held. False (why filled) for a target that cannot grow.
  bool grow(uint64_t end, TargetError* why);
  std::mutex& chunk_lock(uint64_t c) { return chunk_locks_[c % chunk_locks_.size()]; }

  enum class Chunk : uint8_t { free, pending, copied };

  std::shared_ptr<const Image> image_;
  std::shared_ptr<const Image> base_;
  std::function<std::vector<uint64_t>()> delta_pages_;
  std::unique_ptr<RestoreTarget> target_;
  std::string record_path_;
  std::string target_name_;
  std::string file_name_;
  std::string format_;
  std::string qemu_drive_, libvirt_disk_xml_;  // how to attach the target (it is closed at stop)
  uint64_t rate_bytes_;
  std::atomic<uint64_t> disk_bytes_;  // grows with a container file the guest extends

  mutable std::mutex mutex_;  // guards everything below up to the thread
  RestoreRecord record_;      // state, reason, counters
  std::vector<Chunk> chunks_;
  std::vector<bool> dirty_;
  std::vector<bool> touched_;  // the target was written in this chunk (copy or mirror)
  std::deque<uint64_t> hot_;
  uint64_t cursor_ = 0;
  uint64_t bytes_total_ = 0, bytes_done_ = 0, bytes_this_run_ = 0, verified_bytes_ = 0;
  bool mirroring_ = true;
  int64_t run_started_ns_ = 0;

  std::array<std::mutex, 64> chunk_locks_;  // a copy and a mirrored write of one chunk never overlap
  std::shared_ptr<std::atomic<int>> guest_reads_;
  std::atomic<int64_t> last_guest_read_ns_{0};  // monotonic clock
  bool rezero_ = false;  // resumed: the free chunks are zeroed again
  std::mutex checkpoint_mutex_;
  std::atomic<bool> stop_{false};
  std::once_flag stopped_;  // stop() saves the record once
  std::thread thread_;
};

// The wall clock in nanoseconds.
int64_t wall_ns();

}  // namespace vdiskfs
