// SPDX-License-Identifier: Apache-2.0
// The host boundary of the machine layer: every primitive dmakit needs from the host operating
// system to back simulated physical memory, in one place.
//
// Simulated RAM lives in an anonymous shared-memory file (memfd) whose file offset is the physical
// address. The file is sparse, so only pages that are touched cost host memory, and the same page
// can be mapped twice: once in the machine's direct map and once in the vmalloc area, as the kernel
// maps a page both linearly and through vmalloc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dmakit/core/result.h"

namespace dmakit::machine::host {

/// Creates a sparse anonymous memory file of `bytes` bytes. Nothing is committed until touched.
/// Failure: NoMemory naming the size and the host's errno.
[[nodiscard]] Result<int> create_backing_file(std::uint64_t bytes);

/// Closes a file from create_backing_file().
void close_backing_file(int fd);

/// Reserves `bytes` of host address space with no access and no commit charge (MAP_NORESERVE); any
/// access to a reserved page that is not later mapped faults at once. Failure: NoMemory.
[[nodiscard]] Result<std::byte*> reserve(std::uint64_t bytes);

/// Reserves and commits-on-touch `bytes` of zero-filled, read-write anonymous memory
/// (MAP_NORESERVE): metadata arrays sized for the largest machine cost only the entries used.
[[nodiscard]] Result<std::byte*> reserve_zeroed(std::uint64_t bytes);

/// A buffer of reserve_zeroed() memory that releases itself: one as large as a disk costs host
/// memory only for the pages written, as simulated RAM does.
class ZeroedBuffer {
 public:
  /// Failure: what reserve_zeroed() says.
  [[nodiscard]] static Result<ZeroedBuffer> create(std::uint64_t bytes);

  ZeroedBuffer() = default;
  ZeroedBuffer(ZeroedBuffer&& other) noexcept;
  ZeroedBuffer& operator=(ZeroedBuffer&& other) noexcept;
  ~ZeroedBuffer();

  [[nodiscard]] std::span<std::byte> bytes() const { return {base_, size_}; }

 private:
  ZeroedBuffer(std::byte* base, std::uint64_t size) : base_(base), size_(size) {}

  std::byte* base_ = nullptr;
  std::uint64_t size_ = 0;
};

/// Maps [offset, offset + bytes) of the backing file read-write at `at`, which must lie inside a
/// reservation and be page aligned. Failure: BadAddress or NoMemory with the host's errno.
[[nodiscard]] Status map_backing(std::byte* at, std::uint64_t bytes, int fd, std::uint64_t offset);

/// Makes [at, at + bytes) of a reservation inaccessible again, dropping any mapping there.
[[nodiscard]] Status unmap_to_reserved(std::byte* at, std::uint64_t bytes);

/// Releases a whole reservation.
void release(std::byte* base, std::uint64_t bytes);

/// The resident set size of this process in bytes (file-backed and anonymous), from
/// /proc/self/statm.
[[nodiscard]] std::uint64_t resident_bytes();

}  // namespace dmakit::machine::host
