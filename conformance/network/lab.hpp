// Shared by the ports.* and network.* cases: the network engine (runtime/network/engine.hpp)
// around whichever runtime runs the container, and the testbed that proves it from outside.
//
// A case attaches a network (a pinned netns wired to a bridge, port rules) with ctbench's engine,
// hands the container the namespace through plain OCI config (linux.namespaces[network].path),
// and then moves real packets: from a "remote host" netns standing in for a LAN neighbour, from
// the host, and from inside containers. Everything is removed on every path, in reverse order:
// containers first (declared last), then attachments, networks, the remote host.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "conformance/harness/adapter.hpp"
#include "conformance/harness/registry.hpp"
#include "conformance/security/helpers.hpp"
#include "runtime/network/engine.hpp"
#include "runtime/network/testbed.hpp"

namespace ctb::conformance::netc {

using net::testbed::AgentOutcome;

// The container port the cases' echo servers listen on (and the ports after it).
inline constexpr int kPort = 7000;

// What the cases need from the host: a network namespace alone (none, host); veth, bridge and
// NAT for the default bridge and user-defined networks; no NAT for a userland-proxy network.
std::vector<Requirement> netns_needs();
std::vector<Requirement> bridge_needs();
std::vector<Requirement> proxy_needs();

// The remote host's link and addresses: apart from the engine tests' (ctbrmt0, 198.19.255.0/24),
// inside the project's 198.18.0.0/15.
inline constexpr const char* kRemoteLink = "ctbrmtc0";
inline constexpr const char* kHostAddr = "198.19.254.1";
inline constexpr const char* kRemoteAddr = "198.19.254.2";

Result<net::testbed::RemoteHost> remote_host();

// The static agent of the embedded image, run on the host side (host or remote netns).
Result<std::string> host_agent();

// "198.18.0.2/24" -> "198.18.0.2"
std::string bare(const std::string& cidr);

// An attachment (engine attach) detached when it goes.
class ScopedAttachment {
public:
    // The container id is unique_id(); `request.container_id` is ignored.
    static Result<ScopedAttachment> attach(net::AttachRequest request);
    ScopedAttachment(ScopedAttachment&& o) noexcept : a_(std::move(o.a_)), live_(std::exchange(o.live_, false)) {}
    ScopedAttachment& operator=(ScopedAttachment&&) = delete;
    ~ScopedAttachment();
    const net::Attachment& operator*() const { return a_; }
    const net::Attachment* operator->() const { return &a_; }
    // Detaches now (evidence of what detach does), reporting its error.
    Status detach();

private:
    explicit ScopedAttachment(net::Attachment a) : a_(std::move(a)), live_(true) {}
    net::Attachment a_;
    bool live_ = false;
};

// A user-defined network, removed when it goes. Name "ctbn-<pid>-<tag>".
class ScopedNetwork {
public:
    static Result<ScopedNetwork> create(const std::string& tag, bool ipv6 = false,
                                        net::ProxyMode proxy = net::ProxyMode::nat);
    ScopedNetwork(ScopedNetwork&& o) noexcept : n_(std::move(o.n_)), live_(std::exchange(o.live_, false)) {}
    ScopedNetwork& operator=(ScopedNetwork&&) = delete;
    ~ScopedNetwork();
    const net::Network& operator*() const { return n_; }
    const net::Network* operator->() const { return &n_; }

private:
    explicit ScopedNetwork(net::Network n) : n_(std::move(n)), live_(true) {}
    net::Network n_;
    bool live_ = false;
};

// A container of `rt` in the attachment's network, running `command` (argv in the image) as its
// init: typically an echo server, or "sleep" to exec clients into. `mounts` come before the
// engine's own (a mount at /etc/hosts or /etc/resolv.conf replaces the generated file).
Result<Started> start_in(Runtime& rt, const net::Attachment& a, std::vector<std::string> command,
                              std::vector<spec::Mount> mounts = {});
// Init that runs TCP echo servers on each port (the last one in the foreground).
std::vector<std::string> tcp_echo_servers(const std::vector<int>& ports);
std::vector<std::string> udp_echo_server(int port);
std::vector<std::string> sleeper();

// A client (agent tcp-client/udp-client ...) in `ns_path` ("" = host), retried until it
// succeeds or `patience` passes: a server that was just started may not listen yet.
AgentOutcome client_until_ok(const std::string& agent, const std::string& ns_path,
                             const std::vector<std::string>& args,
                             std::chrono::milliseconds patience = std::chrono::seconds(5));
// One short attempt, for what must NOT get through (after a positive control proved the server).
AgentOutcome client_once(const std::string& agent, const std::string& ns_path, std::vector<std::string> args,
                         int timeout_ms = 700);

using sec::agent_inside;

// An agent client's result as evidence: ok, the reply or the error.
nlohmann::json outcome_evidence(const AgentOutcome& o);
// The echo came back with exactly `message`.
bool echoed(const AgentOutcome& o, const std::string& message);

// The published host port of `container_port`/`protocol`, or 0.
std::uint16_t host_port_of(const net::Attachment& a, std::uint16_t container_port, const std::string& protocol = "tcp");

}  // namespace ctb::conformance::netc

namespace ctb::conformance::netc {

// What nearly every case needs first: the runtime under test, the agent to run clients with, and
// (optionally) the remote host. Declare it before attachments and containers: it must go last.
struct Bench {
    std::unique_ptr<Runtime> rt;
    std::string agent;
    std::optional<net::testbed::RemoteHost> remote;
    std::string remote_ns() const { return remote ? remote->ns_path() : ""; }
};
Result<Bench> open_bench(const std::string& runtime, bool with_remote);

}  // namespace ctb::conformance::netc

namespace ctb::conformance::netc {

// An agent server on the host side (the host's or the remote's namespace), stopped by pid when
// it goes.
class ScopedServer {
public:
    static Result<ScopedServer> start(const std::string& agent, const std::string& ns_path,
                                      const std::vector<std::string>& args);
    ScopedServer(ScopedServer&& o) noexcept : pid_(std::exchange(o.pid_, 0)) {}
    ScopedServer& operator=(ScopedServer&&) = delete;
    ~ScopedServer() { net::testbed::stop_process(pid_); }

private:
    explicit ScopedServer(pid_t pid) : pid_(pid) {}
    pid_t pid_ = 0;
};

// A TCP port that was free on 127.0.0.1 a moment ago (the kernel's pick).
Result<std::uint16_t> free_tcp_port();

}  // namespace ctb::conformance::netc

namespace ctb::conformance::netc {

// An echo container with a published port. Members go in reverse: the container, then its
// attachment.
struct PublishedServer {
    ScopedAttachment attachment;
    Started container;
    std::string host_port;  // the host port `container_port` got
};
// Attaches with `-p publish`, starts `command` in it, and looks up the host port of
// container_port/protocol.
Result<PublishedServer> serve_published(Runtime& rt, const std::string& publish, std::vector<std::string> command,
                                        std::uint16_t container_port = kPort, const std::string& protocol = "tcp");

}  // namespace ctb::conformance::netc
