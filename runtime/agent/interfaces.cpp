// Network interfaces for `info`: names, flags, MTU, MAC and addresses. getifaddrs talks rtnetlink
// directly (no NSS), so it works in the static binary; /proc/net/dev plus ioctls is the fallback
// for a kernel or seccomp profile that refuses netlink.
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <bit>
#include <cerrno>
#include <cstdio>
#include <sstream>

#include "agent.hpp"
#include "common/fd.hpp"

namespace agent {
namespace {

// From <linux/if.h>, which cannot be included next to <net/if.h>.
constexpr unsigned kIffLowerUp = 1u << 16;

json flag_names(unsigned flags) {
    static const std::pair<unsigned, const char*> kFlags[] = {
        {IFF_UP, "UP"},           {IFF_BROADCAST, "BROADCAST"}, {IFF_LOOPBACK, "LOOPBACK"},
        {IFF_POINTOPOINT, "POINTOPOINT"}, {IFF_RUNNING, "RUNNING"}, {IFF_NOARP, "NOARP"},
        {IFF_PROMISC, "PROMISC"}, {IFF_MULTICAST, "MULTICAST"}, {kIffLowerUp, "LOWER_UP"}};
    json out = json::array();
    for (auto [bit, name] : kFlags)
        if (flags & bit) out.push_back(name);
    return out;
}

int prefix_length(const sockaddr* mask) {
    if (!mask) return -1;
    int bits = 0;
    if (mask->sa_family == AF_INET) {
        bits = std::popcount(reinterpret_cast<const sockaddr_in*>(mask)->sin_addr.s_addr);
    } else if (mask->sa_family == AF_INET6) {
        for (auto byte : reinterpret_cast<const sockaddr_in6*>(mask)->sin6_addr.s6_addr) bits += std::popcount(byte);
    }
    return bits;
}

std::string address_text(const sockaddr* sa) {
    char text[INET6_ADDRSTRLEN] = "";
    if (sa->sa_family == AF_INET)
        ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, text, sizeof text);
    else
        ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, text, sizeof text);
    return text;
}

std::string mac_text(const sockaddr_ll* ll) {
    std::string out;
    char byte[4];
    for (int i = 0; i < ll->sll_halen; ++i) {
        std::snprintf(byte, sizeof byte, i ? ":%02x" : "%02x", ll->sll_addr[i]);
        out += byte;
    }
    return out;
}

// Index and MTU come from ioctls on any socket; failures leave them null.
json new_interface(int sock, const std::string& name, unsigned flags) {
    ifreq req{};
    name.copy(req.ifr_name, IFNAMSIZ - 1);
    json mtu = ::ioctl(sock, SIOCGIFMTU, &req) == 0 ? json(req.ifr_mtu) : json(nullptr);
    unsigned index = ::if_nametoindex(name.c_str());
    return {{"name", name}, {"index", index ? json(index) : json(nullptr)}, {"flags", flag_names(flags)},
            {"mtu", mtu}, {"mac", nullptr}, {"addresses", json::array()}};
}

json& find_or_add(json& list, int sock, const std::string& name, unsigned flags) {
    for (auto& itf : list)
        if (itf["name"] == name) return itf;
    list.push_back(new_interface(sock, name, flags));
    return list.back();
}

json from_getifaddrs(int sock) {
    ifaddrs* head = nullptr;
    if (::getifaddrs(&head) != 0) throw SysError("getifaddrs", errno);
    json list = json::array();
    for (ifaddrs* a = head; a; a = a->ifa_next) {
        json& itf = find_or_add(list, sock, a->ifa_name, a->ifa_flags);
        if (!a->ifa_addr) continue;
        int family = a->ifa_addr->sa_family;
        if (family == AF_PACKET) {
            itf["mac"] = mac_text(reinterpret_cast<const sockaddr_ll*>(a->ifa_addr));
        } else if (family == AF_INET || family == AF_INET6) {
            itf["addresses"].push_back({{"family", family == AF_INET ? "inet" : "inet6"},
                                        {"address", address_text(a->ifa_addr)},
                                        {"prefixlen", prefix_length(a->ifa_netmask)}});
        }
    }
    ::freeifaddrs(head);
    return list;
}

// Fallback: names from /proc/net/dev, flags and the (first) IPv4 address from ioctls.
json from_proc_net_dev(int sock) {
    std::istringstream in(read_text("/proc/net/dev"));
    json list = json::array();
    std::string line;
    for (int skip = 0; skip < 2; ++skip) std::getline(in, line);  // two header lines
    while (std::getline(in, line)) {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string name = line.substr(0, colon);
        name.erase(0, name.find_first_not_of(' '));
        ifreq req{};
        name.copy(req.ifr_name, IFNAMSIZ - 1);
        unsigned flags = ::ioctl(sock, SIOCGIFFLAGS, &req) == 0 ? static_cast<unsigned short>(req.ifr_flags) : 0;
        json itf = new_interface(sock, name, flags);
        if (::ioctl(sock, SIOCGIFADDR, &req) == 0) {
            std::string addr = address_text(&req.ifr_addr);
            int prefix = ::ioctl(sock, SIOCGIFNETMASK, &req) == 0 ? prefix_length(&req.ifr_netmask) : -1;
            itf["addresses"].push_back({{"family", "inet"}, {"address", addr}, {"prefixlen", prefix}});
        }
        list.push_back(itf);
    }
    return list;
}

}  // namespace

json interfaces_json() {
    ctb::UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    try {
        return from_getifaddrs(sock.get());
    } catch (const SysError& e) {
        std::fprintf(stderr, "ctbench-agent: %s; falling back to /proc/net/dev\n", e.what());
        return from_proc_net_dev(sock.get());
    }
}

}  // namespace agent
