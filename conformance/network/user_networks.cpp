// network.* (user-defined networks and teardown): isolation between networks, name resolution
// among peers (Docker resolves names on user-defined networks only), IPv6 from 2001:2::/48, and
// that a detached container leaves no link, pin or rule behind. Traffic comes from inside the
// containers (exec), names are resolved by the image's busybox through the generated /etc/hosts.
#include <sys/stat.h>

#include <filesystem>
#include <fmt/format.h>

#include "common/files.hpp"
#include "conformance/harness/registry.hpp"
#include "conformance/network/lab.hpp"

namespace ctb::conformance::netc {
namespace {

using nlohmann::json;

// A command's output from inside the container, with its status.
json run_inside(RunningContainer& c, const std::vector<std::string>& argv) {
    auto out = c.exec(argv);
    if (!out) return {{"status", -1}, {"output", out.error().message()}};
    return {{"status", out->status}, {"output", (out->out + out->err).substr(0, 400)}};
}

// busybox ping by name: resolved through /etc/hosts and answered.
json ping(RunningContainer& c, const std::string& name) { return run_inside(c, {"/bin/ping", "-c1", "-W2", name}); }
bool answered(const json& r) { return r.value("status", -1) == 0 && r.value("output", "").find("1 packets received") != std::string::npos; }

// Two user-defined networks: containers reach peers on their own network, not the other's.
Verdict isolated(const CaseContext& ctx) {
    auto b = must(open_bench(ctx.runtime, false));
    auto x = must(ScopedNetwork::create("x"));
    auto y = must(ScopedNetwork::create("y"));
    auto client = ScopedAttachment::attach({.network = x->name});
    auto same = ScopedAttachment::attach({.network = x->name});
    auto other = ScopedAttachment::attach({.network = y->name});
    for (const auto* r : {&client, &same, &other})
        must(*r);
    auto cc = must(start_in(*b.rt, **client, sleeper()));
    auto cs = must(start_in(*b.rt, **same, tcp_echo_servers({7000})));
    auto co = must(start_in(*b.rt, **other, tcp_echo_servers({7000})));

    json evidence{{"subnets", {x->subnet4, y->subnet4}}};
    evidence["same_network"] = agent_inside(*cc, {"tcp-client", bare((*same)->address4), "7000", "same", "--timeout", "2000"});
    // The control proves the other container's server is up: reached from the host side.
    evidence["other_from_its_own_netns"] = outcome_evidence(
        client_until_ok(b.agent, (*other)->netns_path, {"tcp-client", bare((*other)->address4), "7000", "self"}));
    evidence["other_network"] = agent_inside(*cc, {"tcp-client", bare((*other)->address4), "7000", "x", "--timeout", "700"});
    if (evidence["same_network"].value("reply", "") != "same")
        return Verdict::fail("a container could not reach a peer on its own network", evidence);
    if (evidence["other_from_its_own_netns"].value("ok", false) != true)
        setup_failed("the other network's server never answered: isolation not proven");
    if (evidence["other_network"].value("ok", false))
        return Verdict::fail("a container reached a container on another user-defined network", evidence);
    return Verdict::pass(evidence);
}

// On a user-defined network peers resolve each other by name and alias; on the default bridge
// they do not (Docker's behaviour).
Verdict names(const CaseContext& ctx) {
    auto b = must(open_bench(ctx.runtime, false));
    auto n = must(ScopedNetwork::create("names"));
    auto a = ScopedAttachment::attach({.network = n->name, .aliases = {"ctb-alpha"}});
    auto p = ScopedAttachment::attach({.network = n->name});
    auto d1 = ScopedAttachment::attach({});
    auto d2 = ScopedAttachment::attach({});
    for (const auto* r : {&a, &p, &d1, &d2})
        must(*r);
    // A name /etc/hosts does not know would go to the host's nameservers (the generated
    // resolv.conf carries them, as Docker's does): these containers ask their own loopback, so
    // no query leaves the machine and "bad address" comes at once.
    ScratchDir scratch("ctbc-resolv");
    std::string resolv = scratch.path() + "/resolv.conf";
    must(write_file(resolv, "nameserver 127.0.0.1\n"));
    std::vector<spec::Mount> local_dns{{"/etc/resolv.conf", "bind", resolv, {"bind", "ro"}}};
    auto ca = must(start_in(*b.rt, **a, sleeper(), local_dns));
    auto cp = start_in(*b.rt, **p, sleeper(), local_dns);  // joined after a: a's /etc/hosts was rewritten
    must(cp);
    auto cd1 = must(start_in(*b.rt, **d1, sleeper(), local_dns));
    auto cd2 = must(start_in(*b.rt, **d2, sleeper(), local_dns));

    json evidence{{"a_to_peer_by_name", ping(*ca, (*p)->hostname)},
                  {"peer_to_a_by_name", ping(**cp, (*a)->hostname)},
                  {"peer_to_a_by_alias", ping(**cp, "ctb-alpha")},
                  {"default_bridge_by_name", ping(*cd1, (*d2)->hostname)},
                  {"default_bridge_by_address", ping(*cd1, bare((*d2)->address4))}};
    for (const char* key : {"a_to_peer_by_name", "peer_to_a_by_name", "peer_to_a_by_alias"})
        if (!answered(evidence[key])) return Verdict::fail(fmt::format("{} failed on a user-defined network", key), evidence);
    if (!answered(evidence["default_bridge_by_address"]))
        setup_failed("default-bridge neighbours could not ping by address: the name check proves nothing");
    if (evidence["default_bridge_by_name"].value("output", "").find("bad address") == std::string::npos)
        return Verdict::fail("a name resolved on the default bridge (Docker resolves none there)", evidence);
    return Verdict::pass(evidence);
}

bool in_prefix(const std::string& cidr, const std::string& prefix) { return cidr.rfind(prefix, 0) == 0; }

// A network created with IPv6 gives each container an address from 2001:2::/48; TCP over IPv6
// works between peers.
Verdict ipv6(const CaseContext& ctx) {
    auto b = must(open_bench(ctx.runtime, false));
    auto n = must(ScopedNetwork::create("v6", true));
    auto a = ScopedAttachment::attach({.network = n->name});
    auto s = ScopedAttachment::attach({.network = n->name});
    for (const auto* r : {&a, &s})
        must(*r);
    auto ca = must(start_in(*b.rt, **a, sleeper()));
    auto cs = must(start_in(*b.rt, **s, tcp_echo_servers({7000})));
    json evidence{{"subnet6", n->subnet6}, {"addresses", {(*a)->address6, (*s)->address6}}};
    if (!in_prefix((*a)->address6, "2001:2:") || !in_prefix((*s)->address6, "2001:2:"))
        return Verdict::fail("IPv6 addresses are not from 2001:2::/48", evidence);
    // A fresh IPv6 address is "tentative" until duplicate address detection ends: retry, bounded.
    auto echo = client_until_ok(b.agent, (*a)->netns_path, {"tcp-client", bare((*s)->address6), "7000", "v6"});
    evidence["echo_v6"] = outcome_evidence(echo);
    evidence["echo_from_container"] = agent_inside(*ca, {"tcp-client", bare((*s)->address6), "7000", "v6c", "--timeout", "2000"});
    if (!echoed(echo, "v6") || evidence["echo_from_container"].value("reply", "") != "v6c")
        return Verdict::fail("TCP over IPv6 between peers failed", evidence);
    return Verdict::pass(evidence);
}

// After the container is deleted and detached, nothing of its network remains: no veth, no pinned
// namespace, no rules, and the default bridge goes with its last user.
Verdict teardown(const CaseContext& ctx) {
    auto b = must(open_bench(ctx.runtime, false));
    auto before = net::testbed::engine_links();
    must(before);
    if (!before->empty() || net::testbed::nft_table_exists())
        return Verdict::skip("another user of the network engine is active on this host; teardown cannot be judged");
    auto a = must(ScopedAttachment::attach({.publish = {*net::parse_publish("7000")}}));
    std::string pin = a->netns_path;
    json evidence{{"while_attached", {{"links", *net::testbed::engine_links()}, {"nft_table", net::testbed::nft_table_exists()}}}};
    {
        auto c = must(start_in(*b.rt, *a, tcp_echo_servers({7000})));
    }
    if (auto s = a.detach(); !s) return Verdict::fail("detach failed: " + s.error().message(), evidence);
    auto after = net::testbed::engine_links();
    evidence["after"] = {{"links", after ? json(*after) : json(after.error().message())},
                         {"pin_exists", std::filesystem::exists(pin)},
                         {"nft_table", net::testbed::nft_table_exists()}};
    if (!after || !after->empty() || evidence["after"]["pin_exists"] == true || evidence["after"]["nft_table"] == true)
        return Verdict::fail("the detached container left network state behind", evidence);
    return Verdict::pass(evidence);
}

CTB_CONFORMANCE_CASE({
    .id = "network.user_networks_isolated",
    .reference = "Docker user-defined bridge networks (isolation)",
    .needs = bridge_needs(),
    .body = isolated,
});
CTB_CONFORMANCE_CASE({
    .id = "network.names_on_user_networks_only",
    .reference = "Docker embedded name resolution (user-defined networks, --network-alias)",
    .needs = bridge_needs(),
    .body = names,
});
CTB_CONFORMANCE_CASE({
    .id = "network.ipv6_user_network",
    .reference = "Docker --ipv6 networks; RFC 5180 (2001:2::/48 benchmarking range)",
    .needs = bridge_needs(),
    .body = ipv6,
});
CTB_CONFORMANCE_CASE({
    .id = "network.teardown_leaves_nothing",
    .reference = "Docker container removal; veth(4), nft(8)",
    .needs = bridge_needs(),
    .body = teardown,
});

}  // namespace
}  // namespace ctb::conformance::netc
