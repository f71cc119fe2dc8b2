#pragma once
// `vdiskfs delta info PATH [--json]` and `vdiskfs delta discard PATH`.
#include <nlohmann/json.hpp>
#include <string>

namespace vdiskfs {

// Facts about one delta file (path, base identity, exposed file, sizes,
// bytes held, times), read without disturbing a mount that uses it.
// Throws Error when it is not a delta.
nlohmann::ordered_json delta_file_json(const std::string& path);

int delta_info_command(const std::string& path, bool json);
int delta_discard_command(const std::string& path);

}  // namespace vdiskfs
