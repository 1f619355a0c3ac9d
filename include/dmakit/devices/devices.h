// SPDX-License-Identifier: Apache-2.0
// The devices layer's umbrella header: device models and their drivers (seeds 000 to 004).
#pragma once

#include "dmakit/devices/checksum.h"
#include "dmakit/devices/copier.h"
#include "dmakit/devices/copy_engine.h"
#include "dmakit/devices/copy_only_adapter.h"
#include "dmakit/devices/copy_only_driver.h"
#include "dmakit/devices/device_model.h"
#include "dmakit/devices/engine_copier.h"
#include "dmakit/devices/legacy_device.h"
#include "dmakit/devices/legacy_driver.h"
#include "dmakit/devices/local_memory_device.h"
#include "dmakit/devices/local_memory_driver.h"
#include "dmakit/devices/model_config.h"
#include "dmakit/devices/nic.h"
#include "dmakit/devices/nic_driver.h"
#include "dmakit/devices/storage_controller.h"
#include "dmakit/devices/storage_driver.h"
#include "dmakit/devices/wire.h"
