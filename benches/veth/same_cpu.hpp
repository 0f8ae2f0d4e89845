// One CPU for both ends of a round trip: the tcp_rr fidelity check's second pair.
//
// Why: on this VM a TCP round trip between two CPUs costs two cross-CPU wake-ups, each an IPI
// through the hypervisor, and that cost moved by about 20 % from one run to the next (sockperf
// alone with client and server pinned to two CPUs: 49-60 us median). The engine and sockperf
// wait for a reply in different ways, so their round-by-round ratio swung 0.75-1.34 with the
// host's wake-ups. On one CPU no wake-up crosses CPUs: both measured 13.8-14.0 us here, so
// the ratio of that pair shows how far the engine's measurement is from sockperf's, free of the
// host's wake-up noise. The unpinned pair stays the fidelity figure (it is the loopback series'
// own placement); this one goes beside it in the report.
#pragma once

#include <sched.h>
#include <sys/types.h>

#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace ctb::bench::veth {

class SameCpu {
public:
    // The highest-numbered CPU the calling thread may run on; nullopt when the mask cannot be read.
    static std::optional<int> choose();
    // Pins every thread of each process in `pids` and the calling thread (so the clients it
    // starts inherit the mask) to `cpu`. The processes must be ours (started by pid).
    static Result<std::unique_ptr<SameCpu>> pin(int cpu, const std::vector<pid_t>& pids);
    ~SameCpu();  // every thread pinned gets its mask back (a thread gone since is skipped)
    SameCpu(const SameCpu&) = delete;
    SameCpu& operator=(const SameCpu&) = delete;

private:
    SameCpu() = default;
    Status pin_thread(pid_t tid, int cpu);  // tid 0: the calling thread
    std::vector<std::pair<pid_t, cpu_set_t>> saved_;
};

}  // namespace ctb::bench::veth
