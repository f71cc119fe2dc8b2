#include "fuse/export_command.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/error.h"
#include "core/log.h"

namespace vdiskfs {
namespace {

bool all_zero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i]) return false;
  return true;
}

}  // namespace

int export_command(const ExportArgs& args) {
  PreparedDisk prepared = prepare_disk(args.layout);
  const Image& image = *prepared.disk.image;
  const int fd = open(args.output.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) fail("cannot create {}: {}", args.output, strerror(errno));
  constexpr size_t kChunk = 1 << 20;
  std::vector<uint8_t> buf(kChunk);
  for (uint64_t off = 0; off < image.size(); off += kChunk) {
    const size_t n = size_t(std::min<uint64_t>(kChunk, image.size() - off));
    if (!ok(image.read(off, buf.data(), n))) {
      close(fd);
      unlink(args.output.c_str());
      fail("reading the disk at offset {} failed; see the log above", off);
    }
    if (all_zero(buf.data(), n)) continue;  // leave a hole
    if (pwrite(fd, buf.data(), n, off_t(off)) != ssize_t(n)) {
      const int err = errno;
      close(fd);
      unlink(args.output.c_str());
      fail("writing {} at offset {}: {}", args.output, off, strerror(err));
    }
  }
  if (ftruncate(fd, off_t(image.size())) != 0 || fsync(fd) != 0 || close(fd) != 0)
    fail("finishing {}: {}", args.output, strerror(errno));
  if (!args.layout.quiet) log_info("wrote {} ({} bytes)", args.output, image.size());
  return 0;
}

int info_command(const LayoutArgs& args, bool json) {
  PreparedDisk prepared = prepare_disk(args);
  const Disk& d = prepared.disk;
  const Tree& tree = prepared.source->tree();
  nlohmann::json j = {
      {"source", prepared.source_path},
      {"entries", tree.dirents.size() + 1},
      {"inodes_used", tree.nodes.size()},
      {"data_bytes", tree.data_bytes()},
      {"disk_bytes", d.image->size()},
      {"partition_offset", d.partition_offset},
      {"partition_bytes", d.partition_size},
      {"ext4_uuid", uuid_to_string(d.fs_uuid)},
      {"identity", d.identity.hex()},
      {"ext4_blocks", d.volume.blocks},
      {"ext4_free_blocks", d.volume.free_blocks},
      {"ext4_inodes", d.volume.inodes},
      {"ext4_free_inodes", d.volume.free_inodes},
      {"extent_map_entries", d.volume.extents},
      {"skeleton_bytes", d.volume.skeleton_bytes},
      {"scan_seconds", prepared.scan_seconds},
      {"layout_seconds", prepared.layout_seconds},
  };
  if (json) {
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    for (auto& [key, value] : j.items()) std::printf("%-20s %s\n", key.c_str(), value.dump().c_str());
  }
  return 0;
}

}  // namespace vdiskfs
