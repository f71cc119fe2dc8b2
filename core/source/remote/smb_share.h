#pragma once
// SMB shares through libsmbclient (issue #16): smb://[user@]host[:port]/
// share/path. Each connection is a libsmbclient context of its own (one
// thread at a time). SMB without the unix extensions carries no owners, no
// modes, no symlinks (the server follows them: a symlink is seen as what it
// points to) and no link counts, so entries get documented defaults: uid
// and gid 0, directories 0755, files 0644 (0444 with the read-only
// attribute); the caps say so. Times keep SMB's 100 ns resolution.
#include <memory>

#include "core/source/remote/credentials.h"
#include "core/source/remote/remote_share.h"
#include "core/source/remote/remote_url.h"

namespace vdiskfs {

// The share `url` names (protocol smb; path "/share[/path]"), reached with
// `credentials` (an empty user: guest). Nothing is contacted until
// connect(), whose Error names the URL, the logon and what went wrong (the
// server cannot be reached, no such share or path, access denied, the logon
// refused), never the password.
std::unique_ptr<RemoteShare> open_smb_share(const RemoteUrl& url, const Credentials& credentials);

}  // namespace vdiskfs
