// SPDX-License-Identifier: Apache-2.0
// An IOMMU's translation of device accesses (iommu layer): the IOTLB first, a page walk on a miss,
// a recorded fault for anything unmapped or not permitted, as VT-d and SMMU hardware do.
#include "dmakit/iommu/iommu.h"

#include <fmt/format.h>

namespace dmakit::iommu {

Iommu::Iommu(machine::Machine& machine, IommuConfig config)
    : machine_(machine), config_(std::move(config)), iotlb_(config_.iotlb) {}

Iommu::~Iommu() = default;

Domain& Iommu::create_domain(const DomainConfig& config) {
  const std::scoped_lock guard(domains_lock_);
  const auto id = static_cast<DomainId>(domains_.size() + 1);
  domains_.push_back(std::make_unique<Domain>(*this, id, config));
  return *domains_.back();
}

std::vector<const Domain*> Iommu::domains() const {
  const std::scoped_lock guard(domains_lock_);
  std::vector<const Domain*> out;
  for (const auto& d : domains_) out.push_back(d.get());
  return out;
}

Result<Translation> Iommu::translate(const Domain& domain, IovaAddr iova, Perm needed,
                                     std::string_view device) {
  translations_.add();
  if (domain.config().kind == DomainKind::Identity)
    return Translation{PhysAddr(iova.value()), Perm::ReadWrite, kPageSize, 0};
  const auto refuse = [&](FaultReason reason) -> Result<Translation> {
    const bool write = allows(needed, Perm::Write);
    faults_.record({std::string(device), domain.id(), iova, write, reason});
    return fail(Errc::Fault, "{}: {} {}: {} of IOVA {:#x} in domain {} refused ({})", name(),
                device, write ? "write" : "read", fault_reason_name(reason), iova.value(),
                domain.id(), reason == FaultReason::NotMapped ? "no translation" : "not permitted");
  };
  if (const std::optional<IotlbTranslation> hit = iotlb_.lookup(domain.id(), iova)) {
    if (!allows(hit->perm, needed)) return refuse(FaultReason::NoPermission);
    // The hardware trusts its cache; the model notes when that trust is misplaced (the window a
    // deferred invalidation leaves open).
    if (!domain.translate(iova)) stale_hits_.add();
    return Translation{hit->phys, hit->perm, hit->page_size, 0};
  }
  walks_.add();
  const std::optional<Translation> walked = domain.translate(iova);
  walk_levels_.add(walked ? walked->levels_walked : config_.page_table.levels);
  if (!walked) return refuse(FaultReason::NotMapped);
  (void)iotlb_.insert(domain.id(), iova, {walked->phys, walked->perm, walked->page_size});
  if (!allows(walked->perm, needed)) return refuse(FaultReason::NoPermission);
  return *walked;
}

void Iommu::advance(std::uint64_t ns) {
  const std::uint64_t now = now_ns_.fetch_add(ns, std::memory_order_relaxed) + ns;
  std::vector<Domain*> due;
  {
    const std::scoped_lock guard(domains_lock_);
    for (const auto& d : domains_) due.push_back(d.get());
  }
  for (Domain* d : due) d->expire(now);
}

IommuStats Iommu::stats() const {
  return {translations_.value(), walks_.value(),  walk_levels_.value(),
          stale_hits_.value(),   faults_.count(), iotlb_.stats()};
}

IommuCostBreakdown Iommu::modeled_cost() const {
  std::vector<DomainStats> domains;
  for (const Domain* d : this->domains()) domains.push_back(d->stats());
  return iommu::modeled_cost(config_.costs, stats(), domains);
}

}  // namespace dmakit::iommu
