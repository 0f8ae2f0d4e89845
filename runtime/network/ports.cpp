// Host port reservation (see ports.hpp).
#include "runtime/network/ports.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <fmt/format.h>

#include "runtime/network/rtnl.hpp"

namespace ctb::net::portmap {
namespace {

// One host port to find: a fixed list of candidates (a port, or a range to pick from) or, when
// empty, any free port from the kernel's ephemeral range (ip_local_port_range), as -P does.
struct Want {
    std::string protocol, host_ip;  // host_ip "" = every address
    std::vector<std::uint16_t> candidates;
    std::uint16_t container_port = 0;
};

constexpr int kRandomAttempts = 64;

bool is_v6(const std::string& ip) { return ip.find(':') != std::string::npos; }

bool same_family_overlap(const std::string& a, const std::string& b) {
    if (is_v6(a) != is_v6(b)) return false;
    auto any = [](const std::string& ip) { return ip == "0.0.0.0" || ip == "::"; };
    return a == b || any(a) || any(b);
}

bool in_ledger(const std::vector<PortMapping>& taken, const PortMapping& m) {
    return std::any_of(taken.begin(), taken.end(), [&](const PortMapping& t) {
        return t.protocol == m.protocol && t.host_port == m.host_port && same_family_overlap(t.host_ip, m.host_ip);
    });
}

Error allocated(const PortMapping& m, const std::string& why) {
    return plain_error("publish port", host_endpoint(m), "port already allocated (" + why + ")");
}

// Binds (and for TCP listens on) host_ip:port; port 0 asks the kernel for a free one.
Result<UniqueFd> bind_port(const std::string& protocol, const std::string& host_ip, std::uint16_t port) {
    bool v6 = is_v6(host_ip);
    int type = protocol == "udp" ? SOCK_DGRAM : SOCK_STREAM;
    UniqueFd fd(::socket(v6 ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC, 0));
    if (!fd) return fail(sys_error("socket", protocol));
    int one = 1;
    // TCP only: TIME_WAIT leftovers of earlier connections must not count as "in use"; a
    // listener still does. For UDP the same option would let us share a port with a server.
    if (type == SOCK_STREAM) ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_storage ss{};
    socklen_t len = 0;
    auto ip = parse_ip(host_ip);
    if (!ip) return fail(ip.error());
    if (v6) {
        ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);  // families are mapped separately
        auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        std::copy_n(ip->bytes.begin(), 16, reinterpret_cast<unsigned char*>(&a->sin6_addr));
        len = sizeof *a;
    } else {
        auto* a = reinterpret_cast<sockaddr_in*>(&ss);
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        std::copy_n(ip->bytes.begin(), 4, reinterpret_cast<unsigned char*>(&a->sin_addr));
        len = sizeof *a;
    }
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) return fail(sys_error("bind", host_ip));
    if (type == SOCK_STREAM && ::listen(fd.get(), 128) != 0) return fail(sys_error("listen", host_ip));
    return fd;
}

std::uint16_t bound_port(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    return ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                          : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

// The host addresses one Want maps: "" means 0.0.0.0, and :: too when the container has IPv6.
Result<std::vector<std::string>> host_ips(const Want& w, const Target& t) {
    if (w.host_ip.empty()) {
        std::vector<std::string> out;
        if (!t.ip4.empty()) out.push_back("0.0.0.0");
        if (!t.ip6.empty()) out.push_back("::");
        return out;
    }
    bool v6 = is_v6(w.host_ip);
    if ((v6 ? t.ip6 : t.ip4).empty())
        return fail(plain_error("publish port", w.host_ip, fmt::format("the container has no IPv{} address", v6 ? 6 : 4)));
    // The kernel cannot route ::1 out of the host (IPv6 has no route_localnet): only a proxy can.
    if (w.host_ip == "::1" && t.proxy == ProxyMode::nat)
        return fail(plain_error("publish port", "[::1]", "IPv6 loopback needs a network with --userland-proxy"));
    return std::vector<std::string>{w.host_ip};
}

// Tries one host port on every address; all or nothing.
Result<std::vector<Reserved>> try_port(const Want& w, const Target& t, const std::vector<std::string>& ips,
                                       std::uint16_t port, const std::vector<PortMapping>& taken) {
    std::vector<Reserved> out;
    for (const auto& ip : ips) {
        PortMapping m{w.protocol, ip, port, is_v6(ip) ? t.ip6 : t.ip4, w.container_port};
        if (port != 0 && in_ledger(taken, m)) return fail(allocated(m, "published by another container"));
        auto fd = bind_port(w.protocol, ip, port);
        if (!fd) {
            if (fd.error().err == EADDRINUSE) return fail(allocated(m, "another process is using it"));
            return fail(fd.error());
        }
        if (port == 0) port = m.host_port = bound_port(fd->get());  // later families take the same port
        if (in_ledger(taken, m)) return fail(allocated(m, "published by another container"));
        out.push_back({m, std::move(*fd)});
    }
    return out;
}

Result<std::vector<Reserved>> resolve(const Want& w, const Target& t, const std::vector<PortMapping>& taken) {
    auto ips = host_ips(w, t);
    if (!ips) return fail(ips.error());
    std::optional<Error> last;
    bool random = w.candidates.empty();
    int attempts = random ? kRandomAttempts : static_cast<int>(w.candidates.size());
    for (int i = 0; i < attempts; ++i) {
        auto got = try_port(w, t, *ips, random ? 0 : w.candidates[static_cast<std::size_t>(i)], taken);
        if (got) return got;
        last = got.error();
        if (got.error().detail.find("port already allocated") == std::string::npos) break;  // not a clash
    }
    if (w.candidates.size() > 1 && last && last->detail.find("port already allocated") != std::string::npos)
        return fail(plain_error("publish port", fmt::format("{}-{}/{}", w.candidates.front(), w.candidates.back(), w.protocol),
                                "port already allocated (no free port in the range)"));
    return fail(*last);
}

void expand(const PortRequest& r, std::vector<Want>& out) {
    for (unsigned i = 0; i < r.container.size(); ++i) {
        Want w{r.protocol, r.host_ip, {}, static_cast<std::uint16_t>(r.container.first + i)};
        if (r.host.given() && r.container.size() == r.host.size())
            w.candidates.push_back(static_cast<std::uint16_t>(r.host.first + i));
        else if (r.host.given())  // one container port, a host range: the first free one
            for (unsigned p = r.host.first; p <= r.host.last; ++p) w.candidates.push_back(static_cast<std::uint16_t>(p));
        out.push_back(std::move(w));
    }
}

bool published(const std::vector<Want>& wants, const std::string& protocol, std::uint16_t port) {
    return std::any_of(wants.begin(), wants.end(),
                       [&](const Want& w) { return w.protocol == protocol && w.container_port == port; });
}

}  // namespace

std::string host_endpoint(const PortMapping& m) {
    return is_v6(m.host_ip) ? fmt::format("[{}]:{}/{}", m.host_ip, m.host_port, m.protocol)
                            : fmt::format("{}:{}/{}", m.host_ip, m.host_port, m.protocol);
}

Result<std::vector<Reserved>> reserve(const std::vector<PortRequest>& publish, const std::vector<PortRequest>& expose,
                                      bool publish_all, const Target& target, const std::vector<PortMapping>& taken) {
    std::vector<Want> wants;
    for (const auto& r : publish) expand(r, wants);
    if (publish_all) {  // every exposed port not published explicitly, on a random host port
        std::vector<Want> exposed;
        for (const auto& r : expose) expand(r, exposed);
        for (auto& w : exposed)
            if (!published(wants, w.protocol, w.container_port)) wants.push_back(std::move(w));
    }
    std::vector<Reserved> out;
    std::vector<PortMapping> ledger = taken;
    for (const auto& w : wants) {
        auto got = resolve(w, target, ledger);
        if (!got) return fail(got.error());  // `out` closes what was bound so far
        for (auto& r : *got) {
            ledger.push_back(r.mapping);
            out.push_back(std::move(r));
        }
    }
    return out;
}

}  // namespace ctb::net::portmap
