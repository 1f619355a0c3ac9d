// SPDX-License-Identifier: Apache-2.0
// CopyOnlyDriver: the OS side of the copy-only adapter (devices layer; seed 004). An upper layer
// maps its buffers with the DMA API on the adapter's device and passes DMA addresses down, as the
// InfiniBand core does; the driver turns each back into CPU addresses with the reverse lookup
// (dma_to_virt, answered from a table of live mappings: seed 004's "hash table that maps DMA
// addresses back") and has a Copier move the bytes.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "dmakit/devices/copier.h"
#include "dmakit/devices/copy_only_adapter.h"
#include "dmakit/dma/device.h"
#include "dmakit/dma/mapping_tracker.h"

namespace dmakit::devices {

/// A receive the upper layer posted and the driver filled.
struct ReceiveCompletion {
  DmaAddr addr;
  std::uint32_t length = 0;  ///< payload bytes written at addr
};

struct CopyOnlyDriverStats {
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  std::uint64_t checksum_errors = 0;  ///< frames dropped for a bad FCS
  std::uint64_t too_long = 0;         ///< frames dropped for a posted buffer too small
};

/// A driver bound to one adapter. Not thread-safe. The Device, the registers and the Copier must
/// outlive it. It installs its MappingTracker as the device's tracker for its life.
class CopyOnlyDriver {
 public:
  /// Gives the device a 64-bit mask (it never drives an address: any memory will do), turns off
  /// forced bouncing (a bounce buffer would only add a copy, and the reverse lookup names the
  /// original buffer), and starts tracking the device's live mappings.
  [[nodiscard]] static Result<std::unique_ptr<CopyOnlyDriver>> open(dma::Device& dev,
                                                                    CopyOnlyRegisters& regs,
                                                                    Copier& copier);
  ~CopyOnlyDriver();

  CopyOnlyDriver(const CopyOnlyDriver&) = delete;
  CopyOnlyDriver& operator=(const CopyOnlyDriver&) = delete;

  /// Sends the `length` payload bytes at DMA address `addr` (mapped TO_DEVICE or bidirectional by
  /// the caller on this device): copied into the send buffer with their FCS. Busy while the last
  /// frame is still in the buffer; InvalidArgument when the frame would not fit; BadAddress when
  /// part of the range is not a live mapping of the device; the Copier's errors (an engine's
  /// Fault). On error the doorbell is not rung: no part of the frame is sent.
  [[nodiscard]] Status send(DmaAddr addr, std::uint32_t length);
  /// Posts a receive buffer of `length` bytes at DMA address `addr` (mapped FROM_DEVICE).
  void post_receive(DmaAddr addr, std::uint32_t length);
  /// Moves an arrived frame, if any, into the oldest posted receive; frames failing their FCS or
  /// too long for the buffer are dropped and counted. Errors: BadAddress as send's, and the
  /// Copier's.
  [[nodiscard]] Result<std::vector<ReceiveCompletion>> poll();

  [[nodiscard]] const CopyOnlyDriverStats& stats() const { return stats_; }

 private:
  CopyOnlyDriver(dma::Device& dev, CopyOnlyRegisters& regs, Copier& copier)
      : dev_(dev), regs_(regs), copier_(copier) {}
  /// Copies between the DMA range at `addr` and `cpu` (into the range when `into_dma`), page by
  /// page of the range: an IOMMU range need not be contiguous in host memory.
  [[nodiscard]] Status copy_dma(DmaAddr addr, std::byte* cpu, std::uint32_t size, bool into_dma);
  [[nodiscard]] Result<std::byte*> cpu_of(DmaAddr addr) const;

  dma::Device& dev_;
  CopyOnlyRegisters& regs_;
  Copier& copier_;
  dma::MappingTracker tracker_;
  std::deque<ReceiveCompletion> posted_;
  CopyOnlyDriverStats stats_;
};

}  // namespace dmakit::devices
