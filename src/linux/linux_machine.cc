// SPDX-License-Identifier: Apache-2.0
// Machines and devices for the C API (linux layer; dmakit/linux/machine.h).
#include "linux_machine.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <span>

#include "dmakit/core/config_error.h"
#include "dmakit/core/units.h"
#include "dmakit/debug/dma_debug.h"
#include "dmakit/dma/bus_access.h"
#include "dmakit/dma/strategy.h"
#include "dmakit/linux/gfp.h"

namespace dmakit::linux_api {
namespace {

// Every machine not yet destroyed, oldest first: the last is the current one, so destroying the
// newest makes the one before it current again. Every device handle not yet destroyed, so that a
// second dmakit_device_destroy() of one is refused instead of freeing it twice.
std::mutex registry_lock;
std::vector<dmakit_machine*> machines;             // guarded by registry_lock
std::unordered_set<const struct device*> handles;  // guarded by registry_lock
thread_local std::string last_error;

// The last error on stderr, as the kernel would warn: for calls that return nothing.
void print_last_error() { std::fprintf(stderr, "dmakit: %s\n", last_error.c_str()); }

bool is_live_machine_locked(const dmakit_machine* m) {
  return std::find(machines.begin(), machines.end(), m) != machines.end();
}

static_assert(__GFP_DMA == machine::Gfp::kDma && __GFP_DMA32 == machine::Gfp::kDma32 &&
              __GFP_ZERO == machine::Gfp::kZero && __GFP_THISNODE == machine::Gfp::kThisNode &&
              __GFP_WAIT == machine::Gfp::kWait && __GFP_NOWARN == machine::Gfp::kNoWarn);

machine::MachineConfig machine_config_of(const dmakit_machine_config& c) {
  if (c.numa_nodes < 1) throw ConfigError("numa_nodes", fmt::format("{} is below 1", c.numa_nodes));
  if (c.mask_pool_bytes == 0)
    throw ConfigError("mask_pool_bytes",
                      "0: kmalloc_mask, alloc_pages_mask and the bounce pool are carved from it");
  if (c.iommu < DMAKIT_IOMMU_NONE || c.iommu > DMAKIT_IOMMU_PASSTHROUGH)
    throw ConfigError("iommu", fmt::format("{} is not a DMAKIT_IOMMU_* value", c.iommu));
  machine::MachineConfig config;
  config.ram_size = c.ram_bytes;
  config.node_count = static_cast<unsigned>(c.numa_nodes);
  config.mask_pool_size = c.mask_pool_bytes;
  config.swiotlb.size = c.swiotlb_bytes;
  return config;
}

// The strategy a DMAKIT_IOMMU_* mode (checked by machine_config_of) stands for.
dma::Strategy strategy_of(int mode) {
  switch (mode) {
    case DMAKIT_IOMMU_STRICT:
      return dma::Strategy::IommuStrict;
    case DMAKIT_IOMMU_LAZY:
      return dma::Strategy::IommuLazy;
    case DMAKIT_IOMMU_PASSTHROUGH:
      return dma::Strategy::Passthrough;
    default:
      return dma::Strategy::Bounce;
  }
}

}  // namespace

dmakit_machine* current_machine() {
  const std::scoped_lock guard(registry_lock);
  if (machines.empty()) {
    set_last_error("no machine: call dmakit_machine_create() first");
    return nullptr;
  }
  return machines.back();
}

void set_last_error(std::string message) { last_error = std::move(message); }

void record(std::string_view call, const Error& error) {
  set_last_error(fmt::format("{}: {}", call, error.message));
}

void warn_if_failed(const Status& ok, std::string_view call) {
  if (ok) return;
  record(call, ok.error());
  print_last_error();
}

void warn(std::string message) {
  set_last_error(std::move(message));
  print_last_error();
}

machine::Gfp gfp_of(unsigned gfp) {
  machine::Gfp out;
  for (const machine::Gfp::Bit bit :
       {machine::Gfp::kDma, machine::Gfp::kDma32, machine::Gfp::kZero, machine::Gfp::kThisNode,
        machine::Gfp::kWait, machine::Gfp::kNoWarn}) {
    if ((gfp & bit) != 0) out = out | bit;
  }
  return out;
}

Direction direction_of(int dir) {
  return dir >= 0 && dir <= 3 ? static_cast<Direction>(dir) : Direction::None;
}

dma::Device* device_of(struct device* dev, std::string_view call) {
  if (dev == nullptr) {
    set_last_error(fmt::format("{}: a NULL device", call));
    return nullptr;
  }
  if (dev->live == nullptr) {
    set_last_error(fmt::format("{}: device '{}' outlived its machine (dmakit_machine_destroy)",
                               call, dev->name));
    return nullptr;
  }
  return &dev->live->dev;
}

void unlink_mempool(mempool_s* pool) {
  // dmakit_machine_destroy() clears pool->machine under registry_lock before it ends the machine.
  const std::scoped_lock guard(registry_lock);
  if (dmakit_machine* m = pool->machine) {
    const std::scoped_lock devices_guard(m->devices_lock);
    std::erase(m->mempools, pool);
  }
}

struct device* create_device(dmakit_machine* m, const char* name, int numa_node,
                             bool machine_owned) {
  if (m == nullptr || name == nullptr) {
    set_last_error("dmakit_device_create: a NULL machine or name");
    return nullptr;
  }
  {
    const std::scoped_lock guard(registry_lock);
    if (!is_live_machine_locked(m)) {
      set_last_error(fmt::format("dmakit_device_create: {} is no machine (destroyed already?)",
                                 static_cast<void*>(m)));
      return nullptr;
    }
  }
  if (m->platform.find_device(name) != nullptr) {
    set_last_error(fmt::format("dmakit_device_create: '{}' exists already", name));
    return nullptr;
  }
  if (numa_node < NUMA_NO_NODE ||
      (numa_node != NUMA_NO_NODE &&
       static_cast<std::size_t>(numa_node) >= m->machine.nodes().size())) {
    set_last_error(fmt::format(
        "dmakit_device_create: node {} of a machine with {} nodes (NUMA_NO_NODE, -1, for none)",
        numa_node, m->machine.nodes().size()));
    return nullptr;
  }
  auto* dev = new device(*m, name, numa_node);
  dma::Device& d = dev->live->dev;
  dma::place(d, strategy_of(m->c_config.iommu), m->iommu);
  // Linux gives a PCI device 32-bit masks until its driver asks for more.
  (void)d.set_dma_mask_and_coherent(dma_bit_mask(32));
  {
    const std::scoped_lock guard(m->devices_lock);
    m->devices.push_back(dev);
  }
  if (machine_owned) return dev;
  const std::scoped_lock guard(registry_lock);
  handles.insert(dev);
  return dev;
}

dma::Device* device_or_warn(struct device* dev, std::string_view call) {
  dma::Device* d = device_of(dev, call);
  if (d == nullptr) print_last_error();
  return d;
}

}  // namespace dmakit::linux_api

using namespace dmakit;

dmakit_machine::dmakit_machine(const machine::MachineConfig& config, const dmakit_machine_config& c)
    : c_config(c), machine(config), platform(machine), kmalloc(*platform.mask_allocator()) {
  if (c.iommu != DMAKIT_IOMMU_NONE) iommu = &platform.add_iommu({});
  if (c.dma_debug != 0) (void)debug::DmaDebug::attach(platform);
}

dmakit_machine::~dmakit_machine() {
  struct device* engine_device = engine != nullptr ? engine->dev : nullptr;
  engine.reset();  // its workers use its device
  const std::scoped_lock guard(devices_lock);
  for (struct device* dev : devices) dev->live.reset();  // before the platform they belong to
  for (struct mempool_s* pool : mempools) pool->pool.reset();
  delete engine_device;  // the machine's own: no handle of it was given out to release
}

extern "C" {

void dmakit_machine_config_default(struct dmakit_machine_config* cfg) {
  *cfg = {.ram_bytes = 8 * kGiB,
          .numa_nodes = 1,
          .mask_pool_bytes = 16 * kMiB,
          .swiotlb_bytes = 64 * kMiB,
          .iommu = DMAKIT_IOMMU_NONE,
          .dma_debug = 0};
}

struct dmakit_machine* dmakit_machine_create(const struct dmakit_machine_config* cfg) {
  if (cfg == nullptr) {
    linux_api::set_last_error("dmakit_machine_create: a NULL configuration");
    return nullptr;
  }
  try {
    auto* m = new dmakit_machine(linux_api::machine_config_of(*cfg), *cfg);
    const std::scoped_lock guard(linux_api::registry_lock);
    linux_api::machines.push_back(m);
    return m;
  } catch (const ConfigError& e) {
    linux_api::set_last_error(fmt::format("dmakit_machine_create: {}", e.what()));
    return nullptr;
  }
}

void dmakit_machine_destroy(struct dmakit_machine* m) {
  if (m == nullptr) return;
  {
    const std::scoped_lock guard(linux_api::registry_lock);
    const auto it = std::find(linux_api::machines.begin(), linux_api::machines.end(), m);
    if (it == linux_api::machines.end()) {
      linux_api::warn(fmt::format("dmakit_machine_destroy: {} is no machine (destroyed already?)",
                                  static_cast<void*>(m)));
      return;
    }
    linux_api::machines.erase(it);
    // Under registry_lock, as dmakit_device_destroy() reads it.
    const std::scoped_lock devices_guard(m->devices_lock);
    for (struct device* dev : m->devices) dev->machine = nullptr;
    for (struct mempool_s* pool : m->mempools) pool->machine = nullptr;
  }
  delete m;
}

struct device* dmakit_device_create(struct dmakit_machine* m, const char* name, int numa_node) {
  return linux_api::create_device(m, name, numa_node, /*machine_owned=*/false);
}

void dmakit_device_destroy(struct device* dev) {
  if (dev == nullptr) return;
  {
    const std::scoped_lock guard(linux_api::registry_lock);
    if (linux_api::handles.erase(dev) == 0) {
      linux_api::warn(fmt::format("dmakit_device_destroy: {} is no device (destroyed already?)",
                                  static_cast<const void*>(dev)));
      return;
    }
    // dmakit_machine_destroy() clears dev->machine under registry_lock before it ends the
    // machine, so a machine seen here lives until this returns.
    if (dmakit_machine* m = dev->machine) {
      const std::scoped_lock devices_guard(m->devices_lock);
      std::erase(m->devices, dev);
    }
    delete dev;
  }
}

const char* dev_name(const struct device* dev) {
  return dev == nullptr ? "(NULL device)" : dev->name.c_str();
}

int dmakit_device_read(struct device* dev, dma_addr_t addr, void* buf, size_t len) {
  dma::Device* d = linux_api::device_of(dev, "dmakit_device_read");
  if (d == nullptr) return -EINVAL;
  if (buf == nullptr && len != 0) {
    linux_api::set_last_error(fmt::format("dmakit_device_read: a NULL buffer of {} bytes", len));
    return -EINVAL;
  }
  const Status ok = dma::device_read(*d, DmaAddr(addr), {static_cast<std::byte*>(buf), len});
  if (ok) return 0;
  linux_api::record("dmakit_device_read", ok.error());
  return -EFAULT;
}

int dmakit_device_write(struct device* dev, dma_addr_t addr, const void* buf, size_t len) {
  dma::Device* d = linux_api::device_of(dev, "dmakit_device_write");
  if (d == nullptr) return -EINVAL;
  if (buf == nullptr && len != 0) {
    linux_api::set_last_error(fmt::format("dmakit_device_write: a NULL buffer of {} bytes", len));
    return -EINVAL;
  }
  const Status ok = dma::device_write(*d, DmaAddr(addr), {static_cast<const std::byte*>(buf), len});
  if (ok) return 0;
  linux_api::record("dmakit_device_write", ok.error());
  return -EFAULT;
}

const char* dmakit_machine_stats_json(struct dmakit_machine* m) {
  if (m == nullptr) return "{}";
  nlohmann::json j;
  const machine::PageAllocatorStats pages = m->machine.page_allocator().stats();
  j["page_allocator"] = {{"allocations", pages.allocations},
                         {"failures", pages.failures},
                         {"zone_fallbacks", pages.zone_fallbacks}};
  const alloc::MaskAllocatorStats mask = m->platform.mask_allocator()->stats();
  j["mask_allocator"] = {{"pool_pages", mask.pool_pages},
                         {"used_pages", mask.used_pages},
                         {"served_by_normal", mask.served_by_normal},
                         {"served_by_pool", mask.served_by_pool},
                         {"failures", mask.failures}};
  if (const swiotlb::Swiotlb* bounce = m->platform.swiotlb()) {
    const swiotlb::SwiotlbStats s = bounce->stats();
    j["swiotlb"] = {{"mappings_bounced", s.mappings_bounced},
                    {"mappings_direct", s.mappings_direct},
                    {"used_slots", s.used_slots}};
  }
  if (m->iommu != nullptr) {
    const iommu::IommuStats s = m->iommu->stats();
    const iommu::IommuCostBreakdown cost = m->iommu->modeled_cost();
    j["iommu"] = {{"translations", s.translations},
                  {"walks", s.walks},
                  {"faults", s.faults},
                  {"iotlb_hits", s.iotlb.hits},
                  {"modeled_cpu_cycles", cost.cpu()},
                  {"modeled_device_cycles", cost.device()}};
  }
  j["devices"] = m->platform.devices().size();
  const std::scoped_lock guard(m->lock);
  m->stats_json = j.dump();
  return m->stats_json.c_str();
}

size_t dmakit_debug_report_count(struct dmakit_machine* m) {
  const debug::DmaDebug* checker = m == nullptr ? nullptr : debug::DmaDebug::of(m->platform);
  return checker == nullptr ? 0 : checker->total_reports();
}

const char* dmakit_debug_last_report(struct dmakit_machine* m) {
  const debug::DmaDebug* checker = m == nullptr ? nullptr : debug::DmaDebug::of(m->platform);
  if (checker == nullptr) return nullptr;
  const std::vector<debug::Report> reports = checker->reports();
  if (reports.empty()) return nullptr;
  const std::scoped_lock guard(m->lock);
  m->last_report = debug::misuse_name(reports.back().misuse);
  return m->last_report.c_str();
}

const char* dmakit_last_error(void) { return linux_api::last_error.c_str(); }

}  // extern "C"
