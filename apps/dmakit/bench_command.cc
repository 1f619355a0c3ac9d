// SPDX-License-Identifier: Apache-2.0
// `dmakit bench NAME`: runs one benchmark suite through Google Benchmark and reports each subject
// against its baseline from the same run, the ratio last. `dmakit bench map` with any of Linux's
// dma_map_benchmark flags runs that benchmark instead (map_benchmark_command.h).
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bench_suite.h"
#include "commands.h"
#include "dmakit/machine/config_yaml.h"
#include "map_benchmark_command.h"

namespace dmakit::cli {
namespace {

struct Measurement {
  double ns_per_op = 0;
  std::int64_t ops = 0;
  std::map<std::string, double> counters;  ///< the suite's own figures (waste, failures)
};

// Collects wall time per operation (Google Benchmark's median aggregate when it repeats runs) and
// the operations done over all runs.
class CollectingReporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.error_occurred) {
        errors_.push_back(fmt::format("{}: {}", run.benchmark_name(), run.error_message));
        continue;
      }
      Measurement& m = results_[run.run_name.str()];
      const double ns = run.GetAdjustedRealTime() * to_ns(run.time_unit);
      if (run.run_type == Run::RT_Aggregate) {
        if (run.aggregate_name == "median") m.ns_per_op = ns;
        continue;
      }
      m.ns_per_op = ns;
      m.ops += run.iterations;
      for (const auto& [name, counter] : run.counters) m.counters[name] = counter.value;
    }
  }
  const std::map<std::string, Measurement>& results() const { return results_; }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  static double to_ns(benchmark::TimeUnit unit) {
    switch (unit) {
      case benchmark::kSecond:
        return 1e9;
      case benchmark::kMillisecond:
        return 1e6;
      case benchmark::kMicrosecond:
        return 1e3;
      case benchmark::kNanosecond:
        return 1;
    }
    return 1;
  }
  std::map<std::string, Measurement> results_;
  std::vector<std::string> errors_;
};

struct Options {
  std::string suite;
  std::string config;
  std::string mode;
  bool json = false;
  double min_time = 0.2;
  int repetitions = 3;
  int threads = 2;
  bool debug = false;
};

// The options of the Google Benchmark runs that only some suites honour.
struct SuiteOptions {
  CLI::Option* config;
  CLI::Option* mode;
  CLI::Option* threads;
  CLI::Option* debug;
};

// The first option in `given` that `suite` does not honour, with the options it does take; an
// option a suite would ignore is refused rather than silently dropped.
std::optional<std::string> refused_option(const bench::Suite& suite, const SuiteOptions& given) {
  const std::pair<const CLI::Option*, bool> honoured[] = {{given.config, suite.uses_machine},
                                                          {given.mode, !suite.default_mode.empty()},
                                                          {given.threads, suite.uses_threads},
                                                          {given.debug, suite.uses_debug}};
  std::string takes = "--json, --min-time, --repetitions";
  for (const auto& [option, yes] : honoured)
    if (yes) takes += ", " + option->get_name();
  for (const auto& [option, yes] : honoured) {
    if (!yes && option->count() > 0)
      return fmt::format("{} does not apply to this suite (it takes {})", option->get_name(),
                         takes);
  }
  return std::nullopt;
}

int run_suite(const Options& options, const SuiteOptions& given) {
  const auto suites = bench::suites();
  const auto it = std::find_if(suites.begin(), suites.end(),
                               [&](const bench::Suite& s) { return s.name == options.suite; });
  if (it == suites.end()) {
    std::string names;
    for (const bench::Suite& s : suites) names += (names.empty() ? "" : ", ") + s.name;
    fmt::print(stderr, "dmakit bench: no suite named '{}' (have: {})\n", options.suite, names);
    return 2;
  }
  if (const std::optional<std::string> refused = refused_option(*it, given)) {
    fmt::print(stderr, "dmakit bench {}: {}\n", it->name, *refused);
    return 2;
  }

  const std::vector<bench::Comparison> comparisons = it->register_benchmarks(
      {options.config.empty()
           ? machine::MachineConfig{}
           : machine::parse_machine_config(machine::yaml::read_file(options.config)),
       options.mode.empty() ? it->default_mode : options.mode, options.threads, options.debug});
  std::vector<std::string> args = {"dmakit",
                                   fmt::format("--benchmark_min_time={}", options.min_time),
                                   fmt::format("--benchmark_repetitions={}", options.repetitions)};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  int argc = static_cast<int>(argv.size());
  benchmark::Initialize(&argc, argv.data());
  CollectingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  for (const std::string& e : reporter.errors()) fmt::print(stderr, "dmakit bench: {}\n", e);

  const auto& results = reporter.results();
  double log_sum = 0;
  std::optional<double> headline;
  const bench::Comparison* headline_pair = nullptr;
  nlohmann::json ratios = nlohmann::json::array();
  for (const bench::Comparison& c : comparisons) {
    if (!results.contains(c.subject) || !results.contains(c.baseline)) {
      fmt::print(stderr, "dmakit bench: missing result for {} or {}\n", c.subject, c.baseline);
      return 1;
    }
    const double subject_ns = results.at(c.subject).ns_per_op;
    const double baseline_ns = results.at(c.baseline).ns_per_op;
    const double ratio = c.throughput ? baseline_ns / subject_ns : subject_ns / baseline_ns;
    log_sum += std::log(ratio);
    if (c.headline) {
      headline = ratio;
      headline_pair = &c;
    }
    ratios.push_back({{"subject", c.subject},
                      {"baseline", c.baseline},
                      {"ratio", ratio},
                      {"ratio_is", c.throughput ? "throughput" : "time"}});
  }
  const double ratio =
      headline.value_or(std::exp(log_sum / static_cast<double>(comparisons.size())));
  const std::string ratio_text =
      headline_pair != nullptr
          ? fmt::format("{}{} / {}", headline_pair->throughput ? "throughput " : "",
                        headline_pair->subject, headline_pair->baseline)
          : "geometric mean of subject / baseline";

  if (options.json) {
    nlohmann::json out = {{"suite", it->name}, {"repetitions", options.repetitions}};
    out["results"] = nlohmann::json::array();
    for (const auto& [name, m] : results) {
      nlohmann::json r = {{"name", name}, {"ns_per_op", m.ns_per_op}, {"ops", m.ops}};
      if (!m.counters.empty()) r["counters"] = m.counters;
      out["results"].push_back(r);
    }
    out["comparisons"] = ratios;
    out["ratio"] = ratio;
    out["ratio_is"] = ratio_text;
    fmt::print("{}\n", out.dump(2));
    return 0;
  }
  fmt::print("suite {}: {} (median of {} runs; ns = wall time / operations of all threads)\n",
             it->name, it->description, options.repetitions);
  for (const auto& [name, m] : results) {
    fmt::print("  {:<60} {:>10.1f} ns  {:>12} ops\n", name, m.ns_per_op, m.ops);
    for (const auto& [counter, value] : m.counters)
      fmt::print("      {} = {:.4g}\n", counter, value);
  }
  fmt::print("subject vs baseline (time: subject / baseline; throughput: baseline / subject)\n");
  for (const auto& r : ratios)
    fmt::print("  {:<60} {:>6.2f}x {}\n", r["subject"].get<std::string>(), r["ratio"].get<double>(),
               r["ratio_is"].get<std::string>());
  fmt::print("ratio ({}): {:.2f}\n", ratio_text, ratio);
  return 0;
}

// Google Benchmark's --benchmark_min_time of each benchmark: an hour is already more than any
// comparison needs, and a bound keeps a typo from running for days.
constexpr double kMaxMinTime = 3600;

// A number of seconds in (0, kMaxMinTime]. NaN passes CLI::PositiveNumber (every comparison with it
// is false) and then never ends a run; the message quotes the text given, not a 309-digit DBL_MAX.
CLI::Validator min_time_validator() {
  return {[](std::string& text) -> std::string {
            double seconds = 0;
            const char* end = text.data() + text.size();
            const auto [ptr, ec] = std::from_chars(text.data(), end, seconds);
            if (ec == std::errc() && ptr == end && std::isfinite(seconds) && seconds > 0 &&
                seconds <= kMaxMinTime)
              return {};
            return fmt::format("must be a number of seconds above 0 and at most {}, not '{}'",
                               kMaxMinTime, text);
          },
          fmt::format("SECONDS in (0, {}]", kMaxMinTime)};
}

// "-s/--seconds", as the kernel-shaped run's messages name its flags.
std::string flag_names(const CLI::Option& option) {
  std::string names = option.get_name(/*positional=*/false, /*all_options=*/true);
  std::replace(names.begin(), names.end(), ',', '/');
  return names;
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto options = std::make_shared<Options>();
  std::string names;
  for (const bench::Suite& s : bench::suites())
    names += fmt::format("\n  {:<8} {}", s.name, s.description);
  CLI::App* cmd = app.add_subcommand("bench", "run a named comparison against a baseline" + names);
  cmd->add_option("name", options->suite, "suite to run")->type_name("SUITE")->required();
  const SuiteOptions some_suites = {
      cmd->add_option("--config", options->config,
                      fmt::format("YAML file (at most {} MiB) with the 'machine:' to run on (map, "
                                  "buddy, bounce, engine)",
                                  machine::yaml::kMaxConfigBytes >> 20))
          ->check(CLI::ExistingFile.description(""))
          ->type_name("FILE"),
      cmd->add_option("--mode", options->mode,
                      "the suite's mode (map: direct, iommu-strict, iommu-lazy, passthrough; the "
                      "kernel-shaped map run also bounce, force-bounce)")
          ->type_name("MODE"),
      cmd->add_option("--threads", options->threads,
                      "threads of the multi-threaded runs, besides one (map, buddy, iova; default "
                      "2)")
          ->check(CLI::Range(2, 64)),
      cmd->add_flag("--debug", options->debug,
                    "map: also measure a device watched by the DMA-API misuse checker; its cost "
                    "(checked / unchecked) becomes the headline")};
  // Options of the Google Benchmark runs only, which the kernel-shaped run refuses.
  const std::vector<CLI::Option*> suite_only = {
      some_suites.threads, some_suites.debug,
      cmd->add_option("--min-time", options->min_time,
                      fmt::format("seconds each benchmark runs at least, above 0 and at most {}",
                                  kMaxMinTime))
          ->check(min_time_validator()),
      cmd->add_option("--repetitions", options->repetitions,
                      "runs of each benchmark; the median is kept")
          ->check(CLI::Range(1, 100))};
  cmd->add_flag("--json", options->json, "print one JSON object with results and ratio");
  const std::shared_ptr<KernelMapOptions> kernel = add_kernel_map_options(*cmd);
  cmd->callback([options, kernel, some_suites, suite_only] {
    int rc = 0;
    if (const CLI::Option* given = kernel->first_given(); given == nullptr) {
      rc = run_suite(*options, some_suites);
    } else if (options->suite != "map") {
      fmt::print(stderr, "dmakit bench {}: {} belongs to the kernel-shaped 'dmakit bench map'\n",
                 options->suite, flag_names(*given));
      rc = 2;
    } else if (const auto other = std::find_if(suite_only.begin(), suite_only.end(),
                                               [](const CLI::Option* o) { return o->count() > 0; });
               other != suite_only.end()) {
      fmt::print(stderr,
                 "dmakit bench map: {} is not for the kernel-shaped run (given {}); it takes "
                 "-t/--map-threads and -s/--seconds instead\n",
                 (*other)->get_name(), flag_names(*given));
      rc = 2;
    } else {
      rc = run_kernel_map_benchmark(*kernel, options->config, options->mode, options->json);
    }
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace dmakit::cli
