#include "benches/baselines/host_guest.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "benches/harness/measure.hpp"
#include "benches/veth/workload.hpp"
#include "common/fd.hpp"
#include "reports/stats.hpp"
#include "runtime/network/testbed.hpp"

namespace ctb::bench::host_guest {
namespace {

std::string series_base(const std::string& mode) { return fmt::format("veth.{}/{}", mode, kPath); }

using Clock = std::chrono::steady_clock;

// One TCP connect to the guest's server, bounded by `until`: 0 once it accepted, else the errno
// (ETIMEDOUT when `until` came first). The server takes a connection closed before its hello as a
// client that went away.
int try_connect(const sockaddr_in& addr, Clock::time_point until) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) return errno;
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) return 0;
    if (errno != EINPROGRESS) return errno;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    pollfd p{fd.get(), POLLOUT, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return ETIMEDOUT;
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    return err;
}

}  // namespace

Status wait_until_serving(const vm::GuestNetEndpoint& guest, std::chrono::milliseconds window) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(guest.port);
    if (::inet_pton(AF_INET, guest.address.c_str(), &addr.sin_addr) != 1)
        return fail(plain_error("guest address", guest.address, "not an IPv4 address"));
    const auto window_end = Clock::now() + window;
    int err = 0;
    while (Clock::now() < window_end) {
        err = try_connect(addr, std::min(window_end, Clock::now() + std::chrono::seconds(3)));
        if (err == 0) return {};
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return fail(plain_error("connect to the guest's netbench-server",
                            fmt::format("{}:{} (over {})", guest.address, guest.port, guest.tap),
                            fmt::format("no connection accepted within {} ms: {}", window.count(), std::strerror(err))));
}

// One sample: the engine's client in this process's network namespace (the host's).
Result<nlohmann::json> client(const std::string& agent, const vm::GuestNetEndpoint& guest, const std::string& mode,
                              const std::vector<std::string>& load) {
    std::vector<std::string> args{"netbench-client", mode, guest.address, std::to_string(guest.port)};
    args.insert(args.end(), load.begin(), load.end());
    auto o = net::testbed::run_agent(agent, "", args, std::chrono::seconds(60));
    if (!o.ok() || !o.doc.is_object())
        return fail(plain_error("netbench-client " + mode, fmt::format("{}:{} (guest, over {})", guest.address, guest.port, guest.tap),
                                o.text.substr(0, 400)));
    return o.doc;
}

nlohmann::json context_of(const Spec& spec, const vm::GuestNetEndpoint& guest, const std::string& mode,
                          const veth::Profile& profile) {
    nlohmann::json c{
        {"what", fmt::format("host network namespace {} -> guest {}:{} over virtio-net: tap {} on bridge {}", guest.host_address,
                             guest.address, guest.port, guest.tap, guest.bridge)},
        {"client", "host (ctbench-agent netbench-client)"},
        {"server", "guest (ctbench-agent netbench-server)"},
        {"device", guest.device},
        {"guest_nic", guest.guest_line},
        {"seconds_per_sample", profile.seconds},
        {"tracer", "off: the host's network tracer does not see inside the guest"},
        {"order", "one warm-up sample not recorded, then every sample of this mode in a row"},
        {"repetitions", spec.repetitions > 0 ? spec.repetitions : veth::kDefaultRepetitions}};
    if (mode == "udp_stream") c["datagram_bytes"] = veth::kDatagram;
    if (mode == "tcp_rr") c["message_bytes"] = veth::kMessage;
    return c;
}

report::BenchResult series(const std::string& name, const std::string& mode, const std::vector<double>& samples,
                           nlohmann::json context) {
    auto r = make_result(name, samples, std::move(context));
    r.unit = veth::unit_of(mode);
    return r;
}

Status measure_mode(const Spec& spec, const vm::GuestNetEndpoint& guest, const std::string& mode, Outcome& out) {
    veth::Profile profile = veth::profile(spec.thorough);
    int reps = spec.repetitions > 0 ? spec.repetitions : veth::kDefaultRepetitions;
    veth::EngineSamples samples;
    for (int rep = 0; rep <= reps; ++rep) {
        auto doc = client(spec.agent, guest, mode, veth::load_args(mode, profile, 0));
        if (!doc) return fail(doc.error());
        // This runs inside the guest launcher's console loop: nothing may throw past it (qemu
        // would not be reaped), so a document without the mode's figures is an error here.
        try {
            if (rep > 0) veth::record(mode, *doc, samples);
        } catch (const nlohmann::json::exception& e) {
            return fail(plain_error("read netbench-client " + mode + " output", doc->dump().substr(0, 300), e.what()));
        }
    }
    nlohmann::json ctx = context_of(spec, guest, mode, profile);
    if (!samples.loss.empty()) ctx["loss_ratio_median"] = stats::median(samples.loss), ctx["loss_ratio_samples"] = samples.loss;
    std::string base = series_base(mode);
    out.results.push_back(series(base, mode, samples.value, ctx));
    if (mode == "tcp_rr")
        for (auto [suffix, values] : {std::pair{"/p99", &samples.p99}, std::pair{"/p99.9", &samples.p999}})
            out.results.push_back(series(base + suffix, mode, *values, ctx));
    return {};
}

std::vector<std::string> veth_modes(const std::vector<std::string>& bench_names) {
    std::vector<std::string> modes;
    for (const auto& name : bench_names)
        for (const char* mode : {"tcp_stream", "udp_stream", "tcp_rr"})
            if (name == std::string("veth.") + mode) modes.push_back(mode);
    return modes;
}

Outcome measure(const Spec& spec, const vm::GuestNetEndpoint& guest) {
    if (auto ready = wait_until_serving(guest, spec.readiness_window); !ready) return not_run(spec, ready.error().message());
    Outcome out;
    for (const auto& mode : spec.modes)
        if (auto s = measure_mode(spec, guest, mode, out); !s)
            out.not_run.push_back({series_base(mode), s.error().message(), true});
    return out;
}

Outcome not_run(const Spec& spec, const std::string& why) {
    Outcome out;
    for (const auto& mode : spec.modes) out.not_run.push_back({series_base(mode), why, true});
    return out;
}

std::string baseline_of(const std::string& series) {
    std::string marker = std::string("/") + kPath;
    auto at = series.find(marker);
    if (!series.starts_with("veth.") || at == std::string::npos) return "";
    std::string rest = series.substr(at + marker.size());
    if (!rest.empty() && rest != "/p99" && rest != "/p99.9") return "";
    return series.substr(0, at) + "/" + kBaselinePath + rest;
}

}  // namespace ctb::bench::host_guest
