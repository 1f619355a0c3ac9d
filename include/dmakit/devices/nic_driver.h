// SPDX-License-Identifier: Apache-2.0
// NicDriver: the OS side of the NIC model (devices layer; seed 000). It talks to the NIC only
// through its register block and the descriptor rings, and to memory only through the public DMA
// API: rings in coherent memory, packet buffers mapped for streaming DMA.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "dmakit/core/name_table.h"
#include "dmakit/devices/nic.h"
#include "dmakit/dma/device.h"
#include "dmakit/machine/page.h"

namespace dmakit::devices {

/// How the driver keeps its receive ring filled.
enum class RxStrategy : std::uint8_t {
  MapPerPacket,  ///< map each buffer FROM_DEVICE when posted, unmap it when a frame lands
  RecycledPool,  ///< map every buffer once, for the driver's life; sync it each way per frame
};

inline constexpr NameTable<RxStrategy, 2> kRxStrategyNames = {{
    {RxStrategy::MapPerPacket, "map-per-packet"},
    {RxStrategy::RecycledPool, "recycled-pool"},
}};
[[nodiscard]] constexpr std::string_view rx_strategy_name(RxStrategy strategy) {
  return name_of(kRxStrategyNames, strategy);
}

struct NicDriverConfig {
  RxStrategy rx_strategy = RxStrategy::MapPerPacket;
  std::uint32_t rx_entries = 64;
  std::uint32_t tx_entries = 64;
  std::uint32_t buffer_bytes = 2048;  ///< per packet buffer, FCS included; at most a page
};

struct NicDriverStats {
  std::uint64_t rx_packets = 0;
  std::uint64_t rx_bytes = 0;            ///< payload bytes delivered
  std::uint64_t rx_checksum_errors = 0;  ///< frames whose FCS did not match: dropped
  std::uint64_t rx_dma_errors = 0;       ///< descriptors the NIC completed with a DMA error
  std::uint64_t rx_length_errors = 0;    ///< frames longer than a buffer
  std::uint64_t rx_refill_failures = 0;  ///< buffers that could not be mapped again (retried)
  std::uint64_t tx_packets = 0;
  std::uint64_t tx_dma_errors = 0;
  std::uint64_t maps = 0;  ///< streaming map calls
  std::uint64_t syncs = 0;
};

/// A driver bound to one NIC. Not thread-safe (one driver context, as a NAPI poll loop). The
/// Device and the register block must outlive it; destroying it resets the rings, unmaps and
/// frees everything it holds.
class NicDriver {
 public:
  /// Brings the NIC up: masks for its descriptor format (32-bit descriptors need 32-bit buffer
  /// addresses), both rings in coherent memory, every receive buffer allocated, mapped and posted.
  /// Errors: InvalidArgument for a bad configuration; what the DMA API reports otherwise. A NIC
  /// with 32-bit descriptors on a platform that cannot give it addresses below 4 GiB (no IOMMU,
  /// no bounce pool, buffers above 4 GiB) gets AboveMask naming that, with nothing left held.
  [[nodiscard]] static Result<std::unique_ptr<NicDriver>> open(dma::Device& dev, NicRegisters& regs,
                                                               const NicDriverConfig& config);
  ~NicDriver();

  NicDriver(const NicDriver&) = delete;
  NicDriver& operator=(const NicDriver&) = delete;

  /// Queues one packet: sealed with its FCS, copied into a transmit buffer, mapped TO_DEVICE,
  /// posted, and the doorbell rung. Busy when the transmit ring is full (reap first);
  /// InvalidArgument when the frame would not fit a buffer; mapping errors as the DMA API's.
  [[nodiscard]] Status transmit(std::span<const std::byte> payload);
  /// Unmaps the buffers of completed transmits; returns how many. Fault when the NIC reported a
  /// DMA error on any of them (all are reaped regardless).
  [[nodiscard]] Result<std::size_t> reap_transmitted();

  using Deliver = std::function<void(std::span<const std::byte> payload)>;
  /// Takes every frame the NIC has written, verifies its FCS, hands the payload to `deliver`, and
  /// gives the buffer back to the NIC (per the RxStrategy). Returns the packets delivered. Fault
  /// when the NIC reported a DMA error on a descriptor (the driver's error path: counted, the
  /// buffer re-posted, the frames around it still delivered). Frames failing their FCS are counted
  /// and dropped.
  [[nodiscard]] Result<std::size_t> receive(const Deliver& deliver);

  [[nodiscard]] const NicDriverStats& stats() const { return stats_; }
  [[nodiscard]] std::uint32_t max_payload() const;

 private:
  struct Buffer {
    machine::Page* page = nullptr;
    std::byte* cpu = nullptr;
    DmaAddr dma;
    bool mapped = false;
  };

  NicDriver(dma::Device& dev, NicRegisters& regs, const NicDriverConfig& config);
  [[nodiscard]] Status init();
  [[nodiscard]] Status alloc_ring(std::uint32_t entries, std::byte** cpu, DmaAddr* dma);
  [[nodiscard]] Status alloc_buffers(std::vector<Buffer>& buffers, std::uint32_t count);
  [[nodiscard]] Status map_buffer(Buffer& buffer, std::uint64_t size, Direction dir);
  [[nodiscard]] Status hand_rx_to_device(Buffer& buffer);
  /// Posts receive buffers until the ring is full or one cannot be handed over.
  void refill_rx();
  [[nodiscard]] NicDescriptor descriptor(const std::byte* ring, std::uint32_t index) const;
  void set_descriptor(std::byte* ring, std::uint32_t index, const NicDescriptor& desc);

  dma::Device& dev_;
  NicRegisters& regs_;
  const NicDriverConfig config_;
  const DescriptorFormat format_;
  std::byte* rx_ring_ = nullptr;
  DmaAddr rx_ring_dma_;
  std::byte* tx_ring_ = nullptr;
  DmaAddr tx_ring_dma_;
  std::vector<Buffer> rx_;
  std::vector<Buffer> tx_;
  std::uint32_t rx_next_ = 0;  ///< next receive descriptor to clean
  std::uint32_t rx_tail_ = 0;  ///< next receive descriptor to post
  std::uint32_t tx_next_ = 0;  ///< next transmit descriptor to post
  std::uint32_t tx_clean_ = 0;
  NicDriverStats stats_;
};

}  // namespace dmakit::devices
