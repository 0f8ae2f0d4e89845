// Helpers shared by the subcommands: the recorded command line, error printing, report output.
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "common/files.hpp"

namespace ctb::cli {

std::vector<std::string>& command_line() {
    static std::vector<std::string> args;
    return args;
}

int usage_error(const Error& e) {
    fmt::print(stderr, "ctbench: {}\n", e.message());
    return kExitUsage;
}

Status write_outputs(const report::Report& r, const std::vector<const report::Format*>& formats,
                     const std::string& output) {
    if (output.empty()) {
        for (const auto* f : formats) fmt::print("{}", f->render(r));
        return {};
    }
    if (formats.size() == 1) return write_file(output, formats.front()->render(r));
    if (auto s = make_dirs(output); !s) return s;
    for (const auto* f : formats)
        if (auto s = write_file(output + "/report." + f->extension, f->render(r)); !s) return s;
    return {};
}

}  // namespace ctb::cli
