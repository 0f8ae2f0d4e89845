// ctbench's exit codes (documented in README.md).
#pragma once

namespace ctb::cli {

enum ExitCode : int {
    kExitOk = 0,           // everything that ran passed (skips allowed)
    kExitFailed = 1,       // some case failed or errored, or compare found a regression
    kExitUsage = 2,        // usage or infrastructure error
    kExitAllSkipped = 4,   // nothing ran: every selected case was skipped
};

}  // namespace ctb::cli
