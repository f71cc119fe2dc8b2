#include "core/source/remote/nfs_session.h"

#include <poll.h>

#include <nfsc/libnfs-raw.h>  // after libnfs.h (nfs_session.h)

#include <cerrno>

namespace vdiskfs {

// What one request answered; `take` is set while someone waits for it.
struct NfsSession::Answer {
  bool done = false;
  int result = 0;
  std::string error;
  const Take* take = nullptr;

  void finish(int status, void* data) {
    done = true;
    result = status;
    if (status >= 0 && take) result = (*take)(status, data, error);
  }
};

void NfsSession::nfs_answer(int status, nfs_context*, void* data, void* answer) {
  static_cast<Answer*>(answer)->finish(status, data);
}

// An rpc_cb's status as libnfs's nfs_cb would give it.
void NfsSession::rpc_answer(rpc_context*, int status, void* data, void* answer) {
  const int result = status == RPC_STATUS_SUCCESS ? 0
                     : status == RPC_STATUS_ERROR ? -EFAULT
                                                  : -EINTR;  // timed out, or cancelled
  static_cast<Answer*>(answer)->finish(result, data);
}

void NfsContextDeleter::operator()(nfs_context* context) const { nfs_destroy_context(context); }

NfsSession::NfsSession(NfsContextPtr context) : context_(std::move(context)) {}

NfsSession::~NfsSession() {
  context_.reset();  // cancels what is still queued: abandoned_ must outlive it
  abandoned_.clear();
}

int NfsSession::call(const Start& start, const Take& take, std::string& error) {
  return run([&](void* answer) { return start(&NfsSession::nfs_answer, answer); }, take, error);
}

int NfsSession::rpc_call(const RpcStart& start, const Take& take, std::string& error) {
  return run([&](void* answer) { return start(&NfsSession::rpc_answer, answer); }, take, error);
}

int NfsSession::run(const std::function<int(void* answer)>& start, const Take& take, std::string& error) {
  auto answer = std::make_unique<Answer>();
  answer->take = &take;
  if (start(answer.get()) != 0) {
    const char* said = nfs_get_error(context_.get());
    error = said && *said ? said : "libnfs could not queue the request";
    return -EIO;
  }
  const bool answered = wait(*answer);
  answer->take = nullptr;
  const char* said = nfs_get_error(context_.get());
  if (answer->result < 0 && answer->error.empty()) error = said && *said ? said : "";
  else error = answer->error;
  const int result = answer->result;
  if (!answered) abandoned_.push_back(std::move(answer));
  return result;
}

bool NfsSession::wait(Answer& answer) {
  nfs_context* nfs = context_.get();
  while (!answer.done) {
    pollfd pfd{nfs_get_fd(nfs), short(nfs_which_events(nfs)), 0};
    // Every 100 ms at least: nfs_service also expires requests past the timeout.
    const int ready = poll(&pfd, 1, 100);
    if (ready < 0 && errno == EINTR) continue;
    if (nfs_service(nfs, ready < 0 ? -1 : pfd.revents) < 0) {
      if (answer.done) return true;
      answer.result = -EIO;
      answer.error = "connection lost (nfs_service failed)";
      return false;
    }
  }
  return true;
}

}  // namespace vdiskfs
