#pragma once
// The deltas of one mount: where they live, which base they belong to, and
// the linkage check. A delta directory holds one <file>.delta per exposed
// file and base.manifest, the source manifest the deltas were written
// against, so that a refused mount can say what changed in the source.
#include <memory>
#include <string>
#include <vector>

#include "core/delta/page_store.h"
#include "core/image/identity.h"
#include "core/source/tree.h"

namespace vdiskfs {

enum class DeltaMode { none, memory, directory };

struct DeltaSetOptions {
  DeltaMode mode = DeltaMode::directory;
  std::string dir;       // for DeltaMode::directory
  bool discard = false;  // drop existing deltas and start fresh
};

class DeltaSet {
 public:
  // Checks (or creates) the delta directory for a disk. Throws Error naming
  // what changed when existing deltas belong to another base.
  DeltaSet(DeltaSetOptions options, const Identity& identity, const std::string& layout, const Tree& tree);

  // The store for exposed file `file_name` of size `base_size`.
  std::unique_ptr<PageStore> open(const std::string& file_name, uint64_t base_size) const;
  const std::string& dir() const { return options_.dir; }

 private:
  std::string base_identity(const std::string& file_name, uint64_t base_size) const;

  DeltaSetOptions options_;
  std::string identity_hex_;
};

// The folder of vdiskfs's state: /var/lib/vdiskfs for root,
// $XDG_STATE_HOME (or ~/.local/state)/vdiskfs otherwise. Deltas and kept
// indexes (index/) live there unless told otherwise.
std::string state_dir();

// The default delta folder of a source: /var/lib/vdiskfs/<name>-<hash> for
// root, $XDG_STATE_HOME (or ~/.local/state)/vdiskfs/<name>-<hash> otherwise.
std::string default_delta_dir(const std::string& name, const std::string& canonical_source);

// The .delta files of a delta folder, sorted, or the file itself.
std::vector<std::string> delta_files(const std::string& path);

// Deletes the deltas and manifest of a delta folder (or one .delta file).
// Returns how many files went.
int discard_deltas(const std::string& path);

// The manifest file of a delta folder.
std::string manifest_path(const std::string& dir);
// Writes the manifest of `tree` (identity, layout, one line per entry).
void write_manifest(const std::string& path, const Identity& identity, const std::string& layout,
                    const Tree& tree);
// The layout text recorded in the manifest of delta folder `dir` (escaped
// as stored), or "" when it has none.
std::string manifest_layout(const std::string& dir);
// Compares a stored manifest with the current tree; returns human-readable
// lines ("changed size: etc/hosts (120 -> 130 bytes)"), at most `limit`.
std::vector<std::string> manifest_changes(const std::string& path, const std::string& layout,
                                          const Tree& tree, size_t limit);

}  // namespace vdiskfs
