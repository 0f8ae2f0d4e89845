#include "runtime/image/tests/oci_fixture.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "common/files.hpp"
#include "runtime/image/image.hpp"
#include "runtime/image/sha256.hpp"

namespace ctb::image::testing {
namespace {

using nlohmann::json;

void check(int rc, archive* a, const char* what) {
    if (rc < ARCHIVE_OK) throw std::runtime_error(std::string(what) + ": " + archive_error_string(a));
}

void add_entry(archive* a, const TarEntry& e) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.path.c_str());
    archive_entry_set_uid(entry, 0);
    archive_entry_set_gid(entry, 0);
    archive_entry_set_mtime(entry, 0, 0);
    static const mode_t kTypes[] = {AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFREG};
    archive_entry_set_filetype(entry, kTypes[e.type]);
    archive_entry_set_perm(entry, e.type == TarEntry::symlink ? 0777 : e.mode);
    if (e.type == TarEntry::symlink) archive_entry_set_symlink(entry, e.data.c_str());
    if (e.type == TarEntry::hardlink) archive_entry_set_hardlink(entry, e.data.c_str());
    archive_entry_set_size(entry, e.type == TarEntry::file ? static_cast<la_int64_t>(e.data.size()) : 0);
    for (const auto& [name, value] : e.xattrs)
        archive_entry_xattr_add_entry(entry, name.c_str(), value.data(), value.size());
    check(archive_write_header(a, entry), a, "write header");
    if (e.type == TarEntry::file && !e.data.empty())
        if (archive_write_data(a, e.data.data(), e.data.size()) < 0) check(ARCHIVE_FATAL, a, "write data");
    archive_entry_free(entry);
}

std::string write_blob(const std::string& layout, const std::string& bytes) {
    std::string hex = sha256_hex_of(bytes);
    write_bytes(layout + "/blobs/sha256/" + hex, bytes);
    return hex;
}

json descriptor(const std::string& media_type, const std::string& hex, std::size_t size) {
    return {{"mediaType", media_type}, {"digest", "sha256:" + hex}, {"size", size}};
}

}  // namespace

std::string make_tar(const std::vector<TarEntry>& entries, Compression compression) {
    archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);  // pax: carries xattrs
    if (compression == Compression::gzip) check(archive_write_add_filter_gzip(a), a, "gzip");
    if (compression == Compression::zstd) check(archive_write_add_filter_zstd(a), a, "zstd");
    archive_write_set_bytes_in_last_block(a, 1);
    std::string out(1 << 20, '\0');
    size_t used = 0;
    check(archive_write_open_memory(a, out.data(), out.size(), &used), a, "open tar");
    for (const auto& e : entries) add_entry(a, e);
    check(archive_write_close(a), a, "close tar");
    archive_write_free(a);
    out.resize(used);
    return out;
}

Layout write_layout(const std::string& dir, const std::vector<LayerSpec>& layers, const std::string& ref) {
    Layout layout{dir, {}};
    if (!make_dirs(dir + "/blobs/sha256")) throw std::runtime_error("mkdir " + dir);
    write_bytes(dir + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
    json layer_descs = json::array(), diff_ids = json::array();
    for (const auto& spec : layers) {
        std::string plain = make_tar(spec.entries);
        std::string blob = make_tar(spec.entries, spec.compression);
        std::string hex = write_blob(dir, blob);
        layout.layer_hex.push_back(hex);
        static const char* const kSuffix[] = {"", "+gzip", "+zstd"};
        std::string type = std::string("application/vnd.oci.image.layer.v1.tar") +
                           kSuffix[static_cast<int>(spec.compression)];
        layer_descs.push_back(descriptor(type, hex, blob.size()));
        diff_ids.push_back("sha256:" + sha256_hex_of(plain));
    }
    json config = {{"architecture", "amd64"}, {"os", "linux"}, {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
    std::string config_bytes = config.dump();
    json manifest = {{"schemaVersion", 2},
                     {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                     {"config", descriptor("application/vnd.oci.image.config.v1+json", write_blob(dir, config_bytes),
                                           config_bytes.size())},
                     {"layers", layer_descs}};
    std::string manifest_bytes = manifest.dump();
    json desc = descriptor("application/vnd.oci.image.manifest.v1+json", write_blob(dir, manifest_bytes),
                           manifest_bytes.size());
    desc["annotations"] = {{"org.opencontainers.image.ref.name", ref}};
    json index = {{"schemaVersion", 2}, {"manifests", json::array({desc})}};
    write_bytes(dir + "/index.json", index.dump());
    return layout;
}

std::vector<LayerSpec> whiteout_image() {
    LayerSpec lower{{TarEntry::directory("etc"),
                     TarEntry::regular("etc/keep", "keep\n"),
                     TarEntry::regular("file", "lower file\n"),
                     TarEntry::directory("opaque"),
                     TarEntry::regular("opaque/old", "old\n"),
                     TarEntry::directory("dir2"),
                     TarEntry::regular("dir2/a", "a\n")},
                    Compression::zstd};
    LayerSpec upper{{TarEntry::regular(".wh.file", ""),
                     TarEntry::directory("opaque"),
                     TarEntry::regular("opaque/.wh..wh..opq", ""),
                     TarEntry::regular("opaque/new", "new\n"),
                     TarEntry::regular("dir2/.wh.a", ""),
                     TarEntry::regular("added", "added\n")},
                    Compression::gzip};
    return {lower, upper};
}

std::string sha256_hex_of(const std::string& bytes) {
    return sha256_hex(std::as_bytes(std::span(bytes.data(), bytes.size())));
}

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("write " + path);
}

TempDir::TempDir(const std::string& tag) {
    std::string templ = "/tmp/ctbench-image-test-" + tag + "-XXXXXX";
    if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp " + templ);
    path_ = templ;
}

TempDir::~TempDir() { (void)remove_tree(path_); }

}  // namespace ctb::image::testing
