#include "runtime/rootfs/mount_util.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "common/fd.hpp"

#ifndef ST_NOSYMFOLLOW
#define ST_NOSYMFOLLOW 0x2000  // linux/statfs.h; glibc 2.36's statvfs.h lacks it
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000  // linux/fcntl.h; glibc 2.36's fcntl.h lacks it
#endif

namespace ctb::rootfs {
namespace {

int openat2_call(int dir_fd, const char* path, open_how* how) {
    return static_cast<int>(::syscall(SYS_openat2, dir_fd, path, how, sizeof(open_how)));
}

// openat2 wants a relative path for RESOLVE_IN_ROOT to mean "under dir_fd".
std::string relative(const std::string& path) {
    std::size_t start = path.find_first_not_of('/');
    return start == std::string::npos ? std::string(".") : path.substr(start);
}

}  // namespace

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

std::string shown_path(const std::string& root, const std::string& path) {
    std::string rel = relative(path);
    if (rel == ".") return root;
    return root.ends_with('/') ? root + rel : root + "/" + rel;
}

Result<UniqueFd> open_in_root(int root_fd, const std::string& path, int flags,
                              const std::string& shown, unsigned long extra_resolve) {
    open_how how{};
    how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
    // Magic links (/proc/self/root ...) inside the image could point anywhere on the host.
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | extra_resolve;
    int fd;
    do {
        fd = openat2_call(root_fd, relative(path).c_str(), &how);
    } while (fd < 0 && (errno == EAGAIN || errno == EINTR));  // EAGAIN: a rename raced the walk
    if (fd < 0) return fail(sys_error("open", shown));
    return UniqueFd(fd);
}

std::pair<std::string, std::string> split_leaf(const std::string& path) {
    std::string p = path;
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    std::size_t slash = p.find_last_of('/');
    if (slash == std::string::npos) return {"/", p};
    if (p == "/") return {"/", ""};
    return {slash == 0 ? "/" : p.substr(0, slash), p.substr(slash + 1)};
}

namespace {

// The kernel's own limit on symlinks followed in one lookup (MAXSYMLINKS).
constexpr int kMaxLinks = 40;

// The target of the symlink `name` in dir_fd, re-rooted at the path of that directory
// ("/etc" + "../x" -> "/etc/../x"; absolute targets stay absolute). Resolution in the root
// then gives exactly what the kernel would have followed, but never leaves the root.
Result<std::string> expand_link(int dir_fd, const std::string& dir_path, const std::string& name,
                                const std::string& shown) {
    char buf[4096];
    ssize_t n = ::readlinkat(dir_fd, name.c_str(), buf, sizeof buf - 1);
    if (n < 0) return fail(sys_error("readlink", shown));
    std::string target(buf, static_cast<std::size_t>(n));
    return target.front() == '/' ? target : dir_path + "/" + target;
}

std::string join_rest(const std::string& head, const std::string& path, std::size_t pos) {
    return pos < path.size() ? head + "/" + path.substr(pos) : head;
}

Result<UniqueFd> mkdir_all_following(int root_fd, const std::string& path, const std::string& shown, int links) {
    // Usually the whole path is there (/dev for /dev/pts): the walk below would end with this
    // very lookup, after one per component. Anything else (missing, dangling) takes the walk.
    if (auto whole = open_in_root(root_fd, path, O_PATH | O_DIRECTORY, shown)) return whole;
    auto current = open_in_root(root_fd, "/", O_PATH | O_DIRECTORY, shown);
    if (!current) return current;
    std::string walked;
    std::size_t pos = 0;
    while (pos < path.size()) {
        std::size_t next = std::min(path.find('/', pos), path.size());
        std::string part = path.substr(pos, next - pos), parent = walked;
        pos = next + 1;
        if (part.empty() || part == ".") continue;
        walked += "/" + part;
        auto opened = open_in_root(root_fd, walked, O_PATH | O_DIRECTORY, shown);
        if (!opened && opened.error().err == ENOENT) {
            // Create the component in the directory we already resolved safely.
            if (::mkdirat(current->get(), part.c_str(), 0755) == 0) {
                opened = open_in_root(root_fd, walked, O_PATH | O_DIRECTORY, shown);
            } else if (errno != EEXIST) {
                return fail(sys_error("mkdir", shown));
            } else {
                // It exists but does not resolve: a dangling symlink. Create what it points
                // to, as mkdir -p through a symlink would, but inside the root.
                if (++links > kMaxLinks) return fail(sys_error("create mount point", shown, ELOOP));
                auto target = expand_link(current->get(), parent.empty() ? "/" : parent, part, shown);
                if (!target) return fail(target.error());
                return mkdir_all_following(root_fd, join_rest(*target, path, pos), shown, links);
            }
        }
        if (!opened) return opened;
        current = std::move(opened);
    }
    return current;
}

// Creates the leaf (directory or empty file) in dir_fd; false when something is already there.
Result<bool> create_leaf(int dir_fd, const std::string& leaf, bool is_dir, const std::string& shown) {
    int rc = 0;
    if (is_dir) {
        rc = ::mkdirat(dir_fd, leaf.c_str(), 0755);
    } else {
        // O_NOFOLLOW|O_EXCL: never create through a symlink placed as the leaf.
        int fd = ::openat(dir_fd, leaf.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        rc = fd < 0 ? -1 : ::close(fd);
    }
    if (rc == 0) return true;
    if (errno == EEXIST) return false;
    return fail(sys_error("create mount point", shown));
}

Result<UniqueFd> make_mount_point_following(int root_fd, const std::string& path, bool is_dir,
                                            const std::string& shown, int links) {
    auto existing = open_in_root(root_fd, path, O_PATH, shown);
    if (existing || existing.error().err != ENOENT) return existing;
    auto [parent, leaf] = split_leaf(path);
    if (leaf.empty() || leaf == "." || leaf == "..")
        return fail(plain_error("create mount point", shown, "destination has no final name"));
    auto dir = mkdir_all_following(root_fd, parent, shown, links);
    if (!dir) return dir;
    auto created = create_leaf(dir->get(), leaf, is_dir, shown);
    if (!created) return fail(created.error());
    if (!*created) {  // a dangling symlink as the leaf: follow it, inside the root
        if (++links > kMaxLinks) return fail(sys_error("create mount point", shown, ELOOP));
        auto target = expand_link(dir->get(), parent, leaf, shown);
        if (!target) return fail(target.error());
        return make_mount_point_following(root_fd, *target, is_dir, shown, links);
    }
    return open_in_root(root_fd, path, O_PATH, shown);
}

}  // namespace

Result<UniqueFd> mkdir_all_in_root(int root_fd, const std::string& path, const std::string& shown) {
    return mkdir_all_following(root_fd, path, shown, 0);
}

Result<UniqueFd> make_mount_point(int root_fd, const std::string& path, bool is_dir,
                                  const std::string& shown) {
    return make_mount_point_following(root_fd, path, is_dir, shown, 0);
}

Result<unsigned long> mount_flags_of(const std::string& path, const std::string& shown) {
    struct statvfs st {};
    if (::statvfs(path.c_str(), &st) != 0) return fail(sys_error("statvfs", shown));
    struct Pair {
        unsigned long st, ms;
    };
    static constexpr Pair kPreserved[] = {
        {ST_RDONLY, MS_RDONLY}, {ST_NOSUID, MS_NOSUID}, {ST_NODEV, MS_NODEV},
        {ST_NOEXEC, MS_NOEXEC}, {ST_NOSYMFOLLOW, MS_NOSYMFOLLOW},
    };
    unsigned long flags = 0;
    for (const auto& p : kPreserved)
        if (st.f_flag & p.st) flags |= p.ms;
    return flags;
}

namespace {

// The MS_* per-mount flags of a bind remount as mount_setattr attributes. An atime mode given
// replaces the mount's (MOUNT_ATTR__ATIME cleared first); none given keeps it, as the remount does.
mount_attr attributes_of(unsigned long set, unsigned long clear) {
    struct Pair {
        unsigned long ms;
        std::uint64_t attr;
    };
    static constexpr Pair kFlags[] = {
        {MS_RDONLY, MOUNT_ATTR_RDONLY}, {MS_NOSUID, MOUNT_ATTR_NOSUID}, {MS_NODEV, MOUNT_ATTR_NODEV},
        {MS_NOEXEC, MOUNT_ATTR_NOEXEC}, {MS_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW}, {MS_NODIRATIME, MOUNT_ATTR_NODIRATIME},
    };
    mount_attr attr{};
    for (const auto& f : kFlags) {
        if (set & f.ms) attr.attr_set |= f.attr;
        if (clear & f.ms) attr.attr_clr |= f.attr;
    }
    if (set & (MS_NOATIME | MS_RELATIME | MS_STRICTATIME)) {
        attr.attr_clr |= MOUNT_ATTR__ATIME;
        attr.attr_set |= (set & MS_NOATIME) ? MOUNT_ATTR_NOATIME
                         : (set & MS_STRICTATIME) ? MOUNT_ATTR_STRICTATIME : MOUNT_ATTR_RELATIME;
    }
    return attr;
}

}  // namespace

Status remount_bind(const std::string& path, unsigned long set, unsigned long clear,
                    const std::string& shown) {
    // mount_setattr changes only the attributes it names: no statfs to carry the others over,
    // one call instead of two (a dozen times per container). The remount below is for kernels
    // before 5.12 (ENOSYS).
    mount_attr attr = attributes_of(set, clear);
    if (::mount_setattr(AT_FDCWD, path.c_str(), 0, &attr, sizeof attr) == 0) return {};
    if (errno != ENOSYS) return fail(sys_error((set & MS_RDONLY) ? "remount read-only" : "remount", shown));
    auto current = mount_flags_of(path, shown);
    if (!current) return fail(current.error());
    unsigned long flags = (*current | set) & ~clear;
    if (::mount(nullptr, path.c_str(), nullptr, MS_REMOUNT | MS_BIND | flags, nullptr) != 0)
        return fail(sys_error((flags & MS_RDONLY) ? "remount read-only" : "remount", shown));
    return {};
}

Status set_tree_flags(const std::string& path, unsigned long set, unsigned long clear, const std::string& shown) {
    mount_attr attr = attributes_of(set, clear);
    if ((attr.attr_set | attr.attr_clr) == 0) return {};
    if (::mount_setattr(AT_FDCWD, path.c_str(), AT_RECURSIVE, &attr, sizeof attr) != 0)
        return fail(sys_error((set & MS_RDONLY) ? "remount read-only" : "remount", shown));
    return {};
}

Status set_tree_attributes(const std::string& path, unsigned attr_set, unsigned attr_clear,
                           const std::string& shown) {
    if (attr_set == 0 && attr_clear == 0) return {};
    mount_attr attr{};
    attr.attr_set = attr_set;
    attr.attr_clr = attr_clear;
    if (::mount_setattr(AT_FDCWD, path.c_str(), AT_RECURSIVE, &attr, sizeof attr) != 0)
        return fail(sys_error("set recursive mount attributes on", shown));
    return {};
}

}  // namespace ctb::rootfs
