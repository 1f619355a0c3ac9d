// SPDX-License-Identifier: Apache-2.0
// Page: the metadata of one page frame of simulated RAM (machine layer), as Linux's struct page.
#pragma once

#include <atomic>
#include <cstdint>

namespace dmakit::machine {

inline constexpr unsigned kMaxOrder = 10;  ///< largest buddy block: 2^10 pages = 4 MiB
inline constexpr std::uint32_t kNoPfnLink = ~std::uint32_t{0};

/// Page frame metadata. One per frame of the physical address span, in an array indexed by frame
/// number (the machine's mem_map). The array is committed lazily and all-zero is the state of a
/// frame nobody has touched, so a 64 GiB machine costs host memory only for the frames in use.
///
/// Owned by the Machine; a Page* stays valid for the Machine's lifetime. The fields are managed by
/// the page allocator and must not be written by callers, except `private_data`, which belongs to
/// whoever holds the allocated block (as page->private in Linux).
struct Page {
  enum Flag : std::uint8_t {
    kBuddy = 1 << 0,   ///< head of a free block on a buddy free list; `order` is its order
    kHead = 1 << 1,    ///< head of an allocated block; `order` is its order
    kCached = 1 << 2,  ///< free block (order 0 to 3) held in a per-thread page cache
  };

  std::uint32_t next;          ///< free-list link (frame number), valid with kBuddy
  std::uint32_t prev;          ///< free-list link (frame number), valid with kBuddy
  std::uint32_t private_data;  ///< the owner's, zero when the block is handed out
  std::uint8_t zone_id;        ///< index of the owning zone in Machine::zones(), set on allocation
  std::uint8_t padding;        ///< keeps Page at 16 bytes

  [[nodiscard]] std::uint8_t flags() const { return flags_.load(std::memory_order_relaxed); }
  [[nodiscard]] unsigned order() const { return order_.load(std::memory_order_relaxed); }
  void set_flags(std::uint8_t flags) { flags_.store(flags, std::memory_order_relaxed); }
  void set(std::uint8_t flags, unsigned order) {
    flags_.store(flags, std::memory_order_relaxed);
    order_.store(static_cast<std::uint8_t>(order), std::memory_order_relaxed);
  }

  [[nodiscard]] bool is_buddy() const { return (flags() & kBuddy) != 0; }
  [[nodiscard]] bool is_head() const { return (flags() & kHead) != 0; }
  [[nodiscard]] bool is_cached() const { return (flags() & kCached) != 0; }

 private:
  // Atomic (relaxed, plain moves on x86) because the buddy lists read a neighbour's state under the
  // zone lock while a page cache may be handing that neighbour out under its own lock.
  std::atomic<std::uint8_t> flags_;
  std::atomic<std::uint8_t> order_;
};

static_assert(sizeof(Page) == 16, "Page grows the mem_map of a 64 GiB machine by 16 MiB per byte");

}  // namespace dmakit::machine
