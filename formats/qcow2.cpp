#include "formats/qcow2.h"

#include <cstring>

#include "core/image/arith.h"
#include "core/image/endian.h"
#include "formats/qcow2_header.h"
#include "formats/table_image.h"

namespace vdiskfs {
namespace {

constexpr uint64_t kClusterBits = 16;
constexpr uint64_t kCluster = 1ull << kClusterBits;
static_assert(kCluster == kQcow2ClusterBytes);
constexpr uint64_t kEntryBytes = 8;  // an L1, L2 or refcount table entry: a 64-bit offset
constexpr uint64_t kL2Entries = kCluster / kEntryBytes;
constexpr uint32_t kRefcountOrder = 4;  // 16-bit refcounts
constexpr uint64_t kRefcountBytes = (1u << kRefcountOrder) / 8;
constexpr uint64_t kRefcountsPerBlock = kCluster / kRefcountBytes;
constexpr uint64_t kHeaderClusterBytes = 4096;  // of cluster 0 in the skeleton (header, extension end); the rest reads as zeros
constexpr uint64_t kCopied = 1ull << 63;              // QCOW_OFLAG_COPIED
constexpr uint64_t kNone = ~0ull;

// Where each structure starts, in clusters.
struct Layout {
  uint64_t refcount_table = 1, refcount_table_clusters = 1;
  uint64_t refcount_blocks = 0, refcount_block_count = 1;
  uint64_t l1 = 0, l1_clusters = 0;
  uint64_t l2 = 0, l2_count = 0;
  uint64_t data = 0, clusters = 0;  // total clusters of the file
};

// The header of a file laid out as `L` for a disk of `disk_bytes`.
Qcow2Header header(const Layout& L, uint64_t disk_bytes, uint64_t l1_size) {
  Qcow2Header h{};
  h.magic = kQcow2Magic;
  h.version = 3;
  h.cluster_bits = kClusterBits;
  h.size = disk_bytes;
  h.l1_size = uint32_t(l1_size);
  h.l1_table_offset = L.l1 * kCluster;
  h.refcount_table_offset = L.refcount_table * kCluster;
  h.refcount_table_clusters = uint32_t(L.refcount_table_clusters);
  h.refcount_order = kRefcountOrder;
  h.header_length = sizeof(Qcow2Header);
  return h;
}

}  // namespace

ContainerFile build_qcow2(const ContainerInput& in, std::string_view suffix) {
  const uint64_t disk_bytes = in.disk->size();
  auto alloc = std::make_shared<AllocationMap>(in.data, kCluster, disk_bytes);
  const uint64_t l1_size = div_up(alloc->total_units(), kL2Entries);

  // L2 tables exist only under L1 entries that cover data.
  auto l2_of_l1 = std::make_shared<std::vector<uint64_t>>(l1_size, kNone);
  auto l1_of_l2 = std::make_shared<std::vector<uint64_t>>();
  for (uint64_t i = 0; i < l1_size; ++i) {
    if (alloc->allocated_in(i * kL2Entries, kL2Entries) == 0) continue;
    (*l2_of_l1)[i] = l1_of_l2->size();
    l1_of_l2->push_back(i);
  }

  Layout L;
  L.l1_clusters = div_up(l1_size * kEntryBytes, kCluster);
  L.l2_count = l1_of_l2->size();
  // The refcount structures must count themselves: iterate to a fixpoint.
  while (true) {
    const uint64_t total = 1 + L.refcount_table_clusters + L.refcount_block_count + L.l1_clusters +
                           L.l2_count + alloc->allocated();
    const uint64_t blocks = div_up(total, kRefcountsPerBlock);
    const uint64_t table = div_up(blocks * kEntryBytes, kCluster);
    if (blocks == L.refcount_block_count && table == L.refcount_table_clusters) {
      L.clusters = total;
      break;
    }
    L.refcount_block_count = blocks;
    L.refcount_table_clusters = table;
  }
  L.refcount_blocks = L.refcount_table + L.refcount_table_clusters;
  L.l1 = L.refcount_blocks + L.refcount_block_count;
  L.l2 = L.l1 + L.l1_clusters;
  L.data = L.l2 + L.l2_count;

  std::vector<uint8_t> skeleton(kHeaderClusterBytes, 0);
  store(skeleton.data(), header(L, disk_bytes, l1_size));
  Qcow2HeaderExtension end{};  // no header extensions
  end.type = kQcow2ExtensionEnd;
  store(skeleton.data() + sizeof(Qcow2Header), end);

  const uint64_t clusters = L.clusters;
  const Layout layout = L;
  auto refcount_table = std::make_shared<TableImage>(
      L.refcount_block_count, kEntryBytes, [layout](uint64_t first, uint64_t count, uint8_t* out) {
        for (uint64_t i = 0; i < count; ++i)
          put_be64(out + kEntryBytes * i, (layout.refcount_blocks + first + i) * kCluster);
      });
  auto refcounts = std::make_shared<TableImage>(
      L.refcount_block_count * kRefcountsPerBlock, kRefcountBytes,
      [clusters](uint64_t first, uint64_t count, uint8_t* out) {
        for (uint64_t i = 0; i < count; ++i) put_be16(out + kRefcountBytes * i, first + i < clusters ? 1 : 0);
      });
  auto l1 = std::make_shared<TableImage>(l1_size, kEntryBytes, [layout, l2_of_l1](uint64_t first, uint64_t count, uint8_t* out) {
    for (uint64_t i = 0; i < count; ++i) {
      const uint64_t l2 = (*l2_of_l1)[first + i];
      put_be64(out + kEntryBytes * i, l2 == kNone ? 0 : ((layout.l2 + l2) * kCluster) | kCopied);
    }
  });
  auto l2 = std::make_shared<TableImage>(
      L.l2_count * kL2Entries, kEntryBytes, [layout, l1_of_l2, alloc](uint64_t first, uint64_t count, uint8_t* out) {
        for (uint64_t i = 0; i < count; ++i) {
          const uint64_t e = first + i;
          const uint64_t guest = (*l1_of_l2)[e / kL2Entries] * kL2Entries + e % kL2Entries;
          const uint64_t slot = guest < alloc->total_units() ? alloc->ordinal(guest) : AllocationMap::kNone;
          put_be64(out + kEntryBytes * i, slot == AllocationMap::kNone ? 0 : ((layout.data + slot) * kCluster) | kCopied);
        }
      });

  enum Child : uint32_t { kDisk, kRefcountTable, kRefcounts, kL1, kL2 };
  ExtentMap map;
  map.add({0, skeleton.size(), 0, 0, ExtentKind::skeleton});
  map.add({L.refcount_table * kCluster, refcount_table->size(), 0, kRefcountTable, ExtentKind::image});
  map.add({L.refcount_blocks * kCluster, refcounts->size(), 0, kRefcounts, ExtentKind::image});
  map.add({L.l1 * kCluster, l1->size(), 0, kL1, ExtentKind::image});
  map.add({L.l2 * kCluster, l2->size(), 0, kL2, ExtentKind::image});
  map_allocated_data(*alloc, L.data * kCluster, disk_bytes, map);

  ContainerFile file;
  file.suffix = suffix;
  file.allocated_bytes = L.clusters * kCluster;
  file.image = make_container_image(L.clusters * kCluster, std::move(map), std::move(skeleton),
                                    {in.disk, refcount_table, refcounts, l1, l2});
  return file;
}

}  // namespace vdiskfs
