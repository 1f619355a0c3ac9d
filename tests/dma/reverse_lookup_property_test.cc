// SPDX-License-Identifier: Apache-2.0
// Reverse lookup over random live mappings: every byte of a live mapping resolves to its CPU
// address, and nothing resolves after its unmap; for the CPU-copy ops and for a direct device with
// a tracker.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>

#include "dmakit/dma/cpu_copy_ops.h"
#include "dmakit/dma/mapping.h"
#include "dmakit/dma/mapping_tracker.h"
#include "dmakit/dma/platform.h"
#include "testing/small_machine.h"

namespace dmakit::dma {
namespace {

void check_reverse_lookup(bool cpu_copy) {
  machine::Machine m(testing::compact_machine_config(256 * kMiB));
  Platform platform(m);
  Device dev(platform, "dev");
  CpuCopyOps ops;
  MappingTracker tracker;
  if (cpu_copy)
    dev.set_ops(&ops);
  else
    dev.set_tracker(&tracker);

  struct Live {
    std::byte* cpu;
    std::uint64_t size;
  };
  std::map<std::uint64_t, Live> live;  // by bus address; mappings use distinct bytes
  std::vector<DmaAddr> gone;
  const int steps = *rc::gen::inRange(1, 80);
  for (int i = 0; i < steps; ++i) {
    if (!live.empty() && *rc::gen::inRange(0, 3) == 0) {
      auto it = live.begin();
      std::advance(it, *rc::gen::inRange<long>(0, static_cast<long>(live.size())));
      RC_ASSERT(
          unmap_single(dev, DmaAddr(it->first), it->second.size, Direction::ToDevice).has_value());
      gone.push_back(DmaAddr(it->first));
      live.erase(it);
      continue;
    }
    // A buffer of up to three pages at a random place; skip it if it overlaps a live one (pages may
    // be shared).
    const auto pfn = *rc::gen::inRange<Pfn>(4096, 60000);
    const auto offset = *rc::gen::inRange<std::uint64_t>(0, kPageSize);
    const auto size = *rc::gen::inRange<std::uint64_t>(1, 2 * kPageSize);
    std::byte* cpu = m.memory().direct_map(pfn_to_phys(pfn)) + offset;
    bool clash = false;
    for (const auto& [dma, l] : live) {
      const auto lo = reinterpret_cast<std::uintptr_t>(l.cpu);
      const auto hi = lo + l.size - 1;
      const auto a = reinterpret_cast<std::uintptr_t>(cpu);
      const auto b = a + size - 1;
      clash = clash || (a <= hi && lo <= b);
    }
    if (clash) continue;
    const DmaAddr dma = map_single(dev, cpu, size, Direction::ToDevice).value();
    live.emplace(dma.value(), Live{cpu, size});
  }
  // Pointers compared as bools: rapidcheck would print a std::byte* as a C string.
  for (const auto& [dma, l] : live) {
    for (std::uint64_t off : {std::uint64_t{0}, l.size / 2, l.size - 1}) {
      const bool resolves = dma_to_virt(dev, DmaAddr(dma) + off) == l.cpu + off;
      RC_ASSERT(resolves);
    }
  }
  // A gone address answers "none" unless a live mapping covers it.
  for (const DmaAddr dma : gone) {
    bool covered = false;
    for (const auto& [start, l] : live) covered = covered || dma.value() - start < l.size;
    const bool none = dma_to_virt(dev, dma) == nullptr;
    if (!covered) RC_ASSERT(none);
  }
}

RC_GTEST_PROP(ReverseLookupProperty, CpuCopyOpsResolveLiveMappingsOnly, ()) {
  check_reverse_lookup(/*cpu_copy=*/true);
}

RC_GTEST_PROP(ReverseLookupProperty, ATrackedDirectDeviceResolvesLiveMappingsOnly, ()) {
  check_reverse_lookup(/*cpu_copy=*/false);
}

}  // namespace
}  // namespace dmakit::dma
