// Shared by the adapters: stdout/stderr capture into memory files, and the adapter constructors.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>

#include "common/fd.hpp"
#include "conformance/harness/adapter.hpp"

namespace ctb::conformance {

// Redirects this process's fds 1 and 2 to two memfds (what a container created now inherits);
// restore_stdio() puts the originals back; snapshot()/finish() read what was written.
class CapturedOutput {
public:
    static Result<CapturedOutput> begin();
    void restore_stdio();
    RunOutput snapshot() const;
    RunOutput finish() {
        restore_stdio();
        return snapshot();
    }
    CapturedOutput(CapturedOutput&&) = default;
    CapturedOutput& operator=(CapturedOutput&&) = default;
    ~CapturedOutput() { restore_stdio(); }

private:
    CapturedOutput() = default;
    UniqueFd out_, err_, saved_out_, saved_err_;
};

// Reaps a container's init (our child, or an OCI runtime's init reparented to us) once and
// remembers its status, so that a second wait (a case's, then the handle's cleanup) returns at
// once instead of polling until its deadline for a child that is gone.
class InitReaper {
public:
    explicit InitReaper(pid_t pid) : pid_(pid) {}
    // The init's exit status (128 + signal when killed; -1 when it was reaped by someone else),
    // or nullopt if it still runs at the deadline.
    std::optional<int> wait(std::chrono::milliseconds timeout);

private:
    pid_t pid_;
    std::optional<int> status_;
};

// Everything written to a memory file so far (pread from 0: the writer's offset is untouched).
std::string read_whole_fd(int fd);

std::unique_ptr<Runtime> make_library_runtime();
Result<std::unique_ptr<Runtime>> make_oci_cli_runtime(const std::string& name_or_path);

}  // namespace ctb::conformance
