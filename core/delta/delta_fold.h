#pragma once
// Folding one disk's deltas into another's: the pages and sizes of each
// <from name><suffix>.delta rewritten as <to name><suffix>.delta with the
// header the other disk's mount expects (a clone merged into its parent).
#include <string>

namespace vdiskfs {

// Replaces the deltas of delta folder `to_dir` (exposed files named
// `to_name` + suffix) with copies of those of `from_dir` (named `from_name`
// + suffix), written against identity `identity_hex` (the top of the layers
// both stand on); copies from_dir's manifest too. Each new delta is built
// beside its target and renamed over it, so a crash leaves the old or the
// new file. Throws Error naming the file (in use, unreadable, disk full).
// Returns the bytes of pages copied.
uint64_t fold_deltas(const std::string& from_dir, const std::string& from_name, const std::string& to_dir,
                     const std::string& to_name, const std::string& identity_hex);

}  // namespace vdiskfs
