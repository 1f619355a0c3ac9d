/* SPDX-License-Identifier: Apache-2.0 */
/* Scatter/gather lists (linux/scatterlist.h): arrays of (page, offset, length) entries that
 * dma_map_sg() fills with DMA segments. An entry's page_link holds its page with two flag bits,
 * SG_CHAIN (the entry points to the next array instead) and SG_END (the list's last entry). */
#ifndef DMAKIT_LINUX_SCATTERLIST_H
#define DMAKIT_LINUX_SCATTERLIST_H

#include <string.h>

#include "dmakit/linux/gfp.h"
#include "dmakit/linux/mm.h"
#include "dmakit/linux/types.h"

struct scatterlist {
  unsigned long page_link;
  unsigned int offset;
  unsigned int length;
  dma_addr_t dma_address;  /* set by dma_map_sg() for each DMA segment */
  unsigned int dma_length; /* 0 on the entries after the last segment */
};

/* A list and its counts: `nents` DMA segments after mapping, `orig_nents` entries allocated. */
struct sg_table {
  struct scatterlist* sgl;
  unsigned int nents;
  unsigned int orig_nents;
};

#define SG_CHAIN 0x01UL
#define SG_END 0x02UL
#define SG_PAGE_LINK_MASK (SG_CHAIN | SG_END)

#define sg_dma_address(sg) ((sg)->dma_address)
#define sg_dma_len(sg) ((sg)->dma_length)

static inline bool sg_is_chain(const struct scatterlist* sg) {
  return (sg->page_link & SG_CHAIN) != 0;
}
static inline bool sg_is_last(const struct scatterlist* sg) {
  return (sg->page_link & SG_END) != 0;
}
static inline struct page* sg_page(const struct scatterlist* sg) {
  return DMAKIT_REINTERPRET(struct page*, sg->page_link & ~SG_PAGE_LINK_MASK);
}
static inline struct scatterlist* sg_chain_ptr(const struct scatterlist* sg) {
  return DMAKIT_REINTERPRET(struct scatterlist*, sg->page_link & ~SG_PAGE_LINK_MASK);
}
static inline void sg_assign_page(struct scatterlist* sg, struct page* page) {
  sg->page_link = (sg->page_link & SG_END) | DMAKIT_REINTERPRET(unsigned long, page);
}
static inline void sg_set_page(struct scatterlist* sg, struct page* page, unsigned int len,
                               unsigned int offset) {
  sg_assign_page(sg, page);
  sg->offset = offset;
  sg->length = len;
}
/* Points the entry at a direct-map buffer, which must not cross its page unless the pages are
 * physically contiguous (as kmalloc memory is). */
static inline void sg_set_buf(struct scatterlist* sg, const void* buf, unsigned int buflen) {
  sg_set_page(sg, virt_to_page(buf), buflen,
              DMAKIT_STATIC(unsigned int, DMAKIT_REINTERPRET(uintptr_t, buf) & (PAGE_SIZE - 1)));
}
static inline void sg_mark_end(struct scatterlist* sg) {
  sg->page_link = (sg->page_link & ~SG_CHAIN) | SG_END;
}
static inline void sg_unmark_end(struct scatterlist* sg) { sg->page_link &= ~SG_END; }
static inline void sg_init_table(struct scatterlist* sgl, unsigned int nents) {
  memset(sgl, 0, sizeof(*sgl) * nents);
  sg_mark_end(&sgl[nents - 1]);
}
static inline void sg_init_one(struct scatterlist* sg, const void* buf, unsigned int buflen) {
  sg_init_table(sg, 1);
  sg_set_buf(sg, buf, buflen);
}
/* Makes the last entry of `prv` (an array of `prv_nents`) a link to `sgl`. */
static inline void sg_chain(struct scatterlist* prv, unsigned int prv_nents,
                            struct scatterlist* sgl) {
  prv[prv_nents - 1].offset = 0;
  prv[prv_nents - 1].length = 0;
  prv[prv_nents - 1].page_link = DMAKIT_REINTERPRET(unsigned long, sgl) | SG_CHAIN;
}
/* The entry after `sg`, following chain links; NULL after the last. */
static inline struct scatterlist* sg_next(struct scatterlist* sg) {
  if (sg_is_last(sg)) return NULL;
  ++sg;
  return sg_is_chain(sg) ? sg_chain_ptr(sg) : sg;
}

#define for_each_sg(sglist, sg, nr, i) \
  for ((i) = 0, (sg) = (sglist); (i) < (nr); (i)++, (sg) = sg_next(sg))

#ifdef __cplusplus
extern "C" {
#endif

/* Allocates `nents` initialised entries for `table`; 0, or -ENOMEM. */
int sg_alloc_table(struct sg_table* table, unsigned int nents, gfp_t gfp);
void sg_free_table(struct sg_table* table);
/* Entries in the list starting at `sg`, following chain links up to the last; -EINVAL, with the
 * reason in dmakit_last_error(), for a list that chains back into itself. */
int sg_nents(struct scatterlist* sg);

#ifdef __cplusplus
}
#endif

#endif /* DMAKIT_LINUX_SCATTERLIST_H */
