// SPDX-License-Identifier: Apache-2.0
// The C API's pools (linux layer; dmapool.h and mempool.h): DMA pools of one device and seed 003's
// mask-bounded mempools on the current machine.
#include <memory>

#include "dmakit/alloc/mask_mempool.h"
#include "dmakit/linux/dmapool.h"
#include "dmakit/linux/mempool.h"
#include "dmakit/pool/dma_pool.h"
#include "linux_machine.h"

using namespace dmakit;

namespace {

// The pool behind a handle; null, with `call`'s error recorded, for a null handle or one whose
// device has ended.
pool::DmaPool* pool_of(struct dma_pool* pool, std::string_view call) {
  if (pool == nullptr) {
    linux_api::set_last_error(fmt::format("{}: a NULL pool", call));
    return nullptr;
  }
  if (pool->pool == nullptr) {
    linux_api::set_last_error(fmt::format("{}: pool '{}' outlived its device", call, pool->name));
    return nullptr;
  }
  return pool->pool.get();
}

// The mempool behind a handle; null, with `call`'s error recorded, for a null handle or one whose
// machine was destroyed.
alloc::MaskMempool* mempool_of(mempool_t* pool, std::string_view call) {
  if (pool == nullptr) {
    linux_api::set_last_error(fmt::format("{}: a NULL pool", call));
    return nullptr;
  }
  if (pool->pool == nullptr) {
    linux_api::set_last_error(fmt::format("{}: the pool outlived its machine", call));
    return nullptr;
  }
  return pool->pool.get();
}

}  // namespace

device::Live::~Live() {
  const std::scoped_lock guard(pools_lock);
  for (struct dma_pool* pool : pools) pool->pool.reset();
}

extern "C" {

struct dma_pool* dma_pool_create(const char* name, struct device* dev, size_t size, size_t align,
                                 size_t boundary) {
  dma::Device* d = linux_api::device_of(dev, "dma_pool_create");
  if (d == nullptr) return nullptr;
  Result<std::unique_ptr<pool::DmaPool>> p =
      pool::DmaPool::create(name == nullptr ? "" : name, *d, size, align, boundary);
  if (!p) {
    linux_api::record("dma_pool_create", p.error());
    return nullptr;
  }
  auto* handle = new dma_pool{std::move(*p), dev, name == nullptr ? "" : name};
  const std::scoped_lock guard(dev->live->pools_lock);
  dev->live->pools.push_back(handle);
  return handle;
}

void* dma_pool_alloc(struct dma_pool* pool, gfp_t gfp, dma_addr_t* handle) {
  pool::DmaPool* p = pool_of(pool, "dma_pool_alloc");
  if (p == nullptr) return nullptr;
  if (handle == nullptr) {
    linux_api::set_last_error("dma_pool_alloc: a NULL handle pointer");
    return nullptr;
  }
  DmaAddr addr;
  const machine::Gfp flags = linux_api::gfp_of(gfp);
  void* cpu = linux_api::pointer_or_record(
      (gfp & __GFP_ZERO) != 0 ? p->zalloc(flags, &addr) : p->alloc(flags, &addr), "dma_pool_alloc");
  *handle = cpu == nullptr ? ~dma_addr_t{0} : addr.value();
  return cpu;
}

void* dma_pool_zalloc(struct dma_pool* pool, gfp_t gfp, dma_addr_t* handle) {
  return dma_pool_alloc(pool, gfp | __GFP_ZERO, handle);
}

void dma_pool_free(struct dma_pool* pool, void* vaddr, dma_addr_t addr) {
  pool::DmaPool* p = pool_of(pool, "dma_pool_free");
  if (p == nullptr || vaddr == nullptr) {
    if (p != nullptr) linux_api::set_last_error("dma_pool_free: a NULL block");
    linux_api::warn(dmakit_last_error());
    return;
  }
  linux_api::warn_if_failed(p->free(vaddr, DmaAddr(addr)), "dma_pool_free");
}

void dma_pool_destroy(struct dma_pool* pool) {
  if (pool == nullptr) return;
  if (pool->pool != nullptr) {  // its device is live: it holds the pool in its list
    device::Live& live = *pool->dev->live;
    const std::scoped_lock guard(live.pools_lock);
    std::erase(live.pools, pool);
  }
  delete pool;
}

mempool_t* mempool_create_pool_pmask(int min_nr, int size, u64 mask) {
  dmakit_machine* m = linux_api::current_machine();
  if (m == nullptr) return nullptr;
  if (min_nr < 1 || size < 1) {
    linux_api::set_last_error(
        fmt::format("mempool_create_pool_pmask: {} elements of {} bytes", min_nr, size));
    return nullptr;
  }
  Result<std::unique_ptr<alloc::MaskMempool>> p =
      alloc::MaskMempool::create(*m->platform.mask_allocator(), static_cast<unsigned>(min_nr),
                                 static_cast<std::uint64_t>(size), mask);
  if (!p) {
    linux_api::record("mempool_create_pool_pmask", p.error());
    return nullptr;
  }
  auto* handle = new mempool_s{std::move(*p), m};
  const std::scoped_lock guard(m->devices_lock);
  m->mempools.push_back(handle);
  return handle;
}

void* mempool_alloc(mempool_t* pool, gfp_t gfp) {
  alloc::MaskMempool* p = mempool_of(pool, "mempool_alloc");
  if (p == nullptr) return nullptr;
  return linux_api::pointer_or_record(p->alloc(linux_api::gfp_of(gfp)), "mempool_alloc");
}

void mempool_free(void* element, mempool_t* pool) {
  if (element == nullptr) return;  // as the kernel's
  alloc::MaskMempool* p = mempool_of(pool, "mempool_free");
  if (p == nullptr) return linux_api::warn(dmakit_last_error());
  linux_api::warn_if_failed(p->free(static_cast<std::byte*>(element)), "mempool_free");
}

void mempool_destroy(mempool_t* pool) {
  if (pool == nullptr) return;
  linux_api::unlink_mempool(pool);
  delete pool;
}

}  // extern "C"
