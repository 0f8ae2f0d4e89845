// The suite guest image, built for real from this build's binaries and the installed guest
// kernel's modules (no root needed): modules resolved through modules.dep with their
// dependencies first, every shared library and the loader present, the init mounting a pure
// cgroup v2 host, and a second build served from the cache.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "benches/baselines/guest_image.hpp"
#include "benches/baselines/suite_image.hpp"
#include "common/files.hpp"

namespace ctb::vm {
namespace {

namespace fs = std::filesystem;

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/ctbench-suite-image-XXXXXX";
        path = ::mkdtemp(tmpl) ? tmpl : "";
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

// name -> (mode, content) of every entry of a (gzip) cpio archive.
std::map<std::string, std::pair<unsigned, std::string>> read_cpio(const std::string& path) {
    std::map<std::string, std::pair<unsigned, std::string>> entries;
    archive* a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_cpio(a);
    EXPECT_EQ(archive_read_open_filename(a, path.c_str(), 1 << 16), ARCHIVE_OK) << archive_error_string(a);
    archive_entry* entry = nullptr;
    while (archive_read_next_header(a, &entry) == ARCHIVE_OK) {
        std::string content;
        char buf[1 << 16];
        for (la_ssize_t n; (n = archive_read_data(a, buf, sizeof buf)) > 0;) content.append(buf, n);
        entries["/" + std::string(archive_entry_pathname(entry))] = {archive_entry_perm(entry), content};
    }
    archive_read_free(a);
    return entries;
}

// The installed guest kernel and its modules dir, or why the test cannot run here.
struct GuestKernel {
    std::string kernel, release, modules_dir;
};
std::optional<GuestKernel> guest_kernel(std::string& why) {
    auto kernel = find_guest_kernel();
    if (!kernel) { why = kernel.error().message(); return std::nullopt; }
    auto release = kernel_release_of(*kernel);
    if (!release) { why = release.error().message(); return std::nullopt; }
    std::string dir = "/lib/modules/" + *release;
    if (!fs::exists(dir + "/modules.dep")) { why = dir + "/modules.dep absent"; return std::nullopt; }
    return GuestKernel{*kernel, *release, dir};
}

#define REQUIRE_GUEST_KERNEL(k)                      \
    std::string why_;                                \
    auto k = guest_kernel(why_);                     \
    if (!k) GTEST_SKIP() << why_;

TEST(KernelRelease, ReadFromTheBzImageHeader) {
    REQUIRE_GUEST_KERNEL(k);
    // Debian names the image after its release: vmlinuz-<release>.
    EXPECT_EQ(fs::path(k->kernel).filename().string(), "vmlinuz-" + k->release);
}

TEST(KernelRelease, MissingOrBadKernelIsNamed) {
    auto missing = kernel_release_of("/nonexistent/vmlinuz");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message().find("/nonexistent/vmlinuz"), std::string::npos);
    TempDir dir;
    ASSERT_TRUE(write_file(dir.path + "/vmlinuz", std::string(4096, 'x')));
    auto bad = kernel_release_of(dir.path + "/vmlinuz");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("bzImage"), std::string::npos) << bad.error().message();
}

TEST(Modules, DependenciesComeFirstAndOnce) {
    REQUIRE_GUEST_KERNEL(k);
    auto order = module_load_order(k->modules_dir, {"nft_nat", "nft_chain_nat", "nf_tables", "bridge"});
    ASSERT_TRUE(order) << order.error().message();
    auto pos = [&](const std::string& name) {
        auto it = std::find_if(order->begin(), order->end(),
                               [&](const std::string& p) { return fs::path(p).filename() == name + ".ko"; });
        return it == order->end() ? -1 : static_cast<int>(it - order->begin());
    };
    for (const char* m : {"nft_nat", "nf_tables", "nfnetlink", "nf_nat", "nf_conntrack", "bridge", "stp", "llc"})
        EXPECT_GE(pos(m), 0) << m << " missing from the load order";
    EXPECT_LT(pos("nfnetlink"), pos("nf_tables"));
    EXPECT_LT(pos("nf_tables"), pos("nft_nat"));
    EXPECT_LT(pos("nf_conntrack"), pos("nf_nat"));
    EXPECT_LT(pos("llc"), pos("bridge"));
    std::vector<std::string> sorted = *order;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end()) << "a module listed twice";
}

TEST(Modules, UnknownModuleIsNamed) {
    REQUIRE_GUEST_KERNEL(k);
    auto order = module_load_order(k->modules_dir, {"overlay", "no_such_module_ctb"});
    ASSERT_FALSE(order);
    EXPECT_NE(order.error().message().find("no_such_module_ctb"), std::string::npos);
}

TEST(Libraries, DynamicBinaryNeedsLibcAndTheLoaderStaticNeedsNothing) {
    // ctbench-runtime is a static front end; the full CLI beside it is the dynamic one.
    auto libs = shared_libraries(env("CTBENCH_RUNTIME") + "-full");
    ASSERT_TRUE(libs) << libs.error().message();
    auto has = [&](const std::string& part) {
        return std::any_of(libs->begin(), libs->end(), [&](const std::string& l) { return l.find(part) != std::string::npos; });
    };
    EXPECT_TRUE(has("/libc.so.6"));
    EXPECT_TRUE(has("ld-linux-x86-64.so.2"));
    for (const auto& l : *libs) EXPECT_TRUE(fs::exists(l)) << l;
    for (const char* static_binary : {"CTBENCH_AGENT", "CTBENCH_RUNTIME"}) {
        auto none = shared_libraries(env(static_binary));
        ASSERT_TRUE(none) << none.error().message();
        EXPECT_TRUE(none->empty()) << static_binary;
    }
}

TEST(SuiteImage, HoldsBinariesLibrariesModulesAndInitThenHitsTheCache) {
    REQUIRE_GUEST_KERNEL(k);
    if (auto s = check_static_executable("/bin/busybox"); !s) GTEST_SKIP() << s.error().message();
    TempDir cache;
    SuiteImageSpec spec{.ctbench = env("CTBENCH_RUNTIME"), .runtime = env("CTBENCH_RUNTIME"),
                        .agent = env("CTBENCH_AGENT"), .modules_dir = k->modules_dir, .cache_dir = cache.path};
    auto image = build_suite_image(spec);
    ASSERT_TRUE(image) << image.error().message();
    EXPECT_FALSE(image->cache_hit);
    EXPECT_TRUE(image->path.starts_with(cache.path + "/suite-")) << image->path;

    auto entries = read_cpio(image->path);
    for (const char* f : {"/init", "/bin/busybox", "/usr/local/bin/ctbench", "/usr/local/bin/ctbench-runtime",
                          "/usr/local/bin/ctbench-agent"}) {
        ASSERT_TRUE(entries.contains(f)) << f;
        EXPECT_EQ(entries[f].first & 0111, 0111u) << f << " not executable";
    }
    ASSERT_FALSE(image->libraries.empty());
    for (const auto& lib : image->libraries) EXPECT_TRUE(entries.contains(lib)) << lib;
    const std::string& init = entries["/init"].second;
    for (const char* m : {"overlay", "veth", "bridge", "nf_tables", "nft_nat", "nft_chain_nat", "virtio_console", "virtio_net"}) {
        auto it = std::find_if(image->modules.begin(), image->modules.end(),
                               [&](const std::string& p) { return fs::path(p).filename() == std::string(m) + ".ko"; });
        ASSERT_NE(it, image->modules.end()) << m;
        std::string guest = "/lib/modules/" + k->release + "/" + *it;
        EXPECT_TRUE(entries.contains(guest)) << guest;
        EXPECT_NE(init.find(guest), std::string::npos) << "init does not load " << guest;
    }
    EXPECT_NE(init.find("mount -t cgroup2"), std::string::npos);
    EXPECT_EQ(init.find("-t cgroup "), std::string::npos) << "the guest must not mount a v1 hierarchy";
    EXPECT_NE(init.find(report_port_name), std::string::npos);

    auto again = build_suite_image(spec);
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_TRUE(again->cache_hit);
    EXPECT_EQ(again->path, image->path);
    EXPECT_EQ(again->digest, image->digest);
    // Nothing but the image itself in the cache (no scratch or half-written files).
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(cache.path)) files.push_back(e.path());
    EXPECT_EQ(files, std::vector<std::string>{image->path});
}

}  // namespace
}  // namespace ctb::vm
