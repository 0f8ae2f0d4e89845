// network.* (modes): --network none, host and the default bridge, for whichever runtime runs the
// container. What a container can reach is tested by sending to it and from it (the agent's
// echo clients, run inside the container with exec), not by reading the engine's record back.
#include <sys/stat.h>

#include <fmt/format.h>

#include "conformance/harness/registry.hpp"
#include "conformance/network/lab.hpp"

namespace ctb::conformance::netc {
namespace {

using nlohmann::json;

std::vector<std::string> interface_names(const json& info) {
    std::vector<std::string> names;
    for (const auto& itf : info.value("interfaces", json::array()))
        if (itf.is_object()) names.push_back(itf.value("name", ""));
    return names;
}

// --network none: only a loopback, which works, and nothing else is reachable.
Verdict none_is_loopback_only(const CaseContext& ctx) {
    auto b = must(open_bench(ctx.runtime, true));
    auto a = must(ScopedAttachment::attach({.network = "none"}));
    auto c = must(start_in(*b.rt, *a, tcp_echo_servers({7000})));
    json info = agent_inside(*c, {"info"});
    json lo_echo = agent_inside(*c, {"tcp-client", "127.0.0.1", "7000", "lo", "--timeout", "2000"});
    json out = agent_inside(*c, {"tcp-client", kRemoteAddr, "9", "x", "--timeout", "500"});
    json evidence{{"interfaces", interface_names(info)}, {"loopback_echo", lo_echo}, {"to_remote", out}};
    if (interface_names(info) != std::vector<std::string>{"lo"})
        return Verdict::fail("a --network none container has interfaces besides lo", evidence);
    if (lo_echo.value("reply", "") != "lo") return Verdict::fail("the loopback of a --network none container does not work", evidence);
    if (out.value("ok", false) || out.value("error", json()) != "ENETUNREACH")
        return Verdict::fail("a --network none container could send beyond its loopback (want ENETUNREACH)", evidence);
    return Verdict::pass(evidence);
}

unsigned long long host_netns_inode() {
    struct stat st{};
    return ::stat("/proc/self/ns/net", &st) == 0 ? st.st_ino : 0;
}

// --network host: the host's own namespace; a server on the host's 127.0.0.1 answers from inside.
Verdict host_shares_stack(const CaseContext& ctx) {
    auto b = must(open_bench(ctx.runtime, false));
    auto a = must(ScopedAttachment::attach({.network = "host"}));
    auto free = must(free_tcp_port());
    auto port = std::to_string(free);
    auto server = must(ScopedServer::start(b.agent, "", {"tcp-echo-server", port, "--bind", "127.0.0.1"}));
    auto c = must(start_in(*b.rt, *a, sleeper()));
    json info = agent_inside(*c, {"info"});
    json echo = agent_inside(*c, {"tcp-client", "127.0.0.1", port, "host-lo", "--timeout", "2000"});
    auto host_ino = host_netns_inode();
    json evidence{{"host_netns", host_ino}, {"container_netns", info.value("namespaces", json::object()).value("net", json())},
                  {"echo_from_host_loopback", echo}};
    if (evidence["container_netns"] != host_ino)
        return Verdict::fail("a --network host container is not in the host's network namespace", evidence);
    if (echo.value("reply", "") != "host-lo")
        return Verdict::fail("a --network host container could not reach a server on the host's loopback", evidence);
    return Verdict::pass(evidence);
}

// Default bridge: each container has its own address in the subnet, a default route through the
// gateway, reaches its neighbour by address, and reaches the outside through masquerade (the
// remote host has no route back to 198.18.0.0/15, so its reply can only come through NAT).
Verdict bridge_addressing_and_masquerade(const CaseContext& ctx) {
    auto b = must(open_bench(ctx.runtime, true));
    auto remote_server = must(ScopedServer::start(b.agent, b.remote_ns(), {"tcp-echo-server", "7100"}));
    auto a = must(ScopedAttachment::attach({}));
    auto n = must(ScopedAttachment::attach({}));
    auto ca = must(start_in(*b.rt, *a, sleeper()));
    auto cn = must(start_in(*b.rt, *n, tcp_echo_servers({7000})));

    json info = agent_inside(*ca, {"info"});
    std::string mine = bare(a->address4), theirs = bare(n->address4);
    json evidence{{"addresses", {mine, theirs}}, {"gateway", a->gateway4}, {"interfaces", info.value("interfaces", json())}};
    bool has_address = info.dump().find('"' + mine + '"') != std::string::npos;
    if (mine == theirs || !has_address)
        return Verdict::fail("the container's eth0 does not carry its own, distinct address", evidence);
    evidence["to_neighbour"] = agent_inside(*ca, {"tcp-client", theirs, "7000", "peer", "--timeout", "2000"});
    if (evidence["to_neighbour"].value("reply", "") != "peer")
        return Verdict::fail("a container could not reach its neighbour on the bridge by address", evidence);
    evidence["to_remote"] = agent_inside(*ca, {"tcp-client", kRemoteAddr, "7100", "outbound", "--timeout", "2000"});
    if (evidence["to_remote"].value("reply", "") != "outbound")
        return Verdict::fail("outbound traffic did not come back: no masquerade", evidence);
    return Verdict::pass(evidence);
}

CTB_CONFORMANCE_CASE({
    .id = "network.none_is_loopback_only",
    .reference = "Docker --network none; network_namespaces(7)",
    .needs = netns_needs(),
    .body = none_is_loopback_only,
});
CTB_CONFORMANCE_CASE({
    .id = "network.host_shares_host_stack",
    .reference = "Docker --network host; OCI config-linux.md#namespaces (no network)",
    .needs = netns_needs(),
    .body = host_shares_stack,
});
CTB_CONFORMANCE_CASE({
    .id = "network.bridge_addressing_and_masquerade",
    .reference = "Docker default bridge; nft(8) masquerade; veth(4)",
    .needs = bridge_needs(),
    .body = bridge_addressing_and_masquerade,
});

}  // namespace
}  // namespace ctb::conformance::netc
