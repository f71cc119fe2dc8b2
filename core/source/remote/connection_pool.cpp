#include "core/source/remote/connection_pool.h"

#include <fmt/core.h>

#include <cerrno>
#include <chrono>

#include "core/image/error.h"

namespace vdiskfs {

ConnectionPool::ConnectionPool(const RemoteShare& share, size_t size, int timeout_ms)
    : share_(share), size_(size ? size : 1), timeout_ms_(timeout_ms) {}

std::unique_ptr<RemoteConnection> ConnectionPool::take(RemoteError& err) {
  std::unique_lock lock(mutex_);
  // A reader waits for a connection at most the timeout: when the server
  // hangs, every connection is stuck in a call of its own.
  if (!idle_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms_), [&] { return !idle_.empty() || open_ < size_; })) {
    err = {ETIMEDOUT, fmt::format("{}: no connection free within {} ms (the server does not answer?)", share_.describe(),
                                  timeout_ms_)};
    return nullptr;
  }
  if (!idle_.empty()) {
    auto c = std::move(idle_.back());
    idle_.pop_back();
    return c;
  }
  ++open_;
  lock.unlock();
  try {
    return share_.connect(timeout_ms_);
  } catch (const std::exception& e) {
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
  bool done = false;
  try {
    done = call(*c, err);
  } catch (const std::exception& e) {  // a library's surprise: the connection is not trusted again
    err = {EIO, fmt::format("{}: {}", share_.describe(), e.what())};
    c.reset();
    std::lock_guard lock(mutex_);
    --open_;
    idle_cv_.notify_one();
    return false;
  }
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
