#include "common/clone_on_stack.hpp"

#include <signal.h>
#include <sys/syscall.h>

#include <cerrno>

namespace ctb {
long clone3_on_stack(std::uint64_t flags, std::optional<int> cgroup_fd, void* stack_low, std::size_t stack_size,
                     void (*fn)(void*), void* arg) {
#if defined(__x86_64__)
    CloneArgs args{};
    args.flags = flags;
    args.exit_signal = SIGCHLD;
    args.stack = reinterpret_cast<std::uint64_t>(stack_low);
    args.stack_size = stack_size;
    if (cgroup_fd) {
        args.flags |= kCloneIntoCgroup;
        args.cgroup = static_cast<std::uint64_t>(*cgroup_fd);
    }
    // The child starts after the syscall instruction on the new stack, with every register but
    // rax, rcx and r11 as the parent had them: fn and arg travel in r12 and r13. It never
    // returns through this frame (the parent's stack is not its own).
    long ret;
    register void (*r12)(void*) asm("r12") = fn;
    register void* r13 asm("r13") = arg;
    asm volatile(
        "syscall\n\t"
        "testq %%rax, %%rax\n\t"
        "jnz 1f\n\t"
        "xorl %%ebp, %%ebp\n\t"
        "movq %%r13, %%rdi\n\t"
        "callq *%%r12\n\t"
        "movl $127, %%edi\n\t"
        "movl $60, %%eax\n\t"  // SYS_exit, should fn ever return
        "syscall\n\t"
        "hlt\n\t"
        "1:\n\t"
        : "=a"(ret)
        : "0"(static_cast<long>(SYS_clone3)), "D"(&args), "S"(sizeof args), "r"(r12), "r"(r13)
        : "rcx", "r11", "memory");
    return ret;
#else
    (void)flags, (void)cgroup_fd, (void)stack_low, (void)stack_size, (void)fn, (void)arg;
    return -ENOSYS;
#endif
}

}  // namespace ctb
