// SPDX-License-Identifier: Apache-2.0
// CPU accesses to DMA buffers (dma layer).
#include "dmakit/dma/cpu_access.h"

#include <cstring>

#include "dmakit/dma/platform.h"

namespace dmakit::dma {

void cpu_access(const Platform& platform, const void* cpu, std::uint64_t size, bool write) {
  if (MappingObserver* o = platform.observer()) o->on_cpu_access(cpu, size, write);
}

void cpu_read(const Platform& platform, const void* src, std::span<std::byte> out) {
  cpu_access(platform, src, out.size(), /*write=*/false);
  std::memcpy(out.data(), src, out.size());
}

void cpu_write(const Platform& platform, void* dst, std::span<const std::byte> data) {
  cpu_access(platform, dst, data.size(), /*write=*/true);
  std::memcpy(dst, data.data(), data.size());
}

}  // namespace dmakit::dma
