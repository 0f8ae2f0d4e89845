// Tar extraction with libarchive for images and OCI layers: every entry is checked to stay inside
// the destination, and OCI whiteouts become overlayfs whiteouts. Internal to runtime/image; the
// pure helpers are exposed so the unit tests can check them without root.
#pragma once

#include <archive.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace ctb::image::detail {

struct ArchiveReadDeleter {
    void operator()(archive* a) const { archive_read_free(a); }
};
using ArchiveReader = std::unique_ptr<archive, ArchiveReadDeleter>;

// Tar readers, optionally gzip- or zstd-compressed (detected from the data). `what` names the
// source in errors ("embedded image", "blob sha256:…").
Result<ArchiveReader> open_tar_memory(std::span<const std::byte> data, const std::string& what);
Result<ArchiveReader> open_tar_fd(int fd, const std::string& what);

struct ExtractOptions {
    std::string what;            // the archive's name in errors
    bool oci_whiteouts = false;  // convert .wh.* entries (OCI layers) instead of extracting them
};

// Extracts every entry under dest_dir, which must exist and be a canonical absolute path (the
// symlink check walks it). Ownership is numeric, modes/times/xattrs are kept, device nodes made.
Status extract_tar(archive* reader, const std::string& dest_dir, const ExtractOptions& options);

// "./a//b/" -> "a/b"; "." -> "". Rejects absolute paths and any ".." that leaves the root.
Result<std::string> normalize_entry_path(std::string_view name);

enum class EntryKind { regular, whiteout, opaque, ignored };
struct EntryAction {
    EntryKind kind = EntryKind::regular;
    std::string dir;   // parent directory, relative ("" = layer root)
    std::string name;  // for whiteout: the name to hide
};
// What an OCI layer entry (already normalized) means: `.wh.NAME` hides NAME, `.wh..wh..opq`
// makes its directory opaque, other `.wh..wh.*` (aufs bookkeeping) are ignored.
Result<EntryAction> classify_layer_entry(const std::string& path);

}  // namespace ctb::image::detail
