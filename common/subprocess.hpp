// Run a helper program (qemu, runc --version, ...) with a deadline and capture its output.
// The child is stopped by its pid on timeout; nothing is ever killed by name.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace ctb {

struct ProcessResult {
    int exit_code = -1;        // valid when exited
    int term_signal = 0;       // non-zero when killed by a signal
    bool timed_out = false;    // we killed it at the deadline
    std::string output;        // stdout and stderr, interleaved, truncated at max_output
    bool exited_ok() const { return !timed_out && term_signal == 0 && exit_code == 0; }
};

struct RunOptions {
    std::chrono::milliseconds timeout{10'000};
    std::size_t max_output = 1 << 20;
    // Stop early once the output contains this text (e.g. a guest's "reached userspace" marker).
    std::optional<std::string> stop_when_output_contains;
};

// argv[0] is looked up in PATH (and /usr/sbin, /sbin, where Debian puts bpftool and friends).
Result<ProcessResult> run_process(const std::vector<std::string>& argv, const RunOptions& options = {});

// Absolute path of an executable, searching PATH then /usr/sbin and /sbin; nullopt if absent.
std::optional<std::string> find_executable(const std::string& name);

}  // namespace ctb
