// The nftables side of the network engine: our chains in the table `inet ctbench`, rendered from
// the whole store and replaced in one transaction after every change. Rendering everything
// (rather than adding and deleting single rules by handle) makes each sync idempotent and
// self-healing: rules of a SIGKILLed runtime disappear with the next sync that no longer finds
// its endpoint, and no packet ever sees a half-updated rule set.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "runtime/network/engine.hpp"

namespace ctb::net::rules {

inline constexpr const char* kTable = "inet ctbench";

// The commands that (re)build our chains for these networks and endpoints; "" when no network
// uses NAT (userland-proxy networks need no rules at all).
std::string render(const std::vector<Network>& networks, const std::vector<Attachment>& endpoints);

// Applies render(); when it is empty, removes our chains and then the table if nothing else of
// anyone's is left in it.
Status sync(const std::vector<Network>& networks, const std::vector<Attachment>& endpoints);

}  // namespace ctb::net::rules
