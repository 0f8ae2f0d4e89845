// Shared scaffolding of the rootfs integration tests.
//
// Isolation: every mount happens in a forked child that first unshares its mount namespace and
// makes "/" rprivate, and puts its files on a tmpfs mounted there: a crash leaves nothing
// mounted and no files on the host. The only host object is the scratch directory
// /run/ctbench/rootfs-test-<pid> (plus the persistent part of volume tests under it), removed
// and checked for by the fixture.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace ctbtest {

// Collects failed checks inside a child (gtest assertions do not cross fork).
struct Problems {
    std::string text;
    void check(bool ok, const std::string& what) {
        if (!ok) text += what + "\n";
    }
    // call() must fail (return -1) with errno == err; errno is read right after the call.
    void expect_errno(int err, const std::string& what, const std::function<long()>& call);
};

// Host scratch dir; tests put files only on tmpfs mounted below it inside children.
class RootfsEnv : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;
    std::string base;            // /run/ctbench/rootfs-test-<pid>
    std::string tmp() const { return base + "/tmp"; }  // a tmpfs inside in_private_ns children

private:
    bool created_state_dir_ = false;
};

// Runs body in a child with a private mount namespace and a fresh tmpfs at tmp_dir; returns
// body's problems ("" when all is well) or why the child failed.
std::string in_private_ns(const std::string& tmp_dir, const std::function<std::string()>& body,
                          std::chrono::seconds timeout = std::chrono::seconds(60));

// From inside such a child: runs body as pid 1 of a new pid namespace; returns its result.
std::string as_pid1(const std::function<std::string()>& body);

// dir/bin/busybox (from busybox-static), dir/bin/sh -> busybox, and empty proc, sys, dev, tmp.
std::string make_busybox_rootfs(const std::string& dir);

// Writes content to path (creating it), returns "" or the reason.
std::string put(const std::string& path, const std::string& content);
// The file's content, or "<error: ...>".
std::string get(const std::string& path);
// Exit status of `argv` run via fork+execv (-1 when it could not run).
int run(const std::vector<std::string>& argv);

}  // namespace ctbtest
