// SPDX-License-Identifier: Apache-2.0
// BlockBitmap: page-granular blocks over a range, tracked with two bitmaps (alloc layer): which
// pages are in use, and where each block starts. The mask pool and device-declared memory both use
// it.
#pragma once

#include <cstddef>

#include "dmakit/alloc/page_bitmap.h"

namespace dmakit::alloc {

/// A block runs from its start bit to the next start bit or the next unused page, so a free can be
/// checked against the block it names (its start and its length) with no per-block records. Not
/// thread-safe: the owner locks.
class BlockBitmap {
 public:
  explicit BlockBitmap(std::size_t pages) : used_(pages), starts_(pages) {}

  [[nodiscard]] std::size_t size() const { return used_.size(); }
  /// The in-use bits, for the owner's searches and statistics.
  [[nodiscard]] const PageBitmap& used() const { return used_; }

  /// Marks [index, index + pages) in use as one block. Precondition: those pages are free.
  void take(std::size_t index, std::size_t pages) {
    used_.set(index, index + pages);
    starts_.set(index, index + 1);
  }
  /// The length in pages of the block that starts at `index`, or 0 when no block starts there.
  [[nodiscard]] std::size_t block_at(std::size_t index) const;
  /// Frees the block at `index` of `pages` pages. Precondition: block_at(index) == pages.
  void release(std::size_t index, std::size_t pages) {
    used_.clear(index, index + pages);
    starts_.clear(index, index + 1);
  }

  /// Checks that every start bit is in use and every run of used pages begins with one. Aborts on
  /// violation.
  void validate() const;

 private:
  PageBitmap used_;
  PageBitmap starts_;
};

}  // namespace dmakit::alloc
