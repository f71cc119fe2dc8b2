#pragma once
// `vdiskfs delta info PATH [--json]` and `vdiskfs delta discard PATH`.
#include <string>

namespace vdiskfs {

int delta_info_command(const std::string& path, bool json);
int delta_discard_command(const std::string& path);

}  // namespace vdiskfs
