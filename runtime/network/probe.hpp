// What container networking needs from this host, found by trying it where it cannot hurt:
// inside a throwaway network namespace owned by a forked child.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/feature.hpp"

namespace ctb::net {

struct NetworkProbe {
    Feature netns;     // unshare(CLONE_NEWNET)
    Feature veth;      // a veth pair, addressed and up
    Feature bridge;    // a bridge with a veth end enslaved to it
    Feature nftables;  // an nf_tables table in the inet family
    Feature nft_nat;   // nat chains with dnat and masquerade rules, listed back
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(NetworkProbe, netns, veth, bridge, nftables, nft_nat)

// Tries every feature in a fresh network namespace (links ctbprobe0..2, addresses from
// 198.18.0.0/15 and 2001:2::/48, nft table inet ctbench) and reports each with its evidence or
// the exact reason it is missing. The host's own namespace is never touched.
NetworkProbe probe_network(std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Runs `body` in a forked child that first moves into a new network namespace of its own, and
// returns what `body` returned (its value or its Error, sent back over a pipe as JSON). Whatever
// `body` creates dies with the child, even if the child is killed. At the deadline the child is
// killed by its pid and the call fails with ETIMEDOUT. `body` must not rely on other threads of
// the parent (only the forking thread exists in the child).
Result<std::string> run_in_throwaway_netns(const std::function<Result<std::string>()>& body,
                                           std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace ctb::net
