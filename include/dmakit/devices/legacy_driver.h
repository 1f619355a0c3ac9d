// SPDX-License-Identifier: Apache-2.0
// LegacyDriver: the OS side of a narrow legacy device (devices layer; seeds 000 and 003). It sets
// the device's mask to its address lines and maps each buffer with map_single; the DMA API makes
// the buffer reachable (bouncing it below the mask, or remapping it through an IOMMU).
#pragma once

#include <cstdint>
#include <memory>

#include "dmakit/devices/legacy_device.h"
#include "dmakit/dma/device.h"

namespace dmakit::devices {

/// A driver bound to one legacy device: one transfer at a time. Not thread-safe. The Device and
/// the register block must outlive it; destroying it unmaps a transfer left unfinished.
class LegacyDriver {
 public:
  /// Sets the streaming and coherent masks to the device's address lines. Errors: those of
  /// set_dma_mask_and_coherent (BadAddress when the platform cannot serve such a mask at all).
  [[nodiscard]] static Result<std::unique_ptr<LegacyDriver>> open(dma::Device& dev,
                                                                  LegacyRegisters& regs);
  ~LegacyDriver();

  LegacyDriver(const LegacyDriver&) = delete;
  LegacyDriver& operator=(const LegacyDriver&) = delete;

  /// Maps [buffer, buffer + size) of the direct map (TO_DEVICE for MemoryToDevice, FROM_DEVICE
  /// otherwise), programs the registers and starts the transfer. Busy while one is in flight;
  /// InvalidArgument for a size of 0 or above max_transfer; mapping errors as map_single's
  /// (AboveMask on a platform that can neither bounce nor remap the buffer).
  [[nodiscard]] Status start(LegacyMode mode, std::byte* buffer, std::uint32_t size);
  /// Ends the transfer the device has run: unmaps, then checks the device's status and its CRC-32
  /// against the buffer. Busy when the device has not run it yet; Fault for a refused access or a
  /// checksum mismatch; NoMemory for an underrun; InvalidArgument for a rejected count.
  [[nodiscard]] Status finish();

 private:
  LegacyDriver(dma::Device& dev, LegacyRegisters& regs) : dev_(dev), regs_(regs) {}

  dma::Device& dev_;
  LegacyRegisters& regs_;
  std::byte* buffer_ = nullptr;  ///< the transfer in flight, or null
  std::uint32_t size_ = 0;
  DmaAddr dma_;
  Direction dir_ = Direction::ToDevice;
};

}  // namespace dmakit::devices
