#include "core/source/remote/tcp_probe.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include <fmt/core.h>

namespace vdiskfs {
namespace {

struct AddrinfoDeleter {
  void operator()(addrinfo* info) const { freeaddrinfo(info); }
};

// The outcome of one non-blocking connect to `address`: "" or the reason.
std::string connect_once(const addrinfo& address, int timeout_ms) {
  const int fd = socket(address.ai_family, address.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, address.ai_protocol);
  if (fd < 0) return strerror(errno);
  int error = 0;
  if (connect(fd, address.ai_addr, address.ai_addrlen) != 0) {
    error = errno;
    if (error == EINPROGRESS) {
      pollfd pfd{fd, POLLOUT, 0};
      const int ready = poll(&pfd, 1, timeout_ms);
      socklen_t size = sizeof error;
      if (ready == 0) error = ETIMEDOUT;
      else if (ready < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0) error = errno;
    }
  }
  close(fd);
  if (error == ETIMEDOUT) return fmt::format("no answer within {} ms", timeout_ms);
  return error ? strerror(error) : "";
}

}  // namespace

std::string tcp_probe(const std::string& host, uint16_t port, int timeout_ms) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (rc != 0) return fmt::format("cannot resolve {}: {}", host, gai_strerror(rc));
  std::unique_ptr<addrinfo, AddrinfoDeleter> owned(found);
  std::string why = "no address";
  for (const addrinfo* a = found; a; a = a->ai_next) {
    why = connect_once(*a, timeout_ms);
    if (why.empty()) break;
  }
  return why;
}

}  // namespace vdiskfs
