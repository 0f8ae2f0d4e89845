// Unit tests of runtime/image that need no privileges: the embedded tar, sha256, path checks,
// whiteout classification, and import failures that happen before anything is written.
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>

#include "common/fd.hpp"
#include "common/files.hpp"
#include "runtime/image/extract.hpp"
#include "runtime/image/image.hpp"
#include "runtime/image/sha256.hpp"
#include "runtime/image/tests/oci_fixture.hpp"

namespace ctb::image {
namespace {

using testing::LayerSpec;
using testing::TarEntry;
using testing::TempDir;

struct ListedEntry {
    mode_t mode;
    std::string link;
};

std::map<std::string, ListedEntry> list_tar(archive* reader) {
    std::map<std::string, ListedEntry> out;
    archive_entry* entry;
    while (archive_read_next_header(reader, &entry) == ARCHIVE_OK) {
        const char* link = archive_entry_symlink(entry);
        std::string name = archive_entry_pathname(entry);
        if (name.ends_with('/')) name.pop_back();  // GNU tar writes directories as "tmp/"
        out[name] = {archive_entry_mode(entry), link ? link : ""};
    }
    return out;
}

std::size_t count_entries(const std::string& dir) {
    std::size_t n = 0;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (dirent* e = ::readdir(d)) n += std::string_view(e->d_name) != "." && std::string_view(e->d_name) != "..";
        ::closedir(d);
    }
    return n;
}

TEST(EmbeddedImage, IsATarWithBusyboxAndAgent) {
    auto tar = embedded_image_tar();
    ASSERT_GT(tar.size(), 1024u * 1024u);
    auto reader = detail::open_tar_memory(tar, "embedded image");
    ASSERT_TRUE(reader) << reader.error().message();
    auto entries = list_tar(reader->get());
    ASSERT_TRUE(entries.contains("bin/busybox"));
    EXPECT_TRUE(S_ISREG(entries["bin/busybox"].mode));
    EXPECT_EQ(entries["bin/busybox"].mode & 0777, 0755u);
    ASSERT_TRUE(entries.contains("usr/bin/ctbench-agent"));
    EXPECT_EQ(entries["usr/bin/ctbench-agent"].mode & 0777, 0755u);
    EXPECT_EQ(entries["bin/sh"].link, "busybox");
    EXPECT_EQ(entries["bin/ls"].link, "busybox");
    EXPECT_EQ(entries["tmp"].mode & 07777, 01777u);
    for (const char* name : {"etc/passwd", "etc/group", "etc/hosts", "etc/hostname", "proc", "sys", "dev", "root",
                             "run", "var", "home", "mnt"})
        EXPECT_TRUE(entries.contains(name)) << name;
}

TEST(EmbeddedImage, DigestIsTheTarsSha256) {
    EXPECT_EQ(embedded_image_sha256(), sha256_hex(embedded_image_tar()));
    EXPECT_EQ(default_image_name(), "busybox-" + std::string(embedded_image_sha256().substr(0, 12)));
}

TEST(Sha256, KnownVectors) {
    EXPECT_EQ(testing::sha256_hex_of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(testing::sha256_hex_of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(testing::sha256_hex_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, StreamingInOddChunks) {
    Sha256 h;
    std::string chunk(997, 'a');
    std::size_t left = 1'000'000;
    while (left > 0) {
        std::size_t n = std::min(left, chunk.size());
        h.update(std::string_view(chunk.data(), n));
        left -= n;
    }
    EXPECT_EQ(h.hex_digest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(EntryPath, NormalizesAndRejectsEscapes) {
    EXPECT_EQ(detail::normalize_entry_path("./a//b/").value(), "a/b");
    EXPECT_EQ(detail::normalize_entry_path(".").value(), "");
    EXPECT_EQ(detail::normalize_entry_path("a/../b").value(), "b");
    EXPECT_FALSE(detail::normalize_entry_path("/etc/passwd"));
    EXPECT_FALSE(detail::normalize_entry_path("../escape"));
    EXPECT_FALSE(detail::normalize_entry_path("a/../../escape"));
    EXPECT_FALSE(detail::normalize_entry_path("./.."));
}

TEST(EntryPath, ClassifiesWhiteouts) {
    auto w = detail::classify_layer_entry("dir/.wh.name").value();
    EXPECT_EQ(w.kind, detail::EntryKind::whiteout);
    EXPECT_EQ(w.dir, "dir");
    EXPECT_EQ(w.name, "name");
    auto o = detail::classify_layer_entry("a/b/.wh..wh..opq").value();
    EXPECT_EQ(o.kind, detail::EntryKind::opaque);
    EXPECT_EQ(o.dir, "a/b");
    EXPECT_EQ(detail::classify_layer_entry(".wh..opq_not").value().kind, detail::EntryKind::whiteout);
    EXPECT_EQ(detail::classify_layer_entry(".wh..wh.plnk").value().kind, detail::EntryKind::ignored);
    EXPECT_EQ(detail::classify_layer_entry("x.wh.y").value().kind, detail::EntryKind::regular);
    EXPECT_FALSE(detail::classify_layer_entry("dir/.wh."));
    EXPECT_FALSE(detail::classify_layer_entry("dir/.wh.."));
}

// The synthetic layout's upper layer, read back as the importer reads it: each entry's action.
TEST(OciLayout, UpperLayerEntriesBecomeWhiteoutsAndOpaqueMarker) {
    TempDir tmp("unit-classify");
    auto layout = testing::write_layout(tmp.path() + "/layout", testing::whiteout_image());
    std::string blob = layout.dir + "/blobs/sha256/" + layout.layer_hex[1];
    UniqueFd fd(::open(blob.c_str(), O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(fd);
    auto reader = detail::open_tar_fd(fd.get(), "upper");  // gzip, detected from the data
    ASSERT_TRUE(reader) << reader.error().message();
    std::map<std::string, detail::EntryAction> actions;
    for (const auto& [name, entry] : list_tar(reader->get()))
        actions[name] = detail::classify_layer_entry(detail::normalize_entry_path(name).value()).value();
    EXPECT_EQ(actions[".wh.file"].kind, detail::EntryKind::whiteout);
    EXPECT_EQ(actions[".wh.file"].name, "file");
    EXPECT_EQ(actions["dir2/.wh.a"].kind, detail::EntryKind::whiteout);
    EXPECT_EQ(actions["opaque/.wh..wh..opq"].kind, detail::EntryKind::opaque);
    EXPECT_EQ(actions["opaque/.wh..wh..opq"].dir, "opaque");
    EXPECT_EQ(actions["opaque/new"].kind, detail::EntryKind::regular);
}

TEST(OciLayout, ReadsZstdLayers) {
    TempDir tmp("unit-zstd");
    auto layout = testing::write_layout(tmp.path() + "/layout", testing::whiteout_image());
    std::string blob = layout.dir + "/blobs/sha256/" + layout.layer_hex[0];
    EXPECT_EQ(read_file(blob).value().substr(0, 4), "\x28\xb5\x2f\xfd") << "the fixture's lower layer is zstd";
    UniqueFd fd(::open(blob.c_str(), O_RDONLY | O_CLOEXEC));
    auto reader = detail::open_tar_fd(fd.get(), "lower");
    ASSERT_TRUE(reader) << reader.error().message();
    auto entries = list_tar(reader->get());
    EXPECT_TRUE(entries.contains("opaque/old"));
    EXPECT_EQ(entries.size(), 7u);
}

class ImportFailure : public ::testing::Test {
protected:
    TempDir tmp{"unit-import"};
    std::string dest = tmp.path() + "/layers";

    std::string import_error(const std::vector<LayerSpec>& layers, const std::string& ref = "") {
        auto layout = testing::write_layout(tmp.path() + "/layout", layers);
        auto r = import_oci_layout(layout.dir, ref, dest);
        EXPECT_FALSE(r);
        EXPECT_EQ(count_entries(dest), 0u) << "a failed import must leave no layer or temp dir";
        return r ? "" : r.error().message();
    }
};

TEST_F(ImportFailure, RejectsDotDotEscape) {
    auto msg = import_error({{{TarEntry::regular("../escape", "x")}}});
    EXPECT_NE(msg.find("../escape"), std::string::npos) << msg;
    EXPECT_NE(msg.find("traversal"), std::string::npos) << msg;
    struct stat st;
    EXPECT_NE(::stat((tmp.path() + "/escape").c_str(), &st), 0);
}

TEST_F(ImportFailure, RejectsAbsolutePath) {
    auto msg = import_error({{{TarEntry::regular("/abs", "x")}}});
    EXPECT_NE(msg.find("absolute"), std::string::npos) << msg;
}

TEST_F(ImportFailure, RejectsHardlinkOutside) {
    auto msg = import_error({{{TarEntry::hard_link_to("link", "../../etc/passwd")}}});
    EXPECT_NE(msg.find("hardlink"), std::string::npos) << msg;
}

TEST_F(ImportFailure, RejectsCorruptedBlob) {
    auto layout = testing::write_layout(tmp.path() + "/layout", testing::whiteout_image());
    std::string blob = layout.dir + "/blobs/sha256/" + layout.layer_hex[0];
    // Same size, one byte changed: only the digest can tell.
    std::string bytes = read_file(blob).value();
    bytes[bytes.size() / 2] ^= 1;
    testing::write_bytes(blob, bytes);
    auto r = import_oci_layout(layout.dir, "", dest);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("verify digest of blob sha256:" + layout.layer_hex[0]), std::string::npos)
        << r.error().message();
    EXPECT_EQ(count_entries(dest), 0u);
}

TEST_F(ImportFailure, RejectsUnknownRefAndMalformedDigest) {
    auto layout = testing::write_layout(tmp.path() + "/layout", testing::whiteout_image(), "name:tag");
    auto r = import_oci_layout(layout.dir, "other:tag", dest);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("other:tag"), std::string::npos);
    testing::write_bytes(layout.dir + "/index.json",
                         R"({"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
                         R"("digest":"sha256:../../../etc/passwd","size":1}]})");
    r = import_oci_layout(layout.dir, "", dest);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("malformed digest"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace ctb::image
