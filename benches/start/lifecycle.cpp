// start.lifecycle: the full life of a container running /bin/true (create + start + wait +
// delete) with the pid, network, ipc, uts, mount and cgroup namespaces, a cgroup and an overlay
// rootfs, for the reference runtime (in-process library and ctbench-runtime CLI), crun and runc on
// the same bundle, the kernel floor (clone3 with the same namespace flags + exec + wait) and the
// minimal-container floor (the same container's kernel work and nothing else,
// minimal_container.hpp). The library and the minimal container run in ctbench-start-helper, a
// small process: clone3 and exec from the large bench process cost more than from a runtime CLI.
//
// Everything runs in a child process with a private mount namespace in which
// /sys/fs/cgroup/unified is unmounted: crun 1.8.1 refuses hybrid hosts otherwise, and every
// runtime gets the same cgroup view (recorded in the context). Nothing mounted here can outlive it.
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fmt/format.h>

#include "benches/harness/measure.hpp"
#include "benches/harness/spawn.hpp"
#include "benches/harness/traced.hpp"
#include "benches/registry.hpp"
#include "benches/start/fixture.hpp"
#include "benches/start/helper.hpp"
#include "common/files.hpp"
#include "common/subprocess.hpp"
#include "runtime/container/container.hpp"
#include "runtime/image/image.hpp"
#include "runtime/rootfs/overlay.hpp"
#include "runtime/spec/parse.hpp"

namespace ctb::bench {
namespace {

// 60 rounds: with 20 the library's ratio to the minimal container had a 95 % interval of about
// +/-15 % here, as wide as the 1.2 target's margin; a round of all six series takes ~50 ms. 60 is
// two whole cycles of round_order for six series (30 rounds), so every series runs after every
// other one exactly equally often; with 40 some ran after a given neighbour 6 times, some 10.
constexpr int kLifecycleRepetitions = 60;
constexpr int kRssSamples = 5;  // the peak RSS hardly varies

std::vector<std::string> cli_command(const std::string& exe, const std::string& root, const std::string& bundle,
                                     const std::string& id) {
    return {exe, "--root", root, "run", "--bundle", bundle, id};
}

struct Series {
    std::string name;
    Body body;
    nlohmann::json context;
    std::vector<pid_t> follow;  // the helper that does the work, for the tracer
    std::vector<std::string> cli;  // CLIs: a command line whose peak RSS is measured too
};

// One request per sample to the helper, numbered so no two containers share a name.
Body ask(StartHelper& helper, const char* verb) {
    auto n = std::make_shared<int>(0);
    return [&helper, verb, n] { return helper.request(fmt::format("{} {}", verb, (*n)++)); };
}

// The library's sample, which also keeps Container::create's own milliseconds (the helper times
// it) in `create_ms`, one entry per sample.
Body ask_library(StartHelper& helper, std::shared_ptr<std::vector<double>> create_ms) {
    auto n = std::make_shared<int>(0);
    return [&helper, n, create_ms]() -> Status {
        auto payload = helper.ask(fmt::format("lib {}", (*n)++));
        if (!payload) return fail(payload.error());
        char* end = nullptr;
        double ms = std::strtod(payload->c_str(), &end);
        if (end == payload->c_str() || !(ms > 0))
            return fail(plain_error("ctbench-start-helper", "lib", "no create time in its answer \"" + *payload + "\""));
        create_ms->push_back(ms);
        return {};
    };
}

std::vector<Series> plan_series(const Fixture& f, StartHelper& helper, std::vector<std::string>& missing,
                                std::shared_ptr<std::vector<double>> lib_create_ms) {
    std::vector<Series> out;
    out.push_back({"kernel-floor", ask(helper, "kernel"),
                   {{"what", "clone3(pid,net,ipc,uts,mnt,cgroup; CLONE_VM|CLONE_VFORK) + execve(busybox true) + waitpid"},
                    {"process", "ctbench-start-helper (small process, asked over a pipe), as the minimal container"}},
                   {helper.pid()}, {}});
    out.push_back({"minimal-container", ask(helper, "floor"),
                   {{"what", "the container's kernel work only (benches/start/minimal_container.hpp): cgroup dirs, "
                             "device rules and attach, clone3, session keyring, overlay, the spec's mounts, "
                             "pivot_root, masked and read-only paths, hostname, lo, rlimit, capabilities, exec "
                             "/bin/true, wait, rmdir"},
                    {"process", "ctbench-start-helper (small process, asked over a pipe)"}},
                   {helper.pid()}, {}});
    out.push_back({"ctbench-lib", ask_library(helper, std::move(lib_create_ms)),
                   {{"what", "container::run, overlay of the image per container"},
                    {"process", "ctbench-start-helper (small process, asked over a pipe), as the minimal container"}},
                   {helper.pid()}, {}});
    for (auto& [name, exe] : cli_runtimes()) {
        if (!exe) {
            missing.push_back(name + ": " + exe.error().message());
            continue;
        }
        auto bundle = write_bundle(f, name);
        if (!bundle) {
            missing.push_back(name + ": " + bundle.error().message());
            continue;
        }
        std::string root = f.dir + "/root-" + name;
        auto n = std::make_shared<int>(0);
        out.push_back({name, [=] { return run_quietly(cli_command(*exe, root, *bundle, fmt::format("b{}", (*n)++))); },
                       {{"what", *exe + " run on a prepared bundle (overlay rootfs mounted by ctbench)"}},
                       {},
                       cli_command(*exe, root, *bundle, "rss")});
    }
    return out;
}

// The peak RSS of `run` invocations of a CLI, measured apart from the timed samples through
// ctbench-rss-probe (rss_probe.cpp: spawned from the bench itself, a process would report the
// bench's own peak), as a series of its own so that it has a ratio to crun's and can be gated.
Result<report::BenchResult> rss_result(const std::string& name, std::vector<std::string> cli, nlohmann::json context) {
#ifdef CTBENCH_BUILD_RSS_PROBE_PATH
    const char* build_path = CTBENCH_BUILD_RSS_PROBE_PATH;
#else
    const char* build_path = nullptr;
#endif
    auto probe = find_bench_tool("ctbench-rss-probe", "CTBENCH_RSS_PROBE", build_path);
    if (!probe) return fail(probe.error());
    std::vector<double> kib;
    std::string id = cli.back();
    cli.insert(cli.begin(), *probe);
    for (int i = 0; i < kRssSamples; ++i) {
        cli.back() = fmt::format("{}{}", id, i);
        auto out = run_process(cli);
        if (!out) return fail(out.error());
        long peak = 0;
        int code = -1;
        if (std::sscanf(out->output.c_str(), "%ld %d", &peak, &code) != 2 || code != 0 || peak <= 0)
            return fail(plain_error("measure peak RSS of", cli[1], "ctbench-rss-probe said: " + out->output));
        kib.push_back(static_cast<double>(peak));
    }
    context["what"] = "peak resident set of `run` (wait4(2) ru_maxrss of the CLI, covering the container init it "
                      "cloned and waited for), from ctbench-rss-probe, untimed";
    auto r = make_result("start.lifecycle/maxrss-" + name, kib, std::move(context));
    r.unit = "KiB";
    return r;
}

// Each series alternates untraced samples (its figure) with traced ones (its phase breakdown).
Result<std::vector<report::BenchResult>> measure_all(const Fixture& f, int repetitions, Tracing& tracing,
                                                     const std::string& state_fs) {
    std::vector<std::string> missing;
    std::vector<report::BenchResult> results;
    auto helper = StartHelper::start(f.dir, f.image);
    if (!helper) return fail(helper.error());
    auto lib_create_ms = std::make_shared<std::vector<double>>();
    auto series = plan_series(f, *helper, missing, lib_create_ms);
    // The figures: untraced, round-robin over the series, so that the ratios between them (what
    // `compare --normalize` gates on) do not carry the host's drift between one series and the next.
    std::vector<Body> bodies;
    for (const auto& s : series) bodies.push_back(s.body);
    auto figures = measure_round_robin(bodies, repetitions);
    if (!figures) return fail(Error{"measure start.lifecycle (round-robin)", "", 0, figures.error().message()});
    // The library's samples of the figure pass, warm-up round first: its last `repetitions`.
    std::vector<double> create_figures(lib_create_ms->end() - std::min<std::ptrdiff_t>(repetitions, lib_create_ms->size()),
                                       lib_create_ms->end());
    for (std::size_t i = 0; i < series.size(); ++i) {
        auto& s = series[i];
        // The phase breakdown: a pass of its own, traced and untraced samples alternating.
        auto samples = measure_traced("start.lifecycle/" + s.name, s.body, repetitions, tracing, s.follow);
        if (!samples) return fail(Error{"measure start.lifecycle/" + s.name, "", 0, samples.error().message()});
        s.context["namespaces"] = kNamespaces;
        s.context["cgroups"] = kCgroupView;
        s.context["tracer"] = tracing.label();
        s.context["state_fs"] = state_fs;
        s.context["sampling"] = "figure: untraced, round-robin over the series (one sample of each per round); "
                                "trace: a separate pass alternating traced and untraced samples";
        if (!missing.empty()) s.context["not_measured"] = missing;
        auto r = make_result("start.lifecycle/" + s.name, (*figures)[i], s.context);
        r.sampled_in_rounds = true;
        r.trace = samples->trace;
        results.push_back(std::move(r));
        if (s.cli.empty()) continue;
        auto rss = rss_result(s.name, s.cli, s.context);
        if (!rss) return fail(rss.error());
        results.push_back(std::move(*rss));
    }
    if (!create_figures.empty()) {
        auto r = make_result("start.lifecycle/ctbench-lib-create", create_figures,
                             {{"what", "Container::create alone (cgroups, clone3, the init's whole setup up to its ready "
                                       "message), timed inside ctbench-start-helper around the call; from the "
                                       "ctbench-lib samples of the figure pass"},
                              {"state_fs", state_fs},
                              {"traced_with", "start.lifecycle/ctbench-lib"}});
        r.sampled_in_rounds = true;
        results.push_back(std::move(r));
    }
    auto find = [&](const std::string& n) -> report::BenchResult* {
        for (auto& r : results)
            if (r.name == "start.lifecycle/" + n) return &r;
        return nullptr;
    };
    if (auto* lib = find("ctbench-lib"); lib && find("minimal-container")) set_ratio(*lib, *find("minimal-container"));
    // The create path in units of the kernel's work for a whole container, round by round: host
    // drift between runs moves both alike (A/A within +-4.3 % in 10 pairs here, where the raw
    // create time drifted +-8 %), a slower create path moves only the numerator.
    if (auto* create = find("ctbench-lib-create"); create && find("minimal-container"))
        set_ratio(*create, *find("minimal-container"));
    if (auto* floor = find("minimal-container"); floor && find("kernel-floor")) set_ratio(*floor, *find("kernel-floor"));
    for (std::string prefix : {"", "maxrss-"})
        for (const char* n : {"ctbench-runtime", "runc"})
            if (auto* r = find(prefix + n); r && find(prefix + "crun")) set_ratio(*r, *find(prefix + "crun"));
    // The CLIs' ratio to crun is the target; the gate's yardstick is the minimal container:
    // crun's own median moves by 10-18 % between two runs here, and divided by it an unchanged
    // ctbench-runtime moved as much (a false alarm in A/A gating).
    if (find("minimal-container"))
        for (const char* n : {"ctbench-runtime", "runc", "crun"})
            if (auto* r = find(n)) r->yardstick = "start.lifecycle/minimal-container";
    return results;
}

// The runner gives every bench its own child: the private mount namespace and the fixture die
// with it, even if the bench is killed at its deadline.
Result<std::vector<report::BenchResult>> lifecycle(const BenchContext& ctx) {
    int reps = ctx.repetitions > 0 ? ctx.repetitions : kLifecycleRepetitions;
    auto fs = parse_state_fs(ctx.state_fs);
    if (!fs) return fail(fs.error());
    if (auto s = hide_unified_hierarchy(); !s) return fail(s.error());
    auto f = make_fixture("bench-start", *fs);
    if (!f) return fail(f.error());
    Tracing tracing = Tracing::open(ctx.host);
    auto results = measure_all(*f, reps, tracing, describe(*fs));
    remove_fixture(*f);
    return results;
}

using K = Requirement::Kind;
CTB_BENCH("start.lifecycle",
          "container lifecycle of /bin/true: ctbench library and CLI vs crun, runc, the minimal container and the kernel floor",
          {{K::root, ""}, {K::namespace_type, "pid"}, {K::namespace_type, "network"}, {K::namespace_type, "cgroup"},
           {K::overlay_feature, "redirect_dir"}},
          lifecycle, std::chrono::minutes(10), true);

}  // namespace
}  // namespace ctb::bench
