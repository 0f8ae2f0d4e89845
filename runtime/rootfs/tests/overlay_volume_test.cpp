// overlayfs layering (copy-up, deep stacks through each mount method) and named volumes.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "common/files.hpp"
#include "runtime/rootfs/rootfs.hpp"
#include "runtime/rootfs/volumes.hpp"
#include "runtime/rootfs/tests/helpers.hpp"

namespace fs = std::filesystem;
using namespace ctb::rootfs;
using ctbtest::get;
using ctbtest::put;

namespace {

using OverlayTest = ctbtest::RootfsEnv;
using VolumeTest = ctbtest::RootfsEnv;

// n layers under dir/<prefix>NN, each with its own file and a shared one naming the layer.
std::vector<std::string> make_layers(const std::string& dir, const std::string& prefix, int n) {
    std::vector<std::string> layers;
    for (int i = 0; i < n; ++i) {
        std::string l = dir + "/" + prefix + std::to_string(i);
        fs::create_directories(l);
        (void)put(l + "/only-" + std::to_string(i), "layer " + std::to_string(i));
        (void)put(l + "/shared", std::to_string(i));
        layers.push_back(l);
    }
    return layers;  // index 0 is the top-most
}

std::string check_stack(const std::string& merged, int n) {
    ctbtest::Problems p;
    for (int i = 0; i < n; ++i)
        p.check(get(merged + "/only-" + std::to_string(i)) == "layer " + std::to_string(i),
                "layer " + std::to_string(i) + " not visible");
    p.check(get(merged + "/shared") == "0", "top-most layer does not win: " + get(merged + "/shared"));
    return p.text;
}

// Mounts n layers with the given method and checks the stack; returns problems.
std::string deep_stack(const std::string& dir, const std::string& prefix, int n, OverlayMethod method) {
    auto layers = make_layers(dir, prefix, n);
    OverlayLayers l{layers, dir + "/upper", dir + "/work", {}};
    fs::create_directories(dir + "/upper");
    fs::create_directories(dir + "/work");
    fs::create_directories(dir + "/merged");
    if (auto s = mount_overlay(l, dir + "/merged", method); !s) return s.error().message();
    return check_stack(dir + "/merged", n);
}

}  // namespace

TEST_F(OverlayTest, CopyUpLeavesTheLowerFileUntouched) {
    std::string tmp = this->tmp();
    auto result = ctbtest::in_private_ns(tmp, [&] {
        ctbtest::Problems p;
        fs::create_directories(tmp + "/image");
        p.check(put(tmp + "/image/file", "lower").empty(), "write lower");
        auto merged = mount_overlay_rootfs({tmp + "/image"}, tmp + "/c1");
        if (!merged) return merged.error().message();
        p.check(*merged == tmp + "/c1/merged", "merged path " + *merged);
        p.check(get(*merged + "/file") == "lower", "lower file visible");
        p.check(put(*merged + "/file", "changed").empty(), "write through overlay");
        p.check(put(*merged + "/new", "new").empty(), "create in overlay");
        p.check(get(*merged + "/file") == "changed", "overlay shows the change");
        p.check(get(tmp + "/image/file") == "lower", "lower file was modified: " + get(tmp + "/image/file"));
        p.check(!fs::exists(tmp + "/image/new"), "new file leaked into the lower layer");
        p.check(get(tmp + "/c1/upper/file") == "changed", "copy-up did not land in upper");
        return p.text;
    });
    EXPECT_EQ(result, "");
}

TEST_F(OverlayTest, SixtyFourLayersPastAPageMount) {
    std::string tmp = this->tmp();
    // ~110-byte layer paths: 64 of them are ~7 KiB of options, beyond mount(2)'s one page.
    std::string prefix = "layer-" + std::string(80, 'x') + "-";
    auto result = ctbtest::in_private_ns(tmp, [&] {
        ctbtest::Problems p;
        OverlayLayers probe{make_layers(tmp + "/auto", prefix, 64), "", "", {}};
        p.check(overlay_options(probe).size() > static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)),
                "test layers do not overflow a page");
        fs::remove_all(tmp + "/auto");
        p.text += deep_stack(tmp + "/auto", prefix, 64, OverlayMethod::automatic);
        auto legacy = deep_stack(tmp + "/legacy", prefix, 64, OverlayMethod::legacy);
        p.check(legacy.find("more than a page") != std::string::npos, "legacy should refuse: " + legacy);
        p.text += deep_stack(tmp + "/fsconfig", prefix, 64, OverlayMethod::fsconfig);
        return p.text;
    });
    EXPECT_EQ(result, "");
}

TEST_F(OverlayTest, RelativeMethodAndEscapedPaths) {
    std::string tmp = this->tmp();
    auto result = ctbtest::in_private_ns(tmp, [&] {
        ctbtest::Problems p;
        // A long common parent: absolute options overflow a page, relative ones fit.
        std::string deep = tmp + "/" + std::string(200, 'd') + "/" + std::string(200, 'e');
        fs::create_directories(deep);
        p.text += deep_stack(deep, "l", 64, OverlayMethod::relative);
        // ':' and ',' in layer paths survive the option string (and the fsconfig strings).
        std::string odd = tmp + "/odd";
        p.text += deep_stack(odd, "a:b,c", 3, OverlayMethod::legacy);
        p.text += deep_stack(tmp + "/odd2", "a:b,c", 3, OverlayMethod::fsconfig);
        // Paths longer than fsconfig's 255-byte strings go by descriptor.
        p.text += deep_stack(deep + "/" + std::string(100, 'f'), "z", 3, OverlayMethod::fsconfig);
        return p.text;
    });
    EXPECT_EQ(result, "");
}

TEST_F(OverlayTest, ErrorsNameTheTarget) {
    std::string tmp = this->tmp();
    auto result = ctbtest::in_private_ns(tmp, [&] {
        OverlayLayers l{{tmp + "/missing"}, tmp + "/u", tmp + "/w", {}};
        auto s = mount_overlay(l, tmp + "/m");
        if (s) return std::string("mounting missing layers succeeded");
        std::string msg = s.error().message();
        return msg.rfind("mount overlay on " + tmp + "/m: ENOENT", 0) == 0 ? "" : "message: " + msg;
    });
    EXPECT_EQ(result, "");
}

TEST_F(VolumeTest, DataOutlivesTheContainerAndRemoveDeletesIt) {
    std::string state = base + "/volumes";  // on the host's disk: must outlive the children
    auto data = create_volume("vol1", state);
    ASSERT_TRUE(data.has_value()) << data.error().message();
    EXPECT_EQ(*data, state + "/vol1/_data");
    EXPECT_EQ(create_volume("vol1", state).value_or(""), *data);  // idempotent
    {
        auto use = use_volume("vol1", state);
        ASSERT_TRUE(use.has_value()) << use.error().message();
        std::string tmp = this->tmp();
        auto result = ctbtest::in_private_ns(tmp, [&] {
            std::string rootfs = tmp + "/rootfs";
            if (auto e = ctbtest::make_busybox_rootfs(rootfs); !e.empty()) return e;
            ctb::spec::Spec spec;
            RootfsContext ctx;
            ctx.volumes.push_back(volume_mount(*data, "/data", false));
            ctx.volumes.push_back(volume_mount(*data, "/data-ro", true));
            return ctbtest::as_pid1([&] {
                if (auto s = setup_rootfs(spec, rootfs, ctx); !s) return s.error().message();
                ctbtest::Problems p;
                p.check(put("/data/hello", "persisted").empty(), "write to volume");
                p.expect_errno(EROFS, "write to read-only volume",
                               [] { return ::open("/data-ro/x", O_CREAT | O_WRONLY | O_CLOEXEC, 0644); });
                return p.text;
            });
        });
        EXPECT_EQ(result, "");
        EXPECT_EQ(get(*data + "/hello"), "persisted");
        // A second user at the same time is fine; removal is refused while either holds it.
        auto second = use_volume("vol1", state);
        ASSERT_TRUE(second.has_value());
        auto busy = remove_volume("vol1", state);
        ASSERT_FALSE(busy.has_value());
        EXPECT_EQ(busy.error().err, EBUSY);
        EXPECT_EQ(busy.error().message().rfind("remove volume vol1: EBUSY", 0), 0u) << busy.error().message();
        use->release();
        EXPECT_FALSE(remove_volume("vol1", state).has_value());
    }
    EXPECT_EQ(list_volumes(state).value_or(std::vector<std::string>{}), std::vector<std::string>{"vol1"});
    ASSERT_TRUE(remove_volume("vol1", state).has_value());
    EXPECT_FALSE(fs::exists(state + "/vol1"));
    EXPECT_TRUE(remove_volume("vol1", state).has_value());  // idempotent
    EXPECT_FALSE(use_volume("vol1", state).has_value());
    EXPECT_TRUE(list_volumes(state).value_or(std::vector<std::string>{"x"}).empty());
}

TEST_F(VolumeTest, ListShowsOnlyVolumes) {
    std::string state = base + "/volumes";
    EXPECT_TRUE(list_volumes(state).value_or(std::vector<std::string>{"x"}).empty());  // no root yet
    ASSERT_TRUE(create_volume("b", state).has_value());
    ASSERT_TRUE(create_volume("a", state).has_value());
    fs::create_directories(state + "/.removing-c-1/_data");
    fs::create_directories(state + "/not-a-volume");
    EXPECT_EQ(list_volumes(state).value_or(std::vector<std::string>{}), (std::vector<std::string>{"a", "b"}));
    EXPECT_TRUE(remove_volume("a", state).has_value());
    EXPECT_TRUE(remove_volume("b", state).has_value());
}
