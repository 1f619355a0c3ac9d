// SPDX-License-Identifier: Apache-2.0
// Size parsing and formatting (core layer).
#include "dmakit/core/units.h"

#include <array>
#include <cctype>
#include <charconv>
#include <utility>

namespace dmakit {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

constexpr std::array<std::pair<std::string_view, unsigned>, 5> kUnits = {
    {{"K", 10}, {"M", 20}, {"G", 30}, {"T", 40}, {"P", 50}}};

}  // namespace

Result<std::uint64_t> parse_size(std::string_view text) {
  const std::string_view s = trim(text);
  std::uint64_t number = 0;
  int base = 10;
  std::string_view digits = s;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    base = 16;
    digits.remove_prefix(2);
  }
  const auto [end, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), number, base);
  if (ec == std::errc::result_out_of_range)
    return fail(Errc::InvalidArgument, "size '{}' does not fit in 64 bits", s);
  if (ec != std::errc() || end == digits.data())
    return fail(Errc::InvalidArgument, "size '{}' does not start with a number", s);

  const std::string_view suffix = trim(std::string_view(end, digits.data() + digits.size() - end));
  if (suffix.empty() || iequals(suffix, "B")) return number;
  if (base == 16) return fail(Errc::InvalidArgument, "hex size '{}' cannot take a unit", s);
  for (const auto& [letter, shift] : kUnits) {
    if (iequals(suffix, letter) || iequals(suffix, std::string(letter) + "B") ||
        iequals(suffix, std::string(letter) + "iB")) {
      if (number > (~std::uint64_t{0} >> shift))
        return fail(Errc::InvalidArgument, "size '{}' does not fit in 64 bits", s);
      return number << shift;
    }
  }
  return fail(Errc::InvalidArgument, "size '{}' has unknown unit '{}' (use B, KiB, MiB, GiB, TiB)",
              s, suffix);
}

std::string format_size(std::uint64_t bytes) {
  static constexpr std::array<std::pair<std::string_view, unsigned>, 5> kNames = {
      {{"PiB", 50}, {"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}}};
  if (bytes != 0) {
    for (const auto& [name, shift] : kNames) {
      const std::uint64_t unit = std::uint64_t{1} << shift;
      if (bytes % unit == 0) return fmt::format("{} {}", bytes >> shift, name);
    }
  }
  return fmt::format("{} B", bytes);
}

std::string format_addr(std::uint64_t addr) { return fmt::format("{:#018x}", addr); }

}  // namespace dmakit
