// veth.<mode>/host-guest-virtio: the veth benches' engine (ctbench-agent netbench) between the
// host and a qemu guest over virtio-net on a tap (guest_net.hpp). The client runs in the host's
// network namespace, the server (netbench-server) in the guest, reached through the bridge: what
// host <-> VM traffic costs against host <-> container traffic (the veth bench's netns-veth path,
// the series' baseline when `ctbench run --baseline ...,vm` merges them, cli/baselines.cpp).
// Measured while the guest waits for the host (GuestRunSpec::with_network): per mode one warm-up
// sample, not recorded (ARP, the guest's caches), then `repetitions` samples of the same load the
// host's veth paths got (workload.hpp).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "benches/baselines/guest_net.hpp"
#include "benches/baselines/guest_run.hpp"
#include "reports/model.hpp"

namespace ctb::bench::host_guest {

inline constexpr const char* kPath = "host-guest-virtio";
// How long the host waits after the guest's "ready" line for its server to accept a connection
// (the liar-guest test's 15 s command deadline must still be what ends such a guest).
inline constexpr std::chrono::milliseconds kReadinessWindow{8000};
// The host's path each host-guest series is compared with: two namespaces over a veth pair.
inline constexpr const char* kBaselinePath = "netns-veth";

struct Spec {
    std::string agent;               // the host's static ctbench-agent
    std::vector<std::string> modes;  // tcp_stream, udp_stream, tcp_rr
    int repetitions = 0;             // 0: the veth benches' default
    bool thorough = false;
    std::chrono::milliseconds readiness_window = kReadinessWindow;  // see wait_until_serving
};

struct Outcome {
    std::vector<report::BenchResult> results;
    std::vector<report::BenchSkip> not_run;  // a mode that failed, with its error
};

// The veth workloads among bench names: "veth.tcp_rr" -> "tcp_rr" (in the given order).
std::vector<std::string> veth_modes(const std::vector<std::string>& bench_names);

// The guest prints "ready" once its server listens, but its first ARP answer can still be seconds
// away (seen on TCG: the host's first connect got EHOSTUNREACH right after "ready"). So the host
// retries TCP connects, bounded by `window`, until one is accepted (the server takes a connection
// closed before its hello as a client gone); else the error names the endpoint and the last errno.
Status wait_until_serving(const vm::GuestNetEndpoint& guest, std::chrono::milliseconds window);

// Waits until the guest's server accepts (spec.readiness_window), then runs every mode against it; a mode
// that fails is listed in not_run (every mode, if the server never accepted).
Outcome measure(const Spec& spec, const vm::GuestNetEndpoint& guest);
// Every mode not run, with why (the guest's side never came up, or the guest run failed).
Outcome not_run(const Spec& spec, const std::string& why);

// "veth.tcp_rr/host-guest-virtio/p99" -> "veth.tcp_rr/netns-veth/p99"; "" for other names.
std::string baseline_of(const std::string& series);

}  // namespace ctb::bench::host_guest
