// The hand-written JSON of common/json_text.hpp against nlohmann's, which reads it back, and the
// hand-formatted timestamp of common/utc_time.hpp against the calendar.
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>
#include <regex>

#include "common/json_text.hpp"
#include "common/utc_time.hpp"

using namespace ctb;

namespace {

std::string literal(std::string_view s) {
    std::string out;
    json_text::append_string(out, s);
    return out;
}

std::string nlohmann_literal(const std::string& s) {
    return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

TEST(JsonText, StringsAreEscapedAsNlohmannDoes) {
    const std::string samples[] = {
        "",
        "plain /run/ctbench/x",
        "quote \" backslash \\ slash /",
        "\b\f\n\r\t",
        std::string("nul \0 and \x01 \x1f \x7f", 17),
        "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80",  // 2-, 3- and 4-byte sequences
    };
    for (const auto& s : samples) EXPECT_EQ(literal(s), nlohmann_literal(s)) << s;
}

TEST(JsonText, MalformedUtf8BecomesReplacementCharacter) {
    const std::string samples[] = {
        "\x80",              // stray continuation byte
        "\xC0\xAF",          // overlong '/'
        "\xE0\x80\xAF",      // overlong, 3 bytes
        "\xED\xA0\x80",      // UTF-16 surrogate
        "\xF4\x90\x80\x80",  // beyond U+10FFFF
        "\xE2\x82",          // cut short
        "ok\xFFok",
    };
    for (const auto& s : samples) {
        std::string out = literal(s);
        EXPECT_NE(out.find("\xEF\xBF\xBD"), std::string::npos) << out;
        // Whatever the bytes, the result is one JSON string that parses back.
        auto back = nlohmann::json::parse(out, nullptr, false);
        ASSERT_FALSE(back.is_discarded()) << out;
        EXPECT_TRUE(back.is_string());
    }
}

TEST(JsonText, MembersMakeAnObjectThatParsesBack) {
    std::string out = "{";
    json_text::append_member(out, "name", "a\"b");
    json_text::append_signed(out, "pid", -7);
    json_text::append_unsigned(out, "start", 18446744073709551615ull);
    json_text::append_bool(out, "hooks", false);
    json_text::append_key(out, "list");
    out += "[]}";
    auto j = nlohmann::json::parse(out);
    EXPECT_EQ(j["name"], "a\"b");
    EXPECT_EQ(j["pid"], -7);
    EXPECT_EQ(j["start"].get<std::uint64_t>(), 18446744073709551615ull);
    EXPECT_EQ(j["hooks"], false);
    EXPECT_TRUE(j["list"].is_array());
}

TEST(UtcTimestamp, Rfc3339InUtcAsGmtimeSaysIt) {
    for (int attempt = 0; attempt < 3; ++attempt) {
        std::time_t before = std::time(nullptr);
        std::string stamp = utc_timestamp();
        std::time_t after = std::time(nullptr);
        if (before != after) continue;  // a second boundary between the two readings: again
        ASSERT_TRUE(std::regex_match(stamp, std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)"))) << stamp;
        std::tm tm{};
        gmtime_r(&before, &tm);
        char expected[32];
        std::strftime(expected, sizeof expected, "%Y-%m-%dT%H:%M:%SZ", &tm);
        EXPECT_EQ(stamp, expected);
        return;
    }
    FAIL() << "the clock crossed a second boundary three times in a row";
}
