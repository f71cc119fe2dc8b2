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

template <typename... Args>
void log_error(fmt::format_string<Args...> f, Args&&... args) {
  log_message(LogLevel::error, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void log_warning(fmt::format_string<Args...> f, Args&&... args) {
  log_message(LogLevel::warning, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void log_info(fmt::format_string<Args...> f, Args&&... args) {
  log_message(LogLevel::info, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void log_debug(fmt::format_string<Args...> f, Args&&... args) {
  log_message(LogLevel::debug, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace vdiskfs
