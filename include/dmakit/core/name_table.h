// SPDX-License-Identifier: Apache-2.0
// Name tables (core layer): one table per enum gives both the name a value prints as and the
// values a configuration or command line may name, so the two cannot drift apart. A value may
// have more than one name ("deferred" and "lazy"); it prints as the first.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace dmakit {

template <class E>
struct Named {
  E value;
  std::string_view name;
};

template <class E, std::size_t N>
using NameTable = std::array<Named<E>, N>;

/// The first name of `value` in `table`; "?" when it has none.
template <class E, std::size_t N>
[[nodiscard]] constexpr std::string_view name_of(const NameTable<E, N>& table, E value) {
  for (const Named<E>& n : table)
    if (n.value == value) return n.name;
  return "?";
}

/// The value `name` names in `table`.
template <class E, std::size_t N>
[[nodiscard]] constexpr std::optional<E> value_of(const NameTable<E, N>& table,
                                                  std::string_view name) {
  for (const Named<E>& n : table)
    if (n.name == name) return n.value;
  return std::nullopt;
}

/// Every name of `table` for a message: "a, b or c".
template <class E, std::size_t N>
[[nodiscard]] std::string names_text(const NameTable<E, N>& table) {
  std::string text;
  for (std::size_t i = 0; i < N; ++i) {
    if (i != 0) text += i + 1 == N ? " or " : ", ";
    text += table[i].name;
  }
  return text;
}

}  // namespace dmakit
