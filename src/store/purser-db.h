/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <sqlite3.h>

G_BEGIN_DECLS

#define PURSER_STORE_ERROR (purser_store_error_quark ())
GQuark purser_store_error_quark (void);

typedef enum
{
  PURSER_STORE_ERROR_FAILED,    /* SQLite said no: I/O, corruption, full disk */
  PURSER_STORE_ERROR_NOT_FOUND, /* no such row */
  PURSER_STORE_ERROR_CONFLICT,  /* a unique or foreign-key constraint */
  PURSER_STORE_ERROR_TOO_NEW,   /* the file was written by a newer Purser */
} PurserStoreError;

/* One SQLite connection: WAL, foreign keys on, busy timeout, a statement cache.
 * Not thread-safe: one thread owns it (the server's writer thread). */
typedef struct _PurserDb PurserDb;

/* The server's database, and the desktop client's cache of it. */
typedef enum
{
  PURSER_SCHEMA_SERVER,
  PURSER_SCHEMA_CACHE,
} PurserSchema;

/* Opens (creating) and migrates to the newest schema version by PRAGMA user_version.
 * ":memory:" works for tests. */
PurserDb *purser_db_open (const char *path, PurserSchema schema, GError **error);
void purser_db_close (PurserDb *db);
sqlite3 *purser_db_handle (PurserDb *db);
int purser_db_schema_version (PurserDb *db);
int purser_db_latest_version (PurserSchema schema);

/* A cached prepared statement, reset and with bindings cleared; owned by the db. */
sqlite3_stmt *purser_db_prepare (PurserDb *db, const char *sql, GError **error);

/* BEGIN IMMEDIATE … COMMIT / ROLLBACK. Nested calls are not allowed. */
gboolean purser_db_begin (PurserDb *db, GError **error);
gboolean purser_db_commit (PurserDb *db, GError **error);
void purser_db_rollback (PurserDb *db);

/* Runs SQL without results (several statements allowed). */
gboolean purser_db_exec (PurserDb *db, const char *sql, GError **error);

/* Maps the last SQLite failure onto PURSER_STORE_ERROR (CONFLICT for constraints). */
void purser_db_set_error (PurserDb *db, GError **error, const char *what);

/* Binding helpers: NULL text binds SQL NULL. Statement parameters are 1-based. */
void purser_db_bind_text (sqlite3_stmt *stmt, int index, const char *text);
void purser_db_bind_int64 (sqlite3_stmt *stmt, int index, gint64 value);
/* Column text duplicated (NULL for SQL NULL). */
char *purser_db_column_dup (sqlite3_stmt *stmt, int column);

/* A new random id with a prefix: "org_" + 16 base32 characters. */
char *purser_db_new_id (const char *prefix);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PurserDb, purser_db_close)

G_END_DECLS
