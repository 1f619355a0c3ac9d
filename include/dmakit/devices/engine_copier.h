// SPDX-License-Identifier: Apache-2.0
// EngineCopier: a Copier that hands each copy to a DMA engine (devices layer; seed 002's "arrange
// for a copy operation to happen using the best method available", through the engine layer's
// AsyncTx). The engine is a device of its own, with its own masks and IOMMU domain: the buffers
// are mapped for it, and a copy it is refused reaches the driver as an error.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dmakit/devices/copier.h"
#include "dmakit/engine/async_tx.h"
#include "dmakit/engine/dma_engine.h"

namespace dmakit::devices {

/// What an EngineCopier has done. copies = offloaded + inline_copies, and bytes likewise.
struct EngineCopierStats {
  std::uint64_t copies = 0;  ///< copy() calls that moved their bytes
  std::uint64_t bytes = 0;
  std::uint64_t offloaded = 0;  ///< copies a channel of the engine ran
  std::uint64_t offloaded_bytes = 0;
  std::uint64_t inline_copies = 0;  ///< copies the calling CPU did: shorter than the engine's
                                    ///< threshold, or ones no channel could take
  std::uint64_t inline_bytes = 0;
  std::uint64_t fallbacks = 0;  ///< of those, copies meant for the engine whose buffers could not
                                ///< be mapped for it (beyond its mask with no bounce pool, ...)
  std::uint64_t failures = 0;   ///< copy() calls that returned an error
};

/// Copies through an engine, one operation at a time, each waited for. copy() is the AsyncTx's
/// copy_async: short copies and copies the engine cannot take are done inline by the calling CPU
/// (counted, as fallbacks when the engine could not reach the buffers); the rest are mapped for the
/// engine's device, run by a channel and unmapped. A copy whose completion fails (the engine's
/// IOMMU refused an access: Fault; the engine was shut down: Aborted) returns that error, and then
/// no byte of that copy was written.
///
/// Buffers are CPU pointers into the machine's direct map (others can only be copied inline). Not
/// thread-safe: it serves one driver context, as CpuCopier does; several copiers may share one
/// engine. The engine must outlive it.
class EngineCopier final : public Copier {
 public:
  explicit EngineCopier(engine::DmaEngine& engine);

  /// Returns once the copy has completed, however long the engine takes: until then it may still
  /// write `dst`, which the driver must not see as done.
  [[nodiscard]] Status copy(std::byte* dst, const std::byte* src, std::size_t size) override;

  [[nodiscard]] engine::DmaEngine& engine() const { return tx_.engine(); }
  [[nodiscard]] EngineCopierStats stats() const;

 private:
  engine::AsyncTx tx_;
  std::uint64_t fallbacks_before_;  ///< the AsyncTx's fallbacks before the first copy
  EngineCopierStats stats_;         ///< all but fallbacks
};

}  // namespace dmakit::devices
