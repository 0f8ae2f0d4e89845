// ports.* (allocation): which host port a -p/-P request gets, what happens when it is taken, that
// it is given back, and the userland-proxy mode that needs no NAT at all. Every mapping is proven
// by an echo through it from the remote host, not by reading the engine's own record back.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/files.hpp"
#include "common/proc.hpp"
#include "conformance/harness/registry.hpp"
#include "conformance/network/lab.hpp"

namespace ctb::conformance::netc {
namespace {

using nlohmann::json;

// A host socket on 0.0.0.0:port (0 = any free port) that a host process holds.
struct HostSocket {
    UniqueFd fd;
    std::uint16_t port = 0;
};
Result<HostSocket> hold_port(int type, std::uint16_t port) {
    UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
    if (!fd) return fail(sys_error("socket", "host port holder"));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    socklen_t len = sizeof addr;
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0)
        return fail(sys_error("bind", fmt::format("0.0.0.0:{}", port)));
    if (type == SOCK_STREAM && ::listen(fd.get(), 8) != 0) return fail(sys_error("listen", "host port holder"));
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
    return HostSocket{std::move(fd), ntohs(addr.sin_port)};
}

std::pair<unsigned, unsigned> ephemeral_range() {
    unsigned lo = 32768, hi = 60999;
    if (auto text = read_file("/proc/sys/net/ipv4/ip_local_port_range")) std::sscanf(text->c_str(), "%u %u", &lo, &hi);
    return {lo, hi};
}

// Two consecutive free TCP ports (checked by binding them) from 20000 up to the kernel's
// ephemeral range (at least 1024 of them), outside [avoid, avoid + 1]. Not ephemeral ports: the
// kernel hands those to any outgoing connection of the host, which took one between this check
// and the engine's bind in 1 of 20 runs of the stability test ("no free port in the range").
Result<std::uint16_t> free_pair(std::uint16_t avoid = 0) {
    const unsigned lo = 20000, hi = std::max(ephemeral_range().first, lo + 1024u) - 2;
    static unsigned next = lo + static_cast<unsigned>(::getpid()) % (hi - lo);
    for (int tries = 0; tries < 64; ++tries) {
        auto first = static_cast<std::uint16_t>(next);
        next = next + 7 >= hi ? lo + (next + 7 - hi) : next + 7;
        if (avoid != 0 && first + 1 >= avoid && first <= avoid + 1) continue;
        if (hold_port(SOCK_STREAM, first) && hold_port(SOCK_STREAM, static_cast<std::uint16_t>(first + 1))) return first;
    }
    return fail(plain_error("find", "two consecutive free host ports below the ephemeral range", "none in 64 tries"));
}

bool attachment_absent(const std::string& id) {
    auto a = net::attachment(id);
    return !a && a.error().err == ENOENT;
}

// A taken host port is refused with "port already allocated", whether another container published
// it or a host process listens on it, and the refused attach leaves nothing behind.
Verdict in_use_refused(const CaseContext& ctx) {
    auto b = must(open_bench(ctx.runtime, false));
    auto first = must(ScopedAttachment::attach({.publish = {*net::parse_publish(fmt::format("{}", kPort))}}));
    auto holder = must(hold_port(SOCK_STREAM, 0));
    auto links_before = must(net::testbed::engine_links());

    json evidence = json::object();
    std::vector<std::string> wrong;
    for (auto [what, port] : {std::pair{"published_by_container", host_port_of(*first, kPort)},
                              std::pair{"held_by_host_process", holder.port}}) {
        std::string id = unique_id();
        auto again = net::attach({.container_id = id, .publish = {*net::parse_publish(fmt::format("{}:{}", port, kPort))}});
        if (again) (void)net::detach(id);
        auto links_after = net::testbed::engine_links();
        evidence[what] = {{"port", port}, {"result", again ? "attached" : again.error().message()},
                          {"links_left", links_after ? json(*links_after) : json(links_after.error().message())}};
        if (again || again.error().message().find("port already allocated") == std::string::npos)
            wrong.push_back(fmt::format("{} (port {}) was not refused as allocated", what, port));
        else if (!attachment_absent(id) || !links_after || *links_after != links_before)
            wrong.push_back(fmt::format("the refused attach ({}) left state or links behind", what));
    }
    if (!wrong.empty()) return Verdict::fail(fmt::format("{}", fmt::join(wrong, "; ")), evidence);
    return Verdict::pass(evidence);
}

// HOST-RANGE:CONTAINER-RANGE maps pairwise; one container port with a host range takes the first
// free host port of the range.
Verdict ranges(const CaseContext& ctx) {
    auto b = must(open_bench(ctx.runtime, true));
    // The first port of the second range is held by a host process: the mapping must skip it.
    auto t = must(free_pair());
    auto taken = must(hold_port(SOCK_STREAM, t));
    auto p = must(free_pair(taken.port));
    std::string pairwise = fmt::format("{}-{}:{}-{}", p, p + 1, kPort, kPort + 1);
    std::string first_free = fmt::format("{}-{}:{}", taken.port, taken.port + 1, kPort + 2);
    auto a = must(ScopedAttachment::attach({.publish = {*net::parse_publish(pairwise), *net::parse_publish(first_free)}}));
    auto c = must(start_in(*b.rt, *a, tcp_echo_servers({kPort, kPort + 1, kPort + 2})));

    json evidence{{"requests", {pairwise, first_free}}, {"mappings", json::array()}};
    for (const auto& m : a->ports) evidence["mappings"].push_back(net::to_string(m));
    std::vector<std::pair<int, int>> want{{p, kPort}, {p + 1, kPort + 1}, {taken.port + 1, kPort + 2}};
    for (auto [host, container] : want) {
        if (host_port_of(*a, static_cast<std::uint16_t>(container)) != host)
            return Verdict::fail(fmt::format("container port {} is not mapped to host port {}", container, host), evidence);
        auto r = client_until_ok(b.agent, b.remote_ns(), {"tcp-client", kHostAddr, std::to_string(host), "range"});
        evidence[fmt::format("echo_{}", host)] = outcome_evidence(r);
        if (!echoed(r, "range"))
            return Verdict::fail(fmt::format("no echo through host port {} -> {}", host, container), evidence);
    }
    return Verdict::pass(evidence);
}

// -P publishes every exposed port on a random port of the kernel's ephemeral range.
Verdict publish_all(const CaseContext& ctx) {
    auto b = must(open_bench(ctx.runtime, true));
    auto a = must(ScopedAttachment::attach({.expose = {*net::parse_expose(fmt::format("{}", kPort)),
                                                  *net::parse_expose(fmt::format("{}/udp", kPort + 1))},
                                       .publish_all = true}));
    auto c = must(start_in(*b.rt, *a, {"/bin/sh", "-c", fmt::format("{} udp-echo-server {} & exec {} tcp-echo-server {}",
                                                                 kAgent, kPort + 1, kAgent, kPort)}));
    auto [lo, hi] = ephemeral_range();
    json evidence{{"ephemeral_range", {lo, hi}}, {"mappings", json::array()}};
    if (a->ports.size() != 2) return Verdict::fail("-P did not publish both exposed ports", evidence);
    for (const auto& m : a->ports) {
        evidence["mappings"].push_back(net::to_string(m));
        if (m.host_port < lo || m.host_port > hi)
            return Verdict::fail(fmt::format("{} is outside the ephemeral range", net::to_string(m)), evidence);
        auto r = client_until_ok(b.agent, b.remote_ns(), {m.protocol + "-client", kHostAddr, std::to_string(m.host_port), "rnd"});
        evidence[net::to_string(m)] = outcome_evidence(r);
        if (!echoed(r, "rnd")) return Verdict::fail(fmt::format("no echo through {}", net::to_string(m)), evidence);
    }
    return Verdict::pass(evidence);
}

// After the container is gone and detached, its host port is free: a host process can bind it
// and a new container can publish it again.
Verdict released(const CaseContext& ctx) {
    auto b = must(open_bench(ctx.runtime, true));
    std::uint16_t hp = 0;
    json evidence = json::object();
    {
        auto first = must(serve_published(*b.rt, fmt::format("{}", kPort), tcp_echo_servers({kPort})));
        hp = host_port_of(*first.attachment, kPort);
        auto before = client_until_ok(b.agent, b.remote_ns(), {"tcp-client", kHostAddr, std::to_string(hp), "first"});
        evidence["first_container"] = outcome_evidence(before);
        if (!echoed(before, "first")) setup_failed("the first container's port never worked: nothing to release");
        first.container.stop();
        if (auto s = first.attachment.detach(); !s) return Verdict::fail("detach failed: " + s.error().message(), evidence);
    }
    evidence["host_port"] = hp;
    auto rebound = hold_port(SOCK_STREAM, hp);
    evidence["host_bind_after"] = rebound ? "bound" : rebound.error().message();
    if (!rebound) return Verdict::fail("the host port was not released", evidence);
    rebound->fd.reset();
    auto again = ScopedAttachment::attach({.publish = {*net::parse_publish(fmt::format("{}:{}", hp, kPort))}});
    if (!again) return Verdict::fail("a new container could not publish the released port: " + again.error().message(), evidence);
    auto c = must(start_in(*b.rt, **again, tcp_echo_servers({kPort})));
    auto after = client_until_ok(b.agent, b.remote_ns(), {"tcp-client", kHostAddr, std::to_string(hp), "second"});
    evidence["second_container"] = outcome_evidence(after);
    if (!echoed(after, "second")) return Verdict::fail("the port republished by a new container does not work", evidence);
    return Verdict::pass(evidence);
}

// A live (not zombie: a killed proxy is reaped by whoever inherits it) process named as proxies are.
bool proxy_running(pid_t pid) {
    auto st = read_proc_stat(pid);
    return st && st->comm == net::kProxyProcessName && !st->exited();
}

// A userland-proxy network publishes through a forwarding process: no nft table at all, the same
// reachability for TCP and UDP, and the proxy ends with the attachment.
Verdict userland_proxy(const CaseContext& ctx) {
    auto b = must(open_bench(ctx.runtime, true));
    auto n = must(ScopedNetwork::create("proxy", false, net::ProxyMode::userland));
    auto a = must(ScopedAttachment::attach({.network = n->name,
                                       .publish = {*net::parse_publish(fmt::format("{}", kPort)),
                                                   *net::parse_publish(fmt::format("{}/udp", kPort + 1))}}));
    auto c = must(start_in(*b.rt, *a, {"/bin/sh", "-c", fmt::format("{} udp-echo-server {} & exec {} tcp-echo-server {}",
                                                                 kAgent, kPort + 1, kAgent, kPort)}));
    json evidence{{"nft_table", net::testbed::nft_table_exists()}, {"proxies", a->proxies.size()}};
    if (evidence["nft_table"] == true) return Verdict::fail("a userland-proxy network installed nft rules", evidence);
    for (const auto& m : a->ports) {
        auto r = client_until_ok(b.agent, b.remote_ns(), {m.protocol + "-client", kHostAddr, std::to_string(m.host_port), "px"});
        evidence[net::to_string(m)] = outcome_evidence(r);
        if (!echoed(r, "px")) return Verdict::fail(fmt::format("no echo through the proxy for {}", net::to_string(m)), evidence);
    }
    std::vector<pid_t> proxies;
    for (const auto& p : a->proxies) proxies.push_back(p.pid);
    c.stop();
    if (auto s = a.detach(); !s) return Verdict::fail("detach failed: " + s.error().message(), evidence);
    for (pid_t pid : proxies)
        if (proxy_running(pid)) return Verdict::fail(fmt::format("proxy {} outlived the detach", pid), evidence);
    return Verdict::pass(evidence);
}

CTB_CONFORMANCE_CASE({
    .id = "ports.in_use_refused",
    .reference = "Docker -p (\"port is already allocated\"); bind(2) EADDRINUSE",
    .needs = bridge_needs(),
    .body = in_use_refused,
});
CTB_CONFORMANCE_CASE({
    .id = "ports.ranges",
    .reference = "Docker -p HOST-RANGE:CONTAINER-RANGE and HOST-RANGE:PORT",
    .needs = bridge_needs(),
    .body = ranges,
});
CTB_CONFORMANCE_CASE({
    .id = "ports.publish_all_ephemeral",
    .reference = "Docker -P / --expose; ip-sysctl ip_local_port_range",
    .needs = bridge_needs(),
    .body = publish_all,
});
CTB_CONFORMANCE_CASE({
    .id = "ports.released_with_container",
    .reference = "Docker -p (port freed on container removal)",
    .needs = bridge_needs(),
    .body = released,
});
CTB_CONFORMANCE_CASE({
    .id = "ports.userland_proxy",
    .reference = "dockerd --userland-proxy (docker-proxy)",
    .needs = proxy_needs(),
    .body = userland_proxy,
});

}  // namespace
}  // namespace ctb::conformance::netc
