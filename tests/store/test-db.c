/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "purser-db.h"
#include "purser-store-private.h"

/* Every table of the server schema, version 1. */
static const char *const server_tables[] = {
  "orgs",     "departments",         "employees",
  "users",    "manager_departments", "tokens",
  "licenses", "subscriptions",       "subscription_pending_lines",
  "invoices", "invoice_lines",       "invoice_counters",
  "events",   "idempotency",         "clock",
};

typedef struct
{
  char *dir;
  char *path;
} TempFile;

static void
temp_file_setup (TempFile *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("purser-store-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->path = g_build_filename (fixture->dir, "purser.db", NULL);
}

static void
temp_file_teardown (TempFile *fixture, gconstpointer data)
{
  const char *suffixes[] = { "", "-wal", "-shm", "-journal" };

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *file = g_strconcat (fixture->path, suffixes[i], NULL);

      g_unlink (file);
    }
  g_assert_cmpint (g_rmdir (fixture->dir), ==, 0);
  g_free (fixture->path);
  g_free (fixture->dir);
}

static gint64
query_int (PurserDb *db, const char *sql)
{
  g_autoptr (GError) error = NULL;
  g_auto (PurserDbStmt) stmt = purser_db_prepare (db, sql, &error);

  g_assert_no_error (error);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  return sqlite3_column_int64 (stmt, 0);
}

static char *
query_text (PurserDb *db, const char *sql)
{
  g_autoptr (GError) error = NULL;
  g_auto (PurserDbStmt) stmt = purser_db_prepare (db, sql, &error);

  g_assert_no_error (error);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  return purser_db_column_dup (stmt, 0);
}

static gboolean
table_exists (PurserDb *db, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_auto (PurserDbStmt) stmt = purser_db_prepare (
      db, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?", &error);

  g_assert_no_error (error);
  purser_db_bind_text (stmt, 1, name);
  return sqlite3_step (stmt) == SQLITE_ROW;
}

/* The user_version of a file, read without Purser. */
static int
raw_user_version (const char *path)
{
  sqlite3 *handle = NULL;
  sqlite3_stmt *stmt = NULL;
  int version;

  g_assert_cmpint (sqlite3_open_v2 (path, &handle, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (handle, "PRAGMA user_version", -1, &stmt, NULL), ==,
                   SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  version = sqlite3_column_int (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (handle);
  return version;
}

static void
test_migrate_empty_file (TempFile *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PurserDb) db = NULL;
  g_autofree char *journal_mode = NULL;
  gint64 n_objects;

  g_assert_false (g_file_test (fixture->path, G_FILE_TEST_EXISTS));

  db = purser_db_open (fixture->path, PURSER_SCHEMA_SERVER, &error);
  g_assert_no_error (error);
  g_assert_nonnull (db);
  g_assert_cmpint (purser_db_latest_version (PURSER_SCHEMA_SERVER), >=, 1);
  g_assert_cmpint (purser_db_schema_version (db), ==,
                   purser_db_latest_version (PURSER_SCHEMA_SERVER));
  for (guint i = 0; i < G_N_ELEMENTS (server_tables); i++)
    g_assert_true (table_exists (db, server_tables[i]));

  /* The connection settings the server relies on. */
  journal_mode = query_text (db, "PRAGMA journal_mode");
  g_assert_cmpstr (journal_mode, ==, "wal");
  g_assert_cmpint (query_int (db, "PRAGMA foreign_keys"), ==, 1);
  g_assert_cmpint (query_int (db, "PRAGMA synchronous"), ==, 1); /* NORMAL */
  g_assert_cmpint (query_int (db, "PRAGMA busy_timeout"), ==, 5000);

  /* Data written before closing survives a reopen, which migrates nothing. */
  g_assert_true (purser_db_exec (db,
                                 "INSERT INTO orgs (id, name, code, created_at)"
                                 " VALUES ('org_1', 'Northwind', 'NWL', 1)",
                                 &error));
  g_assert_no_error (error);
  n_objects = query_int (db, "SELECT count(*) FROM sqlite_schema");
  g_clear_pointer (&db, purser_db_close);
  g_assert_cmpint (raw_user_version (fixture->path), ==,
                   purser_db_latest_version (PURSER_SCHEMA_SERVER));

  db = purser_db_open (fixture->path, PURSER_SCHEMA_SERVER, &error);
  g_assert_no_error (error);
  g_assert_cmpint (purser_db_schema_version (db), ==,
                   purser_db_latest_version (PURSER_SCHEMA_SERVER));
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM sqlite_schema"), ==, n_objects);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM orgs WHERE code = 'NWL'"), ==, 1);
}

static void
test_too_new (TempFile *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PurserDb) db = NULL;
  g_autofree char *bump = NULL;
  int newer = purser_db_latest_version (PURSER_SCHEMA_SERVER) + 1;

  db = purser_db_open (fixture->path, PURSER_SCHEMA_SERVER, &error);
  g_assert_no_error (error);
  bump = g_strdup_printf ("PRAGMA user_version = %d", newer);
  g_assert_true (purser_db_exec (db, bump, &error));
  g_clear_pointer (&db, purser_db_close);

  db = purser_db_open (fixture->path, PURSER_SCHEMA_SERVER, &error);
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_TOO_NEW);
  g_assert_null (db);
  /* Left as it was found. */
  g_assert_cmpint (raw_user_version (fixture->path), ==, newer);
}

static void
test_foreign_file (TempFile *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PurserDb) db = NULL;
  sqlite3 *handle = NULL;

  /* A database of another application is refused, not migrated. */
  g_assert_cmpint (sqlite3_open (fixture->path, &handle), ==, SQLITE_OK);
  g_assert_cmpint (
      sqlite3_exec (handle, "PRAGMA application_id = 1234; CREATE TABLE t (x)", NULL, NULL, NULL),
      ==, SQLITE_OK);
  sqlite3_close (handle);

  db = purser_db_open (fixture->path, PURSER_SCHEMA_SERVER, &error);
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_FAILED);
  g_assert_null (db);
  g_assert_cmpint (raw_user_version (fixture->path), ==, 0);
}

static void
test_migration_atomic (void)
{
  /* Scripts 1 and 2 work, script 3 fails halfway: the file stays at version 2 with
   * nothing of script 3 in it. */
  const char *const scripts[] = {
    "CREATE TABLE one (x INTEGER)",
    "CREATE TABLE two (x INTEGER)",
    "CREATE TABLE three (x INTEGER); INSERT INTO nowhere VALUES (1)",
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (PurserDb) db = purser_db_open (":memory:", PURSER_SCHEMA_SERVER, &error);

  g_assert_no_error (error);
  g_assert_true (purser_db_exec (db, "PRAGMA user_version = 0; PRAGMA application_id = 0", &error));

  g_assert_false (purser_db_migrate (db, scripts, G_N_ELEMENTS (scripts), 42, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "version 3"));
  g_clear_error (&error);

  g_assert_cmpint (purser_db_schema_version (db), ==, 2);
  g_assert_true (table_exists (db, "one"));
  g_assert_true (table_exists (db, "two"));
  g_assert_false (table_exists (db, "three"));
  g_assert_cmpint (query_int (db, "PRAGMA application_id"), ==, 42);

  /* Fixed, it picks up where it stopped. */
  {
    const char *const fixed[] = { scripts[0], scripts[1], "CREATE TABLE three (x INTEGER)" };

    g_assert_true (purser_db_migrate (db, fixed, G_N_ELEMENTS (fixed), 42, &error));
    g_assert_no_error (error);
    g_assert_cmpint (purser_db_schema_version (db), ==, 3);
    g_assert_true (table_exists (db, "three"));
  }
}

static void
test_statement_cache (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PurserDb) db = purser_db_open (":memory:", PURSER_SCHEMA_SERVER, &error);
  sqlite3_stmt *first;
  sqlite3_stmt *again;

  g_assert_no_error (error);

  first = purser_db_prepare (db, "SELECT ?1, 7", &error);
  g_assert_no_error (error);
  purser_db_bind_int64 (first, 1, 42);
  g_assert_cmpint (sqlite3_step (first), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int64 (first, 0), ==, 42);

  /* Same text, same statement: reset (steppable again) and with its bindings cleared. */
  again = purser_db_prepare (db, "SELECT ?1, 7", &error);
  g_assert_no_error (error);
  g_assert_true (again == first);
  g_assert_cmpint (sqlite3_step (again), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_type (again, 0), ==, SQLITE_NULL);
  g_assert_cmpint (sqlite3_column_int64 (again, 1), ==, 7);
  sqlite3_reset (again);

  g_assert_true (purser_db_prepare (db, "SELECT 8", &error) != first);

  /* A statement that does not compile is FAILED, with SQLite's reason. */
  g_assert_null (purser_db_prepare (db, "SELEC 1", &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "syntax error"));
}

static void
test_errors (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PurserDb) db = purser_db_open (":memory:", PURSER_SCHEMA_SERVER, &error);
  g_auto (PurserDbStmt) stmt = NULL;

  g_assert_no_error (error);

  g_assert_true (purser_db_exec (db,
                                 "INSERT INTO orgs (id, name, code, created_at)"
                                 " VALUES ('org_1', 'A', 'AAA', 1)",
                                 &error));
  g_assert_false (purser_db_exec (db,
                                  "INSERT INTO orgs (id, name, code, created_at)"
                                  " VALUES ('org_2', 'B', 'AAA', 1)",
                                  &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_CONFLICT);
  g_clear_error (&error);

  /* Foreign keys are on. */
  stmt = purser_db_prepare (
      db, "INSERT INTO departments (id, org_id, name, created_at) VALUES ('dep_1', ?, 'X', 1)",
      &error);
  g_assert_no_error (error);
  purser_db_bind_text (stmt, 1, "org_nowhere");
  g_assert_false (purser_db_step_done (db, stmt, "add", &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_CONFLICT);
  g_assert_nonnull (strstr (error->message, "FOREIGN KEY"));
  g_clear_error (&error);

  g_assert_false (purser_db_exec (db, "SELECT * FROM nowhere", &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "no such table"));
}

static void
test_transactions (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PurserDb) db = purser_db_open (":memory:", PURSER_SCHEMA_SERVER, &error);

  g_assert_no_error (error);

  g_assert_true (purser_db_begin (db, &error));
  g_assert_false (purser_db_begin (db, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_true (purser_db_exec (db, "INSERT INTO clock (id, now) VALUES (1, 5)", &error));
  purser_db_rollback (db);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM clock"), ==, 0);

  g_assert_true (purser_db_begin (db, &error));
  g_assert_true (purser_db_exec (db, "INSERT INTO clock (id, now) VALUES (1, 5)", &error));
  g_assert_true (purser_db_commit (db, &error));
  g_assert_no_error (error);
  g_assert_cmpint (query_int (db, "SELECT now FROM clock"), ==, 5);

  /* Rolling back without a transaction is harmless. */
  purser_db_rollback (db);
  g_assert_cmpint (query_int (db, "SELECT now FROM clock"), ==, 5);
}

static void
test_new_id (void)
{
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (int i = 0; i < 1000; i++)
    {
      char *id = purser_db_new_id ("org");

      g_assert_true (g_str_has_prefix (id, "org_"));
      g_assert_cmpuint (strlen (id), ==, 4 + 16);
      for (const char *p = id + 4; *p != '\0'; p++)
        g_assert_nonnull (strchr ("abcdefghijklmnopqrstuvwxyz234567", *p));
      g_assert_true (g_hash_table_add (seen, id));
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/purser/store/db/migrate-empty-file", TempFile, NULL, temp_file_setup,
              test_migrate_empty_file, temp_file_teardown);
  g_test_add ("/purser/store/db/too-new", TempFile, NULL, temp_file_setup, test_too_new,
              temp_file_teardown);
  g_test_add ("/purser/store/db/foreign-file", TempFile, NULL, temp_file_setup, test_foreign_file,
              temp_file_teardown);
  g_test_add_func ("/purser/store/db/migration-atomic", test_migration_atomic);
  g_test_add_func ("/purser/store/db/statement-cache", test_statement_cache);
  g_test_add_func ("/purser/store/db/errors", test_errors);
  g_test_add_func ("/purser/store/db/transactions", test_transactions);
  g_test_add_func ("/purser/store/db/new-id", test_new_id);

  return g_test_run ();
}
