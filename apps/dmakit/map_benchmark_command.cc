// SPDX-License-Identifier: Apache-2.0
// `dmakit bench map -t N -s S ...`: Linux's dma_map_benchmark on a simulated platform, printed in
// the shape of the kernel tool's output so that its figures can stand beside a kernel run's, then
// one dmakit line with the ratios to the baselines of the same run.
#include "map_benchmark_command.h"

#include <fmt/format.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "dmakit/core/config_error.h"
#include "dmakit/machine/config_yaml.h"

namespace dmakit::cli {
namespace {

nlohmann::json latency_json(const bench::Latency& latency) {
  return {
      {"average_us", latency.mean_ns / 1000}, {"standard_deviation_us", latency.stddev_ns / 1000},
      {"average_ns", latency.mean_ns},        {"standard_deviation_ns", latency.stddev_ns},
      {"median_ns", latency.median_ns},       {"p99_ns", latency.p99_ns}};
}

void print_json(const bench::MapBenchmarkParams& p, const bench::MapBenchmarkResult& r) {
  const nlohmann::json out = {
      {"benchmark", "dma_map_benchmark"},
      {"mode", p.mode},
      {"threads", p.threads},
      {"seconds", p.seconds},
      {"node", p.node},
      {"dir", bench::map_benchmark_direction_name(p.dir)},
      {"granule", p.granule},
      {"dma_bits", p.dma_bits},
      {"transfer_ns", p.transfer_ns},
      {"loops", r.mapping.loops},
      {"elapsed_seconds", r.mapping.seconds},
      {"bounced_maps", r.bounced_maps},
      {"map", latency_json(r.mapping.first)},
      {"unmap", latency_json(r.mapping.second)},
      {"baselines",
       {{"direct",
         {{"loops", r.direct.loops},
          {"map", latency_json(r.direct.first)},
          {"unmap", latency_json(r.direct.second)}}},
        {"memcpy", {{"loops", r.copy.loops}, {"copy", latency_json(r.copy.first)}}},
        {"clock_read", latency_json(r.copy.second)}}},
      {"ratio", r.ratio_to_direct()},
      {"ratio_is", "median map+unmap / median map+unmap of the direct path without an IOMMU"},
      {"memcpy_ratio", r.ratio_to_memcpy()}};
  fmt::print("{}\n", out.dump(2));
}

// The kernel tool's three lines (means in microseconds, one decimal), then dmakit's ratios, of
// medians.
void print_text(const bench::MapBenchmarkParams& p, const bench::MapBenchmarkResult& r) {
  fmt::print("dma mapping benchmark: threads:{} seconds:{} node:{} dir:{} granule: {}\n", p.threads,
             p.seconds, p.node, bench::map_benchmark_direction_name(p.dir), p.granule);
  fmt::print("average map latency(us):{:.1f} standard deviation:{:.1f}\n",
             r.mapping.first.mean_ns / 1000, r.mapping.first.stddev_ns / 1000);
  fmt::print("average unmap latency(us):{:.1f} standard deviation:{:.1f}\n",
             r.mapping.second.mean_ns / 1000, r.mapping.second.stddev_ns / 1000);
  fmt::print(
      "dmakit: mode {}, {} loops; median map+unmap {:.0f} ns = {:.3g}x the direct path without an "
      "IOMMU ({:.0f} ns), {:.3g}x a memcpy of the granule ({:.0f} ns), in the same run; timing a "
      "call adds {:.0f} ns\n",
      p.mode, r.mapping.loops, r.mapping.first.median_ns + r.mapping.second.median_ns,
      r.ratio_to_direct(), r.direct.first.median_ns + r.direct.second.median_ns,
      r.ratio_to_memcpy(), r.copy.first.median_ns, r.copy.second.median_ns);
}

}  // namespace

const CLI::Option* KernelMapOptions::first_given() const {
  for (const CLI::Option* option : options)
    if (option->count() > 0) return option;
  return nullptr;
}

std::shared_ptr<KernelMapOptions> add_kernel_map_options(CLI::App& bench) {
  // The tool's flags, with its defaults and limits in the help.
  struct Flag {
    const char* names;
    int bench::MapBenchmarkParams::*field;
    const char* help;
  };
  static constexpr std::array<Flag, 7> kFlags = {{
      {"-t,--map-threads", &bench::MapBenchmarkParams::threads,
       "threads mapping at once, 1-1024 (default 1)"},
      {"-s,--seconds", &bench::MapBenchmarkParams::seconds, "seconds they map, 1-300 (default 20)"},
      {"-n,--node", &bench::MapBenchmarkParams::node,
       "NUMA node of the machine the buffers come from and the threads run on; -1 for any "
       "(default -1)"},
      {"-b,--dma-bits", &bench::MapBenchmarkParams::dma_bits,
       "the device's DMA mask, 20-64 (default 32)"},
      {"-d,--dir", &bench::MapBenchmarkParams::dir,
       "0 BIDIRECTIONAL, 1 TO_DEVICE, 2 FROM_DEVICE (default 0)"},
      {"-g,--granule", &bench::MapBenchmarkParams::granule,
       "pages per mapping, 1-1024 (default 1)"},
      {"-x,--transfer-ns", &bench::MapBenchmarkParams::transfer_ns,
       "modeled transfer time between map and unmap, busy-waited and not in the latencies, "
       "0-10000000 ns (default 0)"},
  }};
  auto k = std::make_shared<KernelMapOptions>();
  const std::string group = "map: Linux's dma_map_benchmark (any of these runs it)";
  for (const Flag& flag : kFlags)
    k->options.push_back(
        bench.add_option(flag.names, k->params.*flag.field, flag.help)->group(group));
  k->options.push_back(bench
                           .add_flag("--kernel-format", k->kernel_format,
                                     "run the kernel-shaped benchmark with the tool's defaults for "
                                     "what is not given")
                           ->group(group));
  return k;
}

int run_kernel_map_benchmark(const KernelMapOptions& options, const std::string& config,
                             const std::string& mode, bool json) {
  bench::MapBenchmarkParams params = options.params;
  if (!mode.empty()) params.mode = mode;
  bench::MapBenchmarkResult result;
  try {
    result = bench::run_map_benchmark(
        config.empty() ? machine::MachineConfig{}
                       : machine::parse_machine_config(machine::yaml::read_file(config)),
        params);
  } catch (const ConfigError& e) {
    fmt::print(stderr, "dmakit bench map: {}\n", e.what());
    return 2;
  }
  if (!result.error.empty()) {
    fmt::print(stderr, "dmakit bench map: {}\n", result.error);
    return 1;
  }
  if (json)
    print_json(params, result);
  else
    print_text(params, result);
  return 0;
}

}  // namespace dmakit::cli
