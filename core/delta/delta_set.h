#pragma once
// The deltas of one mount: where they live, which base they belong to, and
// the linkage check. A delta directory holds one <file>.delta per exposed
// file and base.manifest, the source manifest the deltas were written
// against, so that a refused mount can say what changed in the source.
#include <memory>
#include <string>
#include <vector>

#include "core/delta/page_store.h"
#include "core/image/image.h"
#include "core/image/identity.h"
#include "core/source/tree.h"

namespace vdiskfs {

enum class DeltaMode { none, memory, directory };

struct DeltaSetOptions {
  DeltaMode mode = DeltaMode::directory;
  std::string dir;       // for DeltaMode::directory
  bool discard = false;  // drop existing deltas and start fresh
  // Frozen layer folders under the deltas, bottom first (a catalog disk
  // with clones, core/delta/frozen_layer.h); empty for a plain disk.
  std::vector<std::string> layers;
  std::string disk_name;  // the disk's name: its exposed files are <disk_name><suffix>
};

class DeltaSet {
 public:
  // Checks (or creates) the delta directory for a disk, and its frozen
  // layers. Throws Error naming what changed when existing deltas belong to
  // another base, or listing the linkage faults of the layers.
  DeltaSet(DeltaSetOptions options, const Identity& identity, const std::string& layout, const Tree& tree);

  // Exposed file `file_name` of the base as the frozen layers leave it
  // (`base` itself without layers): the image its delta is written over.
  // Throws Error for a frozen delta that cannot be read or is misplaced.
  std::shared_ptr<const Image> lower(const std::string& file_name, std::shared_ptr<const Image> base) const;
  // The store for exposed file `file_name` whose lower image is `base_size`
  // bytes.
  std::unique_ptr<PageStore> open(const std::string& file_name, uint64_t base_size) const;
  const std::string& dir() const { return options_.dir; }
  // The identity (hex) the deltas are written against: the disk's, or the
  // top frozen layer's.
  const std::string& identity_hex() const { return identity_hex_; }

 private:
  DeltaSetOptions options_;
  std::string disk_identity_hex_;
  std::string identity_hex_;
};

// What a delta header records as its base: "<identity>|<file>|<bytes>".
std::string delta_base_identity(const std::string& identity_hex, const std::string& file_name, uint64_t base_size);

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

// True when no delta file of folder `dir` holds a written page or a size
// change (also when it has none); a delta that cannot be read counts as
// holding something.
bool deltas_hold_nothing(const std::string& dir);

// The frozen layer folders delta folder `dir` stands on, bottom first, as
// recorded in its layers.list (empty: none). A mount that does not give
// them is refused.
std::vector<std::string> recorded_layers(const std::string& dir);
// Records `layers` in delta folder `dir` (none: removes the record).
// Throws Error.
void record_layers(const std::string& dir, const std::vector<std::string>& layers);

// The manifest file of a delta folder.
std::string manifest_path(const std::string& dir);
// Writes the manifest of `tree` (identity hex, layout, one line per entry).
void write_manifest(const std::string& path, const std::string& identity_hex, const std::string& layout,
                    const Tree& tree);
// The identity hex recorded in the manifest of delta folder `dir`, or ""
// when it has none.
std::string manifest_identity(const std::string& dir);
// Rewrites the identity line of the manifest of delta folder `dir` (a
// delta folder put over a new frozen layer). Throws Error.
void set_manifest_identity(const std::string& dir, const std::string& identity_hex);
// The layout text recorded in the manifest of delta folder `dir` (escaped
// as stored), or "" when it has none.
std::string manifest_layout(const std::string& dir);
// Compares a stored manifest with the current tree; returns human-readable
// lines ("changed size: etc/hosts (120 -> 130 bytes)"), at most `limit`.
std::vector<std::string> manifest_changes(const std::string& path, const std::string& layout,
                                          const Tree& tree, size_t limit);

}  // namespace vdiskfs
