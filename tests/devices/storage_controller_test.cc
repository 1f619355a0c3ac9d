// SPDX-License-Identifier: Apache-2.0
// The storage controller and its driver: checksummed blocks to disk and back on every platform
// kind, and requests split within the controller's segment limits.
#include "dmakit/devices/storage_controller.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstring>

#include "dmakit/devices/storage_driver.h"
#include "dmakit/machine/host_memory.h"
#include "testing/platform_kinds.h"

namespace dmakit::devices {
namespace {

using testing::PlatformKind;
using testing::PlatformUnderTest;

void fill_pattern(std::byte* p, std::uint64_t size, unsigned seed) {
  for (std::uint64_t i = 0; i < size; ++i) p[i] = static_cast<std::byte>((i * 13 + seed) & 0xff);
}

struct StorageBench {
  StorageBench(PlatformKind kind, const StorageLimits& limits, std::uint32_t queue_entries = 32,
               std::uint64_t capacity = 4 * kMiB)
      : platform(kind), ctrl(dev(), config(limits, capacity)) {
    opened = StorageDriver::open(ctrl.device(), ctrl.registers(), {queue_entries});
  }
  dma::Device& dev() { return platform.add_device("disk0"); }
  static StorageConfig config(const StorageLimits& limits, std::uint64_t capacity) {
    StorageConfig c;
    c.limits = limits;
    c.capacity = capacity;
    return c;
  }
  // Runs one I/O to its end; the status of its completion.
  Status run(StorageOp op, std::uint64_t lba, std::byte* buffer, std::uint64_t size) {
    const Result<std::uint64_t> io = (*opened)->submit(op, lba, buffer, size);
    if (!io) return std::unexpected(io.error());
    ctrl.service();
    const std::vector<StorageCompletion> done = (*opened)->complete();
    if (done.size() != 1 || done[0].io != *io) return fail(Errc::Busy, "i/o did not complete");
    return done[0].status;
  }
  // Writes `size` patterned bytes from `offset` into a fresh buffer, reads them back into another.
  ::testing::AssertionResult round_trip(std::uint64_t lba, std::uint64_t offset, std::uint64_t size,
                                        unsigned seed) {
    std::byte* out = platform.buffer(offset + size) + offset;
    std::byte* in = platform.buffer(offset + size) + offset;
    fill_pattern(out, size, seed);
    if (Status s = run(StorageOp::Write, lba, out, size); !s)
      return ::testing::AssertionFailure() << "write: " << s.error().to_string();
    if (std::memcmp(ctrl.disk().data() + lba * kSectorSize, out, size) != 0)
      return ::testing::AssertionFailure() << "the disk holds other bytes";
    if (Status s = run(StorageOp::Read, lba, in, size); !s)
      return ::testing::AssertionFailure() << "read: " << s.error().to_string();
    if (std::memcmp(in, out, size) != 0) return ::testing::AssertionFailure() << "read differs";
    return ::testing::AssertionSuccess();
  }

  PlatformUnderTest platform;
  StorageController ctrl;
  Result<std::unique_ptr<StorageDriver>> opened = nullptr;
};

class StorageOnEveryPlatform : public ::testing::TestWithParam<PlatformKind> {};

TEST_P(StorageOnEveryPlatform, WritesAndReadsBackChecksummedBlocks) {
  StorageBench bench(GetParam(), {});
  ASSERT_TRUE(bench.opened) << bench.opened.error().to_string();
  EXPECT_TRUE(bench.round_trip(8, 0, 64 * kKiB, 1));
  EXPECT_TRUE(bench.round_trip(200, 1536, 300 * kKiB, 2));  // unaligned to pages, many requests
  const StorageStats& s = bench.ctrl.stats();
  EXPECT_EQ(s.bad_commands, 0u);
  EXPECT_EQ(s.checksum_mismatches, 0u);
  EXPECT_EQ(bench.ctrl.counters().faults, 0u);
  EXPECT_EQ((*bench.opened)->stats().requests, s.commands);  // one map_sg call per request
  EXPECT_EQ((*bench.opened)->requests_in_flight(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Kinds, StorageOnEveryPlatform,
                         ::testing::ValuesIn(testing::kDataPathKinds), testing::PlatformKindName());

TEST(StorageController, DriverSplitsRequestsAtTheSegmentLimits) {
  // 2 KiB segments, 4 of them and 16 sectors a command: 64 KiB in 32 segments is 8 requests.
  const StorageLimits limits{.max_segments = 4,
                             .max_segment_size = 2048,
                             .segment_boundary_mask = 0xffff,
                             .max_sectors = 16};
  StorageBench bench(PlatformKind::IommuStrict, limits);
  ASSERT_TRUE(bench.opened);
  EXPECT_TRUE(bench.round_trip(0, 0, 64 * kKiB, 3));
  EXPECT_EQ((*bench.opened)->stats().requests, 2 * 8u);
  EXPECT_EQ(bench.ctrl.stats().most_segments, 4u);
  EXPECT_EQ(bench.ctrl.stats().bad_commands, 0u);
}

// The disk image is sparse, as simulated RAM is: a 1 TiB disk (which once aborted allocating its
// image, and a 4 GiB one took 8 GiB of host memory) costs the host only the blocks written.
TEST(StorageController, ATebibyteDiskCostsHostMemoryOnlyForTheBlocksWritten) {
  const std::uint64_t before = machine::host::resident_bytes();
  StorageBench bench(PlatformKind::DirectLowRam, {}, 32, 1024 * kGiB);
  ASSERT_TRUE(bench.opened);
  EXPECT_EQ(bench.ctrl.disk().size(), 1024 * kGiB);
  const std::uint64_t last_block = bench.ctrl.disk().size() / kSectorSize - 128;
  EXPECT_TRUE(bench.round_trip(last_block, 0, 64 * kKiB, 4));
  EXPECT_TRUE(bench.round_trip(0, 0, 64 * kKiB, 5));
  // The machine's own RAM and metadata are touched lazily too; 64 MiB leaves them room.
  EXPECT_LT(machine::host::resident_bytes() - before, 64 * kMiB);
}

TEST(StorageController, RejectsACommandBeyondItsLimits) {
  StorageBench bench(PlatformKind::DirectLowRam, {});
  ASSERT_TRUE(bench.opened);
  std::byte* buf = bench.platform.buffer(16 * kKiB);
  const Result<std::uint64_t> io = (*bench.opened)->submit(StorageOp::Write, 0, buf, 16 * kKiB);
  ASSERT_TRUE(io);
  // The controller now takes less than the driver was told: the 32-sector command is too long.
  bench.ctrl.registers().limits.max_sectors = 8;
  bench.ctrl.service();
  const std::vector<StorageCompletion> done = (*bench.opened)->complete();
  ASSERT_EQ(done.size(), 1u);
  ASSERT_FALSE(done[0].status);
  EXPECT_EQ(done[0].status.error().code, Errc::InvalidArgument);
  EXPECT_EQ(bench.ctrl.stats().bad_commands, 1u);
}

TEST(StorageController, IommuStopsAControllerWritingPastItsSegments) {
  StorageBench bench(PlatformKind::IommuDeferred, {});
  ASSERT_TRUE(bench.opened);
  std::byte* buf = bench.platform.buffer(8 * kKiB);
  bench.ctrl.set_overrun_for_testing(64 * kPageSize);
  const Status s = bench.run(StorageOp::Read, 0, buf, 8 * kKiB);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::Fault);
  EXPECT_GE(bench.platform.iommu()->faults().count(), 1u);
  EXPECT_EQ((*bench.opened)->stats().failed_ios, 1u);
}

RC_GTEST_PROP(StorageProperty, RandomRequestShapesSplitWithinLimitsAndArriveIntact, ()) {
  const std::uint32_t max_segments = *rc::gen::inRange<std::uint32_t>(1, 9);
  const std::uint64_t max_segment_size = kSectorSize * *rc::gen::inRange<std::uint64_t>(1, 17);
  const std::uint32_t max_sectors = *rc::gen::inRange<std::uint32_t>(1, 65);
  const std::uint64_t offset = kSectorSize * *rc::gen::inRange<std::uint64_t>(0, 8);
  const std::uint64_t sectors = *rc::gen::inRange<std::uint64_t>(1, 97);
  const std::uint64_t lba = *rc::gen::inRange<std::uint64_t>(0, 4096);
  const StorageLimits limits{max_segments, max_segment_size, 0xffffffffu, max_sectors};
  // 128 queue entries: enough for the worst shape, one 512-byte segment per request.
  StorageBench bench(PlatformKind::DirectLowRam, limits, 128);
  RC_ASSERT(static_cast<bool>(bench.opened));
  RC_ASSERT(static_cast<bool>(bench.round_trip(lba, offset, sectors * kSectorSize, 5)));
  RC_ASSERT(bench.ctrl.stats().bad_commands == 0u);
  RC_ASSERT(bench.ctrl.stats().most_segments <= max_segments);
}

}  // namespace
}  // namespace dmakit::devices
