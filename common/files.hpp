// Small file helpers used by probes and the runtime: whole-file reads and writes with ctb errors.
#pragma once

#include <string>

#include "common/error.hpp"

namespace ctb {

Result<std::string> read_file(const std::string& path);
// The whole of an open file, read again from offset 0 (a proc file makes its text anew for it);
// `what` names the file in errors.
Result<std::string> read_from_start(int fd, const std::string& what);
// The rest of an open file, from where its offset is (a freshly opened one: all of it).
Result<std::string> read_rest(int fd, const std::string& what);
Status write_file(const std::string& path, const std::string& content);
// Strip one trailing newline (sysfs/procfs values end with one).
std::string trim(std::string s);
// mkdir -p with mode 0755 (0700 for state dirs is the caller's business).
Status make_dirs(const std::string& path, unsigned mode = 0755);

}  // namespace ctb
