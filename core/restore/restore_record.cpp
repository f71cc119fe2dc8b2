#include "core/restore/restore_record.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/image/error.h"
#include "core/image/io.h"

namespace vdiskfs {
namespace {

nlohmann::json runs_json(const std::vector<ChunkRun>& runs) {
  nlohmann::json out = nlohmann::json::array();
  for (const ChunkRun& r : runs) out.push_back({r.first, r.count});
  return out;
}

std::vector<ChunkRun> runs_of(const nlohmann::json& j) {
  std::vector<ChunkRun> out;
  for (const auto& r : j) out.push_back({r.at(0).get<uint64_t>(), r.at(1).get<uint64_t>()});
  return out;
}

}  // namespace

std::vector<ChunkRun> chunk_runs(const std::vector<bool>& flags) {
  std::vector<ChunkRun> out;
  for (uint64_t i = 0; i < flags.size(); ++i) {
    if (!flags[i]) continue;
    if (!out.empty() && out.back().first + out.back().count == i) ++out.back().count;
    else out.push_back({i, 1});
  }
  return out;
}

void set_chunk_runs(const std::vector<ChunkRun>& runs, std::vector<bool>& flags) {
  for (const ChunkRun& r : runs)
    for (uint64_t i = r.first; i < r.first + r.count && i < flags.size(); ++i) flags[i] = true;
}

bool load_restore_record(const std::string& path, RestoreRecord* out) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream text;
  text << in.rdbuf();
  try {
    const nlohmann::json j = nlohmann::json::parse(text.str());
    if (j.at("version").get<int>() != RestoreRecord::kVersion)
      fail("restore record {} is of version {}, this vdiskfs reads version {}: use the vdiskfs that wrote it, or "
           "remove it to start over",
           path, j.at("version").get<int>(), RestoreRecord::kVersion);
    RestoreRecord r;
    r.file = j.at("file").get<std::string>();
    r.target = j.at("target").get<std::string>();
    r.identity = j.at("identity").get<std::string>();
    r.disk_bytes = j.at("disk_bytes").get<uint64_t>();
    r.chunk_bytes = j.at("chunk_bytes").get<uint32_t>();
    r.state = j.at("state").get<std::string>();
    r.reason = j.at("reason").get<std::string>();
    r.target_zeroed = j.at("target_zeroed").get<bool>();
    r.free_zeroed = j.at("free_zeroed").get<bool>();
    r.copied = runs_of(j.at("copied"));
    r.dirty = runs_of(j.at("dirty"));
    r.mirrored_writes = j.at("mirrored_writes").get<uint64_t>();
    r.mirrored_bytes = j.at("mirrored_bytes").get<uint64_t>();
    r.verified_chunks = j.at("verified_chunks").get<uint64_t>();
    r.repaired_chunks = j.at("repaired_chunks").get<uint64_t>();
    r.digest = j.at("digest").get<uint64_t>();
    r.started_ns = j.at("started_ns").get<int64_t>();
    r.updated_ns = j.at("updated_ns").get<int64_t>();
    if (r.chunk_bytes == 0 || r.chunk_bytes % 4096) fail("restore record {}: chunk_bytes {} is not whole pages", path, r.chunk_bytes);
    *out = std::move(r);
    return true;
  } catch (const nlohmann::json::exception& e) {
    fail("restore record {} cannot be read ({}): remove it to start the restore over", path, e.what());
  }
}

std::string save_restore_record(const std::string& path, const RestoreRecord& r) {
  const nlohmann::json j = {{"version", RestoreRecord::kVersion},
                            {"file", r.file},
                            {"target", r.target},
                            {"identity", r.identity},
                            {"disk_bytes", r.disk_bytes},
                            {"chunk_bytes", r.chunk_bytes},
                            {"state", r.state},
                            {"reason", r.reason},
                            {"target_zeroed", r.target_zeroed},
                            {"free_zeroed", r.free_zeroed},
                            {"copied", runs_json(r.copied)},
                            {"dirty", runs_json(r.dirty)},
                            {"mirrored_writes", r.mirrored_writes},
                            {"mirrored_bytes", r.mirrored_bytes},
                            {"verified_chunks", r.verified_chunks},
                            {"repaired_chunks", r.repaired_chunks},
                            {"digest", r.digest},
                            {"started_ns", r.started_ns},
                            {"updated_ns", r.updated_ns}};
  const std::string text = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  const std::string tmp = path + ".tmp";
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return "cannot write " + tmp + ": " + strerror(errno);
  const IoResult w = pwrite_full(fd, text.data(), text.size(), 0);
  const bool ok = w.complete() && fsync(fd) == 0;
  const int err = w.end == IoEnd::failed ? w.error : errno;
  close(fd);
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    unlink(tmp.c_str());
    return "cannot write " + path + ": " + strerror(ok ? errno : (err ? err : ENOSPC));
  }
  return "";
}

}  // namespace vdiskfs
