// Kernel symbols from /proc/kallsyms, for naming where a traced task blocked (the kernel stacks
// the start tracer captures at each blocking switch-out).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ctb::bpf {

class KernelSymbols {
public:
    // Reads /proc/kallsyms (root sees real addresses; otherwise every address is 0 and lookups
    // return "").
    static KernelSymbols load();
    // Name of the function containing `addr`, "" if unknown.
    std::string name(std::uint64_t addr) const;
    bool empty() const { return syms_.empty(); }

private:
    struct Sym {
        std::uint64_t addr;
        std::string name;
    };
    std::vector<Sym> syms_;
};

// The blocking point of a kernel stack (innermost first): the first frames below the scheduler
// and generic sleep primitives, "caller < callee" style: "synchronize_rcu < rcu_sync_enter < ...".
std::string blocking_point(const std::vector<std::uint64_t>& stack, const KernelSymbols& syms, int frames = 3);

}  // namespace ctb::bpf
