#include "runtime/rootfs/volumes.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>

#include "common/deadline.hpp"
#include "common/files.hpp"
#include "runtime/ownership.hpp"

namespace ctb::rootfs {
namespace {

namespace fs = std::filesystem;

bool name_char(char c, bool first) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    return alnum || (!first && (c == '_' || c == '.' || c == '-'));
}

std::string volume_dir(const std::string& root, const std::string& name) { return root + "/" + name; }
std::string lock_path(const std::string& root, const std::string& name) { return volume_dir(root, name) + "/lock"; }

// Takes the lock without blocking forever: a remover holds it exclusively only for the moment
// it takes to rename the volume away.
Status take_lock(int fd, int operation, const std::string& name, std::chrono::milliseconds budget) {
    int err = 0;
    retry_until(Deadline(budget), [&] {
        err = ::flock(fd, operation | LOCK_NB) == 0 ? 0 : errno;
        return err != EWOULDBLOCK && err != EINTR;
    });
    if (err == 0) return {};
    if (err == EWOULDBLOCK) return fail(Error{"lock volume", name, EBUSY, "it is being removed"});
    return fail(sys_error("lock volume", name, err));
}

// The lock file we hold is still the volume's (a remover may have renamed it away meanwhile).
bool still_current(int fd, const std::string& path) {
    struct stat held {}, now {};
    return ::fstat(fd, &held) == 0 && ::stat(path.c_str(), &now) == 0 && held.st_ino == now.st_ino &&
           held.st_dev == now.st_dev;
}

}  // namespace

Status validate_volume_name(const std::string& name) {
    bool ok = !name.empty();
    for (std::size_t i = 0; ok && i < name.size(); ++i) ok = name_char(name[i], i == 0);
    if (!ok)
        return fail(plain_error("validate volume", "name", "\"" + name + "\" does not match [A-Za-z0-9][A-Za-z0-9_.-]*"));
    return {};
}

Result<std::string> create_volume(const std::string& name, const std::string& state_root) {
    if (auto s = validate_volume_name(name); !s) return fail(s.error());
    std::string data = volume_dir(state_root, name) + "/_data";
    bool existed = ::access(data.c_str(), F_OK) == 0;
    if (auto s = make_dirs(data); !s) return fail(s.error());
    // Made by a ctbench run: say so, so that cleanup removes it and leaves users' volumes alone.
    if (std::string owner = current_owner(); !existed && !owner.empty())
        if (auto s = write_file(volume_dir(state_root, name) + "/" + kOwnerField, owner); !s) return fail(s.error());
    int fd = ::open(lock_path(state_root, name).c_str(), O_CREAT | O_RDONLY | O_CLOEXEC, 0600);
    if (fd < 0) return fail(sys_error("create", lock_path(state_root, name)));
    ::close(fd);
    return data;
}

Result<VolumeUse> use_volume(const std::string& name, const std::string& state_root) {
    if (auto s = validate_volume_name(name); !s) return fail(s.error());
    std::string path = lock_path(state_root, name);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return fail(sys_error("use volume", name));
    if (auto s = take_lock(fd.get(), LOCK_SH, name, std::chrono::seconds(5)); !s) return fail(s.error());
    if (!still_current(fd.get(), path)) return fail(sys_error("use volume", name, ENOENT));
    return VolumeUse(std::move(fd));
}

Status remove_volume(const std::string& name, const std::string& state_root) {
    if (auto s = validate_volume_name(name); !s) return s;
    std::string dir = volume_dir(state_root, name);
    if (::access(dir.c_str(), F_OK) != 0) return {};  // already gone
    UniqueFd fd(::open(lock_path(state_root, name).c_str(), O_RDONLY | O_CLOEXEC));
    if (fd) {
        // No waiting here: a volume in use stays in use for as long as its container runs.
        if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0)
            return fail(Error{"remove volume", name, errno == EWOULDBLOCK ? EBUSY : errno, "in use by a container"});
    }
    // Rename first: a user arriving now finds no volume rather than a half-deleted one.
    std::string doomed = state_root + "/.removing-" + name + "-" + std::to_string(::getpid());
    if (::rename(dir.c_str(), doomed.c_str()) != 0) return fail(sys_error("rename", dir));
    std::error_code ec;
    fs::remove_all(doomed, ec);
    if (ec) return fail(sys_error("remove", doomed, ec.value()));
    return {};
}

Result<std::vector<std::string>> list_volumes(const std::string& state_root) {
    std::vector<std::string> names;
    std::error_code ec;
    fs::directory_iterator it(state_root, ec);
    if (ec == std::errc::no_such_file_or_directory) return names;
    if (ec) return fail(sys_error("list volumes in", state_root, ec.value()));
    for (const auto& entry : it) {
        std::string name = entry.path().filename().string();
        if (validate_volume_name(name) && fs::is_directory(entry.path() / "_data", ec)) names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
}

spec::Mount volume_mount(const std::string& path, const std::string& destination, bool read_only) {
    // No "rw" for writable volumes: it would force a remount that clears MS_RDONLY, which a
    // user namespace may not be allowed to do, for no gain.
    spec::Mount m{destination, "bind", path, {"rbind", "rprivate"}};
    if (read_only) m.options.push_back("ro");
    return m;
}

}  // namespace ctb::rootfs
