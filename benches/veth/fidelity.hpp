// The fidelity check of the veth benches: iperf3 (TCP and UDP stream) and sockperf (TCP
// ping-pong) measure the loopback path in the same run as ctbench's own engine, with the same
// load (bytes, datagram size, message size), so the report can say how far the engine's figure
// is from theirs. The tools' servers are processes the bench starts and stops by pid.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "benches/veth/lab.hpp"
#include "common/error.hpp"

namespace ctb::bench::veth {

// One tool with its server listening on 127.0.0.1, or why there is none.
class FidelityTool {
public:
    // "iperf3" or "sockperf". Never fails: a missing tool or a busy port is `unavailable()`.
    static std::unique_ptr<FidelityTool> start(const std::string& tool);
    const std::string& name() const { return name_; }
    const std::string& version() const { return version_; }
    const std::string& unavailable() const { return why_; }  // "" when usable
    pid_t server_pid() const { return server_.pid(); }

    // iperf3 -c: `bytes` over TCP, or UDP datagrams of `size` at unlimited rate (-b 0). Receiver
    // Mbit/s, and for UDP the loss ratio in "loss_ratio".
    Result<nlohmann::json> stream(std::uint64_t bytes, bool udp, std::uint32_t size = 1400);
    // sockperf ping-pong over TCP with `size`-byte messages for `seconds` (an integer for
    // sockperf), --full-rtt: median_us, p99_us, p999_us of the round trip.
    Result<nlohmann::json> ping_pong(int seconds, std::uint32_t size);

private:
    std::string name_, version_, why_;
    std::uint16_t port_ = 0;
    HostProcess server_;
};

}  // namespace ctb::bench::veth
