// SPDX-License-Identifier: Apache-2.0
// Domain: one I/O virtual address space of an IOMMU (iommu layer; seeds 000 and 002): its page
// table, its IOVA allocator and its invalidation policy, shared by the devices attached to it.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>

#include "dmakit/core/addr.h"
#include "dmakit/core/name_table.h"
#include "dmakit/core/result.h"
#include "dmakit/core/stats.h"
#include "dmakit/core/thread_shards.h"
#include "dmakit/iommu/io_page_table.h"
#include "dmakit/iommu/iotlb.h"
#include "dmakit/iommu/iova_allocator.h"

namespace dmakit::iommu {

class Iommu;

enum class DomainKind : std::uint8_t {
  Dma,        ///< the DMA API allocates IOVAs and maps for the devices (Linux's DMA domain)
  Identity,   ///< IOVA = physical address: the devices bypass translation (passthrough)
  Unmanaged,  ///< its owner maps explicitly at addresses it picks (VFIO, a guest's device)
};

/// When an unmapped IOVA's IOTLB entries are invalidated (reference section 6.4).
enum class InvalidationPolicy : std::uint8_t {
  Strict,    ///< at every unmap, before the IOVA can be reused
  Deferred,  ///< queued; one domain-wide flush every queue-full or timeout; IOVAs reused after it
  None,      ///< never: stale entries survive IOVA reuse (for measurement only)
};

/// The policies by their configuration names ("lazy" is Linux's name for deferred).
inline constexpr NameTable<InvalidationPolicy, 4> kPolicyNames = {{
    {InvalidationPolicy::Strict, "strict"},
    {InvalidationPolicy::Deferred, "deferred"},
    {InvalidationPolicy::Deferred, "lazy"},
    {InvalidationPolicy::None, "none"},
}};
inline constexpr NameTable<DomainKind, 3> kDomainKindNames = {{
    {DomainKind::Dma, "dma"},
    {DomainKind::Identity, "identity"},
    {DomainKind::Unmanaged, "unmanaged"},
}};
[[nodiscard]] constexpr std::string_view policy_name(InvalidationPolicy policy) {
  return name_of(kPolicyNames, policy);
}
[[nodiscard]] constexpr std::string_view domain_kind_name(DomainKind kind) {
  return name_of(kDomainKindNames, kind);
}

struct DomainConfig {
  DomainKind kind = DomainKind::Dma;
  InvalidationPolicy policy = InvalidationPolicy::Deferred;
  /// Runs inside a virtual machine: every map or unmap call traps into the hypervisor once (seed
  /// 002), however many pages it covers.
  bool guest = false;
  bool iova_caches = true;
  /// Deferred policy: IOVAs a thread queues before its queue forces a flush (Linux: 256).
  unsigned flush_queue_size = 256;
  /// Deferred policy: modeled nanoseconds after the first queued IOVA that a flush happens at the
  /// latest (Linux: 10 ms).
  std::uint64_t flush_timeout_ns = 10'000'000;
};

/// A snapshot of a domain's counters.
struct DomainStats {
  std::uint64_t maps = 0;  ///< map calls that succeeded (one per sg list)
  std::uint64_t unmaps = 0;
  std::uint64_t traps = 0;          ///< hypervisor traps (guest domains)
  std::uint64_t invalidations = 0;  ///< page-selective IOTLB invalidations (strict unmaps)
  std::uint64_t flushes = 0;        ///< domain-wide IOTLB flushes (deferred policy)
  std::uint64_t queued = 0;         ///< IOVAs queued for a flush
  std::uint64_t queued_now = 0;     ///< waiting for one now
  std::uint64_t exposure_ns = 0;    ///< modeled time unmapped IOVAs waited for their flush, summed
  IovaStats iova;
  IoPageTableStats page_table;
};

/// One piece of physical memory in a scatter/gather map, granule aligned.
struct PhysChunk {
  PhysAddr phys;
  std::uint64_t size = 0;
};

/// An I/O virtual address space. Created by an Iommu, which owns it. Thread-safe.
class Domain {
 public:
  Domain(Iommu& iommu, DomainId id, const DomainConfig& config);
  ~Domain();

  Domain(const Domain&) = delete;
  Domain& operator=(const Domain&) = delete;

  [[nodiscard]] DomainId id() const { return id_; }
  [[nodiscard]] const DomainConfig& config() const { return config_; }
  [[nodiscard]] Iommu& iommu() const { return iommu_; }
  [[nodiscard]] std::uint64_t granule() const { return iova_.granule(); }

  // Explicit operations, for unmanaged domains, with virtio-iommu's contract.
  /// Maps [iova, iova + size) to physical [phys, phys + size). Busy, with nothing changed, when it
  /// overlaps a mapping; InvalidArgument for unaligned arguments or a domain that is not
  /// unmanaged.
  [[nodiscard]] Status map(IovaAddr iova, PhysAddr phys, std::uint64_t size, Perm perm);
  /// Removes every mapping inside [iova, iova + size) and returns the bytes removed (0 when none).
  /// InvalidArgument, with nothing removed, when the range would split a mapping.
  [[nodiscard]] Result<std::uint64_t> unmap(IovaAddr iova, std::uint64_t size);

  // The DMA API's operations, for DMA domains.
  /// Allocates IOVA space ending at or below `dma_limit` and maps the chunks back to back in it,
  /// each at `offsets[i]` from the start (`iova_size` in all, granule multiples). One map call, one
  /// trap in a guest. Errors: NoIovaSpace, NoMemory (page tables), InvalidArgument.
  [[nodiscard]] Result<IovaAddr> map_dma(std::span<const PhysChunk> chunks,
                                         std::span<const std::uint64_t> offsets,
                                         std::uint64_t iova_size, Perm perm,
                                         std::uint64_t dma_limit);
  /// Unmaps an IOVA range from map_dma() (its start and size) and frees it as the policy says.
  /// InvalidArgument, with nothing changed, for anything else.
  [[nodiscard]] Status unmap_dma(IovaAddr iova, std::uint64_t size);
  /// Keeps [iova, iova + size) out of map_dma()'s reach for good (a window where the device's
  /// accesses never reach the IOMMU). Reservations that overlap merge; Busy, with nothing changed,
  /// when IOVAs are live there.
  [[nodiscard]] Status reserve(IovaAddr iova, std::uint64_t size);
  /// The IOVA size map_dma() was given for the range that starts at `iova`, or nullopt.
  [[nodiscard]] std::optional<std::uint64_t> dma_range_at(IovaAddr iova) const;

  /// The page table's translation of `iova` (no IOTLB involved).
  [[nodiscard]] std::optional<Translation> translate(IovaAddr iova) const {
    return page_table_.translate(iova);
  }
  /// Whether IOVA space exists below `mask`.
  [[nodiscard]] bool supports_mask(std::uint64_t mask) const;

  /// Completes every queued invalidation now: one domain-wide IOTLB flush, then the IOVAs go back.
  void flush();
  /// Flushes when the queue's modeled deadline has passed.
  void expire(std::uint64_t now_ns);

  [[nodiscard]] DomainStats stats() const;

 private:
  struct Queued {
    std::uint64_t pfn;
    std::uint64_t pages;
    std::uint64_t flush_count;  ///< flushes begun when queued: freeable once one more has ended
    std::uint64_t queued_ns;
    DetachedTables tables;  ///< freed with the entry, after its flush
  };
  struct alignas(64) FlushShard {
    std::mutex lock;
    std::deque<Queued> entries;  ///< guarded by lock; in queueing order, so flush counts ascend
  };

  [[nodiscard]] Status unmanaged_only() const;
  void trap() {
    if (config_.guest) traps_.add();
  }
  void queue(std::uint64_t pfn, std::uint64_t pages, DetachedTables tables);
  /// One domain-wide IOTLB flush, which makes every IOVA queued before it freeable.
  void flush_iotlb();
  /// Frees the shard's entries whose flush has completed; returns how many are left.
  std::size_t reap_locked(FlushShard& shard);

  Iommu& iommu_;
  const DomainId id_;
  const DomainConfig config_;
  IoPageTable page_table_;
  IovaAllocator iova_;

  mutable std::mutex explicit_lock_;
  std::map<std::uint64_t, std::uint64_t> explicit_maps_;  ///< iova -> size; guarded

  std::unique_ptr<FlushShard[]> shards_;
  unsigned shard_count_;
  ThreadShards thread_shards_;
  std::atomic<std::uint64_t> flush_started_{0};
  std::atomic<std::uint64_t> flush_finished_{0};
  std::atomic<std::uint64_t> deadline_ns_{0};  ///< 0: nothing queued
  std::mutex flush_lock_;                      ///< one flush at a time

  Counter maps_;
  Counter unmaps_;
  Counter traps_;
  Counter invalidations_;
  Counter flushes_;
  Counter queued_;
  Counter exposure_ns_;
  Counter reaped_;  ///< queued IOVAs given back after their flush
};

}  // namespace dmakit::iommu
