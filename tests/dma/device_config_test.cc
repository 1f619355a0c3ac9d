// SPDX-License-Identifier: Apache-2.0
// The `devices:` and `iommus:` sections: bad values refused when the file is read, naming the key.
#include "dmakit/dma/device_config.h"

#include <gtest/gtest.h>

#include "dmakit/core/config_error.h"
#include "dmakit/dma/platform.h"
#include "dmakit/machine/machine.h"
#include "testing/small_machine.h"

namespace dmakit::dma {
namespace {

// "field: reason" of the error parsing `yaml` gets, or "<no error>".
std::string devices_error(const std::string& yaml) {
  try {
    (void)parse_device_configs(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "<no error>";
}

std::string iommus_error(const std::string& yaml) {
  try {
    (void)parse_iommu_configs(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(DeviceConfig, RefusesAnEmptyDeviceName) {
  EXPECT_EQ(devices_error("devices:\n  - {name: ''}\n"),
            "devices[0].name: every device needs a name");
  EXPECT_EQ(devices_error("devices:\n  - {name: [a]}\n"),
            "devices[0].name: every device needs a name");
}

TEST(DeviceConfig, RefusesAMinAlignMaskThatLeavesNothingToBounce) {
  // All ones used to pass, and every mapping then failed with "swiotlb buffer is full... used 0".
  const std::string e =
      devices_error("devices:\n  - {name: a, min_align_mask: 0xffffffffffffffff}\n");
  EXPECT_NE(e.find("devices[0].min_align_mask: 18446744073709551615: must be 0 to 131071"),
            std::string::npos)
      << e;
  EXPECT_NE(devices_error("devices:\n  - {name: a, min_align_mask: 0x1000}\n")
                .find("devices[0].min_align_mask: 0x1000 is not of the form 2^n - 1"),
            std::string::npos);
  EXPECT_EQ(
      parse_device_configs("devices:\n  - {name: nvme, min_align_mask: 0xfff}\n")[0].min_align_mask,
      0xfffu);
}

TEST(DeviceConfig, NodeIsBoundedByTheMostNodesAMachineHas) {
  EXPECT_NE(devices_error("devices:\n  - {name: a, node: 4294967295}\n")
                .find("devices[0].node: 4294967295: must be 0 to 63"),
            std::string::npos);
}

TEST(DeviceConfig, SharingADomainWithAnotherPolicyIsAnErrorNamingBoth) {
  const std::string text =
      "devices:\n"
      "  - {name: a, iommu: {name: vtd, policy: strict}}\n"
      "  - {name: b, iommu: {name: vtd, share: a, policy: deferred}}\n";
  EXPECT_EQ(devices_error(text),
            "devices[1].iommu.policy: 'deferred' conflicts with the 'strict' policy of 'a' "
            "(devices[0]), whose domain 'b' shares");
  const std::string kinds =
      "devices:\n"
      "  - {name: a, iommu: {name: vtd, domain: passthrough}}\n"
      "  - {name: b, iommu: {name: vtd, share: a, domain: dma}}\n";
  EXPECT_NE(devices_error(kinds).find("devices[1].iommu.domain: 'dma' conflicts with the domain "
                                      "of 'a'"),
            std::string::npos);
  // The same policy, or none given, is the shared domain's.
  EXPECT_EQ(parse_device_configs("devices:\n"
                                 "  - {name: a, iommu: {name: vtd, policy: strict}}\n"
                                 "  - {name: b, iommu: {name: vtd, share: a, policy: strict}}\n"
                                 "  - {name: c, iommu: {name: vtd, share: a}}\n")
                .size(),
            3u);
}

TEST(DeviceConfig, IotlbSizeIsBoundedAtParseTime) {
  // A billion entries aborted with std::bad_alloc; 16 Mi took 1.6 GB.
  EXPECT_EQ(iommus_error("iommus:\n  - {name: vtd, iotlb: {entries: 1073741824, ways: 1}}\n"),
            "iommus[0].iotlb.entries: 1073741824: must be 1 to 65536 (real IOTLBs hold at most a "
            "few thousand)");
  EXPECT_NE(iommus_error("iommus:\n  - {name: vtd, iotlb: {entries: 12, ways: 4}}\n")
                .find("iommus[0].iotlb.entries"),
            std::string::npos);
  EXPECT_EQ(parse_iommu_configs("iommus:\n  - {name: vtd, iotlb: {entries: 65536, ways: 16}}\n")[0]
                .iotlb.entries,
            65536u);
}

TEST(DeviceConfig, ANodeTheMachineLacksIsNamedWhenThePlatformIsBuilt) {
  machine::Machine m(testing::compact_machine_config(64 * kMiB));
  Platform platform(m);
  try {
    platform.add_devices(parse_device_configs("devices:\n  - {name: a, node: 5}\n"));
    ADD_FAILURE() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "devices[0].node: 5: the machine has 1 node(s), 0 to 0");
  }
}

TEST(DeviceConfig, ABusOffsetThatHidesLowMemoryIsNamed) {
  machine::Machine m(testing::compact_machine_config(8 * kGiB));
  Platform platform(m);
  try {
    platform.add_devices(parse_device_configs("devices:\n  - {name: a, bus_offset: -8GiB}\n"));
    ADD_FAILURE() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.field(), "devices[0].bus_offset") << e.what();
    EXPECT_NE(e.reason().find("-0x200000000 puts RAM from 0x0 up below"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace dmakit::dma
