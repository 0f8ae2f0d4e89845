// The eBPF I/O tracer around each overlayio series (bpf/io_tracer.hpp): the engine's run is the
// window; the summary ($defs/ioTrace) goes into the series' `trace`. When the host cannot trace,
// every figure's context says why (tracer: "off: ...") and the series carry no trace.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "benches/overlayio/env.hpp"
#include "bpf/io_summary.hpp"
#include "bpf/io_tracer.hpp"
#include "reports/host_probe.hpp"

namespace ctb::bench::overlayio {

struct TracedDoc {
    nlohmann::json doc;    // the engine's JSON
    nlohmann::json trace;  // the window's summary; null when untraced
};

class IoTracing {
public:
    static IoTracing open(const report::HostProbe& host, const Env& env);
    // "tp_btf" / "raw_tp", or "off: <reason>".
    std::string label() const;
    bool on() const { return tracer_ != nullptr; }
    // After Env::mount_rootfs: the lower layers' inodes (for the per-layer bytes) and the work
    // directory (for copy-ups) of the new rootfs.
    Status watch_rootfs(const Env& env, const std::vector<std::string>& lower_dirs);
    // Runs `run` (which starts the engine) as the traced window; the calling thread and every task
    // it creates are followed. time_calls: also time their pread64/pwrite64 (trace.timed_calls),
    // for windows whose figures are not system calls themselves (bpf/io_tracer.hpp).
    Result<TracedDoc> around(const std::string& where, const std::function<Result<nlohmann::json>()>& run,
                             bool time_calls = false);

private:
    std::unique_ptr<bpf::IoTracer> tracer_;
    std::string off_reason_;
    bpf::LayerMap layers_;
    bpf::IoWindowInfo info_;
};

// The whole disk under `path` as "major:minor" and as a kernel dev_t (partitions resolved to
// their disk through /sys/dev/block).
Result<std::pair<std::string, std::uint32_t>> backing_disk(const std::string& path);

}  // namespace ctb::bench::overlayio
