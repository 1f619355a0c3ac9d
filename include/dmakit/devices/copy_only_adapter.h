// SPDX-License-Identifier: Apache-2.0
// CopyOnlyAdapter: a network adapter that cannot master DMA to the addresses the DMA API hands out
// (devices layer; seed 004's ib_ipath). It has on-chip send and receive buffers that its driver's
// Copier fills and empties (programmed I/O by the CPU, or a copy engine); its driver is
// copy_only_driver.h.
#pragma once

#include <cstdint>
#include <span>

#include "dmakit/devices/device_model.h"
#include "dmakit/devices/wire.h"
#include "dmakit/machine/page.h"

namespace dmakit::devices {

inline constexpr std::size_t kPioBufferBytes = 4096;

/// The register block with the on-chip buffers, kPioBufferBytes each. To send, the driver fills
/// send_buffer, sets send_length and rings send_doorbell; the adapter clears the doorbell once the
/// frame is out. A frame that arrives lands in receive_buffer with receive_length and receive_ready
/// set; the driver clears receive_ready once it has copied the frame out.
struct CopyOnlyRegisters {
  std::span<std::byte> send_buffer;
  std::uint32_t send_length = 0;
  bool send_doorbell = false;
  std::span<std::byte> receive_buffer;
  std::uint32_t receive_length = 0;
  bool receive_ready = false;
};

struct CopyOnlyConfig {
  std::size_t wire_fifo_frames = 256;
  ModelTiming timing;
};

/// The adapter model. It never masters DMA: its counters count the bytes through its on-chip
/// buffers. Those are pages of the machine's RAM that the adapter holds for its life, where a real
/// chip has them behind a BAR: the simulated bus reaches only RAM, and a copy engine working for
/// the driver must reach them (devices/engine_copier.h).
class CopyOnlyAdapter final : public DeviceModel {
 public:
  /// Throws what check_timing() does, and ConfigError naming the device when the machine has no
  /// RAM left for the buffers.
  CopyOnlyAdapter(dma::Device& dev, const CopyOnlyConfig& config);
  ~CopyOnlyAdapter() override;

  [[nodiscard]] std::string_view kind() const override { return "copy-only"; }
  /// Sends the frame in the send buffer, if rung, and fills an empty receive buffer from the wire.
  std::size_t service() override;

  [[nodiscard]] CopyOnlyRegisters& registers() { return regs_; }
  [[nodiscard]] Wire& wire() { return wire_; }

 private:
  machine::Page* buffers_;  ///< the send buffer, then the receive buffer
  CopyOnlyRegisters regs_;
  Wire wire_;
};

}  // namespace dmakit::devices
