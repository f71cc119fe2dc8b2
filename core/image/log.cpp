#include "core/image/log.h"

#include <syslog.h>
#include <time.h>

#include <cstdio>
#include <mutex>

namespace vdiskfs {
namespace {

std::mutex g_mutex;
FILE* g_file = nullptr;  // nullptr: stderr
bool g_syslog = false;
bool g_verbose = false;

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::error: return "error";
    case LogLevel::warning: return "warning";
    case LogLevel::info: return "info";
    case LogLevel::debug: return "debug";
  }
  return "?";
}

int syslog_priority(LogLevel level) {
  switch (level) {
    case LogLevel::error: return LOG_ERR;
    case LogLevel::warning: return LOG_WARNING;
    case LogLevel::info: return LOG_INFO;
    case LogLevel::debug: return LOG_DEBUG;
  }
  return LOG_INFO;
}

}  // namespace

bool log_to_file(const std::string& path) {
  std::lock_guard lock(g_mutex);
  if (g_file) fclose(g_file);
  g_file = nullptr;
  if (path.empty()) return true;
  g_file = fopen(path.c_str(), "ae");
  return g_file != nullptr;
}

void log_to_syslog(bool on) {
  std::lock_guard lock(g_mutex);
  if (on && !g_syslog) openlog("vdiskfs", LOG_PID, LOG_DAEMON);
  g_syslog = on;
}

void log_set_verbose(bool on) { g_verbose = on; }

void log_message(LogLevel level, std::string_view text) {
  if (level == LogLevel::debug && !g_verbose) return;
  std::lock_guard lock(g_mutex);
  if (g_syslog)
    syslog(syslog_priority(level), "%.*s", int(text.size()), text.data());
  FILE* out = g_file ? g_file : stderr;
  if (g_file) {  // files get a timestamp; a terminal does not need one
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    tm t;
    gmtime_r(&ts.tv_sec, &t);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &t);
    fprintf(out, "%s ", stamp);
  }
  fprintf(out, "vdiskfs: %s: %.*s\n", level_name(level), int(text.size()), text.data());
  fflush(out);
}

}  // namespace vdiskfs
