// hugetlb controller: with a 2 MB huge page limit of 0 the container cannot get a single huge
// page, while the same allocation succeeds when the limit allows one page.
//
// The allocation is fallocate(2) on a hugetlbfs mounted inside the container (its private mount
// namespace; it goes with the container): it charges the hugetlb cgroup at once and fails
// cleanly, where a MAP_HUGETLB mapping would only fail with SIGBUS on first touch. The huge page
// comes from the host's pool, which the case never resizes: an empty pool is a skip.
#include <fmt/format.h>

#include "common/files.hpp"
#include "conformance/cgroup/helpers.hpp"

namespace ctb::conformance::cgroup_cases {
namespace {

constexpr std::uint64_t kPage = 2 << 20;

// fallocate of one huge page on a private hugetlbfs under a hugetlb limit of `limit` bytes.
Result<RunOutput> try_huge_page(Runtime& rt, std::uint64_t limit) {
    RunRequest r;
    r.spec = shell_spec(fmt::format(
        "mkdir -p /tmp/huge && mount -t hugetlbfs -o pagesize=2M none /tmp/huge; echo mount_status=$?\n"
        "fallocate -l {} /tmp/huge/page 2>&1; echo fallocate_status=$?",
        kPage));
    // mount(2) of hugetlbfs needs CAP_SYS_ADMIN in the container's mount namespace.
    auto& caps = *r.spec.process.capabilities;
    for (auto* set : {&caps.bounding, &caps.effective, &caps.permitted}) set->push_back("CAP_SYS_ADMIN");
    resources(r.spec).hugepage_limits.push_back({"2MB", limit});
    return rt.run(r);
}

Verdict limit(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    auto denied = try_huge_page(*rt, 0);
    if (!denied) return runtime_failure("run with a hugetlb limit of 0", denied.error());
    auto allowed = try_huge_page(*rt, kPage);
    if (!allowed) return runtime_failure("run with a hugetlb limit of one page", allowed.error());
    json e = {{"page_size", "2MB"},
              {"limit_0", {{"mount_status", line_int(denied->out, "mount_status").value_or(-1)},
                           {"fallocate_status", line_int(denied->out, "fallocate_status").value_or(-1)},
                           {"output", denied->out}}},
              {"limit_1_page", {{"mount_status", line_int(allowed->out, "mount_status").value_or(-1)},
                                {"fallocate_status", line_int(allowed->out, "fallocate_status").value_or(-1)},
                                {"output", allowed->out}}}};
    if (e["limit_0"]["mount_status"] != 0 || e["limit_1_page"]["mount_status"] != 0)
        setup_failed("hugetlbfs could not be mounted in the container: " + denied->out + denied->err);
    if (e["limit_1_page"]["fallocate_status"] != 0)
        return Verdict::skip("no huge page could be had even with the limit allowing one (the pool is in use): " + allowed->out);
    if (e["limit_0"]["fallocate_status"] == 0)
        return Verdict::fail("a huge page was allocated under a hugetlb limit of 0", e);
    return Verdict::pass(e);
}

CTB_CONFORMANCE_CASE({
    .id = "cgroup.hugetlb.limit",
    .reference = "Documentation/admin-guide/cgroup-v1/hugetlb.rst; OCI runtime-spec config-linux.md#huge-page-limits",
    .needs = {{K::root, ""}, {K::cgroup_controller, "hugetlb"}, {K::hugepage_pool, "2048kB"}},
    .body = limit,
});

}  // namespace
}  // namespace ctb::conformance::cgroup_cases
