// SPDX-License-Identifier: Apache-2.0
// Everything dmakit offers, for users who want one include.
#pragma once

#include "dmakit/alloc/alloc.h"
#include "dmakit/core/core.h"
#include "dmakit/debug/debug.h"
#include "dmakit/devices/devices.h"
#include "dmakit/dma/dma.h"
#include "dmakit/engine/engine.h"
#include "dmakit/iommu/iommu.h"
#include "dmakit/machine/machine.h"
#include "dmakit/pool/dma_pool.h"
#include "dmakit/swiotlb/swiotlb.h"
