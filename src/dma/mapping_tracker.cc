// SPDX-License-Identifier: Apache-2.0
// The table of live mappings (dma layer).
#include "dmakit/dma/mapping_tracker.h"

#include "dmakit/dma/device.h"

namespace dmakit::dma {

void MappingTracker::on_map(const MappingEvent& e) {
  if (e.kind == MappingKind::Coherent) return;
  // Sg entries are recorded by their own bus address, which the direct path reports; ops that
  // merge or remap give no per-entry address and keep their own inverse.
  if (e.kind == MappingKind::SgEntry && e.dma == DmaAddr{}) return;
  live_.insert(e.dma, e.device->memory().direct_map(e.phys), e.size);
}

void MappingTracker::on_unmap(const MappingEvent& e) {
  if (e.kind == MappingKind::Coherent) return;
  if (e.kind == MappingKind::SgEntry && e.dma == DmaAddr{}) return;
  (void)live_.erase(e.dma, e.size);  // an unmap of nothing is the unmap call's error to report
}

}  // namespace dmakit::dma
