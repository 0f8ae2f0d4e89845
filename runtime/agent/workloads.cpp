// Workloads that push against a limit or show progress: memory (alloc), pids (fork), cpu (spin),
// freezer (count).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "agent.hpp"

namespace agent {
namespace {

constexpr std::size_t kMiB = 1 << 20;

// Writes one byte per page so every page is really backed (and charged to the cgroup); a nonzero
// value keeps the kernel from sharing the zero page.
void touch_pages(char* p, std::size_t bytes) {
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    for (std::size_t off = 0; off < bytes; off += page) p[off] = 1;
}

double cpu_seconds() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    auto sec = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; };
    return sec(ru.ru_utime) + sec(ru.ru_stime);
}

// Reaps every child; EINTR does not end the wait, ECHILD does.
void reap_all() {
    while (true) {
        pid_t r = ::waitpid(-1, nullptr, 0);
        if (r < 0 && errno != EINTR) return;
    }
}

}  // namespace

int cmd_alloc(const Args& args) {
    const auto total = static_cast<std::size_t>(parse_int("MIB", args.pos[0], 1, 1 << 20));
    auto step_opt = args.value("step");
    const auto step = static_cast<std::size_t>(step_opt ? parse_int("--step", *step_opt, 1, 1 << 20) : 16);
    const double hold = seconds_option(args, "hold", 0);

    // Mappings are kept until exit: the point is to hold the memory, and the OOM killer (observed by
    // the parent) is the expected end when the limit is lower than MIB.
    std::size_t done = 0;
    while (done < total) {
        std::size_t mib = std::min(step, total - done);
        void* p = ::mmap(nullptr, mib * kMiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            int err = errno;
            std::fprintf(stderr, "alloc: mmap of %zu MiB after %zu MiB: %s\n", mib, done, errno_name(err).c_str());
            emit({{"ok", false}, {"allocated_mib", done}, {"requested_mib", total}, {"errno_name", errno_name(err)}});
            return 1;
        }
        touch_pages(static_cast<char*>(p), mib * kMiB);
        done += mib;
        std::fprintf(stderr, "alloc: %zu MiB\n", done);
    }
    sleep_seconds(hold);
    emit({{"ok", true}, {"allocated_mib", done}, {"requested_mib", total}, {"errno_name", nullptr}});
    return 0;
}

int cmd_fork(const Args& args) {
    const auto requested = parse_int("N", args.pos[0], 0, 1 << 20);
    const double hold = seconds_option(args, "hold", 0);

    // Children block on the pipe until we close its write end, so all of them are alive at once
    // (that is what a pids limit counts) and none outlives us even if we are killed.
    int gate[2];
    if (::pipe2(gate, O_CLOEXEC) != 0) throw SysError("pipe2", errno);
    long long created = 0;
    int first_error = 0;
    for (; created < requested; ++created) {
        pid_t pid = ::fork();
        if (pid == 0) {
            ::close(gate[1]);
            char c;
            while (::read(gate[0], &c, 1) < 0 && errno == EINTR) {
            }
            ::_exit(0);
        }
        if (pid < 0) {
            first_error = errno;
            break;
        }
    }
    ::close(gate[0]);
    emit({{"ok", first_error == 0}, {"requested", requested}, {"created", created},
          {"first_error_errno", first_error == 0 ? json(nullptr) : json(first_error)},
          {"first_error", first_error == 0 ? json(nullptr) : json(errno_name(first_error))}});
    sleep_seconds(hold);
    ::close(gate[1]);
    reap_all();
    return first_error == 0 ? 0 : 1;
}

int cmd_spin(const Args& args) {
    const double seconds = parse_seconds("SECONDS", args.pos[0]);
    const double cpu0 = cpu_seconds();
    const double start = monotonic_now();
    volatile unsigned long sink = 0;  // keeps the loop from being optimised away
    while (monotonic_now() - start < seconds)
        for (int i = 0; i < 10000; ++i) sink = sink + 1;
    emit({{"wall_s", monotonic_now() - start}, {"cpu_s", cpu_seconds() - cpu0}});
    return 0;
}

int cmd_count(const Args& args) {
    const double seconds = parse_seconds("SECONDS", args.pos[0]);
    // Counts loop turns as fast as it can, so a frozen (or throttled) cgroup shows as a stalled counter.
    const double start = monotonic_now();
    double next_sample = start + 0.1;
    unsigned long long count = 0;
    while (true) {
        ++count;
        double now = monotonic_now();
        bool done = now - start >= seconds;
        if (now >= next_sample || done) {
            emit({{"count", count}, {"elapsed_s", now - start}});
            next_sample = now + 0.1;
        }
        if (done) return 0;
    }
}

}  // namespace agent
