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

struct dmakit_machine_engine;

struct dmakit_machine {
  dmakit_machine(const dmakit::machine::MachineConfig& config, const dmakit_machine_config& c);
  ~dmakit_machine();

  const dmakit_machine_config c_config;
  dmakit::machine::Machine machine;
  dmakit::dma::Platform platform;
  dmakit::alloc::KmallocMask kmalloc;
  dmakit::iommu::Iommu* iommu = nullptr;  ///< the platform's, with an IOMMU configured
  std::mutex lock;
  std::string stats_json;   ///< guarded by lock
  std::string last_report;  ///< guarded by lock
  /// Guarded by lock: the copy engine, made on first use; destroyed first, its device with it.
  std::unique_ptr<dmakit_machine_engine> engine;
};

struct device {
  device(dmakit_machine& m, const char* name, int node)
      : machine(m), dev(m.platform, name, nullptr, node) {
    dev.set_tracker(&live);  // dma_to_virt() answers for live mappings only
  }
  dmakit_machine& machine;
  dmakit::dma::MappingTracker live;
  dmakit::dma::Device dev;
};

/// A channel of the machine's engine, as dmaengine.h hands it out.
struct dma_chan {
  dmakit::engine::Channel* channel;
  std::mutex lock;
  std::unordered_set<dma_cookie_t> failed;  ///< guarded by lock: completed with an error
};

/// The engine of a machine: a device, the engine with its channels, and the best-method copier.
struct dmakit_machine_engine {
  explicit dmakit_machine_engine(std::unique_ptr<struct device> d)
      : dev(std::move(d)), engine(dev->dev, config(dev->dev.name())), tx(engine) {
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
  std::unique_ptr<struct device> dev;  ///< destroyed after the engine that uses it
  dmakit::engine::DmaEngine engine;
  dmakit::engine::AsyncTx tx;
  std::vector<std::unique_ptr<dma_chan>> channels;
};

namespace dmakit::linux_api {

/// The current machine; null, with the last error set, when there is none.
[[nodiscard]] dmakit_machine* current_machine();
void set_current_machine(dmakit_machine* m);

/// Records why a call failed for dmakit_last_error().
void set_last_error(std::string message);
/// Records why `call` failed ("call: message"): failures a caller sees in the return value.
void record(std::string_view call, const Error& error);
/// Records a failure of a call that returns nothing and reports it on stderr, as the kernel would
/// warn; nothing when `ok`.
void warn_if_failed(const Status& ok, std::string_view call);

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

/// The device behind a C handle; null, with `call`'s error recorded, for a null handle.
[[nodiscard]] dma::Device* device_of(struct device* dev, std::string_view call);

}  // namespace dmakit::linux_api
