#include "fuse/cli/restore_command.h"

#include <dirent.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/image/error.h"
#include "core/restore/restore_target.h"
#include "fuse/fuse_ops.h"
#include "fuse/mount_point.h"

namespace vdiskfs {
namespace {

using Json = nlohmann::ordered_json;

[[noreturn]] void fail_not_restorable(const std::string& file, int err) {
  if (err == ENOENT) fail("{}: no such file (give MOUNTPOINT/NAME.img of a running vdiskfs mount)", file);
  if (err == EROFS)
    fail("{} is on a read-only vdiskfs mount (--read-only): a restore mirrors the guest's writes and needs a mount "
         "with a delta; to copy the disk as it is, use 'vdiskfs export'",
         file);
  if (err == ENODATA || err == ENOTSUP)
    fail("{} is not a file of a vdiskfs mount with a delta (no {} attribute)", file, kRestoreXattr);
  fail("cannot reach the restore of {}: {}", file, strerror(err));
}

// The restore status of an exposed file (its control attribute), or the
// errno that kept it from being read.
bool read_status(const std::string& file, Json* out, int* err) {
  std::string value(1 << 16, '\0');
  const ssize_t n = getxattr(file.c_str(), kRestoreXattr, value.data(), value.size());
  if (n < 0) {
    *err = errno;
    return false;
  }
  value.resize(size_t(n));
  *out = Json::parse(value);
  return true;
}

Json status_of(const std::string& file) {
  Json j;
  int err = 0;
  if (!read_status(file, &j, &err)) fail_not_restorable(file, err);
  return j;
}

// Sends a request; a refusal throws Error with the daemon's reason.
void send(const std::string& file, const Json& request) {
  const std::string text = request.dump();
  if (setxattr(file.c_str(), kRestoreXattr, text.data(), text.size(), 0) == 0) return;
  const int err = errno;
  if (err == EINVAL) {
    const Json j = status_of(file);
    fail("{}", j.value("error", std::string("the mount refused the request (see its log)")));
  }
  if (err == EIO) fail("the mount failed the restore request for {}: see its log", file);
  fail_not_restorable(file, err);
}

// A target given as a path is made absolute: the daemon's working folder
// is `/`.
std::string absolute_target(const std::string& target) {
  if (target_kind(target) == TargetKind::nbd) return target;
  return std::filesystem::absolute(target).lexically_normal().string();
}

std::string mib(uint64_t bytes) { return fmt::format("{:.1f} MiB", double(bytes) / (1 << 20)); }

std::string seconds_text(const Json& v) {
  if (!v.is_number()) return "-";
  const uint64_t s = uint64_t(v.get<double>() + 0.5);
  return s >= 3600 ? fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
                   : fmt::format("{}:{:02}", s / 60, s % 60);
}

uint64_t u64(const Json& j, const char* key) { return j.contains(key) && j[key].is_number() ? j[key].get<uint64_t>() : 0; }

std::string str(const Json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

void print_json(const Json& j) {
  std::printf("%s\n", j.dump(-1, ' ', false, Json::error_handler_t::replace).c_str());
  std::fflush(stdout);
}

// One line: state, bytes, rate, time left, mirrored writes.
std::string status_line(const Json& j) {
  std::string state = str(j, "state");
  if (state == "copying" || state == "verifying") {
    const uint64_t done = state == "copying" ? u64(j, "bytes_done") : u64(j, "verified_bytes");
    const uint64_t total = u64(j, "bytes_total");
    const double pct = total ? 100.0 * double(done) / double(total) : 100.0;
    return fmt::format("{} {:5.1f}% {} of {}, {}/s, {} left, {} writes mirrored", state, pct, mib(done), mib(total),
                       mib(u64(j, "bytes_per_second")), seconds_text(j.value("seconds_left", Json())),
                       u64(j, "mirrored_writes"));
  }
  if (state == "failed" || state == "stopped") return fmt::format("{}: {}", state, str(j, "reason"));
  return fmt::format("{} ({} copied, {} writes mirrored, {} chunks verified, digest {})", state,
                     mib(u64(j, "bytes_done")), u64(j, "mirrored_writes"), u64(j, "verified_chunks"), str(j, "digest"));
}

bool settled(const std::string& state) {
  return state == "verified" || state == "finished" || state == "failed" || state == "stopped";
}

// Polls the status until the restore is verified (0) or failed or stopped
// (1): a line redrawn on a terminal, a JSON line a second with --json.
int wait_for(const RestoreArgs& args) {
  const bool bar = !args.json && !args.quiet && isatty(STDERR_FILENO);
  for (;;) {
    const Json j = status_of(args.file);
    const std::string state = str(j, "state");
    if (state.empty()) fail("{} has no restore: 'vdiskfs restore start' one", args.file);
    if (args.json) print_json(j);
    else if (bar) std::fprintf(stderr, "\r\033[Krestore %s: %s", args.file.c_str(), status_line(j).c_str());
    if (settled(state)) {
      if (bar) std::fprintf(stderr, "\r\033[K");
      if (!args.json && !args.quiet) std::fprintf(stderr, "restore %s to %s: %s\n", args.file.c_str(),
                                                  str(j, "target").c_str(), status_line(j).c_str());
      return state == "verified" || state == "finished" ? 0 : 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(args.json ? 1000 : 250));
  }
}

// The exposed files of the vdiskfs mounts that have a restore.
std::vector<std::string> files_with_restores() {
  std::vector<std::string> out;
  for (const std::string& mount : mounts_of_type("fuse.vdiskfs")) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(mount, ec)) {
      Json j;
      int err = 0;
      if (read_status(e.path().string(), &j, &err) && !str(j, "state").empty()) out.push_back(e.path().string());
    }
  }
  return out;
}

}  // namespace

int restore_start_command(const RestoreArgs& args) {
  Json req;
  req["op"] = "start";
  req["target"] = absolute_target(args.target);
  req["rate_mib"] = args.rate_mib;
  req["restart"] = args.restart;
  send(args.file, req);
  if (args.wait) return wait_for(args);
  const Json j = status_of(args.file);
  if (args.json) print_json(j);
  else if (!args.quiet)
    std::fprintf(stderr, "restore of %s to %s: %s ('vdiskfs restore status' follows it)\n", args.file.c_str(),
                 str(j, "target").c_str(), status_line(j).c_str());
  return 0;
}

int restore_status_command(const std::vector<std::string>& files, bool json) {
  const std::vector<std::string> list = files.empty() ? files_with_restores() : files;
  Json all = Json::array();
  for (const std::string& file : list) {
    Json j = status_of(file);
    j["path"] = file;
    all.push_back(j);
  }
  if (json) {
    print_json(all);
    return 0;
  }
  if (all.empty()) std::printf("no restores (none running, none recorded)\n");
  for (const Json& j : all)
    std::printf("%s -> %s: %s%s\n", str(j, "path").c_str(), str(j, "target").c_str(), status_line(j).c_str(),
                str(j, "error").empty() ? "" : ("\n  last request refused: " + str(j, "error")).c_str());
  return 0;
}

int restore_wait_command(const RestoreArgs& args) { return wait_for(args); }

int restore_stop_command(const RestoreArgs& args) {
  send(args.file, Json{{"op", "stop"}});
  const Json j = status_of(args.file);
  if (args.json) print_json(j);
  else if (!args.quiet) std::fprintf(stderr, "restore of %s: %s\n", args.file.c_str(), status_line(j).c_str());
  return 0;
}

int restore_finish_command(const RestoreArgs& args) {
  send(args.file, Json{{"op", "finish"}, {"force", args.force}});
  const Json j = status_of(args.file);
  if (args.json) {
    print_json(j);
    return 0;
  }
  std::printf("restore of %s to %s finished: verified, %llu chunks (digest %s); mirroring stopped.\n"
              "Switch the VM to the target:\n  QEMU:    %s\n  libvirt:\n%s\n",
              args.file.c_str(), str(j, "target").c_str(), (unsigned long long)u64(j, "verified_chunks"),
              str(j, "digest").c_str(), str(j, "qemu_drive").c_str(), str(j, "libvirt_disk_xml").c_str());
  return 0;
}

}  // namespace vdiskfs
