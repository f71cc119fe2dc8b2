#include "core/restore/restore_manager.h"

#include <fmt/core.h>

#include "core/image/error.h"
#include "core/image/log.h"

namespace vdiskfs {
namespace {

bool running_state(const std::string& s) { return s == "copying" || s == "verifying" || s == "verified"; }

// A record's status when no job runs it (after a stop, crash or remount).
nlohmann::ordered_json record_status(const RestoreRecord& r) {
  nlohmann::ordered_json j;
  uint64_t copied = 0;
  for (const ChunkRun& run : r.copied) copied += run.count;
  j["file"] = r.file;
  j["target"] = r.target;
  j["state"] = running_state(r.state) ? "stopped" : r.state;
  j["reason"] = running_state(r.state)
                    ? fmt::format("the mount stopped (unmount or crash) while {}: 'vdiskfs restore start' continues it",
                                  r.state)
                    : r.reason;
  j["bytes_done"] = std::min(copied * r.chunk_bytes, r.disk_bytes);
  j["mirrored_writes"] = r.mirrored_writes;
  j["mirrored_bytes"] = r.mirrored_bytes;
  j["verified_chunks"] = r.verified_chunks;
  j["repaired_chunks"] = r.repaired_chunks;
  j["digest"] = fmt::format("{:016x}", r.digest);
  return j;
}

}  // namespace

RestoreSlot::~RestoreSlot() { shut_down(); }

std::shared_ptr<RestoreJob> RestoreSlot::job() const {
  // seq_cst: a write that reached the delta before this load saw false is
  // in the delta pages the new job reads after its store (plan_delta).
  if (!had_job_.load()) return nullptr;
  std::lock_guard lock(mutex_);
  return job_;
}

void RestoreSlot::read_started(uint64_t offset, size_t len) {
  guest_reads_->fetch_add(1);  // counted here: a read outlives a job replaced under it
  if (auto j = job()) j->guest_read(offset, len);
}

void RestoreSlot::read_finished() { guest_reads_->fetch_sub(1); }

void RestoreSlot::resized(uint64_t size) {
  if (auto j = job()) j->resized(size);
}

void RestoreSlot::written(uint64_t offset, const uint8_t* buf, size_t len) {
  if (auto j = job()) j->guest_written(offset, buf, len);
}

void RestoreSlot::shut_down() {
  std::shared_ptr<RestoreJob> j;
  {
    std::lock_guard lock(mutex_);
    j = std::move(job_);
  }
  if (j) j->stop();
}

std::string RestoreSlot::request(const std::string& text) {
  std::lock_guard one(request_mutex_);
  std::string err;
  try {
    const nlohmann::json req = nlohmann::json::parse(text);
    const std::string op = req.at("op").get<std::string>();
    if (op == "start") {
      err = start(req);
    } else if (op == "stop") {
      if (auto j = job()) j->stop();
      else err = fmt::format("no restore of {} is running", file_.name);
    } else if (op == "finish") {
      err = finish(req.value("force", false));
    } else {
      err = fmt::format("unknown restore request '{}' (start, stop, finish)", op);
    }
  } catch (const nlohmann::json::exception& e) {
    err = fmt::format("restore request for {} is not valid JSON with the fields it needs: {}", file_.name, e.what());
  } catch (const Error& e) {
    err = e.what();
  }
  std::lock_guard lock(mutex_);
  error_ = err;
  return err;
}

std::string RestoreSlot::start(const nlohmann::json& req) {
  const std::string target = req.at("target").get<std::string>();
  const bool restart = req.value("restart", false);
  if (auto j = job()) {
    if (running_state(j->state()) && !restart)
      return fmt::format("a restore of {} to {} is already {}: 'vdiskfs restore stop' it first, or add --restart",
                         file_.name, j->target_spec(), j->state());
    j->stop();  // its thread has ended and its record is saved before a new one starts
  }
  const bool container = file_.format != "raw";  // its bytes go to a file as they are, whatever its name
  if (container && (target_kind(target) == TargetKind::nbd || target_kind(target) == TargetKind::block_device))
    return fmt::format("{} is a container file ({}): it can be restored to a file only, as it is (it grows as the "
                       "guest writes); restore the .img to a device or an NBD server",
                       file_.name, file_.format);
  RestoreRecord record;
  const bool recorded = load_restore_record(file_.record_path, &record);
  if (recorded && !restart) {
    if (record.target != target)
      return fmt::format("{} has a restore to {} ({}): start it again with that target to continue it, or add "
                         "--restart to begin a new one to {}",
                         file_.name, record.target, record.state, target);
    if (record.state == "finished")
      return fmt::format("the restore of {} to {} finished (the cutover): the target may be in use now; add "
                         "--restart to copy onto it again",
                         file_.name, target);
    if (record.identity != file_.identity)
      return fmt::format("the restore record {} is of another disk (identity {}, now {}): add --restart to begin "
                         "again",
                         file_.record_path, record.identity, file_.identity);
  }
  const bool resume = recorded && !restart;
  const bool reuse = resume || (recorded && record.target == target);
  if (!resume) record = RestoreRecord{};
  record.file = file_.name;
  record.target = target;
  record.identity = file_.identity;

  RestoreJobInput in;
  in.image = file_.image;
  in.base = file_.base;
  in.delta_pages = file_.delta_pages;
  in.target = open_restore_target(target, file_.image->size(), reuse, container);
  in.record_path = file_.record_path;
  in.record = std::move(record);
  in.rate_bytes = uint64_t(req.value("rate_mib", 0.0) * 1048576.0);
  in.format = file_.format;
  in.guest_reads = guest_reads_;
  auto j = std::make_shared<RestoreJob>(std::move(in));
  {
    std::lock_guard lock(mutex_);
    had_job_ = true;
    job_ = j;  // from here the guest's writes reach the new job
  }
  try {
    j->start();
  } catch (const std::exception& e) {  // no thread: a stopped job, not one copying forever
    j->stop();
    return fmt::format("the restore of {} to {} could not start: {}", file_.name, target, e.what());
  }
  log_info("restore of {} to {} {}", file_.name, target, resume ? "resumed" : "started");
  return "";
}

std::string RestoreSlot::finish(bool force) {
  auto j = job();
  if (!j) return fmt::format("no restore of {} is running (finish needs a verified copy)", file_.name);
  if (opens_.load() > 0 && !force)
    return fmt::format("{} is still open (a VM may be running on it; its later writes would not reach {}): shut it "
                       "down first, or add --force",
                       file_.name, j->target_spec());
  return j->finish();
}

std::string RestoreSlot::status() const {
  nlohmann::ordered_json j;
  if (auto running = job()) {
    j = running->status();
    j["running"] = running_state(running->state());
  } else {
    RestoreRecord r;
    bool recorded = false;
    try {
      recorded = load_restore_record(file_.record_path, &r);
    } catch (const Error& e) {
      j["state"] = "failed";
      j["reason"] = e.what();
    }
    if (recorded) j = record_status(r);
    else if (!j.contains("state")) j["file"] = file_.name, j["state"] = "";
    j["running"] = false;
  }
  std::lock_guard lock(mutex_);
  j["error"] = error_;
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace vdiskfs
