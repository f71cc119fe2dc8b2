#pragma once
// The table of container formats: one row per name users give to
// --formats, with the files it exposes, its limit and its builder. The
// command line (help, --formats), the mount, `vdiskfs info --json` and the
// tests (through info --json) all read it; a new format is a new row.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/container.h"

namespace vdiskfs {

// One file a format exposes, as "<name><suffix>".
struct FormatFile {
  std::string_view suffix;       // ".vmdk", "-flat.vmdk", ...
  std::string_view qemu_format;  // QEMU's name for its format (qemu-img -f, -drive format=)
  bool descriptor = false;       // a text file naming another file of the row, holding no disk bytes
};

// What a chosen format does when the disk is beyond its limit.
enum class BeyondLimit {
  left_out,  // its files are left out, with a warning naming the limit
  refused,   // the mount fails, naming the limit
};

// One container format.
struct ContainerFormat {
  std::string_view name;         // as users give it to --formats
  std::vector<FormatFile> files = {};  // in the order the builder returns them
  // The allocation unit of a sparse container in bytes (only units that
  // hold data take room); nullopt: not sparse.
  std::optional<uint64_t> unit_bytes = std::nullopt;
  // The largest disk in bytes, when the limit is one of the disk's size.
  std::optional<uint64_t> max_disk_bytes = std::nullopt;
  // A limit of another kind, or nullptr: whether the disk is within it.
  bool (*within_other_limit)(const ContainerInput&) = nullptr;
  std::string_view limit = "";  // the limit in words, "" if none: "VHD's limit of 2040 GiB"
  BeyondLimit beyond = BeyondLimit::refused;
  // The files of the format for a disk within its limit, one per entry of
  // `files`, each with its suffix; throws Error when it cannot build them.
  std::vector<ContainerFile> (*build)(const ContainerInput&, const ContainerFormat&) = nullptr;
};

// Every format, in the order the files are built and listed.
const std::vector<ContainerFormat>& container_formats();

// Whether the disk of `in` is within the limit of `format` (true for a
// format without one).
bool disk_fits(const ContainerFormat& format, const ContainerInput& in);

// The suffixes of the files of `format`, joined by `separator`.
std::string format_suffixes(const ContainerFormat& format, std::string_view separator);

}  // namespace vdiskfs
