// SPDX-License-Identifier: Apache-2.0
// The NIC driver (devices layer). Receive ring discipline, as Linux NIC drivers keep it:
// descriptors are cleaned in ring order while the NIC has set their done bit, and posted again in
// ring order, so [rx_next_, rx_tail_) is what the NIC owns. A buffer the DMA API cannot hand back
// (no bounce slot, say) stops the refill there; the next receive() tries again.
#include "dmakit/devices/nic_driver.h"

#include <cstring>

#include "dmakit/core/assert.h"
#include "dmakit/core/mask.h"
#include "dmakit/devices/checksum.h"
#include "dmakit/dma/coherent.h"
#include "dmakit/dma/mapping.h"

namespace dmakit::devices {

NicDriver::NicDriver(dma::Device& dev, NicRegisters& regs, const NicDriverConfig& config)
    : dev_(dev), regs_(regs), config_(config), format_(regs.format) {}

Result<std::unique_ptr<NicDriver>> NicDriver::open(dma::Device& dev, NicRegisters& regs,
                                                   const NicDriverConfig& config) {
  if (config.rx_entries == 0 || config.tx_entries == 0)
    return fail(Errc::InvalidArgument, "{}: rings need at least one entry", dev.name());
  if (config.buffer_bytes <= kFcsBytes || config.buffer_bytes > kPageSize)
    return fail(Errc::InvalidArgument, "{}: buffer_bytes {} is not in ({}, {}]", dev.name(),
                config.buffer_bytes, kFcsBytes, kPageSize);
  std::unique_ptr<NicDriver> driver(new NicDriver(dev, regs, config));
  // On failure the destructor gives back whatever init() had taken.
  if (Status s = driver->init(); !s) return std::unexpected(s.error());
  return driver;
}

Status NicDriver::init() {
  // A 32-bit descriptor has room for 32 address bits and no more (seed 000); the DMA API must
  // then keep every buffer below 4 GiB, by bouncing or remapping.
  const unsigned bits = format_ == DescriptorFormat::Bits32 ? 32 : 64;
  if (Status s = dev_.set_dma_mask_and_coherent(dma_bit_mask(bits)); !s) return s;
  if (Status s = alloc_ring(config_.rx_entries, &rx_ring_, &rx_ring_dma_); !s) return s;
  if (Status s = alloc_ring(config_.tx_entries, &tx_ring_, &tx_ring_dma_); !s) return s;
  if (Status s = alloc_buffers(rx_, config_.rx_entries); !s) return s;
  if (Status s = alloc_buffers(tx_, config_.tx_entries); !s) return s;
  for (Buffer& b : rx_) {
    Status s = hand_rx_to_device(b);
    if (!s && format_ == DescriptorFormat::Bits32 && s.error().code == Errc::AboveMask)
      return fail(Errc::AboveMask,
                  "{}: 32-bit descriptors need buffers below 4 GiB, and this platform maps them "
                  "above it (no IOMMU, no bounce pool): {}",
                  dev_.name(), s.error().message);
    if (!s) return s;
  }
  regs_.rx_ring = rx_ring_dma_;
  regs_.rx_entries = config_.rx_entries;
  regs_.tx_ring = tx_ring_dma_;
  regs_.tx_entries = config_.tx_entries;
  regs_.rx_head = regs_.rx_tail = regs_.tx_head = regs_.tx_tail = 0;
  for (std::uint32_t i = 0; i < config_.rx_entries; ++i)
    set_descriptor(rx_ring_, i, {rx_[i].dma.value(), config_.buffer_bytes, 0});
  rx_tail_ = config_.rx_entries;
  regs_.rx_tail = rx_tail_;
  return {};
}

NicDriver::~NicDriver() {
  // Reset the NIC first, so it touches neither ring nor buffer while they go away.
  regs_.rx_entries = regs_.tx_entries = 0;
  for (Buffer& b : rx_) {
    if (b.mapped)
      DMAKIT_CHECK(dma::unmap_page(dev_, b.dma, config_.buffer_bytes, Direction::FromDevice),
                   "{}: receive buffer unmap failed", dev_.name());
  }
  for (std::uint32_t i = tx_clean_; i != tx_next_; ++i) {
    Buffer& b = tx_[i % config_.tx_entries];
    const NicDescriptor d = descriptor(tx_ring_, i);
    DMAKIT_CHECK(dma::unmap_page(dev_, b.dma, d.length, Direction::ToDevice),
                 "{}: transmit buffer unmap failed", dev_.name());
  }
  for (std::vector<Buffer>* buffers : {&rx_, &tx_}) {
    for (Buffer& b : *buffers)
      DMAKIT_CHECK(dev_.machine().page_allocator().free_pages(b.page, 0), "{}: buffer free failed",
                   dev_.name());
  }
  const std::uint64_t desc = descriptor_bytes(format_);
  if (rx_ring_ != nullptr)
    DMAKIT_CHECK(dma::free_coherent(dev_, config_.rx_entries * desc, rx_ring_, rx_ring_dma_),
                 "{}: ring free failed", dev_.name());
  if (tx_ring_ != nullptr)
    DMAKIT_CHECK(dma::free_coherent(dev_, config_.tx_entries * desc, tx_ring_, tx_ring_dma_),
                 "{}: ring free failed", dev_.name());
}

Status NicDriver::alloc_ring(std::uint32_t entries, std::byte** cpu, DmaAddr* dma) {
  Result<std::byte*> ring =
      dma::alloc_coherent(dev_, std::uint64_t{entries} * descriptor_bytes(format_), dma);
  if (!ring) return std::unexpected(ring.error());
  *cpu = *ring;
  return {};
}

Status NicDriver::alloc_buffers(std::vector<Buffer>& buffers, std::uint32_t count) {
  machine::PageAllocator& pages = dev_.machine().page_allocator();
  buffers.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    Result<machine::Page*> page = pages.alloc_pages(machine::kGfpKernel, 0, dev_.numa_node());
    if (!page) return std::unexpected(page.error());
    buffers.push_back({*page, dev_.machine().page_address(*page), DmaAddr{}, false});
  }
  return {};
}

Status NicDriver::map_buffer(Buffer& buffer, std::uint64_t size, Direction dir) {
  Result<DmaAddr> dma = dma::map_page(dev_, buffer.page, 0, size, dir);
  if (!dma) return std::unexpected(dma.error());
  ++stats_.maps;
  DMAKIT_CHECK(format_ == DescriptorFormat::Bits64 || dma->value() + size - 1 <= dma_bit_mask(32),
               "{}: the DMA API mapped {:#x} beyond the 32-bit mask", dev_.name(), dma->value());
  buffer.dma = *dma;
  buffer.mapped = true;
  return {};
}

Status NicDriver::hand_rx_to_device(Buffer& buffer) {
  if (config_.rx_strategy == RxStrategy::MapPerPacket || !buffer.mapped)
    return map_buffer(buffer, config_.buffer_bytes, Direction::FromDevice);
  ++stats_.syncs;
  return dma::sync_single_for_device(dev_, buffer.dma, config_.buffer_bytes, Direction::FromDevice);
}

NicDescriptor NicDriver::descriptor(const std::byte* ring, std::uint32_t index) const {
  const std::uint32_t entries = ring == rx_ring_ ? config_.rx_entries : config_.tx_entries;
  return decode_descriptor(format_, ring + (index % entries) * descriptor_bytes(format_));
}

void NicDriver::set_descriptor(std::byte* ring, std::uint32_t index, const NicDescriptor& desc) {
  const std::uint32_t entries = ring == rx_ring_ ? config_.rx_entries : config_.tx_entries;
  encode_descriptor(format_, desc, ring + (index % entries) * descriptor_bytes(format_));
}

std::uint32_t NicDriver::max_payload() const {
  return config_.buffer_bytes - static_cast<std::uint32_t>(kFcsBytes);
}

Status NicDriver::transmit(std::span<const std::byte> payload) {
  if (tx_next_ - tx_clean_ == config_.tx_entries)
    return fail(Errc::Busy, "{}: transmit ring full ({} entries)", dev_.name(), config_.tx_entries);
  if (payload.size() > max_payload())
    return fail(Errc::InvalidArgument, "{}: {}-byte packet exceeds the {}-byte buffers",
                dev_.name(), payload.size(), max_payload());
  const std::vector<std::byte> frame = seal_frame(payload);
  Buffer& b = tx_[tx_next_ % config_.tx_entries];
  std::memcpy(b.cpu, frame.data(), frame.size());
  if (Status s = map_buffer(b, frame.size(), Direction::ToDevice); !s) return s;
  set_descriptor(tx_ring_, tx_next_, {b.dma.value(), static_cast<std::uint32_t>(frame.size()), 0});
  regs_.tx_tail = ++tx_next_;
  return {};
}

Result<std::size_t> NicDriver::reap_transmitted() {
  std::size_t reaped = 0;
  std::uint64_t errors = 0;
  for (; tx_clean_ != tx_next_; ++tx_clean_, ++reaped) {
    const NicDescriptor d = descriptor(tx_ring_, tx_clean_);
    if ((d.status & kDescDone) == 0) break;
    Buffer& b = tx_[tx_clean_ % config_.tx_entries];
    if (Status s = dma::unmap_page(dev_, b.dma, d.length, Direction::ToDevice); !s)
      return std::unexpected(s.error());
    b.mapped = false;
    if ((d.status & kDescDmaError) != 0) ++errors;
  }
  stats_.tx_packets += reaped - errors;
  stats_.tx_dma_errors += errors;
  if (errors != 0)
    return fail(Errc::Fault, "{}: the NIC could not read {} transmit buffer(s)", dev_.name(),
                errors);
  return reaped;
}

Result<std::size_t> NicDriver::receive(const Deliver& deliver) {
  std::size_t delivered = 0;
  std::uint64_t dma_errors = 0;
  for (; rx_next_ != rx_tail_; ++rx_next_) {
    const NicDescriptor d = descriptor(rx_ring_, rx_next_);
    if ((d.status & kDescDone) == 0) break;
    Buffer& b = rx_[rx_next_ % config_.rx_entries];
    Status handed =
        config_.rx_strategy == RxStrategy::MapPerPacket
            ? dma::unmap_page(dev_, b.dma, config_.buffer_bytes, Direction::FromDevice)
            : dma::sync_single_for_cpu(dev_, b.dma, config_.buffer_bytes, Direction::FromDevice);
    if (!handed) return std::unexpected(handed.error());
    if (config_.rx_strategy == RxStrategy::MapPerPacket)
      b.mapped = false;
    else
      ++stats_.syncs;
    if ((d.status & kDescDmaError) != 0) {
      ++dma_errors;
    } else if ((d.status & kDescTooLong) != 0) {
      ++stats_.rx_length_errors;
    } else if (!frame_intact({b.cpu, d.length})) {
      ++stats_.rx_checksum_errors;
    } else {
      const std::span<const std::byte> payload(b.cpu, d.length - kFcsBytes);
      ++stats_.rx_packets;
      stats_.rx_bytes += payload.size();
      ++delivered;
      deliver(payload);
    }
  }
  stats_.rx_dma_errors += dma_errors;
  refill_rx();
  if (dma_errors != 0)
    return fail(Errc::Fault, "{}: the NIC reported {} receive DMA error(s)", dev_.name(),
                dma_errors);
  return delivered;
}

void NicDriver::refill_rx() {
  for (; rx_tail_ - rx_next_ < config_.rx_entries; ++rx_tail_) {
    Buffer& b = rx_[rx_tail_ % config_.rx_entries];
    if (!hand_rx_to_device(b)) {
      ++stats_.rx_refill_failures;
      break;
    }
    set_descriptor(rx_ring_, rx_tail_, {b.dma.value(), config_.buffer_bytes, 0});
  }
  regs_.rx_tail = rx_tail_;
}

}  // namespace dmakit::devices
