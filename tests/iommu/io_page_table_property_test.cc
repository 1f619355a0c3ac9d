// SPDX-License-Identifier: Apache-2.0
// Random map/unmap sequences on an I/O page table against a model of the mapped pages: every
// translation is the model's, refusals are exactly the ones the contract names, detached tables
// stay held until let go, and unmapping everything gives back every table but the top one.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <vector>

#include "dmakit/iommu/io_page_table.h"
#include "testing/small_machine.h"

namespace dmakit::iommu {
namespace {

constexpr std::uint64_t kWindowPages = 8192;  // 32 MiB of IOVA: sixteen 2 MiB spans
constexpr std::uint64_t k2M = 2 * kMiB;

struct Page {
  std::uint64_t phys;
  Perm perm;
};

std::uint64_t free_pages(const machine::Machine& m) {
  std::uint64_t pages = 0;
  for (const machine::Zone* zone : m.zones()) pages += zone->free_pages();
  return pages;
}

// Whether a leaf larger than 4 KiB maps `iova` and reaches outside [start, end).
bool straddles(const IoPageTable& table, std::uint64_t iova, std::uint64_t start,
               std::uint64_t end) {
  const std::optional<Translation> t = table.translate(IovaAddr(iova));
  if (!t || t->page_size == kPageSize) return false;
  const std::uint64_t leaf = align_down(iova, t->page_size);
  return leaf < start || leaf + t->page_size > end;
}

void check_page(const IoPageTable& table, const std::map<std::uint64_t, Page>& model,
                std::uint64_t iova) {
  const std::optional<Translation> t = table.translate(IovaAddr(iova + 0x123));
  const auto it = model.find(iova);
  if (it == model.end()) {
    RC_ASSERT(!t);
    return;
  }
  RC_ASSERT(t);
  RC_ASSERT(t->phys == PhysAddr(it->second.phys + 0x123));
  RC_ASSERT(t->perm == it->second.perm);
}

RC_GTEST_PROP(IoPageTableProperty, TranslationsFollowTheModelAndEveryTableComesBack, ()) {
  machine::Machine machine(testing::plain_machine_config(64 * kMiB));
  const std::uint64_t before = free_pages(machine);
  {
    IoPageTable table(machine);
    std::map<std::uint64_t, Page> model;  // IOVA of each mapped 4 KiB page
    std::vector<Unmapped> held;           // detached tables not yet let go
    const int steps = *rc::gen::inRange(1, 200);
    for (int step = 0; step < steps; ++step) {
      const std::uint64_t pages =
          *rc::gen::oneOf(rc::gen::inRange<std::uint64_t>(1, 64), rc::gen::just(std::uint64_t{512}),
                          rc::gen::inRange<std::uint64_t>(1, 2048));
      const std::uint64_t first = *rc::gen::inRange<std::uint64_t>(0, kWindowPages - pages + 1);
      const std::uint64_t start = first * kPageSize;
      const std::uint64_t end = start + pages * kPageSize;
      if (*rc::gen::arbitrary<bool>()) {
        // Physical addresses congruent to the IOVA modulo 2 MiB half of the time: large leaves.
        const std::uint64_t phys =
            *rc::gen::arbitrary<bool>()
                ? start + k2M * *rc::gen::inRange<std::uint64_t>(1, 64)
                : kPageSize * *rc::gen::inRange<std::uint64_t>(1, std::uint64_t{1} << 20);
        const Perm perm = *rc::gen::element(Perm::Read, Perm::Write, Perm::ReadWrite);
        const auto next = model.lower_bound(start);
        const bool overlaps = next != model.end() && next->first < end;
        const Status mapped = table.map(IovaAddr(start), PhysAddr(phys), end - start, perm);
        RC_ASSERT(mapped.has_value() == !overlaps);
        if (!overlaps) {
          for (std::uint64_t off = 0; off < end - start; off += kPageSize)
            model[start + off] = {phys + off, perm};
        } else {
          RC_ASSERT(mapped.error().code == Errc::Busy);
        }
      } else {
        const bool refused =
            straddles(table, start, start, end) || straddles(table, end - kPageSize, start, end);
        Result<Unmapped> r = table.unmap(IovaAddr(start), end - start);
        RC_ASSERT(r.has_value() == !refused);
        if (r) {
          const auto lo = model.lower_bound(start);
          const auto hi = model.lower_bound(end);
          RC_ASSERT(r->bytes == static_cast<std::uint64_t>(std::distance(lo, hi)) * kPageSize);
          model.erase(lo, hi);
          held.push_back(std::move(*r));
        }
      }
      if (!held.empty() && *rc::gen::arbitrary<bool>()) held.erase(held.begin());
      RC_ASSERT(table.stats().mapped_bytes == model.size() * kPageSize);
      for (int i = 0; i < 16; ++i)
        check_page(table, model, kPageSize * *rc::gen::inRange<std::uint64_t>(0, kWindowPages));
    }
    for (std::uint64_t iova = 0; iova < kWindowPages * kPageSize; iova += kPageSize)
      check_page(table, model, iova);

    held.clear();
    RC_ASSERT(before - free_pages(machine) == table.stats().tables);  // all let go
    RC_ASSERT(table.unmap(IovaAddr(0), table.iova_limit()).value().bytes ==
              model.size() * kPageSize);
    RC_ASSERT(table.stats().tables == (table.root_table() ? 1u : 0u));
    RC_ASSERT(table.stats().mapped_bytes == 0u);
  }
  RC_ASSERT(free_pages(machine) == before);
}

}  // namespace
}  // namespace dmakit::iommu
