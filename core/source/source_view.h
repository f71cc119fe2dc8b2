#pragma once
// A source seen through a view: what one volume of a whole-server disk
// holds (issue #15). The view is the subtree of another source at one of
// its directories, with
//  - directories cut: kept as empty directories with their own attributes
//    (the mount points of the volumes below them);
//  - directories added empty where the base has none (a mount point
//    missing from the backup, \EFI\BOOT);
//  - files whose bytes are generated here (the adapted etc/fstab);
//  - files that read the bytes of another of the view's files (the ESP's
//    \EFI\BOOT\BOOTX64.EFI reading the backup's own loader): no copy.
// Everything else, attributes, xattrs, holes and hard links (within the
// view), is the base's; reads of file data go to the base source.
#include <cstdint>
#include <string>
#include <vector>

#include "core/source/source.h"

namespace vdiskfs {

// What a view shows of its base. Paths are relative, '/'-separated, without
// "." or ".." ("etc/fstab"); "" is the root.
struct ViewSpec {
  std::string root;              // base path of the directory the view starts at
  // When the base has no `root`: an empty view whose root has the base
  // root's owners and times, mode 0755 (a mount point missing from the
  // backup), instead of an Error.
  bool missing_root_empty = false;
  std::vector<std::string> cut;  // view paths of directories kept empty
  // View paths of directories to add where the base has none (attributes of
  // the view's root, mode 0755). Parents are added the same way.
  std::vector<std::string> added_dirs;
  // A file whose bytes are given: replaces the base's entry at `path`
  // (keeping its owners, mode and times when it was a regular file; else
  // those of the view's root with mode 0644).
  struct Generated {
    std::string path;
    std::string bytes;
  };
  std::vector<Generated> generated;
  // A file at `path` that reads the bytes of the view's regular file
  // `target` (its attributes too); it is a file of its own, not a hard link.
  struct Alias {
    std::string path;
    std::string target;
  };
  std::vector<Alias> aliases;
  std::string describe;  // what messages call the view ("directory /srv/web01, /boot")
};

class SourceView final : public Source {
 public:
  // Builds the view's tree from `base`, which must outlive it. Throws Error
  // when the root is not a directory of the base, or a target of an alias
  // is not a regular file of the view.
  SourceView(const Source& base, const ViewSpec& spec);

  std::string describe() const override { return describe_; }
  const Tree& tree() const override { return tree_; }
  Status read_file(uint32_t node, uint64_t offset, uint8_t* buf, size_t len) const override;
  // The base's order, mapped to the view's files; the view's own files last.
  void data_order(std::vector<uint32_t>& files) const override;

 private:
  const Source& base_;
  std::string describe_;
  Tree tree_;
  // Per view node: the base node it reads (kGenerated bit clear) or the
  // index of its bytes in generated_ (kGenerated bit set).
  std::vector<uint64_t> origin_;
  std::vector<std::string> generated_;
};

}  // namespace vdiskfs
