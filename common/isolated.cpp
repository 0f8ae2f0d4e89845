#include "common/isolated.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <exception>
#include <fmt/format.h>
#include <optional>
#include <set>

#include "common/child.hpp"
#include "common/deadline.hpp"
#include "common/proc.hpp"

namespace ctb {
namespace {

// This process's children (live or zombie), from /proc.
std::set<pid_t> own_children() {
    std::set<pid_t> out;
    pid_t self = ::getpid();
    DIR* proc = ::opendir("/proc");
    if (!proc) return out;
    while (dirent* e = ::readdir(proc)) {
        char* end = nullptr;
        long pid = std::strtol(e->d_name, &end, 10);
        if (pid <= 0 || *end != '\0') continue;
        auto st = read_proc_stat(static_cast<pid_t>(pid));
        if (st && st->ppid == self) out.insert(static_cast<pid_t>(pid));
    }
    ::closedir(proc);
    return out;
}

// The body child writes its pid here (a page shared across fork) before the body starts, so the
// SIGCHLD handler can leave that one child to run_in_child and reap only adopted processes.
volatile sig_atomic_t* g_body_child = nullptr;

// Reaps adopted children as they die, so that code waiting for an orphan to disappear (e.g. a
// userland proxy being stopped) is not kept waiting by a zombie of ours. Async-signal-safe.
void reap_adopted(int) {
    int saved = errno;
    for (volatile sig_atomic_t* child = g_body_child; child && *child > 0;) {
        siginfo_t si{};
        if (::waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) != 0 || si.si_pid == 0) break;
        if (si.si_pid == *child) break;  // run_in_child collects its own child
        ::waitpid(si.si_pid, nullptr, WNOHANG);
    }
    errno = saved;
}

// For the life of one body: this process is a child subreaper (what the body child leaves running
// when it dies is reparented here, not to init, so it can be found and killed) and reaps those
// orphans as they exit.
class AdoptionScope {
public:
    AdoptionScope() {
        void* page = ::mmap(nullptr, sizeof(sig_atomic_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (page != MAP_FAILED) {
            page_ = page;
            g_body_child = static_cast<volatile sig_atomic_t*>(page);
            *g_body_child = 0;
            struct sigaction sa {};
            sa.sa_handler = reap_adopted;
            sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
            sigemptyset(&sa.sa_mask);
            handler_ = ::sigaction(SIGCHLD, &sa, &previous_) == 0;
        }
        ::prctl(PR_GET_CHILD_SUBREAPER, &was_subreaper_, 0UL, 0UL, 0UL);
        ::prctl(PR_SET_CHILD_SUBREAPER, 1UL, 0UL, 0UL, 0UL);
    }
    ~AdoptionScope() {
        ::prctl(PR_SET_CHILD_SUBREAPER, static_cast<unsigned long>(was_subreaper_), 0UL, 0UL, 0UL);
        if (handler_) ::sigaction(SIGCHLD, &previous_, nullptr);
        g_body_child = nullptr;
        if (page_) ::munmap(page_, sizeof(sig_atomic_t));
    }
    AdoptionScope(const AdoptionScope&) = delete;
    AdoptionScope& operator=(const AdoptionScope&) = delete;

    // First thing in the body child: SIGCHLD back to default (its children are its own business:
    // the handler would steal their exit status) and tell the parent's handler who it is.
    static void enter_body_child() {
        ::signal(SIGCHLD, SIG_DFL);
        if (g_body_child) *g_body_child = ::getpid();
    }

private:
    void* page_ = nullptr;
    bool handler_ = false;
    struct sigaction previous_ {};
    int was_subreaper_ = 0;
};

// Kills (by pid) and reaps every child of ours that was not there before the body: what the dead
// body child left, reparented here. Their children are reparented here in turn, hence the loop.
// Processes that were already zombies are reaped but not reported: nothing was left running.
void kill_adopted(const std::set<pid_t>& before, std::set<pid_t>& killed, std::vector<std::string>& swept,
                  std::chrono::milliseconds budget) {
    retry_until(Deadline(budget), [&] {
        bool any = false;
        for (pid_t pid : own_children()) {
            if (before.contains(pid)) continue;
            any = true;
            if (killed.insert(pid).second) {
                auto st = read_proc_stat(pid);
                if (st && st->state != 'Z') {
                    bool sent = ::kill(pid, SIGKILL) == 0 || errno == ESRCH;  // our own child, by pid
                    swept.push_back(fmt::format("process {} ({}){}", pid, st->comm, sent ? "" : ": " + errno_name(errno)));
                }
            }
            ::waitpid(pid, nullptr, WNOHANG);
        }
        return !any;
    });
}

std::optional<pid_t> process_entry_pid(const std::string& entry) {
    if (!entry.starts_with("process ")) return std::nullopt;
    char* end = nullptr;
    long pid = std::strtol(entry.c_str() + 8, &end, 10);
    if (pid <= 0 || (*end != '\0' && *end != ' ' && *end != ':')) return std::nullopt;
    return static_cast<pid_t>(pid);
}

// The body ended without delivering (and, unless an exception unwound it, without cleaning up):
// kill what it left running, let the caller sweep its host objects, then kill and reap whatever
// that released.
std::vector<std::string> sweep_after(const std::set<pid_t>& before,
                                     const std::function<std::vector<std::string>()>& sweep) {
    std::vector<std::string> swept;
    std::set<pid_t> killed;
    kill_adopted(before, killed, swept, std::chrono::milliseconds(500));
    std::vector<std::string> removed;
    if (sweep) {
        try {
            removed = sweep();
        } catch (const std::exception& e) {
            removed.push_back(std::string("sweep (interrupted): ") + e.what());
        }
    }
    for (auto& entry : removed) {
        // A process killed above (a frozen one lingers until the sweep thaws it) is listed once.
        auto pid = process_entry_pid(entry);
        if (pid && !killed.insert(*pid).second) continue;
        swept.push_back(std::move(entry));
    }
    kill_adopted(before, killed, swept, std::chrono::seconds(5));
    return swept;
}

}  // namespace

IsolatedRun run_isolated(const std::function<std::string()>& body, std::chrono::milliseconds timeout,
                         const std::function<std::vector<std::string>()>& sweep) {
    std::set<pid_t> before = own_children();
    IsolatedRun run{fail(plain_error("run", "isolated body", "not started")), {}};
    {
        AdoptionScope adoption;
        run.output = run_in_child(
            [&] {
                AdoptionScope::enter_body_child();
                return body();
            },
            timeout);
        if (!run.output) run.swept = sweep_after(before, sweep);
    }
    // Orphans of a body that ended normally are left alone, but their zombies are reaped.
    for (pid_t pid : own_children())
        if (!before.contains(pid)) ::waitpid(pid, nullptr, WNOHANG);
    return run;
}

std::string summarize_swept(const std::vector<std::string>& swept) {
    std::vector<std::pair<std::string, int>> counts;
    int failed = 0;
    for (const auto& s : swept) {
        std::string kind = s.substr(0, s.find(' '));
        auto it = std::find_if(counts.begin(), counts.end(), [&](const auto& c) { return c.first == kind; });
        if (it == counts.end()) counts.emplace_back(kind, 1);
        else ++it->second;
        if (s.find(": ") != std::string::npos) ++failed;
    }
    std::string out;
    for (const auto& [kind, n] : counts) {
        if (!out.empty()) out += ", ";
        out += fmt::format("{} {}{}", n, kind, n == 1 ? "" : kind.ends_with('s') ? "es" : "s");
    }
    if (failed > 0) out += fmt::format(" ({} could not be removed)", failed);
    return out;
}

}  // namespace ctb
