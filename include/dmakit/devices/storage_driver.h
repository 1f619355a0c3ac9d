// SPDX-License-Identifier: Apache-2.0
// StorageDriver: the OS side of the storage controller (devices layer; seeds 002 and 003). It
// splits each I/O into requests that fit the controller's limits, maps each request's pages with
// one map_sg call (seed 002: one call per request, not one per page), and takes command blocks
// from a mempool kept below the device's mask, so that I/O always makes progress (seed 003).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "dmakit/alloc/mask_mempool.h"
#include "dmakit/devices/storage_controller.h"
#include "dmakit/dma/device.h"
#include "dmakit/dma/scatterlist.h"

namespace dmakit::devices {

struct StorageDriverConfig {
  std::uint32_t queue_entries = 32;  ///< submission queue depth, and the mempool's reserve
};

/// The end of one I/O started with submit().
struct StorageCompletion {
  std::uint64_t io = 0;
  Status status;
};

struct StorageDriverStats {
  std::uint64_t ios = 0;
  std::uint64_t requests = 0;  ///< commands sent: one map_sg call each
  std::uint64_t segments = 0;  ///< DMA segments those calls produced
  std::uint64_t checksum_errors = 0;
  std::uint64_t failed_ios = 0;
};

/// A driver bound to one controller. Not thread-safe. The Device, the register block and the
/// platform's mask allocator must outlive it; destroying it waits for nothing: it resets the queue
/// and unmaps and frees everything still in flight.
/// How the driver cuts an I/O into pieces: the length of the next piece of `left` bytes that start
/// `in_page` bytes into a page, and whether it opens a new request, given the request being filled
/// (`segments` pieces of `in_request` bytes). One rule for StorageDriver::plan and commands_for().
struct StorageCut {
  bool new_request;
  std::uint64_t len;
};
[[nodiscard]] StorageCut next_cut(const StorageLimits& limits, std::size_t segments,
                                  std::uint64_t in_request, std::uint64_t left,
                                  std::uint64_t in_page);

/// The requests, each a queue entry, that an I/O of `bytes` from a page-aligned buffer takes: what
/// a workload's queue depth is checked against when a scenario is read.
[[nodiscard]] std::uint64_t commands_for(const StorageLimits& limits, std::uint64_t bytes);

class StorageDriver {
 public:
  /// Sets the device's masks and segment limits from the controller's registers, allocates the
  /// submission queue in coherent memory and a mempool of queue_entries command blocks below the
  /// device's mask. Errors: InvalidArgument (no queue, a machine without a mask pool), and those of
  /// the DMA API and the mempool.
  [[nodiscard]] static Result<std::unique_ptr<StorageDriver>> open(
      dma::Device& dev, StorageRegisters& regs, const StorageDriverConfig& config);
  ~StorageDriver();

  StorageDriver(const StorageDriver&) = delete;
  StorageDriver& operator=(const StorageDriver&) = delete;

  /// Starts moving [buffer, buffer + size) to (Write) or from (Read) the disk at sector `lba`, and
  /// rings the doorbell; returns the I/O's number for its StorageCompletion. `buffer` lies in the
  /// machine's direct map, aligned to kSectorSize, and `size` is a positive multiple of it.
  /// Errors, with nothing started: InvalidArgument for those, Busy when the queue lacks room for
  /// the I/O's requests, and mapping errors as map_sg's.
  [[nodiscard]] Result<std::uint64_t> submit(StorageOp op, std::uint64_t lba, std::byte* buffer,
                                             std::uint64_t size);
  /// Finishes the requests the controller has completed, verifying read data against the
  /// controller's CRC-32, and returns the I/Os that ended, each with its status: Fault for a DMA
  /// fault or a checksum mismatch, InvalidArgument for a command the controller rejected.
  [[nodiscard]] std::vector<StorageCompletion> complete();

  [[nodiscard]] std::size_t requests_in_flight() const { return in_flight_.size(); }
  [[nodiscard]] const StorageDriverStats& stats() const { return stats_; }

 private:
  /// A piece of the I/O buffer: one future sg entry.
  struct Piece {
    machine::Page* page;
    std::uint32_t offset;
    std::uint32_t length;
  };
  struct Request {
    std::uint64_t io;
    StorageOp op;
    std::byte* block;
    DmaAddr block_dma;
    dma::SgTable table;
    std::byte* data;
    std::uint64_t bytes;
  };
  struct Io {
    std::uint64_t id;
    std::uint32_t requests_left;
    Status status;
  };

  StorageDriver(dma::Device& dev, StorageRegisters& regs, const StorageDriverConfig& config);
  [[nodiscard]] Status init();
  /// The buffer cut into requests within the limits: each a list of pieces.
  [[nodiscard]] Result<std::vector<std::vector<Piece>>> plan(std::byte* buffer,
                                                             std::uint64_t size) const;
  /// Maps one request and writes its command block; the request is not yet queued.
  [[nodiscard]] Result<Request> prepare(std::uint64_t io, StorageOp op, std::uint64_t lba,
                                        const std::vector<Piece>& pieces, std::byte* data);
  [[nodiscard]] Status unmap(Request& request);
  /// Unmaps the request and gives its command block back.
  [[nodiscard]] Status release(Request& request);
  [[nodiscard]] Status finish(Request& request);

  dma::Device& dev_;
  StorageRegisters& regs_;
  const StorageDriverConfig config_;
  std::uint64_t* queue_ = nullptr;
  DmaAddr queue_dma_;
  std::unique_ptr<alloc::MaskMempool> blocks_;
  std::deque<Request> in_flight_;  ///< in queue order
  std::deque<Io> ios_;             ///< unfinished I/Os, in submission order
  std::uint32_t tail_ = 0;
  std::uint32_t completed_ = 0;  ///< queue index of the next request to finish
  std::uint64_t next_io_ = 1;
  StorageDriverStats stats_;
};

}  // namespace dmakit::devices
