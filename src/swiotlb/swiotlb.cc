// SPDX-License-Identifier: Apache-2.0
// Bounce buffering (swiotlb layer): pools, copies by direction, growth and the pool-full report,
// after Linux's kernel/dma/swiotlb.c (reference sections 1.6 to 1.8).
#include "dmakit/swiotlb/swiotlb.h"

#include <fmt/format.h>

#include <bit>
#include <cstring>
#include <iostream>
#include <thread>

#include "dmakit/core/config_error.h"
#include "dmakit/core/units.h"

namespace dmakit::swiotlb {
namespace {

[[gnu::cold, gnu::noinline]] std::unexpected<Error> bad_direction(Direction dir) {
  return fail(Errc::InvalidArgument, "direction {} is not a mapping direction",
              static_cast<unsigned>(dir));
}

unsigned default_areas(unsigned configured) {
  return configured != 0 ? configured : std::max(1u, std::thread::hardware_concurrency());
}

// The mask allocator takes masks of the form 2^n - 1; the pool must also end below `limit`.
std::uint64_t mask_covering(std::uint64_t limit) {
  return limit > (std::uint64_t{1} << 63) ? ~std::uint64_t{0} : std::bit_ceil(limit) - 1;
}

}  // namespace

Swiotlb::Swiotlb(alloc::MaskAllocator& mask, const machine::SwiotlbConfig& config)
    : mask_(mask), memory_(mask.machine().memory()), config_(config) {
  const Result<machine::Page*> page =
      mask.alloc_pool_pages(machine::kGfpNoWarn, config.size, mask_covering(config.limit));
  const PhysAddr start = page ? memory_.page_to_phys(*page) : PhysAddr{};
  if (!page || (start + config.size).value() > config.limit) {
    if (page) (void)mask.free_pages_mask(*page, config.size);
    throw ConfigError("machine.swiotlb.limit",
                      fmt::format("no room for a {} bounce pool below {} in the mask pool",
                                  format_size(config.size), format_addr(config.limit)));
  }
  default_pool_ = std::make_unique<BouncePool>(PhysRange{start, start + config.size},
                                               default_areas(config.areas));
  for (unsigned i = 0; i < config.transient_pools; ++i)
    transient_.push_back(std::make_unique<BouncePool>(config.transient_size, 1));
}

Swiotlb::~Swiotlb() {
  const PhysRange pool = default_pool_->range();
  (void)mask_.free_pages_mask(memory_.pfn_to_page(phys_to_pfn(pool.start)), pool.size());
  for (const auto& t : transient_) {
    const PhysRange range = t->range();
    if (!range.empty())
      (void)mask_.free_pages_mask(memory_.pfn_to_page(phys_to_pfn(range.start)), range.size());
  }
}

BouncePool* Swiotlb::pool_of(PhysAddr addr) const {
  if (default_pool_->contains(addr)) return default_pool_.get();
  for (const auto& t : transient_) {
    if (t->contains(addr)) return t.get();
  }
  return nullptr;
}

bool Swiotlb::owns(PhysAddr addr) const { return pool_of(addr) != nullptr; }

bool Swiotlb::reachable_under(std::int64_t bus_offset, std::uint64_t bus_limit) const {
  return default_pool_->reachable_under(bus_offset, bus_limit);
}

BouncePool* Swiotlb::grow(std::uint64_t reach_mask) {
  // Linux's transient pools come from below the device's own reach, not the pool's limit.
  for (const auto& t : transient_) {
    if (t->active()) continue;
    const Result<machine::Page*> page = mask_.alloc_pages_mask(
        machine::kGfpZero | machine::kGfpNoWarn, config_.transient_size, reach_mask);
    if (!page) return nullptr;
    const PhysAddr start = memory_.page_to_phys(*page);
    if (t->activate({start, start + config_.transient_size})) {
      transient_taken_.add();
      return t.get();
    }
    (void)mask_.free_pages_mask(*page, config_.transient_size);  // another thread took it first
  }
  return nullptr;
}

void Swiotlb::maybe_retire(BouncePool& pool) {
  if (&pool == default_pool_.get()) return;
  const PhysRange range = pool.retire_if_empty();
  if (!range.empty())
    (void)mask_.free_pages_mask(memory_.pfn_to_page(phys_to_pfn(range.start)), range.size());
}

Result<BounceRun> Swiotlb::reserve(PhysAddr orig, std::uint64_t size, const BounceRequest& request,
                                   std::uint64_t reach_mask) {
  Result<BounceRun> run = default_pool_->reserve(orig, size, request, this_thread_slot());
  if (run || run.error().code != Errc::NoBounceSlot) return run;
  for (const auto& t : transient_) {
    if (!t->active()) continue;
    if (Result<BounceRun> r = t->reserve(orig, size, request, 0)) return r;
  }
  if (BouncePool* fresh = grow(reach_mask)) {
    if (Result<BounceRun> r = fresh->reserve(orig, size, request, 0)) return r;
    maybe_retire(*fresh);
  }
  return run;
}

Result<PhysAddr> Swiotlb::map(PhysAddr orig, std::uint64_t size, Direction dir,
                              const BounceRequest& request, std::uint64_t reach_mask,
                              std::string_view device) {
  if (!is_valid_mapping_direction(dir)) [[unlikely]]
    return bad_direction(dir);
  const Result<BounceRun> run = reserve(orig, size, request, reach_mask);
  if (!run) {
    if (run.error().code == Errc::NoBounceSlot) {
      failures_.add();
      warn_full(device, size, run.error());
    }
    return std::unexpected(run.error());
  }
  mappings_bounced_.add();
  copy(run->bounce, orig, size);
  bytes_to_device_.add(size);
  return run->bounce;
}

Status Swiotlb::unmap(PhysAddr bounce, std::uint64_t size, Direction dir, bool skip_copy) {
  if (!is_valid_mapping_direction(dir)) [[unlikely]]
    return bad_direction(dir);
  BouncePool* pool = pool_of(bounce);
  if (pool == nullptr)
    return fail(Errc::InvalidArgument, "{:#x} is not a bounce address", bounce.value());
  const Result<BounceMapping> m = pool->find(bounce);
  if (!m || !m->start || m->remaining != size)
    return fail(Errc::InvalidArgument, "{:#x} +{:#x} is not a live bounce mapping{}",
                bounce.value(), size,
                m && m->start ? fmt::format(" (it maps {} bytes)", m->remaining) : "");
  if (!skip_copy && device_writes(dir)) {
    copy(m->orig, bounce, size);
    bytes_from_device_.add(size);
  }
  if (Status ok = pool->release(bounce, size); !ok) return ok;
  maybe_retire(*pool);
  return {};
}

namespace {

Result<BounceMapping> find_range(const BouncePool* pool, PhysAddr bounce, std::uint64_t size) {
  if (pool == nullptr)
    return fail(Errc::InvalidArgument, "{:#x} is not a bounce address", bounce.value());
  Result<BounceMapping> m = pool->find(bounce);
  if (!m || size == 0 || size > m->remaining)
    return fail(Errc::InvalidArgument, "[{:#x}, +{:#x}) leaves its bounce mapping", bounce.value(),
                size);
  return m;
}

}  // namespace

Status Swiotlb::sync(PhysAddr bounce, std::uint64_t size, Direction dir, bool for_device) {
  if (!is_valid_mapping_direction(dir)) [[unlikely]]
    return bad_direction(dir);
  const Result<BounceMapping> m = find_range(pool_of(bounce), bounce, size);
  if (!m) return std::unexpected(m.error());
  if (for_device && device_reads(dir)) {
    copy(bounce, m->orig, size);
    bytes_to_device_.add(size);
  } else if (!for_device && device_writes(dir)) {
    copy(m->orig, bounce, size);
    bytes_from_device_.add(size);
  }
  return {};
}

Result<PhysAddr> Swiotlb::original(PhysAddr bounce) const {
  const BouncePool* pool = pool_of(bounce);
  if (pool == nullptr)
    return fail(Errc::NoBounceSlot, "{:#x} is not a bounce address", bounce.value());
  const Result<BounceMapping> m = pool->find(bounce);
  if (!m) return std::unexpected(m.error());
  return m->orig;
}

void Swiotlb::copy(PhysAddr to, PhysAddr from, std::uint64_t size) {
  std::memcpy(memory_.direct_map(to), memory_.direct_map(from), size);
}

void Swiotlb::set_warning_sink(std::function<void(const std::string&)> sink) {
  const std::scoped_lock guard(sink_lock_);
  warning_sink_ = std::move(sink);
}

void Swiotlb::warn_full(std::string_view device, std::uint64_t size, const Error& error) {
  std::uint64_t suppressed = 0;
  if (!full_reports_.allow(&suppressed)) return;
  const SwiotlbStats s = stats();
  std::string message = fmt::format(
      "{}: swiotlb buffer is full (sz: {} bytes), total {} (slots), used {} (slots): {}", device,
      size, s.total_slots, s.used_slots, error.message);
  if (suppressed != 0) message += fmt::format(" ({} similar reports suppressed)", suppressed);
  const std::scoped_lock guard(sink_lock_);
  if (warning_sink_)
    warning_sink_(message);
  else
    std::cerr << "dmakit: " << message << '\n';
}

SwiotlbStats Swiotlb::stats() const {
  SwiotlbStats s;
  s.pool = default_pool_->range();
  s.areas = default_pool_->area_count();
  s.total_slots = default_pool_->total_slots();
  s.used_slots = default_pool_->used_slots();
  s.used_hiwater = default_pool_->used_hiwater();
  for (const auto& t : transient_) {
    s.used_hiwater += t->used_hiwater();
    if (!t->active()) continue;
    ++s.transient_active;
    s.total_slots += t->total_slots();
    s.used_slots += t->used_slots();
  }
  s.transient_taken = transient_taken_.value();
  s.mappings_bounced = mappings_bounced_.value();
  s.mappings_direct = mappings_direct_.value();
  s.bytes_to_device = bytes_to_device_.value();
  s.bytes_from_device = bytes_from_device_.value();
  s.failures = failures_.value();
  return s;
}

void Swiotlb::validate() const {
  default_pool_->validate();
  for (const auto& t : transient_) t->validate();
}

}  // namespace dmakit::swiotlb
