// SPDX-License-Identifier: Apache-2.0
// A machine with its DMA facilities (dma layer).
#include "dmakit/dma/platform.h"

#include <fmt/format.h>

#include <algorithm>

#include "dmakit/core/config_error.h"
#include "dmakit/dma/declared_memory.h"
#include "dmakit/dma/device.h"

namespace dmakit::dma {

Platform::Platform(machine::Machine& machine) : machine_(machine) {
  if (machine.layout().mask_pool.empty()) return;
  mask_ = std::make_unique<alloc::MaskAllocator>(machine);
  if (machine.config().swiotlb.size != 0)
    swiotlb_ = std::make_unique<swiotlb::Swiotlb>(*mask_, machine.config().swiotlb);
}

Platform::~Platform() = default;

void Platform::remove_device(Device* device) { std::erase(devices_, device); }

void Platform::set_observer(std::unique_ptr<MappingObserver> observer) {
  observer_ = std::move(observer);
  for (Device* d : devices_) d->update_observer();
}

Device* Platform::find_device(const std::string& name) const {
  for (Device* d : devices_) {
    if (d->name() == name) return d;
  }
  return nullptr;
}

iommu::Iommu& Platform::add_iommu(const iommu::IommuConfig& config) {
  if (find_iommu(config.name) != nullptr)
    throw ConfigError("iommus.name", fmt::format("'{}' is already an IOMMU", config.name));
  iommus_.push_back(std::make_unique<iommu::Iommu>(machine_, config));
  return *iommus_.back();
}

iommu::Iommu* Platform::find_iommu(const std::string& name) const {
  for (const auto& i : iommus_) {
    if (i->name() == name) return i.get();
  }
  return nullptr;
}

void Platform::add_devices(const std::vector<DeviceConfig>& configs) {
  check_device_nodes(configs, machine_.nodes().size());
  for (std::size_t i = 0; i < configs.size(); ++i) {
    const DeviceConfig& c = configs[i];
    const std::string field = fmt::format("devices[{}]", i);
    if (find_device(c.name) != nullptr)
      throw ConfigError(field + ".name", fmt::format("'{}' is already a device", c.name));
    Device* parent = nullptr;
    if (!c.parent.empty() && (parent = find_device(c.parent)) == nullptr)
      throw ConfigError(field + ".parent",
                        fmt::format("'{}' is not a device listed before '{}'", c.parent, c.name));
    auto dev = std::make_unique<Device>(*this, c.name, parent, c.node);
    auto setup = [&](const Status& status, const std::string& key) {
      if (!status) throw ConfigError(field + "." + key, status.error().message);
    };
    if (c.iommu) {
      const DeviceIommuConfig& io = *c.iommu;
      iommu::Iommu* unit = find_iommu(io.iommu);
      if (unit == nullptr)
        throw ConfigError(field + ".iommu.name", fmt::format("'{}' is not an IOMMU", io.iommu));
      if (!io.share.empty()) {
        const Device* peer = find_device(io.share);
        if (peer == nullptr || peer->domain() == nullptr || &peer->domain()->iommu() != unit)
          throw ConfigError(
              field + ".iommu.share",
              fmt::format("'{}' is no device listed before behind {}", io.share, io.iommu));
        dev->attach(peer->domain());
      } else {
        dev->attach(&unit->create_domain(io.domain));
      }
    }
    if (c.bus_dma_limit_bits) dev->set_bus_dma_limit(dma_bit_mask(*c.bus_dma_limit_bits));
    dev->set_bus_offset(c.bus_offset);
    const Status mask = dev->set_dma_mask(dma_bit_mask(c.dma_mask_bits));
    // A negative offset that puts the lowest RAM (the mask and bounce pools) below the device's
    // view fails every mask: the offset is what is wrong, not the mask.
    const std::uint64_t first_ram = machine_.memory().ram().front().start.value();
    if (!mask && c.bus_offset < 0 && first_ram < -static_cast<std::uint64_t>(c.bus_offset))
      throw ConfigError(
          field + ".bus_offset",
          fmt::format("-{:#x} puts RAM from {:#x} up below the device's view of the "
                      "bus, with the memory its allocations and bounce buffers come "
                      "from ({})",
                      -static_cast<std::uint64_t>(c.bus_offset), first_ram, mask.error().message));
    setup(mask, "dma_mask");
    setup(dev->set_coherent_dma_mask(dma_bit_mask(c.coherent_mask_bits.value_or(c.dma_mask_bits))),
          "coherent_mask");
    setup(dev->set_max_segment_size(c.max_segment_size), "max_segment_size");
    setup(dev->set_segment_boundary_mask(dma_bit_mask(c.segment_boundary_bits)),
          "segment_boundary");
    setup(dev->set_min_align_mask(c.min_align_mask), "min_align_mask");
    if (c.force_bounce) dev->set_force_bounce(*c.force_bounce);
    if (c.declared_memory) {
      const DeclaredMemoryConfig& m = *c.declared_memory;
      setup(declare_coherent_memory(*dev, m.bus_addr, m.device_addr, m.size, m.flags),
            "declared_memory");
    }
    owned_.push_back(std::move(dev));
  }
}

}  // namespace dmakit::dma
