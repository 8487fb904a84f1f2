/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "purser-db.h"
#include "purser-store-private.h"

struct _PurserDb
{
  sqlite3 *handle;
  GHashTable *statements; /* SQL text (owned) → sqlite3_stmt (finalized on removal) */
  PurserSchema schema;
};

GQuark
purser_store_error_quark (void)
{
  return g_quark_from_static_string ("purser-store-error-quark");
}

/* Lower-case RFC 4648 base32: no look-alike 0/1/8/9, safe in URLs and file names. */
static const char id_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

#define ID_RANDOM_CHARS 16

static void
finalize_statement (gpointer stmt)
{
  sqlite3_finalize (stmt);
}

static PurserStoreError
error_kind (int rc)
{
  /* Primary code: the extended codes (UNIQUE, FOREIGNKEY, NOTNULL…) all mean the data
   * contradicts the schema, which the callers report as a conflict. */
  return (rc & 0xff) == SQLITE_CONSTRAINT ? PURSER_STORE_ERROR_CONFLICT : PURSER_STORE_ERROR_FAILED;
}

static gboolean
query_int (PurserDb *db, const char *sql, gint64 *out, GError **error)
{
  g_auto (PurserDbStmt) stmt = purser_db_prepare (db, sql, error);

  if (stmt == NULL)
    return FALSE;
  if (sqlite3_step (stmt) != SQLITE_ROW)
    return purser_db_fail (db, error, "Could not read the database header");
  *out = sqlite3_column_int64 (stmt, 0);
  return TRUE;
}

PurserDb *
purser_db_open (const char *path, PurserSchema schema, GError **error)
{
  g_autoptr (PurserDb) db = NULL;
  const char *const *scripts;
  guint n_scripts;
  int rc;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  db = g_new0 (PurserDb, 1);
  db->schema = schema;
  db->statements = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, finalize_statement);

  rc = sqlite3_open_v2 (path, &db->handle,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, NULL);
  if (rc != SQLITE_OK)
    {
      g_set_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_FAILED,
                   "Could not open the database “%s”: %s", path,
                   db->handle != NULL ? sqlite3_errmsg (db->handle) : sqlite3_errstr (rc));
      return NULL;
    }

  /* The busy handler first: switching to WAL needs a lock another process may hold. */
  sqlite3_busy_timeout (db->handle, 5000);
  /* "double-quoted strings" are identifiers only, so a typo cannot become a literal. */
  sqlite3_db_config (db->handle, SQLITE_DBCONFIG_DQS_DML, 0, NULL);
  sqlite3_db_config (db->handle, SQLITE_DBCONFIG_DQS_DDL, 0, NULL);

  /* journal_mode stays "memory" for ":memory:"; synchronous=NORMAL is durable enough
   * with WAL (a power cut may lose the last commits, never corrupt the file). */
  if (!purser_db_exec (db,
                       "PRAGMA journal_mode = WAL;"
                       "PRAGMA synchronous = NORMAL;"
                       "PRAGMA foreign_keys = ON;",
                       error))
    {
      g_prefix_error (error, "Could not set up the database “%s”: ", path);
      return NULL;
    }

  scripts = purser_schema_migrations (schema, &n_scripts);
  if (!purser_db_migrate (db, scripts, n_scripts, purser_schema_application_id (schema), error))
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }

  return g_steal_pointer (&db);
}

void
purser_db_close (PurserDb *db)
{
  if (db == NULL)
    return;

  /* Statements first: a connection with live statements cannot close. */
  g_clear_pointer (&db->statements, g_hash_table_unref);
  if (db->handle != NULL)
    sqlite3_close_v2 (db->handle);
  g_free (db);
}

sqlite3 *
purser_db_handle (PurserDb *db)
{
  g_return_val_if_fail (db != NULL, NULL);

  return db->handle;
}

int
purser_db_schema_version (PurserDb *db)
{
  gint64 version = -1;

  g_return_val_if_fail (db != NULL, -1);

  if (!query_int (db, "PRAGMA user_version", &version, NULL))
    return -1;
  return (int) version;
}

int
purser_db_latest_version (PurserSchema schema)
{
  guint n_scripts;

  purser_schema_migrations (schema, &n_scripts);
  return (int) n_scripts;
}

gboolean
purser_db_migrate (PurserDb *db, const char *const *scripts, guint n_scripts,
                   guint32 application_id, GError **error)
{
  gint64 version;
  gint64 file_application_id;

  if (!query_int (db, "PRAGMA user_version", &version, error)
      || !query_int (db, "PRAGMA application_id", &file_application_id, error))
    return FALSE;

  if (file_application_id != 0 && (guint32) file_application_id != application_id)
    {
      g_set_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_FAILED,
                   "The file is not a database of this kind (application id %08x)",
                   (guint32) file_application_id);
      return FALSE;
    }

  if (version > (gint64) n_scripts)
    {
      g_set_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_TOO_NEW,
                   "The database was written by a newer version of Purser (schema version "
                   "%" G_GINT64_FORMAT ", this version knows up to %u); upgrade Purser",
                   version, n_scripts);
      return FALSE;
    }

  for (gint64 v = version; v < (gint64) n_scripts; v++)
    {
      /* PRAGMAs take no parameters; both values are integers we print ourselves. */
      g_autofree char *bump = g_strdup_printf ("PRAGMA user_version = %" G_GINT64_FORMAT ";"
                                               "PRAGMA application_id = %" G_GUINT32_FORMAT ";",
                                               v + 1, application_id);

      if (!purser_db_begin (db, error))
        return FALSE;
      if (!purser_db_exec (db, scripts[v], error) || !purser_db_exec (db, bump, error)
          || !purser_db_commit (db, error))
        {
          purser_db_rollback (db);
          g_prefix_error (error, "Could not migrate to schema version %" G_GINT64_FORMAT ": ",
                          v + 1);
          return FALSE;
        }
    }

  return TRUE;
}

sqlite3_stmt *
purser_db_prepare (PurserDb *db, const char *sql, GError **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (db != NULL, NULL);
  g_return_val_if_fail (sql != NULL, NULL);

  stmt = g_hash_table_lookup (db->statements, sql);
  if (stmt != NULL)
    {
      sqlite3_reset (stmt);
      sqlite3_clear_bindings (stmt);
      return stmt;
    }

  if (sqlite3_prepare_v3 (db->handle, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK)
    {
      purser_db_set_error (db, error, "Could not prepare a statement");
      return NULL;
    }

  g_hash_table_insert (db->statements, g_strdup (sql), stmt);
  return stmt;
}

static gboolean
run_simple (PurserDb *db, const char *sql, GError **error)
{
  g_auto (PurserDbStmt) stmt = purser_db_prepare (db, sql, error);

  if (stmt == NULL)
    return FALSE;
  return purser_db_step_done (db, stmt, sql, error);
}

gboolean
purser_db_begin (PurserDb *db, GError **error)
{
  g_return_val_if_fail (db != NULL, FALSE);

  if (!sqlite3_get_autocommit (db->handle))
    {
      g_set_error_literal (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_FAILED,
                           "A transaction is already open");
      return FALSE;
    }

  /* IMMEDIATE takes the write lock now, so the transaction cannot fail halfway with BUSY
   * when it upgrades from reading to writing. */
  return run_simple (db, "BEGIN IMMEDIATE", error);
}

gboolean
purser_db_commit (PurserDb *db, GError **error)
{
  g_return_val_if_fail (db != NULL, FALSE);

  if (run_simple (db, "COMMIT", error))
    return TRUE;

  /* A failed COMMIT (BUSY, I/O) leaves the transaction open; close it so the connection
   * stays usable and nothing half-done is committed later. */
  purser_db_rollback (db);
  return FALSE;
}

void
purser_db_rollback (PurserDb *db)
{
  g_return_if_fail (db != NULL);

  /* SQLite may already have rolled back by itself (e.g. after SQLITE_FULL). */
  if (!sqlite3_get_autocommit (db->handle))
    run_simple (db, "ROLLBACK", NULL);
}

gboolean
purser_db_savepoint (PurserDb *db, GError **error)
{
  return run_simple (db, "SAVEPOINT purser_store", error);
}

gboolean
purser_db_release (PurserDb *db, GError **error)
{
  if (run_simple (db, "RELEASE purser_store", error))
    return TRUE;
  purser_db_rollback_to (db);
  return FALSE;
}

void
purser_db_rollback_to (PurserDb *db)
{
  /* ROLLBACK TO keeps the savepoint open; RELEASE closes it (and, when it was the
   * outermost, ends the transaction it started, with nothing left to commit). */
  run_simple (db, "ROLLBACK TO purser_store", NULL);
  run_simple (db, "RELEASE purser_store", NULL);
}

gboolean
purser_db_exec (PurserDb *db, const char *sql, GError **error)
{
  g_autofree char *message = NULL;
  char *sqlite_message = NULL;
  int rc;

  g_return_val_if_fail (db != NULL, FALSE);
  g_return_val_if_fail (sql != NULL, FALSE);

  rc = sqlite3_exec (db->handle, sql, NULL, NULL, &sqlite_message);
  if (rc == SQLITE_OK)
    return TRUE;

  message = g_strdup (sqlite_message != NULL ? sqlite_message : sqlite3_errstr (rc));
  sqlite3_free (sqlite_message);
  g_set_error (error, PURSER_STORE_ERROR, error_kind (rc), "%s", message);
  return FALSE;
}

void
purser_db_set_error (PurserDb *db, GError **error, const char *what)
{
  g_return_if_fail (db != NULL);

  g_set_error (error, PURSER_STORE_ERROR, error_kind (sqlite3_errcode (db->handle)), "%s: %s", what,
               sqlite3_errmsg (db->handle));
}

gboolean
purser_db_fail (PurserDb *db, GError **error, const char *what)
{
  purser_db_set_error (db, error, what);
  return FALSE;
}

gboolean
purser_db_step_done (PurserDb *db, sqlite3_stmt *stmt, const char *what, GError **error)
{
  int rc = sqlite3_step (stmt);

  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    return purser_db_fail (db, error, what);
  return TRUE;
}

gint64
purser_db_changes (PurserDb *db)
{
  return sqlite3_changes64 (db->handle);
}

void
purser_db_bind_text (sqlite3_stmt *stmt, int index, const char *text)
{
  if (text == NULL)
    sqlite3_bind_null (stmt, index);
  else
    sqlite3_bind_text (stmt, index, text, -1, SQLITE_TRANSIENT);
}

void
purser_db_bind_int64 (sqlite3_stmt *stmt, int index, gint64 value)
{
  sqlite3_bind_int64 (stmt, index, value);
}

char *
purser_db_column_dup (sqlite3_stmt *stmt, int column)
{
  const unsigned char *text;

  if (sqlite3_column_type (stmt, column) == SQLITE_NULL)
    return NULL;
  text = sqlite3_column_text (stmt, column);
  return g_strndup ((const char *) text, sqlite3_column_bytes (stmt, column));
}

void
purser_db_bind_date (sqlite3_stmt *stmt, int index, PurserDate date)
{
  if (date == PURSER_DATE_INVALID)
    sqlite3_bind_null (stmt, index);
  else
    sqlite3_bind_int64 (stmt, index, date);
}

PurserDate
purser_db_column_date (sqlite3_stmt *stmt, int column)
{
  if (sqlite3_column_type (stmt, column) == SQLITE_NULL)
    return PURSER_DATE_INVALID;
  return (PurserDate) sqlite3_column_int64 (stmt, column);
}

void
purser_db_bind_time (sqlite3_stmt *stmt, int index, gint64 unix_seconds)
{
  if (unix_seconds == 0)
    sqlite3_bind_null (stmt, index);
  else
    sqlite3_bind_int64 (stmt, index, unix_seconds);
}

char *
purser_db_new_id (const char *prefix)
{
  GString *id;

  g_return_val_if_fail (prefix != NULL, NULL);

  id = g_string_sized_new (strlen (prefix) + 1 + ID_RANDOM_CHARS);
  g_string_append (id, prefix);
  g_string_append_c (id, '_');
  for (guint i = 0; i < ID_RANDOM_CHARS; i++)
    g_string_append_c (id, id_alphabet[g_random_int_range (0, sizeof id_alphabet - 1)]);
  return g_string_free (id, FALSE);
}
