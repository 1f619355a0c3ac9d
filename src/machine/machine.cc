// SPDX-License-Identifier: Apache-2.0
// Building a Machine from its layout (machine layer).
#include "dmakit/machine/machine.h"

#include <algorithm>

namespace dmakit::machine {
namespace {

// Linux's setup_per_zone_lowmem_reserve(): a request whose highest zone is `highest` may fall into
// `zone` only while it leaves free the pages of the zones between them, divided by the zone's
// ratio.
void set_lowmem_reserves(const NumaNode& node, const std::array<unsigned, 2>& ratio) {
  for (unsigned low = 0; low < kZoneKinds - 1; ++low) {
    Zone* zone = node.zones[low];
    if (zone == nullptr || ratio[low] == 0) continue;
    std::uint64_t above = 0;
    for (unsigned high = low + 1; high < kZoneKinds; ++high) {
      if (const Zone* upper = node.zones[high]; upper != nullptr) above += upper->present_pages();
      zone->set_lowmem_reserve(static_cast<ZoneKind>(high), above / ratio[low]);
    }
  }
}

}  // namespace

Machine::Machine(const MachineConfig& config)
    : config_(config),
      layout_(MemoryLayout::plan(config)),
      memory_(std::make_unique<PhysMemory>(layout_.ram)) {
  nodes_.resize(layout_.nodes.size());
  for (unsigned n = 0; n < nodes_.size(); ++n)
    nodes_[n] = {n, layout_.nodes[n], layout_.ram_bytes_in(layout_.nodes[n]) / kPageSize, {}};

  for (const ZoneSpan& span : layout_.zones) {
    auto zone = std::make_unique<Zone>(static_cast<unsigned>(zones_.size()), span,
                                       memory_->mem_map(), config_);
    for (const PhysRange& ram : layout_.zone_ram()) {
      const PhysAddr start = std::max(ram.start, span.span.start);
      const PhysAddr end = std::min(ram.end, span.span.end);
      if (start < end) zone->add_free_range(phys_to_pfn(start), phys_to_pfn(end));
    }
    nodes_[span.node].zones[static_cast<unsigned>(span.kind)] = zone.get();
    zone_ptrs_.push_back(zone.get());
    zones_.push_back(std::move(zone));
  }
  for (const NumaNode& node : nodes_) set_lowmem_reserves(node, config_.lowmem_reserve_ratio);

  page_allocator_ =
      std::make_unique<PageAllocator>(*memory_, zone_ptrs_, nodes_, layout_.mask_pool);
  vmalloc_ = std::make_unique<VmallocArea>(*memory_, *page_allocator_, config_.vmalloc_size);
  device_memory_ = std::make_unique<DeviceMemoryMap>(layout_.ram);
}

Machine::~Machine() = default;

Result<PhysAddr> Machine::virt_to_phys(const void* ptr) const {
  if (vmalloc_->contains(ptr))
    return fail(Errc::BadAddress,
                "{} is a vmalloc address: its pages are not physically contiguous, so it has no "
                "single physical address (use vmalloc_to_page per page)",
                ptr);
  return memory_->virt_to_phys(ptr);
}

unsigned Machine::node_of(PhysAddr addr) const {
  for (const NumaNode& node : nodes_) {
    if (node.span.contains(addr)) return node.id;
  }
  return 0;
}

void Machine::validate() const { page_allocator_->validate(); }

}  // namespace dmakit::machine
