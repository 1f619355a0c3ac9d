// SPDX-License-Identifier: Apache-2.0
// Swiotlb: bounce buffering for devices that cannot reach a buffer (swiotlb layer; seed 001's
// software I/O TLB, its memory taken from the mask allocator as seed 003 has it). Works in physical
// addresses and copies real bytes; the dma layer decides when to bounce and speaks bus addresses.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dmakit/alloc/mask_allocator.h"
#include "dmakit/core/direction.h"
#include "dmakit/core/rate_limit.h"
#include "dmakit/core/stats.h"
#include "dmakit/machine/machine_config.h"
#include "dmakit/swiotlb/bounce_pool.h"

namespace dmakit::swiotlb {

/// A snapshot of the bounce pools and what has gone through them.
struct SwiotlbStats {
  PhysRange pool;                 ///< the default pool
  unsigned areas = 0;             ///< of the default pool
  std::uint64_t total_slots = 0;  ///< all active pools, transient ones included
  std::uint64_t used_slots = 0;
  std::uint64_t used_hiwater = 0;      ///< most slots in use at once
  std::uint64_t transient_active = 0;  ///< transient pools serving now
  std::uint64_t transient_taken = 0;   ///< transient pools taken from the mask allocator, ever
  std::uint64_t mappings_bounced = 0;
  std::uint64_t mappings_direct = 0;    ///< maps of devices that might have bounced but did not
  std::uint64_t bytes_to_device = 0;    ///< copied original -> bounce (map, sync_for_device)
  std::uint64_t bytes_from_device = 0;  ///< copied bounce -> original (unmap, sync_for_cpu)
  std::uint64_t failures = 0;           ///< maps refused for want of a fitting run
};

/// The machine's bounce pool and its transient extensions. map() reserves slots and copies the
/// buffer in; unmap() and the syncs copy by direction (reference section 1.6). Thread-safe: pools
/// are split into areas with their own locks, and threads start in different areas.
class Swiotlb {
 public:
  /// Takes the default pool (config.size bytes below config.limit) from `mask`'s pool. Throws
  /// ConfigError (machine.swiotlb.*) when the mask allocator cannot give it.
  Swiotlb(alloc::MaskAllocator& mask, const machine::SwiotlbConfig& config);
  ~Swiotlb();

  Swiotlb(const Swiotlb&) = delete;
  Swiotlb& operator=(const Swiotlb&) = delete;

  /// Bounces [orig, orig + size) for a device: reserves a run that `request` can reach and copies
  /// the buffer into it, whatever `dir` (a device that writes only part of a FROM_DEVICE buffer
  /// must not make unmap copy stale slot bytes back). `reach_mask` is the largest physical mask the
  /// device reaches, for a transient pool's allocation. Errors: InvalidArgument (size 0, or a run
  /// longer than 128 slots with its alignment), NoBounceSlot (no pool has a fitting run; reported
  /// through the warning sink, rate-limited, naming `device`, the size and the slots in use). A
  /// failure disturbs nothing already mapped.
  [[nodiscard]] Result<PhysAddr> map(PhysAddr orig, std::uint64_t size, Direction dir,
                                     const BounceRequest& request, std::uint64_t reach_mask,
                                     std::string_view device);
  /// Ends the mapping handed out at `bounce`: copies the slots back for FROM_DEVICE and
  /// BIDIRECTIONAL (unless `skip_copy`), then frees them. InvalidArgument, with nothing copied or
  /// freed, when `bounce`/`size` are not a mapping's start and size.
  [[nodiscard]] Status unmap(PhysAddr bounce, std::uint64_t size, Direction dir,
                             bool skip_copy = false);
  /// Hands [bounce, bounce + size) of a live mapping to the device (`for_device`: copies the
  /// original in for TO_DEVICE and BIDIRECTIONAL) or to the CPU (copies the slots out for
  /// FROM_DEVICE and BIDIRECTIONAL); other directions move nothing. InvalidArgument when the range
  /// leaves the mapping.
  [[nodiscard]] Status sync(PhysAddr bounce, std::uint64_t size, Direction dir, bool for_device);
  [[nodiscard]] Status sync_for_cpu(PhysAddr bounce, std::uint64_t size, Direction dir) {
    return sync(bounce, size, dir, /*for_device=*/false);
  }
  [[nodiscard]] Status sync_for_device(PhysAddr bounce, std::uint64_t size, Direction dir) {
    return sync(bounce, size, dir, /*for_device=*/true);
  }

  /// Whether `addr` lies in an active pool (is_swiotlb_buffer()).
  [[nodiscard]] bool owns(PhysAddr addr) const;
  /// The original address behind a bounce address of a live mapping (the reverse lookup), or
  /// NoBounceSlot.
  [[nodiscard]] Result<PhysAddr> original(PhysAddr bounce) const;
  /// Whether a device with this view of memory can reach some slot of the default pool.
  [[nodiscard]] bool reachable_under(std::int64_t bus_offset, std::uint64_t bus_limit) const;
  [[nodiscard]] std::uint64_t max_mapping_size(std::uint64_t min_align_mask) const {
    return BouncePool::max_mapping_size(min_align_mask);
  }
  [[nodiscard]] bool force() const { return config_.force; }

  /// Counts a map of a device that might have bounced but reached its buffer directly.
  void count_direct() { mappings_direct_.add(); }
  [[nodiscard]] SwiotlbStats stats() const;
  /// Where the pool-full reports go (default: standard error). Called without locks held.
  void set_warning_sink(std::function<void(const std::string&)> sink);

  /// Checks every pool's slot bookkeeping. Aborts on violation.
  void validate() const;

 private:
  [[nodiscard]] BouncePool* pool_of(PhysAddr addr) const;
  [[nodiscard]] Result<BounceRun> reserve(PhysAddr orig, std::uint64_t size,
                                          const BounceRequest& request, std::uint64_t reach_mask);
  [[nodiscard]] BouncePool* grow(std::uint64_t reach_mask);
  void maybe_retire(BouncePool& pool);
  void copy(PhysAddr to, PhysAddr from, std::uint64_t size);
  void warn_full(std::string_view device, std::uint64_t size, const Error& error);

  alloc::MaskAllocator& mask_;
  machine::PhysMemory& memory_;
  const machine::SwiotlbConfig config_;
  std::unique_ptr<BouncePool> default_pool_;
  /// Transient pools, created inactive, never destroyed before the Swiotlb: lookups need no lock.
  std::vector<std::unique_ptr<BouncePool>> transient_;
  Counter transient_taken_;
  Counter mappings_bounced_;
  Counter mappings_direct_;
  Counter bytes_to_device_;
  Counter bytes_from_device_;
  Counter failures_;
  RateLimit full_reports_;
  std::mutex sink_lock_;
  std::function<void(const std::string&)> warning_sink_;  ///< guarded by sink_lock_
};

}  // namespace dmakit::swiotlb
