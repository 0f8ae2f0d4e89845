// compare on reports built in memory: which changes are regressions and which are not.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

#include "reports/compare.hpp"
#include "reports/tests/sample.hpp"

using namespace ctb::report;

namespace {

std::vector<double> lognormal(double median, int n, unsigned seed) {
    std::mt19937_64 rng(seed);
    std::lognormal_distribution<double> d(std::log(median), 0.05);
    std::vector<double> out(static_cast<std::size_t>(n));
    for (auto& x : out) x = d(rng);
    return out;
}

Report with_bench(const std::string& unit, std::vector<double> samples) {
    Report r = samples::sample_report();
    r.benchmarks.front().unit = unit;
    r.benchmarks.front().samples = std::move(samples);
    finalize(r.benchmarks.front());
    return r;
}

}  // namespace

TEST(Compare, TenPercentSlowerWithEnoughSamplesIsARegression) {
    auto c = compare(with_bench("ns", lognormal(1000, 20, 1)), with_bench("ns", lognormal(1100, 20, 2)));
    ASSERT_TRUE(c.has_value()) << c.error().message();
    ASSERT_EQ(c->benchmarks.size(), 1u);
    const auto& b = c->benchmarks.front();
    EXPECT_TRUE(b.significant);
    EXPECT_GT(b.change, 0.05);
    EXPECT_LT(b.ratio.low, b.ratio.ratio);
    EXPECT_GT(b.ratio.high, b.ratio.ratio);
    EXPECT_GT(b.ratio.low, 1.0);  // the interval excludes "no change"
    EXPECT_TRUE(b.regression());
    EXPECT_TRUE(b.warnings.empty());
    EXPECT_TRUE(c->has_regression());
}

TEST(Compare, SameDistributionIsNoRegression) {
    auto c = compare(with_bench("ns", lognormal(1000, 20, 3)), with_bench("ns", lognormal(1000, 20, 4)));
    ASSERT_TRUE(c.has_value());
    EXPECT_FALSE(c->benchmarks.front().regression());
    EXPECT_FALSE(c->has_regression());
}

TEST(Compare, LargeButNotSignificantIsNoRegression) {
    // Three samples per side cannot reach p < 0.05 with the normal approximation.
    auto c = compare(with_bench("ns", {100, 101, 102}), with_bench("ns", {200, 201, 202}));
    ASSERT_TRUE(c.has_value());
    const auto& b = c->benchmarks.front();
    EXPECT_GT(b.change, 0.9);
    EXPECT_FALSE(b.significant);
    EXPECT_FALSE(b.regression());
    ASSERT_EQ(b.warnings.size(), 1u);
    EXPECT_NE(b.warnings.front().find("fewer than 9"), std::string::npos);
}

TEST(Compare, SignificantButWithinThresholdIsNoRegression) {
    std::vector<double> base, slower;  // every sample 3 % slower: significant, but under 5 %
    for (int i = 0; i < 40; ++i) {
        base.push_back(1000 + i);
        slower.push_back((1000 + i) * 1.03);
    }
    auto c = compare(with_bench("ns", base), with_bench("ns", slower));
    ASSERT_TRUE(c.has_value());
    EXPECT_TRUE(c->benchmarks.front().significant);
    EXPECT_FALSE(c->benchmarks.front().beyond_threshold);
    EXPECT_FALSE(c->benchmarks.front().regression());
    CompareOptions strict;
    strict.threshold = 0.01;
    auto s = compare(with_bench("ns", base), with_bench("ns", slower), strict);
    EXPECT_TRUE(s->benchmarks.front().regression());
}

TEST(Compare, ThroughputFallingIsWorseAndRisingIsBetter) {
    auto down = compare(with_bench("MiB/s", lognormal(1000, 20, 7)), with_bench("MiB/s", lognormal(800, 20, 8)));
    EXPECT_TRUE(down->benchmarks.front().regression());
    auto up = compare(with_bench("MiB/s", lognormal(1000, 20, 7)), with_bench("MiB/s", lognormal(1200, 20, 8)));
    EXPECT_EQ(up->benchmarks.front().verdict, BenchVerdict::improvement);
    EXPECT_FALSE(up->has_regression());
}

TEST(Compare, SameInputsGiveTheSameAnswer) {
    auto a = with_bench("ns", lognormal(1000, 15, 9)), b = with_bench("ns", lognormal(1040, 15, 10));
    auto x = compare(a, b), y = compare(a, b);
    EXPECT_EQ(comparison_json(*x), comparison_json(*y));
}

TEST(Compare, CaseChangesAreClassified) {
    Report before = samples::sample_report(), after = before;
    // sample: ns pass, cgroup skip, overlay fail, security error
    after.conformance[0].outcome = Outcome::fail;   // regression
    after.conformance[1].outcome = Outcome::pass;   // skip gone
    after.conformance[2].outcome = Outcome::pass;   // fixed
    after.conformance[3].outcome = Outcome::skip;   // new skip
    after.conformance.push_back({"ns.uts.hostname", "ns", Outcome::pass, "", 0, {}, "uts_namespaces(7)"});
    before.conformance.push_back({"ns.ipc.gone", "ns", Outcome::pass, "", 0, {}, "ipc_namespaces(7)"});
    auto c = compare(before, after);
    ASSERT_TRUE(c.has_value());
    ASSERT_EQ(c->cases.size(), 4u);
    std::map<std::string, CaseChangeKind> kinds;
    for (const auto& x : c->cases) kinds[x.id] = x.kind;
    EXPECT_EQ(kinds["ns.pid.init_is_1"], CaseChangeKind::regression);
    EXPECT_EQ(kinds["cgroup.memory.oom_kill"], CaseChangeKind::skip_gone);
    EXPECT_EQ(kinds["overlay.copy_up.chmod"], CaseChangeKind::fixed);
    EXPECT_EQ(kinds["security.seccomp.default"], CaseChangeKind::new_skip);
    EXPECT_EQ(c->cases_only_before, std::vector<std::string>{"ns.ipc.gone"});
    EXPECT_EQ(c->cases_only_after, std::vector<std::string>{"ns.uts.hostname"});
    EXPECT_EQ(c->regressions(), 1);
    EXPECT_NE(render_comparison_text(*c).find("REGRESSION         ns.pid.init_is_1: pass -> fail"), std::string::npos);
    EXPECT_NE(render_comparison_markdown(*c).find("| `ns.pid.init_is_1` | pass | fail | **regression** |"),
              std::string::npos);
}

TEST(Compare, ContextDifferencesAreWarningsNotErrors) {
    Report before = samples::sample_report(), after = before;
    after.run.kernel = "6.19.0";
    after.run.cgroup_mode = "v2";
    after.run.runtime.name = "crun";
    auto c = compare(before, after);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->context_warnings.size(), 3u);
    EXPECT_FALSE(c->has_regression());
    EXPECT_NE(render_comparison_text(*c).find("warning: kernel differs: 6.18.0 -> 6.19.0"), std::string::npos);
}

TEST(Compare, NothingInCommonIsAnError) {
    Report before = samples::sample_report(), after = before;
    after.benchmarks.front().name = "other.bench/x";
    auto c = compare(before, after);
    ASSERT_FALSE(c.has_value());
    EXPECT_NE(c.error().message().find("no benchmark series in common"), std::string::npos);
    Report empty_cases = after;
    empty_cases.benchmarks.clear();
    for (auto& x : empty_cases.conformance) x.id += "_renamed";
    Report no_benches = before;
    no_benches.benchmarks.clear();
    EXPECT_FALSE(compare(no_benches, empty_cases).has_value());
}

namespace {

// A report with a yardstick series and a subject measured against it, both scaled by `drift`
// (the whole host slower or faster in this run) and the subject by `own` on top.
Report with_baseline(double drift, double own, unsigned seed) {
    Report r = samples::sample_report();
    BenchResult floor = r.benchmarks.front(), subject = r.benchmarks.front();
    floor.name = "start.lifecycle/floor";
    floor.unit = "ms";
    floor.baseline.reset();
    floor.samples = lognormal(4 * drift, 20, seed);
    subject.name = "start.lifecycle/runtime";
    subject.unit = "ms";
    subject.baseline = floor.name;
    subject.samples = lognormal(10 * drift * own, 20, seed + 100);
    finalize(floor);
    finalize(subject);
    r.benchmarks = {floor, subject};
    return r;
}

const BenchChange& named(const Comparison& c, const std::string& name) {
    for (const auto& b : c.benchmarks)
        if (b.name == name) return b;
    throw std::runtime_error("no series " + name);
}

}  // namespace

TEST(Compare, HostDriftIsARegressionRawButNotNormalized) {
    auto before = with_baseline(1.0, 1.0, 11), after = with_baseline(1.3, 1.0, 12);  // host 30 % slower
    auto raw = compare(before, after);
    ASSERT_TRUE(raw.has_value());
    EXPECT_TRUE(named(*raw, "start.lifecycle/runtime").regression());
    CompareOptions o;
    o.normalize = true;
    auto norm = compare(before, after, o);
    ASSERT_TRUE(norm.has_value());
    const auto& subject = named(*norm, "start.lifecycle/runtime");
    EXPECT_EQ(subject.normalized_by, "start.lifecycle/floor");
    EXPECT_FALSE(subject.regression());
    EXPECT_LT(std::fabs(subject.change), 0.05);
    EXPECT_EQ(named(*norm, "start.lifecycle/floor").verdict, BenchVerdict::yardstick);
    EXPECT_FALSE(norm->has_regression());
}

TEST(Compare, NormalizedGateStillSeesTheSubjectsOwnSlowdown) {
    CompareOptions o;
    o.normalize = true;
    auto c = compare(with_baseline(1.0, 1.0, 21), with_baseline(1.2, 1.1, 22), o);  // host +20 %, subject +10 % more
    ASSERT_TRUE(c.has_value());
    const auto& subject = named(*c, "start.lifecycle/runtime");
    EXPECT_TRUE(subject.regression());
    EXPECT_NEAR(subject.change, 0.10, 0.04);
}

namespace {

// Series sampled in rounds on a host whose load changes from round to round by up to +-40 %
// (lognormal, sigma 0.3): both members of a round carry that round's load; the subject also has
// its own small noise and is `own` times slower.
Report loaded_rounds(double own, unsigned seed, bool flag_rounds) {
    Report r = with_baseline(1.0, 1.0, seed);
    std::mt19937_64 rng(seed);
    std::lognormal_distribution<double> load(0, 0.3), own_noise(0, 0.02);
    auto& floor = r.benchmarks[0];
    auto& subject = r.benchmarks[1];
    for (std::size_t i = 0; i < floor.samples.size(); ++i) {
        double l = load(rng);
        floor.samples[i] = 4 * l * own_noise(rng);
        subject.samples[i] = 10 * own * l * own_noise(rng);
    }
    for (auto* b : {&floor, &subject}) {
        b->sampled_in_rounds = flag_rounds;
        finalize(*b);
    }
    return r;
}

}  // namespace

TEST(Compare, SeriesSampledInRoundsAreNormalizedPairByPair) {
    CompareOptions o;
    o.normalize = true;
    for (unsigned seed = 40; seed < 50; seed += 2) {
        auto same = compare(loaded_rounds(1.0, seed, true), loaded_rounds(1.0, seed + 1, true), o);
        ASSERT_TRUE(same.has_value());
        const auto& s = named(*same, "start.lifecycle/runtime");
        EXPECT_TRUE(s.normalized_per_round);
        EXPECT_FALSE(s.regression()) << "seed " << seed << " change " << s.change;
        EXPECT_LT(std::fabs(s.change), 0.03);
        auto slower = compare(loaded_rounds(1.0, seed, true), loaded_rounds(1.1, seed + 1, true), o);
        ASSERT_TRUE(slower.has_value());
        EXPECT_TRUE(named(*slower, "start.lifecycle/runtime").regression()) << "seed " << seed;
    }
    // The same samples without the flag are divided by the floor's median: the round-to-round load
    // stays in the ratios, and a 10 % slowdown drowns in it.
    auto unpaired = compare(loaded_rounds(1.0, 40, false), loaded_rounds(1.1, 41, false), o);
    ASSERT_TRUE(unpaired.has_value());
    const auto& u = named(*unpaired, "start.lifecycle/runtime");
    EXPECT_FALSE(u.normalized_per_round);
    EXPECT_FALSE(u.regression());
}

TEST(Compare, HolmAdjustsAcrossSeriesAndNoneDoesNot) {
    auto before = with_baseline(1.0, 1.0, 31), after = with_baseline(1.0, 1.1, 32);
    CompareOptions none;
    none.correction = Correction::none;
    auto raw = compare(before, after, none);
    auto holm = compare(before, after);
    ASSERT_TRUE(raw.has_value() && holm.has_value());
    for (std::size_t i = 0; i < raw->benchmarks.size(); ++i) {
        EXPECT_DOUBLE_EQ(raw->benchmarks[i].p_adjusted, raw->benchmarks[i].u.p_value);
        EXPECT_GE(holm->benchmarks[i].p_adjusted, holm->benchmarks[i].u.p_value);
        EXPECT_LE(holm->benchmarks[i].p_adjusted, std::min(1.0, 2 * holm->benchmarks[i].u.p_value) + 1e-15);
    }
    // The smallest of two p-values is doubled, the largest kept (step-down, monotone).
    const auto& a = holm->benchmarks[0];
    const auto& b = holm->benchmarks[1];
    const auto& lo = a.u.p_value < b.u.p_value ? a : b;
    const auto& hi = a.u.p_value < b.u.p_value ? b : a;
    EXPECT_DOUBLE_EQ(lo.p_adjusted, std::min(1.0, 2 * lo.u.p_value));
    EXPECT_DOUBLE_EQ(hi.p_adjusted, std::max(lo.p_adjusted, hi.u.p_value));
}

// --gate: a series the expression does not find is compared and shown but never a regression,
// and it leaves Holm's family (the gated series' adjusted p is the smaller for it).
TEST(Compare, GateLimitsTheGatedSeries) {
    auto before = with_baseline(1.0, 1.0, 31), after = with_baseline(1.3, 1.0, 32);  // both 30 % slower
    CompareOptions all;
    auto every = compare(before, after, all);
    ASSERT_TRUE(every.has_value());
    EXPECT_TRUE(named(*every, "start.lifecycle/floor").regression());
    CompareOptions o;
    o.gate = "/runtime$";
    auto gated = compare(before, after, o);
    ASSERT_TRUE(gated.has_value());
    const auto& floor = named(*gated, "start.lifecycle/floor");
    EXPECT_EQ(floor.verdict, BenchVerdict::not_gated);
    EXPECT_FALSE(floor.regression());
    EXPECT_GT(floor.worse_by, 0.25);  // still compared and shown
    const auto& subject = named(*gated, "start.lifecycle/runtime");
    EXPECT_TRUE(subject.regression());
    EXPECT_DOUBLE_EQ(subject.p_adjusted, subject.u.p_value);  // a family of one
    EXPECT_EQ(gated->regressions(), 1);
}

// A yardstick other than the baseline: --normalize divides by it, and the baseline (whose own
// run-to-run swing would otherwise move the ratio) is not made a yardstick by it.
TEST(Compare, YardstickOverridesTheBaselineForNormalizing) {
    auto make = [](double noisy_scale, unsigned seed) {
        Report r = with_baseline(1.0, 1.0, seed);
        BenchResult noisy = r.benchmarks.front();
        noisy.name = "start.lifecycle/noisy";
        noisy.samples = lognormal(20 * noisy_scale, 20, seed + 7);
        finalize(noisy);
        r.benchmarks.back().baseline = noisy.name;
        r.benchmarks.back().yardstick = "start.lifecycle/floor";
        r.benchmarks.push_back(noisy);
        return r;
    };
    CompareOptions o;
    o.normalize = true;
    auto c = compare(make(1.0, 41), make(0.8, 42), o);  // the baseline 20 % faster, nothing else changed
    ASSERT_TRUE(c.has_value());
    const auto& subject = named(*c, "start.lifecycle/runtime");
    EXPECT_EQ(subject.normalized_by, "start.lifecycle/floor");
    EXPECT_FALSE(subject.regression());
    EXPECT_EQ(named(*c, "start.lifecycle/floor").verdict, BenchVerdict::yardstick);
    EXPECT_NE(named(*c, "start.lifecycle/noisy").verdict, BenchVerdict::yardstick);
}
