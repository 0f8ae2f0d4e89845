// What cleanup must leave alone: the objects of users' own ctbench-runtime containers, networks
// and volumes, found through the records the runtime keeps for them (runtime/ownership.hpp).
// A record without an owner is a user's, and claims everything it names: its state dir, its
// cgroups, its netns pin, links, endpoint files and proxies. A record with an owner belongs to a
// ctbench run, and objects no record claims are leftovers of the suite's own helpers (scratch
// dirs, test links, guests), which by the naming rules are the project's.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace ctb::cli {

// A container, network or volume of a ctbench run, to be released through its record.
struct RunRecord {
    std::string kind;    // container, endpoint, network, volume
    std::string name;    // id or name
    std::string where;   // state dir (container), "" otherwise
    std::vector<std::string> cgroups;  // container: the cgroup dirs its create made (absolute)
};

struct Claims {
    std::vector<std::string> paths;    // files or dirs, each with everything below it
    std::vector<std::string> cgroups;  // absolute cgroup dirs, each with everything below it
    std::vector<std::string> links;
    std::vector<pid_t> pids;           // userland proxies of users' endpoints
    std::vector<std::string> owners;   // "container ID (DIR)", "network NAME", ...: for the report
    std::vector<RunRecord> run_records;
    bool network_store = false;        // some network or endpoint is a user's

    // p is a claimed path or below one.
    bool covers(const std::string& p) const;
    // p is a strict ancestor of a claimed path (must stay, but what else is in it may go).
    bool leads_to(const std::string& p) const;
    bool covers_cgroup(const std::string& dir) const;
    bool leads_to_cgroup(const std::string& dir) const;
    bool claims_link(const std::string& name) const;
    bool claims_pid(pid_t pid) const;
};

// Reads the container states below state_root (ctbench-runtime's format: a state.json with
// cgroupPath; another runtime's state, runc's for example, is the suite's adapter's), the
// network store and the volumes.
Claims find_claims(const std::string& state_root);

}  // namespace ctb::cli
