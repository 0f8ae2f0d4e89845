// `fileio`: sequential write then read-back of one file, for comparing storage paths (overlay
// upper dir, volume, tmpfs) inside and outside containers.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "agent.hpp"
#include "common/fd.hpp"

namespace agent {
namespace {

// Each block starts with its index, so a read-back that returns the wrong block is noticed.
void stamp(std::vector<char>& block, std::size_t index) { std::memcpy(block.data(), &index, sizeof index); }

void write_file(int fd, std::vector<char>& block, std::size_t blocks) {
    for (std::size_t i = 0; i < blocks; ++i) {
        stamp(block, i);
        for (std::size_t off = 0; off < block.size();) {
            ssize_t n = ::write(fd, block.data() + off, block.size() - off);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw SysError("write", errno);
            off += static_cast<std::size_t>(n);
        }
    }
}

// Returns whether every block came back as written.
bool read_file(int fd, std::vector<char>& expected, std::size_t blocks) {
    std::vector<char> got(expected.size());
    bool same = true;
    for (std::size_t i = 0; i < blocks; ++i) {
        stamp(expected, i);
        for (std::size_t off = 0; off < got.size();) {
            ssize_t n = ::read(fd, got.data() + off, got.size() - off);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw SysError("read", errno);
            if (n == 0) return false;  // shorter than written
            off += static_cast<std::size_t>(n);
        }
        same = same && got == expected;
    }
    return same;
}

double rate(std::size_t mib, double seconds) { return seconds > 0 ? static_cast<double>(mib) / seconds : 0.0; }

// The measurement itself; the caller removes the file on every path once `created` is set.
json measure(const std::string& path, std::size_t mib, std::size_t block_kib, bool fsync, bool& created) {
    std::vector<char> block(block_kib << 10, 'c');
    const std::size_t blocks = (mib << 20) / block.size();

    ctb::UniqueFd out(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!out) throw SysError("create " + path, errno);
    created = true;
    double t0 = monotonic_now();
    write_file(out.get(), block, blocks);
    if (fsync && ::fsync(out.get()) != 0) throw SysError("fsync " + path, errno);
    double write_s = monotonic_now() - t0;
    // Outside the timers: flush and drop the cached pages (where the filesystem allows it) so the
    // read measures the storage rather than the page cache.
    ::fdatasync(out.get());
    ::posix_fadvise(out.get(), 0, 0, POSIX_FADV_DONTNEED);
    out.reset();

    ctb::UniqueFd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in) throw SysError("open " + path, errno);
    t0 = monotonic_now();
    bool verified = read_file(in.get(), block, blocks);
    double read_s = monotonic_now() - t0;
    return {{"ok", verified}, {"path", path}, {"mib", mib}, {"block_kib", block_kib}, {"fsync", fsync},
            {"write_s", write_s}, {"read_s", read_s}, {"write_mib_per_s", rate(mib, write_s)},
            {"read_mib_per_s", rate(mib, read_s)}, {"verified", verified}};
}

}  // namespace

int cmd_fileio(const Args& args) {
    const std::string& path = args.pos[0];
    const auto mib = static_cast<std::size_t>(parse_int("MIB", args.pos[1], 1, 1 << 20));
    auto block_opt = args.value("block");
    const auto block_kib = static_cast<std::size_t>(block_opt ? parse_int("--block", *block_opt, 4, 1 << 16) : 1024);
    if ((mib << 10) % block_kib != 0)
        throw UsageError("--block: " + std::to_string(block_kib) + " KiB does not divide " + args.pos[1] + " MiB");
    json doc;
    bool created = false;  // never remove a file that we failed to create (it may not be ours)
    try {
        doc = measure(path, mib, block_kib, args.flag("fsync"), created);
    } catch (...) {
        if (created) ::unlink(path.c_str());
        throw;
    }
    ::unlink(path.c_str());
    emit(doc);
    return doc["ok"] ? 0 : 1;
}

}  // namespace agent
