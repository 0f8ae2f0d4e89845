#include "runtime/container/shared_init.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/single_threaded.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <utility>

namespace ctb::container {
namespace {

// The init's whole setup (JSON, fmt, nested mounts) runs on this stack: 1 MiB of address space,
// of which only the pages touched are allocated (12 KiB here); a guard page below catches an
// overflow.
constexpr std::size_t kStackBytes = 1 << 20;
constexpr std::size_t kGuardBytes = 4096;
constexpr char kReady[] = R"({"ready":true})";

// Inits that share our memory and have not exec'd or gone yet. The first one's init makes the
// memory non-dumpable (its protection while it holds the runtime's state); the creator's own
// setting, saved when the first was mapped, comes back once the last has left the memory.
std::atomic<int> g_sharing_inits{0};
std::atomic<int> g_creator_dumpable{-1};

void count_sharing_init() {
    int dumpable = ::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
    if (g_sharing_inits.fetch_add(1) == 0) g_creator_dumpable.store(dumpable);
}

void uncount_sharing_init() {
    if (g_sharing_inits.fetch_sub(1) != 1) return;  // another init still shares the memory
    int dumpable = g_creator_dumpable.exchange(-1);
    // PR_SET_DUMPABLE takes 0 or 1 only; a creator that was 2 (suid_dumpable) stays at 0.
    if (dumpable == 0 || dumpable == 1) ::prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0);
}

std::size_t page_round(std::size_t n) { return (n + 4095) & ~std::size_t{4095}; }

// One mapping kept, once its init has left it, for the next init. A fresh one costs mmap and
// mprotect, faults that zero the pages the init touches, and at munmap a TLB-flush IPI to the
// CPU the init ran on (perf: flush_tlb_mm_range under munmap, once per library start). Nothing
// in it is read before it is written: the plan is constructed anew and its strings copied in.
struct Mapping {
    void* base = nullptr;  // the guard page's address
    std::size_t length = 0;
};
std::mutex g_spare_lock;
Mapping g_spare;

// A mapping of at least `length` bytes whose first page is the PROT_NONE guard.
Result<Mapping> take_mapping(std::size_t length) {
    {
        std::lock_guard hold(g_spare_lock);
        if (g_spare.base && g_spare.length >= length) return std::exchange(g_spare, Mapping{});
    }
    void* base = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) return fail(sys_error("mmap", "the container init's stack"));
    if (::mprotect(base, kGuardBytes, PROT_NONE) != 0) {
        ::munmap(base, length);
        return fail(sys_error("mprotect", "the container init's stack guard"));
    }
    return Mapping{base, length};
}

void give_back(Mapping m) {
    {
        std::lock_guard hold(g_spare_lock);
        if (!g_spare.base) {
            g_spare = m;
            return;
        }
    }
    ::munmap(m.base, m.length);
}

std::size_t strings_bytes(const spec::Process& p) {
    std::size_t n = 4096 + 2 * sizeof(char*) + 16;  // the path, the arrays' terminators and alignment
    for (const auto& a : p.args) n += a.size() + 1 + sizeof(char*);
    for (const auto& e : p.env) n += e.size() + 1 + sizeof(char*);
    return n;
}

// The rlimits that cannot change what the init does between "ready" and exec (it opens one
// descriptor, writes a byte, execs): applied before "ready" like the rest of the process.
bool rlimits_harmless_before_exec(const std::vector<spec::Rlimit>& limits) {
    for (const auto& l : limits) {
        if (l.type == "RLIMIT_NOFILE" && l.soft >= 64) continue;
        if (l.type == "RLIMIT_NPROC" || l.type == "RLIMIT_CORE") continue;
        return false;
    }
    return true;
}

// The OOM killer kills every process that shares the victim's memory: an init OOM-killed in
// its memory cgroup (a limit it hits during setup) would take us with it.
bool has_memory_limits(const spec::Spec& spec) { return spec.linux.resources && spec.linux.resources->memory; }

bool hooks_for_init(const spec::Hooks& h) {
    return !h.prestart.empty() || !h.create_runtime.empty() || !h.create_container.empty() ||
           !h.start_container.empty();
}

// Appends a JSON string literal of `s` at out[n..cap), as far as it fits.
std::size_t append_json_string(char* out, std::size_t n, std::size_t cap, const char* s) {
    auto put = [&](char c) {
        if (n + 1 < cap) out[n++] = c;
    };
    put('"');
    for (; *s; ++s) {
        unsigned char c = static_cast<unsigned char>(*s);
        if (c == '"' || c == '\\') {
            put('\\');
            put(static_cast<char>(c));
        } else if (c < 0x20) {
            char esc[8];
            std::snprintf(esc, sizeof esc, "\\u%04x", c);
            for (char* e = esc; *e; ++e) put(*e);
        } else {
            put(static_cast<char>(c));
        }
    }
    put('"');
    return n;
}

// die_after_start's message, without an allocation: to the fifo (start reads it), the sync
// channel (the creator's start reads that) and stderr, then exit 127.
[[noreturn]] void report_and_exit(const SharedExecPlan& p, int fifo_fd, const char* step, const char* object, int err) {
    char json[1024];
    auto n = static_cast<std::size_t>(std::snprintf(json, sizeof json, R"({"error":{"step":"%s","object":)", step));
    n = append_json_string(json, n, sizeof json - 48, object);
    n += static_cast<std::size_t>(std::snprintf(json + n, sizeof json - n, R"(,"errno":%d,"detail":""}})", err));
    if (fifo_fd >= 0) {
        [[maybe_unused]] auto w = ::write(fifo_fd, json, n);
    }
    ::send(p.sync_fd, json, n, MSG_NOSIGNAL);
    char line[1024];
    int len = std::snprintf(line, sizeof line, "ctbench-runtime: container init: %s %s: %s (%s)\n", step, object,
                            ::strerrorname_np(err) ? ::strerrorname_np(err) : "?",
                            ::strerrordesc_np(err) ? ::strerrordesc_np(err) : "?");
    if (len > 0) {
        auto bytes = std::min<std::size_t>(static_cast<std::size_t>(len), sizeof line - 1);
        [[maybe_unused]] auto w = ::write(STDERR_FILENO, line, bytes);
    }
    ::_exit(127);
}

}  // namespace

Result<std::unique_ptr<SharedInitMemory>> SharedInitMemory::map(const spec::Process& process) {
    std::size_t strings = strings_bytes(process);
    if (strings > (1 << 20)) return fail(plain_error("share memory with", "the container init", "process too large"));
    std::size_t plan_bytes = page_round(sizeof(SharedExecPlan) + strings);
    auto mapping = take_mapping(kGuardBytes + kStackBytes + plan_bytes);
    if (!mapping) return fail(mapping.error());
    char* base = static_cast<char*>(mapping->base);
    std::unique_ptr<SharedInitMemory> m(new SharedInitMemory);
    m->base_ = base + kGuardBytes;
    m->length_ = mapping->length;
    m->stack_size_ = kStackBytes;
    m->plan_ = new (base + kGuardBytes + kStackBytes) SharedExecPlan;
    count_sharing_init();
    return m;
}

SharedInitMemory::~SharedInitMemory() {
    if (init_done_) give_back(Mapping{static_cast<char*>(base_) - kGuardBytes, length_});
}

void SharedInitMemory::init_done() {
    if (init_done_) return;
    init_done_ = true;
    uncount_sharing_init();
}

bool shared_init_eligible(const spec::Spec& spec, const ns::Plan& plan, bool await_go, bool idmapped_mounts) {
#if defined(__x86_64__)
    const char* forced_copy = std::getenv("CTBENCH_INIT_COPY");
    if (forced_copy && *forced_copy && std::strcmp(forced_copy, "0") != 0) return false;
    // Another thread could allocate while the init does (rule 1), and glibc's set*id would make
    // the init signal our threads to change their credentials too.
    if (!__libc_single_threaded) return false;
    const auto& p = spec.process;
    return !await_go && !idmapped_mounts && plan.new_mount && !plan.new_user && !plan.new_time &&
           plan.pid_path.empty() && !hooks_for_init(spec.hooks) && !p.terminal && !spec.linux.seccomp &&
           p.user.uid == 0 && !p.oom_score_adj && rlimits_harmless_before_exec(p.rlimits) &&
           !has_memory_limits(spec);
#else
    (void)spec, (void)plan, (void)await_go, (void)idmapped_mounts;
    return false;  // clone3_on_stack's trampoline is written for x86-64 only
#endif
}

Result<SharedReadyOutcome> await_shared_ready(int sync_fd, pid_t init, std::chrono::milliseconds timeout) {
    SharedReadyOutcome out;
    pollfd pfd{sync_fd, POLLIN, 0};
    int ready;
    do {
        ready = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
    } while (ready < 0 && errno == EINTR);
    if (ready <= 0) {
        int err = ready < 0 ? errno : 0;
        ::kill(init, SIGKILL);  // our child, by pid; gone before we allocate again
        while (::waitpid(init, nullptr, 0) < 0 && errno == EINTR) {
        }
        if (err != 0) return fail(sys_error("poll", "sync channel", err));
        return fail(plain_error("wait for", "container init",
                                "no answer within " + std::to_string(timeout.count()) + " ms (killed)"));
    }
    char buf[16384];
    ssize_t n;
    do {
        n = ::recv(sync_fd, buf, sizeof buf, 0);
    } while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(sizeof kReady - 1) && std::memcmp(buf, kReady, sizeof kReady - 1) == 0) {
        out.ready = true;
        return out;
    }
    // Its error (or EOF): the init may still be unwinding its allocations; wait for its end of
    // the channel to close (exit), which comes after it has left our memory.
    pollfd hup{sync_fd, POLLRDHUP, 0};
    while (n > 0 && ::poll(&hup, 1, -1) < 0 && errno == EINTR) {
    }
    if (n > 0) out.message.assign(buf, static_cast<std::size_t>(n));
    return out;
}

void announce_ready(int sync_fd) {
    while (::send(sync_fd, kReady, sizeof kReady - 1, MSG_NOSIGNAL) < 0 && errno == EINTR) {
    }
}

void store_exec_plan(SharedExecPlan& plan, const std::string& executable, const spec::Process& process, int sync_fd,
                     int exec_fifo_fd) {
    plan.sync_fd = sync_fd;
    plan.exec_fifo_fd = exec_fifo_fd;
    if (exec_fifo_fd >= 0) std::snprintf(plan.fifo_path, sizeof plan.fifo_path, "/proc/self/fd/%d", exec_fifo_fd);
    auto copy_at = [](char*& at, const std::string& s) {
        char* start = at;
        std::memcpy(at, s.c_str(), s.size() + 1);
        at += s.size() + 1;
        return start;
    };
    char* at = plan.strings;
    plan.path = copy_at(at, executable);
    // The pointer arrays next, aligned, then the strings they point to (map sized it all).
    auto* arrays = reinterpret_cast<char**>((reinterpret_cast<std::uintptr_t>(at) + 15) & ~std::uintptr_t{15});
    at = reinterpret_cast<char*>(arrays + process.args.size() + process.env.size() + 2);
    plan.argv = arrays;
    for (const auto& a : process.args) *arrays++ = copy_at(at, a);
    *arrays++ = nullptr;
    plan.envp = arrays;
    for (const auto& e : process.env) *arrays++ = copy_at(at, e);
    *arrays = nullptr;
}

// Through syscall(2), which the setup used already: a libc function called here for the first
// time would be bound lazily, with the dynamic linker writing into our shared memory.
[[noreturn]] void exec_when_started(const SharedExecPlan& p) {
    int fifo = -1;
    if (p.exec_fifo_fd >= 0) {
        // Blocks until `start` opens the fifo for reading; the byte says we are about to exec,
        // and EOF (close-on-exec) that we did: init.cpp's wait_for_start, on the plan.
        do {
            fifo = static_cast<int>(::syscall(SYS_openat, AT_FDCWD, p.fifo_path, O_WRONLY | O_CLOEXEC, 0));
        } while (fifo < 0 && errno == EINTR);
        if (fifo < 0) report_and_exit(p, -1, "open exec fifo", p.fifo_path, errno);
        ::syscall(SYS_close, p.exec_fifo_fd);
        if (::syscall(SYS_write, fifo, "0", 1) != 1) report_and_exit(p, fifo, "write exec fifo", p.fifo_path, errno);
    }
    ::syscall(SYS_execve, p.path, p.argv, p.envp);
    report_and_exit(p, fifo, "exec", p.argv[0] ? p.argv[0] : p.path, errno);
}

}  // namespace ctb::container
