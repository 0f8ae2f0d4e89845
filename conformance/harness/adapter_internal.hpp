// Shared by the adapters: stdout/stderr capture into memory files, and the adapter constructors.
#pragma once

#include <memory>

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

// Everything written to a memory file so far (pread from 0: the writer's offset is untouched).
std::string read_whole_fd(int fd);

std::unique_ptr<Runtime> make_library_runtime();
Result<std::unique_ptr<Runtime>> make_oci_cli_runtime(const std::string& name_or_path);

}  // namespace ctb::conformance
