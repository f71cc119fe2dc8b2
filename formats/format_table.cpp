#include "formats/format_table.h"

#include "formats/qcow2.h"
#include "formats/vdi.h"
#include "formats/vhd.h"
#include "formats/vmdk.h"

namespace vdiskfs {
namespace {

// The builders of the rows: each names its files by the row's suffixes.
std::vector<ContainerFile> img_files(const ContainerInput& in, const ContainerFormat& f) {
  return {build_raw(in, f.files[0].suffix)};
}
std::vector<ContainerFile> vmdk_files(const ContainerInput& in, const ContainerFormat& f) {
  return {build_vmdk_sparse(in, f.files[0].suffix)};
}
std::vector<ContainerFile> vmdk_flat_files(const ContainerInput& in, const ContainerFormat& f) {
  return {build_raw(in, f.files[0].suffix), build_vmdk_esx_descriptor(in, f.files[1].suffix, f.files[0].suffix)};
}
std::vector<ContainerFile> vhd_files(const ContainerInput& in, const ContainerFormat& f) {
  return {build_vhd_dynamic(in, f.files[0].suffix)};
}
std::vector<ContainerFile> vhd_fixed_files(const ContainerInput& in, const ContainerFormat& f) {
  return {build_vhd_fixed(in, f.files[0].suffix)};
}
std::vector<ContainerFile> vdi_files(const ContainerInput& in, const ContainerFormat& f) {
  return {build_vdi(in, f.files[0].suffix)};
}
std::vector<ContainerFile> qcow2_files(const ContainerInput& in, const ContainerFormat& f) {
  return {build_qcow2(in, f.files[0].suffix)};
}

}  // namespace

const std::vector<ContainerFormat>& container_formats() {
  static const std::vector<ContainerFormat> table = {
      {.name = "img", .files = {{".img", "raw"}}, .build = img_files},
      {.name = "vmdk",
       .files = {{".vmdk", "vmdk"}},
       .unit_bytes = kVmdkGrainBytes,
       .within_other_limit = vmdk_sparse_fits,
       .limit = "VMDK's limit of 2 TiB for headers and data (32-bit sector offsets)",
       .beyond = BeyondLimit::refused,
       .build = vmdk_files},
      {.name = "vmdk-flat", .files = {{"-flat.vmdk", "raw"}, {"-esx.vmdk", "vmdk", true}}, .build = vmdk_flat_files},
      {.name = "vhd",
       .files = {{".vhd", "vpc"}},
       .unit_bytes = kVhdBlockBytes,
       .max_disk_bytes = kVhdMaxBytes,
       .limit = "VHD's limit of 2040 GiB",
       .beyond = BeyondLimit::left_out,
       .build = vhd_files},
      {.name = "vhd-fixed",
       .files = {{"-fixed.vhd", "vpc"}},
       .max_disk_bytes = kVhdMaxBytes,
       .limit = "VHD's limit of 2040 GiB",
       .beyond = BeyondLimit::left_out,
       .build = vhd_fixed_files},
      {.name = "vdi",
       .files = {{".vdi", "vdi"}},
       .unit_bytes = kVdiBlockBytes,
       .max_disk_bytes = kVdiMaxBytes,
       .limit = "VDI's limit of 0xfffffff0 blocks of 1 MiB (almost 4 PiB)",
       .beyond = BeyondLimit::refused,
       .build = vdi_files},
      {.name = "qcow2", .files = {{".qcow2", "qcow2"}}, .unit_bytes = kQcow2ClusterBytes, .build = qcow2_files},
  };
  return table;
}

bool disk_fits(const ContainerFormat& format, const ContainerInput& in) {
  if (format.max_disk_bytes && in.disk->size() > *format.max_disk_bytes) return false;
  return !format.within_other_limit || format.within_other_limit(in);
}

std::string format_suffixes(const ContainerFormat& format, std::string_view separator) {
  std::string out;
  for (const FormatFile& file : format.files) {
    if (!out.empty()) out += separator;
    out += file.suffix;
  }
  return out;
}

}  // namespace vdiskfs
