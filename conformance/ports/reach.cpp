// ports.* (reachability): Docker's -p semantics on the kernel's nftables NAT, for whichever
// runtime runs the container (the engine builds the namespace, the runtime joins it). Each case
// moves real packets to an echo server inside the container: from a "remote host" netns that
// stands in for a LAN neighbour, from the host itself, and from containers (hairpin). Host ports
// are picked by the engine (random free ones), so a case never collides with the machine's own.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "conformance/harness/registry.hpp"
#include "conformance/network/lab.hpp"

namespace ctb::conformance::netc {
namespace {

using nlohmann::json;


// The remote host reaches a published TCP port through the host's address; the container's own
// address stays unreachable for an unpublished port even with a route to it.
Verdict tcp_from_remote(const CaseContext& ctx) {
    auto b = must(open_bench(ctx.runtime, true));
    auto s = must(serve_published(*b.rt, fmt::format("{}", kPort), tcp_echo_servers({kPort, kPort + 1})));
    const std::string& hp = s.host_port;

    auto published = client_until_ok(b.agent, b.remote_ns(), {"tcp-client", kHostAddr, hp, "via-published"});
    json evidence{{"host_port", hp}, {"published", outcome_evidence(published)}};
    if (!echoed(published, "via-published"))
        return Verdict::fail("the remote host could not reach the published port through the host address", evidence);
    must(b.remote->route_containers_via_host());
    auto direct = client_once(b.agent, b.remote_ns(), {"tcp-client", bare(s.attachment->address4), std::to_string(kPort + 1), "x"});
    evidence["unpublished_direct"] = outcome_evidence(direct);
    if (direct.ok())
        return Verdict::fail("an unpublished container port was reachable from the remote host", evidence);
    return Verdict::pass(evidence);
}

Verdict udp_from_remote(const CaseContext& ctx) {
    auto b = must(open_bench(ctx.runtime, true));
    auto s = must(serve_published(*b.rt, fmt::format("{}/udp", kPort), udp_echo_server(kPort), kPort, "udp"));
    const std::string& hp = s.host_port;
    auto echo = client_until_ok(b.agent, b.remote_ns(), {"udp-client", kHostAddr, hp, "via-udp"});
    json evidence{{"host_port", hp}, {"udp", outcome_evidence(echo)}};
    if (!echoed(echo, "via-udp"))
        return Verdict::fail("the remote host got no UDP echo through the published port", evidence);
    return Verdict::pass(evidence);
}

// Host processes reach a port published on every address through 127.0.0.1 and a host address.
Verdict from_host(const CaseContext& ctx) {
    auto b = open_bench(ctx.runtime, true);  // the remote link gives the host a known address
    must(b);
    auto s = must(serve_published(*b->rt, fmt::format("{}", kPort), tcp_echo_servers({kPort})));
    const std::string& hp = s.host_port;
    auto lo = client_until_ok(b->agent, "", {"tcp-client", "127.0.0.1", hp, "host-lo"});
    auto addr = client_until_ok(b->agent, "", {"tcp-client", kHostAddr, hp, "host-addr"});
    json evidence{{"host_port", hp}, {"loopback", outcome_evidence(lo)}, {"host_address", outcome_evidence(addr)}};
    if (!echoed(lo, "host-lo")) return Verdict::fail("the host could not reach the port through 127.0.0.1", evidence);
    if (!echoed(addr, "host-addr")) return Verdict::fail("the host could not reach the port through its address", evidence);
    return Verdict::pass(evidence);
}

// -p 127.0.0.1::PORT: the host gets in; a neighbour that routes 127.0.0.1 via the host does not
// (moby#45610), and the drop counter proves its packets did arrive and were refused.
Verdict loopback_only(const CaseContext& ctx) {
    auto b = must(open_bench(ctx.runtime, true));
    auto s = must(serve_published(*b.rt, fmt::format("127.0.0.1::{}", kPort), tcp_echo_servers({kPort})));
    const std::string& hp = s.host_port;
    auto host = client_until_ok(b.agent, "", {"tcp-client", "127.0.0.1", hp, "from-host"});
    json evidence{{"host_port", hp}, {"host", outcome_evidence(host)}};
    if (!echoed(host, "from-host")) return Verdict::fail("the host could not reach its own 127.0.0.1 port", evidence);

    must(b.remote->route_loopback_to_host());
    long long before = net::testbed::loopback_drops();
    auto attack = client_once(b.agent, b.remote_ns(), {"tcp-client", "127.0.0.1", hp, "x"}, 1000);
    long long after = net::testbed::loopback_drops();
    auto via_addr = client_once(b.agent, b.remote_ns(), {"tcp-client", kHostAddr, hp, "x"});
    evidence.update({{"remote_to_127", outcome_evidence(attack)}, {"drops_before", before}, {"drops_after", after},
                     {"remote_to_host_address", outcome_evidence(via_addr)}});
    if (attack.ok() || via_addr.ok())
        return Verdict::fail("a port published on 127.0.0.1 was reachable from another host", evidence);
    if (after <= before)
        setup_failed("the remote's packets to 127.0.0.1 never reached the host's drop rule: nothing proven");
    return Verdict::pass(evidence);
}

// A container reaches its own and a neighbour reaches its published port through the host
// address and through the bridge gateway (hairpin NAT + masquerade).
Verdict hairpin(const CaseContext& ctx) {
    auto b = must(open_bench(ctx.runtime, true));
    auto s = must(serve_published(*b.rt, fmt::format("{}", kPort), tcp_echo_servers({kPort})));
    auto neighbour = must(ScopedAttachment::attach({}));
    const std::string& hp = s.host_port;
    const net::Attachment& server = *s.attachment;

    json evidence{{"host_port", hp}};
    std::vector<std::string> failed;
    for (const std::string& addr : {std::string(kHostAddr), server.gateway4}) {
        for (const auto* from : {&server, &*neighbour}) {
            std::string who = from == &server ? "own" : "neighbour";
            auto r = client_until_ok(b.agent, from->netns_path, {"tcp-client", addr, hp, who});
            evidence[who + " via " + addr] = outcome_evidence(r);
            if (!echoed(r, who)) failed.push_back(who + " via " + addr);
        }
    }
    if (!failed.empty())
        return Verdict::fail(fmt::format("hairpin to the published port failed: {}", fmt::join(failed, ", ")), evidence);
    return Verdict::pass(evidence);
}

CTB_CONFORMANCE_CASE({
    .id = "ports.tcp_from_remote_host",
    .reference = "Docker -p (container networking: published ports); nft(8) dnat",
    .needs = bridge_needs(),
    .body = tcp_from_remote,
});
CTB_CONFORMANCE_CASE({
    .id = "ports.udp_from_remote_host",
    .reference = "Docker -p PORT/udp; nft(8) dnat",
    .needs = bridge_needs(),
    .body = udp_from_remote,
});
CTB_CONFORMANCE_CASE({
    .id = "ports.from_host",
    .reference = "Docker -p; nft(8) output-hook dnat; ip-sysctl route_localnet",
    .needs = bridge_needs(),
    .body = from_host,
});
CTB_CONFORMANCE_CASE({
    .id = "ports.loopback_binding_is_host_only",
    .reference = "Docker -p 127.0.0.1:...; moby#45610 (loopback-published ports reachable from the LAN)",
    .needs = bridge_needs(),
    .body = loopback_only,
});
CTB_CONFORMANCE_CASE({
    .id = "ports.hairpin",
    .reference = "Docker -p (hairpin NAT); bridge hairpin_mode (ip-link(8))",
    .needs = bridge_needs(),
    .body = hairpin,
});

}  // namespace
}  // namespace ctb::conformance::netc
