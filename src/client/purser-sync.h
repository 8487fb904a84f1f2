/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "purser-client.h"

G_BEGIN_DECLS

typedef enum
{
  PURSER_SYNC_STATE_OFFLINE, /* the last sync could not reach the server (or none ran yet) */
  PURSER_SYNC_STATE_ONLINE,  /* the last sync succeeded */
  PURSER_SYNC_STATE_SYNCING, /* a sync is running */
} PurserSyncState;

#define PURSER_TYPE_SYNC_STATE (purser_sync_state_get_type ())
GType purser_sync_state_get_type (void);

/* The sync engine of one organization's cache: pulls GET /v1/orgs/{org}/events?after= in
 * batches and applies each batch with its cursor in one cache transaction; a fresh cache,
 * or a cursor the server does not know (410), gets a full resync through the list routes.
 * HTTP runs on the thread-default main context of the thread that created it, SQLite in
 * GTask worker threads. Properties: "state" (PurserSyncState), "last-synced"
 * (GDateTime, NULL before the first success), "progress" (0…1 during a run). The
 * "changed" signal says the cache contents changed. */
#define PURSER_TYPE_SYNC (purser_sync_get_type ())
G_DECLARE_FINAL_TYPE (PurserSync, purser_sync, PURSER, SYNC, GObject)

/* cache_path: usually purser_cache_build_path (host, org_id). */
PurserSync *purser_sync_new (PurserClient *client, const char *org_id, const char *cache_path);

PurserClient *purser_sync_get_client (PurserSync *self);
const char *purser_sync_get_org_id (PurserSync *self);
const char *purser_sync_get_cache_path (PurserSync *self);
PurserSyncState purser_sync_get_state (PurserSync *self);
/* The last successful sync, or NULL. */
GDateTime *purser_sync_get_last_synced (PurserSync *self);
double purser_sync_get_progress (PurserSync *self);
/* Why the last sync failed (NULL after a success), for the offline banner. */
const GError *purser_sync_get_error (PurserSync *self);

/* Events per request (1…5000; 500 by default). */
void purser_sync_set_batch_size (PurserSync *self, guint batch_size);

/* Syncs now. When a sync is already running, this one runs right after it (a change the
 * user just made is then fetched too). */
void purser_sync_run_async (PurserSync *self, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data);
gboolean purser_sync_run_finish (PurserSync *self, GAsyncResult *result, GError **error);

/* Syncs every `seconds` while the object lives (0 stops); failures show in the state. */
void purser_sync_start_periodic (PurserSync *self, guint seconds);
void purser_sync_stop_periodic (PurserSync *self);

G_END_DECLS
