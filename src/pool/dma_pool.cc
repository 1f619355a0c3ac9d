// SPDX-License-Identifier: Apache-2.0
// DMA pools (pool layer; seed 004, reference section 5).
//
// Each chunk is one coherent allocation of max(block size, page) bytes. Its blocks are laid out
// when it is taken, from its bus address: consecutive blocks of the aligned size, skipping ahead to
// the next boundary line (in bus terms) whenever a block would cross one. A chunk keeps a stack of
// free blocks and a bit per block, so a double free or a pointer into the middle of a block is
// refused.
#include "dmakit/pool/dma_pool.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <limits>

#include "dmakit/core/assert.h"
#include "dmakit/core/request_size.h"

namespace dmakit::pool {

Result<std::unique_ptr<DmaPool>> DmaPool::create(std::string name, dma::Device& dev,
                                                 std::uint64_t size, std::uint64_t align,
                                                 std::uint64_t boundary) {
  // The kernel's bound: a pool serves small blocks, and larger ones are coherent allocations.
  constexpr std::uint64_t kMaxBlock = std::numeric_limits<std::int32_t>::max();
  if (size == 0 || size > kMaxBlock)
    return fail(Errc::InvalidArgument, "dma pool '{}': block size {} is not 1 to {} bytes", name,
                size, kMaxBlock);
  if (align == 0) align = 1;
  if (!std::has_single_bit(align))
    return fail(Errc::InvalidArgument, "dma pool '{}': align {} is not a power of two", name,
                align);
  // Bounded, so that neither the rounding below nor the chunk size after it can wrap.
  if (Status ok = check_request_bytes("align", align); !ok)
    return fail(Errc::InvalidArgument, "dma pool '{}': {}", name, ok.error().message);
  const std::uint64_t block = align_up(size, align);
  if (boundary != 0 && (!std::has_single_bit(boundary) || boundary < block))
    return fail(Errc::InvalidArgument,
                "dma pool '{}': boundary {} must be a power of two of at least the block size {}",
                name, boundary, block);
  // Coherent chunks are only page aligned. A block up to a page always fits at the chunk's start.
  // A larger one needs room to slide up to its alignment, and then past a boundary line it would
  // cross (less than one block further on).
  std::uint64_t allocation = std::max(block, kPageSize);
  if (block > kPageSize) {
    if (align > kPageSize) allocation += align - kPageSize;
    if (boundary != 0) allocation += block;
  }
  return std::unique_ptr<DmaPool>(
      new DmaPool(std::move(name), dev, block, align, allocation, boundary));
}

DmaPool::DmaPool(std::string name, dma::Device& dev, std::uint64_t size, std::uint64_t align,
                 std::uint64_t allocation, std::uint64_t boundary)
    : name_(std::move(name)),
      dev_(dev),
      size_(size),
      align_(align),
      allocation_(allocation),
      boundary_(boundary),
      warning_sink_([](const std::string& m) { std::fputs((m + "\n").c_str(), stderr); }) {}

DmaPool::~DmaPool() {
  if (!destroyed_) destroy();
}

void DmaPool::set_warning_sink(std::function<void(const std::string&)> sink) {
  const std::scoped_lock guard(lock_);
  warning_sink_ = std::move(sink);
}

Result<DmaPool::Chunk*> DmaPool::grow(machine::Gfp gfp) {
  DmaAddr dma{};
  Result<std::byte*> cpu = dma::alloc_coherent(dev_, allocation_, &dma, gfp);
  if (!cpu) return std::unexpected(cpu.error());
  auto chunk = std::make_unique<Chunk>();
  chunk->cpu = *cpu;
  chunk->dma = dma;
  // The chunk's bus address decides where alignment and boundary lines fall. Offsets start at the
  // first aligned address and grow in block-size steps (a multiple of the alignment), jumping to
  // the next boundary line (a power of two at least the block size, so aligned too) when a block
  // would cross one.
  for (std::uint64_t off = align_up(dma.value(), align_) - dma.value();
       off + size_ <= allocation_;) {
    const std::uint64_t first = dma.value() + off;
    if (boundary_ != 0 && first / boundary_ != (first + size_ - 1) / boundary_) {
      off = align_up(first, boundary_) - dma.value();
      continue;
    }
    chunk->offsets.push_back(static_cast<std::uint32_t>(off));
    off += size_;
  }
  DMAKIT_CHECK(!chunk->offsets.empty(), "dma pool '{}': a {}-byte chunk holds no {}-byte block",
               name_, allocation_, size_);
  chunk->in_use.assign(chunk->offsets.size(), false);
  for (std::size_t i = chunk->offsets.size(); i-- > 0;)
    chunk->free.push_back(static_cast<std::uint32_t>(i));
  Chunk* raw = chunk.get();
  chunks_.emplace(reinterpret_cast<std::uintptr_t>(raw->cpu), std::move(chunk));
  return raw;
}

Result<std::byte*> DmaPool::alloc(machine::Gfp gfp, DmaAddr* handle) {
  const std::scoped_lock guard(lock_);
  Chunk* chunk = nullptr;
  for (auto& [start, c] : chunks_) {
    if (!c->free.empty()) {
      chunk = c.get();
      break;
    }
  }
  if (chunk == nullptr) {
    Result<Chunk*> grown = grow(gfp.without(machine::Gfp::kZero));
    if (!grown) return std::unexpected(grown.error());
    chunk = *grown;
  }
  const std::uint32_t index = chunk->free.back();
  chunk->free.pop_back();
  chunk->in_use[index] = true;
  ++chunk->used;
  const std::uint32_t offset = chunk->offsets[index];
  *handle = chunk->dma + offset;
  return chunk->cpu + offset;
}

Result<std::byte*> DmaPool::zalloc(machine::Gfp gfp, DmaAddr* handle) {
  Result<std::byte*> block = alloc(gfp, handle);
  if (block) std::memset(*block, 0, size_);
  return block;
}

Status DmaPool::free(void* cpu, DmaAddr handle) {
  const std::scoped_lock guard(lock_);
  const auto addr = reinterpret_cast<std::uintptr_t>(cpu);
  auto it = chunks_.upper_bound(addr);
  if (it == chunks_.begin())
    return fail(Errc::InvalidArgument, "dma pool '{}': {} is not one of its blocks", name_, cpu);
  --it;
  Chunk& chunk = *it->second;
  const std::uint64_t offset = addr - it->first;
  const auto pos = std::lower_bound(chunk.offsets.begin(), chunk.offsets.end(), offset);
  const auto index = static_cast<std::size_t>(pos - chunk.offsets.begin());
  if (pos == chunk.offsets.end() || *pos != offset || !chunk.in_use[index])
    return fail(Errc::InvalidArgument,
                "dma pool '{}': {} is not a live block (double free or interior pointer?)", name_,
                cpu);
  if (chunk.dma + offset != handle)
    return fail(Errc::InvalidArgument, "dma pool '{}': handle {:#x} is not block {}'s bus address",
                name_, handle.value(), cpu);
  chunk.in_use[index] = false;
  chunk.free.push_back(static_cast<std::uint32_t>(index));
  --chunk.used;
  return {};
}

std::vector<LeakedBlock> DmaPool::destroy() {
  std::vector<LeakedBlock> leaks;
  const std::scoped_lock guard(lock_);
  for (auto& [start, chunk] : chunks_) {
    if (chunk->used != 0) {
      for (std::size_t i = 0; i < chunk->offsets.size(); ++i) {
        if (!chunk->in_use[i]) continue;
        const std::uint32_t off = chunk->offsets[i];
        leaks.push_back({chunk->cpu + off, chunk->dma + off});
        warning_sink_(fmt::format(
            "dma pool '{}' of {}: block {} (bus {:#x}) still allocated at "
            "destroy",
            name_, dev_.name(), static_cast<void*>(chunk->cpu + off), (chunk->dma + off).value()));
      }
      continue;  // kept: the device may still use the leaked blocks
    }
    (void)dma::free_coherent(dev_, allocation_, chunk->cpu, chunk->dma);
  }
  chunks_.clear();
  destroyed_ = true;
  return leaks;
}

std::size_t DmaPool::blocks_in_use() const {
  const std::scoped_lock guard(lock_);
  std::size_t total = 0;
  for (const auto& [start, chunk] : chunks_) total += chunk->used;
  return total;
}

std::size_t DmaPool::pages() const {
  const std::scoped_lock guard(lock_);
  return chunks_.size() * (allocation_ / kPageSize);
}

}  // namespace dmakit::pool
