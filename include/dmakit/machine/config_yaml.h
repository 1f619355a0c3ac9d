// SPDX-License-Identifier: Apache-2.0
// Reading configuration values from YAML with errors that name the field (machine layer; used by
// every layer's configuration parser).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "dmakit/core/config_error.h"
#include "dmakit/core/name_table.h"

namespace dmakit::machine::yaml {

/// `text` fit to name a field: control characters as \xNN, since the field ends up in what(), a C
/// string that a NUL byte would cut short (and a terminal would act on the rest).
[[nodiscard]] std::string printable(std::string_view text);
/// Throws ConfigError(field + "." + key) for a key of `map` not in `known`, and ConfigError(field)
/// when `map` is not a mapping.
void reject_unknown_keys(const YAML::Node& map, const std::string& field,
                         std::span<const std::string_view> known);
inline void reject_unknown_keys(const YAML::Node& map, const std::string& field,
                                std::initializer_list<std::string_view> known) {
  reject_unknown_keys(map, field, std::span(known.begin(), known.size()));
}
/// A size ("16MiB", "0x1000", "4096"); ConfigError(field) otherwise.
[[nodiscard]] std::uint64_t size_of(const YAML::Node& node, const std::string& field);
/// A whole number without a unit, decimal or 0x hex (a seed, where "1KiB" would mean nothing);
/// ConfigError(field) naming the text otherwise.
[[nodiscard]] std::uint64_t whole_number_of(const YAML::Node& node, const std::string& field);
/// A size that fits in 32 bits.
[[nodiscard]] unsigned unsigned_of(const YAML::Node& node, const std::string& field);
/// A size from `low` to `high`; ConfigError(field) naming the value and the bounds otherwise, with
/// `why` (the bound's reason, if any) after them.
[[nodiscard]] std::uint64_t size_in(const YAML::Node& node, const std::string& field,
                                    std::uint64_t low, std::uint64_t high,
                                    std::string_view why = {});
/// A count from `low` to `high` (at most 32 bits), checked as size_in().
[[nodiscard]] unsigned count_in(const YAML::Node& node, const std::string& field, unsigned low,
                                unsigned high, std::string_view why = {});
/// A signed size ("-1GiB" allowed).
[[nodiscard]] std::int64_t signed_of(const YAML::Node& node, const std::string& field);
[[nodiscard]] bool bool_of(const YAML::Node& node, const std::string& field);
/// The value a scalar names in `table`; ConfigError(field) naming the text and every choice
/// otherwise.
template <class E, std::size_t N>
[[nodiscard]] E choice_of(const YAML::Node& node, const std::string& field,
                          const NameTable<E, N>& table) {
  if (node.IsScalar()) {
    if (const std::optional<E> value = value_of(table, node.Scalar())) return *value;
    throw ConfigError(field, "'" + printable(node.Scalar()) + "' is not " + names_text(table));
  }
  throw ConfigError(field, "expected " + names_text(table));
}
/// Throws ConfigError naming the key's path ("machine.ram") and both lines when a mapping anywhere
/// under `root` holds a key twice. yaml-cpp keeps both entries and its lookups find the first, so
/// without this check a repeated key would be silently ignored.
void reject_duplicate_keys(const YAML::Node& root);
/// Parses YAML text, throwing ConfigError("config") when it is not valid YAML, and checks it with
/// reject_duplicate_keys().
[[nodiscard]] YAML::Node load(const std::string& text);
/// The most bytes read from one configuration file: 4 MiB, hundreds of times the largest shipped
/// configuration (configs/devices.yaml, 7 KiB). A larger input is refused after reading at most
/// one byte past this, so a file that never ends (/dev/zero, a pipe) cannot hang a reader or fill
/// the host's memory.
inline constexpr std::size_t kMaxConfigBytes = std::size_t{4} << 20;
/// Reads a configuration file's text: every reader of files goes through here. Throws
/// ConfigError("config") naming the path when it cannot be read or holds more than
/// kMaxConfigBytes.
[[nodiscard]] std::string read_file(const std::string& path);

/// Calls `each(entry, "key[i]")` for every entry of the top-level list `key` of `yaml_text`; none
/// when there is no such key. ConfigError(key) when it is not a list ("expected a list of
/// `what`") or a value in it is malformed.
void for_each_listed(const std::string& yaml_text, const std::string& key, std::string_view what,
                     const std::function<void(const YAML::Node&, const std::string&)>& each);

}  // namespace dmakit::machine::yaml
