// SPDX-License-Identifier: Apache-2.0
// CallStack: where a DMA API call was made (debug layer). Captured as raw return addresses, which
// costs one unwind and no allocation, and symbolized with libbacktrace (GCC's, from Debian's
// libgcc-12-dev) only when a report is printed.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace dmakit::debug {

/// Up to kMaxFrames return addresses of one thread's stack, innermost first. A value; copying it
/// copies the addresses.
class CallStack {
 public:
  static constexpr int kMaxFrames = 16;

  /// The caller's stack (capture itself left out), at most `depth` frames (clamped to kMaxFrames);
  /// empty for depth 0.
  [[nodiscard, gnu::noinline]] static CallStack capture(int depth);

  [[nodiscard]] std::span<void* const> frames() const { return {frames_.data(), depth_}; }
  [[nodiscard]] bool empty() const { return depth_ == 0; }

  /// One line per frame, each `indent` + "#i 0xaddr function file:line" (inlined calls on lines of
  /// their own; function and file as far as the binary's symbols and debug information tell),
  /// leaving out the checker's own frames at the top.
  /// Thread-safe; slow (reads the binary's debug information the first time).
  [[nodiscard]] std::string symbolize(std::string_view indent = "    ") const;

 private:
  std::array<void*, kMaxFrames> frames_{};
  std::uint8_t depth_ = 0;
};

}  // namespace dmakit::debug
