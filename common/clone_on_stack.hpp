// clone3 with a stack of the caller's choosing, for children that share the caller's memory
// (CLONE_VM): glibc has no clone3 wrapper that runs a function, and syscall(2) cannot be used
// because the child would return through the parent's stack. Users: the container init that
// shares the runtime's memory (runtime/container/shared_init.hpp) and the start bench's minimal
// container.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace ctb {

// clone3(flags) with the child running fn(arg) on [stack_low, stack_low + stack_size): for
// CLONE_VM, where the child must not use our stack. The child never returns from fn (it exits
// 127 if fn does). CLONE_INTO_CGROUP is added for cgroup_fd. -errno on failure (no child then);
// -ENOSYS off x86-64, whose trampoline is the only one written.
long clone3_on_stack(std::uint64_t flags, std::optional<int> cgroup_fd, void* stack_low, std::size_t stack_size,
                     void (*fn)(void*), void* arg);
// struct clone_args of <linux/sched.h>, declared here because that header clashes with <sched.h>.
struct CloneArgs {
    std::uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
        set_tid_size, cgroup;
};
constexpr std::uint64_t kCloneIntoCgroup = 0x200000000ULL;    // CLONE_INTO_CGROUP (5.7)
constexpr std::uint64_t kCloneVm = 0x00000100ULL;              // CLONE_VM
constexpr std::uint64_t kCloneVfork = 0x00004000ULL;           // CLONE_VFORK
constexpr std::uint64_t kCloneClearSighand = 0x100000000ULL;  // CLONE_CLEAR_SIGHAND (5.5)

}  // namespace ctb
