// Pure conversions from OCI linux.resources values to cgroup file contents, and parsers of the
// files the manager reads back. No I/O here, so every rule is unit tested
// (runtime/cgroups/tests/convert_test.cpp). Failures return a reason; the caller adds the field
// and the file to make a ctb::Error.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/spec/spec.hpp"

namespace ctb::cgroup {

template <class T>
using Converted = std::expected<T, std::string>;  // error: why the value cannot be written

// --- cpu ---
// v1 cpu.shares -> v2 cpu.weight, the OCI/runc mapping of [2, 262144] onto [1, 10000]:
// 1 + ((shares - 2) * 9999) / 262142. Out-of-range shares are clamped first (as the kernel does).
std::uint64_t cpu_weight_from_shares(std::uint64_t shares);
// v2 cpu.max: "quota period" or "max period". nullopt when neither is set. A missing period is
// the kernel default 100000 us; quota <= 0 means unlimited.
std::optional<std::string> cpu_max(std::optional<std::int64_t> quota, std::optional<std::uint64_t> period);

// --- memory ---
// v2 byte values: -1 (OCI "unlimited") is "max".
std::string v2_bytes(std::int64_t value);
// OCI swap is memory+swap (the v1 memsw meaning); v2 memory.swap.max is swap alone:
// swap - limit, "max" for -1. Requires a finite limit for a finite swap, and swap >= limit.
Converted<std::string> v2_swap_max(std::optional<std::int64_t> limit, std::int64_t swap);
// v1 keeps memory.limit_in_bytes <= memory.memsw.limit_in_bytes at every write, so memsw must be
// written first when the new memsw is unlimited or above the current memory limit.
bool memsw_before_limit(std::int64_t current_limit, std::int64_t new_memsw);

// --- pids ---
std::string pids_max(std::int64_t limit);  // <= 0 -> "max"

// --- block I/O ---
// blkio weight [10, 1000] -> io.weight [1, 10000]: 1 + (weight - 10) * 9999 / 990.
std::uint64_t io_weight_from_blkio(std::uint64_t weight);
// v2 io.max: one line per device, "MAJ:MIN rbps=N wbps=N riops=N wiops=N" with only the keys
// the spec sets; a rate of 0 is "max" (no limit), matching v1 where 0 removes the limit.
std::vector<std::string> io_max_lines(const spec::BlockIoResources& blkio);
std::string device_number(std::int64_t major, std::int64_t minor);  // "8:0"

// --- hugetlb ---
// "2MB" -> "hugetlb.2MB.limit_in_bytes" (v1) or "hugetlb.2MB.max" (v2); the size must look
// like the kernel's names (<digits><KB|MB|GB>).
Converted<std::string> hugetlb_file(const std::string& page_size, int version);

// --- devices ---
// v1 devices.allow/deny line: "c 1:3 rwm", "a *:* rwm"; absent or negative numbers are '*'.
Converted<std::string> v1_device_line(const spec::DeviceRule& rule);
// The rules that still matter after "a" resets: an "a" rule replaces the whole list (default
// allow/deny) in v1 and in the v2 program alike. `default_allow` starts false (deny all).
struct EffectiveDeviceRules {
    bool default_allow = false;
    std::vector<spec::DeviceRule> rules;  // in spec order; the last match wins
};
EffectiveDeviceRules effective_device_rules(const std::vector<spec::DeviceRule>& rules);

// --- hybrid routing ---
// Splits resources into what goes to v1 hierarchies and what goes to v2, by whether the
// controller is mounted on v1 (`on_v1("memory")`). "unified" always goes to v2; devices go to v2
// (a BPF program) only when no v1 devices controller exists.
std::pair<spec::Resources, spec::Resources> split_resources(const spec::Resources& resources,
                                                            const std::function<bool(const std::string&)>& on_v1);
bool is_empty(const spec::Resources& resources);

// --- parsers ---
// Flat keyed files ("oom_kill 3\nunder_oom 0\n"): key -> value; malformed lines are skipped.
std::map<std::string, std::uint64_t> parse_keyed(const std::string& text);
// cgroup.procs: one pid a line.
std::vector<pid_t> parse_pids(const std::string& text);

}  // namespace ctb::cgroup
