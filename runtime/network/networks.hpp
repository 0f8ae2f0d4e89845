// Internal helpers shared by networks.cpp (create/list/remove) and attach.cpp. Every function
// expects the caller to hold the store lock.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "runtime/network/engine.hpp"

namespace ctb::net::networks {

// Docker's "bridge": ctb0, 198.18.0.0/24, NAT. It is created by the first container that uses it
// and removed with the last one, so an idle host carries nothing of ours.
Network default_network();

// The network a container is about to join, with its bridge (re)created if missing (a host
// reboot or an administrator may have removed it). The default network is created on first use.
Result<Network> open_for_attach(const std::string& name);

// After a detach: removes the default network when no container uses it any more.
Status drop_default_if_unused(const std::vector<Attachment>& endpoints);

// Re-renders the nft rules from the whole store.
Status sync_rules();

}  // namespace ctb::net::networks
