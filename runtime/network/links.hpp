// Host objects of the network engine, all through rtnetlink (Rtnl) and /proc/sys: bridges, the
// per-container network namespace (pinned by a bind mount, so it outlives the process that made
// it and any runtime can join it by path) and the veth pair that wires it to its bridge.
#pragma once

#include <string>

#include "common/error.hpp"
#include "runtime/network/engine.hpp"

namespace ctb::net::links {

// Link names start with "ctb" and fit IFNAMSIZ (15 characters): "ctb0" for the default network,
// "ctbbr" + 8 hex digits of a hash of the network name, "ctbv" + 10 hex digits of a hash of the
// container id (the host end of its veth; the container end is always eth0).
std::string bridge_name(const std::string& network, bool builtin);
std::string veth_name(const std::string& container_id);

// Creates the bridge if absent, with its gateway addresses, up. NAT networks also get
// forwarding=1 (for this interface only: packets from containers may be routed out) and
// route_localnet=1 (the host's 127.0.0.1 traffic may be DNATed into the bridge). Idempotent.
Status ensure_bridge(const Network& network);
Status remove_bridge(const std::string& bridge);

// A new network namespace bind-mounted at `path`, with lo up.
Status create_pinned_netns(const std::string& path);
// umount + unlink; absent is fine.
Status remove_pin(const std::string& path);
// The veth pair (host end enslaved to the bridge, eth0 inside), addresses and default routes.
Status wire_container(const Attachment& a);

// Writes a sysctl under /proc/sys/net of the calling thread's network namespace.
Status set_sysctl(const std::string& path, const std::string& value);

}  // namespace ctb::net::links
