#include "fuse/cli/delta_command.h"

#include <sys/stat.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/delta/delta_log.h"
#include "core/delta/delta_set.h"
#include "core/image/error.h"

namespace vdiskfs {
namespace {

std::string iso_time(int64_t ns) {
  const time_t t = time_t(ns / 1000000000);
  tm tm_utc;
  gmtime_r(&t, &tm_utc);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm_utc);
  return buf;
}

}  // namespace

nlohmann::ordered_json delta_file_json(const std::string& path) {
  auto log = DeltaLog::inspect(path);
  struct stat st;
  stat(path.c_str(), &st);
  const DeltaHeader& h = log->header();
  const std::string& id = h.base_identity;  // "<identity>|<file>|<size>"
  const size_t a = id.find('|'), b = id.rfind('|');
  nlohmann::ordered_json j;
  j["path"] = path;
  j["base_identity"] = id.substr(0, a);
  j["exposed_file"] = a != std::string::npos && b > a ? id.substr(a + 1, b - a - 1) : "";
  j["base_size"] = h.base_size;
  j["logical_size"] = log->size().size;
  j["pages_held"] = log->pages_held();
  j["bytes_held"] = log->pages_held() * kDeltaPageSize;
  j["log_bytes"] = log->log_bytes();
  j["torn_tail_bytes"] = log->recovered_bytes();
  j["created"] = iso_time(h.created_ns);
  j["modified"] = iso_time(int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec);
  return j;
}

int delta_info_command(const std::string& path, bool json) {
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  for (const std::string& f : delta_files(path)) all.push_back(delta_file_json(f));
  if (json) {
    std::printf("%s\n", all.dump(2).c_str());
    return 0;
  }
  if (all.empty()) std::printf("no deltas in %s\n", path.c_str());
  for (const auto& j : all) {
    for (const auto& [key, value] : j.items())
      std::printf("%-16s %s\n", key.c_str(), value.is_string() ? value.get<std::string>().c_str() : value.dump().c_str());
    std::printf("\n");
  }
  return 0;
}

int delta_discard_command(const std::string& path) {
  const int n = discard_deltas(path);
  std::printf("discarded %d file(s) in %s\n", n, path.c_str());
  return 0;
}

}  // namespace vdiskfs
