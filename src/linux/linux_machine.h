// SPDX-License-Identifier: Apache-2.0
// What the C API's opaque types are (linux layer): a machine with its platform, allocators and
// IOMMU, and a device of it; plus the current machine and the per-thread last error the kernel
// names report through.
#pragma once

#include <fmt/format.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "dmakit/alloc/kmalloc_mask.h"
#include "dmakit/alloc/mask_mempool.h"
#include "dmakit/core/direction.h"
#include "dmakit/core/error.h"
#include "dmakit/core/result.h"
#include "dmakit/dma/device.h"
#include "dmakit/dma/mapping_tracker.h"
#include "dmakit/dma/platform.h"
#include "dmakit/engine/async_tx.h"
#include "dmakit/engine/dma_engine.h"
#include "dmakit/iommu/iommu.h"
#include "dmakit/linux/dmaengine.h"
#include "dmakit/linux/machine.h"
#include "dmakit/machine/gfp.h"
#include "dmakit/machine/machine.h"
#include "dmakit/pool/dma_pool.h"

struct dmakit_machine_engine;

struct dmakit_machine {
  dmakit_machine(const dmakit::machine::MachineConfig& config, const dmakit_machine_config& c);
  /// Stops the engine, then ends every device of the machine (their handles stay, refused by
  /// device_of()), then the platform and the machine.
  ~dmakit_machine();

  const dmakit_machine_config c_config;
  dmakit::machine::Machine machine;
  dmakit::dma::Platform platform;
  dmakit::alloc::KmallocMask kmalloc;
  dmakit::iommu::Iommu* iommu = nullptr;  ///< the platform's, with an IOMMU configured
  std::mutex lock;
  std::string stats_json;   ///< guarded by lock
  std::string last_report;  ///< guarded by lock
  /// Guarded by lock: the copy engine, made on first use; destroyed first.
  std::unique_ptr<dmakit_machine_engine> engine;
  std::mutex devices_lock;
  std::vector<struct device*> devices;      ///< guarded by devices_lock: those not destroyed yet
  std::vector<struct mempool_s*> mempools;  ///< guarded by devices_lock: those not destroyed yet
};

/// A device handle. The machine owns what the device is (its dma::Device, registered with the
/// platform); the handle itself lives until dmakit_device_destroy(), so a handle that outlived its
/// machine is still memory dmakit can read, and is refused rather than followed.
struct device {
  /// What ends with the machine, or with the handle if that goes first.
  struct Live {
    Live(dmakit_machine& m, const char* dev_name, int node)
        : dev(m.platform, dev_name, nullptr, node) {
      dev.set_tracker(&tracker);  // dma_to_virt() answers for live mappings only
    }
    /// Ends the device's pools first: their chunks go back through the device.
    ~Live();
    dmakit::dma::MappingTracker tracker;
    dmakit::dma::Device dev;
    std::mutex pools_lock;
    std::vector<struct dma_pool*> pools;  ///< guarded by pools_lock: those not destroyed yet
  };
  device(dmakit_machine& m, const char* dev_name, int node)
      : machine(&m), name(dev_name), live(std::make_unique<Live>(m, dev_name, node)) {}
  dmakit_machine* machine;  ///< null once the machine is destroyed
  const std::string name;
  std::unique_ptr<Live> live;  ///< null once the machine is destroyed
};

/// A DMA pool handle. As with a device handle, the pool itself ends with its device and the handle
/// lives until dma_pool_destroy(), refused by every other call meanwhile.
struct dma_pool {
  std::unique_ptr<dmakit::pool::DmaPool> pool;  ///< null once the device has ended
  struct device* dev;
  const std::string name;
};

/// A mempool handle, which outlives its machine as a device handle does.
struct mempool_s {
  std::unique_ptr<dmakit::alloc::MaskMempool> pool;  ///< null once the machine is destroyed
  dmakit_machine* machine;
};

/// A channel of the machine's engine, as dmaengine.h hands it out.
struct dma_chan {
  dmakit::engine::Channel* channel;
  std::mutex lock;
  std::unordered_set<dma_cookie_t> failed;  ///< guarded by lock: completed with an error
};

/// The engine of a machine: a device, the engine with its channels, and the best-method copier.
struct dmakit_machine_engine {
  explicit dmakit_machine_engine(struct device* d)
      : dev(d), engine(d->live->dev, config(d->name)), tx(engine) {
    for (const std::unique_ptr<dmakit::engine::Channel>& c : engine.channels())
      channels.push_back(std::make_unique<dma_chan>(c.get()));
  }
  static dmakit::engine::EngineConfig config(const std::string& device) {
    dmakit::engine::EngineConfig c;
    c.name = "dma0";
    c.device = device;
    c.channels = 2;
    return c;  // blocking workers: an idle engine costs no CPU
  }
  struct device* dev;  ///< the machine's, which ends it after the engine
  dmakit::engine::DmaEngine engine;
  dmakit::engine::AsyncTx tx;
  std::vector<std::unique_ptr<dma_chan>> channels;
};

namespace dmakit::linux_api {

/// The current machine: the newest one not yet destroyed; null, with the last error set, when there
/// is none.
[[nodiscard]] dmakit_machine* current_machine();

/// Records why a call failed for dmakit_last_error().
void set_last_error(std::string message);
/// Records why `call` failed ("call: message"): failures a caller sees in the return value.
void record(std::string_view call, const Error& error);
/// Records a failure of a call that returns nothing and reports it on stderr, as the kernel would
/// warn; nothing when `ok`.
void warn_if_failed(const Status& ok, std::string_view call);
/// Records `message` and reports it on stderr: a failed call that returns nothing.
void warn(std::string message);

/// The value of `r` converted, or `failed` with the error recorded for `call` (allocation failures
/// are normal: recorded, not printed).
template <class T, class U, class Convert>
U value_or_record(const Result<T>& r, std::string_view call, U failed, Convert&& convert) {
  if (r) return convert(*r);
  record(call, r.error());
  return failed;
}
/// The pointer of `r`, or null with the error recorded for `call`.
inline void* pointer_or_record(const Result<std::byte*>& r, std::string_view call) {
  return value_or_record(r, call, static_cast<void*>(nullptr),
                         [](std::byte* p) -> void* { return p; });
}

/// A `struct page *` is the machine's Page itself.
inline machine::Page* page_of(const struct page* page) {
  return reinterpret_cast<machine::Page*>(const_cast<struct page*>(page));
}
inline struct page* c_page(machine::Page* page) { return reinterpret_cast<struct page*>(page); }

/// The C flags as the machine's: gfp.h gives them the same bits.
[[nodiscard]] machine::Gfp gfp_of(unsigned gfp);
/// enum dma_data_direction has Direction's values; anything else becomes Direction::None, which
/// every mapping call refuses.
[[nodiscard]] Direction direction_of(int dir);

/// dmakit_device_create(); a `machine_owned` device (the engine's) gives out no handle to release:
/// the machine deletes it.
[[nodiscard]] struct device* create_device(dmakit_machine* m, const char* name, int numa_node,
                                           bool machine_owned);

/// Takes a mempool out of its machine's list while the machine is there; after that, its handle
/// no longer names the machine.
void unlink_mempool(mempool_s* pool);

/// The device behind a C handle; null, with `call`'s error recorded, for a null handle or one whose
/// machine was destroyed.
[[nodiscard]] dma::Device* device_of(struct device* dev, std::string_view call);
/// As device_of(), for calls that return nothing: a refused handle is also reported on stderr.
[[nodiscard]] dma::Device* device_or_warn(struct device* dev, std::string_view call);

}  // namespace dmakit::linux_api
