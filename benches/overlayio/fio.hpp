// fio as the fidelity reference of the overlayio benches: the same bare path, block size, pattern,
// direct flag and amount of I/O as ctbench's own engine, run in the same bench. fio is a check
// from outside, never a dependency: when it is missing the bare series says so.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace ctb::bench::overlayio {

struct FioJob {
    std::string path;   // file fio creates and removes (never the engine's own file)
    std::string rw;     // "read", "write", "randread", "randwrite"
    std::uint64_t block_bytes = 0;
    std::uint64_t file_bytes = 0;
    std::uint64_t number_ios = 0;  // 0: the whole file once
    bool direct = true;
};

struct FioFigures {
    std::string version;  // "fio-3.33"
    double mib_per_s = 0;
    double iops = 0;
    double clat_mean_us = 0;  // completion latency (what the engine's per-transfer clock sees)
    double clat_p50_us = 0;
    double clat_p99_us = 0;
    // What fio divided by: its runtime in whole milliseconds, rounded up (backend.c
    // update_runtime: (elapsed_us + 999) / 1000), and the bytes it moved.
    double runtime_ms = 0;
    double io_bytes = 0;
};

// MiB/s of `bytes` over `seconds` rounded up to whole milliseconds, as fio computes its bandwidth:
// the engine's figure at fio's resolution, for the fidelity ratio only (a 25 ms pass gains 2 % on
// average from fio's rounding, which is not a difference between the engines).
double mib_per_s_at_fio_resolution(double bytes, double seconds);

// fio's command line for `job` (JSON output, psync engine at queue depth 1, end_fsync on writes).
std::vector<std::string> fio_argv(const std::string& fio, const FioJob& job);
// Parses fio's --output-format=json for the job's direction; an Error names what is missing.
Result<FioFigures> parse_fio_json(const std::string& text, const std::string& rw);
// Runs fio (looked up in PATH) on `job`, removes its file; an Error says why it could not run.
Result<FioFigures> run_fio(const FioJob& job);

}  // namespace ctb::bench::overlayio
