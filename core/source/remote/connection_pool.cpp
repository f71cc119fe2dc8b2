#include "core/source/remote/connection_pool.h"

#include <cerrno>

#include "core/image/error.h"

namespace vdiskfs {

ConnectionPool::ConnectionPool(const RemoteShare& share, size_t size, int timeout_ms)
    : share_(share), size_(size ? size : 1), timeout_ms_(timeout_ms) {}

std::unique_ptr<RemoteConnection> ConnectionPool::take(RemoteError& err) {
  std::unique_lock lock(mutex_);
  idle_cv_.wait(lock, [&] { return !idle_.empty() || open_ < size_; });
  if (!idle_.empty()) {
    auto c = std::move(idle_.back());
    idle_.pop_back();
    return c;
  }
  ++open_;
  lock.unlock();
  try {
    return share_.connect(timeout_ms_);
  } catch (const Error& e) {
    err = {ECONNREFUSED, e.what()};
  }
  lock.lock();
  --open_;
  idle_cv_.notify_one();
  return nullptr;
}

void ConnectionPool::give_back(std::unique_ptr<RemoteConnection> connection) {
  std::lock_guard lock(mutex_);
  if (connection->usable()) idle_.push_back(std::move(connection));
  else --open_;
  idle_cv_.notify_one();
}

bool ConnectionPool::with(const std::function<bool(RemoteConnection&, RemoteError&)>& call, RemoteError& err) {
  std::unique_ptr<RemoteConnection> c = take(err);
  if (!c) return false;
  const bool done = call(*c, err);
  give_back(std::move(c));
  return done;
}

void ConnectionPool::check_reachable() {
  std::unique_ptr<RemoteConnection> c;
  {
    std::lock_guard lock(mutex_);
    ++open_;
  }
  try {
    c = share_.connect(timeout_ms_);
  } catch (...) {
    std::lock_guard lock(mutex_);
    --open_;
    throw;
  }
  give_back(std::move(c));
}

}  // namespace vdiskfs
