// IPC namespaces: System V shared memory, semaphores and message queues, and POSIX message
// queues, created on one side are invisible (by key or name) on the other. The container's own
// view goes through the runtime (its /proc/sysvipc and /dev/mqueue); lookups by key are made
// raw, by a child that setns(2)-es into the container's ipc namespace.
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fmt/format.h>

#include "conformance/ns/support.hpp"

namespace ctb::conformance::nscase {
namespace {

constexpr const char* kIpcRef = "ipc_namespaces(7); sysvipc(7); mq_overview(7)";

struct SysvKind {
    const char* name;  // "shm": also the /proc/sysvipc file
    int key_offset;    // 0, 1, 2
    int (*create)(key_t);
    int (*lookup)(key_t);
    void (*remove)(int);
};

const SysvKind kShm{"shm", 0,
                    [](key_t k) { return ::shmget(k, 4096, IPC_CREAT | IPC_EXCL | 0600); },
                    [](key_t k) { return ::shmget(k, 0, 0); },
                    [](int id) { ::shmctl(id, IPC_RMID, nullptr); }};
const SysvKind kSem{"sem", 1,
                    [](key_t k) { return ::semget(k, 1, IPC_CREAT | IPC_EXCL | 0600); },
                    [](key_t k) { return ::semget(k, 0, 0); },
                    [](int id) { ::semctl(id, 0, IPC_RMID); }};
const SysvKind kMsg{"msg", 2,
                    [](key_t k) { return ::msgget(k, IPC_CREAT | IPC_EXCL | 0600); },
                    [](key_t k) { return ::msgget(k, 0); },
                    [](int id) { ::msgctl(id, IPC_RMID, nullptr); }};

// Keys listed in a /proc/sysvipc/<kind> text (first column, decimal; first line is a header).
std::vector<long long> keys_in(const std::string& text) {
    std::vector<long long> out;
    auto ls = lines(text);
    for (std::size_t i = 1; i < ls.size(); ++i) {
        auto w = words(ls[i]);
        if (!w.empty()) out.push_back(std::stoll(w[0]));
    }
    return out;
}

bool has(const std::vector<long long>& v, long long x) { return std::find(v.begin(), v.end(), x) != v.end(); }

// Runs `body` in a child that joined the ipc namespace of `pid`.
json in_ipc_ns_of(pid_t pid, const std::function<json()>& body) {
    return in_child([&] {
        auto fd = open_ns(pid, "ipc");
        if (::setns(fd.get(), CLONE_NEWIPC) != 0) return json{{"setup", "setns ipc: " + err_name(errno)}};
        return body();
    });
}

// A host-side object, removed on every path.
class HostObject {
public:
    HostObject(const SysvKind& kind, key_t key) : kind_(kind), id_(kind.create(key)) {
        if (id_ < 0)
            setup_failed(fmt::format("create host {} object with key {:#x}: {}", kind.name, key, err_name(errno)));
    }
    ~HostObject() { kind_.remove(id_); }

private:
    const SysvKind& kind_;
    int id_;
};

Verdict sysv_isolated(const CaseContext& ctx, const SysvKind& kind) {
    // A recognisable prefix (0x637, "c" and half of "t"), our pid and the kind: parallel runs and
    // the three kinds never collide.
    key_t host_key = static_cast<key_t>(0x63700000 + ((::getpid() & 0xffff) << 4) + kind.key_offset * 2);
    key_t container_key = host_key + 1;
    HostObject host_object(kind, host_key);
    std::string proc = std::string("/proc/sysvipc/") + kind.name;
    Containers cs(ctx);
    auto c = cs.start(agent({"sleep", "30"}));
    auto inside_view = [&] {
        json r = agent_json(must_exec(*c, {kAgent, "cat", proc}), "agent cat " + proc);
        if (r.value("ok", false) != true) setup_failed("read " + proc + " inside: " + r.dump());
        return keys_in(r["content"].get<std::string>());
    };
    auto before = inside_view();
    json raw = in_ipc_ns_of(c->pid(), [&] {
        json r;
        r["lookup_host_key"] = err_name(kind.lookup(host_key) >= 0 ? 0 : errno);
        r["create_container_key"] = err_name(kind.create(container_key) >= 0 ? 0 : errno);
        return r;
    });
    if (raw.contains("setup")) setup_failed(raw["setup"].get<std::string>());
    auto after = inside_view();
    auto host_view = keys_in(read_text(proc));
    int leaked = kind.lookup(container_key);
    int host_lookup = leaked >= 0 ? 0 : errno;
    if (leaked >= 0) kind.remove(leaked);  // the container's object reached the host: remove it
    json ev = {{"host_key", host_key},
               {"container_key", container_key},
               {"container_view_before", before},
               {"container_view_after_create", after},
               {"inside_by_key", raw},
               {"host_view_has_host_key", has(host_view, host_key)},
               {"host_view_has_container_key", has(host_view, container_key)},
               {"host_lookup_container_key", err_name(host_lookup)}};
    if (!has(host_view, host_key)) setup_failed("the host's own object is missing from " + proc);
    if (raw["create_container_key"] != "ok") setup_failed("create an object inside the container's namespace");
    if (has(before, host_key) || has(after, host_key))
        return Verdict::fail(fmt::format("the container's {} lists the host's object", proc), ev);
    if (raw["lookup_host_key"] != "ENOENT")
        return Verdict::fail("the host's key resolves inside the container's ipc namespace", ev);
    if (!has(after, container_key))
        return Verdict::fail(fmt::format("the container's {} does not list its own object", proc), ev);
    if (has(host_view, container_key) || host_lookup != ENOENT)
        return Verdict::fail("the container's object is visible on the host", ev);
    return Verdict::pass(ev);
}

Verdict shm_isolated(const CaseContext& ctx) { return sysv_isolated(ctx, kShm); }
Verdict sem_isolated(const CaseContext& ctx) { return sysv_isolated(ctx, kSem); }
Verdict msg_isolated(const CaseContext& ctx) { return sysv_isolated(ctx, kMsg); }

class HostQueue {
public:
    explicit HostQueue(std::string name) : name_(std::move(name)) {
        mq_ = ::mq_open(name_.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600, nullptr);
        if (mq_ == static_cast<mqd_t>(-1)) setup_failed("mq_open " + name_ + ": " + err_name(errno));
    }
    ~HostQueue() {
        ::mq_close(mq_);
        ::mq_unlink(name_.c_str());
    }

private:
    std::string name_;
    mqd_t mq_;
};

int mq_open_errno(const std::string& name, int flags) {
    mqd_t q = ::mq_open(name.c_str(), flags | O_CLOEXEC, 0600, nullptr);
    if (q == static_cast<mqd_t>(-1)) return errno;
    ::mq_close(q);
    return 0;
}

Verdict posix_mqueue_isolated(const CaseContext& ctx) {
    std::string host_name = "/ctbench-ns-h" + short_token(), container_name = "/ctbench-ns-c" + short_token();
    HostQueue host_queue(host_name);
    Containers cs(ctx);
    auto c = cs.start(agent({"sleep", "30"}));
    auto stat_inside = [&](const std::string& name) {
        return agent_json(must_exec(*c, {kAgent, "stat", "/dev/mqueue" + name}), "agent stat");
    };
    json host_q_inside = stat_inside(host_name);
    json raw = in_ipc_ns_of(c->pid(), [&] {
        json r;
        r["open_host_queue"] = err_name(mq_open_errno(host_name, O_RDONLY));
        r["create_container_queue"] = err_name(mq_open_errno(container_name, O_CREAT | O_EXCL | O_RDWR));
        return r;
    });
    if (raw.contains("setup")) setup_failed(raw["setup"].get<std::string>());
    json container_q_inside = stat_inside(container_name);
    int host_open = mq_open_errno(container_name, O_RDONLY);
    json ev = {{"host_queue", host_name},
               {"container_queue", container_name},
               {"container_stat_of_host_queue", host_q_inside},
               {"inside_by_name", raw},
               {"container_stat_of_own_queue", container_q_inside},
               {"host_open_container_queue", err_name(host_open)}};
    if (raw["create_container_queue"] != "ok") setup_failed("create a queue in the container's namespace");
    if (host_q_inside["errno_name"] != "ENOENT")
        return Verdict::fail("the host's queue shows in the container's /dev/mqueue", ev);
    if (raw["open_host_queue"] != "ENOENT")
        return Verdict::fail("the host's queue opens inside the container's namespace", ev);
    if (container_q_inside.value("ok", false) != true)
        return Verdict::fail("the container's /dev/mqueue does not show its own namespace's queue", ev);
    if (host_open != ENOENT) {
        if (host_open == 0) ::mq_unlink(container_name.c_str());  // it leaked onto the host: remove it
        return Verdict::fail("the container's queue opens on the host", ev);
    }
    return Verdict::pass(ev);
}

CTB_CONFORMANCE_CASE({
    .id = "ns.ipc.sysv_shm_isolated",
    .reference = kIpcRef,
    .needs = container_needs(),
    .body = shm_isolated,
});
CTB_CONFORMANCE_CASE({
    .id = "ns.ipc.sysv_sem_isolated",
    .reference = kIpcRef,
    .needs = container_needs(),
    .body = sem_isolated,
});
CTB_CONFORMANCE_CASE({
    .id = "ns.ipc.sysv_msg_isolated",
    .reference = kIpcRef,
    .needs = container_needs(),
    .body = msg_isolated,
});
CTB_CONFORMANCE_CASE({
    .id = "ns.ipc.posix_mqueue_isolated",
    .reference = kIpcRef,
    .needs = container_needs(),
    .body = posix_mqueue_isolated,
});

}  // namespace
}  // namespace ctb::conformance::nscase
