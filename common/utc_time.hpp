// The current time as RFC 3339 in UTC, whole seconds ("2026-11-28T08:30:16Z"): report start and
// end, a container's creation time.
#pragma once

#include <chrono>
#include <string>


namespace ctb {

// By calendar arithmetic: glibc's strftime calls tzset(), which re-reads /etc/localtime (seven
// system calls, once per container create), and gmtime_r reads it once per process, for a time
// that needs no zone. The digits by hand, not fmt::format: this runs once per container create, where fmt's cold code
// cost about 6 us (perf of the start bench's library series).
inline std::string utc_timestamp() {
    using namespace std::chrono;
    auto now = floor<seconds>(system_clock::now());
    auto day = floor<days>(now);
    year_month_day date{day};
    hh_mm_ss time{now - day};
    std::string out = "0000-00-00T00:00:00Z";
    auto put = [&](std::size_t at, std::size_t width, long value) {  // zero-padded, as the template
        for (std::size_t i = at + width; i-- > at; value /= 10) out[i] = static_cast<char>('0' + value % 10);
    };
    put(0, 4, int(date.year()));
    put(5, 2, unsigned(date.month()));
    put(8, 2, unsigned(date.day()));
    put(11, 2, time.hours().count());
    put(14, 2, time.minutes().count());
    put(17, 2, time.seconds().count());
    return out;
}

}  // namespace ctb
