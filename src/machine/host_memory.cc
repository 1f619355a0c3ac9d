// SPDX-License-Identifier: Apache-2.0
// Host primitives behind simulated physical memory (machine layer): memfd, mmap, /proc/self/statm.
#include "dmakit/machine/host_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

namespace dmakit::machine::host {

Result<int> create_backing_file(std::uint64_t bytes) {
  const int fd = memfd_create("dmakit-ram", MFD_CLOEXEC);
  if (fd < 0) return fail(Errc::NoMemory, "memfd_create failed: {}", std::strerror(errno));
  if (ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
    const int err = errno;
    close(fd);
    return fail(Errc::NoMemory, "cannot size backing file to {} bytes: {}", bytes,
                std::strerror(err));
  }
  return fd;
}

void close_backing_file(int fd) {
  if (fd >= 0) close(fd);
}

namespace {

Result<std::byte*> map_anonymous(std::uint64_t bytes, int prot) {
  void* p = mmap(nullptr, bytes, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    return fail(Errc::NoMemory, "cannot reserve {} bytes of host address space: {}", bytes,
                std::strerror(errno));
  return static_cast<std::byte*>(p);
}

}  // namespace

Result<std::byte*> reserve(std::uint64_t bytes) { return map_anonymous(bytes, PROT_NONE); }

Result<std::byte*> reserve_zeroed(std::uint64_t bytes) {
  return map_anonymous(bytes, PROT_READ | PROT_WRITE);
}

Result<ZeroedBuffer> ZeroedBuffer::create(std::uint64_t bytes) {
  const Result<std::byte*> base = reserve_zeroed(bytes);
  if (!base) return std::unexpected(base.error());
  return ZeroedBuffer(*base, bytes);
}

ZeroedBuffer::ZeroedBuffer(ZeroedBuffer&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)), size_(std::exchange(other.size_, 0)) {}

ZeroedBuffer& ZeroedBuffer::operator=(ZeroedBuffer&& other) noexcept {
  if (this != &other) {
    if (base_ != nullptr) release(base_, size_);
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

ZeroedBuffer::~ZeroedBuffer() {
  if (base_ != nullptr) release(base_, size_);
}

Status map_backing(std::byte* at, std::uint64_t bytes, int fd, std::uint64_t offset) {
  void* p = mmap(at, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
                 static_cast<off_t>(offset));
  if (p == MAP_FAILED)
    return fail(Errc::NoMemory, "cannot map {} bytes of backing at offset {:#x}: {}", bytes, offset,
                std::strerror(errno));
  return {};
}

Status unmap_to_reserved(std::byte* at, std::uint64_t bytes) {
  void* p =
      mmap(at, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
  if (p == MAP_FAILED)
    return fail(Errc::NoMemory, "cannot unmap {} bytes: {}", bytes, std::strerror(errno));
  return {};
}

void release(std::byte* base, std::uint64_t bytes) {
  if (base != nullptr) munmap(base, bytes);
}

std::uint64_t resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long size = 0;
  unsigned long resident = 0;
  const int fields = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  if (fields != 2) return 0;
  return static_cast<std::uint64_t>(resident) * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace dmakit::machine::host
