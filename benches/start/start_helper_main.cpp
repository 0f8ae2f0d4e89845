// ctbench-start-helper: the small process start.lifecycle starts its in-process series from.
// clone3 copies, and exec tears down, the caller's address space: from the large bench process
// (Google Benchmark, libbpf, a 32 MiB ring buffer, the report) both cost more than from a
// runtime CLI, which would make the floor and the library look slower than they are. This
// process holds only what the work needs and runs one container per request.
//
// Usage: ctbench-start-helper FIXTURE_DIR IMAGE_ROOTFS
// Requests on stdin, one per line:  kernel N  (the kernel floor: clone3 with the container's
// namespaces + exec + wait)  |  floor N  (the minimal container)  |  lib N  (container::run)
// Replies on stdout, one per line:  ok  |  ok <create ms> (lib)  |  error <message>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fmt/format.h>
#include <iostream>
#include <string>

#include "benches/harness/clone.hpp"
#include "common/clone_on_stack.hpp"
#include "benches/start/fixture.hpp"
#include "benches/start/minimal_container.hpp"
#include "runtime/container/container.hpp"
#include "runtime/spec/parse.hpp"

namespace {

using namespace ctb;

// The library's options, made once as the minimal container's plan is: a caller running many
// containers of one config builds it once and changes the id.
container::CreateOptions library_options(const std::string& fixture, const std::string& image) {
    container::CreateOptions o;
    o.bundle = fixture;
    o.spec = bench::true_spec(fixture + "/lib-rootfs", "/ctbench/bench-start-lib");
    o.spec_json = spec::to_json(o.spec).dump();  // the config.json each container saves, printed once
    o.state_root = fixture + "/state";
    o.image_layers = {image};
    o.start_at_once = true;  // as container::run does
    return o;
}

// container::run's steps, with Container::create timed on its own: the reply carries its
// milliseconds, the create path's own series (what a change to create moves, undiluted).
Result<double> library_once(container::CreateOptions& o, const std::string& n) {
    o.id = "bench-lib-" + n;
    auto t0 = std::chrono::steady_clock::now();
    auto c = container::Container::create(o);
    double create_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (!c) return fail(c.error());
    auto started = c->start();
    Result<int> status = started ? c->wait() : Result<int>(std::unexpected(started.error()));
    auto deleted = c->remove(true);
    if (!status) return fail(status.error());
    if (!deleted) return fail(deleted.error());
    if (*status != 0) return fail(plain_error("ctbench library run", o.id, "exit " + std::to_string(*status)));
    return create_ms;
}

// The kernel floor: what the kernel charges for the same namespaces, a process and an exec. Run
// from here, as the minimal container is: from the large bench process the copy of its address
// space at clone3 cost more than the whole minimal container, and varied with that process.
// The child shares our memory until its exec, as the minimal container's does (CLONE_VM |
// CLONE_VFORK, minimal_container.hpp): the same way to a process for both floors.
alignas(64) char g_floor_stack[64 * 1024];

Status kernel_floor_once(const std::string& true_path) {
    auto exec_true = [](void* path) {
        char arg0[] = "true";
        char* argv[] = {arg0, nullptr};
        ::execv(static_cast<const char*>(path), argv);
        ::_exit(127);
    };
    long pid = clone3_on_stack(bench::kNamespaceFlags | kCloneVm | kCloneVfork | kCloneClearSighand, std::nullopt,
                               g_floor_stack, sizeof g_floor_stack, exec_true, const_cast<char*>(true_path.c_str()));
    int status = 0;
    if (pid == -ENOSYS || pid == -EINVAL) {  // not x86-64, or a kernel before 5.5: a plain clone
        auto plain = bench::clone3_and_wait(bench::kNamespaceFlags, [&] {
            exec_true(const_cast<char*>(true_path.c_str()));
            return 127;
        }, "kernel floor");
        if (!plain) return fail(plain.error());
        status = *plain;
    } else if (pid < 0) {
        return fail(sys_error("clone3", "kernel floor", static_cast<int>(-pid)));
    } else {
        while (::waitpid(static_cast<pid_t>(pid), &status, 0) < 0)
            if (errno != EINTR) return fail(sys_error("waitpid", "kernel floor"));
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return fail(plain_error("kernel floor", true_path, "child did not exit 0"));
    return {};
}

int g_reply_fd = STDOUT_FILENO;

// One reply line: a newline inside a message would read as the end of the reply.
void send_line(std::string line) {
    for (char& c : line)
        if (c == '\n') c = ' ';
    line += '\n';
    [[maybe_unused]] auto n = ::write(g_reply_fd, line.data(), line.size());
}

void reply(const Result<double>& r) { send_line(r ? fmt::format("ok {:.6f}", *r) : "error " + r.error().message()); }

void reply(const Status& s) { send_line(s ? "ok" : "error " + s.error().message()); }

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: ctbench-start-helper FIXTURE_DIR IMAGE_ROOTFS\n");
        return 2;
    }
    std::string fixture = argv[1], image = argv[2];
    // Replies go to a private copy of stdout; the containers' stdout is /dev/null, so nothing a
    // container prints can be taken for a reply.
    g_reply_fd = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (g_reply_fd < 0 || null < 0 || ::dup2(null, STDOUT_FILENO) < 0) {
        std::perror("ctbench-start-helper: stdout");
        return 1;
    }
    ::close(null);
    auto plan = bench::minimal_plan(image, bench::kNamespaceFlags);
    if (!plan) {
        std::fprintf(stderr, "ctbench-start-helper: %s\n", plan.error().message().c_str());
        return 1;
    }
    auto library = library_options(fixture, image);
    for (std::string line; std::getline(std::cin, line);) {
        auto space = line.find(' ');
        std::string verb = line.substr(0, space), n = space == std::string::npos ? "" : line.substr(space + 1);
        if (verb == "kernel")
            reply(kernel_floor_once(image + "/bin/true"));
        else if (verb == "floor")
            reply(bench::run_minimal_container(*plan, fixture + "/floor-" + n, "ctbench/bench-floor-" + n));
        else if (verb == "lib")
            reply(library_once(library, n));
        else
            reply(Status(fail(plain_error("ctbench-start-helper", "request", "unknown request \"" + line + "\""))));
    }
    return 0;
}
