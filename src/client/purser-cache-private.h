/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "purser-cache.h"
#include "purser-db.h"

G_BEGIN_DECLS

/* For the read models of this library: their own queries over the cache's tables. */
PurserDb *purser_cache_get_db (PurserCache *self);

G_END_DECLS
