#include "fuse/cli/fstab_args.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "core/image/error.h"

namespace vdiskfs {
namespace {

// mount(8)'s options that concern the mount as a whole, not vdiskfs; FUSE
// mounts are nodev and nosuid for users anyway.
bool generic_mount_option(std::string_view key) {
  static constexpr std::array<std::string_view, 22> kGeneric = {
      "rw",      "defaults", "dev",         "nodev",   "suid",     "nosuid",   "exec",   "noexec",
      "auto",    "noauto",   "user",        "nouser",  "users",    "owner",    "nofail", "_netdev",
      "atime",   "noatime",  "relatime",    "norelatime", "strictatime", "lazytime"};
  return std::find(kGeneric.begin(), kGeneric.end(), key) != kGeneric.end() || key.rfind("x-", 0) == 0 ||
         key == "comment";
}

bool fuse_option(std::string_view key) {
  return key == "allow_other" || key == "allow_root" || key == "default_permissions" || key == "auto_unmount";
}

// The `mount` arguments of one fstab option `opt`, appended to `out`.
void translate(const std::string& opt, const CLI::App& mount_cmd, std::vector<std::string>& out) {
  const size_t eq = opt.find('=');
  const std::string key = opt.substr(0, eq);
  std::string value = eq == std::string::npos ? "" : opt.substr(eq + 1);
  if (opt.empty() || generic_mount_option(key)) return;
  if (opt == "ro") return out.push_back("--read-only");
  if (fuse_option(key)) {
    out.insert(out.end(), {"-o", opt});
    return;
  }
  const CLI::Option* o = key.size() > 1 ? mount_cmd.get_option_no_throw("--" + key) : nullptr;
  if (!o || key == "help")
    throw Error("fstab option '" + opt + "' is not an option of vdiskfs mount (see vdiskfs mount --help; FUSE's own: " +
                "allow_other, allow_root, default_permissions, auto_unmount)");
  const bool flag = o->get_type_size() == 0;
  if (flag && eq != std::string::npos) throw Error("fstab option '" + opt + "' is a flag: write it as '" + key + "'");
  if (!flag && value.empty()) throw Error("fstab option '" + key + "' needs a value: " + key + "=VALUE");
  out.push_back("--" + key);
  if (key == "formats") std::replace(value.begin(), value.end(), '+', ',');
  if (!flag) out.push_back(value);
}

}  // namespace

std::optional<std::vector<std::string>> fstab_mount_args(const std::vector<std::string>& args, const CLI::App& app,
                                                         const CLI::App& mount_cmd) {
  if (args.size() < 2 || args[0].empty() || args[0][0] == '-') return std::nullopt;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    if (sub->check_name(args[0])) return std::nullopt;
  std::vector<std::string> out = {"mount", args[0], args[1]};
  for (size_t i = 2; i < args.size(); ++i) {
    if (args[i] != "-o" || i + 1 == args.size())
      throw Error("vdiskfs SOURCE MOUNTPOINT takes only -o OPTIONS (the form mount.fuse3 runs for an fstab line); "
                  "did you mean vdiskfs mount?");
    std::string_view list = args[++i];
    for (size_t start = 0; start <= list.size();) {
      const size_t comma = std::min(list.find(',', start), list.size());
      translate(std::string(list.substr(start, comma - start)), mount_cmd, out);
      start = comma + 1;
    }
  }
  return out;
}

}  // namespace vdiskfs
