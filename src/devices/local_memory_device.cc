// SPDX-License-Identifier: Apache-2.0
// The controller with on-board memory (devices layer).
#include "dmakit/devices/local_memory_device.h"

#include <fmt/format.h>

#include <cstring>
#include <vector>

#include "dmakit/core/config_error.h"
#include "dmakit/devices/checksum.h"
#include "dmakit/dma/declared_memory.h"

namespace dmakit::devices {

void check_config(const LocalMemoryConfig& config) {
  check_timing(config.timing);
  if (config.size == 0 || config.size % kPageSize != 0)
    throw ConfigError("memory.size",
                      fmt::format("{}: must be a whole number of pages", config.size));
}

LocalMemoryController::LocalMemoryController(dma::Device& dev, const LocalMemoryConfig& config)
    : DeviceModel(dev, config.timing) {
  check_config(config);
  regs_.memory_bus_addr = config.bus_addr;
  regs_.memory_device_addr = config.device_addr;
  regs_.memory_size = config.size;
}

std::byte* LocalMemoryController::local(DmaAddr at, std::uint64_t size) const {
  const dma::DeclaredMemory* mem = device().declared_memory();
  return mem == nullptr ? nullptr : mem->local_bytes(at, size);
}

std::size_t LocalMemoryController::service() {
  std::size_t done = 0;
  for (; regs_.entries != 0 && regs_.head != regs_.tail; ++regs_.head, ++done) {
    // The ring is the controller's own memory: reached locally, never over the bus or the IOMMU.
    std::byte* slot = local(regs_.ring + (regs_.head % regs_.entries) * sizeof(CopyDescriptor),
                            sizeof(CopyDescriptor));
    if (slot == nullptr) break;
    CopyDescriptor d;
    std::memcpy(&d, slot, sizeof(d));
    count_local(sizeof(d), 0);
    count_descriptor();
    std::vector<std::byte> data(d.length);
    d.status = kCopyDone;
    if (!read(DmaAddr(d.src), data) || !write_buffer(DmaAddr(d.dst), data))
      d.status |= kCopyDmaError;
    d.checksum = crc32(data);
    std::memcpy(slot, &d, sizeof(d));
    count_local(0, sizeof(d));
  }
  return done;
}

}  // namespace dmakit::devices
