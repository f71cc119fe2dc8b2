#pragma once
// The restores of one mount: per exposed file a RestoreSlot that watches the
// file's I/O (a FileTap, forwarded to its running restore) and answers the
// requests `vdiskfs restore` sends through the file's control attribute.
//
// Requests are JSON objects:
//   {"op":"start","target":SPEC,"rate_mib":N,"restart":BOOL}
//   {"op":"stop"}
//   {"op":"finish","force":BOOL}
// A start resumes the restore its progress record describes when the record
// names the same target and the same disk; a record of another target or
// disk is refused unless `restart`.
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/delta/file_tap.h"
#include "core/image/image.h"
#include "core/restore/restore_job.h"

namespace vdiskfs {

// What a restore needs of one exposed file.
struct RestoreFile {
  std::string name;                         // the exposed file's name
  std::shared_ptr<const Image> image;       // as the guest sees it (the overlay)
  std::shared_ptr<const Image> base;        // below the delta
  std::function<std::vector<uint64_t>()> delta_pages;  // pages the delta holds
  std::string format = "raw";  // QEMU's name for the file's format: raw for the disk itself
  std::string record_path;    // where the progress record lives
  std::string identity;       // the disk's identity, the file's name and size
};

class RestoreSlot final : public FileTap {
 public:
  explicit RestoreSlot(RestoreFile file) : file_(std::move(file)) {}
  ~RestoreSlot() override;

  void opened() override { opens_.fetch_add(1); }
  void released() override { opens_.fetch_sub(1); }
  void read_started(uint64_t offset, size_t len) override;
  void read_finished() override;
  void written(uint64_t offset, const uint8_t* buf, size_t len) override;
  void resized(uint64_t size) override;

  // Handles one request (JSON text). Returns "" or why it was refused; the
  // reason is also kept as the status's "error".
  std::string request(const std::string& text);
  // The restore's status as JSON text: the running job's, else the one its
  // record describes ("running": false), else {"state": ""}.
  std::string status() const;
  // Stops a running restore, keeping its record (the mount is going away).
  void shut_down();

 private:
  std::string start(const nlohmann::json& req);
  std::string finish(bool force);
  std::shared_ptr<RestoreJob> job() const;

  RestoreFile file_;
  std::atomic<int> opens_{0};
  std::shared_ptr<std::atomic<int>> guest_reads_ = std::make_shared<std::atomic<int>>(0);
  mutable std::mutex mutex_;  // guards job_ and error_
  std::shared_ptr<RestoreJob> job_;
  // Set (for good) before job_ first holds a job: until then the guest's
  // reads and writes pass without taking mutex_.
  std::atomic<bool> had_job_{false};
  std::string error_;
  std::mutex request_mutex_;  // one request at a time
};

}  // namespace vdiskfs
