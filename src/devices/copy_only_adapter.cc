// SPDX-License-Identifier: Apache-2.0
// The copy-only adapter model (devices layer).
#include "dmakit/devices/copy_only_adapter.h"

#include <algorithm>

namespace dmakit::devices {

CopyOnlyAdapter::CopyOnlyAdapter(dma::Device& dev, const CopyOnlyConfig& config)
    : DeviceModel(dev, config.timing), wire_(config.wire_fifo_frames) {}

std::size_t CopyOnlyAdapter::service() {
  std::size_t done = 0;
  if (regs_.send_doorbell) {
    const std::size_t n = std::min<std::size_t>(regs_.send_length, kPioBufferBytes);
    wire_.send(Frame(regs_.send_buffer.begin(), regs_.send_buffer.begin() + n));
    count_local(n, 0);
    count_descriptor();
    regs_.send_doorbell = false;
    ++done;
  }
  if (!regs_.receive_ready && wire_.has_arrival()) {
    const Frame& f = wire_.next_arrival();
    // A frame longer than the on-chip buffer cannot be taken: the adapter drops it.
    if (f.size() <= kPioBufferBytes) {
      std::copy(f.begin(), f.end(), regs_.receive_buffer.begin());
      regs_.receive_length = static_cast<std::uint32_t>(f.size());
      regs_.receive_ready = true;
      count_local(0, f.size());
      count_descriptor();
      ++done;
    }
    wire_.pop_arrival();
  }
  return done;
}

}  // namespace dmakit::devices
