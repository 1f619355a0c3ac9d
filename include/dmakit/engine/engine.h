// SPDX-License-Identifier: Apache-2.0
// The engine layer's umbrella header: asynchronous copy offload (seed 002) — cookies, descriptors,
// channels, engines and their configuration, and the best-method AsyncTx over them.
#pragma once

#include "dmakit/engine/async_tx.h"
#include "dmakit/engine/channel.h"
#include "dmakit/engine/cookie.h"
#include "dmakit/engine/descriptor.h"
#include "dmakit/engine/dma_engine.h"
#include "dmakit/engine/engine_config.h"
