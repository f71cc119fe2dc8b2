#include "core/fs/swap_area.h"

#include <fmt/core.h>

#include <cstring>
#include <memory>
#include <vector>

#include "core/image/error.h"
#include "core/image/extent_map.h"
#include "core/image/mapped_image.h"

namespace vdiskfs {
namespace {

// Throws Error when build_swap cannot take `options`, naming the value and
// the rule.
void check_swap_options(const SwapOptions& options) {
  const uint64_t bytes = options.bytes;
  if (bytes % kSwapPageBytes != 0)
    fail("swap size {} bytes is not a multiple of the {}-byte page", bytes, kSwapPageBytes);
  if (bytes / kSwapPageBytes < kSwapMinPages)
    fail("swap size {} bytes is under {} pages ({} bytes), the least mkswap makes", bytes, kSwapMinPages,
         kSwapMinPages * kSwapPageBytes);
  if (bytes / kSwapPageBytes > kSwapMaxPages)
    fail("swap size {} bytes is over 2^32 pages ({} bytes), the most a swap header counts", bytes,
         kSwapMaxPages * kSwapPageBytes);
  if (options.label.size() > kSwapMaxLabelBytes)
    fail("swap label '{}' is longer than the {} bytes a swap header holds", options.label, kSwapMaxLabelBytes);
}

// The header page of an area of `pages` pages.
SwapHeader swap_header(const SwapOptions& options, uint64_t pages) {
  SwapHeader h{};
  h.version = kSwapVersion;
  h.last_page = uint32_t(pages - 1);
  h.nr_badpages = 0;
  std::memcpy(h.sws_uuid, options.uuid.data(), sizeof h.sws_uuid);
  std::memcpy(h.sws_volume, options.label.data(), options.label.size());
  std::memcpy(h.magic, kSwapMagic, sizeof h.magic);
  return h;
}

// The area's bytes: the header page from a one-page skeleton, zeros after.
std::shared_ptr<const Image> swap_image(const SwapHeader& header, uint64_t bytes) {
  std::vector<uint8_t> skeleton(sizeof header);
  store(skeleton.data(), header);
  ExtentMap map;
  map.add({0, skeleton.size(), 0, 0, ExtentKind::skeleton});
  map.finish();
  return std::make_shared<MappedImage>(bytes, std::move(map), std::move(skeleton), nullptr,
                                       std::vector<std::shared_ptr<const Image>>{});
}

}  // namespace

Volume build_swap(const SwapOptions& options) {
  check_swap_options(options);
  const uint64_t pages = options.bytes / kSwapPageBytes;
  Volume volume;
  volume.image = swap_image(swap_header(options, pages), options.bytes);
  volume.type = "swap";
  volume.uuid = options.uuid;
  volume.uuid_text = uuid_to_string(options.uuid);
  volume.label = options.label;
  volume.block_size = kSwapPageBytes;
  volume.blocks = pages;
  volume.free_blocks = 0;
  volume.inodes = 0;
  volume.facts = {{"swap_bytes", std::to_string(options.bytes)}, {"swap_pages", std::to_string(pages)}};
  return volume;
}

std::string swap_layout(const SwapOptions& options) {
  check_swap_options(options);
  return fmt::format("swap;bytes={};uuid={};label={}", options.bytes, uuid_to_string(options.uuid), options.label);
}

}  // namespace vdiskfs
