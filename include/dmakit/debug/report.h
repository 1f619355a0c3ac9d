// SPDX-License-Identifier: Apache-2.0
// Report: one DMA-API misuse the checker found, with the mapping it concerns and both call sites
// (debug layer; seed 004).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dmakit/core/addr.h"
#include "dmakit/core/direction.h"
#include "dmakit/debug/call_stack.h"
#include "dmakit/debug/misuse.h"
#include "dmakit/dma/mapping_observer.h"

namespace dmakit::debug {

/// The stable name of a mapping kind ("single", "page", "sg", "coherent").
[[nodiscard]] std::string_view kind_name(dma::MappingKind kind);

/// A tracked mapping as it was when a report was made: what map call made it, and where.
struct MappingRecord {
  std::string device;
  dma::MappingKind kind;
  PhysAddr phys;
  DmaAddr dma;
  std::uint64_t size;
  Direction dir;
  std::uint32_t sg_count;  ///< entries of the list it belongs to (sg); 0 otherwise
  bool device_owns;        ///< the device owns it (mapped or synced for the device)
  CallStack mapped_at;

  /// "single [dma 0x1000, +0x200) phys 0x1000 to-device" on one line.
  [[nodiscard]] std::string describe() const;
};

/// One finding. `dma`, `phys`, `size`, `dir` and `kind` are the offending call's arguments (a CPU
/// access gives its physical range; a leak report the first leaked mapping's).
struct Report {
  Misuse misuse;
  std::string device;   ///< the device of the offending call ("" for a CPU access)
  std::string message;  ///< one line in Linux's words with the figures that differ
  dma::MappingKind kind;
  PhysAddr phys;
  DmaAddr dma;
  std::uint64_t size;
  Direction dir;
  std::optional<MappingRecord> mapping;  ///< the mapping the call was matched with, if any
  std::vector<MappingRecord> leaked;     ///< leak: every mapping the device still holds
  CallStack call;                        ///< where the offending call was made

  /// The whole report with both call sites symbolized, several lines.
  [[nodiscard]] std::string to_string() const;
};

}  // namespace dmakit::debug
