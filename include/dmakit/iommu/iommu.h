// SPDX-License-Identifier: Apache-2.0
// Iommu: one IOMMU instance of the machine (iommu layer; seeds 000, 002 and 004): its type (page
// table format, IOTLB geometry, granule), its domains, the translation every access of a device
// behind it goes through, and the faults it records. Also the layer's umbrella header.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "dmakit/core/stats.h"
#include "dmakit/iommu/domain.h"
#include "dmakit/iommu/fault.h"
#include "dmakit/iommu/io_page_table.h"
#include "dmakit/iommu/iommu_costs.h"
#include "dmakit/iommu/iotlb.h"
#include "dmakit/iommu/iova_allocator.h"
#include "dmakit/iommu/perm.h"
#include "dmakit/machine/machine.h"

namespace dmakit::iommu {

/// What kind of IOMMU it is (seed 004: one machine may have several slightly different ones).
struct IommuConfig {
  std::string name = "iommu0";
  PageTableFormat page_table;
  IotlbConfig iotlb;
  IommuCosts costs;
};

/// A snapshot of an IOMMU's translation counters.
struct IommuStats {
  std::uint64_t translations = 0;  ///< pages translated for device accesses
  std::uint64_t walks = 0;         ///< page-table walks (IOTLB misses)
  std::uint64_t walk_levels = 0;   ///< table entries those walks read
  std::uint64_t stale_hits = 0;    ///< accesses through an IOTLB entry whose mapping is gone
  std::uint64_t faults = 0;
  IotlbStats iotlb;
};

/// An IOMMU. Owns its domains; devices are attached to them by the dma layer. Thread-safe.
class Iommu {
 public:
  /// Throws ConfigError for a page-table format or IOTLB geometry that cannot work.
  Iommu(machine::Machine& machine, IommuConfig config);
  ~Iommu();

  Iommu(const Iommu&) = delete;
  Iommu& operator=(const Iommu&) = delete;

  [[nodiscard]] const IommuConfig& config() const { return config_; }
  [[nodiscard]] const std::string& name() const { return config_.name; }
  [[nodiscard]] machine::Machine& machine() const { return machine_; }
  [[nodiscard]] Iotlb& iotlb() { return iotlb_; }
  [[nodiscard]] const FaultLog& faults() const { return faults_; }

  /// A new domain, owned by this IOMMU for its whole life.
  Domain& create_domain(const DomainConfig& config);
  [[nodiscard]] std::vector<const Domain*> domains() const;

  /// Translates one access of `device` in `domain` to the byte at `iova`, as the hardware does:
  /// the IOTLB, else a page walk whose result is cached. Fault, recorded with the device's name,
  /// when nothing maps `iova` or the mapping lacks `needed`. An identity domain passes the
  /// address through. The translation is good up to the end of the returned page.
  [[nodiscard]] Result<Translation> translate(const Domain& domain, IovaAddr iova, Perm needed,
                                              std::string_view device);

  /// Modeled time, in nanoseconds since the IOMMU started; advancing it runs the deferred flushes
  /// that fall due.
  void advance(std::uint64_t ns);
  [[nodiscard]] std::uint64_t now_ns() const { return now_ns_.load(std::memory_order_relaxed); }

  [[nodiscard]] IommuStats stats() const;
  /// What this IOMMU's and its domains' events so far cost, at its type's costs.
  [[nodiscard]] IommuCostBreakdown modeled_cost() const;

 private:
  machine::Machine& machine_;
  const IommuConfig config_;
  Iotlb iotlb_;
  FaultLog faults_;
  std::atomic<std::uint64_t> now_ns_{0};
  mutable std::mutex domains_lock_;
  std::vector<std::unique_ptr<Domain>> domains_;  ///< guarded by domains_lock_
  Counter translations_;
  Counter walks_;
  Counter walk_levels_;
  Counter stale_hits_;
};

}  // namespace dmakit::iommu
