// SPDX-License-Identifier: Apache-2.0
// YAML field readers (machine layer).
#include "dmakit/machine/config_yaml.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include "dmakit/core/config_error.h"
#include "dmakit/core/units.h"

namespace dmakit::machine::yaml {

std::string printable(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    else
      out += c;
  }
  return out;
}

void reject_unknown_keys(const YAML::Node& map, const std::string& field,
                         std::span<const std::string_view> known) {
  if (!map.IsMap()) throw ConfigError(field, "expected a mapping of keys to values");
  for (const auto& entry : map) {
    const std::string key = entry.first.as<std::string>();
    bool found = false;
    std::string list;
    for (std::string_view k : known) {
      found = found || key == k;
      list += fmt::format("{}{}", list.empty() ? "" : ", ", k);
    }
    if (!found)
      throw ConfigError(
          field.empty() ? printable(key) : fmt::format("{}.{}", field, printable(key)),
          fmt::format("unknown key (known: {})", list));
  }
}

std::uint64_t size_of(const YAML::Node& node, const std::string& field) {
  if (!node.IsScalar()) throw ConfigError(field, "expected a size such as 16MiB or 0x1000000");
  const Result<std::uint64_t> size = parse_size(node.Scalar());
  if (!size) throw ConfigError(field, size.error().message);
  return *size;
}

std::uint64_t whole_number_of(const YAML::Node& node, const std::string& field) {
  const std::string text = node.IsScalar() ? node.Scalar() : std::string();
  const bool hex = text.starts_with("0x") || text.starts_with("0X");
  const char* first = text.data() + (hex ? 2 : 0);
  const char* last = text.data() + text.size();
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(first, last, value, hex ? 16 : 10);
  if (!node.IsScalar() || first == last || error != std::errc() || end != last)
    throw ConfigError(field, fmt::format("'{}' is not a whole number below 2^64, decimal or 0x hex",
                                         node.IsScalar() ? text : std::string("(not a scalar)")));
  return value;
}

unsigned unsigned_of(const YAML::Node& node, const std::string& field) {
  const std::uint64_t value = size_of(node, field);
  if (value > 0xffffffffu) throw ConfigError(field, fmt::format("{} is too large", value));
  return static_cast<unsigned>(value);
}

std::uint64_t size_in(const YAML::Node& node, const std::string& field, std::uint64_t low,
                      std::uint64_t high, std::string_view why) {
  const std::uint64_t value = size_of(node, field);
  if (value < low || value > high)
    throw ConfigError(field, fmt::format("{}: must be {} to {}{}{}", value, low, high,
                                         why.empty() ? "" : " (", why.empty() ? "" : ")"));
  return value;
}

unsigned count_in(const YAML::Node& node, const std::string& field, unsigned low, unsigned high,
                  std::string_view why) {
  return static_cast<unsigned>(size_in(node, field, low, high, why));
}

bool bool_of(const YAML::Node& node, const std::string& field) {
  if (node.IsScalar() && (node.Scalar() == "true" || node.Scalar() == "false"))
    return node.Scalar() == "true";
  throw ConfigError(field, "expected true or false");
}

std::int64_t signed_of(const YAML::Node& node, const std::string& field) {
  if (node.IsScalar() && !node.Scalar().empty() && node.Scalar()[0] == '-') {
    const Result<std::uint64_t> magnitude = parse_size(node.Scalar().substr(1));
    if (!magnitude || *magnitude > (std::uint64_t{1} << 63))
      throw ConfigError(field, fmt::format("'{}' is not a size", node.Scalar()));
    return -static_cast<std::int64_t>(*magnitude);
  }
  const std::uint64_t value = size_of(node, field);
  if (value >= (std::uint64_t{1} << 63)) throw ConfigError(field, "too large");
  return static_cast<std::int64_t>(value);
}

void reject_duplicate_keys(const YAML::Node& root) {
  // Iterative, so that deep nesting cannot overflow the stack, and each node visited once by its
  // position in the text, so that aliases of one anchor cannot make the walk exponential.
  std::vector<std::pair<YAML::Node, std::string>> pending{{root, ""}};
  std::set<std::size_t> visited;
  while (!pending.empty()) {
    auto [node, path] = std::move(pending.back());
    pending.pop_back();
    const YAML::Mark mark = node.Mark();
    if (!mark.is_null() && !visited.insert(static_cast<std::size_t>(mark.pos)).second) continue;
    const std::string prefix = path.empty() ? path : path + ".";
    if (node.IsSequence()) {
      for (std::size_t i = 0; i < node.size(); ++i)
        pending.emplace_back(node[i], fmt::format("{}[{}]", path, i));
    } else if (node.IsMap()) {
      std::map<std::string, int> seen;  // key, line
      for (const auto& entry : node) {
        const std::string field =
            prefix + printable(entry.first.IsScalar() ? entry.first.Scalar() : std::string("?"));
        const int line = entry.first.Mark().line + 1;
        if (entry.first.IsScalar()) {
          const auto [first, added] = seen.emplace(entry.first.Scalar(), line);
          if (!added)
            throw ConfigError(field,
                              fmt::format("given twice, on lines {} and {}", first->second, line));
        }
        pending.emplace_back(entry.second, field);
      }
    }
  }
}

YAML::Node load(const std::string& text) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError("config", fmt::format("not valid YAML: {}", e.what()));
  }
  reject_duplicate_keys(root);
  return root;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("config", fmt::format("cannot read '{}'", path));
  // Read in pieces, never more than one byte past the limit: the size a file reports means
  // nothing for a device or a pipe.
  std::string text;
  std::array<char, 64 * 1024> piece{};
  while (in && text.size() <= kMaxConfigBytes) {
    in.read(piece.data(),
            std::streamsize(std::min(piece.size(), kMaxConfigBytes + 1 - text.size())));
    text.append(piece.data(), std::size_t(in.gcount()));
  }
  if (text.size() > kMaxConfigBytes)
    throw ConfigError("config", fmt::format("'{}' is larger than {} MiB, the limit on a "
                                            "configuration file",
                                            path, kMaxConfigBytes >> 20));
  if (in.bad()) throw ConfigError("config", fmt::format("cannot read '{}'", path));
  return text;
}

void for_each_listed(const std::string& yaml_text, const std::string& key, std::string_view what,
                     const std::function<void(const YAML::Node&, const std::string&)>& each) {
  const YAML::Node root = load(yaml_text);
  if (!root.IsMap() || !root[key]) return;
  const YAML::Node list = root[key];
  if (!list.IsSequence()) throw ConfigError(key, fmt::format("expected a list of {}", what));
  try {
    for (std::size_t i = 0; i < list.size(); ++i) each(list[i], fmt::format("{}[{}]", key, i));
  } catch (const YAML::Exception& e) {
    throw ConfigError(key, fmt::format("malformed value: {}", e.what()));
  }
}

}  // namespace dmakit::machine::yaml
