// SPDX-License-Identifier: Apache-2.0
// The copy-only adapter's driver (devices layer).
#include "dmakit/devices/copy_only_driver.h"

#include <algorithm>
#include <cstring>

#include "dmakit/core/mask.h"
#include "dmakit/devices/checksum.h"
#include "dmakit/dma/mapping.h"

namespace dmakit::devices {

Result<std::unique_ptr<CopyOnlyDriver>> CopyOnlyDriver::open(dma::Device& dev,
                                                             CopyOnlyRegisters& regs,
                                                             Copier& copier) {
  if (Status s = dev.set_dma_mask_and_coherent(dma_bit_mask(64)); !s)
    return std::unexpected(s.error());
  dev.set_force_bounce(false);
  std::unique_ptr<CopyOnlyDriver> driver(new CopyOnlyDriver(dev, regs, copier));
  dev.set_tracker(&driver->tracker_);
  return driver;
}

CopyOnlyDriver::~CopyOnlyDriver() { dev_.set_tracker(nullptr); }

Result<std::byte*> CopyOnlyDriver::cpu_of(DmaAddr addr) const {
  std::byte* cpu = dma::dma_to_virt(dev_, addr);
  if (cpu == nullptr)
    return fail(Errc::BadAddress, "{}: DMA address {:#x} is no live mapping", dev_.name(),
                addr.value());
  return cpu;
}

Status CopyOnlyDriver::copy_dma(DmaAddr addr, std::byte* cpu, std::uint32_t size, bool into_dma) {
  for (std::uint32_t done = 0; done < size;) {
    const DmaAddr at = addr + done;
    const std::uint32_t n = static_cast<std::uint32_t>(
        std::min<std::uint64_t>(size - done, kPageSize - at.value() % kPageSize));
    const Result<std::byte*> mapped = cpu_of(at);
    if (!mapped) return std::unexpected(mapped.error());
    const Status s =
        into_dma ? copier_.copy(*mapped, cpu + done, n) : copier_.copy(cpu + done, *mapped, n);
    if (!s) return s;
    done += n;
  }
  return {};
}

Status CopyOnlyDriver::send(DmaAddr addr, std::uint32_t length) {
  if (regs_.send_doorbell) return fail(Errc::Busy, "{}: the send buffer is full", dev_.name());
  if (length + kFcsBytes > kPioBufferBytes)
    return fail(Errc::InvalidArgument, "{}: a {}-byte payload exceeds the {}-byte send buffer",
                dev_.name(), length, kPioBufferBytes);
  std::byte* out = regs_.send_buffer.data();
  if (Status s = copy_dma(addr, out, length, /*into_dma=*/false); !s) return s;
  const std::uint32_t fcs = crc32({out, length});
  std::memcpy(out + length, &fcs, kFcsBytes);
  regs_.send_length = length + static_cast<std::uint32_t>(kFcsBytes);
  regs_.send_doorbell = true;
  ++stats_.sent;
  return {};
}

void CopyOnlyDriver::post_receive(DmaAddr addr, std::uint32_t length) {
  posted_.push_back({addr, length});
}

Result<std::vector<ReceiveCompletion>> CopyOnlyDriver::poll() {
  std::vector<ReceiveCompletion> done;
  if (!regs_.receive_ready || posted_.empty()) return done;
  const std::span<std::byte> frame(regs_.receive_buffer.data(), regs_.receive_length);
  const std::uint32_t payload = regs_.receive_length - static_cast<std::uint32_t>(kFcsBytes);
  regs_.receive_ready = false;  // the frame is the driver's now; the buffer may refill
  if (!frame_intact(frame)) {
    ++stats_.checksum_errors;
    return done;
  }
  if (payload > posted_.front().length) {
    ++stats_.too_long;
    return done;
  }
  const ReceiveCompletion target = posted_.front();
  if (Status s = copy_dma(target.addr, frame.data(), payload, /*into_dma=*/true); !s)
    return std::unexpected(s.error());
  posted_.pop_front();
  ++stats_.received;
  done.push_back({target.addr, payload});
  return done;
}

}  // namespace dmakit::devices
