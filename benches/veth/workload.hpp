// The veth benches' engine as a workload: what one sample of a mode runs (ctbench-agent's
// netbench-client arguments) and what it yields. Shared by the host's paths (veth.cpp) and the
// host <-> guest path over virtio-net (benches/baselines/host_guest.cpp), so both carry exactly the
// same load and their ratio compares paths, not workloads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ctb::bench::veth {

inline constexpr int kDefaultRepetitions = 9;
inline constexpr std::uint32_t kDatagram = 1400;  // UDP payload, below every path's MTU (no fragments)
inline constexpr std::uint32_t kMessage = 64;     // tcp_rr request and response size

struct Profile {
    double seconds;      // per engine sample
    int tool_seconds;    // sockperf takes whole seconds (and spends 0.4 s of them warming up)
};
Profile profile(bool thorough);

// The client arguments of one sample of `mode` (tcp_stream, udp_stream, tcp_rr): `bytes` when
// non-zero (a stream of a fixed size), else the profile's seconds.
std::vector<std::string> load_args(const std::string& mode, const Profile& p, std::uint64_t bytes);

// One path's samples: the mode's figure (Mbit/s received, or the median round trip in us), the
// round trip's p99 and p99.9 (tcp_rr), the receiver's loss ratio (udp_stream).
struct EngineSamples {
    std::vector<double> value, p99, p999, loss;
};
void record(const std::string& mode, const nlohmann::json& doc, EngineSamples& f);
std::string unit_of(const std::string& mode);

}  // namespace ctb::bench::veth
