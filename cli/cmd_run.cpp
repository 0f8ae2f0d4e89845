// `ctbench run`: probe the host, plan (skips decided up front), execute, report, exit code.
#include <unistd.h>

#include <filesystem>
#include <fmt/format.h>

#include "benches/baselines/host_guest.hpp"
#include "benches/harness/runner.hpp"
#include "cli/baselines.hpp"
#include "cli/cleanup.hpp"
#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/host_probe.hpp"
#include "cli/options.hpp"
#include "cli/progress.hpp"
#include "cli/vm_run.hpp"
#include "common/proc.hpp"
#include "common/utc_time.hpp"
#include "conformance/harness/rootless.hpp"
#include "conformance/harness/runner.hpp"
#include "runtime/ownership.hpp"
#include "version.hpp"

namespace ctb::cli {
namespace {

struct RunArgs {
    std::string suite = "all";
    std::string filter, skip;
    bool list = false;
    std::string runtime = "ctbench";
    std::vector<std::string> formats;
    std::string output;
    double timeout_seconds = 0;
    int repetitions = 0;
    bool thorough = false;
    std::string state_fs = "tmpfs";
    std::vector<std::string> baselines;  // --baseline bare,container,vm (cli/baselines.hpp)
    bool verbose = false, quiet = false;
    bool rootless = false;  // --rootless: the runtime runs as an unprivileged user the run creates
    VmOptions vm;  // --vm, --kernel, --initrd, --modules (cli/vm_run.cpp)
};

struct Plan {
    SuiteChoice suite;
    // --rootless: the name every case gets for the runtime ("rootless:...", rootless.hpp), or "".
    std::string case_runtime;
    conformance::Selection selection;
    std::vector<const conformance::Case*> cases;
    std::vector<const bench::Bench*> benches;
    std::vector<const report::Format*> formats;
    report::RuntimeUnderTest runtime;
};

// --rootless runs an OCI CLI as the user: the built-in runtime is then its CLI, ctbench-runtime
// (installed beside ctbench, or the build tree's runtime/ next to cli/).
std::string rootless_runtime_name(const std::string& runtime) {
    if (!runtime.empty() && runtime != "ctbench") return runtime;
    auto self = std::filesystem::read_symlink("/proc/self/exe").parent_path();
    for (auto dir : {self, self.parent_path() / "runtime"})
        if (::access((dir / "ctbench-runtime").c_str(), X_OK) == 0) return (dir / "ctbench-runtime").string();
    return "ctbench-runtime";
}

Result<Plan> make_plan(const RunArgs& a) {
    Plan p;
    auto suite = parse_suite(a.suite);
    if (!suite) return fail(suite.error());
    p.suite = *suite;
    auto filter = parse_regex("--filter", a.filter);
    if (!filter) return fail(filter.error());
    auto skip = parse_regex("--skip", a.skip);
    if (!skip) return fail(skip.error());
    p.selection = {p.suite.conformance_areas, *filter, *skip};
    auto formats = parse_formats(a.formats.empty() ? std::vector<std::string>{"text"} : a.formats);
    if (!formats) return fail(formats.error());
    p.formats = *formats;
    auto runtime = resolve_runtime(a.rootless ? rootless_runtime_name(a.runtime) : a.runtime);
    if (!runtime) return fail(runtime.error());
    p.runtime = *runtime;
    if (a.rootless) {
        if (p.suite.bench) return fail(plain_error("--rootless", "--suite " + a.suite, "runs conformance suites only"));
        // Placeholder ids until the user exists: the plan (--list) needs only the prefix.
        p.case_runtime = conformance::rootless::encode({0, 0, 0, p.runtime.path});
    }
    if (p.suite.conformance) p.cases = conformance::select(p.selection);
    if (p.suite.bench) p.benches = bench::select({p.suite.bench_areas, *filter, *skip});
    return p;
}

void print_plan(const Plan& p, const report::HostProbe& host) {
    for (const auto* c : p.cases) {
        std::string why = conformance::skip_reason(*c, host, p.case_runtime.empty() ? p.runtime.name : p.case_runtime);
        fmt::print("{:<48} {}\n", c->id, why.empty() ? "run" : "skip: " + why);
    }
    for (const auto* b : p.benches) {
        std::string why = first_unmet(b->needs, host);
        std::string tracing = b->traced ? first_unmet({{Requirement::Kind::bpf_tracing, ""}}, host) : "";
        std::string verdict = !why.empty() ? "skip: " + why : !tracing.empty() ? "run untraced: " + tracing : "run";
        fmt::print("{:<48} {}\n", "bench " + b->name, verdict);
    }
    fmt::print("{} cases, {} benchmarks selected\n", p.cases.size(), p.benches.size());
}

int exit_code_for(const report::Report& r) {
    auto s = r.summary();
    bool bench_errors = std::any_of(r.benchmarks_not_run.begin(), r.benchmarks_not_run.end(),
                                    [](const report::BenchSkip& b) { return b.error; });
    if (s.fail > 0 || s.error > 0 || bench_errors) return kExitFailed;
    if (s.pass == 0 && r.benchmarks.empty()) return kExitAllSkipped;
    return kExitOk;
}

report::RunMetadata metadata(const Plan& p, const RunArgs& a, report::HostProbe host) {
    report::RunMetadata m;
    m.ctbench_version = kVersion;
    m.git_revision = kGitRevision;
    m.hostname = host.hostname;
    m.kernel = host.kernel;
    m.cgroup_mode = host.cgroups.mode;
    m.runtime = p.runtime;
    m.suite = a.suite;
    m.started_at = utc_timestamp();
    m.command_line = command_line();
    m.host = std::move(host);
    return m;
}

// What a case or bench killed at its deadline left: we hold the run lock and they run one at a
// time, so whatever ctbench objects exist now are that one's.
std::vector<std::string> sweep_leftovers() {
    std::vector<std::string> swept;
    for (const auto& r : remove_leftovers())
        swept.push_back(fmt::format("{} {}{}", r.kind, r.object, r.error.empty() ? "" : ": " + r.error));
    return swept;
}

// An interrupted earlier run is cleaned up by this one (we hold the run lock, so it is not live).
void clean_earlier_run() {
    for (const auto& r : remove_leftovers())
        fmt::print(stderr, "ctbench: {} leftover {} {}{}\n", r.error.empty() ? "removed" : "could not remove", r.kind,
                   r.object, r.error.empty() ? "" : ": " + r.error);
}

// Everything the runtime creates from here on (in this process, in case children, in the
// ctbench-runtime processes benches start) records this run as its owner, so a later cleanup
// removes it and nothing a user made (runtime/ownership.hpp).
void mark_ownership() {
    auto st = read_proc_stat(::getpid());
    ::setenv(kOwnerEnv, fmt::format("ctbench run {} {}", ::getpid(), st ? st->start_time : 0).c_str(), 1);
}

int run(const RunArgs& a) {
    if (a.timeout_seconds < 0) return usage_error(plain_error("--timeout", "", "must be a positive number of seconds"));
    if (a.repetitions < 0) return usage_error(plain_error("--repetitions", "", "must be at least 1"));
    if (a.verbose && a.quiet) return usage_error(plain_error("--verbose", "--quiet", "choose one"));
    if (a.state_fs != "tmpfs" && a.state_fs != "host")
        return usage_error(plain_error("--state-fs", "'" + a.state_fs + "'", "unknown; valid: tmpfs, host"));
    auto baselines = parse_baselines(a.baselines);
    if (!baselines) return usage_error(baselines.error());
    GuestSelection guest{a.suite, a.filter, a.skip, a.timeout_seconds, a.formats, a.output, a.repetitions,
                         a.thorough, a.state_fs};
    if (a.rootless && a.vm.wanted())
        return usage_error(plain_error("--rootless", "--vm", "not supported together (the guest's run has no rootless mode)"));
    if (a.vm.wanted() && !a.list && !baselines->any()) return run_in_vm(a.vm, guest);
    auto plan = make_plan(a);
    if (!plan) return usage_error(plan.error());
    if (baselines->any() && (!plan->suite.bench || plan->suite.conformance))
        return usage_error(plain_error("--baseline", a.suite, "needs a bench suite (bench or a bench area), not conformance cases"));
    if (baselines->vm) {
        if (auto s = check_vm_options(a.vm); !s) return usage_error(s.error());
        std::vector<std::string> names;
        for (const auto* b : plan->benches) names.push_back(b->name);
        guest.net_modes = bench::host_guest::veth_modes(names);
    }
    UniqueFd lock;
    if (!a.list) {
        auto taken = take_run_lock();
        if (!taken) return usage_error(taken.error());
        lock = std::move(*taken);
        clean_earlier_run();
        mark_ownership();
    }
    auto host = probe_host();
    if (a.list) {
        print_plan(*plan, host);
        return kExitOk;
    }
    // --rootless: the user exists for this run only (removed when `user` goes, on every path).
    std::optional<conformance::rootless::User> user;
    if (a.rootless) {
        auto made = conformance::rootless::User::create(plan->runtime.path);
        if (!made) return usage_error(made.error());
        user.emplace(std::move(*made));
        plan->case_runtime = conformance::rootless::encode(user->identity());
        plan->runtime.name += " (rootless, as " + user->name() + ")";
    }
    report::Report r;
    r.run = metadata(*plan, a, std::move(host));
    conformance::RunSettings settings;
    settings.runtime = plan->case_runtime.empty() ? plan->runtime.name : plan->case_runtime;
    if (a.timeout_seconds > 0)
        settings.timeout = std::chrono::milliseconds(static_cast<long>(a.timeout_seconds * 1000));
    settings.sweep_after_error = sweep_leftovers;
    Progress progress(plan->cases.size() + plan->benches.size(),
                      a.quiet ? Verbosity::quiet : a.verbose ? Verbosity::verbose : Verbosity::normal);
    settings.on_start = [&](const std::string& id) { progress.start(id); };
    settings.on_result = [&](const report::CaseResult& c) { progress.case_done(c); };
    r.conformance = conformance::run_cases(plan->cases, r.run.host, settings);
    bench::RunSettings bench_settings;
    bench_settings.runtime = plan->runtime.name;
    bench_settings.repetitions = a.repetitions;
    bench_settings.timeout = settings.timeout;
    bench_settings.thorough = a.thorough;
    bench_settings.state_fs = a.state_fs;
    bench_settings.sweep_after_error = sweep_leftovers;
    bench_settings.on_start = [&](const std::string& name) { progress.start("bench " + name); };
    bench_settings.on_done = [&](const std::string& name, std::size_t n, const std::string& why) {
        progress.bench_done(name, n, why);
    };
    auto benches = bench::run_benches(plan->benches, r.run.host, bench_settings);
    progress.finish();
    r.benchmarks = std::move(benches.results);
    r.benchmarks_not_run = std::move(benches.not_run);
    if (baselines->vm) {
        // Still under this run's lock: another run slipping in between would sweep our guest.
        if (auto g = run_guest(a.vm, guest, true); g) merge_guest_series(r, *g);
        else r.benchmarks_not_run.push_back({std::string("vm") + kVmSuffix, g.error().message(), true});
    }
    r.run.finished_at = utc_timestamp();
    if (auto s = write_outputs(r, plan->formats, a.output); !s) return usage_error(s.error());
    bool text_shown = a.output.empty() && std::find(plan->formats.begin(), plan->formats.end(),
                                                    report::find_format("text")) != plan->formats.end();
    // Machine formats on stdout keep stdout clean: the human summary then goes to stderr.
    if (!text_shown) fmt::print(a.output.empty() ? stderr : stdout, "{}", report::render_text(r));
    if (r.conformance.empty() && r.benchmarks.empty())
        fmt::print(stderr, "ctbench: nothing ran: no case or benchmark of suite '{}' matched\n", a.suite);
    return exit_code_for(r);
}

}  // namespace

void register_run(CLI::App& app, int& exit_code) {
    auto args = std::make_shared<RunArgs>();
    auto* cmd = app.add_subcommand("run", "Run conformance cases and benchmarks, write a report");
    cmd->add_option("--suite", args->suite, "all | conformance | bench | an area (see `ctbench list`)")
        ->capture_default_str();
    cmd->add_option("--filter", args->filter, "Only cases/benches whose id matches this regex");
    cmd->add_option("--skip", args->skip, "Leave out cases/benches whose id matches this regex");
    cmd->add_flag("--list", args->list, "Print the plan (what would run, what would skip and why) and exit");
    cmd->add_option("--runtime", args->runtime, "ctbench (built-in), runc, crun, or a path to an OCI runtime")
        ->capture_default_str();
    cmd->add_option("--format", args->formats,
                    "Output format(s), repeatable or comma separated: " + join(report::format_names()) +
                        " (default text)");
    cmd->add_option("--output", args->output,
                    "Write the report here (a file for one format, a directory for several); default stdout");
    cmd->add_option("--timeout", args->timeout_seconds, "Per-case and per-bench deadline in seconds (default: each one's own)");
    cmd->add_option("--repetitions", args->repetitions, "Benchmark repetitions (default: each bench's own)");
    cmd->add_flag("--verbose", args->verbose, "Print every case and bench as it finishes, with its evidence");
    cmd->add_flag("--quiet", args->quiet, "No live progress line; only the final summary");
    cmd->add_flag("--thorough", args->thorough, "Benchmark sizes for real hardware instead of the quick profile");
    cmd->add_flag("--rootless", args->rootless,
                  "Conformance through the runtime run as an unprivileged user that the run creates and removes "
                  "(ctbrootless<pid>); cases that need root on the host are skipped with the reason");
    cmd->add_option("--state-fs", args->state_fs,
                    "Where the start benches keep runtime state and bundles: tmpfs (a private tmpfs, as /run on "
                    "systemd hosts) or host (/run/ctbench as it is)")
        ->capture_default_str();
    cmd->add_option("--baseline", args->baselines,
                    "bare,container,vm: also run the selected benches inside a qemu guest and put the guest's series "
                    "(<series>@vm, ratio against the host's) beside the host's bare and container series in one report");
    add_vm_options(*cmd, args->vm);
    cmd->callback([args, &exit_code] { exit_code = run(*args); });
}

}  // namespace ctb::cli
