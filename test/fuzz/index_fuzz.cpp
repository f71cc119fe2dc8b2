// libFuzzer target (#17): the kept-index reader (core/source/tar/tar_index.h)
// on arbitrary bytes, past the header checksum that guards it in use: the
// payload must parse or throw Error (never crash, hang, leak or read out of
// bounds under ASan/UBSan), and the events of one that parses are applied
// to a TreeBuilder as a mount applies them (refusals are fine), and the
// tree finished.
// Built by -DVDISKFS_FUZZ=ON with clang; run by test/fuzz/run.sh.
#include <string_view>

#include "core/image/error.h"
#include "core/image/log.h"
#include "core/source/tar/tar_index.h"
#include "core/source/tree_builder.h"

using namespace vdiskfs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  TarIndex index;
  try {
    index = decode_payload(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const Error&) {
    return 0;
  }
  Node implied;
  implied.mode = S_IFDIR | 0755;
  TreeBuilder builder(implied);
  for (TarScanEvent& e : index.events) {
    if (e.kind == TarScanEvent::Kind::member) (void)builder.add(e.path, std::move(e.spec));
    if (e.kind == TarScanEvent::Kind::hard_link) (void)builder.add_hard_link(e.path, e.text);
  }
  std::vector<uint64_t> payloads;
  try {
    (void)builder.finish(payloads);
  } catch (const Error&) {
  }
  return 0;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  log_to_file("/dev/null");
  return 0;
}
