// SPDX-License-Identifier: Apache-2.0
// Descriptors: one prepared transfer of a DMA engine channel, on bus addresses (engine layer; seed
// 002; Linux's dma_async_tx_descriptor), with the capabilities channels offer and the completion
// record every callback receives.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "dmakit/core/addr.h"
#include "dmakit/core/result.h"
#include "dmakit/engine/cookie.h"

namespace dmakit::engine {

/// What a channel can do (Linux's dma_transaction_type, the part a copy engine has).
enum class Capability : std::uint8_t {
  Memcpy,     ///< copy one bus range to another
  Memset,     ///< fill a bus range with a byte
  Sg,         ///< copy a scatter/gather list to another of the same total length
  Interrupt,  ///< no data: a callback in the channel's order (async_tx's interrupt descriptor)
};

[[nodiscard]] std::string_view capability_name(Capability cap);

/// A set of capabilities (dma_cap_mask_t).
class Capabilities {
 public:
  constexpr Capabilities() = default;
  constexpr Capabilities(std::initializer_list<Capability> caps) {
    for (const Capability c : caps) set(c);
  }
  /// Every capability.
  static constexpr Capabilities all() {
    return {Capability::Memcpy, Capability::Memset, Capability::Sg, Capability::Interrupt};
  }
  constexpr void set(Capability c) { bits_ |= bit(c); }
  [[nodiscard]] constexpr bool has(Capability c) const { return (bits_ & bit(c)) != 0; }
  friend constexpr bool operator==(Capabilities, Capabilities) = default;

 private:
  static constexpr std::uint8_t bit(Capability c) {
    return static_cast<std::uint8_t>(1U << static_cast<unsigned>(c));
  }
  std::uint8_t bits_ = 0;
};

/// One contiguous bus range of a transfer.
struct BusSegment {
  DmaAddr addr;
  std::uint64_t length = 0;
};

/// How an operation's bytes moved.
enum class Method : std::uint8_t {
  Inline,     ///< the calling CPU copied them (below the threshold, or no channel could take it)
  Offloaded,  ///< a channel of the engine moved them
};

[[nodiscard]] constexpr std::string_view method_name(Method m) {
  return m == Method::Inline ? "inline" : "offloaded";
}

/// What a callback learns about the operation it completes (Linux's dmaengine_result). On error
/// no byte of the destination was written, except where the status says otherwise.
struct Completion {
  Status status;  ///< ok; Fault (the IOMMU or the device's reach refused an access);
                  ///< Aborted (terminated, shut down, or a dependency failed);
                  ///< InvalidArgument (refused input)
  Method method = Method::Offloaded;
  Cookie cookie = 0;        ///< the channel's cookie; 0 when no channel ran it
  std::uint64_t bytes = 0;  ///< bytes written to the destination
};

/// Called once per operation, with `context` as given. Runs on a channel's worker thread for
/// offloaded work (so it must not block long: it holds up the channel's later completions), or on
/// the caller's thread for inline work. Must not throw.
using Callback = void (*)(void* context, const Completion& done);

/// A transfer prepared on one channel (Channel::prep_*), submitted with Channel::submit. A value:
/// the channel owns it from submit until its callback has run.
class Descriptor {
 public:
  [[nodiscard]] Capability operation() const { return op_; }
  /// Destination segments (one for memcpy and memset, none for an interrupt).
  [[nodiscard]] std::span<const BusSegment> destination() const {
    if (op_ == Capability::Sg) return {sg_.data(), sg_dst_};
    return {&dst_, op_ == Capability::Interrupt ? 0U : 1U};
  }
  /// Source segments (one for memcpy, none for memset and interrupts).
  [[nodiscard]] std::span<const BusSegment> source() const {
    if (op_ == Capability::Sg) return std::span<const BusSegment>(sg_).subspan(sg_dst_);
    return {&src_, op_ == Capability::Memcpy ? 1U : 0U};
  }
  [[nodiscard]] std::uint64_t length() const { return length_; }
  [[nodiscard]] std::byte fill() const { return fill_; }
  /// Where the channel reports completion; none by default.
  void set_callback(Callback fn, void* context) {
    callback_ = fn;
    context_ = context;
  }

 private:
  friend class Channel;
  Descriptor(Capability op, std::uint64_t length) : op_(op), length_(length) {}

  Capability op_;
  std::uint64_t length_;
  std::byte fill_{0};
  BusSegment dst_{};  ///< memcpy and memset keep their ranges here: no allocation per descriptor
  BusSegment src_{};
  std::vector<BusSegment> sg_;  ///< sg: the destination segments, then the source ones
  std::size_t sg_dst_ = 0;
  Callback callback_ = nullptr;
  void* context_ = nullptr;
  Cookie cookie_ = 0;
  std::uint64_t seq_ = 0;  ///< the channel's unwrapped submission count, for ordering
};

}  // namespace dmakit::engine
