// Named volumes: directories that outlive containers, at <state_root>/<name>/_data (the layout
// Docker uses, so the path says what it is). A container uses a volume by holding a VolumeUse
// (a shared flock on <state_root>/<name>/lock) for as long as it runs; remove_volume takes the
// lock exclusively and refuses while any container holds it. The kernel drops a flock when its
// holder dies, so a crashed container never leaves a volume "in use" forever.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "runtime/spec/spec.hpp"

namespace ctb::rootfs {

inline constexpr const char* kDefaultVolumeRoot = "/run/ctbench/volumes";

// [A-Za-z0-9][A-Za-z0-9_.-]* (Docker's rule): the name becomes a directory name.
Status validate_volume_name(const std::string& name);

// Creates the volume if needed (idempotent) and returns its _data directory.
Result<std::string> create_volume(const std::string& name, const std::string& state_root = kDefaultVolumeRoot);

// Deletes the volume and its data. A missing volume is not an error (delete is idempotent);
// a volume in use fails with EBUSY.
Status remove_volume(const std::string& name, const std::string& state_root = kDefaultVolumeRoot);

// Names of the existing volumes, sorted.
Result<std::vector<std::string>> list_volumes(const std::string& state_root = kDefaultVolumeRoot);

// Proof that a container uses a volume: keep it alive in a process that lives as long as the
// container (the descriptor may also be inherited by the container's init: a flock belongs to
// the open file description, so it lasts until the last copy is closed).
class VolumeUse {
public:
    VolumeUse() = default;
    explicit VolumeUse(UniqueFd lock) : lock_(std::move(lock)) {}
    int fd() const { return lock_.get(); }
    void release() { lock_.reset(); }

private:
    UniqueFd lock_;
};

// Marks the volume in use; fails with ENOENT if it does not exist (or was removed meanwhile).
Result<VolumeUse> use_volume(const std::string& name, const std::string& state_root = kDefaultVolumeRoot);

// The volume's data directory as an OCI bind mount at destination.
spec::Mount volume_mount(const std::string& path, const std::string& destination, bool read_only);

}  // namespace ctb::rootfs
