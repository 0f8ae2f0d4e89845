#include "runtime/rootfs/dev.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>

#include "common/fd.hpp"
#include "runtime/rootfs/mount_util.hpp"

namespace ctb::rootfs {
namespace {

struct Link {
    const char* name;
    const char* target;
};

constexpr Link kDefaultLinks[] = {
    {"fd", "/proc/self/fd"},       {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
    {"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"},
};

// Node to mknod: where it goes and what it is.
struct Node {
    int dir_fd;             // directory that receives the node
    std::string name;       // single path component
    mode_t type;            // S_IFCHR, S_IFBLK, S_IFIFO
    dev_t dev;
    mode_t perm;
    std::string shown;      // for errors
    std::string host_path;  // bind source when mknod is not permitted
};

// Empty file + bind of the host node: the only way to get a device into a user namespace.
Status bind_host_node(const Node& n) {
    int fd = ::openat(n.dir_fd, n.name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) return fail(sys_error("create bind target", n.shown));
    if (fd >= 0) ::close(fd);
    UniqueFd target(::openat(n.dir_fd, n.name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!target) return fail(sys_error("open", n.shown));
    if (::mount(n.host_path.c_str(), fd_path(target.get()).c_str(), nullptr, MS_BIND, nullptr) != 0)
        return fail(sys_error("bind mount " + n.host_path + " on", n.shown));
    return {};
}

enum class Made { node, bound, existing };

// mknod, then chmod: mknod's mode is filtered by the umask, the spec's fileMode is not.
Result<Made> make_node(const Node& n, bool in_user_ns) {
    auto bind = [&]() -> Result<Made> {
        if (auto s = bind_host_node(n); !s) return fail(s.error());
        return Made::bound;
    };
    // FIFOs need no privilege (and have no host node to bind): always mknod them.
    if (in_user_ns && n.type != S_IFIFO) return bind();
    if (::mknodat(n.dir_fd, n.name.c_str(), n.type | n.perm, n.dev) != 0) {
        if (errno == EEXIST) return Made::existing;
        if (errno == EPERM && !n.host_path.empty()) return bind();
        return fail(sys_error("mknod", n.shown));
    }
    if (::fchmodat(n.dir_fd, n.name.c_str(), n.perm, 0) != 0) return fail(sys_error("chmod", n.shown));
    return Made::node;
}

Status make_links(int dev_fd, const std::string& shown) {
    for (const auto& l : kDefaultLinks)
        if (::symlinkat(l.target, dev_fd, l.name) != 0 && errno != EEXIST)
            return fail(sys_error("symlink", shown_path(shown, l.name)));
    // /dev/core only where the host has a kcore to point at (as runc does).
    if (::access("/proc/kcore", F_OK) == 0 && ::symlinkat("/proc/kcore", dev_fd, "core") != 0 &&
        errno != EEXIST)
        return fail(sys_error("symlink", shown_path(shown, "core")));
    return {};
}

Result<mode_t> node_type(const spec::Device& d, const std::string& field) {
    if (d.type == "c" || d.type == "u") return S_IFCHR;
    if (d.type == "b") return S_IFBLK;
    if (d.type == "p") return S_IFIFO;
    return fail(plain_error("create device", field + ".type", "\"" + d.type + "\" is not one of c, u, b, p"));
}

Status create_device(const spec::Device& d, const std::string& field, int root_fd,
                     const std::string& root_shown, bool in_user_ns) {
    std::string shown = shown_path(root_shown, d.path);
    if (d.path.empty() || d.path.front() != '/')
        return fail(plain_error("create device", field + ".path", "must be an absolute path"));
    auto type = node_type(d, field);
    if (!type) return fail(type.error());
    auto [parent, leaf] = split_leaf(d.path);
    auto dir = mkdir_all_in_root(root_fd, parent, shown);
    if (!dir) return fail(dir.error());
    // An O_PATH directory descriptor is enough for the *at calls below.
    Node n{dir->get(), leaf, *type, ::makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor)),
           static_cast<mode_t>(d.file_mode.value_or(0666) & 07777), shown, d.path};
    auto made = make_node(n, in_user_ns);
    if (!made) {
        made.error().detail = field + (made.error().detail.empty() ? "" : "; " + made.error().detail);
        return fail(made.error());
    }
    // A bound host node keeps the host's owner; an existing node is the image's business.
    if (*made != Made::node) return {};
    if (::fchownat(n.dir_fd, leaf.c_str(), d.uid.value_or(0), d.gid.value_or(0), AT_SYMLINK_NOFOLLOW) != 0)
        return fail(sys_error("chown", shown));
    return {};
}

}  // namespace

const std::vector<DefaultDevice>& default_devices() {
    static const std::vector<DefaultDevice> devices{
        {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
    };
    return devices;
}

Status populate_default_dev(int dev_fd, const std::string& shown, bool in_user_ns) {
    for (const auto& d : default_devices()) {
        Node n{dev_fd, d.name, S_IFCHR, ::makedev(d.major, d.minor), 0666, shown_path(shown, d.name),
               std::string("/dev/") + d.name};
        if (auto made = make_node(n, in_user_ns); !made) return fail(made.error());
    }
    return make_links(dev_fd, shown);
}

Status create_devices(const std::vector<spec::Device>& devices, int root_fd, const std::string& shown,
                      bool in_user_ns) {
    for (std::size_t i = 0; i < devices.size(); ++i)
        if (auto s = create_device(devices[i], "linux.devices[" + std::to_string(i) + "]", root_fd, shown,
                                   in_user_ns);
            !s)
            return s;
    return {};
}

}  // namespace ctb::rootfs
