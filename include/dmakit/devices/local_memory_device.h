// SPDX-License-Identifier: Apache-2.0
// LocalMemoryController: a controller with memory of its own (devices layer; seed 001). Its
// descriptor ring lives in that on-board memory, which the driver declares with
// declare_coherent_memory; the controller reaches the ring locally and host buffers over the bus.
// Its work: copy a source buffer to a destination buffer, reporting the data's CRC-32. Its driver
// is local_memory_driver.h.
#pragma once

#include <cstdint>

#include "dmakit/devices/device_model.h"

namespace dmakit::devices {

/// One copy descriptor in on-board memory: 32 bytes. `status` is 0 until the controller is done.
struct CopyDescriptor {
  std::uint64_t src;
  std::uint64_t dst;
  std::uint32_t length;
  std::uint32_t status;
  std::uint32_t checksum;
  std::uint32_t reserved;
};
inline constexpr std::uint32_t kCopyDone = 1;
inline constexpr std::uint32_t kCopyDmaError = 2;

/// The register block. The on-board memory's place is read-only (its BAR): where the machine's
/// bus sees it and where the controller addresses it. The ring holds work in [head, tail).
struct LocalMemoryRegisters {
  PhysAddr memory_bus_addr;
  DmaAddr memory_device_addr;
  std::uint64_t memory_size = 0;
  DmaAddr ring;  ///< a device address inside the on-board memory
  std::uint32_t entries = 0;
  std::uint32_t tail = 0;
  std::uint32_t head = 0;
};

struct LocalMemoryConfig {
  PhysAddr bus_addr{0xd0000000};  ///< in the PCI hole of a PC; must not overlap RAM
  DmaAddr device_addr{0};
  std::uint64_t size = 64 * 1024;
  ModelTiming timing;
};

/// Throws ConfigError naming the key ("memory.size") for on-board memory that is not a whole
/// number of pages, or a timing with a zero burst size.
void check_config(const LocalMemoryConfig& config);

/// The controller model. Its on-board memory exists once the driver has declared it.
class LocalMemoryController final : public DeviceModel {
 public:
  /// Throws what check_config() does.
  LocalMemoryController(dma::Device& dev, const LocalMemoryConfig& config);

  [[nodiscard]] std::string_view kind() const override { return "local-memory"; }
  /// Runs the posted copies in order; returns how many completed. Stops when the ring is not in
  /// declared on-board memory.
  std::size_t service() override;

  [[nodiscard]] LocalMemoryRegisters& registers() { return regs_; }

 private:
  /// The on-board bytes at device address `at`, or null outside the declared memory.
  [[nodiscard]] std::byte* local(DmaAddr at, std::uint64_t size) const;

  LocalMemoryRegisters regs_;
};

}  // namespace dmakit::devices
