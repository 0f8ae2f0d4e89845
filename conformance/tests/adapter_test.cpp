// Every runtime adapter runs the same container and sees the same thing (root).
#include <gtest/gtest.h>
#include <signal.h>

#include "common/child.hpp"
#include "common/subprocess.hpp"
#include "conformance/harness/adapter.hpp"

using namespace ctb;
using namespace ctb::conformance;

namespace {

// Each runtime under test: the built-in library, the installed OCI runtimes, our own CLI.
std::vector<std::string> runtimes() {
    std::vector<std::string> out{"ctbench"};
    for (const char* r : {"runc", "crun"})
        if (find_executable(r)) out.push_back(r);
    if (const char* own = std::getenv("CTBENCH_RUNTIME")) out.push_back(own);
    return out;
}

// The adapter must live in a child: it may unshare a mount namespace and become a subreaper.
nlohmann::json in_child(const std::function<nlohmann::json()>& body) {
    auto r = run_in_child([&] { return body().dump(); }, std::chrono::seconds(60));
    if (!r) return {{"error", r.error().message()}};
    return nlohmann::json::parse(*r);
}

}  // namespace

TEST(Adapters, RunGivesTheAgentsViewFromInside) {
    for (const auto& name : runtimes()) {
        auto j = in_child([&]() -> nlohmann::json {
            auto rt = make_runtime(name);
            if (!rt) return {{"error", rt.error().message()}};
            auto out = (*rt)->run(RunRequest{agent_spec({"info"})});
            if (!out) return {{"error", out.error().message()}};
            return {{"status", out->status}, {"info", out->json()}, {"err", out->err}};
        });
        ASSERT_FALSE(j.contains("error")) << name << ": " << j["error"];
        EXPECT_EQ(j["status"], 0) << name << ": " << j["err"];
        EXPECT_EQ(j["info"]["pid"], 1) << name;
        EXPECT_EQ(j["info"]["hostname"], "ctbench") << name;
    }
}

TEST(Adapters, ExitStatusAndSignalsComeBack) {
    for (const auto& name : runtimes()) {
        auto j = in_child([&]() -> nlohmann::json {
            auto rt = make_runtime(name);
            if (!rt) return {{"error", rt.error().message()}};
            auto out = (*rt)->run(RunRequest{agent_spec({"exit", "7"})});
            if (!out) return {{"error", out.error().message()}};
            auto running = (*rt)->start(RunRequest{agent_spec({"sleep", "30"})});
            if (!running) return {{"error", running.error().message()}};
            auto exec = (*running)->exec({"/bin/hostname"});
            if (!exec) return {{"error", exec.error().message()}};
            if (auto k = (*running)->kill(SIGKILL); !k) return {{"error", k.error().message()}};
            auto waited = (*running)->wait(std::chrono::seconds(10));
            if (!waited) return {{"error", waited.error().message()}};
            // A second wait (the handle's cleanup after a case's own) has the status at once: the
            // init was reaped by the first, and waitpid can no longer tell.
            auto again = (*running)->wait(std::chrono::milliseconds(1));
            if (!again) return {{"error", again.error().message()}};
            return {{"exit", out->status}, {"exec_out", exec->out}, {"killed", waited->status}, {"again", again->status}};
        });
        ASSERT_FALSE(j.contains("error")) << name << ": " << j["error"];
        EXPECT_EQ(j["exit"], 7) << name;
        EXPECT_EQ(j["exec_out"], "ctbench\n") << name;
        EXPECT_EQ(j["killed"], 128 + SIGKILL) << name;
        EXPECT_EQ(j["again"], 128 + SIGKILL) << name;
    }
}
