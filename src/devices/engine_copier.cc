// SPDX-License-Identifier: Apache-2.0
// The engine-backed Copier (devices layer).
#include "dmakit/devices/engine_copier.h"

namespace dmakit::devices {

// The AsyncTx may have copied to measure its threshold; those are not this copier's.
EngineCopier::EngineCopier(engine::DmaEngine& engine)
    : tx_(engine), fallbacks_before_(tx_.stats().fallbacks) {}

Status EngineCopier::copy(std::byte* dst, const std::byte* src, std::size_t size) {
  if (size == 0) return {};  // nothing to move, as memcpy; AsyncTx would refuse it
  const engine::TxHandle handle = tx_.copy_async(dst, src, size, nullptr, nullptr);
  while (!handle.is_complete()) (void)handle.wait();
  const engine::Completion& done = *handle.result();
  if (!done.status) {
    ++stats_.failures;
    return fail(done.status.error().code, "engine {}: copy of {} bytes failed: {}",
                tx_.engine().name(), size, done.status.error().message);
  }
  ++stats_.copies;
  stats_.bytes += size;
  if (done.method == engine::Method::Offloaded) {
    ++stats_.offloaded;
    stats_.offloaded_bytes += size;
  } else {
    ++stats_.inline_copies;
    stats_.inline_bytes += size;
  }
  return {};
}

EngineCopierStats EngineCopier::stats() const {
  EngineCopierStats s = stats_;
  s.fallbacks = tx_.stats().fallbacks - fallbacks_before_;
  return s;
}

}  // namespace dmakit::devices
