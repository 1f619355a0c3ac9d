// SPDX-License-Identifier: Apache-2.0
// The NIC model (devices layer): descriptor fetch and write-back in either format, frames moved by
// bus address.
#include "dmakit/devices/nic.h"

#include <array>
#include <cstring>

namespace dmakit::devices {

void encode_descriptor(DescriptorFormat format, const NicDescriptor& desc, std::byte* out) {
  if (format == DescriptorFormat::Bits32) {
    const NicDesc32 d{static_cast<std::uint32_t>(desc.addr),
                      static_cast<std::uint16_t>(desc.length),
                      static_cast<std::uint16_t>(desc.status)};
    std::memcpy(out, &d, sizeof(d));
  } else {
    const NicDesc64 d{desc.addr, desc.length, desc.status};
    std::memcpy(out, &d, sizeof(d));
  }
}

NicDescriptor decode_descriptor(DescriptorFormat format, const std::byte* in) {
  if (format == DescriptorFormat::Bits32) {
    NicDesc32 d;
    std::memcpy(&d, in, sizeof(d));
    return {d.addr, d.length, d.status};
  }
  NicDesc64 d;
  std::memcpy(&d, in, sizeof(d));
  return {d.addr, d.length, d.status};
}

Nic::Nic(dma::Device& dev, const NicConfig& config)
    : DeviceModel(dev, config.timing), wire_(config.wire_fifo_frames) {
  regs_.format = config.format;
}

DmaAddr Nic::slot(DmaAddr ring, std::uint32_t entries, std::uint32_t index) const {
  return ring + (index % entries) * descriptor_bytes(regs_.format);
}

Result<NicDescriptor> Nic::fetch(DmaAddr at) {
  std::array<std::byte, sizeof(NicDesc64)> raw;
  const Status s = read(at, std::span(raw).first(descriptor_bytes(regs_.format)));
  if (!s) return std::unexpected(s.error());
  return decode_descriptor(regs_.format, raw.data());
}

Status Nic::write_back(DmaAddr at, const NicDescriptor& desc) {
  count_descriptor();
  std::array<std::byte, sizeof(NicDesc64)> raw;
  encode_descriptor(regs_.format, desc, raw.data());
  return write(at, std::span(raw).first(descriptor_bytes(regs_.format)));
}

bool Nic::transmit_one() {
  const DmaAddr at = slot(regs_.tx_ring, regs_.tx_entries, regs_.tx_head);
  Result<NicDescriptor> desc = fetch(at);
  if (!desc) return false;
  std::vector<std::byte> frame(desc->length);
  desc->status = kDescDone;
  if (read(DmaAddr(desc->addr), frame)) {
    wire_.send(std::move(frame));
    ++stats_.frames_sent;
  } else {
    desc->status |= kDescDmaError;
    ++stats_.dma_errors;
  }
  if (!write_back(at, *desc)) return false;
  ++regs_.tx_head;
  return true;
}

bool Nic::receive_one() {
  const DmaAddr at = slot(regs_.rx_ring, regs_.rx_entries, regs_.rx_head);
  Result<NicDescriptor> desc = fetch(at);
  if (!desc) return false;
  const Frame& frame = wire_.next_arrival();
  desc->status = kDescDone;
  if (frame.size() > desc->length) {
    desc->status |= kDescTooLong;
    desc->length = 0;
  } else if (write_buffer(DmaAddr(desc->addr), frame)) {
    desc->length = static_cast<std::uint32_t>(frame.size());
    ++stats_.frames_received;
  } else {
    desc->status |= kDescDmaError;
    desc->length = 0;
    ++stats_.dma_errors;
  }
  if (!write_back(at, *desc)) return false;
  wire_.pop_arrival();
  ++regs_.rx_head;
  return true;
}

std::size_t Nic::service() {
  std::size_t done = 0;
  while (regs_.tx_entries != 0 && regs_.tx_head != regs_.tx_tail && transmit_one()) ++done;
  while (regs_.rx_entries != 0 && regs_.rx_head != regs_.rx_tail && wire_.has_arrival() &&
         receive_one())
    ++done;
  return done;
}

}  // namespace dmakit::devices
