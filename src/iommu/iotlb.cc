// SPDX-License-Identifier: Apache-2.0
// The IOTLB model (iommu layer): a set-associative cache of leaf translations with LRU replacement
// in each set, and page-, domain- and global-selective invalidation as VT-d and the Arm SMMU offer.
//
// A range invalidation visits only the sets its pages index when it spans fewer pages than there
// are sets, else every set once, so invalidating a 1 GiB range costs one sweep of the IOTLB, not a
// probe per 4 KiB page.
#include "dmakit/iommu/iotlb.h"

#include <algorithm>
#include <bit>
#include <mutex>

#include "dmakit/core/config_error.h"

namespace dmakit::iommu {
namespace {

unsigned checked_ways(const IotlbConfig& config) {
  try {
    check_config(config);
  } catch (const ConfigError& e) {
    throw e.under("iommu");
  }
  return config.ways;
}

std::vector<unsigned> checked_shifts(std::uint64_t page_sizes) {
  std::vector<unsigned> shifts;
  for (unsigned shift = 0; shift < 64; ++shift) {
    if ((page_sizes >> shift & 1) != 0) shifts.push_back(shift);
  }
  return shifts;
}

}  // namespace

void check_config(const IotlbConfig& config) {
  if (config.entries == 0 || config.entries > IotlbConfig::kMaxEntries)
    throw ConfigError("iotlb.entries",
                      fmt::format("{}: must be 1 to {} (real IOTLBs hold at most a few thousand)",
                                  config.entries, IotlbConfig::kMaxEntries));
  if (config.ways == 0 || config.entries % config.ways != 0)
    throw ConfigError("iotlb.ways",
                      fmt::format("{} ways do not divide {} entries", config.ways, config.entries));
  if (!std::has_single_bit(config.entries / config.ways))
    throw ConfigError("iotlb.entries",
                      fmt::format("{} entries in {} ways give {} sets, not a power of two",
                                  config.entries, config.ways, config.entries / config.ways));
  if (config.page_sizes == 0 || (config.page_sizes & (kPageSize - 1)) != 0)
    throw ConfigError("iotlb.page_sizes",
                      fmt::format("{:#x} holds no size or one under 4 KiB", config.page_sizes));
}

struct alignas(64) Iotlb::Set {
  std::mutex lock;
  std::uint64_t clock = 0;  ///< guarded by lock: bumped on every use of one of the set's ways
};

Iotlb::Iotlb(const IotlbConfig& config)
    : ways_(checked_ways(config)),
      sets_(config.entries / config.ways),
      page_shifts_(checked_shifts(config.page_sizes)),
      set_locks_(std::make_unique<Set[]>(sets_)),
      ways_of_sets_(config.entries) {}

Iotlb::~Iotlb() = default;

std::optional<IotlbTranslation> Iotlb::lookup(DomainId domain, IovaAddr iova) {
  for (const unsigned shift : page_shifts_) {
    const std::uint64_t page_number = iova.value() >> shift;
    const unsigned index = static_cast<unsigned>(page_number & (sets_ - 1));
    Set& set = set_locks_[index];
    const std::scoped_lock guard(set.lock);
    for (unsigned w = 0; w < ways_; ++w) {
      Way& way = ways_of_sets_[index * ways_ + w];
      if (!way.valid || way.page_shift != shift || way.domain != domain ||
          way.page_number != page_number)
        continue;
      way.last_use = ++set.clock;
      hits_.add();
      const std::uint64_t size = std::uint64_t{1} << shift;
      return IotlbTranslation{PhysAddr(way.phys_page + (iova.value() & (size - 1))), way.perm,
                              size};
    }
  }
  misses_.add();
  return std::nullopt;
}

Status Iotlb::insert(DomainId domain, IovaAddr iova, const IotlbTranslation& translation) {
  const std::uint64_t size = translation.page_size;
  if (!std::has_single_bit(size) || std::find(page_shifts_.begin(), page_shifts_.end(),
                                              std::countr_zero(size)) == page_shifts_.end())
    return fail(Errc::InvalidArgument, "the IOTLB caches no {:#x}-byte pages", size);
  const std::uint64_t offset = iova.value() & (size - 1);
  if ((translation.phys.value() & (size - 1)) != offset)
    return fail(
        Errc::InvalidArgument,
        "IOVA {:#x} and physical address {:#x} lie at different offsets in a {:#x}-byte page",
        iova.value(), translation.phys.value(), size);

  const auto shift = static_cast<std::uint8_t>(std::countr_zero(size));
  const std::uint64_t page_number = iova.value() >> shift;
  const unsigned index = static_cast<unsigned>(page_number & (sets_ - 1));
  Set& set = set_locks_[index];
  const std::scoped_lock guard(set.lock);
  Way* victim = nullptr;
  for (unsigned w = 0; w < ways_; ++w) {
    Way& way = ways_of_sets_[index * ways_ + w];
    if (way.valid && way.page_shift == shift && way.domain == domain &&
        way.page_number == page_number) {
      victim = &way;  // the same tag: refresh it
      break;
    }
    if (victim == nullptr || (victim->valid && (!way.valid || way.last_use < victim->last_use)))
      victim = &way;
  }
  if (victim->valid && !(victim->page_shift == shift && victim->domain == domain &&
                         victim->page_number == page_number))
    evictions_.add();
  *victim = Way{.valid = true,
                .page_shift = shift,
                .perm = translation.perm,
                .domain = domain,
                .page_number = page_number,
                .phys_page = translation.phys.value() - offset,
                .last_use = ++set.clock};
  inserts_.add();
  return {};
}

template <class Match>
std::uint64_t Iotlb::drop(unsigned index, Match&& match) {
  const std::scoped_lock guard(set_locks_[index].lock);
  std::uint64_t dropped = 0;
  for (unsigned w = 0; w < ways_; ++w) {
    Way& way = ways_of_sets_[index * ways_ + w];
    if (way.valid && match(way)) {
      way.valid = false;
      ++dropped;
    }
  }
  return dropped;
}

template <class Match>
std::uint64_t Iotlb::drop_everywhere(Match&& match) {
  std::uint64_t dropped = 0;
  for (unsigned index = 0; index < sets_; ++index) dropped += drop(index, match);
  return dropped;
}

void Iotlb::invalidate(DomainId domain, IovaAddr iova, std::uint64_t size) {
  invalidations_.add();
  if (size == 0) return;
  // The last byte, saturating, so a range reaching the top of the space still names its pages.
  const std::uint64_t last = iova.value() + std::min(size - 1, ~std::uint64_t{0} - iova.value());
  std::uint64_t dropped = 0;
  for (const unsigned shift : page_shifts_) {
    const std::uint64_t first_page = iova.value() >> shift;
    const std::uint64_t last_page = last >> shift;
    auto match = [&](const Way& way) {
      return way.page_shift == shift && way.domain == domain && way.page_number >= first_page &&
             way.page_number <= last_page;
    };
    if (last_page - first_page >= sets_ - 1) {
      dropped += drop_everywhere(match);
      continue;
    }
    for (std::uint64_t page = first_page; page <= last_page; ++page)
      dropped += drop(static_cast<unsigned>(page & (sets_ - 1)), match);
  }
  entries_invalidated_.add(dropped);
}

void Iotlb::invalidate_domain(DomainId domain) {
  domain_invalidations_.add();
  entries_invalidated_.add(
      drop_everywhere([domain](const Way& way) { return way.domain == domain; }));
}

void Iotlb::invalidate_all() {
  global_invalidations_.add();
  entries_invalidated_.add(drop_everywhere([](const Way&) { return true; }));
}

std::uint64_t Iotlb::size() const {
  std::uint64_t valid = 0;
  for (unsigned index = 0; index < sets_; ++index) {
    const std::scoped_lock guard(set_locks_[index].lock);
    for (unsigned w = 0; w < ways_; ++w) valid += ways_of_sets_[index * ways_ + w].valid;
  }
  return valid;
}

IotlbStats Iotlb::stats() const {
  return {.hits = hits_.value(),
          .misses = misses_.value(),
          .inserts = inserts_.value(),
          .evictions = evictions_.value(),
          .invalidations = invalidations_.value(),
          .domain_invalidations = domain_invalidations_.value(),
          .global_invalidations = global_invalidations_.value(),
          .entries_invalidated = entries_invalidated_.value()};
}

}  // namespace dmakit::iommu
