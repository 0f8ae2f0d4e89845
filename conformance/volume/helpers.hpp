// Shared by the volume cases: a named volume that is removed (with /run/ctbench/volumes when it
// is left empty) on every path, and a running agent container that mounts it.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "common/error.hpp"
#include "conformance/harness/adapter.hpp"
#include "conformance/security/helpers.hpp"
#include "runtime/rootfs/volumes.hpp"

namespace ctb::conformance::vol {

inline constexpr const char* kMountPoint = "/data";

class ScopedVolume {
public:
    // Volume "ctbv-<pid>-<tag>": unique to this case process.
    static Result<ScopedVolume> create(const std::string& tag);
    ScopedVolume(ScopedVolume&& other) noexcept
        : name_(std::exchange(other.name_, {})), path_(std::move(other.path_)) {}
    ScopedVolume& operator=(ScopedVolume&&) = delete;
    // Declare the volume before the containers that use it, so they go first.
    ~ScopedVolume();
    const std::string& name() const { return name_; }
    const std::string& path() const { return path_; }  // its _data directory on the host

private:
    ScopedVolume(std::string name, std::string path) : name_(std::move(name)), path_(std::move(path)) {}
    std::string name_, path_;
};

// A container sleeping as its init (killed and reaped when the handle goes), with the volume's
// data at kMountPoint (read-only or not).
Result<Started> start_with_volume(Runtime& rt, const ScopedVolume& v, bool read_only);

}  // namespace ctb::conformance::vol
