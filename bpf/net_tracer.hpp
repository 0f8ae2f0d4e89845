// RAII wrapper over the network tracer's skeleton (bpf/net_trace.bpf.c, generated at build time by
// `bpftool gen skeleton`). As StartTracer: open() loads one program kind (tp_btf or raw_tp) and
// never the other; destruction detaches every link and closes every program and map, on every
// path, so bpftool shows nothing of ours afterwards.
//
// Use: open(), watch() each interface of the path under test (by network namespace + ifindex,
// which is what the kernel side filters on) and watch_netns() each namespace whose TCP
// retransmits count, attach(), run the workload, read() the counters; clear() between series.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "bpf/net_trace.h"
#include "common/error.hpp"

struct net_trace;  // the generated skeleton
struct bpf_link;

namespace ctb::bpf {

struct InterfaceCounts {
    std::string label;  // "lo", "ctb0", "eth0@<container>" ... (the caller's name for it)
    std::uint32_t netns = 0;
    int ifindex = 0;
    ctb_net_counts counts{};
};

struct NetSnapshot {
    std::vector<InterfaceCounts> interfaces;
    std::uint64_t tcp_retransmits = 0;  // summed over the watched namespaces
    std::uint64_t events_seen = 0, events_lost = 0;
    // $defs/netTrace of the report schema.
    nlohmann::json summary(const std::string& program_type) const;
};

class NetTracer {
public:
    // `attachable`: program kinds that attach here (from `ctbench doctor`); prefers tp_btf.
    static Result<std::unique_ptr<NetTracer>> open(const std::vector<std::string>& attachable);
    ~NetTracer();
    NetTracer(const NetTracer&) = delete;
    NetTracer& operator=(const NetTracer&) = delete;

    const std::string& program_kind() const { return kind_; }
    Status attach();
    void detach();

    // Counts interface `ifindex` of the network namespace whose inode is `netns`.
    Status watch(const std::string& label, std::uint32_t netns, int ifindex);
    // Counts TCP retransmits of sockets in namespace `netns`.
    Status watch_netns(std::uint32_t netns);
    // Forgets every watched interface and namespace and zeroes the counters.
    void clear();
    NetSnapshot read() const;

private:
    NetTracer() = default;
    Result<std::uint32_t> next_slot();

    net_trace* skel_ = nullptr;
    std::string kind_;
    std::vector<bpf_link*> links_;
    std::vector<std::pair<std::uint32_t, InterfaceCounts>> watched_;  // slot, interface
    std::vector<std::pair<std::uint32_t, std::uint32_t>> ns_slots_;   // slot, netns inode
    std::uint32_t used_ = 0;
};

// The inode of the network namespace at `path` ("/proc/self/ns/net", a pin, /proc/self/fd/N).
Result<std::uint32_t> netns_inode(const std::string& path);

}  // namespace ctb::bpf
