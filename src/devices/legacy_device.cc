// SPDX-License-Identifier: Apache-2.0
// The narrow legacy device model (devices layer).
#include "dmakit/devices/legacy_device.h"

#include <fmt/format.h>

#include <vector>

#include "dmakit/core/config_error.h"
#include "dmakit/core/mask.h"
#include "dmakit/devices/checksum.h"

namespace dmakit::devices {

void check_config(const LegacyConfig& config) {
  check_timing(config.timing);
  if (config.address_bits < 12 || config.address_bits > 64)
    throw ConfigError("address_bits", fmt::format("{}: must be 12 to 64", config.address_bits));
  if (config.max_transfer == 0) throw ConfigError("max_transfer", "must be at least 1");
}

LegacyDevice::LegacyDevice(dma::Device& dev, const LegacyConfig& config)
    : DeviceModel(dev, config.timing) {
  check_config(config);
  regs_.address_bits = config.address_bits;
  regs_.max_transfer = config.max_transfer;
}

std::size_t LegacyDevice::service() {
  if (!regs_.start) return 0;
  count_descriptor();
  // Address lines above address_bits do not exist: a driver that programs a higher address
  // reaches the wrong memory, as an ISA card would (seed 003).
  regs_.status = run(DmaAddr(regs_.address & dma_bit_mask(regs_.address_bits)));
  regs_.start = false;
  return 1;
}

LegacyStatus LegacyDevice::run(DmaAddr address) {
  if (regs_.count == 0 || regs_.count > regs_.max_transfer) return LegacyStatus::BadCount;
  std::vector<std::byte> bytes(regs_.count);
  if (regs_.mode == LegacyMode::MemoryToDevice) {
    if (!read(address, bytes)) return LegacyStatus::Fault;
    medium_.insert(medium_.end(), bytes.begin(), bytes.end());
  } else {
    if (medium_.size() < bytes.size()) return LegacyStatus::Underrun;
    std::copy_n(medium_.begin(), bytes.size(), bytes.begin());
    if (!write_buffer(address, bytes)) return LegacyStatus::Fault;
    medium_.erase(medium_.begin(), medium_.begin() + static_cast<std::ptrdiff_t>(bytes.size()));
  }
  regs_.checksum = crc32(bytes);
  return LegacyStatus::Done;
}

}  // namespace dmakit::devices
