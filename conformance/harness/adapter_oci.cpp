// OCI CLI adapter: drives any runc-compatible binary (runc, crun, ctbench-runtime, a path)
// through a generated bundle. ctbench's engine provides the rootfs (an overlay of the embedded
// image mounted on the bundle) and the cgroup path (below ctbench/, by the naming rule).
//
// The adapter lives in a case's own child process. It unshares a private mount namespace there,
// so the bundle's overlay dies with the case, and it becomes a child subreaper, so a detached
// container's init is reparented to it and its exit status can be collected.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fmt/format.h>

#include "common/deadline.hpp"
#include "common/files.hpp"
#include "common/subprocess.hpp"
#include "conformance/harness/adapter_internal.hpp"
#include "conformance/harness/rootless.hpp"
#include "runtime/image/image.hpp"
#include "runtime/rootfs/overlay.hpp"
#include "runtime/spec/parse.hpp"

namespace ctb::conformance {
namespace {

constexpr const char* kConformanceRoot = "/run/ctbench/conformance";

struct Spawned {
    int status = -1;  // 128 + signal when killed
    bool timed_out = false;
    RunOutput output;
};

// Runs argv with stdout/stderr into memory files (a detached container inherits them too, so
// its later output stays readable) and waits up to `timeout`, killing it by pid at the deadline.
Result<Spawned> spawn_and_wait(const std::vector<std::string>& argv, std::chrono::milliseconds timeout, int out_fd,
                               int err_fd) {
    std::vector<char*> cargv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
    pid_t pid = 0;
    int rc = ::posix_spawn(&pid, cargv[0], &fa, nullptr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return fail(sys_error("spawn", argv[0], rc));
    Spawned s;
    int wstatus = 0;
    bool done = retry_until(Deadline(timeout), [&] { return ::waitpid(pid, &wstatus, WNOHANG) == pid; });
    if (!done) {
        ::kill(pid, SIGKILL);  // the runtime process we started, by pid
        ::waitpid(pid, &wstatus, 0);
        s.timed_out = true;
    }
    s.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    return s;
}

struct MemFiles {
    UniqueFd out, err;
    static Result<MemFiles> make() {
        MemFiles m{UniqueFd(::memfd_create("ctb-out", MFD_CLOEXEC)), UniqueFd(::memfd_create("ctb-err", MFD_CLOEXEC))};
        if (!m.out || !m.err) return fail(sys_error("memfd_create", "runtime output"));
        return m;
    }
    RunOutput read() const { return {-1, read_whole_fd(out.get()), read_whole_fd(err.get())}; }
};

bool is_hybrid_with_unified() {
    auto info = read_file("/proc/self/mountinfo");
    return info && info->find(" /sys/fs/cgroup/unified ") != std::string::npos &&
           info->find(" - cgroup cgroup ") != std::string::npos;
}

// One container's bundle: config.json plus an overlay rootfs (image + extra layers + upper).
class Bundle {
public:
    // `user`: the runtime runs as this unprivileged user (rootless.hpp), which must reach the
    // bundle and own the container's "/".
    static Result<Bundle> make(const RunRequest& r, const std::string& id, const rootless::Identity* user = nullptr) {
        Bundle b;
        b.dir_ = fmt::format("{}/bundles/{}", kConformanceRoot, id);
        // upper/ becomes the container's "/": 0755, or no non-root process could use its root.
        for (auto [sub, mode] : {std::pair{"/rootfs", 0700u}, std::pair{"/upper", 0755u}, std::pair{"/work", 0700u}})
            if (auto s = make_dirs(b.dir_ + sub, mode); !s) return fail(s.error());
        // Before the mount: overlay takes its root's owner from upper/ when it is mounted.
        if (user)
            if (auto s = open_to(*user, b.dir_); !s) return fail(s.error());
        auto image = image::ensure_default_image();
        if (!image) return fail(image.error());
        rootfs::OverlayLayers layers;
        layers.lower = r.extra_layers;
        layers.lower.push_back(*image);
        layers.upper = b.dir_ + "/upper";
        layers.work = b.dir_ + "/work";
        if (auto s = rootfs::mount_overlay(layers, b.dir_ + "/rootfs"); !s) return fail(s.error());
        b.mounted_ = true;
        spec::Spec spec = r.spec;
        spec.root.path = b.dir_ + "/rootfs";
        if (user) {
            rootless::adapt_spec(spec, *user);  // and no cgroupsPath: the runtime decides (rootless)
        } else if (spec.linux.cgroups_path.empty()) {
            spec.linux.cgroups_path = "/ctbench/" + id;
        }
        if (auto s = write_file(b.dir_ + "/config.json", spec::to_json(spec).dump(2)); !s) return fail(s.error());
        return b;
    }
    Bundle() = default;
    Bundle(Bundle&& o) noexcept : dir_(std::move(o.dir_)), mounted_(std::exchange(o.mounted_, false)) { o.dir_.clear(); }
    ~Bundle() {
        if (dir_.empty()) return;
        if (mounted_) ::umount2((dir_ + "/rootfs").c_str(), MNT_DETACH);
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
        ::rmdir((std::string(kConformanceRoot) + "/bundles").c_str());
        ::rmdir(kConformanceRoot);
    }
    const std::string& dir() const { return dir_; }

private:
    // The bundle's directories searchable by the user, and the container's root (upper) its own.
    static Status open_to(const rootless::Identity& user, const std::string& dir) {
        for (const std::string& d : {std::string(kConformanceRoot), std::string(kConformanceRoot) + "/bundles", dir})
            if (::chmod(d.c_str(), 0711) != 0) return fail(sys_error("chmod 0711", d));
        std::string upper = dir + "/upper";
        if (::chown(upper.c_str(), user.uid, user.gid) != 0) return fail(sys_error("chown to the rootless user", upper));
        return {};
    }
    std::string dir_;
    bool mounted_ = false;
};

class OciRuntime;

class OciContainer : public RunningContainer {
public:
    OciContainer(OciRuntime& rt, std::string id, pid_t pid, Bundle bundle, MemFiles files)
        : rt_(rt), id_(std::move(id)), pid_(pid), bundle_(std::move(bundle)), files_(std::move(files)) {}
    ~OciContainer() override;
    std::string id() const override { return id_; }
    pid_t pid() const override { return pid_; }
    Result<RunOutput> exec(const std::vector<std::string>& args) override;
    Status kill(int signal) override;
    Result<RunOutput> wait(std::chrono::milliseconds timeout) override {
        auto status = reaper_.wait(timeout);
        RunOutput out = files_.read();
        out.status = status.value_or(-1);
        return out;
    }

private:
    OciRuntime& rt_;
    std::string id_;
    pid_t pid_;
    Bundle bundle_;
    MemFiles files_;
    InitReaper reaper_{pid_};
};

class OciRuntime : public Runtime {
public:
    explicit OciRuntime(std::string path, std::optional<rootless::Identity> user = std::nullopt)
        : path_(std::move(path)), user_(std::move(user)) {
        root_ = fmt::format("{}/{}-{}", kConformanceRoot, std::filesystem::path(path_).filename().string(), ::getpid());
        // Rootless: a directory of the user's, holding the --root it may make and remove again.
        if (user_) {
            user_dir_ = root_ + "-rootless";
            root_ = user_dir_ + "/state";
        }
    }
    ~OciRuntime() override {
        ::rmdir(root_.c_str());
        if (!user_dir_.empty()) {
            std::error_code ec;
            std::filesystem::remove_all(user_dir_, ec);
        }
        ::rmdir(kConformanceRoot);
    }
    std::string name() const override { return path_; }

    Status prepare() {
        // Private mount namespace: the bundle overlays die with the case.
        if (::unshare(CLONE_NEWNS) != 0) return fail(sys_error("unshare", "mount namespace"));
        if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return fail(sys_error("make private", "/"));
        // crun 1.8.1 refuses hybrid hosts unless the v2 mount is hidden (in this namespace only).
        if (std::filesystem::path(path_).filename() == "crun" && is_hybrid_with_unified())
            ::umount2("/sys/fs/cgroup/unified", MNT_DETACH);
        if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return fail(sys_error("prctl", "PR_SET_CHILD_SUBREAPER"));
        if (user_) return prepare_rootless();
        return {};
    }

    Status prepare_rootless() {
        auto setpriv = find_executable("setpriv");
        if (!setpriv) return fail(plain_error("--rootless", "setpriv", "is missing (util-linux)"));
        setpriv_ = *setpriv;
        if (auto s = make_dirs(user_dir_, 0700); !s) return s;
        if (::chown(user_dir_.c_str(), user_->uid, user_->gid) != 0) return fail(sys_error("chown to the rootless user", user_dir_));
        return {};
    }

    Result<RunOutput> run(const RunRequest& r) override {
        std::string id = unique_id();
        auto bundle = Bundle::make(r, id, user_ ? &*user_ : nullptr);
        if (!bundle) return fail(bundle.error());
        auto files = MemFiles::make();
        if (!files) return fail(files.error());
        auto s = spawn_and_wait(command({"run", "--bundle", bundle->dir(), id}), r.timeout, files->out.get(), files->err.get());
        delete_container(id);
        if (!s) return fail(s.error());
        RunOutput out = files->read();
        if (s->timed_out) return fail(plain_error("run container", id, "timed out; stderr: " + out.err));
        out.status = s->status;
        return out;
    }

    Result<std::unique_ptr<RunningContainer>> start(const RunRequest& r) override {
        std::string id = unique_id();
        auto bundle = Bundle::make(r, id, user_ ? &*user_ : nullptr);
        if (!bundle) return fail(bundle.error());
        auto files = MemFiles::make();
        if (!files) return fail(files.error());
        auto s = spawn_and_wait(command({"run", "--detach", "--bundle", bundle->dir(), id}), r.timeout,
                                files->out.get(), files->err.get());
        if (!s || s->status != 0) {
            delete_container(id);
            if (!s) return fail(s.error());
            return fail(plain_error("start container", id, fmt::format("{} exited {}: {}", path_, s->status, files->read().err)));
        }
        auto pid = init_pid(id);
        if (!pid) {
            delete_container(id);
            return fail(pid.error());
        }
        return std::unique_ptr<RunningContainer>(new OciContainer(*this, id, *pid, std::move(*bundle), std::move(*files)));
    }

    std::vector<std::string> command(std::vector<std::string> args) const {
        args.insert(args.begin(), {path_, "--root", root_});
        // Rootless: the runtime itself runs as the user, with no supplementary groups.
        if (user_)
            args.insert(args.begin(), {setpriv_, "--reuid", std::to_string(user_->uid), "--regid",
                                       std::to_string(user_->gid), "--clear-groups", "--"});
        return args;
    }
    void delete_container(const std::string& id) {
        RunOptions o;
        o.timeout = std::chrono::seconds(10);
        (void)run_process(command({"delete", "--force", id}), o);
    }

private:
    Result<pid_t> init_pid(const std::string& id) {
        auto out = run_process(command({"state", id}));
        if (!out || !out->exited_ok()) return fail(plain_error("state of", id, out ? out->output : out.error().message()));
        auto j = nlohmann::json::parse(out->output, nullptr, false);
        if (j.is_discarded() || !j.contains("pid")) return fail(plain_error("parse state of", id, out->output));
        return j["pid"].get<pid_t>();
    }

    std::string path_, root_;
    std::optional<rootless::Identity> user_;
    std::string user_dir_, setpriv_;
};

OciContainer::~OciContainer() {
    rt_.delete_container(id_);
    // We are the subreaper of the detached init: reap it, or it lingers as a zombie.
    (void)reaper_.wait(std::chrono::seconds(2));
}

Result<RunOutput> OciContainer::exec(const std::vector<std::string>& args) {
    auto files = MemFiles::make();
    if (!files) return fail(files.error());
    std::vector<std::string> cmd{"exec", id_};
    cmd.insert(cmd.end(), args.begin(), args.end());
    auto s = spawn_and_wait(rt_.command(cmd), std::chrono::seconds(20), files->out.get(), files->err.get());
    if (!s) return fail(s.error());
    RunOutput out = files->read();
    out.status = s->status;
    return out;
}

Status OciContainer::kill(int signal) {
    auto out = run_process(rt_.command({"kill", id_, std::to_string(signal)}));
    if (!out) return fail(out.error());
    if (!out->exited_ok()) return fail(plain_error("kill container", id_, out->output));
    return {};
}

}  // namespace

Result<std::unique_ptr<Runtime>> make_oci_cli_runtime(const std::string& name_or_path) {
    auto user = rootless::decode(name_or_path);
    auto path = find_executable(user ? user->runtime : name_or_path);
    if (!path) return fail(plain_error("runtime", name_or_path, "no such executable"));
    auto rt = std::make_unique<OciRuntime>(*path, user);
    if (auto s = rt->prepare(); !s) return fail(s.error());
    return std::unique_ptr<Runtime>(std::move(rt));
}

}  // namespace ctb::conformance
