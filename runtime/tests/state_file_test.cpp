// state.json: what save_state and overwrite_state write is what load_state reads back, for every
// field, including strings that need escaping and paths that are not UTF-8.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/files.hpp"
#include "runtime/container/state.hpp"
#include "runtime/ownership.hpp"

using namespace ctb;
using namespace ctb::container;

namespace {

class StateFile : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/ctbench-state-test.XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        root_ = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(root_); }

    State full_state() {
        State s;
        s.id = "c1.state_test-x";
        s.status = ContainerStatus::created;
        s.pid = 4242;
        s.pid_start_time = 123456789012ull;
        s.bundle = "/bundle/with \"quotes\" and \\backslash";
        s.rootfs = "/rootfs/caf\xC3\xA9\n";
        s.cgroup_path = "ctbench/c1";
        s.cgroup_created = std::vector<std::string>{"/sys/fs/cgroup/pids/ctbench", "/sys/fs/cgroup/pids/ctbench/c1"};
        s.created = "2026-12-08T05:00:00Z";
        s.annotations = {{"org.example/tab", "a\tb"}, {"ctl", std::string("\x01\x1f", 2)}, {"empty", ""}};
        s.has_lifecycle_hooks = false;
        s.owner = "run-1234";
        std::filesystem::create_directories(state_dir(root_, s.id));
        return s;
    }

    static void expect_same(const State& a, const State& b) {
        EXPECT_EQ(a.oci_version, b.oci_version);
        EXPECT_EQ(a.id, b.id);
        EXPECT_EQ(a.status, b.status);
        EXPECT_EQ(a.pid, b.pid);
        EXPECT_EQ(a.pid_start_time, b.pid_start_time);
        EXPECT_EQ(a.bundle, b.bundle);
        EXPECT_EQ(a.rootfs, b.rootfs);
        EXPECT_EQ(a.cgroup_path, b.cgroup_path);
        EXPECT_EQ(a.cgroup_created, b.cgroup_created);
        EXPECT_EQ(a.created, b.created);
        EXPECT_EQ(a.annotations, b.annotations);
        EXPECT_EQ(a.has_lifecycle_hooks, b.has_lifecycle_hooks);
        EXPECT_EQ(a.owner, b.owner);
    }

    // What load_state reads back is `s`, field for field.
    void expect_reads_back(const State& s) {
        auto back = load_state(root_, s.id);
        ASSERT_TRUE(back) << back.error().message();
        expect_same(s, *back);
    }

    std::string root_;
};

}  // namespace

TEST_F(StateFile, SavedStateReadsBackFieldForField) {
    State s = full_state();
    ASSERT_TRUE(save_state(root_, s));
    expect_reads_back(s);
}

TEST_F(StateFile, OptionalFieldsStayAbsent) {
    State s = full_state();
    s.cgroup_created.reset();
    s.owner.clear();
    s.annotations.clear();
    ASSERT_TRUE(save_state(root_, s));
    auto text = read_file(state_dir(root_, s.id) + "/state.json");
    ASSERT_TRUE(text);
    auto j = nlohmann::json::parse(*text);
    EXPECT_FALSE(j.contains("cgroupCreated"));
    EXPECT_FALSE(j.contains(kOwnerField));
    EXPECT_TRUE(j["annotations"].is_object());
    EXPECT_TRUE(j["annotations"].empty());
    expect_reads_back(s);
}

TEST_F(StateFile, OverwriteKeepsTheFileValidWhenTheDocumentShrinks) {
    State s = full_state();
    ASSERT_TRUE(save_state(root_, s));
    s.status = ContainerStatus::running;
    s.annotations.clear();  // shorter than before: the rest of the old text must not survive
    s.pid = 7;
    ASSERT_TRUE(overwrite_state(root_, s));
    expect_reads_back(s);
}

TEST_F(StateFile, PathsThatAreNotUtf8StillMakeAValidDocument) {
    State s = full_state();
    s.bundle = "/bundle/\xFF\xFE";
    ASSERT_TRUE(save_state(root_, s));
    auto back = load_state(root_, s.id);
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(back->bundle, "/bundle/\xEF\xBF\xBD\xEF\xBF\xBD");
}
