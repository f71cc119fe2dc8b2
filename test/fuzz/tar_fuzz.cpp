// libFuzzer target (#17): the tar header parser and the compressed-stream
// decoders (gzip, zstd, xz, bzip2) behind it, on arbitrary bytes. An input is an
// archive held in memory; opening it must either succeed or throw Error
// (never crash, hang, leak or read out of bounds under ASan/UBSan), and
// every file of a tree that opened must read without crashing.
// Built by -DVDISKFS_FUZZ=ON with clang; run by test/fuzz/run.sh.
#include <cstring>
#include <memory>
#include <vector>

#include "core/image/error.h"
#include "core/image/log.h"
#include "core/source/archive_file.h"
#include "core/source/tar/tar_source.h"

namespace {

using namespace vdiskfs;

// An archive in memory.
class MemoryArchive : public ArchiveFile {
 public:
  MemoryArchive(const uint8_t* data, size_t size) : bytes_(data, data + size) {}
  std::string describe() const override { return "fuzz.tar"; }
  uint64_t size() const override { return bytes_.size(); }
  Timestamp mtime() const override { return Timestamp{}; }
  bool unchanged() const override { return true; }
  Status read(uint64_t offset, uint8_t* buf, size_t len) const override {
    if (offset > bytes_.size() || len > bytes_.size() - offset) return Status::source_changed;
    std::memcpy(buf, bytes_.data() + offset, len);
    return Status::ok;
  }

 private:
  std::vector<uint8_t> bytes_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ScanOptions options;
  options.restart_limit = 1 << 20;
  ScanReport report;
  std::unique_ptr<TarSource> src;
  try {
    src = TarSource::open(std::make_unique<MemoryArchive>(data, size), options, report);
  } catch (const Error&) {
    return 0;
  }
  std::vector<uint8_t> buf(4096);
  const Tree& tree = src->tree();
  for (uint32_t i = 0; i < tree.nodes.size(); ++i) {
    const uint64_t n = std::min<uint64_t>(tree.nodes[i].size, buf.size());
    if (n) (void)src->read_file(i, 0, buf.data(), size_t(n));
  }
  return 0;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  log_to_file("/dev/null");  // warnings about hostile members: expected, thousands
  return 0;
}
