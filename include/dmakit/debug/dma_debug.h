// SPDX-License-Identifier: Apache-2.0
// DmaDebug: the DMA-API misuse checker (debug layer; seed 004, reference section 4: Linux's
// dma-debug). It watches every device of one platform and reports the misuse classes of
// debug/misuse.h, each with the offending call's stack and the original map's.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "dmakit/debug/dma_debug_config.h"
#include "dmakit/debug/misuse.h"
#include "dmakit/debug/report.h"
#include "dmakit/dma/mapping_observer.h"
#include "dmakit/dma/platform.h"

namespace dmakit::debug {

namespace detail {
class MappingTable;
class PhysIndex;
struct Entry;
}  // namespace detail

/// Counts at a point in time.
struct DmaDebugSummary {
  std::uint64_t live_mappings = 0;
  std::uint64_t reports = 0;     ///< all classes, filtered-out devices excluded
  std::uint64_t suppressed = 0;  ///< reports of devices outside the filter
  std::array<std::uint64_t, kMisuseCount> by_class{};
};

/// Tracks every live mapping of the platform's devices (device, CPU and bus address, size,
/// direction, kind, whether mapping_error() was asked, who owns the buffer) in a sharded hash
/// table keyed by device and bus address, as Linux's dma-debug does, and reports misuse.
///
/// Matching: an unmap or free is matched best-fit among the device's mappings at that bus address
/// on size, kind, direction, sg entry count and CPU address (the same page mapped twice without
/// an IOMMU has one bus address: the closest mapping is taken, so correct code gets no report);
/// a sync or a device access is matched with a mapping whose range holds its first byte.
///
/// Reporting: every report is counted; the first `keep_reports` are kept for reports(); by action
/// Log the first `loud_per_class` of each class are printed in full to stderr.
///
/// Lifetime: the platform owns its checker (attach()) and destroys it after its own devices.
/// Devices report their removal, which reports a leak for each mapping they still hold.
/// Thread-safe: map, unmap, sync and access calls may come from any thread.
class DmaDebug final : public dma::MappingObserver {
 public:
  /// Creates a checker with `config` (enabled or not) and gives it to `platform`, replacing any
  /// observer it had. Returns it; it lives as long as the platform.
  static DmaDebug& attach(dma::Platform& platform, const DmaDebugConfig& config = {});
  /// attach() when `config.enabled`, else nothing (null): the machine's on/off switch.
  static DmaDebug* attach_if_enabled(dma::Platform& platform, const DmaDebugConfig& config);
  /// The platform's checker, or null when it has none.
  [[nodiscard]] static DmaDebug* of(const dma::Platform& platform);

  DmaDebug(dma::Platform& platform, DmaDebugConfig config);
  ~DmaDebug() override;

  DmaDebug(const DmaDebug&) = delete;
  DmaDebug& operator=(const DmaDebug&) = delete;

  [[nodiscard]] const DmaDebugConfig& config() const { return config_; }

  /// Reports a leak listing each mapping `dev` still holds (they stay tracked). Returns how many.
  std::size_t check_leaks(const dma::Device& dev);
  /// check_leaks() for every device of the platform; returns the total.
  std::size_t check_leaks();

  /// Queries, for tests and `dmakit run`.
  [[nodiscard]] std::vector<Report> reports() const;
  [[nodiscard]] std::uint64_t count(Misuse misuse) const;
  [[nodiscard]] std::uint64_t total_reports() const;
  [[nodiscard]] std::size_t live_mappings() const;
  [[nodiscard]] std::size_t live_mappings(const dma::Device& dev) const;
  [[nodiscard]] DmaDebugSummary summary() const;
  /// "dma-debug: 3 reports (unmap-wrong-size 2, leak 1), 12 live mappings" and one line per
  /// class seen.
  [[nodiscard]] std::string summary_text() const;
  /// Forgets reports and counts (not mappings), for tests.
  void clear_reports();

  void on_map(const dma::MappingEvent& event) override;
  void on_map_refused(const dma::MappingEvent& event, const Error& error) override;
  void on_unmap(const dma::MappingEvent& event) override;
  void on_sync(const dma::MappingEvent& event, bool for_device) override;
  void on_mapping_error_check(const dma::Device& dev, DmaAddr addr) override;
  void on_device_access(const dma::Device& dev, DmaAddr dma, std::uint64_t size,
                        bool write) override;
  void on_cpu_access(const void* cpu, std::uint64_t size, bool write) override;
  void on_device_removed(const dma::Device& dev) override;

 private:
  void check_map(const dma::MappingEvent& event);
  void check_unmap(const dma::MappingEvent& event, const detail::Entry& entry);
  void check_cpu_range(PhysAddr phys, std::uint64_t size, bool write);
  /// Reports `call` (the device's, or for a CPU access the mapping's): counted, kept, printed by
  /// the configured action.
  void report(Misuse misuse, const dma::MappingEvent& call, std::string message,
              std::optional<MappingRecord> mapping);
  void report_leak(const dma::Device& dev, std::vector<MappingRecord> leaked, bool removed);
  void emit(Report report);
  [[nodiscard]] bool is_reported(const std::string& device) const;

  dma::Platform& platform_;
  const DmaDebugConfig config_;
  std::unique_ptr<detail::MappingTable> table_;
  std::unique_ptr<detail::PhysIndex> phys_;

  std::array<std::atomic<std::uint64_t>, kMisuseCount> counts_{};
  std::atomic<std::uint64_t> suppressed_{0};
  mutable std::mutex reports_lock_;
  std::vector<Report> reports_;  ///< guarded by reports_lock_
};

}  // namespace dmakit::debug
