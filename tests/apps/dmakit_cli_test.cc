// SPDX-License-Identifier: Apache-2.0
// The dmakit program end to end: runs the built binary and checks what it prints.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "dmakit/version.h"

namespace {

struct Output {
  int exit_code;
  std::string text;  // stdout and stderr
};

// Runs a shell command line and collects what it prints.
Output execute(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  std::string text;
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe) != nullptr) text += buffer.data();
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text};
}

// The dmakit binary with `args`; stdout and stderr.
Output run(const std::string& args) {
  return execute(std::string(DMAKIT_BINARY) + " " + args + " 2>&1");
}

// Standard output alone: what a program reading --json gets.
Output run_stdout(const std::string& args) {
  return execute(std::string(DMAKIT_BINARY) + " " + args + " 2>/dev/null");
}

// A path for `name` in the temporary directory, prefixed with the running test's name: ctest runs
// each test in its own process, two at a time, and a file another test is rewriting reads empty.
std::string temp_path(const std::string& name) {
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  return ::testing::TempDir() + "/" + test->test_suite_name() + "." + test->name() + "." + name;
}

// A scenario that runs in a fraction of a second: a 32-bit NIC and a disk, 64 I/Os each.
std::string tiny_scenario() {
  const std::string path = temp_path("tiny_scenario.yaml");
  std::ofstream(path) << R"(scenario: {name: tiny, operations: 64}
machine: {ram: 8GiB}
devices:
  - {name: nic32, dma_mask: 32, model: {kind: nic, descriptors: 32}}
  - {name: disk, dma_mask: 64, model: {kind: storage}}
workloads:
  - {device: nic32, packets: {sizes: [1500], batch: 16}}
  - {device: disk, block_io: {io_bytes: 16KiB, queue_depth: 4}}
)";
  return path;
}

// A fresh, empty folder under the test's temporary directory.
std::string fresh_dir(const std::string& name) {
  const std::filesystem::path dir = temp_path(name);
  std::filesystem::remove_all(dir);
  return dir.string();
}

std::string head(const std::filesystem::path& file, std::size_t bytes) {
  std::ifstream in(file);
  std::string text(bytes, '\0');
  in.read(text.data(), std::streamsize(bytes));
  text.resize(std::size_t(in.gcount()));
  return text;
}

TEST(Dmakit, VersionPrintsTheVersionOfTheHeaders) {
  const Output out = run("--version");
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(out.text, "dmakit " DMAKIT_VERSION_STRING "\n");
}

TEST(Dmakit, HelpNamesWhatEachOptionTakes) {
  for (const char* command : {"run", "sweep", "layout", "bench"}) {
    const Output help = run(std::string(command) + " --help");
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_EQ(help.text.find(" TEXT "), std::string::npos) << help.text;
  }
  const Output help = run("run --help");
  for (const char* shown : {"scenario FILE", "--trace FILE", "--plot DIR", "--set KEY=VALUE"})
    EXPECT_NE(help.text.find(shown), std::string::npos) << shown;
}

TEST(Dmakit, AnUnknownCommandIsNamedWithTheCommandsThereAre) {
  const Output out = run("frob --json");
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_NE(out.text.find("'frob' is not a command (commands: run, sweep, layout, bench"),
            std::string::npos)
      << out.text;
  EXPECT_EQ(run("").exit_code, 2);  // none at all is still refused
}

TEST(DmakitRun, PlotDrawsSvgChartsAndKeepsTheirDataAndScript) {
  const std::string dir = fresh_dir("plots");
  const Output out = run("run " + tiny_scenario() + " --plot " + dir);
  ASSERT_EQ(out.exit_code, 0) << out.text;
  EXPECT_NE(out.text.find("scenario tiny"), std::string::npos) << out.text;  // the table too
  for (const char* chart :
       {"cpu_cycles_per_io.svg", "device_cycles_per_io.svg", "iotlb_hit_rate.svg"}) {
    const std::string start = head(std::filesystem::path(dir) / chart, 64);
    EXPECT_TRUE(start.starts_with("<?xml") || start.starts_with("<svg")) << chart << ": " << start;
  }
  for (const char* kept :
       {"plots.gp", "cpu_cycles_per_io.dat", "device_cycles_per_io.dat", "iotlb_hit_rate.dat"})
    EXPECT_GT(std::filesystem::file_size(std::filesystem::path(dir) / kept), 0u) << kept;
  EXPECT_NE(head(std::filesystem::path(dir) / "iotlb_hit_rate.dat", 4096).find("\"nic32\""),
            std::string::npos);
}

// The report comes first, so it is printed even when the charts cannot be drawn.
TEST(DmakitRun, PlotWithoutGnuplotPrintsTheReportKeepsTheScriptAndExits2) {
  const std::string dir = fresh_dir("plots_no_gnuplot");
  const std::string args = "run " + tiny_scenario() + " --set scenario.operations=8 --plot " + dir;
  const Output out = execute("PATH=/nonexistent " + std::string(DMAKIT_BINARY) + " " + args +
                             " --json 2>&1 >/dev/null");  // stderr only
  EXPECT_EQ(out.exit_code, 2) << out.text;
  EXPECT_NE(out.text.find("gnuplot is not installed"), std::string::npos) << out.text;
  EXPECT_NE(out.text.find("The report was printed"), std::string::npos) << out.text;
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(dir) / "plots.gp"));
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(dir) / "cpu_cycles_per_io.svg"));
  const Output report = execute("PATH=/nonexistent " + std::string(DMAKIT_BINARY) + " " + args +
                                " --json 2>/dev/null");
  EXPECT_EQ(report.exit_code, 2);
  EXPECT_EQ(nlohmann::json::parse(report.text)["schema"], "dmakit.run/1");
}

TEST(DmakitSweep, TwoValuesGiveTwoPointsThatDifferWhereTheParameterMatters) {
  const Output out = run_stdout("sweep " + tiny_scenario() +
                                " --param cost_model.invalidation=1000,3000 --json --jobs 2");
  ASSERT_EQ(out.exit_code, 0) << out.text;
  const auto j = nlohmann::json::parse(out.text);
  EXPECT_EQ(j["schema"], "dmakit.sweep/1");
  EXPECT_EQ(j["parameters"][0]["key"], "cost_model.invalidation");
  ASSERT_EQ(j["points"].size(), 2u);
  std::map<std::string, std::map<std::string, double>> cpu;  // value -> strategy -> cycles of nic32
  for (const auto& point : j["points"]) {
    const std::string value = point["params"]["cost_model.invalidation"];
    EXPECT_EQ(point["run"]["schema"], "dmakit.run/1");
    EXPECT_EQ(point["run"]["cost_model"]["invalidation"], std::stoi(value));
    for (const auto& s : point["run"]["strategies"])
      cpu[value][s["strategy"]] = s["devices"][0]["per_io"]["cpu_cycles"].get<double>();
  }
  EXPECT_GT(cpu["3000"]["iommu-strict"], cpu["1000"]["iommu-strict"]);
  EXPECT_EQ(cpu["3000"]["bounce"], cpu["1000"]["bounce"]);
  EXPECT_EQ(cpu["3000"]["iommu-lazy"], cpu["1000"]["iommu-lazy"]);
}

TEST(DmakitSweep, TableHasARowPerPointStrategyAndDevice) {
  const Output out = run_stdout("sweep " + tiny_scenario() +
                                " --param cost_model.invalidation=1000,3000"
                                " --param 'scenario.strategies=[bounce,iommu-strict]'");
  ASSERT_EQ(out.exit_code, 0) << out.text;
  std::size_t rows = 0;
  std::istringstream lines(out.text);
  for (std::string line; std::getline(lines, line);)
    rows += line.starts_with("1000 ") || line.starts_with("3000 ");
  EXPECT_EQ(rows, 2u * 2 * 2) << out.text;  // 2 points x 2 strategies x 2 devices
  EXPECT_NE(out.text.find("scenario.strategies"), std::string::npos) << out.text;
}

TEST(DmakitSweep, ABadValueFailsTheSweepWithNothingOnStandardOutput) {
  const std::string args =
      "sweep " + tiny_scenario() + " --param cost_model.invalidation=1000,lots --json";
  const Output out = run(args);
  EXPECT_EQ(out.exit_code, 2) << out.text;
  EXPECT_NE(out.text.find("cost_model.invalidation"), std::string::npos) << out.text;
  EXPECT_NE(out.text.find("lots"), std::string::npos) << out.text;
  const Output stdout_only = run_stdout(args);
  EXPECT_EQ(stdout_only.exit_code, 2);
  EXPECT_EQ(stdout_only.text, "");
}

// A value that parses but cannot run fails in the point's own process; the sweep says which. (A
// 1 MiB machine is refused when the point's scenario is read; a bounce pool that finds no room
// below its limit, only when the machine is built.)
TEST(DmakitSweep, APointThatFailsToRunFailsTheSweepNamingThePoint) {
  const std::string args =
      "sweep " + tiny_scenario() + " --param machine.swiotlb.limit=4GiB,16MiB --json";
  const Output out = run(args);
  EXPECT_EQ(out.exit_code, 2) << out.text;
  EXPECT_NE(out.text.find("sweep point machine.swiotlb.limit=16MiB failed"), std::string::npos)
      << out.text;
  EXPECT_EQ(run_stdout(args).text, "");
}

TEST(DmakitLayout, JsonShowsZonesNodesAndThePciHole) {
  const Output out = run("layout --json");
  ASSERT_EQ(out.exit_code, 0) << out.text;
  const auto j = nlohmann::json::parse(out.text)["machine"];
  EXPECT_EQ(j["ram_bytes"], 8ull << 30);
  ASSERT_EQ(j["holes"].size(), 1u);
  EXPECT_EQ(j["holes"][0]["name"], "pci");
  EXPECT_EQ(j["holes"][0]["start"], 3ull << 30);
  EXPECT_EQ(j["holes"][0]["end"], 4ull << 30);
  ASSERT_EQ(j["nodes"].size(), 1u);
  const auto& zones = j["nodes"][0]["zones"];
  ASSERT_EQ(zones.size(), 2u);
  EXPECT_EQ(zones[0]["kind"], "DMA32");
  EXPECT_EQ(zones[1]["kind"], "Normal");
  EXPECT_EQ(zones[1]["start"], 4ull << 30);
  EXPECT_EQ(zones[1]["free_pages"], (5ull << 30) / 4096);
  EXPECT_EQ(zones[0]["free_blocks_by_order"].size(), 11u);
  const auto& pool = j["mask_pool"];
  EXPECT_EQ(pool["start"], 0);
  EXPECT_EQ(pool["end"], 80ull << 20);  // 16 MiB and the bounce pool carved from it
  EXPECT_EQ(pool["pages"], 20480);
  EXPECT_EQ(pool["used_pages"], 16384);
  EXPECT_EQ(pool["largest_free_run_pages"], 4096);
  EXPECT_EQ(pool["search"], "next-fit");
  EXPECT_EQ(pool["counters"]["served_by_pool"], 1);  // the bounce pool
  const auto& tlb = j["swiotlb"];
  // At the pool's top: the low 16 MiB stay for the narrow masks only the pool can serve.
  EXPECT_EQ(tlb["start"], 16ull << 20);
  EXPECT_EQ(tlb["end"], 80ull << 20);
  EXPECT_EQ(tlb["total_slots"], 32768);
  EXPECT_EQ(tlb["used_slots"], 0);
  EXPECT_EQ(tlb["counters"]["mappings_bounced"], 0);
}

TEST(DmakitLayout, ListsConfiguredDevicesWithMasksAndDeclaredMemory) {
  const Output out =
      run(std::string("layout --json --config ") + DMAKIT_SOURCE_DIR + "/configs/devices.yaml");
  ASSERT_EQ(out.exit_code, 0) << out.text;
  const auto devices = nlohmann::json::parse(out.text)["machine"]["devices"];
  ASSERT_EQ(devices.size(), 9u);
  EXPECT_EQ(devices[2]["name"], "odd31");
  EXPECT_EQ(devices[2]["dma_mask_bits"], 31);
  EXPECT_EQ(devices[4]["declared_memory"]["start"], 0xd0000000ull);
  EXPECT_EQ(devices[4]["declared_memory"]["flags"], "map,includes-children,exclusive");
  EXPECT_EQ(devices[5]["parent"], "raid0");
  const Output text =
      run(std::string("layout --config ") + DMAKIT_SOURCE_DIR + "/configs/devices.yaml");
  EXPECT_NE(text.text.find("declared memory: bus 0x00000000d0000000"), std::string::npos)
      << text.text;
}

TEST(DmakitLayout, NamesEachDevicesModelWithItsMainSettings) {
  const std::string config = std::string(DMAKIT_SOURCE_DIR) + "/configs/devices.yaml";
  const Output out = run("layout --json --config " + config);
  ASSERT_EQ(out.exit_code, 0) << out.text;
  const auto machine = nlohmann::json::parse(out.text)["machine"];
  std::map<std::string, nlohmann::json> models;
  for (const auto& d : machine["devices"]) models[d["name"]] = d["model"];
  ASSERT_EQ(models.size(), 9u);
  EXPECT_EQ(models["nic64"]["kind"], "nic");
  EXPECT_EQ(models["nic64"]["descriptors"], 64);
  EXPECT_EQ(models["nic32"]["descriptors"], 32);
  EXPECT_EQ(models["nic32"]["rx_strategy"], "recycled-pool");
  EXPECT_EQ(models["nic32"]["rx_entries"], 128);
  EXPECT_EQ(models["odd31"]["kind"], "legacy");
  EXPECT_EQ(models["odd31"]["address_bits"], 31);
  EXPECT_EQ(models["raid0"]["kind"], "storage");
  EXPECT_EQ(models["raid0"]["max_segments"], 128);
  EXPECT_EQ(models["raid0"]["segment_boundary"], 32);
  EXPECT_EQ(models["copy0"]["kind"], "local-memory");
  EXPECT_EQ(models["copy0"]["memory"]["bus_addr"], 0xd0100000ull);
  EXPECT_EQ(models["ioat0"]["kind"], "engine");
  EXPECT_EQ(models["ioat0"]["channels"], 2);
  EXPECT_EQ(models["ipath0"]["kind"], "copy-only");
  EXPECT_EQ(models["ipath0"]["copier"], "engine");
  EXPECT_EQ(models["ipath0"]["engine"], "ioat0");
  // The engine model is an engine of the machine, with its channels.
  ASSERT_EQ(machine["engines"].size(), 1u);
  EXPECT_EQ(machine["engines"][0]["device"], "ioat0");
  EXPECT_EQ(machine["engines"][0]["channels"].size(), 2u);

  const Output text = run("layout --config " + config);
  ASSERT_EQ(text.exit_code, 0) << text.text;
  for (const char* line :
       {"model nic: 32-bit descriptors, recycled-pool receive, 128 receive and 64 transmit",
        "model legacy: 24 address lines", "model storage: 16 MiB disk",
        "model local-memory: 256 KiB on board at bus 0x00000000d0100000",
        "model engine: 2 channel(s)", "model copy-only: copies by the engine of ioat0",
        "engine ioat0: device ioat0 (32-bit)"})
    EXPECT_NE(text.text.find(line), std::string::npos) << line << "\n" << text.text;
  // A device without a model has none.
  const Output plain = run("layout --json --config " DMAKIT_SOURCE_DIR "/configs/iommu.yaml");
  ASSERT_EQ(plain.exit_code, 0) << plain.text;
  EXPECT_TRUE(nlohmann::json::parse(plain.text)["machine"]["devices"][0]["model"].is_null());
}

TEST(DmakitLayout, BadModelConfigNamesTheField) {
  const std::string path = temp_path("bad_model.yaml");
  std::ofstream(path)
      << "machine: {}\ndevices:\n  - {name: a, model: {kind: nic, descriptors: 48}}\n";
  const Output out = run("layout --config " + path);
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_NE(out.text.find("devices[0].model.descriptors: '48' is not 32 or 64"), std::string::npos)
      << out.text;
  const std::string twice = temp_path("engine_twice.yaml");
  std::ofstream(twice) << "machine: {}\ndevices:\n  - {name: e, model: {kind: engine}}\n"
                          "engines:\n  - {name: dma0, device: e}\n";
  const Output both = run("layout --config " + twice);
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.text.find("engines[0].device"), std::string::npos) << both.text;
}

TEST(DmakitLayout, BadDeviceConfigNamesTheDeviceAndField) {
  const std::string path = temp_path("bad_devices.yaml");
  std::ofstream(path) << "machine: {}\ndevices:\n  - {name: a, parent: nobody}\n";
  const Output out = run("layout --config " + path);
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_NE(out.text.find("devices[0].parent"), std::string::npos) << out.text;
}

TEST(DmakitBench, MapReportsTheIndirectCallAgainstTheInlinePath) {
  const Output out = run("bench map --mode direct --json --min-time 0.01 --repetitions 1");
  ASSERT_EQ(out.exit_code, 0) << out.text;
  const auto j = nlohmann::json::parse(out.text);
  EXPECT_EQ(j["results"].size(), 6u);
  EXPECT_EQ(j["comparisons"].size(), 4u);
  EXPECT_GT(j["ratio"].get<double>(), 0.0);
  EXPECT_NE(run("bench map --mode iommu").exit_code, 0);
}

TEST(DmakitBench, MapDebugReportsTheCheckerAgainstTheInlinePath) {
  const Output out = run("bench map --debug --json --min-time 0.01 --repetitions 1");
  ASSERT_EQ(out.exit_code, 0) << out.text;
  const auto j = nlohmann::json::parse(out.text);
  EXPECT_EQ(j["results"].size(), 10u);
  EXPECT_EQ(j["ratio_is"].get<std::string>(),
            "BM_Map_Checked/real_time/threads:1 / BM_Map_NoOps/real_time/threads:1");
  EXPECT_GT(j["ratio"].get<double>(), 1.0);
}

TEST(DmakitLayout, ShowsWhetherTheMisuseCheckerIsOn) {
  const Output on = run("layout --json --config " DMAKIT_SOURCE_DIR "/configs/dma-debug.yaml");
  ASSERT_EQ(on.exit_code, 0) << on.text;
  const auto j = nlohmann::json::parse(on.text);
  EXPECT_TRUE(j["machine"]["dma_debug"]["enabled"].get<bool>());
  EXPECT_EQ(j["machine"]["dma_debug"]["action"], "log");
  const Output off = run("layout --json");
  EXPECT_FALSE(nlohmann::json::parse(off.text)["machine"]["dma_debug"]["enabled"].get<bool>());
}

TEST(DmakitLayout, MachineWithoutAPoolShowsZoneDma) {
  const std::string path = temp_path("classic.yaml");
  std::ofstream(path)
      << "machine:\n  mask_pool: {size: 0}\n  swiotlb: {size: 0}\n  zones: {dma: 16MiB}\n";
  const Output out = run("layout --json --config " + path);
  ASSERT_EQ(out.exit_code, 0) << out.text;
  const auto j = nlohmann::json::parse(out.text)["machine"];
  EXPECT_TRUE(j["mask_pool"].is_null());
  EXPECT_EQ(j["nodes"][0]["zones"][0]["kind"], "DMA");
}

TEST(DmakitLayout, TextNamesEveryZone) {
  const Output out = run("layout");
  ASSERT_EQ(out.exit_code, 0) << out.text;
  for (const char* word : {"DMA32", "Normal", "hole", "pci", "mask pool", "served by pool"})
    EXPECT_NE(out.text.find(word), std::string::npos) << word;
}

TEST(DmakitLayout, ReadsAConfigFile) {
  const std::string path = temp_path("two_nodes.yaml");
  std::ofstream(path) << "machine:\n  ram: 16GiB\n  nodes: 2\n";
  const Output out = run("layout --json --config " + path);
  ASSERT_EQ(out.exit_code, 0) << out.text;
  const auto j = nlohmann::json::parse(out.text)["machine"];
  EXPECT_EQ(j["nodes"].size(), 2u);
  EXPECT_EQ(j["ram_bytes"], 16ull << 30);
}

TEST(DmakitLayout, BadConfigExitsWithTheFieldNamed) {
  const std::string path = temp_path("bad.yaml");
  std::ofstream(path) << "machine:\n  ram: 8GiB\n  zones: {dma: 16MiB}\n";
  const Output out = run("layout --config " + path);
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_NE(out.text.find("machine.zones.dma: the mask pool replaces ZONE_DMA"), std::string::npos)
      << out.text;
}

TEST(DmakitLayout, RefusesUnknownTopLevelKeysAsRunDoes) {
  const std::string path = temp_path("typo.yaml");
  std::ofstream(path) << "machine: {}\nmachin: {ram: 4GiB}\n";
  const Output out = run("layout --config " + path);
  EXPECT_EQ(out.exit_code, 2) << out.text;
  EXPECT_NE(out.text.find("machin: unknown key (known: machine, iommus, devices, engines, "
                          "dma_debug, scenario, cost_model, workloads)"),
            std::string::npos)
      << out.text;
}

TEST(DmakitLayout, ShowsTheMachineOfAScenario) {
  const Output out = run("layout --config " + tiny_scenario());
  EXPECT_EQ(out.exit_code, 0) << out.text;
}

TEST(DmakitLayout, RefusesADuplicateKeyNamingBothLines) {
  const std::string path = temp_path("twice.yaml");
  std::ofstream(path) << "machine:\n  ram: 8GiB\n  ram: 4GiB\n";
  const Output out = run("layout --config " + path);
  EXPECT_EQ(out.exit_code, 2) << out.text;
  EXPECT_NE(out.text.find("machine.ram: given twice, on lines 2 and 3"), std::string::npos)
      << out.text;
}

TEST(DmakitLayout, AnIotlbOfABillionEntriesIsAConfigErrorNotAnAbort) {
  const std::string path = temp_path("iotlb.yaml");
  std::ofstream(path) << "machine: {}\niommus:\n  - {name: vtd, iotlb: {entries: 1073741824, "
                         "ways: 1}}\n";
  const Output out = run("layout --config " + path);
  EXPECT_EQ(out.exit_code, 2) << out.text;
  EXPECT_NE(out.text.find("iommus[0].iotlb.entries: 1073741824: must be 1 to 65536"),
            std::string::npos)
      << out.text;
}

TEST(DmakitLayout, ANegativeBusOffsetThatHidesLowMemoryNamesBusOffset) {
  const std::string path = temp_path("offset.yaml");
  std::ofstream(path) << "machine: {}\ndevices:\n  - {name: a, bus_offset: -8GiB}\n";
  const Output out = run("layout --config " + path);
  EXPECT_EQ(out.exit_code, 2) << out.text;
  EXPECT_NE(out.text.find("devices[0].bus_offset: -0x200000000 puts RAM"), std::string::npos)
      << out.text;
}

TEST(DmakitBench, BuddyPrintsResultsAndARatio) {
  const Output out = run("bench buddy --json --min-time 0.01 --repetitions 1");
  ASSERT_EQ(out.exit_code, 0) << out.text;
  const auto j = nlohmann::json::parse(out.text);
  ASSERT_EQ(j["results"].size(), 8u);
  for (const auto& r : j["results"]) {
    EXPECT_GT(r["ns_per_op"].get<double>(), 0.0) << r["name"];
    EXPECT_GT(r["ops"].get<long>(), 0) << r["name"];
  }
  EXPECT_EQ(j["comparisons"].size(), 4u);
  EXPECT_GT(j["ratio"].get<double>(), 0.0);
}

TEST(DmakitBench, MaskReportsBothAllocatorsSideBySide) {
  const Output out = run("bench mask --json --min-time 0.01 --repetitions 1");
  ASSERT_EQ(out.exit_code, 0) << out.text;
  const auto j = nlohmann::json::parse(out.text);
  std::map<std::string, nlohmann::json> results;
  for (const auto& r : j["results"]) results[r["name"]] = r;
  const auto& mask = results.at("BM_MaskAllocator_AllocFree/occupancy:50/search:0");
  const auto& buddy = results.at("BM_Pow2Buddy_AllocFree/occupancy:50");
  EXPECT_EQ(mask["counters"]["waste_bytes_per_alloc"], 0.0);
  EXPECT_GT(buddy["counters"]["waste_bytes_per_alloc"].get<double>(), 0.0);
  EXPECT_TRUE(
      results.contains("BM_MaskAllocator_TightMaskFailures/search:1/iterations:1/repeats:1"));
  EXPECT_NEAR(j["ratio"].get<double>(),
              mask["ns_per_op"].get<double>() / buddy["ns_per_op"].get<double>(), 1e-9);
}

TEST(DmakitBench, IovaHeadlineIsTheTwoThreadCachedOverTreeThroughput) {
  const Output out = run("bench iova --json --min-time 0.01 --repetitions 1");
  ASSERT_EQ(out.exit_code, 0) << out.text;
  const auto j = nlohmann::json::parse(out.text);
  std::map<std::string, nlohmann::json> results;
  for (const auto& r : j["results"]) results[r["name"]] = r;
  ASSERT_EQ(results.size(), 4u);
  const auto& cached = results.at("BM_IovaAllocator_AllocFree/real_time/threads:2");
  const auto& tree = results.at("BM_IovaTree_AllocFree/real_time/threads:2");
  EXPECT_GT(cached["counters"]["cache_hit_rate"].get<double>(), 0.5);
  EXPECT_EQ(j["comparisons"].size(), 2u);
  EXPECT_NEAR(j["ratio"].get<double>(),
              tree["ns_per_op"].get<double>() / cached["ns_per_op"].get<double>(), 1e-9);
}

TEST(DmakitBench, BounceHeadlineIsToDeviceThroughputAgainstMemcpyAt64KiB) {
  const Output out = run("bench bounce --json --min-time 0.01 --repetitions 1");
  ASSERT_EQ(out.exit_code, 0) << out.text;
  const auto j = nlohmann::json::parse(out.text);
  std::map<std::string, nlohmann::json> results;
  for (const auto& r : j["results"]) results[r["name"]] = r;
  EXPECT_EQ(results.size(), 28u);
  const auto& bounce = results.at("BM_Bounce_ToDevice/65536");
  const auto& copy = results.at("BM_Memcpy/65536");
  EXPECT_EQ(j["ratio_is"], "throughput BM_Bounce_ToDevice/65536 / BM_Memcpy/65536");
  EXPECT_NEAR(j["ratio"].get<double>(),
              copy["ns_per_op"].get<double>() / bounce["ns_per_op"].get<double>(), 1e-9);
}

TEST(DmakitLayout, ListsIommusTheirDomainsAndDevices) {
  const Output out =
      run(std::string("layout --json --config ") + DMAKIT_SOURCE_DIR + "/configs/iommu.yaml");
  ASSERT_EQ(out.exit_code, 0) << out.text;
  const auto j = nlohmann::json::parse(out.text)["machine"];
  ASSERT_EQ(j["iommus"].size(), 2u);
  const auto& dmar = j["iommus"][0];
  EXPECT_EQ(dmar["name"], "dmar0");
  ASSERT_EQ(dmar["domains"].size(), 2u);
  EXPECT_EQ(dmar["domains"][0]["devices"], nlohmann::json::array({"nic32", "nic32b"}));
  EXPECT_EQ(dmar["domains"][0]["policy"], "strict");
  EXPECT_EQ(dmar["domains"][1]["kind"], "identity");
  const auto& smmu = j["iommus"][1];
  EXPECT_EQ(smmu["iova_bits"], 39);
  EXPECT_EQ(smmu["domains"][0]["guest"], true);
  // Each type has its own costs: the file overrides smmu1's invalidations only.
  EXPECT_EQ(dmar["costs"]["invalidation"], 2100);
  EXPECT_EQ(smmu["costs"]["invalidation"], 1650);
  EXPECT_EQ(smmu["costs"]["trap"], dmar["costs"]["trap"]);
}

TEST(DmakitLayout, AnUnknownIommuCostIsAConfigError) {
  const std::string path = temp_path("bad_iommu_cost.yaml");
  std::ofstream(path) << "machine: {}\niommus:\n  - {name: u, costs: {walk: 9}}\n";
  const Output out = run("layout --config " + path);
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_NE(out.text.find("iommus[0].costs.walk"), std::string::npos) << out.text;
}

TEST(DmakitLayout, AnUnknownIommuIsAConfigError) {
  const std::string path = temp_path("bad_iommu.yaml");
  std::ofstream(path) << "machine: {}\ndevices:\n  - {name: d, iommu: {name: nosuch}}\n";
  const Output out = run("layout --config " + path);
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_NE(out.text.find("devices[0].iommu.name"), std::string::npos) << out.text;
}

TEST(DmakitLayout, ListsEnginesWithTheirChannels) {
  const Output out =
      run(std::string("layout --json --config ") + DMAKIT_SOURCE_DIR + "/configs/engines.yaml");
  ASSERT_EQ(out.exit_code, 0) << out.text;
  const auto engines = nlohmann::json::parse(out.text)["machine"]["engines"];
  ASSERT_EQ(engines.size(), 2u);
  EXPECT_EQ(engines[0]["name"], "dma0");
  EXPECT_EQ(engines[0]["device"], "ioat0");
  EXPECT_EQ(engines[0]["inline_threshold"], 4096);
  ASSERT_EQ(engines[0]["channels"].size(), 2u);
  EXPECT_EQ(engines[0]["channels"][1]["name"], "dma0chan1");
  EXPECT_EQ(engines[1]["dma_mask_bits"], 32);
  EXPECT_FALSE(engines[1]["iommu_domain"].is_null());
  EXPECT_EQ(engines[1]["inline_threshold"], "auto");
  EXPECT_EQ(engines[1]["capabilities"], "memcpy,sg,interrupt");
  EXPECT_EQ(engines[1]["wait"], "poll");
  const Output text =
      run(std::string("layout --config ") + DMAKIT_SOURCE_DIR + "/configs/engines.yaml");
  EXPECT_NE(text.text.find("engine dma1: device ioat1 (32-bit, IOMMU domain"), std::string::npos)
      << text.text;
  EXPECT_NE(text.text.find("dma0chan1"), std::string::npos) << text.text;
}

TEST(DmakitLayout, AnEngineOnAnUnknownDeviceIsAConfigError) {
  const std::string path = temp_path("bad_engine.yaml");
  std::ofstream(path) << "machine: {}\nengines:\n  - {name: e, device: nosuch}\n";
  const Output out = run("layout --config " + path);
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_NE(out.text.find("engines[0].device"), std::string::npos) << out.text;
}

TEST(DmakitBench, EngineHeadlineIsOneChannelThroughputAgainstMemcpyAt1MiB) {
  const Output out = run("bench engine --json --min-time 0.01 --repetitions 1");
  ASSERT_EQ(out.exit_code, 0) << out.text;
  const auto j = nlohmann::json::parse(out.text);
  EXPECT_EQ(j["results"].size(), 21u);
  EXPECT_EQ(j["ratio_is"],
            "throughput BM_CopyAsync_OneChannel/1048576/real_time / BM_Memcpy/1048576/real_time");
  EXPECT_GT(j["ratio"].get<double>(), 0.0);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// `value` as the kernel tool prints it: one decimal.
std::string fmt_one_decimal(double value) {
  std::array<char, 32> text{};
  std::snprintf(text.data(), text.size(), "%.1f", value);
  return text.data();
}

TEST(DmakitBenchMapKernel, PrintsTheKernelToolsThreeLinesThenTheRatios) {
  const Output out = run("bench map -t 2 -s 1 -d 1 -g 2 --mode iommu-lazy");
  ASSERT_EQ(out.exit_code, 0) << out.text;
  const std::vector<std::string> lines = lines_of(out.text);
  ASSERT_EQ(lines.size(), 4u) << out.text;
  EXPECT_EQ(lines[0],
            "dma mapping benchmark: threads:2 seconds:1 node:-1 dir:TO_DEVICE granule: 2");
  // The kernel's figures: microseconds with one decimal, never negative, the deviation present.
  // (sscanf rather than std::regex: GCC 12 warns inside <regex> under the sanitizers.)
  for (const auto& [line, what] : {std::pair{lines[1], "map"}, std::pair{lines[2], "unmap"}}) {
    double mean = -1;
    double deviation = -1;
    const std::string format =
        std::string("average ") + what + " latency(us):%lf standard deviation:%lf";
    ASSERT_EQ(std::sscanf(line.c_str(), format.c_str(), &mean, &deviation), 2) << line;
    EXPECT_GE(mean, 0.0);
    EXPECT_GE(deviation, 0.0);
    EXPECT_EQ(line, std::string("average ") + what + " latency(us):" + fmt_one_decimal(mean) +
                        " standard deviation:" + fmt_one_decimal(deviation));
  }
  unsigned long long loops = 0;
  unsigned long long median = 0;
  unsigned long long direct = 0;
  double to_direct = 0;
  double to_memcpy = 0;
  ASSERT_EQ(std::sscanf(lines[3].c_str(),
                        "dmakit: mode iommu-lazy, %llu loops; median map+unmap %llu ns = %lfx the "
                        "direct path without an IOMMU (%llu ns), %lfx a memcpy",
                        &loops, &median, &to_direct, &direct, &to_memcpy),
            5)
      << lines[3];
  EXPECT_GT(loops, 0u);
  EXPECT_GT(to_direct, 0.0);
  EXPECT_GT(to_memcpy, 0.0);
}

TEST(DmakitBenchMapKernel, EveryModeMapsForTheSecondsAsked) {
  for (const std::string mode :
       {"direct", "bounce", "force-bounce", "iommu-strict", "iommu-lazy", "passthrough"}) {
    const Output out = run("bench map -s 1 --json --mode " + mode);
    ASSERT_EQ(out.exit_code, 0) << mode << ": " << out.text;
    const auto j = nlohmann::json::parse(out.text);
    EXPECT_EQ(j["mode"], mode);
    EXPECT_EQ(j["threads"], 1);
    EXPECT_EQ(j["dir"], "BIDIRECTIONAL");
    EXPECT_GE(j["elapsed_seconds"].get<double>(), 1.0) << mode;
    const auto loops = j["loops"].get<std::uint64_t>();
    EXPECT_GT(loops, 0u) << mode;
    // Every map of the bounce modes bounced; no other mode touched the bounce pool.
    const bool bounces = mode == "bounce" || mode == "force-bounce";
    EXPECT_EQ(j["bounced_maps"].get<std::uint64_t>(), bounces ? loops : 0u) << mode;
    for (const char* call : {"map", "unmap"}) {
      const auto& l = j[call];
      EXPECT_GT(l["average_ns"].get<double>(), 0.0) << mode << " " << call;
      EXPECT_GE(l["standard_deviation_ns"].get<double>(), 0.0) << mode << " " << call;
      EXPECT_NEAR(l["average_us"].get<double>(), l["average_ns"].get<double>() / 1000, 1e-9);
      EXPECT_LE(l["median_ns"].get<double>(), l["p99_ns"].get<double>()) << mode << " " << call;
    }
    EXPECT_GT(j["baselines"]["direct"]["loops"].get<std::uint64_t>(), 0u) << mode;
    EXPECT_GT(j["baselines"]["memcpy"]["loops"].get<std::uint64_t>(), 0u) << mode;
    EXPECT_GT(j["ratio"].get<double>(), 0.0) << mode;
    EXPECT_GT(j["memcpy_ratio"].get<double>(), 0.0) << mode;
  }
}

TEST(DmakitBenchMapKernel, TransferTimeIsSpentBetweenMapAndUnmapNotInTheLatencies) {
  const Output out = run("bench map -s 1 -x 200000 --json --mode iommu-strict");
  ASSERT_EQ(out.exit_code, 0) << out.text;
  const auto j = nlohmann::json::parse(out.text);
  const auto loops = j["loops"].get<std::uint64_t>();
  EXPECT_GT(loops, 0u);
  // One thread that waits 200 us a loop fits at most elapsed / 200 us loops in.
  EXPECT_LE(static_cast<double>(loops), j["elapsed_seconds"].get<double>() / 200e-6 + 1);
  EXPECT_LT(j["map"]["median_ns"].get<double>(), 200000.0);
  EXPECT_LT(j["unmap"]["median_ns"].get<double>(), 200000.0);
}

TEST(DmakitBenchMapKernel, BuffersComeFromTheNodeAsked) {
  const std::string path = temp_path("two_node_map.yaml");
  std::ofstream(path) << "machine:\n  ram: 16GiB\n  nodes: 2\n";
  const Output out = run("bench map -s 1 -n 1 -t 2 --config " + path);
  ASSERT_EQ(out.exit_code, 0) << out.text;
  EXPECT_EQ(lines_of(out.text)[0],
            "dma mapping benchmark: threads:2 seconds:1 node:1 dir:BIDIRECTIONAL granule: 1");
  const Output bad = run("bench map -s 1 -n 2 --config " + path);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.text.find("-n/--node: must be -1 (any node) or a node of the machine (0 to 1)"),
            std::string::npos)
      << bad.text;
}

TEST(DmakitBenchMapKernel, BadParametersExitWithStatus2NamingTheFlag) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"-t 0", "-t/--map-threads: must be 1 to 1024, not 0"},
      {"-t 1025", "-t/--map-threads"},
      {"-s 0", "-s/--seconds: must be 1 to 300, not 0"},
      {"-s 301", "-s/--seconds"},
      {"-n -2", "-n/--node"},
      {"-n 1", "-n/--node"},
      {"-b 19", "-b/--dma-bits: must be 20 to 64, not 19"},
      {"-b 65", "-b/--dma-bits"},
      {"-d 3", "-d/--dir"},
      {"-g 0", "-g/--granule: must be 1 to 1024, not 0"},
      {"-g 1025", "-g/--granule"},
      {"-x -1", "-x/--transfer-ns"},
      {"-x 10000001", "-x/--transfer-ns: must be 0 to 10000000, not 10000001"},
      {"-s 1 --mode nosuch", "--mode: 'nosuch'"},
      {"-t many", "--map-threads"},
      {"-s 1 --mode bounce -g 65", "-g/--granule: 65 pages: a bounced mapping holds at most 64"},
      {"-s 1 --mode bounce -b 64", "-b/--dma-bits: 64: bounce mode needs buffers above the mask"},
      {"-s 1 --threads 4", "--threads is not for the kernel-shaped run"},
      {"-s 1 --repetitions 2", "--repetitions is not for the kernel-shaped run"},
  };
  for (const auto& [args, message] : cases) {
    const Output out = run("bench map " + args);
    EXPECT_EQ(out.exit_code, 2) << args << ": " << out.text;
    EXPECT_NE(out.text.find(message), std::string::npos) << args << ": " << out.text;
  }
  const Output other = run("bench buddy -s 1");
  EXPECT_EQ(other.exit_code, 2);
  EXPECT_NE(other.text.find("-s/--seconds belongs to the kernel-shaped 'dmakit bench map'"),
            std::string::npos)
      << other.text;
}

TEST(DmakitBench, UnknownSuiteIsAnError) {
  const Output out = run("bench nosuch");
  EXPECT_NE(out.exit_code, 0);
  EXPECT_NE(out.text.find("buddy"), std::string::npos) << out.text;
}

// A scenario of a few I/Os per device, written where the test can name it.
std::string scenario_file() {
  const std::string path = temp_path("run_scenario.yaml");
  std::ofstream(path) << R"(scenario: {name: tiny, seed: 3, operations: 32}
machine: {ram: 8GiB}
devices:
  - {name: nic32, dma_mask: 32, model: {kind: nic, descriptors: 32}}
  - {name: disk, dma_mask: 64, model: {kind: storage}}
workloads:
  - {device: nic32, packets: {sizes: imix, batch: 16}}
  - {device: disk, block_io: {io_bytes: 8KiB, queue_depth: 2}}
)";
  return path;
}

TEST(DmakitRun, TableHasARowPerStrategyForEachDevice) {
  const Output out = run_stdout("run " + scenario_file());
  ASSERT_EQ(out.exit_code, 0) << out.text;
  EXPECT_EQ(out.text.rfind("scenario tiny: seed 3, cost model vtd", 0), 0u) << out.text;
  for (const char* heading : {"\nnic32: nic: 32-bit descriptors", "\ndisk: storage"})
    EXPECT_NE(out.text.find(heading), std::string::npos) << out.text;
  for (const char* strategy :
       {"bounce", "force-bounce", "iommu-strict", "iommu-lazy", "passthrough", "guest"}) {
    std::size_t rows = 0;
    for (std::size_t at = out.text.find("\n  " + std::string(strategy) + " ");
         at != std::string::npos; at = out.text.find("\n  " + std::string(strategy) + " ", at + 1))
      ++rows;
    EXPECT_EQ(rows, 3u) << strategy;  // two devices and the pools
  }
  EXPECT_NE(out.text.find("I/Os per host second"), std::string::npos);
}

TEST(DmakitRun, JsonIsVersionedAndCsvHasARowPerStrategyAndDevice) {
  const Output json = run_stdout("run " + scenario_file() + " --json");
  ASSERT_EQ(json.exit_code, 0) << json.text;
  const auto j = nlohmann::json::parse(json.text);
  EXPECT_EQ(j["schema"], "dmakit.run/1");
  EXPECT_EQ(j["dmakit_version"], DMAKIT_VERSION_STRING);
  EXPECT_EQ(j["seed"], 3);
  ASSERT_EQ(j["strategies"].size(), 6u);
  EXPECT_EQ(j["strategies"][0]["devices"][0]["device"], "nic32");
  EXPECT_GT(j["simulator"]["ios_per_host_second"].get<double>(), 0.0);
  const Output csv = run_stdout("run " + scenario_file() + " --csv");
  ASSERT_EQ(csv.exit_code, 0) << csv.text;
  EXPECT_EQ(std::count(csv.text.begin(), csv.text.end(), '\n'), 1 + 6 * 2);
}

TEST(DmakitRun, SetOverridesAKeyAndTraceWritesATimeline) {
  const std::string trace = temp_path("run_trace.json");
  const Output out = run_stdout("run " + scenario_file() +
                                " --json --set scenario.seed=9 --set 'scenario.strategies=[guest]'"
                                " --trace " +
                                trace);
  ASSERT_EQ(out.exit_code, 0) << out.text;
  const auto j = nlohmann::json::parse(out.text);
  EXPECT_EQ(j["seed"], 9);
  ASSERT_EQ(j["strategies"].size(), 1u);
  std::ifstream in(trace);
  const auto t = nlohmann::json::parse(in);
  EXPECT_GT(t["traceEvents"].size(), 4u);
  EXPECT_EQ(t["traceEvents"][0]["args"]["name"], "guest");
  // Strategies are processes numbered from 1: Perfetto takes pid 0 for the swapper.
  for (const auto& event : t["traceEvents"]) EXPECT_EQ(event["pid"], 1) << event.dump();
}

TEST(DmakitRun, ATracePathThatCannotBeWrittenIsRefusedBeforeTheRun) {
  const Output out = run("run " + tiny_scenario() + " --trace /nonexistent/t.json");
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_NE(out.text.find("--trace: cannot open '/nonexistent/t.json' for writing"),
            std::string::npos)
      << out.text;
  EXPECT_EQ(out.text.find("strategy"), std::string::npos) << out.text;  // no run, no report
}

TEST(DmakitRun, ATraceThatCannotBeWrittenExits3AfterTheReport) {
  const Output out = run("run " + tiny_scenario() + " --csv --trace /dev/full");
  EXPECT_EQ(out.exit_code, 3) << out.text;
  EXPECT_NE(out.text.find("nic32"), std::string::npos) << out.text;  // the report came out
  EXPECT_NE(out.text.find("dmakit: cannot write the output: --trace '/dev/full'"),
            std::string::npos)
      << out.text;
}

TEST(DmakitRun, BadScenarioNamesFileLineAndKeyWithExit2AndNoOutput) {
  const std::string path = temp_path("bad_scenario.yaml");
  std::ofstream(path) << "machine: {ram: 8GiB}\nworkloads:\n  - device: x\n    packts: {}\n";
  const Output out = run_stdout("run " + path);
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_EQ(out.text, "");  // nothing on stdout
  const Output err = run("run " + path);
  EXPECT_NE(err.text.find(path + ":4: workloads[0].packts: unknown key"), std::string::npos)
      << err.text;
  const Output set = run("run " + scenario_file() + " --set scenario.seed");
  EXPECT_EQ(set.exit_code, 2);
  EXPECT_NE(set.text.find("KEY=VALUE"), std::string::npos) << set.text;
}

TEST(DmakitRun, AWorkloadTheModelCannotServeExits2BeforeRunning) {
  // io_bytes: 513 ran, failed every I/O of every strategy, and exited 0.
  const Output out = run("run " + tiny_scenario() + " --set workloads[1].block_io.io_bytes=513");
  EXPECT_EQ(out.exit_code, 2) << out.text;
  EXPECT_NE(out.text.find("workloads[1].block_io.io_bytes: 513: must be a multiple of 512"),
            std::string::npos)
      << out.text;
}

TEST(DmakitRun, TheCommentedExampleScenarioRuns) {
  const Output out = run_stdout(std::string("run ") + DMAKIT_SOURCE_DIR +
                                "/configs/scenario.yaml --json"
                                " --set scenario.operations=16 --set workloads[0].operations=16");
  ASSERT_EQ(out.exit_code, 0) << out.text;
  EXPECT_EQ(nlohmann::json::parse(out.text)["scenario"], "example");
}

// Standard error alone, with standard output sent to `out` (a file name for the shell).
Output run_stdout_to(const std::string& out, const std::string& args) {
  return execute(std::string(DMAKIT_BINARY) + " " + args + " 2>&1 >" + out);
}

// Output that cannot be written is an error of its own, whatever the command and format: the JSON
// of run and sweep once aborted with an uncaught std::system_error (134), and the table, CSV and
// layout exited 0 with their output lost.
TEST(DmakitOutput, OutputThatCannotBeWrittenExits3NamingTheReason) {
  const std::string scenario = tiny_scenario() + " --set scenario.operations=8";
  for (const std::string& args :
       {"run " + scenario, "run " + scenario + " --json", "run " + scenario + " --csv",
        "sweep " + scenario + " --param scenario.seed=1 --json",
        "sweep " + scenario + " --param scenario.seed=1", std::string("layout"),
        std::string("layout --json"), std::string("--help")}) {
    const Output out = run_stdout_to("/dev/full", args);
    EXPECT_EQ(out.exit_code, 3) << args << ": " << out.text;
    EXPECT_NE(out.text.find("dmakit: cannot write the output: No space left on device"),
              std::string::npos)
        << args << ": " << out.text;
  }
}

// A configuration file larger than the limit is refused, after reading no more than the limit:
// /dev/zero once kept every command reading until the host's memory ran out. `timeout` turns a
// hang into a failure (124) rather than a stuck test.
TEST(DmakitInput, ConfigurationFilesLargerThan4MiBAreRefusedWithoutReadingThemWhole) {
  const std::string big = temp_path("big.yaml");
  std::ofstream(big).close();
  std::filesystem::resize_file(big, (std::uintmax_t{4} << 20) + 1);
  for (const std::string& file : {std::string("/dev/zero"), big}) {
    for (const std::string& args :
         {"run " + file, "sweep " + file + " --param scenario.seed=1,2", "layout --config " + file,
          "bench buddy --config " + file, "bench map -s 1 --config " + file}) {
      const Output out = execute("timeout 20 " + std::string(DMAKIT_BINARY) + " " + args + " 2>&1");
      EXPECT_EQ(out.exit_code, 2) << args << ": " << out.text;
      EXPECT_NE(
          out.text.find("'" + file + "' is larger than 4 MiB, the limit on a configuration file"),
          std::string::npos)
          << args << ": " << out.text;
    }
  }
  const Output piped = execute("yes | timeout 20 " + std::string(DMAKIT_BINARY) +
                               " layout --config /dev/stdin 2>&1");
  EXPECT_EQ(piped.exit_code, 2) << piped.text;
  EXPECT_NE(piped.text.find("larger than 4 MiB"), std::string::npos) << piped.text;
  // A file at the limit is read (and then refused for what it holds, not its size).
  std::filesystem::resize_file(big, std::uintmax_t{4} << 20);
  const Output at_limit = run("layout --config " + big);
  EXPECT_EQ(at_limit.exit_code, 2) << at_limit.text;
  EXPECT_EQ(at_limit.text.find("larger than"), std::string::npos) << at_limit.text;
}

// NaN passed the positive-number check and ran forever; DBL_MAX was refused with 309 digits.
TEST(DmakitBench, MinTimeMustBeAFinitePositiveBoundedNumberOfSeconds) {
  for (const std::string value : {"nan", "-nan", "inf", "0", "-1", "1e308", "3601", "0x1p3", "1s",
                                  "179769313486231570814527423731704356798070567525844996598917"
                                  "476803157260780028538760589558632766878171540458953514382464"
                                  "234321326889464182768467546703537516986049910576551282076245"
                                  "490090389328944075868508455133942304583236903222948165808559"
                                  "332123348274797826204144723168738177180919299881250404026184"
                                  "124858368"}) {
    const Output out = execute("timeout 20 " + std::string(DMAKIT_BINARY) +
                               " bench iova --min-time " + value + " 2>&1");
    EXPECT_EQ(out.exit_code, 2) << value << ": " << out.text;
    EXPECT_NE(out.text.find("--min-time: must be a number of seconds above 0 and at most 3600"),
              std::string::npos)
        << value << ": " << out.text;
    EXPECT_LT(out.text.size(), 200 + value.size()) << out.text;
  }
}

// An option a suite would ignore is refused naming it and the suite, with what the suite takes.
TEST(DmakitBench, AnOptionTheSuiteWouldIgnoreIsRefusedNamingTheOptionAndTheSuite) {
  const std::string config = DMAKIT_SOURCE_DIR "/configs/machine.yaml";
  const std::pair<std::string, std::string> cases[] = {
      {"mask --config " + config, "dmakit bench mask: --config does not apply to this suite"},
      {"iova --config " + config, "dmakit bench iova: --config does not apply to this suite"},
      {"buddy --mode direct", "dmakit bench buddy: --mode does not apply to this suite"},
      {"buddy --debug", "dmakit bench buddy: --debug does not apply to this suite"},
      {"bounce --threads 4", "dmakit bench bounce: --threads does not apply to this suite"},
      {"engine --mode fast", "dmakit bench engine: --mode does not apply to this suite"},
  };
  for (const auto& [args, message] : cases) {
    const Output out = run("bench " + args + " --min-time 0.01 --repetitions 1");
    EXPECT_EQ(out.exit_code, 2) << args << ": " << out.text;
    EXPECT_NE(out.text.find(message), std::string::npos) << args << ": " << out.text;
  }
  const Output iova = run("bench iova --config " + config);
  EXPECT_NE(iova.text.find("(it takes --json, --min-time, --repetitions, --threads)"),
            std::string::npos)
      << iova.text;
}

}  // namespace
