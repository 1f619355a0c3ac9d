// SPDX-License-Identifier: Apache-2.0
// The streaming DMA API's out-of-line parts and the direct path's scatter/gather (dma layer).
//
// Direct map_sg merges an entry into the segment before it when it starts where that segment ends
// in bus space, the merged segment stays within the device's max segment size, and it does not
// cross the segment boundary mask (a device whose descriptors cannot span a 4 GiB line, say).
// Segment k is written into entry k, as Linux does.
#include "dmakit/dma/mapping.h"

#include <fmt/format.h>

#include <bit>

#include "dmakit/dma/mapping_tracker.h"

namespace dmakit::dma {
namespace detail {

std::unexpected<Error> bad_mapping(const Device& dev, PhysAddr phys, std::uint64_t size,
                                   Direction dir) {
  if (size == 0) return fail(Errc::InvalidArgument, "{}: mapping of 0 bytes", dev.name());
  if (!is_valid_mapping_direction(dir))
    return fail(Errc::InvalidArgument, "{}: direction {} is not a mapping direction", dev.name(),
                static_cast<unsigned>(dir));
  return fail(Errc::BadAddress, "{}: physical [{:#x}, +{:#x}) is not RAM", dev.name(), phys.value(),
              size);
}

std::uint64_t phys_mask_under(const Device& dev, std::uint64_t limit) {
  // Physical P is reachable when P + offset <= limit; with a negative offset the limit is the
  // tighter bound anyway.
  const auto offset = static_cast<std::uint64_t>(dev.bus_offset());
  const std::uint64_t phys_limit =
      dev.bus_offset() >= 0 ? (limit >= offset ? limit - offset : 0) : limit;
  if (phys_limit == ~std::uint64_t{0}) return phys_limit;
  return (std::uint64_t{1} << (std::bit_width(phys_limit + 1) - 1)) - 1;
}

std::unexpected<Error> out_of_reach(const Device& dev, DmaAddr dma, std::uint64_t size) {
  return fail(Errc::AboveMask,
              "{}: bus range [{:#x}, +{:#x}) is beyond the device's reach {:#x} (mask {:#x}, bus "
              "limit {:#x}) and nothing can bounce it",
              dev.name(), dma.value(), size, dev.streaming_limit(), dev.dma_mask(),
              dev.bus_dma_limit());
}

std::unexpected<Error> bad_unmap(const Device& dev, DmaAddr dma, std::uint64_t size,
                                 Direction dir) {
  if (size == 0 || !is_valid_mapping_direction(dir))
    return bad_mapping(dev, dev.dma_to_phys(dma), size, dir);
  return fail(Errc::InvalidArgument, "{}: bus range [{:#x}, +{:#x}) was never mapped", dev.name(),
              dma.value(), size);
}

}  // namespace detail

namespace {

// The physical address behind a live mapping's bus address, for observers: the ops' inverse, or the
// direct path's (a bounced mapping's original). Only computed when an observer is attached.
PhysAddr mapped_phys(const Device& dev, DmaAddr dma) {
  if (DmaOps* ops = dev.ops()) {
    std::byte* cpu = ops->dma_to_virt(dev, dma);
    return cpu != nullptr ? dev.machine().virt_to_phys(cpu).value_or(PhysAddr{}) : PhysAddr{};
  }
  return detail::direct_mapped_phys(dev, dma);
}

PhysAddr entry_phys(const Device& dev, const ScatterEntry& e) {
  return dev.memory().page_to_phys(e.page) + e.offset;
}

// Each entry's own bus address, for observers. Ops fill DMA segments with whole entries, in order
// and back to back in bus space (direct and IOMMU merging alike), so entry i lies in its segment
// after the entries before it there. An unmapped list (nents 0) gives 0 for every entry.
class EntryWalk {
 public:
  EntryWalk(std::span<const ScatterEntry> sg, std::size_t nents) : sg_(sg), nents_(nents) {}

  struct Place {
    DmaAddr dma;
    std::uint64_t segment;  ///< the segment's length when the entry starts it, else 0
  };
  /// The next entry's place; call once per entry, in order.
  Place next(std::uint32_t length) {
    if (segment_ >= nents_) return {DmaAddr{}, 0};
    const ScatterEntry& seg = sg_[segment_];
    const Place place{seg.dma_address + used_, used_ == 0 ? seg.dma_length : 0u};
    used_ += length;
    if (used_ >= seg.dma_length) {
      ++segment_;
      used_ = 0;
    }
    return place;
  }

 private:
  std::span<const ScatterEntry> sg_;
  std::size_t nents_;
  std::size_t segment_ = 0;
  std::uint64_t used_ = 0;
};

// One event per entry of a list, each with its own bus address (and, for maps, its segment).
template <typename Notify>
void for_each_entry_event(const Device& dev, const SgTable& table, Direction dir, Notify notify) {
  const std::span<const ScatterEntry> sg = table.entries();
  EntryWalk walk(sg, table.nents());
  const auto count = static_cast<std::uint32_t>(sg.size());
  for (std::uint32_t i = 0; i < count; ++i) {
    const EntryWalk::Place place = walk.next(sg[i].length);
    notify(MappingEvent{&dev, MappingKind::SgEntry, entry_phys(dev, sg[i]), place.dma, sg[i].length,
                        dir, i, count, place.segment});
  }
}

void clear_dma(std::span<ScatterEntry> sg) {
  for (ScatterEntry& e : sg) {
    e.dma_address = DmaAddr{};
    e.dma_length = 0;
  }
}

}  // namespace

namespace detail {

Result<std::size_t> direct_map_sg(Device& dev, std::span<ScatterEntry> sg, Direction dir) {
  for (const ScatterEntry& e : sg) {
    if (e.page == nullptr || !dev.memory().owns(e.page))
      return fail(Errc::BadAddress, "{}: scatterlist entry without a page of this machine",
                  dev.name());
  }
  // Entry by entry, bouncing where needed; a failure undoes what this call mapped, copying nothing
  // back, so a list that cannot be mapped leaves nothing mapped.
  bool bounced = false;
  for (std::size_t i = 0; i < sg.size(); ++i) {
    const PhysAddr phys = entry_phys(dev, sg[i]);
    const Result<DmaAddr> dma = direct_map_phys(dev, phys, sg[i].length, dir);
    if (!dma) {
      for (std::size_t j = 0; j < i; ++j) {
        if (is_bounce_address(dev, sg[j].dma_address))
          (void)bounce_unmap(dev, sg[j].dma_address, sg[j].length, dir, /*skip_copy=*/true);
      }
      return std::unexpected(dma.error());
    }
    sg[i].dma_address = *dma;
    sg[i].dma_length = sg[i].length;
    bounced |= *dma != dev.phys_to_dma(phys);
  }
  // A bounced list keeps one segment per entry, as Linux's dma-direct does: each bounce run is
  // unmapped on its own.
  if (bounced) return sg.size();
  const std::uint64_t max_seg = dev.max_segment_size();
  const std::uint64_t boundary = dev.segment_boundary_mask();
  std::size_t segments = 0;
  DmaAddr seg_start{};
  std::uint64_t seg_len = 0;
  for (const ScatterEntry& e : sg) {
    const DmaAddr dma = e.dma_address;
    const bool merges = seg_len != 0 && dma == seg_start + seg_len &&
                        seg_len + e.length <= max_seg &&
                        (seg_start.value() & ~boundary) ==
                            ((seg_start.value() + seg_len + e.length - 1) & ~boundary);
    if (merges) {
      seg_len += e.length;
      continue;
    }
    if (seg_len != 0) {
      sg[segments].dma_address = seg_start;
      sg[segments].dma_length = static_cast<std::uint32_t>(seg_len);
      ++segments;
    }
    seg_start = dma;
    seg_len = e.length;
  }
  sg[segments].dma_address = seg_start;
  sg[segments].dma_length = static_cast<std::uint32_t>(seg_len);
  ++segments;
  for (std::size_t i = segments; i < sg.size(); ++i) {
    sg[i].dma_address = DmaAddr{};
    sg[i].dma_length = 0;
  }
  return segments;
}

Status direct_unmap_sg(Device& dev, std::span<ScatterEntry> sg, Direction dir) {
  // Every segment is unmapped even when one is refused, so nothing stays mapped by mistake.
  Status result;
  for (const ScatterEntry& e : sg) {
    if (e.dma_length == 0) continue;  // merged into the segment before
    if (Status ok = direct_unmap(dev, e.dma_address, e.dma_length, dir); !ok && result) result = ok;
  }
  return result;
}

Status direct_sync_sg(Device& dev, std::span<ScatterEntry> sg, Direction dir, bool for_device) {
  for (const ScatterEntry& e : sg) {
    if (e.dma_length == 0) continue;
    if (Status ok = direct_sync(dev, e.dma_address, e.dma_length, dir, for_device); !ok) return ok;
  }
  return {};
}

}  // namespace detail

namespace detail {

void notify_map_result(const Device& dev, MappingKind kind, PhysAddr phys,
                       const Result<DmaAddr>& dma, std::uint64_t size, Direction dir,
                       const void* cpu) {
  const MappingEvent event{&dev, kind, phys, dma.value_or(kDmaMappingError), size, dir, 0,
                           0,    0,    cpu};
  if (dma)
    dev.observer()->on_map(event);
  else
    dev.observer()->on_map_refused(event, dma.error());
}

std::unexpected<Error> oversized_mapping(const Device& dev, MappingKind kind, std::uint64_t offset,
                                         std::uint64_t size, Direction dir) {
  const Status offset_ok = check_request_bytes("offset", offset);
  const Status size_ok = check_request_bytes("size", size);
  const Error& why = offset_ok ? size_ok.error() : offset_ok.error();
  const std::unexpected<Error> refused =
      fail(Errc::InvalidArgument, "{}: mapping refused: {}", dev.name(), why.message);
  notify_map(dev, kind, PhysAddr{}, Result<DmaAddr>(refused), size, dir);
  return refused;
}

Result<DmaAddr> ops_map_page(Device& dev, machine::Page* page, std::uint64_t offset,
                             std::uint64_t size, Direction dir) {
  Result<DmaAddr> dma = dev.ops()->map_page(dev, page, offset, size, dir);
  notify_map(dev, MappingKind::Page, dev.memory().page_to_phys(page) + offset, dma, size, dir);
  return dma;
}

}  // namespace detail

Result<DmaAddr> map_single(Device& dev, const void* cpu, std::uint64_t size, Direction dir) {
  if (size > kMaxRequestBytes) [[unlikely]]
    return detail::oversized_mapping(dev, MappingKind::Single, 0, size, dir);
  const Result<PhysAddr> phys = dev.machine().virt_to_phys(cpu);
  if (!phys) {
    // vmalloc memory and pointers outside the machine (seed 004): refused, and observers told.
    const Result<DmaAddr> refused = std::unexpected(phys.error());
    detail::notify_map(dev, MappingKind::Single, PhysAddr{}, refused, size, dir, cpu);
    return refused;
  }
  if (DmaOps* ops = dev.ops()) {
    Result<DmaAddr> dma = ops->map_page(dev, dev.memory().pfn_to_page(phys_to_pfn(*phys)),
                                        phys->value() % kPageSize, size, dir);
    detail::notify_map(dev, MappingKind::Single, *phys, dma, size, dir, cpu);
    return dma;
  }
  Result<DmaAddr> dma = detail::direct_map_phys(dev, *phys, size, dir);
  detail::notify_map(dev, MappingKind::Single, *phys, dma, size, dir, cpu);
  return dma;
}

namespace {

Status unmap(Device& dev, DmaAddr addr, std::uint64_t size, Direction dir, MappingKind kind) {
  // Observers hear of the call before it is checked, so a checker sees what the ops then refuse;
  // and before it takes effect, while a bounce mapping's original can still be looked up.
  if (MappingObserver* o = dev.observer())
    o->on_unmap({&dev, kind, mapped_phys(dev, addr), addr, size, dir});
  if (DmaOps* ops = dev.ops()) return ops->unmap_page(dev, addr, size, dir);
  return detail::direct_unmap(dev, addr, size, dir);
}

Status sync(Device& dev, DmaAddr addr, std::uint64_t size, Direction dir, bool for_device) {
  // Memory is coherent on the simulated machine: a direct sync moves no bytes unless the mapping
  // bounced, but the buffer's owner changes, which observers track.
  if (MappingObserver* o = dev.observer())
    o->on_sync({&dev, MappingKind::Single, mapped_phys(dev, addr), addr, size, dir}, for_device);
  DmaOps* ops = dev.ops();
  return ops == nullptr ? detail::direct_sync(dev, addr, size, dir, for_device)
         : for_device   ? ops->sync_single_for_device(dev, addr, size, dir)
                        : ops->sync_single_for_cpu(dev, addr, size, dir);
}

}  // namespace

namespace detail {

Status unmap_dispatch(Device& dev, DmaAddr addr, std::uint64_t size, Direction dir,
                      MappingKind kind) {
  return unmap(dev, addr, size, dir, kind);
}

}  // namespace detail

Status sync_single_for_cpu(Device& dev, DmaAddr addr, std::uint64_t size, Direction dir) {
  return sync(dev, addr, size, dir, /*for_device=*/false);
}

Status sync_single_for_device(Device& dev, DmaAddr addr, std::uint64_t size, Direction dir) {
  return sync(dev, addr, size, dir, /*for_device=*/true);
}

Result<std::size_t> map_sg(Device& dev, SgTable& table, Direction dir) {
  table.set_nents(0);
  std::span<ScatterEntry> sg = table.entries();
  if (sg.empty()) return fail(Errc::InvalidArgument, "{}: empty scatterlist", dev.name());
  if (!is_valid_mapping_direction(dir))
    return fail(Errc::InvalidArgument, "{}: direction {} is not a mapping direction", dev.name(),
                static_cast<unsigned>(dir));
  Result<std::size_t> segments =
      dev.ops() != nullptr ? dev.ops()->map_sg(dev, sg, dir) : detail::direct_map_sg(dev, sg, dir);
  if (!segments) {
    clear_dma(sg);
    if (MappingObserver* o = dev.observer())
      o->on_map_refused({&dev, MappingKind::SgEntry, PhysAddr{}, kDmaMappingError, table.length(),
                         dir, 0, static_cast<std::uint32_t>(sg.size())},
                        segments.error());
    return segments;
  }
  table.set_nents(*segments);
  if (MappingObserver* o = dev.observer())
    for_each_entry_event(dev, table, dir, [o](const MappingEvent& e) { o->on_map(e); });
  return segments;
}

Status unmap_sg(Device& dev, SgTable& table, Direction dir) {
  std::span<ScatterEntry> sg = table.entries();
  if (MappingObserver* o = dev.observer())
    for_each_entry_event(dev, table, dir, [o](const MappingEvent& e) { o->on_unmap(e); });
  if (table.nents() == 0)
    return fail(Errc::InvalidArgument, "{}: scatterlist is not mapped", dev.name());
  Status ok = dev.ops() != nullptr ? dev.ops()->unmap_sg(dev, sg, dir)
                                   : detail::direct_unmap_sg(dev, sg, dir);
  if (ok) {
    clear_dma(sg);
    table.set_nents(0);
  }
  return ok;
}

namespace {

Status sync_sg(Device& dev, SgTable& table, Direction dir, bool for_device) {
  if (MappingObserver* o = dev.observer())
    for_each_entry_event(dev, table, dir,
                         [o, for_device](const MappingEvent& e) { o->on_sync(e, for_device); });
  if (table.nents() == 0)
    return fail(Errc::InvalidArgument, "{}: scatterlist is not mapped", dev.name());
  std::span<ScatterEntry> sg = table.entries();
  if (DmaOps* ops = dev.ops())
    return for_device ? ops->sync_sg_for_device(dev, sg, dir) : ops->sync_sg_for_cpu(dev, sg, dir);
  return detail::direct_sync_sg(dev, sg, dir, for_device);
}

}  // namespace

Status sync_sg_for_cpu(Device& dev, SgTable& table, Direction dir) {
  return sync_sg(dev, table, dir, /*for_device=*/false);
}

Status sync_sg_for_device(Device& dev, SgTable& table, Direction dir) {
  return sync_sg(dev, table, dir, /*for_device=*/true);
}

std::uint64_t max_mapping_size(const Device& dev) {
  return dev.ops() != nullptr ? dev.ops()->max_mapping_size(dev)
                              : detail::direct_max_mapping_size(dev);
}

bool mapping_error(const Device& dev, DmaAddr addr) {
  if (MappingObserver* o = dev.observer()) o->on_mapping_error_check(dev, addr);
  return dev.ops() != nullptr ? dev.ops()->mapping_error(dev, addr) : addr == kDmaMappingError;
}

std::byte* dma_to_virt(const Device& dev, DmaAddr addr) {
  if (const MappingTracker* tracker = dev.tracker()) return tracker->live().lookup(addr);
  return dev.ops() != nullptr ? dev.ops()->dma_to_virt(dev, addr)
                              : detail::direct_to_virt(dev, addr);
}

}  // namespace dmakit::dma
