// SPDX-License-Identifier: Apache-2.0
// The I/O page table (iommu layer), in the manner of Linux's io-pgtable formats: a radix tree of
// 4 KiB tables in simulated RAM.
//
// Levels count up from the leaf tables: level 0 entries map 4 KiB, level 1 entries 2 MiB, level 2
// entries 1 GiB, and the top table is at level `levels - 1`. An IOVA's index in its level-l table
// is bits [12 + 9l, 21 + 9l). map() checks the whole range first (read only), so a refused map
// changes nothing; it then sets leaves one by one, each with a compare-exchange from 0, so a
// concurrent map of the same IOVA cannot be overwritten, and clears what it set if a step fails.
// unmap() likewise checks for a large leaf straddling either end before clearing anything. A table
// whose whole span an unmap covers cannot be in use by a concurrent map (their ranges are
// disjoint), so it is unlinked and handed back whole; the tables on the path to it stay.
#include "dmakit/iommu/io_page_table.h"

#include <algorithm>
#include <atomic>

#include "dmakit/core/assert.h"
#include "dmakit/core/config_error.h"

namespace dmakit::iommu {
namespace {

using Entry = std::atomic_ref<std::uint64_t>;

const PageTableFormat& checked_format(const PageTableFormat& format) {
  if (format.levels < 1 || format.levels > 5)
    throw ConfigError("iommu.page_table.levels", fmt::format("{} is not 1 to 5", format.levels));
  const std::uint64_t sizes = format.page_sizes;
  if ((sizes & kPageSize) == 0 || (sizes & ~PageTableFormat::kAllPageSizes) != 0)
    throw ConfigError("iommu.page_table.page_sizes",
                      fmt::format("{:#x} must hold 4 KiB and may add only 2 MiB and 1 GiB", sizes));
  if ((sizes & (2 * kMiB)) != 0 && format.levels < 2)
    throw ConfigError("iommu.page_table.page_sizes", "2 MiB leaves need at least 2 levels");
  if ((sizes & kGiB) != 0 && format.levels < 3)
    throw ConfigError("iommu.page_table.page_sizes", "1 GiB leaves need at least 3 levels");
  return format;
}

constexpr std::uint64_t leaf_size(unsigned level) {
  return kPageSize << (PageTableFormat::kBitsPerLevel * level);
}

constexpr std::uint64_t index_of(std::uint64_t iova, unsigned level) {
  return (iova >> (kPageShift + PageTableFormat::kBitsPerLevel * level)) &
         (PageTableFormat::kEntriesPerTable - 1);
}

Perm perm_of(std::uint64_t entry) {
  return ((entry & pte::kRead) != 0 ? Perm::Read : Perm::None) |
         ((entry & pte::kWrite) != 0 ? Perm::Write : Perm::None);
}

bool is_leaf(std::uint64_t entry) { return (entry & pte::kLeaf) != 0; }

}  // namespace

IoPageTable::IoPageTable(machine::Machine& machine, const PageTableFormat& format)
    : memory_(machine.memory()),
      pages_(machine.page_allocator()),
      format_(checked_format(format)),
      iova_limit_(std::uint64_t{1} << format_.iova_bits()) {}

IoPageTable::~IoPageTable() {
  const std::uint64_t root = Entry(root_).load(std::memory_order_acquire);
  if (root != 0) free_table(root, format_.levels - 1);
}

void DetachedTables::release() {
  for (const auto& [entry, level] : tables_) owner_->free_table(entry, level);
  tables_.clear();
}

void IoPageTable::free_table(std::uint64_t table_entry, unsigned level) {
  if (level > 0) {
    std::uint64_t* entries = entries_of(table_entry);
    for (std::uint64_t i = 0; i < PageTableFormat::kEntriesPerTable; ++i) {
      const std::uint64_t e = Entry(entries[i]).load(std::memory_order_acquire);
      if ((e & pte::kPresent) != 0 && !is_leaf(e)) free_table(e, level - 1);
    }
  }
  const Status freed = pages_.free_pages(
      memory_.pfn_to_page(phys_to_pfn(PhysAddr(table_entry & pte::kAddrMask))), 0);
  DMAKIT_CHECK(freed.has_value(), "cannot free an I/O page table: {}", freed.error().message);
  tables_.fetch_sub(1, std::memory_order_relaxed);
}

std::uint64_t* IoPageTable::entries_of(std::uint64_t table_entry) const {
  return reinterpret_cast<std::uint64_t*>(
      memory_.direct_map(PhysAddr(table_entry & pte::kAddrMask)));
}

Status IoPageTable::check_range(std::uint64_t iova, std::uint64_t size) const {
  if (size == 0 || !is_aligned(iova, kPageSize) || !is_aligned(size, kPageSize))
    return fail(Errc::InvalidArgument, "IOVA range [{:#x}, +{:#x}) is empty or not 4 KiB aligned",
                iova, size);
  if (iova >= iova_limit_ || size > iova_limit_ - iova)
    return fail(Errc::InvalidArgument, "IOVA range [{:#x}, +{:#x}) leaves the {}-bit IOVA space",
                iova, size, format_.iova_bits());
  return {};
}

template <class Visit>
bool IoPageTable::for_each_leaf(std::uint64_t table, unsigned level, std::uint64_t start,
                                std::uint64_t end, Visit&& visit) const {
  std::uint64_t* entries = entries_of(table);
  const std::uint64_t span = leaf_size(level);
  for (std::uint64_t base = align_down(start, span); base < end; base += span) {
    std::uint64_t& slot = entries[index_of(base, level)];
    const std::uint64_t e = Entry(slot).load(std::memory_order_acquire);
    if ((e & pte::kPresent) == 0) continue;
    if (is_leaf(e)) {
      if (!visit(slot, level, base)) return false;
    } else if (!for_each_leaf(e, level - 1, std::max(start, base), std::min(end, base + span),
                              visit)) {
      return false;
    }
  }
  return true;
}

template <class Visit>
bool IoPageTable::for_each_leaf(std::uint64_t start, std::uint64_t end, Visit&& visit) const {
  const std::uint64_t root = Entry(root_).load(std::memory_order_acquire);
  return root == 0 || for_each_leaf(root, format_.levels - 1, start, end, visit);
}

Result<std::uint64_t*> IoPageTable::next_table(std::uint64_t& slot) {
  Entry entry(slot);
  std::uint64_t current = entry.load(std::memory_order_acquire);
  if (current == 0) {
    Result<machine::Page*> page = pages_.alloc_pages(machine::kGfpZero, 0);
    if (!page)
      return fail(Errc::NoMemory, "no page for an I/O page table: {}", page.error().message);
    const std::uint64_t table = memory_.page_to_phys(*page).value() | pte::kPresent;
    // Release: the zeroed table is visible to whoever reads the entry that links it.
    if (entry.compare_exchange_strong(current, table, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
      tables_allocated_.add();
      tables_.fetch_add(1, std::memory_order_relaxed);
      entries_written_.add();
      current = table;
    } else {
      // Another walker linked a table first: use that one.
      const Status freed = pages_.free_pages(*page, 0);
      DMAKIT_CHECK(freed.has_value(), "cannot give back an unused table: {}",
                   freed.error().message);
    }
  }
  if (is_leaf(current)) return fail(Errc::Busy, "a large leaf already maps this range");
  return entries_of(current);
}

Result<std::uint64_t> IoPageTable::map_leaf(std::uint64_t iova, std::uint64_t phys,
                                            std::uint64_t remaining, std::uint64_t leaf_bits) {
  unsigned leaf = 0;
  for (unsigned level = format_.levels - 1; level > 0; --level) {
    const std::uint64_t size = leaf_size(level);
    if ((format_.page_sizes & size) != 0 && is_aligned(iova, size) && is_aligned(phys, size) &&
        remaining >= size) {
      leaf = level;
      break;
    }
  }
  Result<std::uint64_t*> table = next_table(root_);
  for (unsigned level = format_.levels - 1;; --level) {
    if (!table) return std::unexpected(table.error());
    std::uint64_t& slot = (*table)[index_of(iova, level)];
    if (level > leaf) {
      table = next_table(slot);
      continue;
    }
    std::uint64_t current = 0;
    if (Entry(slot).compare_exchange_strong(current, phys | leaf_bits, std::memory_order_acq_rel,
                                            std::memory_order_acquire)) {
      entries_written_.add();
      return leaf_size(level);
    }
    if (level == 0 || is_leaf(current))
      return fail(Errc::Busy, "IOVA {:#x} was mapped by someone else meanwhile", iova);
    // An empty table left by an unmap sits where the leaf would go: map this part with the next
    // smaller allowed leaf inside it rather than free a table a concurrent walk may be reading.
    do {
      --leaf;
    } while (leaf > 0 && (format_.page_sizes & leaf_size(leaf)) == 0);
    table = entries_of(current);
  }
}

Status IoPageTable::map(IovaAddr iova, PhysAddr phys, std::uint64_t size, Perm perm) {
  if (Status ok = check_range(iova.value(), size); !ok) return ok;
  const std::uint64_t start = iova.value();
  const std::uint64_t end = start + size;
  if (!is_aligned(phys.value(), kPageSize) || phys.value() > pte::kAddrMask ||
      size > pte::kAddrMask + kPageSize - phys.value())
    return fail(Errc::InvalidArgument,
                "physical range [{:#x}, +{:#x}) is not 4 KiB aligned or leaves {} address bits",
                phys.value(), size, pte::kOutputBits);
  if (perm == Perm::None) return fail(Errc::InvalidArgument, "a mapping grants no access");
  const std::uint64_t bits = pte::kPresent | pte::kLeaf |
                             (allows(perm, Perm::Read) ? pte::kRead : 0) |
                             (allows(perm, Perm::Write) ? pte::kWrite : 0);
  if (size == kPageSize) {
    // One leaf: its compare-exchange is the overlap check, so one walk does it all.
    const Result<std::uint64_t> leaf = map_leaf(start, phys.value(), size, bits);
    if (!leaf) return std::unexpected(leaf.error());
    bytes_mapped_.add(size);
    return {};
  }

  std::optional<std::uint64_t> mapped;
  for_each_leaf(start, end, [&mapped](std::uint64_t&, unsigned, std::uint64_t base) {
    mapped = base;
    return false;
  });
  if (mapped)
    return fail(Errc::Busy, "IOVA range [{:#x}, {:#x}) is already mapped at {:#x}", start, end,
                std::max(*mapped, start));

  for (std::uint64_t done = 0; done < size;) {
    const Result<std::uint64_t> step =
        map_leaf(start + done, phys.value() + done, size - done, bits);
    if (!step) {
      (void)clear_range(start, start + done, nullptr);  // tables it added stay
      return std::unexpected(step.error());
    }
    done += *step;
  }
  bytes_mapped_.add(size);
  return {};
}

std::uint64_t IoPageTable::clear_range(std::uint64_t table, unsigned level, std::uint64_t start,
                                       std::uint64_t end, DetachedTables* detached) {
  std::uint64_t* entries = entries_of(table);
  const std::uint64_t span = leaf_size(level);
  std::uint64_t bytes = 0;
  for (std::uint64_t base = align_down(start, span); base < end; base += span) {
    std::uint64_t& slot = entries[index_of(base, level)];
    const std::uint64_t e = Entry(slot).load(std::memory_order_acquire);
    if ((e & pte::kPresent) == 0) continue;
    const bool covered = base >= start && base + span <= end;
    if (!is_leaf(e) && !(covered && detached != nullptr)) {
      bytes +=
          clear_range(e, level - 1, std::max(start, base), std::min(end, base + span), detached);
      continue;
    }
    const std::uint64_t taken = Entry(slot).exchange(0, std::memory_order_acq_rel);
    if ((taken & pte::kPresent) == 0) continue;  // an overlapping unmap was first
    entries_written_.add();
    if (is_leaf(taken)) {
      bytes += span;
      continue;
    }
    // The leaves below go with their tables, uncleared: only the count of what they mapped.
    for_each_leaf(taken, level - 1, base, base + span,
                  [&bytes](std::uint64_t&, unsigned leaf_level, std::uint64_t) {
                    bytes += leaf_size(leaf_level);
                    return true;
                  });
    if (detached->owner_ == nullptr) detached->owner_ = this;
    detached->tables_.emplace_back(taken, level - 1);
  }
  return bytes;
}

std::uint64_t IoPageTable::clear_range(std::uint64_t start, std::uint64_t end,
                                       DetachedTables* detached) {
  const std::uint64_t root = Entry(root_).load(std::memory_order_acquire);
  return root == 0 ? 0 : clear_range(root, format_.levels - 1, start, end, detached);
}

Result<Unmapped> IoPageTable::unmap(IovaAddr iova, std::uint64_t size) {
  if (Status ok = check_range(iova.value(), size); !ok) return std::unexpected(ok.error());
  const std::uint64_t start = iova.value();
  const std::uint64_t end = start + size;
  Unmapped out;
  if (size == kPageSize) {
    const Result<std::uint64_t> bytes = unmap_page(start);
    if (!bytes) return std::unexpected(bytes.error());
    out.bytes = *bytes;
    return out;
  }
  // Only a leaf holding either end can reach outside the range: two walks, not one per leaf.
  for (const std::uint64_t at : {start, end - kPageSize}) {
    const std::optional<Translation> t = translate(IovaAddr(at));
    if (!t) continue;
    const std::uint64_t leaf = align_down(at, t->page_size);
    if (leaf < start || leaf + t->page_size > end)
      return fail(Errc::InvalidArgument,
                  "unmapping [{:#x}, {:#x}) would split the {} leaf at IOVA {:#x}", start, end,
                  format_size(t->page_size), leaf);
  }
  out.bytes = clear_range(start, end, &out.tables);
  bytes_unmapped_.add(out.bytes);
  return out;
}

Result<std::uint64_t> IoPageTable::unmap_page(std::uint64_t iova) {
  // One walk: a large leaf on the way would be split; the 4 KiB leaf is cleared with one exchange.
  std::uint64_t entry = Entry(root_).load(std::memory_order_acquire);
  for (unsigned level = format_.levels; level-- > 0;) {
    if ((entry & pte::kPresent) == 0) return 0;
    std::uint64_t& slot = entries_of(entry)[index_of(iova, level)];
    if (level == 0) {
      if ((Entry(slot).exchange(0, std::memory_order_acq_rel) & pte::kPresent) == 0) return 0;
      entries_written_.add();
      bytes_unmapped_.add(kPageSize);
      return kPageSize;
    }
    entry = Entry(slot).load(std::memory_order_acquire);
    if ((entry & pte::kPresent) != 0 && is_leaf(entry))
      return fail(Errc::InvalidArgument, "unmapping 4 KiB at {:#x} would split the {} leaf", iova,
                  format_size(leaf_size(level)));
  }
  return 0;
}

std::optional<Translation> IoPageTable::translate(IovaAddr iova) const {
  const std::uint64_t addr = iova.value();
  if (addr >= iova_limit_) return std::nullopt;
  std::uint64_t entry = Entry(root_).load(std::memory_order_acquire);
  unsigned walked = 0;
  for (unsigned level = format_.levels; level-- > 0;) {
    if ((entry & pte::kPresent) == 0) return std::nullopt;
    entry = Entry(entries_of(entry)[index_of(addr, level)]).load(std::memory_order_acquire);
    ++walked;
    if ((entry & pte::kPresent) != 0 && is_leaf(entry)) {
      const std::uint64_t size = leaf_size(level);
      return Translation{PhysAddr((entry & pte::kAddrMask) + (addr & (size - 1))), perm_of(entry),
                         size, walked};
    }
  }
  return std::nullopt;
}

std::optional<PhysAddr> IoPageTable::root_table() const {
  const std::uint64_t root = Entry(root_).load(std::memory_order_acquire);
  if (root == 0) return std::nullopt;
  return PhysAddr(root & pte::kAddrMask);
}

IoPageTableStats IoPageTable::stats() const {
  IoPageTableStats s;
  s.entries_written = entries_written_.value();
  s.tables_allocated = tables_allocated_.value();
  s.tables = tables_.load(std::memory_order_relaxed);
  s.table_bytes = s.tables * kPageSize;
  s.mapped_bytes = bytes_mapped_.value() - bytes_unmapped_.value();
  return s;
}

}  // namespace dmakit::iommu
