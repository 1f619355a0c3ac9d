// SPDX-License-Identifier: Apache-2.0
// The C API's DMA-mapping calls (linux layer; dma-mapping.h and the scatterlist allocator) over
// dmakit's mapping layer. A C scatterlist is copied into an SgTable for each call and the DMA
// segments copied back: the C list is the only state kept between map and unmap, as in Linux.
#include <algorithm>
#include <cstdlib>
#include <limits>
#include <span>
#include <unordered_set>
#include <vector>

#include "dmakit/dma/coherent.h"
#include "dmakit/dma/declared_memory.h"
#include "dmakit/dma/dma_ops.h"
#include "dmakit/dma/mapping.h"
#include "dmakit/linux/dma-mapping.h"
#include "dmakit/linux/err.h"
#include "dmakit/linux/scatterlist.h"
#include "linux_machine.h"

using namespace dmakit;
using linux_api::device_of;
using linux_api::direction_of;
using linux_api::page_of;

namespace {

int set_mask(struct device* dev, u64 mask, std::string_view call,
             Status (dma::Device::*set)(std::uint64_t)) {
  dma::Device* d = device_of(dev, call);
  if (d == nullptr) return -EIO;
  if (const Status ok = (d->*set)(mask); !ok) {
    linux_api::record(call, ok.error());
    return -EIO;
  }
  return 0;
}

dma_addr_t mapped(const Result<DmaAddr>& r, std::string_view call) {
  return linux_api::value_or_record(r, call, dma_addr_t{DMA_MAPPING_ERROR},
                                    [](DmaAddr a) { return a.value(); });
}

// The first `nents` entries of a C list, following chain links. InvalidArgument when the list
// ends before `nents` entries, or reaches an entry twice (a chain link back into the list): that
// entry would be mapped once per visit, and all but one of its mappings could never be unmapped.
Result<std::vector<struct scatterlist*>> entries_of(struct scatterlist* sg, int nents) {
  if (nents <= 0 || sg == nullptr)
    return fail(Errc::InvalidArgument, "{} entries of list {}", nents, static_cast<void*>(sg));
  std::vector<struct scatterlist*> entries;
  std::unordered_set<const struct scatterlist*> seen;
  for (; entries.size() < static_cast<std::size_t>(nents); sg = sg_next(sg)) {
    if (sg == nullptr)
      return fail(Errc::InvalidArgument, "nents {} runs past the list's end after {} entries",
                  nents, entries.size());
    if (!seen.insert(sg).second)
      return fail(Errc::InvalidArgument,
                  "the list loops: entry {} is entry {} again (a chain link back into the list)",
                  entries.size(), std::find(entries.begin(), entries.end(), sg) - entries.begin());
    entries.push_back(sg);
  }
  return entries;
}

// A C list's entries as a table. With `segments`, also the DMA segments dma_map_sg() wrote: those
// up to the first entry of zero dma_length.
dma::SgTable table_of(std::span<struct scatterlist* const> entries, bool segments) {
  dma::SgTable table;
  std::size_t mapped_segments = 0;
  bool ended = false;
  for (struct scatterlist* sg : entries) {
    table.add(page_of(sg_page(sg)), sg->offset, sg->length);
    if (!segments) continue;
    dma::ScatterEntry& e = table.entries().back();
    e.dma_address = DmaAddr(sg->dma_address);
    e.dma_length = sg->dma_length;
    ended = ended || sg->dma_length == 0;
    if (!ended) ++mapped_segments;
  }
  table.set_nents(mapped_segments);
  return table;
}

// The ops behind an sg call on the C list as built: unmap or one of the syncs.
void on_segments(struct device* dev, struct scatterlist* sg, int nents, int dir,
                 std::string_view call, Status (*op)(dma::Device&, dma::SgTable&, Direction)) {
  dma::Device* d = linux_api::device_or_warn(dev, call);
  if (d == nullptr) return;
  const Result<std::vector<struct scatterlist*>> entries = entries_of(sg, nents);
  if (!entries) return linux_api::warn_if_failed(std::unexpected(entries.error()), call);
  dma::SgTable table = table_of(*entries, /*segments=*/true);
  linux_api::warn_if_failed(op(*d, table, direction_of(dir)), call);
}

}  // namespace

extern "C" {

int dma_set_mask(struct device* dev, u64 mask) {
  return set_mask(dev, mask, "dma_set_mask", &dma::Device::set_dma_mask);
}

int dma_set_coherent_mask(struct device* dev, u64 mask) {
  return set_mask(dev, mask, "dma_set_coherent_mask", &dma::Device::set_coherent_dma_mask);
}

int dma_set_mask_and_coherent(struct device* dev, u64 mask) {
  return set_mask(dev, mask, "dma_set_mask_and_coherent", &dma::Device::set_dma_mask_and_coherent);
}

u64 dma_get_mask(struct device* dev) {
  const dma::Device* d = device_of(dev, "dma_get_mask");
  return d == nullptr ? 0 : d->dma_mask();
}

int dma_supported(struct device* dev, u64 mask) {
  const dma::Device* d = device_of(dev, "dma_supported");
  return d != nullptr && d->dma_supported(mask) ? 1 : 0;
}

dma_addr_t dma_map_single(struct device* dev, void* ptr, size_t size, enum dma_data_direction dir) {
  dma::Device* d = device_of(dev, "dma_map_single");
  if (d == nullptr) return DMA_MAPPING_ERROR;
  return mapped(dma::map_single(*d, ptr, size, direction_of(dir)), "dma_map_single");
}

void dma_unmap_single(struct device* dev, dma_addr_t addr, size_t size,
                      enum dma_data_direction dir) {
  if (dma::Device* d = linux_api::device_or_warn(dev, "dma_unmap_single"))
    linux_api::warn_if_failed(dma::unmap_single(*d, DmaAddr(addr), size, direction_of(dir)),
                              "dma_unmap_single");
}

dma_addr_t dma_map_page(struct device* dev, struct page* page, size_t offset, size_t size,
                        enum dma_data_direction dir) {
  dma::Device* d = device_of(dev, "dma_map_page");
  if (d == nullptr) return DMA_MAPPING_ERROR;
  return mapped(dma::map_page(*d, page_of(page), offset, size, direction_of(dir)), "dma_map_page");
}

void dma_unmap_page(struct device* dev, dma_addr_t addr, size_t size, enum dma_data_direction dir) {
  if (dma::Device* d = linux_api::device_or_warn(dev, "dma_unmap_page"))
    linux_api::warn_if_failed(dma::unmap_page(*d, DmaAddr(addr), size, direction_of(dir)),
                              "dma_unmap_page");
}

int dma_mapping_error(struct device* dev, dma_addr_t addr) {
  const dma::Device* d = device_of(dev, "dma_mapping_error");
  if (d == nullptr) return addr == DMA_MAPPING_ERROR ? -ENOMEM : 0;
  return dma::mapping_error(*d, DmaAddr(addr)) ? -ENOMEM : 0;
}

int dma_map_sg(struct device* dev, struct scatterlist* sg, int nents, enum dma_data_direction dir) {
  dma::Device* d = device_of(dev, "dma_map_sg");
  if (d == nullptr) return 0;
  const Result<std::vector<struct scatterlist*>> entries = entries_of(sg, nents);
  if (!entries) {
    linux_api::record("dma_map_sg", entries.error());
    return 0;
  }
  dma::SgTable table = table_of(*entries, /*segments=*/false);
  const Result<std::size_t> segments = dma::map_sg(*d, table, direction_of(dir));
  if (!segments) {
    linux_api::record("dma_map_sg", segments.error());
    return 0;
  }
  for (std::size_t i = 0; i < entries->size(); ++i) {
    const dma::ScatterEntry& e = table.entries()[i];
    (*entries)[i]->dma_address = i < *segments ? e.dma_address.value() : 0;
    (*entries)[i]->dma_length = i < *segments ? e.dma_length : 0;
  }
  return static_cast<int>(*segments);
}

void dma_unmap_sg(struct device* dev, struct scatterlist* sg, int nents,
                  enum dma_data_direction dir) {
  on_segments(dev, sg, nents, dir, "dma_unmap_sg", &dma::unmap_sg);
}

void dma_sync_single_for_cpu(struct device* dev, dma_addr_t addr, size_t size,
                             enum dma_data_direction dir) {
  if (dma::Device* d = linux_api::device_or_warn(dev, "dma_sync_single_for_cpu"))
    linux_api::warn_if_failed(dma::sync_single_for_cpu(*d, DmaAddr(addr), size, direction_of(dir)),
                              "dma_sync_single_for_cpu");
}

void dma_sync_single_for_device(struct device* dev, dma_addr_t addr, size_t size,
                                enum dma_data_direction dir) {
  if (dma::Device* d = linux_api::device_or_warn(dev, "dma_sync_single_for_device"))
    linux_api::warn_if_failed(
        dma::sync_single_for_device(*d, DmaAddr(addr), size, direction_of(dir)),
        "dma_sync_single_for_device");
}

void dma_sync_sg_for_cpu(struct device* dev, struct scatterlist* sg, int nelems,
                         enum dma_data_direction dir) {
  on_segments(dev, sg, nelems, dir, "dma_sync_sg_for_cpu", &dma::sync_sg_for_cpu);
}

void dma_sync_sg_for_device(struct device* dev, struct scatterlist* sg, int nelems,
                            enum dma_data_direction dir) {
  on_segments(dev, sg, nelems, dir, "dma_sync_sg_for_device", &dma::sync_sg_for_device);
}

size_t dma_max_mapping_size(struct device* dev) {
  const dma::Device* d = device_of(dev, "dma_max_mapping_size");
  if (d == nullptr) return 0;
  const std::uint64_t max = dma::max_mapping_size(*d);
  return max > std::numeric_limits<size_t>::max() ? std::numeric_limits<size_t>::max() : max;
}

void* dma_alloc_coherent(struct device* dev, size_t size, dma_addr_t* handle, gfp_t gfp) {
  dma::Device* d = device_of(dev, "dma_alloc_coherent");
  if (d == nullptr) return nullptr;
  if (handle == nullptr) {
    linux_api::set_last_error("dma_alloc_coherent: a NULL handle pointer");
    return nullptr;
  }
  DmaAddr addr;
  const Result<std::byte*> cpu = dma::alloc_coherent(*d, size, &addr, linux_api::gfp_of(gfp));
  if (!cpu) {
    linux_api::record("dma_alloc_coherent", cpu.error());
    *handle = DMA_MAPPING_ERROR;
    return nullptr;
  }
  *handle = addr.value();
  return *cpu;
}

void dma_free_coherent(struct device* dev, size_t size, void* cpu, dma_addr_t handle) {
  if (dma::Device* d = linux_api::device_or_warn(dev, "dma_free_coherent"))
    linux_api::warn_if_failed(dma::free_coherent(*d, size, cpu, DmaAddr(handle)),
                              "dma_free_coherent");
}

int dma_declare_coherent_memory(struct device* dev, dma_addr_t bus_addr, dma_addr_t device_addr,
                                size_t size, int flags) {
  dma::Device* d = device_of(dev, "dma_declare_coherent_memory");
  if (d == nullptr) return 0;
  const Status ok = dma::declare_coherent_memory(*d, PhysAddr(bus_addr), DmaAddr(device_addr), size,
                                                 static_cast<unsigned>(flags));
  if (!ok) {
    linux_api::record("dma_declare_coherent_memory", ok.error());
    return 0;
  }
  return (flags & DMA_MEMORY_MAP) != 0 ? DMA_MEMORY_MAP : DMA_MEMORY_IO;
}

void dma_release_declared_memory(struct device* dev) {
  if (dma::Device* d = linux_api::device_or_warn(dev, "dma_release_declared_memory"))
    linux_api::warn_if_failed(dma::release_declared_memory(*d), "dma_release_declared_memory");
}

void* dma_mark_declared_memory_occupied(struct device* dev, dma_addr_t device_addr, size_t size) {
  dma::Device* d = device_of(dev, "dma_mark_declared_memory_occupied");
  if (d == nullptr) return ERR_PTR(-EINVAL);
  const Result<std::byte*> cpu = dma::mark_declared_memory_occupied(*d, DmaAddr(device_addr), size);
  if (cpu) return *cpu;
  linux_api::record("dma_mark_declared_memory_occupied", cpu.error());
  return ERR_PTR(cpu.error().code == Errc::Busy ? -EBUSY : -EINVAL);
}

void* dma_to_virt(struct device* dev, dma_addr_t addr) {
  const dma::Device* d = device_of(dev, "dma_to_virt");
  return d == nullptr ? nullptr : dma::dma_to_virt(*d, DmaAddr(addr));
}

int sg_alloc_table(struct sg_table* table, unsigned int nents, gfp_t /*gfp*/) {
  if (table == nullptr || nents == 0) return -EINVAL;
  // The list itself is never DMA'd: host memory, as the kernel's own slab would be.
  auto* sgl = static_cast<struct scatterlist*>(std::calloc(nents, sizeof(struct scatterlist)));
  if (sgl == nullptr) return -ENOMEM;
  sg_init_table(sgl, nents);
  *table = {sgl, nents, nents};
  return 0;
}

void sg_free_table(struct sg_table* table) {
  if (table == nullptr) return;
  std::free(table->sgl);
  *table = {};
}

int sg_nents(struct scatterlist* sg) {
  // A list that chains back into itself has no end: counted up to the first entry seen twice.
  std::unordered_set<const struct scatterlist*> seen;
  int n = 0;
  for (; sg != nullptr; sg = sg_next(sg), ++n) {
    if (!seen.insert(sg).second) {
      linux_api::set_last_error(
          fmt::format("sg_nents: the list loops back to an earlier entry after {} entries", n));
      return -EINVAL;
    }
  }
  return n;
}

}  // extern "C"
