// SPDX-License-Identifier: Apache-2.0
// The C API's ordinary and mask-bounded memory (linux layer; gfp.h, mm.h, slab.h, io.h,
// vmalloc.h) on the current machine. A `struct page *` is the machine's Page itself.
#include <cstring>
#include <limits>

#include "dmakit/dma/kmalloc_dev.h"
#include "dmakit/linux/gfp.h"
#include "dmakit/linux/io.h"
#include "dmakit/linux/mm.h"
#include "dmakit/linux/slab.h"
#include "dmakit/linux/vmalloc.h"
#include "linux_machine.h"

using namespace dmakit;
using linux_api::c_page;
using linux_api::current_machine;
using linux_api::gfp_of;
using linux_api::page_of;
using linux_api::pointer_or_record;
using linux_api::value_or_record;

namespace {

// kmalloc's result, zeroed when asked: the slab's objects are reused unzeroed.
void* zeroed_if_asked(const Result<std::byte*>& r, std::size_t size, gfp_t gfp,
                      std::string_view call) {
  return value_or_record(r, call, static_cast<void*>(nullptr), [&](std::byte* p) -> void* {
    if ((gfp & __GFP_ZERO) != 0) std::memset(p, 0, size);
    return p;
  });
}

void* kmalloc_under(std::size_t size, gfp_t gfp, std::uint64_t mask, std::string_view call) {
  dmakit_machine* m = current_machine();
  if (m == nullptr) return nullptr;
  return zeroed_if_asked(m->kmalloc.kmalloc_mask(size, gfp_of(gfp), mask), size, gfp, call);
}

}  // namespace

extern "C" {

struct page* alloc_pages(gfp_t gfp, unsigned int order) {
  dmakit_machine* m = current_machine();
  if (m == nullptr) return nullptr;
  return value_or_record(m->machine.page_allocator().alloc_pages(gfp_of(gfp), order), "alloc_pages",
                         static_cast<struct page*>(nullptr), c_page);
}

struct page* alloc_page(gfp_t gfp) {
  return alloc_pages(gfp, 0);
}

void __free_pages(struct page* page, unsigned int order) {
  dmakit_machine* m = current_machine();
  if (m == nullptr || page == nullptr) return;
  linux_api::warn_if_failed(m->machine.page_allocator().free_pages(page_of(page), order),
                            "__free_pages");
}

void __free_page(struct page* page) { __free_pages(page, 0); }

unsigned long __get_free_pages(gfp_t gfp, unsigned int order) {
  struct page* page = alloc_pages(gfp, order);
  return page == nullptr ? 0 : reinterpret_cast<unsigned long>(page_address(page));
}

void free_pages(unsigned long addr, unsigned int order) {
  if (addr == 0) return;
  if (struct page* page = virt_to_page(reinterpret_cast<void*>(addr)))
    __free_pages(page, order);
  else
    std::fprintf(stderr, "dmakit: free_pages: %s\n", dmakit_last_error());
}

struct page* alloc_pages_mask(gfp_t gfp, unsigned size, u64 mask) {
  dmakit_machine* m = current_machine();
  if (m == nullptr) return nullptr;
  return value_or_record(m->platform.mask_allocator()->alloc_pages_mask(gfp_of(gfp), size, mask),
                         "alloc_pages_mask", static_cast<struct page*>(nullptr), c_page);
}

void __free_pages_mask(struct page* page, unsigned size) {
  dmakit_machine* m = current_machine();
  if (m == nullptr || page == nullptr) return;
  linux_api::warn_if_failed(m->platform.mask_allocator()->free_pages_mask(page_of(page), size),
                            "__free_pages_mask");
}

void* get_pages_mask(gfp_t gfp, unsigned size, u64 mask) {
  dmakit_machine* m = current_machine();
  if (m == nullptr) return nullptr;
  return pointer_or_record(m->platform.mask_allocator()->get_pages_mask(gfp_of(gfp), size, mask),
                           "get_pages_mask");
}

void free_pages_mask(void* mem, unsigned size) {
  dmakit_machine* m = current_machine();
  if (m == nullptr || mem == nullptr) return;
  linux_api::warn_if_failed(m->platform.mask_allocator()->free_pages_mask(mem, size),
                            "free_pages_mask");
}

void* page_address(const struct page* page) {
  dmakit_machine* m = current_machine();
  return m == nullptr || page == nullptr ? nullptr : m->machine.page_address(page_of(page));
}

struct page* virt_to_page(const void* addr) {
  dmakit_machine* m = current_machine();
  if (m == nullptr) return nullptr;
  return value_or_record(
      m->machine.virt_to_phys(addr), "virt_to_page", static_cast<struct page*>(nullptr),
      [&](PhysAddr phys) { return c_page(m->machine.memory().pfn_to_page(phys_to_pfn(phys))); });
}

phys_addr_t page_to_phys(const struct page* page) {
  dmakit_machine* m = current_machine();
  return m == nullptr || page == nullptr ? 0 : m->machine.page_to_phys(page_of(page)).value();
}

unsigned long page_to_pfn(const struct page* page) {
  dmakit_machine* m = current_machine();
  return m == nullptr || page == nullptr ? 0 : m->machine.memory().page_to_pfn(page_of(page));
}

struct page* pfn_to_page(unsigned long pfn) {
  dmakit_machine* m = current_machine();
  if (m == nullptr) return nullptr;
  if (pfn >= m->machine.memory().end_pfn()) {
    linux_api::set_last_error(fmt::format("pfn_to_page: pfn {:#x} is beyond memory", pfn));
    return nullptr;
  }
  return c_page(m->machine.memory().pfn_to_page(pfn));
}

phys_addr_t virt_to_phys(const volatile void* addr) {
  dmakit_machine* m = current_machine();
  if (m == nullptr) return 0;
  return value_or_record(m->machine.virt_to_phys(const_cast<const void*>(addr)), "virt_to_phys",
                         phys_addr_t{0}, [](PhysAddr phys) { return phys.value(); });
}

void* phys_to_virt(phys_addr_t addr) {
  dmakit_machine* m = current_machine();
  if (m == nullptr) return nullptr;
  return pointer_or_record(m->machine.phys_to_virt(PhysAddr(addr)), "phys_to_virt");
}

void* vmalloc(unsigned long size) {
  dmakit_machine* m = current_machine();
  if (m == nullptr) return nullptr;
  return pointer_or_record(m->machine.vmalloc_area().vmalloc(size), "vmalloc");
}

void* vzalloc(unsigned long size) {
  void* p = vmalloc(size);
  if (p != nullptr) std::memset(p, 0, size);
  return p;
}

void vfree(const void* addr) {
  dmakit_machine* m = current_machine();
  if (m == nullptr || addr == nullptr) return;
  linux_api::warn_if_failed(m->machine.vmalloc_area().vfree(addr), "vfree");
}

struct page* vmalloc_to_page(const void* addr) {
  dmakit_machine* m = current_machine();
  if (m == nullptr) return nullptr;
  return value_or_record(m->machine.vmalloc_area().vmalloc_to_page(addr), "vmalloc_to_page",
                         static_cast<struct page*>(nullptr), c_page);
}

bool is_vmalloc_addr(const void* addr) {
  dmakit_machine* m = current_machine();
  return m != nullptr && m->machine.vmalloc_area().contains(addr);
}

void* kmalloc(size_t size, gfp_t gfp) {
  return kmalloc_under(size, gfp, std::numeric_limits<u64>::max(), "kmalloc");
}

void* kzalloc(size_t size, gfp_t gfp) { return kmalloc(size, gfp | __GFP_ZERO); }

void* kcalloc(size_t n, size_t size, gfp_t gfp) {
  if (size != 0 && n > std::numeric_limits<size_t>::max() / size) {
    linux_api::set_last_error(fmt::format("kcalloc: {} x {} bytes overflows", n, size));
    return nullptr;
  }
  return kzalloc(n * size, gfp);
}

void* kmalloc_mask(size_t size, gfp_t gfp, u64 mask) {
  return kmalloc_under(size, gfp, mask, "kmalloc_mask");
}

void* kmalloc_dev(size_t size, gfp_t gfp, struct device* dev) {
  dmakit_machine* m = current_machine();
  dma::Device* d = linux_api::device_of(dev, "kmalloc_dev");
  if (m == nullptr || d == nullptr) return nullptr;
  return zeroed_if_asked(dma::kmalloc_dev(m->kmalloc, size, gfp_of(gfp), *d), size, gfp,
                         "kmalloc_dev");
}

void kfree(const void* ptr) {
  dmakit_machine* m = current_machine();
  if (m == nullptr || ptr == nullptr) return;
  linux_api::warn_if_failed(m->kmalloc.kfree(ptr), "kfree");
}

size_t ksize(const void* ptr) {
  dmakit_machine* m = current_machine();
  if (m == nullptr || ptr == nullptr) return 0;
  return value_or_record(m->kmalloc.ksize(ptr), "ksize", size_t{0},
                         [](std::uint64_t n) { return static_cast<size_t>(n); });
}

}  // extern "C"
