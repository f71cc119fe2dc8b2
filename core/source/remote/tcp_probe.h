#pragma once
// Why a server cannot be reached, in words: one TCP connection attempt to
// a host and port, for the messages of a share that does not answer
// ("127.0.0.1 port 20490: Connection refused").
#include <cstdint>
#include <string>

namespace vdiskfs {

// Tries to connect to `host`:`port` within `timeout_ms`; returns "" when
// the connection was made (then closed), else the reason (the resolver's
// or the socket's error text, or "no answer within N ms").
std::string tcp_probe(const std::string& host, uint16_t port, int timeout_ms);

}  // namespace vdiskfs
