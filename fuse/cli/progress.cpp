#include "fuse/cli/progress.h"

#include <unistd.h>

#include <cstdio>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

namespace vdiskfs {
namespace {

std::string mib(uint64_t bytes) { return fmt::format("{:.1f} MiB", double(bytes) / (1 << 20)); }

std::string clock_text(double seconds) {
  const uint64_t s = uint64_t(seconds + 0.5);
  return s >= 3600 ? fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60) : fmt::format("{}:{:02}", s / 60, s % 60);
}

}  // namespace

ProgressStyle progress_style(bool json, bool quiet) {
  if (json) return ProgressStyle::json;
  return !quiet && isatty(STDERR_FILENO) ? ProgressStyle::bar : ProgressStyle::none;
}

ProgressReporter::ProgressReporter(std::string what, uint64_t total, const std::atomic<uint64_t>& done,
                                   ProgressStyle style)
    : what_(std::move(what)), total_(total), done_(done), style_(style), start_(std::chrono::steady_clock::now()) {
  if (style_ != ProgressStyle::none) thread_ = std::thread([this] { run(); });
}

ProgressReporter::~ProgressReporter() { finish(); }

double ProgressReporter::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void ProgressReporter::finish() {
  {
    std::lock_guard hold(mutex_);
    if (finished_) return;
    finished_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (style_ != ProgressStyle::none) show(true);
}

void ProgressReporter::run() {
  const auto interval = style_ == ProgressStyle::bar ? std::chrono::milliseconds(200) : std::chrono::milliseconds(1000);
  std::unique_lock hold(mutex_);
  show(false);  // at once: a short job shows its bar too
  while (!wake_.wait_for(hold, interval, [this] { return finished_; })) show(false);
}

void ProgressReporter::show(bool last) {
  const uint64_t done = done_.load();
  const double secs = seconds();
  const double rate = secs > 0 ? double(done) / secs : 0;
  const double left = rate > 0 && total_ > done ? double(total_ - done) / rate : 0;
  if (style_ == ProgressStyle::json) {
    const nlohmann::ordered_json line = {{"what", what_},       {"done", done},
                                         {"total", total_},    {"bytes_per_second", uint64_t(rate)},
                                         {"seconds", secs},    {"seconds_left", left},
                                         {"finished", last}};
    std::printf("%s\n", line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
    std::fflush(stdout);
    return;
  }
  if (last) {
    std::fprintf(stderr, "\r\033[K");
    return;
  }
  const unsigned pct = total_ ? unsigned(done * 100 / total_) : 100;
  const unsigned filled = pct / 5;
  const std::string bar = std::string(filled, '#') + std::string(20 - filled, '.');
  std::fprintf(stderr, "\r\033[K%s [%s] %3u%% %s of %s, %s/s, %s left", what_.c_str(), bar.c_str(), pct,
               mib(done).c_str(), mib(total_).c_str(), mib(uint64_t(rate)).c_str(), clock_text(left).c_str());
}

}  // namespace vdiskfs
