// Guest networking for the VM baseline: a bridge and a tap device on the host, the guest's
// virtio-net (virtio-mmio: qemu's virtio-net-device) on the tap, so host <-> guest traffic crosses
// a real virtio-net device. Names follow DESIGN.md's rule for host objects (links start with
// "ctb", <= 15 chars) so an interrupted run's leftovers are swept by the next run's cleanup.
//
// Addresses: 198.19.252.0/30 (RFC 2544 range), the bridge .1, the guest .2. Not used by the
// runtime's networks (IPAM skips /24s holding a host address), the veth bench (198.19.253.0/24),
// the network tests (198.19.254.0/24, 198.19.255.0/24) or the default network (198.18.0.0/24).
// Nothing is forwarded or NATed: no forwarding sysctl or nft rule is touched, and the guest gets
// no default route, so it can reach the bridge's address and nothing else.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace ctb::vm {

inline constexpr const char* kGuestNetHost = "198.19.252.1";
inline constexpr const char* kGuestNetGuest = "198.19.252.2";
inline constexpr int kGuestNetPrefix = 30;
// The port of the agent's netbench-server in the guest (TCP and UDP on the same number).
inline constexpr std::uint16_t kGuestNetPort = 7200;
// The guest's console line when its side is up ("... ready ...") or could not be ("... failed: why").
inline constexpr const char* guest_net_marker = "CTBENCH-GUEST-NET";
// The virtio-serial port on which the host tells the guest it is done with the network.
inline constexpr const char* control_port_name = "ctbench.control";

// "ctbgbr<pid>" and "ctbgtap<pid>" (pid_max is 2^22: at most 14 chars).
std::string guest_bridge_name(pid_t tag);
std::string guest_tap_name(pid_t tag);

// The bridge (with kGuestNetHost/30, IPv6 off) and a persistent tap enslaved to it, both up.
// The destructor deletes both (idempotent), so every path out of a guest run removes them;
// a killed run leaves ctb* links for the next run's cleanup (cli/cleanup.cpp).
class GuestNet {
public:
    static Result<GuestNet> create(pid_t tag);
    GuestNet(GuestNet&& o) noexcept : bridge_(std::exchange(o.bridge_, {})), tap_(std::exchange(o.tap_, {})) {}
    GuestNet& operator=(GuestNet&&) = delete;
    ~GuestNet();

    const std::string& bridge() const { return bridge_; }
    const std::string& tap() const { return tap_; }
    // -netdev tap on our tap (no ifup scripts: the tap is already on the bridge) and the virtio-mmio
    // NIC. vhost stays off (qemu's default), so the figures are qemu's own virtio-net backend.
    std::vector<std::string> qemu_args() const;
    // The kernel parameter the guest's /init reads: "ctbench_net=198.19.252.2/30".
    static std::string kernel_param();

private:
    GuestNet(std::string bridge, std::string tap) : bridge_(std::move(bridge)), tap_(std::move(tap)) {}
    std::string bridge_, tap_;
};

// Where the host reaches the guest's netbench-server, and what carries the traffic.
struct GuestNetEndpoint {
    std::string address;  // the guest's
    std::uint16_t port = 0;
    std::string host_address, bridge, tap;
    std::string device;   // the guest's NIC as qemu names it
    std::string guest_line;  // the guest's console line saying it is ready
};

// The guest's side as its console line says: "CTBENCH-GUEST-NET ready addr=198.19.252.2 port=7200
// if=eth0" -> ready, else the reason it gives ("failed: no virtio-net interface").
struct GuestNetLine {
    bool ready = false;
    std::string detail;  // the line after the marker
};
GuestNetLine parse_guest_net_line(const std::string& line);

}  // namespace ctb::vm
