// SPDX-License-Identifier: Apache-2.0
// StorageController: a block controller that does its own scatter/gather (devices layer; seeds
// 000 and 002): commands with sg descriptor lists, limits on segment size, segment boundary and
// segment count, and a simulated disk image behind them. Its driver is storage_driver.h.
#pragma once

#include <cstdint>
#include <vector>

#include "dmakit/devices/device_model.h"
#include "dmakit/machine/host_memory.h"

namespace dmakit::devices {

inline constexpr std::uint64_t kSectorSize = 512;

/// What the controller accepts in one command. The driver reads these from the registers and must
/// split requests to fit them; the controller rejects commands that do not (seed 002: hardware
/// that does its own scatter/gather has limits of its own).
struct StorageLimits {
  std::uint32_t max_segments = 32;
  std::uint64_t max_segment_size = 64 * 1024;         ///< a multiple of kSectorSize
  std::uint64_t segment_boundary_mask = 0xffffffffu;  ///< 2^n - 1, n >= 12: no segment crosses it
  std::uint32_t max_sectors = 1024;                   ///< per command
};

/// Command opcodes and completion states, as they lie in a command block.
enum class StorageOp : std::uint8_t { Read = 1, Write = 2 };
enum class CommandStatus : std::uint8_t {
  Pending = 0,
  Ok = 1,
  BadCommand = 2,        ///< outside the disk, or breaking the limits
  DmaFault = 3,          ///< a data or command access was refused
  ChecksumMismatch = 4,  ///< written data did not match the command's CRC-32
};

/// One scatter/gather descriptor: 16 bytes.
struct SgDescriptor {
  std::uint64_t addr;
  std::uint32_t length;
  std::uint32_t reserved;
};

/// The head of a command block, followed by `segments` SgDescriptors. The checksum is the CRC-32 of
/// the data: set by the driver for a write, by the controller for a read.
struct CommandHeader {
  StorageOp opcode;
  CommandStatus status;
  std::uint16_t segments;
  std::uint32_t checksum;
  std::uint64_t lba;  ///< first sector
  std::uint32_t sectors;
  std::uint32_t reserved;
};

/// Bytes of a command block with room for `segments` descriptors.
[[nodiscard]] constexpr std::uint64_t command_block_bytes(std::uint32_t segments) {
  return sizeof(CommandHeader) + std::uint64_t{segments} * sizeof(SgDescriptor);
}

/// The controller's register block. The submission queue is a ring of 8-byte bus addresses of
/// command blocks in [head, tail): the driver advances tail (the doorbell); the controller
/// completes commands in order and advances head.
struct StorageRegisters {
  StorageLimits limits;        ///< read-only: what the controller accepts
  unsigned address_bits = 64;  ///< read-only: the address lines it drives
  std::uint64_t capacity_sectors = 0;
  DmaAddr queue;
  std::uint32_t queue_entries = 0;
  std::uint32_t tail = 0;
  std::uint32_t head = 0;
};

struct StorageConfig {
  StorageLimits limits;
  unsigned address_bits = 64;
  std::uint64_t capacity = 8 * 1024 * 1024;  ///< bytes of disk, a multiple of kSectorSize
  ModelTiming timing;
};

/// Throws ConfigError naming the key ("max_segments", "timing.burst_bytes") for limits, a capacity,
/// address lines or a timing the controller cannot have.
void check_config(const StorageConfig& config);

struct StorageStats {
  std::uint64_t commands = 0;
  std::uint64_t sectors_read = 0;  ///< from disk into memory
  std::uint64_t sectors_written = 0;
  std::uint64_t bad_commands = 0;  ///< limit or range violations seen
  std::uint64_t checksum_mismatches = 0;
  std::uint32_t most_segments = 0;  ///< the largest segment count any command had
};

/// The controller model, with its disk image in host memory: sparse, so a disk costs the host
/// only the blocks written to it.
class StorageController final : public DeviceModel {
 public:
  /// Throws what check_config() does, and ConfigError("capacity") when the host cannot reserve
  /// address space for the disk image.
  StorageController(dma::Device& dev, const StorageConfig& config);

  [[nodiscard]] std::string_view kind() const override { return "storage"; }
  /// Executes the queued commands in order; returns how many completed.
  std::size_t service() override;

  [[nodiscard]] StorageRegisters& registers() { return regs_; }
  [[nodiscard]] const StorageStats& stats() const { return stats_; }
  /// The disk image, as a test or a scenario would inspect or preload it.
  [[nodiscard]] std::span<std::byte> disk() { return disk_.bytes(); }

 private:
  void execute(DmaAddr command);
  [[nodiscard]] bool obeys_limits(const std::vector<SgDescriptor>& segs,
                                  const CommandHeader& h) const;

  StorageRegisters regs_;
  machine::host::ZeroedBuffer disk_;
  StorageStats stats_;
};

}  // namespace dmakit::devices
