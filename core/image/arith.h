#pragma once
// Rounding helpers shared by every on-disk layout.
#include <cstdint>

namespace vdiskfs {

// a / b rounded up.
constexpr uint64_t div_up(uint64_t a, uint64_t b) { return (a + b - 1) / b; }
// v rounded up to a multiple of a.
constexpr uint64_t align_up(uint64_t v, uint64_t a) { return div_up(v, a) * a; }

}  // namespace vdiskfs
