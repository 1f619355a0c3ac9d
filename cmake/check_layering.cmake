# SPDX-License-Identifier: Apache-2.0
# Run as `cmake -DSOURCE_DIR=<repo> -P check_layering.cmake`. Fails when a file of one layer includes a
# header of a layer that comes later in the order below (include/dmakit/README.md).
set(DMAKIT_LAYERS core machine alloc swiotlb iommu dma pool engine debug devices sim linux)
# swiotlb and iommu are siblings: neither may include the other.
set(rank_core 0)
set(rank_machine 1)
set(rank_alloc 2)
set(rank_swiotlb 3)
set(rank_iommu 3)
set(rank_dma 4)
set(rank_pool 5)
set(rank_engine 6)
set(rank_debug 7)
set(rank_devices 8)
set(rank_sim 9)
set(rank_linux 10)

set(violations "")
foreach(layer IN LISTS DMAKIT_LAYERS)
  file(GLOB_RECURSE files
    "${SOURCE_DIR}/include/dmakit/${layer}/*.h"
    "${SOURCE_DIR}/src/${layer}/*.h"
    "${SOURCE_DIR}/src/${layer}/*.cc")
  foreach(f IN LISTS files)
    file(STRINGS "${f}" includes REGEX "^#include \"dmakit/[a-z]+/")
    foreach(line IN LISTS includes)
      string(REGEX REPLACE "^#include \"dmakit/([a-z]+)/.*" "\\1" used "${line}")
      if(NOT DEFINED rank_${used})
        list(APPEND violations "${f}: unknown layer '${used}'")
      elseif(NOT used STREQUAL layer AND NOT rank_${used} LESS rank_${layer})
        list(APPEND violations "${f}: layer '${layer}' includes higher layer '${used}'")
      endif()
    endforeach()
  endforeach()
endforeach()

if(violations)
  list(JOIN violations "\n" message)
  message(FATAL_ERROR "layering violations:\n${message}")
endif()
message(STATUS "layering: ok")
