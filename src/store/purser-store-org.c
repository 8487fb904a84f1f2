/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "purser-store-private.h"

#define TOKEN_HASH_SIZE 32

#define ORG_COLUMNS \
  "id, name, code, country, region, tax_id, tax_exempt, billing_email, address, created_at"

#define USER_COLUMNS \
  "u.id, u.org_id, u.email, u.name, u.role, u.password_hash, u.employee_id, u.created_at"

/* ── organizations ─────────────────────────────────────────────────────────────── */

void
purser_org_record_clear (PurserOrgRecord *rec)
{
  g_clear_pointer (&rec->id, g_free);
  g_clear_pointer (&rec->name, g_free);
  g_clear_pointer (&rec->code, g_free);
  g_clear_pointer (&rec->country, g_free);
  g_clear_pointer (&rec->region, g_free);
  g_clear_pointer (&rec->tax_id, g_free);
  g_clear_pointer (&rec->billing_email, g_free);
  g_clear_pointer (&rec->address, g_free);
}

gboolean
purser_store_org_insert (PurserDb *db, const PurserOrgRecord *rec, GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;

  g_return_val_if_fail (rec != NULL && rec->id != NULL, FALSE);

  stmt = purser_db_prepare (db, "INSERT INTO orgs (" ORG_COLUMNS ") VALUES (?,?,?,?,?,?,?,?,?,?)",
                            error);
  if (stmt == NULL)
    return FALSE;

  purser_db_bind_text (stmt, 1, rec->id);
  purser_db_bind_text (stmt, 2, rec->name);
  purser_db_bind_text (stmt, 3, rec->code);
  purser_db_bind_text (stmt, 4, rec->country);
  purser_db_bind_text (stmt, 5, rec->region);
  purser_db_bind_text (stmt, 6, rec->tax_id);
  purser_db_bind_int64 (stmt, 7, rec->tax_exempt ? 1 : 0);
  purser_db_bind_text (stmt, 8, rec->billing_email);
  purser_db_bind_text (stmt, 9, rec->address);
  purser_db_bind_int64 (stmt, 10, rec->created_at);
  return purser_db_step_done (db, stmt, "Could not add the organization", error);
}

gboolean
purser_store_org_update (PurserDb *db, const PurserOrgRecord *rec, GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;

  g_return_val_if_fail (rec != NULL && rec->id != NULL, FALSE);

  /* created_at never changes. */
  stmt = purser_db_prepare (db,
                            "UPDATE orgs SET name = ?2, code = ?3, country = ?4, region = ?5,"
                            " tax_id = ?6, tax_exempt = ?7, billing_email = ?8, address = ?9"
                            " WHERE id = ?1",
                            error);
  if (stmt == NULL)
    return FALSE;

  purser_db_bind_text (stmt, 1, rec->id);
  purser_db_bind_text (stmt, 2, rec->name);
  purser_db_bind_text (stmt, 3, rec->code);
  purser_db_bind_text (stmt, 4, rec->country);
  purser_db_bind_text (stmt, 5, rec->region);
  purser_db_bind_text (stmt, 6, rec->tax_id);
  purser_db_bind_int64 (stmt, 7, rec->tax_exempt ? 1 : 0);
  purser_db_bind_text (stmt, 8, rec->billing_email);
  purser_db_bind_text (stmt, 9, rec->address);
  if (!purser_db_step_done (db, stmt, "Could not update the organization", error))
    return FALSE;
  if (purser_db_changes (db) == 0)
    return purser_db_not_found (error, "No organization %s", rec->id);
  return TRUE;
}

gboolean
purser_store_org_get (PurserDb *db, const char *id, PurserOrgRecord *out, GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;
  int rc;

  g_return_val_if_fail (id != NULL && out != NULL, FALSE);

  stmt = purser_db_prepare (db, "SELECT " ORG_COLUMNS " FROM orgs WHERE id = ?", error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, id);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    return purser_db_not_found (error, "No organization %s", id);
  if (rc != SQLITE_ROW)
    return purser_db_fail (db, error, "Could not read the organization");

  *out = (PurserOrgRecord){
    .id = purser_db_column_dup (stmt, 0),
    .name = purser_db_column_dup (stmt, 1),
    .code = purser_db_column_dup (stmt, 2),
    .country = purser_db_column_dup (stmt, 3),
    .region = purser_db_column_dup (stmt, 4),
    .tax_id = purser_db_column_dup (stmt, 5),
    .tax_exempt = sqlite3_column_int64 (stmt, 6) != 0,
    .billing_email = purser_db_column_dup (stmt, 7),
    .address = purser_db_column_dup (stmt, 8),
    .created_at = sqlite3_column_int64 (stmt, 9),
  };
  return TRUE;
}

/* A pre-check for choosing a code; the UNIQUE constraint stays the authority, so a
 * failing query answers FALSE and lets the insert report the real error. */
gboolean
purser_store_org_code_exists (PurserDb *db, const char *code)
{
  g_auto (PurserDbStmt) stmt = NULL;

  g_return_val_if_fail (code != NULL, FALSE);

  stmt = purser_db_prepare (db, "SELECT 1 FROM orgs WHERE code = ?", NULL);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, code);
  return sqlite3_step (stmt) == SQLITE_ROW;
}

/* ── users and tokens ──────────────────────────────────────────────────────────── */

void
purser_user_record_clear (PurserUserRecord *rec)
{
  g_clear_pointer (&rec->id, g_free);
  g_clear_pointer (&rec->org_id, g_free);
  g_clear_pointer (&rec->email, g_free);
  g_clear_pointer (&rec->name, g_free);
  g_clear_pointer (&rec->role, g_free);
  g_clear_pointer (&rec->password_hash, g_free);
  g_clear_pointer (&rec->employee_id, g_free);
  g_clear_pointer (&rec->department_ids, g_ptr_array_unref);
}

gboolean
purser_store_user_insert (PurserDb *db, const PurserUserRecord *rec, GError **error)
{
  g_return_val_if_fail (rec != NULL && rec->id != NULL, FALSE);

  if (!purser_db_savepoint (db, error))
    return FALSE;

  {
    g_auto (PurserDbStmt) stmt = purser_db_prepare (
        db,
        "INSERT INTO users (id, org_id, email, name, role, password_hash, employee_id, created_at)"
        " VALUES (?,?,?,?,?,?,?,?)",
        error);

    if (stmt == NULL)
      goto fail;
    purser_db_bind_text (stmt, 1, rec->id);
    purser_db_bind_text (stmt, 2, rec->org_id);
    purser_db_bind_text (stmt, 3, rec->email);
    purser_db_bind_text (stmt, 4, rec->name);
    purser_db_bind_text (stmt, 5, rec->role);
    purser_db_bind_text (stmt, 6, rec->password_hash);
    purser_db_bind_text (stmt, 7, rec->employee_id);
    purser_db_bind_int64 (stmt, 8, rec->created_at);
    if (!purser_db_step_done (db, stmt, "Could not add the user", error))
      goto fail;
  }

  for (guint i = 0; rec->department_ids != NULL && i < rec->department_ids->len; i++)
    {
      g_auto (PurserDbStmt) stmt = purser_db_prepare (
          db, "INSERT INTO manager_departments (user_id, department_id) VALUES (?, ?)", error);

      if (stmt == NULL)
        goto fail;
      purser_db_bind_text (stmt, 1, rec->id);
      purser_db_bind_text (stmt, 2, g_ptr_array_index (rec->department_ids, i));
      if (!purser_db_step_done (db, stmt, "Could not record a managed department", error))
        goto fail;
    }

  return purser_db_release (db, error);

fail:
  purser_db_rollback_to (db);
  return FALSE;
}

static GPtrArray *
load_managed_departments (PurserDb *db, const char *user_id, GError **error)
{
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_auto (PurserDbStmt) stmt = NULL;
  int rc;

  stmt = purser_db_prepare (db,
                            "SELECT department_id FROM manager_departments WHERE user_id = ?"
                            " ORDER BY department_id",
                            error);
  if (stmt == NULL)
    return NULL;
  purser_db_bind_text (stmt, 1, user_id);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (ids, purser_db_column_dup (stmt, 0));
  if (rc != SQLITE_DONE)
    {
      purser_db_set_error (db, error, "Could not read the managed departments");
      return NULL;
    }

  return g_steal_pointer (&ids);
}

/* Runs a query selecting USER_COLUMNS whose parameters are already bound, and reads the
 * one user it finds with their managed departments. */
static gboolean
read_user (PurserDb *db, sqlite3_stmt *stmt, const char *key, PurserUserRecord *out, GError **error)
{
  PurserUserRecord rec = { 0 };
  int rc = sqlite3_step (stmt);

  if (rc == SQLITE_DONE)
    return purser_db_not_found (error, "No user %s", key);
  if (rc != SQLITE_ROW)
    return purser_db_fail (db, error, "Could not read the user");

  rec.id = purser_db_column_dup (stmt, 0);
  rec.org_id = purser_db_column_dup (stmt, 1);
  rec.email = purser_db_column_dup (stmt, 2);
  rec.name = purser_db_column_dup (stmt, 3);
  rec.role = purser_db_column_dup (stmt, 4);
  rec.password_hash = purser_db_column_dup (stmt, 5);
  rec.employee_id = purser_db_column_dup (stmt, 6);
  rec.created_at = sqlite3_column_int64 (stmt, 7);
  sqlite3_reset (stmt);

  rec.department_ids = load_managed_departments (db, rec.id, error);
  if (rec.department_ids == NULL)
    {
      purser_user_record_clear (&rec);
      return FALSE;
    }

  *out = rec;
  return TRUE;
}

gboolean
purser_store_user_get (PurserDb *db, const char *id, PurserUserRecord *out, GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;

  g_return_val_if_fail (id != NULL && out != NULL, FALSE);

  stmt = purser_db_prepare (db, "SELECT " USER_COLUMNS " FROM users u WHERE u.id = ?", error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, id);
  return read_user (db, stmt, id, out, error);
}

gboolean
purser_store_user_get_by_email (PurserDb *db, const char *email, PurserUserRecord *out,
                                GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;

  g_return_val_if_fail (email != NULL && out != NULL, FALSE);

  /* The column is COLLATE NOCASE: any capitalisation finds the user. */
  stmt = purser_db_prepare (db, "SELECT " USER_COLUMNS " FROM users u WHERE u.email = ?", error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, email);
  return read_user (db, stmt, email, out, error);
}

/* See purser_store_org_code_exists: FALSE when the query itself fails. */
gboolean
purser_store_user_email_exists (PurserDb *db, const char *email)
{
  g_auto (PurserDbStmt) stmt = NULL;

  g_return_val_if_fail (email != NULL, FALSE);

  stmt = purser_db_prepare (db, "SELECT 1 FROM users WHERE email = ?", NULL);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, email);
  return sqlite3_step (stmt) == SQLITE_ROW;
}

gboolean
purser_store_token_insert (PurserDb *db, const guint8 *token_hash, const char *user_id,
                           gint64 created_at, gint64 expires_at, GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;

  g_return_val_if_fail (token_hash != NULL && user_id != NULL, FALSE);

  stmt = purser_db_prepare (
      db, "INSERT INTO tokens (hash, user_id, created_at, expires_at) VALUES (?,?,?,?)", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_blob (stmt, 1, token_hash, TOKEN_HASH_SIZE, SQLITE_TRANSIENT);
  purser_db_bind_text (stmt, 2, user_id);
  purser_db_bind_int64 (stmt, 3, created_at);
  purser_db_bind_int64 (stmt, 4, expires_at);
  return purser_db_step_done (db, stmt, "Could not store the token", error);
}

gboolean
purser_store_token_lookup (PurserDb *db, const guint8 *token_hash, gint64 now,
                           PurserUserRecord *out, GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;

  g_return_val_if_fail (token_hash != NULL && out != NULL, FALSE);

  stmt = purser_db_prepare (db,
                            "SELECT " USER_COLUMNS " FROM tokens t JOIN users u ON u.id = t.user_id"
                            " WHERE t.hash = ? AND t.expires_at > ?",
                            error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_blob (stmt, 1, token_hash, TOKEN_HASH_SIZE, SQLITE_TRANSIENT);
  purser_db_bind_int64 (stmt, 2, now);
  return read_user (db, stmt, "for this token", out, error);
}

gboolean
purser_store_token_delete (PurserDb *db, const guint8 *token_hash, GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;

  g_return_val_if_fail (token_hash != NULL, FALSE);

  stmt = purser_db_prepare (db, "DELETE FROM tokens WHERE hash = ?", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_blob (stmt, 1, token_hash, TOKEN_HASH_SIZE, SQLITE_TRANSIENT);
  if (!purser_db_step_done (db, stmt, "Could not delete the token", error))
    return FALSE;
  if (purser_db_changes (db) == 0)
    return purser_db_not_found (error, "No such token");
  return TRUE;
}
