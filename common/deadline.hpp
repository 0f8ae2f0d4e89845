// Bounded waits: every wait in ctbench is a retry loop with a deadline, never a bare sleep.
#pragma once

#include <chrono>
#include <thread>

namespace ctb {

class Deadline {
public:
    using clock = std::chrono::steady_clock;
    explicit Deadline(clock::duration budget) : end_(clock::now() + budget) {}
    bool expired() const { return clock::now() >= end_; }
    clock::duration remaining() const {
        auto left = end_ - clock::now();
        return left > clock::duration::zero() ? left : clock::duration::zero();
    }

private:
    clock::time_point end_;
};

// Call `done()` until it returns true or the deadline passes; polls with a growing interval
// (1 ms doubling up to 50 ms). Returns whether `done()` became true.
template <class Predicate>
bool retry_until(Deadline deadline, Predicate done) {
    auto pause = std::chrono::milliseconds(1);
    for (;;) {
        if (done()) return true;
        if (deadline.expired()) return false;
        std::this_thread::sleep_for(std::min<Deadline::clock::duration>(pause, deadline.remaining()));
        pause = std::min(pause * 2, std::chrono::milliseconds(50));
    }
}

}  // namespace ctb
