// RAII wrapper over the I/O tracer's skeleton (bpf/io_trace.bpf.c, generated at build time by
// `bpftool gen skeleton`), shaped like StartTracer: open() chooses one program kind (tp_btf or
// raw_tp) and never loads the other; destruction detaches every link and closes every program and
// map, so nothing of ours is left in the kernel on any path.
//
// Use: open() with the attachable kinds and the backing disk, follow() the task that starts the
// workload (its descendants are followed by the kernel side), watch_workdir() the overlay work
// directories, attach(), run, detach(), snapshot(); reset() before the next window.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

#include "bpf/io_trace.h"
#include "common/error.hpp"

struct io_trace;  // the generated skeleton
struct bpf_link;

namespace ctb::bpf {

// What the kernel side summed during one window.
struct IoSnapshot {
    ctb_io_totals totals{};
    std::vector<std::pair<ctb_io_file_key, ctb_io_file_value>> files;
};

struct IoTracerOptions {
    std::vector<std::string> attachable;  // program kinds that attach here ("tp_btf", "raw_tp", ...)
    std::uint32_t target_disk = 0;        // kernel dev_t (major << 20 | minor) of the backing disk
    // Copy-up detection needs ext4's inode allocation tracepoint: only when the backing fs is ext4.
    bool ext4_copy_up = false;
};

class IoTracer {
public:
    static Result<std::unique_ptr<IoTracer>> open(const IoTracerOptions& options);
    ~IoTracer();
    IoTracer(const IoTracer&) = delete;
    IoTracer& operator=(const IoTracer&) = delete;

    const std::string& program_kind() const { return kind_; }
    bool copy_up_traced() const { return copy_up_; }
    // time_calls: also attach the sys_enter hook that times pread64/pwrite64 (trace.timed_calls).
    // It runs on every system call of the host while attached, so windows whose own figures are
    // system calls (metadata, copy-up, lookup) leave it out.
    Status attach(bool time_calls = false);
    void detach();

    Status follow(pid_t tid);
    // Copy-ups are inode allocations in these directories (kernel dev_t, inode number).
    Status watch_workdir(std::uint32_t kdev, std::uint64_t ino);
    // Empties every map and zeroes the totals: the next window starts from nothing.
    void reset();
    IoSnapshot snapshot() const;

private:
    IoTracer() = default;

    io_trace* skel_ = nullptr;
    std::string kind_;
    bool copy_up_ = false;
    std::vector<bpf_link*> links_;
};

// Kernel dev_t (as in super_block.s_dev) of a user-space st_dev.
std::uint32_t kernel_dev(dev_t dev);

}  // namespace ctb::bpf
