#include "benches/baselines/guest_net.hpp"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>
#include <fmt/format.h>

#include "common/fd.hpp"
#include "common/files.hpp"
#include "runtime/network/rtnl.hpp"

namespace ctb::vm {
namespace {

// A persistent tap: it outlives this fd, so qemu can attach to it by name (-netdev tap,ifname=)
// after we have put it on the bridge. IFF_VNET_HDR is qemu's to ask for when it attaches.
Status create_persistent_tap(const std::string& name) {
    UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
    if (!fd) return fail(sys_error("open", "/dev/net/tun"));
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (::ioctl(fd.get(), TUNSETIFF, &ifr) != 0) return fail(sys_error("create tap device (TUNSETIFF)", name));
    if (::ioctl(fd.get(), TUNSETPERSIST, 1) != 0) return fail(sys_error("make tap device persistent", name));
    return {};
}

// Only the addresses we give the link: no IPv6 link-local address, router solicitations or MLD
// reports from the host side of the guest's network.
void disable_ipv6(const std::string& link) {
    (void)write_file(fmt::format("/proc/sys/net/ipv6/conf/{}/disable_ipv6", link), "1");
}

Status wire(net::Rtnl& rtnl, const std::string& bridge, const std::string& tap) {
    if (auto s = rtnl.create_bridge(bridge); !s) return s;
    disable_ipv6(bridge);
    if (auto s = rtnl.add_address(bridge, fmt::format("{}/{}", kGuestNetHost, kGuestNetPrefix)); !s) return s;
    if (auto s = create_persistent_tap(tap); !s) return s;
    disable_ipv6(tap);
    if (auto s = rtnl.set_master(tap, bridge); !s) return s;
    if (auto s = rtnl.set_link_up(tap, true); !s) return s;
    return rtnl.set_link_up(bridge, true);
}

}  // namespace

std::string guest_bridge_name(pid_t tag) { return fmt::format("ctbgbr{}", tag); }
std::string guest_tap_name(pid_t tag) { return fmt::format("ctbgtap{}", tag); }

Result<GuestNet> GuestNet::create(pid_t tag) {
    auto rtnl = net::Rtnl::open();
    if (!rtnl) return fail(rtnl.error());
    GuestNet n(guest_bridge_name(tag), guest_tap_name(tag));
    // Same-named links are a dead process's that had our pid (ctb* names are ours): replace them.
    for (const auto* link : {&n.tap_, &n.bridge_})
        if (auto s = rtnl->delete_link(*link); !s) return fail(s.error());
    if (auto s = wire(*rtnl, n.bridge_, n.tap_); !s) return fail(s.error());  // n's destructor undoes
    return n;
}

GuestNet::~GuestNet() {
    if (bridge_.empty() && tap_.empty()) return;
    auto rtnl = net::Rtnl::open();
    if (!rtnl) return;
    // The tap first: a bridge going away with a port still on it works too, but this order leaves
    // no moment in which the tap is up and on no bridge.
    if (!tap_.empty()) (void)rtnl->delete_link(tap_);
    if (!bridge_.empty()) (void)rtnl->delete_link(bridge_);
}

std::vector<std::string> GuestNet::qemu_args() const {
    return {"-netdev", fmt::format("tap,id=ctbnet,ifname={},script=no,downscript=no", tap_),
            "-device", "virtio-net-device,netdev=ctbnet"};
}

std::string GuestNet::kernel_param() { return fmt::format("ctbench_net={}/{}", kGuestNetGuest, kGuestNetPrefix); }

GuestNetLine parse_guest_net_line(const std::string& line) {
    std::string rest = line;
    if (auto at = rest.find(guest_net_marker); at != std::string::npos) rest = rest.substr(at + std::strlen(guest_net_marker));
    rest = trim(rest);
    return {rest.starts_with("ready"), rest.empty() ? "(the guest said nothing)" : rest};
}

}  // namespace ctb::vm
