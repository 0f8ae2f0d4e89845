#include "bpf/ksyms.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>

namespace ctb::bpf {
namespace {

// Frames of the tracer itself (the stack is taken inside sched_switch) and frames that say
// "this task slept", not why: skipped to reach the function that decided to wait.
bool generic_sleep_frame(const std::string& fn) {
    static const std::array<const char*, 21> prefixes{
        "bpf_", "__bpf_", "__traceiter_", "trace_", "perf_", "__schedule", "schedule", "preempt_schedule", "io_schedule", "__wait_for_common", "wait_for_completion",
        "__cond_resched", "__mutex_lock", "mutex_lock", "rwsem_down_", "__down", "do_wait_for_common",
        "__wait_on_bit", "out_of_line_wait_on_bit", "bit_wait", "percpu_rwsem_wait"};
    return std::any_of(prefixes.begin(), prefixes.end(), [&](const char* p) { return fn.starts_with(p); });
}

}  // namespace

KernelSymbols KernelSymbols::load() {
    KernelSymbols k;
    std::ifstream in("/proc/kallsyms");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string addr, type, name;
        if (!(fields >> addr >> type >> name)) continue;
        if (type != "t" && type != "T" && type != "w" && type != "W") continue;
        std::uint64_t a = std::stoull(addr, nullptr, 16);
        if (a == 0) continue;  // addresses hidden (kptr_restrict): no symbolization
        k.syms_.push_back({a, name});
    }
    std::sort(k.syms_.begin(), k.syms_.end(), [](const Sym& a, const Sym& b) { return a.addr < b.addr; });
    return k;
}

std::string KernelSymbols::name(std::uint64_t addr) const {
    auto it = std::upper_bound(syms_.begin(), syms_.end(), addr, [](std::uint64_t a, const Sym& s) { return a < s.addr; });
    if (it == syms_.begin()) return {};
    return std::prev(it)->name;
}

std::string blocking_point(const std::vector<std::uint64_t>& stack, const KernelSymbols& syms, int frames) {
    std::string out;
    int taken = 0;
    bool past_scheduler = false;
    for (std::uint64_t addr : stack) {
        if (addr == 0) break;
        std::string fn = syms.name(addr);
        if (fn.empty()) fn.assign(1, '?');
        if (!past_scheduler && generic_sleep_frame(fn)) continue;
        past_scheduler = true;
        if (!out.empty()) out += " < ";
        out += fn;
        if (++taken == frames) break;
    }
    return out.empty() ? "scheduler" : out;
}

}  // namespace ctb::bpf
