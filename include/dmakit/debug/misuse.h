// SPDX-License-Identifier: Apache-2.0
// Misuse: the classes of DMA-API misuse the checker reports, each with a stable name (debug layer;
// seed 004, reference section 4.2: Linux's dma-debug checks).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace dmakit::debug {

/// Every class the checker reports. Names are stable: tests, logs and `dmakit run` use them.
///
/// | name                              | what the driver did |
/// |-----------------------------------|---------------------------------------------------------------|
/// | unmap-invalid-address             | unmapped or freed the DMA_MAPPING_ERROR value itself | |
/// unmap-not-mapped                  | unmapped or freed what is not mapped (never, or double
/// unmap) | | unmap-wrong-size                  | unmapped or freed with a size other than the
/// map's            | | unmap-wrong-direction             | unmapped with a direction other than
/// the map's                | | unmap-wrong-kind                  | unmapped with the wrong call
/// (single as page, sg as single…)  | | unmap-wrong-cpu-address           | freed coherent memory
/// with a handle of another CPU address    | | unmap-wrong-sg-count              | unmapped an sg
/// list with an entry count other than the map's  | | unchecked-mapping-error           | unmapped
/// or synced a mapping never given to mapping_error()   | | sync-not-mapped                   |
/// synced a range no mapping of the device starts it             | | sync-out-of-range | synced a
/// range that leaves the mapping                        | | sync-wrong-direction              |
/// synced with a direction other than the map's (not BIDI)       | | sync-device-read-only-for-cpu
/// | synced a TO_DEVICE mapping for the CPU, not as TO_DEVICE      | |
/// sync-device-write-only-for-device | synced a FROM_DEVICE mapping for the device, not FROM_DEVICE
/// | | sync-wrong-sg-count               | synced an sg list with an entry count other than the
/// map's    | | map-vmalloc                       | mapped memory of the vmalloc area (seed 004) |
/// | map-not-ram                       | mapped memory outside simulated RAM | | cacheline-overlap
/// | mapped a cacheline a live FROM_DEVICE/BIDI mapping holds      | | sg-segment-too-long | an sg
/// segment longer than the device's max segment size       | | sg-segment-crosses-boundary       |
/// an sg segment across the device's segment boundary            | | cpu-access-device-owned | the
/// CPU touched a buffer the device owns (dma/cpu_access.h)   | | device-access-wrong-direction |
/// the device read a FROM_DEVICE or wrote a TO_DEVICE mapping    | | leak | a device removed, or
/// checked, with mappings still live        |
enum class Misuse : std::uint8_t {
  UnmapInvalidAddress,
  UnmapNotMapped,
  UnmapWrongSize,
  UnmapWrongDirection,
  UnmapWrongKind,
  UnmapWrongCpuAddress,
  UnmapWrongSgCount,
  UncheckedMappingError,
  SyncNotMapped,
  SyncOutOfRange,
  SyncWrongDirection,
  SyncDeviceReadOnlyForCpu,
  SyncDeviceWriteOnlyForDevice,
  SyncWrongSgCount,
  MapVmalloc,
  MapNotRam,
  CachelineOverlap,
  SgSegmentTooLong,
  SgSegmentCrossesBoundary,
  CpuAccessDeviceOwned,
  DeviceAccessWrongDirection,
  Leak,
};

inline constexpr std::size_t kMisuseCount = static_cast<std::size_t>(Misuse::Leak) + 1;

/// The stable name of a class ("unmap-wrong-size").
[[nodiscard]] std::string_view misuse_name(Misuse misuse);
/// The class of a stable name, or nullopt.
[[nodiscard]] std::optional<Misuse> misuse_from_name(std::string_view name);

}  // namespace dmakit::debug
