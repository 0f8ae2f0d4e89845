// Container images for the reference runtime: the embedded default image (busybox + ctbench-agent,
// built into the library at build time) and import of OCI image layouts into overlay layer dirs.
// Images live in a persistent store (like /var/lib/docker), not in run state under /run/ctbench.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace ctb::image {

inline constexpr const char* kDefaultCacheRoot = "/var/lib/ctbench/images";

// The default image as an uncompressed tar (bin/busybox, applet symlinks, usr/bin/ctbench-agent,
// etc/passwd ...), embedded in the binary; and the sha256 (hex) of those bytes, computed at build time.
std::span<const std::byte> embedded_image_tar();
std::string_view embedded_image_sha256();
// "busybox-<first 12 hex digits of the sha256>": the default image's directory in the cache.
std::string default_image_name();

// Extracts the embedded image once into <cache_root>/<default_image_name()>/rootfs and returns that
// path. Extraction goes to a temp dir published with rename(2) under a flock on
// <cache_root>/.lock, so concurrent callers are safe; later calls only stat the rootfs.
Result<std::string> ensure_default_image(const std::string& cache_root = kDefaultCacheRoot);

// Imports an OCI image layout (index.json, blobs/sha256/…): picks the manifest whose
// org.opencontainers.image.ref.name annotation is `ref_or_empty` (or the only manifest when empty),
// verifies every blob's sha256 and size, and extracts each layer (tar, tar+gzip, tar+zstd) into
// <dest_root>/sha256-<hex>/ with OCI whiteouts turned into overlayfs ones (.wh.NAME -> 0/0 char
// device NAME, .wh..wh..opq -> xattr trusted.overlay.opaque=y, which needs CAP_SYS_ADMIN).
// The directory name avoids ':' because overlayfs' lowerdir= uses it as separator.
// Entries that are absolute or leave the layer dir (.., hardlinks) are rejected. A layer dir that
// already exists is reused (the name is its blob digest). Returns the layer dirs, bottom-most first.
Result<std::vector<std::string>> import_oci_layout(const std::string& layout_dir, const std::string& ref_or_empty,
                                                   const std::string& dest_root);

// rm -rf that neither follows symlinks nor crosses into other mounts (a mounted rootfs fails
// with EBUSY instead of being emptied). A missing path is success.
Status remove_tree(const std::string& path);
// Deletes the whole image store at cache_root (tests, `ctbench doctor --cleanup`).
Status remove_image_cache(const std::string& cache_root = kDefaultCacheRoot);

}  // namespace ctb::image
