# SPDX-License-Identifier: Apache-2.0
# One helper per kind of artifact (library per layer, test, benchmark), and the warning and sanitizer
# flags every target shares.
include_guard(GLOBAL)
include(GNUInstallDirs)

set(DMAKIT_WARNINGS -Wall -Wextra -Wpedantic -Wshadow
  $<$<COMPILE_LANGUAGE:CXX>:-Wnon-virtual-dtor -Wold-style-cast>)
if(DMAKIT_WERROR)
  list(APPEND DMAKIT_WARNINGS -Werror)
endif()

if(DMAKIT_SANITIZE)
  add_compile_options(-fsanitize=${DMAKIT_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${DMAKIT_SANITIZE})
endif()

# dmakit_add_library(<layer> SOURCES ... [DEPS ...]): the static library dmakit_<layer>, aliased as
# dmakit::<layer>. DEPS may name only lower layers (docs/layering.md); check_layering enforces it.
function(dmakit_add_library layer)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(dmakit_${layer} STATIC ${ARG_SOURCES})
  add_library(dmakit::${layer} ALIAS dmakit_${layer})
  target_include_directories(dmakit_${layer}
    PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
           $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include> $<INSTALL_INTERFACE:include>
    PRIVATE ${PROJECT_SOURCE_DIR}/src)
  set_target_properties(dmakit_${layer} PROPERTIES EXPORT_NAME ${layer})
  install(TARGETS dmakit_${layer} EXPORT dmakitTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  target_compile_options(dmakit_${layer} PRIVATE ${DMAKIT_WARNINGS})
  target_link_libraries(dmakit_${layer} PUBLIC ${ARG_DEPS})
  if(DMAKIT_EXPENSIVE_CHECKS)
    target_compile_definitions(dmakit_${layer} PUBLIC DMAKIT_EXPENSIVE_CHECKS=1)
  endif()
endfunction()

# dmakit_add_test(<name> SOURCES ... [DEPS ...] [LABELS ...]): a GoogleTest binary whose cases are
# registered one by one with ctest.
function(dmakit_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${DMAKIT_WARNINGS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  # One label a binary: gtest_discover_tests passes a list of labels on as separate properties.
  list(LENGTH ARG_LABELS count)
  if(count GREATER 1)
    message(FATAL_ERROR "${name}: one label per test binary, not ${ARG_LABELS}")
  endif()
  gtest_discover_tests(${name} PROPERTIES LABELS "${ARG_LABELS}" DISCOVERY_TIMEOUT 60)
  # `<label>_tests` builds the binaries of one label alone (scripts/test.sh PRESET LABEL).
  if(ARG_LABELS)
    if(NOT TARGET ${ARG_LABELS}_tests)
      add_custom_target(${ARG_LABELS}_tests)
    endif()
    add_dependencies(${ARG_LABELS}_tests ${name})
  endif()
endfunction()

# dmakit_add_bench(<name> SOURCES ... [DEPS ...]): a Google Benchmark binary.
function(dmakit_add_bench name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${DMAKIT_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} benchmark::benchmark)
endfunction()
