// SPDX-License-Identifier: Apache-2.0
// The common half of every device model (devices layer): bursts, counters, device time.
#include "dmakit/devices/device_model.h"

#include <algorithm>
#include <vector>

#include "dmakit/core/config_error.h"
#include "dmakit/dma/bus_access.h"

namespace dmakit::devices {

void check_timing(const ModelTiming& timing) {
  if (timing.burst_bytes == 0)
    throw ConfigError("timing.burst_bytes", "a model moves at least 1 byte a burst");
}

DeviceModel::DeviceModel(dma::Device& dev, const ModelTiming& timing) : dev_(dev), timing_(timing) {
  check_timing(timing);
}

DeviceModel::~DeviceModel() = default;

void DeviceModel::count_bursts(std::uint64_t bytes) {
  const std::uint64_t bursts = (bytes + timing_.burst_bytes - 1) / timing_.burst_bytes;
  counters_.bursts += bursts;
  counters_.cycles += bursts * timing_.cycles_per_burst;
}

Status DeviceModel::read(DmaAddr dma, std::span<std::byte> out) {
  for (std::size_t done = 0; done < out.size();) {
    const std::size_t n = std::min<std::size_t>(out.size() - done, timing_.burst_bytes);
    if (Status s = dma::device_read(dev_, dma + done, out.subspan(done, n)); !s) {
      ++counters_.faults;
      return s;
    }
    count_bursts(n);
    counters_.bytes_read += n;
    done += n;
  }
  return {};
}

Status DeviceModel::write(DmaAddr dma, std::span<const std::byte> data) {
  for (std::size_t done = 0; done < data.size();) {
    const std::size_t n = std::min<std::size_t>(data.size() - done, timing_.burst_bytes);
    if (Status s = dma::device_write(dev_, dma + done, data.subspan(done, n)); !s) {
      ++counters_.faults;
      return s;
    }
    count_bursts(n);
    counters_.bytes_written += n;
    done += n;
  }
  return {};
}

Status DeviceModel::write_buffer(DmaAddr dma, std::span<const std::byte> data) {
  if (overrun_ == 0) [[likely]]
    return write(dma, data);
  std::vector<std::byte> longer(data.begin(), data.end());
  longer.resize(data.size() + overrun_, std::byte{0xcc});
  return write(dma, longer);
}

void DeviceModel::count_descriptor(std::uint64_t count) {
  counters_.descriptors += count;
  counters_.cycles += count * timing_.cycles_per_descriptor;
}

void DeviceModel::count_local(std::uint64_t bytes_read, std::uint64_t bytes_written) {
  counters_.bytes_read += bytes_read;
  counters_.bytes_written += bytes_written;
  count_bursts(bytes_read + bytes_written);
}

}  // namespace dmakit::devices
