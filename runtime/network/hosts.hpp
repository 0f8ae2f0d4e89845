// Name resolution for containers, the way Docker's user-defined networks behave ("containers are
// discoverable at a hostname identical to the container name") but without a DNS server: every
// container gets its own /etc/hosts, bind-mounted from the store, listing itself and, on a
// user-defined network, every peer. Peers joining or leaving rewrite the file in place (same
// inode, so the bind mount inside a running container sees the change). On the default network
// a container lists only itself, as Docker's default bridge does not resolve container names.
// Resolution inside the busybox image works through /etc/hosts: `ping NAME` and `nc NAME PORT`
// look names up there (busybox has no getent; nslookup only asks DNS servers).
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "runtime/network/engine.hpp"

namespace ctb::net::hosts {

// The container's names: hostname, id and aliases, without duplicates.
std::vector<std::string> names_of(const AttachRequest& request, const std::string& hostname);

std::string hosts_content(const Attachment& self, const std::vector<Attachment>& peers);
// The host's resolv.conf without loopback nameservers (the container's loopback is its own).
std::string resolv_content(const std::string& host_resolv_conf);

// Writes the container's hosts and resolv.conf files.
Status write_files(const Attachment& self, const std::vector<Attachment>& peers);
// Rewrites the hosts file of every endpoint of a user-defined `network` (a peer joined or left).
Status refresh_network(const std::string& network, const std::vector<Attachment>& endpoints);
// The endpoints a container lists: same network, addressed, not itself. (Callers pass none on
// the default network.)
std::vector<Attachment> peers_of(const Attachment& self, const std::vector<Attachment>& endpoints);

}  // namespace ctb::net::hosts
