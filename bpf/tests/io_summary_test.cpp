// The I/O tracer's summary on fixed snapshots: no kernel, no root.
#include <gtest/gtest.h>

#include "bpf/io_summary.hpp"

namespace ctb::bpf {
namespace {

constexpr std::uint32_t kExt4 = 0xEF53, kOverlay = 0x794c7630, kTmpfs = 0x01021994;

LayerMap layers() {
    LayerMap m;
    m.backing_dev = 254u << 20;
    m.tmpfs_dev = 45;
    m.lower = {{254u << 20, 1000}};
    return m;
}

TEST(IoSummary, LayerOfOverlayFilesFollowsTheRealFile) {
    auto m = layers();
    EXPECT_EQ(layer_of({77, kOverlay, 254u << 20, 0, 1000}, m), "lower");
    EXPECT_EQ(layer_of({77, kOverlay, 254u << 20, 0, 2000}, m), "upper");
    EXPECT_EQ(layer_of({254u << 20, kExt4, 254u << 20, 0, 2000}, m), "bare");
    EXPECT_EQ(layer_of({254u << 20, kExt4, 254u << 20, 0, 1000}, m), "bare");  // a lower file, directly
    EXPECT_EQ(layer_of({45, kTmpfs, 45, 0, 3}, m), "tmpfs");
    EXPECT_EQ(layer_of({12, 0x50495045, 12, 0, 9}, m), "other");  // a pipe
}

TEST(IoSummary, HistogramQuantileIsTheSlotUpperBound) {
    __u64 h[CTB_IO_SLOTS] = {};
    EXPECT_EQ(hist_quantile_us(h, 0.5), 0.0);
    h[3] = 90;  // [8, 16) us
    h[7] = 10;  // [128, 256) us
    EXPECT_EQ(hist_quantile_us(h, 0.5), 16.0);
    EXPECT_EQ(hist_quantile_us(h, 0.89), 16.0);
    EXPECT_EQ(hist_quantile_us(h, 0.99), 256.0);
    EXPECT_EQ(hist_quantile_us(h, 0.0), 16.0);
}

TEST(IoSummary, PageCacheEstimateAndBlockFigures) {
    IoSnapshot s;
    s.totals.pc_lookups = 100;
    s.totals.pc_added = 30;
    s.totals.pc_dirtied = 10;  // 20 read misses
    s.totals.blk_count[CTB_IO_READ] = 4;
    s.totals.blk_bytes[CTB_IO_READ] = 4 << 20;
    s.totals.blk_ns_sum[CTB_IO_READ] = 4 * 250'000;
    s.totals.blk_hist[CTB_IO_READ][7] = 4;
    s.totals.lost = 0;
    s.files.push_back({{77, kOverlay, 254u << 20, 0, 2000}, {4096, 0, 1, 0}});
    s.files.push_back({{77, kOverlay, 254u << 20, 0, 2001}, {4096, 8192, 1, 2}});
    s.files.push_back({{77, kOverlay, 254u << 20, 0, 1000}, {100, 0, 1, 0}});
    auto j = io_summary(s, layers(), {"tp_btf", "254:0", false, "backing fs is xfs"});
    EXPECT_EQ(j["kind"], "io");
    EXPECT_EQ(j["lost"], 0);
    EXPECT_EQ(j["page_cache"]["misses"], 20);
    EXPECT_EQ(j["page_cache"]["hits"], 80);
    EXPECT_DOUBLE_EQ(j["page_cache"]["hit_ratio"].get<double>(), 0.8);
    EXPECT_DOUBLE_EQ(j["block"]["read"]["mean_us"].get<double>(), 250.0);
    EXPECT_EQ(j["block"]["read"]["p99_us"], 256.0);
    EXPECT_EQ(j["block"]["write"]["requests"], 0);
    ASSERT_EQ(j["layers"].size(), 2u);  // lower, upper (sorted)
    EXPECT_EQ(j["layers"][0]["layer"], "lower");
    EXPECT_EQ(j["layers"][1]["layer"], "upper");
    EXPECT_EQ(j["layers"][1]["read_bytes"], 8192);
    EXPECT_EQ(j["layers"][1]["write_calls"], 2);
    EXPECT_EQ(j["copy_up"]["traced"], false);
    EXPECT_EQ(j["copy_up"]["reason"], "backing fs is xfs");
}

TEST(IoSummary, MoreDirtiedThanAddedIsNoNegativeMiss) {
    IoSnapshot s;
    s.totals.pc_lookups = 5;
    s.totals.pc_added = 10;
    s.totals.pc_dirtied = 50;
    auto j = io_summary(s, layers(), {"raw_tp", "254:0", true, ""});
    EXPECT_EQ(j["page_cache"]["misses"], 0);
    EXPECT_EQ(j["page_cache"]["hits"], 5);
    EXPECT_EQ(j["copy_up"]["count"], 0);
}

// Every duration falls inside its bucket, buckets grow with the duration, and none is wider than
// 1/64 of its lower bound: two medians 2 % apart cannot share one.
TEST(IoSummary, LatencyBucketsHoldTheirDurationsAtFineResolution) {
    std::uint32_t previous = 0;
    std::vector<std::uint64_t> values;
    for (std::uint64_t ns = 0; ns < 300; ++ns) values.push_back(ns);
    for (double ns = 300; ns < double(1ull << 37); ns *= 1.003) values.push_back(static_cast<std::uint64_t>(ns));
    for (std::uint64_t ns : values) {
        std::uint32_t b = ctb_io_lat_bucket(ns);
        ASSERT_LT(b, static_cast<std::uint32_t>(CTB_IO_LAT_BUCKETS)) << ns;
        ASSERT_GE(b, previous) << ns;
        previous = b;
        double lower = lat_bucket_lower_ns(b), width = lat_bucket_width_ns(b);
        ASSERT_LE(lower, double(ns)) << ns;
        ASSERT_LT(double(ns), lower + width) << ns;
        if (ns >= CTB_IO_LAT_SUB) {
            ASSERT_LE(width / lower, 1.0 / 64 + 1e-12) << ns;
        }
    }
    EXPECT_EQ(ctb_io_lat_bucket(63), 63u);
    EXPECT_EQ(ctb_io_lat_bucket(64), 64u);
    EXPECT_EQ(ctb_io_lat_bucket(3000), ctb_io_lat_bucket(3007));  // [2976, 3008)
    EXPECT_NE(ctb_io_lat_bucket(3000), ctb_io_lat_bucket(3008));
    EXPECT_EQ(ctb_io_lat_bucket(1ull << 45), static_cast<std::uint32_t>(CTB_IO_LAT_BUCKETS - 1));
}

TEST(IoSummary, LatencyQuantileInterpolatesInsideTheBucket) {
    static __u64 h[CTB_IO_LAT_BUCKETS] = {};
    EXPECT_EQ(lat_hist_quantile_ns(h, 0.5), 0.0);
    h[ctb_io_lat_bucket(3000)] = 90;   // [2976, 3008) ns
    h[ctb_io_lat_bucket(80000)] = 10;  // [79872, 80896) ns
    EXPECT_DOUBLE_EQ(lat_hist_quantile_ns(h, 0.5), 2976 + 32 * (50.0 / 90));
    EXPECT_DOUBLE_EQ(lat_hist_quantile_ns(h, 0.9), 3008);
    EXPECT_DOUBLE_EQ(lat_hist_quantile_ns(h, 0.99), 79872 + 1024 * (9.0 / 10));
    EXPECT_DOUBLE_EQ(lat_hist_quantile_ns(h, 0.0), 2976);
}

// Only a window that timed its calls says anything about them.
TEST(IoSummary, TimedCallsPerDirection) {
    auto s = std::make_unique<IoSnapshot>();
    s->totals.sys_count[CTB_IO_WRITE] = 4;
    s->totals.sys_ns_sum[CTB_IO_WRITE] = 4 * 3000;
    s->totals.sys_hist[CTB_IO_WRITE][ctb_io_lat_bucket(3000)] = 4;
    EXPECT_FALSE(io_summary(*s, layers(), {"tp_btf", "254:0", true, ""}).contains("timed_calls"));
    auto j = io_summary(*s, layers(), {"tp_btf", "254:0", true, "", true});
    EXPECT_EQ(j["timed_calls"]["write"]["calls"], 4);
    EXPECT_DOUBLE_EQ(j["timed_calls"]["write"]["mean_us"].get<double>(), 3.0);
    EXPECT_NEAR(j["timed_calls"]["write"]["p50_us"].get<double>(), 2.992, 1e-9);
    EXPECT_EQ(j["timed_calls"]["read"]["calls"], 0);
    EXPECT_EQ(j["timed_calls"]["read"]["p50_us"], 0.0);
}

}  // namespace
}  // namespace ctb::bpf
