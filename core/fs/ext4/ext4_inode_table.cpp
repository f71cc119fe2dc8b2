#include "core/fs/ext4/ext4_inode_table.h"

#include <sys/sysmacros.h>

#include <algorithm>
#include <cstring>

#include "core/image/endian.h"
#include "core/fs/ext4/ext4_extent_tree.h"
#include "core/fs/ext4/ext4_format.h"
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
void put_time(uint8_t* inode, uint32_t base_off, uint32_t extra_off, Timestamp t) {
  constexpr int64_t kMin = -(int64_t(1) << 31), kMax = (int64_t(1) << 34) - (int64_t(1) << 31) - 1;
  int64_t sec = t.sec;
  uint32_t nsec = t.nsec;
  if (sec <= kMin) sec = kMin, nsec = 0;
  if (sec >= kMax) sec = kMax, nsec = 0;
  const uint32_t epoch = uint32_t(((sec - int64_t(int32_t(sec))) >> 32) & 3);
  put_le32(inode + base_off, uint32_t(int32_t(sec)));
  put_le32(inode + extra_off, epoch | nsec << 2);
}

void put_times(uint8_t* p, Timestamp atime, Timestamp mtime, Timestamp ctime, Timestamp crtime) {
  put_time(p, ino::atime, ino::atime_extra, atime);
  put_time(p, ino::mtime, ino::mtime_extra, mtime);
  put_time(p, ino::ctime, ino::ctime_extra, ctime);
  put_time(p, ino::crtime, ino::crtime_extra, crtime);
}

// i_links_count of a non-directory: at most kMaxLinks, as layout() checked.
void put_links(uint8_t* p, uint32_t nlink) { put_le16(p + ino::links_count, uint16_t(nlink)); }

void put_blocks(uint8_t* p, uint64_t fs_blocks) {
  const uint64_t sectors = fs_blocks * (kBlockSize / 512);
  put_le32(p + ino::blocks_lo, uint32_t(sectors));
  put_le16(p + ino::blocks_high, uint16_t(sectors >> 32));
}

void put_size(uint8_t* p, uint64_t size) {
  put_le32(p + ino::size_lo, uint32_t(size));
  put_le32(p + ino::size_high, uint32_t(size >> 32));
}

void put_owner(uint8_t* p, uint32_t uid, uint32_t gid) {
  put_le16(p + ino::uid, uint16_t(uid));
  put_le16(p + ino::uid_high, uint16_t(uid >> 16));
  put_le16(p + ino::gid, uint16_t(gid));
  put_le16(p + ino::gid_high, uint16_t(gid >> 16));
}

// i_block and i_blocks of an object that has blocks (dir, file, slow link).
void put_extents(const Plan& plan, uint32_t key, const Placement& place, uint8_t* p) {
  put_le32(p + ino::flags, kInodeFlagExtents);
  auto it = plan.complex.find(key);
  if (it != plan.complex.end()) {
    std::memcpy(p + ino::block, it->second.i_block, ino::kBlockBytes);
    put_blocks(p, it->second.blocks);
    return;
  }
  FileExtent extents[kInodeExtentSlots];
  size_t n = 0;
  for (uint32_t done = 0; done < place.block_count;) {
    const uint32_t len = std::min(place.block_count - done, kMaxInitExtentLen);
    extents[n++] = {done, len, place.first_block + done};
    done += len;
  }
  write_inline_extents(extents, n, p + ino::block);
  put_blocks(p, place.block_count);
}

// The device number, old or new encoding; the fitting left out numbers
// beyond the new one's 12-bit major and 20-bit minor.
void put_device(uint8_t* p, uint64_t rdev) {
  const uint32_t major_n = major(rdev), minor_n = minor(rdev);
  if (major_n < 256 && minor_n < 256) {
    put_le32(p + ino::block, major_n << 8 | minor_n);  // old encoding
  } else {
    put_le32(p + ino::block + 4, (minor_n & 0xff) | (major_n << 8) | ((minor_n & ~0xffu) << 12));
  }
}

}  // namespace

void InodeTableImage::write_inode(uint64_t ino_nr, uint8_t* p) const {
  std::memset(p, 0, kInodeSize);
  const Plan& plan = *plan_;
  const uint32_t node_id = plan.inodes.node_of(ino_nr);
  if (node_id == kNoIndex) return;  // reserved or free: all zeros
  put_le16(p + ino::extra_isize, kExtraIsize);
  if (node_id == kLostFoundDir) {
    const Timestamp t = Timestamp::from_ns(plan.options.timestamp_ns);
    put_le16(p + ino::mode, S_IFDIR | 0700);
    put_le16(p + ino::links_count, 2);
    put_size(p, kBlockSize);
    put_times(p, t, t, t, t);
    put_extents(plan, kLostFoundDir, plan.lost_found_placement, p);
    return;
  }
  const Node& n = plan.tree.nodes[node_id];
  if (n.flags & Node::kXattrs) write_inode_xattrs(plan.tree, node_id, p);  // the plan warned about misfits
  put_le16(p + ino::mode, uint16_t(n.mode));
  put_owner(p, n.uid, n.gid);
  put_times(p, n.atime, n.mtime, n.ctime, n.btime.is_zero() ? n.ctime : n.btime);
  const Placement& place = plan.placement[node_id];
  switch (n.mode & S_IFMT) {
    case S_IFDIR:
      put_le16(p + ino::links_count, uint16_t(plan.dir_links(node_id)));
      put_size(p, uint64_t(place.block_count) * kBlockSize);
      put_extents(plan, node_id, place, p);
      break;
    case S_IFREG:
      put_links(p, n.nlink);
      put_size(p, n.size);
      put_extents(plan, node_id, place, p);
      break;
    case S_IFLNK: {
      put_links(p, n.nlink);
      put_size(p, n.size);
      if (n.size <= kFastSymlinkMax) {
        const auto target = plan.tree.link_target(n);
        std::memcpy(p + ino::block, target.data(), target.size());
      } else {
        put_extents(plan, node_id, place, p);
      }
      break;
    }
    case S_IFCHR:
    case S_IFBLK:
      put_links(p, n.nlink);
      put_device(p, n.aux);
      break;
    default:  // fifo, socket
      put_links(p, n.nlink);
      break;
  }
  if (const uint32_t xattr_block = (n.flags & Node::kXattrs) ? plan.xattr_block_of(node_id) : 0) {
    put_le32(p + ino::file_acl_lo, xattr_block);
    // i_blocks counts the xattr block too.
    const uint64_t sectors = get_le32(p + ino::blocks_lo) | uint64_t(get_le16(p + ino::blocks_high)) << 32;
    put_blocks(p, sectors / (kBlockSize / 512) + 1);
  }
}

Status InodeTableImage::read(uint64_t offset, uint8_t* buf, size_t len) const {
  uint8_t tmp[kInodeSize];
  uint64_t pos = offset;
  const uint64_t end = offset + len;
  while (pos < end) {
    const uint64_t index = pos / kInodeSize;
    const uint64_t inner = pos % kInodeSize;
    const uint64_t n = std::min<uint64_t>(kInodeSize - inner, end - pos);
    if (inner == 0 && n == kInodeSize) {
      write_inode(index + 1, buf + (pos - offset));
    } else {
      write_inode(index + 1, tmp);
      std::memcpy(buf + (pos - offset), tmp + inner, n);
    }
    pos += n;
  }
  return Status::ok;
}

}  // namespace vdiskfs::ext4
