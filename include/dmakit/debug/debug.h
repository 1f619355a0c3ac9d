// SPDX-License-Identifier: Apache-2.0
// Umbrella header of the debug layer: the DMA-API misuse checker.
#pragma once

#include "dmakit/debug/call_stack.h"
#include "dmakit/debug/dma_debug.h"
#include "dmakit/debug/dma_debug_config.h"
#include "dmakit/debug/misuse.h"
#include "dmakit/debug/report.h"
