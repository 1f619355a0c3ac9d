// SPDX-License-Identifier: Apache-2.0
// Mask-bounded mempools (alloc layer; seed 003, reference section 9.9 for today's semantics).
#include "dmakit/alloc/mask_mempool.h"

#include <chrono>

#include "dmakit/core/assert.h"

namespace dmakit::alloc {
namespace {

// How long a waiting allocation sleeps before it asks the allocator again, as Linux's mempool_alloc
// retries after 5 s even without a free to this pool (memory may have come back elsewhere).
constexpr std::chrono::milliseconds kRetry{5000};

}  // namespace

MaskMempool::MaskMempool(MaskAllocator& allocator, unsigned min_nr, std::uint64_t size,
                         std::uint64_t mask)
    : allocator_(allocator), min_nr_(min_nr), size_(size), mask_(mask) {}

Result<std::unique_ptr<MaskMempool>> MaskMempool::create(MaskAllocator& allocator, unsigned min_nr,
                                                         std::uint64_t size, std::uint64_t mask) {
  std::unique_ptr<MaskMempool> pool(new MaskMempool(allocator, std::max(1u, min_nr), size, mask));
  for (unsigned i = 0; i < pool->min_nr_; ++i) {
    Result<std::byte*> element = allocator.get_pages_mask(machine::kGfpKernel, size, mask);
    if (!element) return std::unexpected(element.error());  // the destructor frees what was taken
    pool->reserve_.push_back(*element);
  }
  return pool;
}

MaskMempool::~MaskMempool() {
  for (std::byte* element : reserve_) {
    const Status freed = allocator_.free_pages_mask(element, size_);
    DMAKIT_CHECK(freed.has_value(), "mempool reserve element lost: {}", freed.error().message);
  }
}

Result<std::byte*> MaskMempool::alloc(machine::Gfp gfp) {
  // The allocator first, without waiting and without a warning: the reserve is the fallback.
  const machine::Gfp quiet = gfp.without(machine::Gfp::kWait) | machine::kGfpNoWarn;
  while (true) {
    if (Result<std::byte*> element = allocator_.get_pages_mask(quiet, size_, mask_)) return element;
    std::unique_lock guard(lock_);
    if (!reserve_.empty()) {
      std::byte* element = reserve_.back();
      reserve_.pop_back();
      return element;
    }
    if (!gfp.has(machine::Gfp::kWait))
      return fail(Errc::NoMemory,
                  "mempool of {}-byte elements below {:#x}: allocator and reserve "
                  "empty",
                  size_, mask_);
    returned_.wait_for(guard, kRetry, [this] { return !reserve_.empty(); });
  }
}

Status MaskMempool::free(std::byte* element) {
  {
    const std::scoped_lock guard(lock_);
    if (reserve_.size() < min_nr_) {
      reserve_.push_back(element);
      returned_.notify_one();
      return {};
    }
  }
  return allocator_.free_pages_mask(element, size_);
}

std::size_t MaskMempool::reserved() const {
  const std::scoped_lock guard(lock_);
  return reserve_.size();
}

}  // namespace dmakit::alloc
