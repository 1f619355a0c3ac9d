// SPDX-License-Identifier: Apache-2.0
// The C API against a model of who owns which memory: random sequences of streaming maps (single
// and page, with hostile offsets), syncs, unmaps, coherent allocations, DMA pools and scatterlists,
// with random sizes and directions that include hostile ones (sizes near 2^64, offsets that wrap,
// directions that are none, double frees, lists longer than they are). Every call either succeeds
// with memory the model agrees is the caller's, which the device then sees byte for byte and which
// overlaps nothing else live, or fails with a message in dmakit_last_error(). Run on a machine
// without an IOMMU (a 64-bit device: direct), one whose 32-bit device bounces what lies above 4
// GiB, and one with a strict IOMMU.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "dmakit/linux/dma-mapping.h"
#include "dmakit/linux/dmapool.h"
#include "dmakit/linux/gfp.h"
#include "dmakit/linux/machine.h"
#include "dmakit/linux/mm.h"
#include "dmakit/linux/scatterlist.h"
#include "dmakit/linux/slab.h"

namespace {

constexpr std::size_t kMax = std::numeric_limits<std::size_t>::max();
constexpr std::size_t kPage = PAGE_SIZE;

enum class Kind { Direct, Bounce, IommuStrict };

// --- what the generators draw --------------------------------------------------------------------

rc::Gen<std::size_t> hostile_sizes() {
  return rc::gen::element<std::size_t>(0, kMax, kMax - 15, kMax - (kPage - 1),
                                       (std::size_t{1} << 48) + 1, std::size_t{1} << 40);
}

// Mostly sizes a driver would use, now and then one that is not.
rc::Gen<std::size_t> sizes(std::size_t largest) {
  return rc::gen::weightedOneOf<std::size_t>(
      {{9, rc::gen::inRange<std::size_t>(1, largest + 1)}, {1, hostile_sizes()}});
}

bool is_sane_size(std::size_t size, std::size_t largest) { return size >= 1 && size <= largest; }

rc::Gen<int> directions() {
  return rc::gen::weightedOneOf<int>(
      {{9, rc::gen::element<int>(DMA_BIDIRECTIONAL, DMA_TO_DEVICE, DMA_FROM_DEVICE)},
       {1, rc::gen::element<int>(DMA_NONE, 4, -1, 1000)}});
}

bool is_mapping_direction(int dir) { return dir >= DMA_BIDIRECTIONAL && dir <= DMA_FROM_DEVICE; }
bool device_may_write(int dir) { return dir == DMA_BIDIRECTIONAL || dir == DMA_FROM_DEVICE; }

// --- errors --------------------------------------------------------------------------------------

// dmakit_last_error() is only ever set: a known failure before each call tells whether it failed.
constexpr std::string_view kArmed = "dma_get_mask: a NULL device";
void arm_error() { (void)dma_get_mask(nullptr); }
bool failed_with_message() {
  const std::string_view e = dmakit_last_error();
  return !e.empty() && e != kArmed;
}

// --- the model -----------------------------------------------------------------------------------

struct Range {
  std::uint64_t start;
  std::uint64_t size;
  [[nodiscard]] bool overlaps(const Range& o) const {
    return start < o.start + o.size && o.start < start + size;
  }
};

struct Buffer {
  enum Type { Single, Page, Coherent, PoolBlock } type;
  unsigned char* cpu;
  std::size_t size;
  dma_addr_t dma;
  int dir;
  struct page* page;  ///< Page: the allocation, of `order`
  unsigned order;
  dma_pool* pool;                    ///< PoolBlock
  std::vector<unsigned char> bytes;  ///< what both sides must see
};

struct SgList {
  sg_table table;
  int nents;
  int segments;
  int dir;
  std::vector<unsigned char*> bufs;
  std::vector<unsigned char> bytes;  ///< the entries' bytes in order
};

std::vector<unsigned char> pattern(std::size_t size, unsigned seed) {
  std::vector<unsigned char> v(size);
  for (std::size_t i = 0; i < size; ++i)
    v[i] = static_cast<unsigned char>(seed + i * 131 + i / 251);
  return v;
}

class Model {
 public:
  explicit Model(Kind kind) : kind_(kind) {
    dmakit_machine_config c;
    dmakit_machine_config_default(&c);
    c.ram_bytes = 6ULL << 30;  // RAM above 4 GiB: what a 32-bit device cannot reach bounces
    c.mask_pool_bytes = 4ULL << 20;
    c.swiotlb_bytes = 4ULL << 20;
    c.iommu = kind == Kind::IommuStrict ? DMAKIT_IOMMU_STRICT : DMAKIT_IOMMU_NONE;
    machine_ = dmakit_machine_create(&c);
    RC_ASSERT((machine_ != nullptr));
    dev_ = dmakit_device_create(machine_, "dev", 0);
    RC_ASSERT((dev_ != nullptr));
    if (kind == Kind::Direct) RC_ASSERT(dma_set_mask_and_coherent(dev_, DMA_BIT_MASK(64)) == 0);
  }
  // The machine goes first, ending the device and pools; their handles after it (either order is
  // safe, machine.h). What the model still holds of the machine's memory goes with the machine.
  ~Model() {
    dmakit_machine_destroy(machine_);
    for (dma_pool* pool : pools_) dma_pool_destroy(pool);
    for (SgList& sg : sgs_) sg_free_table(&sg.table);
    dmakit_device_destroy(dev_);
  }
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  void step() {
    switch (*rc::gen::inRange(0, 12)) {
      case 0:
        return map_single();
      case 1:
        return map_page();
      case 2:
      case 3:
        return unmap();
      case 4:
        return sync();
      case 5:
        return alloc_coherent();
      case 6:
        return pool_create();
      case 7:
      case 8:
        return pool_alloc();
      case 9:
        return pool_destroy();
      case 10:
        return map_sg();
      default:
        return unmap_sg();
    }
  }

  // Every live buffer still holds its bytes on both sides; then all are given back, and each give
  // back succeeds.
  void finish() {
    for (const Buffer& b : live_) check_both_sides(b);
    while (!live_.empty()) free_buffer(live_.size() - 1, /*again=*/false);
    while (!sgs_.empty()) unmap_sg_at(sgs_.size() - 1, /*short_by=*/0);
    while (!pools_.empty()) destroy_pool_at(pools_.size() - 1);
  }

 private:
  // --- checks ---

  void check_device_sees(dma_addr_t dma, const std::vector<unsigned char>& want) {
    std::vector<unsigned char> got(want.size());
    RC_ASSERT(dmakit_device_read(dev_, dma, got.data(), got.size()) == 0);
    RC_ASSERT(got == want);
  }

  // What a device may not read (DMA_FROM_DEVICE) an IOMMU refuses it: checked on the CPU's side.
  void check_both_sides(const Buffer& b) {
    RC_ASSERT(std::memcmp(b.cpu, b.bytes.data(), b.size) == 0);
    if (b.dir != DMA_FROM_DEVICE) check_device_sees(b.dma, b.bytes);
  }

  // A new buffer overlaps nothing live, on the CPU's side or the bus.
  void claim(const Range& cpu, const Range& bus) {
    for (const Range& r : cpu_) RC_ASSERT(!r.overlaps(cpu));
    for (const Range& r : bus_) RC_ASSERT(!r.overlaps(bus));
    cpu_.push_back(cpu);
    bus_.push_back(bus);
  }
  void release(const Range& cpu, const Range& bus) {
    std::erase_if(cpu_, [&](const Range& r) { return r.start == cpu.start; });
    std::erase_if(bus_, [&](const Range& r) { return r.start == bus.start; });
  }
  static Range cpu_range(const void* p, std::size_t size) {
    return {reinterpret_cast<std::uintptr_t>(p), size};
  }

  // A buffer the model now owns: its bytes put there by the CPU, then seen by the device.
  void adopt(Buffer b) {
    b.bytes = pattern(b.size, seed_++);
    std::memcpy(b.cpu, b.bytes.data(), b.size);
    claim(cpu_range(b.cpu, b.size), {b.dma, b.size});
    live_.push_back(std::move(b));
  }

  // --- streaming maps ---

  void map_single() {
    const std::size_t size = *sizes(2 * kPage);
    const int dir = *directions();
    const bool sane = is_sane_size(size, 2 * kPage) && is_mapping_direction(dir);
    auto* buf = static_cast<unsigned char*>(kmalloc(sane ? size : 64, GFP_KERNEL));
    RC_ASSERT(buf != nullptr);
    const std::vector<unsigned char> bytes = pattern(sane ? size : 64, seed_++);
    std::memcpy(buf, bytes.data(), bytes.size());
    arm_error();
    const dma_addr_t dma = dma_map_single(dev_, buf, size, static_cast<dma_data_direction>(dir));
    if (!sane) {
      RC_ASSERT(dma == DMA_MAPPING_ERROR);
      RC_ASSERT(failed_with_message());
      kfree(buf);
      return;
    }
    RC_ASSERT(dma != DMA_MAPPING_ERROR);
    // The device sees the buffer as mapped, and nothing else live shares its bus addresses.
    claim(cpu_range(buf, size), {dma, size});
    live_.push_back({Buffer::Single, buf, size, dma, dir, nullptr, 0, nullptr, bytes});
    check_both_sides(live_.back());
  }

  void map_page() {
    const auto order = *rc::gen::inRange(0u, 2u);
    const std::size_t bytes_in = kPage << order;
    const std::size_t size = *sizes(bytes_in);
    const bool hostile_offset = *rc::gen::weightedElement<bool>({{9, false}, {1, true}});
    const std::size_t offset =
        hostile_offset ? *rc::gen::element<std::size_t>(kMax - 15, kMax, std::size_t{1} << 63,
                                                        (std::size_t{1} << 48) + 1)
        : is_sane_size(size, bytes_in) ? *rc::gen::inRange<std::size_t>(0, bytes_in - size + 1)
                                       : 0;
    const int dir = *directions();
    struct page* page = alloc_pages(GFP_KERNEL, order);
    RC_ASSERT((page != nullptr));
    const bool sane = !hostile_offset && is_sane_size(size, bytes_in) && is_mapping_direction(dir);
    // The neighbours of the buffer hold other bytes, so a mapping of the wrong place shows.
    auto* cpu = static_cast<unsigned char*>(page_address(page));
    const std::vector<unsigned char> all = pattern(bytes_in, seed_++);
    std::memcpy(cpu, all.data(), bytes_in);
    arm_error();
    const dma_addr_t dma =
        dma_map_page(dev_, page, offset, size, static_cast<dma_data_direction>(dir));
    if (!sane) {
      RC_ASSERT(dma == DMA_MAPPING_ERROR);
      RC_ASSERT(failed_with_message());
      __free_pages(page, order);
      return;
    }
    RC_ASSERT(dma != DMA_MAPPING_ERROR);
    Buffer b{Buffer::Page, cpu + offset, size, dma, dir, page, order, nullptr, {}};
    b.bytes.assign(all.begin() + static_cast<std::ptrdiff_t>(offset),
                   all.begin() + static_cast<std::ptrdiff_t>(offset + size));
    claim(cpu_range(b.cpu, size), {b.dma, size});
    live_.push_back(std::move(b));
    check_both_sides(live_.back());
  }

  // Gives back a live buffer of any kind. For a streaming one the device first writes where it
  // may, and the CPU must see that after the unmap. With `again`, gives it back a second time
  // straight away, which must fail where the platform can tell (it always can for coherent memory
  // and pool blocks, and behind an IOMMU) and must change nothing else.
  void free_buffer(std::size_t i, bool again) {
    Buffer b = std::move(live_[i]);
    live_.erase(live_.begin() + static_cast<std::ptrdiff_t>(i));
    release(cpu_range(b.cpu, b.size), {b.dma, b.size});
    const auto dir = static_cast<dma_data_direction>(b.dir);
    const bool streaming = b.type == Buffer::Single || b.type == Buffer::Page;
    if (!streaming || device_may_write(b.dir)) {
      b.bytes = pattern(b.size, seed_++);
      RC_ASSERT(dmakit_device_write(dev_, b.dma, b.bytes.data(), b.size) == 0);
    }
    if (!streaming) RC_ASSERT(std::memcmp(b.cpu, b.bytes.data(), b.size) == 0);  // coherent
    auto give_back = [&] {
      switch (b.type) {
        case Buffer::Single:
          return dma_unmap_single(dev_, b.dma, b.size, dir);
        case Buffer::Page:
          return dma_unmap_page(dev_, b.dma, b.size, dir);
        case Buffer::Coherent:
          return dma_free_coherent(dev_, b.size, b.cpu, b.dma);
        case Buffer::PoolBlock:
          return dma_pool_free(b.pool, b.cpu, b.dma);
      }
    };
    arm_error();
    give_back();
    RC_ASSERT(std::string(dmakit_last_error()) == std::string(kArmed));  // succeeded
    if (streaming) RC_ASSERT(std::memcmp(b.cpu, b.bytes.data(), b.size) == 0);
    if (again) {
      arm_error();
      give_back();
      if (!streaming || kind_ == Kind::IommuStrict) RC_ASSERT(failed_with_message());
    }
    if (b.type == Buffer::Single) kfree(b.cpu);
    if (b.type == Buffer::Page) __free_pages(b.page, b.order);
  }

  void unmap() {
    if (live_.empty()) return;
    const auto i = *rc::gen::inRange<std::size_t>(0, live_.size());
    // A hostile size first: refused, and the buffer still mapped.
    if (*rc::gen::weightedElement<bool>({{4, false}, {1, true}})) {
      const Buffer& b = live_[i];
      const std::size_t size = *rc::gen::element(kMax, kMax - 15, std::size_t{1} << 48);
      arm_error();
      if (b.type == Buffer::Single)
        dma_unmap_single(dev_, b.dma, size, static_cast<dma_data_direction>(b.dir));
      else if (b.type == Buffer::Page)
        dma_unmap_page(dev_, b.dma, size, static_cast<dma_data_direction>(b.dir));
      else if (b.type == Buffer::Coherent)
        dma_free_coherent(dev_, size, b.cpu, b.dma);
      else
        return;  // a pool block has no size to get wrong
      RC_ASSERT(failed_with_message());
      check_both_sides(b);
    }
    free_buffer(i, *rc::gen::weightedElement<bool>({{4, false}, {1, true}}));
  }

  void sync() {
    std::vector<std::size_t> streaming;
    for (std::size_t i = 0; i < live_.size(); ++i)
      if (live_[i].type == Buffer::Single || live_[i].type == Buffer::Page) streaming.push_back(i);
    if (streaming.empty()) return;
    Buffer& b = live_[*rc::gen::elementOf(streaming)];
    const auto dir = static_cast<dma_data_direction>(b.dir);
    if (*rc::gen::weightedElement<bool>({{4, false}, {1, true}})) {
      const std::size_t size = *rc::gen::element(kMax, kMax - 15, std::size_t{1} << 48);
      arm_error();
      dma_sync_single_for_cpu(dev_, b.dma, size, dir);
      RC_ASSERT(failed_with_message());
      arm_error();
      dma_sync_single_for_device(dev_, b.dma, size, dir);
      RC_ASSERT(failed_with_message());
    }
    if (device_may_write(b.dir)) {  // the device writes; after sync_for_cpu the CPU sees it
      b.bytes = pattern(b.size, seed_++);
      RC_ASSERT(dmakit_device_write(dev_, b.dma, b.bytes.data(), b.size) == 0);
      arm_error();
      dma_sync_single_for_cpu(dev_, b.dma, b.size, dir);
      RC_ASSERT(std::string(dmakit_last_error()) == std::string(kArmed));  // succeeded
      RC_ASSERT(std::memcmp(b.cpu, b.bytes.data(), b.size) == 0);
    }
    if (b.dir != DMA_FROM_DEVICE) {  // the CPU writes; after sync_for_device the device sees it
      b.bytes = pattern(b.size, seed_++);
      std::memcpy(b.cpu, b.bytes.data(), b.size);
      arm_error();
      dma_sync_single_for_device(dev_, b.dma, b.size, dir);
      RC_ASSERT(std::string(dmakit_last_error()) == std::string(kArmed));  // succeeded
      check_device_sees(b.dma, b.bytes);
    }
  }

  // --- coherent memory and pools ---

  void alloc_coherent() {
    const std::size_t size = *sizes(3 * kPage);
    dma_addr_t handle = 0;
    arm_error();
    auto* cpu = static_cast<unsigned char*>(dma_alloc_coherent(dev_, size, &handle, GFP_KERNEL));
    if (!is_sane_size(size, 3 * kPage)) {
      RC_ASSERT(cpu == nullptr);
      RC_ASSERT(handle == DMA_MAPPING_ERROR);
      RC_ASSERT(failed_with_message());
      return;
    }
    RC_ASSERT(cpu != nullptr);
    adopt({Buffer::Coherent, cpu, size, handle, DMA_BIDIRECTIONAL, nullptr, 0, nullptr, {}});
    check_both_sides(live_.back());
  }

  void pool_create() {
    const std::size_t size = *sizes(2048);
    const std::size_t align = *rc::gen::element<std::size_t>(0, 8, 64, 4096, 3, kMax);
    const std::size_t boundary = *rc::gen::element<std::size_t>(0, 0, 4096, 100);
    const std::size_t block =
        align == 0 ? size : (size + align - 1) / align * align;  // only for sane sizes and aligns
    const bool sane = is_sane_size(size, 2048) &&
                      (align == 0 || align == 8 || align == 64 || align == 4096) &&
                      (boundary == 0 || (boundary == 4096 && block <= boundary));
    arm_error();
    dma_pool* pool = dma_pool_create("p", dev_, size, align, boundary);
    if (!sane) {
      RC_ASSERT((pool == nullptr));
      RC_ASSERT(failed_with_message());
      return;
    }
    RC_ASSERT((pool != nullptr));
    pools_.push_back(pool);
    pool_sizes_.push_back(size);
  }

  void pool_alloc() {
    if (pools_.empty()) return;
    const auto p = *rc::gen::inRange<std::size_t>(0, pools_.size());
    dma_addr_t handle = 0;
    arm_error();
    auto* cpu = static_cast<unsigned char*>(dma_pool_alloc(pools_[p], GFP_KERNEL, &handle));
    RC_ASSERT(cpu != nullptr);
    adopt({Buffer::PoolBlock,
           cpu,
           pool_sizes_[p],
           handle,
           DMA_BIDIRECTIONAL,
           nullptr,
           0,
           pools_[p],
           {}});
    check_both_sides(live_.back());
  }

  void destroy_pool_at(std::size_t p) {
    // Blocks still allocated are given back first: destroying a pool with blocks in use reports
    // and leaks them, as the kernel does, which is tested elsewhere.
    for (std::size_t i = live_.size(); i-- > 0;)
      if (live_[i].pool == pools_[p]) free_buffer(i, /*again=*/false);
    dma_pool_destroy(pools_[p]);
    pools_.erase(pools_.begin() + static_cast<std::ptrdiff_t>(p));
    pool_sizes_.erase(pool_sizes_.begin() + static_cast<std::ptrdiff_t>(p));
  }

  void pool_destroy() {
    if (!pools_.empty()) destroy_pool_at(*rc::gen::inRange<std::size_t>(0, pools_.size()));
  }

  // --- scatterlists ---

  void map_sg() {
    const int n = *rc::gen::inRange(1, 5);
    const int dir = *directions();
    SgList sg{{}, n, 0, dir, {}, {}};
    RC_ASSERT(sg_alloc_table(&sg.table, static_cast<unsigned>(n), GFP_KERNEL) == 0);
    struct scatterlist* s = sg.table.sgl;
    for (int i = 0; i < n; ++i, s = sg_next(s)) {
      const auto len = *rc::gen::inRange<std::size_t>(1, 2 * kPage + 1);
      auto* buf = static_cast<unsigned char*>(kmalloc(len, GFP_KERNEL));
      RC_ASSERT(buf != nullptr);
      const std::vector<unsigned char> bytes = pattern(len, seed_++);
      std::memcpy(buf, bytes.data(), len);
      sg.bytes.insert(sg.bytes.end(), bytes.begin(), bytes.end());
      sg.bufs.push_back(buf);
      sg_set_buf(s, buf, static_cast<unsigned>(len));
    }
    // An nents past the list's end: refused, nothing mapped.
    const int extra = *rc::gen::weightedElement<int>({{9, 0}, {1, 3}});
    arm_error();
    sg.segments = dma_map_sg(dev_, sg.table.sgl, n + extra, static_cast<dma_data_direction>(dir));
    if (extra != 0 || !is_mapping_direction(dir)) {
      RC_ASSERT(sg.segments == 0);
      RC_ASSERT(failed_with_message());
      for (s = sg.table.sgl; s != nullptr; s = sg_next(s)) RC_ASSERT(sg_dma_len(s) == 0u);
      for (unsigned char* buf : sg.bufs) kfree(buf);
      sg_free_table(&sg.table);
      return;
    }
    RC_ASSERT(sg.segments >= 1 && sg.segments <= n);
    // The segments, read in order by the device, are the entries' bytes in order.
    std::vector<unsigned char> seen;
    s = sg.table.sgl;
    for (int i = 0; i < sg.segments; ++i, s = sg_next(s)) {
      std::vector<unsigned char> part(sg_dma_len(s));
      if (dir != DMA_FROM_DEVICE)
        RC_ASSERT(dmakit_device_read(dev_, sg_dma_address(s), part.data(), part.size()) == 0);
      seen.insert(seen.end(), part.begin(), part.end());
      const Range bus{sg_dma_address(s), part.size()};
      for (const Range& r : bus_) RC_ASSERT(!r.overlaps(bus));
      bus_.push_back(bus);
    }
    if (dir != DMA_FROM_DEVICE) RC_ASSERT(seen == sg.bytes);
    sgs_.push_back(std::move(sg));
  }

  void unmap_sg_at(std::size_t i, int short_by) {
    SgList& sg = sgs_[i];
    if (short_by != 0) {  // nents past the end: refused, the list still mapped
      arm_error();
      dma_unmap_sg(dev_, sg.table.sgl, sg.nents + short_by,
                   static_cast<dma_data_direction>(sg.dir));
      RC_ASSERT(failed_with_message());
    }
    struct scatterlist* s = sg.table.sgl;
    for (int k = 0; k < sg.segments; ++k, s = sg_next(s))
      std::erase_if(bus_, [&](const Range& r) { return r.start == sg_dma_address(s); });
    arm_error();
    dma_unmap_sg(dev_, sg.table.sgl, sg.nents, static_cast<dma_data_direction>(sg.dir));
    RC_ASSERT(std::string(dmakit_last_error()) == std::string(kArmed));  // succeeded
    for (unsigned char* buf : sg.bufs) kfree(buf);
    sg_free_table(&sg.table);
    sgs_.erase(sgs_.begin() + static_cast<std::ptrdiff_t>(i));
  }

  void unmap_sg() {
    if (sgs_.empty()) return;
    unmap_sg_at(*rc::gen::inRange<std::size_t>(0, sgs_.size()),
                *rc::gen::weightedElement<int>({{4, 0}, {1, 2}}));
  }

  Kind kind_;
  dmakit_machine* machine_ = nullptr;
  device* dev_ = nullptr;
  std::vector<Buffer> live_;
  std::vector<SgList> sgs_;
  std::vector<dma_pool*> pools_;
  std::vector<std::size_t> pool_sizes_;
  std::vector<Range> cpu_;
  std::vector<Range> bus_;
  unsigned seed_ = 1;
};

void run(Kind kind) {
  Model model(kind);
  const int steps = *rc::gen::inRange(1, 40);
  for (int i = 0; i < steps; ++i) model.step();
  model.finish();
}

RC_GTEST_PROP(LinuxApiProperty, DirectCallsHandOutOnlyTheCallersMemory, ()) { run(Kind::Direct); }

RC_GTEST_PROP(LinuxApiProperty, BounceCallsHandOutOnlyTheCallersMemory, ()) { run(Kind::Bounce); }

RC_GTEST_PROP(LinuxApiProperty, StrictIommuCallsHandOutOnlyTheCallersMemory, ()) {
  run(Kind::IommuStrict);
}

}  // namespace
