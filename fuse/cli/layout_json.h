#pragma once
// The layout options of a disk as JSON, as the catalog keeps them: keys
// are LayoutArgs' member names; SOURCE, --chain, -q and what mount sets
// for itself are not part of it.
#include <nlohmann/json.hpp>

#include "fuse/cli/disk_setup.h"

namespace vdiskfs {

// The options of `args` that differ from the defaults, as a JSON object
// ({} when none).
nlohmann::ordered_json layout_options_json(const LayoutArgs& args);

// LayoutArgs for `source` with the options of `json` (a missing key keeps
// its default). Throws nlohmann::json::exception on a value of the wrong
// type.
LayoutArgs layout_args_from_json(const std::string& source, const nlohmann::json& json);

}  // namespace vdiskfs
