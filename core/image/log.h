#pragma once
// Process-wide log: stderr in the foreground, a file or syslog when the
// daemon runs in the background. Thread-safe; one line per message.
#include <fmt/core.h>

#include <string>
#include <string_view>

namespace vdiskfs {

enum class LogLevel { error, warning, info, debug };

// Sends lines to `path` (appending) instead of stderr; "" means stderr.
bool log_to_file(const std::string& path);
// Sends lines to syslog (daemon facility) as well as to the current sink.
void log_to_syslog(bool on);
void log_set_verbose(bool on);
void log_message(LogLevel level, std::string_view text);

// Logs one line at `level`, formatted by fmt (format checked at compile
// time): log_warning("{}: skipped ({})", path, reason).
template <LogLevel level>
struct LevelLogger {
  template <typename... Args>
  void operator()(fmt::format_string<Args...> f, Args&&... args) const {
    log_message(level, fmt::format(f, std::forward<Args>(args)...));
  }
};
inline constexpr LevelLogger<LogLevel::error> log_error;
inline constexpr LevelLogger<LogLevel::warning> log_warning;
inline constexpr LevelLogger<LogLevel::info> log_info;
inline constexpr LevelLogger<LogLevel::debug> log_debug;

}  // namespace vdiskfs
