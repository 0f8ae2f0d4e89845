// PID namespaces: the init is PID 1 with no parent, /proc shows only the namespace, orphans go to
// the init, the init's death takes everything with it, the init is shielded from signals it does
// not handle, namespaces nest, and the host's processes cannot be reached from inside.
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <fmt/format.h>

#include "common/deadline.hpp"
#include "common/files.hpp"
#include "conformance/ns/support.hpp"

namespace ctb::conformance::nscase {
namespace {

using namespace std::chrono_literals;

constexpr const char* kPidRef = "pid_namespaces(7); OCI runtime-spec config-linux.md#namespaces";

// Host pid -> pid inside the container's namespace, for every process in it.
std::map<pid_t, pid_t> namespace_members(pid_t init) {
    std::map<pid_t, pid_t> out;
    for (pid_t p : pids_in_pid_ns_of(init)) {
        auto ns = nspids(p);
        if (!ns.empty()) out[p] = ns.back();
    }
    return out;
}

// The first process in the container's pid namespace whose command line is `cmd`.
std::optional<pid_t> find_member(pid_t init, const std::string& cmd) {
    for (pid_t p : pids_in_pid_ns_of(init))
        if (cmdline(p) == cmd) return p;
    return std::nullopt;
}

pid_t ppid_of(pid_t pid) {
    auto st = proc_status(pid);
    return st && st->contains("PPid") ? static_cast<pid_t>(std::stol(st->at("PPid"))) : -1;
}

// The "Key:\t..." line of a /proc/<pid>/status text ("" when absent).
std::string status_line(const std::string& content, const std::string& key) {
    auto at = content.find(key + ":");
    if (at == std::string::npos) return {};
    return content.substr(at, content.find('\n', at) - at);
}

// Signal masks in /proc/<pid>/status are hex; bit (sig - 1).
bool mask_has(const std::string& hex, int sig) {
    return hex.empty() ? false : ((std::stoull(hex, nullptr, 16) >> (sig - 1)) & 1) != 0;
}

Verdict init_is_1(const CaseContext& ctx) {
    Containers cs(ctx);
    // The init's own view: getpid() and getppid().
    auto out = cs.run(agent({"info"}));
    if (out.status != 0) return Verdict::fail("agent info failed", describe(out));
    json info = agent_json(out, "agent info");
    // The host's view of an init: another pid, whose innermost NSpid is 1.
    auto c = cs.start(agent({"sleep", "30"}));
    auto host_view = nspids(c->pid());
    json ev = {
        {"inside_pid", info["pid"]}, {"inside_ppid", info["ppid"]}, {"host_pid", c->pid()}, {"host_nspid", host_view}};
    if (info["pid"] != 1)
        return Verdict::fail(fmt::format("getpid() in the new namespace is {}, not 1", info["pid"].dump()), ev);
    if (info["ppid"] != 0)
        return Verdict::fail(fmt::format("getppid() of the namespace init is {}, not 0", info["ppid"].dump()), ev);
    if (c->pid() == 1 || host_view.size() < 2 || host_view.front() != c->pid() || host_view.back() != 1)
        return Verdict::fail("the host does not see the init as a different pid whose innermost NSpid is 1", ev);
    return Verdict::pass(ev);
}

Verdict proc_shows_only_namespace(const CaseContext& ctx) {
    Containers cs(ctx);
    auto c = cs.start(agent({"fork", "3", "--hold", "30"}));
    std::map<pid_t, pid_t> members;
    if (!retry_until(Deadline(10s), [&] { return (members = namespace_members(c->pid())).size() >= 4; }))
        setup_failed(fmt::format("the init and its 3 children never all appeared ({} seen)", members.size()));
    json info = agent_json(must_exec(*c, {kAgent, "info"}), "agent info");
    if (!info["processes"].is_array()) return Verdict::fail("/proc could not be listed inside", info["errors"]);
    std::set<long> inside = info["processes"].get<std::set<long>>();
    std::set<long> expected{info["pid"].get<long>()};  // the exec'd agent itself, gone by now
    for (auto [host, inner] : namespace_members(c->pid())) expected.insert(inner);
    json ev = {{"inside_proc_pids", inside},
               {"namespace_members_seen_from_host", expected},
               {"host_proc_pid_count", all_pids().size()}};
    if (inside != expected)
        return Verdict::fail("the container's /proc does not list exactly the processes of its pid namespace", ev);
    if (!inside.contains(1)) return Verdict::fail("the container's /proc has no pid 1", ev);
    return Verdict::pass(ev);
}

Verdict orphans_reaped_by_init(const CaseContext& ctx) {
    Containers cs(ctx);
    // The inner shell starts a grandchild of the init and exits at once, orphaning it. The outer
    // shell (the init) reaps whatever child exits while it waits for its own `sleep`s.
    auto c = cs.start(shell_spec("sh -c 'sleep 31 &'; while :; do sleep 0.05; done"));
    pid_t init = c->pid();
    std::optional<pid_t> orphan;
    if (!retry_until(Deadline(10s), [&] { return (orphan = find_member(init, "sleep 31")).has_value(); }))
        setup_failed("the grandchild `sleep 31` never appeared in the container");
    auto started = start_time(*orphan);
    if (!started) setup_failed("the grandchild vanished before it could be examined");
    bool reparented = retry_until(Deadline(5s), [&] { return ppid_of(*orphan) == init; });
    auto inner = nspids(*orphan);
    json ev = {{"init_host_pid", init},
               {"orphan_host_pid", *orphan},
               {"orphan_nspid", inner},
               {"orphan_host_ppid", ppid_of(*orphan)}};
    if (!reparented) return Verdict::fail("the orphaned grandchild was not reparented to the namespace init", ev);
    // The same fact as the namespace sees it.
    if (!inner.empty()) {
        json st = agent_json(must_exec(*c, {kAgent, "cat", fmt::format("/proc/{}/status", inner.back())}),
                             "agent cat status");
        std::string content = st.value("content", "");
        ev["orphan_ppid_inside"] = status_line(content, "PPid");
        if (!contains(content, "PPid:\t1\n"))
            return Verdict::fail("inside the container the orphan's parent is not pid 1", ev);
    }
    if (::kill(*orphan, SIGKILL) != 0) setup_failed("kill the orphan: " + errno_name(errno));
    // Reaped means the /proc entry is gone, not merely a zombie.
    bool reaped = retry_until(Deadline(5s), [&] { return !same_process_alive(*orphan, *started); });
    ev["orphan_reaped"] = reaped;
    ev["init_alive"] = start_time(init).has_value();
    if (!reaped) {
        auto st = proc_status(*orphan);
        ev["orphan_state"] = st && st->contains("State") ? st->at("State") : "";
        return Verdict::fail("the dead orphan was never reaped (left as a zombie)", ev);
    }
    if (!start_time(init)) return Verdict::fail("the init exited; it should have reaped the orphan and gone on", ev);
    return Verdict::pass(ev);
}

Verdict init_death_kills_all(const CaseContext& ctx) {
    Containers cs(ctx);
    // Background processes that would outlive their shell anywhere else, one of them ignoring
    // the usual termination signals.
    auto c =
        cs.start(shell_spec("sleep 61 & sleep 62 & (trap '' TERM HUP INT; exec sleep 63) & "
                       "while :; do sleep 1; done"));
    pid_t init = c->pid();
    // A process that entered the namespace with setns(2): its parent is outside, on the host.
    pid_t joined = -1;
    GatedChild joiner(
        [&] {
            auto fd = open_ns(init, "pid");
            if (::setns(fd.get(), CLONE_NEWPID) != 0) return errno;
            joined = ::fork();
            if (joined < 0) return errno;
            if (joined == 0) {
                for (;;) ::pause();
            }
            return 0;
        },
        [&] {
            int status = 0;
            if (!retry_until(Deadline(5s), [&] { return ::waitpid(joined, &status, WNOHANG) == joined; })) {
                ::kill(joined, SIGKILL);  // it survived its namespace's init: ours to remove
                return json{{"survived_init", true}};
            }
            return json{{"signaled", WIFSIGNALED(status)}, {"signal", WIFSIGNALED(status) ? WTERMSIG(status) : 0}};
        });
    if (int err = joiner.wait_ready(); err != 0)
        setup_failed("join the container's pid namespace: " + err_name(err));
    std::map<pid_t, unsigned long long> victims;
    auto all_there = [&] {
        victims.clear();
        for (pid_t p : pids_in_pid_ns_of(init))
            if (auto t = start_time(p); t && p != init) victims[p] = *t;
        int sleeps = 0;
        for (auto& [p, t] : victims)
            for (const char* cmd : {"sleep 61", "sleep 62", "sleep 63"}) sleeps += cmdline(p) == cmd;
        return sleeps == 3 && victims.size() >= 4;
    };
    if (!retry_until(Deadline(10s), all_there))
        setup_failed(fmt::format("the container's processes never all appeared ({} seen)", victims.size()));
    json members = json::array();
    for (auto& [p, t] : victims) members.push_back({{"host_pid", p}, {"cmdline", cmdline(p)}, {"nspid", nspids(p)}});
    if (::kill(init, SIGKILL) != 0) setup_failed("kill the init: " + errno_name(errno));
    // The joined process's parent, outside, reaps it; until then the dying init waits for it.
    json joined_result = joiner.finish();
    auto out = must(c->wait(10s), "wait for the init");
    std::vector<pid_t> survivors;
    retry_until(Deadline(5s), [&] {
        survivors.clear();
        for (auto& [p, t] : victims)
            if (same_process_alive(p, t)) survivors.push_back(p);
        return survivors.empty();
    });
    json ev = {{"init_host_pid", init},
               {"init_status", out.status},
               {"members_before", members},
               {"survivors", survivors},
               {"setns_joined_process", joined_result}};
    if (out.status != 128 + SIGKILL) return Verdict::fail("the init did not die of SIGKILL", ev);
    if (!survivors.empty()) return Verdict::fail("processes of the namespace outlived its init", ev);
    if (joined_result.value("signal", 0) != SIGKILL)
        return Verdict::fail("the process that joined with setns(2) was not killed by SIGKILL", ev);
    return Verdict::pass(ev);
}

Verdict init_ignores_unhandled_signals(const CaseContext& ctx) {
    Containers cs(ctx);
    // busybox sleep installs no handler: as PID 1 it must be shielded from signals sent from inside.
    spec::Spec s = agent({});
    s.process.args = {"/bin/sleep", "30"};
    auto c = cs.start(s);
    pid_t init = c->pid();
    auto before = proc_status(init);
    if (!before) setup_failed("the init vanished");
    if (mask_has(before->at("SigCgt"), SIGTERM)) setup_failed("busybox sleep catches SIGTERM here");
    json sent = json::object();
    for (const char* sig : {"TERM", "INT", "HUP"})
        sent[sig] = agent_json(must_exec(*c, {kAgent, "kill", "1", sig}), "agent kill 1");
    // Dropped at send time: nothing pending, and the init goes on running.
    auto after = proc_status(init);
    auto still = must(c->wait(300ms), "wait for the init");
    // Control: the same signal kills an ordinary process of the same namespace.
    auto control = must_exec(*c, {"/bin/sh", "-c", "sleep 30 & p=$!; kill -TERM $p; wait $p; echo status=$?"});
    json ev = {{"init_sigcgt", before->at("SigCgt")},
               {"kill_from_inside", sent},
               {"init_status_after", still.status},
               {"init_pending_after", after ? json{after->at("SigPnd"), after->at("ShdPnd")} : json(nullptr)},
               {"ordinary_process", trim(control.out)}};
    for (auto& [sig, r] : sent.items())
        if (r.value("ok", false) != true) setup_failed("kill(1, SIG" + sig + ") from inside failed: " + r.dump());
    if (still.status != -1 || !after) return Verdict::fail("the init died of a signal it has no handler for", ev);
    for (int sig : {SIGTERM, SIGINT, SIGHUP})
        if (mask_has(after->at("ShdPnd"), sig) || mask_has(after->at("SigPnd"), sig))
            return Verdict::fail(fmt::format("signal {} is pending on the init instead of being dropped", sig), ev);
    if (!contains(control.out, "status=143"))
        setup_failed("control: SIGTERM did not kill an ordinary process: " + control.out);
    // SIGKILL from the ancestor namespace is forcibly delivered.
    if (::kill(init, SIGKILL) != 0) setup_failed("kill the init: " + errno_name(errno));
    auto killed = must(c->wait(10s), "wait for the init");
    ev["init_status_after_host_sigkill"] = killed.status;
    if (killed.status != 128 + SIGKILL) return Verdict::fail("SIGKILL from the host did not kill the init", ev);
    // And an init that does handle SIGTERM receives it (the agent installs handlers as PID 1).
    auto handled = cs.start(agent({"sleep", "30"}));
    // The agent installs its handlers after exec: a signal sent before that is (rightly) dropped.
    pid_t handling_init = handled->pid();
    bool catches = retry_until(Deadline(5s), [&] {
        auto st = proc_status(handling_init);
        return st && mask_has(st->at("SigCgt"), SIGTERM);
    });
    if (!catches) setup_failed("the agent as PID 1 installed no SIGTERM handler within 5 s");
    // The sender itself may die with the init before it reports: only the init's fate counts.
    (void)handled->exec({kAgent, "kill", "1", "TERM"});
    auto handled_out = must(handled->wait(10s), "wait for the handling init");
    ev["handling_init_status"] = handled_out.status;
    if (handled_out.status != 128 + SIGTERM)
        return Verdict::fail("an init with a SIGTERM handler did not get SIGTERM from inside", ev);
    return Verdict::pass(ev);
}

Verdict nesting(const CaseContext& ctx) {
    Containers cs(ctx);
    spec::Spec s = shell_spec("unshare -p -f sh -c 'echo inner=$$; exec sleep 37'");
    add_capabilities(s, {"CAP_SYS_ADMIN"});
    auto c = cs.start(s);
    pid_t init = c->pid();
    // The innermost process, found from the host: `sleep 37`, a child of `unshare` (which is the
    // init itself when the shell execs its only command, or the init's child).
    std::optional<pid_t> inner;
    auto find = [&] {
        for (pid_t p : all_pids()) {
            if (cmdline(p) == "sleep 37" && (ppid_of(p) == init || ppid_of(ppid_of(p)) == init)) {
                inner = p;
                return true;
            }
        }
        return false;
    };
    if (!retry_until(Deadline(10s), find) || !wait_for_output(*c, "inner=", 5s))
        return Verdict::fail("the nested pid namespace never started", describe(must(c->wait(0ms), "output")));
    auto chain = nspids(*inner);
    std::size_t depth = nspids(::getpid()).size();
    std::string said = output_so_far(*c);
    json ev = {{"host_nspid_of_innermost", chain}, {"innermost_output", said}, {"host_depth", depth}};
    if (!contains(said, "inner=1\n"))
        return Verdict::fail("the nested namespace's first process is not pid 1 to itself", ev);
    if (chain.size() != depth + 2 || chain.back() != 1 || chain[chain.size() - 2] == 1)
        return Verdict::fail("NSpid of the innermost process does not show three levels (host, container, nested)", ev);
    pid_t middle = chain[chain.size() - 2];
    // The nested namespace's parent is the container's.
    auto nested_fd = open_ns(*inner, "pid");
    UniqueFd parent(::ioctl(nested_fd.get(), NS_GET_PARENT));
    struct stat st {};
    if (!parent || ::fstat(parent.get(), &st) != 0) setup_failed("NS_GET_PARENT: " + errno_name(errno));
    ev["nested_ns"] = ns_inode_of(*inner, "pid");
    ev["nested_ns_parent"] = st.st_ino;
    ev["container_ns"] = ns_inode_of(init, "pid");
    if (ev["nested_ns"] == ev["container_ns"])
        return Verdict::fail("the innermost process is in the container's own pid namespace", ev);
    if (ev["nested_ns_parent"] != ev["container_ns"])
        return Verdict::fail("the nested pid namespace's parent is not the container's", ev);
    // From the container, the same process has the middle pid.
    json seen = agent_json(must_exec(*c, {kAgent, "cat", fmt::format("/proc/{}/status", middle)}),
                           "agent cat status");
    std::string content = seen.value("content", "");
    ev["container_view_nspid"] = status_line(content, "NSpid");
    if (!contains(content, fmt::format("NSpid:\t{}\t1\n", middle)))
        return Verdict::fail("the container does not see the innermost process as its own pid with inner pid 1", ev);
    return Verdict::pass(ev);
}

Verdict outside_unsignalable(const CaseContext& ctx) {
    Containers cs(ctx);
    GatedChild host_process([] { return 0; }, [] { return json::object(); });
    if (host_process.wait_ready() != 0) setup_failed("host process did not start");
    pid_t target = host_process.pid();
    auto started = start_time(target);
    if (!started) setup_failed("host process vanished");
    auto out = cs.run(
        shell_spec(fmt::format("ctbench-agent kill {0} 0; ctbench-agent kill {0} KILL; ctbench-agent kill 1 0", target)));
    auto docs = json_lines(out.out);
    if (docs.size() != 3) setup_failed("expected three agent results: " + out.out + out.err);
    json ev = {{"host_pid", target},
               {"probe_from_inside", docs[0]},
               {"kill_from_inside", docs[1]},
               {"probe_own_init", docs[2]},
               {"host_process_alive", same_process_alive(target, *started)}};
    if (docs[2].value("ok", false) != true) return Verdict::fail("kill(1, 0) inside the container failed", ev);
    if (docs[0]["errno_name"] != "ESRCH" || docs[1]["errno_name"] != "ESRCH")
        return Verdict::fail("a host pid was not ESRCH from inside the container", ev);
    if (!same_process_alive(target, *started)) return Verdict::fail("the host process died", ev);
    return Verdict::pass(ev);
}

CTB_CONFORMANCE_CASE({
    .id = "ns.pid.init_is_1",
    .reference = kPidRef,
    .needs = container_needs(),
    .body = init_is_1,
});
CTB_CONFORMANCE_CASE({
    .id = "ns.pid.proc_shows_only_namespace",
    .reference = kPidRef,
    .needs = container_needs(),
    .body = proc_shows_only_namespace,
});
CTB_CONFORMANCE_CASE({
    .id = "ns.pid.orphans_reaped_by_init",
    .reference = kPidRef,
    .needs = container_needs(),
    .body = orphans_reaped_by_init,
});
CTB_CONFORMANCE_CASE({
    .id = "ns.pid.init_death_kills_all",
    .reference = kPidRef,
    .needs = container_needs(),
    .body = init_death_kills_all,
});
CTB_CONFORMANCE_CASE({
    .id = "ns.pid.init_ignores_unhandled_signals",
    .reference = kPidRef,
    .needs = container_needs(),
    .body = init_ignores_unhandled_signals,
});
CTB_CONFORMANCE_CASE({
    .id = "ns.pid.nesting",
    .reference = kPidRef,
    .needs = container_needs(),
    .body = nesting,
});
CTB_CONFORMANCE_CASE({
    .id = "ns.pid.outside_unsignalable",
    .reference = kPidRef,
    .needs = container_needs(),
    .body = outside_unsignalable,
});

}  // namespace
}  // namespace ctb::conformance::nscase
