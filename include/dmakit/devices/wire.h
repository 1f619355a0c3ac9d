// SPDX-License-Identifier: Apache-2.0
// Wire: the network side of a network adapter model (devices layer): frames arriving for it, held
// in a bounded FIFO until it has somewhere to put them, and frames it has sent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

namespace dmakit::devices {

using Frame = std::vector<std::byte>;

/// A link with a bounded receive FIFO. Not thread-safe (the model's thread).
class Wire {
 public:
  explicit Wire(std::size_t fifo_frames) : fifo_frames_(fifo_frames) {}

  /// A frame arriving from the network; dropped (and counted) when the FIFO is full.
  void arrive(Frame frame) {
    if (arrived_.size() >= fifo_frames_) {
      ++dropped_;
      return;
    }
    arrived_.push_back(std::move(frame));
  }
  [[nodiscard]] bool has_arrival() const { return !arrived_.empty(); }
  [[nodiscard]] const Frame& next_arrival() const { return arrived_.front(); }
  void pop_arrival() { arrived_.pop_front(); }

  /// A frame the adapter put on the network.
  void send(Frame frame) { sent_.push_back(std::move(frame)); }
  /// The frames sent since the last call, oldest first.
  [[nodiscard]] std::vector<Frame> take_sent() { return std::exchange(sent_, {}); }

  [[nodiscard]] std::uint64_t dropped() const { return dropped_; }

 private:
  const std::size_t fifo_frames_;
  std::deque<Frame> arrived_;
  std::vector<Frame> sent_;
  std::uint64_t dropped_ = 0;
};

}  // namespace dmakit::devices
