// SPDX-License-Identifier: Apache-2.0
// Results of a scenario run (sim layer): per strategy and device, what was moved, what the platform
// counted and what that cost in modeled cycles by cause. Modeled figures depend only on the
// scenario and its seed; the simulator's own speed is kept apart (DESIGN.md: cost is modeled
// separately from time).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dmakit/dma/strategy.h"
#include "dmakit/sim/cost_model.h"

namespace dmakit::sim {

/// CPU cycles by cause: spent by the thread that maps, unmaps, syncs and copies.
struct CpuCycles {
  std::uint64_t iova = 0;          ///< IOVA allocations
  std::uint64_t page_table = 0;    ///< I/O page-table entries written and cleared
  std::uint64_t invalidation = 0;  ///< page-selective IOTLB invalidations (strict unmaps)
  std::uint64_t flush = 0;         ///< domain-wide flushes of queued invalidations (deferred)
  std::uint64_t traps = 0;         ///< hypervisor traps (guest domains)
  std::uint64_t bounce = 0;        ///< swiotlb slot searches and bounce copies
  std::uint64_t copy = 0;          ///< copies the driver makes itself (packets into tx buffers)

  [[nodiscard]] std::uint64_t total() const {
    return iova + page_table + invalidation + flush + traps + bounce + copy;
  }
};

/// Device cycles by cause: time the device spends on its accesses.
struct DeviceCycles {
  std::uint64_t transfer = 0;  ///< bursts and descriptors at the model's timing
  std::uint64_t iotlb = 0;     ///< IOTLB hits
  std::uint64_t walks = 0;     ///< page-table reads of IOTLB misses

  [[nodiscard]] std::uint64_t total() const { return transfer + iotlb + walks; }
};

/// What the platform counted for one device.
struct EventCounts {
  std::uint64_t iova_allocations = 0;
  std::uint64_t iova_cache_hits = 0;  ///< of those, served by a per-CPU magazine
  std::uint64_t pte_writes = 0;
  std::uint64_t invalidations = 0;
  std::uint64_t flushes = 0;
  std::uint64_t traps = 0;
  std::uint64_t iotlb_hits = 0;
  std::uint64_t iotlb_misses = 0;  ///< page walks
  std::uint64_t walk_levels = 0;
  std::uint64_t mappings_bounced = 0;
  std::uint64_t bytes_bounced = 0;    ///< both ways
  std::uint64_t faults = 0;           ///< accesses the platform refused
  std::uint64_t unmaps_deferred = 0;  ///< unmaps whose invalidation was queued
  std::uint64_t unmaps_flushed = 0;   ///< queued invalidations a flush has done
  std::uint64_t exposure_ns = 0;      ///< modeled time flushed IOVAs had stayed reachable, summed
};

struct DeviceResult {
  std::string device;
  std::string model;        ///< "nic (32-bit descriptors)"
  std::string unavailable;  ///< why its driver would not start on this strategy; empty if it ran
  std::uint64_t ios = 0;
  std::uint64_t bytes = 0;
  std::uint64_t errors = 0;  ///< I/Os that failed or came back wrong
  std::string first_error;   ///< why the first of them failed
  CpuCycles cpu;
  DeviceCycles dev;
  EventCounts events;

  [[nodiscard]] double cpu_per_io() const { return ios ? double(cpu.total()) / double(ios) : 0; }
  [[nodiscard]] double cpu_per_kib() const {
    return bytes ? double(cpu.total()) * 1024.0 / double(bytes) : 0;
  }
  [[nodiscard]] double dev_per_io() const { return ios ? double(dev.total()) / double(ios) : 0; }
  /// Hits over translations; 1 where nothing was translated through an IOTLB.
  [[nodiscard]] double iotlb_hit_rate() const {
    const std::uint64_t all = events.iotlb_hits + events.iotlb_misses;
    return all ? double(events.iotlb_hits) / double(all) : 1.0;
  }
  /// Mean modeled time an unmapped IOVA stayed reachable by the device (deferred invalidation).
  [[nodiscard]] double protection_window_ns() const {
    return events.unmaps_deferred ? double(events.exposure_ns) / double(events.unmaps_deferred) : 0;
  }
};

/// The pools of one strategy's platform at the end of its run.
struct PoolStats {
  std::uint64_t swiotlb_slots = 0;
  std::uint64_t swiotlb_hiwater = 0;  ///< most slots in use at once
  std::uint64_t swiotlb_failures = 0;
  std::uint64_t iova_live = 0;  ///< IOVA ranges still allocated (driver rings, pools)
  std::uint64_t io_page_tables = 0;
};

struct StrategyResult {
  dma::Strategy strategy = dma::Strategy::Bounce;
  std::vector<DeviceResult> devices;
  /// The platform's own warnings ("swiotlb buffer is full"), as the kernel would log them; the
  /// first few, and how many there were.
  std::vector<std::string> warnings;
  std::uint64_t warnings_total = 0;
  PoolStats pools;
  std::uint64_t modeled_ns = 0;  ///< CPU and device time, added up
  double host_seconds = 0;       ///< the simulator's own time: not a modeled figure
};

struct RunResult {
  std::string scenario;
  std::uint64_t seed = 0;
  CostModel cost;
  std::vector<StrategyResult> strategies;
  double host_seconds = 0;  ///< wall time of the whole run
  std::uint64_t simulated_ios = 0;
  [[nodiscard]] double ios_per_host_second() const {
    return host_seconds > 0 ? double(simulated_ios) / host_seconds : 0;
  }
};

}  // namespace dmakit::sim
