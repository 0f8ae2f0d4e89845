// The network tracer's totals per series, for the text summary: what each path moved through its
// links (summed over every link the path watches, so one packet crossing a veth and a bridge
// counts at each hop), what was dropped there, and TCP retransmits in its namespaces.
#include <fmt/format.h>

#include "reports/writers.hpp"

namespace ctb::report {

std::string render_net_trace_table(const Report& r) {
    std::string out;
    for (const auto& b : r.benchmarks) {
        if (!b.trace.is_object() || !b.trace.contains("interfaces")) continue;
        std::uint64_t packets = 0, bytes = 0, drops = 0;
        for (const auto& i : b.trace["interfaces"]) {
            packets += i.value("tx_packets", 0ull) + i.value("rx_packets", 0ull);
            bytes += i.value("tx_bytes", 0ull) + i.value("rx_bytes", 0ull);
            drops += i.value("drops", 0ull);
        }
        out += fmt::format("{:<44} {:>3} {:>12} {:>10.1f} {:>8} {:>7} {:>5}\n", b.name, b.trace["interfaces"].size(), packets,
                           static_cast<double>(bytes) / (1 << 20), drops, b.trace.value("tcp_retransmits", 0ull),
                           b.trace.value("lost", 0ull));
    }
    if (out.empty()) return out;
    return fmt::format("network tracer totals over the traced samples (tx+rx of every watched link):\n"
                       "{:<44} {:>3} {:>12} {:>10} {:>8} {:>7} {:>5}\n",
                       "series", "ifs", "packets", "MiB", "drops", "retrans", "lost") +
           out;
}

}  // namespace ctb::report
