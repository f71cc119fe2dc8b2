#pragma once
// The layout of a synthesized ext4 volume: geometry, inode numbers and where
// every directory, symlink and file lives. Built once at mount in
// O(number of files); the generators (inode table, bitmaps, directory
// blocks) compute metadata bytes from it on demand, so memory stays small.
//
// Layout, in 4 KiB blocks (flex_bg puts all group metadata up front):
//   0: boot sector + superblock | GDT | block bitmaps | inode bitmaps |
//   inode tables | directory blocks | slow-symlink blocks | xattr blocks |
//   file data (+ extent tree blocks of fragmented files) | free space.
// Sparse-super backups (superblock + GDT) sit at the start of groups 1 and
// powers of 3, 5, 7; allocation steps around them.
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/image/extent_map.h"
#include "core/image/identity.h"
#include "core/image/size_parse.h"
#include "core/source/tree.h"
#include "core/fs/ext4/ext4_fit.h"
#include "core/fs/ext4/ext4_format.h"
#include "core/fs/ext4/ext4_format_inode.h"

namespace vdiskfs::ext4 {

struct Options {
  Uuid uuid{};                  // filesystem UUID
  std::string label;            // up to 16 bytes
  SizeSpec free_space{0, 20, true};  // room left for writes
  uint64_t min_free_bytes = 256ull << 20;
  int64_t timestamp_ns = 0;     // superblock times (stable per source)
  Uuid hash_seed{};
  bool strict = false;  // an entry beyond ext4's limits fails the build (Error) instead of a warning
  Limits limits;        // ext4's limits (tests shrink them)
};

struct Geometry {
  uint64_t blocks = 0;
  uint32_t groups = 0;
  uint32_t inodes_per_group = 0;
  uint32_t gdt_blocks = 0;
  uint32_t itable_blocks_per_group = 0;
  // Where each group's metadata lives (flex_bg: all near the start).
  std::vector<uint32_t> block_bitmap, inode_bitmap, inode_table;
  uint64_t metadata_end = 0;  // allocation continues from here

  uint64_t inodes_count() const { return uint64_t(groups) * inodes_per_group; }
  uint32_t group_blocks(uint32_t g) const;
  // True for groups that hold a superblock backup (sparse_super rule).
  static bool has_backup(uint32_t group);
};

// A contiguous run of physical blocks.
struct BlockRun {
  uint32_t start;
  uint32_t count;
};

// An extent in ext4's sense: logical block -> physical block.
struct FileExtent {
  uint32_t logical;
  uint32_t length;  // <= kMaxInitExtentLen
  uint32_t physical;
};

// Where a node's blocks are when they are one contiguous run mapped by at
// most four extents (the common case: the inode's extent header is
// generated on the fly).
struct Placement {
  uint32_t first_block = 0;
  uint32_t block_count = 0;
};

// A node whose extents do not fit the simple case: its i_block bytes and
// block count (data + extent tree blocks) are kept.
struct ComplexInode {
  uint8_t i_block[sizeof(Inode::i_block)];
  uint64_t blocks = 0;  // fs blocks, data plus tree
};

// One block of directory content: which directory, and the index of its
// first entry among the directory's entries (".", "..", [lost+found],
// children...). The special dir kLostFoundDir is the synthesized one.
struct DirBlockRef {
  uint32_t dir;
  uint32_t first_entry;
};
inline constexpr uint32_t kLostFoundDir = 0xfffffffeu;

// Inode numbers: the root is 2, a synthesized lost+found 11, and nodes
// 1..N-1 follow in tree order, so the mapping is arithmetic.
struct InodeNumbers {
  bool synth_lost_found = false;
  uint32_t node_count = 0;
  uint32_t first_node_ino = kFirstInoValue;

  static constexpr uint32_t kFirstInoValue = 11;
  uint32_t ino(uint32_t node) const { return node == 0 ? 2 : first_node_ino + node - 1; }
  uint32_t lost_found_ino() const { return 11; }
  uint32_t last_used() const { return node_count > 1 ? ino(node_count - 1) : (synth_lost_found ? 11 : 10); }
  // Node for an inode number; kNoIndex for reserved or unused inodes and
  // kLostFoundDir for the synthesized lost+found.
  uint32_t node_of(uint64_t ino) const;
};

class Plan {
 public:
  Plan(const Tree& tree, Options options) : tree(tree), options(std::move(options)) {}

  const Tree& tree;  // the source's tree, or fitted->tree
  Options options;
  // The tree fitted to ext4's limits when the source's did not fit; keeps
  // `tree` alive then. Null when the source's tree is used as it is.
  std::shared_ptr<const FittedTree> fitted;
  // Regular files in the order their data is laid out: the source's own
  // order (Source::data_order), so that reading the disk front to back
  // reads the source front to back.
  std::vector<uint32_t> data_order;
  Geometry geo;
  InodeNumbers inodes;
  std::vector<Placement> placement;  // per node; unused for devices etc.
  Placement lost_found_placement;
  std::unordered_map<uint32_t, ComplexInode> complex;
  std::vector<DirBlockRef> dir_blocks;     // directory-block space, in order
  std::vector<uint32_t> symlink_blocks;    // node per slow-symlink block
  std::vector<uint32_t> xattr_block_nodes; // node per xattr block, in node order
  std::vector<uint32_t> xattr_block_at;    // the physical block of each
  std::vector<BlockRun> used;              // sorted, merged used blocks (with backups)
  uint64_t free_blocks = 0;
  std::vector<uint32_t> group_free_blocks;
  std::vector<uint32_t> group_used_dirs;
  uint64_t data_blocks = 0;

  // Filled by the layout: file data and directory/symlink blocks.
  ExtentMap map;
  std::vector<uint8_t> skeleton;  // extent tree blocks (sb and GDT added later)

  // The source node whose data `node` reads (a split inode reads its original's).
  uint32_t source_node(uint32_t node) const { return fitted ? fitted->source_node[node] : node; }
  uint64_t free_inodes() const { return geo.inodes_count() - inodes.last_used(); }
  uint32_t dir_links(uint32_t node) const;
  // The xattr block of a node (its i_file_acl), or 0 for none.
  uint32_t xattr_block_of(uint32_t node) const;
  // Number of directory entries (with "." and "..") of a directory.
  uint32_t dir_entry_count(uint32_t dir) const;
};

// Computes the whole layout. Throws Error when the tree cannot fit ext4
// (more than 2^32 blocks, say).
void layout(Plan& plan);

// Child image indices of the volume's extent map.
enum VolumeChild : uint32_t {
  kChildInodeTable = 0,
  kChildBlockBitmaps = 1,
  kChildInodeBitmaps = 2,
  kChildDirBlocks = 3,
  kChildSymlinkBlocks = 4,
  kChildXattrBlocks = 5,
  kVolumeChildCount = 6,
};

}  // namespace vdiskfs::ext4
