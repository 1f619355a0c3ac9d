// SPDX-License-Identifier: Apache-2.0
// Two threads bouncing at once through one pool: every mapping's bytes arrive intact, no two live
// mappings share a slot, and the pool's bookkeeping is whole afterwards. Meant for the tsan preset.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "dmakit/dma/bus_access.h"
#include "dmakit/dma/mapping.h"
#include "dmakit/dma/platform.h"
#include "testing/bounce_machine.h"

namespace dmakit::dma {
namespace {

void worker(Device& dev, machine::Machine& m, unsigned seed, int iterations, bool* ok) {
  std::mt19937 rng(seed);
  // Each thread owns its buffers, high in RAM.
  std::byte* base = m.memory().direct_map(PhysAddr((40 + seed) * kGiB));
  std::vector<std::byte> out(64 * kKiB);
  for (int i = 0; i < iterations; ++i) {
    const std::uint64_t size = 1 + rng() % (64 * kKiB);
    const std::uint64_t offset = rng() % kPageSize;
    const auto fill = static_cast<std::byte>(rng());
    std::byte* buf = base + offset;
    std::memset(buf, std::to_integer<int>(fill), size);
    const Result<DmaAddr> dma = map_single(dev, buf, size, Direction::Bidirectional);
    if (!dma) continue;  // a full pool is allowed; a wrong byte is not
    std::span<std::byte> seen(out.data(), size);
    if (!device_read(dev, *dma, seen) || seen[0] != fill || seen[size - 1] != fill) *ok = false;
    std::memset(out.data(), std::to_integer<int>(fill) ^ 0xff, size);
    if (!device_write(dev, *dma, seen)) *ok = false;
    if (!unmap_single(dev, *dma, size, Direction::Bidirectional)) *ok = false;
    if (buf[0] != (fill ^ std::byte{0xff}) || buf[size - 1] != (fill ^ std::byte{0xff}))
      *ok = false;
  }
}

TEST(SwiotlbConcurrency, TwoThreadsBounceWithoutLosingBytes) {
  machine::Machine m(testing::bounce_machine_config(2 * kMiB, 2));
  Platform platform(m);
  Device a(platform, "a");
  Device b(platform, "b");
  bool ok_a = true;
  bool ok_b = true;
  std::thread ta(worker, std::ref(a), std::ref(m), 1u, 3000, &ok_a);
  std::thread tb(worker, std::ref(b), std::ref(m), 2u, 3000, &ok_b);
  ta.join();
  tb.join();
  EXPECT_TRUE(ok_a);
  EXPECT_TRUE(ok_b);
  const swiotlb::SwiotlbStats s = platform.swiotlb()->stats();
  EXPECT_EQ(s.used_slots, 0u);
  EXPECT_GE(s.mappings_bounced, 5000u);
  platform.swiotlb()->validate();
}

}  // namespace
}  // namespace dmakit::dma
