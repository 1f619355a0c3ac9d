// SPDX-License-Identifier: Apache-2.0
// The platform configurations every device model is tested on: no IOMMU with bounce buffers, an
// IOMMU with strict or deferred invalidation, an IOMMU in passthrough, and a small machine whose
// RAM every 32-bit device reaches directly. The first four have RAM far above 4 GiB, and their
// test buffers live there.
#pragma once

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "dmakit/dma/device.h"
#include "dmakit/dma/platform.h"
#include "dmakit/dma/strategy.h"
#include "dmakit/iommu/iommu.h"
#include "testing/bounce_machine.h"
#include "testing/small_machine.h"

namespace dmakit::testing {

enum class PlatformKind {
  Bounce,         ///< 64 GiB, no IOMMU, a bounce pool for what a device cannot reach
  IommuStrict,    ///< 64 GiB, each device in its own DMA domain, strict invalidation
  IommuDeferred,  ///< the same with deferred (lazy) invalidation
  Passthrough,    ///< 64 GiB, devices in an identity domain, the bounce pool behind them
  DirectLowRam,   ///< 2 GiB without IOMMU or bounce pool: 32-bit devices reach all of it
  DirectHighRam,  ///< 64 GiB without IOMMU or bounce pool: nothing makes high memory reachable
};

/// Every kind a model must move data correctly on.
inline constexpr PlatformKind kDataPathKinds[] = {
    PlatformKind::Bounce, PlatformKind::IommuStrict, PlatformKind::IommuDeferred,
    PlatformKind::Passthrough, PlatformKind::DirectLowRam};

inline const char* platform_kind_name(PlatformKind kind) {
  switch (kind) {
    case PlatformKind::Bounce:
      return "Bounce";
    case PlatformKind::IommuStrict:
      return "IommuStrict";
    case PlatformKind::IommuDeferred:
      return "IommuDeferred";
    case PlatformKind::Passthrough:
      return "Passthrough";
    case PlatformKind::DirectLowRam:
      return "DirectLowRam";
    case PlatformKind::DirectHighRam:
      break;
  }
  return "DirectHighRam";
}

/// A machine, its platform and, for the IOMMU kinds, one IOMMU; devices added here join the
/// kind's translation. Buffers come from a bump region of the direct map, above 4 GiB where the
/// machine has RAM there. Declaration order is destruction order in reverse: devices go first.
class PlatformUnderTest {
 public:
  explicit PlatformUnderTest(PlatformKind kind)
      : kind_(kind),
        machine_(machine_config(kind)),
        platform_(machine_),
        iommu_(dma::uses_iommu(strategy_of(kind))
                   ? std::make_unique<iommu::Iommu>(machine_, iommu::IommuConfig{})
                   : nullptr),
        next_buffer_(kind == PlatformKind::DirectLowRam ? kGiB : 40 * kGiB) {}

  [[nodiscard]] PlatformKind kind() const { return kind_; }
  [[nodiscard]] machine::Machine& machine() { return machine_; }
  [[nodiscard]] dma::Platform& platform() { return platform_; }
  [[nodiscard]] iommu::Iommu* iommu() { return iommu_.get(); }

  /// A device on this platform, behind the IOMMU in a domain of its own where there is one.
  dma::Device& add_device(const std::string& name) {
    devices_.push_back(std::make_unique<dma::Device>(platform_, name));
    dma::Device& dev = *devices_.back();
    dma::place(dev, strategy(), iommu_.get());
    return dev;
  }

  /// `size` bytes of page-aligned direct-map memory, filled with `fill`, never handed out twice.
  std::byte* buffer(std::uint64_t size, std::byte fill = std::byte{0}) {
    std::byte* cpu = machine_.memory().direct_map(PhysAddr(next_buffer_));
    next_buffer_ += align_up(size, kPageSize) + kPageSize;
    std::memset(cpu, std::to_integer<int>(fill), size);
    return cpu;
  }

 private:
  // The strategy whose placement the kind's devices get.
  static dma::Strategy strategy_of(PlatformKind kind) {
    switch (kind) {
      case PlatformKind::IommuStrict:
        return dma::Strategy::IommuStrict;
      case PlatformKind::IommuDeferred:
        return dma::Strategy::IommuLazy;
      case PlatformKind::Passthrough:
        return dma::Strategy::Passthrough;
      default:
        return dma::Strategy::Bounce;
    }
  }
  [[nodiscard]] dma::Strategy strategy() const { return strategy_of(kind_); }
  static machine::MachineConfig machine_config(PlatformKind kind) {
    switch (kind) {
      case PlatformKind::DirectLowRam:
        return compact_machine_config(2 * kGiB);
      case PlatformKind::DirectHighRam: {
        machine::MachineConfig config = bounce_machine_config();
        config.swiotlb.size = 0;
        return config;
      }
      default:
        return bounce_machine_config();
    }
  }

  PlatformKind kind_;
  machine::Machine machine_;
  dma::Platform platform_;
  std::unique_ptr<iommu::Iommu> iommu_;
  std::vector<std::unique_ptr<dma::Device>> devices_;
  std::uint64_t next_buffer_;
};

/// For INSTANTIATE_TEST_SUITE_P: names parameters after their kind.
struct PlatformKindName {
  template <class ParamInfo>
  std::string operator()(const ParamInfo& info) const {
    return platform_kind_name(info.param);
  }
};

}  // namespace dmakit::testing
