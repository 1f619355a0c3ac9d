// SPDX-License-Identifier: Apache-2.0
// The storage driver (devices layer). An I/O becomes requests as the block layer splits a bio
// (blk_queue_split): pieces never cross a page, are cut at the controller's segment size, and are
// grouped up to its segment count and transfer size. A piece within one page cannot cross the
// segment boundary (at least a page, and aligned), so only merged segments could, and map_sg keeps
// those within the boundary and segment size the driver sets on the device.
#include "dmakit/devices/storage_driver.h"

#include <algorithm>
#include <cstring>

#include "dmakit/core/assert.h"
#include "dmakit/core/mask.h"
#include "dmakit/devices/checksum.h"
#include "dmakit/dma/coherent.h"
#include "dmakit/dma/direct.h"
#include "dmakit/dma/mapping.h"

namespace dmakit::devices {
namespace {

Direction data_direction(StorageOp op) {
  return op == StorageOp::Read ? Direction::FromDevice : Direction::ToDevice;
}

}  // namespace

StorageDriver::StorageDriver(dma::Device& dev, StorageRegisters& regs,
                             const StorageDriverConfig& config)
    : dev_(dev), regs_(regs), config_(config) {}

Result<std::unique_ptr<StorageDriver>> StorageDriver::open(dma::Device& dev, StorageRegisters& regs,
                                                           const StorageDriverConfig& config) {
  if (config.queue_entries == 0)
    return fail(Errc::InvalidArgument, "{}: the queue needs at least one entry", dev.name());
  if (dev.platform().mask_allocator() == nullptr)
    return fail(Errc::InvalidArgument, "{}: command blocks need a machine with a mask pool",
                dev.name());
  std::unique_ptr<StorageDriver> driver(new StorageDriver(dev, regs, config));
  if (Status s = driver->init(); !s) return std::unexpected(s.error());
  return driver;
}

Status StorageDriver::init() {
  const StorageLimits& l = regs_.limits;
  if (Status s = dev_.set_dma_mask_and_coherent(dma_bit_mask(regs_.address_bits)); !s) return s;
  if (Status s = dev_.set_max_segment_size(l.max_segment_size); !s) return s;
  if (Status s = dev_.set_segment_boundary_mask(l.segment_boundary_mask); !s) return s;
  // One command block per queue entry in reserve: a full queue can always be built, whatever
  // else holds memory below the mask (seed 003's mempool_create_pool_pmask).
  Result<std::unique_ptr<alloc::MaskMempool>> pool = alloc::MaskMempool::create(
      *dev_.platform().mask_allocator(), config_.queue_entries, command_block_bytes(l.max_segments),
      dma::detail::phys_mask_under(dev_, dev_.streaming_limit()));
  if (!pool) return std::unexpected(pool.error());
  blocks_ = std::move(*pool);
  Result<std::byte*> queue =
      dma::alloc_coherent(dev_, config_.queue_entries * sizeof(std::uint64_t), &queue_dma_);
  if (!queue) return std::unexpected(queue.error());
  queue_ = reinterpret_cast<std::uint64_t*>(*queue);
  regs_.queue = queue_dma_;
  regs_.queue_entries = config_.queue_entries;
  regs_.head = regs_.tail = 0;
  return {};
}

StorageDriver::~StorageDriver() {
  regs_.queue_entries = 0;  // reset the controller before its memory goes away
  for (Request& r : in_flight_)
    DMAKIT_CHECK(release(r), "{}: releasing a request failed", dev_.name());
  if (queue_ != nullptr)
    DMAKIT_CHECK(
        dma::free_coherent(dev_, config_.queue_entries * sizeof(std::uint64_t), queue_, queue_dma_),
        "{}: queue free failed", dev_.name());
}

StorageCut next_cut(const StorageLimits& limits, std::size_t segments, std::uint64_t in_request,
                    std::uint64_t left, std::uint64_t in_page) {
  const std::uint64_t max_bytes = std::uint64_t{limits.max_sectors} * kSectorSize;
  const bool fresh = segments == limits.max_segments || in_request == max_bytes;
  if (fresh) in_request = 0;
  return {fresh,
          std::min({left, kPageSize - in_page, limits.max_segment_size, max_bytes - in_request})};
}

std::uint64_t commands_for(const StorageLimits& limits, std::uint64_t bytes) {
  std::uint64_t commands = 1;
  std::size_t segments = 0;
  std::uint64_t in_request = 0;
  for (std::uint64_t done = 0; done < bytes;) {
    const StorageCut cut = next_cut(limits, segments, in_request, bytes - done, done % kPageSize);
    if (cut.new_request) {
      ++commands;
      segments = 0;
      in_request = 0;
    }
    ++segments;
    in_request += cut.len;
    done += cut.len;
  }
  return commands;
}

Result<std::vector<std::vector<StorageDriver::Piece>>> StorageDriver::plan(
    std::byte* buffer, std::uint64_t size) const {
  const StorageLimits& l = regs_.limits;
  std::vector<std::vector<Piece>> requests(1);
  std::uint64_t in_request = 0;
  for (std::uint64_t done = 0; done < size;) {
    const Result<PhysAddr> phys = dev_.machine().virt_to_phys(buffer + done);
    if (!phys) return std::unexpected(phys.error());
    const std::uint64_t in_page = phys->value() % kPageSize;
    const StorageCut cut = next_cut(l, requests.back().size(), in_request, size - done, in_page);
    if (cut.new_request) {
      requests.emplace_back();
      in_request = 0;
    }
    const std::uint64_t len = cut.len;
    requests.back().push_back({dev_.memory().pfn_to_page(phys_to_pfn(*phys)),
                               static_cast<std::uint32_t>(in_page),
                               static_cast<std::uint32_t>(len)});
    in_request += len;
    done += len;
  }
  return requests;
}

Result<StorageDriver::Request> StorageDriver::prepare(std::uint64_t io, StorageOp op,
                                                      std::uint64_t lba,
                                                      const std::vector<Piece>& pieces,
                                                      std::byte* data) {
  // The reserve holds a block per queue entry, so this cannot run dry while the queue has room.
  Result<std::byte*> block = blocks_->alloc(machine::kGfpKernel);
  if (!block) return std::unexpected(block.error());
  Request r{io, op, *block, DmaAddr{}, {}, data, 0};
  for (const Piece& p : pieces) {
    r.table.add(p.page, p.offset, p.length);
    r.bytes += p.length;
  }
  const Result<std::size_t> segments = dma::map_sg(dev_, r.table, data_direction(op));
  if (!segments) {
    DMAKIT_CHECK(blocks_->free(r.block), "{}: command block free failed", dev_.name());
    return std::unexpected(segments.error());
  }
  CommandHeader h{op,
                  CommandStatus::Pending,
                  static_cast<std::uint16_t>(*segments),
                  0,
                  lba,
                  static_cast<std::uint32_t>(r.bytes / kSectorSize),
                  0};
  if (op == StorageOp::Write) h.checksum = crc32({data, r.bytes});
  std::memcpy(r.block, &h, sizeof(h));
  for (std::size_t i = 0; i < *segments; ++i) {
    const dma::ScatterEntry& e = r.table.entries()[i];
    const SgDescriptor d{e.dma_address.value(), e.dma_length, 0};
    std::memcpy(r.block + sizeof(h) + i * sizeof(d), &d, sizeof(d));
  }
  // Mapped last, so that a bounced block carries what was just written.
  const Result<DmaAddr> block_dma =
      dma::map_single(dev_, r.block, command_block_bytes(*segments), Direction::Bidirectional);
  if (!block_dma) {
    DMAKIT_CHECK(dma::unmap_sg(dev_, r.table, data_direction(op)), "{}: unmap_sg failed",
                 dev_.name());
    DMAKIT_CHECK(blocks_->free(r.block), "{}: command block free failed", dev_.name());
    return std::unexpected(block_dma.error());
  }
  r.block_dma = *block_dma;
  ++stats_.requests;
  stats_.segments += *segments;
  return r;
}

Status StorageDriver::unmap(Request& r) {
  const std::uint64_t block_bytes =
      command_block_bytes(static_cast<std::uint32_t>(r.table.nents()));
  if (Status s = dma::unmap_sg(dev_, r.table, data_direction(r.op)); !s) return s;
  return dma::unmap_single(dev_, r.block_dma, block_bytes, Direction::Bidirectional);
}

Status StorageDriver::release(Request& r) {
  if (Status s = unmap(r); !s) return s;
  return blocks_->free(r.block);
}

Result<std::uint64_t> StorageDriver::submit(StorageOp op, std::uint64_t lba, std::byte* buffer,
                                            std::uint64_t size) {
  if (size == 0 || size % kSectorSize != 0 ||
      reinterpret_cast<std::uintptr_t>(buffer) % kSectorSize != 0)
    return fail(Errc::InvalidArgument, "{}: I/O of {} bytes at {}: not whole aligned sectors",
                dev_.name(), size, static_cast<const void*>(buffer));
  Result<std::vector<std::vector<Piece>>> requests = plan(buffer, size);
  if (!requests) return std::unexpected(requests.error());
  if (requests->size() > config_.queue_entries - in_flight_.size())
    return fail(Errc::Busy, "{}: {} requests do not fit the {} free queue entries", dev_.name(),
                requests->size(), config_.queue_entries - in_flight_.size());
  const std::uint64_t io = next_io_++;
  std::vector<Request> prepared;
  std::uint64_t offset = 0;
  for (const std::vector<Piece>& pieces : *requests) {
    Result<Request> r = prepare(io, op, lba + offset / kSectorSize, pieces, buffer + offset);
    if (!r) {
      for (Request& done : prepared)
        DMAKIT_CHECK(release(done), "{}: releasing a request failed", dev_.name());
      return std::unexpected(r.error());
    }
    offset += r->bytes;
    prepared.push_back(std::move(*r));
  }
  for (Request& r : prepared) {
    queue_[tail_++ % config_.queue_entries] = r.block_dma.value();
    in_flight_.push_back(std::move(r));
  }
  ios_.push_back({io, static_cast<std::uint32_t>(prepared.size()), {}});
  ++stats_.ios;
  regs_.tail = tail_;  // the doorbell
  return io;
}

Status StorageDriver::finish(Request& r) {
  if (Status s = unmap(r); !s) return s;  // unmapped: the CPU now sees what the device wrote
  CommandHeader h;
  std::memcpy(&h, r.block, sizeof(h));
  if (Status s = blocks_->free(r.block); !s) return s;
  switch (h.status) {
    case CommandStatus::Ok:
      if (r.op == StorageOp::Read && crc32({r.data, r.bytes}) != h.checksum) {
        ++stats_.checksum_errors;
        return fail(Errc::Fault, "{}: read data does not match the controller's CRC-32",
                    dev_.name());
      }
      return {};
    case CommandStatus::BadCommand:
      return fail(Errc::InvalidArgument, "{}: the controller rejected a command", dev_.name());
    case CommandStatus::ChecksumMismatch:
      return fail(Errc::Fault, "{}: the controller received data that fails its CRC-32",
                  dev_.name());
    case CommandStatus::Pending:
    case CommandStatus::DmaFault:
      break;
  }
  return fail(Errc::Fault, "{}: the controller took a DMA fault", dev_.name());
}

std::vector<StorageCompletion> StorageDriver::complete() {
  std::vector<StorageCompletion> ended;
  for (; completed_ != regs_.head && !in_flight_.empty(); ++completed_) {
    Request r = std::move(in_flight_.front());
    in_flight_.pop_front();
    const Status s = finish(r);
    Io& io = ios_.front();
    if (!s && io.status) io.status = s;
    if (--io.requests_left == 0) {
      if (!io.status) ++stats_.failed_ios;
      ended.push_back({io.id, io.status});
      ios_.pop_front();
    }
  }
  return ended;
}

}  // namespace dmakit::devices
