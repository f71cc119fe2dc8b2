#pragma once
// Progress of long work (exports, later restores and index builds): a bar
// on a terminal, one JSON line per interval for scripts that ask for it,
// nothing otherwise.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace vdiskfs {

enum class ProgressStyle { none, bar, json };

// The style a command should use: json when asked, a bar when stderr is a
// terminal and the command is not quiet, else none.
ProgressStyle progress_style(bool json, bool quiet);

// Reports `done` of `total` bytes on stderr (bar: redrawn every 0.2 s) or
// stdout (json: {"done":..,"total":..,"bytes_per_second":..,"seconds_left":..}
// each second) from a thread of its own, until finish().
class ProgressReporter {
 public:
  ProgressReporter(std::string what, uint64_t total, const std::atomic<uint64_t>& done, ProgressStyle style);
  ~ProgressReporter();
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  // Stops the thread and clears the bar (a JSON line is printed last).
  void finish();
  // Seconds since the start.
  double seconds() const;

 private:
  void run();
  void show(bool last);

  std::string what_;
  uint64_t total_;
  const std::atomic<uint64_t>& done_;
  ProgressStyle style_;
  std::chrono::steady_clock::time_point start_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool finished_ = false;
  std::thread thread_;
};

}  // namespace vdiskfs
