// SPDX-License-Identifier: Apache-2.0
// Umbrella header of the core layer: address types, masks, errors, sizes, assertions.
#pragma once

#include "dmakit/core/addr.h"
#include "dmakit/core/assert.h"
#include "dmakit/core/config_error.h"
#include "dmakit/core/direction.h"
#include "dmakit/core/error.h"
#include "dmakit/core/mask.h"
#include "dmakit/core/name_table.h"
#include "dmakit/core/rate_limit.h"
#include "dmakit/core/request_size.h"
#include "dmakit/core/result.h"
#include "dmakit/core/stats.h"
#include "dmakit/core/units.h"
