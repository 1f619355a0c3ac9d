// SPDX-License-Identifier: Apache-2.0
// Iotlb: a set-associative model of an IOMMU's translation cache (iommu layer; seeds 000 and 002,
// reference section 6.4 on why invalidations cost).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "dmakit/core/addr.h"
#include "dmakit/core/result.h"
#include "dmakit/core/stats.h"
#include "dmakit/core/units.h"
#include "dmakit/iommu/perm.h"

namespace dmakit::iommu {

/// Names an address space of the IOMMU (VT-d's domain id, Arm's ASID): IOTLB entries are tagged
/// with it, so one domain's entries can be dropped without touching the others.
using DomainId = std::uint32_t;

/// The geometry of an Iotlb. Checked by check_config() and the constructor.
struct IotlbConfig {
  /// Real IOTLBs hold tens to a few thousand translations (VT-d and AMD-Vi implementations, Arm's
  /// SMMU TBUs and TCU caches); 64 Ki is well above any, and costs the host about 6 MiB.
  static constexpr unsigned kMaxEntries = 64 * 1024;

  unsigned entries = 128;  ///< translations held in all
  unsigned ways = 8;       ///< per set; entries / ways sets, a power of two
  /// Leaf sizes it caches, as a bitmap of powers of two of at least 4 KiB.
  std::uint64_t page_sizes = kPageSize | 2 * kMiB | kGiB;
};

/// A cached translation: what lookup() returns and insert() takes.
struct IotlbTranslation {
  PhysAddr phys;  ///< the physical address of the looked-up (or inserted) IOVA byte
  Perm perm = Perm::None;
  std::uint64_t page_size = kPageSize;  ///< the size of the leaf it came from
};

/// A snapshot of an Iotlb's counters.
struct IotlbStats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t inserts = 0;
  std::uint64_t evictions = 0;             ///< valid entries replaced by an insert (LRU)
  std::uint64_t invalidations = 0;         ///< invalidate() calls: one page or one range each
  std::uint64_t domain_invalidations = 0;  ///< invalidate_domain() calls
  std::uint64_t global_invalidations = 0;  ///< invalidate_all() calls
  std::uint64_t entries_invalidated = 0;   ///< entries dropped by any of them
};

/// A set-associative IOTLB. Entries are tagged by (domain, IOVA page number, page size) and hold
/// the physical page and rights of one leaf. The set of an entry is its page number modulo the set
/// count, as hardware indexes by the low bits of the page number; a lookup probes the set of each
/// cached page size, smallest first. Within a set the least recently used entry is replaced.
///
/// Throws ConfigError (fields iotlb.entries, iotlb.ways, iotlb.page_sizes) for a geometry that
/// cannot work or holds more than kMaxEntries.
void check_config(const IotlbConfig& config);

/// The IOTLB is a cache and knows nothing of page tables: whoever changes a page table invalidates
/// what it changed (strict) or later (lazy), and until then a lookup may return the old
/// translation, as hardware would. Thread-safe: one lock per set.
class Iotlb {
 public:
  /// Throws ConfigError (fields iommu.iotlb.entries, iommu.iotlb.ways, iommu.iotlb.page_sizes)
  /// for a geometry that cannot work.
  explicit Iotlb(const IotlbConfig& config = {});
  ~Iotlb();

  Iotlb(const Iotlb&) = delete;
  Iotlb& operator=(const Iotlb&) = delete;

  /// The cached translation of `iova` in `domain`, with the offset into the page applied; counts a
  /// hit (and makes the entry the set's most recently used) or a miss.
  [[nodiscard]] std::optional<IotlbTranslation> lookup(DomainId domain, IovaAddr iova);

  /// Caches the leaf that maps `iova`: `translation.phys` is the physical address of `iova` itself.
  /// Replaces an entry with the same tag, else takes a free way, else evicts the set's least
  /// recently used entry. InvalidArgument, with nothing cached, for a page size not in the
  /// configuration or a physical address whose offset in the page differs from the IOVA's.
  [[nodiscard]] Status insert(DomainId domain, IovaAddr iova, const IotlbTranslation& translation);

  /// Drops `domain`'s entries for every page that overlaps [iova, iova + size): one page-selective
  /// (or range) invalidation.
  void invalidate(DomainId domain, IovaAddr iova, std::uint64_t size);
  /// Drops every entry of `domain`: a domain-selective invalidation.
  void invalidate_domain(DomainId domain);
  /// Drops every entry: a global invalidation.
  void invalidate_all();

  [[nodiscard]] unsigned sets() const { return sets_; }
  [[nodiscard]] unsigned ways() const { return ways_; }
  /// Valid entries now.
  [[nodiscard]] std::uint64_t size() const;
  [[nodiscard]] IotlbStats stats() const;

 private:
  struct Way {
    bool valid = false;
    std::uint8_t page_shift = 0;
    Perm perm = Perm::None;
    DomainId domain = 0;
    std::uint64_t page_number = 0;  ///< IOVA >> page_shift
    std::uint64_t phys_page = 0;    ///< physical address of the page
    std::uint64_t last_use = 0;     ///< the set's clock when last looked up or inserted
  };
  struct Set;

  /// Drops the matching ways of set `index`; returns how many.
  template <class Match>
  std::uint64_t drop(unsigned index, Match&& match);
  template <class Match>
  std::uint64_t drop_everywhere(Match&& match);

  const unsigned ways_;
  const unsigned sets_;
  std::vector<unsigned> page_shifts_;  ///< cached page sizes, smallest first
  std::unique_ptr<Set[]> set_locks_;   ///< a lock and an LRU clock per set
  std::vector<Way> ways_of_sets_;      ///< set i owns [i * ways_, (i + 1) * ways_); under its lock

  Counter hits_;
  Counter misses_;
  Counter inserts_;
  Counter evictions_;
  Counter invalidations_;
  Counter domain_invalidations_;
  Counter global_invalidations_;
  Counter entries_invalidated_;
};

}  // namespace dmakit::iommu
