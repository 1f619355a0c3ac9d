// SPDX-License-Identifier: Apache-2.0
// Stable names of the misuse classes (debug layer).
#include "dmakit/debug/misuse.h"

#include <array>

namespace dmakit::debug {
namespace {

constexpr std::array<std::string_view, kMisuseCount> kNames = {
    "unmap-invalid-address",
    "unmap-not-mapped",
    "unmap-wrong-size",
    "unmap-wrong-direction",
    "unmap-wrong-kind",
    "unmap-wrong-cpu-address",
    "unmap-wrong-sg-count",
    "unchecked-mapping-error",
    "sync-not-mapped",
    "sync-out-of-range",
    "sync-wrong-direction",
    "sync-device-read-only-for-cpu",
    "sync-device-write-only-for-device",
    "sync-wrong-sg-count",
    "map-vmalloc",
    "map-not-ram",
    "cacheline-overlap",
    "sg-segment-too-long",
    "sg-segment-crosses-boundary",
    "cpu-access-device-owned",
    "device-access-wrong-direction",
    "leak",
};

}  // namespace

std::string_view misuse_name(Misuse misuse) { return kNames[static_cast<std::size_t>(misuse)]; }

std::optional<Misuse> misuse_from_name(std::string_view name) {
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<Misuse>(i);
  }
  return std::nullopt;
}

}  // namespace dmakit::debug
