#include "benches/veth/workload.hpp"

#include <fmt/format.h>

namespace ctb::bench::veth {

Profile profile(bool thorough) { return thorough ? Profile{3.0, 4} : Profile{0.3, 1}; }

std::vector<std::string> load_args(const std::string& mode, const Profile& p, std::uint64_t bytes) {
    std::vector<std::string> args;
    if (bytes) args = {"--bytes", std::to_string(bytes)};
    else args = {"--seconds", fmt::format("{}", p.seconds)};
    if (mode == "udp_stream") args.insert(args.end(), {"--size", std::to_string(kDatagram)});
    if (mode == "tcp_rr") args.insert(args.end(), {"--size", std::to_string(kMessage)});
    return args;
}

void record(const std::string& mode, const nlohmann::json& doc, EngineSamples& f) {
    if (mode == "tcp_rr") {
        f.value.push_back(doc.at("median_us").get<double>());
        f.p99.push_back(doc.at("p99_us").get<double>());
        f.p999.push_back(doc.at("p999_us").get<double>());
    } else {
        f.value.push_back(doc.at("mbit_per_s").get<double>());
        if (doc.contains("loss_ratio")) f.loss.push_back(doc["loss_ratio"].get<double>());
    }
}

std::string unit_of(const std::string& mode) { return mode == "tcp_rr" ? "us" : "Mbit/s"; }

}  // namespace ctb::bench::veth
