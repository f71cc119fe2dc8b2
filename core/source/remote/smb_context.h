#pragma once
// One libsmbclient context (issue #16): the logon it gives, the timeout of
// its calls, the files it keeps open for the next read, and its teardown.
//
// libsmbclient 4.17 cannot run two calls at once in one process, even on
// contexts of their own: its talloc stack frames and global configuration
// are shared, and two threads in it corrupt each other's memory (seen
// here: "Freed frame ... expected ...", "Bad talloc magic value", crashes
// in smbXcli_negprot). So every call into it, on any context, holds one
// process-wide lock; a caller waits for it at most its timeout. Contexts
// are torn down on threads of their own, so that no reader waits for their
// goodbyes (closing files, leaving the
// share), which wait the whole timeout when the server stopped answering.
#include <libsmbclient.h>

#include <atomic>
#include <chrono>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/source/remote/credentials.h"

namespace vdiskfs {

// Holds libsmbclient's process-wide lock for the calls of one connection
// method, when it can be had within `wait_ms`.
class SmbLibraryUse {
 public:
  explicit SmbLibraryUse(int wait_ms);
  ~SmbLibraryUse();
  SmbLibraryUse(const SmbLibraryUse&) = delete;
  SmbLibraryUse& operator=(const SmbLibraryUse&) = delete;

  // False when another call held the lock for all of `wait_ms`.
  bool held() const { return held_; }

 private:
  bool held_;
};

// Tears down contexts on threads of its own;
// joins them when destroyed (unmounting waits for them, at most the
// timeout of each goodbye).
class SmbReaper {
 public:
  SmbReaper() = default;
  ~SmbReaper();
  SmbReaper(const SmbReaper&) = delete;
  SmbReaper& operator=(const SmbReaper&) = delete;

  // Closes `files`, leaves the server and frees `ctx` on a new thread.
  void reap(SMBCCTX* ctx, std::vector<SMBCFILE*> files);

 private:
  struct Teardown {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::mutex mutex_;
  std::vector<Teardown> teardowns_;  // finished ones are joined at the next reap
};

// A context that logs on with `credentials` at `port` (0: 445, then 139)
// and waits `timeout_ms` (at least 1000: libsmbclient's floor) for each
// answer. Used by one thread at a time, which holds an SmbLibraryUse for
// every call on it (open_file included).
class SmbContext {
 public:
  // Throws Error naming `shown` (the share's URL) when libsmbclient cannot
  // make a context or its lock stays busy for `timeout_ms`.
  SmbContext(const Credentials& credentials, uint16_t port, int timeout_ms, std::shared_ptr<SmbReaper> reaper,
             const std::string& shown);
  ~SmbContext();
  SmbContext(const SmbContext&) = delete;
  SmbContext& operator=(const SmbContext&) = delete;

  SMBCCTX* get() const { return ctx_; }

  // The open file `key` names (its path), opened from `url` when not kept
  // yet; null with errno set when the open fails. Up to kOpenFiles stay
  // open, the least recently read closed first.
  SMBCFILE* open_file(const std::string& key, const std::string& url);
  // Closes the kept files (after a reset: libsmbclient then drops their
  // connection and logs on anew at the next call).
  void close_files();

 private:
  static constexpr size_t kOpenFiles = 16;
  struct OpenFile {
    std::string key;
    SMBCFILE* file;
  };

  Credentials credentials_;  // the authentication callback's (user data)
  std::shared_ptr<SmbReaper> reaper_;
  SMBCCTX* ctx_ = nullptr;
  std::list<OpenFile> open_;  // front: the most recently read
};

}  // namespace vdiskfs
