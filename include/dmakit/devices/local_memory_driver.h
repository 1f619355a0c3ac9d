// SPDX-License-Identifier: Apache-2.0
// LocalMemoryDriver: the OS side of the controller with on-board memory (devices layer; seed 001).
// It declares the on-board memory with declare_coherent_memory, exclusively, so its coherent ring
// comes from there; data buffers are host memory mapped for streaming DMA.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>

#include "dmakit/devices/local_memory_device.h"
#include "dmakit/dma/device.h"

namespace dmakit::devices {

/// A driver bound to one controller. Not thread-safe. The Device and the register block must
/// outlive it; destroying it resets the ring, unmaps what is in flight, frees the ring and gives
/// the on-board memory back.
class LocalMemoryDriver {
 public:
  /// Declares the on-board memory the registers describe and allocates a ring of `entries` copy
  /// descriptors in it. Errors: InvalidArgument for 0 entries; declare_coherent_memory's (Busy,
  /// BadAddress); NoMemory when the ring does not fit the on-board memory.
  [[nodiscard]] static Result<std::unique_ptr<LocalMemoryDriver>> open(dma::Device& dev,
                                                                       LocalMemoryRegisters& regs,
                                                                       std::uint32_t entries);
  ~LocalMemoryDriver();

  LocalMemoryDriver(const LocalMemoryDriver&) = delete;
  LocalMemoryDriver& operator=(const LocalMemoryDriver&) = delete;

  /// Asks the controller to copy [src, src + size) to [dst, dst + size), both in the direct map.
  /// Busy when the ring is full; mapping errors as map_single's, with nothing left mapped.
  [[nodiscard]] Status copy(std::byte* dst, const std::byte* src, std::uint32_t size);
  /// Ends the copies the controller has done, in order, checking the destination against the
  /// controller's CRC-32; returns how many ended. Fault when one took a DMA fault or fails its
  /// checksum (all done copies are ended regardless).
  [[nodiscard]] Result<std::size_t> complete();

  [[nodiscard]] std::byte* ring() const { return ring_; }
  [[nodiscard]] DmaAddr ring_dma() const { return ring_dma_; }

 private:
  struct Copy {
    std::byte* dst;
    DmaAddr src_dma;
    DmaAddr dst_dma;
    std::uint32_t size;
  };

  LocalMemoryDriver(dma::Device& dev, LocalMemoryRegisters& regs, std::uint32_t entries)
      : dev_(dev), regs_(regs), entries_(entries) {}
  [[nodiscard]] Status init();
  [[nodiscard]] Status unmap(const Copy& copy);

  dma::Device& dev_;
  LocalMemoryRegisters& regs_;
  const std::uint32_t entries_;
  bool declared_ = false;
  std::byte* ring_ = nullptr;
  DmaAddr ring_dma_;
  std::deque<Copy> in_flight_;
  std::uint32_t tail_ = 0;
  std::uint32_t done_ = 0;
};

}  // namespace dmakit::devices
