#include "conformance/overlay/helpers.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <exception>
#include <fmt/format.h>
#include <span>

#include "common/fd.hpp"
#include "common/files.hpp"
#include "runtime/image/image.hpp"
#include "runtime/image/sha256.hpp"

namespace ctb::conformance::overlay {
namespace {

std::string type_of(mode_t mode) {
    switch (mode & S_IFMT) {
        case S_IFREG: return "file";
        case S_IFDIR: return "dir";
        case S_IFLNK: return "symlink";
        case S_IFCHR: return "char";
        case S_IFBLK: return "block";
        case S_IFIFO: return "fifo";
        case S_IFSOCK: return "socket";
    }
    return "unknown";
}

std::int64_t ns_of(const timespec& t) { return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec; }

// xattr values as text when printable, else as "hex:..." (origin file handles are binary).
std::string printable(const std::string& v) {
    bool text = std::all_of(v.begin(), v.end(), [](unsigned char c) { return c >= 0x20 && c < 0x7f; });
    if (text) return v;
    std::string out = "hex:";
    for (unsigned char c : v) out += fmt::format("{:02x}", c);
    return out;
}

void walk(const std::string& root, const std::string& rel, json& out) {
    std::string path = rel.empty() ? root : root + "/" + rel;
    out[rel.empty() ? "." : rel] = file_state(path);
    struct stat st{};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return;
    for (const auto& name : list_dir(path)) walk(root, rel.empty() ? name : rel + "/" + name, out);
}

}  // namespace

// ---- Scratch ----

Scratch::Scratch() = default;

Scratch::~Scratch() {
    for (auto it = mounts_.rbegin(); it != mounts_.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
}

std::string Scratch::mkdir(const std::string& rel) {
    return dir_.mkdir(rel);
}

int Scratch::try_mount(const std::string& target, const std::string& options) {
    if (::mount("overlay", target.c_str(), "overlay", 0, options.c_str()) != 0) return errno;
    mounts_.push_back(target);
    return 0;
}

void Scratch::mount(const std::string& target, const std::string& options) {
    if (int e = try_mount(target, options); e != 0) {
        auto err = sys_error("mount overlay on", target, e);
        err.detail = "-o " + options;
        setup_failed(err);
    }
}

void Scratch::mount_tmpfs(const std::string& target) {
    check_sys(::mount("tmpfs", target.c_str(), "tmpfs", 0, "size=4m,mode=0755"), "mount tmpfs on", target);
    mounts_.push_back(target);
}

void Scratch::umount(const std::string& target) {
    check_sys(::umount2(target.c_str(), 0), "umount", target);
    auto it = std::find(mounts_.rbegin(), mounts_.rend(), target);
    if (it != mounts_.rend()) mounts_.erase(std::next(it).base());
}

std::string Layers::options(const std::string& extra) const {
    std::string o = fmt::format("lowerdir={},upperdir={},workdir={}", lower, upper, work);
    return extra.empty() ? o : o + "," + extra;
}

Layers make_layers(Scratch& s, const std::string& name, const std::string& shared_lower) {
    std::string lower = shared_lower.empty() ? s.mkdir(name + "/lower") : shared_lower;
    return {lower, s.mkdir(name + "/upper"), s.mkdir(name + "/work"), s.mkdir(name + "/merged")};
}

// ---- running a body ----

std::vector<Requirement> needs(std::initializer_list<const char*> overlay_features) {
    std::vector<Requirement> out{{K::root, ""}, {K::namespace_type, "mount"}, {K::overlay_feature, ""}};
    for (const char* f : overlay_features) out.push_back({K::overlay_feature, f});
    return out;
}

Verdict run_isolated(const CaseContext& ctx, const std::function<Verdict(Scratch&)>& body) {
    (void)ctx;
    // Every mount of the case lives in this namespace and dies with the case's child process.
    check_sys(::unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)", "");
    check_sys(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), "make private", "/");
    Scratch s;
    return body(s);
}

// ---- builders ----

void make_file(const std::string& path, const FileSpec& spec) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd) setup_failed(sys_error("create", path));
    for (std::size_t off = 0; off < spec.content.size();) {
        ssize_t n = ::write(fd.get(), spec.content.data() + off, spec.content.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) setup_failed(sys_error("write", path));
        off += static_cast<std::size_t>(n);
    }
    check_sys(::fchown(fd.get(), spec.uid, spec.gid), "chown", path);
    check_sys(::fchmod(fd.get(), spec.mode), "chmod", path);  // after chown, which may clear bits
    for (const auto& [name, value] : spec.xattrs)
        check_sys(::fsetxattr(fd.get(), name.c_str(), value.data(), value.size(), 0), "setxattr " + name, path);
    const timespec times[2] = {{spec.mtime, 0}, {spec.mtime, 0}};
    check_sys(::futimens(fd.get(), times), "set mtime of", path);
}

void make_file(const std::string& path, const std::string& content) {
    FileSpec spec;
    spec.content = content;
    make_file(path, spec);
}

void make_dir(const std::string& path) { must(make_dirs(path)); }

void make_whiteout(const std::string& path) {
    check_sys(::mknod(path.c_str(), S_IFCHR | 0000, makedev(0, 0)), "mknod whiteout", path);
}

void set_xattr(const std::string& path, const std::string& name, const std::string& value) {
    check_sys(::lsetxattr(path.c_str(), name.c_str(), value.data(), value.size(), 0), "setxattr " + name, path);
}

// ---- observations ----

int lstat_errno(const std::string& path) {
    struct stat st{};
    return errno_of(::lstat(path.c_str(), &st));
}

std::optional<std::string> try_read(const std::string& path, int* err) {
    auto r = ctb::read_file(path);
    if (err) *err = r ? 0 : r.error().err;
    if (!r) return std::nullopt;
    return *r;
}

std::string read_all(const std::string& path) { return must(ctb::read_file(path)); }

std::string sha256_of(const std::string& bytes) {
    return image::sha256_hex(std::as_bytes(std::span(bytes.data(), bytes.size())));
}

std::vector<std::string> list_dir(const std::string& path) {
    DIR* d = ::opendir(path.c_str());
    if (!d) setup_failed(sys_error("opendir", path));
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(n);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

std::optional<std::string> get_xattr(const std::string& path, const std::string& name, int* err) {
    std::string value(4096, '\0');
    ssize_t n = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
    if (err) *err = n < 0 ? errno : 0;
    if (n < 0) return std::nullopt;
    value.resize(static_cast<std::size_t>(n));
    return value;
}

std::vector<std::string> list_xattrs(const std::string& path) {
    std::string buf(65536, '\0');
    ssize_t n = ::llistxattr(path.c_str(), buf.data(), buf.size());
    if (n < 0) setup_failed(sys_error("listxattr", path));
    std::vector<std::string> names;
    for (std::size_t i = 0; i < static_cast<std::size_t>(n);) {
        std::string name(buf.c_str() + i);
        i += name.size() + 1;
        names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
}

bool is_whiteout(const std::string& path) {
    struct stat st{};
    return ::lstat(path.c_str(), &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

json stat_json(const std::string& path) {
    struct stat st{};
    if (::lstat(path.c_str(), &st) != 0) return {{"errno", errno_name(errno)}};
    return {{"type", type_of(st.st_mode)},
            {"mode", fmt::format("{:04o}", st.st_mode & 07777)},
            {"uid", st.st_uid},
            {"gid", st.st_gid},
            {"size", st.st_size},
            {"blocks", st.st_blocks},
            {"ino", st.st_ino},
            {"nlink", st.st_nlink},
            {"rdev", fmt::format("{}:{}", major(st.st_rdev), minor(st.st_rdev))},
            {"mtime_ns", ns_of(st.st_mtim)},
            {"ctime_ns", ns_of(st.st_ctim)}};
}

json file_state(const std::string& path) {
    json j = stat_json(path);
    if (j.contains("errno")) return j;
    if (j["type"] == "file") j["sha256"] = sha256_of(read_all(path));
    if (j["type"] == "symlink") {
        char target[4096];
        ssize_t n = ::readlink(path.c_str(), target, sizeof target);
        j["target"] = n < 0 ? std::string() : std::string(target, static_cast<std::size_t>(n));
    }
    json x = json::object();
    for (const auto& name : list_xattrs(path)) x[name] = printable(get_xattr(path, name).value_or("<unreadable>"));
    j["xattrs"] = x;
    return j;
}

json tree_state(const std::string& dir) {
    json out = json::object();
    walk(dir, "", out);
    return out;
}

std::optional<Verdict> changed_since(const std::string& dir, const json& before, const std::string& what) {
    json after = tree_state(dir);
    if (after == before) return std::nullopt;
    json diff = json::object();
    for (const auto& [path, state] : before.items())
        if (!after.contains(path) || after[path] != state) diff[path] = {{"before", state}, {"after", after.value(path, json())}};
    for (const auto& [path, state] : after.items())
        if (!before.contains(path)) diff[path] = {{"before", nullptr}, {"after", state}};
    return Verdict::fail(what + " was modified through the overlay", {{"changed", diff}});
}

}  // namespace ctb::conformance::overlay
