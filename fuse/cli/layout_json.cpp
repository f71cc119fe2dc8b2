#include "fuse/cli/layout_json.h"

namespace vdiskfs {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(LayoutArgs, filesystem, layout, layout_from, swap, table, uuid, label,
                                                free_space, min_free, strict, fstab_identity, xattrs, one_file_system,
                                                bios_boot, skip_unsupported, local_time, cluster_size, credentials,
                                                timeout_seconds, connections, cache_size, cache_dir, cache_dir_size,
                                                cache_policy, restart_limit, at, index_dir, keep_index)

nlohmann::ordered_json layout_options_json(const LayoutArgs& args) {
  const nlohmann::json given = args, defaults = LayoutArgs{};
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& [key, value] : given.items())
    if (value != defaults.at(key)) out[key] = value;
  return out;
}

LayoutArgs layout_args_from_json(const std::string& source, const nlohmann::json& json) {
  LayoutArgs args = json.get<LayoutArgs>();
  args.source = source;
  return args;
}

}  // namespace vdiskfs
