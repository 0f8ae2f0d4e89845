// Bridges, pinned network namespaces and veth pairs (see links.hpp).
#include "runtime/network/links.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <fmt/format.h>

#include "common/files.hpp"
#include "runtime/network/netns.hpp"
#include "runtime/network/rtnl.hpp"
#include "runtime/network/store.hpp"

namespace ctb::net::links {
namespace {

// FNV-1a: stable across processes and builds (std::hash is not), which the names must be,
// because `delete` in another process derives the same link name from the same id.
std::uint64_t fnv1a(const std::string& text) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : text) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    return h;
}

Status ignore_exists(Status s) {
    if (!s && s.error().err == EEXIST) return {};
    return s;
}

Status prefix_of(const std::string& address, const std::string& subnet, std::string& out) {
    auto slash = subnet.find('/');
    if (slash == std::string::npos) return fail(plain_error("network subnet", subnet, "has no prefix length"));
    out = address + subnet.substr(slash);
    return {};
}

// The container side, run with a socket opened inside the pinned namespace.
Status configure_inside(Rtnl& in, const Attachment& a) {
    if (auto s = in.add_address("eth0", a.address4); !s) return s;
    if (!a.address6.empty())
        if (auto s = in.add_address("eth0", a.address6); !s) return s;
    if (auto s = in.set_link_up("eth0", true); !s) return s;
    if (auto s = in.add_default_route(a.gateway4, "eth0"); !s) return s;
    if (!a.gateway6.empty())
        if (auto s = in.add_default_route(a.gateway6, "eth0"); !s) return s;
    return {};
}

}  // namespace

std::string bridge_name(const std::string& network, bool builtin) {
    if (builtin) return "ctb0";
    return fmt::format("ctbbr{:08x}", static_cast<std::uint32_t>(fnv1a(network)));
}

std::string veth_name(const std::string& container_id) {
    return fmt::format("ctbv{:010x}", fnv1a(container_id) & 0xffffffffffull);
}

Status set_sysctl(const std::string& path, const std::string& value) {
    return write_file("/proc/sys/net/" + path, value);
}

Status ensure_bridge(const Network& n) {
    auto rtnl = Rtnl::open();
    if (!rtnl) return fail(rtnl.error());
    auto info = rtnl->link_info(n.bridge);
    if (!info && info.error().err != ENODEV) return fail(info.error());
    if (!info) {
        if (auto s = ignore_exists(rtnl->create_bridge(n.bridge)); !s) return s;
    } else if (info->kind != "bridge") {
        return fail(plain_error("create bridge", n.bridge, "a " + info->kind + " link of that name exists"));
    }
    std::string cidr;
    if (auto s = prefix_of(n.gateway4, n.subnet4, cidr); !s) return s;
    if (auto s = ignore_exists(rtnl->add_address(n.bridge, cidr)); !s) return s;
    if (!n.subnet6.empty()) {
        if (auto s = prefix_of(n.gateway6, n.subnet6, cidr); !s) return s;
        if (auto s = ignore_exists(rtnl->add_address(n.bridge, cidr)); !s) return s;
    }
    if (n.proxy == ProxyMode::nat) {
        // Per interface, not net.ipv4.ip_forward: the host's other interfaces keep their setting.
        // (IPv4 checks the forwarding flag of the interface a packet arrives on.)
        if (auto s = set_sysctl("ipv4/conf/" + n.bridge + "/forwarding", "1"); !s) return s;
        if (auto s = set_sysctl("ipv4/conf/" + n.bridge + "/route_localnet", "1"); !s) return s;
    }
    return rtnl->set_link_up(n.bridge, true);
}

Status remove_bridge(const std::string& bridge) {
    auto rtnl = Rtnl::open();
    if (!rtnl) return fail(rtnl.error());
    return rtnl->delete_link(bridge);
}

Status create_pinned_netns(const std::string& path) {
    if (auto d = make_dirs(store::kNetnsDir, 0755); !d) return d;
    if (auto r = remove_pin(path); !r) return r;  // a stale pin of an earlier container of this id
    auto ns = new_netns();
    if (!ns) return fail(ns.error());
    UniqueFd point(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
    if (!point) return fail(sys_error("create netns pin", path));
    point.reset();
    // The same as `ip netns add`: nsfs bind-mounted on a file keeps the namespace alive with no
    // process in it, and any runtime can setns() into it by path.
    std::string source = fmt::format("/proc/self/fd/{}", ns->get());
    if (::mount(source.c_str(), path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
        Error e = sys_error("pin network namespace at", path);
        ::unlink(path.c_str());
        return fail(e);
    }
    auto inside = Rtnl::open(ns->get());
    if (!inside) return fail(inside.error());
    return inside->set_link_up("lo", true);
}

Status remove_pin(const std::string& path) {
    if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
        return fail(sys_error("unmount netns pin", path));
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return fail(sys_error("remove netns pin", path));
    return {};
}

Status wire_container(const Attachment& a) {
    UniqueFd ns(::open(a.netns_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns) return fail(sys_error("open network namespace", a.netns_path));
    auto host = Rtnl::open();
    if (!host) return fail(host.error());
    // The container end is born inside the namespace, already named eth0: it never appears on
    // the host, so two starts cannot race for one name there.
    if (auto s = host->create_veth(a.host_link, "eth0", ns.get()); !s) return s;
    if (auto s = host->set_master(a.host_link, a.bridge); !s) return s;
    // Only NAT needs it (a proxy connects from the host), and it reflects floods back to the
    // sender, so proxy networks go without.
    if (a.proxy == ProxyMode::nat)
        if (auto s = host->set_hairpin(a.host_link, true); !s) return s;
    if (auto s = host->set_link_up(a.host_link, true); !s) return s;
    auto inside = Rtnl::open(ns.get());
    if (!inside) return fail(inside.error());
    return configure_inside(*inside, a);
}

}  // namespace ctb::net::links
