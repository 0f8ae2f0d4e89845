// Synthetic OCI image layouts for the image tests, written with libarchive into temp dirs.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace ctb::image::testing {

struct TarEntry {
    enum Type { file, dir, symlink, hardlink };
    std::string path;
    Type type = file;
    std::string data;  // file content, or link target
    unsigned mode = 0644;
    std::map<std::string, std::string> xattrs;

    static TarEntry regular(std::string path, std::string data = "") { return {std::move(path), file, std::move(data), 0644, {}}; }
    static TarEntry directory(std::string path) { return {std::move(path), dir, "", 0755, {}}; }
    static TarEntry link_to(std::string path, std::string target) { return {std::move(path), symlink, std::move(target), 0777, {}}; }
    static TarEntry hard_link_to(std::string path, std::string target) { return {std::move(path), hardlink, std::move(target), 0644, {}}; }
};

enum class Compression { none, gzip, zstd };

// A pax tar of the entries, owned by 0:0, optionally compressed.
std::string make_tar(const std::vector<TarEntry>& entries, Compression compression = Compression::none);

struct LayerSpec {
    std::vector<TarEntry> entries;
    Compression compression = Compression::none;
};

struct Layout {
    std::string dir;
    std::vector<std::string> layer_hex;  // sha256 hex of each layer blob, bottom-most first
};

// Writes oci-layout, index.json (one manifest named `ref`), the manifest, a config and the layers.
Layout write_layout(const std::string& dir, const std::vector<LayerSpec>& layers, const std::string& ref = "test:1");

// The two-layer image of the whiteout tests. Lower (zstd): file, opaque/old, dir2/a, etc/keep.
// Upper (gzip): .wh.file, opaque/.wh..wh..opq, opaque/new, dir2/.wh.a, added.
std::vector<LayerSpec> whiteout_image();

std::string sha256_hex_of(const std::string& bytes);
void write_bytes(const std::string& path, const std::string& bytes);

// A fresh directory under /tmp, removed (with everything in it) when the object dies.
class TempDir {
public:
    explicit TempDir(const std::string& tag);
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

}  // namespace ctb::image::testing
