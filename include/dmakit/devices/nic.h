// SPDX-License-Identifier: Apache-2.0
// Nic: a network adapter model with receive and transmit descriptor rings (devices layer; seed
// 000: a 64-bit NIC whose descriptors may be 32- or 64-bit). Its driver is nic_driver.h; the two
// share only the register block below and the rings in memory.
#pragma once

#include <cstdint>

#include "dmakit/core/name_table.h"
#include "dmakit/devices/device_model.h"
#include "dmakit/devices/wire.h"

namespace dmakit::devices {

/// The descriptor format a NIC is built (or strapped) for. Seed 000: 32-bit descriptors are the
/// efficient, fading kind; they carry only 32-bit buffer addresses.
enum class DescriptorFormat : std::uint8_t { Bits32, Bits64 };

/// The formats by their configuration names: the bits of a buffer address.
inline constexpr NameTable<DescriptorFormat, 2> kDescriptorFormatNames = {{
    {DescriptorFormat::Bits32, "32"},
    {DescriptorFormat::Bits64, "64"},
}};

/// Descriptor status bits, written back by the NIC.
inline constexpr std::uint32_t kDescDone = 1u << 0;
inline constexpr std::uint32_t kDescDmaError = 1u << 1;  ///< an access was refused (IOMMU, mask)
inline constexpr std::uint32_t kDescTooLong = 1u << 2;   ///< the frame did not fit the buffer

/// A 32-bit descriptor as it lies in the ring: 8 bytes.
struct NicDesc32 {
  std::uint32_t addr;
  std::uint16_t length;
  std::uint16_t status;
};
/// A 64-bit descriptor: 16 bytes.
struct NicDesc64 {
  std::uint64_t addr;
  std::uint32_t length;
  std::uint32_t status;
};

[[nodiscard]] constexpr std::uint64_t descriptor_bytes(DescriptorFormat format) {
  return format == DescriptorFormat::Bits32 ? sizeof(NicDesc32) : sizeof(NicDesc64);
}

/// A descriptor of either format, decoded.
struct NicDescriptor {
  std::uint64_t addr = 0;
  std::uint32_t length = 0;  ///< buffer size when posted; frame length when written back
  std::uint32_t status = 0;
};

/// Encodes `desc` in `format` at `out` (descriptor_bytes(format) bytes), narrowing the fields of
/// a 32-bit descriptor, and back: what both the NIC and its driver do with ring memory.
void encode_descriptor(DescriptorFormat format, const NicDescriptor& desc, std::byte* out);
[[nodiscard]] NicDescriptor decode_descriptor(DescriptorFormat format, const std::byte* in);

/// The NIC's register block (its BAR), shared by model and driver. Ring indices run freely and
/// wrap at 2^32; a ring slot is index % entries. A ring holds work in [head, tail): the driver
/// advances tail (the doorbell), the NIC advances head as it completes descriptors.
struct NicRegisters {
  DescriptorFormat format = DescriptorFormat::Bits64;  ///< read-only: what the NIC was built for
  DmaAddr rx_ring;
  std::uint32_t rx_entries = 0;
  std::uint32_t rx_tail = 0;
  std::uint32_t rx_head = 0;
  DmaAddr tx_ring;
  std::uint32_t tx_entries = 0;
  std::uint32_t tx_tail = 0;
  std::uint32_t tx_head = 0;
};

struct NicConfig {
  DescriptorFormat format = DescriptorFormat::Bits64;
  /// Frames the link side holds while the receive ring has no buffer; more are dropped.
  std::size_t wire_fifo_frames = 256;
  ModelTiming timing;
};

/// What the NIC did, beyond the common counters.
struct NicStats {
  std::uint64_t frames_received = 0;  ///< written into receive buffers
  std::uint64_t frames_sent = 0;
  std::uint64_t dma_errors = 0;  ///< descriptors completed with kDescDmaError
};

/// The NIC model. Frames arriving on its wire wait in the wire's FIFO until service() finds a
/// posted receive buffer; frames it transmits go out on the wire.
class Nic final : public DeviceModel {
 public:
  Nic(dma::Device& dev, const NicConfig& config);

  [[nodiscard]] std::string_view kind() const override { return "nic"; }
  /// Completes posted transmit descriptors, then fills posted receive buffers from the FIFO.
  std::size_t service() override;

  [[nodiscard]] NicRegisters& registers() { return regs_; }
  [[nodiscard]] DescriptorFormat format() const { return regs_.format; }
  [[nodiscard]] const NicStats& stats() const { return stats_; }

  /// The link: frames (payload and FCS) arrive and leave here.
  [[nodiscard]] Wire& wire() { return wire_; }

 private:
  [[nodiscard]] DmaAddr slot(DmaAddr ring, std::uint32_t entries, std::uint32_t index) const;
  [[nodiscard]] Result<NicDescriptor> fetch(DmaAddr at);
  /// Writes the descriptor back and counts it.
  [[nodiscard]] Status write_back(DmaAddr at, const NicDescriptor& desc);
  /// False when the ring itself could not be reached: the NIC stops, as hardware would hang.
  bool transmit_one();
  bool receive_one();

  NicRegisters regs_;
  Wire wire_;
  NicStats stats_;
};

}  // namespace dmakit::devices
