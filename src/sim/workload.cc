// SPDX-License-Identifier: Apache-2.0
// The workloads of a scenario (sim layer): each drives one device model through its driver, the
// way an OS's stack would, and checks every byte that comes back.
#include "dmakit/sim/workload.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "dmakit/core/error.h"
#include "dmakit/devices/checksum.h"
#include "dmakit/devices/copy_engine.h"
#include "dmakit/devices/engine_copier.h"
#include "dmakit/devices/legacy_device.h"
#include "dmakit/devices/legacy_driver.h"
#include "dmakit/devices/nic.h"
#include "dmakit/devices/nic_driver.h"
#include "dmakit/devices/storage_controller.h"
#include "dmakit/devices/storage_driver.h"
#include "dmakit/machine/machine.h"

namespace dmakit::sim {
namespace {

using Rng = std::mt19937_64;

void fill_random(Rng& rng, std::span<std::byte> out) {
  std::size_t i = 0;
  for (; i + 8 <= out.size(); i += 8) {
    const std::uint64_t v = rng();
    std::memcpy(out.data() + i, &v, 8);
  }
  for (const std::uint64_t v = rng(); i < out.size(); ++i)
    out[i] = static_cast<std::byte>(v >> (8 * (i % 8)));
}

std::uint32_t draw(Rng& rng, const SizeMix& mix) {
  std::uint64_t total = 0;
  for (const auto& [size, weight] : mix.sizes) total += weight;
  std::uint64_t pick = rng() % total;
  for (const auto& [size, weight] : mix.sizes) {
    if (pick < weight) return size;
    pick -= weight;
  }
  return mix.sizes.back().first;
}

// Data buffers come from the page allocator as any kernel buffer would: ZONE_NORMAL first, so above
// 4 GiB on a machine with RAM there, which is what makes narrow devices bounce or need the IOMMU.
class PageBuffer {
 public:
  static Result<PageBuffer> allocate(machine::Machine& m, std::uint64_t bytes) {
    auto page = m.page_allocator().alloc_pages_exact(machine::kGfpKernel, bytes);
    if (!page) return std::unexpected(page.error());
    return PageBuffer(m, *page, bytes);
  }
  PageBuffer(PageBuffer&& other) noexcept
      : machine_(other.machine_),
        page_(std::exchange(other.page_, nullptr)),
        bytes_(other.bytes_) {}
  PageBuffer& operator=(PageBuffer&&) = delete;
  ~PageBuffer() {
    if (page_ != nullptr) (void)machine_->page_allocator().free_pages_exact(page_, bytes_);
  }
  [[nodiscard]] std::span<std::byte> span() const {
    return {machine_->page_address(page_), bytes_};
  }

 private:
  PageBuffer(machine::Machine& m, machine::Page* page, std::uint64_t bytes)
      : machine_(&m), page_(page), bytes_(bytes) {}
  machine::Machine* machine_;
  machine::Page* page_;
  std::uint64_t bytes_;
};

class PacketStream final : public Workload {
 public:
  PacketStream(dma::Device& dev, const devices::NicSettings& model, const PacketWorkload& load,
               std::uint64_t seed)
      : nic_(dev, model.nic), load_(load), rng_(seed) {}

  Status open(dma::Device& dev, const devices::NicDriverConfig& config) {
    auto driver = devices::NicDriver::open(dev, nic_.registers(), config);
    if (!driver) return std::unexpected(driver.error());
    driver_ = std::move(*driver);
    for (const auto& [size, weight] : load_.sizes.sizes)
      if (size > driver_->max_payload())
        return fail(Errc::InvalidArgument,
                    "{}: {}-byte packets exceed the driver's {}-byte buffers", dev.name(), size,
                    driver_->max_payload());
    return {};
  }

  StepResult step() override {
    StepResult r;
    const bool rx = load_.direction != PacketDirection::Transmit;
    const bool tx = load_.direction != PacketDirection::Receive;
    if (rx) receive(r);
    if (tx) transmit(r);
    return r;
  }

  [[nodiscard]] const devices::DeviceModel& model() const override { return nic_; }

 private:
  std::vector<std::byte> payload() {
    std::vector<std::byte> p(draw(rng_, load_.sizes));
    fill_random(rng_, p);
    return p;
  }

  void receive(StepResult& r) {
    std::vector<std::vector<std::byte>> sent;
    for (std::uint32_t i = 0; i < load_.batch; ++i) {
      sent.push_back(payload());
      nic_.wire().arrive(devices::seal_frame(sent.back()));
    }
    std::size_t next = 0;
    while (nic_.wire().has_arrival() || next < sent.size()) {
      (void)nic_.service();
      std::uint64_t delivered = 0;
      const auto got = driver_->receive([&](std::span<const std::byte> data) {
        ++delivered;
        const bool same = next < sent.size() && std::ranges::equal(data, sent[next]);
        if (!same) r.fail(1, "a received packet differs from the one sent");
        r.bytes += data.size();
        ++next;
      });
      r.ios += delivered;
      if (!got) r.fail(1, got.error().to_string());
      if (delivered == 0 && (!got || !nic_.wire().has_arrival())) break;
    }
    // Frames the driver never saw (dropped by the wire, refused by the NIC) failed too.
    if (next < sent.size()) r.fail(sent.size() - next, "packets were never delivered");
    while (nic_.wire().has_arrival()) nic_.wire().pop_arrival();
  }

  void transmit(StepResult& r) {
    std::vector<std::vector<std::byte>> queued;
    for (std::uint32_t i = 0; i < load_.batch; ++i) {
      std::vector<std::byte> p = payload();
      if (const Status s = driver_->transmit(p); !s) {
        r.fail(1, s.error().to_string());
        continue;
      }
      r.cpu_copy_bytes += p.size();  // the driver copies each packet into its transmit buffer
      queued.push_back(std::move(p));
    }
    (void)nic_.service();
    if (const auto reaped = driver_->reap_transmitted(); !reaped)
      r.fail(1, reaped.error().to_string());
    const std::vector<devices::Frame> out = nic_.wire().take_sent();
    for (std::size_t i = 0; i < queued.size(); ++i) {
      const bool same = i < out.size() && devices::frame_intact(out[i]) &&
                        std::ranges::equal(std::span(out[i]).first(queued[i].size()), queued[i]);
      if (!same) {
        r.fail(1, "a transmitted frame differs from the packet queued");
        continue;
      }
      ++r.ios;
      r.bytes += queued[i].size();
    }
  }

  devices::Nic nic_;
  std::unique_ptr<devices::NicDriver> driver_;
  PacketWorkload load_;
  Rng rng_;
};

class BlockIo final : public Workload {
 public:
  BlockIo(dma::Device& dev, const devices::StorageSettings& model, const BlockWorkload& load,
          std::uint64_t seed)
      : controller_(dev, model.controller), load_(load), rng_(seed) {}

  Status open(dma::Device& dev, const devices::StorageDriverConfig& config) {
    if (load_.io_bytes == 0 || load_.io_bytes % devices::kSectorSize != 0 ||
        load_.io_bytes > controller_.disk().size())
      return fail(Errc::InvalidArgument,
                  "{}: I/O size {} is not a positive multiple of {} within "
                  "the {}-byte disk",
                  dev.name(), load_.io_bytes, devices::kSectorSize, controller_.disk().size());
    auto driver = devices::StorageDriver::open(dev, controller_.registers(), config);
    if (!driver) return std::unexpected(driver.error());
    driver_ = std::move(*driver);
    for (unsigned i = 0; i < load_.queue_depth; ++i) {
      auto b = PageBuffer::allocate(dev.machine(), load_.io_bytes);
      if (!b) return std::unexpected(b.error());
      buffers_.push_back(std::move(*b));
    }
    return {};
  }

  // Keeps queue_depth I/Os in flight, then lets the controller run and reaps what it finished.
  StepResult step() override {
    StepResult r;
    std::size_t started = 0;
    for (PageBuffer& buffer : buffers_) {
      const bool read = rng_() % 100 < load_.read_percent;
      const std::uint64_t sectors = controller_.disk().size() / devices::kSectorSize;
      const std::uint64_t io_sectors = load_.io_bytes / devices::kSectorSize;
      const std::uint64_t lba = rng_() % (sectors - io_sectors + 1);
      if (!read) fill_random(rng_, buffer.span());
      auto io = driver_->submit(read ? devices::StorageOp::Read : devices::StorageOp::Write, lba,
                                buffer.span().data(), load_.io_bytes);
      if (!io) {
        r.fail(1, io.error().to_string());
        continue;
      }
      ++started;
    }
    for (std::size_t round = 0; round < 4 && started > 0; ++round) {
      (void)controller_.service();
      for (const devices::StorageCompletion& c : driver_->complete()) {
        if (!c.status) {
          r.fail(1, c.status.error().to_string());
          continue;
        }
        ++r.ios;
        r.bytes += load_.io_bytes;
      }
      if (driver_->requests_in_flight() == 0) break;
    }
    return r;
  }

  [[nodiscard]] const devices::DeviceModel& model() const override { return controller_; }

 private:
  devices::StorageController controller_;
  std::unique_ptr<devices::StorageDriver> driver_;
  std::vector<PageBuffer> buffers_;
  BlockWorkload load_;
  Rng rng_;
};

class BulkTransfers final : public Workload {
 public:
  BulkTransfers(dma::Device& dev, const devices::LegacySettings& model,
                const TransferWorkload& load, std::uint64_t seed, PageBuffer out, PageBuffer in)
      : device_(dev, model.device),
        load_(load),
        rng_(seed),
        out_(std::move(out)),
        in_(std::move(in)) {}

  Status open(dma::Device& dev) {
    auto driver = devices::LegacyDriver::open(dev, device_.registers());
    if (!driver) return std::unexpected(driver.error());
    driver_ = std::move(*driver);
    return {};
  }

  // One write of fresh data to the device's medium and one read of it back, compared.
  StepResult step() override {
    StepResult r;
    fill_random(rng_, out_.span());
    if (const Status s = transfer(devices::LegacyMode::MemoryToDevice, out_); !s) {
      r.fail(1, s.error().to_string());
      return r;
    }
    ++r.ios;
    r.bytes += load_.bytes;
    if (const Status s = transfer(devices::LegacyMode::DeviceToMemory, in_); !s) {
      r.fail(1, s.error().to_string());
      return r;
    }
    if (!std::ranges::equal(in_.span(), out_.span())) {
      r.fail(1, "the bytes read back differ from those written");
      return r;
    }
    ++r.ios;
    r.bytes += load_.bytes;
    return r;
  }

  [[nodiscard]] const devices::DeviceModel& model() const override { return device_; }

 private:
  Status transfer(devices::LegacyMode mode, PageBuffer& buffer) {
    if (Status s = driver_->start(mode, buffer.span().data(), load_.bytes); !s) return s;
    (void)device_.service();
    return driver_->finish();
  }

  devices::LegacyDevice device_;
  std::unique_ptr<devices::LegacyDriver> driver_;
  TransferWorkload load_;
  Rng rng_;
  PageBuffer out_;
  PageBuffer in_;
};

class EngineCopies final : public Workload {
 public:
  EngineCopies(dma::Device& dev, const devices::CopyEngineConfig& model, const CopyWorkload& load,
               std::uint64_t seed, PageBuffer src, PageBuffer dst)
      : engine_(dev, model),
        copier_(engine_.engine()),
        load_(load),
        rng_(seed),
        src_(std::move(src)),
        dst_(std::move(dst)) {}

  StepResult step() override {
    StepResult r;
    fill_random(rng_, src_.span());
    const std::uint64_t inline_before = copier_.stats().inline_bytes;
    const Status copied = copier_.copy(dst_.span().data(), src_.span().data(), load_.bytes);
    if (const Status s = await_idle_channels(); !s) {
      r.fail(1, s.error().to_string());
      return r;
    }
    if (!copied) {
      r.fail(1, copied.error().to_string());
      return r;
    }
    if (!std::ranges::equal(dst_.span(), src_.span())) {
      r.fail(1, "the engine's copy differs from its source");
      return r;
    }
    ++r.ios;
    r.bytes += load_.bytes;
    r.cpu_copy_bytes += copier_.stats().inline_bytes - inline_before;
    return r;
  }

  [[nodiscard]] const devices::DeviceModel& model() const override { return engine_; }

 private:
  // A copy's handle completes inside the channel's callback, a moment before the channel counts
  // the descriptor: wait until every channel has counted all it was given, then take the counts,
  // so that each step's counters are its own.
  Status await_idle_channels() {
    const auto deadline = std::chrono::steady_clock::now() + engine::kSyncWaitTimeout;
    for (const auto& channel : engine_.engine().channels()) {
      while (channel->queue_depth() != 0) {
        if (std::chrono::steady_clock::now() >= deadline)
          return fail(
              Errc::Timeout, "{}: a descriptor still uncounted after {} s", channel->name(),
              std::chrono::duration_cast<std::chrono::seconds>(engine::kSyncWaitTimeout).count());
        std::this_thread::yield();
      }
    }
    (void)engine_.service();
    return {};
  }

  devices::CopyEngine engine_;
  devices::EngineCopier copier_;
  CopyWorkload load_;
  Rng rng_;
  PageBuffer src_;
  PageBuffer dst_;
};

template <class W, class... Args>
Result<std::unique_ptr<Workload>> opened(std::unique_ptr<W> w, Args&&... args) {
  if (Status s = w->open(std::forward<Args>(args)...); !s) return std::unexpected(s.error());
  return std::unique_ptr<Workload>(std::move(w));
}

}  // namespace

SizeMix imix() { return SizeMix{{{64, 7}, {576, 4}, {1500, 1}}}; }

Result<std::unique_ptr<Workload>> make_workload(dma::Device& dev, const devices::ModelConfig& model,
                                                const WorkloadConfig& config, std::uint64_t seed) {
  const auto* packets = std::get_if<PacketWorkload>(&config.spec);
  if (const auto* nic = std::get_if<devices::NicSettings>(&model.settings); nic && packets)
    return opened(std::make_unique<PacketStream>(dev, *nic, *packets, seed), dev, nic->driver);
  const auto* blocks = std::get_if<BlockWorkload>(&config.spec);
  if (const auto* disk = std::get_if<devices::StorageSettings>(&model.settings); disk && blocks)
    return opened(std::make_unique<BlockIo>(dev, *disk, *blocks, seed), dev, disk->driver);
  const auto* transfers = std::get_if<TransferWorkload>(&config.spec);
  if (const auto* legacy = std::get_if<devices::LegacySettings>(&model.settings);
      legacy && transfers) {
    auto out = PageBuffer::allocate(dev.machine(), transfers->bytes);
    if (!out) return std::unexpected(out.error());
    auto in = PageBuffer::allocate(dev.machine(), transfers->bytes);
    if (!in) return std::unexpected(in.error());
    return opened(std::make_unique<BulkTransfers>(dev, *legacy, *transfers, seed, std::move(*out),
                                                  std::move(*in)),
                  dev);
  }
  const auto* copies = std::get_if<CopyWorkload>(&config.spec);
  if (const auto* engine = std::get_if<devices::CopyEngineConfig>(&model.settings);
      engine && copies) {
    auto src = PageBuffer::allocate(dev.machine(), copies->bytes);
    if (!src) return std::unexpected(src.error());
    auto dst = PageBuffer::allocate(dev.machine(), copies->bytes);
    if (!dst) return std::unexpected(dst.error());
    return std::unique_ptr<Workload>(std::make_unique<EngineCopies>(
        dev, *engine, *copies, seed, std::move(*src), std::move(*dst)));
  }
  return fail(Errc::InvalidArgument, "{}: its workload does not suit a {} model", dev.name(),
              devices::model_kind_name(model.kind()));
}

}  // namespace dmakit::sim
