// SPDX-License-Identifier: Apache-2.0
// The table of benchmark suites.
#include "bench_suite.h"

namespace dmakit::bench {

std::span<const Suite> suites() {
  static const std::vector<Suite> kSuites = {
      {"buddy", "page allocator alloc+free pairs (order 0 and 3, 1 and 2 threads) vs malloc/free",
       register_buddy_benchmarks, "", /*uses_machine=*/true, /*uses_threads=*/true},
      {"mask",
       "mask allocator alloc+free pairs (1-16 pages, mixed masks, 0/50/90% full) vs a "
       "power-of-two buddy pool; tight-mask failures, next-fit vs top-down",
       register_mask_benchmarks, ""},
      {"map",
       "single-page map+unmap: no ops (inline direct) vs a trivial ops table vs the full dispatch, "
       "1 and 2 threads (--mode direct); a device behind an IOMMU vs no ops (--mode iommu-strict, "
       "iommu-lazy, passthrough). With any of -t -s -n -b -d -g -x or --kernel-format: Linux's "
       "dma_map_benchmark, in its output shape (modes also bounce, force-bounce)",
       register_map_benchmarks, "direct", /*uses_machine=*/true, /*uses_threads=*/true,
       /*uses_debug=*/true},
      {"bounce",
       "map+unmap through bounce buffers (64 B - 256 KiB, TO_DEVICE and FROM_DEVICE) vs memcpy of "
       "the same bytes, as throughput",
       register_bounce_benchmarks, "", /*uses_machine=*/true},
      {"iova",
       "IOVA alloc+free pairs (1-32 pages) with per-thread caches vs a plain ordered tree, 1 and 2 "
       "threads",
       register_iova_benchmarks, "", /*uses_machine=*/false, /*uses_threads=*/true},
      {"engine",
       "copy_async 4 KiB - 4 MiB through one and two engine channels vs memcpy of the same "
       "buffers, "
       "as throughput; submit-to-callback of 64 B copies, offloaded vs inline",
       register_engine_benchmarks, "", /*uses_machine=*/true},
  };
  return kSuites;
}

}  // namespace dmakit::bench
