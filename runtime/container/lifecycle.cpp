// The rest of the lifecycle: start, wait, kill, pause/resume, ps, delete, run.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <optional>
#include <filesystem>
#include <functional>
#include <fmt/format.h>

#include "common/deadline.hpp"
#include "common/files.hpp"
#include "runtime/cgroups/manager.hpp"
#include "runtime/container/container.hpp"
#include "runtime/container/shared_init.hpp"
#include "runtime/container/hooks.hpp"
#include "runtime/container/rootless.hpp"
#include "runtime/spec/parse.hpp"
#include "runtime/container/sync.hpp"

namespace ctb::container {
namespace {

Result<std::unique_ptr<cgroup::Manager>> open_cgroups(const cgroup::Layout& layout, const State& s) {
    return rootless::open_cgroups(layout, s);  // the path create chose, or none (rootless)
}

Result<std::unique_ptr<cgroup::Manager>> open_cgroups(const State& s) {
    auto layout = rootless::detect_cgroups();
    if (!layout) return fail(layout.error());
    return open_cgroups(*layout, s);
}


bool process_gone(const State& s) { return init_gone(s); }

// What the init wrote on the fifo after its '0', up to EOF (its end closes on exec): nothing
// when the exec worked, the error JSON when a step after start failed.
std::optional<Error> read_init_outcome(int fd, const State& s) {
    std::string text;
    char buf[4096];
    Deadline deadline(std::chrono::seconds(10));
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
            text.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        if (n == 0) break;  // EOF: exec'd, or died
        if (errno != EAGAIN && errno != EINTR) break;
        if (deadline.expired())
            return plain_error("start container", s.id, "the init neither exec'd nor failed within 10 s");
        pollfd pfd{fd, POLLIN, 0};
        ::poll(&pfd, 1, 100);
    }
    if (text.empty()) return std::nullopt;
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.contains("error"))
        return plain_error("start container", s.id, "the init sent an unreadable message: " + text);
    return error_from_json(j["error"]);
}

// Reads the byte the init writes once `start` opened the fifo, then whatever the init reports
// until it execs. The outer error means start was refused (the container is as it was); the
// inner one that the init failed after it was released.
Result<std::optional<Error>> release_init(const std::string& dir, const State& s) {
    std::string path = dir + "/exec.fifo";
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) return fail(plain_error("start container", s.id, "already started"));
        return fail(sys_error("open", path));
    }
    // The init is blocked opening the fifo for writing; our open releases it and it writes at
    // once. poll() wakes exactly then (a sleeping retry loop lost a millisecond per start); the
    // 100 ms slices only look for an init that died instead.
    char byte = 0;
    bool got = false;
    Deadline deadline(std::chrono::seconds(10));
    while (!got && !deadline.expired()) {
        if (::read(fd.get(), &byte, 1) == 1) {
            got = true;
            break;
        }
        // Whether the init died instead is asked only when no byte is waiting: a fast init may
        // have written it, exec'd and exited (POLLIN|POLLHUP) before this read.
        pollfd pfd{fd.get(), POLLIN, 0};
        if ((::poll(&pfd, 1, 100) == 0 || !(pfd.revents & POLLIN)) && process_gone(s)) break;
    }
    ::unlink(path.c_str());
    if (!got || byte != '0')
        return std::optional<Error>(plain_error("start container", s.id, "the init exited before exec"));
    return read_init_outcome(fd.get(), s);
}

int exit_status(int wstatus) {
    if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
    if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
    return 255;
}

Status wait_until_gone(const State& s, std::chrono::milliseconds budget) {
    if (retry_until(Deadline(budget), [&] { return process_gone(s); })) return {};
    return fail(plain_error("wait for", fmt::format("container {} init pid {}", s.id, s.pid), "still alive"));
}

}  // namespace

Result<Container> Container::load(const std::string& state_root, const std::string& id) {
    auto s = load_state(state_root, id);
    if (!s) return fail(s.error());
    Container c;
    c.root_ = state_root;
    c.state_ = *s;
    return c;
}

Container::Container(Container&& other) noexcept
    : root_(std::move(other.root_)),
      state_(std::move(other.state_)),
      sync_(std::move(other.sync_)),
      layout_(std::move(other.layout_)),
      cgroups_(std::move(other.cgroups_)),
      is_parent_(std::exchange(other.is_parent_, false)),
      reaped_(other.reaped_),
      started_at_once_(other.started_at_once_),
      shared_init_(std::move(other.shared_init_)) {}

Container& Container::operator=(Container&& other) noexcept {
    if (this == &other) return *this;
    root_ = std::move(other.root_);
    state_ = std::move(other.state_);
    sync_ = std::move(other.sync_);
    layout_ = std::move(other.layout_);
    cgroups_ = std::move(other.cgroups_);
    is_parent_ = std::exchange(other.is_parent_, false);
    reaped_ = other.reaped_;
    started_at_once_ = other.started_at_once_;
    shared_init_ = std::move(other.shared_init_);
    return *this;
}

void Container::init_left_our_memory() {
    if (shared_init_) shared_init_->init_done();
    shared_init_.reset();
}

Container::~Container() {
    // A created-and-started container we are the parent of: reap it so it does not linger as a
    // zombie. (Callers normally wait() or delete first.)
    if (is_parent_ && !reaped_ && state_.pid > 0) ::waitpid(state_.pid, nullptr, WNOHANG);
    if (reaped_) init_left_our_memory();  // else an init that shares it may still need it
}

State Container::state() const {
    State s = state_;
    auto frozen = [&] {  // paused
        if (cgroups_) return cgroups_->frozen();
        auto cg = layout_ ? open_cgroups(*layout_, s) : open_cgroups(s);
        return cg && (*cg)->frozen();
    };
    s.status = s.status == ContainerStatus::creating ? ContainerStatus::creating : live_status(root_, s, frozen);
    return s;
}

Status Container::start() {
    // Started at once (CreateOptions::start_at_once): the init needs no release; whether it
    // exec'd comes from the sync channel alone. Only once: a second start finds no channel.
    if (started_at_once_ && !sync_)
        return fail(plain_error("start container", state_.id, "already started (created with start_at_once)"));
    State s = started_at_once_ ? state_ : state();
    if (!started_at_once_ && s.status != ContainerStatus::created)
        return fail(plain_error("start container", s.id, "is " + to_string(s.status) + ", not created"));
    std::optional<Error> failed;
    if (!started_at_once_) {
        auto outcome = release_init(state_dir(root_, s.id), s);
        if (!outcome) return fail(outcome.error());
        failed = std::move(*outcome);
    }
    bool init_exec_seen = false;
    if (sync_) {
        // In the creating process the sync socket carries the same error (or EOF on exec).
        auto msg = receive_message(sync_.get(), std::chrono::seconds(10));
        sync_.reset();
        if (!failed && !msg) failed = msg.error();
        if (!failed && msg->contains("error")) failed = error_from_json((*msg)["error"]);
        // EOF, no error: the init exec'd (close-on-exec runs after its memory was replaced).
        init_exec_seen = !failed && msg && msg->empty();
    }
    if (failed) {
        // The init's failure is start's: nothing of the container stays (the spec's "start
        // fails"; a stopped husk would only wait for a delete nobody knows to send).
        if (delete_container(root_, s.id, true)) init_left_our_memory();  // killed and waited for
        return fail(std::move(*failed));
    }
    if (init_exec_seen) init_left_our_memory();
    // Not written back: the status on disk is only ever "creating" or "created", and every
    // reader derives running/paused/stopped from the live init (live_status), so a rewrite would
    // only cost a block freed (and, on a discard mount, a wait for the device).
    state_.status = ContainerStatus::running;
    if (!state_.has_lifecycle_hooks) return {};
    if (auto spec = spec::load_spec(state_dir(root_, s.id)); spec && !spec->hooks.poststart.empty())
        run_hooks_warning_only(spec->hooks.poststart, "poststart", oci_state_json(state_));
    return {};
}

Result<int> Container::wait() {
    if (!is_parent_) return fail(plain_error("wait for container", state_.id, "not a child of this process"));
    int wstatus = 0;
    while (::waitpid(state_.pid, &wstatus, 0) < 0) {
        if (errno != EINTR) return fail(sys_error("waitpid", std::to_string(state_.pid)));
    }
    reaped_ = true;
    init_left_our_memory();
    return exit_status(wstatus);
}

Status Container::kill(int signal, bool all) {
    State s = state();
    // runtime.md#kill: a container that is neither created nor running (stopped, paused, still
    // creating) is an error and is left as it is. --all (runc's extension) also reaches the
    // processes a stopped container without a pid namespace left in its cgroup.
    if (!all && s.status != ContainerStatus::created && s.status != ContainerStatus::running)
        return fail(plain_error("kill container", s.id,
                                "is " + to_string(s.status) + ", neither created nor running (runtime-spec kill)" +
                                    (s.status == ContainerStatus::paused ? "; resume it first" : "")));
    if (all) {
        auto cg = open_cgroups(s);
        if (!cg) return fail(cg.error());
        return (*cg)->kill_all(signal);
    }
    if (::kill(s.pid, signal) != 0) return fail(sys_error("kill", fmt::format("pid {} of container {}", s.pid, s.id)));
    return {};
}

Status Container::pause() {
    auto cg = open_cgroups(state_);
    if (!cg) return fail(cg.error());
    return (*cg)->freeze();
}

Status Container::resume() {
    auto cg = open_cgroups(state_);
    if (!cg) return fail(cg.error());
    return (*cg)->thaw();
}

Result<std::vector<pid_t>> Container::processes() const {
    auto cg = open_cgroups(state_);
    if (!cg) return fail(cg.error());
    return (*cg)->processes();
}

namespace {

// The cgroup of a container whose init is gone is usually empty already (a pid namespace's
// processes die with its init): one rmdir pass tells. Only a cgroup that is still busy gets the
// kill-and-wait treatment.
Status remove_cgroups(const cgroup::Layout& layout, const State& s, cgroup::Manager& cg,
                      std::chrono::milliseconds budget) {
    if (s.cgroup_created) return cgroup::remove_created_dirs(layout, *s.cgroup_created, budget);
    return cg.destroy(budget);
}

Status empty_and_remove_cgroups(const cgroup::Layout& layout, const State& s, cgroup::Manager& cg, bool live) {
    // (Directories recorded at create had their rmdir pass in stop_and_remove_cgroups already.)
    if (!live && !s.cgroup_created)
        if (remove_cgroups(layout, s, cg, std::chrono::milliseconds(0))) return {};
    if (s.status == ContainerStatus::paused) (void)cg.thaw();  // frozen tasks cannot die
    (void)cg.kill_all(SIGKILL);
    if (live)
        if (auto w = wait_until_gone(s, std::chrono::seconds(10)); !w) return w;
    return remove_cgroups(layout, s, cg, std::chrono::seconds(10));
}

using OpenedCgroups = Result<std::unique_ptr<cgroup::Manager>>;

// The container's cgroups removed, its processes killed first where some may be left (all of
// them through its cgroup, or the init alone when it has none). A stopped container's
// directories recorded at create go by one rmdir pass without a Manager: `cgroups` opens one
// (which first checks every hierarchy for the directory) only when that is not enough.
Status stop_and_remove_cgroups(const cgroup::Layout& layout, const State& s,
                               const std::function<OpenedCgroups&()>& cgroups, bool live) {
    if (!live && s.cgroup_created &&
        cgroup::remove_created_dirs(layout, *s.cgroup_created, std::chrono::milliseconds(0)))
        return {};
    auto& cg = cgroups();
    if (cg) return empty_and_remove_cgroups(layout, s, **cg, live);
    if (!live) return {};
    ::kill(s.pid, SIGKILL);
    return wait_until_gone(s, std::chrono::seconds(10));
}

}  // namespace

namespace {

// The state directory as a container that wrote nothing leaves it, removed entry by entry (the
// recursive walk opens, stats and lists every directory first). Anything else - files in upper/
// that the container wrote, a mount still on rootfs/, entries of another version - makes the
// last rmdir fail, and the walk removes what is left.
Status remove_state_dir(const std::string& dir) {
    UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!d && errno == ENOENT) return {};
    if (d) {
        for (const char* file : {"state.json", "config.json", "exec.fifo"}) ::unlinkat(d.get(), file, 0);
        for (const char* sub : {"rootfs", "work/work", "work", "upper"}) ::unlinkat(d.get(), sub, AT_REMOVEDIR);
        d.reset();
        if (::rmdir(dir.c_str()) == 0) return {};
    }
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    if (ec) return fail(sys_error("remove", dir, ec.value()));
    return {};
}

// delete of a container whose state is known: read from its state.json, or held by the process
// that created it.
Status delete_with_state(const std::string& root, State s, bool force) {
    const std::string& id = s.id;
    std::string dir = state_dir(root, id);
    auto layout = rootless::detect_cgroups();  // once for the whole delete
    if (!layout) return fail(layout.error());
    // Opened only when needed (stop_and_remove_cgroups says when).
    std::optional<OpenedCgroups> opened;
    auto cgroups = [&]() -> OpenedCgroups& {
        if (!opened) opened = open_cgroups(*layout, s);
        return *opened;
    };
    if (s.status != ContainerStatus::creating)
        s.status = live_status(root, s, [&] { return cgroups() && (*cgroups())->frozen(); });
    // The poststop hooks come from the config the container was created with, read before the
    // state directory goes.
    std::vector<spec::Hook> poststop;
    if (s.has_lifecycle_hooks)
        if (auto spec = spec::load_spec(dir); spec) poststop = spec->hooks.poststop;
    bool live = s.status != ContainerStatus::stopped && s.status != ContainerStatus::creating;
    // runtime.md#delete: deleting a container that is not stopped (created too, which runc
    // deletes anyway, and creating) is an error that leaves it as it is; --force kills first.
    if (s.status != ContainerStatus::stopped && !force)
        return fail(plain_error("delete container", id,
                                "is " + to_string(s.status) + ", not stopped (runtime-spec delete); kill it first or use --force"));
    if (auto d = stop_and_remove_cgroups(*layout, s, cgroups, live); !d) return d;
    if (auto r = remove_state_dir(dir); !r) return r;
    ::rmdir(root.c_str());  // the last container takes the (then empty) state root with it
    if (!poststop.empty()) {
        s.status = ContainerStatus::stopped;
        run_hooks_warning_only(poststop, "poststop", oci_state_json(s));
    }
    return {};
}

}  // namespace

Status delete_container(const std::string& root, const std::string& id, bool force) {
    if (auto v = validate_id(id); !v) return v;
    auto loaded = load_state(root, id);
    if (loaded) return delete_with_state(root, *loaded, force);
    if (force) {
        std::error_code ec;
        std::filesystem::remove_all(state_dir(root, id), ec);  // a state dir without state.json: half-created
        ::rmdir(root.c_str());
        return {};
    }
    return fail(loaded.error());
}

Status Container::remove(bool force) {
    auto removed = delete_with_state(root_, state_, force);
    if (removed && is_parent_) init_left_our_memory();  // the init was gone, or killed and waited for
    return removed;
}

Status update_resources(const std::string& root, const std::string& id, const spec::Resources& resources) {
    auto c = Container::load(root, id);
    if (!c) return fail(c.error());
    State s = c->state();
    if (s.status == ContainerStatus::stopped || s.status == ContainerStatus::creating)
        return fail(plain_error("update container", id, "is " + to_string(s.status)));
    auto cg = open_cgroups(s);
    if (!cg) return fail(cg.error());
    return (*cg)->apply(resources);
}

Result<int> run(const CreateOptions& options) {
    if (!options.start_at_once) {  // run starts at once by definition (CreateOptions::start_at_once)
        CreateOptions at_once = options;
        at_once.start_at_once = true;
        return run(at_once);
    }
    auto c = Container::create(options);
    if (!c) return fail(c.error());
    auto started = c->start();
    Result<int> status = started ? c->wait() : Result<int>(std::unexpected(started.error()));
    auto deleted = c->remove(true);
    if (!status) return status;
    if (!deleted) return fail(deleted.error());
    return status;
}

}  // namespace ctb::container
