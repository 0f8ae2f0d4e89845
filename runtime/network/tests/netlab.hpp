// The engine tests' view of the network testbed (runtime/network/testbed.hpp): the agent comes
// from CTBENCH_AGENT, the remote host has fixed addresses, and failures throw (gtest reports them).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "runtime/network/testbed.hpp"

namespace netlab {

inline constexpr const char* kHostAddr = "198.19.255.1";
inline constexpr const char* kRemoteAddr = "198.19.255.2";
inline constexpr const char* kRemoteLink = "ctbrmt0";

using Outcome = ctb::net::testbed::AgentOutcome;
using ctb::net::testbed::loopback_drops;
using ctb::net::testbed::nft_table_exists;
using ctb::net::testbed::stop_process;

std::string agent_path();

// Runs `ctbench-agent args...` inside the network namespace at `ns_path` ("" = the host's).
Outcome agent_in(const std::string& ns_path, const std::vector<std::string>& args,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10));
// Starts an agent server in `ns_path`; returns once it listens.
pid_t start_server(const std::string& ns_path, const std::vector<std::string>& args);
std::vector<std::string> engine_links();

class RemoteHost {
public:
    void up();
    void down() { host_.reset(); }
    std::string ns_path() const { return host_->ns_path(); }
    int ns_fd() const { return host_->ns_fd(); }
    void route_loopback_to_host();
    void route_containers_via_host();

private:
    std::optional<ctb::net::testbed::RemoteHost> host_;
};

}  // namespace netlab
