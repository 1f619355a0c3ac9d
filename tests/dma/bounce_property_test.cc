// SPDX-License-Identifier: Apache-2.0
// Bounce buffering against cache-coherent memory: random legal sequences of map, device writes,
// syncs, CPU writes and unmaps, with the bytes the CPU and the device see checked after every step
// against a model of one coherent memory that both would share on a machine without bouncing.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cstring>
#include <vector>

#include "dmakit/dma/bus_access.h"
#include "dmakit/dma/mapping.h"
#include "dmakit/dma/platform.h"
#include "testing/bounce_machine.h"

namespace dmakit::dma {
namespace {

struct LiveMapping {
  std::byte* cpu;
  DmaAddr dma;
  std::uint64_t size;
  Direction dir;
  std::vector<std::byte> coherent;  ///< what one shared memory would hold now
  std::vector<std::byte> cpu_view;  ///< what the CPU's buffer must hold now
};

void check(const Device& dev, const LiveMapping& m) {
  const bool cpu_ok = std::memcmp(m.cpu, m.cpu_view.data(), m.size) == 0;
  RC_ASSERT(cpu_ok);
  // Whatever the protocol, the device sees the coherent contents: map copies the buffer in, and
  // every CPU write reaches it through sync_for_device.
  std::vector<std::byte> seen(m.size);
  RC_ASSERT(device_read(dev, m.dma, seen).has_value());
  const bool device_ok = seen == m.coherent;
  RC_ASSERT(device_ok);
}

void run(bool force, unsigned mask_bits) {
  machine::Machine machine(testing::bounce_machine_config(2 * kMiB, 2));
  Platform platform(machine);
  Device dev(platform, "dev");
  RC_ASSERT(dev.set_dma_mask(dma_bit_mask(mask_bits)).has_value());
  dev.set_force_bounce(force);
  std::vector<LiveMapping> live;
  std::uint64_t next_page = phys_to_pfn(PhysAddr(40 * kGiB));
  const int steps = *rc::gen::inRange(1, 60);
  for (int step = 0; step < steps; ++step) {
    const int op = live.empty() ? 0 : *rc::gen::inRange(0, 5);
    if (op == 0) {  // map a fresh buffer of random content
      const auto size = *rc::gen::inRange<std::uint64_t>(1, 3 * kPageSize);
      const auto offset = *rc::gen::inRange<std::uint64_t>(0, kPageSize);
      const Direction dir =
          *rc::gen::element(Direction::ToDevice, Direction::FromDevice, Direction::Bidirectional);
      std::byte* cpu = machine.memory().direct_map(pfn_to_phys(next_page)) + offset;
      next_page += 4;
      const auto fill = *rc::gen::arbitrary<std::uint8_t>();
      for (std::uint64_t i = 0; i < size; ++i) cpu[i] = static_cast<std::byte>(fill + i);
      const Result<DmaAddr> dma = map_single(dev, cpu, size, dir);
      RC_ASSERT(dma.has_value());
      std::vector<std::byte> contents(cpu, cpu + size);
      live.push_back({cpu, *dma, size, dir, contents, contents});
      check(dev, live.back());
      continue;
    }
    const auto which = *rc::gen::inRange<std::size_t>(0, live.size());
    LiveMapping& m = live[which];
    const auto from = *rc::gen::inRange<std::uint64_t>(0, m.size);
    const auto len = *rc::gen::inRange<std::uint64_t>(1, m.size - from + 1);
    const auto value = static_cast<std::byte>(*rc::gen::arbitrary<std::uint8_t>());
    switch (op) {
      case 1:  // the device writes part of a buffer it may write
        if (!device_writes(m.dir)) break;
        {
          const std::vector<std::byte> data(len, value);
          RC_ASSERT(device_write(dev, m.dma + from, data).has_value());
          std::fill_n(m.coherent.begin() + static_cast<long>(from), len, value);
        }
        break;
      case 2:  // the driver takes part of the buffer back to read it
        RC_ASSERT(sync_single_for_cpu(dev, m.dma + from, len, m.dir).has_value());
        if (device_writes(m.dir))
          std::copy_n(m.coherent.begin() + static_cast<long>(from), len,
                      m.cpu_view.begin() + static_cast<long>(from));
        break;
      case 3:  // the CPU writes part of the buffer and hands it to the device
        if (!device_reads(m.dir)) break;
        std::memset(m.cpu + from, std::to_integer<int>(value), len);
        std::fill_n(m.cpu_view.begin() + static_cast<long>(from), len, value);
        std::fill_n(m.coherent.begin() + static_cast<long>(from), len, value);
        RC_ASSERT(sync_single_for_device(dev, m.dma + from, len, m.dir).has_value());
        break;
      case 4: {  // unmap: afterwards the CPU sees exactly the coherent contents
        RC_ASSERT(unmap_single(dev, m.dma, m.size, m.dir).has_value());
        const bool same = std::memcmp(m.cpu, m.coherent.data(), m.size) == 0;
        RC_ASSERT(same);
        live.erase(live.begin() + static_cast<long>(which));
        continue;
      }
      default:
        break;
    }
    check(dev, m);
  }
  for (const LiveMapping& m : live) RC_ASSERT(unmap_single(dev, m.dma, m.size, m.dir).has_value());
  RC_ASSERT(platform.swiotlb()->stats().used_slots == 0u);
  platform.swiotlb()->validate();
}

RC_GTEST_PROP(BounceProperty, ThirtyTwoBitDeviceSeesCoherentMemory, ()) { run(false, 32); }

RC_GTEST_PROP(BounceProperty, ForcedBouncingSeesCoherentMemory, ()) { run(true, 64); }

RC_GTEST_PROP(BounceProperty, TwentyFourBitDeviceSeesCoherentMemory, ()) { run(false, 24); }

}  // namespace
}  // namespace dmakit::dma
