// SPDX-License-Identifier: Apache-2.0
// MappingTracker: the table of live streaming mappings a device can ask for (dma layer; seed 004),
// so that its reverse lookup answers only for what is mapped now, whatever its ops.
#pragma once

#include "dmakit/dma/mapping_observer.h"
#include "dmakit/dma/reverse_map.h"

namespace dmakit::dma {

/// An observer that records every live mapping of the devices it watches in a DmaReverseMap. A
/// device that attaches one (Device::set_tracker) gets dma_to_virt() answers for live mappings
/// only; the direct path pays for the table only on devices that have it. Thread-safe.
class MappingTracker final : public MappingObserver {
 public:
  void on_map(const MappingEvent& event) override;
  void on_unmap(const MappingEvent& event) override;

  [[nodiscard]] const DmaReverseMap& live() const { return live_; }

 private:
  DmaReverseMap live_;
};

}  // namespace dmakit::dma
