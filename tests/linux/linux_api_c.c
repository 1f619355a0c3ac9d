/* SPDX-License-Identifier: Apache-2.0 */
/* The C API exercised from C11: every name of the headers, as a driver would use them. */
#include "linux_api_c.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "dmakit/linux/dma-mapping.h"
#include "dmakit/linux/dmaengine.h"
#include "dmakit/linux/dmapool.h"
#include "dmakit/linux/err.h"
#include "dmakit/linux/gfp.h"
#include "dmakit/linux/io.h"
#include "dmakit/linux/mempool.h"
#include "dmakit/linux/mm.h"
#include "dmakit/linux/scatterlist.h"
#include "dmakit/linux/slab.h"
#include "dmakit/linux/vmalloc.h"

#define CHECK(cond)              \
  do {                           \
    if (!(cond)) return __LINE__; \
  } while (0)

static const u64 k4GiB = 1ULL << 32;

static void fill(void *buf, size_t len, unsigned seed) {
  unsigned char *p = buf;
  for (size_t i = 0; i < len; ++i) p[i] = (unsigned char)(seed + i * 7);
}

static bool same(const void *a, const void *b, size_t len) { return memcmp(a, b, len) == 0; }

/* Whether the device reads `len` bytes at `addr` equal to `expected`. */
static bool device_sees(struct device *dev, dma_addr_t addr, const void *expected, size_t len) {
  unsigned char got[8192];
  if (len > sizeof(got) || dmakit_device_read(dev, addr, got, len) != 0) return false;
  return same(got, expected, len);
}

/* A 32-bit device gets bus addresses it can drive, unless it bypasses an IOMMU. */
static bool reachable(const struct dmakit_machine_config *cfg, dma_addr_t addr, size_t len) {
  return cfg->iommu == DMAKIT_IOMMU_PASSTHROUGH || addr + len <= k4GiB;
}

int c_bad_machine_configs_are_refused(void) {
  struct dmakit_machine_config cfg;
  dmakit_machine_config_default(&cfg);
  cfg.numa_nodes = 0;
  CHECK(dmakit_machine_create(&cfg) == NULL);
  CHECK(strstr(dmakit_last_error(), "numa_nodes") != NULL);
  dmakit_machine_config_default(&cfg);
  cfg.iommu = 7;
  CHECK(dmakit_machine_create(&cfg) == NULL);
  CHECK(strstr(dmakit_last_error(), "iommu") != NULL);
  CHECK(kmalloc(16, GFP_KERNEL) == NULL); /* no current machine */
  CHECK(strstr(dmakit_last_error(), "no machine") != NULL);
  return 0;
}

int c_streaming_maps_move_bytes(const struct dmakit_machine_config *cfg) {
  struct dmakit_machine *m = dmakit_machine_create(cfg);
  CHECK(m != NULL);
  struct device *dev = dmakit_device_create(m, "nic", 0);
  CHECK(dev != NULL);
  CHECK(dma_get_mask(dev) == DMA_BIT_MASK(32));
  CHECK(strcmp(dev_name(dev), "nic") == 0);

  /* With RAM above 4 GiB, GFP_KERNEL memory lands there, out of a 32-bit device's reach. */
  unsigned char *tx = kmalloc(3000, GFP_KERNEL);
  CHECK(tx != NULL);
  CHECK(virt_to_phys(tx) >= k4GiB);
  CHECK(phys_to_virt(virt_to_phys(tx)) == tx);
  fill(tx, 3000, 1);
  dma_addr_t addr = dma_map_single(dev, tx, 3000, DMA_TO_DEVICE);
  CHECK(!dma_mapping_error(dev, addr));
  CHECK(reachable(cfg, addr, 3000));
  CHECK(device_sees(dev, addr, tx, 3000));
  CHECK(dma_to_virt(dev, addr) == tx);
  dma_unmap_single(dev, addr, 3000, DMA_TO_DEVICE);
  CHECK(dma_to_virt(dev, addr) == NULL);

  /* A receive: the device writes, and after the unmap (or a sync) the CPU sees it. */
  unsigned char *rx = kzalloc(1500, GFP_KERNEL);
  CHECK(rx != NULL);
  addr = dma_map_single(dev, rx, 1500, DMA_FROM_DEVICE);
  CHECK(!dma_mapping_error(dev, addr));
  unsigned char packet[1500];
  fill(packet, sizeof(packet), 9);
  CHECK(dmakit_device_write(dev, addr, packet, sizeof(packet)) == 0);
  dma_sync_single_for_cpu(dev, addr, sizeof(packet), DMA_FROM_DEVICE);
  CHECK(same(rx, packet, sizeof(packet)));
  dma_sync_single_for_device(dev, addr, sizeof(packet), DMA_FROM_DEVICE);
  dma_unmap_single(dev, addr, sizeof(packet), DMA_FROM_DEVICE);
  CHECK(same(rx, packet, sizeof(packet)));

  /* A page mapped by dma_map_page, 64-bit masks, and the largest mapping. */
  struct page *page = alloc_pages(GFP_KERNEL, 1);
  CHECK(page != NULL);
  CHECK(page_address(page) != NULL && virt_to_page(page_address(page)) == page);
  CHECK(page_to_phys(page) == (phys_addr_t)page_to_pfn(page) << PAGE_SHIFT);
  CHECK(pfn_to_page(page_to_pfn(page)) == page);
  fill(page_address(page), 2 * PAGE_SIZE, 3);
  CHECK(dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64)) == 0);
  CHECK(dma_supported(dev, DMA_BIT_MASK(64)));
  addr = dma_map_page(dev, page, 100, 5000, DMA_BIDIRECTIONAL);
  CHECK(!dma_mapping_error(dev, addr));
  CHECK(device_sees(dev, addr, (char *)page_address(page) + 100, 5000));
  dma_unmap_page(dev, addr, 5000, DMA_BIDIRECTIONAL);
  CHECK(dma_max_mapping_size(dev) > 0);
  __free_pages(page, 1);

  unsigned long raw = __get_free_pages(GFP_KERNEL, 0);
  CHECK(raw != 0);
  free_pages(raw, 0);
  page = alloc_page(GFP_DMA32);
  CHECK(page != NULL && page_to_phys(page) < k4GiB);
  __free_page(page);

  kfree(tx);
  kfree(rx);
  kfree(NULL);
  dmakit_device_destroy(dev);
  dmakit_machine_destroy(m);
  return 0;
}

int c_scatterlists_map_and_move_bytes(const struct dmakit_machine_config *cfg) {
  struct dmakit_machine *m = dmakit_machine_create(cfg);
  CHECK(m != NULL);
  struct device *dev = dmakit_device_create(m, "disk", 0);
  CHECK(dev != NULL);
  enum { kEntries = 4 };
  struct page *pages[kEntries];
  struct sg_table table;
  CHECK(sg_alloc_table(&table, kEntries, GFP_KERNEL) == 0);
  CHECK(table.orig_nents == kEntries);
  struct scatterlist *sg;
  int i;
  for_each_sg(table.sgl, sg, kEntries, i) {
    pages[i] = alloc_page(GFP_KERNEL);
    CHECK(pages[i] != NULL);
    fill(page_address(pages[i]), PAGE_SIZE, (unsigned)i);
    sg_set_page(sg, pages[i], PAGE_SIZE - 512, 256);
  }
  CHECK(sg_nents(table.sgl) == kEntries);
  int count = dma_map_sg(dev, table.sgl, kEntries, DMA_TO_DEVICE);
  CHECK(count >= 1 && count <= kEntries);
  table.nents = (unsigned)count;
  /* The segments hold the entries' bytes in order. */
  unsigned char expected[4 * PAGE_SIZE];
  size_t total = 0;
  for_each_sg(table.sgl, sg, kEntries, i) {
    memcpy(expected + total, (char *)page_address(sg_page(sg)) + sg->offset, sg->length);
    total += sg->length;
  }
  size_t at = 0;
  for_each_sg(table.sgl, sg, count, i) {
    CHECK(reachable(cfg, sg_dma_address(sg), sg_dma_len(sg)));
    CHECK(device_sees(dev, sg_dma_address(sg), expected + at, sg_dma_len(sg)));
    at += sg_dma_len(sg);
  }
  CHECK(at == total);
  dma_sync_sg_for_cpu(dev, table.sgl, kEntries, DMA_TO_DEVICE);
  dma_sync_sg_for_device(dev, table.sgl, kEntries, DMA_TO_DEVICE);
  dma_unmap_sg(dev, table.sgl, kEntries, DMA_TO_DEVICE);
  for (i = 0; i < kEntries; ++i) __free_page(pages[i]);
  sg_free_table(&table);
  CHECK(table.sgl == NULL);

  /* A chained list and a buffer entry: sg_next follows the link. */
  struct scatterlist first[2], second[2]; /* second[1] unused: sg_next stops at second[0] */
  sg_init_table(first, 2);
  sg_init_table(second, 1);
  char *buf = kmalloc(100, GFP_KERNEL);
  CHECK(buf != NULL);
  sg_set_buf(&first[0], buf, 100);
  sg_chain(first, 2, second);
  sg_set_buf(&second[0], buf + 50, 50);
  CHECK(sg_next(&first[0]) == &second[0]);
  CHECK(sg_next(&second[0]) == NULL);
  CHECK(sg_nents(first) == 2);
  struct scatterlist one;
  sg_init_one(&one, buf, 100);
  CHECK(sg_is_last(&one) && sg_page(&one) == virt_to_page(buf));
  kfree(buf);

  dmakit_device_destroy(dev);
  dmakit_machine_destroy(m);
  return 0;
}

int c_coherent_memory_and_pools_are_shared_with_the_device(
    const struct dmakit_machine_config *cfg) {
  struct dmakit_machine *m = dmakit_machine_create(cfg);
  CHECK(m != NULL);
  struct device *dev = dmakit_device_create(m, "ring", 0);
  CHECK(dev != NULL);
  dma_addr_t ring_dma;
  unsigned char *ring = dma_alloc_coherent(dev, 8192, &ring_dma, GFP_KERNEL);
  CHECK(ring != NULL);
  CHECK(reachable(cfg, ring_dma, 8192));
  for (int i = 0; i < 8192; ++i) CHECK(ring[i] == 0);
  unsigned char data[8192];
  fill(data, sizeof(data), 5);
  CHECK(dmakit_device_write(dev, ring_dma, data, sizeof(data)) == 0);
  CHECK(same(ring, data, sizeof(data))); /* coherent: no sync */
  dma_free_coherent(dev, 8192, ring, ring_dma);

  struct dma_pool *pool = dma_pool_create("descriptors", dev, 32, 16, 4096);
  CHECK(pool != NULL);
  void *blocks[10];
  dma_addr_t handles[10];
  for (int i = 0; i < 10; ++i) {
    blocks[i] = i % 2 ? dma_pool_zalloc(pool, GFP_KERNEL, &handles[i])
                      : dma_pool_alloc(pool, GFP_KERNEL, &handles[i]);
    CHECK(blocks[i] != NULL && handles[i] % 16 == 0);
    CHECK(handles[i] / 4096 == (handles[i] + 31) / 4096);
    fill(data, 32, (unsigned)i);
    CHECK(dmakit_device_write(dev, handles[i], data, 32) == 0);
    CHECK(same(blocks[i], data, 32));
  }
  for (int i = 0; i < 10; ++i) dma_pool_free(pool, blocks[i], handles[i]);
  dma_pool_destroy(pool);
  CHECK(dma_pool_create("bad", dev, 0, 16, 0) == NULL);

  dmakit_device_destroy(dev);
  dmakit_machine_destroy(m);
  return 0;
}

int c_declared_memory_serves_coherent_allocations(const struct dmakit_machine_config *cfg) {
  struct dmakit_machine *m = dmakit_machine_create(cfg);
  CHECK(m != NULL);
  struct device *dev = dmakit_device_create(m, "onboard", 0);
  CHECK(dev != NULL);
  const dma_addr_t bus = 0xE0000000ULL; /* in the PCI hole */
  CHECK(dma_declare_coherent_memory(dev, bus, 0x10000, 1 << 20,
                                    DMA_MEMORY_MAP | DMA_MEMORY_EXCLUSIVE) == DMA_MEMORY_MAP);
  dma_addr_t handle;
  unsigned char *ring = dma_alloc_coherent(dev, 4096, &handle, GFP_KERNEL);
  CHECK(ring != NULL);
  CHECK(handle >= 0x10000 && handle + 4096 <= 0x10000 + (1 << 20));
  void *fixed = dma_mark_declared_memory_occupied(dev, 0x10000 + (512 << 10), 8192);
  CHECK(!IS_ERR(fixed));
  CHECK(PTR_ERR(dma_mark_declared_memory_occupied(dev, 0x10000 + (512 << 10), 4096)) == -EBUSY);
  ring[0] = 42;
  CHECK(ring[0] == 42);
  dma_free_coherent(dev, 4096, ring, handle);
  dma_release_declared_memory(dev);
  /* Another device may not declare what overlaps a live declaration. */
  struct device *other = dmakit_device_create(m, "other", 0);
  CHECK(other != NULL);
  CHECK(dma_declare_coherent_memory(dev, bus, 0, 1 << 20, DMA_MEMORY_MAP) == DMA_MEMORY_MAP);
  CHECK(dma_declare_coherent_memory(other, bus, 0, 1 << 20, DMA_MEMORY_MAP) == 0);
  dmakit_device_destroy(other);
  dmakit_device_destroy(dev);
  dmakit_machine_destroy(m);
  return 0;
}

int c_mask_allocations_stay_under_their_masks(const struct dmakit_machine_config *cfg) {
  struct dmakit_machine *m = dmakit_machine_create(cfg);
  CHECK(m != NULL);
  struct page *page = alloc_pages_mask(GFP_KERNEL, 3 * PAGE_SIZE, DMA_BIT_MASK(24));
  CHECK(page != NULL);
  CHECK(page_to_phys(page) + 3 * PAGE_SIZE <= (1u << 24));
  __free_pages_mask(page, 3 * PAGE_SIZE);
  void *mem = get_pages_mask(GFP_KERNEL, 10000, DMA_BIT_MASK(30));
  CHECK(mem != NULL && virt_to_phys(mem) + 10000 <= (1u << 30));
  free_pages_mask(mem, 10000);

  void *small = kmalloc_mask(100, GFP_KERNEL, DMA_BIT_MASK(30));
  CHECK(small != NULL && virt_to_phys(small) + 100 <= (1u << 30));
  CHECK(ksize(small) >= 100);
  kfree(small);
  struct device *dev = dmakit_device_create(m, "legacy", 0);
  CHECK(dev != NULL);
  CHECK(dma_set_mask(dev, DMA_BIT_MASK(31)) == 0);
  void *near = kmalloc_dev(200, GFP_KERNEL | __GFP_ZERO, dev);
  CHECK(near != NULL && virt_to_phys(near) + 200 <= (1u << 31));
  kfree(near);
  void *many = kcalloc(10, 30, GFP_KERNEL);
  CHECK(many != NULL);
  kfree(many);
  CHECK(kcalloc((size_t)-1, 16, GFP_KERNEL) == NULL);

  mempool_t *pool = mempool_create_pool_pmask(4, 512, DMA_BIT_MASK(24));
  CHECK(pool != NULL);
  void *elements[6];
  for (int i = 0; i < 6; ++i) {
    elements[i] = mempool_alloc(pool, GFP_ATOMIC);
    CHECK(elements[i] != NULL && virt_to_phys(elements[i]) + 512 <= (1u << 24));
  }
  for (int i = 0; i < 6; ++i) mempool_free(elements[i], pool);
  mempool_destroy(pool);
  CHECK(mempool_create_pool_pmask(0, 512, DMA_BIT_MASK(24)) == NULL);
  dmakit_device_destroy(dev);
  dmakit_machine_destroy(m);
  return 0;
}

int c_vmalloc_memory_is_not_one_dma_buffer(const struct dmakit_machine_config *cfg) {
  struct dmakit_machine *m = dmakit_machine_create(cfg);
  CHECK(m != NULL);
  struct device *dev = dmakit_device_create(m, "dev", 0);
  CHECK(dev != NULL);
  char *v = vzalloc(3 * PAGE_SIZE);
  CHECK(v != NULL && is_vmalloc_addr(v) && v[100] == 0);
  CHECK(vmalloc_to_page(v + PAGE_SIZE) != NULL);
  CHECK(virt_to_phys(v) == 0); /* not the direct map */
  CHECK(dma_mapping_error(dev, dma_map_single(dev, v, 100, DMA_TO_DEVICE)));
  CHECK(strstr(dmakit_last_error(), "dma_map_single") != NULL);
  /* Each page of it is mappable on its own, as the kernel's drivers do it. */
  dma_addr_t addr = dma_map_page(dev, vmalloc_to_page(v), 0, PAGE_SIZE, DMA_TO_DEVICE);
  CHECK(!dma_mapping_error(dev, addr));
  dma_unmap_page(dev, addr, PAGE_SIZE, DMA_TO_DEVICE);
  vfree(v);
  dmakit_device_destroy(dev);
  dmakit_machine_destroy(m);
  return 0;
}

int c_bad_calls_report_and_change_nothing(const struct dmakit_machine_config *cfg) {
  struct dmakit_machine *m = dmakit_machine_create(cfg);
  CHECK(m != NULL);
  struct device *dev = dmakit_device_create(m, "dev", 0);
  CHECK(dev != NULL);
  CHECK(dmakit_device_create(m, "dev", 0) == NULL); /* duplicate name */
  CHECK(dmakit_device_create(m, "far", 5) == NULL); /* no such node */
  CHECK(dma_set_mask(NULL, DMA_BIT_MASK(32)) == -EIO);
  CHECK(dma_mapping_error(dev, DMA_MAPPING_ERROR) == -ENOMEM);
  char *buf = kmalloc(64, GFP_KERNEL);
  CHECK(buf != NULL);
  CHECK(dma_mapping_error(dev, dma_map_single(dev, buf, 0, DMA_TO_DEVICE)));
  CHECK(dma_mapping_error(dev, dma_map_single(dev, buf, 64, (enum dma_data_direction)9)));
  dma_addr_t addr = dma_map_single(dev, buf, 64, DMA_TO_DEVICE);
  CHECK(!dma_mapping_error(dev, addr));
  /* A size the platform can tell is wrong (sizes within a page are the checker's business). */
  dma_unmap_single(dev, addr, 2 * PAGE_SIZE, DMA_TO_DEVICE);
  CHECK(strstr(dmakit_last_error(), "dma_unmap_single") != NULL);
  CHECK(dma_to_virt(dev, addr) == buf);
  dma_unmap_single(dev, addr, 64, DMA_TO_DEVICE);
  CHECK(dmakit_device_read(dev, 1ULL << 40, buf, 8) == -EFAULT); /* beyond its 32-bit mask */
  kfree(buf);
  struct scatterlist sg;
  sg_init_table(&sg, 1);
  CHECK(dma_map_sg(dev, &sg, 0, DMA_TO_DEVICE) == 0);
  dmakit_device_destroy(dev);
  dmakit_machine_destroy(m);
  return 0;
}

/* Sizes near SIZE_MAX once wrapped when rounded up to a page: kmalloc handed out physical page 0
 * and dma_alloc_coherent a buffer at bus address 0x1000, memory other callers own. */
int c_huge_sizes_are_refused_not_wrapped(const struct dmakit_machine_config *cfg) {
  struct dmakit_machine *m = dmakit_machine_create(cfg);
  CHECK(m != NULL);
  struct device *dev = dmakit_device_create(m, "dev", 0);
  CHECK(dev != NULL);
  const size_t huge[] = {SIZE_MAX, SIZE_MAX - (PAGE_SIZE - 1), SIZE_MAX - 15};
  for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); ++i) {
    CHECK(kmalloc(huge[i], GFP_KERNEL) == NULL);
    CHECK(strstr(dmakit_last_error(), "kmalloc: size") != NULL);
    CHECK(kmalloc_mask(huge[i], GFP_KERNEL, DMA_BIT_MASK(32)) == NULL);
    CHECK(kcalloc(1, huge[i], GFP_KERNEL) == NULL);
    CHECK(vmalloc(huge[i]) == NULL);
    dma_addr_t handle = 0;
    CHECK(dma_alloc_coherent(dev, huge[i], &handle, GFP_KERNEL) == NULL);
    CHECK(handle == DMA_MAPPING_ERROR);
    CHECK(strstr(dmakit_last_error(), "dma_alloc_coherent") != NULL);
    CHECK(dma_pool_create("huge", dev, huge[i], 8, 0) == NULL);
    CHECK(strstr(dmakit_last_error(), "block size") != NULL);
  }
  /* Huge sizes given for real buffers: refused, and the buffers stay as they were. */
  char *buf = kmalloc(64, GFP_KERNEL);
  CHECK(buf != NULL);
  CHECK(dma_mapping_error(dev, dma_map_single(dev, buf, SIZE_MAX, DMA_TO_DEVICE)));
  const dma_addr_t addr = dma_map_single(dev, buf, 64, DMA_TO_DEVICE);
  CHECK(!dma_mapping_error(dev, addr));
  dma_sync_single_for_cpu(dev, addr, SIZE_MAX, DMA_TO_DEVICE);
  CHECK(strstr(dmakit_last_error(), "dma_sync_single_for_cpu") != NULL);
  dma_unmap_single(dev, addr, SIZE_MAX, DMA_TO_DEVICE);
  CHECK(strstr(dmakit_last_error(), "dma_unmap_single") != NULL);
  dma_unmap_single(dev, addr, 64, DMA_TO_DEVICE);
  kfree(buf);
  dma_addr_t handle;
  void *cpu = dma_alloc_coherent(dev, PAGE_SIZE, &handle, GFP_KERNEL);
  CHECK(cpu != NULL);
  dma_free_coherent(dev, SIZE_MAX, cpu, handle);
  CHECK(strstr(dmakit_last_error(), "dma_free_coherent") != NULL);
  dma_free_coherent(dev, PAGE_SIZE, cpu, handle);
  dmakit_device_destroy(dev);
  dmakit_machine_destroy(m);
  return 0;
}

/* An offset of SIZE_MAX - 15 once wrapped to the 16 bytes before the page, which the device then
 * read: the neighbouring page's data. */
int c_map_page_refuses_offsets_that_wrap(const struct dmakit_machine_config *cfg) {
  struct dmakit_machine *m = dmakit_machine_create(cfg);
  CHECK(m != NULL);
  struct device *dev = dmakit_device_create(m, "dev", 0);
  CHECK(dev != NULL);
  struct page *pair = alloc_pages(GFP_KERNEL, 1);
  CHECK(pair != NULL);
  struct page *second = pfn_to_page(page_to_pfn(pair) + 1);
  const size_t offsets[] = {SIZE_MAX - 15, SIZE_MAX, (size_t)1 << 60};
  for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); ++i) {
    CHECK(dma_mapping_error(dev, dma_map_page(dev, second, offsets[i], 16, DMA_TO_DEVICE)));
    CHECK(strstr(dmakit_last_error(), "dma_map_page") != NULL);
    CHECK(strstr(dmakit_last_error(), "offset") != NULL);
  }
  CHECK(dma_mapping_error(dev, dma_map_page(dev, second, 0, SIZE_MAX, DMA_TO_DEVICE)));
  /* An offset past the page inside the same allocation is fine, as in the kernel. */
  const dma_addr_t addr = dma_map_page(dev, pair, PAGE_SIZE + 8, 16, DMA_TO_DEVICE);
  CHECK(!dma_mapping_error(dev, addr));
  CHECK(device_sees(dev, addr, (const char *)page_address(second) + 8, 16));
  dma_unmap_page(dev, addr, 16, DMA_TO_DEVICE);
  __free_pages(pair, 1);
  dmakit_device_destroy(dev);
  dmakit_machine_destroy(m);
  return 0;
}

/* A list that chains back into itself mapped with nents 1000 once gave 1000 mappings of which 999
 * could never be unmapped. */
int c_looping_or_short_scatterlists_are_refused(const struct dmakit_machine_config *cfg) {
  struct dmakit_machine *m = dmakit_machine_create(cfg);
  CHECK(m != NULL);
  struct device *dev = dmakit_device_create(m, "dev", 0);
  CHECK(dev != NULL);
  char *buf = kmalloc(64, GFP_KERNEL);
  CHECK(buf != NULL);
  struct scatterlist loop[2];
  sg_init_table(loop, 2);
  sg_set_buf(&loop[0], buf, 64);
  sg_chain(loop, 2, loop); /* entry 1 links back to entry 0 */
  CHECK(dma_map_sg(dev, loop, 1000, DMA_TO_DEVICE) == 0);
  CHECK(strstr(dmakit_last_error(), "loops") != NULL);
  CHECK(loop[0].dma_length == 0);
  CHECK(sg_nents(loop) == -EINVAL);
  dma_unmap_sg(dev, loop, 1000, DMA_TO_DEVICE);
  CHECK(strstr(dmakit_last_error(), "dma_unmap_sg") != NULL);
  /* The one entry before the link is a list of its own. */
  CHECK(dma_map_sg(dev, loop, 1, DMA_TO_DEVICE) == 1);
  dma_unmap_sg(dev, loop, 1, DMA_TO_DEVICE);

  struct scatterlist one;
  sg_init_one(&one, buf, 64);
  CHECK(dma_map_sg(dev, &one, 3, DMA_TO_DEVICE) == 0);
  CHECK(strstr(dmakit_last_error(), "past the list's end") != NULL);
  CHECK(one.dma_length == 0);
  kfree(buf);
  dmakit_device_destroy(dev);
  dmakit_machine_destroy(m);
  return 0;
}

struct callback_record {
  atomic_int calls;
  enum dmaengine_tx_result result;
};

static void record_result(void *param, const struct dmaengine_result *result) {
  struct callback_record *r = param;
  r->result = result->result;
  atomic_fetch_add(&r->calls, 1);
}

int c_dmaengine_copies_and_reports(const struct dmakit_machine_config *cfg) {
  struct dmakit_machine *m = dmakit_machine_create(cfg);
  CHECK(m != NULL);
  dma_cap_mask_t mask;
  dma_cap_zero(mask);
  dma_cap_set(DMA_MEMCPY, mask);
  struct dma_chan *chan = dma_request_chan_by_mask(&mask);
  CHECK(!IS_ERR(chan));
  CHECK(dma_request_channel(mask, NULL, NULL) != NULL);
  struct device *engine = dmaengine_get_dma_device(chan);
  CHECK(engine != NULL);

  enum { kLen = 100000 };
  unsigned char *src = kmalloc(kLen, GFP_KERNEL), *dst = kzalloc(kLen, GFP_KERNEL);
  CHECK(src != NULL && dst != NULL);
  fill(src, kLen, 11);
  const dma_addr_t s = dma_map_single(engine, src, kLen, DMA_TO_DEVICE);
  const dma_addr_t d = dma_map_single(engine, dst, kLen, DMA_FROM_DEVICE);
  CHECK(!dma_mapping_error(engine, s) && !dma_mapping_error(engine, d));
  struct dma_async_tx_descriptor *tx = dmaengine_prep_dma_memcpy(chan, d, s, kLen, DMA_PREP_INTERRUPT);
  CHECK(tx != NULL);
  struct callback_record rec = {0, DMA_TRANS_ABORTED};
  tx->callback_result = record_result;
  tx->callback_param = &rec;
  const dma_cookie_t cookie = dmaengine_submit(tx);
  CHECK(cookie > 0);
  CHECK(dma_async_is_tx_complete(chan, cookie, NULL, NULL) == DMA_IN_PROGRESS); /* not issued */
  dma_async_issue_pending(chan);
  CHECK(dma_sync_wait(chan, cookie) == DMA_COMPLETE);
  CHECK(atomic_load(&rec.calls) == 1 && rec.result == DMA_TRANS_NOERROR);
  dma_unmap_single(engine, d, kLen, DMA_FROM_DEVICE);
  dma_unmap_single(engine, s, kLen, DMA_TO_DEVICE);
  CHECK(same(dst, src, kLen));

  /* Refused input: nothing prepared. */
  CHECK(dmaengine_prep_dma_memcpy(chan, d, s, 0, 0) == NULL);
  /* Behind an IOMMU, a destination nothing maps faults: the callback says so, nothing is written. */
  if (cfg->iommu == DMAKIT_IOMMU_STRICT || cfg->iommu == DMAKIT_IOMMU_LAZY) {
    const dma_addr_t s2 = dma_map_single(engine, src, 4096, DMA_TO_DEVICE);
    CHECK(!dma_mapping_error(engine, s2));
    tx = dmaengine_prep_dma_memcpy(chan, 0x7f000000, s2, 4096, 0);
    CHECK(tx != NULL);
    struct callback_record bad = {0, DMA_TRANS_NOERROR};
    tx->callback_result = record_result;
    tx->callback_param = &bad;
    const dma_cookie_t c2 = dmaengine_submit(tx);
    CHECK(dma_sync_wait(chan, c2) == DMA_ERROR);
    CHECK(atomic_load(&bad.calls) == 1 && bad.result == DMA_TRANS_READ_FAILED);
    dma_unmap_single(engine, s2, 4096, DMA_TO_DEVICE);
  }
  CHECK(dmaengine_terminate_sync(chan) == 0);

  /* Seed 002's one call: the best method, then exactly one callback. */
  memset(dst, 0, kLen);
  struct callback_record best = {0, DMA_TRANS_ABORTED};
  CHECK(dma_async_memcpy(dst, src, kLen, record_result, &best) == 0);
  for (long spins = 0; atomic_load(&best.calls) == 0 && spins < 2000000000L; ++spins) {
  }
  CHECK(atomic_load(&best.calls) == 1 && best.result == DMA_TRANS_NOERROR);
  CHECK(same(dst, src, kLen));

  dma_release_channel(chan);
  kfree(src);
  kfree(dst);
  dmakit_machine_destroy(m);
  return 0;
}

int c_misuse_checker_reports_a_buggy_driver(const struct dmakit_machine_config *base) {
  struct dmakit_machine_config cfg = *base;
  cfg.dma_debug = 1;
  struct dmakit_machine *m = dmakit_machine_create(&cfg);
  CHECK(m != NULL);
  struct device *dev = dmakit_device_create(m, "buggy", 0);
  CHECK(dev != NULL);
  char *buf = kmalloc(512, GFP_KERNEL);
  CHECK(buf != NULL);
  /* A correct map and unmap: nothing to report. */
  dma_addr_t addr = dma_map_single(dev, buf, 512, DMA_TO_DEVICE);
  CHECK(!dma_mapping_error(dev, addr));
  dma_unmap_single(dev, addr, 512, DMA_TO_DEVICE);
  CHECK(dmakit_debug_report_count(m) == 0);
  CHECK(dmakit_debug_last_report(m) == NULL);
  /* The bug: unmapping twice. */
  dma_unmap_single(dev, addr, 512, DMA_TO_DEVICE);
  CHECK(dmakit_debug_report_count(m) == 1);
  CHECK(strcmp(dmakit_debug_last_report(m), "unmap-not-mapped") == 0);
  kfree(buf);
  dmakit_device_destroy(dev);
  dmakit_machine_destroy(m);
  /* Off by default. */
  struct dmakit_machine *quiet = dmakit_machine_create(base);
  CHECK(quiet != NULL && dmakit_debug_report_count(quiet) == 0);
  dmakit_machine_destroy(quiet);
  return 0;
}

static void count_call(void *param) { atomic_fetch_add((atomic_int *)param, 1); }

int c_remaining_names_keep_the_kernels_meaning(const struct dmakit_machine_config *base) {
  struct dmakit_machine_config cfg = *base;
  cfg.mask_pool_bytes = 32 << 20;
  struct dmakit_machine *m = dmakit_machine_create(&cfg);
  CHECK(m != NULL);
  CHECK(strstr(dmakit_machine_stats_json(m), "\"pool_pages\":24576") != NULL); /* 32 + 64 MiB */
  struct device *dev = dmakit_device_create(m, "isa", 0);
  CHECK(dev != NULL);

  /* A 24-bit coherent mask: coherent memory lands under 16 MiB, streaming stays 32-bit. */
  CHECK(dma_set_coherent_mask(dev, DMA_BIT_MASK(24)) == 0);
  CHECK(dma_get_mask(dev) == DMA_BIT_MASK(32));
  dma_addr_t handle;
  void *ring = dma_alloc_coherent(dev, 4096, &handle, GFP_KERNEL);
  CHECK(ring != NULL && handle + 4096 <= (1u << 24));
  dma_free_coherent(dev, 4096, ring, handle);

  /* GFP_DMA memory is ZONE_DMA's: under 16 MiB. */
  struct page *low = alloc_pages(GFP_DMA, 0);
  CHECK(low != NULL && page_to_phys(low) + PAGE_SIZE <= (1u << 24));
  __free_pages(low, 0);

  /* Declared memory reached only through I/O accessors, shared with children. */
  CHECK(dma_declare_coherent_memory(dev, 0xE8000000ULL, 0, 1 << 20,
                                    DMA_MEMORY_IO | DMA_MEMORY_INCLUDES_CHILDREN) ==
        DMA_MEMORY_IO);
  dma_release_declared_memory(dev);

  char *v = vmalloc(2 * PAGE_SIZE);
  CHECK(v != NULL && is_vmalloc_addr(v));
  v[PAGE_SIZE + 1] = 7;
  CHECK(v[PAGE_SIZE + 1] == 7);
  vfree(v);

  /* A plain callback (no result) runs once. */
  dma_cap_mask_t mask;
  dma_cap_zero(mask);
  dma_cap_set(DMA_MEMCPY, mask);
  struct dma_chan *chan = dma_request_channel(mask, NULL, NULL);
  CHECK(chan != NULL);
  struct device *engine = dmaengine_get_dma_device(chan);
  char *a = kmalloc(256, GFP_KERNEL), *b = kzalloc(256, GFP_KERNEL);
  CHECK(a != NULL && b != NULL);
  fill(a, 256, 4);
  const dma_addr_t s = dma_map_single(engine, a, 256, DMA_TO_DEVICE);
  const dma_addr_t d = dma_map_single(engine, b, 256, DMA_FROM_DEVICE);
  CHECK(!dma_mapping_error(engine, s) && !dma_mapping_error(engine, d));
  struct dma_async_tx_descriptor *tx = dmaengine_prep_dma_memcpy(chan, d, s, 256, 0);
  CHECK(tx != NULL);
  atomic_int calls = 0;
  tx->callback = count_call;
  tx->callback_param = &calls;
  const dma_cookie_t cookie = dmaengine_submit(tx);
  CHECK(dma_sync_wait(chan, cookie) == DMA_COMPLETE && atomic_load(&calls) == 1);
  dma_unmap_single(engine, d, 256, DMA_FROM_DEVICE);
  dma_unmap_single(engine, s, 256, DMA_TO_DEVICE);
  CHECK(same(a, b, 256));
  kfree(a);
  kfree(b);
  dmakit_device_destroy(dev);
  dmakit_machine_destroy(m);
  return 0;
}
