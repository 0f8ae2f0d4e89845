// The bench's end of ctbench-start-helper (start_helper_main.cpp): started once per bench, asked
// for one container per sample over a pipe, stopped (by pid, EOF on its stdin) at the end.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace ctb::bench {

class StartHelper {
public:
    // Starts the helper for this fixture; the helper must be found beside ctbench, in the build
    // tree or in PATH (CTBENCH_START_HELPER overrides).
    static Result<StartHelper> start(const std::string& fixture_dir, const std::string& image);
    StartHelper(StartHelper&& other) noexcept
        : pid_(std::exchange(other.pid_, 0)), to_(std::move(other.to_)), from_(std::move(other.from_)) {}
    StartHelper& operator=(StartHelper&&) = delete;
    ~StartHelper();

    // "floor N" or "lib N": one container, synchronously; the helper's error comes back named.
    Status request(const std::string& line);
    // The same, returning what followed "ok " (empty when nothing did).
    Result<std::string> ask(const std::string& line);
    pid_t pid() const { return pid_; }

private:
    StartHelper() = default;
    pid_t pid_ = 0;
    UniqueFd to_, from_;
};

// One of the bench's own executables (ctbench-start-helper, ctbench-rss-probe): $env_var,
// beside ctbench, in the build tree (build_path) or in PATH.
Result<std::string> find_bench_tool(const std::string& name, const char* env_var, const char* build_path);

}  // namespace ctb::bench
