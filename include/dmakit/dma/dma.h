// SPDX-License-Identifier: Apache-2.0
// Umbrella header of the dma layer.
#pragma once

#include "dmakit/dma/bus_access.h"
#include "dmakit/dma/coherent.h"
#include "dmakit/dma/cpu_access.h"
#include "dmakit/dma/cpu_copy_ops.h"
#include "dmakit/dma/declared_memory.h"
#include "dmakit/dma/device.h"
#include "dmakit/dma/device_config.h"
#include "dmakit/dma/direct_ops.h"
#include "dmakit/dma/dma_ops.h"
#include "dmakit/dma/kmalloc_dev.h"
#include "dmakit/dma/mapping.h"
#include "dmakit/dma/mapping_observer.h"
#include "dmakit/dma/mapping_tracker.h"
#include "dmakit/dma/platform.h"
#include "dmakit/dma/reverse_map.h"
#include "dmakit/dma/scatterlist.h"
#include "dmakit/dma/strategy.h"
