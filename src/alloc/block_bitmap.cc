// SPDX-License-Identifier: Apache-2.0
// Blocks tracked by in-use and start bits (alloc layer).
#include "dmakit/alloc/block_bitmap.h"

#include <algorithm>

#include "dmakit/core/assert.h"

namespace dmakit::alloc {

std::size_t BlockBitmap::block_at(std::size_t index) const {
  if (index >= size() || !starts_.test(index)) return 0;
  const std::size_t end =
      std::min(starts_.next_set(index + 1, size()), used_.next_clear(index + 1, size()));
  return end - index;
}

void BlockBitmap::validate() const {
  const std::size_t n = size();
  for (std::size_t i = starts_.next_set(0, n); i < n; i = starts_.next_set(i + 1, n))
    DMAKIT_CHECK(used_.test(i), "page {} starts a block but is not in use", i);
  for (std::size_t i = used_.next_set(0, n); i < n; i = used_.next_set(used_.next_clear(i, n), n))
    DMAKIT_CHECK(starts_.test(i), "used page {} belongs to no block", i);
}

}  // namespace dmakit::alloc
