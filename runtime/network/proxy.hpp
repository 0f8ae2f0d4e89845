// The userland proxy (like docker-proxy), selectable per network for hosts without NAT: one
// process per container serves every published port of that container on the sockets the port
// check bound, and forwards each TCP connection / UDP flow to the container's address. The
// container sees the bridge gateway as its client.
// The process is a double-forked child of the attaching process (not an exec: the engine is a
// library, used by ctbench-runtime and the harnesses alike), named "ctbench-proxy" (its comm), so
// `ctbench doctor --cleanup` recognises leftovers; detach kills it by pid after checking its start
// time, never by name.
#pragma once

#include <sys/socket.h>

#include <vector>

#include "common/error.hpp"
#include "runtime/network/engine.hpp"
#include "runtime/network/ports.hpp"

namespace ctb::net::proxy {

inline constexpr const char* kProcessName = kProxyProcessName;

// Starts the proxy for these reserved ports; the sockets move into it (the caller's copies close).
Result<ProxyProcess> spawn(std::vector<portmap::Reserved>& reserved);
// SIGKILL if it is still the process we started; gone already is fine.
Status stop(const ProxyProcess& process);

// ---- the proxy process itself (proxy_loop.cpp) ----

struct Listener {
    int fd = -1;
    bool udp = false;
    sockaddr_storage target{};
    socklen_t target_len = 0;
};
[[noreturn]] void serve(const std::vector<Listener>& listeners);

}  // namespace ctb::net::proxy
