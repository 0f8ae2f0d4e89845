// The container's /dev: the default device nodes and links every OCI runtime provides when the
// spec mounts a tmpfs at /dev, and the spec's own linux.devices entries.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "runtime/spec/spec.hpp"

namespace ctb::rootfs {

struct DefaultDevice {
    const char* name;  // under /dev
    unsigned major, minor;
};

// null, zero, full, random, urandom, tty (OCI runtime-spec "Default Devices"), all 0666.
const std::vector<DefaultDevice>& default_devices();

// Fills a freshly mounted /dev (dev_fd: a descriptor of that tmpfs; shown: its path for errors)
// with the default devices and the links fd, stdin, stdout, stderr, ptmx and core.
// Nodes are made with mknod; where that is refused (in a user namespace mknod needs
// CAP_MKNOD in the initial namespace) the host's node is bind-mounted onto an empty file.
Status populate_default_dev(int dev_fd, const std::string& shown, bool in_user_ns);

// Creates linux.devices entries under the rootfs (root_fd: descriptor of the rootfs; shown:
// its path). An existing node at the path is kept, as runc does. Errors name the spec field
// ("linux.devices[2]") in the detail.
Status create_devices(const std::vector<spec::Device>& devices, int root_fd, const std::string& shown,
                      bool in_user_ns);

}  // namespace ctb::rootfs
