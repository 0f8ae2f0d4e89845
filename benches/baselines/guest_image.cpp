#include "benches/baselines/guest_image.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <elf.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>
#include <fmt/format.h>

#include "common/files.hpp"

namespace ctb::vm {
namespace {

namespace fs = std::filesystem;

struct KernelImage {
    std::string path;
    std::string version;  // what follows "vmlinuz-"
    bool cloud = false;
};

// Cloud first, then the highest version as dpkg orders them (strverscmp is close enough here).
bool better_kernel(const KernelImage& a, const KernelImage& b) {
    if (a.cloud != b.cloud) return a.cloud;
    return ::strverscmp(a.version.c_str(), b.version.c_str()) > 0;
}

Result<std::vector<KernelImage>> list_kernels(const std::string& boot_dir) {
    std::error_code ec;
    fs::directory_iterator it(boot_dir, ec);
    if (ec) return fail(sys_error("list kernels in", boot_dir, ec.value()));
    std::vector<KernelImage> found;
    for (const auto& entry : it) {
        std::string name = entry.path().filename();
        if (!name.starts_with("vmlinuz-") || !entry.is_regular_file(ec)) continue;
        if (::access(entry.path().c_str(), R_OK) != 0) continue;
        std::string version = name.substr(std::strlen("vmlinuz-"));
        found.push_back({entry.path(), version, version.find("-cloud-") != std::string::npos});
    }
    return found;
}

// Any archive_* failure, with libarchive's own explanation.
Error archive_error(archive* a, const std::string& step, const std::string& object) {
    const char* why = archive_error_string(a);
    return Error{step, object, archive_errno(a) > 0 ? archive_errno(a) : 0, why ? why : ""};
}

using ArchivePtr = std::unique_ptr<archive, decltype(&archive_write_free)>;
using EntryPtr = std::unique_ptr<archive_entry, decltype(&archive_entry_free)>;

struct Node {
    std::string path;  // relative to the initramfs root, no leading '/'
    mode_t type = AE_IFREG;
    unsigned mode = 0644;
    const std::string* content = nullptr;  // regular files only
    dev_t rdev = 0;                        // device nodes only
};

Status add_node(archive* a, const Node& node, const std::string& archive_path) {
    EntryPtr entry(archive_entry_new(), &archive_entry_free);
    archive_entry_set_pathname(entry.get(), node.path.c_str());
    archive_entry_set_filetype(entry.get(), node.type);
    archive_entry_set_perm(entry.get(), node.mode);
    archive_entry_set_uid(entry.get(), 0);
    archive_entry_set_gid(entry.get(), 0);
    archive_entry_set_nlink(entry.get(), node.type == AE_IFDIR ? 2 : 1);
    if (node.type == AE_IFCHR) archive_entry_set_rdev(entry.get(), node.rdev);
    std::size_t size = node.content ? node.content->size() : 0;
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(size));
    if (archive_write_header(a, entry.get()) != ARCHIVE_OK)
        return fail(archive_error(a, "write initramfs entry " + node.path + " to", archive_path));
    if (size > 0 && archive_write_data(a, node.content->data(), size) != static_cast<la_ssize_t>(size))
        return fail(archive_error(a, "write initramfs data " + node.path + " to", archive_path));
    return {};
}

// Guest paths are absolute and stay inside the archive: "/bench/x" -> "bench/x".
Result<std::string> relative_guest_path(const std::string& path) {
    if (!path.starts_with('/') || path.size() < 2 || path.find("..") != std::string::npos)
        return fail(plain_error("place guest file", path, "must be an absolute path without '..'"));
    return path.substr(1);
}

// Every directory the archive needs, parents before children (std::set orders "a" < "a/b").
Result<std::set<std::string>> needed_dirs(const InitramfsSpec& spec) {
    std::set<std::string> dirs{"bin", "dev", "proc", "sys"};
    std::vector<std::string> paths;
    for (const auto& dir : spec.dirs) paths.push_back(dir + "/");
    for (const auto& file : spec.files) paths.push_back(file.path);
    for (const auto& path : paths) {
        auto rel = relative_guest_path(path);
        if (!rel) return fail(rel.error());
        for (auto slash = rel->find('/'); slash != std::string::npos; slash = rel->find('/', slash + 1))
            dirs.insert(rel->substr(0, slash));
    }
    return dirs;
}

Result<ArchivePtr> open_archive(const std::string& path, bool gzip) {
    ArchivePtr a(archive_write_new(), &archive_write_free);
    if (!a) return fail(plain_error("create archive writer for", path, "out of memory"));
    // The kernel unpacks only the "newc" cpio flavour (and only gzip if CONFIG_RD_GZIP).
    if (archive_write_set_format_cpio_newc(a.get()) != ARCHIVE_OK ||
        (gzip && archive_write_add_filter_gzip(a.get()) != ARCHIVE_OK))
        return fail(archive_error(a.get(), "configure initramfs writer for", path));
    if (archive_write_open_filename(a.get(), path.c_str()) != ARCHIVE_OK)
        return fail(archive_error(a.get(), "open initramfs", path));
    return a;
}

Status write_nodes(archive* a, const std::vector<Node>& nodes, const std::string& path) {
    for (const auto& node : nodes)
        if (auto s = add_node(a, node, path); !s) return s;
    if (archive_write_close(a) != ARCHIVE_OK) return fail(archive_error(a, "close initramfs", path));
    return {};
}

Status check_static_elf(const std::string& image, const std::string& path) {
    Elf64_Ehdr eh{};
    if (image.size() < sizeof eh || std::memcmp(image.data(), ELFMAG, SELFMAG) != 0 ||
        image[EI_CLASS] != ELFCLASS64)
        return fail(plain_error("check busybox", path, "not a 64-bit ELF executable"));
    std::memcpy(&eh, image.data(), sizeof eh);
    for (unsigned i = 0; i < eh.e_phnum; ++i) {
        std::size_t off = eh.e_phoff + std::size_t{i} * eh.e_phentsize;
        Elf64_Phdr ph{};
        if (off + sizeof ph > image.size())
            return fail(plain_error("check busybox", path, "truncated ELF program headers"));
        std::memcpy(&ph, image.data() + off, sizeof ph);
        if (ph.p_type == PT_INTERP)
            return fail(plain_error("check busybox", path,
                                    "dynamically linked; scripts/setup.sh installs busybox-static"));
    }
    return {};
}

}  // namespace

Result<std::string> find_guest_kernel(const std::string& boot_dir) {
    auto kernels = list_kernels(boot_dir);
    if (!kernels) return fail(kernels.error());
    if (kernels->empty())
        return fail(plain_error(
            "find guest kernel", boot_dir + "/vmlinuz-*",
            "no readable kernel image; scripts/setup.sh installs linux-image-cloud-amd64"));
    return std::min_element(kernels->begin(), kernels->end(), better_kernel)->path;
}

std::string probe_init_script() {
    // Marker and release on one line, printed in one write, so a console reader that waits for
    // the end of the marker's line also has the release.
    return fmt::format(
        "#!/bin/busybox sh\n"
        "# ctbench VM probe: prove the guest reached user space, then power off.\n"
        "/bin/busybox mount -t proc proc /proc\n"
        "echo \"{} kernel=$(/bin/busybox uname -r)\"\n"
        "/bin/busybox poweroff -f\n",
        guest_ready_marker);
}

Status check_static_executable(const std::string& path) {
    auto image = read_file(path);
    if (!image) return fail(image.error());
    return check_static_elf(*image, path);
}

Status write_initramfs(const std::string& path, const InitramfsSpec& spec) {
    if (!spec.init_script.starts_with("#!"))
        return fail(plain_error("write initramfs", path, "init script must start with #!"));
    auto busybox = read_file(spec.busybox);
    if (!busybox) return fail(busybox.error());
    if (auto s = check_static_elf(*busybox, spec.busybox); !s) return s;
    auto dirs = needed_dirs(spec);
    if (!dirs) return fail(dirs.error());

    std::vector<Node> nodes;
    for (const auto& dir : *dirs) nodes.push_back({dir, AE_IFDIR, 0755});
    nodes.push_back({"dev/console", AE_IFCHR, 0600, nullptr, ::makedev(5, 1)});
    nodes.push_back({"bin/busybox", AE_IFREG, 0755, &*busybox});
    nodes.push_back({"init", AE_IFREG, 0755, &spec.init_script});
    for (const auto& file : spec.files)
        nodes.push_back({file.path.substr(1), AE_IFREG, file.mode, &file.content});

    auto a = open_archive(path, spec.gzip);
    if (!a) return fail(a.error());
    return write_nodes(a->get(), nodes, path);
}

Status write_probe_initramfs(const std::string& path) {
    return write_initramfs(path, InitramfsSpec{.init_script = probe_init_script()});
}

}  // namespace ctb::vm
