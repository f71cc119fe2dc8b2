#pragma once
// A libnfs context driven call by call through libnfs's asynchronous API,
// waiting for each answer with the context's timeout. libnfs 4.0's own
// synchronous calls keep their answer on the stack and leave it named by
// requests still queued when the socket breaks, so destroying the context
// later writes into a stack frame that is gone (fixed in libnfs 5.0.3,
// commit db1cc8c). Here each answer lives in the session until the context
// is destroyed, so a late cancellation lands in memory that is still ours.
#include <sys/time.h>
#include <sys/types.h>

#include <nfsc/libnfs.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace vdiskfs {

// Destroys a libnfs context (closing its socket, cancelling its requests).
struct NfsContextDeleter {
  void operator()(nfs_context* context) const;
};
using NfsContextPtr = std::unique_ptr<nfs_context, NfsContextDeleter>;

class NfsSession {
 public:
  // Queues a request of libnfs's nfs_*_async API with `callback` and its
  // private data `answer`; returns 0, or < 0 when libnfs refused it.
  using Start = std::function<int(nfs_cb callback, void* answer)>;
  // The same for a raw RPC (rpc_nfs4_compound_async and the like).
  using RpcStart = std::function<int(rpc_cb callback, void* answer)>;
  // Reads a successful answer while the callback runs (`status` >= 0 as
  // libnfs gives it, `data` its data); returns the call's result: the
  // status, or -errno (with the reason in `error`) for an answer it refuses.
  using Take = std::function<int(int status, void* data, std::string& error)>;

  explicit NfsSession(NfsContextPtr context);
  ~NfsSession();

  nfs_context* context() const { return context_.get(); }

  // One call of libnfs's nfs_*_async API. Returns Take's result, or -errno
  // with libnfs's reason in `error`: -EINTR after the timeout, -EIO or
  // -EFAULT when the socket broke.
  int call(const Start& start, const Take& take, std::string& error);
  // One raw RPC; the same results.
  int rpc_call(const RpcStart& start, const Take& take, std::string& error);

 private:
  struct Answer;
  static void nfs_answer(int status, nfs_context* context, void* data, void* answer);
  static void rpc_answer(rpc_context* rpc, int status, void* data, void* answer);
  int run(const std::function<int(void* answer)>& start, const Take& take, std::string& error);
  bool wait(Answer& answer);

  // Answers of requests that may still call back (the wait ended on a
  // broken socket): kept until the context is gone. Declared before
  // context_, so destroyed after it.
  std::vector<std::unique_ptr<Answer>> abandoned_;
  NfsContextPtr context_;
};

}  // namespace vdiskfs
