// SPDX-License-Identifier: Apache-2.0
// Assertions for bugs inside dmakit, in three tiers (core layer). Misuse by callers is never an
// assertion: it is an error value or a checker report.
//   DMAKIT_CHECK(cond, fmt, ...)  always on; cheap checks whose failure means corrupted state.
//   DMAKIT_ASSERT(cond, fmt, ...) debug builds only.
//   DMAKIT_EXPENSIVE(stmt)        whole-structure validators, with DMAKIT_EXPENSIVE_CHECKS (tests,
//   asan).
#pragma once

#include <fmt/format.h>

namespace dmakit::detail {

[[noreturn]] void check_failed(const char* file, int line, const char* condition,
                               const std::string& message);

}  // namespace dmakit::detail

#define DMAKIT_CHECK(cond, ...)                                                              \
  do {                                                                                       \
    if (!(cond)) [[unlikely]]                                                                \
      ::dmakit::detail::check_failed(__FILE__, __LINE__, #cond, ::fmt::format(__VA_ARGS__)); \
  } while (false)

#ifndef NDEBUG
#define DMAKIT_ASSERT(cond, ...) DMAKIT_CHECK(cond, __VA_ARGS__)
#else
#define DMAKIT_ASSERT(cond, ...) \
  do {                           \
  } while (false)
#endif

#if defined(DMAKIT_EXPENSIVE_CHECKS) && DMAKIT_EXPENSIVE_CHECKS
#define DMAKIT_EXPENSIVE(stmt) \
  do {                         \
    stmt;                      \
  } while (false)
#else
#define DMAKIT_EXPENSIVE(stmt) \
  do {                         \
  } while (false)
#endif
