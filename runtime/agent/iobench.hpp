// The I/O workload engine of ctbench-agent (`iobench`), shared by its two halves: data I/O
// (iobench.cpp: sequential and random reads and writes) and namespace operations
// (iobench_meta.cpp: metadata ops/s, copy-up, lookups). It is ctbench's own engine rather than
// fio because it must run unchanged in any container (a busybox rootfs with nothing but this
// static binary), under any runtime and in the VM guest; fio checks it from outside (fidelity).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "agent.hpp"

namespace agent::io {

// Time source for every figure: CLOCK_MONOTONIC in seconds.
inline double now() { return monotonic_now(); }

// MiB/s of `bytes` moved in `seconds` (0 when no time passed: never divides by zero).
inline double mib_per_s(std::uint64_t bytes, double seconds) {
    return seconds > 0 ? static_cast<double>(bytes) / double(1 << 20) / seconds : 0.0;
}

// A buffer aligned for O_DIRECT (4 KiB covers every logical block size seen on Linux).
class AlignedBuffer {
public:
    explicit AlignedBuffer(std::size_t size);
    ~AlignedBuffer();
    AlignedBuffer(const AlignedBuffer&) = delete;
    AlignedBuffer& operator=(const AlignedBuffer&) = delete;
    char* data() const { return data_; }
    std::size_t size() const { return size_; }

private:
    char* data_ = nullptr;
    std::size_t size_ = 0;
};

// Full-length pread/pwrite (retry on EINTR and short transfers); throw SysError naming `what`.
void pread_all(int fd, char* buf, std::size_t len, std::uint64_t off, const std::string& what);
void pwrite_all(int fd, const char* buf, std::size_t len, std::uint64_t off, const std::string& what);

// Share of the file's pages resident in the page cache (mincore over a mapping), 0..1, or -1
// when the file cannot be mapped: how "dropped" or "warm" the cache really was.
double cached_fraction(int fd, std::uint64_t size);

int cmd_meta(const Args& args);    // iobench_meta.cpp
int cmd_copyup(const Args& args);
int cmd_lookup(const Args& args);

// --name N as a positive integer within [min, max], or `fallback`.
long long int_option(const Args& args, const std::string& name, long long fallback, long long min, long long max);

}  // namespace agent::io
