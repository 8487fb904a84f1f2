/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Helpers shared by the files of libpurser-store; not part of its API (the tests use
 * purser_db_migrate to check failing migrations). */

#include "purser-store.h"

G_BEGIN_DECLS

/* A cached statement that is reset when it goes out of scope, so that no statement keeps
 * a read transaction open: `g_auto (PurserDbStmt) stmt = purser_db_prepare (…);` */
typedef sqlite3_stmt *PurserDbStmt;
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (PurserDbStmt, sqlite3_reset, NULL)

/* The migration scripts of a schema: script i takes user_version i to i + 1. */
const char *const *purser_schema_migrations (PurserSchema schema, guint *n_scripts);
/* PRAGMA application_id of a schema's files, so a cache is never opened as a server db. */
guint32 purser_schema_application_id (PurserSchema schema);

/* Applies scripts[user_version … n_scripts − 1], each in its own transaction together
 * with its user_version bump. */
gboolean purser_db_migrate (PurserDb *db, const char *const *scripts, guint n_scripts,
                            guint32 application_id, GError **error);

/* purser_db_set_error, then FALSE, for `return purser_db_fail (…);`. */
gboolean purser_db_fail (PurserDb *db, GError **error, const char *what);
/* Steps a statement that returns no rows (or whose rows are not wanted). */
gboolean purser_db_step_done (PurserDb *db, sqlite3_stmt *stmt, const char *what, GError **error);
/* Rows changed by the last INSERT, UPDATE or DELETE. */
gint64 purser_db_changes (PurserDb *db);

/* A savepoint makes a multi-statement write atomic both inside the caller's transaction
 * and without one. */
gboolean purser_db_savepoint (PurserDb *db, GError **error);
gboolean purser_db_release (PurserDb *db, GError **error);
void purser_db_rollback_to (PurserDb *db);

/* Keyset paging: the creation-order seq of `after_id`, read with `sql` ("SELECT seq FROM t
 * WHERE org_id = ? AND id = ?"); *seq is left alone when after_id is NULL, and an id the
 * organization does not have is NOT_FOUND. */
gboolean purser_db_page_seq (PurserDb *db, const char *sql, const char *org_id,
                             const char *after_id, gint64 *seq, GError **error);

/* NULL for PURSER_DATE_INVALID, and back. */
void purser_db_bind_date (sqlite3_stmt *stmt, int index, PurserDate date);
PurserDate purser_db_column_date (sqlite3_stmt *stmt, int column);
/* NULL for 0 ("never"); reading NULL as an integer gives 0 again. */
void purser_db_bind_time (sqlite3_stmt *stmt, int index, gint64 unix_seconds);

/* Error helpers; they return FALSE. */
gboolean purser_db_not_found (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);
gboolean purser_db_corrupt (GError **error, const char *what, const char *value);

/* A set of strings (the keys of a GHashTable) as a JSON array, for
 * `x IN (SELECT value FROM json_each (?))`: one statement text whatever the set's size. */
char *purser_db_string_set_to_json (GHashTable *set);

/* Invoice and pending lines share one column layout: kind, description, quantity,
 * unit_amount, amount, period_start, period_end. */
void purser_db_bind_line (sqlite3_stmt *stmt, int first_index, const PurserLine *line);
gboolean purser_db_column_line (sqlite3_stmt *stmt, int first_column, PurserLine *out,
                                GError **error);

G_END_DECLS
