// start.churn: containers per second that a runtime CLI sustains with 1 and 8 parallel
// start/delete loops (`<runtime> run` of /bin/true, each loop with its own bundle and cgroup),
// for ctbench-runtime, crun and runc on the same rootfs, and the floor of any CLI: the minimal
// container as a one-shot static program (ctbench-minimal-container: a process start plus the
// container's kernel work, no runtime). A failed start fails the series: churn only counts
// containers that worked. Ratios are against crun at the same parallelism;
// the runners are measured round-robin.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <fmt/format.h>

#include "benches/harness/measure.hpp"
#include "benches/harness/spawn.hpp"
#include "benches/registry.hpp"
#include "benches/start/fixture.hpp"
#include "benches/start/helper.hpp"
#include "common/files.hpp"

namespace ctb::bench {
namespace {

constexpr int kDefaultRounds = 9;  // the suite's floor for every bench
constexpr int kContainersPerLoop = 4;  // per round; 8 x 16 with --thorough

struct Loop {
    std::vector<std::string> command;  // the container's id is appended
    std::string prefix;                // of the ids
    std::string error_file;  // where a loop's failed start is described for the parent
};

// One round: every loop runs `count` containers one after the other, all loops at once (one
// process each); `tag` makes the ids unique. Fails with the first failed start.
Status run_round(const std::vector<Loop>& loops, int count, const std::string& tag) {
    std::vector<pid_t> pids;
    for (const auto& l : loops) {
        pid_t pid = ::fork();
        if (pid < 0) return fail(sys_error("fork", "churn loop"));
        if (pid == 0) {
            for (int i = 0; i < count; ++i) {
                auto argv = l.command;
                argv.push_back(fmt::format("{}{}c{}", l.prefix, tag, i));
                if (auto s = run_quietly(argv); !s) {
                    (void)write_file(l.error_file, s.error().message());
                    ::_exit(1);
                }
            }
            ::_exit(0);
        }
        pids.push_back(pid);
    }
    int failed = 0;
    std::string first_error;
    for (std::size_t i = 0; i < pids.size(); ++i) {
        int status = 0;
        while (::waitpid(pids[i], &status, 0) < 0 && errno == EINTR) {
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) continue;
        ++failed;
        if (auto why = read_file(loops[i].error_file); why && first_error.empty()) first_error = *why;
    }
    if (failed > 0)
        return fail(plain_error("churn", loops.front().command.front(),
                                fmt::format("{} of {} loops had a failed start: {}", failed, loops.size(), first_error)));
    return {};
}

// One runner's loops: `exe` run on its own bundle per loop; for the floor (`floor_dir` set) exe
// is ctbench-minimal-container, given the image and a directory for its layers instead.
Result<std::vector<Loop>> make_loops(const Fixture& f, const std::string& name, const std::string& exe, int parallel,
                                     const std::string& floor_dir) {
    std::vector<Loop> loops;
    for (int i = 0; i < parallel; ++i) {
        std::string tag = fmt::format("-p{}l{}", parallel, i);
        std::vector<std::string> command{exe, f.image, floor_dir};
        if (floor_dir.empty()) {
            auto bundle = write_bundle(f, name, tag);
            if (!bundle) return fail(bundle.error());
            command = {exe, "--root", f.dir + "/root-churn-" + name, "run", "--bundle", *bundle};
        }
        loops.push_back({command, fmt::format("ch{}l{}", parallel, i), f.dir + fmt::format("/churn-error-{}-{}", name, tag)});
    }
    return loops;
}

struct Runner {
    std::string name, exe;
    bool floor;  // ctbench-minimal-container
};

// Every runner at one parallelism, round-robin (one round of each per turn, in round_order,
// one warm-up round each), so the ratios to crun do not carry the host's drift from one series to
// the next: this VM's speed moves by tens of percent over a minute.
Result<std::vector<report::BenchResult>> churn_at(const Fixture& f, const std::vector<Runner>& runners, int parallel,
                                                  int rounds, int count, const std::string& floor_dir) {
    std::vector<Body> bodies;
    for (const auto& r : runners) {
        auto loops = make_loops(f, r.name, r.exe, parallel, r.floor ? floor_dir : "");
        if (!loops) return fail(loops.error());
        auto round = std::make_shared<int>(0);
        bodies.push_back([loops = std::move(*loops), round, count] {
            return run_round(loops, count, fmt::format("r{}", (*round)++));
        });
    }
    auto ms = measure_round_robin(bodies, rounds, 1);
    if (!ms) return fail(ms.error());
    std::vector<report::BenchResult> out;
    for (std::size_t i = 0; i < runners.size(); ++i) {
        const auto& r = runners[i];
        std::vector<double> rates;
        for (double m : (*ms)[i]) rates.push_back(double(count) * double(parallel) / (m / 1e3));
        std::string what = r.floor ? "the floor of any CLI: " + r.exe + " (a static process running the minimal "
                                     "container), loops in parallel"
                                   : r.exe + " run of /bin/true, loops in parallel";
        auto result = make_result(fmt::format("start.churn/{}-x{}", r.name, parallel), rates,
                                  {{"parallel_loops", parallel}, {"containers_per_loop_per_round", count},
                                   {"what", what}, {"cgroups", kCgroupView}, {"tracer", "off"},
                                   {"sampling", "round-robin over the runners, one round of each per turn"}});
        result.unit = "containers/s";
        result.sampled_in_rounds = true;
        out.push_back(std::move(result));
    }
    return out;
}

Result<std::vector<report::BenchResult>> churn(const BenchContext& ctx) {
    int rounds = ctx.repetitions > 0 ? ctx.repetitions : kDefaultRounds;
    int count = ctx.thorough ? 4 * kContainersPerLoop : kContainersPerLoop;
    auto fs = parse_state_fs(ctx.state_fs);
    if (!fs) return fail(fs.error());
    if (auto s = hide_unified_hierarchy(); !s) return fail(s.error());
    auto f = make_fixture("bench-start", *fs);
    if (!f) return fail(f.error());
#ifdef CTBENCH_BUILD_MINIMAL_CLI_PATH
    const char* minimal_build_path = CTBENCH_BUILD_MINIMAL_CLI_PATH;
#else
    const char* minimal_build_path = nullptr;
#endif
    std::string floor_dir = f->dir + "/minimal-churn";
    auto minimal = find_bench_tool("ctbench-minimal-container", "CTBENCH_MINIMAL_CLI", minimal_build_path);
    if (minimal)
        if (auto made = make_dirs(floor_dir, 0700); !made) minimal = fail(made.error());
    std::vector<Runner> runners;
    for (auto& [name, exe] : cli_runtimes())
        if (exe) runners.push_back({name, *exe, false});  // lifecycle reports a missing runtime
    if (minimal) runners.push_back({"minimal-container", *minimal, true});
    std::vector<report::BenchResult> out;
    Status status;
    for (int parallel : {1, 8}) {
        auto part = churn_at(*f, runners, parallel, rounds, count, floor_dir);
        if (!part) {
            status = fail(part.error());
            break;
        }
        for (auto& r : *part) out.push_back(std::move(r));
    }
    remove_fixture(*f);
    if (!status) return fail(status.error());
    for (auto& r : out) {
        r.context["state_fs"] = describe(*fs);
        if (!minimal) r.context["floor_not_measured"] = "minimal-container: " + minimal.error().message();
        std::string crun = "start.churn/crun" + r.name.substr(r.name.rfind("-x"));
        for (const auto& b : out)
            if (b.name == crun && &b != &r) set_ratio(r, b);
    }
    return out;
}

using K = Requirement::Kind;
CTB_BENCH("start.churn", "containers per second with 1 and 8 parallel run loops: ctbench-runtime, crun, runc",
          {{K::root, ""}, {K::namespace_type, "pid"}, {K::namespace_type, "network"}, {K::namespace_type, "cgroup"},
           {K::overlay_feature, "redirect_dir"}},
          churn);

}  // namespace
}  // namespace ctb::bench
