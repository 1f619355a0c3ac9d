// SPDX-License-Identifier: Apache-2.0
// The driver-facing streaming DMA API (dma layer; seeds 001, 004): map, unmap, sync,
// scatter/gather, reverse lookup. A device without ops maps inline through dma/direct.h; one with
// ops goes through them; either way an attached MappingObserver sees every call.
#pragma once

#include <cstdint>

#include "dmakit/core/request_size.h"
#include "dmakit/dma/device.h"
#include "dmakit/dma/direct.h"
#include "dmakit/dma/dma_ops.h"
#include "dmakit/dma/mapping_observer.h"
#include "dmakit/dma/scatterlist.h"

namespace dmakit::dma {

namespace detail {
[[gnu::noinline, gnu::cold]] void notify_map_result(const Device& dev, MappingKind kind,
                                                    PhysAddr phys, const Result<DmaAddr>& dma,
                                                    std::uint64_t size, Direction dir,
                                                    const void* cpu);
/// Tells the device's observer, if any, how a map call ended. Everything but the null check is out
/// of line, so the inline map path stays small enough to inline (seed 004).
inline void notify_map(const Device& dev, MappingKind kind, PhysAddr phys,
                       const Result<DmaAddr>& dma, std::uint64_t size, Direction dir,
                       const void* cpu = nullptr) {
  if (dev.observer() != nullptr) [[unlikely]]
    notify_map_result(dev, kind, phys, dma, size, dir, cpu);
}
/// The refusal of a map call whose offset or size is above kMaxRequestBytes, observers told:
/// `page + offset` would wrap to memory before the page (seed 004: the buffer, and nothing else).
[[nodiscard, gnu::noinline, gnu::cold]] std::unexpected<Error> oversized_mapping(
    const Device& dev, MappingKind kind, std::uint64_t offset, std::uint64_t size, Direction dir);
/// map_page through the device's ops, observers told: out of line, off the inline direct path.
[[nodiscard]] Result<DmaAddr> ops_map_page(Device& dev, machine::Page* page, std::uint64_t offset,
                                           std::uint64_t size, Direction dir);
}  // namespace detail

/// Maps [offset, offset + size) of `page` for the device; a device that cannot reach the buffer
/// (or is forced to) gets a bounce buffer holding a copy of it. Errors: InvalidArgument (zero
/// size, a direction that is not a mapping direction, more than max_mapping_size() to bounce),
/// BadAddress (memory outside RAM), AboveMask (the device cannot reach the buffer and there is no
/// bounce pool), NoBounceSlot (the bounce pool is full). Any error is Linux's DMA_MAPPING_ERROR.
/// An offset or size above kMaxRequestBytes is InvalidArgument, before any address arithmetic.
[[nodiscard]] inline Result<DmaAddr> map_page(Device& dev, machine::Page* page,
                                              std::uint64_t offset, std::uint64_t size,
                                              Direction dir) {
  if ((offset | size) > kMaxRequestBytes) [[unlikely]]
    return detail::oversized_mapping(dev, MappingKind::Page, offset, size, dir);
  if (dev.ops() != nullptr) [[unlikely]]
    return detail::ops_map_page(dev, page, offset, size, dir);
  const PhysAddr phys = dev.memory().page_to_phys(page) + offset;
  Result<DmaAddr> dma = detail::direct_map_phys(dev, phys, size, dir);
  detail::notify_map(dev, MappingKind::Page, phys, dma, size, dir);
  return dma;
}

/// Maps [cpu, cpu + size) of the machine's direct map. BadAddress for any other pointer (vmalloc
/// memory is not one DMA buffer, seed 004); otherwise as map_page.
[[nodiscard]] Result<DmaAddr> map_single(Device& dev, const void* cpu, std::uint64_t size,
                                         Direction dir);

namespace detail {
[[nodiscard]] Status unmap_dispatch(Device& dev, DmaAddr addr, std::uint64_t size, Direction dir,
                                    MappingKind kind);
}  // namespace detail

/// Ends a mapping from map_page/map_single, with its size and direction. Errors: InvalidArgument
/// for bad arguments or memory the device's path never mapped (as far as it can tell).
[[nodiscard]] inline Status unmap_page(Device& dev, DmaAddr addr, std::uint64_t size,
                                       Direction dir) {
  if (dev.ops() == nullptr && dev.observer() == nullptr) [[likely]]
    return detail::direct_unmap(dev, addr, size, dir);
  return detail::unmap_dispatch(dev, addr, size, dir, MappingKind::Page);
}
[[nodiscard]] inline Status unmap_single(Device& dev, DmaAddr addr, std::uint64_t size,
                                         Direction dir) {
  if (dev.ops() == nullptr && dev.observer() == nullptr) [[likely]]
    return detail::direct_unmap(dev, addr, size, dir);
  return detail::unmap_dispatch(dev, addr, size, dir, MappingKind::Single);
}

/// Hands the buffer to the CPU (after the device wrote it) or back to the device (before it reads).
[[nodiscard]] Status sync_single_for_cpu(Device& dev, DmaAddr addr, std::uint64_t size,
                                         Direction dir);
[[nodiscard]] Status sync_single_for_device(Device& dev, DmaAddr addr, std::uint64_t size,
                                            Direction dir);

/// Maps every entry of `table` and returns the number of DMA segments (also table.nents()), which
/// may be fewer than the entries where adjacent ones merge. On error nothing stays mapped.
[[nodiscard]] Result<std::size_t> map_sg(Device& dev, SgTable& table, Direction dir);
/// Unmaps a table mapped by map_sg, with all its original entries.
[[nodiscard]] Status unmap_sg(Device& dev, SgTable& table, Direction dir);
[[nodiscard]] Status sync_sg_for_cpu(Device& dev, SgTable& table, Direction dir);
[[nodiscard]] Status sync_sg_for_device(Device& dev, SgTable& table, Direction dir);

/// The largest mapping the device's ops can make at once.
[[nodiscard]] std::uint64_t max_mapping_size(const Device& dev);

/// Whether `addr` is the device's mapping-error marker (Linux's dma_mapping_error()). Asking counts
/// as the check the misuse checker wants after every map_page/map_single before the mapping is
/// used.
[[nodiscard]] bool mapping_error(const Device& dev, DmaAddr addr);

/// The CPU address behind a bus address of the device (seed 004's reverse lookup), in O(1): from
/// the device's MappingTracker when it has one (live mappings only), else the ops' own inverse,
/// else for direct mapping the bus offset arithmetic (any RAM address answers: a stateless path
/// cannot know what is mapped). Null when nothing answers.
[[nodiscard]] std::byte* dma_to_virt(const Device& dev, DmaAddr addr);

}  // namespace dmakit::dma
