// SPDX-License-Identifier: Apache-2.0
// CPU accesses to DMA buffers made through dmakit (dma layer): driver code that reads a received
// buffer or fills one to send through these calls lets the platform's observer (the misuse checker)
// see the access, and report one to a buffer the device owns (between a map or a sync for the
// device and the matching unmap or sync for the CPU).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace dmakit::dma {

class Platform;

/// Declares that the CPU is about to read (`write` false) or write [cpu, cpu + size), for code
/// that touches the bytes itself. Costs one null check when the platform has no observer.
void cpu_access(const Platform& platform, const void* cpu, std::uint64_t size, bool write);

/// Copies `out.size()` bytes from `src` after declaring the read.
void cpu_read(const Platform& platform, const void* src, std::span<std::byte> out);
/// Copies `data` to `dst` after declaring the write.
void cpu_write(const Platform& platform, void* dst, std::span<const std::byte> data);

}  // namespace dmakit::dma
