// SPDX-License-Identifier: Apache-2.0
// DmaPool: small coherent blocks carved from coherent pages (pool layer; seed 004's "PCI DMA pool
// mechanism", Linux's dma_pool).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dmakit/dma/coherent.h"
#include "dmakit/dma/device.h"

namespace dmakit::pool {

/// A block still allocated when its pool was destroyed.
struct LeakedBlock {
  std::byte* cpu;
  DmaAddr dma;
};

/// Fixed-size blocks of coherent memory for one device: descriptors, small command buffers. Each
/// block is aligned to `align` and never crosses a `boundary` line (both powers of two), in bus
/// address terms. Thread-safe. The Device must outlive the pool.
class DmaPool {
 public:
  /// \param size      bytes per block, at least 1
  /// \param align     power of two (0 means 1); the block size is rounded up to it
  /// \param boundary  power of two at least the rounded size, or 0 for no boundary
  /// Errors: InvalidArgument naming the bad parameter.
  [[nodiscard]] static Result<std::unique_ptr<DmaPool>> create(std::string name, dma::Device& dev,
                                                               std::uint64_t size,
                                                               std::uint64_t align,
                                                               std::uint64_t boundary);
  /// Destroys the pool (destroy()) if that was not done.
  ~DmaPool();

  DmaPool(const DmaPool&) = delete;
  DmaPool& operator=(const DmaPool&) = delete;

  /// A block; *handle receives its bus address. Errors: those of alloc_coherent.
  [[nodiscard]] Result<std::byte*> alloc(machine::Gfp gfp, DmaAddr* handle);
  /// A zeroed block.
  [[nodiscard]] Result<std::byte*> zalloc(machine::Gfp gfp, DmaAddr* handle);
  /// Returns a block. InvalidArgument, with nothing changed, for a pointer that is not a live block
  /// of this pool or a handle that is not its bus address.
  [[nodiscard]] Status free(void* cpu, DmaAddr handle);

  /// Gives every page back and reports each block still allocated, through the warning sink and the
  /// return value; pages that hold leaked blocks are kept (a device may still write to them), as
  /// Linux's dma_pool_destroy does.
  std::vector<LeakedBlock> destroy();

  /// Where leak reports go (default: standard error).
  void set_warning_sink(std::function<void(const std::string&)> sink);

  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] std::uint64_t block_size() const { return size_; }
  [[nodiscard]] std::size_t blocks_in_use() const;
  [[nodiscard]] std::size_t pages() const;

 private:
  struct Chunk {
    std::byte* cpu;  ///< start of the coherent allocation
    DmaAddr dma;
    std::vector<std::uint32_t> offsets;  ///< ascending block offsets that respect the boundary
    std::vector<bool> in_use;            ///< parallel to offsets
    std::vector<std::uint32_t> free;     ///< indices into offsets, LIFO
    std::uint32_t used = 0;
  };

  DmaPool(std::string name, dma::Device& dev, std::uint64_t size, std::uint64_t align,
          std::uint64_t allocation, std::uint64_t boundary);
  [[nodiscard]] Result<Chunk*> grow(machine::Gfp gfp);

  std::string name_;
  dma::Device& dev_;
  const std::uint64_t size_;  ///< block size, rounded to the alignment
  const std::uint64_t align_;
  const std::uint64_t allocation_;  ///< bytes per coherent allocation
  const std::uint64_t boundary_;    ///< 0: none

  mutable std::mutex lock_;
  std::map<std::uintptr_t, std::unique_ptr<Chunk>> chunks_;  ///< by CPU start; guarded by lock_
  bool destroyed_ = false;
  std::function<void(const std::string&)> warning_sink_;
};

}  // namespace dmakit::pool
