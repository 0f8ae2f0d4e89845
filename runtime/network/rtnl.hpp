// rtnetlink (links, addresses, routes) and network-namespace handles for the reference runtime.
// Every request is acknowledged by the kernel and checked; a failure comes back as a ctb::Error
// naming the step ("create veth"), the link, the errno and, when the kernel explains itself
// (extended ACK), the kernel's own words in `detail`.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "runtime/network/netns.hpp"

struct mnl_socket;
struct nlmsghdr;

namespace ctb::net {

// ---- names and addresses -------------------------------------------------------------------

// Link names as the kernel accepts them (dev_valid_name): 1..15 bytes, not "." or "..", no '/',
// ':' or whitespace. `argument` names the offending parameter in the error ("peer_name").
Status validate_link_name(std::string_view name, std::string_view argument, std::string_view step);

// An IPv4 or IPv6 address with an optional prefix length, in network byte order.
struct IpPrefix {
    int family = 0;                        // AF_INET or AF_INET6
    std::array<unsigned char, 16> bytes{};  // first 4 used for AF_INET
    int prefix_len = 0;                     // 32/128 when parsed from a bare address
    std::size_t size() const;               // 4 or 16
};

// "198.18.0.1" or "2001:2::1".
Result<IpPrefix> parse_ip(std::string_view text);
// "198.18.0.2/24" or "2001:2::2/64"; the prefix length is required.
Result<IpPrefix> parse_cidr(std::string_view text);

// ---- rtnetlink -----------------------------------------------------------------------------

struct LinkInfo {
    int index = 0;
    std::string name;
    std::string kind;  // IFLA_INFO_KIND: "veth", "bridge"; empty for physical devices and lo
    unsigned mtu = 0;
    bool up = false;   // administrative state (IFF_UP)
    int master = 0;    // ifindex of the bridge this link is enslaved to, 0 if none
};

// One NETLINK_ROUTE socket. A netlink socket acts on the network namespace it was created in,
// so the namespace is fixed at open(): the calling thread's, or `netns_fd`'s when given.
// Not thread-safe: one Rtnl per thread.
class Rtnl {
public:
    static Result<Rtnl> open(std::optional<int> netns_fd = std::nullopt);

    Rtnl(Rtnl&&) noexcept;
    Rtnl& operator=(Rtnl&&) noexcept;
    ~Rtnl();

    Status create_bridge(const std::string& name);
    // Both ends are created at once; with peer_netns_fd the peer is born in that namespace.
    Status create_veth(const std::string& name, const std::string& peer_name,
                       std::optional<int> peer_netns_fd = std::nullopt);
    // Idempotent: a link that does not exist counts as deleted. Deleting one end of a veth pair
    // deletes both.
    Status delete_link(const std::string& name);

    Result<int> link_index(const std::string& name);
    Result<LinkInfo> link_info(const std::string& name);
    Result<std::vector<std::string>> list_links();

    Status set_link_up(const std::string& name, bool up);
    Status set_mtu(const std::string& name, unsigned mtu);
    Status set_master(const std::string& name, const std::string& bridge);
    // Bridge port flag (`bridge link set dev NAME hairpin on`): the bridge may send a frame back
    // out of the port it came in on. With br_netfilter, a container's packet DNATed back to that
    // same container is forwarded at layer 2 and needs it (hairpin NAT).
    Status set_hairpin(const std::string& name, bool on);
    Status move_to_netns(const std::string& name, int netns_fd);

    // "198.18.0.2/24" or "2001:2::2/64". IPv6 addresses skip duplicate address detection so they
    // are usable at once (the namespaces are ours; nobody else can hold the address).
    Status add_address(const std::string& name, const std::string& cidr);
    // `destination` is a CIDR or "default" (the /0 of the gateway's family). `dev` is optional:
    // without it the kernel picks the link whose connected route covers the gateway.
    Status add_route(const std::string& destination, const std::string& gateway,
                     const std::string& dev = {});
    Status add_default_route(const std::string& gateway, const std::string& dev = {}) {
        return add_route("default", gateway, dev);
    }

private:
    struct SocketCloser {
        void operator()(mnl_socket* s) const;
    };
    using OnReply = std::function<void(const nlmsghdr*)>;

    Rtnl(std::unique_ptr<mnl_socket, SocketCloser> sock, unsigned portid);
    // Sends one request and reads until its ACK (or NLMSG_DONE for dumps), handing every reply
    // message to `on_reply`. Errors are tagged with `step` and `object`.
    Status talk(nlmsghdr* request, std::string_view step, const std::string& object,
                const OnReply& on_reply = {});

    std::unique_ptr<mnl_socket, SocketCloser> sock_;
    unsigned portid_ = 0;
    unsigned seq_ = 0;
    std::vector<char> recv_buf_;
};

}  // namespace ctb::net
