#pragma once
// Who logs on to a share (issue #16): a user name, its password and its
// domain, from a file the user alone can read or from the environment,
// never from the command line. The password never appears in an Error, a
// log line or an argv.
#include <string>

namespace vdiskfs {

// A logon. An empty user is a guest (anonymous) logon.
struct Credentials {
  std::string user, password, domain;
};

// The credentials for a share URL whose user part is `url_user` ("" when
// the URL has none). From `file` when given: smbclient's authentication
// file ("username = NAME", "password = SECRET", "domain = DOMAIN", one per
// line; "DOMAIN\NAME" also names the domain; blank lines and lines
// starting with '#' are skipped), which must be a regular file of the
// caller with no group or other permission bits (mode 0600 or stricter).
// Without a file: VDISKFS_SMB_USER, VDISKFS_SMB_PASSWORD and
// VDISKFS_SMB_DOMAIN from the environment. A user named in the URL wins
// over both for the name. Nothing at all: a guest. Throws Error naming the
// file (and its mode or the line at fault, never the password) when the
// file cannot be read, is open to others, holds a line of another form, or
// gives a password without a user name.
Credentials load_credentials(const std::string& file, const std::string& url_user);

// The logon as messages show it: "user 'NAME'" (with "DOMAIN\" when a
// domain is given) or "guest"; never the password.
std::string describe_logon(const Credentials& credentials);

}  // namespace vdiskfs
