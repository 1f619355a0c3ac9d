// SPDX-License-Identifier: Apache-2.0
// Half-open address intervals and the overlap test the engine refuses copies with (engine layer,
// private): a copy whose source and destination share bytes would depend on the order the engine
// moves them in, so it is refused rather than done wrong.
#pragma once

#include <absl/container/inlined_vector.h>

#include <algorithm>
#include <cstdint>
#include <span>

namespace dmakit::engine::detail {

struct Interval {
  std::uint64_t start;
  std::uint64_t end;  ///< one past the last byte
};

/// Intervals with room for the common case (one each side of a copy) without a heap allocation.
using Intervals = absl::InlinedVector<Interval, 2>;

/// Whether any interval of `a` shares a byte with any interval of `b`; O((n + m) log(n + m)).
/// Sorts both in place.
inline bool any_overlap(std::span<Interval> a, std::span<Interval> b) {
  if (a.size() == 1 && b.size() == 1) return a[0].start < b[0].end && b[0].start < a[0].end;
  auto by_start = [](const Interval& x, const Interval& y) { return x.start < y.start; };
  std::ranges::sort(a, by_start);
  std::ranges::sort(b, by_start);
  // Walk both in address order: the interval that ends first cannot meet anything later.
  for (std::size_t i = 0, j = 0; i < a.size() && j < b.size();) {
    if (a[i].start < b[j].end && b[j].start < a[i].end) return true;
    if (a[i].end <= b[j].end)
      ++i;
    else
      ++j;
  }
  return false;
}

}  // namespace dmakit::engine::detail
