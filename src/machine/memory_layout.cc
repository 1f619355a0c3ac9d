// SPDX-License-Identifier: Apache-2.0
// Validation of a MachineConfig and the physical memory map it gives (machine layer).
//
// RAM is laid out as firmware does on x86 (an e820 map): from address 0 upwards, skipping holes, so
// that the RAM a hole displaces ends up above it; with the default PCI hole an 8 GiB machine has
// [0, 3 GiB) and [4 GiB, 9 GiB). Nodes split RAM, zones split nodes (seed 001).
#include "dmakit/machine/memory_layout.h"

#include <fmt/format.h>

#include <algorithm>

#include "dmakit/core/config_error.h"
#include "dmakit/core/units.h"
#include "dmakit/machine/page.h"

namespace dmakit::machine {
namespace {

constexpr unsigned kMaxNodes = MachineConfig::kMaxNodes;
constexpr std::uint64_t kNodeAlign = kPageSize << kMaxOrder;

std::string range_text(PhysRange r) {
  return fmt::format("[{:#x}, {:#x})", r.start.value(), r.end.value());
}

void check_page_aligned(const std::string& field, std::uint64_t value) {
  if (!is_aligned(value, kPageSize))
    throw ConfigError(field, fmt::format("{:#x} is not a multiple of the 4 KiB page size", value));
}

std::vector<MemoryHole> plan_holes(const MachineConfig& config) {
  std::vector<MemoryHole> holes = config.holes;
  for (std::size_t i = 0; i < holes.size(); ++i) {
    const std::string field = fmt::format("machine.holes[{}]", i);
    check_page_aligned(field + ".start", holes[i].range.start.value());
    check_page_aligned(field + ".end", holes[i].range.end.value());
    if (holes[i].range.end.value() > MachineConfig::kMaxPhysEnd)
      throw ConfigError(field + ".end", fmt::format("{:#x} is past the {} physical address space",
                                                    holes[i].range.end.value(),
                                                    format_size(MachineConfig::kMaxPhysEnd)));
    if (holes[i].range.empty())
      throw ConfigError(
          field, fmt::format("{} is empty: end must be above start", range_text(holes[i].range)));
  }
  std::sort(holes.begin(), holes.end(),
            [](const MemoryHole& a, const MemoryHole& b) { return a.range.start < b.range.start; });
  for (std::size_t i = 1; i < holes.size(); ++i) {
    if (holes[i - 1].range.overlaps(holes[i].range))
      throw ConfigError("machine.holes",
                        fmt::format("hole '{}' {} overlaps hole '{}' {}", holes[i].name,
                                    range_text(holes[i].range), holes[i - 1].name,
                                    range_text(holes[i - 1].range)));
  }
  return holes;
}

std::vector<PhysRange> place_ram(std::uint64_t ram_size, const std::vector<MemoryHole>& holes) {
  std::vector<PhysRange> ram;
  std::uint64_t cursor = 0;
  std::uint64_t remaining = ram_size;
  for (const MemoryHole& hole : holes) {
    if (remaining == 0) break;
    const std::uint64_t start = hole.range.start.value();
    if (start > cursor) {
      const std::uint64_t take = std::min(remaining, start - cursor);
      ram.push_back({PhysAddr(cursor), PhysAddr(cursor + take)});
      remaining -= take;
    }
    cursor = std::max(cursor, hole.range.end.value());
  }
  if (remaining != 0) ram.push_back({PhysAddr(cursor), PhysAddr(cursor + remaining)});
  return ram;
}

// The address below which `bytes` of RAM lie.
std::uint64_t address_after_ram(const std::vector<PhysRange>& ram, std::uint64_t bytes) {
  for (const PhysRange& r : ram) {
    if (bytes <= r.size()) return r.start.value() + bytes;
    bytes -= r.size();
  }
  return ram.back().end.value();
}

std::vector<PhysRange> plan_nodes(const MachineConfig& config, const MemoryLayout& layout) {
  const std::uint64_t ram_end = layout.ram_end.value();
  std::vector<PhysRange> nodes;
  if (config.node_ranges.empty()) {
    const unsigned n = config.node_count;
    if (n == 0 || n > kMaxNodes)
      throw ConfigError("machine.nodes", fmt::format("{} nodes: must be 1 to {}", n, kMaxNodes));
    std::uint64_t start = 0;
    for (unsigned k = 1; k <= n; ++k) {
      const std::uint64_t end =
          k == n ? ram_end
                 : align_down(address_after_ram(layout.ram, config.ram_size / n * k), kNodeAlign);
      if (end <= start || layout.ram_bytes_in({PhysAddr(start), PhysAddr(end)}) == 0)
        throw ConfigError("machine.nodes",
                          fmt::format("{} nodes cannot split {} of RAM on 4 MiB boundaries", n,
                                      format_size(config.ram_size)));
      nodes.push_back({PhysAddr(start), PhysAddr(end)});
      start = end;
    }
    return nodes;
  }

  if (config.node_ranges.size() > kMaxNodes)
    throw ConfigError("machine.nodes",
                      fmt::format("{} nodes: at most {}", config.node_ranges.size(), kMaxNodes));
  std::uint64_t covered = 0;
  for (std::size_t i = 0; i < config.node_ranges.size(); ++i) {
    const std::string field = fmt::format("machine.nodes[{}]", i);
    PhysRange r = config.node_ranges[i];
    check_page_aligned(field + ".start", r.start.value());
    check_page_aligned(field + ".end", r.end.value());
    if (r.empty())
      throw ConfigError(field, fmt::format("{} is empty: end must be above start", range_text(r)));
    for (std::size_t j = 0; j < i; ++j) {
      if (r.overlaps(config.node_ranges[j]))
        throw ConfigError(field, fmt::format("{} overlaps nodes[{}] {}", range_text(r), j,
                                             range_text(config.node_ranges[j])));
    }
    // Frames past the end of RAM have no metadata: a node's span stops there.
    r.end = std::min(r.end, layout.ram_end);
    const std::uint64_t bytes = r.empty() ? 0 : layout.ram_bytes_in(r);
    if (bytes == 0)
      throw ConfigError(field, fmt::format("{} holds no RAM", range_text(config.node_ranges[i])));
    covered += bytes;
    nodes.push_back(r);
  }
  if (covered != config.ram_size) {
    std::string ram_text;
    for (const PhysRange& r : layout.ram)
      ram_text += (ram_text.empty() ? "" : ", ") + range_text(r);
    throw ConfigError("machine.nodes",
                      fmt::format("nodes cover {} of RAM, the machine has {} in {}",
                                  format_size(covered), format_size(config.ram_size), ram_text));
  }
  return nodes;
}

void check_swiotlb(const SwiotlbConfig& swiotlb) {
  const auto check_segments = [](const char* field, std::uint64_t bytes) {
    if (bytes % SwiotlbConfig::kSegmentBytes != 0)
      throw ConfigError(field, fmt::format("{} is not a multiple of 256 KiB (128 slots of 2 KiB)",
                                           format_size(bytes)));
  };
  check_segments("machine.swiotlb.size", swiotlb.size);
  check_segments("machine.swiotlb.transient_size", swiotlb.transient_size);
  if (swiotlb.transient_pools > 0 && swiotlb.transient_size == 0)
    throw ConfigError("machine.swiotlb.transient_size", "transient pools need a size");
  if (swiotlb.limit == 0 || swiotlb.limit % kPageSize != 0)
    throw ConfigError("machine.swiotlb.limit",
                      fmt::format("{:#x} is not a non-zero page multiple", swiotlb.limit));
  // Each area holds at least one segment, as Linux's swiotlb limits its areas to the slabs it has;
  // more were silently cut down to the segment count.
  const std::uint64_t segments = swiotlb.size / SwiotlbConfig::kSegmentBytes;
  if (swiotlb.size != 0 && swiotlb.areas > segments)
    throw ConfigError("machine.swiotlb.areas",
                      fmt::format("{}: at most {}, one per 256 KiB segment of the {} pool",
                                  swiotlb.areas, segments, format_size(swiotlb.size)));
}

PhysRange plan_mask_pool(const MachineConfig& config, const MemoryLayout& layout) {
  constexpr std::uint64_t kMaxPool = 2 * kGiB;  // the 2008 patches' MASK_ZONE_LIMIT
  check_swiotlb(config.swiotlb);
  if (config.mask_pool_size == 0) {
    if (config.swiotlb.size != 0)
      throw ConfigError("machine.swiotlb.size",
                        "the bounce pool is carved from the mask pool (seed 003): give mask_pool a "
                        "size, or set swiotlb.size to 0");
    return {};
  }
  check_page_aligned("machine.mask_pool.size", config.mask_pool_size);
  // Transient pools are taken from the mask pool, so no more than fit in it can ever exist; they
  // are built when the machine starts, so the bound also bounds what they cost the host.
  const SwiotlbConfig& tlb = config.swiotlb;
  if (tlb.transient_pools != 0 &&
      tlb.transient_pools > config.mask_pool_size / std::max<std::uint64_t>(tlb.transient_size, 1))
    throw ConfigError("machine.swiotlb.transient_pools",
                      fmt::format("{} pools of {} do not fit the {} mask pool they come from",
                                  tlb.transient_pools, format_size(tlb.transient_size),
                                  format_size(config.mask_pool_size)));
  // The pool holds the bounce slots as well as what its other users were promised.
  const std::uint64_t size = config.mask_pool_size + config.swiotlb.size;
  const PhysRange first = layout.ram.front();
  if (size > kMaxPool || size >= config.ram_size || size > first.size())
    throw ConfigError(
        "machine.mask_pool.size",
        fmt::format("{} (with the {} bounce pool) must be at most 2 GiB, less than "
                    "the RAM, and fit in the first RAM range {}",
                    format_size(size), format_size(config.swiotlb.size), range_text(first)));
  if (config.zone_dma_limit)
    throw ConfigError("machine.zones.dma",
                      "the mask pool replaces ZONE_DMA: set mask_pool.size to 0 to keep the zone");
  return {first.start, first.start + size};
}

std::vector<ZoneSpan> plan_zones(const MachineConfig& config, const MemoryLayout& layout) {
  const auto& dma = config.zone_dma_limit;
  const auto& dma32 = config.zone_dma32_limit;
  if (dma) {
    check_page_aligned("machine.zones.dma", *dma);
    if (*dma == 0) throw ConfigError("machine.zones.dma", "a zone limit must be above 0");
  }
  if (dma32) {
    check_page_aligned("machine.zones.dma32", *dma32);
    if (*dma32 <= dma.value_or(0))
      throw ConfigError("machine.zones.dma32", fmt::format("{:#x} must be above zones.dma ({:#x})",
                                                           *dma32, dma.value_or(0)));
  }
  struct KindRange {
    ZoneKind kind;
    std::uint64_t start;
    std::uint64_t end;
  };
  std::vector<KindRange> kinds;
  std::uint64_t low = 0;
  if (dma) kinds.push_back({ZoneKind::Dma, 0, low = *dma});
  if (dma32) kinds.push_back({ZoneKind::Dma32, low, low = *dma32});
  kinds.push_back({ZoneKind::Normal, low, ~std::uint64_t{0}});

  std::vector<ZoneSpan> zones;
  for (unsigned node = 0; node < layout.nodes.size(); ++node) {
    const PhysRange n = layout.nodes[node];
    for (const KindRange& k : kinds) {
      const std::uint64_t start = std::clamp(k.start, n.start.value(), n.end.value());
      const std::uint64_t end = std::clamp(k.end, n.start.value(), n.end.value());
      const PhysRange span{PhysAddr(start), PhysAddr(end)};
      zones.push_back({k.kind, node, span, layout.zone_ram_bytes_in(span) / kPageSize});
    }
  }
  return zones;
}

void check_tunables(const MachineConfig& config) {
  if (config.page_cache_high != 0) {
    if (config.page_cache_batch == 0 || config.page_cache_batch > config.page_cache_high)
      throw ConfigError("machine.page_cache.batch",
                        fmt::format("{} must be 1 to page_cache.high ({})", config.page_cache_batch,
                                    config.page_cache_high));
    if (config.page_cache_shards > 1024)
      throw ConfigError("machine.page_cache.shards",
                        fmt::format("{} is more than 1024", config.page_cache_shards));
  }
  if (config.vmalloc_size == 0 || config.vmalloc_size > kTiB ||
      !is_aligned(config.vmalloc_size, kPageSize))
    throw ConfigError(
        "machine.vmalloc",
        fmt::format("{:#x} must be a page multiple from 4 KiB to 1 TiB", config.vmalloc_size));
}

}  // namespace

std::string_view zone_kind_name(ZoneKind kind) {
  switch (kind) {
    case ZoneKind::Dma:
      return "DMA";
    case ZoneKind::Dma32:
      return "DMA32";
    case ZoneKind::Normal:
      return "Normal";
  }
  return "?";
}

std::vector<PhysRange> MemoryLayout::zone_ram() const {
  std::vector<PhysRange> ranges;
  for (const PhysRange& r : ram) {
    if (!r.overlaps(mask_pool)) {
      ranges.push_back(r);
      continue;
    }
    if (r.start < mask_pool.start) ranges.push_back({r.start, mask_pool.start});
    if (mask_pool.end < r.end) ranges.push_back({mask_pool.end, r.end});
  }
  return ranges;
}

std::uint64_t MemoryLayout::zone_ram_bytes_in(PhysRange range) const {
  std::uint64_t bytes = ram_bytes_in(range);
  const PhysAddr start = std::max(mask_pool.start, range.start);
  const PhysAddr end = std::min(mask_pool.end, range.end);
  if (start < end) bytes -= end - start;
  return bytes;
}

std::uint64_t MemoryLayout::ram_bytes_in(PhysRange range) const {
  std::uint64_t bytes = 0;
  for (const PhysRange& r : ram) {
    const PhysAddr start = std::max(r.start, range.start);
    const PhysAddr end = std::min(r.end, range.end);
    if (start < end) bytes += end - start;
  }
  return bytes;
}

MemoryLayout MemoryLayout::plan(const MachineConfig& config) {
  if (config.ram_size == 0 || config.ram_size > MachineConfig::kMaxRam)
    throw ConfigError("machine.ram",
                      fmt::format("{} must be from 4 KiB to {}", format_size(config.ram_size),
                                  format_size(MachineConfig::kMaxRam)));
  check_page_aligned("machine.ram", config.ram_size);
  check_tunables(config);

  MemoryLayout layout;
  layout.holes = plan_holes(config);
  layout.ram = place_ram(config.ram_size, layout.holes);
  layout.ram_end = layout.ram.back().end;
  if (layout.ram_end.value() > MachineConfig::kMaxPhysEnd) {
    // The RAM a hole displaces moves above it: name the hole that pushed it out of the space.
    std::size_t last = 0;
    for (std::size_t i = 1; i < config.holes.size(); ++i)
      if (config.holes[i].range.end > config.holes[last].range.end) last = i;
    throw ConfigError(
        fmt::format("machine.holes[{}]", last),
        fmt::format("'{}' {} leaves no room for {} of RAM below {}", config.holes[last].name,
                    range_text(config.holes[last].range), format_size(config.ram_size),
                    format_size(MachineConfig::kMaxPhysEnd)));
  }
  layout.nodes = plan_nodes(config, layout);
  layout.mask_pool = plan_mask_pool(config, layout);
  layout.zones = plan_zones(config, layout);
  return layout;
}

}  // namespace dmakit::machine
