// SPDX-License-Identifier: Apache-2.0
// An IOMMU domain (iommu layer): explicit maps with virtio-iommu's contract, the DMA API's
// allocate-and-map, and the invalidation policies of reference section 6.4. The deferred policy is
// Linux's flush queue: per-thread queues of unmapped IOVAs tagged with the flush count at queueing;
// an IOVA goes back to the allocator only once a flush that began after it was queued has ended,
// so until then its stale IOTLB entries may still be used (the exposure the model counts) but the
// IOVA is never handed to another mapping. Page-table pages an unmap detached wait beside it.
#include "dmakit/iommu/domain.h"

#include <fmt/format.h>

#include <algorithm>
#include <thread>

#include "dmakit/iommu/iommu.h"

namespace dmakit::iommu {

Domain::Domain(Iommu& iommu, DomainId id, const DomainConfig& config)
    : iommu_(iommu),
      id_(id),
      config_(config),
      page_table_(iommu.machine(), iommu.config().page_table),
      iova_(IovaAllocatorConfig{.iova_bits = iommu.config().page_table.iova_bits(),
                                .caches = config.iova_caches}),
      shard_count_(std::max(1u, std::thread::hardware_concurrency())),
      thread_shards_(shard_count_) {
  shards_ = std::make_unique<FlushShard[]>(shard_count_);
}

Domain::~Domain() = default;

Status Domain::unmanaged_only() const {
  if (config_.kind != DomainKind::Unmanaged)
    return fail(Errc::InvalidArgument,
                "domain {}: explicit map and unmap are for unmanaged domains, this one is {}", id_,
                domain_kind_name(config_.kind));
  return {};
}

bool Domain::supports_mask(std::uint64_t mask) const {
  return config_.kind == DomainKind::Identity ||
         std::min(iova_.limit_pfn_for_mask(mask), iova_.end_pfn()) > iova_.start_pfn();
}

Status Domain::map(IovaAddr iova, PhysAddr phys, std::uint64_t size, Perm perm) {
  if (Status ok = unmanaged_only(); !ok) return ok;
  const std::scoped_lock guard(explicit_lock_);
  auto next = explicit_maps_.lower_bound(iova.value());
  const bool overlaps_next = next != explicit_maps_.end() && next->first < iova.value() + size;
  const bool overlaps_prev = next != explicit_maps_.begin() &&
                             std::prev(next)->first + std::prev(next)->second > iova.value();
  if (overlaps_next || overlaps_prev)
    return fail(Errc::Busy, "domain {}: [{:#x}, +{:#x}) overlaps a mapping", id_, iova.value(),
                size);
  if (Status ok = page_table_.map(iova, phys, size, perm); !ok) return ok;
  explicit_maps_.emplace(iova.value(), size);
  maps_.add();
  trap();
  return {};
}

Result<std::uint64_t> Domain::unmap(IovaAddr iova, std::uint64_t size) {
  if (Status ok = unmanaged_only(); !ok) return std::unexpected(ok.error());
  const std::uint64_t end = iova.value() + size;
  const std::scoped_lock guard(explicit_lock_);
  auto first = explicit_maps_.lower_bound(iova.value());
  if (first != explicit_maps_.begin() &&
      std::prev(first)->first + std::prev(first)->second > iova.value())
    return fail(Errc::InvalidArgument, "domain {}: unmapping [{:#x}, +{:#x}) would split a mapping",
                id_, iova.value(), size);
  auto last = first;
  while (last != explicit_maps_.end() && last->first < end) {
    if (last->first + last->second > end)
      return fail(Errc::InvalidArgument,
                  "domain {}: unmapping [{:#x}, +{:#x}) would split a mapping", id_, iova.value(),
                  size);
    ++last;
  }
  std::uint64_t removed = 0;
  for (auto it = first; it != last; ++it) {
    // Unmanaged domains invalidate at once, whatever the policy: their owner may remap the IOVA
    // the moment the call returns.
    // Tables the unmap detached are freed at the end of the iteration, after the invalidation.
    const Result<Unmapped> r = page_table_.unmap(IovaAddr(it->first), it->second);
    if (r) removed += r->bytes;
    iommu_.iotlb().invalidate(id_, IovaAddr(it->first), it->second);
    invalidations_.add();
  }
  explicit_maps_.erase(first, last);
  unmaps_.add();
  trap();
  return removed;
}

Result<IovaAddr> Domain::map_dma(std::span<const PhysChunk> chunks,
                                 std::span<const std::uint64_t> offsets, std::uint64_t iova_size,
                                 Perm perm, std::uint64_t dma_limit) {
  if (config_.kind != DomainKind::Dma)
    return fail(Errc::InvalidArgument, "domain {}: the DMA API maps only in DMA domains", id_);
  if (iova_size == 0 || iova_size % granule() != 0 || chunks.size() != offsets.size())
    return fail(Errc::InvalidArgument, "domain {}: bad IOVA size {:#x}", id_, iova_size);
  const std::uint64_t pages = iova_size / granule();
  const std::uint64_t limit_pfn = std::min(dma_limit / granule() + 1, iova_.end_pfn());
  const Result<std::uint64_t> pfn = iova_.alloc(pages, limit_pfn);
  if (!pfn) return std::unexpected(pfn.error());
  const IovaAddr base = iova_.iova_of(*pfn);
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    if (Status ok = page_table_.map(base + offsets[i], chunks[i].phys, chunks[i].size, perm); !ok) {
      for (std::size_t j = 0; j < i; ++j)
        (void)page_table_.unmap(base + offsets[j], chunks[j].size);
      (void)iova_.free(*pfn, pages);
      return std::unexpected(ok.error());
    }
  }
  maps_.add();
  trap();
  return base;
}

Status Domain::reserve(IovaAddr iova, std::uint64_t size) {
  const std::uint64_t first = iova_.pfn_of(iova);
  const std::uint64_t end =
      std::min(iova_.pfn_of(IovaAddr(iova.value() + size - 1)) + 1, iova_.end_pfn());
  if (size == 0 || first >= end) return {};  // nothing of it lies in the IOVA space
  return iova_.reserve(first, end);
}

std::optional<std::uint64_t> Domain::dma_range_at(IovaAddr iova) const {
  if (iova.value() % granule() != 0) return std::nullopt;
  const std::optional<std::uint64_t> pages = iova_.allocated_pages(iova_.pfn_of(iova));
  if (!pages) return std::nullopt;
  return *pages * granule();
}

Status Domain::unmap_dma(IovaAddr iova, std::uint64_t size) {
  const std::optional<std::uint64_t> range = dma_range_at(iova);
  if (!range || size != *range)
    return fail(Errc::InvalidArgument, "domain {}: [{:#x}, +{:#x}) is no DMA mapping", id_,
                iova.value(), size);
  const std::uint64_t pfn = iova_.pfn_of(iova);
  const std::uint64_t pages = size / granule();
  Result<Unmapped> r = page_table_.unmap(iova, size);
  if (!r) return std::unexpected(r.error());
  unmaps_.add();
  trap();
  switch (config_.policy) {
    case InvalidationPolicy::Strict:
      iommu_.iotlb().invalidate(id_, iova, size);
      invalidations_.add();
      r->tables = {};  // the IOTLB no longer walks them
      return iova_.free(pfn, pages);
    case InvalidationPolicy::Deferred:
      queue(pfn, pages, std::move(r->tables));
      return {};
    case InvalidationPolicy::None:
      return iova_.free(pfn, pages);
  }
  return {};
}

void Domain::queue(std::uint64_t pfn, std::uint64_t pages, DetachedTables tables) {
  FlushShard& shard = shards_[thread_shards_.of_this_thread()];
  const auto push = [&] {
    shard.entries.push_back({pfn, pages, flush_started_.load(std::memory_order_acquire),
                             iommu_.now_ns(), std::move(tables)});
    queued_.add();
    // Arm the timer only when it is not: a compare-exchange on every unmap would bounce the line.
    std::uint64_t unarmed = 0;
    if (deadline_ns_.load(std::memory_order_relaxed) == 0)
      deadline_ns_.compare_exchange_strong(unarmed, iommu_.now_ns() + config_.flush_timeout_ns,
                                           std::memory_order_relaxed);
  };
  {
    const std::scoped_lock guard(shard.lock);
    if (reap_locked(shard) < config_.flush_queue_size) {
      push();
      return;
    }
  }
  // The queue is full: flush synchronously and reap this thread's queue only, as Linux does;
  // the others reap their own at their next unmap, so no thread takes another's queue lock.
  flush_iotlb();
  const std::scoped_lock guard(shard.lock);
  (void)reap_locked(shard);
  push();
}

std::size_t Domain::reap_locked(FlushShard& shard) {
  const std::uint64_t finished = flush_finished_.load(std::memory_order_acquire);
  auto& e = shard.entries;
  if (e.empty() || e.front().flush_count >= finished) return e.size();  // nothing flushed yet
  const std::uint64_t now = iommu_.now_ns();
  while (!e.empty() && e.front().flush_count < finished) {
    (void)iova_.free(e.front().pfn, e.front().pages);
    exposure_ns_.add(now - e.front().queued_ns);
    reaped_.add();
    e.pop_front();  // and its detached tables with it
  }
  return e.size();
}

void Domain::flush_iotlb() {
  const std::scoped_lock guard(flush_lock_);
  deadline_ns_.store(0, std::memory_order_relaxed);
  flush_started_.fetch_add(1, std::memory_order_acq_rel);
  iommu_.iotlb().invalidate_domain(id_);
  flushes_.add();
  flush_finished_.fetch_add(1, std::memory_order_acq_rel);
}

void Domain::flush() {
  flush_iotlb();
  for (unsigned i = 0; i < shard_count_; ++i) {
    const std::scoped_lock guard(shards_[i].lock);
    (void)reap_locked(shards_[i]);
  }
}

void Domain::expire(std::uint64_t now_ns) {
  const std::uint64_t deadline = deadline_ns_.load(std::memory_order_relaxed);
  if (deadline != 0 && now_ns >= deadline) flush();
}

DomainStats Domain::stats() const {
  DomainStats s;
  s.maps = maps_.value();
  s.unmaps = unmaps_.value();
  s.traps = traps_.value();
  s.invalidations = invalidations_.value();
  s.flushes = flushes_.value();
  s.queued = queued_.value();
  s.queued_now = s.queued - reaped_.value();
  s.exposure_ns = exposure_ns_.value();
  s.iova = iova_.stats();
  s.page_table = page_table_.stats();
  return s;
}

}  // namespace dmakit::iommu
