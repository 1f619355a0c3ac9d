// SPDX-License-Identifier: Apache-2.0
// Device: a bus master on the simulated machine, as the DMA API sees it (dma layer). So far its
// name, its DMA mask and its NUMA node; the DMA-mapping layer grows it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "dmakit/core/mask.h"
#include "dmakit/machine/page_allocator.h"

namespace dmakit::dma {

/// A device that masters DMA. Not thread-safe to reconfigure; read freely once set up.
class Device {
 public:
  /// \param dma_mask the highest bus address the device can generate, 2^n - 1; 32 bits by default,
  ///                 as Linux assumes for a device that never set a mask
  /// \param node     the NUMA node the device sits on, or machine::kLocalNode for none in
  /// particular
  explicit Device(std::string name, std::uint64_t dma_mask = dma_bit_mask(32),
                  int node = machine::kLocalNode)
      : name_(std::move(name)), dma_mask_(dma_mask), node_(node) {}

  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] std::uint64_t dma_mask() const { return dma_mask_; }
  [[nodiscard]] int numa_node() const { return node_; }

 private:
  std::string name_;
  std::uint64_t dma_mask_;
  int node_;
};

}  // namespace dmakit::dma
