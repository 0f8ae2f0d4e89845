// The random benches' fidelity pair seen by the kernel's clock. The fidelity ratio compares what
// the engine and fio each report, and each tool's latency window holds some of its own work around
// the system call. After the measured rounds, a few more pairs of the engine's bare pass and fio's
// run go with the I/O tracer attached; its `timed_calls` (bpf/io_trace.h) give the median duration
// of each tool's pread64/pwrite64 calls from sys_enter to sys_exit. Side by side with the reported
// medians, that splits a gap between the tools into the transfers themselves (the same calls took
// longer in one tool's process) and each tool's own time in its window (reported - syscall).
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "benches/overlayio/fio.hpp"
#include "benches/overlayio/tracing.hpp"

namespace ctb::bench::overlayio {

struct KernelViewRuns {
    int pairs = 3;
    std::string direction;  // "read" or "write": the timed calls of the workload
    std::function<Result<nlohmann::json>()> engine;  // the engine's bare pass (its JSON document)
    std::function<Result<FioFigures>()> fio;         // fio's run of the same job
};

// `context.fidelity_kernel_view` of the bare series. Needs the tracer on (the caller checks).
Result<nlohmann::json> fidelity_kernel_view(IoTracing& tracing, const KernelViewRuns& runs);

}  // namespace ctb::bench::overlayio
