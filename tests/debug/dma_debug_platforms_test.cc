// SPDX-License-Identifier: Apache-2.0
// A correct driver triggers nothing on any platform: direct mapping, bounce buffers (forced, and
// for a 32-bit device above 4 GiB) and IOMMU domains (strict and lazy), with every kind of mapping,
// syncs, device and CPU accesses, and one page mapped twice.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "dmakit/debug/dma_debug.h"
#include "dmakit/dma/bus_access.h"
#include "dmakit/dma/coherent.h"
#include "dmakit/dma/cpu_access.h"
#include "dmakit/dma/mapping.h"
#include "dmakit/iommu/iommu.h"
#include "testing/bounce_machine.h"
#include "testing/small_machine.h"

namespace dmakit::debug {
namespace {

using dma::Device;
using machine::Page;

enum class Path { Direct, ForcedBounce, HighMemoryBounce, IommuStrict, IommuLazy };

struct PathCase {
  Path path;
  std::string name;
};

class CorrectDriverTest : public ::testing::TestWithParam<PathCase> {
 protected:
  CorrectDriverTest()
      : machine_(GetParam().path == Path::Direct ? testing::small_machine_config()
                                                 : testing::bounce_machine_config()),
        platform_(machine_),
        iommu_(machine_, {}),
        checker_(DmaDebug::attach(platform_, quiet())),
        dev_(platform_, "nic0") {
    switch (GetParam().path) {
      case Path::Direct:
      case Path::HighMemoryBounce:
        break;
      case Path::ForcedBounce:
        dev_.set_force_bounce(true);
        break;
      case Path::IommuStrict:
      case Path::IommuLazy: {
        iommu::DomainConfig domain;
        domain.policy = GetParam().path == Path::IommuStrict ? iommu::InvalidationPolicy::Strict
                                                             : iommu::InvalidationPolicy::Deferred;
        dev_.attach(&iommu_.create_domain(domain));
        break;
      }
    }
  }
  static DmaDebugConfig quiet() {
    DmaDebugConfig config;
    config.action = ReportAction::Count;
    return config;
  }
  // Pages of order `order`; above 4 GiB for the high-memory bounce case, so the 32-bit device
  // cannot reach them.
  std::byte* buffer(unsigned order = 0) {
    if (GetParam().path == Path::HighMemoryBounce) {
      std::byte* cpu = machine_.memory().direct_map(PhysAddr(40 * kGiB + next_ * kPageSize));
      next_ += (std::uint64_t{1} << order) + 1;
      return cpu;
    }
    Page* page = machine_.page_allocator().alloc_pages(machine::kGfpKernel, order).value();
    return machine_.page_address(page);
  }
  Page* page_of(const std::byte* cpu) {
    return machine_.memory().pfn_to_page(phys_to_pfn(machine_.virt_to_phys(cpu).value()));
  }

  machine::Machine machine_;
  dma::Platform platform_;
  iommu::Iommu iommu_;
  DmaDebug& checker_;
  Device dev_;
  std::uint64_t next_ = 0;
};

TEST_P(CorrectDriverTest, TriggersNothing) {
  std::array<std::byte, 256> bytes{};

  // Transmit: fill, map, check, the device reads, unmap.
  std::byte* tx = buffer();
  dma::cpu_write(platform_, tx, bytes);
  const DmaAddr tx_dma = dma::map_single(dev_, tx, 256, Direction::ToDevice).value();
  ASSERT_FALSE(dma::mapping_error(dev_, tx_dma));
  ASSERT_TRUE(dma::device_read(dev_, tx_dma, bytes));
  ASSERT_TRUE(dma::unmap_single(dev_, tx_dma, 256, Direction::ToDevice));

  // Receive twice into one mapping: the device writes, the CPU reads after each sync.
  std::byte* rx = buffer();
  const DmaAddr rx_dma = dma::map_page(dev_, page_of(rx), 128, 1024, Direction::FromDevice).value();
  ASSERT_FALSE(dma::mapping_error(dev_, rx_dma));
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(dma::device_write(dev_, rx_dma + 64, bytes));
    ASSERT_TRUE(dma::sync_single_for_cpu(dev_, rx_dma, 1024, Direction::FromDevice));
    dma::cpu_read(platform_, rx + 128 + 64, bytes);
    ASSERT_TRUE(dma::sync_single_for_device(dev_, rx_dma, 1024, Direction::FromDevice));
  }
  ASSERT_TRUE(dma::unmap_page(dev_, rx_dma, 1024, Direction::FromDevice));

  // One page mapped twice for the device to read, unmapped in the other order.
  std::byte* shared = buffer();
  const DmaAddr first = dma::map_single(dev_, shared, 512, Direction::ToDevice).value();
  const DmaAddr second = dma::map_single(dev_, shared, 2048, Direction::ToDevice).value();
  ASSERT_FALSE(dma::mapping_error(dev_, first));
  ASSERT_FALSE(dma::mapping_error(dev_, second));
  ASSERT_TRUE(dma::unmap_single(dev_, second, 2048, Direction::ToDevice));
  ASSERT_TRUE(dma::unmap_single(dev_, first, 512, Direction::ToDevice));

  // A scatter/gather list: two contiguous pages (which may merge) and one apart.
  std::byte* pair = buffer(1);
  std::byte* apart = buffer();
  dma::SgTable table;
  table.add(page_of(pair), 0, kPageSize);
  table.add(page_of(pair) + 1, 0, kPageSize);
  table.add(page_of(apart), 512, 1024);
  const std::size_t segments = dma::map_sg(dev_, table, Direction::Bidirectional).value();
  ASSERT_GE(segments, 1u);
  for (std::size_t i = 0; i < segments; ++i) {
    const dma::ScatterEntry& seg = table.entries()[i];
    ASSERT_TRUE(dma::device_write(dev_, seg.dma_address, std::span(bytes).first(64)));
  }
  ASSERT_TRUE(dma::sync_sg_for_cpu(dev_, table, Direction::Bidirectional));
  dma::cpu_read(platform_, pair + kPageSize, bytes);
  ASSERT_TRUE(dma::sync_sg_for_device(dev_, table, Direction::Bidirectional));
  ASSERT_TRUE(dma::unmap_sg(dev_, table, Direction::Bidirectional));

  // Coherent memory: both sides touch it whenever they like.
  DmaAddr handle{};
  std::byte* ring = dma::alloc_coherent(dev_, 8192, &handle).value();
  ASSERT_TRUE(dma::device_write(dev_, handle, bytes));
  dma::cpu_read(platform_, ring, bytes);
  ASSERT_TRUE(dma::free_coherent(dev_, 8192, ring, handle));

  EXPECT_EQ(checker_.total_reports(), 0u) << checker_.summary_text();
  EXPECT_EQ(checker_.live_mappings(), 0u);
  EXPECT_EQ(checker_.check_leaks(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Platforms, CorrectDriverTest,
                         ::testing::Values(PathCase{Path::Direct, "Direct"},
                                           PathCase{Path::ForcedBounce, "ForcedBounce"},
                                           PathCase{Path::HighMemoryBounce, "HighMemoryBounce"},
                                           PathCase{Path::IommuStrict, "IommuStrict"},
                                           PathCase{Path::IommuLazy, "IommuLazy"}),
                         [](const ::testing::TestParamInfo<PathCase>& param) {
                           return param.param.name;
                         });

}  // namespace
}  // namespace dmakit::debug
