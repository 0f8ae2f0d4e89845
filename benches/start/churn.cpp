// start.churn: containers per second that a runtime CLI sustains with 1 and 8 parallel
// start/delete loops (`<runtime> run` of /bin/true, each loop with its own bundle and cgroup),
// for ctbench-runtime, crun and runc on the same rootfs. A failed start fails the series: churn
// only counts containers that worked. Ratios are against crun at the same parallelism.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fmt/format.h>

#include "benches/harness/measure.hpp"
#include "benches/harness/spawn.hpp"
#include "benches/registry.hpp"
#include "benches/start/fixture.hpp"
#include "common/files.hpp"

namespace ctb::bench {
namespace {

constexpr int kDefaultRounds = 5;
constexpr int kContainersPerLoop = 4;  // per round; 8 x 16 with --thorough

struct Loop {
    std::string exe, root, bundle, prefix;
    std::string error_file;  // where a loop's failed start is described for the parent
};

// One round: every loop runs `count` containers one after the other, all loops at once (one
// process each). Returns containers per second, or the first failure.
Result<double> round_rate(const std::vector<Loop>& loops, int count, int round) {
    auto start = std::chrono::steady_clock::now();
    std::vector<pid_t> pids;
    for (const auto& l : loops) {
        pid_t pid = ::fork();
        if (pid < 0) return fail(sys_error("fork", "churn loop"));
        if (pid == 0) {
            for (int i = 0; i < count; ++i)
                if (auto s = run_quietly({l.exe, "--root", l.root, "run", "--bundle", l.bundle, fmt::format("{}r{}c{}", l.prefix, round, i)}); !s) {
                    (void)write_file(l.error_file, s.error().message());
                    ::_exit(1);
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
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (failed > 0)
        return fail(plain_error("churn", loops.front().exe,
                                fmt::format("{} of {} loops had a failed start: {}", failed, loops.size(), first_error)));
    return double(count) * double(loops.size()) / seconds;
}

Result<report::BenchResult> churn_series(const Fixture& f, const std::string& name, const std::string& exe,
                                         int parallel, int rounds, int count) {
    std::vector<Loop> loops;
    for (int i = 0; i < parallel; ++i) {
        std::string tag = fmt::format("-p{}l{}", parallel, i);
        auto bundle = write_bundle(f, name, tag);
        if (!bundle) return fail(bundle.error());
        loops.push_back({exe, f.dir + "/root-churn-" + name, *bundle, fmt::format("ch{}l{}", parallel, i),
                         f.dir + fmt::format("/churn-error-{}-{}", name, tag)});
    }
    std::vector<double> rates;
    if (auto warm = round_rate(loops, 1, -1); !warm) return fail(warm.error());
    for (int r = 0; r < rounds; ++r) {
        auto rate = round_rate(loops, count, r);
        if (!rate) return fail(rate.error());
        rates.push_back(*rate);
    }
    auto result = make_result(fmt::format("start.churn/{}-x{}", name, parallel), rates,
                              {{"parallel_loops", parallel}, {"containers_per_loop_per_round", count},
                               {"what", exe + " run of /bin/true, loops in parallel"}, {"cgroups", kCgroupView},
                               {"tracer", "off"}});
    result.unit = "containers/s";
    return result;
}

Result<std::vector<report::BenchResult>> churn(const BenchContext& ctx) {
    int rounds = ctx.repetitions > 0 ? ctx.repetitions : kDefaultRounds;
    int count = ctx.thorough ? 4 * kContainersPerLoop : kContainersPerLoop;
    auto fs = parse_state_fs(ctx.state_fs);
    if (!fs) return fail(fs.error());
    if (auto s = hide_unified_hierarchy(); !s) return fail(s.error());
    auto f = make_fixture("bench-start", *fs);
    if (!f) return fail(f.error());
    std::vector<report::BenchResult> out;
    Status status;
    for (auto& [name, exe] : cli_runtimes()) {
        if (!exe) continue;  // lifecycle reports the missing runtime
        for (int parallel : {1, 8}) {
            auto r = churn_series(*f, name, *exe, parallel, rounds, count);
            if (!r) {
                status = fail(r.error());
                break;
            }
            out.push_back(std::move(*r));
        }
        if (!status) break;
    }
    remove_fixture(*f);
    if (!status) return fail(status.error());
    for (auto& r : out) {
        r.context["state_fs"] = describe(*fs);
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
