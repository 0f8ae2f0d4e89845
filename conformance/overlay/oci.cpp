// overlay.oci.whiteout_conversion: OCI image-spec layer.md#whiteouts through ctbench's image
// import and a kernel overlay mount. A two-layer OCI image layout is written here with libarchive
// (the upper layer gzip-compressed, holding .wh.file and opaque/.wh..wh..opq), imported by
// image::import_oci_layout (which turns them into overlayfs whiteouts and opaque xattrs), and
// mounted: the merged view must show the image as the OCI spec defines it.
#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <fmt/format.h>
#include <memory>

#include "common/files.hpp"
#include "conformance/overlay/helpers.hpp"
#include "runtime/image/image.hpp"

namespace ctb::conformance::overlay {
namespace {

constexpr const char* kRef = "ctbench/overlay-conformance:1";
constexpr const char* kLayerTar = "application/vnd.oci.image.layer.v1.tar";
constexpr const char* kLayerTarGzip = "application/vnd.oci.image.layer.v1.tar+gzip";

struct TarEntry {
    std::string path;
    bool dir = false;
    std::string data;
};

TarEntry dir(std::string path) { return {std::move(path), true, ""}; }
TarEntry file(std::string path, std::string data = "") { return {std::move(path), false, std::move(data)}; }

// ---- a small OCI image layout writer ----

using ArchivePtr = std::unique_ptr<archive, decltype(&archive_write_free)>;

la_ssize_t append_to_string(archive*, void* out, const void* buf, size_t n) {
    static_cast<std::string*>(out)->append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
}

void check_archive(int rc, archive* a, const std::string& what) {
    if (rc < ARCHIVE_OK) setup_failed(plain_error("write tar", what, archive_error_string(a)));
}

void add_entry(archive* a, const TarEntry& e) {
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> entry(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(entry.get(), e.path.c_str());
    archive_entry_set_filetype(entry.get(), e.dir ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(entry.get(), e.dir ? 0755 : 0644);
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(e.data.size()));
    archive_entry_set_mtime(entry.get(), kLowerMtime, 0);
    check_archive(archive_write_header(a, entry.get()), a, e.path);
    if (!e.data.empty() && archive_write_data(a, e.data.data(), e.data.size()) < 0)
        check_archive(ARCHIVE_FATAL, a, e.path);
}

std::string make_tar(const std::vector<TarEntry>& entries, bool gzip) {
    std::string out;
    ArchivePtr a(archive_write_new(), archive_write_free);
    check_archive(archive_write_set_format_pax_restricted(a.get()), a.get(), "format");
    if (gzip) check_archive(archive_write_add_filter_gzip(a.get()), a.get(), "gzip");
    check_archive(archive_write_set_bytes_in_last_block(a.get(), 1), a.get(), "block");
    check_archive(archive_write_open(a.get(), &out, nullptr, append_to_string, nullptr), a.get(), "open");
    for (const auto& e : entries) add_entry(a.get(), e);
    check_archive(archive_write_close(a.get()), a.get(), "close");
    return out;
}

json write_blob(const std::string& layout, const std::string& media_type, const std::string& bytes) {
    std::string hex = sha256_of(bytes);
    must(write_file(layout + "/blobs/sha256/" + hex, bytes));
    return {{"mediaType", media_type}, {"digest", "sha256:" + hex}, {"size", bytes.size()}};
}

struct Layer {
    std::vector<TarEntry> entries;
    bool gzip = false;
};

// oci-layout, index.json naming one manifest kRef, its config and the layers (bottom first).
void write_layout(const std::string& dir, const std::vector<Layer>& layers) {
    make_dir(dir + "/blobs/sha256");
    must(write_file(dir + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
    json descriptors = json::array(), diff_ids = json::array();
    for (const auto& l : layers) {
        descriptors.push_back(write_blob(dir, l.gzip ? kLayerTarGzip : kLayerTar, make_tar(l.entries, l.gzip)));
        diff_ids.push_back("sha256:" + sha256_of(make_tar(l.entries, false)));
    }
    json config = {{"architecture", "amd64"}, {"os", "linux"}, {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
    json manifest = {{"schemaVersion", 2},
                     {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                     {"config", write_blob(dir, "application/vnd.oci.image.config.v1+json", config.dump())},
                     {"layers", descriptors}};
    json desc = write_blob(dir, "application/vnd.oci.image.manifest.v1+json", manifest.dump());
    desc["annotations"] = {{"org.opencontainers.image.ref.name", kRef}};
    must(write_file(dir + "/index.json", json({{"schemaVersion", 2}, {"manifests", {desc}}}).dump()));
}

// The image of layer.md's whiteout examples: the upper layer deletes `file`, makes `opaque`
// opaque (so `old` goes and `new` stays) and deletes `dir2/a`.
std::vector<Layer> whiteout_image() {
    Layer lower{{dir("etc"), file("etc/keep", "keep\n"), file("file", "lower file\n"), dir("opaque"),
                 file("opaque/old", "old\n"), dir("dir2"), file("dir2/a", "a\n")},
                false};
    Layer upper{{file(".wh.file"), dir("opaque"), file("opaque/.wh..wh..opq"), file("opaque/new", "new\n"),
                 dir("dir2"), file("dir2/.wh.a"), file("added", "added\n")},
                true};
    return {lower, upper};
}

// ---- the case ----

void collect_names(const std::string& root, const std::string& rel, std::vector<std::string>& out) {
    for (const auto& n : list_dir(root + rel)) {
        out.push_back(rel + "/" + n);
        if (stat_json(root + rel + "/" + n).value("type", "") == "dir") collect_names(root, rel + "/" + n, out);
    }
}

bool has_oci_marker(const std::vector<std::string>& paths) {
    return std::any_of(paths.begin(), paths.end(), [](const std::string& p) { return p.find("/.wh.") != std::string::npos; });
}

json layer_format(const std::string& upper_layer) {
    std::vector<std::string> names;
    collect_names(upper_layer, "", names);
    return {{"entries", names},
            {"file_is_whiteout", is_whiteout(upper_layer + "/file")},
            {"dir2_a_is_whiteout", is_whiteout(upper_layer + "/dir2/a")},
            {"opaque_xattr", get_xattr(upper_layer + "/opaque", "trusted.overlay.opaque").value_or("<absent>")}};
}

void check_merged(Checks& c, const std::string& m) {
    c.expect(lstat_errno(m + "/file") == ENOENT, "file (.wh.file in the upper layer) is still visible");
    c.expect(list_dir(m + "/opaque") == std::vector<std::string>{"new"}, "the opaque dir does not show only its new entry");
    c.expect(lstat_errno(m + "/dir2/a") == ENOENT, "dir2/a (.wh.a in the upper layer) is still visible");
    c.expect(try_read(m + "/added") == "added\n", "added (upper layer) is not visible");
    c.expect(try_read(m + "/etc/keep") == "keep\n", "etc/keep (lower layer, untouched) is not visible");
    std::vector<std::string> names;
    collect_names(m, "", names);
    c.expect(!has_oci_marker(names), "an OCI .wh. marker shows up as a file in the merged view");
}

Verdict oci_case(Scratch& s) {
    std::string layout = s.mkdir("layout"), store = s.mkdir("layers");
    write_layout(layout, whiteout_image());
    auto imported = image::import_oci_layout(layout, kRef, store);
    must(imported, "import_oci_layout");
    require(imported->size() == 2, "import_oci_layout", "", fmt::format("gave {} layers, want 2", imported->size()));
    json before = {{"lower", tree_state((*imported)[0])}, {"upper", tree_state((*imported)[1])}};

    std::string upper = s.mkdir("container/upper"), work = s.mkdir("container/work"), m = s.mkdir("container/merged");
    // lowerdir lists the top-most layer first; the import returns the bottom-most first.
    s.mount(m, fmt::format("lowerdir={}:{},upperdir={},workdir={}", (*imported)[1], (*imported)[0], upper, work));
    Checks c;
    check_merged(c, m);
    // A container write must land in its own upper layer, never in the image layers.
    must(write_file(m + "/opaque/new", "changed in the container\n"));
    if (auto changed = changed_since((*imported)[0], before["lower"], "image layer 1")) return *changed;
    if (auto changed = changed_since((*imported)[1], before["upper"], "image layer 2")) return *changed;
    std::vector<std::string> merged_names;
    collect_names(m, "", merged_names);
    return c.verdict({{"merged_entries", merged_names},
                      {"imported_upper_layer", layer_format((*imported)[1])},
                      {"image_layers_unchanged_after_write", true}});
}

}  // namespace

CTB_CONFORMANCE_CASE({
    .id = "overlay.oci.whiteout_conversion",
    .reference = "https://github.com/opencontainers/image-spec/blob/main/layer.md#whiteouts",
    .needs = needs(),
    .timeout = kTimeout,
    .body = [](const CaseContext& ctx) { return run_isolated(ctx, oci_case); },
});

}  // namespace ctb::conformance::overlay
