// Container networking engine: Docker's network model (none, host, the default bridge, user-defined
// bridges with name resolution, -p/-P port publishing) on the kernel's own machinery, for
// ctbench-runtime and for the conformance and bench harnesses.
//
// How a container gets a network, for any OCI runtime (ctbench, runc, crun):
//   attach()        creates a network namespace pinned at /run/ctbench/netns/<id>, wires it to a
//                   bridge through a veth pair, gives it addresses from IPAM, installs the port
//                   publishing rules (nftables) or userland proxies, writes hosts/resolv.conf files;
//   apply_to_spec() makes the container JOIN that namespace (linux.namespaces[network].path) and
//                   bind-mounts the generated files;
//   detach()        undoes all of it, from any process, idempotently (also after a SIGKILL).
// State lives under /run/ctbench/networks (one JSON file per network and per endpoint) behind one
// file lock, so concurrent starts in separate processes (or threads) get distinct addresses and
// ports.
// Host settings: the engine turns on forwarding only on its own bridges (per interface, not
// net.ipv4.ip_forward). Published ports are reachable from other hosts through an interface whose
// own forwarding is on (as Docker's global ip_forward=1 would make every interface); from the host
// itself, through the loopback and every host address, they always work. IPv6 forwarding is
// global in the kernel, so IPv6 published ports from other hosts need net.ipv6.conf.all.forwarding.
// A userland-proxy network needs neither.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "runtime/spec/spec.hpp"

namespace ctb::net {

inline constexpr const char* kDefaultNetwork = "bridge";  // Docker's name; its link is ctb0
// The comm (/proc/<pid>/comm) of userland proxy processes: how cleanup recognises leftovers.
inline constexpr const char* kProxyProcessName = "ctbench-proxy";

// NAT: DNAT/masquerade rules in the nft table "ctbench". Userland: a forwarding process per
// container (like docker-proxy) and no nft rules at all, for hosts without NAT.
enum class ProxyMode { nat, userland };
std::string to_string(ProxyMode mode);

// ---- ports -----------------------------------------------------------------------------------

struct PortRange {
    std::uint16_t first = 0, last = 0;  // {0, 0}: not given (a random host port)
    bool given() const { return first != 0; }
    unsigned size() const { return given() ? last - first + 1u : 1u; }
};

// One -p or --expose argument.
struct PortRequest {
    std::string host_ip{};  // "" = every address of the host
    PortRange host{};
    PortRange container{};
    std::string protocol = "tcp";  // tcp | udp
};

// -p [hostIP:][hostPort[-end]:]containerPort[-end][/tcp|/udp]; an IPv6 hostIP in brackets.
Result<PortRequest> parse_publish(std::string_view text);
// --expose containerPort[-end][/tcp|/udp]
Result<PortRequest> parse_expose(std::string_view text);

struct PortMapping {
    std::string protocol{};      // tcp | udp
    std::string host_ip{};       // "0.0.0.0", "::", "127.0.0.1" ...
    std::uint16_t host_port = 0;
    std::string container_ip{};  // without prefix length
    std::uint16_t container_port = 0;
    bool operator==(const PortMapping&) const = default;
};
// "80/tcp -> 0.0.0.0:8080", as `docker port` prints it.
std::string to_string(const PortMapping& m);

// ---- networks --------------------------------------------------------------------------------

struct NetworkOptions {
    std::string name{};
    std::string subnet{};   // IPv4 CIDR inside 198.18.0.0/15; "" picks a free /24
    bool ipv6 = false;
    std::string subnet6{};  // IPv6 CIDR inside 2001:2::/48; "" picks the /64 matching the IPv4 /24
    ProxyMode proxy = ProxyMode::nat;
};

struct Network {
    std::string name{};
    std::string bridge{};  // link name: ctb0 for the default network, ctbbr<hash> otherwise
    std::string subnet4{}, gateway4{};  // "198.18.1.0/24", "198.18.1.1"
    std::string subnet6{}, gateway6{};  // empty without IPv6
    ProxyMode proxy = ProxyMode::nat;
    bool builtin = false;  // the default network: created on first use, removed with its last user
    std::map<std::string, std::string> leases{};  // IPv4 address -> container id
    std::string owner{};  // the ctbench run that created it (runtime/ownership.hpp); "" = a user's
};

Result<Network> create_network(const NetworkOptions& options);
Result<std::vector<Network>> list_networks();
// Fails while containers are attached ("has active endpoints"); absent is an error unless
// `missing_ok`.
Status remove_network(const std::string& name, bool missing_ok = false);

// ---- attachments -------------------------------------------------------------------------------

struct AttachRequest {
    std::string container_id{};
    std::string network = kDefaultNetwork;  // none | host | bridge | a user-defined network
    std::string hostname{};                   // "" = the container id
    std::vector<std::string> aliases{};       // more names its peers resolve it by
    std::vector<PortRequest> publish{};       // -p
    std::vector<PortRequest> expose{};        // --expose (published by publish_all)
    bool publish_all = false;               // -P
};

struct ProxyProcess {
    pid_t pid = 0;
    unsigned long long start_time = 0;  // /proc/<pid>/stat field 22: a recycled pid is not ours
};

struct Attachment {
    std::string container_id{};
    std::string network{};  // none, host, or the network's name
    std::string mode{};     // none | host | bridge
    std::string netns_path{};            // pinned namespace to join ("" for host)
    std::string bridge{}, host_link{};   // host-side links (bridge mode)
    std::string address4{}, address6{};  // the container's CIDRs ("198.18.0.2/24")
    std::string gateway4{}, gateway6{};
    std::string hostname{};
    std::vector<std::string> names{};    // what peers on a user-defined network resolve it by
    std::vector<PortMapping> ports{};
    ProxyMode proxy = ProxyMode::nat;
    std::vector<ProxyProcess> proxies{};
    std::string hosts_file{}, resolv_file{};  // generated, bind-mounted over /etc/hosts, /etc/resolv.conf
    std::vector<std::string> notes{};       // e.g. "-p ignored with --network host"
    bool complete = false;                // false while attach() is still working (or was killed)
    std::string owner{};                  // the ctbench run that attached it; "" = a user's
};

// Builds the container's network. On failure nothing is left behind (no link, lease, rule, file).
Result<Attachment> attach(const AttachRequest& request);
// Removes every link, address, rule, proxy, lease and file of the container's attachment.
// Idempotent: a container without one, or one half-built by a SIGKILLed runtime, is fine.
Status detach(const std::string& container_id);
// The container's attachment, or ENOENT.
Result<Attachment> attachment(const std::string& container_id);
Result<std::vector<PortMapping>> ports(const std::string& container_id);

// Joins the attachment's namespace (or, for host, drops the network namespace), sets the
// hostname and bind-mounts the generated /etc/hosts and /etc/resolv.conf.
Status apply_to_spec(const Attachment& attachment, spec::Spec& spec);

}  // namespace ctb::net
