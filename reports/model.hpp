// The report model: one versioned JSON document per run (reports/schema/report.schema.json).
// Every writer (json, junit, tap, markdown, ...) renders this model; compare and gating read it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "reports/host_probe.hpp"
#include "reports/stats.hpp"

namespace ctb::report {

inline constexpr int kSchemaVersion = 1;
inline constexpr const char* kReportKind = "ctbench-report";

enum class Outcome { pass, fail, skip, error };
std::string to_string(Outcome o);
Result<Outcome> outcome_from_string(const std::string& s);

struct RuntimeUnderTest {
    std::string name;     // "ctbench", "runc", "crun" or a path
    std::string path;     // resolved executable ("" for the built-in library)
    std::string version;  // first line of --version
};

// Set when the run happened inside a VM (`ctbench run --vm`): the report's kernel, cgroup mode
// and host probe are then the guest's, and this says what booted it on which host.
struct GuestRunInfo {
    std::string accel;       // "kvm" or "tcg": what actually ran
    std::string accel_note;  // why; for TCG, that its figures are not a KVM baseline
    std::string kernel_image;
    std::string initrd;
    std::string guest_kernel;  // uname -r in the guest
    std::string host_kernel;
    std::string host_hostname;
    int cpus = 0;
    int memory_mib = 0;
    double boot_seconds = 0;   // qemu start to the guest's userspace
    double total_seconds = 0;  // qemu start to power-off
    int guest_exit = 0;        // ctbench's exit code in the guest
    std::string scratch{};     // what the guest's state and I/O scratch live on ("virtio-blk (cache=none)")
};

struct RunMetadata {
    std::string ctbench_version;
    std::string git_revision;
    std::string hostname;
    std::string kernel;
    std::string cgroup_mode;
    RuntimeUnderTest runtime;
    std::string suite;
    std::string started_at;   // RFC 3339, UTC
    std::string finished_at;  // RFC 3339, UTC
    std::vector<std::string> command_line;
    HostProbe host;
    std::optional<GuestRunInfo> guest{};
};

struct CaseResult {
    std::string id;     // "ns.pid.init_is_1"
    std::string area;   // "ns"
    Outcome outcome = Outcome::error;
    std::string reason;     // why it failed, was skipped or errored ("" on pass)
    double duration_seconds = 0;
    nlohmann::json evidence = nlohmann::json::object();  // what the case observed
    std::string reference;  // man page, kernel doc or OCI spec section it checks
};

struct ConfidenceInterval {
    double low = 0, high = 0;
    double level = 0.95;  // achieved coverage of the order-statistic interval
};

// An external tool measuring the same path in the same run (fio, iperf3, sockperf): how far
// ctbench's own engine is from it. ratio = ctbench's figure / the tool's figure.
struct Fidelity {
    std::string tool;
    std::string tool_version;
    std::string metric;  // what was compared ("seq read MiB/s", "tcp_rr p50 us", ...)
    double ratio = 0;
};

struct BenchResult {
    std::string name;  // "start.lifecycle/ctbench-runtime"
    std::string unit;  // "ns", "MiB/s", ...
    std::vector<double> samples;
    double median = 0, min = 0, max = 0;
    ConfidenceInterval ci;
    std::optional<std::string> baseline;  // name of the bench it is compared with
    std::optional<double> ratio;          // median / baseline median
    nlohmann::json context = nlohmann::json::object();  // what actually ran: accel, runtime ...
    nlohmann::json trace;  // eBPF phase attribution ($defs/startTrace), null when not traced
    // Added after the first release of the model (kept last so aggregate initialisers still fit):
    std::optional<ConfidenceInterval> ratio_ci;  // bootstrap interval of that ratio (same run)
    std::optional<stats::SampleShape> shape;     // cv, outliers, warm-up (finalize fills it)
    std::vector<std::string> warnings;           // noise, outliers, warm-up: for the reader
    std::optional<Fidelity> fidelity;            // set on bare series measured by a tool too
    // Sample i of every series of this bench with the flag was taken in round i of a round-robin
    // (one sample of each series per round): a series and its baseline pair up sample by sample,
    // and host noise that lasts longer than a round hits both members of a pair.
    bool sampled_in_rounds = false;
    // The in-run series `compare --normalize` divides this one by when that is not its baseline:
    // a steadier one (ctbench-runtime's target is its ratio to crun, but crun's own run-to-run
    // spread would move that ratio between two runs of an unchanged ctbench).
    std::optional<std::string> yardstick;
    // What --normalize divides by: the yardstick, else the baseline.
    const std::optional<std::string>& normalized_by() const { return yardstick ? yardstick : baseline; }
};

// A benchmark that did not run, and why (the host lacks something, or its setup broke).
struct BenchSkip {
    std::string name;
    std::string reason;
    bool error = false;  // true: the bench's own setup broke (counts as a failure of the run)
};

struct Summary {
    int pass = 0, fail = 0, skip = 0, error = 0;
};

struct Report {
    int schema_version = kSchemaVersion;
    RunMetadata run;
    std::vector<CaseResult> conformance;
    std::vector<BenchResult> benchmarks;
    std::vector<BenchSkip> benchmarks_not_run;
    nlohmann::json traces = nlohmann::json::array();  // eBPF attributions, one entry per traced bench

    Summary summary() const;
};

// Fill median, min, max, the confidence interval, the sample shape and its warnings (replacing
// earlier warnings: call it before anything that adds its own, such as bench::set_ratio).
void finalize(BenchResult& bench);

nlohmann::json to_json(const Report& report);
nlohmann::json bench_json(const BenchResult& bench);
BenchResult bench_from_json(const nlohmann::json& j);  // throws nlohmann::json::exception
Result<Report> report_from_json(const nlohmann::json& j);
Result<Report> load_report(const std::string& path);

}  // namespace ctb::report
