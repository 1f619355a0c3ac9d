// SPDX-License-Identifier: Apache-2.0
// Umbrella header of the iommu layer: IOVA allocation, I/O page tables and the IOTLB model, the
// parts an IOMMU domain is built from (seeds 000, 002 and 004; reference section 6).
#pragma once

#include "dmakit/iommu/io_page_table.h"
#include "dmakit/iommu/iotlb.h"
#include "dmakit/iommu/iova_allocator.h"
#include "dmakit/iommu/perm.h"
