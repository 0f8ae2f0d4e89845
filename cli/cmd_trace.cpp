// `ctbench trace [--repetitions N] [--format text|json] -- CMD ARGS...`: the start tracer around
// any command (a runtime under development, `podman run --rm busybox true`, ...). The command runs
// N times with the caller's stdio; each run's wall time is attributed to phases, as the start
// benchmark does for the runtimes it knows, and the medians are printed as a phase table.
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "bpf/attribution.hpp"
#include "bpf/ksyms.hpp"
#include "bpf/probe.hpp"
#include "bpf/start_tracer.hpp"
#include "bpf/trace_summary.hpp"
#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/options.hpp"
#include "common/subprocess.hpp"

namespace ctb::cli {
namespace {

struct TraceArgs {
    std::vector<std::string> command;
    int repetitions = 1;
    std::string format = "text";
};

// The kinds that attach here, found by trying (as `ctbench doctor` does).
Result<std::vector<std::string>> attachable_kinds() {
    if (auto btf = bpf::probe_btf(); !btf.available) return fail(plain_error("trace", "kernel BTF", btf.detail));
    if (auto tracefs = bpf::ensure_tracefs(); !tracefs.available)
        return fail(plain_error("trace", "tracefs", tracefs.detail));
    std::vector<std::string> kinds;
    for (const auto& [kind, f] : bpf::probe_program_types())
        if (f.available) kinds.push_back(kind);
    return kinds;
}

// Runs the command once with our stdio; its exit status (128 + signal when killed).
Result<int> run_command(const std::vector<std::string>& argv) {
    std::optional<std::string> exe = argv[0];
    if (argv[0].find('/') == std::string::npos) exe = find_executable(argv[0]);
    if (!exe) return fail(plain_error("find", argv[0], "not found in PATH"));
    std::vector<char*> cargv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    pid_t pid = 0;
    if (int rc = ::posix_spawn(&pid, exe->c_str(), nullptr, nullptr, cargv.data(), environ); rc != 0)
        return fail(sys_error("spawn", *exe, rc));
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return fail(sys_error("waitpid", *exe));
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int trace(const TraceArgs& a) {
    if (a.command.empty()) return usage_error(plain_error("trace", "CMD", "give the command after `--`"));
    if (a.repetitions < 1) return usage_error(plain_error("--repetitions", std::to_string(a.repetitions), "must be at least 1"));
    if (a.format != "text" && a.format != "json")
        return usage_error(plain_error("--format", "'" + a.format + "'", "unknown format; valid formats: text, json"));
    auto kinds = attachable_kinds();
    if (!kinds) return usage_error(kinds.error());
    auto tracer = bpf::StartTracer::open(*kinds);
    if (!tracer) return usage_error(tracer.error());
    auto& t = **tracer;
    auto symbols = bpf::KernelSymbols::load();
    auto self = static_cast<std::uint32_t>(::syscall(SYS_gettid));
    if (auto s = t.follow(static_cast<pid_t>(self)); !s) return usage_error(s.error());
    bpf::TraceSeries series;
    bpf::StackLabels labels(t, symbols);
    for (int i = 0; i < a.repetitions; ++i) {
        if (auto s = t.attach(); !s) return usage_error(s.error());
        t.drain();
        bpf::Window w{bpf::monotonic_ns(), 0, self};
        auto status = run_command(a.command);
        w.end_ns = bpf::monotonic_ns();
        t.detach();
        if (!status) return usage_error(status.error());
        if (*status != 0) {
            fmt::print(stderr, "ctbench trace: `{}` exited with status {} (run {} of {}): nothing attributed\n",
                       join(a.command, " "), *status, i + 1, a.repetitions);
            return kExitFailed;
        }
        series.add(bpf::attribute(t.drain(), w), double(w.end_ns - w.begin_ns) / 1e6, std::ref(labels));
    }
    auto summary = series.summary({{"program_type", t.program_kind()}, {"events_seen", t.events_seen()},
                                   {"events_lost", t.events_lost()}});
    summary["overhead_ratio"] = 0.0;  // not measured by `trace` (see the start benchmark)
    summary["command"] = a.command;
    if (a.format == "json") fmt::print("{}\n", summary.dump(2));
    else fmt::print("{}", report::render_phase_table({{a.command[0], summary}}));
    if (t.events_lost() > 0) {
        fmt::print(stderr, "ctbench trace: {} events lost (ring buffer full): the breakdown is incomplete\n", t.events_lost());
        return kExitFailed;
    }
    return kExitOk;
}

}  // namespace

void register_trace(CLI::App& app, int& exit_code) {
    auto args = std::make_shared<TraceArgs>();
    auto* cmd = app.add_subcommand("trace", "Run a command under the eBPF start tracer and print where its time went");
    cmd->add_option("--repetitions", args->repetitions, "Run the command this many times (medians are printed)")
        ->capture_default_str();
    cmd->add_option("--format", args->format, "text or json")->capture_default_str();
    cmd->add_option("command", args->command, "The command to trace, after `--`")->required();
    cmd->callback([args, &exit_code] { exit_code = trace(*args); });
}

}  // namespace ctb::cli
