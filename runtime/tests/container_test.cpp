// The reference runtime end to end (root): containers from the embedded image, checked from the
// inside by ctbench-agent and from the outside by the host's own view.
#include <gtest/gtest.h>
#include <malloc.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/child.hpp"
#include "common/files.hpp"
#include "common/subprocess.hpp"
#include "runtime/container/container.hpp"
#include "runtime/image/image.hpp"
#include "runtime/namespaces.hpp"
#include "runtime/rootfs/volumes.hpp"
#include "runtime/spec/parse.hpp"

namespace fs = std::filesystem;
using namespace ctb;
using nlohmann::json;

namespace {

struct RunResult {
    int status = -1;
    std::string out;
    std::string error;  // the runtime's own error ("" when the container ran)
};

std::string test_id(const std::string& name) { return "ctbtest-" + name + "-" + std::to_string(::getpid()); }

// The options the tests create their containers with: the default image as the rootfs.
container::CreateOptions image_options(const spec::Spec& spec, const std::string& image) {
    container::CreateOptions o;
    o.bundle = "/";
    o.spec = spec;
    o.image_layers = {image};
    return o;
}

spec::Spec agent_spec(std::vector<std::string> agent_args) {
    spec::Spec s = spec::default_spec();
    s.process.args = {"/usr/bin/ctbench-agent"};
    for (auto& a : agent_args) s.process.args.push_back(std::move(a));
    s.hostname = "ctbtest";
    return s;
}

// Runs the container in a child process whose stdout is a temp file, so the test process's own
// stdout, credentials and namespaces are never touched.
RunResult run_container(const spec::Spec& spec, const std::string& id) {
    auto image = image::ensure_default_image();
    if (!image) return {-1, "", image.error().message()};
    auto out = run_in_child(
        [&] {
            std::FILE* tmp = std::tmpfile();
            ::dup2(::fileno(tmp), STDOUT_FILENO);
            auto o = image_options(spec, *image);
            o.id = id;
            auto status = container::run(o);
            std::fflush(stdout);
            std::string text;
            std::rewind(tmp);
            char buf[4096];
            for (size_t n; (n = std::fread(buf, 1, sizeof buf, tmp)) > 0;) text.append(buf, n);
            json j = {{"out", text}};
            if (status) j["status"] = *status;
            else j["error"] = status.error().message();
            return j.dump();
        },
        std::chrono::seconds(60));
    if (!out) return {-1, "", out.error().message()};
    auto j = json::parse(*out);
    return {j.value("status", -1), j["out"], j.value("error", "")};
}

json agent_json(const RunResult& r) {
    auto j = json::parse(r.out, nullptr, false);
    return j.is_discarded() ? json::object() : j;
}

void expect_no_leftovers(const std::string& id) {
    EXPECT_FALSE(fs::exists("/run/ctbench/runtime/" + id));
    for (const char* h : {"memory", "pids", "cpu", "freezer", "unified"})
        EXPECT_FALSE(fs::exists(std::string("/sys/fs/cgroup/") + h + "/ctbench/" + id)) << h;
}

}  // namespace

TEST(Container, AllEightNamespacesAreNewAndBehave) {
    spec::Spec s = agent_spec({"info"});
    s.linux.namespaces.push_back({"user", ""});
    s.linux.namespaces.push_back({"time", ""});
    s.linux.uid_mappings = {{0, 0, 65536}};
    s.linux.gid_mappings = {{0, 0, 65536}};
    s.linux.time_offsets["monotonic"] = {1000, 0};
    std::string id = test_id("ns");
    auto r = run_container(s, id);
    ASSERT_EQ(r.error, "");
    ASSERT_EQ(r.status, 0) << r.out;
    json info = agent_json(r);
    for (const char* ns : {"mnt", "uts", "ipc", "pid", "net", "user", "cgroup", "time"}) {
        unsigned long host = ns::ns_inode("self", ns);
        ASSERT_TRUE(info["namespaces"].contains(ns)) << ns;
        EXPECT_NE(info["namespaces"][ns].get<unsigned long>(), host) << ns << " is the host's";
    }
    EXPECT_EQ(info["pid"], 1);
    EXPECT_EQ(info["ppid"], 0);
    EXPECT_EQ(info["hostname"], "ctbtest");
    EXPECT_EQ(info["processes"], json::array({1}));  // a /proc of its own: only itself
    EXPECT_EQ(info["uid_map"], json::array({json::array({0, 0, 65536})}));
    EXPECT_EQ(info["interfaces"].size(), 1u);  // loopback only
    timespec host_mono{};
    ::clock_gettime(CLOCK_MONOTONIC, &host_mono);
    EXPECT_GT(info["clocks"]["monotonic"].get<double>(), double(host_mono.tv_sec) + 900);
    expect_no_leftovers(id);
}

TEST(Container, MemoryLimitKillsAnAllocatorThatExceedsIt) {
    spec::Spec s = agent_spec({"alloc", "128"});
    s.linux.resources = spec::Resources{};
    s.linux.resources->memory = spec::MemoryResources{};
    s.linux.resources->memory->limit = 32 << 20;
    s.linux.resources->memory->swap = 32 << 20;
    std::string id = test_id("oom");
    auto r = run_container(s, id);
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.status, 128 + SIGKILL) << r.out;
    // Control: the same limit lets a small allocation finish.
    s.process.args = {"/usr/bin/ctbench-agent", "alloc", "8"};
    auto ok = run_container(s, id);
    EXPECT_EQ(ok.status, 0) << ok.out << ok.error;
    EXPECT_EQ(agent_json(ok)["allocated_mib"], 8);
    expect_no_leftovers(id);
}

TEST(Container, PidsLimitStopsAForkBomb) {
    spec::Spec s = agent_spec({"fork", "50"});
    s.linux.resources = spec::Resources{};
    s.linux.resources->pids = spec::PidsResources{10};
    std::string id = test_id("pids");
    auto r = run_container(s, id);
    ASSERT_EQ(r.error, "");
    json j = agent_json(r);
    EXPECT_LT(j["created"].get<int>(), 10) << r.out;
    EXPECT_EQ(j["first_error"], "EAGAIN") << r.out;
    expect_no_leftovers(id);
}

TEST(Container, VolumeDataSurvivesDeleteAndIsSharedByTwoContainers) {
    std::string name = test_id("vol");
    auto path = rootfs::create_volume(name);
    ASSERT_TRUE(path.has_value()) << path.error().message();
    spec::Spec writer = agent_spec({"write", "/data/note", "hello from the first container"});
    writer.mounts.push_back(rootfs::volume_mount(*path, "/data", false));
    auto w = run_container(writer, name + "-w");
    EXPECT_EQ(w.status, 0) << w.out << w.error;
    spec::Spec reader = agent_spec({"cat", "/data/note"});
    reader.mounts.push_back(rootfs::volume_mount(*path, "/data", true));
    auto r = run_container(reader, name + "-r");
    EXPECT_EQ(agent_json(r)["content"], "hello from the first container") << r.out << r.error;
    // Read-only for the reader: its write must fail.
    reader.process.args = {"/usr/bin/ctbench-agent", "write", "/data/other", "x"};
    auto ro = run_container(reader, name + "-r");
    EXPECT_NE(ro.status, 0);
    EXPECT_EQ(agent_json(ro)["errno_name"], "EROFS") << ro.out;
    EXPECT_TRUE(rootfs::remove_volume(name).has_value());
    EXPECT_FALSE(fs::exists(*path));
    ::rmdir(rootfs::kDefaultVolumeRoot);
}

TEST(Container, MaskedPathsAreUnreadable) {
    // Every masked file that the host can read with content must read empty inside.
    int checked = 0;
    for (const auto& path : spec::default_spec().linux.masked_paths) {
        auto host = read_file(path);
        if (!host || host->empty()) continue;
        auto r = run_container(agent_spec({"cat", path}), test_id("mask"));
        json j = agent_json(r);
        EXPECT_EQ(j["content"], "") << path << ": " << r.out;
        ++checked;
    }
    if (checked == 0) GTEST_SKIP() << "no masked path is readable with content on this host";
}

TEST(Container, SetupErrorsNameStepAndObject) {
    spec::Spec s = agent_spec({"info"});
    s.mounts.push_back({"/proc/../../escape", "bind", "/nonexistent-ctbench-source", {"bind"}});
    std::string id = test_id("err");
    auto r = run_container(s, id);
    EXPECT_NE(r.error, "");
    EXPECT_NE(r.error.find("/nonexistent-ctbench-source"), std::string::npos) << r.error;
    expect_no_leftovers(id);
}

TEST(Container, ExecFailureComesBackAsAnError) {
    spec::Spec s = agent_spec({});
    s.process.args = {"/no/such/binary"};
    std::string id = test_id("exec");
    auto r = run_container(s, id);
    EXPECT_NE(r.error.find("exec /no/such/binary: ENOENT"), std::string::npos) << r.error;
    expect_no_leftovers(id);
}

// The init that shares the creating process's memory (container/shared_init.hpp), seen from the
// kernel: kcmp(KCMP_VM) says whether two processes have the same address space.
namespace {

// kcmp(KCMP_VM): 0 when `pid` has our address space, else the kernel's answer (-1, errno set).
long kcmp_vm(pid_t pid) { return ::syscall(SYS_kcmp, ::getpid(), pid, 1 /* KCMP_VM */, 0, 0); }

// Start, wait and remove a created container: its exit status, or -1 when it did not run.
int run_to_end(container::Container& c) {
    auto started = c.start();
    auto status = started ? c.wait() : Result<int>(-1);
    (void)c.remove(true);
    return status ? *status : -1;
}

// What a run_in_child body printed, parsed; {"error": ...} when the child failed.
json child_json(const Result<std::string>& out) {
    if (!out) return {{"error", out.error().message()}};
    return json::parse(*out);
}

// In a child process (its own heap and environment): create, look at the init, start, wait,
// remove. `copy`: CTBENCH_INIT_COPY=1 first. Also reports how much the child's heap grew over
// `rounds` more containers after the first, which a setup that leaves allocations behind in our
// heap (rule 1) would show.
json create_and_look(const spec::Spec& spec, const std::string& id, bool copy, int rounds = 0) {
    auto image = image::ensure_default_image();
    if (!image) return {{"error", image.error().message()}};
    auto out = run_in_child(
        [&] {
            if (copy) ::setenv("CTBENCH_INIT_COPY", "1", 1);
            auto o = image_options(spec, *image);
            json j;
            std::size_t heap_after_first = 0;
            for (int i = 0; i <= rounds; ++i) {
                o.id = id + "-" + std::to_string(i);
                auto c = container::Container::create(o);
                if (!c) return json{{"error", c.error().message()}}.dump();
                long same = kcmp_vm(c->pid());
                j["shared"] = same == 0;
                j["kcmp_errno"] = same < 0 ? errno : 0;
                auto started = c->start();
                if (!started) j["start_error"] = started.error().message();
                auto status = started ? c->wait() : Result<int>(-1);
                j["status"] = status ? *status : -1;
                (void)c->remove(true);
                if (i == 0) heap_after_first = ::mallinfo2().uordblks;
            }
            j["heap_growth"] = static_cast<long>(::mallinfo2().uordblks) - static_cast<long>(heap_after_first);
            return j.dump();
        },
        std::chrono::seconds(120));
    return child_json(out);
}

spec::Spec true_spec() {
    spec::Spec s = agent_spec({});
    s.process.args = {"/bin/true"};  // quiet: the container shares the test's stdout
    return s;
}

}  // namespace

TEST(SharedInit, TheInitSharesOurMemoryUntilExecAndTheContainerRuns) {
    std::string id = test_id("shared");
    auto j = create_and_look(true_spec(), id, false, 20);
    ASSERT_FALSE(j.contains("error")) << j.dump();
    if (j["kcmp_errno"] == ENOSYS) GTEST_SKIP() << "kcmp(2) not built into this kernel";
    EXPECT_EQ(j["shared"], true) << j.dump();
    EXPECT_EQ(j["status"], 0) << j.dump();
    // 20 containers after the first: what their inits allocated in our heap was freed before
    // "ready" (a leak of the init's setup would be kilobytes per container).
    EXPECT_LT(j["heap_growth"].get<long>(), 16 * 1024) << j.dump();
    for (int i = 0; i <= 20; ++i) expect_no_leftovers(id + "-" + std::to_string(i));
}

TEST(SharedInit, TheCopyIsUsedWhenAskedOrWhenSharingIsUnsafe) {
    std::string id = test_id("copy");
    auto asked = create_and_look(true_spec(), id, true);
    ASSERT_FALSE(asked.contains("error")) << asked.dump();
    if (asked["kcmp_errno"] == ENOSYS) GTEST_SKIP() << "kcmp(2) not built into this kernel";
    EXPECT_EQ(asked["shared"], false) << asked.dump();
    EXPECT_EQ(asked["status"], 0) << asked.dump();
    // A memory limit: the OOM killer would kill every process sharing the init's memory.
    spec::Spec limited = true_spec();
    limited.linux.resources = spec::Resources{};
    limited.linux.resources->memory = spec::MemoryResources{};
    limited.linux.resources->memory->limit = 64 << 20;
    auto unsafe = create_and_look(limited, id, false);
    EXPECT_EQ(unsafe["shared"], false) << unsafe.dump();
    EXPECT_EQ(unsafe["status"], 0) << unsafe.dump();
    expect_no_leftovers(id + "-0");
}

// After "ready" the init only makes system calls (rule 2): an exec that fails there (a file with
// an execute bit that is no program) reaches start() as an error naming the step and errno,
// formatted without our heap, and the creating process goes on creating containers.
TEST(SharedInit, AnExecFailureAfterReadyComesBackFromStart) {
    std::string id = test_id("enoexec");
    std::string bad = "/tmp/" + id + ".notaprogram";
    ASSERT_TRUE(write_file(bad, "this is not an executable format\n").has_value());
    ::chmod(bad.c_str(), 0755);
    spec::Spec s = agent_spec({});
    s.process.args = {"/notaprogram"};
    s.mounts.push_back({"/notaprogram", "bind", bad, {"bind", "ro"}});
    auto j = create_and_look(s, id, false);
    ::unlink(bad.c_str());
    ASSERT_FALSE(j.contains("error")) << j.dump();
    if (j["kcmp_errno"] != ENOSYS) {
        EXPECT_EQ(j["shared"], true) << j.dump();
    }
    EXPECT_NE(j.value("start_error", "").find("exec /notaprogram: ENOEXEC"), std::string::npos) << j.dump();
    expect_no_leftovers(id + "-0");
    auto after = create_and_look(true_spec(), id + "-after", false, 2);
    EXPECT_EQ(after["status"], 0) << after.dump();
}

// The init makes the memory it shares with us non-dumpable (its protection until exec). The flag
// is the memory's, so it is ours too while any sharing init has not exec'd; after the last one,
// our own setting is back: a created container that waits for start keeps it off, another
// container run to the end in the meantime does not bring it back early.
TEST(SharedInit, TheCreatorIsDumpableAgainOnceNoInitSharesItsMemory) {
    auto image = image::ensure_default_image();
    ASSERT_TRUE(image.has_value()) << image.error().message();
    std::string id = test_id("dumpable");
    auto out = run_in_child(
        [&] {
            json j;
            j["before"] = ::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
            auto o = image_options(true_spec(), *image);
            o.id = id + "-waiting";
            auto waiting = container::Container::create(o);  // its init waits for start, sharing
            if (!waiting) return json{{"error", waiting.error().message()}}.dump();
            j["shared"] = kcmp_vm(waiting->pid()) == 0;
            j["while_created"] = ::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
            o.id = id + "-other";
            o.start_at_once = true;
            auto other = container::run(o);
            j["other_status"] = other ? *other : -1;
            j["after_other"] = ::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
            j["waiting_status"] = run_to_end(*waiting);
            j["after_all"] = ::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
            return j.dump();
        },
        std::chrono::seconds(60));
    auto j = child_json(out);
    ASSERT_FALSE(j.contains("error")) << j.dump();
    if (j["shared"] != true) GTEST_SKIP() << "the init did not share our memory here: " << j.dump();
    EXPECT_EQ(j["before"], 1) << j.dump();
    EXPECT_EQ(j["while_created"], 0) << j.dump();
    EXPECT_EQ(j["other_status"], 0) << j.dump();
    EXPECT_EQ(j["after_other"], 0) << j.dump();  // the waiting init still shares it
    EXPECT_EQ(j["waiting_status"], 0) << j.dump();
    EXPECT_EQ(j["after_all"], 1) << j.dump();
    expect_no_leftovers(id + "-waiting");
    expect_no_leftovers(id + "-other");
}

namespace {

// The inits' stacks in our address space: an anonymous 4 KiB PROT_NONE guard directly followed
// by a read-write mapping of 1-2 MiB (shared_init.cpp's layout). This test's child has no threads,
// whose stacks would look alike.
int init_stack_mappings() {
    std::ifstream maps("/proc/self/maps");
    int count = 0;
    unsigned long guard_end = 0;
    for (std::string line; std::getline(maps, line);) {
        unsigned long from = 0, to = 0, offset = 0, inode = 1;
        char perms[8] = {};
        if (std::sscanf(line.c_str(), "%lx-%lx %7s %lx %*s %lu", &from, &to, perms, &offset, &inode) != 5) continue;
        bool anonymous = inode == 0 && line.find('[') == std::string::npos;
        if (anonymous && from == guard_end && std::string(perms) == "rw-p" && to - from >= (1ul << 20) &&
            to - from <= (2ul << 20))
            ++count;
        guard_end = anonymous && std::string(perms) == "---p" && to - from == 4096 ? to : 0;
    }
    return count;
}

}  // namespace

// One init stack is kept for the next container (no mmap, page faults or TLB-flush IPI per start),
// never more: two containers waiting for start at once each have their own, and once both have
// run, one is kept and the other unmapped.
TEST(SharedInit, OneInitStackIsKeptForTheNextContainerAndNoMore) {
    auto image = image::ensure_default_image();
    ASSERT_TRUE(image.has_value()) << image.error().message();
    std::string id = test_id("stack");
    auto out = run_in_child(
        [&] {
            auto o = image_options(true_spec(), *image);
            o.start_at_once = true;
            json j;
            j["before"] = init_stack_mappings();
            for (int i = 0; i < 3; ++i) {
                o.id = id + "-run" + std::to_string(i);
                auto status = container::run(o);
                j["run_status"].push_back(status ? *status : -1);
            }
            j["after_runs"] = init_stack_mappings();
            o.start_at_once = false;
            o.id = id + "-a";
            auto a = container::Container::create(o);
            o.id = id + "-b";
            auto b = container::Container::create(o);
            if (!a || !b) return json{{"error", (a ? b.error() : a.error()).message()}}.dump();
            j["shared"] = kcmp_vm(b->pid()) == 0;
            j["while_two_wait"] = init_stack_mappings();
            for (auto* c : {&*a, &*b}) j["waited_status"].push_back(run_to_end(*c));
            j["after_all"] = init_stack_mappings();
            return j.dump();
        },
        std::chrono::seconds(60));
    auto j = child_json(out);
    ASSERT_FALSE(j.contains("error")) << j.dump();
    if (j["shared"] != true) GTEST_SKIP() << "the init did not share our memory here: " << j.dump();
    EXPECT_EQ(j["run_status"], json::array({0, 0, 0})) << j.dump();
    EXPECT_EQ(j["waited_status"], json::array({0, 0})) << j.dump();
    EXPECT_EQ(j["before"], 0) << j.dump();
    EXPECT_EQ(j["after_runs"], 1) << j.dump();
    EXPECT_EQ(j["while_two_wait"], 2) << j.dump();
    EXPECT_EQ(j["after_all"], 1) << j.dump();
    for (const char* s : {"-run0", "-run1", "-run2", "-a", "-b"}) expect_no_leftovers(id + s);
}
