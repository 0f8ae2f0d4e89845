// IP address management for the network engine. Pure functions over the stored networks: the
// caller holds the store lock, so deciding and persisting a lease is one atomic step for every
// process that starts containers.
// Only the benchmarking ranges are ever handed out (shared/DESIGN.md): 198.18.0.0/15 (RFC 2544)
// and 2001:2::/48 (RFC 5180). The default network is 198.18.0.0/24; user-defined networks get the
// next free /24 that no other network and no host interface uses.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "runtime/network/engine.hpp"

namespace ctb::net::ipam {

inline constexpr const char* kPool4 = "198.18.0.0/15";
inline constexpr const char* kPool6 = "2001:2::/48";
inline constexpr const char* kDefaultSubnet4 = "198.18.0.0/24";

struct Subnet4 {
    std::uint32_t base = 0;  // host byte order, host bits zero
    int prefix = 0;
    std::uint32_t size() const { return prefix == 0 ? 0 : (1u << (32 - prefix)); }
    bool contains(std::uint32_t addr) const { return size() == 0 || (addr - base) < size(); }
    bool overlaps(const Subnet4& o) const { return contains(o.base) || o.contains(base); }
};

std::string format4(std::uint32_t addr);
std::string format_subnet(const Subnet4& s);  // "198.18.1.0/24"
// A CIDR inside 198.18.0.0/15, /16../29, with zero host bits.
Result<Subnet4> parse_subnet4(const std::string& cidr);
// A CIDR inside 2001:2::/48, /48../112, with zero host bits; returns it normalised.
Result<std::string> check_subnet6(const std::string& cidr);

// The host's own IPv4 addresses (getifaddrs), to avoid handing out a subnet already in use.
std::vector<std::uint32_t> host_addresses4();

// Fills subnet4/gateway4 (and the IPv6 pair when options.ipv6) of a new network, checking the
// requested subnets, or picking free ones, against `existing` and `host_addrs`.
Status assign_subnets(Network& network, const NetworkOptions& options, const std::vector<Network>& existing,
                      const std::vector<std::uint32_t>& host_addrs);

struct Lease {
    std::string address4, address6;  // CIDRs for the container's eth0
};
// Takes the lowest free address after the gateway for `container_id`; EADDRNOTAVAIL when full.
Result<Lease> lease(Network& network, const std::string& container_id);
// Drops every lease of `container_id`; returns whether there was one.
bool release(Network& network, const std::string& container_id);

}  // namespace ctb::net::ipam
