#pragma once
// Errors while building a disk (scan, layout, options). The message names
// the thing that is wrong and what to do; the read path uses Status instead.
#include <fmt/core.h>

#include <stdexcept>
#include <string>

namespace vdiskfs {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace vdiskfs
