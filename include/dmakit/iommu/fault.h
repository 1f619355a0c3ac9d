// SPDX-License-Identifier: Apache-2.0
// Faults: device accesses an IOMMU refused (iommu layer; seed 002: a device assigned to a virtual
// machine cannot overwrite memory outside what its owner mapped). Recorded, never acted on.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "dmakit/core/addr.h"
#include "dmakit/core/stats.h"
#include "dmakit/iommu/iotlb.h"

namespace dmakit::iommu {

enum class FaultReason : std::uint8_t {
  NotMapped,     ///< no translation for the address (never mapped, or unmapped and flushed)
  NoPermission,  ///< mapped, but not for this access: a write to a TO_DEVICE mapping, say
};

[[nodiscard]] const char* fault_reason_name(FaultReason reason);

/// One refused access.
struct Fault {
  std::string device;
  DomainId domain = 0;
  IovaAddr iova;
  bool write = false;
  FaultReason reason = FaultReason::NotMapped;
};

/// The faults an IOMMU recorded: the first `capacity` kept in full, all of them counted.
/// Thread-safe.
class FaultLog {
 public:
  explicit FaultLog(std::size_t capacity = 1024) : capacity_(capacity) {}

  void record(Fault fault);
  /// The faults kept, oldest first.
  [[nodiscard]] std::vector<Fault> recorded() const;
  [[nodiscard]] std::uint64_t count() const { return count_.value(); }

 private:
  const std::size_t capacity_;
  mutable std::mutex lock_;
  std::vector<Fault> faults_;  ///< guarded by lock_
  Counter count_;
};

}  // namespace dmakit::iommu
