// SPDX-License-Identifier: Apache-2.0
// The DMA-API misuse checker (debug layer; seed 004, reference section 4).
//
// Each map call becomes an Entry in the MappingTable (by device and bus address) and, when it is
// streaming, in the PhysIndex (by physical address). An unmap takes its best fit out of both and
// compares it with the call's arguments, as Linux's check_unmap() does; a sync finds the mapping
// holding its first byte and compares the same way (check_sync()), and hands the buffer to the CPU
// or the device. No table lock is held while a report is built or printed: what a report needs of
// a mapping is copied (MappingRecord) under the lock. The offending call's stack is captured only
// when there is something to report; the map call's stack on every map, as raw frames.
#include "dmakit/debug/dma_debug.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "debug/mapping_table.h"
#include "dmakit/dma/device.h"
#include "dmakit/dma/dma_ops.h"

namespace dmakit::debug {
namespace {

using dma::MappingEvent;
using dma::MappingKind;

constexpr std::uint64_t kCacheline = 64;

bool is_streaming(MappingKind kind) { return kind != MappingKind::Coherent; }

// Linux wants dma_mapping_error() after dma_map_single()/dma_map_page() only: sg maps return a
// count and coherent allocations a pointer.
bool needs_error_check(MappingKind kind) {
  return kind == MappingKind::Page || kind == MappingKind::Single;
}

// An sg call is one event per entry; what concerns the whole list (its direction, its entry count,
// an unmapped list whose entries all have bus address 0) is judged on the first entry alone.
bool is_list_level(const MappingEvent& e) {
  return e.kind != MappingKind::SgEntry || e.sg_index == 0;
}

bool is_error_marker(const dma::Device& dev, DmaAddr addr) {
  return dev.ops() != nullptr ? dev.ops()->mapping_error(dev, addr) : addr == dma::kDmaMappingError;
}

}  // namespace

DmaDebug& DmaDebug::attach(dma::Platform& platform, const DmaDebugConfig& config) {
  auto checker = std::make_unique<DmaDebug>(platform, config);
  DmaDebug& attached = *checker;
  platform.set_observer(std::move(checker));
  return attached;
}

DmaDebug* DmaDebug::attach_if_enabled(dma::Platform& platform, const DmaDebugConfig& config) {
  return config.enabled ? &attach(platform, config) : nullptr;
}

DmaDebug* DmaDebug::of(const dma::Platform& platform) {
  return dynamic_cast<DmaDebug*>(platform.observer());
}

DmaDebug::DmaDebug(dma::Platform& platform, DmaDebugConfig config)
    : platform_(platform),
      config_(std::move(config)),
      table_(std::make_unique<detail::MappingTable>()),
      phys_(std::make_unique<detail::PhysIndex>()) {}

DmaDebug::~DmaDebug() = default;

void DmaDebug::on_map(const MappingEvent& e) {
  auto entry = std::make_unique<detail::Entry>();
  entry->device = e.device;
  entry->kind = e.kind;
  entry->dir = e.dir;
  entry->phys = e.phys;
  entry->dma = e.dma;
  entry->size = e.size;
  entry->cpu = e.cpu;
  entry->sg_count = e.sg_count;
  entry->error_checked = !config_.check_mapping_error || !needs_error_check(e.kind);
  entry->mapped_at = CallStack::capture(config_.stack_depth);
  check_map(e);
  if (is_streaming(e.kind)) phys_->insert(entry.get());
  table_->insert(std::move(entry));
}

void DmaDebug::check_map(const MappingEvent& e) {
  const dma::Device& dev = *e.device;
  if (e.sg_segment != 0) {
    if (e.sg_segment > dev.max_segment_size())
      report(Misuse::SgSegmentTooLong, e,
             fmt::format("mapping sg segment longer than device claims to support [len={:#x}] "
                         "[max={:#x}]",
                         e.sg_segment, dev.max_segment_size()),
             std::nullopt);
    const std::uint64_t boundary = dev.segment_boundary_mask();
    if ((e.dma.value() & ~boundary) != ((e.dma.value() + e.sg_segment - 1) & ~boundary))
      report(Misuse::SgSegmentCrossesBoundary, e,
             fmt::format("mapping sg segment across boundary [start={:#x}] [end={:#x}] "
                         "[boundary={:#x}]",
                         e.dma.value(), e.dma.value() + e.sg_segment - 1, boundary + 1),
             std::nullopt);
  }
  // Linux's active-cacheline tracking: the device writes FROM_DEVICE and BIDIRECTIONAL buffers, so
  // two of them sharing a cacheline lose data when the CPU writes the line back or invalidates it.
  if (!is_streaming(e.kind) || e.dir == Direction::ToDevice) return;
  const std::uint64_t start = e.phys.value() & ~(kCacheline - 1);
  const std::uint64_t end = (e.phys.value() + e.size + kCacheline - 1) & ~(kCacheline - 1);
  std::optional<MappingRecord> other;
  phys_->for_each_overlapping(start, end, [&](const detail::Entry& m) {
    if (!other && m.dir != Direction::ToDevice) other = m.record();
  });
  if (other)
    report(Misuse::CachelineOverlap, e,
           fmt::format("cacheline tracking EEXIST, overlapping mappings aren't supported [phys "
                       "{:#x}, +{:#x})",
                       e.phys.value(), e.size),
           std::move(other));
}

void DmaDebug::on_map_refused(const MappingEvent& e, const Error& error) {
  if (e.cpu != nullptr && platform_.machine().vmalloc_area().contains(e.cpu))
    report(Misuse::MapVmalloc, e,
           fmt::format("maps memory from vmalloc area [addr={}] [len={:#x}]", e.cpu, e.size),
           std::nullopt);
  else if (error.code == Errc::BadAddress)
    report(Misuse::MapNotRam, e, fmt::format("maps memory outside RAM: {}", error.message),
           std::nullopt);
}

void DmaDebug::on_unmap(const MappingEvent& e) {
  if (is_error_marker(*e.device, e.dma)) {
    if (is_list_level(e))
      report(Misuse::UnmapInvalidAddress, e,
             fmt::format("tries to free an invalid DMA memory address [dma {:#x}]", e.dma.value()),
             std::nullopt);
    return;
  }
  detail::Entry ref;
  ref.device = e.device;
  ref.kind = e.kind;
  ref.dir = e.dir;
  ref.phys = e.phys;
  ref.dma = e.dma;
  ref.size = e.size;
  ref.cpu = e.cpu;
  ref.sg_count = e.sg_count;
  const std::unique_ptr<detail::Entry> entry = table_->take_best_fit(ref);
  if (entry == nullptr) {
    if (is_list_level(e) || e.dma != DmaAddr{})
      report(Misuse::UnmapNotMapped, e,
             fmt::format("tries to free DMA memory it has not allocated [dma {:#x}] [size {:#x}]",
                         e.dma.value(), e.size),
             std::nullopt);
    return;
  }
  if (is_streaming(entry->kind)) phys_->erase(entry.get());
  check_unmap(e, *entry);
}

void DmaDebug::check_unmap(const MappingEvent& e, const detail::Entry& m) {
  auto bad = [&](Misuse misuse, std::string message) {
    report(misuse, e, std::move(message), m.record());
  };
  if (m.size != e.size)
    bad(Misuse::UnmapWrongSize,
        fmt::format("frees DMA memory with different size [map {:#x}] [unmap {:#x}]", m.size,
                    e.size));
  if (m.kind != e.kind)
    bad(Misuse::UnmapWrongKind,
        fmt::format("frees DMA memory with wrong function [mapped as {}] [unmapped as {}]",
                    kind_name(m.kind), kind_name(e.kind)));
  else if (m.kind == MappingKind::Coherent && m.cpu != e.cpu)
    bad(Misuse::UnmapWrongCpuAddress,
        fmt::format("frees DMA memory with different CPU address [allocated {}] [freed {}]", m.cpu,
                    e.cpu));
  if (!is_list_level(e)) return;
  if (e.kind == MappingKind::SgEntry && m.kind == MappingKind::SgEntry && m.sg_count != e.sg_count)
    bad(Misuse::UnmapWrongSgCount,
        fmt::format("frees DMA sg list with different entry count [map count={}] [unmap count={}]",
                    m.sg_count, e.sg_count));
  if (m.kind != MappingKind::Coherent && m.dir != e.dir)
    bad(Misuse::UnmapWrongDirection,
        fmt::format("frees DMA memory with different direction [map {}] [unmap {}]",
                    direction_name(m.dir), direction_name(e.dir)));
  if (!m.error_checked)
    bad(Misuse::UncheckedMappingError,
        fmt::format("device driver failed to check map error [dma {:#x}] [size {:#x}]",
                    m.dma.value(), m.size));
}

void DmaDebug::on_sync(const MappingEvent& e, bool for_device) {
  if (!is_list_level(e) && e.dma == DmaAddr{}) return;  // an unmapped list, judged on entry 0
  struct Findings {
    bool out_of_range = false;
    bool unchecked = false;
    Direction dir = Direction::Bidirectional;
    MappingKind kind = MappingKind::Single;
    std::uint32_t sg_count = 0;
  } f;
  std::optional<MappingRecord> mapping;
  const bool found = table_->visit_containing(e.device, e.dma, e.size, [&](detail::Entry& m) {
    f.out_of_range = e.size != 0 && !m.contains(e.dma + (e.size - 1));
    f.unchecked = !m.error_checked;
    m.error_checked = true;  // reported once per mapping
    f.dir = m.dir;
    f.kind = m.kind;
    f.sg_count = m.sg_count;
    m.device_owns.store(for_device, std::memory_order_relaxed);
    mapping = m.record();
  });
  if (!found) {
    report(Misuse::SyncNotMapped, e,
           fmt::format("tries to sync DMA memory it has not allocated [dma {:#x}] [size {:#x}]",
                       e.dma.value(), e.size),
           std::nullopt);
    return;
  }
  auto bad = [&](Misuse misuse, std::string message) {
    report(misuse, e, std::move(message), mapping);
  };
  if (f.out_of_range)
    bad(Misuse::SyncOutOfRange,
        fmt::format(
            "syncs DMA memory outside allocated range [mapping +{:#x}] [sync {:#x}, +{:#x}]",
            mapping->size, e.dma.value(), e.size));
  if (f.unchecked)
    bad(Misuse::UncheckedMappingError,
        fmt::format("device driver failed to check map error [dma {:#x}]", mapping->dma.value()));
  if (!is_list_level(e)) return;
  if (e.kind == MappingKind::SgEntry && f.kind == MappingKind::SgEntry && f.sg_count != e.sg_count)
    bad(Misuse::SyncWrongSgCount,
        fmt::format("syncs DMA sg list with different entry count [map count={}] [sync count={}]",
                    f.sg_count, e.sg_count));
  if (f.dir == Direction::Bidirectional) return;
  // One report per call: the two ownership rules of Linux's check_sync() first, as they say more
  // than the plain direction mismatch they come with.
  if (!for_device && f.dir == Direction::ToDevice && e.dir != Direction::ToDevice)
    bad(Misuse::SyncDeviceReadOnlyForCpu,
        fmt::format("syncs device read-only DMA memory for cpu [map {}] [sync {}]",
                    direction_name(f.dir), direction_name(e.dir)));
  else if (for_device && f.dir == Direction::FromDevice && e.dir != Direction::FromDevice)
    bad(Misuse::SyncDeviceWriteOnlyForDevice,
        fmt::format("syncs device write-only DMA memory to device [map {}] [sync {}]",
                    direction_name(f.dir), direction_name(e.dir)));
  else if (e.dir != f.dir)
    bad(Misuse::SyncWrongDirection,
        fmt::format("syncs DMA memory with different direction [map {}] [sync {}]",
                    direction_name(f.dir), direction_name(e.dir)));
}

void DmaDebug::on_mapping_error_check(const dma::Device& dev, DmaAddr addr) {
  table_->mark_checked(&dev, addr);
}

void DmaDebug::on_device_access(const dma::Device& dev, DmaAddr dma, std::uint64_t size,
                                bool write) {
  std::optional<MappingRecord> wrong;
  (void)table_->visit_containing(&dev, dma, size, [&](detail::Entry& m) {
    if (write ? !device_writes(m.dir) : !device_reads(m.dir)) wrong = m.record();
  });
  if (!wrong) return;
  const MappingEvent call{&dev, wrong->kind, wrong->phys,
                          dma,  size,        write ? Direction::FromDevice : Direction::ToDevice};
  report(Misuse::DeviceAccessWrongDirection, call,
         fmt::format("device {} [dma {:#x}, +{:#x}) of a {} mapping", write ? "writes" : "reads",
                     dma.value(), size, direction_name(wrong->dir)),
         std::move(wrong));
}

void DmaDebug::on_cpu_access(const void* cpu, std::uint64_t size, bool write) {
  machine::Machine& m = platform_.machine();
  if (const Result<PhysAddr> phys = m.virt_to_phys(cpu)) {
    check_cpu_range(*phys, size, write);
    return;
  }
  // A vmalloc buffer is mapped page by page (sg): look each page up where it really lies.
  const auto* bytes = static_cast<const std::byte*>(cpu);
  for (std::uint64_t done = 0; done < size && m.vmalloc_area().contains(bytes + done);) {
    const Result<PhysAddr> phys = m.vmalloc_area().vmalloc_to_phys(bytes + done);
    if (!phys) return;
    const std::uint64_t n = std::min(size - done, kPageSize - phys->value() % kPageSize);
    check_cpu_range(*phys, n, write);
    done += n;
  }
}

void DmaDebug::check_cpu_range(PhysAddr phys, std::uint64_t size, bool write) {
  // A CPU read of a TO_DEVICE buffer sees what it wrote; anything else races with the device.
  std::optional<MappingRecord> owned;
  phys_->for_each_overlapping(phys.value(), phys.value() + size, [&](const detail::Entry& e) {
    if (!owned && e.device_owns.load(std::memory_order_relaxed) &&
        (write || e.dir != Direction::ToDevice))
      owned = e.record();
  });
  if (!owned) return;
  const MappingEvent call{nullptr, owned->kind, phys, owned->dma, size, owned->dir};
  report(Misuse::CpuAccessDeviceOwned, call,
         fmt::format("CPU {} [phys {:#x}, +{:#x}) of a buffer the device owns",
                     write ? "writes" : "reads", phys.value(), size),
         std::move(owned));
}

void DmaDebug::on_device_removed(const dma::Device& dev) {
  std::vector<std::unique_ptr<detail::Entry>> taken = table_->take_all(&dev);
  if (taken.empty()) return;
  std::vector<MappingRecord> leaked;
  for (const std::unique_ptr<detail::Entry>& e : taken) {
    if (is_streaming(e->kind)) phys_->erase(e.get());
    leaked.push_back(e->record());
  }
  std::sort(leaked.begin(), leaked.end(),
            [](const MappingRecord& a, const MappingRecord& b) { return a.dma < b.dma; });
  report_leak(dev, std::move(leaked), /*removed=*/true);
}

std::size_t DmaDebug::check_leaks(const dma::Device& dev) {
  std::vector<MappingRecord> live = table_->records(&dev);
  const std::size_t n = live.size();
  if (n != 0) report_leak(dev, std::move(live), /*removed=*/false);
  return n;
}

std::size_t DmaDebug::check_leaks() {
  std::size_t n = 0;
  for (const dma::Device* dev : platform_.devices()) n += check_leaks(*dev);
  return n;
}

void DmaDebug::report_leak(const dma::Device& dev, std::vector<MappingRecord> leaked,
                           bool removed) {
  if (!is_reported(dev.name())) {
    suppressed_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const MappingRecord& first = leaked.front();
  Report r{Misuse::Leak,
           dev.name(),
           fmt::format("device driver has pending DMA allocations {} [count={}]",
                       removed ? "while released from device" : "when checked", leaked.size()),
           first.kind,
           first.phys,
           first.dma,
           first.size,
           first.dir,
           std::nullopt,
           std::move(leaked),
           CallStack::capture(config_.stack_depth)};
  emit(std::move(r));
}

void DmaDebug::report(Misuse misuse, const MappingEvent& call, std::string message,
                      std::optional<MappingRecord> mapping) {
  std::string device = call.device != nullptr ? call.device->name()
                       : mapping              ? mapping->device
                                              : std::string();
  if (!is_reported(device)) {
    suppressed_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  emit({misuse,
        std::move(device),
        std::move(message),
        call.kind,
        call.phys,
        call.dma,
        call.size,
        call.dir,
        std::move(mapping),
        {},
        CallStack::capture(config_.stack_depth)});
}

void DmaDebug::emit(Report r) {
  const std::uint64_t nth =
      counts_[static_cast<std::size_t>(r.misuse)].fetch_add(1, std::memory_order_relaxed) + 1;
  const bool loud = config_.action == ReportAction::Abort ||
                    (config_.action == ReportAction::Log && nth <= config_.loud_per_class);
  const std::string text = loud ? r.to_string() : std::string();
  {
    const std::lock_guard lock(reports_lock_);
    if (reports_.size() < config_.keep_reports) reports_.push_back(std::move(r));
  }
  if (!loud) return;
  fmt::print(stderr, "{}", text);
  if (config_.action == ReportAction::Abort) std::abort();
}

bool DmaDebug::is_reported(const std::string& device) const {
  return config_.devices.empty() ||
         std::find(config_.devices.begin(), config_.devices.end(), device) != config_.devices.end();
}

std::vector<Report> DmaDebug::reports() const {
  const std::lock_guard lock(reports_lock_);
  return reports_;
}

std::uint64_t DmaDebug::count(Misuse misuse) const {
  return counts_[static_cast<std::size_t>(misuse)].load(std::memory_order_relaxed);
}

std::uint64_t DmaDebug::total_reports() const {
  std::uint64_t total = 0;
  for (const auto& c : counts_) total += c.load(std::memory_order_relaxed);
  return total;
}

std::size_t DmaDebug::live_mappings() const { return table_->size(); }

std::size_t DmaDebug::live_mappings(const dma::Device& dev) const {
  return table_->records(&dev).size();
}

DmaDebugSummary DmaDebug::summary() const {
  DmaDebugSummary s;
  s.live_mappings = live_mappings();
  for (std::size_t i = 0; i < kMisuseCount; ++i) {
    s.by_class[i] = counts_[i].load(std::memory_order_relaxed);
    s.reports += s.by_class[i];
  }
  s.suppressed = suppressed_.load(std::memory_order_relaxed);
  return s;
}

std::string DmaDebug::summary_text() const {
  const DmaDebugSummary s = summary();
  std::string text =
      fmt::format("dma-debug: {} reports, {} live mappings", s.reports, s.live_mappings);
  if (s.suppressed != 0) text += fmt::format(", {} reports of filtered-out devices", s.suppressed);
  text += "\n";
  for (std::size_t i = 0; i < kMisuseCount; ++i) {
    if (s.by_class[i] != 0)
      text += fmt::format("  {:<34} {}\n", misuse_name(static_cast<Misuse>(i)), s.by_class[i]);
  }
  return text;
}

void DmaDebug::clear_reports() {
  const std::lock_guard lock(reports_lock_);
  reports_.clear();
  for (auto& c : counts_) c.store(0, std::memory_order_relaxed);
  suppressed_.store(0, std::memory_order_relaxed);
}

}  // namespace dmakit::debug
