// SPDX-License-Identifier: Apache-2.0
// Byte-size constants, and size parsing and formatting for configuration files and reports (core
// layer).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "dmakit/core/result.h"

namespace dmakit {

inline constexpr std::uint64_t kKiB = std::uint64_t{1} << 10;
inline constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;
inline constexpr std::uint64_t kGiB = std::uint64_t{1} << 30;
inline constexpr std::uint64_t kTiB = std::uint64_t{1} << 40;

/// Parses "8GiB", "16 MiB", "4K", "0x100000" or "4096" into bytes. Binary units only: K, KB and KiB
/// all mean 1024. Fails with InvalidArgument on an unknown suffix, a missing number or overflow.
[[nodiscard]] Result<std::uint64_t> parse_size(std::string_view text);

/// Formats bytes the way reports show them: the largest binary unit that divides exactly ("3 GiB",
/// "640 KiB"), otherwise bytes ("4097 B").
[[nodiscard]] std::string format_size(std::uint64_t bytes);

/// Formats a physical or bus address as zero-padded hex ("0x0000000100000000").
[[nodiscard]] std::string format_addr(std::uint64_t addr);

}  // namespace dmakit
