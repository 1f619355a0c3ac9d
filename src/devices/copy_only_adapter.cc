// SPDX-License-Identifier: Apache-2.0
// The copy-only adapter model (devices layer).
#include "dmakit/devices/copy_only_adapter.h"

#include <algorithm>

#include "dmakit/core/assert.h"
#include "dmakit/core/config_error.h"
#include "dmakit/machine/machine.h"

namespace dmakit::devices {
namespace {

// Both buffers in one block of pages.
constexpr unsigned kBuffersOrder = 1;
static_assert(2 * kPioBufferBytes <= kPageSize << kBuffersOrder);

machine::Page* alloc_buffers(const dma::Device& dev) {
  const Result<machine::Page*> pages =
      dev.machine().page_allocator().alloc_pages(machine::kGfpKernel, kBuffersOrder);
  if (!pages)
    throw ConfigError(dev.name(), "no RAM for the on-chip buffers: " + pages.error().message);
  return *pages;
}

}  // namespace

CopyOnlyAdapter::CopyOnlyAdapter(dma::Device& dev, const CopyOnlyConfig& config)
    : DeviceModel(dev, config.timing),
      buffers_(alloc_buffers(dev)),
      wire_(config.wire_fifo_frames) {
  std::byte* base = dev.machine().page_address(buffers_);
  regs_.send_buffer = {base, kPioBufferBytes};
  regs_.receive_buffer = {base + kPioBufferBytes, kPioBufferBytes};
}

CopyOnlyAdapter::~CopyOnlyAdapter() {
  DMAKIT_CHECK(device().machine().page_allocator().free_pages(buffers_, kBuffersOrder),
               "{}: freeing the on-chip buffers failed", device().name());
}

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
