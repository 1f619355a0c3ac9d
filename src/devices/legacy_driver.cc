// SPDX-License-Identifier: Apache-2.0
// The legacy device driver (devices layer).
#include "dmakit/devices/legacy_driver.h"

#include "dmakit/core/assert.h"
#include "dmakit/core/mask.h"
#include "dmakit/devices/checksum.h"
#include "dmakit/dma/mapping.h"

namespace dmakit::devices {

Result<std::unique_ptr<LegacyDriver>> LegacyDriver::open(dma::Device& dev, LegacyRegisters& regs) {
  if (Status s = dev.set_dma_mask_and_coherent(dma_bit_mask(regs.address_bits)); !s)
    return std::unexpected(s.error());
  return std::unique_ptr<LegacyDriver>(new LegacyDriver(dev, regs));
}

LegacyDriver::~LegacyDriver() {
  if (buffer_ == nullptr) return;
  regs_.start = false;  // abort the transfer before its buffer goes
  DMAKIT_CHECK(dma::unmap_single(dev_, dma_, size_, dir_), "{}: unmap failed", dev_.name());
}

Status LegacyDriver::start(LegacyMode mode, std::byte* buffer, std::uint32_t size) {
  if (buffer_ != nullptr) return fail(Errc::Busy, "{}: a transfer is in flight", dev_.name());
  if (size == 0 || size > regs_.max_transfer)
    return fail(Errc::InvalidArgument, "{}: {} bytes: a transfer moves 1 to {}", dev_.name(), size,
                regs_.max_transfer);
  const Direction dir =
      mode == LegacyMode::MemoryToDevice ? Direction::ToDevice : Direction::FromDevice;
  const Result<DmaAddr> dma = dma::map_single(dev_, buffer, size, dir);
  if (!dma) return std::unexpected(dma.error());
  buffer_ = buffer;
  size_ = size;
  dma_ = *dma;
  dir_ = dir;
  regs_.address = dma->value();
  regs_.count = size;
  regs_.mode = mode;
  regs_.status = LegacyStatus::Idle;
  regs_.start = true;
  return {};
}

Status LegacyDriver::finish() {
  if (buffer_ == nullptr) return fail(Errc::InvalidArgument, "{}: no transfer", dev_.name());
  if (regs_.start) return fail(Errc::Busy, "{}: the transfer has not run", dev_.name());
  const Status unmapped = dma::unmap_single(dev_, dma_, size_, dir_);
  const std::span<const std::byte> bytes(buffer_, size_);
  buffer_ = nullptr;
  if (!unmapped) return unmapped;
  switch (regs_.status) {
    case LegacyStatus::Done:
      if (crc32(bytes) != regs_.checksum)
        return fail(Errc::Fault, "{}: the buffer does not match the device's CRC-32", dev_.name());
      return {};
    case LegacyStatus::Underrun:
      return fail(Errc::NoMemory, "{}: the device holds fewer than {} bytes", dev_.name(),
                  bytes.size());
    case LegacyStatus::BadCount:
      return fail(Errc::InvalidArgument, "{}: the device rejected the count", dev_.name());
    case LegacyStatus::Idle:
    case LegacyStatus::Fault:
      break;
  }
  return fail(Errc::Fault, "{}: the device's access to the buffer was refused", dev_.name());
}

}  // namespace dmakit::devices
