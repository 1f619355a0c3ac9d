// SPDX-License-Identifier: Apache-2.0
// Data correctness of the best-method copy for any size from 1 byte to 8 MiB and any alignment of
// source and destination, inline and offloaded, through a direct-mapped engine, a 32-bit one that
// bounces, and one behind an IOMMU: the destination holds the source's bytes, and not one byte
// around it changes.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "dmakit/engine/async_tx.h"
#include "dmakit/iommu/iommu.h"
#include "testing/engine_machine.h"

namespace dmakit::engine {
namespace {

constexpr std::uint64_t kMaxSize = 8 * kMiB;

// Sizes across the range, with small ones as likely as large ones.
rc::Gen<std::uint64_t> sizes() {
  return rc::gen::oneOf(rc::gen::inRange<std::uint64_t>(1, 4 * kKiB),
                        rc::gen::inRange<std::uint64_t>(4 * kKiB, 256 * kKiB),
                        rc::gen::inRange<std::uint64_t>(256 * kKiB, kMaxSize + 1));
}

void check_copy(testing::EngineMachine& m, AsyncTx& tx, std::uint64_t src_phys,
                std::uint64_t dst_phys) {
  const std::uint64_t size = *sizes();
  const auto src_off = *rc::gen::inRange<std::uint64_t>(0, kPageSize);
  const auto dst_off = *rc::gen::inRange<std::uint64_t>(0, kPageSize);
  const bool defer = *rc::gen::arbitrary<bool>();
  std::byte* src = m.buffer(size + 2 * kPageSize, 0, src_phys) + src_off;
  std::byte* dst_area = m.buffer(size + 2 * kPageSize, 0xcd, dst_phys);
  std::byte* dst = dst_area + dst_off;
  const auto seed = *rc::gen::arbitrary<std::uint8_t>();
  for (std::uint64_t i = 0; i < size; ++i) src[i] = static_cast<std::byte>(seed + i * 7 + (i >> 9));
  const Status s =
      tx.copy_async(dst, src, size, nullptr, nullptr, {.defer_callback = defer}).wait();
  RC_ASSERT(s.has_value());
  RC_ASSERT(std::memcmp(dst, src, size) == 0);
  for (std::uint64_t i = 0; i < dst_off; ++i) RC_ASSERT(dst_area[i] == std::byte{0xcd});
  for (std::uint64_t i = 0; i < kPageSize; ++i) RC_ASSERT(dst[size + i] == std::byte{0xcd});
}

// The machines and engines the properties run on, built once: a 64 GiB machine takes longer to set
// up than most copies take to run.
struct Rigs {
  static EngineConfig threshold(std::uint64_t bytes) {
    EngineConfig config;
    config.inline_threshold = bytes;
    return config;
  }

  Rigs() : iommu(behind_iommu.machine, {}) {
    behind_iommu.device.attach(&iommu.create_domain({}));
    for (const std::uint64_t t : {std::uint64_t{0}, 4 * kKiB, kMaxSize + 1}) {
      direct_engines.push_back(std::make_unique<DmaEngine>(direct.device, threshold(t)));
      direct_tx.push_back(std::make_unique<AsyncTx>(*direct_engines.back()));
    }
    bouncing_tx = std::make_unique<AsyncTx>(bouncing.start());
    iommu_tx = std::make_unique<AsyncTx>(behind_iommu.start());
  }

  testing::EngineMachine direct;
  testing::EngineMachine bouncing{32};
  testing::EngineMachine behind_iommu{32};
  iommu::Iommu iommu;
  // 0: everything offloaded; 4 KiB: small ones inline; beyond 8 MiB: everything inline.
  std::vector<std::unique_ptr<DmaEngine>> direct_engines;
  std::vector<std::unique_ptr<AsyncTx>> direct_tx;
  std::unique_ptr<AsyncTx> bouncing_tx;
  std::unique_ptr<AsyncTx> iommu_tx;
};

Rigs& rigs() {
  static Rigs r;
  return r;
}

RC_GTEST_PROP(AsyncTxProperty, CopiesEverySizeAndAlignmentThroughADirectEngine, ()) {
  Rigs& r = rigs();
  const auto which = *rc::gen::inRange<std::size_t>(0, r.direct_tx.size());
  check_copy(r.direct, *r.direct_tx[which], kGiB, 2 * kGiB);
}

RC_GTEST_PROP(AsyncTxProperty, CopiesHighMemoryThroughBounceBuffersOrInline, ()) {
  // A 32-bit engine: what fits a bounce mapping (256 KiB) bounces, the rest goes inline.
  Rigs& r = rigs();
  check_copy(r.bouncing, *r.bouncing_tx, 40 * kGiB, 48 * kGiB);
}

RC_GTEST_PROP(AsyncTxProperty, CopiesHighMemoryThroughAnIommu, ()) {
  Rigs& r = rigs();
  check_copy(r.behind_iommu, *r.iommu_tx, 40 * kGiB, 48 * kGiB);
  RC_ASSERT(r.iommu.faults().count() == 0U);
}

}  // namespace
}  // namespace dmakit::engine
