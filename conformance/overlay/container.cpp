// overlay.container.copy_up_isolated: the image a container runs from is an overlay lower layer,
// so a write inside the container is copied up into that container's own upper layer
// (overlayfs.rst, Non-directories). Through the runtime under test: one container overwrites
// /etc/hostname and reads its own write back; the image's file (stat + sha256) and its /etc
// directory stay unchanged, and a second container sees the original content.
#include <chrono>
#include <fmt/format.h>
#include <sstream>

#include "conformance/harness/adapter.hpp"
#include "conformance/overlay/helpers.hpp"
#include "runtime/image/image.hpp"

namespace ctb::conformance::overlay {
namespace {

constexpr const char* kFile = "/etc/hostname";
constexpr const char* kWritten = "written-in-container";
constexpr const char* kAgent = "/usr/bin/ctbench-agent";

// The agent prints one JSON document per line; a command that did not run gives an Error.
Result<std::vector<json>> agent_docs(const Result<RunOutput>& out, std::size_t want, const std::string& what) {
    if (!out) return fail(out.error());
    std::vector<json> docs;
    std::stringstream lines(out->out);
    for (std::string line; std::getline(lines, line);)
        if (auto j = json::parse(line, nullptr, false); j.is_object()) docs.push_back(j);
    if (docs.size() != want)
        return fail(plain_error(what, kFile, fmt::format("{} agent documents, want {} (status {}): {}", docs.size(),
                                                         want, out->status, out->err)));
    return docs;
}

// Container 1 writes, then reads back in the same container (the write really happened there).
// One shell runs both agent commands (no exec, so no process outlives the container); ";" so a
// failed write still reports, as a failed case rather than a broken setup.
Result<std::vector<json>> write_in_first(Runtime& rt) {
    RunRequest r{agent_spec({})};
    r.spec.process.args = {"/bin/sh", "-c",
                           fmt::format("{0} write {1} {2}; {0} cat {1}", kAgent, kFile, kWritten)};
    return agent_docs(rt.run(r), 2, "write and read back in container");
}

Verdict container_case(const CaseContext& ctx) {
    std::string image = must(image::ensure_default_image());
    const std::string file = image + kFile;
    json file_before = file_state(file), etc_before = stat_json(image + "/etc");
    std::string original = read_all(file);
    auto rt = runtime_under_test(ctx);

    auto first = must(write_in_first(*rt), "first container");
    auto second = must(agent_docs(rt->run(RunRequest{agent_spec({"cat", kFile})}), 1, "read in second container"),
                       "second container");

    Checks c;
    const json &write = first[0], &read_back = first[1], &seen = second[0];
    c.expect(write.value("ok", false), "the write inside the container failed");
    c.expect(read_back.value("content", json()) == kWritten, "the container does not read its own write back");
    c.expect(seen.value("content", json()) == original, "a second container does not see the image's original file");
    json file_after = file_state(file), etc_after = stat_json(image + "/etc");
    c.expect(file_after == file_before, "the image's " + std::string(kFile) + " changed (stat or sha256)");
    c.expect(etc_after == etc_before, "the image's /etc directory changed");
    return c.verdict({{"runtime", ctx.runtime},
                      {"image_file", file},
                      {"first_container", {{"write", write}, {"read_back", read_back}}},
                      {"second_container", seen},
                      {"image_file_before", file_before},
                      {"image_file_after", file_after}});
}

}  // namespace

CTB_CONFORMANCE_CASE({
    .id = "overlay.container.copy_up_isolated",
    .reference = kDocNonDirs,
    .needs = {{K::root, ""}, {K::namespace_type, "mount"}, {K::namespace_type, "pid"}, {K::overlay_feature, ""}},
    .timeout = std::chrono::milliseconds(30'000),
    .body = container_case,
});

}  // namespace ctb::conformance::overlay
