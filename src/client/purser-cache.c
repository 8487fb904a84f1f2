/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#include "purser-cache-private.h"

struct _PurserCache
{
  PurserDb *db;
  char *path;
};

/* ── helpers ───────────────────────────────────────────────────────────────────── */

/* A store error as the client's domain, saying which cache failed. */
static void
set_cache_error (PurserCache *self, GError **error, GError *store_error, const char *what)
{
  g_set_error (error, PURSER_CLIENT_ERROR, PURSER_CLIENT_ERROR_CACHE,
               "Could not %s the saved data in %s: %s. Free some disk space or remove the "
               "file; it will be fetched again.",
               what, self != NULL ? self->path : "the cache",
               store_error != NULL ? store_error->message : "unknown error");
}

static gboolean
step_done (PurserCache *self, sqlite3_stmt *stmt, const char *what, GError **error)
{
  g_autoptr (GError) store_error = NULL;

  if (sqlite3_step (stmt) == SQLITE_DONE)
    return TRUE;
  purser_db_set_error (self->db, &store_error, what);
  set_cache_error (self, error, store_error, "write");
  return FALSE;
}

static sqlite3_stmt *
prepare (PurserCache *self, const char *sql, GError **error)
{
  g_autoptr (GError) store_error = NULL;
  sqlite3_stmt *stmt = purser_db_prepare (self->db, sql, &store_error);

  if (stmt == NULL)
    set_cache_error (self, error, store_error, "read");
  return stmt;
}

static const char *
member_string (JsonObject *object, const char *member)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, member) : NULL;

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gboolean
apply_event (PurserCache *self, JsonNode *event, gint64 *seq, GError **error)
{
  JsonObject *object = JSON_NODE_HOLDS_OBJECT (event) ? json_node_get_object (event) : NULL;
  JsonNode *entity = object != NULL ? json_object_get_member (object, "entity") : NULL;
  JsonObject *entity_object;
  JsonNode *after;
  const char *type, *id;

  if (entity == NULL || !JSON_NODE_HOLDS_OBJECT (entity) || !json_object_has_member (object, "seq"))
    goto malformed;
  entity_object = json_node_get_object (entity);
  type = member_string (entity_object, "type");
  id = member_string (entity_object, "id");
  if (type == NULL || id == NULL)
    goto malformed;
  *seq = json_object_get_int_member (object, "seq");
  after = json_object_get_member (object, "after");
  if (after == NULL || JSON_NODE_HOLDS_NULL (after))
    return purser_cache_delete (self, type, id, error);
  return purser_cache_put (self, type, id, after, error);

malformed:
  g_set_error (error, PURSER_CLIENT_ERROR, PURSER_CLIENT_ERROR_SERVER,
               "The server sent a change Purser can't read; the saved data was kept as it was.");
  return FALSE;
}

/* ── public API ────────────────────────────────────────────────────────────────── */

PurserCacheEntry *
purser_cache_entry_new (const char *type, const char *id, JsonNode *json)
{
  PurserCacheEntry *entry = g_new0 (PurserCacheEntry, 1);

  entry->type = g_strdup (type);
  entry->id = g_strdup (id);
  entry->json = json_node_ref (json);
  return entry;
}

void
purser_cache_entry_free (PurserCacheEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->type);
  g_free (entry->id);
  json_node_unref (entry->json);
  g_free (entry);
}

char *
purser_cache_build_path (const char *host, const char *org_id)
{
  g_autofree char *file = NULL;

  g_return_val_if_fail (host != NULL && *host != '\0', NULL);
  g_return_val_if_fail (org_id != NULL && *org_id != '\0', NULL);
  /* Neither may climb out of the cache folder. */
  g_return_val_if_fail (strchr (host, '/') == NULL && strcmp (host, "..") != 0, NULL);
  g_return_val_if_fail (strchr (org_id, '/') == NULL && strcmp (org_id, "..") != 0, NULL);

  file = g_strconcat (org_id, ".db", NULL);
  return g_build_filename (g_get_user_cache_dir (), "purser", host, file, NULL);
}

PurserCache *
purser_cache_open (const char *path, GError **error)
{
  g_autoptr (GError) store_error = NULL;
  g_autofree char *folder = NULL;
  PurserCache *self;

  g_return_val_if_fail (path != NULL, NULL);

  self = g_new0 (PurserCache, 1);
  self->path = g_strdup (path);
  folder = g_path_get_dirname (path);
  if (g_mkdir_with_parents (folder, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, PURSER_CLIENT_ERROR, PURSER_CLIENT_ERROR_CACHE,
                   "Could not create the folder %s for saved data: %s.", folder,
                   g_strerror (saved));
      purser_cache_close (self);
      return NULL;
    }
  self->db = purser_db_open (path, PURSER_SCHEMA_CACHE, &store_error);
  if (self->db == NULL)
    {
      set_cache_error (self, error, store_error, "open");
      purser_cache_close (self);
      return NULL;
    }
  return self;
}

void
purser_cache_close (PurserCache *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->db, purser_db_close);
  g_free (self->path);
  g_free (self);
}

PurserDb *
purser_cache_get_db (PurserCache *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->db;
}

const char *
purser_cache_get_path (PurserCache *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->path;
}

gboolean
purser_cache_get_state (PurserCache *self, gint64 *cursor, gint64 *synced_at, GError **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (self != NULL, FALSE);

  stmt = prepare (self, "SELECT cursor, IFNULL (synced_at, 0) FROM sync_state WHERE id = 1", error);
  if (stmt == NULL)
    return FALSE;
  if (sqlite3_step (stmt) != SQLITE_ROW)
    {
      g_autoptr (GError) store_error = NULL;

      purser_db_set_error (self->db, &store_error, "sync state");
      set_cache_error (self, error, store_error, "read");
      return FALSE;
    }
  if (cursor != NULL)
    *cursor = sqlite3_column_int64 (stmt, 0);
  if (synced_at != NULL)
    *synced_at = sqlite3_column_int64 (stmt, 1);
  sqlite3_reset (stmt);
  return TRUE;
}

gboolean
purser_cache_set_state (PurserCache *self, gint64 cursor, gint64 synced_at, GError **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (cursor >= 0, FALSE);

  stmt = prepare (self, "UPDATE sync_state SET cursor = ?1, synced_at = ?2 WHERE id = 1", error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_int64 (stmt, 1, cursor);
  if (synced_at > 0)
    purser_db_bind_int64 (stmt, 2, synced_at);
  return step_done (self, stmt, "sync state", error);
}

gboolean
purser_cache_begin (PurserCache *self, GError **error)
{
  g_autoptr (GError) store_error = NULL;

  g_return_val_if_fail (self != NULL, FALSE);

  if (purser_db_begin (self->db, &store_error))
    return TRUE;
  set_cache_error (self, error, store_error, "write");
  return FALSE;
}

gboolean
purser_cache_commit (PurserCache *self, GError **error)
{
  g_autoptr (GError) store_error = NULL;

  g_return_val_if_fail (self != NULL, FALSE);

  if (purser_db_commit (self->db, &store_error))
    return TRUE;
  set_cache_error (self, error, store_error, "write");
  return FALSE;
}

void
purser_cache_rollback (PurserCache *self)
{
  g_return_if_fail (self != NULL);

  purser_db_rollback (self->db);
}

gboolean
purser_cache_put (PurserCache *self, const char *type, const char *id, JsonNode *json,
                  GError **error)
{
  g_autofree char *text = NULL;
  sqlite3_stmt *stmt;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (type != NULL && id != NULL && json != NULL, FALSE);

  stmt = prepare (self,
                  "INSERT INTO resources (type, id, json) VALUES (?1, ?2, ?3)"
                  " ON CONFLICT (type, id) DO UPDATE SET json = excluded.json",
                  error);
  if (stmt == NULL)
    return FALSE;
  text = json_to_string (json, FALSE);
  purser_db_bind_text (stmt, 1, type);
  purser_db_bind_text (stmt, 2, id);
  purser_db_bind_text (stmt, 3, text);
  return step_done (self, stmt, "resource", error);
}

gboolean
purser_cache_delete (PurserCache *self, const char *type, const char *id, GError **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (type != NULL && id != NULL, FALSE);

  stmt = prepare (self, "DELETE FROM resources WHERE type = ?1 AND id = ?2", error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, type);
  purser_db_bind_text (stmt, 2, id);
  return step_done (self, stmt, "resource", error);
}

JsonNode *
purser_cache_get (PurserCache *self, const char *type, const char *id, GError **error)
{
  g_autoptr (GError) parse_error = NULL;
  sqlite3_stmt *stmt;
  JsonNode *node;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (type != NULL && id != NULL, NULL);

  stmt = prepare (self, "SELECT json FROM resources WHERE type = ?1 AND id = ?2", error);
  if (stmt == NULL)
    return NULL;
  purser_db_bind_text (stmt, 1, type);
  purser_db_bind_text (stmt, 2, id);
  if (sqlite3_step (stmt) != SQLITE_ROW)
    {
      sqlite3_reset (stmt);
      g_set_error (error, PURSER_CLIENT_ERROR, PURSER_CLIENT_ERROR_NOT_FOUND,
                   "This %s is not in the saved data yet. Sync to fetch it.", type);
      return NULL;
    }
  node = json_from_string ((const char *) sqlite3_column_text (stmt, 0), &parse_error);
  sqlite3_reset (stmt);
  if (node == NULL)
    set_cache_error (self, error, parse_error, "read");
  return node;
}

gboolean
purser_cache_count (PurserCache *self, const char *type, guint *n_items, GError **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (type != NULL && n_items != NULL, FALSE);

  stmt = prepare (self, "SELECT count(*) FROM resources WHERE type = ?1", error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, type);
  if (sqlite3_step (stmt) != SQLITE_ROW)
    {
      g_autoptr (GError) store_error = NULL;

      purser_db_set_error (self->db, &store_error, "count");
      set_cache_error (self, error, store_error, "read");
      return FALSE;
    }
  *n_items = (guint) sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  return TRUE;
}

gboolean
purser_cache_apply_events (PurserCache *self, JsonArray *events, gint64 now, GError **error)
{
  gint64 cursor = 0, seq = 0;
  guint n;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (events != NULL, FALSE);

  if (!purser_cache_get_state (self, &cursor, NULL, error) || !purser_cache_begin (self, error))
    return FALSE;
  n = json_array_get_length (events);
  for (guint i = 0; i < n; i++)
    {
      if (!apply_event (self, json_array_get_element (events, i), &seq, error))
        goto fail;
      /* Out of order would mean a gap the cursor then skips over. */
      if (seq <= cursor)
        {
          g_set_error (error, PURSER_CLIENT_ERROR, PURSER_CLIENT_ERROR_SERVER,
                       "The server sent changes out of order; the saved data was kept as it "
                       "was.");
          goto fail;
        }
      cursor = seq;
    }
  if (!purser_cache_set_state (self, cursor, now, error) || !purser_cache_commit (self, error))
    goto fail;
  return TRUE;

fail:
  purser_cache_rollback (self);
  return FALSE;
}

gboolean
purser_cache_replace (PurserCache *self, GPtrArray *entries, gint64 cursor, gint64 now,
                      GError **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (entries != NULL, FALSE);

  if (!purser_cache_begin (self, error))
    return FALSE;
  stmt = prepare (self, "DELETE FROM resources", error);
  if (stmt == NULL || !step_done (self, stmt, "resources", error))
    goto fail;
  for (guint i = 0; i < entries->len; i++)
    {
      PurserCacheEntry *entry = g_ptr_array_index (entries, i);

      if (!purser_cache_put (self, entry->type, entry->id, entry->json, error))
        goto fail;
    }
  if (!purser_cache_set_state (self, cursor, now, error) || !purser_cache_commit (self, error))
    goto fail;
  return TRUE;

fail:
  purser_cache_rollback (self);
  return FALSE;
}
