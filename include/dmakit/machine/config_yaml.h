// SPDX-License-Identifier: Apache-2.0
// Reading configuration values from YAML with errors that name the field (machine layer; used by
// every layer's configuration parser).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace dmakit::machine::yaml {

/// Throws ConfigError(field + "." + key) for a key of `map` not in `known`, and ConfigError(field)
/// when `map` is not a mapping.
void reject_unknown_keys(const YAML::Node& map, const std::string& field,
                         std::initializer_list<std::string_view> known);
/// A size ("16MiB", "0x1000", "4096"); ConfigError(field) otherwise.
[[nodiscard]] std::uint64_t size_of(const YAML::Node& node, const std::string& field);
/// A size that fits in 32 bits.
[[nodiscard]] unsigned unsigned_of(const YAML::Node& node, const std::string& field);
/// A signed size ("-1GiB" allowed).
[[nodiscard]] std::int64_t signed_of(const YAML::Node& node, const std::string& field);
[[nodiscard]] bool bool_of(const YAML::Node& node, const std::string& field);
/// Parses YAML text, throwing ConfigError("config") when it is not valid YAML.
[[nodiscard]] YAML::Node load(const std::string& text);
/// Reads a file's text, throwing ConfigError("config") when it cannot be read.
[[nodiscard]] std::string read_file(const std::string& path);

}  // namespace dmakit::machine::yaml
