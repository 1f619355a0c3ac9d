// SPDX-License-Identifier: Apache-2.0
// The driver of the controller with on-board memory (devices layer).
#include "dmakit/devices/local_memory_driver.h"

#include <cstring>

#include "dmakit/core/assert.h"
#include "dmakit/devices/checksum.h"
#include "dmakit/dma/coherent.h"
#include "dmakit/dma/declared_memory.h"
#include "dmakit/dma/mapping.h"

namespace dmakit::devices {

Result<std::unique_ptr<LocalMemoryDriver>> LocalMemoryDriver::open(dma::Device& dev,
                                                                   LocalMemoryRegisters& regs,
                                                                   std::uint32_t entries) {
  if (entries == 0) return fail(Errc::InvalidArgument, "{}: a ring of 0 entries", dev.name());
  std::unique_ptr<LocalMemoryDriver> driver(new LocalMemoryDriver(dev, regs, entries));
  if (Status s = driver->init(); !s) return std::unexpected(s.error());
  return driver;
}

Status LocalMemoryDriver::init() {
  // Exclusive: coherent memory comes from the board or not at all, so the ring cannot silently
  // land in host RAM (seed 001's flags).
  if (Status s =
          dma::declare_coherent_memory(dev_, regs_.memory_bus_addr, regs_.memory_device_addr,
                                       regs_.memory_size, dma::kMemoryMap | dma::kMemoryExclusive);
      !s)
    return s;
  declared_ = true;
  Result<std::byte*> ring =
      dma::alloc_coherent(dev_, entries_ * sizeof(CopyDescriptor), &ring_dma_);
  if (!ring) return std::unexpected(ring.error());
  ring_ = *ring;
  regs_.ring = ring_dma_;
  regs_.entries = entries_;
  regs_.head = regs_.tail = 0;
  return {};
}

LocalMemoryDriver::~LocalMemoryDriver() {
  regs_.entries = 0;
  for (const Copy& c : in_flight_) DMAKIT_CHECK(unmap(c), "{}: unmap failed", dev_.name());
  if (ring_ != nullptr)
    DMAKIT_CHECK(dma::free_coherent(dev_, entries_ * sizeof(CopyDescriptor), ring_, ring_dma_),
                 "{}: ring free failed", dev_.name());
  if (declared_)
    DMAKIT_CHECK(dma::release_declared_memory(dev_), "{}: release of on-board memory failed",
                 dev_.name());
}

Status LocalMemoryDriver::unmap(const Copy& c) {
  if (Status s = dma::unmap_single(dev_, c.src_dma, c.size, Direction::ToDevice); !s) return s;
  return dma::unmap_single(dev_, c.dst_dma, c.size, Direction::FromDevice);
}

Status LocalMemoryDriver::copy(std::byte* dst, const std::byte* src, std::uint32_t size) {
  if (in_flight_.size() == entries_)
    return fail(Errc::Busy, "{}: ring full ({} entries)", dev_.name(), entries_);
  const Result<DmaAddr> src_dma = dma::map_single(dev_, src, size, Direction::ToDevice);
  if (!src_dma) return std::unexpected(src_dma.error());
  const Result<DmaAddr> dst_dma = dma::map_single(dev_, dst, size, Direction::FromDevice);
  if (!dst_dma) {
    DMAKIT_CHECK(dma::unmap_single(dev_, *src_dma, size, Direction::ToDevice), "{}: unmap failed",
                 dev_.name());
    return std::unexpected(dst_dma.error());
  }
  // The ring is on the board, mapped into the CPU's view (kMemoryMap): plain stores reach it.
  const CopyDescriptor d{src_dma->value(), dst_dma->value(), size, 0, 0, 0};
  std::memcpy(ring_ + (tail_ % entries_) * sizeof(d), &d, sizeof(d));
  in_flight_.push_back({dst, *src_dma, *dst_dma, size});
  regs_.tail = ++tail_;
  return {};
}

Result<std::size_t> LocalMemoryDriver::complete() {
  std::size_t ended = 0;
  std::size_t failed = 0;
  for (; !in_flight_.empty(); ++done_, ++ended) {
    CopyDescriptor d;
    std::memcpy(&d, ring_ + (done_ % entries_) * sizeof(d), sizeof(d));
    if (d.status == 0) break;
    const Copy c = in_flight_.front();
    in_flight_.pop_front();
    if (Status s = unmap(c); !s) return std::unexpected(s.error());
    if ((d.status & kCopyDmaError) != 0 || crc32({c.dst, c.size}) != d.checksum) ++failed;
  }
  if (failed != 0)
    return fail(Errc::Fault, "{}: {} copies failed (DMA fault or checksum)", dev_.name(), failed);
  return ended;
}

}  // namespace dmakit::devices
