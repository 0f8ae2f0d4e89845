// A bench for proving the network engine from outside: a "remote host" network namespace wired
// to the host through its own veth (standing in for a neighbour on the LAN), and helpers that run
// the static ctbench-agent inside any network namespace (a container's pin, the remote host, or
// the host's own) by setns() in a forked child. Used by the engine's tests and by the ports and
// network conformance areas. Servers are stopped by pid; RemoteHost removes its link when it goes.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace ctb::net::testbed {

struct AgentOutcome {
    int code = -1;
    nlohmann::json doc;  // the agent's JSON (null when it printed none)
    std::string text;    // everything it printed, or why it could not run
    bool ok() const { return code == 0; }
};

// Runs `agent args...` inside the network namespace at `ns_path` ("" = the caller's own).
AgentOutcome run_agent(const std::string& agent, const std::string& ns_path, const std::vector<std::string>& args,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Starts an agent server (tcp-echo-server/udp-echo-server ...) in `ns_path`; returns once it
// prints that it listens. The caller stops it with stop_process.
Result<pid_t> start_agent_server(const std::string& agent, const std::string& ns_path,
                                 const std::vector<std::string>& args);
// SIGKILL and reap a child we started, by pid.
void stop_process(pid_t pid);

struct RemoteHostAddresses {
    std::string link;         // host end of the veth ("ctbrmt0"; must follow the ctb* naming rule)
    std::string host_addr;    // the host's address on it ("198.19.255.1")
    std::string remote_addr;  // the remote's address ("198.19.255.2"), /24 with host_addr
};

class RemoteHost {
public:
    static Result<RemoteHost> create(RemoteHostAddresses addresses);
    RemoteHost(RemoteHost&& other) noexcept : a_(std::exchange(other.a_, {})), ns_(std::move(other.ns_)) {}
    RemoteHost& operator=(RemoteHost&&) = delete;
    ~RemoteHost();  // deletes the link (its peer and the namespace go with it)

    const RemoteHostAddresses& addresses() const { return a_; }
    // /proc/self/fd/N of the namespace fd: valid in this process and its forked children.
    std::string ns_path() const;
    int ns_fd() const { return ns_.get(); }
    // Lets the remote send to 127.0.0.1 through the host, as a neighbour on the LAN can
    // (moby#45610): a route for 127.0.0.1 via the host with route_localnet on its side.
    Status route_loopback_to_host();
    // Routes the container range via the host, as a neighbour that knows the subnets could.
    // (Without it the remote only knows its own /24: replies to containers need masquerade.)
    Status route_containers_via_host();

private:
    RemoteHost(RemoteHostAddresses a, UniqueFd ns) : a_(std::move(a)), ns_(std::move(ns)) {}
    RemoteHostAddresses a_;
    UniqueFd ns_;
};

// Links whose names the engine uses (ctb0, ctbbr*, ctbv*) currently on the host.
Result<std::vector<std::string>> engine_links();
// The packet counter of the moby#45610 drop rule, or -1 when the chain is absent.
long long loopback_drops();
bool nft_table_exists();

}  // namespace ctb::net::testbed
