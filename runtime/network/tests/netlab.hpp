// Test bench for the network engine (root): a "remote host" network namespace wired to the host
// through its own veth (ctbrmt0, 198.19.255.1 <-> 198.19.255.2), and helpers that run the
// ctbench-agent inside any network namespace (a container's pin, or the remote host) by setns()
// in a forked child. Servers are killed by pid; everything is removed at teardown.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/fd.hpp"

namespace netlab {

inline constexpr const char* kHostAddr = "198.19.255.1";
inline constexpr const char* kRemoteAddr = "198.19.255.2";
inline constexpr const char* kRemoteLink = "ctbrmt0";

std::string agent_path();

struct Outcome {
    int code = -1;
    nlohmann::json doc;  // the agent's JSON (null when it printed none)
    std::string text;
    bool ok() const { return code == 0; }
};

// Runs `ctbench-agent args...` inside the network namespace at `ns_path` ("" = the host's).
Outcome agent_in(const std::string& ns_path, const std::vector<std::string>& args,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Starts an agent server (tcp-echo-server/udp-echo-server) in `ns_path`; returns once it listens.
pid_t start_server(const std::string& ns_path, const std::vector<std::string>& args);
void stop_process(pid_t pid);

class RemoteHost {
public:
    void up();
    void down();
    // /proc/self/fd/N of the namespace fd: valid in this process and its forked children.
    std::string ns_path() const;
    int ns_fd() const { return ns_.get(); }
    // Lets the remote send to 127.0.0.1 through the host, as a neighbour on the LAN can
    // (moby#45610): a route for 127.0.0.1 via the host with route_localnet on its side.
    void route_loopback_to_host();
    // Routes the container range via the host, as a neighbour that knows the subnets could.
    // (Without it the remote only knows its own /24: replies to containers need masquerade.)
    void route_containers_via_host();

private:
    ctb::UniqueFd ns_;
};

// Links whose names the engine uses (ctb0, ctbbr*, ctbv*) currently on the host.
std::vector<std::string> engine_links();
// The packet counter of the moby#45610 drop rule, or -1 when the chain is absent.
long long loopback_drops();
bool nft_table_exists();

}  // namespace netlab
