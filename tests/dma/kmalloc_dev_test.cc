// SPDX-License-Identifier: Apache-2.0
#include "dmakit/dma/kmalloc_dev.h"

#include <gtest/gtest.h>

namespace dmakit::dma {
namespace {

machine::MachineConfig two_node_machine() {
  machine::MachineConfig config;
  config.ram_size = 8 * kGiB;
  config.node_count = 2;  // node 0: [0, 5 GiB) with the PCI hole; node 1: [5 GiB, 9 GiB)
  config.vmalloc_size = 16 * kMiB;
  return config;
}

class KmallocDevTest : public ::testing::Test {
 protected:
  KmallocDevTest()
      : machine_(two_node_machine()), platform_(machine_), kmalloc_(*platform_.mask_allocator()) {}
  unsigned node_of(const void* p) const { return machine_.node_of(*machine_.virt_to_phys(p)); }
  machine::Machine machine_;
  Platform platform_;
  alloc::KmallocMask kmalloc_;
};

TEST_F(KmallocDevTest, PrefersTheDevicesNode) {
  Device nic(platform_, "nic1", nullptr, /*node=*/1);
  ASSERT_TRUE(nic.set_dma_mask(dma_bit_mask(64)));
  std::byte* small = kmalloc_dev(kmalloc_, 256, machine::kGfpKernel, nic).value();
  std::byte* large = kmalloc_dev(kmalloc_, 64 * kKiB, machine::kGfpKernel, nic).value();
  EXPECT_EQ(node_of(small), 1u);
  EXPECT_EQ(node_of(large), 1u);
  Device disk(platform_, "disk0", nullptr, /*node=*/0);
  ASSERT_TRUE(disk.set_dma_mask(dma_bit_mask(64)));
  std::byte* near_disk = kmalloc_dev(kmalloc_, 256, machine::kGfpKernel, disk).value();
  EXPECT_EQ(node_of(near_disk), 0u);  // a fresh slab on node 0, not node 1's partial one
  for (std::byte* p : {small, large, near_disk}) ASSERT_TRUE(kmalloc_.kfree(p));
}

TEST_F(KmallocDevTest, FallsBackToAnotherNodeWhenTheMaskExcludesTheDevicesNode) {
  // Node 1 lies wholly above 4 GiB: a 32-bit device on it gets memory from node 0.
  Device legacy(platform_, "legacy", nullptr, /*node=*/1);
  std::byte* p = kmalloc_dev(kmalloc_, 512, machine::kGfpKernel, legacy).value();
  EXPECT_EQ(node_of(p), 0u);
  EXPECT_LE(machine_.virt_to_phys(p)->value() + 511, dma_bit_mask(32));
  ASSERT_TRUE(kmalloc_.kfree(p));
}

TEST_F(KmallocDevTest, HonoursAThirtyOneBitDevice) {
  Device odd(platform_, "odd31");
  ASSERT_TRUE(odd.set_dma_mask(dma_bit_mask(31)));
  for (int i = 0; i < 20; ++i) {
    std::byte* p = kmalloc_dev(kmalloc_, 3000, machine::kGfpKernel, odd).value();
    EXPECT_LE(machine_.virt_to_phys(p)->value() + 2999, dma_bit_mask(31));
    ASSERT_TRUE(kmalloc_.kfree(p));
  }
}

TEST_F(KmallocDevTest, ABusOffsetShrinksWhatTheDeviceReaches) {
  // The device sees RAM 1 GiB higher than it is: with a 31-bit mask it reaches physical < 1 GiB.
  Device shifted(platform_, "shifted");
  ASSERT_TRUE(shifted.set_dma_mask(dma_bit_mask(31)));
  shifted.set_bus_offset(static_cast<std::int64_t>(kGiB));
  std::byte* p = kmalloc_dev(kmalloc_, 3000, machine::kGfpKernel, shifted).value();
  EXPECT_LT(machine_.virt_to_phys(p)->value() + 2999, kGiB);
  ASSERT_TRUE(kmalloc_.kfree(p));
}

}  // namespace
}  // namespace dmakit::dma
