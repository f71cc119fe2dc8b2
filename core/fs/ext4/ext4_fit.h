#pragma once
// What a source holds that ext4 cannot: the tree a volume is built from,
// fitted to ext4's limits. A name longer than 255 bytes, a symlink target
// longer than 4095 bytes and a file larger than 16 TiB - 4 KiB are left
// out (a directory with everything below it); a directory whose entries
// would pass 4 GiB (i_size without large_dir) keeps the entries that fit;
// a file with more than 65000 names gets several inodes of at most 65000
// names each, whose data reads the same source bytes (nothing is copied;
// each inode has blocks of its own, so e2fsck sees no shared blocks).
// Every change is a FitNote naming the entry. Path lengths have no limit
// in ext4; inode counts are bounded by the layout (ext4_plan). A device
// number beyond major 4095 or minor 2^20 - 1 (Linux's dev_t, ext4's
// encoding) is left out too. A time in 2310-04-04 .. 2378-04-22, which
// e2fsck (before 2242) takes for a mis-encoded pre-1970 one, is stored as
// the nearest time it accepts. Extended attributes ext4 cannot hold get a
// note (the xattr writers leave them out).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/source/tree.h"
#include "core/fs/ext4/ext4_format.h"

namespace vdiskfs::ext4 {

// The limits the fitting applies: ext4's own (tests shrink them).
struct Limits {
  uint32_t max_links = kMaxLinks;                   // names of one non-directory inode
  uint32_t max_name = 255;                          // bytes of one name
  uint64_t max_symlink = kBlockSize - 1;            // bytes of a symlink target (one block, NUL)
  uint64_t max_file_size = 0xffffffffull * kBlockSize;  // the kernel's s_maxbytes for extent files
  uint64_t max_dir_blocks = (1ull << 32) / kBlockSize - 1;  // directory i_size below 4 GiB
};

// One change the fitting made to an entry of the source.
struct FitNote {
  std::string path;     // the entry, relative to the root
  std::string problem;  // what ext4 cannot hold ("a name of 300 bytes, more than ext4's 255")
  std::string action;   // what the disk holds instead ("left out")
};

// The fitted tree, where each node reads its data from a node of the
// source's tree (split inodes read their original's).
struct FittedTree {
  Tree tree;
  std::vector<uint32_t> source_node;  // per node of `tree`
  std::vector<uint32_t> data_order;   // regular files of `tree` in the source's data order
  uint32_t split_inodes = 0;          // inodes added for files with too many names
};

// `t`, or the nearest time e2fsck accepts when `t` is in 2310-04-04 ..
// 2378-04-22: 2310-04-04 16:10:39.999999999 or 2378-04-22 19:24:48 UTC.
Timestamp fsck_safe_time(Timestamp t);

// Fits `tree` to `limits`; appends a note per change to `notes`. Returns
// nullptr when the tree fits as it is (no copy is made). `data_order`
// lists the source's regular files in data order (empty: tree order);
// split inodes follow their original in the fitted order.
std::unique_ptr<FittedTree> fit_tree(const Tree& tree, const Limits& limits,
                                     const std::vector<uint32_t>& data_order, std::vector<FitNote>& notes);

// Logs one warning line per note under a header; with `strict`, throws
// Error naming the first note instead.
void report_fit(const std::vector<FitNote>& notes, bool strict);

}  // namespace vdiskfs::ext4
