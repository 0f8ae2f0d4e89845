// The overlayio benches' pure parts on fixed inputs: fio's JSON (shape of fio 3.33's output),
// fio's command line, the engine's output, fidelity targets.
#include <gtest/gtest.h>

#include "benches/overlayio/env.hpp"
#include "benches/overlayio/fio.hpp"
#include "benches/overlayio/series.hpp"

namespace ctb::bench::overlayio {
namespace {

const char* kFio = R"(note: both iodepth >= 1 and synchronous I/O engine are selected, queue depth will be capped at 1
{
  "fio version" : "fio-3.33",
  "jobs" : [
    {
      "jobname" : "ctbench-fidelity",
      "read" : {"io_bytes" : 262144, "bw_bytes" : 20164923, "iops" : 4923.076923,
                "clat_ns" : {"min" : 80000, "max" : 2500000, "mean" : 197372.765625,
                             "percentile" : {"50.000000" : 150000, "99.000000" : 2441216}}},
      "write" : {"io_bytes" : 0, "bw_bytes" : 0, "iops" : 0.0, "clat_ns" : {"mean" : 0.0}}
    }
  ]
})";

TEST(Fio, ParsesTheJobsDirection) {
    auto f = parse_fio_json(kFio, "randread");
    ASSERT_TRUE(f.has_value()) << f.error().message();
    EXPECT_EQ(f->version, "fio-3.33");
    EXPECT_NEAR(f->mib_per_s, 20164923.0 / 1048576.0, 1e-9);
    EXPECT_NEAR(f->clat_mean_us, 197.372765625, 1e-9);
    EXPECT_NEAR(f->clat_p50_us, 150.0, 1e-9);
    EXPECT_NEAR(f->clat_p99_us, 2441.216, 1e-9);
}

TEST(Fio, AZeroBandwidthIsAnErrorNotAFigure) {
    auto f = parse_fio_json(kFio, "randwrite");
    ASSERT_FALSE(f.has_value());
    EXPECT_NE(f.error().message().find("no write bandwidth"), std::string::npos) << f.error().message();
}

TEST(Fio, BrokenOutputNamesWhatIsMissing) {
    EXPECT_FALSE(parse_fio_json("fio: engine psync not loadable", "read").has_value());
    EXPECT_FALSE(parse_fio_json("{\"jobs\": []}", "read").has_value());
    auto f = parse_fio_json(R"({"fio version": "fio-3.33", "jobs": [{"read": {"iops": 1}}]})", "read");
    ASSERT_FALSE(f.has_value());
    EXPECT_NE(f.error().message().find("bw_bytes"), std::string::npos) << f.error().message();
}

TEST(Fio, CommandLineMatchesTheEngine) {
    auto argv = fio_argv("/usr/bin/fio", {"/run/ctbench/x/fio.dat", "randwrite", 4096, 64 << 20, 1024, true});
    auto has = [&](const std::string& a) { return std::find(argv.begin(), argv.end(), a) != argv.end(); };
    EXPECT_TRUE(has("--rw=randwrite"));
    EXPECT_TRUE(has("--bs=4096"));
    EXPECT_TRUE(has("--direct=1"));
    EXPECT_TRUE(has("--ioengine=psync"));
    EXPECT_TRUE(has("--number_ios=1024"));
    EXPECT_TRUE(has("--end_fsync=1"));
    EXPECT_TRUE(has("--overwrite=1"));
    auto seq = fio_argv("fio", {"/p", "read", 1 << 20, 64 << 20, 0, false});
    EXPECT_EQ(std::count(seq.begin(), seq.end(), std::string("--end_fsync=1")), 0);
    EXPECT_EQ(std::count(seq.begin(), seq.end(), std::string("--direct=0")), 1);
}

TEST(EngineOutput, LastOkDocumentWins) {
    auto d = agent_document("noise\n{\"ok\": true, \"samples\": [1, 2]}\n", "test");
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ((*d)["samples"].size(), 2u);
    auto failed = agent_document("{\"ok\": false, \"error\": \"open /x: EINVAL\"}\n", "test");
    ASSERT_FALSE(failed.has_value());
    EXPECT_NE(failed.error().message().find("EINVAL"), std::string::npos);
    EXPECT_FALSE(agent_document("", "test").has_value());
}

TEST(EngineOutput, SamplesMustBePositive) {
    nlohmann::json doc{{"samples", {1.5, 2.0}}, {"zero", {1.0, 0.0}}, {"empty", nlohmann::json::array()}};
    ASSERT_TRUE(positive_samples(doc, "samples").has_value());
    EXPECT_FALSE(positive_samples(doc, "zero").has_value());
    EXPECT_FALSE(positive_samples(doc, "empty").has_value());
    EXPECT_FALSE(positive_samples(doc, "missing").has_value());
}

TEST(Fidelity, Targets) {
    EXPECT_TRUE(meets_target({"fio", "fio-3.33", "MiB/s", 0.95, false}));
    EXPECT_FALSE(meets_target({"fio", "fio-3.33", "MiB/s", 0.94, false}));
    EXPECT_TRUE(meets_target({"fio", "fio-3.33", "MiB/s", 1.30, false}));
    EXPECT_TRUE(meets_target({"fio", "fio-3.33", "lat", 1.04, true}));
    EXPECT_FALSE(meets_target({"fio", "fio-3.33", "lat", 0.94, true}));
    EXPECT_FALSE(meets_target({"fio", "fio-3.33", "lat", 1.06, true}));
}

}  // namespace
}  // namespace ctb::bench::overlayio
