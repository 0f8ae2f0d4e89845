// Container::create: the parent's half of container creation.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>

#include "common/clone_on_stack.hpp"
#include "common/files.hpp"
#include "common/utc_time.hpp"
#include "runtime/cgroups/manager.hpp"
#include "runtime/container/container.hpp"
#include "runtime/container/hooks.hpp"
#include "runtime/container/init.hpp"
#include "runtime/container/inject_delay.hpp"
#include "runtime/container/console.hpp"
#include "runtime/container/rootless.hpp"
#include "runtime/container/seccomp_agent.hpp"
#include "runtime/container/shared_init.hpp"
#include "runtime/container/sync.hpp"
#include "runtime/ownership.hpp"
#include "runtime/rootfs/idmap.hpp"
#include "runtime/security/rlimits.hpp"
#include "runtime/spec/parse.hpp"

namespace ctb::container {
namespace {

std::string resolve_rootfs(const CreateOptions& o, const std::string& dir) {
    if (!o.image_layers.empty()) return dir + "/rootfs";
    if (o.spec.root.path.starts_with("/")) return o.spec.root.path;
    return o.bundle + "/" + o.spec.root.path;
}

// Only what this create made: a cgroup that existed before (an OCI cgroupsPath naming one) stays.
Status remove_own_cgroups(const cgroup::Layout& layout, const cgroup::Manager& manager) {
    return cgroup::remove_created_dirs(layout, manager.created_dirs(), std::chrono::seconds(5));
}

// The directories Manager::create will make for `path`: each component that does not exist yet,
// in every hierarchy the layout's mode uses. Recorded in the first state write, so a runtime
// killed while (or after) they are made still leaves `delete --force` the exact list, and a
// second write is needed only if the create made something else (another process raced us).
std::vector<std::string> predicted_cgroup_dirs(const cgroup::Layout& layout, const std::string& path) {
    std::vector<std::string> out;
    auto relative = cgroup::normalise_any_path(path);
    if (!relative) return out;
    auto add = [&](const std::string& mount) {
        std::string dir = mount;
        std::size_t pos = 0;
        while (pos < relative->size()) {
            std::size_t slash = std::min(relative->find('/', pos), relative->size());
            dir += "/" + relative->substr(pos, slash - pos);
            pos = slash + 1;
            if (!cgroup::at::exists(dir)) out.push_back(dir);
        }
    };
    // The backends' order: v1 hierarchies with controllers first, then the v2 one (hybrid.cpp).
    if (layout.mode != cgroup::Mode::v2)
        for (const auto& h : layout.hierarchies)
            if (h.version == 1 && !h.controllers.empty()) add(h.mount);
    if (layout.mode != cgroup::Mode::v1)
        if (const auto* v2 = layout.v2()) add(v2->mount);
    return out;
}

// config-linux.md#cgroups-path: absolute = as given below each hierarchy's root; relative =
// below ctbench/ (the runtime's parent, so such containers still follow the naming rule);
// none = ctbench/<id>.
std::string cgroup_path_for(const spec::Spec& spec, const std::string& id) {
    const std::string& given = spec.linux.cgroups_path;
    if (given.empty()) return std::string(cgroup::kParentName) + "/" + id;
    if (given.starts_with("/")) return given;
    return std::string(cgroup::kParentName) + "/" + given;
}

// Everything created so far, removed again unless the create succeeds.
struct Rollback {
    const cgroup::Layout* layout = nullptr;
    std::string dir;
    std::unique_ptr<cgroup::Manager> cgroups;
    pid_t child = 0;
    bool committed = false;
    // Once hooks ran, a failed create ends as the spec's lifecycle does: destroy, then poststop.
    const std::vector<spec::Hook>* poststop = nullptr;
    std::string state_json;
    std::unique_ptr<SharedInitMemory> shared;  // the init's mapping, when it shares our memory
    ~Rollback() {
        if (committed) return;
        destroy();
        if (poststop) {
            auto j = nlohmann::json::parse(state_json, nullptr, false);
            if (!j.is_discarded()) j["status"] = "stopped";
            run_hooks_warning_only(*poststop, "poststop", j.dump());
        }
    }
    void destroy() {
        if (child > 0) {
            ::kill(child, SIGKILL);  // our own child, by pid
            while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
            }
        }
        if (shared) shared->init_done();  // the init is gone (reaped above, or before)
        if (cgroups) (void)remove_own_cgroups(*layout, *cgroups);
        std::error_code ec;
        if (dir.empty()) return;
        std::filesystem::remove_all(dir, ec);
        ::rmdir(std::filesystem::path(dir).parent_path().c_str());  // the state root, when now empty
    }
};

// The last container's delete removes the (then empty) state root; a create running at the same
// time can see the root vanish between making it and making its own directory in it (ENOENT).
// The root is made again then: parallel start/delete loops on one --root must never fail.
Status make_state_dir(const std::string& root, const std::string& dir, const std::string& id) {
    for (int attempt = 0;; ++attempt) {
        if (auto s = make_dirs(root, 0700); !s) return s;
        if (::mkdir(dir.c_str(), 0700) == 0) return {};
        if (errno == EEXIST) return fail(plain_error("create container", id, "already exists"));
        if (errno != ENOENT || attempt == 100) return fail(sys_error("mkdir", dir));
    }
}

// Which hierarchy each of the container's cgroup directories belongs to, for cgroup mounts.
rootfs::CgroupMounts cgroup_mounts(const cgroup::Layout& layout, const cgroup::Manager& manager) {
    rootfs::CgroupMounts out;
    out.unified = layout.mode == cgroup::Mode::v2;
    for (const auto& path : manager.paths())
        for (const auto& h : layout.hierarchies) {
            if (!path.starts_with(h.mount + "/")) continue;
            if (out.unified) out.v2 = path;
            else out.v1[std::filesystem::path(h.mount).filename()] = path;
        }
    return out;
}

// The devices every container gets on top of the spec's rules, as runc does (libcontainer's
// AllowedDevices): mknod of anything, and the standard character devices of /dev.
void add_default_device_rules(std::vector<spec::DeviceRule>& rules) {
    auto allow = [&](const char* type, std::optional<std::int64_t> major, std::optional<std::int64_t> minor,
                     const char* access) { rules.push_back({true, type, major, minor, access}); };
    allow("c", std::nullopt, std::nullopt, "m");
    allow("b", std::nullopt, std::nullopt, "m");
    for (auto [major, minor] : {std::pair{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}, {5, 2}, {10, 200}})
        allow("c", major, minor, "rwm");
    allow("c", 136, std::nullopt, "rwm");  // /dev/pts/*
}

Result<std::unique_ptr<cgroup::Manager>> make_cgroups(const cgroup::Layout& layout, const spec::Spec& spec,
                                                      const std::string& path) {
    if (path.empty()) return rootless::without_cgroup();  // rootless, nothing delegated
    // A cgroupsPath of the user's may lie anywhere and may exist already (it is then joined, and
    // kept on delete); our own default must be new.
    // Rootless, the path is below the caller's own (delegated) cgroup: outside ctbench/ too.
    bool given = !spec.linux.cgroups_path.empty() || rootless::active();
    auto manager = cgroup::Manager::create(layout, path, cgroup::Policy{given, given});
    if (!manager) return fail(manager.error());
    spec::Resources resources = spec.linux.resources.value_or(spec::Resources{});
    if (!resources.devices.empty()) add_default_device_rules(resources.devices);
    if (auto s = (*manager)->apply(resources); !s) {
        (void)remove_own_cgroups(layout, **manager);  // a value the kernel refused: nothing of ours stays
        return fail(s.error());
    }
    return manager;
}

// The host id that container id 0 maps to; nullopt when 0 is not mapped.
std::optional<std::uint32_t> host_id_of_root(const std::vector<spec::IdMapping>& maps) {
    for (const auto& m : maps)
        if (m.container_id == 0 && m.size > 0) return m.host_id;
    return std::nullopt;
}

// With a new user namespace the init runs as the mapped root (a host uid such as 100000), which
// must still open the fifo and reach the state directory: as runc does, the fifo is handed to
// that user (when there is one: not with start_at_once) and the directory becomes searchable
// (0711; its files stay the runtime's).
Status hand_over_to_mapped_root(const std::string& dir, const spec::Spec& spec, bool has_fifo) {
    auto uid = host_id_of_root(spec.linux.uid_mappings);
    auto gid = host_id_of_root(spec.linux.gid_mappings);
    if (!uid && !gid) return {};
    std::string fifo = dir + "/exec.fifo";
    if (has_fifo && ::chown(fifo.c_str(), uid ? *uid : static_cast<uid_t>(-1), gid ? *gid : static_cast<gid_t>(-1)) != 0)
        return fail(sys_error("chown to the container's root", fifo));
    if (::chmod(dir.c_str(), 0711) != 0) return fail(sys_error("chmod 0711", dir));
    return {};
}

Result<UniqueFd> make_exec_fifo(const std::string& dir) {
    std::string path = dir + "/exec.fifo";
    if (::mkfifo(path.c_str(), 0600) != 0) return fail(sys_error("mkfifo", path));
    UniqueFd fd(::open(path.c_str(), O_PATH | O_CLOEXEC));
    if (!fd) return fail(sys_error("open", path));
    return fd;
}

// Joining a pid namespace by path changes where our *children* go: switch for the clone only.
Result<UniqueFd> enter_pid_namespace_for_children(const std::string& path) {
    UniqueFd original(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
    UniqueFd target(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!original || !target) return fail(sys_error("open pid namespace", path));
    if (::setns(target.get(), CLONE_NEWPID) != 0) return fail(sys_error("setns pid namespace", path));
    return original;
}

Result<pid_t> clone_init(const InitConfig& config, std::optional<int> cgroup_fd, int child_sync) {
    CloneArgs args{};
    args.flags = static_cast<std::uint64_t>(config.plan.clone_flags);
    args.exit_signal = SIGCHLD;
    if (cgroup_fd) {
        args.flags |= kCloneIntoCgroup;
        args.cgroup = static_cast<std::uint64_t>(*cgroup_fd);
    }
    long pid = ::syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0) return fail(sys_error("clone3", fmt::format("flags {:#x}", args.flags)));
    if (pid == 0) {
        (void)child_sync;
        container_init(config);
    }
    return static_cast<pid_t>(pid);
}

// Whether the child is in its cgroups already (CLONE_INTO_CGROUP) or moves itself (v1).
Status prepare_child(pid_t pid, const CreateOptions& o, const ns::Plan& plan, cgroup::Manager& cgroups,
                     bool attached_by_kernel_or_child) {
    if (plan.new_user)
        if (auto s = rootless::active() ? rootless::write_id_mappings(pid, o.spec) : ns::write_id_mappings(pid, o.spec); !s)
            return s;
    if (!attached_by_kernel_or_child)
        if (auto s = cgroups.add_process(pid); !s) return s;
    if (o.spec.process.oom_score_adj)
        if (auto s = security::set_oom_score_adj(pid, *o.spec.process.oom_score_adj); !s) return s;
    return {};
}

std::string signal_name(int sig) {
    const char* abbrev = ::sigabbrev_np(sig);
    return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

// The init closed the sync channel without a word: it was killed. Reaps it (so the rollback
// must not) and says by what, naming the memory limit when the OOM killer did it.
Error explain_silent_exit(pid_t pid, const cgroup::Manager& cgroups, const spec::Spec& spec) {
    int wstatus = 0;
    pid_t got;
    while ((got = ::waitpid(pid, &wstatus, 0)) < 0 && errno == EINTR) {
    }
    if (got != pid) return plain_error("container init", std::to_string(pid), "exited during setup without a message");
    if (WIFEXITED(wstatus))
        return plain_error("container init", std::to_string(pid),
                           fmt::format("exited with status {} during setup without a message", WEXITSTATUS(wstatus)));
    std::string what = fmt::format("was killed by {} during setup", signal_name(WTERMSIG(wstatus)));
    auto events = cgroups.memory_events();
    const auto& memory = spec.linux.resources ? spec.linux.resources->memory : std::nullopt;
    if (events && events->oom_kill > 0)
        what += " (the OOM killer of its memory cgroup";
    else if (memory && memory->limit && WTERMSIG(wstatus) == SIGKILL)
        what += " (most likely the OOM killer of its memory cgroup";
    else
        return plain_error("container init", std::to_string(pid), what);
    if (memory && memory->limit) what += fmt::format(": linux.resources.memory.limit is {} bytes", *memory->limit);
    return plain_error("container init", std::to_string(pid), what + ")");
}

// Whether the init is in all its cgroups without add_process: its v1 ones joined by itself,
// its v2 one by birth (CLONE_INTO_CGROUP).
bool attached_without_runtime(const cgroup::Manager& cgroups, bool self_attach, bool cloned_into) {
    auto v1_dirs = cgroups.v1_paths().size();
    bool v2_half = cgroups.paths().size() > v1_dirs;
    return (self_attach || v1_dirs == 0) && (cloned_into || !v2_half);
}

// Whether the runtime has work to do on the child between clone and its setup (prepare_child),
// or hooks that the init runs need the state with the pid: then the init waits for "go".
bool runtime_works_on_child(const spec::Spec& spec, const ns::Plan& plan, bool attached, bool runtime_hooks) {
    return plan.new_user || !attached || spec.process.oom_score_adj.has_value() || runtime_hooks ||
           !spec.hooks.create_container.empty() || !spec.hooks.start_container.empty();
}

// The init's "go", with the state its hooks see. A child that died before reading it (the OOM
// killer of a tiny memory limit, say) is explained, not reported as a broken pipe.
Status send_go(int sync_fd, const std::string& state_json, Rollback& rollback, const spec::Spec& spec) {
    nlohmann::json go = {{"go", true}, {"state", nlohmann::json::parse(state_json)}};
    auto sent = send_message(sync_fd, go);
    if (sent || (sent.error().err != EPIPE && sent.error().err != ECONNRESET)) return sent;
    Error e = explain_silent_exit(rollback.child, *rollback.cgroups, spec);
    rollback.child = 0;  // reaped
    return fail(std::move(e));
}

// The init stopped before its root change for the runtime's own hooks: run them, let it go on.
Status run_runtime_hooks(int sync_fd, const spec::Spec& spec, const std::string& state) {
    if (auto s = run_hooks(spec.hooks.prestart, "prestart", state); !s) return s;
    if (auto s = run_hooks(spec.hooks.create_runtime, "createRuntime", state); !s) return s;
    return send_message(sync_fd, {{"go", true}});
}

// What the init asks of us before "ready": the runtime's hooks ({"hooks"}), and with
// SCMP_ACT_NOTIFY the seccomp listener to pass on to the agent ({"seccompFd"} + the fd).
Result<nlohmann::json> serve_init(int sync_fd, std::chrono::milliseconds timeout, Rollback& rollback,
                                  const spec::Spec& spec, const std::string& state) {
    for (;;) {
        UniqueFd listener;
        auto msg = receive_message(sync_fd, timeout, &listener);
        if (!msg) return msg;
        if (msg->contains("hooks")) {
            rollback.poststop = &spec.hooks.poststop;
            if (auto s = run_runtime_hooks(sync_fd, spec, state); !s) return fail(s.error());
        } else if (msg->contains("seccompFd") && spec.linux.seccomp) {
            if (!listener) return fail(plain_error("receive seccomp listener", "linux.seccomp", "the init sent none"));
            if (auto s = send_to_seccomp_agent(*spec.linux.seccomp, rollback.child, state, listener.get()); !s)
                return fail(s.error());
        } else {
            return msg;
        }
    }
}

// The init's answer to the wait for "ready": its error, "ready", or nothing (it was killed,
// which explain_silent_exit says by what, reaping it).
Status judge_init_answer(const nlohmann::json& msg, Rollback& rollback, const spec::Spec& spec) {
    if (msg.contains("error")) return fail(error_from_json(msg["error"]));
    if (msg.contains("ready")) return {};
    Error e = explain_silent_exit(rollback.child, *rollback.cgroups, spec);
    rollback.child = 0;  // reaped
    return fail(std::move(e));
}

// The init sharing our memory (shared_init.hpp). clone3 refuses CLONE_CLEAR_SIGHAND before
// Linux 5.5 (EINVAL): the caller falls back to a plain clone then.
Result<pid_t> clone_shared_init(const InitConfig& config, std::optional<int> cgroup_fd, const SharedInitMemory& memory) {
    auto run = [](void* c) { container_init(*static_cast<const InitConfig*>(c)); };
    long pid = clone3_on_stack(config.plan.clone_flags | kCloneVm | kCloneClearSighand, cgroup_fd, memory.stack_low(),
                               memory.stack_size(), run, const_cast<InitConfig*>(&config));
    if (pid < 0)
        return fail(sys_error("clone3", fmt::format("flags {:#x}, sharing memory", config.plan.clone_flags),
                              static_cast<int>(-pid)));
    return static_cast<pid_t>(pid);
}

// The creator's side of rule 1, then what the init said, as await_ready reports it.
Status await_shared_init(int sync_fd, pid_t pid, std::chrono::milliseconds timeout, Rollback& rollback,
                         const spec::Spec& spec) {
    auto outcome = await_shared_ready(sync_fd, pid, timeout);
    if (!outcome) {
        rollback.child = 0;  // killed and reaped
        return fail(outcome.error());
    }
    if (outcome->ready) return {};
    auto msg = nlohmann::json::parse(outcome->message, nullptr, false);
    return judge_init_answer(msg.is_discarded() ? nlohmann::json::object() : msg, rollback, spec);
}

Status await_ready(int sync_fd, std::chrono::milliseconds timeout, Rollback& rollback, const spec::Spec& spec,
                   const std::string& state) {
    auto msg = serve_init(sync_fd, timeout, rollback, spec, state);
    if (!msg) return fail(msg.error());
    return judge_init_answer(*msg, rollback, spec);
}

}  // namespace

Status write_pid_file(const std::string& path, pid_t pid) {
    if (path.empty()) return {};
    std::string tmp = path + ".tmp";
    if (auto s = write_file(tmp, std::to_string(pid)); !s) return s;
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        auto e = sys_error("rename", path);
        ::unlink(tmp.c_str());
        return fail(std::move(e));
    }
    return {};
}

Result<Container> Container::create(const CreateOptions& options) {
    auto started = std::chrono::steady_clock::now();
    if (auto s = validate_id(options.id); !s) return fail(s.error());
    // Rootless (rootless.hpp): a config the caller cannot run is refused before anything exists.
    CreateOptions adapted;
    bool rootless = rootless::active();
    if (rootless) {
        adapted = options;
        if (auto s = rootless::adapt_spec(adapted.spec); !s) return fail(s.error());
        if (auto s = rootless::check_state_root(adapted.state_root); !s) return fail(s.error());
    }
    const CreateOptions& o = rootless ? adapted : options;
    auto plan = ns::plan(o.spec);
    if (!plan) return fail(plan.error());
    // Image layers are an overlay mounted inside the container's own mount namespace.
    if (!plan->new_mount && !o.image_layers.empty())
        return fail(plain_error("create container", "linux.namespaces",
                                "image layers (--layer, --default-image) need a new mount namespace"));
    // Detected once: every step of this create (cgroups, their mounts, a rollback) uses it.
    auto layout = rootless::detect_cgroups();
    if (!layout) return fail(layout.error());
    std::string cgroup_path = cgroup_path_for(o.spec, o.id);
    if (rootless) {
        auto path = rootless::cgroup_path(*layout, o.spec, cgroup_path);
        if (!path) return fail(path.error());
        cgroup_path = *path;
    }
    std::string dir = state_dir(o.state_root, o.id);
    if (auto s = make_state_dir(o.state_root, dir, o.id); !s) return fail(s.error());
    Rollback rollback;
    rollback.layout = &*layout;
    rollback.dir = dir;

    State st;
    st.id = o.id;
    st.bundle = o.bundle;
    st.rootfs = resolve_rootfs(o, dir);
    st.cgroup_path = cgroup_path;  // "" = none (rootless, not delegated)
    st.created = utc_timestamp();
    st.annotations = o.spec.annotations;
    st.has_lifecycle_hooks = !o.spec.hooks.poststart.empty() || !o.spec.hooks.poststop.empty();
    st.owner = current_owner();
    // Saved before anything else exists, so `delete --force` can find the cgroup after a SIGKILL,
    // with the directories the cgroup create is about to make.
    st.cgroup_created = cgroup_path.empty() ? std::vector<std::string>{} : predicted_cgroup_dirs(*layout, st.cgroup_path);
    if (auto s = save_state(o.state_root, st); !s) return fail(s.error());
    if (auto s = write_file(dir + "/config.json", o.spec_json.empty() ? spec::to_json(o.spec).dump() : o.spec_json); !s)
        return fail(s.error());

    auto cgroups = make_cgroups(*layout, o.spec, st.cgroup_path);
    if (!cgroups) return fail(cgroups.error());
    rollback.cgroups = std::move(*cgroups);
    if (rollback.cgroups->created_dirs() != *st.cgroup_created) {
        st.cgroup_created = rollback.cgroups->created_dirs();
        if (auto s = overwrite_state(o.state_root, st); !s) return fail(s.error());
    }
    auto fifo = o.start_at_once ? Result<UniqueFd>(UniqueFd{}) : make_exec_fifo(dir);
    if (!fifo) return fail(fifo.error());
    if (plan->new_user)
        if (auto s = hand_over_to_mapped_root(dir, o.spec, fifo->get() >= 0); !s) return fail(s.error());
    auto sync = make_sync_pair();
    if (!sync) return fail(sync.error());
    UniqueFd console;
    if (o.spec.process.terminal && !o.console_socket.empty()) {
        auto connected = connect_console_socket(o.console_socket);
        if (!connected) return fail(connected.error());
        console = std::move(*connected);
    } else if (o.spec.process.terminal && o.console_fd >= 0) {
        console = UniqueFd(::fcntl(o.console_fd, F_DUPFD_CLOEXEC, 3));
        if (!console) return fail(sys_error("dup", "console socket"));
    }

    InitConfig config{&o.spec, *plan, st.rootfs, o.image_layers, dir, cgroup_mounts(*layout, *rollback.cgroups),
                      sync->child.get(), fifo->get(),
                      !o.spec.hooks.prestart.empty() || !o.spec.hooks.create_runtime.empty(), console.get(), {}, {}, true, o.id};
    if (!o.image_layers.empty())
        // upper/ becomes the container's "/": 0755, or no non-root process could use its root.
        for (auto [sub, mode] : {std::pair{"/upper", 0755u}, std::pair{"/work", 0700u}})
            if (auto s = make_dirs(dir + sub, mode); !s) return fail(s.error());

    // The init joins its v1 cgroups itself (Manager::v1_paths says why) and is born in its v2
    // one (CLONE_INTO_CGROUP); on a hybrid host both. Not in a user namespace, whose root may not
    // write the host's cgroup files: add_process then does all from here.
    bool self_attach = !plan->new_user;
    if (self_attach)
        for (const auto& dir : rollback.cgroups->v1_paths())
            config.self_attach.push_back({dir + "/tasks", cgroup::at::resolve(dir + "/tasks")});
    UniqueFd original_pid_ns;
    if (!plan->pid_path.empty()) {
        auto orig = enter_pid_namespace_for_children(plan->pid_path);
        if (!orig) return fail(orig.error());
        original_pid_ns = std::move(*orig);
    }
    // Idmapped mounts need the host's privileges over the source filesystem: made here, moved
    // into place by the init (rootfs/idmap.hpp). Our copies close right after the clone.
    auto idmapped = rootfs::prepare_idmapped_mounts(o.spec, plan->new_user);
    if (!idmapped) return fail(idmapped.error());
    for (const auto& tree : *idmapped) config.idmapped_trees.push_back(tree.get());
    std::optional<int> cgroup_fd = rollback.cgroups->clone_into_fd();
    bool attached = attached_without_runtime(*rollback.cgroups, self_attach, cgroup_fd.has_value());
    config.await_go = runtime_works_on_child(o.spec, *plan, attached, config.runtime_hooks);
    bool any_idmapped = std::ranges::any_of(*idmapped, [](const UniqueFd& tree) { return tree.get() >= 0; });
    if (shared_init_eligible(o.spec, *plan, config.await_go, any_idmapped))
        if (auto memory = SharedInitMemory::map(o.spec.process)) {
            rollback.shared = std::move(*memory);
            config.shared = rollback.shared->plan();
        }
    auto pid = config.shared ? clone_shared_init(config, cgroup_fd, *rollback.shared)
                             : clone_init(config, cgroup_fd, sync->child.get());
    if (!pid && config.shared && pid.error().err == EINVAL) {
        config.shared = nullptr;
        rollback.shared->init_done();  // unused: no child was made
        rollback.shared.reset();
        pid = clone_init(config, cgroup_fd, sync->child.get());
    }
    idmapped->clear();
    if (original_pid_ns && ::setns(original_pid_ns.get(), CLONE_NEWPID) != 0)
        return fail(sys_error("setns back to", "the runtime's pid namespace"));
    if (!pid) return fail(pid.error());
    rollback.child = *pid;
    sync->child.reset();
    // Sharing memory, nothing of ours may run until the init's "ready" (rule 1): its wait first.
    if (config.shared)
        if (auto s = await_shared_init(sync->parent.get(), *pid, o.setup_timeout, rollback, o.spec); !s)
            return fail(s.error());

    if (auto s = prepare_child(*pid, o, *plan, *rollback.cgroups, attached); !s)
        return fail(s.error());
    // The OCI state for the init's requests and the hooks; a sharing init has neither
    // (shared_init_eligible), so it is not built for one.
    std::string state_json;
    if (!config.shared) {
        State creating = st;
        creating.pid = *pid;
        state_json = oci_state_json(creating);
        rollback.state_json = state_json;
    }
    if (!o.spec.hooks.create_container.empty() || !o.spec.hooks.start_container.empty())
        rollback.poststop = &o.spec.hooks.poststop;  // a failing hook in the init: step 12, then 13
    if (config.await_go)
        if (auto s = send_go(sync->parent.get(), state_json, rollback, o.spec); !s) return fail(s.error());
    if (!config.shared)
        if (auto s = await_ready(sync->parent.get(), o.setup_timeout, rollback, o.spec, state_json); !s)
            return fail(s.error());

    st.status = ContainerStatus::created;
    st.pid = *pid;
    st.pid_start_time = process_start_time(*pid);
    if (auto s = overwrite_state(o.state_root, st); !s) return fail(s.error());
    if (auto s = write_pid_file(o.pid_file, *pid); !s) return fail(s.error());

    rollback.committed = true;
    inject_create_delay(started);  // gating-quality measurement only (inject_delay.hpp)
    Container c;
    c.root_ = o.state_root;
    c.state_ = st;
    c.sync_ = std::move(sync->parent);
    c.layout_ = std::move(*layout);
    c.cgroups_ = std::move(rollback.cgroups);
    c.is_parent_ = true;
    c.started_at_once_ = o.start_at_once;
    c.shared_init_ = std::move(rollback.shared);
    return c;
}

}  // namespace ctb::container
