// SPDX-License-Identifier: Apache-2.0
// DeviceConfig: devices described in a configuration file's `devices:` list (dma layer), each key
// documented in configs/devices.yaml.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dmakit/core/addr.h"
#include "dmakit/iommu/iommu.h"

namespace dmakit::dma {

struct DeclaredMemoryConfig {
  PhysAddr bus_addr;
  DmaAddr device_addr;
  std::uint64_t size = 0;
  unsigned flags = 0;  ///< DeclareFlags
};

/// Where a device sits behind an IOMMU.
struct DeviceIommuConfig {
  std::string iommu;  ///< an IOMMU of the `iommus:` list
  iommu::DomainConfig domain;
  std::string share;  ///< a device listed earlier whose domain this one joins; empty: its own
};

struct DeviceConfig {
  std::string name;
  std::string parent;  ///< empty: on the root bus
  unsigned dma_mask_bits = 32;
  std::optional<unsigned> coherent_mask_bits;  ///< defaults to dma_mask_bits
  std::optional<unsigned> bus_dma_limit_bits;
  std::int64_t bus_offset = 0;
  int node = -1;  ///< machine::kLocalNode: none in particular
  std::uint64_t max_segment_size = 64 * 1024;
  unsigned segment_boundary_bits = 32;
  std::uint64_t min_align_mask = 0;
  std::optional<bool> force_bounce;  ///< defaults to the bounce pool's force setting
  std::optional<DeclaredMemoryConfig> declared_memory;
  std::optional<DeviceIommuConfig> iommu;
};

/// The `devices:` list of a YAML document (empty when there is none). Throws ConfigError naming the
/// key ("devices[2].dma_mask") on anything unknown or malformed. A device's `model:` is left to the
/// devices layer (devices/model_config.h).
std::vector<DeviceConfig> parse_device_configs(const std::string& yaml_text);

/// Throws ConfigError("devices[i].node") for a device on a node past the machine's `nodes`: what
/// the parser cannot check until the machine is known.
void check_device_nodes(const std::vector<DeviceConfig>& devices, std::size_t nodes);
std::vector<DeviceConfig> load_device_configs(const std::string& path);

/// The `iommus:` list of a YAML document (empty when there is none), each key documented in
/// configs/iommu.yaml. Throws ConfigError naming the key ("iommus[0].levels").
std::vector<iommu::IommuConfig> parse_iommu_configs(const std::string& yaml_text);
std::vector<iommu::IommuConfig> load_iommu_configs(const std::string& path);

}  // namespace dmakit::dma
