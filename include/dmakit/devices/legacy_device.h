// SPDX-License-Identifier: Apache-2.0
// LegacyDevice: a narrow bus master with a one-buffer transfer protocol (devices layer; seeds 000
// and 003): a 24-bit ISA-style DMA device, a 31-bit "PCI" one, or any width from configuration. It
// drives only its address lines: the high bits of the address register are lost, as on the bus.
// Its driver is legacy_driver.h.
#pragma once

#include <cstdint>
#include <deque>

#include "dmakit/devices/device_model.h"

namespace dmakit::devices {

enum class LegacyMode : std::uint8_t {
  MemoryToDevice,  ///< the device reads the buffer and keeps the bytes on its medium
  DeviceToMemory,  ///< the device writes bytes from its medium into the buffer
};

enum class LegacyStatus : std::uint8_t {
  Idle,
  Done,
  Fault,     ///< the transfer's access was refused
  Underrun,  ///< the medium holds fewer bytes than asked for
  BadCount,  ///< zero, or more than the count register can hold
};

/// The register block: the driver programs address, count and mode, then sets `start`; the device
/// clears it when it has run the transfer and reports status and the CRC-32 of the bytes moved.
struct LegacyRegisters {
  unsigned address_bits = 24;          ///< read-only: the address lines it drives
  std::uint32_t max_transfer = 65536;  ///< read-only: the count register's reach
  std::uint64_t address = 0;
  std::uint32_t count = 0;
  LegacyMode mode = LegacyMode::MemoryToDevice;
  bool start = false;
  LegacyStatus status = LegacyStatus::Idle;
  std::uint32_t checksum = 0;
};

struct LegacyConfig {
  unsigned address_bits = 24;
  std::uint32_t max_transfer = 65536;
  ModelTiming timing{.burst_bytes = 2, .cycles_per_burst = 8, .cycles_per_descriptor = 50};
};

/// Throws ConfigError naming the key ("address_bits") for address bits outside 12..64, a zero
/// max_transfer or a timing with a zero burst size.
void check_config(const LegacyConfig& config);

/// The device model. Its medium is a byte stream (a tape, a sound FIFO): transfers to the device
/// append to it, transfers from it consume it.
class LegacyDevice final : public DeviceModel {
 public:
  /// Throws what check_config() does.
  LegacyDevice(dma::Device& dev, const LegacyConfig& config);

  [[nodiscard]] std::string_view kind() const override { return "legacy"; }
  /// Runs the programmed transfer, if `start` is set; returns 1 when it ran.
  std::size_t service() override;

  [[nodiscard]] LegacyRegisters& registers() { return regs_; }
  /// Bytes on the medium, not yet read back.
  [[nodiscard]] std::size_t medium_bytes() const { return medium_.size(); }

 private:
  [[nodiscard]] LegacyStatus run(DmaAddr address);

  LegacyRegisters regs_;
  std::deque<std::byte> medium_;
};

}  // namespace dmakit::devices
