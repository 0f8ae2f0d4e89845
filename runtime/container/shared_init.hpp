// An init that shares the creating process's memory (clone3 with CLONE_VM) instead of getting a
// copy of it. The copy is what a plain clone costs beyond the container: the creator's page
// tables copied and write-protected, copy-on-write faults on both sides while the init sets up,
// and the copy torn down again at exec. Measured in ctbench-start-helper (a small process),
// that was 0.7 ms of a 6 ms minimal container; from a large process it is more than the whole
// container. The init still has everything else of its own (files, fs, signal handlers, creds).
//
// Sharing is safe only under three rules, kept by init.cpp and create.cpp:
//  1. Until "ready" the creator waits in a system call and touches no memory
//     (await_shared_ready): the init may allocate, and frees all it allocated before it
//     announces "ready" with a fixed message.
//  2. After "ready" the init makes system calls only, on its SharedExecPlan, which lives in a
//     mapping of its own (never the creator's heap or stack), until it execs or exits; an error
//     there is formatted on the stack.
//  3. The creator unmaps (or reuses) that mapping only once the init has exec'd or is gone
//     (start, wait, a failed create's rollback); a creator that leaves earlier (the CLI's
//     `create`) leaves it mapped for the init.
// Where the creator has work between clone and "ready" (id mappings, hooks, a console, a seccomp
// listener) or the init after it (startContainer hooks, a seccomp filter to load last), the init
// gets its own copy as before: shared_init_eligible says which.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "common/clone_on_stack.hpp"
#include "common/error.hpp"
#include "runtime/namespaces.hpp"
#include "runtime/spec/spec.hpp"

namespace ctb::container {

// What the init needs after "ready", written by the init itself before it (rule 2). Strings
// point into `strings`, in the same mapping.
struct SharedExecPlan {
    int sync_fd = -1;
    int exec_fifo_fd = -1;  // O_PATH descriptor of exec.fifo; -1: started at once
    char fifo_path[64] = {};  // "/proc/self/fd/N", reopened for writing: the wait for start
    const char* path = nullptr;  // the resolved executable
    char** argv = nullptr;
    char** envp = nullptr;
    char strings[1];  // the path, then argv and envp's pointer arrays and their strings (sized by map)
};

// The mapping: the init's stack, then its SharedExecPlan. Unmapped on destruction only when
// init_done() was called (rule 3); one such mapping is kept for the next init instead.
class SharedInitMemory {
public:
    // Sized for this process's strings; fails (no sharing then) when they cannot fit.
    static Result<std::unique_ptr<SharedInitMemory>> map(const spec::Process& process);
    ~SharedInitMemory();
    SharedInitMemory(const SharedInitMemory&) = delete;
    SharedInitMemory& operator=(const SharedInitMemory&) = delete;

    SharedExecPlan* plan() const { return plan_; }
    void* stack_low() const { return base_; }
    std::size_t stack_size() const { return stack_size_; }
    // The init has exec'd or is gone: the mapping may go, and once no init shares our memory any
    // more, the creator's dumpable setting (which the init cleared for the memory) comes back.
    void init_done();

private:
    SharedInitMemory() = default;
    void* base_ = nullptr;
    std::size_t length_ = 0, stack_size_ = 0;
    SharedExecPlan* plan_ = nullptr;
    bool init_done_ = false;
};

// Whether this container's init may share memory with us (the rules above, the host, and
// CTBENCH_INIT_COPY unset: that variable forces the copy, for A/B comparisons).
bool shared_init_eligible(const spec::Spec& spec, const ns::Plan& plan, bool await_go, bool idmapped_mounts);

// Rule 1 on the creator's side. Ready: ready=true. The init sent something else (its error):
// waits for it to be gone (not reaped), then returns the text; gone without a word: "".
// Timeout: kills and reaps it before anything is allocated, then reports.
struct SharedReadyOutcome {
    bool ready = false;
    std::string message;  // its last message when not ready
};
Result<SharedReadyOutcome> await_shared_ready(int sync_fd, pid_t init, std::chrono::milliseconds timeout);

// In the init (rule 1): the fixed "ready" message, sent with nothing left allocated.
void announce_ready(int sync_fd);

// In the init (rule 2): fills the plan from the process (allocation-free reads of `process`).
void store_exec_plan(SharedExecPlan& plan, const std::string& executable, const spec::Process& process,
                     int sync_fd, int exec_fifo_fd);

// In the init (rule 2): waits for start (the fifo), execs. Errors go to `start` through the fifo
// and the sync channel, and to stderr, formatted on the stack.
[[noreturn]] void exec_when_started(const SharedExecPlan& plan);

}  // namespace ctb::container
