// The I/O tracer's window as report JSON ($defs/ioTrace): block latency per direction with
// percentiles from the log2 histogram, page-cache hits and misses (cachestat's estimate), bytes
// per layer, copy-ups, and the kernel's durations of the positional reads and writes. Pure: unit-tested on fixed snapshots (bpf/tests/io_summary_test.cpp).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "bpf/io_tracer.hpp"

namespace ctb::bpf {

// How a file seen by the tracer maps to a layer of the measured setup.
struct LayerMap {
    std::uint32_t backing_dev = 0;  // kernel dev_t of the filesystem under the state directory
    std::uint32_t tmpfs_dev = 0;    // the bench's tmpfs
    // (kernel dev_t, inode) of every file and directory of the overlay's lower layers
    std::set<std::pair<std::uint32_t, std::uint64_t>> lower;
};

// "upper", "lower", "bare", "tmpfs" or "other" (pipes, /proc, the runtime's own files ...).
std::string layer_of(const ctb_io_file_key& key, const LayerMap& layers);

// Value of the log2 histogram at quantile q (0..1): the upper bound, in microseconds, of the
// slot that holds it; 0 for an empty histogram.
double hist_quantile_us(const __u64 (&hist)[CTB_IO_SLOTS], double q);

// The log-linear histogram of timed calls (bpf/io_trace.h): a bucket's lower bound and width in
// nanoseconds, and the value at quantile q (0..1) with linear interpolation inside its bucket
// (0 for an empty histogram).
double lat_bucket_lower_ns(std::uint32_t bucket);
double lat_bucket_width_ns(std::uint32_t bucket);
double lat_hist_quantile_ns(const __u64 (&hist)[CTB_IO_LAT_BUCKETS], double q);

struct IoWindowInfo {
    std::string program_kind;  // "tp_btf" / "raw_tp"
    std::string disk;          // "254:0"
    bool copy_up_traced = false;
    std::string copy_up_off_reason;  // when not traced
    bool timed_calls = false;        // the window timed pread64/pwrite64 (IoTracer::attach)
};

nlohmann::json io_summary(const IoSnapshot& s, const LayerMap& layers, const IoWindowInfo& info);

}  // namespace ctb::bpf
