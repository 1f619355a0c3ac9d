// SPDX-License-Identifier: Apache-2.0
// Copier: how a driver moves bytes that the CPU could move itself (devices layer). CpuCopier copies
// with the CPU; EngineCopier (engine_copier.h) through a DMA engine of the engine layer (seed 002's
// "arrange for a copy to happen using the best method available"), with no change to the drivers
// that use one.
#pragma once

#include <cstddef>
#include <cstring>

#include "dmakit/core/result.h"

namespace dmakit::devices {

/// Contract: copy() moves `size` bytes from `src` to `dst` (not overlapping) and returns once they
/// are there, or an error saying why not; what it costs is the implementation's to count.
class Copier {
 public:
  virtual ~Copier() = default;
  [[nodiscard]] virtual Status copy(std::byte* dst, const std::byte* src, std::size_t size) = 0;
};

/// Copies with memcpy, counting the bytes.
class CpuCopier final : public Copier {
 public:
  [[nodiscard]] Status copy(std::byte* dst, const std::byte* src, std::size_t size) override {
    std::memcpy(dst, src, size);
    bytes_ += size;
    return {};
  }
  [[nodiscard]] std::uint64_t bytes() const { return bytes_; }

 private:
  std::uint64_t bytes_ = 0;
};

}  // namespace dmakit::devices
