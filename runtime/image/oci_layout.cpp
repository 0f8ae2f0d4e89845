// OCI image layout import (image-spec: image-layout.md, manifest.md, layer.md).
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/fd.hpp"
#include "common/files.hpp"
#include "runtime/image/extract.hpp"
#include "runtime/image/image.hpp"
#include "runtime/image/sha256.hpp"

namespace ctb::image {
namespace {

using nlohmann::json;

constexpr const char* kRefAnnotation = "org.opencontainers.image.ref.name";

struct Descriptor {
    std::string media_type;
    std::string digest;  // "sha256:<hex>"
    std::string hex;
    std::optional<std::int64_t> size;
};

bool is_lower_hex(const std::string& s) {
    return s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// The digest becomes a path (blobs/sha256/<hex>): anything but 64 lower-case hex digits is refused.
Result<Descriptor> parse_descriptor(const json& j, const std::string& where) {
    if (!j.is_object() || !j.contains("digest") || !j["digest"].is_string())
        return fail(plain_error("parse descriptor in", where, "missing \"digest\""));
    Descriptor d;
    d.digest = j["digest"].get<std::string>();
    d.media_type = j.value("mediaType", "");
    if (!d.digest.starts_with("sha256:"))
        return fail(plain_error("parse descriptor in", where, "unsupported digest algorithm: " + d.digest));
    d.hex = d.digest.substr(7);
    if (d.hex.size() != 64 || !is_lower_hex(d.hex))
        return fail(plain_error("parse descriptor in", where, "malformed digest: " + d.digest));
    if (j.contains("size")) {
        if (!j["size"].is_number_integer() || j["size"].get<std::int64_t>() < 0)
            return fail(plain_error("parse descriptor in", where, "bad size for " + d.digest));
        d.size = j["size"].get<std::int64_t>();
    }
    return d;
}

// Opens a blob and checks its sha256 and size before any byte of it is used; the fd is rewound.
Result<UniqueFd> open_verified_blob(const std::string& layout, const Descriptor& d) {
    std::string path = layout + "/blobs/sha256/" + d.hex;
    std::string what = "blob " + d.digest;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return fail(sys_error("open", path));
    Sha256 hash;
    std::int64_t total = 0;
    std::array<std::byte, 64 * 1024> buf;
    for (;;) {
        ssize_t n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(sys_error("read", path));
        if (n == 0) break;
        hash.update(std::span(buf.data(), static_cast<std::size_t>(n)));
        total += n;
    }
    if (d.size && *d.size != total)
        return fail(plain_error("verify size of", what, fmt::format("{} bytes, expected {}", total, *d.size)));
    if (std::string got = hash.hex_digest(); got != d.hex)
        return fail(plain_error("verify digest of", what, "content has sha256:" + got));
    if (::lseek(fd.get(), 0, SEEK_SET) != 0) return fail(sys_error("seek", path));
    return fd;
}

Result<json> parse_json_fd(int fd, const std::string& what) {
    std::string text;
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(sys_error("read", what));
        if (n == 0) break;
        text.append(buf, static_cast<std::size_t>(n));
    }
    json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) return fail(plain_error("parse JSON of", what, "not a JSON object"));
    return j;
}

Result<json> read_index(const std::string& layout) {
    std::string path = layout + "/index.json";
    auto text = read_file(path);
    if (!text) return fail(text.error());
    json j = json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("manifests") || !j["manifests"].is_array())
        return fail(plain_error("parse", path, "not an OCI index (no \"manifests\" array)"));
    return j;
}

std::string ref_of(const json& manifest) {
    if (!manifest.contains("annotations") || !manifest["annotations"].is_object()) return {};
    return manifest["annotations"].value(kRefAnnotation, "");
}

Result<Descriptor> pick_manifest(const json& index, const std::string& ref, const std::string& layout) {
    std::string where = layout + "/index.json";
    const json& manifests = index["manifests"];
    const json* chosen = nullptr;
    if (ref.empty()) {
        if (manifests.size() != 1)
            return fail(plain_error("choose manifest in", where,
                                    fmt::format("{} manifests and no reference given", manifests.size())));
        chosen = &manifests[0];
    } else {
        for (const auto& m : manifests)
            if (ref_of(m) == ref) chosen = &m;
        if (!chosen) return fail(plain_error("choose manifest in", where, "no manifest named " + ref));
    }
    auto d = parse_descriptor(*chosen, where);
    if (d && d->media_type == "application/vnd.oci.image.index.v1+json")
        return fail(plain_error("choose manifest in", where, "nested image indexes are not supported"));
    return d;
}

bool is_layer_media_type(const std::string& type) {
    static const std::array<std::string_view, 8> known{
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.v1.tar+zstd",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.diff.tar",
    };
    return std::find(known.begin(), known.end(), type) != known.end();
}

Result<std::vector<Descriptor>> read_layers(const std::string& layout, const Descriptor& manifest_desc) {
    auto fd = open_verified_blob(layout, manifest_desc);
    if (!fd) return fail(fd.error());
    std::string what = "manifest " + manifest_desc.digest;
    auto manifest = parse_json_fd(fd->get(), what);
    if (!manifest) return fail(manifest.error());
    if (!manifest->contains("layers") || !(*manifest)["layers"].is_array())
        return fail(plain_error("parse", what, "no \"layers\" array"));
    std::vector<Descriptor> layers;
    for (const auto& j : (*manifest)["layers"]) {
        auto d = parse_descriptor(j, what);
        if (!d) return fail(d.error());
        if (!is_layer_media_type(d->media_type))
            return fail(plain_error("check layer", d->digest, "unsupported media type " + d->media_type));
        layers.push_back(std::move(*d));
    }
    return layers;
}

Status extract_layer_into(const std::string& layout, const Descriptor& layer, const std::string& dir) {
    auto fd = open_verified_blob(layout, layer);
    if (!fd) return fail(fd.error());
    std::string what = "layer " + layer.digest;
    auto reader = detail::open_tar_fd(fd->get(), what);
    if (!reader) return fail(reader.error());
    return detail::extract_tar(reader->get(), dir, {.what = what, .oci_whiteouts = true});
}

// Extracts into a temp dir renamed to its digest name, so a layer dir is complete or absent.
// If a concurrent import published the same layer first, its copy is kept and ours dropped.
Result<std::string> import_layer(const std::string& layout, const Descriptor& layer, const std::string& dest) {
    std::string final_dir = dest + "/sha256-" + layer.hex;
    struct stat st;
    if (::stat(final_dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return final_dir;
    std::string tmp = dest + "/.tmp-layer-XXXXXX";
    if (!::mkdtemp(tmp.data())) return fail(sys_error("mkdtemp", tmp));
    if (::chmod(tmp.c_str(), 0755) != 0) {
        Error e = sys_error("chmod", tmp);
        (void)remove_tree(tmp);
        return fail(e);
    }
    if (auto s = extract_layer_into(layout, layer, tmp); !s) {
        (void)remove_tree(tmp);
        return fail(s.error());
    }
    if (::rename(tmp.c_str(), final_dir.c_str()) != 0) {
        Error e = sys_error("rename " + tmp + " to", final_dir);
        (void)remove_tree(tmp);
        if (e.err == EEXIST || e.err == ENOTEMPTY) return final_dir;
        return fail(e);
    }
    return final_dir;
}

}  // namespace

Result<std::vector<std::string>> import_oci_layout(const std::string& layout_dir, const std::string& ref_or_empty,
                                                   const std::string& dest_root) {
    auto index = read_index(layout_dir);
    if (!index) return fail(index.error());
    auto manifest = pick_manifest(*index, ref_or_empty, layout_dir);
    if (!manifest) return fail(manifest.error());
    auto layers = read_layers(layout_dir, *manifest);
    if (!layers) return fail(layers.error());
    if (auto s = make_dirs(dest_root); !s) return fail(s.error());
    char real[PATH_MAX];  // libarchive's symlink check walks the whole path: no symlinks in it
    if (!::realpath(dest_root.c_str(), real)) return fail(sys_error("resolve path", dest_root));
    std::vector<std::string> dirs;
    for (const auto& layer : *layers) {
        auto dir = import_layer(layout_dir, layer, real);
        if (!dir) return fail(dir.error());
        dirs.push_back(std::move(*dir));
    }
    return dirs;
}

}  // namespace ctb::image
