// nftables rules for NAT networks and published ports (see ruleset.hpp).
//
// Chains (all in table inet ctbench):
//   net_raw       prerouting, priority raw: drop packets for 127.0.0.0/8 that arrive on any
//                 interface but lo. With route_localnet=1 on a bridge (needed to DNAT the host's own
//                 127.0.0.1 traffic to a container), a neighbour on the LAN could otherwise send
//                 to 127.0.0.1:<port> and reach a port published only on localhost (moby#45610).
//   net_dnat      prerouting, dstnat: traffic from outside to a host address -> net_ports.
//                 Loopback destinations never get here: they are only ever DNATed for traffic
//                 the host itself generates (net_dnat_out), which is the second half of the fix.
//   net_dnat_out  output, dstnat: the host's own traffic to a host address -> net_ports, and to
//                 127.0.0.0/8 -> net_ports_lo first (ports published on 127.0.0.1).
//   net_ports     one DNAT rule per published port (0.0.0.0, ::, or a specific host address).
//   net_ports_lo  one DNAT rule per port published on a loopback address.
//   net_forward   forward, filter, per network: a new connection from outside into a bridge must
//                 have been DNATed (a published port). Without it, any neighbour that routes the
//                 container subnet via this host reaches every port of every container, and the
//                 networks reach each other (Docker isolates both the same way).
//   net_snat      postrouting, srcnat, per network: masquerade outbound traffic; masquerade
//                 127.0.0.0/8 sources going into the bridge (the reply must come back to the host,
//                 and 127.x cannot be a source on the wire); hairpin: masquerade DNATed traffic from
//                 the network to the network, so a container reaching its own (or a neighbour's)
//                 published port through a host address gets the replies through the host too.
#include "runtime/network/ruleset.hpp"

#include <fmt/format.h>

#include <sstream>

#include "runtime/network/nft.hpp"

namespace ctb::net::rules {
namespace {

// Base chains first: deleting them first drops the jumps into the regular ones.
constexpr const char* kChains[] = {"net_raw",   "net_dnat",  "net_dnat_out", "net_forward",
                                   "net_snat",  "net_ports", "net_ports_lo"};

std::string chain_declarations() {
    return fmt::format(
        "add table {0}\n"
        "add chain {0} net_raw {{ type filter hook prerouting priority raw; policy accept; }}\n"
        "add chain {0} net_dnat {{ type nat hook prerouting priority dstnat; policy accept; }}\n"
        // "dstnat" names -100 only for prerouting; the output hook takes the number.
        "add chain {0} net_dnat_out {{ type nat hook output priority -100; policy accept; }}\n"
        "add chain {0} net_forward {{ type filter hook forward priority filter; policy accept; }}\n"
        "add chain {0} net_snat {{ type nat hook postrouting priority srcnat; policy accept; }}\n"
        "add chain {0} net_ports\n"
        "add chain {0} net_ports_lo\n",
        kTable);
}

std::string fixed_rules() {
    std::string t = kTable;
    return fmt::format(
        "add rule {0} net_raw iifname != \"lo\" ip daddr 127.0.0.0/8 counter drop comment \"moby#45610\"\n"
        "add rule {0} net_dnat ip daddr 127.0.0.0/8 return\n"
        "add rule {0} net_dnat ip6 daddr ::1 return\n"
        "add rule {0} net_dnat fib daddr type local jump net_ports\n"
        "add rule {0} net_dnat_out ip daddr 127.0.0.0/8 jump net_ports_lo\n"
        "add rule {0} net_dnat_out ip6 daddr ::1 return\n"
        "add rule {0} net_dnat_out fib daddr type local jump net_ports\n",
        t);
}

bool is_v6(const std::string& ip) { return ip.find(':') != std::string::npos; }

void network_rules(std::ostream& out, const Network& n) {
    std::string c = fmt::format("comment \"net {}\"", n.name);
    out << fmt::format("add rule {} net_forward oifname \"{}\" iifname != \"{}\" ct state new ct status & dnat == 0 drop {}\n",
                       kTable, n.bridge, n.bridge, c);
    out << fmt::format("add rule {} net_snat ip saddr {} oifname != \"{}\" masquerade {}\n", kTable, n.subnet4, n.bridge, c);
    out << fmt::format("add rule {} net_snat oifname \"{}\" ip saddr 127.0.0.0/8 masquerade {}\n", kTable, n.bridge, c);
    out << fmt::format("add rule {} net_snat oifname \"{}\" ct status dnat ip saddr {} masquerade {}\n", kTable,
                       n.bridge, n.subnet4, c);
    if (n.subnet6.empty()) return;
    out << fmt::format("add rule {} net_snat ip6 saddr {} oifname != \"{}\" masquerade {}\n", kTable, n.subnet6, n.bridge, c);
    out << fmt::format("add rule {} net_snat oifname \"{}\" ct status dnat ip6 saddr {} masquerade {}\n", kTable,
                       n.bridge, n.subnet6, c);
}

void port_rule(std::ostream& out, const std::string& id, const PortMapping& m) {
    bool v6 = is_v6(m.host_ip);
    bool any = m.host_ip == "0.0.0.0" || m.host_ip == "::";
    bool loopback = !v6 && m.host_ip.starts_with("127.");
    std::string match = any ? (v6 ? "meta nfproto ipv6" : "meta nfproto ipv4")
                            : fmt::format("{} daddr {}", v6 ? "ip6" : "ip", m.host_ip);
    std::string to = v6 ? fmt::format("[{}]:{}", m.container_ip, m.container_port)
                        : fmt::format("{}:{}", m.container_ip, m.container_port);
    out << fmt::format("add rule {} {} {} {} dport {} dnat {} to {} comment \"ctr {}\"\n", kTable,
                       loopback ? "net_ports_lo" : "net_ports", match, m.protocol, m.host_port, v6 ? "ip6" : "ip", to, id);
}

bool uses_nat(const Network& n) { return n.proxy == ProxyMode::nat; }

Status remove_ours(Nft& nft) {
    // "add" first makes the deletes valid whether or not the chains exist, in one transaction.
    std::string cmds = chain_declarations();
    for (const char* chain : kChains) cmds += fmt::format("flush chain {} {}\n", kTable, chain);
    for (const char* chain : kChains) cmds += fmt::format("delete chain {} {}\n", kTable, chain);
    if (auto r = nft.run(cmds); !r) return fail(r.error());
    auto listing = nft.run(fmt::format("list table {}", kTable));
    if (!listing) return fail(listing.error());
    // Someone else's chains or sets in "our" table stay; an empty table goes.
    for (const char* word : {"chain ", "set ", "map ", "flowtable ", "counter ", "quota "})
        if (listing->find(word) != std::string::npos) return {};
    return nft.delete_table("inet", "ctbench");
}

}  // namespace

std::string render(const std::vector<Network>& networks, const std::vector<Attachment>& endpoints) {
    std::ostringstream out;
    bool any_nat = false;
    for (const auto& n : networks) any_nat = any_nat || uses_nat(n);
    if (!any_nat) return "";
    out << chain_declarations();
    for (const char* chain : kChains) out << fmt::format("flush chain {} {}\n", kTable, chain);
    out << fixed_rules();
    for (const auto& n : networks)
        if (uses_nat(n)) network_rules(out, n);
    for (const auto& e : endpoints)
        if (e.mode == "bridge" && e.proxy == ProxyMode::nat)
            for (const auto& m : e.ports) port_rule(out, e.container_id, m);
    return out.str();
}

Status sync(const std::vector<Network>& networks, const std::vector<Attachment>& endpoints) {
    std::string commands = render(networks, endpoints);
    if (commands.empty()) {
        // Nothing to install: do not even open nftables unless our table is there to remove,
        // so userland-proxy networks work on hosts without nf_tables.
        auto nft = Nft::open();
        if (!nft) return {};
        if (!nft->run(fmt::format("list table {}", kTable))) return {};
        return remove_ours(*nft);
    }
    auto nft = Nft::open();
    if (!nft) return fail(nft.error());
    if (auto r = nft->run(commands); !r) return fail(r.error());
    return {};
}

}  // namespace ctb::net::rules
