// SPDX-License-Identifier: Apache-2.0
// MaskMempool: a pool of preallocated elements below a mask, for allocations that must succeed
// (alloc layer; seed 003's mempool_create_pool_pmask, with Linux's mempool semantics).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "dmakit/alloc/mask_allocator.h"

namespace dmakit::alloc {

/// Elements of `size` bytes that lie below `mask`, with `min_nr` of them kept in reserve. alloc()
/// tries the mask allocator first and falls back to the reserve; free() refills the reserve before
/// anything goes back to the allocator. An allocation that may wait (Gfp::kWait) never fails: it
/// blocks until an element comes back. This is what the block layer relies on (seed 003).
///
/// Thread-safe. The MaskAllocator must outlive the pool; destroying the pool gives its reserve
/// back. Every element handed out must be freed to this pool before it is destroyed.
class MaskMempool {
 public:
  /// Reserves `min_nr` (at least one) elements of `size` bytes below `mask`. Errors: as
  /// MaskAllocator::get_pages_mask, with nothing kept when any reservation fails.
  [[nodiscard]] static Result<std::unique_ptr<MaskMempool>> create(MaskAllocator& allocator,
                                                                   unsigned min_nr,
                                                                   std::uint64_t size,
                                                                   std::uint64_t mask);
  ~MaskMempool();

  MaskMempool(const MaskMempool&) = delete;
  MaskMempool& operator=(const MaskMempool&) = delete;

  /// An element. Without kWait: NoMemory when both the allocator and the reserve are empty. With
  /// kWait: waits for free() (retrying the allocator every `retry` interval) and never fails.
  [[nodiscard]] Result<std::byte*> alloc(machine::Gfp gfp);

  /// Returns an element from alloc(). Errors from the allocator (a pointer it never handed out) are
  /// passed on when the element does not go to the reserve.
  [[nodiscard]] Status free(std::byte* element);

  [[nodiscard]] std::size_t reserved() const;
  [[nodiscard]] unsigned min_nr() const { return min_nr_; }
  [[nodiscard]] std::uint64_t element_size() const { return size_; }

 private:
  MaskMempool(MaskAllocator& allocator, unsigned min_nr, std::uint64_t size, std::uint64_t mask);

  MaskAllocator& allocator_;
  const unsigned min_nr_;
  const std::uint64_t size_;
  const std::uint64_t mask_;

  mutable std::mutex lock_;
  std::condition_variable returned_;
  std::vector<std::byte*> reserve_;  ///< guarded by lock_
};

}  // namespace dmakit::alloc
