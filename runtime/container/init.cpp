#include "runtime/container/init.hpp"

#include <fcntl.h>
#include <linux/keyctl.h>
#include <net/if.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <cstring>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fmt/format.h>

#include "common/fd.hpp"
#include "common/files.hpp"
#include "runtime/container/console.hpp"
#include "runtime/container/hooks.hpp"
#include "runtime/container/process.hpp"
#include "runtime/container/shared_init.hpp"
#include "runtime/container/sync.hpp"
#include "runtime/rootfs/overlay.hpp"
#include "runtime/rootfs/pivot.hpp"
#include "runtime/rootfs/rootfs.hpp"
#include "runtime/log.hpp"

namespace ctb::container {
namespace {

[[noreturn]] void die(const InitConfig& c, const Error& e) {
    (void)send_message(c.sync_fd, {{"error", error_to_json(e)}});
    // Also on stderr: after `create` has returned, nobody listens on the sync channel.
    std::string msg = "ctbench-runtime: container init: " + e.message() + "\n";
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, msg.data(), msg.size());
    ::_exit(127);
}

void check(const InitConfig& c, const Status& s) {
    if (!s) die(c, s.error());
}

// The parent's "go" carries the container's state for the hooks the init runs itself.
nlohmann::json wait_for_parent(const InitConfig& c) {
    auto go = receive_message(c.sync_fd, std::chrono::seconds(30));
    if (!go) die(c, go.error());
    if (!go->contains("go")) ::_exit(1);  // the parent gave up on us: nothing to report to
    return go->value("state", nlohmann::json::object());
}

std::string state_with_status(nlohmann::json state, const char* status) {
    state["status"] = status;
    return state.dump();
}

// The hook point before the root change: the runtime's hooks (in its namespaces), then
// createContainer (in ours, with the runtime's mount namespace still visible).
Status hooks_before_root_change(const InitConfig& c, const nlohmann::json& state) {
    if (c.runtime_hooks) {
        if (auto s = send_message(c.sync_fd, {{"hooks", "createRuntime"}}); !s) return s;
        auto go = receive_message(c.sync_fd, std::chrono::minutes(10));
        if (!go) return fail(go.error());
        if (!go->contains("go")) ::_exit(1);  // a hook failed: the parent reports it and kills us
    }
    return run_hooks(c.spec->hooks.create_container, "createContainer", state_with_status(state, "creating"));
}

Status become_root_in_user_ns() {
    if (::setresgid(0, 0, 0) != 0) return fail(sys_error("setresgid", "0 in the user namespace"));
    if (::setresuid(0, 0, 0) != 0) return fail(sys_error("setresuid", "0 in the user namespace"));
    return {};
}

Status mount_image_layers(const InitConfig& c) {
    rootfs::OverlayLayers layers;
    layers.lower = c.image_layers;
    layers.upper = c.layer_dir + "/upper";
    layers.work = c.layer_dir + "/work";
    if (auto s = make_dirs(c.rootfs); !s) return s;
    return rootfs::mount_overlay(layers, c.rootfs);
}

Status write_sysctls(const spec::Spec& spec) {
    for (const auto& [key, value] : spec.linux.sysctl) {
        std::string file = "/proc/sys/";
        for (char ch : key) file += ch == '.' ? '/' : ch;
        if (auto s = write_file(file, value); !s) return fail(Error{"write sysctl", key, s.error().err, value});
    }
    return {};
}

Status setup_mounts(const InitConfig& c, const nlohmann::json& state) {
    const spec::Spec& spec = *c.spec;
    // Propagation first: nothing mounted below may ever reach the host's mount namespace.
    if (auto s = rootfs::set_rootfs_propagation(spec.linux.rootfs_propagation); !s) return s;
    if (!c.image_layers.empty())
        if (auto s = mount_image_layers(c); !s) return s;
    rootfs::RootfsContext ctx;
    ctx.new_network_ns = c.plan.new_net;
    ctx.new_user_ns = c.plan.new_user;
    ctx.new_cgroup_ns = c.plan.new_cgroup;
    ctx.propagation_set = true;  // just above
    ctx.cgroups = c.cgroups;
    ctx.idmapped_trees = c.idmapped_trees;
    ctx.before_root_change = [&] { return hooks_before_root_change(c, state); };
    // /proc/sys becomes read-only with the readonly paths: the sysctls go in before that.
    ctx.after_root_change = [&] { return write_sysctls(spec); };
    return rootfs::setup_rootfs(spec, c.rootfs, ctx);
}

// After a chroot there is no /proc to reopen the fifo's O_PATH descriptor through: the state
// directory, opened before the root changed, reaches it instead (close-on-exec, and closed by
// close_range before the container's process runs).
int g_state_dir_fd = -1;

void warn(const std::string& text) { rtlog::warning(text); }

// A session keyring of the container's own, named "_ses.<id>" as runc and crun name it: without
// it the container keeps its caller's session keyring and finds (and can link) the caller's keys.
// ENOSYS: a kernel without keys. EDQUOT: the user's key quota is full (200 keys for a non-root
// user, freed only by the keyring garbage collector minutes later): the container keeps the
// caller's keyring, said on stderr, rather than failing.
Status join_session_keyring(const std::string& id) {
    std::string name = "_ses." + id;
    if (::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.c_str()) >= 0 || errno == ENOSYS) return {};
    if (errno == EDQUOT) {
        warn("no session keyring of its own for " + id + " (key quota full): it keeps the caller's");
        return {};
    }
    return fail(sys_error("join session keyring", name));
}

// No mount namespace of the container's own (none asked for, or one joined by path): the root
// changes with chroot(2), as runc does then, and nothing is mounted, because every mount would
// land in a namespace the container does not own (the host's, or the joined one).
Status change_root_without_mount_ns(const InitConfig& c, const nlohmann::json& state) {
    const spec::Spec& spec = *c.spec;
    if (!spec.mounts.empty() || !spec.linux.masked_paths.empty() || !spec.linux.readonly_paths.empty() ||
        spec.root.readonly)
        warn("no mount namespace of the container's own: mounts, maskedPaths, readonlyPaths and root.readonly "
             "are not applied (they would change a mount namespace the container does not own)");
    if (auto s = hooks_before_root_change(c, state); !s) return s;
    g_state_dir_fd = ::open(c.layer_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (g_state_dir_fd < 0) return fail(sys_error("open state directory", c.layer_dir));
    if (::chroot(c.rootfs.c_str()) != 0) return fail(sys_error("chroot", c.rootfs));
    if (::chdir("/") != 0) return fail(sys_error("chdir", "/ after chroot"));
    return {};
}

Status set_names(const spec::Spec& spec) {
    if (!spec.hostname.empty() && ::sethostname(spec.hostname.data(), spec.hostname.size()) != 0)
        return fail(sys_error("sethostname", spec.hostname));
    if (!spec.domainname.empty() && ::setdomainname(spec.domainname.data(), spec.domainname.size()) != 0)
        return fail(sys_error("setdomainname", spec.domainname));
    return {};
}

// A new network namespace starts with lo down; runtimes bring it up (runc and crun do), so that
// loopback works inside as containers expect.
Status bring_up_loopback() {
    UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock) return fail(sys_error("socket", "loopback setup"));
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    if (::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) != 0) return fail(sys_error("get flags of", "lo"));
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) != 0) return fail(sys_error("set up", "lo"));
    return {};
}

std::string fifo_path(const InitConfig& c) { return fmt::format("/proc/self/fd/{}", c.exec_fifo_fd); }


int open_exec_fifo(const InitConfig& c, int flags) {
    if (g_state_dir_fd >= 0) return ::openat(g_state_dir_fd, "exec.fifo", flags);
    return ::open(fifo_path(c).c_str(), flags);
}

// Before "ready": the open that wait_for_start will block in must not fail then (EACCES when
// the init's user cannot write the fifo). Without a reader yet, a writable fifo answers ENXIO.
Status check_exec_fifo(const InitConfig& c) {
    int fd = open_exec_fifo(c, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
        ::close(fd);  // someone already reads: start came early, which is fine
        return {};
    }
    if (errno == ENXIO) return {};
    return fail(sys_error("open exec fifo", fifo_path(c)));
}

// Blocks until `start` opens the fifo for reading; writing one byte tells it we are about to exec.
// The descriptor stays open (close-on-exec): `start` reads on until EOF, which comes exactly when
// exec succeeds, and an error after this point travels to `start` through it.
Result<UniqueFd> wait_for_start(const InitConfig& c) {
    UniqueFd fd(open_exec_fifo(c, O_WRONLY | O_CLOEXEC));
    if (!fd) return fail(sys_error("open exec fifo", fifo_path(c)));
    ::close(c.exec_fifo_fd);
    char byte = '0';
    if (::write(fd.get(), &byte, 1) != 1) return fail(sys_error("write exec fifo", fifo_path(c)));
    return fd;
}

// After start released us: the error goes to `start` (through the fifo), to the creating process
// (sync channel, when it still listens) and to stderr.
[[noreturn]] void die_after_start(const InitConfig& c, int fifo_fd, const Error& e) {
    std::string text = nlohmann::json{{"error", error_to_json(e)}}.dump();
    [[maybe_unused]] auto n = ::write(fifo_fd, text.data(), text.size());
    die(c, e);
}

// Every init's setup, from its namespaces to the executable it will run (resolved inside the
// container's root, so that a missing one fails create).
std::string set_up(const InitConfig& c, const nlohmann::json& state) {
    const spec::Spec& spec = *c.spec;
    if (c.plan.new_user) check(c, become_root_in_user_ns());
    check(c, join_session_keyring(state.value("id", std::string("container"))));
    if (c.plan.new_time) check(c, ns::enter_new_time_namespace(spec.linux.time_offsets));
    if (c.plan.new_cgroup && ::unshare(CLONE_NEWCGROUP) != 0) die(c, sys_error("unshare", "cgroup namespace"));
    if (c.plan.new_mount) check(c, setup_mounts(c, state));
    else check(c, change_root_without_mount_ns(c, state));
    if (c.plan.new_uts) check(c, set_names(spec));
    if (c.plan.new_net) check(c, bring_up_loopback());
    if (!c.plan.new_mount) check(c, write_sysctls(spec));  // with a mount namespace: in setup_mounts
    auto executable = resolve_executable(spec.process);
    if (!executable) die(c, executable.error());
    return *executable;
}

// Joins the namespaces given by path and, single-threaded so that moving this thread moves the
// process, its v1 cgroups; before the cgroup namespace.
void join_namespaces_and_cgroups(const InitConfig& c) {
    check(c, ns::join(c.plan));
    for (const auto& tasks : c.self_attach) {
        UniqueFd fd(::openat(tasks.where.dirfd(), tasks.where.relative.c_str(), O_WRONLY | O_CLOEXEC));
        if (!fd || ::write(fd.get(), "0", 1) != 1) die(c, sys_error("join cgroup", tasks.path));
    }
}

// An init sharing the creator's memory (shared_init.hpp): the setup and the process's context,
// then its plan for after "ready". Everything allocated here is freed on return (rule 1).
void prepare_shared_init(const InitConfig& c) {
    // Until it execs, this process's memory is the creator's: /proc/<pid>/mem and ptrace of it
    // must need CAP_SYS_PTRACE on the host, not just the same uid (a process exec'd into the
    // created container). The flag is the memory's, so the creator is non-dumpable too until
    // the last init sharing it has exec'd or gone (SharedInitMemory::init_done restores it).
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) die(c, sys_error("prctl PR_SET_DUMPABLE", "0"));
    join_namespaces_and_cgroups(c);
    std::string executable = set_up(c, nlohmann::json{{"id", c.id}});
    if (c.exec_fifo_fd >= 0) check(c, check_exec_fifo(c));
    // As runc: identity, capabilities and limits before the wait for start (the eligibility
    // rules keep what comes after it possible: uid 0, no seccomp filter, harmless rlimits).
    check(c, enter_process_context(*c.spec, c.spec->process, false));
    if (executable.size() >= 4096) die(c, sys_error("exec", executable, ENAMETOOLONG));
    store_exec_plan(*c.shared, executable, c.spec->process, c.sync_fd, c.exec_fifo_fd);
}

}  // namespace

void container_init(const InitConfig& c) {
    if (c.shared) {
        prepare_shared_init(c);
        // `c` lives in the creator's stack frame, which is gone once it has our "ready": nothing
        // of it is read after that, only the plan in our own mapping.
        const SharedExecPlan& plan = *c.shared;
        announce_ready(plan.sync_fd);
        exec_when_started(plan);  // system calls only from here (rule 2)
    }
    const spec::Spec& spec = *c.spec;
    join_namespaces_and_cgroups(c);
    nlohmann::json state = c.await_go ? wait_for_parent(c) : nlohmann::json{{"id", c.id}};
    std::string executable = set_up(c, state);
    bool await_start = c.exec_fifo_fd >= 0;  // none: created to start at once (CreateOptions::start_at_once)
    if (await_start) check(c, check_exec_fifo(c));
    if (c.console_fd >= 0) check(c, attach_new_pty(c.console_fd, c.spec->process.console_size));
    // Only with SCMP_ACT_NOTIFY: create must hand the listener to the agent before it returns.
    auto notify = hand_seccomp_listener_to_runtime(spec, c.sync_fd);
    if (!notify) die(c, notify.error());
    check(c, send_message(c.sync_fd, {{"ready", true}}));
    if (!await_start) {
        // Errors from here on reach the creating process's start() through the sync channel.
        check(c, run_hooks(spec.hooks.start_container, "startContainer", state_with_status(state, "created")));
        die(c, exec_container_process(spec, spec.process, executable, *notify));
    }
    auto fifo = wait_for_start(c);
    if (!fifo) die(c, fifo.error());
    if (auto s = run_hooks(spec.hooks.start_container, "startContainer", state_with_status(state, "created")); !s)
        die_after_start(c, fifo->get(), s.error());
    die_after_start(c, fifo->get(), exec_container_process(spec, spec.process, executable, *notify));
}

}  // namespace ctb::container
