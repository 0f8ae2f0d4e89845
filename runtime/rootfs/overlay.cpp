#include "runtime/rootfs/overlay.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "common/fd.hpp"
#include "common/files.hpp"

namespace ctb::rootfs {
namespace {

constexpr const char* kStep = "mount overlay on";
// fsconfig copies string values with strndup_user(value, 256).
constexpr std::size_t kFsconfigStringMax = 255;

std::size_t page_size() { return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)); }

bool fits_in_page(const std::string& options) { return options.size() + 1 <= page_size(); }

std::string escape(const std::string& path) {
    std::string out;
    for (char c : path) {
        if (c == '\\' || c == ':' || c == ',') out += '\\';
        out += c;
    }
    return out;
}

std::string strip_prefix(const std::string& path, const std::string& dir) {
    if (dir.empty()) return path;
    if (dir == "/") return path.substr(1);
    return path.substr(dir.size() + 1);
}

std::string describe(const OverlayLayers& layers, const std::string& method) {
    return std::to_string(layers.lower.size()) + " lower layers, via " + method;
}

Status validate(const OverlayLayers& layers, const std::string& target) {
    if (layers.lower.empty()) return fail(plain_error(kStep, target, "no lower layer"));
    if (layers.upper.empty() != layers.work.empty())
        return fail(plain_error(kStep, target, "upper and work directories go together"));
    if (layers.upper.empty() && layers.lower.size() < 2)
        return fail(plain_error(kStep, target, "a read-only overlay needs at least two lower layers"));
    return {};
}

Status mount_legacy(const OverlayLayers& layers, const std::string& target) {
    std::string options = overlay_options(layers);
    if (!fits_in_page(options))
        return fail(plain_error(kStep, target, "options are " + std::to_string(options.size()) +
                                                   " bytes, more than a page"));
    if (::mount("overlay", target.c_str(), "overlay", 0, options.c_str()) != 0) {
        auto e = sys_error(kStep, target);
        e.detail = describe(layers, "mount(2)");
        return fail(e);
    }
    return {};
}

// The filesystem context's log ("e overlayfs: failed to ..."), the kernel's own explanation.
std::string fs_log(int fs_fd) {
    std::string out;
    char buf[512];
    for (;;) {
        ssize_t n = ::read(fs_fd, buf, sizeof buf);
        if (n <= 0) break;
        if (!out.empty()) out += "; ";
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

// A path parameter: by string when fsconfig takes it whole, else by descriptor (Linux 6.13+).
int set_path(int fs_fd, const char* key, const std::string& path) {
    if (path.size() <= kFsconfigStringMax) return ::fsconfig(fs_fd, FSCONFIG_SET_STRING, key, path.c_str(), 0);
    UniqueFd dir(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir) return -1;
    return ::fsconfig(fs_fd, FSCONFIG_SET_FD, key, nullptr, dir.get());
}

int set_option(int fs_fd, const std::string& option) {
    std::size_t eq = option.find('=');
    if (eq == std::string::npos) return ::fsconfig(fs_fd, FSCONFIG_SET_FLAG, option.c_str(), nullptr, 0);
    std::string key = option.substr(0, eq), value = option.substr(eq + 1);
    return ::fsconfig(fs_fd, FSCONFIG_SET_STRING, key.c_str(), value.c_str(), 0);
}

Error fsconfig_error(int fs_fd, const std::string& target, const std::string& what, const OverlayLayers& layers) {
    auto e = sys_error(kStep, target);
    std::string log = fs_log(fs_fd);
    e.detail = describe(layers, "fsconfig") + "; " + what + (log.empty() ? "" : "; kernel: " + log);
    return e;
}

Status configure(int fs_fd, const OverlayLayers& layers, const std::string& target) {
    for (const auto& l : layers.lower)
        if (set_path(fs_fd, "lowerdir+", l) != 0) return fail(fsconfig_error(fs_fd, target, "lowerdir+ " + l, layers));
    if (!layers.upper.empty()) {
        if (set_path(fs_fd, "upperdir", layers.upper) != 0)
            return fail(fsconfig_error(fs_fd, target, "upperdir " + layers.upper, layers));
        if (set_path(fs_fd, "workdir", layers.work) != 0)
            return fail(fsconfig_error(fs_fd, target, "workdir " + layers.work, layers));
    }
    for (const auto& o : layers.extra_options)
        if (set_option(fs_fd, o) != 0) return fail(fsconfig_error(fs_fd, target, o, layers));
    if (::fsconfig(fs_fd, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
        return fail(fsconfig_error(fs_fd, target, "create", layers));
    return {};
}

Status mount_fsconfig(const OverlayLayers& layers, const std::string& target) {
    UniqueFd fs(::fsopen("overlay", FSOPEN_CLOEXEC));
    if (!fs) return fail(sys_error("fsopen overlay for", target));
    if (auto s = configure(fs.get(), layers, target); !s) return s;
    UniqueFd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC, 0));
    if (!mnt) return fail(fsconfig_error(fs.get(), target, "fsmount", layers));
    if (::move_mount(mnt.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
        return fail(sys_error("move overlay mount to", target));
    return {};
}

// Asks the kernel rather than comparing versions: fsopen exists since 5.2, "lowerdir+" since 6.8
// (before that fsconfig rejects the unknown key with EINVAL). Nothing is mounted.
bool lowerdir_add_supported() {
    UniqueFd fs(::fsopen("overlay", FSOPEN_CLOEXEC));
    return fs && ::fsconfig(fs.get(), FSCONFIG_SET_STRING, "lowerdir+", "/", 0) == 0;
}

// The child shares our mount namespace, so its mount is ours; its cwd is its own, so the
// caller's cwd (and other threads) never see the chdir.
Status mount_relative(const OverlayLayers& layers, const std::string& target) {
    if (target.empty() || target.front() != '/')
        return fail(plain_error(kStep, target, "the relative method needs an absolute target"));
    std::string dir = common_parent(layers);
    std::string options = overlay_options(layers, dir);
    if (!fits_in_page(options))
        return fail(plain_error(kStep, target, "options are " + std::to_string(options.size()) +
                                                   " bytes even relative to " + dir));
    pid_t pid = ::fork();
    if (pid < 0) return fail(sys_error("fork", "overlay mount helper"));
    if (pid == 0) {  // only async-signal-safe calls between fork and _exit
        if (::chdir(dir.c_str()) != 0) ::_exit(128 + errno);
        ::_exit(::mount("overlay", target.c_str(), "overlay", 0, options.c_str()) == 0 ? 0 : errno);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status)) return fail(plain_error(kStep, target, "mount helper died"));
    int code = WEXITSTATUS(status);
    if (code > 128) return fail(sys_error("chdir", dir, code - 128));
    if (code != 0) {
        auto e = sys_error(kStep, target, code);
        e.detail = describe(layers, "mount(2) relative to " + dir);
        return fail(e);
    }
    return {};
}

}  // namespace

std::string overlay_options(const OverlayLayers& layers, const std::string& relative_to) {
    std::string out = "lowerdir=";
    for (std::size_t i = 0; i < layers.lower.size(); ++i) {
        if (i > 0) out += ":";
        out += escape(strip_prefix(layers.lower[i], relative_to));
    }
    if (!layers.upper.empty()) {
        out += ",upperdir=" + escape(strip_prefix(layers.upper, relative_to));
        out += ",workdir=" + escape(strip_prefix(layers.work, relative_to));
    }
    for (const auto& o : layers.extra_options) out += "," + o;
    return out;
}

std::string common_parent(const OverlayLayers& layers) {
    std::vector<std::string> paths = layers.lower;
    if (!layers.upper.empty()) paths.insert(paths.end(), {layers.upper, layers.work});
    // Start from the first path's directory, shorten until it contains every path.
    std::string dir = paths.empty() ? "/" : paths.front();
    auto contains = [](const std::string& d, const std::string& p) {
        return d == "/" || (p.size() > d.size() && p.compare(0, d.size(), d) == 0 && p[d.size()] == '/');
    };
    auto parent = [](const std::string& d) {
        std::size_t slash = d.find_last_of('/');
        return slash == 0 || slash == std::string::npos ? std::string("/") : d.substr(0, slash);
    };
    dir = parent(dir);
    for (const auto& p : paths)
        while (!contains(dir, p)) dir = parent(dir);
    return dir;
}

Status mount_overlay(const OverlayLayers& layers, const std::string& target, OverlayMethod method) {
    if (auto s = validate(layers, target); !s) return s;
    switch (method) {
        case OverlayMethod::legacy: return mount_legacy(layers, target);
        case OverlayMethod::fsconfig: return mount_fsconfig(layers, target);
        case OverlayMethod::relative: return mount_relative(layers, target);
        case OverlayMethod::automatic: break;
    }
    if (fits_in_page(overlay_options(layers))) return mount_legacy(layers, target);
    if (lowerdir_add_supported()) return mount_fsconfig(layers, target);
    return mount_relative(layers, target);
}

Status mount_overlay(const OverlayLayers& layers, const std::string& target) {
    return mount_overlay(layers, target, OverlayMethod::automatic);
}

Status prepare_container_layers(const std::string& dir) {
    for (const char* sub : {"/upper", "/work", "/merged"})
        if (auto s = make_dirs(dir + sub); !s) return s;
    return {};
}

}  // namespace ctb::rootfs
