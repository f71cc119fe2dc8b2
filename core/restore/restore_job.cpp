#include "core/restore/restore_job.h"

#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <set>

#include "core/image/log.h"

namespace vdiskfs {
namespace {

constexpr size_t kZeroBlock = 64 * 1024;  // all-zero blocks of a chunk are not written to a zeroed target
constexpr size_t kHotChunks = 4096;       // chunks the guest read recently, newest last
constexpr int64_t kGuestIdleNs = 2000000;  // the guest counts as busy this long after a read starts

bool all_zero(const uint8_t* p, size_t n) { return n == 0 || (p[0] == 0 && std::memcmp(p, p + 1, n - 1) == 0); }

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

std::string iso8601(int64_t ns) {
  const time_t sec = time_t(ns / 1000000000);
  std::tm tm{};
  char text[32] = "";
  if (gmtime_r(&sec, &tm)) std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

RestoreJob::RestoreJob(RestoreJobInput in)
    : image_(std::move(in.image)),
      base_(std::move(in.base)),
      delta_pages_(std::move(in.delta_pages)),
      target_(std::move(in.target)),
      record_path_(std::move(in.record_path)),
      target_name_(in.record.target),
      file_name_(in.record.file),
      format_(in.format),
      rate_bytes_(in.rate_bytes),
      disk_bytes_(image_->size()),
      record_(std::move(in.record)),
      guest_reads_(in.guest_reads ? std::move(in.guest_reads) : std::make_shared<std::atomic<int>>(0)) {
  const uint64_t n = (disk_bytes_ + kChunkBytes - 1) / kChunkBytes;
  chunks_.assign(n, Chunk::free);
  dirty_.assign(n, false);
  touched_.assign(n, false);
  qemu_drive_ = target_->qemu_drive(format_);
  libvirt_disk_xml_ = target_->libvirt_disk_xml(format_);
  plan_base();
}

void RestoreJob::start() {
  plan_delta();
  run_started_ns_ = mono_ns();
  thread_ = std::thread([this] { run(); });
}

RestoreJob::~RestoreJob() { stop(); }

uint64_t RestoreJob::chunk_count() const {
  std::lock_guard lock(mutex_);
  return chunks_.size();
}

uint64_t RestoreJob::chunk_len(uint64_t c) const {
  const uint64_t start = c * kChunkBytes;
  const uint64_t bytes = disk_bytes_;
  return start < bytes ? std::min<uint64_t>(kChunkBytes, bytes - start) : 0;
}

void RestoreJob::plan_base() {
  std::vector<ByteRange> ranges;
  base_->data_ranges(ranges);
  std::vector<bool> copied(chunks_.size(), false);
  set_chunk_runs(record_.copied, copied);
  set_chunk_runs(record_.dirty, dirty_);
  for (uint64_t c = 0; c < chunks_.size(); ++c) chunks_[c] = copied[c] ? Chunk::copied : Chunk::free;
  for (const ByteRange& r : ranges) {
    if (r.length == 0 || r.offset >= disk_bytes_) continue;
    const uint64_t last = std::min<uint64_t>(r.offset + r.length, disk_bytes_) - 1;
    for (uint64_t c = r.offset / kChunkBytes; c <= last / kChunkBytes; ++c)
      if (!copied[c]) chunks_[c] = Chunk::pending;
  }
  for (uint64_t c = 0; c < chunks_.size(); ++c) {
    touched_[c] = copied[c] || dirty_[c];
    if (chunks_[c] != Chunk::free) bytes_total_ += chunk_len(c);
    if (chunks_[c] == Chunk::copied) bytes_done_ += chunk_len(c);
  }
  if (record_.started_ns == 0) record_.started_ns = wall_ns();
  if (target_->starts_zeroed()) record_.target_zeroed = true;
  // A resumed restore zeroes the free chunks once more: a guest write
  // mirrored there after the last record, from a delta since lost
  // (--delta-memory, --discard-delta), would stay on the target.
  rezero_ = !record_.copied.empty() || !record_.dirty.empty();
  record_.disk_bytes = disk_bytes_;
  record_.chunk_bytes = kChunkBytes;
  record_.state = "copying";
  record_.reason.clear();
  record_.verified_chunks = record_.repaired_chunks = record_.digest = 0;
}

void RestoreJob::plan_delta() {
  // Every chunk the delta holds is copied (again): writes made while no
  // restore mirrored them, or mirrored but not flushed before a crash. A
  // write mirrored from here on is either in this list or on the target.
  const std::vector<uint64_t> pages = delta_pages_ ? delta_pages_() : std::vector<uint64_t>{};
  std::lock_guard lock(mutex_);
  for (uint64_t p : pages) {
    const uint64_t c = p * 4096 / kChunkBytes;
    if (c >= chunks_.size() || chunks_[c] == Chunk::pending) continue;
    if (chunks_[c] == Chunk::free) bytes_total_ += chunk_len(c);
    else bytes_done_ -= chunk_len(c);
    chunks_[c] = Chunk::pending;
  }
}

bool RestoreJob::advance(const char* from, const char* to) {
  std::lock_guard lock(mutex_);
  if (record_.state != from || stopping()) return false;  // failed or stopped meanwhile
  record_.state = to;
  return true;
}

void RestoreJob::run() {
  uint64_t total;
  {
    std::lock_guard lock(mutex_);
    total = bytes_total_;
  }
  log_info("restore of {} to {}: {} MiB to copy", file_name_, target_name_, total >> 20);
  if (!zero_free_space() || !copy_phase() || !checkpoint() || !advance("copying", "verifying")) return;
  if (!verify_phase() || !advance("verifying", "verified") || !checkpoint()) return;
  std::lock_guard lock(mutex_);
  log_info("restore of {} to {}: copied and verified ({} chunks, {} written again, digest {:016x})", file_name_,
           target_name_, record_.verified_chunks, record_.repaired_chunks, record_.digest);
}

bool RestoreJob::zero_free_space() {
  {
    std::lock_guard lock(mutex_);
    if (!rezero_ && (record_.target_zeroed || record_.free_zeroed)) return true;
  }
  for (uint64_t c = 0; c < chunk_count() && !stopping(); ++c) {
    std::lock_guard cl(chunk_lock(c));
    {
      std::lock_guard lock(mutex_);
      if (chunks_[c] != Chunk::free) continue;
    }
    TargetError why;
    if (!target_->zero(c * kChunkBytes, chunk_len(c), &why)) {
      fail_with(why.message);
      return false;
    }
  }
  if (stopping()) return false;
  std::lock_guard lock(mutex_);
  record_.free_zeroed = true;
  rezero_ = false;
  return true;
}

bool RestoreJob::copy_phase() {
  std::vector<uint8_t> buf(kChunkBytes);
  int64_t last_checkpoint = mono_ns();
  for (int64_t c; !stopping() && (c = next_chunk()) >= 0;) {
    uint64_t this_run;
    {
      std::lock_guard lock(mutex_);
      this_run = bytes_this_run_;
    }
    throttle(this_run);
    if (stopping() || !copy_chunk(uint64_t(c), buf)) return false;
    if (mono_ns() - last_checkpoint > 1000000000) {
      if (!checkpoint()) return false;
      last_checkpoint = mono_ns();
    }
  }
  return !stopping();
}

bool RestoreJob::copy_chunk(uint64_t c, std::vector<uint8_t>& buf) {
  std::lock_guard cl(chunk_lock(c));
  bool skip_zeros;  // an untouched chunk of a target that started zeroed: its zero blocks are there
  {
    std::lock_guard lock(mutex_);
    if (chunks_[c] != Chunk::pending) return true;
    skip_zeros = !touched_[c] && record_.target_zeroed;
  }
  const uint64_t start = c * kChunkBytes;
  const size_t len = size_t(chunk_len(c));
  if (!ok(image_->read(start, buf.data(), len))) {
    fail_with(fmt::format("reading {} at offset {} failed (see the line above)", record_.file, start));
    return false;
  }
  TargetError why;
  for (size_t at = 0; at < len; at += kZeroBlock) {
    const size_t n = std::min(kZeroBlock, len - at);
    if (skip_zeros && all_zero(buf.data() + at, n)) continue;
    if (!target_->write(start + at, buf.data() + at, n, &why)) {
      fail_with(why.message);
      return false;
    }
  }
  std::lock_guard lock(mutex_);
  chunks_[c] = Chunk::copied;
  touched_[c] = true;
  bytes_done_ += len;
  bytes_this_run_ += len;
  return true;
}

int64_t RestoreJob::next_chunk() {
  std::lock_guard lock(mutex_);
  while (!hot_.empty()) {
    const uint64_t c = hot_.back();
    hot_.pop_back();
    if (chunks_[c] == Chunk::pending) return int64_t(c);
  }
  // In disk order from the cursor; once more from the start, for chunks a
  // mirrored write behind the cursor made pending.
  for (int pass = 0; pass < 2; ++pass) {
    while (cursor_ < chunks_.size() && chunks_[cursor_] != Chunk::pending) ++cursor_;
    if (cursor_ < chunks_.size()) return int64_t(cursor_);
    cursor_ = 0;
  }
  return -1;
}

void RestoreJob::throttle(uint64_t bytes_this_run) {
  // Yields to the guest: waits while its reads are in flight or it read in
  // the last 2 ms (a stream of short reads leaves the count at 0 between
  // them), at most 200 ms a chunk, so the copy never stops for good.
  for (int i = 0; i < 200 && !stopping(); ++i) {
    if (guest_reads_->load() == 0 && mono_ns() - last_guest_read_ns_.load() > kGuestIdleNs) break;
    sleep_ms(1);
  }
  if (!rate_bytes_) return;
  for (;;) {
    const int64_t due_ns = int64_t(double(bytes_this_run) * 1e9 / double(rate_bytes_));
    const int64_t ahead_ns = due_ns - (mono_ns() - run_started_ns_);
    if (ahead_ns <= 0 || stopping()) return;
    sleep_ms(int(std::min<int64_t>(ahead_ns / 1000000 + 1, 100)));
  }
}

bool RestoreJob::verify_chunk(uint64_t c, std::vector<uint8_t>& disk, std::vector<uint8_t>& copy, uint64_t* hash) {
  std::lock_guard cl(chunk_lock(c));
  const uint64_t start = c * kChunkBytes;
  const size_t len = size_t(chunk_len(c));
  TargetError why;
  if (!ok(image_->read(start, disk.data(), len))) {
    fail_with(fmt::format("reading {} at offset {} failed (see the line above)", record_.file, start));
    return false;
  }
  if (!target_->read(start, copy.data(), len, &why)) {
    fail_with(why.message);
    return false;
  }
  *hash = XXH3_64bits(disk.data(), len);
  if (XXH3_64bits(copy.data(), len) == *hash && std::memcmp(disk.data(), copy.data(), len) == 0) return true;
  log_warning("restore of {} to {}: the target differs in the chunk at offset {}; writing it again", record_.file,
              record_.target, start);
  if (!target_->write(start, disk.data(), len, &why) || !target_->flush(&why) ||
      !target_->read(start, copy.data(), len, &why)) {
    fail_with(why.message);
    return false;
  }
  if (std::memcmp(disk.data(), copy.data(), len) != 0) {
    fail_with(fmt::format("verification: {} still differs from the disk at offset {} after writing it again (the "
                          "target does not keep what is written: check the device)",
                          record_.target, start));
    return false;
  }
  std::lock_guard lock(mutex_);
  ++record_.repaired_chunks;
  return true;
}

bool RestoreJob::verify_phase() {
  std::vector<uint8_t> disk(kChunkBytes), copy(kChunkBytes);
  uint64_t digest = 0;
  for (uint64_t c = 0; c < chunk_count(); ++c) {
    if (stopping()) return false;
    {
      std::lock_guard lock(mutex_);
      if (chunks_[c] != Chunk::copied) continue;
    }
    throttle(0);
    uint64_t hash = 0;
    if (!verify_chunk(c, disk, copy, &hash)) return false;
    digest = XXH3_64bits_withSeed(&hash, sizeof hash, digest);
    std::lock_guard lock(mutex_);
    ++record_.verified_chunks;
    verified_bytes_ += chunk_len(c);
    record_.digest = digest;
  }
  return true;
}

void RestoreJob::guest_read(uint64_t offset, size_t len) {
  last_guest_read_ns_ = mono_ns();
  if (len == 0) return;
  std::lock_guard lock(mutex_);
  for (uint64_t c = offset / kChunkBytes; c <= (offset + len - 1) / kChunkBytes && c < chunks_.size(); ++c) {
    if (chunks_[c] != Chunk::pending || (!hot_.empty() && hot_.back() == c)) continue;
    if (hot_.size() >= kHotChunks) hot_.pop_front();
    hot_.push_back(c);
  }
}


void RestoreJob::guest_written(uint64_t offset, const uint8_t* buf, size_t len) {
  if (len == 0) return;
  {
    std::lock_guard lock(mutex_);
    if (!mirroring_) return;
  }
  const uint64_t first = offset / kChunkBytes, last = (offset + len - 1) / kChunkBytes;
  std::set<size_t> stripes;
  for (uint64_t c = first; c <= last && stripes.size() < chunk_locks_.size(); ++c)
    stripes.insert(c % chunk_locks_.size());
  std::vector<std::unique_lock<std::mutex>> held;
  for (size_t s : stripes) held.emplace_back(chunk_locks_[s]);  // in stripe order: no deadlock
  {
    std::lock_guard lock(mutex_);
    if (!mirroring_) return;  // stopped meanwhile: the target may be closed
  }
  TargetError why;
  if (offset + len > disk_bytes_ && !grow(offset + len, &why)) {
    fail_with(why.message);
    return;
  }
  if (!target_->write(offset, buf, len, &why)) {
    fail_with(why.message + " (mirroring a guest write; the write itself is in the delta)");
    return;
  }
  std::lock_guard lock(mutex_);
  ++record_.mirrored_writes;
  record_.mirrored_bytes += len;
  for (uint64_t c = first; c <= last && c < chunks_.size(); ++c) {
    dirty_[c] = true;
    touched_[c] = true;
    if (chunks_[c] != Chunk::free) continue;
    // A chunk of free space: where the target holds zeros around the write,
    // as the disk does, it now holds the chunk; else the chunk is copied.
    const bool zeros_around = record_.target_zeroed || record_.free_zeroed;
    chunks_[c] = zeros_around ? Chunk::copied : Chunk::pending;
    bytes_total_ += chunk_len(c);
    if (zeros_around) bytes_done_ += chunk_len(c);
  }
}

void RestoreJob::resized(uint64_t size) {
  if (size == disk_bytes_) return;
  std::vector<std::unique_lock<std::mutex>> all;  // as a mirrored write: no copy or write in flight
  for (std::mutex& m : chunk_locks_) all.emplace_back(m);
  {
    std::lock_guard lock(mutex_);
    if (!mirroring_) return;
  }
  TargetError why;
  if (size > disk_bytes_) {
    if (!grow(size, &why) || !target_->resize(size, &why)) fail_with(why.message);
    return;
  }
  fail_with(fmt::format("the file was truncated to {} bytes (the restore copies {}): restore it again with --restart",
                        size, disk_bytes_.load()));
}

bool RestoreJob::grow(uint64_t end, TargetError* why) {
  if (!target_->can_grow()) {
    why->message = fmt::format("the file grew to {} bytes past the {} of {}, which cannot grow: restore a container "
                               "file to a file",
                               end, target_->size(), target_name_);
    return false;
  }
  // The new chunks read as zeros on both sides (the file's new end, a
  // file's hole past its end) until the mirrored writes that made them.
  std::lock_guard lock(mutex_);
  const uint64_t n = (end + kChunkBytes - 1) / kChunkBytes;
  const uint64_t old_bytes = disk_bytes_;
  disk_bytes_ = end;
  if (n > chunks_.size()) {
    for (uint64_t c = chunks_.size(); c < n; ++c) bytes_total_ += chunk_len(c), bytes_done_ += chunk_len(c);
    chunks_.resize(n, Chunk::copied);
    dirty_.resize(n, false);
    touched_.resize(n, true);
  }
  const uint64_t last_old = old_bytes ? (old_bytes - 1) / kChunkBytes : 0;
  if (last_old < n && end > old_bytes && (old_bytes % kChunkBytes) != 0 && chunks_[last_old] != Chunk::free) {
    bytes_total_ += std::min(end, (last_old + 1) * kChunkBytes) - old_bytes;
    if (chunks_[last_old] == Chunk::copied) bytes_done_ += std::min(end, (last_old + 1) * kChunkBytes) - old_bytes;
  }
  record_.disk_bytes = end;
  return true;
}

void RestoreJob::fail_with(const std::string& reason) {
  {
    std::lock_guard lock(mutex_);
    if (record_.state == "failed" || record_.state == "finished") return;
    record_.state = "failed";
    record_.reason = reason;
    mirroring_ = false;
  }
  stop_ = true;
  log_error("restore of {} to {} failed: {}", record_.file, record_.target, reason);
  checkpoint();
}

bool RestoreJob::checkpoint() {
  std::lock_guard one(checkpoint_mutex_);  // one at a time, the newest last
  TargetError why;
  RestoreRecord snapshot;
  {
    std::lock_guard lock(mutex_);
    std::vector<bool> copied(chunks_.size());
    for (uint64_t c = 0; c < chunks_.size(); ++c) copied[c] = chunks_[c] == Chunk::copied;
    record_.copied = chunk_runs(copied);
    record_.dirty = chunk_runs(dirty_);
    record_.updated_ns = wall_ns();
    snapshot = record_;
  }
  // Flushed before the record says so: what it calls copied is on the target.
  if (target_ && !target_->flush(&why)) {
    if (snapshot.state != "failed") fail_with(why.message);
    return false;
  }
  if (const std::string err = save_restore_record(record_path_, snapshot); !err.empty()) {
    log_error("restore of {}: {}", snapshot.file, err);
    if (snapshot.state != "failed") fail_with(err);
    return false;
  }
  return true;
}

void RestoreJob::stop() {
  stop_ = true;
  std::call_once(stopped_, [this] {
    if (thread_.joinable()) thread_.join();
    {
      std::lock_guard lock(mutex_);
      mirroring_ = false;
      const std::string& s = record_.state;
      if (s == "copying" || s == "verifying" || s == "verified") record_.state = "stopped";
    }
    checkpoint();
    release_target();
  });
}

void RestoreJob::release_target() {
  // A mirrored write in flight holds its chunks' locks: take them all.
  std::vector<std::unique_lock<std::mutex>> all;
  for (std::mutex& m : chunk_locks_) all.emplace_back(m);
  target_.reset();
}

std::string RestoreJob::finish() {
  {
    std::lock_guard lock(mutex_);
    if (record_.state == "finished") return "";
    if (record_.state != "verified")
      return fmt::format("the restore of {} to {} is {}{}{}: finish needs a verified copy", record_.file,
                         record_.target, record_.state, record_.reason.empty() ? "" : ": ", record_.reason);
    mirroring_ = false;
    record_.state = "finished";
  }
  stop_ = true;
  bool saved = false;
  std::call_once(stopped_, [this, &saved] {
    if (thread_.joinable()) thread_.join();  // verified: it has ended or is about to
    saved = checkpoint();
    release_target();  // the target is free for the VM (a qcow2 file's qemu-nbd ends)
  });
  if (!saved) return "finishing failed: the target could not be flushed or the record saved (see the log)";
  log_info("restore of {} to {} finished: mirroring stopped", record_.file, record_.target);
  return "";
}

std::string RestoreJob::state() const {
  std::lock_guard lock(mutex_);
  return record_.state;
}

nlohmann::ordered_json RestoreJob::status() const {
  std::lock_guard lock(mutex_);
  const double seconds = double(mono_ns() - run_started_ns_) / 1e9;
  const double rate = seconds > 0 ? double(bytes_this_run_) / seconds : 0;
  const uint64_t left = bytes_total_ - std::min(bytes_done_, bytes_total_);
  nlohmann::ordered_json j;
  j["file"] = record_.file;
  j["target"] = record_.target;
  j["state"] = record_.state;
  j["reason"] = record_.reason;
  j["bytes_total"] = bytes_total_;
  j["bytes_done"] = bytes_done_;
  j["bytes_copied_this_run"] = bytes_this_run_;  // since this start (a resumed restore copies less)
  j["percent"] = bytes_total_ ? 100.0 * double(bytes_done_) / double(bytes_total_) : 100.0;
  j["bytes_per_second"] = uint64_t(rate);
  j["seconds_left"] = record_.state == "copying" && rate > 0 ? nlohmann::ordered_json(double(left) / rate)
                                                            : nlohmann::ordered_json(nullptr);
  j["mirrored_writes"] = record_.mirrored_writes;
  j["mirrored_bytes"] = record_.mirrored_bytes;
  j["dirty_ranges"] = chunk_runs(dirty_).size();
  j["verified_bytes"] = verified_bytes_;
  j["verified_chunks"] = record_.verified_chunks;
  j["repaired_chunks"] = record_.repaired_chunks;
  j["digest"] = fmt::format("{:016x}", record_.digest);
  j["started"] = iso8601(record_.started_ns);
  j["qemu_drive"] = qemu_drive_;
  j["libvirt_disk_xml"] = libvirt_disk_xml_;
  return j;
}

}  // namespace vdiskfs
