// The current time as RFC 3339 in UTC, whole seconds ("2026-11-28T08:30:16Z"): report start and
// end, a container's creation time.
#pragma once

#include <chrono>
#include <string>

#include <fmt/format.h>

namespace ctb {

// By calendar arithmetic: glibc's strftime calls tzset(), which re-reads /etc/localtime (seven
// system calls, once per container create), and gmtime_r reads it once per process, for a time
// that needs no zone.
inline std::string utc_timestamp() {
    using namespace std::chrono;
    auto now = floor<seconds>(system_clock::now());
    auto day = floor<days>(now);
    year_month_day date{day};
    hh_mm_ss time{now - day};
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", int(date.year()), unsigned(date.month()),
                       unsigned(date.day()), time.hours().count(), time.minutes().count(), time.seconds().count());
}

}  // namespace ctb
