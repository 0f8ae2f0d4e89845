// A host capability as found by trying it: available or not, and the evidence either way.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace ctb {

struct Feature {
    bool available = false;
    // When available: the evidence ("new ns inode 4026532801"); when not: the reason
    // ("unshare(CLONE_NEWTIME): EINVAL"). Never empty, so a skip always has a reason.
    std::string detail;

    static Feature yes(std::string evidence) { return {true, std::move(evidence)}; }
    static Feature no(std::string reason) { return {false, std::move(reason)}; }
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Feature, available, detail)

}  // namespace ctb
