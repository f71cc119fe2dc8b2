#pragma once
// The progress record of a restore: what a stopped, crashed or unmounted
// restore leaves so that `vdiskfs restore start` continues where it was.
// One JSON file per exposed file, `<file>.restore` in the delta folder,
// written to a temporary name and renamed, and only after the target was
// flushed, so what it calls copied is on the target.
#include <cstdint>
#include <string>
#include <vector>

namespace vdiskfs {

// Runs of chunk numbers: {first, count}.
struct ChunkRun {
  uint64_t first = 0;
  uint64_t count = 0;
};

struct RestoreRecord {
  static constexpr int kVersion = 1;
  std::string file;      // the exposed file's name
  std::string target;    // as given to restore start
  std::string identity;  // the disk's identity and the file's size: a record of another disk is not resumed
  uint64_t disk_bytes = 0;
  uint32_t chunk_bytes = 0;
  std::string state;   // copying, verifying, verified, finished, failed, stopped
  std::string reason;  // why it failed
  bool target_zeroed = false;      // the target read as zeros when this restore created it
  bool free_zeroed = false;        // the free space of a target that did not start zeroed was zeroed
  std::vector<ChunkRun> copied;    // chunks on the target (flushed)
  std::vector<ChunkRun> dirty;     // chunks the guest wrote since the start (mirrored)
  uint64_t mirrored_writes = 0;
  uint64_t mirrored_bytes = 0;
  uint64_t verified_chunks = 0;
  uint64_t repaired_chunks = 0;    // verification found them different and wrote them again
  uint64_t digest = 0;             // XXH3-64 over the per-chunk XXH3-64 hashes, in disk order
  int64_t started_ns = 0;          // wall clock
  int64_t updated_ns = 0;
};

// Reads the record at `path`. Returns false when there is none; throws
// Error naming the file when it exists but cannot be read or is not a
// record of this version.
bool load_restore_record(const std::string& path, RestoreRecord* out);
// Writes the record (temporary file, fsync, rename). Returns "" or why not.
std::string save_restore_record(const std::string& path, const RestoreRecord& r);

// Runs of the numbers whose flag is set in `flags`, and back.
std::vector<ChunkRun> chunk_runs(const std::vector<bool>& flags);
void set_chunk_runs(const std::vector<ChunkRun>& runs, std::vector<bool>& flags);

}  // namespace vdiskfs
