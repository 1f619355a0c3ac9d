// SPDX-License-Identifier: Apache-2.0
// MappingFanOut: one observer that forwards every event to several (dma layer, private). A device
// watched by more than one (its tracker and the platform's checker, say) points the mapping path
// at one of these, so the path still pays a single null check.
#pragma once

#include <vector>

#include "dmakit/dma/mapping_observer.h"

namespace dmakit::dma {

/// Forwards each device event to `targets` in order (CPU accesses and device removals go to the
/// platform's observer alone, never through here). The targets must outlive it.
class MappingFanOut final : public MappingObserver {
 public:
  explicit MappingFanOut(std::vector<MappingObserver*> targets) : targets_(std::move(targets)) {}

  void on_map(const MappingEvent& e) override {
    for (MappingObserver* o : targets_) o->on_map(e);
  }
  void on_map_refused(const MappingEvent& e, const Error& error) override {
    for (MappingObserver* o : targets_) o->on_map_refused(e, error);
  }
  void on_unmap(const MappingEvent& e) override {
    for (MappingObserver* o : targets_) o->on_unmap(e);
  }
  void on_sync(const MappingEvent& e, bool for_device) override {
    for (MappingObserver* o : targets_) o->on_sync(e, for_device);
  }
  void on_mapping_error_check(const Device& dev, DmaAddr addr) override {
    for (MappingObserver* o : targets_) o->on_mapping_error_check(dev, addr);
  }
  void on_device_access(const Device& dev, DmaAddr dma, std::uint64_t size, bool write) override {
    for (MappingObserver* o : targets_) o->on_device_access(dev, dma, size, write);
  }

 private:
  std::vector<MappingObserver*> targets_;
};

}  // namespace dmakit::dma
