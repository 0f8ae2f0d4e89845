#include "benches/veth/fidelity.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <regex>

#include "common/subprocess.hpp"

namespace ctb::bench::veth {
namespace {

// "iperf 3.12 (cJSON 1.7.15)" -> "3.12"; "sockperf, version 3.7-no.git" -> "3.7-no.git".
std::string tool_version(const std::string& tool) {
    auto r = run_process({tool, "--version"});
    if (!r) return "";
    std::smatch m;
    static const std::regex version(R"((\d+\.\d+[^\s,)]*))");
    return std::regex_search(r->output, m, version) ? m[1].str() : "";
}

std::vector<std::string> server_argv(const std::string& tool, std::uint16_t port) {
    if (tool == "iperf3") return {"iperf3", "-s", "-B", "127.0.0.1", "-p", std::to_string(port)};
    return {"sockperf", "server", "--tcp", "-i", "127.0.0.1", "-p", std::to_string(port)};
}

Result<ProcessResult> run_tool(const std::vector<std::string>& argv) {
    RunOptions o;
    o.timeout = std::chrono::seconds(60);
    auto r = run_process(argv, o);
    if (!r) return fail(r.error());
    if (!r->exited_ok())
        return fail(plain_error(argv[0], fmt::format("{}", fmt::join(argv, " ")), fmt::format("exit {}: {}", r->exit_code, r->output.substr(0, 400))));
    return r;
}

// "sockperf: ---> percentile 50.000 =   13.640" -> 13.640
std::optional<double> sockperf_percentile(const std::string& out, const std::string& p) {
    std::smatch m;
    std::regex re("percentile " + p + R"( =\s*([0-9.]+))");
    if (!std::regex_search(out, m, re)) return std::nullopt;
    return std::stod(m[1].str());
}

}  // namespace

std::unique_ptr<FidelityTool> FidelityTool::start(const std::string& tool) {
    auto t = std::make_unique<FidelityTool>();
    t->name_ = tool;
    if (!find_executable(tool)) {
        t->why_ = tool + " is not installed";
        return t;
    }
    t->version_ = tool_version(tool);
    auto port = free_port();
    if (!port) {
        t->why_ = port.error().message();
        return t;
    }
    auto server = start_listening_tool(server_argv(tool, *port), *port);
    if (!server) {
        t->why_ = server.error().message();
        return t;
    }
    t->port_ = *port;
    t->server_ = std::move(*server);
    return t;
}

Result<nlohmann::json> FidelityTool::stream(std::uint64_t bytes, bool udp, std::uint32_t size) {
    std::vector<std::string> argv{"iperf3", "-c", "127.0.0.1", "-p", std::to_string(port_), "-n", std::to_string(bytes), "-J"};
    if (udp) argv.insert(argv.end(), {"-u", "-b", "0", "-l", std::to_string(size)});
    auto r = run_tool(argv);
    if (!r) return fail(r.error());
    auto j = nlohmann::json::parse(r->output, nullptr, false);
    if (j.is_discarded() || !j.contains("end") || !j["end"].contains("sum_received"))
        return fail(plain_error("iperf3", "JSON output", r->output.substr(0, 400)));
    const auto& rx = j["end"]["sum_received"];
    nlohmann::json out{{"mbit_per_s", rx.value("bits_per_second", 0.0) / 1e6}, {"seconds", rx.value("seconds", 0.0)}};
    if (udp) out["loss_ratio"] = rx.value("lost_percent", 0.0) / 100;
    if (out["mbit_per_s"].get<double>() <= 0) return fail(plain_error("iperf3", "receiver rate", "zero"));
    return out;
}

Result<nlohmann::json> FidelityTool::ping_pong(int seconds, std::uint32_t size) {
    auto r = run_tool({"sockperf", "ping-pong", "--tcp", "-i", "127.0.0.1", "-p", std::to_string(port_), "-t",
                       std::to_string(seconds), "-m", std::to_string(size), "--full-rtt"});
    if (!r) return fail(r.error());
    auto p50 = sockperf_percentile(r->output, "50.000"), p99 = sockperf_percentile(r->output, "99.000"),
         p999 = sockperf_percentile(r->output, "99.900");
    if (!p50 || !p99 || !p999 || *p50 <= 0) return fail(plain_error("sockperf", "percentiles", r->output.substr(0, 400)));
    return nlohmann::json{{"median_us", *p50}, {"p99_us", *p99}, {"p999_us", *p999}};
}

}  // namespace ctb::bench::veth
