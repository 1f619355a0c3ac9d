// SPDX-License-Identifier: Apache-2.0
// Device-side memory accesses (dma layer).
#include "dmakit/dma/bus_access.h"

#include <cstring>

#include "dmakit/core/mask.h"
#include "dmakit/dma/device.h"

namespace dmakit::dma {
namespace {

Result<std::byte*> translate(const Device& dev, DmaAddr dma, std::uint64_t size, bool write) {
  if (size == 0) return fail(Errc::InvalidArgument, "{}: device access of 0 bytes", dev.name());
  const char* what = write ? "write" : "read";
  if (!fits_under_mask(dma.value(), size, dev.streaming_limit()))
    return fail(Errc::Fault,
                "{}: {} of bus [{:#x}, +{:#x}) beyond the address lines it drives ({:#x})",
                dev.name(), what, dma.value(), size, dev.streaming_limit());
  const PhysAddr phys = dev.dma_to_phys(dma);
  if (!dev.memory().is_ram(phys, size))
    return fail(Errc::Fault, "{}: {} of bus [{:#x}, +{:#x}) reaches no RAM (physical {:#x})",
                dev.name(), what, dma.value(), size, phys.value());
  return dev.memory().direct_map(phys);
}

}  // namespace

Status device_read(const Device& dev, DmaAddr dma, std::span<std::byte> out) {
  const Result<std::byte*> mem = translate(dev, dma, out.size(), /*write=*/false);
  if (!mem) return std::unexpected(mem.error());
  std::memcpy(out.data(), *mem, out.size());
  return {};
}

Status device_write(const Device& dev, DmaAddr dma, std::span<const std::byte> data) {
  const Result<std::byte*> mem = translate(dev, dma, data.size(), /*write=*/true);
  if (!mem) return std::unexpected(mem.error());
  std::memcpy(*mem, data.data(), data.size());
  return {};
}

}  // namespace dmakit::dma
