#include "core/source/remote/smb_context.h"

#include <fcntl.h>

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "core/image/error.h"
#include "core/image/log.h"

namespace vdiskfs {
namespace {

// The lock every call into libsmbclient holds (see the header), with a
// bounded wait.
class LibraryLock {
 public:
  bool try_lock_for(std::chrono::milliseconds wait) {
    std::unique_lock hold(mutex_);
    if (!released_.wait_for(hold, wait, [this] { return !busy_; })) return false;
    busy_ = true;
    return true;
  }
  void lock() {
    std::unique_lock hold(mutex_);
    released_.wait(hold, [this] { return !busy_; });
    busy_ = true;
  }
  void unlock() {
    {
      std::lock_guard hold(mutex_);
      busy_ = false;
    }
    released_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable released_;
  bool busy_ = false;
};

// The process's LibraryLock. Never destroyed: a teardown may still run at
// exit.
LibraryLock& library_lock() {
  static auto* lock = new LibraryLock;
  return *lock;
}

// libsmbclient's own messages go to the debug log, never to stdout.
void forward_log(void*, int level, const char* message) {
  std::string_view text = message ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  if (!text.empty()) log_debug("libsmbclient ({}): {}", level, text);
}

// The authentication callback: the Credentials in the context's user data.
// The workgroup stays libsmbclient's default unless a domain is given.
void give_logon(SMBCCTX* ctx, const char*, const char*, char* workgroup, int workgroup_len, char* user,
                int user_len, char* password, int password_len) {
  const auto* c = static_cast<const Credentials*>(smbc_getOptionUserData(ctx));
  if (!c) return;
  if (!c->domain.empty()) std::snprintf(workgroup, size_t(workgroup_len), "%s", c->domain.c_str());
  std::snprintf(user, size_t(user_len), "%s", c->user.c_str());
  std::snprintf(password, size_t(password_len), "%s", c->password.c_str());
}

// Closes `files`, leaves every server (tree disconnect) and frees `ctx`.
void tear_down(SMBCCTX* ctx, const std::vector<SMBCFILE*>& files) {
  std::lock_guard hold(library_lock());
  for (SMBCFILE* f : files) smbc_getFunctionClose(ctx)(ctx, f);
  smbc_free_context(ctx, 1);
}

}  // namespace

SmbLibraryUse::SmbLibraryUse(int wait_ms)
    : held_(library_lock().try_lock_for(std::chrono::milliseconds(wait_ms))) {}

SmbLibraryUse::~SmbLibraryUse() {
  if (held_) library_lock().unlock();
}

SmbReaper::~SmbReaper() {
  for (Teardown& t : teardowns_) t.thread.join();
}

void SmbReaper::reap(SMBCCTX* ctx, std::vector<SMBCFILE*> files) {
  smbc_setOptionUserData(ctx, nullptr);
  auto done = std::make_shared<std::atomic<bool>>(false);
  std::lock_guard lock(mutex_);
  std::erase_if(teardowns_, [](Teardown& t) {
    if (!*t.done) return false;
    t.thread.join();
    return true;
  });
  teardowns_.push_back({std::thread([ctx, files = std::move(files), done] {
                          tear_down(ctx, files);
                          *done = true;
                        }),
                        done});
}

SmbContext::SmbContext(const Credentials& credentials, uint16_t port, int timeout_ms,
                       std::shared_ptr<SmbReaper> reaper, const std::string& shown)
    : credentials_(credentials), reaper_(std::move(reaper)) {
  const SmbLibraryUse use(timeout_ms);
  if (!use.held())
    fail("{}: timed out after {} ms waiting for the SMB client library (another call waits for its server)",
         shown, timeout_ms);
  ctx_ = smbc_new_context();
  if (!ctx_) fail("{}: cannot make an SMB client context: {}", shown, std::strerror(errno));
  smbc_setLogCallback(ctx_, nullptr, forward_log);
  smbc_setDebug(ctx_, 0);
  smbc_setOptionUserData(ctx_, &credentials_);
  smbc_setFunctionAuthDataWithContext(ctx_, give_logon);
  smbc_setTimeout(ctx_, timeout_ms);
  smbc_setPort(ctx_, port);
  smbc_setOptionUseKerberos(ctx_, false);
  smbc_setOptionUseCCache(ctx_, false);
  // A refused logon must not turn into a guest one behind the user's back.
  smbc_setOptionNoAutoAnonymousLogin(ctx_, !credentials_.user.empty());
  if (!smbc_init_context(ctx_)) {
    const int error = errno;
    smbc_free_context(ctx_, 0);
    fail("{}: cannot set up the SMB client library: {}", shown, std::strerror(error));
  }
}

SmbContext::~SmbContext() {
  std::vector<SMBCFILE*> files;
  for (const OpenFile& f : open_) files.push_back(f.file);
  reaper_->reap(ctx_, std::move(files));
}

void SmbContext::close_files() {
  for (const OpenFile& f : open_) smbc_getFunctionClose(ctx_)(ctx_, f.file);
  open_.clear();
}

SMBCFILE* SmbContext::open_file(const std::string& key, const std::string& url) {
  for (auto it = open_.begin(); it != open_.end(); ++it) {
    if (it->key != key) continue;
    open_.splice(open_.begin(), open_, it);
    return it->file;
  }
  SMBCFILE* file = smbc_getFunctionOpen(ctx_)(ctx_, url.c_str(), O_RDONLY, 0);
  if (!file) return nullptr;
  open_.push_front({key, file});
  if (open_.size() > kOpenFiles) {
    smbc_getFunctionClose(ctx_)(ctx_, open_.back().file);
    open_.pop_back();
  }
  return file;
}

}  // namespace vdiskfs
