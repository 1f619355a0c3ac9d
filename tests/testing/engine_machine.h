// SPDX-License-Identifier: Apache-2.0
// A machine with a copy engine on it, for engine tests: 64 GiB of RAM (sparse), a 4 MiB bounce
// pool, and buffers handed out from chosen physical addresses.
#pragma once

#include <atomic>
#include <cstring>
#include <memory>
#include <thread>

#include "dmakit/dma/device.h"
#include "dmakit/dma/platform.h"
#include "dmakit/engine/channel.h"
#include "dmakit/engine/dma_engine.h"
#include "testing/bounce_machine.h"

namespace dmakit::testing {

/// The engine's device is `engine0` with a `mask_bits` streaming mask; the engine is built by
/// start() so that tests can attach the device to an IOMMU first.
struct EngineMachine {
  explicit EngineMachine(unsigned mask_bits = 64, std::uint64_t bounce = 4 * kMiB)
      : machine(bounce_machine_config(bounce)), platform(machine), device(platform, "engine0") {
    (void)device.set_dma_mask(dma_bit_mask(mask_bits));
  }

  engine::DmaEngine& start(engine::EngineConfig config = {}) {
    if (!config.inline_threshold) config.inline_threshold = 0;  // offload unless a test says not
    engine = std::make_unique<engine::DmaEngine>(device, config);
    return *engine;
  }

  /// `size` bytes at physical `phys` (at 1 GiB and above by default), filled with `fill`.
  std::byte* buffer(std::uint64_t size, int fill = 0, std::uint64_t phys = 0) {
    if (phys == 0) {
      phys = next_;
      next_ += (size + 2 * kPageSize) & ~(kPageSize - 1);
    }
    std::byte* p = machine.memory().direct_map(PhysAddr(phys));
    std::memset(p, fill, size);
    return p;
  }

  DmaAddr bus(const std::byte* cpu) const {
    return device.phys_to_dma(machine.virt_to_phys(cpu).value());
  }

  machine::Machine machine;
  dma::Platform platform;
  dma::Device device;
  std::unique_ptr<engine::DmaEngine> engine;

 private:
  std::uint64_t next_ = kGiB;
};

/// Holds a channel's worker inside a callback until opened, so that what is queued behind it waits.
/// Open it, and let the gate's descriptor complete, before it goes out of scope.
struct ChannelGate {
  /// Submits and issues the gate's descriptor on `ch`, and returns its cookie once the worker is
  /// inside its callback.
  engine::Cookie close(engine::Channel& ch) {
    Result<engine::Descriptor> d = ch.prep_interrupt();
    d->set_callback(
        [](void* gate, const engine::Completion&) {
          auto* g = static_cast<ChannelGate*>(gate);
          g->entered = true;
          while (!g->open.load()) std::this_thread::yield();
        },
        this);
    const engine::Cookie cookie = ch.submit(std::move(*d));
    ch.issue_pending();
    while (!entered.load()) std::this_thread::yield();
    return cookie;
  }

  std::atomic<bool> entered{false};
  std::atomic<bool> open{false};
};

}  // namespace dmakit::testing
