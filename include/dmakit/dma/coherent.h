// SPDX-License-Identifier: Apache-2.0
// Coherent DMA memory (dma layer; seed 001): memory the CPU and the device share for as long as it
// is allocated, addressed by the device under its coherent mask.
#pragma once

#include <cstdint>

#include "dmakit/dma/device.h"

namespace dmakit::dma {

/// `size` bytes of zeroed memory whose whole bus range fits the device's coherent mask and bus
/// limit, on the device's NUMA node when possible; *handle receives the bus address. Through the
/// device's ops if it has any; otherwise from the platform's mask allocator (normal allocator
/// first, then the pool), or the page allocator on a machine without a pool. Errors:
/// InvalidArgument (0 bytes), NoMemory/AboveMask as the allocators report.
[[nodiscard]] Result<std::byte*> alloc_coherent(Device& dev, std::uint64_t size, DmaAddr* handle,
                                                machine::Gfp gfp = machine::kGfpKernel);

/// Frees memory from alloc_coherent with its size and handle. InvalidArgument, with nothing freed,
/// when they do not match the allocation.
[[nodiscard]] Status free_coherent(Device& dev, std::uint64_t size, void* cpu, DmaAddr handle);

namespace detail {
/// The direct path's coherent allocator, shared by the no-ops path and DirectOps.
[[nodiscard]] Result<std::byte*> direct_alloc_coherent(Device& dev, std::uint64_t size,
                                                       DmaAddr* handle, machine::Gfp gfp);
[[nodiscard]] Status direct_free_coherent(Device& dev, std::uint64_t size, void* cpu,
                                          DmaAddr handle);
}  // namespace detail

}  // namespace dmakit::dma
