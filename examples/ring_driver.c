/* SPDX-License-Identifier: Apache-2.0 */
/* A kernel-style driver for a simple transmit-ring device, in C11 against dmakit's Linux API.
 *
 * The driver half is what an OS driver would be: probe sets the masks, allocates the descriptor
 * ring with dma_alloc_coherent and per-packet descriptors' metadata from a dma_pool, maps every
 * packet with dma_map_single and checks dma_mapping_error, and unmaps once the device reports the
 * descriptor done. The device half (ringdev_process) is the hardware: it reads descriptors and
 * packets only by bus address through the simulated bus, and writes a checksum of each packet
 * back, which the driver verifies. The misuse checker is on: any DMA-API misuse fails the run.
 *
 *   ring_driver [none|bounce|strict|lazy|passthrough]    (default: every platform in turn)
 */
#include <stdio.h>
#include <string.h>

#include "dmakit/linux/dma-mapping.h"
#include "dmakit/linux/dmapool.h"
#include "dmakit/linux/machine.h"
#include "dmakit/linux/slab.h"

#define RING_ENTRIES 64
#define PACKETS 1000

/* One descriptor as the device sees it in coherent memory. */
struct ring_desc {
  u64 buf;      /* bus address of the packet */
  u32 len;      /* bytes */
  u32 status;   /* 0 owned by the device, 1 done */
  u32 csum;     /* written by the device: the sum of the packet's bytes */
  u32 pad;
};

struct ringdev_priv {
  struct device *dev;
  struct ring_desc *ring; /* coherent */
  dma_addr_t ring_dma;
  struct dma_pool *meta_pool;
  void *meta[RING_ENTRIES]; /* per-descriptor driver data from the pool */
  dma_addr_t meta_dma[RING_ENTRIES];
  void *packet[RING_ENTRIES];
  dma_addr_t packet_dma[RING_ENTRIES];
};

static u32 checksum(const unsigned char *p, size_t len) {
  u32 sum = 0;
  for (size_t i = 0; i < len; ++i) sum += p[i];
  return sum;
}

/* ---- the hardware ---- */

/* Processes every descriptor the driver handed over: reads it and its packet by bus address,
 * returns the checksum and marks it done. -1 on a bus fault. */
static int ringdev_process(struct device *dev, dma_addr_t ring_dma) {
  for (u32 i = 0; i < RING_ENTRIES; ++i) {
    struct ring_desc d;
    const dma_addr_t at = ring_dma + i * sizeof(d);
    if (dmakit_device_read(dev, at, &d, sizeof(d)) != 0) return -1;
    if (d.status != 0 || d.len == 0) continue;
    unsigned char data[2048];
    if (dmakit_device_read(dev, d.buf, data, d.len) != 0) return -1;
    d.csum = checksum(data, d.len);
    d.status = 1;
    if (dmakit_device_write(dev, at, &d, sizeof(d)) != 0) return -1;
  }
  return 0;
}

/* ---- the driver ---- */

static int ringdev_probe(struct device *dev, struct ringdev_priv *priv) {
  memset(priv, 0, sizeof(*priv));
  priv->dev = dev;
  if (dma_set_mask_and_coherent(dev, DMA_BIT_MASK(32))) return -EIO;
  priv->ring =
      dma_alloc_coherent(dev, RING_ENTRIES * sizeof(struct ring_desc), &priv->ring_dma, GFP_KERNEL);
  if (!priv->ring) return -ENOMEM;
  priv->meta_pool = dma_pool_create("ringdev-meta", dev, 64, 64, 0);
  if (!priv->meta_pool) return -ENOMEM;
  for (int i = 0; i < RING_ENTRIES; ++i) {
    priv->meta[i] = dma_pool_zalloc(priv->meta_pool, GFP_KERNEL, &priv->meta_dma[i]);
    if (!priv->meta[i]) return -ENOMEM;
  }
  return 0;
}

/* Queues one packet on descriptor `slot`; the packet is the driver's until the device is done. */
static int ringdev_xmit(struct ringdev_priv *priv, int slot, void *packet, u32 len) {
  const dma_addr_t addr = dma_map_single(priv->dev, packet, len, DMA_TO_DEVICE);
  if (dma_mapping_error(priv->dev, addr)) return -ENOMEM;
  priv->packet[slot] = packet;
  priv->packet_dma[slot] = addr;
  priv->ring[slot] = (struct ring_desc){.buf = addr, .len = len, .status = 0, .csum = 0};
  return 0;
}

/* Reaps a done descriptor: unmaps its packet and checks the device's checksum. */
static int ringdev_complete(struct ringdev_priv *priv, int slot) {
  struct ring_desc *d = &priv->ring[slot];
  if (d->status != 1) return -EIO;
  dma_unmap_single(priv->dev, priv->packet_dma[slot], d->len, DMA_TO_DEVICE);
  const int ok = d->csum == checksum(priv->packet[slot], d->len);
  kfree(priv->packet[slot]);
  priv->packet[slot] = NULL;
  d->len = 0;
  return ok ? 0 : -EIO;
}

static void ringdev_remove(struct ringdev_priv *priv) {
  for (int i = 0; i < RING_ENTRIES; ++i) {
    if (!priv->packet[i]) continue; /* queued but never completed: take it back */
    dma_unmap_single(priv->dev, priv->packet_dma[i], priv->ring[i].len, DMA_TO_DEVICE);
    kfree(priv->packet[i]);
  }
  for (int i = 0; i < RING_ENTRIES; ++i)
    if (priv->meta[i]) dma_pool_free(priv->meta_pool, priv->meta[i], priv->meta_dma[i]);
  dma_pool_destroy(priv->meta_pool);
  if (priv->ring)
    dma_free_coherent(priv->dev, RING_ENTRIES * sizeof(struct ring_desc), priv->ring,
                      priv->ring_dma);
}

/* ---- one run on one platform ---- */

static int run(const char *platform, int iommu, u64 swiotlb) {
  struct dmakit_machine_config cfg;
  dmakit_machine_config_default(&cfg);
  cfg.iommu = iommu;
  cfg.swiotlb_bytes = swiotlb;
  cfg.dma_debug = 1; /* the misuse checker watches the driver */
  struct dmakit_machine *m = dmakit_machine_create(&cfg);
  if (!m) {
    fprintf(stderr, "%s: %s\n", platform, dmakit_last_error());
    return 1;
  }
  struct device *dev = dmakit_device_create(m, "ringdev0", 0);
  struct ringdev_priv priv;
  int err = dev ? ringdev_probe(dev, &priv) : -ENODEV;
  int sent = 0;
  while (!err && sent < PACKETS) {
    int queued = 0;
    for (; queued < RING_ENTRIES && sent + queued < PACKETS; ++queued) {
      const u32 len = 60 + (u32)((sent + queued) * 37 % 1440);
      unsigned char *packet = kmalloc(len, GFP_KERNEL);
      if (!packet) {
        err = -ENOMEM;
        break;
      }
      for (u32 b = 0; b < len; ++b) packet[b] = (unsigned char)(sent + queued + b);
      err = ringdev_xmit(&priv, queued, packet, len);
      if (err) {
        kfree(packet);
        break;
      }
    }
    if (!err && ringdev_process(dev, priv.ring_dma) != 0) err = -EFAULT;
    for (int i = 0; i < queued && !err; ++i) err = ringdev_complete(&priv, i);
    sent += queued;
  }
  if (dev) ringdev_remove(&priv);
  const size_t misuse = dmakit_debug_report_count(m);
  if (misuse != 0) {
    fprintf(stderr, "%s: %zu misuse report(s), the last %s\n", platform, misuse,
            dmakit_debug_last_report(m));
    err = -EINVAL;
  }
  printf("%-12s %s: %d packets, %s\n", platform, err ? "FAILED" : "ok", sent,
         err ? dmakit_last_error() : dmakit_machine_stats_json(m));
  dmakit_device_destroy(dev);
  dmakit_machine_destroy(m);
  return err ? 1 : 0;
}

int main(int argc, char **argv) {
  static const struct {
    const char *name;
    int iommu;
    u64 swiotlb;
  } platforms[] = {
      {"none", DMAKIT_IOMMU_NONE, 0},  /* RAM above 4 GiB unreachable: the driver fails cleanly */
      {"bounce", DMAKIT_IOMMU_NONE, 64 << 20},
      {"strict", DMAKIT_IOMMU_STRICT, 64 << 20},
      {"lazy", DMAKIT_IOMMU_LAZY, 64 << 20},
      {"passthrough", DMAKIT_IOMMU_PASSTHROUGH, 64 << 20},
  };
  int failures = 0;
  for (size_t i = 0; i < sizeof(platforms) / sizeof(platforms[0]); ++i) {
    if (argc > 1 && strcmp(argv[1], platforms[i].name) != 0) continue;
    const int failed = run(platforms[i].name, platforms[i].iommu, platforms[i].swiotlb);
    /* Without bounce buffers or an IOMMU, a 32-bit device cannot send from high memory. */
    const int must_fail = platforms[i].iommu == DMAKIT_IOMMU_NONE && platforms[i].swiotlb == 0;
    if (must_fail) printf("%-12s (as it must: no bounce buffers, no IOMMU)\n", "");
    failures += must_fail ? !failed : failed;
  }
  return failures == 0 ? 0 : 1;
}
