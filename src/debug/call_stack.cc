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

namespace {

struct Frame {
  std::string function;
  std::string place;  ///< "file:line", or empty
};

// The calls at one address, innermost (inlined) first. Debug information names functions as
// written (DW_AT_name: "TestBody"), so the outermost takes the symbol table's full name instead.
std::vector<Frame> frames_at(backtrace_state* state, std::uintptr_t pc) {
  std::vector<Frame> found;
  if (state == nullptr) return found;
  backtrace_pcinfo(
      state, pc,
      [](void* data, std::uintptr_t, const char* file, int line, const char* function) {
        if (function != nullptr)
          static_cast<std::vector<Frame>*>(data)->push_back(
              {demangle(function), file != nullptr ? fmt::format("{}:{}", file, line) : ""});
        return 0;
      },
      [](void*, const char*, int) {}, &found);
  std::string symbol;
  backtrace_syminfo(
      state, pc,
      [](void* data, std::uintptr_t, const char* name, std::uintptr_t, std::uintptr_t) {
        if (name != nullptr) *static_cast<std::string*>(data) = demangle(name);
      },
      [](void*, const char*, int) {}, &symbol);
  if (!symbol.empty()) {
    if (found.empty()) found.push_back({symbol, ""});
    found.back().function = symbol;
  }
  return found;
}

// The checker's own frames (and the unwinder's, which a sanitizer's interceptor lets through).
bool is_checker_frame(const Frame& f) {
  return f.function.starts_with("dmakit::debug::DmaDebug::") ||
         f.function.starts_with("dmakit::debug::CallStack::") ||
         f.place.find("/src/debug/") != std::string::npos;
}

}  // namespace

std::string CallStack::symbolize(std::string_view indent) const {
  backtrace_state* state = symbolizer();
  std::string out;
  for (std::size_t i = 0; i < depth_; ++i) {
    // A return address points after the call; one byte back lies inside it.
    const auto pc = reinterpret_cast<std::uintptr_t>(frames_[i]) - 1;
    std::vector<Frame> found = frames_at(state, pc);
    if (found.empty()) found.push_back({"??", ""});
    // The stack starts where the checker was called: its own frames say nothing about the driver.
    if (out.empty() && is_checker_frame(found.back())) continue;
    for (const Frame& f : found)
      out += fmt::format("{}#{} {:#x} {}{}{}\n", indent, i, pc + 1, f.function,
                         f.place.empty() ? "" : " ", f.place);
  }
  return out;
}

}  // namespace dmakit::debug
