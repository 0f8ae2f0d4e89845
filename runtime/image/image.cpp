#include "runtime/image/image.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "common/fd.hpp"
#include "common/files.hpp"
#include "runtime/image/extract.hpp"

// Defined by the generated embed .S (runtime/image/embed-image.sh).
extern "C" const char ctb_image_tar_start[];
extern "C" const char ctb_image_tar_end[];
extern "C" const char ctb_image_tar_sha256[];

namespace ctb::image {
namespace {

constexpr const char* kTempPrefix = ".tmp-";

bool is_dir(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Result<std::string> canonical(const std::string& path) {
    char buf[PATH_MAX];
    if (!::realpath(path.c_str(), buf)) return fail(sys_error("resolve path", path));
    return std::string(buf);
}

// Serializes extractions into one cache; released when the returned fd closes.
Result<UniqueFd> lock_cache(const std::string& cache_root) {
    std::string path = cache_root + "/.lock";
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) return fail(sys_error("open lock file", path));
    while (::flock(fd.get(), LOCK_EX) != 0)
        if (errno != EINTR) return fail(sys_error("flock", path));
    return fd;
}

// Temp dirs of an extraction that was interrupted (crash, kill -9); only called under the lock,
// when no other extraction of the default image can be running.
Status remove_stale_temps(const std::string& cache_root, const std::string& prefix) {
    DIR* dir = ::opendir(cache_root.c_str());
    if (!dir) return fail(sys_error("open directory", cache_root));
    std::vector<std::string> stale;
    while (dirent* e = ::readdir(dir))
        if (std::string_view(e->d_name).starts_with(prefix)) stale.push_back(cache_root + "/" + e->d_name);
    ::closedir(dir);
    for (const auto& path : stale)
        if (auto s = remove_tree(path); !s) return s;
    return {};
}

Status extract_embedded(const std::string& rootfs) {
    auto reader = detail::open_tar_memory(embedded_image_tar(), "embedded image");
    if (!reader) return fail(reader.error());
    return detail::extract_tar(reader->get(), rootfs, {.what = "embedded image", .oci_whiteouts = false});
}

// Extracts into <cache>/.tmp-<name>-XXXXXX/rootfs, then renames the temp dir to <cache>/<name>:
// the image directory appears complete or not at all.
Status extract_and_publish(const std::string& cache_root, const std::string& image_dir) {
    std::string tmp = cache_root + "/" + kTempPrefix + default_image_name() + "-XXXXXX";
    if (!::mkdtemp(tmp.data())) return fail(sys_error("mkdtemp", tmp));
    auto cleanup_on_error = [&](Error e) -> Status {
        (void)remove_tree(tmp);
        return fail(std::move(e));
    };
    if (::chmod(tmp.c_str(), 0755) != 0) return cleanup_on_error(sys_error("chmod", tmp));
    std::string rootfs = tmp + "/rootfs";
    // Explicit chmod: the rootfs root becomes the container's "/", whatever our umask is.
    if (::mkdir(rootfs.c_str(), 0755) != 0 || ::chmod(rootfs.c_str(), 0755) != 0)
        return cleanup_on_error(sys_error("create", rootfs));
    if (auto s = extract_embedded(rootfs); !s) return cleanup_on_error(s.error());
    if (::rename(tmp.c_str(), image_dir.c_str()) != 0)
        return cleanup_on_error(sys_error("rename " + tmp + " to", image_dir));
    return {};
}

thread_local Error remove_tree_error;

int remove_one(const char* path, const struct stat*, int type, FTW*) {
    int rc = (type == FTW_DP) ? ::rmdir(path) : ::unlink(path);
    if (rc != 0) remove_tree_error = sys_error(type == FTW_DP ? "rmdir" : "unlink", path);
    return rc;
}

}  // namespace

std::span<const std::byte> embedded_image_tar() {
    auto size = static_cast<std::size_t>(ctb_image_tar_end - ctb_image_tar_start);
    return std::as_bytes(std::span(ctb_image_tar_start, size));
}

std::string_view embedded_image_sha256() { return ctb_image_tar_sha256; }

std::string default_image_name() { return "busybox-" + std::string(embedded_image_sha256().substr(0, 12)); }

Result<std::string> ensure_default_image(const std::string& cache_root) {
    std::string image_dir = cache_root + "/" + default_image_name();
    std::string rootfs = image_dir + "/rootfs";
    if (is_dir(rootfs)) return rootfs;  // the common case: one stat
    if (auto s = make_dirs(cache_root); !s) return fail(s.error());
    auto lock = lock_cache(cache_root);
    if (!lock) return fail(lock.error());
    if (is_dir(rootfs)) return rootfs;  // another process extracted it while we waited
    // libarchive's symlink check walks the whole path: give it one without symlinks.
    auto real_root = canonical(cache_root);
    if (!real_root) return fail(real_root.error());
    if (auto s = remove_stale_temps(*real_root, kTempPrefix + std::string("busybox-")); !s) return fail(s.error());
    // An image dir without rootfs was damaged by hand (we only ever publish complete ones).
    std::string real_image_dir = *real_root + "/" + default_image_name();
    if (auto s = remove_tree(real_image_dir); !s) return fail(s.error());
    if (auto s = extract_and_publish(*real_root, real_image_dir); !s) return fail(s.error());
    return rootfs;
}

Status remove_tree(const std::string& path) {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return {};
        return fail(sys_error("stat", path));
    }
    remove_tree_error = Error{};
    if (::nftw(path.c_str(), remove_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0) {
        if (!remove_tree_error.step.empty()) return fail(remove_tree_error);
        return fail(sys_error("walk", path));
    }
    return {};
}

Status remove_image_cache(const std::string& cache_root) { return remove_tree(cache_root); }

}  // namespace ctb::image
