// What the veth benches build their paths from: containers of the runtime under test driven
// through its OCI CLI (a detached server, clients run to completion), a pair of network
// namespaces joined by a veth the bench owns, and host processes (agent servers, iperf3,
// sockperf) stopped by pid. Every object removes what it made when it goes, on every path.
//
// The runtime under test runs the containers through its CLI for every runtime, the reference
// one included ("ctbench" means ctbench-runtime): the same code path for ctbench, runc and crun.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "benches/start/fixture.hpp"
#include "common/error.hpp"
#include "common/fd.hpp"
#include "runtime/network/engine.hpp"

namespace ctb::bench::veth {

inline constexpr const char* kAgentInImage = "/usr/bin/ctbench-agent";

// The OCI CLI of the runtime under test, with a state root of this bench's own.
struct CliRuntime {
    std::string name;  // as given: ctbench, runc, crun or a path
    std::string exe;
    std::string root;  // --root
    std::vector<std::string> command(std::vector<std::string> args) const;
};
Result<CliRuntime> cli_runtime(const std::string& runtime, const Fixture& f);

// A network attachment of the engine (a pinned netns wired to a bridge, port rules or proxies),
// detached when it goes.
class Attached {
public:
    static Result<Attached> attach(net::AttachRequest request);
    Attached(Attached&& o) noexcept : a_(std::move(o.a_)), live_(std::exchange(o.live_, false)) {}
    Attached& operator=(Attached&&) = delete;
    ~Attached();
    const net::Attachment& operator*() const { return a_; }
    const net::Attachment* operator->() const { return &a_; }

private:
    explicit Attached(net::Attachment a) : a_(std::move(a)), live_(true) {}
    net::Attachment a_;
    bool live_ = false;
};

// A user-defined network (for the userland-proxy series), removed when it goes.
class OwnNetwork {
public:
    static Result<OwnNetwork> create(const std::string& name, net::ProxyMode proxy);
    OwnNetwork(OwnNetwork&& o) noexcept : name_(std::exchange(o.name_, {})) {}
    OwnNetwork& operator=(OwnNetwork&&) = delete;
    ~OwnNetwork();
    const std::string& name() const { return name_; }

private:
    explicit OwnNetwork(std::string name) : name_(std::move(name)) {}
    std::string name_;
};

// A detached container running `agent netbench-server PORT` in the attachment's namespace;
// killed, deleted and reaped when it goes.
class ServerContainer {
public:
    static Result<ServerContainer> start(const CliRuntime& rt, const Fixture& f, const net::Attachment& a,
                                         std::uint16_t port, const std::string& id);
    ServerContainer(ServerContainer&& o) noexcept
        : rt_(std::move(o.rt_)), id_(std::exchange(o.id_, {})), out_(std::move(o.out_)) {}
    ServerContainer& operator=(ServerContainer&&) = delete;
    ~ServerContainer();

private:
    ServerContainer(CliRuntime rt, std::string id, UniqueFd out) : rt_(std::move(rt)), id_(std::move(id)), out_(std::move(out)) {}
    CliRuntime rt_;
    std::string id_;
    UniqueFd out_;
};

// `agent args...` as a container of `rt` in the attachment's namespace, run to completion; its
// JSON document, or an Error carrying what it printed.
Result<nlohmann::json> run_client_container(const CliRuntime& rt, const Fixture& f, const net::Attachment& a,
                                            const std::string& id, const std::vector<std::string>& args);

// Two network namespaces (held by fds, never pinned) joined by a veth pair named ctbnv<pid>a/b,
// 198.19.253.1/24 and .2/24, both ends up. Deleting one end removes both; the namespaces go with
// their fds.
class NetnsPair {
public:
    static Result<NetnsPair> create();
    NetnsPair(NetnsPair&& o) noexcept
        : a_(std::move(o.a_)), b_(std::move(o.b_)), link_a_(std::exchange(o.link_a_, {})), link_b_(std::move(o.link_b_)) {}
    NetnsPair& operator=(NetnsPair&&) = delete;
    ~NetnsPair();
    std::string ns_a() const { return "/proc/self/fd/" + std::to_string(a_.get()); }
    std::string ns_b() const { return "/proc/self/fd/" + std::to_string(b_.get()); }
    const std::string& link_a() const { return link_a_; }
    const std::string& link_b() const { return link_b_; }
    static constexpr const char* kAddrA = "198.19.253.1";
    static constexpr const char* kAddrB = "198.19.253.2";

private:
    NetnsPair(UniqueFd a, UniqueFd b) : a_(std::move(a)), b_(std::move(b)) {}
    UniqueFd a_, b_;
    std::string link_a_, link_b_;
};

// A host process we started (agent server, iperf3 -s, sockperf sr), SIGKILLed and reaped by pid.
class HostProcess {
public:
    HostProcess() = default;
    explicit HostProcess(pid_t pid) : pid_(pid) {}
    HostProcess(HostProcess&& o) noexcept : pid_(std::exchange(o.pid_, 0)) {}
    HostProcess& operator=(HostProcess&& o) noexcept {
        stop();
        pid_ = std::exchange(o.pid_, 0);
        return *this;
    }
    ~HostProcess() { stop(); }
    void stop();
    void forget() { pid_ = 0; }  // it was reaped elsewhere
    pid_t pid() const { return pid_; }

private:
    pid_t pid_ = 0;
};

// Starts argv (stdio on /dev/null) in the caller's network namespace and waits until a TCP
// socket listens on `port` there (read from /proc/net/tcp{,6}: no probe connection the server
// would have to survive). An Error says the tool failed or the port was busy.
Result<HostProcess> start_listening_tool(const std::vector<std::string>& argv, std::uint16_t port);
// A TCP and UDP port number the kernel just gave out on 127.0.0.1 (free a moment ago).
Result<std::uint16_t> free_port();

}  // namespace ctb::bench::veth
