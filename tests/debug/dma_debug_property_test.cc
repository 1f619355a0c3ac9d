// SPDX-License-Identifier: Apache-2.0
// Properties of the checker: random valid driver sequences (maps of any size and direction on free
// buffers, pages mapped twice for the device to read, syncs, unmaps in any order) never report,
// and it tracks exactly the mappings that are live.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <vector>

#include "dmakit/debug/dma_debug.h"
#include "dmakit/dma/mapping.h"
#include "testing/small_machine.h"

namespace dmakit::debug {
namespace {

struct Live {
  std::size_t slot;
  DmaAddr dma;
  std::uint64_t size;
  Direction dir;
};

RC_GTEST_PROP(DmaDebugProperty, ValidSequencesNeverReportAndTrackEveryLiveMapping, ()) {
  machine::Machine machine(testing::small_machine_config());
  dma::Platform platform(machine);
  DmaDebugConfig config;
  config.action = ReportAction::Count;
  config.stack_depth = 0;
  DmaDebug& checker = DmaDebug::attach(platform, config);
  dma::Device dev(platform, "nic0");

  constexpr std::size_t kSlots = 8;
  std::vector<std::byte*> slots;
  for (std::size_t i = 0; i < kSlots; ++i)
    slots.push_back(
        machine.page_address(machine.page_allocator().alloc_pages(machine::kGfpKernel, 0).value()));
  std::vector<Live> live;
  // A buffer the device may write is mapped once at a time (Linux's cacheline rule); buffers it
  // only reads may be mapped again and again.
  auto writable_free = [&](std::size_t slot) {
    for (const Live& l : live) {
      if (l.slot == slot) return false;
    }
    return true;
  };
  auto read_only = [&](std::size_t slot) {
    for (const Live& l : live) {
      if (l.slot == slot && l.dir != Direction::ToDevice) return false;
    }
    return true;
  };

  const int steps = *rc::gen::inRange(1, 120);
  for (int step = 0; step < steps; ++step) {
    const int op = *rc::gen::inRange(0, 3);
    if (op == 0 || live.empty()) {
      const std::size_t slot = *rc::gen::inRange<std::size_t>(0, kSlots);
      const auto dir =
          *rc::gen::element(Direction::ToDevice, Direction::FromDevice, Direction::Bidirectional);
      if (dir == Direction::ToDevice ? !read_only(slot) : !writable_free(slot)) continue;
      const std::uint64_t offset = *rc::gen::inRange<std::uint64_t>(0, kPageSize / 2);
      const std::uint64_t size = *rc::gen::inRange<std::uint64_t>(1, kPageSize - offset);
      const DmaAddr dma = dma::map_single(dev, slots[slot] + offset, size, dir).value();
      RC_ASSERT(!dma::mapping_error(dev, dma));
      live.push_back({slot, dma, size, dir});
    } else {
      const std::size_t i = *rc::gen::inRange<std::size_t>(0, live.size());
      const Live l = live[i];
      if (op == 1) {
        RC_ASSERT(dma::sync_single_for_cpu(dev, l.dma, l.size, l.dir).has_value());
        RC_ASSERT(dma::sync_single_for_device(dev, l.dma, l.size, l.dir).has_value());
      } else {
        RC_ASSERT(dma::unmap_single(dev, l.dma, l.size, l.dir).has_value());
        live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
      }
    }
    RC_ASSERT(checker.live_mappings() == live.size());
  }
  RC_ASSERT(checker.total_reports() == 0u);
  for (const Live& l : live) RC_ASSERT(dma::unmap_single(dev, l.dma, l.size, l.dir).has_value());
  RC_ASSERT(checker.live_mappings() == 0u);
  RC_ASSERT(checker.total_reports() == 0u);
}

}  // namespace
}  // namespace dmakit::debug
