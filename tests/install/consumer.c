/* SPDX-License-Identifier: Apache-2.0 */
/* Built outside the tree against the installed headers and libraries: maps a buffer above 4 GiB
 * for a 32-bit device behind a strict IOMMU and checks the device reads it. */
#include <stdio.h>
#include <string.h>

#include "dmakit/linux/dma-mapping.h"
#include "dmakit/linux/machine.h"
#include "dmakit/linux/slab.h"

int main(void) {
  struct dmakit_machine_config cfg;
  dmakit_machine_config_default(&cfg);
  cfg.iommu = DMAKIT_IOMMU_STRICT;
  struct dmakit_machine *m = dmakit_machine_create(&cfg);
  struct device *dev = m ? dmakit_device_create(m, "consumer", 0) : NULL;
  char *buf = dev ? kmalloc(256, GFP_KERNEL) : NULL;
  if (!buf) {
    fprintf(stderr, "setup: %s\n", dmakit_last_error());
    return 1;
  }
  strcpy(buf, "bytes through an IOMMU");
  const dma_addr_t addr = dma_map_single(dev, buf, 256, DMA_TO_DEVICE);
  char seen[256];
  const int ok = !dma_mapping_error(dev, addr) && addr < (1ULL << 32) &&
                 dmakit_device_read(dev, addr, seen, sizeof(seen)) == 0 && strcmp(seen, buf) == 0;
  dma_unmap_single(dev, addr, 256, DMA_TO_DEVICE);
  kfree(buf);
  dmakit_device_destroy(dev);
  dmakit_machine_destroy(m);
  puts(ok ? "consumer: ok" : "consumer: FAILED");
  return ok ? 0 : 1;
}
