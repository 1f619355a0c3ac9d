// SPDX-License-Identifier: Apache-2.0
// The scenario runner (sim layer). Devices take turns, one step each, on one thread per strategy,
// so every counter's change between a device's snapshots is that device's doing.
#include "dmakit/sim/runner.h"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#include <thread>

#include "dmakit/dma/platform.h"
#include "dmakit/machine/machine.h"

namespace dmakit::sim {
namespace {

// The counters one device's step can move, read before and after it.
struct Snapshot {
  iommu::DomainStats domain;
  iommu::IommuStats iommu;
  swiotlb::SwiotlbStats swiotlb;
  devices::ModelCounters model;
};

Snapshot snapshot(const dma::Device& dev, const Workload& w) {
  Snapshot s;
  if (const iommu::Domain* d = dev.domain()) s.domain = d->stats();
  if (!dev.platform().iommus().empty()) s.iommu = dev.platform().iommus().front()->stats();
  if (const swiotlb::Swiotlb* t = dev.platform().swiotlb()) s.swiotlb = t->stats();
  s.model = w.model().counters();
  return s;
}

// Adds what happened between `a` and `b`, priced at `cost`, to `r`.
void account(const Snapshot& a, const Snapshot& b, const CostModel& cost, DeviceResult& r) {
  EventCounts e;
  e.iova_allocations = b.domain.iova.allocations - a.domain.iova.allocations;
  e.iova_cache_hits = b.domain.iova.cache_hits - a.domain.iova.cache_hits;
  e.pte_writes = b.domain.page_table.entries_written - a.domain.page_table.entries_written;
  e.invalidations = b.domain.invalidations - a.domain.invalidations;
  e.flushes = b.domain.flushes - a.domain.flushes;
  e.traps = b.domain.traps - a.domain.traps;
  e.iotlb_hits = b.iommu.iotlb.hits - a.iommu.iotlb.hits;
  e.iotlb_misses = b.iommu.walks - a.iommu.walks;
  e.walk_levels = b.iommu.walk_levels - a.iommu.walk_levels;
  e.mappings_bounced = b.swiotlb.mappings_bounced - a.swiotlb.mappings_bounced;
  e.bytes_bounced = (b.swiotlb.bytes_to_device + b.swiotlb.bytes_from_device) -
                    (a.swiotlb.bytes_to_device + a.swiotlb.bytes_from_device);
  e.faults = b.model.faults - a.model.faults;
  e.unmaps_deferred = b.domain.queued - a.domain.queued;
  e.unmaps_flushed =
      (b.domain.queued - b.domain.queued_now) - (a.domain.queued - a.domain.queued_now);
  e.exposure_ns = b.domain.exposure_ns - a.domain.exposure_ns;

  const iommu::IommuCosts& k = cost.iommu;
  r.cpu.iova += e.iova_allocations * k.iova_alloc;
  r.cpu.page_table += e.pte_writes * k.pte_write;
  r.cpu.invalidation += e.invalidations * k.invalidation;
  r.cpu.flush += e.flushes * k.flush;
  r.cpu.traps += e.traps * k.trap;
  r.cpu.bounce += e.mappings_bounced * cost.bounce_slot +
                  copy_cycles(e.bytes_bounced, cost.bounce_copy_per_kib);
  r.dev.transfer += b.model.cycles - a.model.cycles;
  r.dev.iotlb += e.iotlb_hits * k.iotlb_hit;
  r.dev.walks += e.walk_levels * k.walk_level;

  EventCounts& t = r.events;
  t.iova_allocations += e.iova_allocations;
  t.iova_cache_hits += e.iova_cache_hits;
  t.pte_writes += e.pte_writes;
  t.invalidations += e.invalidations;
  t.flushes += e.flushes;
  t.traps += e.traps;
  t.iotlb_hits += e.iotlb_hits;
  t.iotlb_misses += e.iotlb_misses;
  t.walk_levels += e.walk_levels;
  t.mappings_bounced += e.mappings_bounced;
  t.bytes_bounced += e.bytes_bounced;
  t.faults += e.faults;
  t.unmaps_deferred += e.unmaps_deferred;
  t.unmaps_flushed += e.unmaps_flushed;
  t.exposure_ns += e.exposure_ns;
}

std::uint64_t mix_seed(std::uint64_t seed, std::size_t index) {
  // splitmix64 of the pair: each workload gets its own stream, the same on every run.
  std::uint64_t z = seed + 0x9e3779b97f4a7c15ull * (index + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::uint64_t operations_of(const Scenario& sc, const WorkloadConfig& w) {
  return w.operations != 0 ? w.operations : sc.operations;
}

std::string step_name(const WorkloadConfig& w, const StepResult& r) {
  if (const auto* p = std::get_if<PacketWorkload>(&w.spec)) {
    const char* dir = p->direction == PacketDirection::Receive    ? "rx"
                      : p->direction == PacketDirection::Transmit ? "tx"
                                                                  : "rx+tx";
    return fmt::format("{} {} packets", dir, r.ios);
  }
  if (std::holds_alternative<BlockWorkload>(w.spec)) return fmt::format("{} block I/Os", r.ios);
  if (std::holds_alternative<TransferWorkload>(w.spec)) return fmt::format("{} transfers", r.ios);
  return fmt::format("{} copies", r.ios);
}

class StrategyRun {
 public:
  static constexpr std::size_t kWarningsKept = 4;

  StrategyRun(const Scenario& sc, dma::Strategy strategy, unsigned index, const RunOptions& options,
              std::atomic<std::uint64_t>& done, std::uint64_t total)
      : sc_(sc),
        strategy_(strategy),
        index_(index),
        options_(options),
        done_(done),
        total_(total),
        machine_(sc.machine),
        platform_(machine_) {}

  StrategyResult run(std::vector<TraceSpan>& spans) {
    const auto started = std::chrono::steady_clock::now();
    StrategyResult result;
    result.strategy = strategy_;
    set_up(result);
    const std::size_t n = sc_.workloads.size();
    std::vector<std::uint64_t> attempted(n, 0);
    std::vector<bool> active(n);
    for (std::size_t i = 0; i < n; ++i) active[i] = workloads_[i] != nullptr;
    std::uint64_t now = 0;
    for (bool any = true; any;) {
      any = false;
      for (std::size_t i = 0; i < n; ++i) {
        if (!active[i]) continue;
        const WorkloadConfig& wc = sc_.workloads[i];
        dma::Device& dev = *devices_[i];
        DeviceResult& r = result.devices[i];
        const Snapshot before = snapshot(dev, *workloads_[i]);
        const std::uint64_t cpu0 = r.cpu.total();
        const std::uint64_t dev0 = r.dev.total();
        const StepResult step = workloads_[i]->step();
        account(before, snapshot(dev, *workloads_[i]), sc_.cost, r);
        r.cpu.copy += copy_cycles(step.cpu_copy_bytes, sc_.cost.cpu_copy_per_kib);
        r.ios += step.ios;
        r.bytes += step.bytes;
        if (r.errors == 0 && step.errors != 0) r.first_error = step.first_error;
        r.errors += step.errors;
        const std::uint64_t cpu_ns = ns_of(r.cpu.total() - cpu0);
        const std::uint64_t dev_ns = ns_of(r.dev.total() - dev0);
        if (options_.trace != nullptr) {
          const std::string name = step_name(wc, step);
          const unsigned track = static_cast<unsigned>(2 * i);
          spans.push_back({index_, track, name, now, cpu_ns, r.cpu.total() - cpu0, 0, step.errors});
          spans.push_back({index_, track + 1, name, now + cpu_ns, dev_ns, 0, r.dev.total() - dev0,
                           step.errors});
        }
        now += cpu_ns + dev_ns;
        advance_iommus(cpu_ns + dev_ns);
        const std::uint64_t tried = step.ios + step.errors;
        attempted[i] += tried;
        done_ += tried;
        const bool out_of_time = sc_.duration_ns != 0 && now >= sc_.duration_ns;
        // A step that did nothing at all would do nothing again: stop rather than spin.
        active[i] = tried > 0 && attempted[i] < operations_of(sc_, wc) && !out_of_time;
        if (tried == 0) ++r.errors;
        any = any || active[i];
      }
      if (options_.progress) options_.progress(done_.load(), total_);
    }
    result.modeled_ns = now;
    pool_stats(result.pools);
    workloads_.clear();  // drivers release their memory before the platform goes
    result.host_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return result;
  }

 private:
  std::uint64_t ns_of(std::uint64_t cycles) const { return cycles * 1000 / sc_.cost.cpu_mhz; }

  void advance_iommus(std::uint64_t ns) {
    for (const auto& iommu : platform_.iommus()) iommu->advance(ns);
  }

  void set_up(StrategyResult& result) {
    if (swiotlb::Swiotlb* t = platform_.swiotlb())
      t->set_warning_sink([&result](const std::string& warning) {
        if (result.warnings.size() < kWarningsKept) result.warnings.push_back(warning);
        ++result.warnings_total;
      });
    if (dma::uses_iommu(strategy_)) platform_.add_iommu(sc_.iommu);
    std::vector<dma::DeviceConfig> configs;
    for (const dma::DeviceConfig& c : sc_.devices)
      configs.push_back(dma::placed(c, strategy_, sc_.iommu.name));
    platform_.add_devices(configs);
    for (std::size_t i = 0; i < sc_.workloads.size(); ++i) {
      const WorkloadConfig& wc = sc_.workloads[i];
      const devices::ModelConfig& model = sc_.models.at(wc.device);
      DeviceResult r;
      r.device = wc.device;
      r.model = devices::describe_model(model);
      dma::Device* dev = platform_.find_device(wc.device);
      devices_.push_back(dev);
      auto w = make_workload(*dev, model, wc, mix_seed(sc_.seed, i));
      if (w) {
        workloads_.push_back(std::move(*w));
      } else {
        r.unavailable = w.error().to_string();
        workloads_.push_back(nullptr);
        done_ += operations_of(sc_, wc);
      }
      result.devices.push_back(std::move(r));
    }
  }

  void pool_stats(PoolStats& pools) const {
    if (const swiotlb::Swiotlb* t = platform_.swiotlb()) {
      const swiotlb::SwiotlbStats s = t->stats();
      pools.swiotlb_slots = s.total_slots;
      pools.swiotlb_hiwater = s.used_hiwater;
      pools.swiotlb_failures = s.failures;
    }
    for (const auto& iommu : platform_.iommus())
      for (const iommu::Domain* d : iommu->domains()) {
        const iommu::DomainStats s = d->stats();
        pools.iova_live += s.iova.live_ranges;
        pools.io_page_tables += s.page_table.tables;
      }
  }

  const Scenario& sc_;
  const dma::Strategy strategy_;
  const unsigned index_;
  const RunOptions& options_;
  std::atomic<std::uint64_t>& done_;
  const std::uint64_t total_;
  machine::Machine machine_;
  dma::Platform platform_;
  std::vector<dma::Device*> devices_;
  std::vector<std::unique_ptr<Workload>> workloads_;
};

}  // namespace

TraceLayout trace_layout(const Scenario& scenario) {
  TraceLayout layout;
  for (const dma::Strategy s : scenario.strategies)
    layout.strategies.emplace_back(dma::strategy_name(s));
  for (const WorkloadConfig& w : scenario.workloads) layout.devices.push_back(w.device);
  return layout;
}

RunResult run_scenario(const Scenario& scenario, const RunOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  RunResult run;
  run.scenario = scenario.name;
  run.seed = scenario.seed;
  run.cost = scenario.cost;
  const std::size_t n = scenario.strategies.size();
  run.strategies.resize(n);
  std::vector<std::vector<TraceSpan>> spans(n);
  std::uint64_t total = 0;
  for (const WorkloadConfig& w : scenario.workloads) total += operations_of(scenario, w);
  total *= n;
  std::atomic<std::uint64_t> done{0};
  std::atomic<std::size_t> next{0};
  std::mutex error_lock;
  std::exception_ptr error;
  auto worker = [&] {
    for (std::size_t i = next++; i < n; i = next++) {
      try {
        StrategyRun one(scenario, scenario.strategies[i], static_cast<unsigned>(i), options, done,
                        total);
        run.strategies[i] = one.run(spans[i]);
      } catch (...) {
        const std::lock_guard lock(error_lock);
        if (!error) error = std::current_exception();
      }
    }
  };
  std::vector<std::jthread> threads;
  for (unsigned t = 1; t < std::max(1u, options.threads) && t < n; ++t)
    threads.emplace_back(worker);
  worker();
  threads.clear();
  if (error) std::rethrow_exception(error);
  for (const StrategyResult& s : run.strategies)
    for (const DeviceResult& d : s.devices) run.simulated_ios += d.ios;
  if (options.trace != nullptr)
    for (auto& s : spans) options.trace->insert(options.trace->end(), s.begin(), s.end());
  run.host_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return run;
}

}  // namespace dmakit::sim
