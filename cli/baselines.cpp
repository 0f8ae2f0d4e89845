#include "cli/baselines.hpp"

#include <fmt/format.h>

#include <map>
#include <sstream>

#include "benches/baselines/host_guest.hpp"
#include "benches/harness/measure.hpp"

namespace ctb::cli {
namespace {

// The guest's own ratio (against its in-guest baseline) moves into the context: the series'
// ratio is now the VM against the host.
void keep_guest_ratio(report::BenchResult& b) {
    if (!b.baseline) return;
    nlohmann::json in_guest = {{"baseline", *b.baseline + kVmSuffix}};
    if (b.ratio) in_guest["ratio"] = *b.ratio;
    b.context["in_guest_ratio"] = in_guest;
    b.baseline.reset();
    b.ratio.reset();
    b.ratio_ci.reset();
}

// Qemu start to the guest's userspace, one sample per boot, against the host's container start
// (what the VM is the alternative to) when the host run measured it.
report::BenchResult boot_series(const report::GuestRunInfo& g) {
    auto b = bench::make_result(std::string("start.vm-boot/to-userspace") + kVmSuffix, {g.boot_seconds * 1000},
                                {{"what", "qemu start to the guest's userspace (init running), one boot"},
                                 {"guest", {{"side", "guest"}, {"accel", g.accel}, {"accel_note", g.accel_note},
                                            {"kernel", g.guest_kernel}}}});
    b.warnings.push_back("one boot: a single sample, no interval");
    return b;
}

}  // namespace

Result<Baselines> parse_baselines(const std::vector<std::string>& values) {
    Baselines b;
    for (const auto& value : values) {
        std::stringstream parts(value);
        for (std::string name; std::getline(parts, name, ',');) {
            if (name == "bare" || name == "container") b.host = true;
            else if (name == "vm") b.vm = true;
            else
                return fail(plain_error("--baseline", "'" + name + "'", "unknown baseline; valid: bare, container, vm"));
        }
    }
    if (!values.empty() && !b.any()) return fail(plain_error("--baseline", "", "empty list; valid: bare, container, vm"));
    return b;
}

void merge_guest_series(report::Report& host, const report::Report& guest) {
    std::map<std::string, std::size_t> host_index;
    for (std::size_t i = 0; i < host.benchmarks.size(); ++i) host_index[host.benchmarks[i].name] = i;
    std::vector<report::BenchResult> added;
    for (report::BenchResult b : guest.benchmarks) {
        std::string name = b.name;
        keep_guest_ratio(b);
        b.name = name + kVmSuffix;
        b.sampled_in_rounds = false;  // its rounds are the guest's, not the host's
        // Host <-> guest traffic has no host series of its own name: its baseline is host <->
        // container traffic, the veth bench's netns-veth path of the same workload.
        std::string host_name = bench::host_guest::baseline_of(name);
        if (host_name.empty()) host_name = name;
        if (auto it = host_index.find(host_name); it != host_index.end()) bench::set_ratio(b, host.benchmarks[it->second]);
        else b.warnings.push_back(fmt::format("no host series {}: no VM/host ratio", host_name));
        added.push_back(std::move(b));
    }
    if (guest.run.guest) {
        auto boot = boot_series(*guest.run.guest);
        for (const char* start : {"start.lifecycle/ctbench-runtime", "start.lifecycle/crun"})
            if (auto it = host_index.find(start); it != host_index.end() && !boot.baseline)
                bench::set_ratio(boot, host.benchmarks[it->second]);
        added.push_back(std::move(boot));
        host.run.guest = guest.run.guest;
    }
    for (auto& b : added) host.benchmarks.push_back(std::move(b));
    for (report::BenchSkip s : guest.benchmarks_not_run) {
        s.name += kVmSuffix;
        host.benchmarks_not_run.push_back(std::move(s));
    }
}

}  // namespace ctb::cli
