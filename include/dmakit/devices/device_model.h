// SPDX-License-Identifier: Apache-2.0
// DeviceModel: the hardware half of a simulated peripheral (devices layer; seeds 000, 001, 004): a
// dma::Device plus behaviour. A model touches memory only by bus address, through the platform's
// checks (dma/bus_access.h), in bursts; it counts what it moved and prices it in device cycles.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>

#include "dmakit/core/addr.h"
#include "dmakit/core/result.h"
#include "dmakit/dma/device.h"

namespace dmakit::devices {

/// How a model's device time is priced. A burst is one bus transaction (a PCIe payload, an ISA
/// cycle); a descriptor is one unit of work fetched, decoded and written back.
struct ModelTiming {
  std::uint64_t burst_bytes = 64;
  std::uint64_t cycles_per_burst = 16;
  std::uint64_t cycles_per_descriptor = 100;
};

/// Throws ConfigError("timing.burst_bytes") for a timing with a zero burst size.
void check_timing(const ModelTiming& timing);

/// What a model has done since it was created.
struct ModelCounters {
  std::uint64_t bytes_read = 0;     ///< moved from memory to the device
  std::uint64_t bytes_written = 0;  ///< moved from the device to memory
  std::uint64_t bursts = 0;
  std::uint64_t descriptors = 0;
  std::uint64_t faults = 0;  ///< accesses the platform refused (mask, IOMMU, no RAM)
  std::uint64_t cycles = 0;  ///< modeled device time: bursts and descriptors at their prices
};

/// A device model. The dma::Device must outlive it. Contract for subclasses:
///  - every access to host memory goes through read()/write()/write_buffer() (bus addresses
///    only), so masks, IOMMU translation and permissions apply and are counted;
///  - service() does the work the driver has posted through memory and registers, and returns
///    the descriptors (or transfers) it completed; a refused access becomes an error status the
///    driver sees in memory, never an exception.
/// Not thread-safe: a model runs on one thread, as a device runs its own engine.
class DeviceModel {
 public:
  /// Throws what check_timing() does.
  DeviceModel(dma::Device& dev, const ModelTiming& timing);
  virtual ~DeviceModel();

  DeviceModel(const DeviceModel&) = delete;
  DeviceModel& operator=(const DeviceModel&) = delete;

  /// The model's kind as configuration names it ("nic", "storage", ...).
  [[nodiscard]] virtual std::string_view kind() const = 0;
  /// Processes what the driver has posted; returns the units of work completed.
  virtual std::size_t service() = 0;

  [[nodiscard]] dma::Device& device() const { return dev_; }
  [[nodiscard]] const ModelTiming& timing() const { return timing_; }
  [[nodiscard]] const ModelCounters& counters() const { return counters_; }
  /// Modeled device time so far, in device cycles (what a scenario runner adds up).
  [[nodiscard]] std::uint64_t cycles() const { return counters_.cycles; }

  /// Test-only fault injection: every data-buffer write runs `bytes` past the buffer it was
  /// given, as hardware with a length bug would. 0 turns it off.
  void set_overrun_for_testing(std::uint64_t bytes) { overrun_ = bytes; }

 protected:
  /// Reads `out.size()` bytes at bus address `dma`, burst by burst. Stops at the first refused
  /// burst with its Fault (counted); bursts before it have happened, as on a real bus.
  [[nodiscard]] Status read(DmaAddr dma, std::span<std::byte> out);
  /// Writes `data` at bus address `dma`, burst by burst, with the same rules.
  [[nodiscard]] Status write(DmaAddr dma, std::span<const std::byte> data);
  /// Writes a data buffer: `data`, then the injected overrun (set_overrun_for_testing).
  [[nodiscard]] Status write_buffer(DmaAddr dma, std::span<const std::byte> data);
  /// Counts `count` descriptors and their cycles.
  void count_descriptor(std::uint64_t count = 1);
  /// Counts bytes the device moved without read()/write(): through its own memory, programmed I/O,
  /// or the channels of an engine, which translate their accesses themselves.
  void count_local(std::uint64_t bytes_read, std::uint64_t bytes_written);
  /// Counts accesses refused outside read()/write() (an engine's channels).
  void count_faults(std::uint64_t faults) { counters_.faults += faults; }

  /// A trivially copyable structure at `dma`, as the device fetches a descriptor.
  template <class T>
  [[nodiscard]] Result<T> read_object(DmaAddr dma) {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    const Status s = read(dma, std::as_writable_bytes(std::span(&value, 1)));
    if (!s) return std::unexpected(s.error());
    return value;
  }
  template <class T>
  [[nodiscard]] Status write_object(DmaAddr dma, const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    return write(dma, std::as_bytes(std::span(&value, 1)));
  }

 private:
  void count_bursts(std::uint64_t bytes);

  dma::Device& dev_;
  const ModelTiming timing_;
  ModelCounters counters_;
  std::uint64_t overrun_ = 0;
};

}  // namespace dmakit::devices
