// SPDX-License-Identifier: Apache-2.0
// Umbrella header of the dma layer.
#pragma once

#include "dmakit/dma/device.h"
#include "dmakit/dma/kmalloc_dev.h"
