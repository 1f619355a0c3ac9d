// SPDX-License-Identifier: Apache-2.0
// Reports as text (debug layer).
#include "dmakit/debug/report.h"

#include <fmt/format.h>

namespace dmakit::debug {

std::string_view kind_name(dma::MappingKind kind) {
  switch (kind) {
    case dma::MappingKind::Page:
      return "page";
    case dma::MappingKind::Single:
      return "single";
    case dma::MappingKind::SgEntry:
      return "sg";
    case dma::MappingKind::Coherent:
      return "coherent";
  }
  return "?";
}

std::string MappingRecord::describe() const {
  std::string text = fmt::format("{} {} [dma {:#x}, +{:#x}) phys {:#x} {}", device, kind_name(kind),
                                 dma.value(), size, phys.value(), direction_name(dir));
  if (kind == dma::MappingKind::SgEntry) text += fmt::format(" of {} entries", sg_count);
  if (kind != dma::MappingKind::Coherent) text += device_owns ? ", device owns" : ", CPU owns";
  return text;
}

std::string Report::to_string() const {
  std::string text = fmt::format("dma-debug: {}: {}: {}\n", misuse_name(misuse),
                                 device.empty() ? "cpu" : device, message);
  if (!call.empty()) text += "  call:\n" + call.symbolize();
  if (mapping) {
    text += fmt::format("  mapping: {}\n", mapping->describe());
    if (!mapping->mapped_at.empty()) text += "  mapped at:\n" + mapping->mapped_at.symbolize();
  }
  for (std::size_t i = 0; i < leaked.size(); ++i) {
    text += fmt::format("  leaked {}: {}\n", i, leaked[i].describe());
    if (!leaked[i].mapped_at.empty()) text += "  mapped at:\n" + leaked[i].mapped_at.symbolize();
  }
  return text;
}

}  // namespace dmakit::debug
