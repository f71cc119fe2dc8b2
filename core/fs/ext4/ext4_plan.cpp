#include "core/fs/ext4/ext4_plan.h"

#include <algorithm>

#include "core/image/arith.h"
#include "core/image/error.h"
#include "core/fs/ext4/ext4_allocator.h"
#include "core/fs/ext4/ext4_directory.h"
#include "core/fs/ext4/ext4_extent_tree.h"
#include "core/fs/ext4/ext4_format.h"
#include "core/fs/ext4/ext4_xattr.h"
#include "core/image/log.h"

namespace vdiskfs::ext4 {

uint32_t Geometry::group_blocks(uint32_t g) const {
  const uint64_t start = uint64_t(g) * kBlocksPerGroup;
  return uint32_t(std::min<uint64_t>(kBlocksPerGroup, blocks - start));
}

bool Geometry::has_backup(uint32_t g) {
  if (g <= 1) return true;
  for (uint32_t base : {3u, 5u, 7u}) {
    uint64_t p = base;
    while (p < g) p *= base;
    if (p == g) return true;
  }
  return false;
}

uint32_t InodeNumbers::node_of(uint64_t ino) const {
  if (ino == 2) return 0;
  if (synth_lost_found && ino == 11) return kLostFoundDir;
  if (ino < first_node_ino || ino > last_used()) return kNoIndex;
  return uint32_t(ino - first_node_ino + 1);
}

uint32_t Plan::dir_entry_count(uint32_t dir) const {
  if (dir == kLostFoundDir) return 2;
  const uint32_t extra = (dir == 0 && inodes.synth_lost_found) ? 1 : 0;
  return 2 + extra + tree.child_count(tree.nodes[dir]);
}

uint32_t Plan::dir_links(uint32_t node) const {
  const uint32_t links = tree.nodes[node].nlink + ((node == 0 && inodes.synth_lost_found) ? 1 : 0);
  return links > kMaxLinks ? 1 : links;
}

uint32_t Plan::xattr_block_of(uint32_t node) const {
  const auto it = std::lower_bound(xattr_block_nodes.begin(), xattr_block_nodes.end(), node);
  if (it == xattr_block_nodes.end() || *it != node) return 0;
  return xattr_block_at[size_t(it - xattr_block_nodes.begin())];
}

namespace {

// Geometry for `groups` groups of `ipg` inodes; places the GDT, bitmaps and
// inode tables from block 0 on (recording them in plan.used).
Geometry make_geometry(uint64_t blocks, uint32_t groups, uint32_t ipg, std::vector<BlockRun>& used) {
  Geometry g;
  g.blocks = blocks;
  g.groups = groups;
  g.inodes_per_group = ipg;
  g.gdt_blocks = uint32_t(div_up(uint64_t(groups) * kGroupDescSize, kBlockSize));
  g.itable_blocks_per_group = ipg / kInodesPerBlock;
  used.clear();
  used.push_back({0, 1 + g.gdt_blocks});  // boot block + superblock, GDT
  Allocator alloc(1 + g.gdt_blocks, g.gdt_blocks, &used);
  std::vector<BlockRun> runs;
  for (auto* where : {&g.block_bitmap, &g.inode_bitmap}) {
    runs.clear();
    alloc.take(groups, runs);
    for (const BlockRun& r : runs)
      for (uint32_t i = 0; i < r.count; ++i) where->push_back(r.start + i);
  }
  for (uint32_t i = 0; i < groups; ++i) g.inode_table.push_back(alloc.take_contiguous(g.itable_blocks_per_group));
  g.metadata_end = alloc.cursor();
  return g;
}

// Logical block ranges of a regular file: its data segments rounded out to
// whole blocks and merged.
void file_block_ranges(const Tree& tree, uint32_t node, std::vector<DataSegment>& segs,
                       std::vector<BlockRun>& out) {
  out.clear();
  tree.data_segments(node, segs);
  for (const DataSegment& s : segs) {
    const uint64_t first = s.offset / kBlockSize;
    const uint64_t end = div_up(s.offset + s.length, kBlockSize);
    if (end > 0xffffffffull) fail("file {} is larger than ext4's 16 TiB file limit", tree.relative_path(node));
    if (!out.empty() && out.back().start + out.back().count >= first) {
      out.back().count = uint32_t(std::max<uint64_t>(out.back().start + out.back().count, end) - out.back().start);
    } else {
      out.push_back({uint32_t(first), uint32_t(end - first)});
    }
  }
}

// One layout pass for a given geometry; `emit` fills the map and skeleton.
class LayoutPass {
 public:
  LayoutPass(Plan& plan, bool emit)
      : plan_(plan), emit_(emit), alloc_(plan.geo.metadata_end, plan.geo.gdt_blocks, &plan.used) {}

  size_t extents_emitted() const { return extent_count_; }

  uint64_t run() {
    const Tree& tree = plan_.tree;
    plan_.placement.assign(tree.nodes.size(), Placement{});
    plan_.complex.clear();
    plan_.data_blocks = 0;
    place_directories();
    place_symlinks();
    place_xattr_blocks();
    if (plan_.data_order.empty()) {
      for (uint32_t n = 0; n < tree.nodes.size(); ++n)
        if (tree.nodes[n].is_regular()) place_file(n);
    } else {
      for (uint32_t n : plan_.data_order) place_file(n);
    }
    return alloc_.cursor();
  }

 private:
  // Records an object's extents: simple placement or a complex inode with
  // its tree blocks allocated right after its data.
  void record(uint32_t key, const std::vector<FileExtent>& extents, uint64_t data_blocks) {
    // Simple: one run from logical block 0, physically and logically dense.
    const bool contiguous = !extents.empty() && extents.front().logical == 0 &&
                            extents.size() <= kInodeExtentSlots &&
                            extents.back().logical + extents.back().length == data_blocks &&
                            extents.back().physical + extents.back().length - extents.front().physical ==
                                data_blocks;
    if (extents.empty() || contiguous) {
      Placement p{extents.empty() ? 0 : extents.front().physical, uint32_t(data_blocks)};
      if (key == kLostFoundDir) plan_.lost_found_placement = p;
      else plan_.placement[key] = p;
      return;
    }
    ComplexInode ci{};
    const uint32_t tree_count = extent_tree_block_count(extents.size());
    ci.blocks = data_blocks + tree_count;
    if (tree_count == 0) {
      write_inline_extents(extents.data(), extents.size(), ci.i_block);
    } else {
      runs_.clear();
      alloc_.take(tree_count, runs_);
      std::vector<uint32_t> blocks;
      for (const BlockRun& r : runs_)
        for (uint32_t i = 0; i < r.count; ++i) blocks.push_back(r.start + i);
      std::vector<uint8_t> bytes(size_t(tree_count) * kBlockSize);
      write_extent_tree(extents, blocks, bytes.data(), ci.i_block);
      uint64_t skel = plan_.skeleton.size();
      for (const BlockRun& r : runs_) {
        emit_extent({uint64_t(r.start) * kBlockSize, uint64_t(r.count) * kBlockSize, skel, 0,
                     ExtentKind::skeleton});
        skel += uint64_t(r.count) * kBlockSize;
      }
      if (emit_) plan_.skeleton.insert(plan_.skeleton.end(), bytes.begin(), bytes.end());
    }
    plan_.complex.emplace(key, ci);
  }

  void place_generated(uint32_t key, uint64_t space_block, uint32_t count, VolumeChild child) {
    runs_.clear();
    alloc_.take(count, runs_);
    extents_.clear();
    append_extents(0, runs_, extents_);
    uint64_t logical = 0;
    for (const BlockRun& r : runs_) {
      emit_extent({uint64_t(r.start) * kBlockSize, uint64_t(r.count) * kBlockSize,
                   (space_block + logical) * kBlockSize, child, ExtentKind::image});
      logical += r.count;
    }
    record(key, extents_, count);
  }

  void place_directories() {
    const Tree& tree = plan_.tree;
    plan_.dir_blocks.clear();
    for (uint32_t n = 0; n < tree.nodes.size(); ++n) {
      if (!tree.nodes[n].is_dir()) continue;
      const uint64_t space = plan_.dir_blocks.size();
      const uint32_t count = plan_directory_blocks(plan_, n, plan_.dir_blocks);
      place_generated(n, space, count, kChildDirBlocks);
      if (n == 0 && plan_.inodes.synth_lost_found) {
        const uint64_t lf_space = plan_.dir_blocks.size();
        plan_directory_blocks(plan_, kLostFoundDir, plan_.dir_blocks);
        place_generated(kLostFoundDir, lf_space, 1, kChildDirBlocks);
      }
    }
  }

  void place_symlinks() {
    const Tree& tree = plan_.tree;
    plan_.symlink_blocks.clear();
    for (uint32_t n = 0; n < tree.nodes.size(); ++n) {
      const Node& node = tree.nodes[n];
      if (!node.is_symlink() || node.size <= kFastSymlinkMax) continue;
      const uint64_t space = plan_.symlink_blocks.size();
      plan_.symlink_blocks.push_back(n);
      place_generated(n, space, 1, kChildSymlinkBlocks);
    }
  }

  void place_xattr_blocks() {
    plan_.xattr_block_at.clear();
    for (size_t i = 0; i < plan_.xattr_block_nodes.size(); ++i) {
      runs_.clear();
      alloc_.take(1, runs_);
      emit_extent({uint64_t(runs_[0].start) * kBlockSize, kBlockSize, uint64_t(i) * kBlockSize,
                   kChildXattrBlocks, ExtentKind::image});
      plan_.xattr_block_at.push_back(runs_[0].start);
    }
  }

  void place_file(uint32_t n) {
    const Node& node = plan_.tree.nodes[n];
    file_block_ranges(plan_.tree, n, segs_, ranges_);
    extents_.clear();
    uint64_t data_blocks = 0;
    for (const BlockRun& range : ranges_) {
      runs_.clear();
      alloc_.take(range.count, runs_);
      append_extents(range.start, runs_, extents_);
      data_blocks += range.count;
      uint64_t logical = range.start;
      for (const BlockRun& r : runs_) {
        const uint64_t file_off = logical * kBlockSize;
        const uint64_t len = std::min<uint64_t>(uint64_t(r.count) * kBlockSize, node.size - file_off);
        emit_extent({uint64_t(r.start) * kBlockSize, len, file_off, plan_.source_node(n), ExtentKind::source});
        logical += r.count;
      }
    }
    plan_.data_blocks += data_blocks;
    record(n, extents_, data_blocks);
  }

  // Adds a map extent (final pass) or only counts it (probe pass).
  void emit_extent(const Extent& e) {
    ++extent_count_;
    if (emit_) plan_.map.add(e);
  }

  Plan& plan_;
  bool emit_;
  size_t extent_count_ = 0;
  Allocator alloc_;
  std::vector<BlockRun> runs_, ranges_;
  std::vector<FileExtent> extents_;
  std::vector<DataSegment> segs_;
};

// Blocks in use: every run the allocator handed out plus the backups.
void compute_usage(Plan& plan) {
  const Geometry& geo = plan.geo;
  for (uint32_t g = 1; g < geo.groups; ++g) {
    if (!Geometry::has_backup(g)) continue;
    const uint64_t start = uint64_t(g) * kBlocksPerGroup;
    const uint64_t end = std::min<uint64_t>(start + 1 + geo.gdt_blocks, geo.blocks);
    plan.used.push_back({uint32_t(start), uint32_t(end - start)});
  }
  std::sort(plan.used.begin(), plan.used.end(),
            [](const BlockRun& a, const BlockRun& b) { return a.start < b.start; });
  std::vector<BlockRun> merged;
  for (const BlockRun& r : plan.used) {
    if (!merged.empty() && uint64_t(merged.back().start) + merged.back().count >= r.start) {
      const uint64_t end = std::max<uint64_t>(uint64_t(merged.back().start) + merged.back().count,
                                              uint64_t(r.start) + r.count);
      merged.back().count = uint32_t(end - merged.back().start);
    } else {
      merged.push_back(r);
    }
  }
  plan.used.swap(merged);
  plan.group_free_blocks.assign(geo.groups, 0);
  for (uint32_t g = 0; g < geo.groups; ++g) plan.group_free_blocks[g] = geo.group_blocks(g);
  uint64_t used_total = 0;
  for (const BlockRun& r : plan.used) {
    used_total += r.count;
    uint64_t b = r.start;
    const uint64_t end = uint64_t(r.start) + r.count;
    while (b < end) {
      const uint32_t g = uint32_t(b / kBlocksPerGroup);
      const uint64_t group_end = std::min<uint64_t>(uint64_t(g + 1) * kBlocksPerGroup, end);
      plan.group_free_blocks[g] -= uint32_t(group_end - b);
      b = group_end;
    }
  }
  plan.free_blocks = geo.blocks - used_total;
  plan.group_used_dirs.assign(geo.groups, 0);
  const uint32_t ipg = geo.inodes_per_group;
  for (uint32_t n = 0; n < plan.tree.nodes.size(); ++n)
    if (plan.tree.nodes[n].is_dir()) ++plan.group_used_dirs[(plan.inodes.ino(n) - 1) / ipg];
  if (plan.inodes.synth_lost_found) ++plan.group_used_dirs[(plan.inodes.lost_found_ino() - 1) / ipg];
}

// Lists the nodes whose xattrs need a block (those that fit nowhere are
// fit notes of ext4_fit: the writers leave them out).
void plan_xattrs(Plan& plan) {
  const Tree& tree = plan.tree;
  plan.xattr_block_nodes.clear();
  for (size_t i = 0; i < tree.xattrs.size();) {
    const uint32_t node = tree.xattrs[i].node;
    const XattrFit fit = fit_xattrs(tree, node);
    if (fit.needs_block) plan.xattr_block_nodes.push_back(node);
    while (i < tree.xattrs.size() && tree.xattrs[i].node == node) ++i;
  }
  std::sort(plan.xattr_block_nodes.begin(), plan.xattr_block_nodes.end());
}

// Fails when a non-directory has more names than an inode holds: the
// fitting (ext4_fit) splits those, so this is a bug, never the source's.
void check_link_counts(const Tree& tree) {
  for (uint32_t n = 0; n < tree.nodes.size(); ++n)
    if (!tree.nodes[n].is_dir() && tree.nodes[n].nlink > kMaxLinks)
      fail("internal error: {} has {} names after the fitting, more than ext4's {}", tree.relative_path(n),
           tree.nodes[n].nlink, kMaxLinks);
}

// The error `what` for a volume over 16 TiB, saying how much split files add.
[[noreturn]] void fail_too_large(const Plan& plan, const std::string& what) {
  if (!plan.fitted || plan.fitted->split_inodes == 0) throw Error(what);
  fail("{}; {} inode(s) were added for files with more than {} names, and each inode's data counts in the "
       "volume (a split file's data counts once per inode)",
       what, plan.fitted->split_inodes, plan.options.limits.max_links);
}

// The probe pass's end of allocation; its error for too many blocks names
// the split files' share.
uint64_t probe_end(Plan& plan, LayoutPass& probe) {
  try {
    return probe.run();
  } catch (const Error& e) {
    fail_too_large(plan, e.what());
  }
}

}  // namespace

void layout(Plan& plan) {
  const Tree& tree = plan.tree;
  if (tree.nodes.empty() || !tree.nodes[0].is_dir()) fail("internal error: tree has no root directory");
  // A lost+found is synthesized unless the source brings its own.
  bool has_lost_found = false;
  const Node& root = tree.nodes[0];
  for (uint32_t i = 0; i < tree.child_count(root); ++i) {
    const Dirent& d = tree.dirents[tree.child_begin(root) + i];
    if (tree.name(d) == "lost+found") has_lost_found = true;
  }
  plan.inodes.synth_lost_found = !has_lost_found;
  check_link_counts(tree);
  plan_xattrs(plan);
  plan.inodes.node_count = uint32_t(tree.nodes.size());
  plan.inodes.first_node_ino = has_lost_found ? 11 : 12;
  const uint64_t used_inodes = plan.inodes.last_used();
  // s_inodes_count is 32 bits: at most 131071 groups of 32768 inodes.
  constexpr uint64_t kMaxInodes = (0xffffffffull / kBlocksPerGroup) * 32768;
  if (used_inodes > kMaxInodes) fail("the source holds {} entries, more than ext4's {} inodes", used_inodes, kMaxInodes);

  uint32_t groups = 1, ipg = 16;
  for (int pass = 0;; ++pass) {
    if (pass > 50) fail("internal error: ext4 geometry did not converge");
    plan.geo = make_geometry(uint64_t(groups) * kBlocksPerGroup, groups, ipg, plan.used);
    plan.map = ExtentMap();
    plan.skeleton.clear();
    LayoutPass probe(plan, false);
    const uint64_t alloc_end = probe_end(plan, probe);
    const size_t extents_needed = probe.extents_emitted();
    // Volume = data + metadata + free space, rounded to 1 MiB.
    const uint64_t data_meta = alloc_end * kBlockSize;
    const uint64_t free_bytes = std::max(plan.options.free_space.resolve(data_meta), plan.options.min_free_bytes);
    uint64_t blocks = div_up(alloc_end + div_up(free_bytes, kBlockSize), 256) * 256;
    const uint64_t want_inodes = std::min(
        kMaxInodes, used_inodes + std::max<uint64_t>({used_inodes / 5, free_bytes / 65536, 1024}));
    uint64_t need_groups = std::max<uint64_t>(div_up(blocks, kBlocksPerGroup), div_up(want_inodes, 32768));
    need_groups = std::max<uint64_t>(need_groups, groups);
    if (need_groups > 0xffffffffull / kBlocksPerGroup) fail_too_large(plan, "the volume would exceed 16 TiB");
    uint64_t new_ipg = div_up(div_up(want_inodes, need_groups), kInodesPerBlock) * kInodesPerBlock;
    new_ipg = std::clamp<uint64_t>(std::max<uint64_t>(new_ipg, ipg), kInodesPerBlock, 32768);
    if (need_groups == groups && new_ipg == ipg) {
      blocks = std::max<uint64_t>(blocks, uint64_t(groups - 1) * kBlocksPerGroup + 2048);
      blocks = std::min<uint64_t>(blocks, uint64_t(groups) * kBlocksPerGroup);
      plan.geo = make_geometry(blocks, groups, ipg, plan.used);
      plan.map = ExtentMap();
      // Exact size up front: no growth copies of a million-entry map.
      plan.map.reserve(extents_needed + 3 * size_t(groups) + 64);
      plan.skeleton.clear();
      LayoutPass final_pass(plan, true);
      const uint64_t end = final_pass.run();
      if (end != alloc_end) fail("internal error: ext4 layout is not stable");
      compute_usage(plan);
      return;
    }
    groups = uint32_t(need_groups);
    ipg = uint32_t(new_ipg);
  }
}

}  // namespace vdiskfs::ext4
