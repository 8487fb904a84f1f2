/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "purser-store-private.h"

/* Billing events, idempotency keys and the billing clock. */

#define EVENT_COLUMNS                                                          \
  "seq, id, org_id, time, actor, type, entity_type, entity_id, department_id," \
  " before_json, after_json"

/* ── billing events ────────────────────────────────────────────────────────────── */

void
purser_event_record_clear (PurserEventRecord *rec)
{
  g_clear_pointer (&rec->id, g_free);
  g_clear_pointer (&rec->org_id, g_free);
  g_clear_pointer (&rec->actor, g_free);
  g_clear_pointer (&rec->type, g_free);
  g_clear_pointer (&rec->entity_type, g_free);
  g_clear_pointer (&rec->entity_id, g_free);
  g_clear_pointer (&rec->department_id, g_free);
  g_clear_pointer (&rec->before_json, g_free);
  g_clear_pointer (&rec->after_json, g_free);
}

GArray *
purser_event_records_new (void)
{
  GArray *records = g_array_new (FALSE, TRUE, sizeof (PurserEventRecord));

  g_array_set_clear_func (records, (GDestroyNotify) purser_event_record_clear);
  return records;
}

gboolean
purser_store_event_append (PurserDb *db, PurserEventRecord *rec, GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;
  g_autofree char *id = purser_db_new_id ("evt");

  g_return_val_if_fail (rec != NULL && rec->org_id != NULL, FALSE);

  /* seq is left to AUTOINCREMENT: the order of commits is the order of the feed. */
  stmt = purser_db_prepare (db,
                            "INSERT INTO events (id, org_id, time, actor, type, entity_type,"
                            " entity_id, department_id, before_json, after_json)"
                            " VALUES (?,?,?,?,?,?,?,?,?,?)",
                            error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, id);
  purser_db_bind_text (stmt, 2, rec->org_id);
  purser_db_bind_int64 (stmt, 3, rec->time);
  purser_db_bind_text (stmt, 4, rec->actor);
  purser_db_bind_text (stmt, 5, rec->type);
  purser_db_bind_text (stmt, 6, rec->entity_type);
  purser_db_bind_text (stmt, 7, rec->entity_id);
  purser_db_bind_text (stmt, 8, rec->department_id);
  purser_db_bind_text (stmt, 9, rec->before_json);
  purser_db_bind_text (stmt, 10, rec->after_json);
  if (!purser_db_step_done (db, stmt, "Could not record the billing event", error))
    return FALSE;

  rec->seq = sqlite3_last_insert_rowid (purser_db_handle (db));
  g_free (rec->id);
  rec->id = g_steal_pointer (&id);
  return TRUE;
}

/* `department_ids` matches through IFNULL (department_id, ''), as the employee list:
 * "" in the set selects the organization-wide events. */
gboolean
purser_store_event_list (PurserDb *db, const char *org_id, gint64 after, int limit,
                         GHashTable *department_ids, GArray *out, gboolean *has_more,
                         GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;
  g_autofree char *departments = NULL;
  guint first;
  gint64 n = 0;
  int rc;

  g_return_val_if_fail (org_id != NULL && out != NULL, FALSE);
  g_return_val_if_fail (limit > 0, FALSE);

  first = out->len;
  if (department_ids != NULL)
    departments = purser_db_string_set_to_json (department_ids);

  stmt = purser_db_prepare (db,
                            "SELECT " EVENT_COLUMNS " FROM events"
                            " WHERE org_id = ?1 AND seq > ?2"
                            " AND (?3 IS NULL OR IFNULL (department_id, '')"
                            "      IN (SELECT value FROM json_each (?3)))"
                            " ORDER BY seq LIMIT ?4",
                            error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, org_id);
  purser_db_bind_int64 (stmt, 2, after);
  purser_db_bind_text (stmt, 3, departments);
  /* One row more than asked tells whether there is a next page. */
  purser_db_bind_int64 (stmt, 4, (gint64) limit + 1);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      PurserEventRecord rec;

      if (n++ == limit)
        break;
      rec = (PurserEventRecord){
        .seq = sqlite3_column_int64 (stmt, 0),
        .id = purser_db_column_dup (stmt, 1),
        .org_id = purser_db_column_dup (stmt, 2),
        .time = sqlite3_column_int64 (stmt, 3),
        .actor = purser_db_column_dup (stmt, 4),
        .type = purser_db_column_dup (stmt, 5),
        .entity_type = purser_db_column_dup (stmt, 6),
        .entity_id = purser_db_column_dup (stmt, 7),
        .department_id = purser_db_column_dup (stmt, 8),
        .before_json = purser_db_column_dup (stmt, 9),
        .after_json = purser_db_column_dup (stmt, 10),
      };
      g_array_append_val (out, rec);
    }
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    {
      g_array_set_size (out, first);
      return purser_db_fail (db, error, "Could not list the billing events");
    }

  if (has_more != NULL)
    *has_more = n > limit;
  return TRUE;
}

/* 0 without events, -1 when the database cannot be read (no GError in the signature). */
gint64
purser_store_event_last_seq (PurserDb *db, const char *org_id)
{
  g_auto (PurserDbStmt) stmt = NULL;

  g_return_val_if_fail (org_id != NULL, -1);

  stmt = purser_db_prepare (db, "SELECT IFNULL (max (seq), 0) FROM events WHERE org_id = ?", NULL);
  if (stmt == NULL)
    return -1;
  purser_db_bind_text (stmt, 1, org_id);
  if (sqlite3_step (stmt) != SQLITE_ROW)
    return -1;
  return sqlite3_column_int64 (stmt, 0);
}

/* ── idempotency keys ──────────────────────────────────────────────────────────── */

gboolean
purser_store_idempotency_get (PurserDb *db, const char *scope, const char *key, gint64 not_before,
                              char **request_hash, int *status, char **body, GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;
  int rc;

  g_return_val_if_fail (scope != NULL && key != NULL, FALSE);

  stmt = purser_db_prepare (db,
                            "SELECT request_hash, status, body FROM idempotency"
                            " WHERE scope = ? AND key = ? AND created_at > ?",
                            error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, scope);
  purser_db_bind_text (stmt, 2, key);
  purser_db_bind_int64 (stmt, 3, not_before);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    return FALSE;
  if (rc != SQLITE_ROW)
    return purser_db_fail (db, error, "Could not read the idempotency key");

  if (request_hash != NULL)
    *request_hash = purser_db_column_dup (stmt, 0);
  if (status != NULL)
    *status = sqlite3_column_int (stmt, 1);
  if (body != NULL)
    *body = purser_db_column_dup (stmt, 2);
  return TRUE;
}

gboolean
purser_store_idempotency_put (PurserDb *db, const char *scope, const char *key,
                              const char *request_hash, int status, const char *body, gint64 now,
                              GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;

  g_return_val_if_fail (scope != NULL && key != NULL && request_hash != NULL, FALSE);

  /* An expired record of the same key is replaced: its 24 hours are over. */
  stmt = purser_db_prepare (db,
                            "INSERT INTO idempotency (scope, key, request_hash, status, body,"
                            " created_at) VALUES (?,?,?,?,?,?)"
                            " ON CONFLICT (scope, key) DO UPDATE SET"
                            " request_hash = excluded.request_hash, status = excluded.status,"
                            " body = excluded.body, created_at = excluded.created_at",
                            error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, scope);
  purser_db_bind_text (stmt, 2, key);
  purser_db_bind_text (stmt, 3, request_hash);
  purser_db_bind_int64 (stmt, 4, status);
  purser_db_bind_text (stmt, 5, body);
  purser_db_bind_int64 (stmt, 6, now);
  return purser_db_step_done (db, stmt, "Could not store the idempotency key", error);
}

gboolean
purser_store_idempotency_purge (PurserDb *db, gint64 before, GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;

  stmt = purser_db_prepare (db, "DELETE FROM idempotency WHERE created_at < ?", error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_int64 (stmt, 1, before);
  return purser_db_step_done (db, stmt, "Could not purge the idempotency keys", error);
}

/* ── the billing clock ─────────────────────────────────────────────────────────── */

/* 0 when never set, and when it cannot be read (no GError in the signature): the caller
 * then runs on the real time. */
gint64
purser_store_clock_get (PurserDb *db)
{
  g_auto (PurserDbStmt) stmt = NULL;

  stmt = purser_db_prepare (db, "SELECT now FROM clock WHERE id = 1", NULL);
  if (stmt == NULL || sqlite3_step (stmt) != SQLITE_ROW)
    return 0;
  return sqlite3_column_int64 (stmt, 0);
}

gboolean
purser_store_clock_set (PurserDb *db, gint64 now, GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;

  stmt = purser_db_prepare (db,
                            "INSERT INTO clock (id, now) VALUES (1, ?)"
                            " ON CONFLICT (id) DO UPDATE SET now = excluded.now",
                            error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_int64 (stmt, 1, now);
  return purser_db_step_done (db, stmt, "Could not set the billing clock", error);
}
