// Test helper: a forked child that waits for "go" before doing its work, so the parent can move
// it into a cgroup first; its result comes back as text over a pipe. Killed (by pid) and reaped
// on destruction, so a failing test leaves no process behind.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cerrno>
#include <functional>
#include <optional>
#include <string>

#include "common/deadline.hpp"
#include "common/fd.hpp"

namespace ctb::cgroup::test {

class TestChild {
public:
    explicit TestChild(const std::function<std::string()>& body) {
        int go[2], out[2];
        if (::pipe2(go, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) return;
        UniqueFd go_read(go[0]), out_write(out[1]);
        go_.reset(go[1]);
        out_.reset(out[0]);
        pid_ = ::fork();
        if (pid_ != 0) return;
        go_.reset();
        out_.reset();
        char byte = 0;
        if (::read(go_read.get(), &byte, 1) != 1) ::_exit(3);  // parent gave up before "go"
        std::string result = body();
        if (::write(out_write.get(), result.data(), result.size()) < 0) ::_exit(4);
        ::_exit(0);
    }
    TestChild(const TestChild&) = delete;
    TestChild& operator=(const TestChild&) = delete;
    ~TestChild() {
        if (pid_ > 0 && !reaped_) {
            ::kill(pid_, SIGKILL);  // our own child, by pid
            int status;
            ::waitpid(pid_, &status, 0);
        }
    }

    pid_t pid() const { return pid_; }
    void go() {
        char byte = 'g';
        if (::write(go_.get(), &byte, 1) != 1) pid_ = -pid_;  // makes the test fail visibly
        go_.reset();
    }
    // Everything the child wrote, once it closed the pipe (normally: exited); nullopt on timeout.
    std::optional<std::string> result(std::chrono::milliseconds timeout) {
        std::string text;
        Deadline deadline(timeout);
        for (char buf[512];;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline.remaining());
            pollfd p{out_.get(), POLLIN, 0};
            int ready = ::poll(&p, 1, static_cast<int>(left.count()));
            if (ready < 0 && errno == EINTR) continue;
            if (ready <= 0) return std::nullopt;
            ssize_t n = ::read(out_.get(), buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return text;
            text.append(buf, static_cast<std::size_t>(n));
        }
    }
    // waitpid with a deadline; SIGKILL (by pid) when it passes. Returns the wait status.
    int wait(std::chrono::milliseconds timeout) {
        int status = 0;
        bool exited = retry_until(Deadline(timeout), [&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; });
        if (!exited) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
        }
        reaped_ = true;
        return status;
    }
    void kill_and_reap() {
        ::kill(pid_, SIGKILL);
        wait(std::chrono::seconds(10));
    }

private:
    pid_t pid_ = -1;
    bool reaped_ = false;
    UniqueFd go_, out_;
};

}  // namespace ctb::cgroup::test
