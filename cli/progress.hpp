// Live progress of `ctbench run`: on a terminal, one line rewritten in place (current case or
// bench, n of N, elapsed, estimated remaining, counts so far); nothing when stderr is not a
// terminal. `--verbose` prints every finished case with its evidence; `--quiet` prints nothing
// but the final summary.
#pragma once

#include <chrono>
#include <string>

#include "reports/model.hpp"

namespace ctb::cli {

enum class Verbosity { quiet, normal, verbose };

class Progress {
public:
    Progress(std::size_t total, Verbosity v);
    void start(const std::string& what);
    void case_done(const report::CaseResult& r);
    void bench_done(const std::string& name, std::size_t series, const std::string& not_run);
    void finish();  // clears the live line

private:
    void draw();
    void print_line(const std::string& text);

    std::size_t total_, done_ = 0;
    Verbosity verbosity_;
    bool live_;
    std::string current_;
    report::Summary counts_;
    std::size_t benches_ = 0;
    std::chrono::steady_clock::time_point begin_ = std::chrono::steady_clock::now();
};

}  // namespace ctb::cli
