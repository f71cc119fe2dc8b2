#pragma once
// A pool of connections to one share: each call gets a connection of its
// own (libnfs and libsmbclient contexts are not thread-safe), up to a
// bound, so that concurrent reads go out in parallel. A connection left
// unusable by a fault (timeout, reset) is dropped; the next call connects
// anew, so a server that comes back is served again without a remount.
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "core/source/remote/remote_share.h"

namespace vdiskfs {

class ConnectionPool {
 public:
  // `share` must outlive the pool. At most `size` connections at once.
  ConnectionPool(const RemoteShare& share, size_t size, int timeout_ms);

  // Runs `call` with a connection: an idle one, else a new one while
  // fewer than `size` exist, else waits for one. Returns what `call`
  // returns; false with `err` filled when no connection could be made.
  bool with(const std::function<bool(RemoteConnection&, RemoteError&)>& call, RemoteError& err);

  // One connection made now, or an Error naming the share (for the scan's
  // first contact, whose message must say why).
  void check_reachable();

 private:
  std::unique_ptr<RemoteConnection> take(RemoteError& err);
  void give_back(std::unique_ptr<RemoteConnection> connection);

  const RemoteShare& share_;
  const size_t size_;
  const int timeout_ms_;
  std::mutex mutex_;
  std::condition_variable idle_cv_;
  std::vector<std::unique_ptr<RemoteConnection>> idle_;
  size_t open_ = 0;  // connections that exist: idle or in use
};

}  // namespace vdiskfs
