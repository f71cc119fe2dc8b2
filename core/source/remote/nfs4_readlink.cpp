#include "core/source/remote/nfs4_readlink.h"

#include <sys/time.h>
#include <sys/types.h>

// In libnfs's own order: the raw headers need the ones before them.
#include <nfsc/libnfs-zdr.h>
#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include <nfsc/libnfs-raw-nfs4.h>

#include <cerrno>
#include <cstring>

#include <fmt/core.h>

#include "core/source/remote/nfs_session.h"

namespace vdiskfs {
namespace {

// The COMPOUND's operations; the LOOKUPs point into `components`.
std::vector<nfs_argop4> readlink_ops(const std::vector<std::string>& components) {
  std::vector<nfs_argop4> ops(components.size() + 2);
  ops.front().argop = OP_PUTROOTFH;
  for (size_t i = 0; i < components.size(); ++i) {
    auto& name = ops[i + 1].nfs_argop4_u.oplookup.objname;
    ops[i + 1].argop = OP_LOOKUP;
    name.utf8string_len = u_int(components[i].size());
    name.utf8string_val = const_cast<char*>(components[i].data());
  }
  ops.back().argop = OP_READLINK;
  return ops;
}

// A copy of `*at`: libnfs 4.0 decodes answers into memory it does not
// align for their types (UBSan: misaligned member access), so they are
// read byte by byte.
template <typename T>
T unaligned(const void* at) {
  T out;
  memcpy(&out, at, sizeof out);
  return out;
}

// The target from the COMPOUND's answer, or the NFSv4 status that stopped it.
int take_target(void* data, std::string& target, std::string& error) {
  const auto res = unaligned<COMPOUND4res>(data);
  const u_int count = res.resarray.resarray_len;
  const auto* ops = reinterpret_cast<const char*>(res.resarray.resarray_val);
  const auto last = count ? unaligned<nfs_resop4>(ops + (count - 1) * sizeof(nfs_resop4)) : nfs_resop4{};
  if (res.status != NFS4_OK || count == 0 || last.resop != OP_READLINK) {
    error = fmt::format("NFS4: READLINK failed with {}", nfsstat4_to_str(res.status));
    const int code = nfsstat4_to_errno(res.status);
    return code < 0 ? code : -EIO;
  }
  const auto& link = last.nfs_resop4_u.opreadlink.READLINK4res_u.resok4.link;
  target.assign(link.utf8string_val, link.utf8string_len);
  return 0;
}

}  // namespace

int nfs4_readlink(NfsSession& session, const std::vector<std::string>& components, std::string& target,
                  std::string& error) {
  std::vector<nfs_argop4> ops = readlink_ops(components);
  COMPOUND4args args{};
  args.argarray.argarray_len = u_int(ops.size());
  args.argarray.argarray_val = ops.data();
  rpc_context* rpc = nfs_get_rpc_context(session.context());
  return session.rpc_call(
      [&](rpc_cb callback, void* answer) { return rpc_nfs4_compound_async(rpc, callback, &args, answer); },
      [&](int, void* data, std::string& why) { return take_target(data, target, why); }, error);
}

}  // namespace vdiskfs
