// SPDX-License-Identifier: Apache-2.0
// IoPageTable: a multi-level radix-tree I/O page table whose tables are pages of the simulated
// machine (iommu layer; seeds 000 and 002), in the manner of Linux's io-pgtable formats.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "dmakit/core/addr.h"
#include "dmakit/core/result.h"
#include "dmakit/core/stats.h"
#include "dmakit/core/units.h"
#include "dmakit/iommu/perm.h"
#include "dmakit/machine/machine.h"

namespace dmakit::iommu {

/// The shape of an I/O page table. Every table is one 4 KiB page of 512 64-bit entries, so each
/// level resolves 9 bits of IOVA above the 12-bit page offset: 4 levels translate 48 bits.
struct PageTableFormat {
  static constexpr unsigned kBitsPerLevel = 9;
  static constexpr std::uint64_t kEntriesPerTable = std::uint64_t{1} << kBitsPerLevel;
  static constexpr std::uint64_t kAllPageSizes = kPageSize | 2 * kMiB | kGiB;

  /// Levels of tables, 1 to 5.
  unsigned levels = 4;
  /// The leaf sizes map() may use, as a bitmap of sizes (Linux's pgsize_bitmap): 4 KiB always,
  /// 2 MiB (needs 2 levels) and 1 GiB (needs 3 levels) optionally.
  std::uint64_t page_sizes = kAllPageSizes;

  /// Bits of IOVA translated: 12 + 9 per level.
  [[nodiscard]] constexpr unsigned iova_bits() const { return 12 + kBitsPerLevel * levels; }
};

/// The bits of a page-table entry. An entry is 0 (not present), a table entry (present, and the
/// physical address of the next level's table) or a leaf (present, leaf, read/write, and the
/// physical address of the page, aligned to the leaf's size). Leaves at the lowest level carry the
/// leaf bit too, so every entry decodes alike.
namespace pte {
inline constexpr std::uint64_t kPresent = 1u << 0;
inline constexpr std::uint64_t kRead = 1u << 1;
inline constexpr std::uint64_t kWrite = 1u << 2;
inline constexpr std::uint64_t kLeaf = 1u << 7;
/// Output addresses have 52 bits, as on x86 and Arm.
inline constexpr unsigned kOutputBits = 52;
inline constexpr std::uint64_t kAddrMask =
    ((std::uint64_t{1} << kOutputBits) - 1) & ~(kPageSize - 1);
}  // namespace pte

/// What an IOVA translates to.
struct Translation {
  PhysAddr phys;            ///< the physical address of the translated byte
  Perm perm = Perm::None;   ///< rights the leaf grants
  std::uint64_t page_size;  ///< size of the leaf that maps it: 4 KiB, 2 MiB or 1 GiB
  unsigned levels_walked;   ///< entries read to find it, the top table's included
};

/// A snapshot of an IoPageTable's counters.
struct IoPageTableStats {
  std::uint64_t entries_written = 0;   ///< entries stored: tables linked, leaves set and cleared
  std::uint64_t tables_allocated = 0;  ///< table pages ever taken from the page allocator
  std::uint64_t tables = 0;            ///< table pages held now, detached ones until freed
  std::uint64_t table_bytes = 0;       ///< simulated RAM held by tables now
  std::uint64_t mapped_bytes = 0;      ///< bytes mapped now
};

class IoPageTable;

/// Tables an unmap() took out of the tree because its range covered everything they translate.
/// They are not freed at once: an IOMMU may still be walking them until its IOTLB (and walk
/// caches) have been invalidated, so the caller keeps them until then, and the tables go back to
/// the page allocator when this is destroyed (Linux's freelist, which a lazy domain's flush queue
/// carries next to the IOVA; reference section 6.4). The page table must outlive it.
class DetachedTables {
 public:
  DetachedTables() = default;
  DetachedTables(DetachedTables&& other) noexcept
      : owner_(std::exchange(other.owner_, nullptr)), tables_(std::move(other.tables_)) {}
  DetachedTables& operator=(DetachedTables&& other) noexcept {
    if (this != &other) {
      release();
      owner_ = std::exchange(other.owner_, nullptr);
      tables_ = std::move(other.tables_);
    }
    return *this;
  }
  ~DetachedTables() { release(); }

  /// Subtrees held: each is one detached table with whatever tables hang below it.
  [[nodiscard]] std::size_t subtrees() const { return tables_.size(); }

 private:
  friend class IoPageTable;
  void release();

  IoPageTable* owner_ = nullptr;
  std::vector<std::pair<std::uint64_t, unsigned>> tables_;  ///< (entry that linked it, its level)
};

/// What an unmap() removed: the bytes its leaves mapped, and the tables it detached.
struct Unmapped {
  std::uint64_t bytes = 0;
  DetachedTables tables;
};

/// An I/O page table: translations from IOVA to physical address with permissions, held in tables
/// that are zeroed 4 KiB pages of the machine's RAM, written through the direct map. Page-table
/// memory is therefore simulated memory: it is allocated, counted and visible to anyone who reads
/// those physical pages (a device model walking the table, as IOMMU hardware does).
///
/// map() uses the largest allowed leaf whose alignment (IOVA and physical address alike) and the
/// remaining size allow. An unmap() whose range covers all that a table translates unlinks the
/// table with one entry write (its leaves are not cleared one by one, as Intel's VT-d driver does
/// not) and hands it to the caller as DetachedTables, to free after the IOTLB flush. A table an
/// unmap only empties stays linked, as in Linux; a later map whose large leaf would replace such
/// an empty table maps that part with the next smaller leaf instead.
///
/// Thread-safe for concurrent map() and unmap() of disjoint ranges and concurrent translate():
/// entries are read and written with std::atomic_ref and a new table is linked in with a
/// compare-exchange, as Linux's io-pgtable does; two threads needing the same missing table agree
/// on one. Overlapping concurrent map()/unmap() calls are a caller error: the table stays well
/// formed, but which of their pages end up mapped is not defined. The machine must outlive the
/// page table.
class IoPageTable {
 public:
  /// Throws ConfigError (fields iommu.page_table.levels, iommu.page_table.page_sizes) for a format
  /// that cannot work. Takes no memory until the first map().
  explicit IoPageTable(machine::Machine& machine, const PageTableFormat& format = {});
  /// Returns every table to the page allocator.
  ~IoPageTable();

  IoPageTable(const IoPageTable&) = delete;
  IoPageTable& operator=(const IoPageTable&) = delete;

  /// Maps [iova, iova + size) to [phys, phys + size) with `perm`, allocating tables as needed.
  /// \param iova, phys, size  4 KiB aligned, size > 0, the IOVA range below 2^iova_bits and the
  ///                          physical range below 2^52
  /// \param perm              Read, Write or both
  /// Errors: InvalidArgument for the above; Busy, with nothing changed, when any page of the range
  /// is already mapped (a map never replaces a mapping, as virtio-iommu requires); NoMemory when a
  /// table cannot be allocated (the leaves this call set are cleared again; tables it added stay).
  [[nodiscard]] Status map(IovaAddr iova, PhysAddr phys, std::uint64_t size, Perm perm);

  /// Removes every leaf inside [iova, iova + size) and returns the bytes they mapped (less than
  /// `size` where parts were not mapped), with the tables the range wholly covered, detached.
  /// Errors: InvalidArgument, with nothing changed, for an unaligned or out-of-range argument or
  /// when the range would split a large leaf. Invalidating IOTLBs is the caller's business, and
  /// so is keeping the detached tables until it is done.
  [[nodiscard]] Result<Unmapped> unmap(IovaAddr iova, std::uint64_t size);

  /// What `iova` translates to, or nothing when no leaf maps it.
  [[nodiscard]] std::optional<Translation> translate(IovaAddr iova) const;

  /// The physical address of the top table (what an IOMMU's context entry points at), or nothing
  /// before the first map().
  [[nodiscard]] std::optional<PhysAddr> root_table() const;

  [[nodiscard]] const PageTableFormat& format() const { return format_; }
  /// One past the highest IOVA the table can translate: 2^iova_bits.
  [[nodiscard]] std::uint64_t iova_limit() const { return iova_limit_; }
  [[nodiscard]] IoPageTableStats stats() const;

 private:
  /// Visits each present leaf overlapping [start, end) in the table at `level`; stops when `visit`
  /// returns false, and then returns false too.
  template <class Visit>
  bool for_each_leaf(std::uint64_t table, unsigned level, std::uint64_t start, std::uint64_t end,
                     Visit&& visit) const;
  template <class Visit>
  bool for_each_leaf(std::uint64_t start, std::uint64_t end, Visit&& visit) const;

  /// The table `slot` points at, linking in a new zeroed one when it is empty. Busy when `slot`
  /// holds a leaf; NoMemory when no page is left.
  [[nodiscard]] Result<std::uint64_t*> next_table(std::uint64_t& slot);
  /// Sets one leaf at `iova` and returns its size: the largest allowed by the alignment and
  /// `remaining`, or smaller where a table already sits.
  [[nodiscard]] Result<std::uint64_t> map_leaf(std::uint64_t iova, std::uint64_t phys,
                                               std::uint64_t remaining, std::uint64_t leaf_bits);
  /// unmap() of one 4 KiB page, in one walk.
  [[nodiscard]] Result<std::uint64_t> unmap_page(std::uint64_t iova);
  /// Clears every leaf inside [start, end) below the table at `level`, and returns the bytes they
  /// mapped. With `detached`, a table whose whole span is inside is unlinked into it instead.
  std::uint64_t clear_range(std::uint64_t table, unsigned level, std::uint64_t start,
                            std::uint64_t end, DetachedTables* detached);
  std::uint64_t clear_range(std::uint64_t start, std::uint64_t end, DetachedTables* detached);
  [[nodiscard]] std::uint64_t* entries_of(std::uint64_t table_entry) const;
  friend class DetachedTables;
  void free_table(std::uint64_t table_entry, unsigned level);
  [[nodiscard]] Status check_range(std::uint64_t iova, std::uint64_t size) const;

  machine::PhysMemory& memory_;
  machine::PageAllocator& pages_;
  const PageTableFormat format_;
  const std::uint64_t iova_limit_;
  /// An entry pointing at the top table, 0 until the first map(); like the entries in tables it is
  /// only accessed through std::atomic_ref, including by const walks.
  mutable std::uint64_t root_ = 0;

  Counter entries_written_;
  Counter tables_allocated_;
  std::atomic<std::uint64_t> tables_{0};
  // Mapped bytes are the difference of two sharded counters: one shared atomic would bounce its
  // cache line between every pair of threads mapping in the table.
  Counter bytes_mapped_;
  Counter bytes_unmapped_;
};

}  // namespace dmakit::iommu
