// SPDX-License-Identifier: Apache-2.0
// PageBitmap: one bit per page of a pool, with the run searches a bitmap allocator needs (alloc
// layer; seed 003: "a simple bitmap describing which pages are available").
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dmakit::alloc {

/// A fixed-size bitmap searched a 64-bit word at a time. Ranges are half-open [begin, end). Not
/// thread-safe: the owner locks.
class PageBitmap {
 public:
  static constexpr std::size_t npos = ~std::size_t{0};

  explicit PageBitmap(std::size_t bits) : bits_(bits), words_((bits + 63) / 64, 0) {}

  [[nodiscard]] std::size_t size() const { return bits_; }
  [[nodiscard]] bool test(std::size_t i) const { return (words_[i / 64] >> (i % 64)) & 1; }
  void set(std::size_t begin, std::size_t end) { assign(begin, end, true); }
  void clear(std::size_t begin, std::size_t end) { assign(begin, end, false); }

  /// The first set (clear) bit in [from, end), or `end` when there is none.
  [[nodiscard]] std::size_t next_set(std::size_t from, std::size_t end) const;
  [[nodiscard]] std::size_t next_clear(std::size_t from, std::size_t end) const;
  /// The last set (clear) bit in [begin, before), or npos when there is none.
  [[nodiscard]] std::size_t prev_set(std::size_t begin, std::size_t before) const;
  [[nodiscard]] std::size_t prev_clear(std::size_t begin, std::size_t before) const;

  /// The lowest i with [i, i + n) clear inside [begin, end), or npos.
  [[nodiscard]] std::size_t find_clear_run(std::size_t begin, std::size_t end, std::size_t n) const;
  /// The highest i with [i, i + n) clear inside [begin, end), or npos.
  [[nodiscard]] std::size_t find_clear_run_down(std::size_t begin, std::size_t end,
                                                std::size_t n) const;

  /// Set bits in the whole bitmap.
  [[nodiscard]] std::size_t count() const;

  struct ClearRuns {
    std::size_t runs = 0;     ///< maximal runs of clear bits (fragmentation)
    std::size_t largest = 0;  ///< length of the longest one
  };
  [[nodiscard]] ClearRuns clear_runs() const;

 private:
  void assign(std::size_t begin, std::size_t end, bool value);
  // Word `w`, inverted when searching for clear bits.
  [[nodiscard]] std::uint64_t word(std::size_t w, bool invert) const {
    return invert ? ~words_[w] : words_[w];
  }
  [[nodiscard]] std::size_t next_one(std::size_t from, std::size_t end, bool invert) const;
  [[nodiscard]] std::size_t prev_one(std::size_t begin, std::size_t before, bool invert) const;

  std::size_t bits_;
  std::vector<std::uint64_t> words_;
};

}  // namespace dmakit::alloc
