#include "cli/progress.hpp"

#include <unistd.h>

#include <fmt/format.h>

namespace ctb::cli {

Progress::Progress(std::size_t total, Verbosity v)
    : total_(total), verbosity_(v), live_(v != Verbosity::quiet && ::isatty(STDERR_FILENO) == 1) {}

void Progress::start(const std::string& what) {
    current_ = what;
    draw();
}

void Progress::case_done(const report::CaseResult& r) {
    ++done_;
    switch (r.outcome) {
        case report::Outcome::pass: ++counts_.pass; break;
        case report::Outcome::fail: ++counts_.fail; break;
        case report::Outcome::skip: ++counts_.skip; break;
        case report::Outcome::error: ++counts_.error; break;
    }
    if (verbosity_ == Verbosity::verbose)
        print_line(fmt::format("{:<5} {} ({:.2f} s){}{}", report::to_string(r.outcome), r.id, r.duration_seconds,
                               r.reason.empty() ? "" : ": " + r.reason,
                               r.evidence.empty() ? "" : "\n      evidence: " + r.evidence.dump()));
    draw();
}

void Progress::bench_done(const std::string& name, std::size_t series, const std::string& not_run) {
    ++done_;
    benches_ += series;
    if (verbosity_ == Verbosity::verbose)
        print_line(not_run.empty() ? fmt::format("bench {}: {} series", name, series)
                                   : fmt::format("bench {}: not run: {}", name, not_run));
    draw();
}

void Progress::print_line(const std::string& text) {
    if (live_) fmt::print(stderr, "\r\033[K");
    fmt::print(stderr, "{}\n", text);
}

void Progress::draw() {
    if (!live_) return;
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin_).count();
    std::string eta = done_ > 0 && done_ < total_ ? fmt::format(", ~{:.0f} s left", elapsed / double(done_) * double(total_ - done_)) : "";
    fmt::print(stderr, "\r\033[K[{}/{}] {:.0f} s{} | {} pass {} fail {} skip {} error {} series | {}", done_, total_, elapsed,
               eta, counts_.pass, counts_.fail, counts_.skip, counts_.error, benches_, current_);
    std::fflush(stderr);
}

void Progress::finish() {
    if (live_) fmt::print(stderr, "\r\033[K");
}

}  // namespace ctb::cli
