#include "bpf/attribution.hpp"

#include <sys/syscall.h>
#include <time.h>

#include <algorithm>
#include <fmt/format.h>
#include <limits>
#include <unordered_map>

namespace ctb::bpf {
namespace {

constexpr unsigned kTaskDead = 0x80;
constexpr unsigned kTaskInterruptible = 0x1;
constexpr unsigned kTaskUninterruptible = 0x2;

// Time spent inside the current system call, held until the call ends: what happens during it
// (a cgroup tracepoint, the clone flags, the file an openat returned) decides its phase.
struct PendingCall {
    long nr = -1;
    Phase phase = Phase::runtime_syscalls;
    std::string ns_label;  // "clone3(pid,net)" when the call creates or joins namespaces
    Bucket time;
};

struct Task {
    bool known = false;  // a state was seen (or assumed, for the root)
    bool alive = true;
    bool on_cpu = false;
    unsigned off_state = 0;  // prev_state of the last switch-out (0: preempted, still runnable)
    int stack = -1;          // kernel stack of the last blocking switch-out
    bool container = false;  // after the exec of the container's process (inherited by children)
    bool startup = false;    // a runtime binary's exec until its first non-loader call
    PendingCall call;        // call.nr < 0: in user space
};

class Attributor {
public:
    explicit Attributor(const Window& w) : w_(w) { out_.window_ns = double(w.end_ns - w.begin_ns); }

    Attribution run(std::vector<ctb_event>& events) {
        std::stable_sort(events.begin(), events.end(), [](const ctb_event& a, const ctb_event& b) { return a.ts < b.ts; });
        root_level_ = root_level(events);
        std::uint64_t now = 0;
        bool started = false;
        for (const auto& e : events) {
            if (e.ts > w_.end_ns) break;
            if (!started && e.ts >= w_.begin_ns) {
                start_window();
                started = true;
                now = w_.begin_ns;
            }
            if (started) {
                spend(now, e.ts);
                now = e.ts;
                ++out_.events;
            }
            apply(e);
        }
        if (!started) {
            start_window();
            now = w_.begin_ns;
        }
        spend(now, w_.end_ns);
        for (auto& [tid, t] : tasks_) commit(t);
        out_.tasks = static_cast<int>(seen_in_window_.size());
        return std::move(out_);
    }

private:
    // The traced root's pid namespace level: the shallowest level any traced task is at.
    std::uint32_t root_level(const std::vector<ctb_event>& events) const {
        std::uint32_t level = std::numeric_limits<std::uint32_t>::max();
        for (const auto& e : events)
            if (e.tid == w_.root_tid) level = std::min(level, e.pidns_level);
        if (level == std::numeric_limits<std::uint32_t>::max())
            for (const auto& e : events) level = std::min(level, e.pidns_level);
        return level == std::numeric_limits<std::uint32_t>::max() ? 0 : level;
    }

    // The root is timing the sample: on-CPU, in user space, at the window's first instant.
    void start_window() {
        Task& root = task(w_.root_tid);
        root.known = true;
        root.alive = true;
        root.on_cpu = true;
        seen_in_window_[w_.root_tid] = true;
    }

    Task& task(std::uint32_t tid) {
        return tasks_[tid];
    }

    // ---- events -----------------------------------------------------------------------------

    void apply(const ctb_event& e) {
        if (e.ts >= w_.begin_ns) seen_in_window_[e.tid] = true;
        Task& t = task(e.tid);
        switch (e.kind) {
            case CTB_EV_SYS_ENTER: enter(t, e); break;
            case CTB_EV_SYS_EXIT: leave(t, e); break;
            case CTB_EV_SWITCH_OUT:
                t.known = true;
                t.on_cpu = false;
                t.off_state = static_cast<unsigned>(e.arg0);
                t.stack = e.stack_id;
                if (t.off_state & kTaskDead) {
                    commit(t);
                    t.alive = false;
                }
                break;
            case CTB_EV_SWITCH_IN:
                t.known = true;
                t.alive = true;
                t.on_cpu = true;
                break;
            case CTB_EV_FORK: fork(t, e); break;
            case CTB_EV_EXEC:
                t.known = true;
                t.on_cpu = true;
                if (e.pidns_level > root_level_) t.container = true;
                break;
            case CTB_EV_CGROUP:
                if (t.call.nr >= 0) t.call.phase = Phase::cgroups;
                break;
            default: break;
        }
    }

    void enter(Task& t, const ctb_event& e) {
        t.known = true;
        t.alive = true;
        t.on_cpu = true;
        commit(t);  // a call we never saw end (e.g. a lost exit) is closed here
        if (t.startup && !startup_syscall(e.nr)) t.startup = false;
        t.call = PendingCall{e.nr, syscall_phase(e.nr), {}, {}};
        refine_at_enter(t, e);
    }

    void refine_at_enter(Task& t, const ctb_event& e) {
        PendingCall& c = t.call;
        if (is_exec(e.nr) && e.pidns_level <= root_level_) {
            t.startup = true;  // a runtime binary (or helper) starting: the loader follows
            c.phase = Phase::startup;
        } else if (e.nr == SYS_clone && has_namespace_flags(e.arg0)) {
            mark_namespaces(c, "clone", e.arg0);
        } else if (e.nr == SYS_unshare) {
            mark_namespaces(c, "unshare", e.arg0);
        } else if (e.nr == SYS_setns) {
            mark_namespaces(c, "setns", e.arg1);
        } else if (e.nr == SYS_socket && e.arg0 == kAfNetlink) {
            c.phase = Phase::network;
        }
        refine_by_file(c, e.file);
        if (t.startup) c.phase = Phase::startup;  // still a loader call (enter() ended startup otherwise)
    }

    static void mark_namespaces(PendingCall& c, const char* call, std::uint64_t flags) {
        c.phase = Phase::namespaces;
        std::string kinds = namespace_flags_text(flags);
        c.ns_label = fmt::format("{}({})", call, kinds.empty() ? "any" : kinds);
    }

    static void refine_by_file(PendingCall& c, const ctb_file_info& f) {
        if (f.fs_magic == kCgroupMagic || f.fs_magic == kCgroup2Magic) c.phase = Phase::cgroups;
        else if (f.sock_family == kAfNetlink) c.phase = Phase::network;
    }

    void leave(Task& t, const ctb_event& e) {
        t.known = true;
        t.on_cpu = true;
        if (t.call.nr != e.nr) return;  // a fork child's first return, or an enter we did not see
        refine_by_file(t.call, e.file);
        commit(t);
    }

    void fork(Task& parent, const ctb_event& e) {
        auto child_tid = static_cast<std::uint32_t>(e.arg0);
        if (parent.call.nr >= 0 && is_clone(parent.call.nr)) {
            if (has_namespace_flags(e.arg1)) mark_namespaces(parent.call, parent.call.nr == SYS_clone3 ? "clone3" : "clone", e.arg1);
            else if (parent.call.phase == Phase::namespaces) parent.call.phase = Phase::process;
        }
        bool container = parent.container;
        Task& child = task(child_tid);  // may rehash: `parent` is not used below
        child = Task{};
        child.known = true;
        child.container = container;  // a new task is runnable, not yet on a CPU
        if (e.ts >= w_.begin_ns) seen_in_window_[child_tid] = true;
    }

    // ---- time -------------------------------------------------------------------------------

    void commit(Task& t) {
        if (t.call.nr < 0) return;
        Phase p = t.call.phase;
        if (t.container && p != Phase::exec) p = Phase::container;
        add(out_.phases[p], t.call.time);
        if (p == Phase::namespaces && !t.call.ns_label.empty()) out_.namespace_ops[t.call.ns_label] += t.call.time.total();
        if (p == Phase::runtime_syscalls) out_.runtime_calls[syscall_name(t.call.nr)] += t.call.time.total();
        t.call = PendingCall{};
    }

    static void add(Bucket& into, const Bucket& from) {
        into.on_cpu_ns += from.on_cpu_ns;
        into.blocked_ns += from.blocked_ns;
        for (const auto& [stack, ns] : from.blocked_by_stack) into.blocked_by_stack[stack] += ns;
    }

    // 3: on a CPU; 2: off it in real work (or preempted); 1: blocked waiting for another task.
    static int rank(const Task& t) {
        if (t.on_cpu) return 3;
        if (t.off_state == 0) return 2;
        if (t.call.nr >= 0 && waits_for_others(t.call.nr)) return 1;
        return 2;
    }

    std::string blocked_reason(const Task& t) const {
        if (t.off_state == 0) return "preempted";
        if (t.off_state & kTaskUninterruptible) return "uninterruptible";
        if (t.off_state & kTaskInterruptible) return "sleep";
        return fmt::format("state {:#x}", t.off_state);
    }

    void spend(std::uint64_t from, std::uint64_t to) {
        from = std::max(from, w_.begin_ns);
        to = std::min(to, w_.end_ns);
        if (to <= from) return;
        double span = double(to - from);
        int best = 0;
        std::vector<Task*> holders;
        for (auto& [tid, t] : tasks_) {
            if (!t.known || !t.alive) continue;
            int r = rank(t);
            if (r > best) {
                best = r;
                holders.clear();
            }
            if (r == best) holders.push_back(&t);
        }
        if (holders.empty()) {
            out_.unattributed_ns += span;
            return;
        }
        double share = span / double(holders.size());
        for (Task* t : holders) charge(*t, share);
    }

    void charge(Task& t, double ns) {
        Bucket slice;
        if (t.on_cpu) slice.on_cpu_ns = ns;
        else {
            slice.blocked_ns = ns;
            slice.blocked_by_stack[t.off_state == 0 ? -1 : t.stack] = ns;
            out_.blocked_reasons[blocked_reason(t)] += ns;
        }
        if (t.call.nr >= 0) {
            add(t.call.time, slice);
            return;
        }
        Phase p = t.container ? Phase::container : t.startup ? Phase::startup : Phase::runtime_user;
        add(out_.phases[p], slice);
    }

    Window w_;
    Attribution out_;
    std::unordered_map<std::uint32_t, Task> tasks_;
    std::map<std::uint32_t, bool> seen_in_window_;
    std::uint32_t root_level_ = 0;
};

}  // namespace

std::uint64_t monotonic_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::uint64_t(ts.tv_sec) * 1'000'000'000ull + std::uint64_t(ts.tv_nsec);
}

double Attribution::attributed_ns() const {
    double sum = 0;
    for (const auto& [p, b] : phases) sum += b.total();
    return sum;
}

Attribution attribute(std::vector<ctb_event> events, const Window& window) {
    return Attributor(window).run(events);
}

}  // namespace ctb::bpf
