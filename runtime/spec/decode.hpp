// Internal to runtime/spec: decoders for the spec's structs, split between parse.cpp (top level,
// process, root, mounts) and parse_linux.cpp (the linux object). Each reads its fields in spec
// order and checks what can be checked within the struct; cross-field checks follow the reads.
#pragma once

#include "runtime/spec/reader.hpp"
#include "runtime/spec/spec.hpp"

namespace ctb::spec::detail {

// parse.cpp
void decode(const Reader& r, Spec& out);
void decode(const Reader& r, Process& out);
void decode(const Reader& r, User& out);
void decode(const Reader& r, ConsoleSize& out);
void decode(const Reader& r, Capabilities& out);
void decode(const Reader& r, Rlimit& out);
void decode(const Reader& r, Root& out);
void decode(const Reader& r, Mount& out);
void decode(const Reader& r, Hooks& out);
void decode(const Reader& r, Hook& out);

// parse_linux.cpp
void decode(const Reader& r, Linux& out);
void decode(const Reader& r, Namespace& out);
void decode(const Reader& r, IdMapping& out);
void decode(const Reader& r, TimeOffset& out);
void decode(const Reader& r, Device& out);
void decode(const Reader& r, Seccomp& out);
void decode(const Reader& r, SeccompSyscall& out);
void decode(const Reader& r, SeccompArg& out);

// parse_resources.cpp
void decode(const Reader& r, Resources& out);
void decode(const Reader& r, DeviceRule& out);
void decode(const Reader& r, MemoryResources& out);
void decode(const Reader& r, CpuResources& out);
void decode(const Reader& r, PidsResources& out);
void decode(const Reader& r, BlockIoResources& out);
void decode(const Reader& r, WeightDevice& out);
void decode(const Reader& r, ThrottleDevice& out);
void decode(const Reader& r, HugepageLimit& out);

}  // namespace ctb::spec::detail
