#include "conformance/network/lab.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include "common/deadline.hpp"
#include "runtime/image/image.hpp"

namespace ctb::conformance::netc {

namespace {
using K = Requirement::Kind;
}  // namespace

std::vector<Requirement> netns_needs() { return {{K::root, ""}, {K::namespace_type, "network"}}; }

std::vector<Requirement> proxy_needs() {
    auto needs = netns_needs();
    needs.insert(needs.end(), {{K::network_feature, "veth"}, {K::network_feature, "bridge"}});
    return needs;
}

std::vector<Requirement> bridge_needs() {
    auto needs = proxy_needs();
    needs.push_back({K::network_feature, "nft_nat"});
    return needs;
}

Result<net::testbed::RemoteHost> remote_host() {
    return net::testbed::RemoteHost::create({kRemoteLink, kHostAddr, kRemoteAddr});
}

Result<std::string> host_agent() {
    auto image = image::ensure_default_image();
    if (!image) return fail(image.error());
    return *image + kAgent;
}

std::string bare(const std::string& cidr) { return cidr.substr(0, cidr.find('/')); }

Result<ScopedAttachment> ScopedAttachment::attach(net::AttachRequest request) {
    request.container_id = unique_id();
    auto a = net::attach(request);  // leaves nothing behind when it fails
    if (!a) return fail(a.error());
    return ScopedAttachment(std::move(*a));
}

ScopedAttachment::~ScopedAttachment() { (void)detach(); }

Status ScopedAttachment::detach() {
    if (!std::exchange(live_, false)) return {};
    return net::detach(a_.container_id);
}

Result<ScopedNetwork> ScopedNetwork::create(const std::string& tag, bool ipv6, net::ProxyMode proxy) {
    net::NetworkOptions options;
    options.name = fmt::format("ctbn-{}-{}", ::getpid(), tag);
    options.ipv6 = ipv6;
    options.proxy = proxy;
    auto n = net::create_network(options);
    if (!n) return fail(n.error());
    return ScopedNetwork(std::move(*n));
}

ScopedNetwork::~ScopedNetwork() {
    if (live_) (void)net::remove_network(n_.name, true);
}

Result<Started> start_in(Runtime& rt, const net::Attachment& a, std::vector<std::string> command,
                              std::vector<spec::Mount> mounts) {
    spec::Spec s = agent_spec({});
    s.process.args = std::move(command);
    s.mounts.insert(s.mounts.end(), mounts.begin(), mounts.end());
    if (auto applied = net::apply_to_spec(a, s); !applied) return fail(applied.error());
    return start(rt, RunRequest{s});
}

std::vector<std::string> tcp_echo_servers(const std::vector<int>& ports) {
    // Background servers first, then the last one as the shell's replacement (it is the init's
    // child then, but the shell's exec keeps a single foreground process to kill).
    std::string script;
    for (std::size_t i = 0; i + 1 < ports.size(); ++i)
        script += fmt::format("{} tcp-echo-server {} & ", kAgent, ports[i]);
    script += fmt::format("exec {} tcp-echo-server {}", kAgent, ports.back());
    return {"/bin/sh", "-c", script};
}

std::vector<std::string> udp_echo_server(int port) { return {kAgent, "udp-echo-server", std::to_string(port)}; }

std::vector<std::string> sleeper() { return {kAgent, "sleep", "300"}; }

AgentOutcome client_until_ok(const std::string& agent, const std::string& ns_path, const std::vector<std::string>& args,
                             std::chrono::milliseconds patience) {
    AgentOutcome last;
    std::vector<std::string> attempt = args;
    attempt.insert(attempt.end(), {"--timeout", "500"});
    retry_until(Deadline(patience), [&] {
        last = net::testbed::run_agent(agent, ns_path, attempt, std::chrono::seconds(3));
        return last.ok();
    });
    return last;
}

AgentOutcome client_once(const std::string& agent, const std::string& ns_path, std::vector<std::string> args,
                         int timeout_ms) {
    args.insert(args.end(), {"--timeout", std::to_string(timeout_ms)});
    return net::testbed::run_agent(agent, ns_path, args, std::chrono::milliseconds(timeout_ms + 3000));
}

nlohmann::json outcome_evidence(const AgentOutcome& o) {
    if (o.doc.is_object()) {
        nlohmann::json e{{"ok", o.ok()}};
        for (const char* key : {"reply", "error", "step"})
            if (o.doc.contains(key) && !o.doc[key].is_null() && o.doc[key] != "") e[key] = o.doc[key];
        return e;
    }
    return {{"ok", o.ok()}, {"output", o.text.substr(0, 300)}};
}

bool echoed(const AgentOutcome& o, const std::string& message) {
    return o.ok() && o.doc.is_object() && o.doc.value("reply", "") == message;
}

std::uint16_t host_port_of(const net::Attachment& a, std::uint16_t container_port, const std::string& protocol) {
    for (const auto& m : a.ports)
        if (m.container_port == container_port && m.protocol == protocol) return m.host_port;
    return 0;
}

}  // namespace ctb::conformance::netc

namespace ctb::conformance::netc {

Result<Bench> open_bench(const std::string& runtime, bool with_remote) {
    Bench b;
    auto rt = make_runtime(runtime);
    if (!rt) return fail(rt.error());
    b.rt = std::move(*rt);
    auto agent = host_agent();
    if (!agent) return fail(agent.error());
    b.agent = *agent;
    if (with_remote) {
        auto remote = remote_host();
        if (!remote) return fail(remote.error());
        b.remote.emplace(std::move(*remote));
    }
    return b;
}

}  // namespace ctb::conformance::netc

namespace ctb::conformance::netc {

Result<ScopedServer> ScopedServer::start(const std::string& agent, const std::string& ns_path,
                                         const std::vector<std::string>& args) {
    auto pid = net::testbed::start_agent_server(agent, ns_path, args);
    if (!pid) return fail(pid.error());
    return ScopedServer(*pid);
}

Result<std::uint16_t> free_tcp_port() {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        return fail(sys_error("bind", "127.0.0.1:0"));
    return ntohs(addr.sin_port);
}

}  // namespace ctb::conformance::netc

namespace ctb::conformance::netc {

Result<PublishedServer> serve_published(Runtime& rt, const std::string& publish, std::vector<std::string> command,
                                        std::uint16_t container_port, const std::string& protocol) {
    auto request = net::parse_publish(publish);
    if (!request) return fail(request.error());
    auto a = ScopedAttachment::attach({.publish = {*request}});
    if (!a) return fail(a.error());
    auto c = start_in(rt, **a, std::move(command));
    if (!c) return fail(c.error());
    auto host_port = std::to_string(host_port_of(**a, container_port, protocol));
    return PublishedServer{std::move(*a), std::move(*c), host_port};
}

}  // namespace ctb::conformance::netc
