#include "core/source/remote/remote_url.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "core/image/error.h"

namespace vdiskfs {
namespace {

// One query key of nfs:// URLs: the options libnfs 4.0 reads from its own
// URLs (nfs_set_context_args), with the range of their numeric values.
struct NfsQueryKey {
  const char* name;
  long long min, max;  // min > max: any text (an interface name)
  const char* meaning;
};

constexpr NfsQueryKey kNfsQueryKeys[] = {
    {"version", 3, 4, "NFS version"},
    {"nfsport", 1, 65535, "port of the NFS service (no portmapper)"},
    {"mountport", 1, 65535, "port of the MOUNT service (NFSv3, no portmapper)"},
    {"uid", 0, 2147483647, "uid sent in AUTH_SYS credentials"},
    {"gid", 0, 2147483647, "gid sent in AUTH_SYS credentials"},
    {"tcp-syncnt", 1, 127, "TCP SYN retries when connecting"},
    {"readahead", 0, 2147483647, "libnfs read-ahead bytes"},
    {"pagecache", 0, 2147483647, "libnfs page cache pages"},
    {"debug", 0, 10, "libnfs debug level"},
    {"auto-traverse-mounts", 0, 1, "cross the server's nested exports"},
    {"dircache", 0, 1, "libnfs directory cache"},
    {"if", 1, 0, "network interface to bind to"},
};

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return out;
}

std::string nfs_query_keys_help() {
  std::string out;
  for (const auto& key : kNfsQueryKeys) out += std::string(out.empty() ? "" : ", ") + key.name;
  return out;
}

// Decodes %XX escapes; refuses a malformed escape and NUL bytes.
std::string percent_decode(std::string_view text, const std::string& shown, const char* part) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    unsigned value = 0;
    if (i + 2 >= text.size()) fail("{}: a '%' in the {} is not followed by two hex digits", shown, part);
    auto [end, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
    if (ec != std::errc() || end != text.data() + i + 3)
      fail("{}: a '%' in the {} is not followed by two hex digits", shown, part);
    if (value == 0) fail("{}: the {} holds %00 (a NUL byte)", shown, part);
    out += char(value);
    i += 2;
  }
  return out;
}

uint16_t parse_port(std::string_view text, const std::string& shown, const char* what) {
  unsigned long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 1 || value > 65535)
    fail("{}: bad {} '{}' (a number from 1 to 65535)", shown, what, text);
  return uint16_t(value);
}

// The URL with the password of "user:password@" replaced, for messages.
std::string without_password(std::string_view typed) {
  const size_t scheme_end = typed.find("://");
  if (scheme_end == std::string_view::npos) return std::string(typed);
  const size_t start = scheme_end + 3;
  const size_t end = std::min(typed.find_first_of("/?", start), typed.size());
  const size_t at = typed.rfind('@', end);
  if (at == std::string_view::npos || at < start) return std::string(typed);
  const size_t colon = typed.find(':', start);
  if (colon == std::string_view::npos || colon > at) return std::string(typed);
  return std::string(typed.substr(0, colon)) + ":***" + std::string(typed.substr(at));
}

// Host and port of "host", "host:port", "[v6]" or "[v6]:port".
void parse_host_port(std::string_view hostport, RemoteUrl& url, const std::string& shown) {
  std::string_view host = hostport, after;  // after: ":port" or ""
  if (!hostport.empty() && hostport.front() == '[') {
    const size_t close = hostport.find(']');
    if (close == std::string_view::npos) fail("{}: '[' without ']' around the IPv6 address", shown);
    host = hostport.substr(1, close - 1);
    after = hostport.substr(close + 1);
    if (host.empty() || host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos)
      fail("{}: '{}' is not an IPv6 address", shown, host);
  } else {
    host = hostport.substr(0, hostport.find(':'));
    after = hostport.substr(host.size());
    if (host.empty()) fail("{}: no host (nfs://HOST/export/path, smb://HOST/share/path)", shown);
    for (unsigned char c : host)
      if (!std::isalnum(c) && c != '.' && c != '-' && c != '_') fail("{}: '{}' is not a host name", shown, host);
  }
  if (!after.empty() && after.front() != ':') fail("{}: '{}' after the host", shown, after);
  url.host = std::string(host);
  if (!after.empty()) url.port = parse_port(after.substr(1), shown, "port");
}

// "/a//b/./c" -> "/a/b/c"; refuses ".." (the share's root bounds what we read).
std::string normal_path(std::string_view raw, const std::string& shown) {
  const std::string decoded = percent_decode(raw, shown, "path");
  std::string out;
  size_t pos = 0;
  while (pos <= decoded.size()) {
    const size_t slash = std::min(decoded.find('/', pos), decoded.size());
    const std::string part = decoded.substr(pos, slash - pos);
    if (part == "..") fail("{}: '..' in the path is refused (name the folder itself)", shown);
    if (!part.empty() && part != ".") out += "/" + part;
    pos = slash + 1;
  }
  return out;
}

// The items of a query ("a=1&b=2"), keys in lower case, values decoded;
// an item without '=' has an empty value. Refuses a key given twice.
std::map<std::string, std::string> split_query(std::string_view query, const std::string& shown) {
  std::map<std::string, std::string> items;
  size_t pos = 0;
  while (pos < query.size()) {
    const size_t amp = std::min(query.find('&', pos), query.size());
    const std::string_view pair = query.substr(pos, amp - pos);
    pos = amp + 1;
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    const std::string key = lower(pair.substr(0, eq));
    if (items.count(key)) fail("{}: query key '{}' given twice", shown, key);
    items[key] = eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1), shown, "query");
  }
  return items;
}

// Checks one nfs:// query item against the options libnfs takes.
void check_nfs_query_item(const std::string& key, const std::string& value, const std::string& shown) {
  if (key == "autoreconnect")
    fail("{}: autoreconnect is not an option here: a connection that fails is replaced by a new one", shown);
  const auto* found = std::find_if(std::begin(kNfsQueryKeys), std::end(kNfsQueryKeys),
                                   [&](const NfsQueryKey& k) { return key == k.name; });
  if (found == std::end(kNfsQueryKeys))
    fail("{}: unknown query key '{}' (nfs:// takes {})", shown, key, nfs_query_keys_help());
  if (value.empty()) fail("{}: {} needs a value ({})", shown, key, found->meaning);
  if (found->min > found->max) return;  // text
  long long number = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (ec != std::errc() || end != value.data() + value.size() || number < found->min || number > found->max)
    fail("{}: {}={} is not valid: {} is a number from {} to {}", shown, key, value, found->meaning, found->min,
         found->max);
}

void check_nfs(RemoteUrl& url, const std::string& shown) {
  if (!url.user.empty())
    fail("{}: nfs:// URLs take no user name (NFS sends numeric ids: add ?uid=N&gid=N)", shown);
  if (url.path.empty()) fail("{}: no export path (nfs://HOST/export/path)", shown);
  for (const auto& [key, value] : url.query) check_nfs_query_item(key, value, shown);
  if (url.port == 0) return;
  // libnfs takes the NFS port from the query; the URL's :port means the same.
  auto it = url.query.find("nfsport");
  if (it != url.query.end() && it->second != std::to_string(url.port))
    fail("{}: port {} and nfsport={} disagree", shown, url.port, it->second);
  url.query["nfsport"] = std::to_string(url.port);
}

}  // namespace

bool is_remote_url(std::string_view typed) {
  const std::string head = lower(typed.substr(0, 6));
  return head == "nfs://" || head == "smb://";
}

RemoteUrl parse_remote_url(std::string_view typed) {
  const std::string shown = without_password(typed);
  RemoteUrl url;
  const std::string scheme = lower(typed.substr(0, typed.find("://")));
  if (typed.find("://") == std::string_view::npos || (scheme != "nfs" && scheme != "smb"))
    fail("{}: not a share URL (nfs://HOST/export/path or smb://[USER@]HOST/share/path)", shown);
  url.protocol = scheme == "nfs" ? RemoteProtocol::nfs : RemoteProtocol::smb;
  std::string_view rest = typed.substr(scheme.size() + 3);
  const size_t question = rest.find('?');
  const std::string_view query = question == std::string_view::npos ? std::string_view() : rest.substr(question + 1);
  rest = rest.substr(0, question);
  const size_t slash = std::min(rest.find('/'), rest.size());
  std::string_view authority = rest.substr(0, slash);
  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    if (userinfo.find(':') != std::string_view::npos)
      fail("{}: a password in the URL is refused (it would show in process lists and logs): "
           "give it with --credentials FILE or in the environment",
           shown);
    url.user = percent_decode(userinfo, shown, "user name");
    if (url.user.empty()) fail("{}: '@' without a user name", shown);
    authority = authority.substr(at + 1);
  }
  parse_host_port(authority, url, shown);
  url.path = normal_path(rest.substr(slash), shown);
  url.query = split_query(query, shown);
  if (url.protocol == RemoteProtocol::nfs) check_nfs(url, shown);
  else if (url.path.empty()) fail("{}: no share name (smb://HOST/share/path)", shown);
  url.text = std::string(typed);
  return url;
}

}  // namespace vdiskfs
