// SPDX-License-Identifier: Apache-2.0
// Platform: a machine with its DMA facilities (dma layer): the mask allocator over the machine's
// pool, the bounce pool carved from it (seed 003), and the devices on it. What the kernel keeps in
// globals, here in one object per machine.
#pragma once

#include <memory>
#include <vector>

#include "dmakit/alloc/mask_allocator.h"
#include "dmakit/dma/device_config.h"
#include "dmakit/dma/mapping_observer.h"
#include "dmakit/iommu/iommu.h"
#include "dmakit/machine/machine.h"
#include "dmakit/swiotlb/swiotlb.h"

namespace dmakit::dma {

class Device;

/// Owns the mask allocator of a machine with a mask pool and the bounce pool, and lists the devices
/// created on it. Throws ConfigError when the bounce pool cannot be placed. The
/// Machine must outlive the Platform, and the Platform its Devices. Not thread-safe while devices
/// are being created.
class Platform {
 public:
  explicit Platform(machine::Machine& machine);
  ~Platform();

  Platform(const Platform&) = delete;
  Platform& operator=(const Platform&) = delete;

  [[nodiscard]] machine::Machine& machine() const { return machine_; }
  /// Null on a machine without a mask pool.
  [[nodiscard]] alloc::MaskAllocator* mask_allocator() const { return mask_.get(); }
  /// The bounce pool, or null when the machine has none (machine.swiotlb.size 0).
  [[nodiscard]] swiotlb::Swiotlb* swiotlb() const { return swiotlb_.get(); }
  /// The devices created on this platform, in creation order.
  [[nodiscard]] const std::vector<Device*>& devices() const { return devices_; }

  /// Creates, and owns, an IOMMU of the machine (seed 004: there may be several, of different
  /// types). Throws ConfigError for a type that cannot work or a name already taken.
  iommu::Iommu& add_iommu(const iommu::IommuConfig& config);
  [[nodiscard]] iommu::Iommu* find_iommu(const std::string& name) const;
  [[nodiscard]] const std::vector<std::unique_ptr<iommu::Iommu>>& iommus() const { return iommus_; }

  /// Creates, and owns, the devices a configuration describes, in order (a parent before its
  /// children), with their masks, limits and declared memory. Throws ConfigError naming the device
  /// and the field ("devices[1].parent") on anything that cannot be set up.
  void add_devices(const std::vector<DeviceConfig>& configs);
  /// A device by name, or null.
  [[nodiscard]] Device* find_device(const std::string& name) const;

  /// Gives the platform a watcher of every device on it, present and future, and of the CPU
  /// accesses made through dma/cpu_access.h (the misuse checker: debug/dma_debug.h); null removes
  /// it. The platform owns it and destroys it after the devices it owns, which report their removal
  /// to it. Set it before mapping from several threads.
  void set_observer(std::unique_ptr<MappingObserver> observer);
  [[nodiscard]] MappingObserver* observer() const { return observer_.get(); }

 private:
  friend class Device;
  void add_device(Device* device) { devices_.push_back(device); }
  void remove_device(Device* device);

  machine::Machine& machine_;
  std::unique_ptr<alloc::MaskAllocator> mask_;
  std::unique_ptr<swiotlb::Swiotlb> swiotlb_;
  std::vector<std::unique_ptr<iommu::Iommu>> iommus_;
  std::vector<Device*> devices_;
  std::unique_ptr<MappingObserver> observer_;   ///< destroyed after owned_ (devices report to it)
  std::vector<std::unique_ptr<Device>> owned_;  ///< destroyed before devices_ (they unlist)
};

}  // namespace dmakit::dma
