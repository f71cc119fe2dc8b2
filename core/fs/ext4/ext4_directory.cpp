#include "core/fs/ext4/ext4_directory.h"

#include <sys/stat.h>

#include <cstring>


namespace vdiskfs::ext4 {

DirFileType file_type_of(uint32_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return DirFileType::regular;
    case S_IFDIR: return DirFileType::directory;
    case S_IFCHR: return DirFileType::char_device;
    case S_IFBLK: return DirFileType::block_device;
    case S_IFIFO: return DirFileType::fifo;
    case S_IFSOCK: return DirFileType::socket;
    case S_IFLNK: return DirFileType::symlink;
  }
  return DirFileType::unknown;
}

DirEntry directory_entry(const Plan& plan, uint32_t dir, uint32_t index) {
  const InodeNumbers& in = plan.inodes;
  if (dir == kLostFoundDir) {
    if (index == 0) return {in.lost_found_ino(), ".", DirFileType::directory};
    return {kRootIno, "..", DirFileType::directory};
  }
  const Node& node = plan.tree.nodes[dir];
  if (index == 0) return {in.ino(dir), ".", DirFileType::directory};
  if (index == 1) {
    const uint32_t parent = dir == 0 ? 0 : plan.tree.dirents[node.first_link].parent;
    return {in.ino(parent), "..", DirFileType::directory};
  }
  index -= 2;
  if (dir == 0 && in.synth_lost_found) {
    if (index == 0) return {in.lost_found_ino(), "lost+found", DirFileType::directory};
    --index;
  }
  const Dirent& d = plan.tree.dirents[plan.tree.child_begin(node) + index];
  return {in.ino(d.node), plan.tree.name(d), file_type_of(plan.tree.nodes[d.node].mode)};
}

uint32_t plan_directory_blocks(const Plan& plan, uint32_t dir, std::vector<DirBlockRef>& out) {
  const uint32_t count = plan.dir_entry_count(dir);
  uint32_t blocks = 1;
  uint32_t used = 0;
  out.push_back({dir, 0});
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t size = dirent_size(uint32_t(directory_entry(plan, dir, i).name.size()));
    if (used + size > kBlockSize) {
      out.push_back({dir, i});
      ++blocks;
      used = 0;
    }
    used += size;
  }
  return blocks;
}

void write_directory_block(const Plan& plan, uint32_t dir, uint32_t first, uint32_t end,
                           uint8_t* block) {
  std::memset(block, 0, kBlockSize);
  uint32_t pos = 0;
  uint8_t* last = nullptr;
  for (uint32_t i = first; i < end; ++i) {
    const DirEntry e = directory_entry(plan, dir, i);
    const uint32_t size = dirent_size(uint32_t(e.name.size()));
    uint8_t* p = block + pos;
    DirEntry2 h{};
    h.inode = e.ino;
    h.rec_len = uint16_t(size);
    h.name_len = uint8_t(e.name.size());
    h.file_type = uint8_t(e.type);
    store(p, h);
    std::memcpy(p + sizeof(DirEntry2), e.name.data(), e.name.size());
    last = p;
    pos += size;
  }
  if (last) {
    DirEntry2 h = load<DirEntry2>(last);
    h.rec_len = uint16_t(block + kBlockSize - last);  // last entry spans the rest
    store(last, h);
  } else {
    DirEntry2 h{};  // an empty block: one unused entry covering it
    h.inode = 0;
    h.rec_len = uint16_t(kBlockSize);
    store(block, h);
  }
}

}  // namespace vdiskfs::ext4
