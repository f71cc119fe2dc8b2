#pragma once
// Frozen layers: the deltas of a disk at the moment it was cloned, kept
// read-only in a folder of their own so that the disk and its clones can
// each go on writing to a delta on top of them.
//
// A layer folder holds the frozen <exposed file>.delta files, the
// base.manifest of the folder they came from, and layer.info:
//
//   vdiskfs-layer 1
//   id        <the layer's name in the catalog>
//   disk      <the disk whose deltas these were: the files are named
//              <disk><suffix>.delta, for exposed file <disk><suffix>>
//   below     <identity the deltas were written against: the disk's
//              identity for the bottom layer, else the identity of the
//              layer under it>
//   identity  <this layer's identity: XXH3-128 of below and of every
//              file line, 32 hex digits>
//   file      <name>.delta <bytes> <XXH3-64 of its bytes, 16 hex digits>
//
// (fields separated by tabs). A layer whose files no longer have the bytes
// recorded, or that is stacked on something other than what it was made
// on, is a linkage fault (DESIGN.md, "Identity and linkage").
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/delta/overlay_file.h"
#include "core/image/image.h"

namespace vdiskfs {

// One frozen delta of a layer, as layer.info records it.
struct LayerFile {
  std::string name;   // "<exposed file>.delta"
  uint64_t bytes = 0;  // its size when frozen
  uint64_t hash = 0;   // XXH3-64 of its bytes when frozen
};

// What layer.info of a layer folder says.
struct LayerInfo {
  std::string dir;       // the layer folder (absolute)
  std::string id;        // its name in the catalog
  std::string disk;      // the disk its files were frozen from
  std::string below;     // identity hex it was written against
  std::string identity;  // its own identity hex
  std::vector<LayerFile> files;
};

// Reads layer.info of layer folder `dir`. Throws Error naming the folder
// when it is missing or not a layer.info.
LayerInfo read_layer_info(const std::string& dir);

// Freezes the deltas of delta folder `delta_dir` of disk `disk` into the
// new layer folder `layer_dir` (created; it must not exist): syncs and
// moves every .delta file that holds writes there (deletes the others),
// copies base.manifest, writes layer.info with `id` and the
// identity the deltas were written against (from the manifest), then makes
// `delta_dir` an empty delta folder over the new layer (its manifest names
// the layer's identity). The deltas must not be open for writing by anyone
// (a mount holding them makes this throw Error naming the file). On any
// error everything moved is put back. Returns the new layer.
LayerInfo freeze_deltas(const std::string& delta_dir, const std::string& layer_dir, const std::string& id,
                        const std::string& disk);

// Freezes the deltas of delta folder `delta_dir` of disk `disk` while they
// are served: `files` are the exposed files' names (<disk><suffix>) and
// overlays. With every file held (no read or write runs), syncs each delta,
// moves those that hold writes into the new layer folder `layer_dir` as
// freeze_deltas does, and restacks each overlay on a new empty delta in
// `delta_dir` written against the layer (the moved delta stays open as its
// read-only layer). Throws Error naming the file; before the restacking,
// everything moved is put back.
LayerInfo freeze_served_deltas(const std::string& delta_dir, const std::string& layer_dir, const std::string& id,
                               const std::string& disk,
                               const std::vector<std::pair<std::string, OverlayFile*>>& files);

// Writes layer.info for the deltas of disk `disk` already moved into
// `layer_dir`. `below` is the identity they were written against. Returns
// what it wrote.
LayerInfo write_layer_info(const std::string& layer_dir, const std::string& id, const std::string& disk,
                           const std::string& below);

// The linkage faults of a stack of layer folders (bottom first) over a disk
// of identity `base_identity` (hex): a layer made over another identity
// (changed source or layout, reordered or missing layer), a frozen file
// written to, cut, replaced or missing since it was frozen. One line each,
// naming the layer folder and what changed; empty when the stack holds.
std::vector<std::string> layer_faults(const std::vector<std::string>& layer_dirs, const std::string& base_identity);

// The identity (hex) of the top of a stack: the last layer's, or
// `base_identity` for none. Throws Error when a layer.info is unreadable.
std::string stack_identity(const std::vector<std::string>& layer_dirs, const std::string& base_identity);

// The bytes of exposed file <disk><suffix> as layer folders (bottom first)
// leave it over `base`: each layer holding the same file of the disk it was
// frozen from (<its disk><suffix>.delta) adds its pages read-only. Throws
// Error when a frozen delta cannot be opened or was written against
// something other than the layer below (another identity or file size).
std::shared_ptr<const Image> stack_layers(const std::vector<std::string>& layer_dirs, const std::string& suffix,
                                          std::shared_ptr<const Image> base, const std::string& base_identity);

}  // namespace vdiskfs
