#include "formats/registry.h"

#include <algorithm>
#include <sstream>

#include "core/image/error.h"
#include "formats/qcow2.h"
#include "formats/vdi.h"
#include "formats/vhd.h"
#include "formats/vmdk.h"

namespace vdiskfs {

const std::vector<std::string>& all_format_names() {
  static const std::vector<std::string> names = {"img", "vmdk", "vmdk-flat", "vhd", "vhd-fixed", "vdi", "qcow2"};
  return names;
}

std::vector<std::string> parse_formats(const std::string& list) {
  if (list.empty() || list == "all") return all_format_names();
  std::vector<std::string> chosen;
  std::stringstream in(list);
  std::string name;
  while (std::getline(in, name, ',')) {
    const auto& all = all_format_names();
    if (std::find(all.begin(), all.end(), name) == all.end())
      fail("unknown format '{}' in --formats; choose from img, vmdk, vmdk-flat, vhd, vhd-fixed, vdi, qcow2", name);
    if (std::find(chosen.begin(), chosen.end(), name) == chosen.end()) chosen.push_back(name);
  }
  if (chosen.empty()) fail("--formats names no format");
  return chosen;
}

std::vector<ContainerFile> build_containers(const ContainerInput& in, const std::vector<std::string>& formats) {
  auto wanted = [&](const char* name) { return std::find(formats.begin(), formats.end(), name) != formats.end(); };
  std::vector<ContainerFile> files;
  const uint64_t raw_allocated = [&] {
    uint64_t n = 0;
    for (const ByteRange& r : in.data) n += r.length;
    return n;
  }();
  if (wanted("img")) files.push_back({".img", in.disk, raw_allocated});
  if (wanted("vmdk")) files.push_back(build_vmdk_sparse(in));
  if (wanted("vmdk-flat")) {
    files.push_back({"-flat.vmdk", in.disk, raw_allocated});
    files.push_back(build_vmdk_esx_descriptor(in));
  }
  if (wanted("vhd"))
    if (auto f = build_vhd_dynamic(in)) files.push_back(std::move(*f));
  if (wanted("vhd-fixed"))
    if (auto f = build_vhd_fixed(in)) files.push_back(std::move(*f));
  if (wanted("vdi")) files.push_back(build_vdi(in));
  if (wanted("qcow2")) files.push_back(build_qcow2(in));
  return files;
}

}  // namespace vdiskfs
