// `ctbench run --suite bench --baseline bare,container,vm`: the same benches on the host (each
// bench measures its bare and container series there) and inside a qemu guest, side by side in one
// report. The guest's series come back as `<series>@vm`, each with the host's series of the same
// workload as its baseline, so their ratio is "VM against host" (Felter et al.'s comparison);
// their own in-guest ratio is kept in the context. The guest's boot to userspace is a series too.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "reports/model.hpp"

namespace ctb::cli {

struct Baselines {
    bool host = false;  // bare or container: the host run (every bench measures both there)
    bool vm = false;
    bool any() const { return host || vm; }
};

// "bare,container,vm" (repeatable or comma separated); an unknown name is an error naming it.
Result<Baselines> parse_baselines(const std::vector<std::string>& values);

inline constexpr const char* kVmSuffix = "@vm";

// Adds the guest's series (renamed `<name>@vm`, baseline = the host's `<name>` when it has one),
// the guest's boot time and what did not run in the guest to `host`; records the VM in run.guest.
void merge_guest_series(report::Report& host, const report::Report& guest);

}  // namespace ctb::cli
