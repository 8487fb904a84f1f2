/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "purser-client-error.h"

G_BEGIN_DECLS

/* The local cache of one organization on one server: an SQLite file (PURSER_SCHEMA_CACHE)
 * holding every resource as the API shows it, keyed by type ("org", "department",
 * "employee", "subscription", "invoice", "payment", "payment_method", "credit_note") and
 * id, with the sync cursor. Not thread-safe: one thread at a time uses a cache (the sync
 * runs it in worker threads, one operation after the other). Errors are
 * PURSER_CLIENT_ERROR_CACHE. */
typedef struct _PurserCache PurserCache;

/* A resource for purser_cache_replace. */
typedef struct
{
  char *type;
  char *id;
  JsonNode *json;
} PurserCacheEntry;

PurserCacheEntry *purser_cache_entry_new (const char *type, const char *id, JsonNode *json);
void purser_cache_entry_free (PurserCacheEntry *entry);

/* $XDG_CACHE_HOME/purser/<host>/<org_id>.db */
char *purser_cache_build_path (const char *host, const char *org_id);

/* Opens (creating the file and its folders) and migrates. */
PurserCache *purser_cache_open (const char *path, GError **error);
void purser_cache_close (PurserCache *self);
const char *purser_cache_get_path (PurserCache *self);

/* The seq of the newest event applied (0: never synced) and the unix time of the last
 * successful sync (0: never). */
gboolean purser_cache_get_state (PurserCache *self, gint64 *cursor, gint64 *synced_at,
                                 GError **error);
gboolean purser_cache_set_state (PurserCache *self, gint64 cursor, gint64 synced_at,
                                 GError **error);

gboolean purser_cache_begin (PurserCache *self, GError **error);
gboolean purser_cache_commit (PurserCache *self, GError **error);
void purser_cache_rollback (PurserCache *self);

gboolean purser_cache_put (PurserCache *self, const char *type, const char *id, JsonNode *json,
                           GError **error);
gboolean purser_cache_delete (PurserCache *self, const char *type, const char *id, GError **error);
/* The resource, or NULL with PURSER_CLIENT_ERROR_NOT_FOUND. */
JsonNode *purser_cache_get (PurserCache *self, const char *type, const char *id, GError **error);
gboolean purser_cache_count (PurserCache *self, const char *type, guint *n_items, GError **error);

/* Applies a batch of events (the `data` of an events page, in seq order) in one
 * transaction: each event's `after` is upserted as entity.type/entity.id, or the entity is
 * deleted when `after` is null; the cursor becomes the last event's seq and synced_at
 * `now`. Nothing is applied when any event fails. */
gboolean purser_cache_apply_events (PurserCache *self, JsonArray *events, gint64 now,
                                    GError **error);

/* Replaces the whole contents by `entries` (PurserCacheEntry) and sets the cursor, in one
 * transaction. */
gboolean purser_cache_replace (PurserCache *self, GPtrArray *entries, gint64 cursor, gint64 now,
                               GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PurserCache, purser_cache_close)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PurserCacheEntry, purser_cache_entry_free)

G_END_DECLS
