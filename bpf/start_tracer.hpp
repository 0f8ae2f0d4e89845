// RAII wrapper over the start tracer's skeleton (bpf/start_trace.bpf.c, generated at build time
// by `bpftool gen skeleton`). Loading chooses one program kind (tp_btf or raw_tp) and never
// loads the other; destruction detaches every link and closes every program and map, so nothing
// of ours is left in the kernel on any path (bpftool prog/link list show nothing afterwards).
//
// Use: open() with the kinds the host can attach (from `ctbench doctor`), follow() the root task
// of what is measured (its descendants are followed by the kernel side as they are created),
// attach(), run the workload, drain() the events. detach()/attach() toggle tracing without
// reloading, for overhead measurements.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <sys/types.h>

#include "bpf/ksyms.hpp"
#include "bpf/start_trace.h"
#include "common/error.hpp"

struct start_trace;  // the generated skeleton
struct ring_buffer;
struct bpf_link;

namespace ctb::bpf {

class StartTracer {
public:
    // `attachable`: program kinds that attach on this host, e.g. {"tracepoint", "raw_tp", "tp_btf"}.
    // Prefers tp_btf, then raw_tp; an Error names why neither can be used.
    static Result<std::unique_ptr<StartTracer>> open(const std::vector<std::string>& attachable);
    ~StartTracer();
    StartTracer(const StartTracer&) = delete;
    StartTracer& operator=(const StartTracer&) = delete;

    const std::string& program_kind() const { return kind_; }  // "tp_btf" or "raw_tp"
    Status attach();
    void detach();
    bool attached() const { return attached_; }

    // Follow `tid` and, from now on, every task it creates.
    Status follow(pid_t tid);
    // Forget every followed task (the map is emptied).
    void forget_all();

    // Every event since the last drain, in ring-buffer order.
    std::vector<ctb_event> drain();
    // Kernel stack (innermost first) for a stack id of a SWITCH_OUT event; empty if evicted.
    std::vector<std::uint64_t> stack(int id) const;

    std::uint64_t events_seen() const;
    std::uint64_t events_lost() const;

private:
    StartTracer() = default;
    static int on_event(void* self, void* data, std::size_t size);

    start_trace* skel_ = nullptr;
    ring_buffer* ring_ = nullptr;
    std::string kind_;
    bool attached_ = false;
    std::vector<bpf_link*> links_;
    std::vector<ctb_event> pending_;
};

// Names the blocking point of each stack id of a tracer (bpf/ksyms.hpp), once per id: the
// labeller TraceSeries::add wants.
class StackLabels {
public:
    StackLabels(const StartTracer& tracer, const KernelSymbols& symbols) : tracer_(tracer), symbols_(symbols) {}
    std::string operator()(int id);

private:
    const StartTracer& tracer_;
    const KernelSymbols& symbols_;
    std::map<int, std::string> names_;
};

}  // namespace ctb::bpf
