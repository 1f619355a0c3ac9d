// SPDX-License-Identifier: Apache-2.0
// The misuse checker, class by class: each buggy driver sequence triggers exactly its own report
// (reference section 4.2's list, one test per row), and the near misses Linux's checker is careful
// about (one page mapped twice, BIDIRECTIONAL syncs, TO_DEVICE buffers sharing a cacheline) none.
#include "dmakit/debug/dma_debug.h"

#include <gtest/gtest.h>

#include <array>
#include <memory>

#include "dmakit/dma/bus_access.h"
#include "dmakit/dma/coherent.h"
#include "dmakit/dma/cpu_access.h"
#include "dmakit/dma/mapping.h"
#include "dmakit/dma/mapping_tracker.h"
#include "testing/small_machine.h"

namespace dmakit::debug {
namespace {

using dma::Device;
using machine::Page;

// A quiet checker, for tests that query its reports.
DmaDebugConfig counting() {
  DmaDebugConfig config;
  config.action = ReportAction::Count;
  return config;
}

class DmaDebugTest : public ::testing::Test {
 protected:
  explicit DmaDebugTest(DmaDebugConfig config = counting())
      : machine_(testing::small_machine_config()),
        platform_(machine_),
        checker_(DmaDebug::attach(platform_, config)),
        dev_(platform_, "nic0") {}

  std::byte* buffer(unsigned order = 0) {
    Page* page = machine_.page_allocator().alloc_pages(machine::kGfpKernel, order).value();
    return machine_.page_address(page);
  }
  Page* page_of(const std::byte* cpu) {
    return machine_.memory().pfn_to_page(phys_to_pfn(machine_.virt_to_phys(cpu).value()));
  }
  // A correct driver's map: map_single, then the mapping_error() check.
  DmaAddr map(const std::byte* cpu, std::uint64_t size, Direction dir) {
    const DmaAddr dma = dma::map_single(dev_, cpu, size, dir).value();
    EXPECT_FALSE(dma::mapping_error(dev_, dma));
    return dma;
  }
  // Three entries on pages apart, so nothing merges.
  dma::SgTable three_entries() {
    dma::SgTable table;
    for (int i = 0; i < 3; ++i) {
      table.add(page_of(buffer()), 0, kPageSize);
      (void)buffer();
    }
    return table;
  }
  // The first `n` entries of a mapped table, DMA fields and all, as a driver that lost count has.
  static dma::SgTable truncated(dma::SgTable& table, std::size_t n) {
    dma::SgTable out;
    for (std::size_t i = 0; i < n; ++i) {
      const dma::ScatterEntry& e = table.entries()[i];
      out.add(e.page, e.offset, e.length);
      out.entries()[i].dma_address = e.dma_address;
      out.entries()[i].dma_length = e.dma_length;
    }
    out.set_nents(std::min(n, table.nents()));
    return out;
  }

  // Exactly reports of `misuse` (at least one), and nothing else.
  void expect_only(Misuse misuse) {
    EXPECT_GE(checker_.count(misuse), 1u) << misuse_name(misuse);
    EXPECT_EQ(checker_.total_reports(), checker_.count(misuse)) << checker_.summary_text();
    const std::vector<Report> reports = checker_.reports();
    ASSERT_FALSE(reports.empty());
    EXPECT_EQ(reports.front().misuse, misuse) << reports.front().to_string();
    EXPECT_EQ(reports.front().device, "nic0");
  }
  void expect_none() {
    EXPECT_EQ(checker_.total_reports(), 0u) << checker_.summary_text();
    EXPECT_EQ(checker_.live_mappings(), 0u);
  }

  machine::Machine machine_;
  dma::Platform platform_;
  DmaDebug& checker_;
  Device dev_;
};

TEST_F(DmaDebugTest, ACorrectDriverTriggersNothing) {
  std::byte* buf = buffer();
  const DmaAddr dma = map(buf, 512, Direction::FromDevice);
  const std::array<std::byte, 512> data{};
  ASSERT_TRUE(dma::device_write(dev_, dma, data));
  ASSERT_TRUE(dma::sync_single_for_cpu(dev_, dma, 512, Direction::FromDevice));
  std::array<std::byte, 512> got{};
  dma::cpu_read(platform_, buf, got);
  ASSERT_TRUE(dma::sync_single_for_device(dev_, dma, 512, Direction::FromDevice));
  ASSERT_TRUE(dma::unmap_single(dev_, dma, 512, Direction::FromDevice));
  expect_none();
}

TEST_F(DmaDebugTest, UnmapOfTheErrorMarker) {
  EXPECT_FALSE(dma::unmap_single(dev_, dma::kDmaMappingError, 64, Direction::ToDevice));
  expect_only(Misuse::UnmapInvalidAddress);
}

TEST_F(DmaDebugTest, UnmapOfWhatWasNeverMapped) {
  (void)dma::unmap_single(dev_, DmaAddr(machine_.virt_to_phys(buffer()).value().value()), 64,
                          Direction::ToDevice);
  expect_only(Misuse::UnmapNotMapped);
}

TEST_F(DmaDebugTest, DoubleUnmap) {
  const DmaAddr dma = map(buffer(), 64, Direction::ToDevice);
  ASSERT_TRUE(dma::unmap_single(dev_, dma, 64, Direction::ToDevice));
  (void)dma::unmap_single(dev_, dma, 64, Direction::ToDevice);
  expect_only(Misuse::UnmapNotMapped);
  EXPECT_EQ(checker_.count(Misuse::UnmapNotMapped), 1u);
}

TEST_F(DmaDebugTest, UnmapWithAnotherSize) {
  const DmaAddr dma = map(buffer(), 256, Direction::ToDevice);
  (void)dma::unmap_single(dev_, dma, 128, Direction::ToDevice);
  expect_only(Misuse::UnmapWrongSize);
  EXPECT_EQ(checker_.reports().front().mapping->size, 256u);
  EXPECT_EQ(checker_.live_mappings(), 0u);
}

TEST_F(DmaDebugTest, UnmapWithAnotherDirection) {
  const DmaAddr dma = map(buffer(), 256, Direction::ToDevice);
  (void)dma::unmap_single(dev_, dma, 256, Direction::FromDevice);
  expect_only(Misuse::UnmapWrongDirection);
}

TEST_F(DmaDebugTest, SingleUnmappedAsPage) {
  const DmaAddr dma = map(buffer(), 256, Direction::ToDevice);
  (void)dma::unmap_page(dev_, dma, 256, Direction::ToDevice);
  expect_only(Misuse::UnmapWrongKind);
}

TEST_F(DmaDebugTest, CoherentFreedWithAnotherCpuAddress) {
  DmaAddr a{};
  DmaAddr b{};
  std::byte* cpu_a = dma::alloc_coherent(dev_, 4096, &a).value();
  std::byte* cpu_b = dma::alloc_coherent(dev_, 4096, &b).value();
  (void)dma::free_coherent(dev_, 4096, cpu_b, a);
  expect_only(Misuse::UnmapWrongCpuAddress);
  (void)cpu_a;
}

TEST_F(DmaDebugTest, CoherentFreedWithAnotherSize) {
  DmaAddr handle{};
  std::byte* cpu = dma::alloc_coherent(dev_, 8192, &handle).value();
  (void)dma::free_coherent(dev_, 4096, cpu, handle);
  expect_only(Misuse::UnmapWrongSize);
}

TEST_F(DmaDebugTest, CoherentFreedWithAHandleNeverHandedOut) {
  DmaAddr handle{};
  std::byte* cpu = dma::alloc_coherent(dev_, 4096, &handle).value();
  (void)dma::free_coherent(dev_, 4096, cpu, handle + kPageSize * 16);
  expect_only(Misuse::UnmapNotMapped);
  ASSERT_TRUE(dma::free_coherent(dev_, 4096, cpu, handle));
  EXPECT_EQ(checker_.total_reports(), 1u);
}

TEST_F(DmaDebugTest, SgUnmappedWithAnotherEntryCount) {
  dma::SgTable table = three_entries();
  ASSERT_TRUE(dma::map_sg(dev_, table, Direction::ToDevice));
  dma::SgTable two = truncated(table, 2);
  ASSERT_TRUE(dma::unmap_sg(dev_, two, Direction::ToDevice));
  expect_only(Misuse::UnmapWrongSgCount);
  EXPECT_EQ(checker_.count(Misuse::UnmapWrongSgCount), 1u);  // once per call, not per entry
}

TEST_F(DmaDebugTest, UnmapWithoutMappingErrorCheck) {
  const DmaAddr dma = dma::map_single(dev_, buffer(), 64, Direction::ToDevice).value();
  ASSERT_TRUE(dma::unmap_single(dev_, dma, 64, Direction::ToDevice));
  expect_only(Misuse::UncheckedMappingError);
}

TEST_F(DmaDebugTest, SyncWithoutMappingErrorCheckIsReportedOnce) {
  const DmaAddr dma = dma::map_single(dev_, buffer(), 64, Direction::FromDevice).value();
  ASSERT_TRUE(dma::sync_single_for_cpu(dev_, dma, 64, Direction::FromDevice));
  ASSERT_TRUE(dma::sync_single_for_device(dev_, dma, 64, Direction::FromDevice));
  ASSERT_TRUE(dma::unmap_single(dev_, dma, 64, Direction::FromDevice));
  expect_only(Misuse::UncheckedMappingError);
  EXPECT_EQ(checker_.count(Misuse::UncheckedMappingError), 1u);
}

TEST_F(DmaDebugTest, SyncOfWhatIsNotMapped) {
  (void)dma::sync_single_for_cpu(dev_, DmaAddr(machine_.virt_to_phys(buffer())->value()), 64,
                                 Direction::FromDevice);
  expect_only(Misuse::SyncNotMapped);
}

TEST_F(DmaDebugTest, SyncLeavingTheMapping) {
  const DmaAddr dma = map(buffer(), 256, Direction::FromDevice);
  (void)dma::sync_single_for_cpu(dev_, dma + 128, 256, Direction::FromDevice);
  expect_only(Misuse::SyncOutOfRange);
}

TEST_F(DmaDebugTest, SyncOfPartOfAMappingIsFine) {
  const DmaAddr dma = map(buffer(), 256, Direction::FromDevice);
  ASSERT_TRUE(dma::sync_single_for_cpu(dev_, dma + 128, 64, Direction::FromDevice));
  ASSERT_TRUE(dma::unmap_single(dev_, dma, 256, Direction::FromDevice));
  expect_none();
}

TEST_F(DmaDebugTest, SyncWithAnotherDirection) {
  const DmaAddr dma = map(buffer(), 256, Direction::FromDevice);
  (void)dma::sync_single_for_cpu(dev_, dma, 256, Direction::ToDevice);
  expect_only(Misuse::SyncWrongDirection);
}

TEST_F(DmaDebugTest, BidirectionalMappingsSyncAnyWay) {
  const DmaAddr dma = map(buffer(), 256, Direction::Bidirectional);
  ASSERT_TRUE(dma::sync_single_for_cpu(dev_, dma, 256, Direction::Bidirectional));
  ASSERT_TRUE(dma::sync_single_for_device(dev_, dma, 256, Direction::Bidirectional));
  ASSERT_TRUE(dma::unmap_single(dev_, dma, 256, Direction::Bidirectional));
  expect_none();
}

TEST_F(DmaDebugTest, SyncForCpuOfADeviceReadOnlyMapping) {
  const DmaAddr dma = map(buffer(), 256, Direction::ToDevice);
  (void)dma::sync_single_for_cpu(dev_, dma, 256, Direction::FromDevice);
  expect_only(Misuse::SyncDeviceReadOnlyForCpu);
  EXPECT_EQ(checker_.total_reports(), 1u);
}

TEST_F(DmaDebugTest, SyncForDeviceOfADeviceWriteOnlyMapping) {
  const DmaAddr dma = map(buffer(), 256, Direction::FromDevice);
  (void)dma::sync_single_for_device(dev_, dma, 256, Direction::ToDevice);
  expect_only(Misuse::SyncDeviceWriteOnlyForDevice);
  EXPECT_EQ(checker_.total_reports(), 1u);
}

TEST_F(DmaDebugTest, SgSyncedWithAnotherEntryCount) {
  dma::SgTable table = three_entries();
  ASSERT_TRUE(dma::map_sg(dev_, table, Direction::FromDevice));
  dma::SgTable two = truncated(table, 2);
  ASSERT_TRUE(dma::sync_sg_for_cpu(dev_, two, Direction::FromDevice));
  ASSERT_TRUE(dma::unmap_sg(dev_, table, Direction::FromDevice));
  expect_only(Misuse::SyncWrongSgCount);
  EXPECT_EQ(checker_.count(Misuse::SyncWrongSgCount), 1u);
}

TEST_F(DmaDebugTest, MappingVmallocMemory) {
  std::byte* v = machine_.vmalloc_area().vmalloc(2 * kPageSize).value();
  EXPECT_FALSE(dma::map_single(dev_, v, 2 * kPageSize, Direction::ToDevice));
  expect_only(Misuse::MapVmalloc);
  ASSERT_TRUE(machine_.vmalloc_area().vfree(v));
}

TEST_F(DmaDebugTest, MappingMemoryOutsideRam) {
  std::array<std::byte, 64> on_the_host_stack{};
  EXPECT_FALSE(dma::map_single(dev_, on_the_host_stack.data(), 64, Direction::ToDevice));
  expect_only(Misuse::MapNotRam);
}

TEST_F(DmaDebugTest, AMapThatFailsForWantOfReachIsNoMisuse) {
  ASSERT_TRUE(dev_.set_dma_mask(dma_bit_mask(24)));  // 16 MiB; no bounce pool on this machine
  std::byte* high = machine_.memory().direct_map(PhysAddr(80 * kMiB));
  EXPECT_FALSE(dma::map_single(dev_, high, 64, Direction::ToDevice));
  expect_none();
}

TEST_F(DmaDebugTest, FromDeviceBuffersSharingACacheline) {
  std::byte* buf = buffer();
  const DmaAddr a = map(buf, 32, Direction::FromDevice);
  const DmaAddr b = map(buf + 32, 32, Direction::FromDevice);
  expect_only(Misuse::CachelineOverlap);
  ASSERT_TRUE(dma::unmap_single(dev_, a, 32, Direction::FromDevice));
  ASSERT_TRUE(dma::unmap_single(dev_, b, 32, Direction::FromDevice));
  EXPECT_EQ(checker_.total_reports(), 1u);
}

TEST_F(DmaDebugTest, ToDeviceBuffersMayShareACacheline) {
  std::byte* buf = buffer();
  const DmaAddr a = map(buf, 32, Direction::ToDevice);
  const DmaAddr b = map(buf + 32, 32, Direction::FromDevice);
  ASSERT_TRUE(dma::unmap_single(dev_, a, 32, Direction::ToDevice));
  ASSERT_TRUE(dma::unmap_single(dev_, b, 32, Direction::FromDevice));
  expect_none();
}

TEST_F(DmaDebugTest, SamePageMappedTwiceMatchesBestFit) {
  // Without an IOMMU both mappings have one bus address; each unmap must find its own.
  std::byte* buf = buffer();
  const DmaAddr small = map(buf, 64, Direction::ToDevice);
  const DmaAddr large = map(buf, 1024, Direction::ToDevice);
  ASSERT_EQ(small, large);
  ASSERT_TRUE(dma::unmap_single(dev_, small, 1024, Direction::ToDevice));
  ASSERT_TRUE(dma::unmap_single(dev_, small, 64, Direction::ToDevice));
  expect_none();
}

TEST_F(DmaDebugTest, SgSegmentLongerThanTheDeviceTakes) {
  ASSERT_TRUE(dev_.set_max_segment_size(kPageSize));
  dma::SgTable table;
  table.add(page_of(buffer(1)), 0, 2 * kPageSize);
  ASSERT_TRUE(dma::map_sg(dev_, table, Direction::ToDevice));
  expect_only(Misuse::SgSegmentTooLong);
  ASSERT_TRUE(dma::unmap_sg(dev_, table, Direction::ToDevice));
  EXPECT_EQ(checker_.total_reports(), 1u);
}

TEST_F(DmaDebugTest, SgSegmentAcrossTheBoundary) {
  ASSERT_TRUE(dev_.set_segment_boundary_mask(dma_bit_mask(16)));
  Page* block = page_of(buffer(5));  // 128 KiB, aligned to itself
  dma::SgTable table;
  table.add(block + 15, 0, 2 * kPageSize);  // 60 KiB to 68 KiB: across the 64 KiB line
  ASSERT_TRUE(dma::map_sg(dev_, table, Direction::ToDevice));
  expect_only(Misuse::SgSegmentCrossesBoundary);
  ASSERT_TRUE(dma::unmap_sg(dev_, table, Direction::ToDevice));
  EXPECT_EQ(checker_.total_reports(), 1u);
}

TEST_F(DmaDebugTest, CpuReadsABufferTheDeviceOwns) {
  std::byte* buf = buffer();
  const DmaAddr dma = map(buf, 256, Direction::FromDevice);
  std::array<std::byte, 16> got{};
  dma::cpu_read(platform_, buf + 8, got);  // before sync_single_for_cpu: stale or torn
  expect_only(Misuse::CpuAccessDeviceOwned);
  ASSERT_TRUE(dma::sync_single_for_cpu(dev_, dma, 256, Direction::FromDevice));
  dma::cpu_read(platform_, buf + 8, got);
  ASSERT_TRUE(dma::unmap_single(dev_, dma, 256, Direction::FromDevice));
  dma::cpu_write(platform_, buf, got);
  EXPECT_EQ(checker_.total_reports(), 1u);
}

TEST_F(DmaDebugTest, CpuMayReadWhatItGaveTheDevice) {
  std::byte* buf = buffer();
  const DmaAddr dma = map(buf, 256, Direction::ToDevice);
  std::array<std::byte, 16> got{};
  dma::cpu_read(platform_, buf, got);
  dma::cpu_write(platform_, buf + 1024, got);  // outside the mapping
  ASSERT_TRUE(dma::unmap_single(dev_, dma, 256, Direction::ToDevice));
  expect_none();
}

TEST_F(DmaDebugTest, DeviceWritesAToDeviceMappingWithoutAnIommu) {
  const DmaAddr dma = map(buffer(), 256, Direction::ToDevice);
  const std::array<std::byte, 8> data{};
  ASSERT_TRUE(dma::device_write(dev_, dma + 16, data));  // nothing stops it on the direct path
  expect_only(Misuse::DeviceAccessWrongDirection);
  ASSERT_TRUE(dma::unmap_single(dev_, dma, 256, Direction::ToDevice));
  EXPECT_EQ(checker_.total_reports(), 1u);
}

TEST_F(DmaDebugTest, LeakReportedWhenTheDeviceGoes) {
  {
    Device temp(platform_, "nic0");
    (void)map(buffer(), 64, Direction::ToDevice);
    const DmaAddr other = dma::map_single(temp, buffer(), 128, Direction::FromDevice).value();
    EXPECT_FALSE(dma::mapping_error(temp, other));
    EXPECT_EQ(checker_.live_mappings(temp), 1u);
  }
  expect_only(Misuse::Leak);
  const Report leak = checker_.reports().front();
  ASSERT_EQ(leak.leaked.size(), 1u);
  EXPECT_EQ(leak.leaked[0].size, 128u);
  EXPECT_FALSE(leak.leaked[0].mapped_at.empty());
  EXPECT_EQ(checker_.live_mappings(), 1u);  // dev_'s own mapping stays tracked
}

TEST_F(DmaDebugTest, LeakCheckOnRequestListsEachMapping) {
  const DmaAddr a = map(buffer(), 64, Direction::ToDevice);
  (void)map(buffer(), 128, Direction::ToDevice);
  EXPECT_EQ(checker_.check_leaks(dev_), 2u);
  expect_only(Misuse::Leak);
  EXPECT_EQ(checker_.reports().front().leaked.size(), 2u);
  EXPECT_EQ(checker_.live_mappings(), 2u);
  ASSERT_TRUE(dma::unmap_single(dev_, a, 64, Direction::ToDevice));
  EXPECT_EQ(checker_.check_leaks(), 1u);
}

TEST_F(DmaDebugTest, ReportsCarryBothCallSites) {
  const DmaAddr dma = map(buffer(), 256, Direction::ToDevice);
  (void)dma::unmap_single(dev_, dma, 128, Direction::ToDevice);
  const Report r = checker_.reports().at(0);
  EXPECT_FALSE(r.call.empty());
  ASSERT_TRUE(r.mapping.has_value());
  EXPECT_FALSE(r.mapping->mapped_at.empty());
  const std::string text = r.to_string();
  EXPECT_NE(text.find("unmap-wrong-size"), std::string::npos) << text;
  EXPECT_NE(text.find("mapped at:"), std::string::npos) << text;
  // Symbol names come from the binary's symbol table even without debug information.
  EXPECT_NE(r.call.symbolize().find("ReportsCarryBothCallSites"), std::string::npos) << text;
  EXPECT_NE(r.mapping->mapped_at.symbolize().find("DmaDebugTest::map"), std::string::npos) << text;
}

TEST_F(DmaDebugTest, SummaryCountsByClass) {
  const DmaAddr dma = map(buffer(), 256, Direction::ToDevice);
  (void)dma::unmap_single(dev_, dma, 128, Direction::ToDevice);
  (void)dma::unmap_single(dev_, dma, 128, Direction::ToDevice);
  const DmaDebugSummary s = checker_.summary();
  EXPECT_EQ(s.reports, 2u);
  EXPECT_EQ(s.by_class[static_cast<std::size_t>(Misuse::UnmapWrongSize)], 1u);
  EXPECT_EQ(s.by_class[static_cast<std::size_t>(Misuse::UnmapNotMapped)], 1u);
  EXPECT_NE(checker_.summary_text().find("unmap-not-mapped"), std::string::npos);
  checker_.clear_reports();
  EXPECT_EQ(checker_.total_reports(), 0u);
  EXPECT_TRUE(checker_.reports().empty());
}

TEST_F(DmaDebugTest, ATrackerAndTheCheckerWatchTogether) {
  dma::MappingTracker tracker;
  dev_.set_tracker(&tracker);
  std::byte* buf = buffer();
  const DmaAddr dma = map(buf, 64, Direction::ToDevice);
  EXPECT_EQ(dma::dma_to_virt(dev_, dma), buf);
  EXPECT_EQ(checker_.live_mappings(), 1u);
  ASSERT_TRUE(dma::unmap_single(dev_, dma, 64, Direction::ToDevice));
  EXPECT_EQ(dma::dma_to_virt(dev_, dma), nullptr);
  dev_.set_tracker(nullptr);
  expect_none();
}

TEST(MisuseNames, AreStableAndRoundTrip) {
  EXPECT_EQ(misuse_name(Misuse::UnmapNotMapped), "unmap-not-mapped");
  EXPECT_EQ(misuse_name(Misuse::Leak), "leak");
  for (std::size_t i = 0; i < kMisuseCount; ++i) {
    const auto m = static_cast<Misuse>(i);
    EXPECT_EQ(misuse_from_name(misuse_name(m)), m);
  }
  EXPECT_FALSE(misuse_from_name("no-such-class"));
}

class DmaDebugLogTest : public DmaDebugTest {
 protected:
  DmaDebugLogTest()
      : DmaDebugTest([] {
          DmaDebugConfig c;
          c.loud_per_class = 1;
          return c;
        }()) {}
};

TEST_F(DmaDebugLogTest, FirstReportOfAClassIsLoudTheRestCounted) {
  const DmaAddr a = map(buffer(), 256, Direction::ToDevice);
  const DmaAddr b = map(buffer(), 256, Direction::ToDevice);
  ::testing::internal::CaptureStderr();
  (void)dma::unmap_single(dev_, a, 128, Direction::ToDevice);
  (void)dma::unmap_single(dev_, b, 128, Direction::ToDevice);
  const std::string printed = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(checker_.count(Misuse::UnmapWrongSize), 2u);
  const auto first = printed.find("dma-debug: unmap-wrong-size");
  ASSERT_NE(first, std::string::npos) << printed;
  EXPECT_EQ(printed.find("dma-debug: unmap-wrong-size", first + 1), std::string::npos) << printed;
}

class DmaDebugFilterTest : public DmaDebugTest {
 protected:
  DmaDebugFilterTest()
      : DmaDebugTest([] {
          DmaDebugConfig c = counting();
          c.devices = {"nvme0"};
          return c;
        }()) {}
};

TEST_F(DmaDebugFilterTest, OtherDevicesAreTrackedButNotReported) {
  const DmaAddr dma = map(buffer(), 256, Direction::ToDevice);
  EXPECT_EQ(checker_.live_mappings(), 1u);
  (void)dma::unmap_single(dev_, dma, 128, Direction::ToDevice);
  EXPECT_EQ(checker_.total_reports(), 0u);
  EXPECT_EQ(checker_.summary().suppressed, 1u);
}

class DmaDebugMappingErrorOffTest : public DmaDebugTest {
 protected:
  DmaDebugMappingErrorOffTest()
      : DmaDebugTest([] {
          DmaDebugConfig c = counting();
          c.check_mapping_error = false;
          return c;
        }()) {}
};

TEST_F(DmaDebugMappingErrorOffTest, ResultCheckingCallersNeedNoMappingErrorCall) {
  const DmaAddr dma = dma::map_single(dev_, buffer(), 64, Direction::ToDevice).value();
  ASSERT_TRUE(dma::unmap_single(dev_, dma, 64, Direction::ToDevice));
  expect_none();
}

class DmaDebugAbortTest : public DmaDebugTest {
 protected:
  DmaDebugAbortTest()
      : DmaDebugTest([] {
          DmaDebugConfig c;
          c.action = ReportAction::Abort;
          return c;
        }()) {}
};

TEST_F(DmaDebugAbortTest, AbortsOnTheFirstReport) {
  EXPECT_DEATH((void)dma::unmap_single(dev_, dma::kDmaMappingError, 64, Direction::ToDevice),
               "unmap-invalid-address");
}

}  // namespace
}  // namespace dmakit::debug
