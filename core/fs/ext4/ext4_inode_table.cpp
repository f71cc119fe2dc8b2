#include "core/fs/ext4/ext4_inode_table.h"

#include "core/image/generated_units.h"

#include <sys/sysmacros.h>

#include <algorithm>
#include <cstring>

#include "core/fs/ext4/ext4_extent_tree.h"
#include "core/fs/ext4/ext4_format.h"
#include "core/fs/ext4/ext4_format_inode.h"
#include "core/fs/ext4/ext4_xattr.h"

namespace vdiskfs::ext4 {
namespace {

// Stores a time as ext4 does (kernel Documentation/filesystems/ext4,
// "Inode Timestamps"; ext4_encode_extra_time): the low 32 bits of the
// seconds, signed, in the base field; two epoch bits (seconds - base) >> 32
// and the nanoseconds in the extra field: 1901-12-13 20:45:52 ..
// 2446-05-10 22:38:55. A time outside is clamped to the end it passed with
// 0 ns, as the kernel's timestamp_truncate() stores it when tar extracts
// such a time onto ext4, and so is a time exactly at either end. Times
// that e2fsck takes for mis-encoded pre-1970 ones (2310..2378) were moved
// by the fitting (ext4_fit: fsck_safe_time).
void put_time(le32& base, le32& extra, Timestamp t) {
  constexpr int64_t kMin = -(int64_t(1) << 31), kMax = (int64_t(1) << 34) - (int64_t(1) << 31) - 1;
  int64_t sec = t.sec;
  uint32_t nsec = t.nsec;
  if (sec <= kMin) sec = kMin, nsec = 0;
  if (sec >= kMax) sec = kMax, nsec = 0;
  const uint32_t epoch = uint32_t(((sec - int64_t(int32_t(sec))) >> 32) & 3);
  base = uint32_t(int32_t(sec));
  extra = epoch | nsec << 2;
}

void put_times(Inode& in, Timestamp atime, Timestamp mtime, Timestamp ctime, Timestamp crtime) {
  put_time(in.i_atime, in.i_atime_extra, atime);
  put_time(in.i_mtime, in.i_mtime_extra, mtime);
  put_time(in.i_ctime, in.i_ctime_extra, ctime);
  put_time(in.i_crtime, in.i_crtime_extra, crtime);
}

// i_links_count of a non-directory: at most kMaxLinks, as layout() checked.
void put_links(Inode& in, uint32_t nlink) { in.i_links_count = uint16_t(nlink); }

void put_blocks(Inode& in, uint64_t fs_blocks) {
  const uint64_t sectors = fs_blocks * (kBlockSize / 512);
  in.i_blocks_lo = uint32_t(sectors);
  in.l_i_blocks_high = uint16_t(sectors >> 32);
}

void put_size(Inode& in, uint64_t size) {
  in.i_size_lo = uint32_t(size);
  in.i_size_high = uint32_t(size >> 32);
}

void put_owner(Inode& in, uint32_t uid, uint32_t gid) {
  in.i_uid = uint16_t(uid);
  in.l_i_uid_high = uint16_t(uid >> 16);
  in.i_gid = uint16_t(gid);
  in.l_i_gid_high = uint16_t(gid >> 16);
}

// The bytes of i_block, where the extent tree's root or a fast symlink's
// target goes.
uint8_t* i_block_bytes(Inode& in) { return reinterpret_cast<uint8_t*>(in.i_block); }

// i_block and i_blocks of an object that has blocks (dir, file, slow link).
void put_extents(const Plan& plan, uint32_t key, const Placement& place, Inode& in) {
  in.i_flags = kInodeFlagExtents;
  auto it = plan.complex.find(key);
  if (it != plan.complex.end()) {
    std::memcpy(i_block_bytes(in), it->second.i_block, sizeof in.i_block);
    put_blocks(in, it->second.blocks);
    return;
  }
  FileExtent extents[kInodeExtentSlots];
  size_t n = 0;
  for (uint32_t done = 0; done < place.block_count;) {
    const uint32_t len = std::min(place.block_count - done, kMaxInitExtentLen);
    extents[n++] = {done, len, place.first_block + done};
    done += len;
  }
  write_inline_extents(extents, n, i_block_bytes(in));
  put_blocks(in, place.block_count);
}

// The device number, old encoding in i_block[0] or new in i_block[1]; the
// fitting left out numbers beyond the new one's 12-bit major and 20-bit
// minor.
void put_device(Inode& in, uint64_t rdev) {
  const uint32_t major_n = major(rdev), minor_n = minor(rdev);
  if (major_n < 256 && minor_n < 256) {
    in.i_block[0] = major_n << 8 | minor_n;
  } else {
    in.i_block[1] = (minor_n & 0xff) | (major_n << 8) | ((minor_n & ~0xffu) << 12);
  }
}

// The inode of `node_id` (a node of the tree or kLostFoundDir).
Inode make_inode(const Plan& plan, uint32_t node_id) {
  Inode in{};
  in.i_extra_isize = kExtraIsize;
  if (node_id == kLostFoundDir) {
    const Timestamp t = Timestamp::from_ns(plan.options.timestamp_ns);
    in.i_mode = S_IFDIR | 0700;
    in.i_links_count = 2;
    put_size(in, kBlockSize);
    put_times(in, t, t, t, t);
    put_extents(plan, kLostFoundDir, plan.lost_found_placement, in);
    return in;
  }
  const Node& n = plan.tree.nodes[node_id];
  if (n.flags & Node::kXattrs) write_inode_xattrs(plan.tree, node_id, in);  // the plan warned about misfits
  in.i_mode = uint16_t(n.mode);
  put_owner(in, n.uid, n.gid);
  put_times(in, n.atime, n.mtime, n.ctime, n.btime.is_zero() ? n.ctime : n.btime);
  const Placement& place = plan.placement[node_id];
  switch (n.mode & S_IFMT) {
    case S_IFDIR:
      in.i_links_count = uint16_t(plan.dir_links(node_id));
      put_size(in, uint64_t(place.block_count) * kBlockSize);
      put_extents(plan, node_id, place, in);
      break;
    case S_IFREG:
      put_links(in, n.nlink);
      put_size(in, n.size);
      put_extents(plan, node_id, place, in);
      break;
    case S_IFLNK: {
      put_links(in, n.nlink);
      put_size(in, n.size);
      if (n.size <= kFastSymlinkMax) {
        const auto target = plan.tree.link_target(n);
        std::memcpy(i_block_bytes(in), target.data(), target.size());
      } else {
        put_extents(plan, node_id, place, in);
      }
      break;
    }
    case S_IFCHR:
    case S_IFBLK:
      put_links(in, n.nlink);
      put_device(in, n.aux);
      break;
    default:  // fifo, socket
      put_links(in, n.nlink);
      break;
  }
  if (const uint32_t xattr_block = (n.flags & Node::kXattrs) ? plan.xattr_block_of(node_id) : 0) {
    in.i_file_acl_lo = xattr_block;
    // i_blocks counts the xattr block too.
    const uint64_t sectors = in.i_blocks_lo | uint64_t(in.l_i_blocks_high) << 32;
    put_blocks(in, sectors / (kBlockSize / 512) + 1);
  }
  return in;
}

}  // namespace

void InodeTableImage::write_inode(uint64_t ino_nr, uint8_t* p) const {
  const uint32_t node_id = plan_->inodes.node_of(ino_nr);
  // Reserved or free: all zeros.
  store(p, node_id == kNoIndex ? Inode{} : make_inode(*plan_, node_id));
}

Status InodeTableImage::read(uint64_t offset, uint8_t* buf, size_t len) const {
  return read_generated_units<kInodeSize>(offset, buf, len,
                                          [this](uint64_t index, uint8_t* p) { write_inode(index + 1, p); });
}

}  // namespace vdiskfs::ext4
