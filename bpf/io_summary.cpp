#include "bpf/io_summary.hpp"

#include <algorithm>
#include <map>

namespace ctb::bpf {
namespace {

constexpr std::uint32_t kOverlayMagic = 0x794c7630;

nlohmann::json block_direction(const ctb_io_totals& t, int dir) {
    std::uint64_t n = t.blk_count[dir];
    nlohmann::json hist = nlohmann::json::array();
    int last = -1;
    for (int i = 0; i < CTB_IO_SLOTS; ++i)
        if (t.blk_hist[dir][i]) last = i;
    for (int i = 0; i <= last; ++i) hist.push_back(t.blk_hist[dir][i]);
    return {{"requests", n}, {"bytes", t.blk_bytes[dir]},
            {"mean_us", n ? static_cast<double>(t.blk_ns_sum[dir]) / static_cast<double>(n) / 1e3 : 0.0},
            {"p50_us", hist_quantile_us(t.blk_hist[dir], 0.5)}, {"p99_us", hist_quantile_us(t.blk_hist[dir], 0.99)},
            {"log2_hist_us", hist}};
}

nlohmann::json page_cache(const ctb_io_totals& t) {
    // cachestat's estimate: insertions that were not dirtied by a write were read misses.
    std::uint64_t misses = t.pc_added > t.pc_dirtied ? t.pc_added - t.pc_dirtied : 0;
    std::uint64_t hits = t.pc_lookups > misses ? t.pc_lookups - misses : 0;
    return {{"lookups", t.pc_lookups}, {"added", t.pc_added}, {"dirtied", t.pc_dirtied}, {"misses", misses},
            {"hits", hits},
            {"hit_ratio", t.pc_lookups ? static_cast<double>(hits) / static_cast<double>(t.pc_lookups) : 0.0},
            {"method", "pages: lookups = mm_filemap_get_pages ranges, misses = mm_filemap_add_to_page_cache - "
                       "writeback_dirty_folio (cachestat's estimate), hits = lookups - misses; followed tasks only"}};
}

nlohmann::json layers_json(const IoSnapshot& s, const LayerMap& layers) {
    std::map<std::string, ctb_io_file_value> by;
    for (const auto& [key, v] : s.files) {
        auto& sum = by[layer_of(key, layers)];
        sum.read_bytes += v.read_bytes;
        sum.write_bytes += v.write_bytes;
        sum.read_calls += v.read_calls;
        sum.write_calls += v.write_calls;
    }
    nlohmann::json out = nlohmann::json::array();
    for (const auto& [layer, v] : by)
        out.push_back({{"layer", layer}, {"read_bytes", v.read_bytes}, {"write_bytes", v.write_bytes},
                       {"read_calls", v.read_calls}, {"write_calls", v.write_calls}});
    return out;
}

nlohmann::json copy_up(const ctb_io_totals& t, const IoWindowInfo& info) {
    if (!info.copy_up_traced) return {{"traced", false}, {"reason", info.copy_up_off_reason}};
    return {{"traced", true}, {"count", t.copyup_count},
            {"mean_ms", t.copyup_count ? static_cast<double>(t.copyup_ns_sum) / static_cast<double>(t.copyup_count) / 1e6 : 0.0},
            {"p99_ms", hist_quantile_us(t.copyup_hist, 0.99) / 1e3}, {"bytes_dirtied", t.copyup_bytes},
            {"method", "ext4_allocate_inode in the overlay work directory by a followed task, until that task's "
                       "system call returns (copy-ups, and creates over whiteouts); bytes = pages dirtied meanwhile"}};
}

nlohmann::json timed_direction(const ctb_io_totals& t, int dir) {
    std::uint64_t n = t.sys_count[dir];
    auto us = [&](double q) { return lat_hist_quantile_ns(t.sys_hist[dir], q) / 1e3; };
    return {{"calls", n},
            {"mean_us", n ? static_cast<double>(t.sys_ns_sum[dir]) / static_cast<double>(n) / 1e3 : 0.0},
            {"p50_us", us(0.5)}, {"p90_us", us(0.9)}, {"p99_us", us(0.99)}};
}

nlohmann::json timed_calls(const ctb_io_totals& t) {
    return {{"read", timed_direction(t, CTB_IO_READ)}, {"write", timed_direction(t, CTB_IO_WRITE)},
            {"method", "pread64 / pwrite64 of the followed tasks that moved bytes, sys_enter to sys_exit by "
                       "bpf_ktime_get_ns (the tracer's own hooks lengthen every call alike); percentiles from a "
                       "log-linear histogram, buckets at most 1.6 % wide, interpolated inside the bucket"}};
}

}  // namespace

static_assert((CTB_IO_LAT_BUCKETS & (CTB_IO_LAT_BUCKETS - 1)) == 0, "the BPF side masks bucket indexes");

double lat_bucket_lower_ns(std::uint32_t bucket) {
    if (bucket < CTB_IO_LAT_SUB) return bucket;
    std::uint32_t shift = bucket / CTB_IO_LAT_SUB - 1;
    return static_cast<double>(static_cast<std::uint64_t>(CTB_IO_LAT_SUB + bucket % CTB_IO_LAT_SUB) << shift);
}

double lat_bucket_width_ns(std::uint32_t bucket) {
    if (bucket < CTB_IO_LAT_SUB) return 1;
    return static_cast<double>(std::uint64_t{1} << (bucket / CTB_IO_LAT_SUB - 1));
}

double lat_hist_quantile_ns(const __u64 (&hist)[CTB_IO_LAT_BUCKETS], double q) {
    std::uint64_t total = 0;
    for (auto n : hist) total += n;
    if (total == 0) return 0;
    // The q-th of `total` calls lies inside the bucket where the running count passes q * total:
    // spread that bucket's calls evenly over its width.
    const double target = std::clamp(q, 0.0, 1.0) * static_cast<double>(total);
    double before = 0;
    for (std::uint32_t b = 0; b < CTB_IO_LAT_BUCKETS; ++b) {
        if (hist[b] == 0) continue;
        double here = static_cast<double>(hist[b]);
        if (before + here >= target)
            return lat_bucket_lower_ns(b) + lat_bucket_width_ns(b) * (target - before) / here;
        before += here;
    }
    return lat_bucket_lower_ns(CTB_IO_LAT_BUCKETS - 1) + lat_bucket_width_ns(CTB_IO_LAT_BUCKETS - 1);
}

std::string layer_of(const ctb_io_file_key& key, const LayerMap& layers) {
    if (key.view_magic == kOverlayMagic) {
        if (layers.lower.contains({key.real_dev, key.real_ino})) return "lower";
        return key.real_dev == layers.backing_dev ? "upper" : "other";
    }
    if (key.view_dev == layers.tmpfs_dev && layers.tmpfs_dev != 0) return "tmpfs";
    // Not through an overlay: the backing filesystem itself, even for a file that is also a lower
    // layer's (the copy-up bench's bare baseline works on those files directly).
    if (key.view_dev == layers.backing_dev) return "bare";
    return "other";
}

double hist_quantile_us(const __u64 (&hist)[CTB_IO_SLOTS], double q) {
    std::uint64_t total = 0;
    for (auto n : hist) total += n;
    if (total == 0) return 0;
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total - 1)) + 1;  // 1-based
    std::uint64_t seen = 0;
    for (int i = 0; i < CTB_IO_SLOTS; ++i) {
        seen += hist[i];
        if (seen >= rank) return static_cast<double>(std::uint64_t{1} << (i + 1));
    }
    return static_cast<double>(std::uint64_t{1} << CTB_IO_SLOTS);
}

nlohmann::json io_summary(const IoSnapshot& s, const LayerMap& layers, const IoWindowInfo& info) {
    const auto& t = s.totals;
    nlohmann::json out = {{"kind", "io"},
        {"tracer", {{"program_type", info.program_kind}, {"lost", t.lost}}},
        {"lost", t.lost},
        {"block", {{"disk", info.disk}, {"read", block_direction(t, CTB_IO_READ)},
                   {"write", block_direction(t, CTB_IO_WRITE)}, {"unmatched_completions", t.blk_unmatched},
                   {"scope", "every request of the backing disk during the window (writeback included)"}}},
        {"page_cache", page_cache(t)},
        {"layers", layers_json(s, layers)},
        {"copy_up", copy_up(t, info)}};
    if (info.timed_calls) out["timed_calls"] = timed_calls(t);
    return out;
}

}  // namespace ctb::bpf
