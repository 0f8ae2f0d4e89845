// `ctbench run --rootless`: the conformance cases that make sense unprivileged, run through an OCI
// runtime invoked as a real unprivileged user that the run creates and removes.
//
// The runtime under test is then named "rootless:UID:GID:SUBID:PATH" (RunSettings::runtime and
// CaseContext::runtime carry it into each case's child): make_runtime() gives an OCI adapter that
// runs PATH as UID:GID (setpriv), with every container in a user namespace mapping root to UID
// and 1..65536 to the subordinate range SUBID (newuidmap/newgidmap). Cases that cannot run that
// way are skipped up front with `needs rootful: <why>` (Requirement::Kind::rootful).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "conformance/harness/registry.hpp"
#include "runtime/spec/spec.hpp"

namespace ctb::conformance::rootless {

struct Identity {
    uid_t uid = 0;
    gid_t gid = 0;
    std::uint32_t subid = 0;  // first subordinate uid and gid (65536 of each)
    std::string runtime;      // the OCI runtime's path
};

std::string encode(const Identity& id);
std::optional<Identity> decode(const std::string& runtime);

// The run's unprivileged user: `ctbrootless<pid>` with a subordinate id range of its own in
// /etc/subuid and /etc/subgid. Removed on destruction with its processes (by pid), id ranges and
// files; root only.
class User {
public:
    static Result<User> create(const std::string& runtime_path);
    User(User&& o) noexcept : name_(std::move(o.name_)), id_(o.id_) { o.name_.clear(); }
    User& operator=(User&&) = delete;
    ~User();
    const Identity& identity() const { return id_; }
    const std::string& name() const { return name_; }

private:
    User() = default;
    std::string name_;
    Identity id_;
};

// Users an interrupted `--rootless` run left (SIGKILL gives User's destructor no chance):
// `ctbrootless<pid>` whose run (that pid) is gone, removed with their processes (by pid) and id
// ranges. A live pid keeps its user (a running run's, or the runtime's own test's). Root only;
// called before a new user is made and by `ctbench doctor --cleanup` (and every run's sweep).
// Returns the names removed.
std::vector<std::string> remove_stale_users();

// Why this case cannot run through an unprivileged runtime ("" when it can): decided from its id
// and requirements before anything runs.
std::string rootful_reason(const Case& c);

// The case's config made runnable by the user: a user namespace (root -> UID, 1..65536 -> the
// subordinate range), no cgroupsPath of the engine's. A case's own mappings are kept.
void adapt_spec(spec::Spec& spec, const Identity& id);

}  // namespace ctb::conformance::rootless
