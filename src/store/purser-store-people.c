/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "purser-store-private.h"

/* Departments, employees and their licenses. */

#define DEPARTMENT_COLUMNS "id, org_id, parent_id, name, cost_center, seat_allocation, created_at"

/* An employee with their live license, if any (at most one: see licenses_live). */
#define EMPLOYEE_SELECT                                                         \
  "SELECT e.id, e.org_id, e.email, e.name, e.department_id, e.title, e.status," \
  " e.created_at, e.last_session_at, l.assigned_at"                             \
  " FROM employees e"                                                           \
  " LEFT JOIN licenses l ON l.employee_id = e.id AND l.revoked_at IS NULL"

/* ── departments ───────────────────────────────────────────────────────────────── */

void
purser_department_record_clear (PurserDepartmentRecord *rec)
{
  g_clear_pointer (&rec->id, g_free);
  g_clear_pointer (&rec->org_id, g_free);
  g_clear_pointer (&rec->parent_id, g_free);
  g_clear_pointer (&rec->name, g_free);
  g_clear_pointer (&rec->cost_center, g_free);
}

GArray *
purser_department_records_new (void)
{
  GArray *records = g_array_new (FALSE, TRUE, sizeof (PurserDepartmentRecord));

  g_array_set_clear_func (records, (GDestroyNotify) purser_department_record_clear);
  return records;
}

static void
bind_seat_allocation (sqlite3_stmt *stmt, int index, gint64 seat_allocation)
{
  if (seat_allocation < 0)
    sqlite3_bind_null (stmt, index);
  else
    sqlite3_bind_int64 (stmt, index, seat_allocation);
}

gboolean
purser_store_department_insert (PurserDb *db, const PurserDepartmentRecord *rec, GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;

  g_return_val_if_fail (rec != NULL && rec->id != NULL, FALSE);

  stmt = purser_db_prepare (db,
                            "INSERT INTO departments (" DEPARTMENT_COLUMNS ")"
                            " VALUES (?,?,?,?,?,?,?)",
                            error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, rec->id);
  purser_db_bind_text (stmt, 2, rec->org_id);
  purser_db_bind_text (stmt, 3, rec->parent_id);
  purser_db_bind_text (stmt, 4, rec->name);
  purser_db_bind_text (stmt, 5, rec->cost_center);
  bind_seat_allocation (stmt, 6, rec->seat_allocation);
  purser_db_bind_int64 (stmt, 7, rec->created_at);
  return purser_db_step_done (db, stmt, "Could not add the department", error);
}

gboolean
purser_store_department_update (PurserDb *db, const PurserDepartmentRecord *rec, GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;

  g_return_val_if_fail (rec != NULL && rec->id != NULL, FALSE);

  stmt = purser_db_prepare (db,
                            "UPDATE departments SET parent_id = ?3, name = ?4, cost_center = ?5,"
                            " seat_allocation = ?6 WHERE org_id = ?1 AND id = ?2",
                            error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, rec->org_id);
  purser_db_bind_text (stmt, 2, rec->id);
  purser_db_bind_text (stmt, 3, rec->parent_id);
  purser_db_bind_text (stmt, 4, rec->name);
  purser_db_bind_text (stmt, 5, rec->cost_center);
  bind_seat_allocation (stmt, 6, rec->seat_allocation);
  if (!purser_db_step_done (db, stmt, "Could not update the department", error))
    return FALSE;
  if (purser_db_changes (db) == 0)
    return purser_db_not_found (error, "No department %s", rec->id);
  return TRUE;
}

gboolean
purser_store_department_delete (PurserDb *db, const char *org_id, const char *id, GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;

  g_return_val_if_fail (org_id != NULL && id != NULL, FALSE);

  /* Teams or employees still in it make this a foreign-key CONFLICT. */
  stmt = purser_db_prepare (db, "DELETE FROM departments WHERE org_id = ? AND id = ?", error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, org_id);
  purser_db_bind_text (stmt, 2, id);
  if (!purser_db_step_done (db, stmt, "Could not delete the department", error))
    return FALSE;
  if (purser_db_changes (db) == 0)
    return purser_db_not_found (error, "No department %s", id);
  return TRUE;
}

static void
read_department (sqlite3_stmt *stmt, PurserDepartmentRecord *out)
{
  gboolean allocated = sqlite3_column_type (stmt, 5) != SQLITE_NULL;

  *out = (PurserDepartmentRecord){
    .id = purser_db_column_dup (stmt, 0),
    .org_id = purser_db_column_dup (stmt, 1),
    .parent_id = purser_db_column_dup (stmt, 2),
    .name = purser_db_column_dup (stmt, 3),
    .cost_center = purser_db_column_dup (stmt, 4),
    .seat_allocation = allocated ? sqlite3_column_int64 (stmt, 5) : -1,
    .created_at = sqlite3_column_int64 (stmt, 6),
  };
}

gboolean
purser_store_department_get (PurserDb *db, const char *org_id, const char *id,
                             PurserDepartmentRecord *out, GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;
  int rc;

  g_return_val_if_fail (org_id != NULL && id != NULL && out != NULL, FALSE);

  stmt = purser_db_prepare (db,
                            "SELECT " DEPARTMENT_COLUMNS " FROM departments"
                            " WHERE org_id = ? AND id = ?",
                            error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, org_id);
  purser_db_bind_text (stmt, 2, id);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    return purser_db_not_found (error, "No department %s", id);
  if (rc != SQLITE_ROW)
    return purser_db_fail (db, error, "Could not read the department");
  read_department (stmt, out);
  return TRUE;
}

gboolean
purser_store_department_list (PurserDb *db, const char *org_id, GArray *out, GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;
  int rc;

  g_return_val_if_fail (org_id != NULL && out != NULL, FALSE);

  stmt = purser_db_prepare (db,
                            "SELECT " DEPARTMENT_COLUMNS " FROM departments WHERE org_id = ?"
                            " ORDER BY name COLLATE NOCASE, id",
                            error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, org_id);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      PurserDepartmentRecord rec;

      read_department (stmt, &rec);
      g_array_append_val (out, rec);
    }
  if (rc != SQLITE_DONE)
    return purser_db_fail (db, error, "Could not list the departments");
  return TRUE;
}

/* ── employees ─────────────────────────────────────────────────────────────────── */

void
purser_employee_record_clear (PurserEmployeeRecord *rec)
{
  g_clear_pointer (&rec->id, g_free);
  g_clear_pointer (&rec->org_id, g_free);
  g_clear_pointer (&rec->email, g_free);
  g_clear_pointer (&rec->name, g_free);
  g_clear_pointer (&rec->department_id, g_free);
  g_clear_pointer (&rec->title, g_free);
  g_clear_pointer (&rec->status, g_free);
}

GArray *
purser_employee_records_new (void)
{
  GArray *records = g_array_new (FALSE, TRUE, sizeof (PurserEmployeeRecord));

  g_array_set_clear_func (records, (GDestroyNotify) purser_employee_record_clear);
  return records;
}

gboolean
purser_store_employee_insert (PurserDb *db, const PurserEmployeeRecord *rec, GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;

  g_return_val_if_fail (rec != NULL && rec->id != NULL, FALSE);

  /* `licensed` is not a column: licenses are assigned through the license calls. */
  stmt = purser_db_prepare (db,
                            "INSERT INTO employees (id, org_id, email, name, department_id, title,"
                            " status, created_at, last_session_at) VALUES (?,?,?,?,?,?,?,?,?)",
                            error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, rec->id);
  purser_db_bind_text (stmt, 2, rec->org_id);
  purser_db_bind_text (stmt, 3, rec->email);
  purser_db_bind_text (stmt, 4, rec->name);
  purser_db_bind_text (stmt, 5, rec->department_id);
  purser_db_bind_text (stmt, 6, rec->title);
  purser_db_bind_text (stmt, 7, rec->status != NULL ? rec->status : "active");
  purser_db_bind_int64 (stmt, 8, rec->created_at);
  purser_db_bind_time (stmt, 9, rec->last_session_at);
  return purser_db_step_done (db, stmt, "Could not add the employee", error);
}

gboolean
purser_store_employee_update (PurserDb *db, const PurserEmployeeRecord *rec, GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;

  g_return_val_if_fail (rec != NULL && rec->id != NULL, FALSE);

  stmt = purser_db_prepare (db,
                            "UPDATE employees SET email = ?3, name = ?4, department_id = ?5,"
                            " title = ?6, status = ?7, last_session_at = ?8"
                            " WHERE org_id = ?1 AND id = ?2",
                            error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, rec->org_id);
  purser_db_bind_text (stmt, 2, rec->id);
  purser_db_bind_text (stmt, 3, rec->email);
  purser_db_bind_text (stmt, 4, rec->name);
  purser_db_bind_text (stmt, 5, rec->department_id);
  purser_db_bind_text (stmt, 6, rec->title);
  purser_db_bind_text (stmt, 7, rec->status != NULL ? rec->status : "active");
  purser_db_bind_time (stmt, 8, rec->last_session_at);
  if (!purser_db_step_done (db, stmt, "Could not update the employee", error))
    return FALSE;
  if (purser_db_changes (db) == 0)
    return purser_db_not_found (error, "No employee %s", rec->id);
  return TRUE;
}

/* Reads a row of EMPLOYEE_SELECT. */
static void
read_employee (sqlite3_stmt *stmt, PurserEmployeeRecord *out)
{
  gboolean licensed = sqlite3_column_type (stmt, 9) != SQLITE_NULL;

  *out = (PurserEmployeeRecord){
    .id = purser_db_column_dup (stmt, 0),
    .org_id = purser_db_column_dup (stmt, 1),
    .email = purser_db_column_dup (stmt, 2),
    .name = purser_db_column_dup (stmt, 3),
    .department_id = purser_db_column_dup (stmt, 4),
    .title = purser_db_column_dup (stmt, 5),
    .status = purser_db_column_dup (stmt, 6),
    .created_at = sqlite3_column_int64 (stmt, 7),
    .last_session_at = sqlite3_column_int64 (stmt, 8),
    .licensed = licensed,
    .license_assigned_at = licensed ? sqlite3_column_int64 (stmt, 9) : 0,
  };
}

static gboolean
read_one_employee (PurserDb *db, sqlite3_stmt *stmt, const char *key, PurserEmployeeRecord *out,
                   GError **error)
{
  int rc = sqlite3_step (stmt);

  if (rc == SQLITE_DONE)
    return purser_db_not_found (error, "No employee %s", key);
  if (rc != SQLITE_ROW)
    return purser_db_fail (db, error, "Could not read the employee");
  read_employee (stmt, out);
  return TRUE;
}

gboolean
purser_store_employee_get (PurserDb *db, const char *org_id, const char *id,
                           PurserEmployeeRecord *out, GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;

  g_return_val_if_fail (org_id != NULL && id != NULL && out != NULL, FALSE);

  stmt = purser_db_prepare (db, EMPLOYEE_SELECT " WHERE e.org_id = ? AND e.id = ?", error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, org_id);
  purser_db_bind_text (stmt, 2, id);
  return read_one_employee (db, stmt, id, out, error);
}

gboolean
purser_store_employee_get_by_email (PurserDb *db, const char *org_id, const char *email,
                                    PurserEmployeeRecord *out, GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;

  g_return_val_if_fail (org_id != NULL && email != NULL && out != NULL, FALSE);

  stmt = purser_db_prepare (db, EMPLOYEE_SELECT " WHERE e.org_id = ? AND e.email = ?", error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, org_id);
  purser_db_bind_text (stmt, 2, email);
  return read_one_employee (db, stmt, email, out, error);
}

/* "%" + text with LIKE's wildcards (and the escape character) escaped + "%". */
static char *
like_pattern (const char *text)
{
  GString *pattern = g_string_new ("%");

  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '%' || *p == '_' || *p == '\\')
        g_string_append_c (pattern, '\\');
      g_string_append_c (pattern, *p);
    }
  g_string_append_c (pattern, '%');
  return g_string_free (pattern, FALSE);
}

/* One statement for every combination of filters: a NULL parameter switches its filter
 * off, so the statement cache holds one entry. Departments are matched through
 * IFNULL (…, ''), so "" in the set selects employees without a department. */
gboolean
purser_store_employee_list (PurserDb *db, const char *org_id, const PurserEmployeeFilter *filter,
                            GArray *out, gboolean *has_more, GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;
  g_autofree char *departments = NULL;
  g_autofree char *pattern = NULL;
  gint64 after_seq = 0;
  gint64 n = 0;
  guint first;
  int rc;

  g_return_val_if_fail (org_id != NULL && filter != NULL && out != NULL, FALSE);
  g_return_val_if_fail (filter->limit > 0, FALSE);

  first = out->len;

  if (!purser_db_page_seq (db, "SELECT seq FROM employees WHERE org_id = ? AND id = ?", org_id,
                           filter->after_id, &after_seq, error))
    return FALSE;
  if (filter->department_ids != NULL)
    departments = purser_db_string_set_to_json (filter->department_ids);
  if (filter->query != NULL && filter->query[0] != '\0')
    pattern = like_pattern (filter->query);

  /* LIKE ignores ASCII case by itself (case_sensitive_like is never switched on). */
  stmt = purser_db_prepare (
      db,
      EMPLOYEE_SELECT
      " WHERE e.org_id = ?1 AND e.seq > ?2"
      " AND (?3 IS NULL OR IFNULL (e.department_id, '')"
      "      IN (SELECT value FROM json_each (?3)))"
      " AND (?4 IS NULL OR e.name LIKE ?4 ESCAPE '\\' OR e.email LIKE ?4 ESCAPE '\\')"
      " AND (?5 < 0 OR (l.assigned_at IS NOT NULL) = ?5)"
      " ORDER BY e.seq LIMIT ?6",
      error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, org_id);
  purser_db_bind_int64 (stmt, 2, after_seq);
  purser_db_bind_text (stmt, 3, departments);
  purser_db_bind_text (stmt, 4, pattern);
  purser_db_bind_int64 (stmt, 5, filter->licensed < 0 ? -1 : filter->licensed != 0);
  /* One row more than asked tells whether there is a next page. */
  purser_db_bind_int64 (stmt, 6, (gint64) filter->limit + 1);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      PurserEmployeeRecord rec;

      if (n++ == filter->limit)
        break;
      read_employee (stmt, &rec);
      g_array_append_val (out, rec);
    }
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    {
      g_array_set_size (out, first);
      return purser_db_fail (db, error, "Could not list the employees");
    }

  if (has_more != NULL)
    *has_more = n > filter->limit;
  return TRUE;
}

/* ── licenses ──────────────────────────────────────────────────────────────────── */

static gboolean
employee_exists (PurserDb *db, const char *org_id, const char *employee_id, GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;
  int rc;

  stmt = purser_db_prepare (db, "SELECT 1 FROM employees WHERE org_id = ? AND id = ?", error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, org_id);
  purser_db_bind_text (stmt, 2, employee_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    return purser_db_not_found (error, "No employee %s", employee_id);
  if (rc != SQLITE_ROW)
    return purser_db_fail (db, error, "Could not read the employee");
  return TRUE;
}

gboolean
purser_store_license_assign (PurserDb *db, const char *org_id, const char *employee_id,
                             const char *actor, gint64 now, GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;

  g_return_val_if_fail (org_id != NULL && employee_id != NULL, FALSE);

  /* Without this check a foreign employee would surface as a foreign-key CONFLICT. */
  if (!employee_exists (db, org_id, employee_id, error))
    return FALSE;

  stmt = purser_db_prepare (db,
                            "INSERT INTO licenses (org_id, employee_id, assigned_at, assigned_by)"
                            " VALUES (?,?,?,?)",
                            error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, org_id);
  purser_db_bind_text (stmt, 2, employee_id);
  purser_db_bind_int64 (stmt, 3, now);
  purser_db_bind_text (stmt, 4, actor);

  /* licenses_live turns a second live license into a constraint failure. */
  if (sqlite3_step (stmt) != SQLITE_DONE)
    {
      if ((sqlite3_errcode (purser_db_handle (db)) & 0xff) == SQLITE_CONSTRAINT)
        {
          g_set_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_CONFLICT,
                       "Employee %s already has a license", employee_id);
          return FALSE;
        }
      return purser_db_fail (db, error, "Could not assign the license");
    }
  return TRUE;
}

gboolean
purser_store_license_revoke (PurserDb *db, const char *org_id, const char *employee_id,
                             const char *actor, gint64 now, GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;

  g_return_val_if_fail (org_id != NULL && employee_id != NULL, FALSE);

  stmt = purser_db_prepare (db,
                            "UPDATE licenses SET revoked_at = ?3, revoked_by = ?4"
                            " WHERE org_id = ?1 AND employee_id = ?2 AND revoked_at IS NULL",
                            error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, org_id);
  purser_db_bind_text (stmt, 2, employee_id);
  purser_db_bind_int64 (stmt, 3, now);
  purser_db_bind_text (stmt, 4, actor);
  if (!purser_db_step_done (db, stmt, "Could not revoke the license", error))
    return FALSE;
  if (purser_db_changes (db) == 0)
    return purser_db_not_found (error, "Employee %s has no license", employee_id);
  return TRUE;
}

/* -1 when the database cannot be read (the signature has no GError): callers comparing
 * it with a seat count must not mistake a failure for "no licenses". */
gint64
purser_store_license_count (PurserDb *db, const char *org_id)
{
  g_auto (PurserDbStmt) stmt = NULL;

  g_return_val_if_fail (org_id != NULL, -1);

  stmt = purser_db_prepare (
      db, "SELECT count(*) FROM licenses WHERE org_id = ? AND revoked_at IS NULL", NULL);
  if (stmt == NULL)
    return -1;
  purser_db_bind_text (stmt, 1, org_id);
  if (sqlite3_step (stmt) != SQLITE_ROW)
    return -1;
  return sqlite3_column_int64 (stmt, 0);
}

GHashTable *
purser_store_license_count_by_department (PurserDb *db, const char *org_id, GError **error)
{
  g_autoptr (GHashTable) counts = NULL;
  g_auto (PurserDbStmt) stmt = NULL;
  int rc;

  g_return_val_if_fail (org_id != NULL, NULL);

  /* The employee's own department (a team counts for itself, not for its parent). */
  stmt = purser_db_prepare (db,
                            "SELECT IFNULL (e.department_id, ''), count(*)"
                            " FROM licenses l JOIN employees e ON e.id = l.employee_id"
                            " WHERE l.org_id = ? AND l.revoked_at IS NULL"
                            " GROUP BY 1",
                            error);
  if (stmt == NULL)
    return NULL;
  purser_db_bind_text (stmt, 1, org_id);

  counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 count = sqlite3_column_int64 (stmt, 1);

      g_hash_table_insert (counts, purser_db_column_dup (stmt, 0),
                           g_memdup2 (&count, sizeof count));
    }
  if (rc != SQLITE_DONE)
    {
      purser_db_set_error (db, error, "Could not count the licenses");
      return NULL;
    }
  return g_steal_pointer (&counts);
}
