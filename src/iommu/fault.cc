// SPDX-License-Identifier: Apache-2.0
// The fault log (iommu layer).
#include "dmakit/iommu/fault.h"

namespace dmakit::iommu {

const char* fault_reason_name(FaultReason reason) {
  return reason == FaultReason::NotMapped ? "not-mapped" : "no-permission";
}

void FaultLog::record(Fault fault) {
  count_.add();
  const std::scoped_lock guard(lock_);
  if (faults_.size() < capacity_) faults_.push_back(std::move(fault));
}

std::vector<Fault> FaultLog::recorded() const {
  const std::scoped_lock guard(lock_);
  return faults_;
}

}  // namespace dmakit::iommu
