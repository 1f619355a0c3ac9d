// SPDX-License-Identifier: Apache-2.0
// A scenario small enough for unit tests: the default scenario's five devices on an 8 GiB machine
// (RAM above 4 GiB), with few operations.
#pragma once

inline constexpr const char* kSmallScenario = R"(
scenario:
  name: small
  seed: 7
  operations: 96
machine:
  ram: 8GiB
devices:
  - name: nic64
    dma_mask: 64
    model: {kind: nic, descriptors: 64}
  - name: nic32
    dma_mask: 32
    model: {kind: nic, descriptors: 32}
  - name: odd31
    dma_mask: 31
    model: {kind: legacy, address_bits: 31}
  - name: disk
    dma_mask: 64
    model: {kind: storage}
  - name: dma0
    dma_mask: 32
    model: {kind: engine, channels: 1}
workloads:
  - device: nic64
    packets: {sizes: imix, direction: both, batch: 16}
  - device: nic32
    packets: {sizes: [1500], direction: receive, batch: 16}
  - device: odd31
    transfers: {bytes: 8KiB}
  - device: disk
    block_io: {io_bytes: 16KiB, read_percent: 50, queue_depth: 4}
  - device: dma0
    copies: {bytes: 16KiB}
)";
