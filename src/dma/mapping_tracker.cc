// SPDX-License-Identifier: Apache-2.0
// The table of live mappings (dma layer).
#include "dmakit/dma/mapping_tracker.h"

#include "dmakit/dma/device.h"

namespace dmakit::dma {

void MappingTracker::on_map(const MappingEvent& e) {
  if (e.kind == MappingKind::Coherent) return;
  // Sg entries come with their own bus address, merged or not; only the entries of a list that is
  // not mapped have none (0).
  if (e.kind == MappingKind::SgEntry && e.dma == DmaAddr{}) return;
  live_.insert(e.dma, e.device->memory().direct_map(e.phys), e.size);
}

void MappingTracker::on_unmap(const MappingEvent& e) {
  if (e.kind == MappingKind::Coherent) return;
  if (e.kind == MappingKind::SgEntry && e.dma == DmaAddr{}) return;
  // Observers hear of an unmap before it is checked: an unmap of nothing is the unmap call's error
  // to report, and a refused one of something forgets it here all the same.
  (void)live_.erase(e.dma, e.size);
}

}  // namespace dmakit::dma
