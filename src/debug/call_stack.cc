// SPDX-License-Identifier: Apache-2.0
// Call stacks: glibc's backtrace() to capture (one unwind through the .eh_frame tables), GCC's
// libbacktrace to symbolize (debug information when the binary has it, the symbol table else).
#include "dmakit/debug/call_stack.h"

#include <backtrace.h>
#include <cxxabi.h>
#include <execinfo.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <vector>

namespace dmakit::debug {
namespace {

backtrace_state* symbolizer() {
  // One state per process, as libbacktrace wants: it caches the parsed debug information.
  static backtrace_state* const state = backtrace_create_state(
      nullptr, /*threaded=*/1, [](void*, const char*, int) {}, nullptr);
  return state;
}

std::string demangle(const char* name) {
  if (name == nullptr) return "??";
  int status = 0;
  const std::unique_ptr<char, decltype(&std::free)> plain(
      abi::__cxa_demangle(name, nullptr, nullptr, &status), &std::free);
  return status == 0 && plain ? std::string(plain.get()) : std::string(name);
}

}  // namespace

CallStack CallStack::capture(int depth) {
  CallStack stack;
  depth = std::clamp(depth, 0, kMaxFrames);
  if (depth == 0) return stack;
  std::array<void*, kMaxFrames + 1> raw;
  const int got = ::backtrace(raw.data(), depth + 1);
  // Frame 0 is capture() itself.
  for (int i = 1; i < got; ++i) stack.frames_[i - 1] = raw[i];
  stack.depth_ = static_cast<std::uint8_t>(std::max(got - 1, 0));
  return stack;
}

std::string CallStack::symbolize(std::string_view indent) const {
  backtrace_state* state = symbolizer();
  std::string out;
  for (std::size_t i = 0; i < depth_; ++i) {
    // A return address points after the call; one byte back lies inside it.
    const auto pc = reinterpret_cast<std::uintptr_t>(frames_[i]) - 1;
    std::vector<std::string> found;  // one line per inlined call, innermost first
    if (state != nullptr) {
      backtrace_pcinfo(
          state, pc,
          [](void* data, std::uintptr_t, const char* file, int line, const char* function) {
            if (function == nullptr) return 0;
            static_cast<std::vector<std::string>*>(data)->push_back(
                file != nullptr ? fmt::format("{} {}:{}", demangle(function), file, line)
                                : demangle(function));
            return 0;
          },
          [](void*, const char*, int) {}, &found);
      if (found.empty()) {
        backtrace_syminfo(
            state, pc,
            [](void* data, std::uintptr_t, const char* symbol, std::uintptr_t, std::uintptr_t) {
              if (symbol != nullptr)
                static_cast<std::vector<std::string>*>(data)->push_back(demangle(symbol));
            },
            [](void*, const char*, int) {}, &found);
      }
    }
    if (found.empty()) found.emplace_back("??");
    // The checker's own frames say nothing about the driver: the stack starts where it was called.
    if (out.empty() && found.front().starts_with("dmakit::debug::DmaDebug::")) continue;
    for (const std::string& line : found)
      out += fmt::format("{}#{} {:#x} {}\n", indent, i, pc + 1, line);
  }
  return out;
}

}  // namespace dmakit::debug
