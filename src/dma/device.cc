// SPDX-License-Identifier: Apache-2.0
// Device configuration and dma_supported() (dma layer).
#include "dmakit/dma/device.h"

#include <algorithm>

#include "dma/mapping_fan_out.h"
#include "dmakit/dma/declared_memory.h"
#include "dmakit/dma/direct.h"
#include "dmakit/dma/dma_ops.h"
#include "dmakit/dma/iommu_ops.h"
#include "dmakit/dma/mapping_tracker.h"
#include "dmakit/iommu/iommu.h"
#include "dmakit/swiotlb/swiotlb.h"

namespace dmakit::dma {

Device::Device(Platform& platform, std::string name, Device* parent, int node)
    : platform_(platform),
      memory_(platform.machine().memory()),
      name_(std::move(name)),
      parent_(parent),
      node_(node),
      swiotlb_(platform.swiotlb()),
      force_bounce_(swiotlb_ != nullptr && swiotlb_->force()) {
  update_may_bounce();
  update_observer();
  platform_.add_device(this);
}

void Device::update_may_bounce() {
  // All RAM is reachable when its first byte does not fall below the bus's view and its last byte
  // lies under the streaming limit.
  const auto ram = memory_.ram();
  const bool below_view =
      bus_offset_ < 0 && ram.front().start.value() < static_cast<std::uint64_t>(-bus_offset_);
  const DmaAddr ram_start = phys_to_dma(ram.front().start);
  const bool limited = below_view || phys_to_dma(ram.back().end - 1).value() > streaming_limit() ||
                       in_local_window(ram_start, phys_to_dma(ram.back().end) - ram_start);
  may_bounce_ = swiotlb_ != nullptr && (force_bounce_ || limited);
}

void Device::set_bus_dma_limit(std::uint64_t limit) {
  bus_dma_limit_ = limit;
  update_may_bounce();
}

void Device::set_bus_offset(std::int64_t offset) {
  bus_offset_ = offset;
  update_may_bounce();
}

void Device::set_force_bounce(bool force) {
  force_bounce_ = force;
  update_may_bounce();
}

Status Device::set_min_align_mask(std::uint64_t mask) {
  if (!is_contiguous_mask(mask) && mask != 0)
    return fail(Errc::InvalidArgument, "{}: min align mask {:#x} is not of the form 2^n - 1", name_,
                mask);
  min_align_mask_ = mask;
  return {};
}

Device::~Device() {
  // The platform's observer hears of the removal first: a checker reports what the device still
  // has mapped. Only it: a device's own watchers may be gone already (they need only outlive use).
  if (MappingObserver* o = platform_.observer()) o->on_device_removed(*this);
  // The region goes back to the machine with the device; its bytes are gone with it.
  if (declared_ != nullptr) (void)machine().device_memory().remove(declared_->region().range.start);
  platform_.remove_device(this);
}

void Device::attach(iommu::Domain* domain) {
  domain_ = domain;
  if (const DeclaredMemory* mem = declared_.get()) {
    const Status kept = reserve_window(domain, mem->device_addr(), mem->size());
    DMAKIT_CHECK(kept.has_value(), "{}: its declared memory's window cannot be kept from IOVAs: {}",
                 name_, kept.error().message);
  }
  const bool translated = domain != nullptr && domain->config().kind != iommu::DomainKind::Identity;
  if (translated)
    ops_ = &IommuOps::instance();
  else if (ops_ == &IommuOps::instance())
    ops_ = nullptr;
}

void Device::set_observer(MappingObserver* observer) {
  own_observer_ = observer;
  update_observer();
}

void Device::set_tracker(MappingTracker* tracker) {
  tracker_ = tracker;
  update_observer();
}

void Device::update_observer() {
  std::vector<MappingObserver*> targets;
  for (MappingObserver* o :
       {own_observer_, static_cast<MappingObserver*>(tracker_), platform_.observer()}) {
    if (o != nullptr) targets.push_back(o);
  }
  observer_ = targets.empty() ? nullptr : targets.front();
  fan_out_.reset();
  if (targets.size() > 1) {
    fan_out_ = std::make_unique<MappingFanOut>(std::move(targets));
    observer_ = fan_out_.get();
  }
}

void Device::set_declared_memory(std::unique_ptr<DeclaredMemory> memory) {
  declared_ = std::move(memory);
  update_may_bounce();
}

bool Device::meets_declared_window(DmaAddr dma, std::uint64_t size) const {
  const DeclaredMemory* mem = declared_memory_for(*this);
  return mem != nullptr && mem->meets_window(dma, size);
}

bool Device::dma_supported(std::uint64_t mask) const {
  return ops_ != nullptr ? ops_->dma_supported(*this, mask)
                         : detail::direct_dma_supported(*this, mask);
}

namespace {

Status check_mask(const Device& dev, std::uint64_t mask) {
  if (!is_contiguous_mask(mask))
    return fail(Errc::InvalidArgument, "{}: mask {:#x} is not of the form 2^n - 1", dev.name(),
                mask);
  if (!dev.dma_supported(mask))
    return fail(Errc::BadAddress,
                "{}: mask {:#x} reaches no memory of this platform and nothing can bounce or remap "
                "for it",
                dev.name(), mask);
  return {};
}

}  // namespace

Status Device::set_dma_mask(std::uint64_t mask) {
  if (Status ok = check_mask(*this, mask); !ok) return ok;
  dma_mask_ = mask;
  update_may_bounce();
  return {};
}

Status Device::set_coherent_dma_mask(std::uint64_t mask) {
  if (Status ok = check_mask(*this, mask); !ok) return ok;
  coherent_dma_mask_ = mask;
  return {};
}

Status Device::set_dma_mask_and_coherent(std::uint64_t mask) {
  if (Status ok = check_mask(*this, mask); !ok) return ok;
  dma_mask_ = mask;
  coherent_dma_mask_ = mask;
  update_may_bounce();
  return {};
}

Status Device::set_max_segment_size(std::uint64_t size) {
  if (size == 0) return fail(Errc::InvalidArgument, "{}: max segment size 0", name_);
  max_segment_size_ = size;
  return {};
}

Status Device::set_segment_boundary_mask(std::uint64_t mask) {
  if (!is_contiguous_mask(mask))
    return fail(Errc::InvalidArgument, "{}: segment boundary mask {:#x} is not 2^n - 1", name_,
                mask);
  segment_boundary_mask_ = mask;
  return {};
}

}  // namespace dmakit::dma
