// ctbench-minimal-container: the minimal container (minimal_container.hpp) as a one-shot static
// program, start.churn's floor for a runtime CLI: what any CLI pays at the least for one
// container is the start of a static process plus exactly the container's kernel work, without
// any runtime bookkeeping (no state files, no JSON, no sync protocol).
//
// Usage: ctbench-minimal-container IMAGE_ROOTFS DIR ID
//   one container (overlay of IMAGE_ROOTFS, layer directories in DIR/ID, cgroup ctbench/ID in
//   every hierarchy), /bin/true run and waited for, everything removed; exit 0 when it exited 0.
#include <cstdio>
#include <string>

#include "benches/start/fixture.hpp"
#include "benches/start/minimal_container.hpp"

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: ctbench-minimal-container IMAGE_ROOTFS DIR ID\n");
        return 2;
    }
    std::string image = argv[1], dir = argv[2], id = argv[3];
    auto plan = ctb::bench::minimal_plan(image, ctb::bench::kNamespaceFlags);
    auto ran = plan ? ctb::bench::run_minimal_container(*plan, dir + "/" + id, "ctbench/" + id)
                    : ctb::Status(ctb::fail(plan.error()));
    if (ran) return 0;
    std::fprintf(stderr, "ctbench-minimal-container: %s\n", ran.error().message().c_str());
    return 1;
}
