// SPDX-License-Identifier: Apache-2.0
// DmaOps: per-device DMA mapping operations (dma layer; seed 004's per-device override, Linux's
// struct dma_map_ops). Direct mapping, bounce buffers and IOMMUs are implementations of it; callers
// go through dma/mapping.h and never see which.
#pragma once

#include <cstdint>
#include <span>

#include "dmakit/core/addr.h"
#include "dmakit/core/direction.h"
#include "dmakit/core/result.h"
#include "dmakit/dma/scatterlist.h"
#include "dmakit/machine/gfp.h"
#include "dmakit/machine/page.h"

namespace dmakit::dma {

class Device;

/// The bus address Linux's DMA_MAPPING_ERROR stands for; never a valid mapping.
inline constexpr DmaAddr kDmaMappingError{~std::uint64_t{0}};

/// Contract, for every implementation:
/// - map_* validate their arguments (non-zero size, a mapping direction, memory of this machine)
/// and
///   return an error rather than a partial mapping; map_sg maps all entries or none, and returns
///   the number of DMA segments it filled in (entries' dma_address/dma_length; merged ones get
///   length 0).
/// - unmap_*/sync_* take what map_* gave, with the same size and direction; anything else is an
///   error where the implementation can tell, never a corruption.
/// - alloc returns zeroed memory whose bus address (in *handle) fits the device's coherent limit.
/// - dma_to_virt inverts a live streaming mapping in O(1): the CPU address behind `dma`, or null
/// when
///   no live mapping of this device covers it.
/// Observers are notified by dma/mapping.h, not by the ops. Implementations must be thread-safe.
class DmaOps {
 public:
  virtual ~DmaOps() = default;

  [[nodiscard]] virtual Result<DmaAddr> map_page(Device& dev, machine::Page* page,
                                                 std::uint64_t offset, std::uint64_t size,
                                                 Direction dir) = 0;
  [[nodiscard]] virtual Status unmap_page(Device& dev, DmaAddr addr, std::uint64_t size,
                                          Direction dir) = 0;
  [[nodiscard]] virtual Result<std::size_t> map_sg(Device& dev, std::span<ScatterEntry> sg,
                                                   Direction dir) = 0;
  [[nodiscard]] virtual Status unmap_sg(Device& dev, std::span<ScatterEntry> sg, Direction dir) = 0;
  [[nodiscard]] virtual Status sync_single_for_cpu(Device& dev, DmaAddr addr, std::uint64_t size,
                                                   Direction dir) = 0;
  [[nodiscard]] virtual Status sync_single_for_device(Device& dev, DmaAddr addr, std::uint64_t size,
                                                      Direction dir) = 0;
  [[nodiscard]] virtual Status sync_sg_for_cpu(Device& dev, std::span<ScatterEntry> sg,
                                               Direction dir) = 0;
  [[nodiscard]] virtual Status sync_sg_for_device(Device& dev, std::span<ScatterEntry> sg,
                                                  Direction dir) = 0;
  [[nodiscard]] virtual Result<std::byte*> alloc(Device& dev, std::uint64_t size, DmaAddr* handle,
                                                 machine::Gfp gfp) = 0;
  [[nodiscard]] virtual Status free(Device& dev, std::uint64_t size, void* cpu, DmaAddr handle) = 0;

  /// The largest single mapping (a bounce pool's slot limit, say); no limit by default.
  [[nodiscard]] virtual std::uint64_t max_mapping_size(const Device& /*dev*/) const {
    return ~std::uint64_t{0};
  }
  /// Whether `addr` is this implementation's error marker (some hand out an overflow buffer).
  [[nodiscard]] virtual bool mapping_error(const Device& /*dev*/, DmaAddr addr) const {
    return addr == kDmaMappingError;
  }
  /// Whether the device can work under `mask` with these ops (dma_supported()).
  [[nodiscard]] virtual bool dma_supported(const Device& dev, std::uint64_t mask) const = 0;
  [[nodiscard]] virtual std::byte* dma_to_virt(const Device& dev, DmaAddr addr) const = 0;
};

}  // namespace dmakit::dma
