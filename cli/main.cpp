// ctbench: conformance tests and benchmarks of the kernel features containers are built on.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "version.hpp"

int main(int argc, char** argv) {
    using namespace ctb::cli;
    for (int i = 0; i < argc; ++i) command_line().emplace_back(argv[i]);

    CLI::App app{"ctbench: do the kernel features containers are built on work, what do they cost, "
                 "and did a change make either worse?"};
    app.set_version_flag("--version", fmt::format("ctbench {} ({})", ctb::kVersion, ctb::kGitRevision));
    app.require_subcommand(1);
    int exit_code = kExitOk;
    register_run(app, exit_code);
    register_list(app, exit_code);
    register_doctor(app, exit_code);
    register_report(app, exit_code);
    register_compare(app, exit_code);
    register_trace(app, exit_code);
    try {
        app.parse(argc, argv);
    } catch (const CLI::Success& e) {
        return app.exit(e);  // --help, --version
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return kExitUsage;
    }
    std::fflush(stdout);
    return exit_code;
}
