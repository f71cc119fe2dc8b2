#pragma once
// READLINK over NFSv4 as one raw COMPOUND (PUTROOTFH, a LOOKUP per path
// component, READLINK). libnfs 4.0's nfs_readlink reads an NFSv4 target
// past its end (it strdup()s XDR bytes that carry no NUL: a heap overread
// that AddressSanitizer reports when the target's length is a multiple of
// 4), so the target is copied here with the length the server sent.
#include <string>
#include <vector>

namespace vdiskfs {

class NfsSession;

// The target of the symlink at `components` (from the server's pseudo-root,
// e.g. {"srv", "export", "dir", "link"}) in `target`; returns 0, or -errno
// with the reason in `error` (NfsSession::call's codes; an NFSv4 status as
// its errno, its name in `error`).
int nfs4_readlink(NfsSession& session, const std::vector<std::string>& components, std::string& target,
                  std::string& error);

}  // namespace vdiskfs
