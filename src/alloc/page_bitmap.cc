// SPDX-License-Identifier: Apache-2.0
// Word-at-a-time bitmap searches (alloc layer).
#include "dmakit/alloc/page_bitmap.h"

#include <bit>

#include "dmakit/core/assert.h"

namespace dmakit::alloc {
namespace {

// Bits [lo, hi) of a word set, 0 <= lo <= hi <= 64.
std::uint64_t bits_between(unsigned lo, unsigned hi) {
  const std::uint64_t upto_hi = hi == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << hi) - 1;
  return upto_hi & ~((std::uint64_t{1} << lo) - 1);
}

}  // namespace

void PageBitmap::assign(std::size_t begin, std::size_t end, bool value) {
  DMAKIT_ASSERT(begin <= end && end <= bits_, "range [{}, {}) outside {} bits", begin, end, bits_);
  while (begin < end) {
    const std::size_t w = begin / 64;
    const auto lo = static_cast<unsigned>(begin % 64);
    const auto hi = static_cast<unsigned>(std::min<std::size_t>(64, lo + (end - begin)));
    const std::uint64_t m = bits_between(lo, hi);
    words_[w] = value ? words_[w] | m : words_[w] & ~m;
    begin += hi - lo;
  }
}

std::size_t PageBitmap::next_one(std::size_t from, std::size_t end, bool invert) const {
  while (from < end) {
    const std::size_t w = from / 64;
    const std::uint64_t bits = word(w, invert) & ~((std::uint64_t{1} << (from % 64)) - 1);
    if (bits != 0) return std::min(end, w * 64 + static_cast<std::size_t>(std::countr_zero(bits)));
    from = (w + 1) * 64;
  }
  return end;
}

std::size_t PageBitmap::prev_one(std::size_t begin, std::size_t before, bool invert) const {
  while (before > begin) {
    const std::size_t last = before - 1;
    const std::size_t w = last / 64;
    const std::uint64_t bits =
        word(w, invert) & bits_between(0, static_cast<unsigned>(last % 64) + 1);
    if (bits != 0) {
      const std::size_t i = w * 64 + 63 - static_cast<std::size_t>(std::countl_zero(bits));
      return i >= begin ? i : npos;
    }
    before = w * 64;
  }
  return npos;
}

std::size_t PageBitmap::next_set(std::size_t from, std::size_t end) const {
  return next_one(from, end, false);
}
std::size_t PageBitmap::next_clear(std::size_t from, std::size_t end) const {
  return next_one(from, end, true);
}
std::size_t PageBitmap::prev_set(std::size_t begin, std::size_t before) const {
  return prev_one(begin, before, false);
}
std::size_t PageBitmap::prev_clear(std::size_t begin, std::size_t before) const {
  return prev_one(begin, before, true);
}

std::size_t PageBitmap::find_clear_run(std::size_t begin, std::size_t end, std::size_t n) const {
  std::size_t i = begin;
  while (true) {
    i = next_clear(i, end);
    if (i >= end || end - i < n) return npos;
    const std::size_t blocker = next_set(i, i + n);
    if (blocker == i + n) return i;
    i = blocker;
  }
}

std::size_t PageBitmap::find_clear_run_down(std::size_t begin, std::size_t end,
                                            std::size_t n) const {
  std::size_t limit = end;  // the run must end at or before this
  while (true) {
    const std::size_t last_clear = prev_clear(begin, limit);
    if (last_clear == npos || last_clear + 1 - begin < n) return npos;
    const std::size_t start = last_clear + 1 - n;
    const std::size_t blocker = prev_set(start, last_clear + 1);
    if (blocker == npos) return start;
    limit = blocker;
  }
}

std::size_t PageBitmap::count() const {
  std::size_t total = 0;
  for (const std::uint64_t w : words_) total += static_cast<std::size_t>(std::popcount(w));
  return total;
}

PageBitmap::ClearRuns PageBitmap::clear_runs() const {
  ClearRuns result;
  std::size_t i = 0;
  while ((i = next_clear(i, bits_)) < bits_) {
    const std::size_t end = next_set(i, bits_);
    ++result.runs;
    result.largest = std::max(result.largest, end - i);
    i = end;
  }
  return result;
}

}  // namespace dmakit::alloc
