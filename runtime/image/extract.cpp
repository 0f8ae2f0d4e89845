#include "runtime/image/extract.hpp"

#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <vector>

#include "common/fd.hpp"

namespace ctb::image::detail {
namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";
constexpr std::string_view kOverlayXattrPrefix = "trusted.overlay.";

struct ArchiveWriteDeleter {
    void operator()(archive* a) const { archive_write_free(a); }
};
using ArchiveWriter = std::unique_ptr<archive, ArchiveWriteDeleter>;

std::string archive_message(archive* a) {
    const char* msg = archive_error_string(a);
    return msg ? msg : "unknown libarchive error";
}

Error entry_error(const ExtractOptions& options, const std::string& entry, std::string step, std::string detail,
                  int err = 0) {
    return Error{std::move(step), fmt::format("{} entry {}", options.what, entry), err, std::move(detail)};
}

Result<ArchiveReader> new_tar_reader(const std::string& what) {
    ArchiveReader reader(archive_read_new());
    if (!reader) return fail(plain_error("create archive reader for", what, "out of memory"));
    archive_read_support_format_tar(reader.get());
    archive_read_support_format_gnutar(reader.get());
    archive_read_support_filter_gzip(reader.get());
    archive_read_support_filter_zstd(reader.get());  // ARCHIVE_WARN (external program) is still usable
    archive_read_support_filter_none(reader.get());
    return reader;
}

Result<ArchiveWriter> new_disk_writer() {
    ArchiveWriter writer(archive_write_disk_new());
    if (!writer) return fail(plain_error("create archive writer", "", "out of memory"));
    // No standard lookup: owners stay numeric, as the image defines them (not the host's names).
    // No FFLAGS: an immutable file would make the cache impossible to delete.
    // SECURE_SYMLINKS: never write through a symlink that an earlier entry planted.
    int flags = ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR |
                ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT;
    archive_write_disk_set_options(writer.get(), flags);
    return writer;
}

// Overlay metadata is ours to write: a layer carrying trusted.overlay.* (redirect, metacopy,
// opaque) could otherwise steer the overlay mount. Keep every other xattr.
void drop_overlay_xattrs(archive_entry* entry) {
    struct Xattr {
        std::string name;
        std::vector<char> value;
    };
    std::vector<Xattr> kept;
    bool dropped = false;
    archive_entry_xattr_reset(entry);
    const char* name;
    const void* value;
    size_t size;
    while (archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK) {
        if (std::string_view(name).starts_with(kOverlayXattrPrefix)) {
            dropped = true;
            continue;
        }
        const char* bytes = static_cast<const char*>(value);
        kept.push_back({name, std::vector<char>(bytes, bytes + size)});
    }
    if (!dropped) return;
    archive_entry_xattr_clear(entry);
    for (const auto& x : kept) archive_entry_xattr_add_entry(entry, x.name.c_str(), x.value.data(), x.value.size());
}

// Opens `rel` (normalized, relative) beneath root_fd, creating missing directories, never
// following a symlink: whiteouts must land inside the layer even if it contains symlinks.
Result<UniqueFd> open_dir_beneath(int root_fd, const std::string& rel, const std::string& root) {
    UniqueFd cur(::fcntl(root_fd, F_DUPFD_CLOEXEC, 0));
    if (!cur) return fail(sys_error("dup", root));
    std::size_t start = 0;
    while (start < rel.size()) {
        std::size_t end = rel.find('/', start);
        if (end == std::string::npos) end = rel.size();
        std::string part = rel.substr(start, end - start);
        if (::mkdirat(cur.get(), part.c_str(), 0755) != 0 && errno != EEXIST)
            return fail(sys_error("mkdir", root + "/" + rel.substr(0, end)));
        UniqueFd next(::openat(cur.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!next) return fail(sys_error("open directory", root + "/" + rel.substr(0, end)));
        cur = std::move(next);
        start = end + 1;
    }
    return cur;
}

// overlayfs whiteout: a character device 0/0. If the same layer also has NAME, the file wins
// (OCI: a whiteout only hides lower layers), so an existing entry is left alone.
Status make_whiteout(int root_fd, const std::string& root, const EntryAction& action) {
    auto dir = open_dir_beneath(root_fd, action.dir, root);
    if (!dir) return fail(dir.error());
    if (::mknodat(dir->get(), action.name.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0 && errno != EEXIST)
        return fail(sys_error("mknod whiteout", root + "/" + action.dir + "/" + action.name));
    return {};
}

Status make_opaque(int root_fd, const std::string& root, const std::string& dir_rel) {
    auto dir = open_dir_beneath(root_fd, dir_rel, root);
    if (!dir) return fail(dir.error());
    if (::fsetxattr(dir->get(), "trusted.overlay.opaque", "y", 1, 0) != 0)
        return fail(sys_error("set xattr trusted.overlay.opaque on", root + "/" + dir_rel));
    return {};
}

Status copy_entry_data(archive* reader, archive* writer, const ExtractOptions& options, const std::string& path) {
    const void* block;
    size_t size;
    la_int64_t offset;
    for (;;) {
        int r = archive_read_data_block(reader, &block, &size, &offset);
        if (r == ARCHIVE_EOF) return {};
        if (r < ARCHIVE_OK) return fail(entry_error(options, path, "read", archive_message(reader)));
        if (archive_write_data_block(writer, block, size, offset) < ARCHIVE_OK)
            return fail(entry_error(options, path, "write", archive_message(writer)));
    }
}

// Points the entry (and its hardlink target) below dest; both must stay inside it.
Status relocate_entry(archive_entry* entry, const std::string& dest, const std::string& path,
                      const ExtractOptions& options) {
    archive_entry_copy_pathname(entry, (dest + "/" + path).c_str());
    const char* link = archive_entry_hardlink(entry);
    if (!link) return {};
    auto target = normalize_entry_path(link);
    if (!target || target->empty())
        return fail(entry_error(options, path, "check hardlink",
                                fmt::format("target '{}' is outside the archive's root", link)));
    archive_entry_copy_hardlink(entry, (dest + "/" + *target).c_str());
    return {};
}

// Keeps the system call's errno and path but names the archive entry that asked for it.
Error in_entry(const ExtractOptions& options, const std::string& entry, std::string step, const Error& cause) {
    return Error{std::move(step), fmt::format("{} entry {}", options.what, entry), cause.err,
                 cause.object.empty() ? cause.step : cause.step + " " + cause.object};
}

struct Extraction {
    archive* reader;
    archive* writer;
    int root_fd;
    const std::string& dest;
    const ExtractOptions& options;
    std::vector<std::pair<std::string, std::string>> opaque_dirs;  // (dir, marker entry)
};

// Returns true when the entry was a whiteout or marker (handled here, not extracted).
Result<bool> handle_whiteout(Extraction& x, const std::string& path) {
    auto action = classify_layer_entry(path);
    if (!action) return fail(entry_error(x.options, path, "check whiteout", action.error().detail));
    switch (action->kind) {
        case EntryKind::regular: return false;
        case EntryKind::ignored: return true;
        case EntryKind::opaque:
            // Applied after the whole layer: the directory's own entry may come later.
            x.opaque_dirs.emplace_back(action->dir, path);
            return true;
        case EntryKind::whiteout:
            if (auto s = make_whiteout(x.root_fd, x.dest, *action); !s)
                return fail(in_entry(x.options, path, "convert whiteout", s.error()));
            return true;
    }
    return true;
}

Status extract_entry(Extraction& x, archive_entry* entry) {
    const char* raw = archive_entry_pathname(entry);
    std::string name = raw ? raw : "";
    auto path = normalize_entry_path(name);
    if (!path) return fail(entry_error(x.options, name, "check path", path.error().detail));
    if (path->empty()) return {};  // the root itself: dest_dir already exists with our mode
    if (x.options.oci_whiteouts) {
        auto handled = handle_whiteout(x, *path);
        if (!handled) return fail(handled.error());
        if (*handled) return {};
    }
    if (auto s = relocate_entry(entry, x.dest, *path, x.options); !s) return s;
    drop_overlay_xattrs(entry);
    if (archive_write_header(x.writer, entry) != ARCHIVE_OK)
        return fail(entry_error(x.options, *path, "create", archive_message(x.writer)));
    if (auto s = copy_entry_data(x.reader, x.writer, x.options, *path); !s) return s;
    if (archive_write_finish_entry(x.writer) != ARCHIVE_OK)
        return fail(entry_error(x.options, *path, "finish", archive_message(x.writer)));
    return {};
}

}  // namespace

Result<ArchiveReader> open_tar_memory(std::span<const std::byte> data, const std::string& what) {
    auto reader = new_tar_reader(what);
    if (!reader) return reader;
    if (archive_read_open_memory(reader->get(), data.data(), data.size()) != ARCHIVE_OK)
        return fail(plain_error("open archive", what, archive_message(reader->get())));
    return reader;
}

Result<ArchiveReader> open_tar_fd(int fd, const std::string& what) {
    auto reader = new_tar_reader(what);
    if (!reader) return reader;
    if (archive_read_open_fd(reader->get(), fd, 64 * 1024) != ARCHIVE_OK)
        return fail(plain_error("open archive", what, archive_message(reader->get())));
    return reader;
}

Status extract_tar(archive* reader, const std::string& dest_dir, const ExtractOptions& options) {
    auto writer = new_disk_writer();
    if (!writer) return fail(writer.error());
    UniqueFd root(::open(dest_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root) return fail(sys_error("open", dest_dir));
    Extraction x{reader, writer->get(), root.get(), dest_dir, options, {}};
    for (;;) {
        archive_entry* entry = nullptr;
        int r = archive_read_next_header(reader, &entry);
        if (r == ARCHIVE_EOF) break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN)  // WARN: e.g. an unknown pax keyword, still usable
            return fail(plain_error("read next entry of", options.what, archive_message(reader)));
        if (auto s = extract_entry(x, entry); !s) return s;
    }
    for (const auto& [dir, marker] : x.opaque_dirs)
        if (auto s = make_opaque(root.get(), dest_dir, dir); !s)
            return fail(in_entry(options, marker, "convert opaque marker", s.error()));
    if (archive_write_close(writer->get()) != ARCHIVE_OK)  // applies deferred directory modes/times
        return fail(plain_error("finish extracting", options.what, archive_message(writer->get())));
    return {};
}

Result<std::string> normalize_entry_path(std::string_view name) {
    const std::string original(name);
    if (name.starts_with('/')) return fail(plain_error("check path", original, "absolute path"));
    std::vector<std::string_view> parts;
    while (!name.empty()) {
        std::size_t slash = name.find('/');
        std::string_view part = name.substr(0, slash);
        name = slash == std::string_view::npos ? std::string_view{} : name.substr(slash + 1);
        if (part.empty() || part == ".") continue;
        if (part != "..") {
            parts.push_back(part);
        } else if (parts.empty()) {
            return fail(plain_error("check path", original, "path traversal: '..' leaves the root"));
        } else {
            parts.pop_back();
        }
    }
    std::string out;
    for (auto part : parts) {
        if (!out.empty()) out += '/';
        out += part;
    }
    return out;
}

Result<EntryAction> classify_layer_entry(const std::string& path) {
    std::size_t slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "" : path.substr(0, slash);
    std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    if (!base.starts_with(kWhiteoutPrefix)) return EntryAction{EntryKind::regular, dir, base};
    if (base == kOpaqueMarker) return EntryAction{EntryKind::opaque, dir, ""};
    std::string hidden = base.substr(kWhiteoutPrefix.size());
    if (hidden.starts_with(kWhiteoutPrefix)) return EntryAction{EntryKind::ignored, dir, hidden};
    if (hidden.empty() || hidden == "." || hidden == "..")
        return fail(plain_error("check whiteout", path, fmt::format("'{}' names no file", base)));
    return EntryAction{EntryKind::whiteout, dir, hidden};
}

}  // namespace ctb::image::detail
