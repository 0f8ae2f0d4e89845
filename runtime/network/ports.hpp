// Host port reservation for published ports. Like Docker, a host port is checked by binding it on
// the host address before any rule exists, so "port already allocated" is found while nothing has
// been configured yet; the bound sockets are held until the rules are in place (NAT) or handed to
// the userland proxy, which serves on them. Ports other ctbench containers publish are checked
// against the store as well: DNAT leaves no socket for the kernel to report.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "runtime/network/engine.hpp"

namespace ctb::net::portmap {

struct Reserved {
    PortMapping mapping;
    UniqueFd socket;  // bound to host_ip:host_port (TCP: listening)
};

struct Target {
    std::string ip4, ip6;  // the container's addresses, without prefix ("" when absent)
    ProxyMode proxy = ProxyMode::nat;
};

// Resolves -p/--expose/-P into concrete mappings and binds every host port. `taken` are the
// mappings of the other endpoints. On error nothing stays bound.
Result<std::vector<Reserved>> reserve(const std::vector<PortRequest>& publish, const std::vector<PortRequest>& expose,
                                      bool publish_all, const Target& target, const std::vector<PortMapping>& taken);

// "0.0.0.0:8080/tcp" or "[::]:8080/tcp", for messages.
std::string host_endpoint(const PortMapping& m);

}  // namespace ctb::net::portmap
