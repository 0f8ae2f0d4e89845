// IPAM: subnets for networks, addresses for containers (see ipam.hpp).
#include "runtime/network/ipam.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <array>
#include <cerrno>
#include <fmt/format.h>

#include "runtime/network/rtnl.hpp"

namespace ctb::net::ipam {
namespace {

constexpr std::uint32_t kPoolBase = 0xC6120000u;  // 198.18.0.0
constexpr int kPoolPrefix = 15;

std::uint32_t to_host(const IpPrefix& p) {
    return (std::uint32_t{p.bytes[0]} << 24) | (std::uint32_t{p.bytes[1]} << 16) | (std::uint32_t{p.bytes[2]} << 8) |
           std::uint32_t{p.bytes[3]};
}

std::string format6(const std::array<unsigned char, 16>& bytes) {
    char text[INET6_ADDRSTRLEN] = "";
    ::inet_ntop(AF_INET6, bytes.data(), text, sizeof text);
    return text;
}

// IPv6 address of `subnet6` with `index` in its low 32 bits.
Result<std::string> address6(const std::string& subnet6, std::uint32_t index, bool with_prefix) {
    auto p = parse_cidr(subnet6);
    if (!p) return fail(p.error());
    for (int i = 0; i < 4; ++i) p->bytes[15 - i] = static_cast<unsigned char>((index >> (8 * i)) & 0xff);
    std::string text = format6(p->bytes);
    return with_prefix ? fmt::format("{}/{}", text, p->prefix_len) : text;
}

std::vector<Subnet4> subnets_of(const std::vector<Network>& networks) {
    std::vector<Subnet4> out;
    for (const auto& n : networks)
        if (auto s = parse_subnet4(n.subnet4)) out.push_back(*s);
    return out;
}

Status check_free4(const Subnet4& s, const std::vector<Network>& existing, const std::vector<std::uint32_t>& host) {
    // The default network's subnet stays reserved for it even while it does not exist.
    if (s.overlaps(*parse_subnet4(kDefaultSubnet4)))
        return fail(plain_error("network subnet", format_subnet(s), fmt::format("overlaps the default network's {}", kDefaultSubnet4)));
    for (const auto& n : existing)
        if (auto other = parse_subnet4(n.subnet4); other && other->overlaps(s))
            return fail(plain_error("network subnet", format_subnet(s), "overlaps network " + n.name));
    for (auto addr : host)
        if (s.contains(addr))
            return fail(plain_error("network subnet", format_subnet(s), "overlaps host address " + format4(addr)));
    return {};
}

// /24s in pool order, skipping the default network's (kept for it even while it does not exist).
Result<Subnet4> pick_free4(const std::vector<Network>& existing, const std::vector<std::uint32_t>& host) {
    auto taken = subnets_of(existing);
    taken.push_back(*parse_subnet4(kDefaultSubnet4));
    for (std::uint32_t i = 0; i < (1u << (24 - kPoolPrefix)); ++i) {
        Subnet4 s{kPoolBase + (i << 8), 24};
        bool clash = false;
        for (const auto& t : taken) clash = clash || t.overlaps(s);
        for (auto addr : host) clash = clash || s.contains(addr);
        if (!clash) return s;
    }
    return fail(sys_error("pick a free subnet in", kPool4, EADDRNOTAVAIL));
}

}  // namespace

std::string format4(std::uint32_t a) {
    return fmt::format("{}.{}.{}.{}", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

std::string format_subnet(const Subnet4& s) { return fmt::format("{}/{}", format4(s.base), s.prefix); }

Result<Subnet4> parse_subnet4(const std::string& cidr) {
    auto p = parse_cidr(cidr);
    if (!p || p->family != AF_INET) return fail(plain_error("network subnet", cidr, "not an IPv4 CIDR"));
    Subnet4 s{to_host(*p), p->prefix_len};
    if (s.prefix < 16 || s.prefix > 29)
        return fail(plain_error("network subnet", cidr, "prefix length must be /16 to /29"));
    if ((s.base & (s.size() - 1)) != 0) return fail(plain_error("network subnet", cidr, "host bits must be zero"));
    Subnet4 pool{kPoolBase, kPoolPrefix};
    if (!pool.contains(s.base)) return fail(plain_error("network subnet", cidr, fmt::format("must be inside {}", kPool4)));
    return s;
}

Result<std::string> check_subnet6(const std::string& cidr) {
    auto p = parse_cidr(cidr);
    if (!p || p->family != AF_INET6) return fail(plain_error("network subnet6", cidr, "not an IPv6 CIDR"));
    if (p->prefix_len < 48 || p->prefix_len > 112)
        return fail(plain_error("network subnet6", cidr, "prefix length must be /48 to /112"));
    auto pool = parse_cidr(kPool6);
    for (int i = 0; i < 6; ++i)
        if (p->bytes[i] != pool->bytes[i])
            return fail(plain_error("network subnet6", cidr, fmt::format("must be inside {}", kPool6)));
    for (int bit = p->prefix_len; bit < 128; ++bit)
        if (p->bytes[bit / 8] & (0x80 >> (bit % 8)))
            return fail(plain_error("network subnet6", cidr, "host bits must be zero"));
    return fmt::format("{}/{}", format6(p->bytes), p->prefix_len);
}

std::vector<std::uint32_t> host_addresses4() {
    std::vector<std::uint32_t> out;
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return out;
    for (ifaddrs* i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
        // Our own bridges' gateways are in here too; they lie inside subnets already taken.
        out.push_back(ntohl(reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr));
    }
    ::freeifaddrs(list);
    return out;
}

Status assign_subnets(Network& n, const NetworkOptions& o, const std::vector<Network>& existing,
                      const std::vector<std::uint32_t>& host_addrs) {
    Result<Subnet4> s = o.subnet.empty() ? pick_free4(existing, host_addrs) : parse_subnet4(o.subnet);
    if (!s) return fail(s.error());
    if (!o.subnet.empty())
        if (auto free = check_free4(*s, existing, host_addrs); !free) return free;
    n.subnet4 = format_subnet(*s);
    n.gateway4 = format4(s->base + 1);
    if (!o.ipv6) return {};
    // Without --subnet6: 2001:2:0:<n>::/64 where n numbers the IPv4 /24 inside the pool, so the
    // two families of one network are easy to match by eye.
    std::string wanted = o.subnet6.empty() ? fmt::format("2001:2:0:{:x}::/64", (s->base - kPoolBase) >> 8) : o.subnet6;
    auto s6 = check_subnet6(wanted);
    if (!s6) return fail(s6.error());
    for (const auto& other : existing)
        if (!other.subnet6.empty() && other.subnet6 == *s6)
            return fail(plain_error("network subnet6", *s6, "is used by network " + other.name));
    n.subnet6 = *s6;
    auto gw6 = address6(n.subnet6, 1, false);
    if (!gw6) return fail(gw6.error());
    n.gateway6 = *gw6;
    return {};
}

Result<Lease> lease(Network& n, const std::string& container_id) {
    auto s = parse_subnet4(n.subnet4);
    if (!s) return fail(s.error());
    // .0 is the network, .1 the gateway, the last the broadcast address.
    for (std::uint32_t index = 2; index + 1 < s->size(); ++index) {
        std::string addr = format4(s->base + index);
        if (n.leases.contains(addr)) continue;
        Lease out{fmt::format("{}/{}", addr, s->prefix), ""};
        if (!n.subnet6.empty()) {
            auto a6 = address6(n.subnet6, index, true);
            if (!a6) return fail(a6.error());
            out.address6 = *a6;
        }
        n.leases[addr] = container_id;
        return out;
    }
    return fail(sys_error("lease an address in network", n.name + " (" + n.subnet4 + ")", EADDRNOTAVAIL));
}

bool release(Network& n, const std::string& container_id) {
    return std::erase_if(n.leases, [&](const auto& kv) { return kv.second == container_id; }) > 0;
}

}  // namespace ctb::net::ipam
