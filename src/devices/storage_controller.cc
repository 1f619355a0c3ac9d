// SPDX-License-Identifier: Apache-2.0
// The storage controller model (devices layer): fetches command blocks by bus address, checks them
// against its limits, and moves sectors between its disk image and the scatter/gather segments.
#include "dmakit/devices/storage_controller.h"

#include <fmt/format.h>

#include "dmakit/core/config_error.h"
#include "dmakit/core/mask.h"
#include "dmakit/devices/checksum.h"

namespace dmakit::devices {

void check_config(const StorageConfig& config) {
  check_timing(config.timing);
  const StorageLimits& l = config.limits;
  if (l.max_segments == 0 || l.max_segments > 0xffff)
    throw ConfigError("max_segments", fmt::format("{}: must be 1 to 65535", l.max_segments));
  if (l.max_segment_size == 0 || l.max_segment_size % kSectorSize != 0)
    throw ConfigError("max_segment_size",
                      fmt::format("{}: must be a positive multiple of 512", l.max_segment_size));
  if (!is_contiguous_mask(l.segment_boundary_mask) || l.segment_boundary_mask < kPageSize - 1)
    throw ConfigError("segment_boundary",
                      fmt::format("{:#x}: must be 2^n - 1 with n >= 12", l.segment_boundary_mask));
  if (l.max_sectors == 0) throw ConfigError("max_sectors", "must be at least 1");
  if (config.capacity == 0 || config.capacity % kSectorSize != 0)
    throw ConfigError("capacity",
                      fmt::format("{}: must be a positive multiple of 512", config.capacity));
  if (config.address_bits < 12 || config.address_bits > 64)
    throw ConfigError("address_bits", fmt::format("{}: must be 12 to 64", config.address_bits));
}

StorageController::StorageController(dma::Device& dev, const StorageConfig& config)
    : DeviceModel(dev, config.timing) {
  check_config(config);
  regs_.limits = config.limits;
  regs_.address_bits = config.address_bits;
  regs_.capacity_sectors = config.capacity / kSectorSize;
  Result<machine::host::ZeroedBuffer> disk = machine::host::ZeroedBuffer::create(config.capacity);
  if (!disk) throw ConfigError("capacity", disk.error().message);
  disk_ = std::move(*disk);
}

bool StorageController::obeys_limits(const std::vector<SgDescriptor>& segs,
                                     const CommandHeader& h) const {
  const StorageLimits& l = regs_.limits;
  std::uint64_t total = 0;
  for (const SgDescriptor& s : segs) {
    if (s.length == 0 || s.length > l.max_segment_size) return false;
    const std::uint64_t last = s.addr + s.length - 1;
    if ((s.addr & ~l.segment_boundary_mask) != (last & ~l.segment_boundary_mask)) return false;
    total += s.length;
  }
  return h.sectors != 0 && h.sectors <= l.max_sectors && total == h.sectors * kSectorSize &&
         h.lba <= regs_.capacity_sectors && h.sectors <= regs_.capacity_sectors - h.lba;
}

std::size_t StorageController::service() {
  std::size_t done = 0;
  for (; regs_.queue_entries != 0 && regs_.head != regs_.tail; ++regs_.head, ++done) {
    const DmaAddr entry = regs_.queue + (regs_.head % regs_.queue_entries) * sizeof(std::uint64_t);
    const Result<std::uint64_t> command = read_object<std::uint64_t>(entry);
    // A command the controller cannot even find completes with its status left Pending, which the
    // driver reads as a DMA fault.
    if (command) execute(DmaAddr(*command));
  }
  return done;
}

void StorageController::execute(DmaAddr command) {
  Result<CommandHeader> header = read_object<CommandHeader>(command);
  if (!header) return;
  CommandHeader& h = *header;
  count_descriptor();
  ++stats_.commands;
  stats_.most_segments = std::max<std::uint32_t>(stats_.most_segments, h.segments);
  std::vector<SgDescriptor> segs(h.segments);
  h.status = CommandStatus::Ok;
  if (h.segments == 0 || h.segments > regs_.limits.max_segments ||
      (h.opcode != StorageOp::Read && h.opcode != StorageOp::Write)) {
    h.status = CommandStatus::BadCommand;
  } else if (!read(command + sizeof(CommandHeader), std::as_writable_bytes(std::span(segs)))) {
    h.status = CommandStatus::DmaFault;
  } else if (!obeys_limits(segs, h)) {
    h.status = CommandStatus::BadCommand;
  }
  if (h.status == CommandStatus::BadCommand) ++stats_.bad_commands;
  if (h.status == CommandStatus::Ok) {
    std::span<std::byte> on_disk =
        disk_.bytes().subspan(h.lba * kSectorSize, std::uint64_t{h.sectors} * kSectorSize);
    std::uint64_t at = 0;
    for (const SgDescriptor& s : segs) {
      count_descriptor();
      const std::span<std::byte> piece = on_disk.subspan(at, s.length);
      const Status moved = h.opcode == StorageOp::Write ? read(DmaAddr(s.addr), piece)
                                                        : write_buffer(DmaAddr(s.addr), piece);
      if (!moved) {
        h.status = CommandStatus::DmaFault;
        break;
      }
      at += s.length;
    }
    if (h.status == CommandStatus::Ok && h.opcode == StorageOp::Write) {
      stats_.sectors_written += h.sectors;
      if (crc32(on_disk) != h.checksum) {
        h.status = CommandStatus::ChecksumMismatch;
        ++stats_.checksum_mismatches;
      }
    } else if (h.status == CommandStatus::Ok) {
      stats_.sectors_read += h.sectors;
      h.checksum = crc32(on_disk);
    }
  }
  // A status that cannot be written back stays Pending, which the driver reads as a DMA fault.
  static_cast<void>(write_object(command, h));
}

}  // namespace dmakit::devices
