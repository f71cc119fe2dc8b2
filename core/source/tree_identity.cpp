#include "core/source/tree_identity.h"

#include <xxhash.h>

namespace vdiskfs {

Identity compute_identity(const Tree& tree, std::string_view layout_options) {
  XXH3_state_t* st = XXH3_createState();
  XXH3_128bits_reset(st);
  XXH3_128bits_update(st, layout_options.data(), layout_options.size());
  for (const Node& n : tree.nodes) {
    const uint64_t fields[] = {n.mode, n.uid, n.gid, n.nlink, n.mtime.wrapped_ns(), n.size,
                               n.is_dir() ? 0 : n.aux, n.flags};
    XXH3_128bits_update(st, fields, sizeof fields);
    if (n.is_symlink()) {
      auto target = tree.link_target(n);
      XXH3_128bits_update(st, target.data(), target.size());
    }
  }
  for (const Dirent& d : tree.dirents) {
    const uint32_t fields[] = {d.parent, d.node, d.name_len};
    XXH3_128bits_update(st, fields, sizeof fields);
    auto name = tree.name(d);
    XXH3_128bits_update(st, name.data(), name.size());
  }
  XXH3_128bits_update(st, tree.segments.data(), tree.segments.size() * sizeof(DataSegment));
  for (const Xattr& x : tree.xattrs) {
    XXH3_128bits_update(st, &x.node, sizeof x.node);
    const auto name = tree.xattr_name(x), value = tree.xattr_value(x);
    XXH3_128bits_update(st, name.data(), name.size());
    XXH3_128bits_update(st, value.data(), value.size());
  }
  const XXH128_hash_t h = XXH3_128bits_digest(st);
  XXH3_freeState(st);
  return Identity{h.high64, h.low64};
}

}  // namespace vdiskfs
