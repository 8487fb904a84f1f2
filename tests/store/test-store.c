/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "purser-store.h"

/* Every test starts from a fresh in-memory database with two organizations. */
typedef struct
{
  PurserDb *db;
} Fixture;

#define ORG_A "org_aaaaaaaaaaaaaaaa"
#define ORG_B "org_bbbbbbbbbbbbbbbb"

static void
insert_org (PurserDb *db, const char *id, const char *code)
{
  g_autoptr (GError) error = NULL;
  PurserOrgRecord org = {
    .id = (char *) id,
    .name = (char *) "Organization",
    .code = (char *) code,
    .created_at = 1700000000,
  };

  g_assert_true (purser_store_org_insert (db, &org, &error));
  g_assert_no_error (error);
}

static void
fixture_setup (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fixture->db = purser_db_open (":memory:", PURSER_SCHEMA_SERVER, &error);
  g_assert_no_error (error);
  insert_org (fixture->db, ORG_A, "ACME");
  insert_org (fixture->db, ORG_B, "BETA");
}

static void
fixture_teardown (Fixture *fixture, gconstpointer data)
{
  g_clear_pointer (&fixture->db, purser_db_close);
}

static gint64
count_rows (PurserDb *db, const char *table)
{
  g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM %s", table);
  sqlite3_stmt *stmt = purser_db_prepare (db, sql, NULL);
  gint64 n;

  g_assert_nonnull (stmt);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  n = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  return n;
}

static void
add_department (PurserDb *db, const char *org_id, const char *id, const char *parent_id,
                const char *name)
{
  g_autoptr (GError) error = NULL;
  PurserDepartmentRecord rec = {
    .id = (char *) id,
    .org_id = (char *) org_id,
    .parent_id = (char *) parent_id,
    .name = (char *) name,
    .seat_allocation = -1,
    .created_at = 1700000000,
  };

  g_assert_true (purser_store_department_insert (db, &rec, &error));
  g_assert_no_error (error);
}

static void
add_employee (PurserDb *db, const char *org_id, const char *id, const char *name, const char *email,
              const char *department_id)
{
  g_autoptr (GError) error = NULL;
  PurserEmployeeRecord rec = {
    .id = (char *) id,
    .org_id = (char *) org_id,
    .email = (char *) email,
    .name = (char *) name,
    .department_id = (char *) department_id,
    .status = (char *) "active",
    .created_at = 1700000000,
  };

  g_assert_true (purser_store_employee_insert (db, &rec, &error));
  g_assert_no_error (error);
}

/* ── organizations, users, tokens ──────────────────────────────────────────────── */

static void
test_org (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  PurserOrgRecord org = {
    .id = (char *) "org_cccccccccccccccc",
    .name = (char *) "Northwind Logistics",
    .code = (char *) "NWL",
    .country = (char *) "US",
    .region = (char *) "WA",
    .tax_id = (char *) "91-1234567",
    .tax_exempt = TRUE,
    .billing_email = (char *) "ap@northwind.example",
    .address = (char *) "1 Harbor Way\nSeattle, WA",
    .created_at = 1711111111,
  };
  PurserOrgRecord got = { 0 };

  g_assert_true (purser_store_org_insert (fixture->db, &org, &error));
  g_assert_no_error (error);
  g_assert_true (purser_store_org_get (fixture->db, org.id, &got, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (got.id, ==, org.id);
  g_assert_cmpstr (got.name, ==, org.name);
  g_assert_cmpstr (got.code, ==, org.code);
  g_assert_cmpstr (got.country, ==, org.country);
  g_assert_cmpstr (got.region, ==, org.region);
  g_assert_cmpstr (got.tax_id, ==, org.tax_id);
  g_assert_true (got.tax_exempt);
  g_assert_cmpstr (got.billing_email, ==, org.billing_email);
  g_assert_cmpstr (got.address, ==, org.address);
  g_assert_cmpint (got.created_at, ==, org.created_at);
  purser_org_record_clear (&got);

  g_assert_true (purser_store_org_code_exists (fixture->db, "NWL"));
  g_assert_false (purser_store_org_code_exists (fixture->db, "NOPE"));

  /* Codes are unique. */
  org.id = (char *) "org_dddddddddddddddd";
  g_assert_false (purser_store_org_insert (fixture->db, &org, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_CONFLICT);
  g_clear_error (&error);

  /* Update writes every field; NULLs stay NULL. */
  org.id = (char *) "org_cccccccccccccccc";
  org.name = (char *) "Northwind";
  org.region = NULL;
  org.tax_exempt = FALSE;
  g_assert_true (purser_store_org_update (fixture->db, &org, &error));
  g_assert_no_error (error);
  g_assert_true (purser_store_org_get (fixture->db, org.id, &got, &error));
  g_assert_cmpstr (got.name, ==, "Northwind");
  g_assert_null (got.region);
  g_assert_false (got.tax_exempt);
  purser_org_record_clear (&got);

  org.code = (char *) "ACME";
  g_assert_false (purser_store_org_update (fixture->db, &org, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_CONFLICT);
  g_clear_error (&error);

  org.id = (char *) "org_nowhere";
  org.code = (char *) "NEW";
  g_assert_false (purser_store_org_update (fixture->db, &org, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (purser_store_org_get (fixture->db, "org_nowhere", &got, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND);
}

static void
test_users_tokens (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) departments = g_ptr_array_new ();
  guint8 hash[32];
  guint8 other_hash[32];
  PurserUserRecord user = {
    .id = (char *) "usr_1",
    .org_id = (char *) ORG_A,
    .email = (char *) "Maria@Acme.example",
    .name = (char *) "Maria Lopez",
    .role = (char *) "manager",
    .password_hash = (char *) "$argon2id$v=19$m=65536,t=2,p=1$abc$def",
    .employee_id = (char *) "emp_1",
    .department_ids = departments,
    .created_at = 1700000100,
  };
  PurserUserRecord got = { 0 };

  add_department (fixture->db, ORG_A, "dep_eng", NULL, "Engineering");
  add_department (fixture->db, ORG_A, "dep_ops", NULL, "Operations");
  add_employee (fixture->db, ORG_A, "emp_1", "Maria Lopez", "maria@acme.example", "dep_eng");
  g_ptr_array_add (departments, (char *) "dep_eng");
  g_ptr_array_add (departments, (char *) "dep_ops");

  g_assert_true (purser_store_user_insert (fixture->db, &user, &error));
  g_assert_no_error (error);

  g_assert_true (purser_store_user_get (fixture->db, "usr_1", &got, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (got.id, ==, "usr_1");
  g_assert_cmpstr (got.org_id, ==, ORG_A);
  g_assert_cmpstr (got.email, ==, "Maria@Acme.example");
  g_assert_cmpstr (got.name, ==, "Maria Lopez");
  g_assert_cmpstr (got.role, ==, "manager");
  g_assert_cmpstr (got.password_hash, ==, user.password_hash);
  g_assert_cmpstr (got.employee_id, ==, "emp_1");
  g_assert_cmpint (got.created_at, ==, 1700000100);
  g_assert_cmpuint (got.department_ids->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (got.department_ids, 0), ==, "dep_eng");
  g_assert_cmpstr (g_ptr_array_index (got.department_ids, 1), ==, "dep_ops");
  purser_user_record_clear (&got);

  /* E-mails are case-insensitive, for lookups and for uniqueness. */
  g_assert_true (purser_store_user_get_by_email (fixture->db, "maria@ACME.example", &got, &error));
  g_assert_cmpstr (got.id, ==, "usr_1");
  purser_user_record_clear (&got);
  g_assert_true (purser_store_user_email_exists (fixture->db, "MARIA@acme.example"));
  g_assert_false (purser_store_user_email_exists (fixture->db, "nobody@acme.example"));

  user.id = (char *) "usr_2";
  user.org_id = (char *) ORG_B;
  user.email = (char *) "maria@acme.EXAMPLE";
  user.department_ids = NULL;
  user.employee_id = NULL;
  g_assert_false (purser_store_user_insert (fixture->db, &user, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_CONFLICT);
  g_clear_error (&error);

  /* A failing managed department undoes the whole user. */
  user.email = (char *) "other@acme.example";
  user.department_ids = departments;
  g_ptr_array_add (departments, (char *) "dep_nowhere");
  g_assert_false (purser_store_user_insert (fixture->db, &user, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_CONFLICT);
  g_clear_error (&error);
  g_assert_false (purser_store_user_email_exists (fixture->db, "other@acme.example"));
  g_assert_cmpint (count_rows (fixture->db, "manager_departments"), ==, 2);

  g_assert_false (purser_store_user_get (fixture->db, "usr_nowhere", &got, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Tokens: live until expires_at, then gone. */
  memset (hash, 0xab, sizeof hash);
  memset (other_hash, 0xab, sizeof other_hash);
  other_hash[31] = 0xac;
  g_assert_true (purser_store_token_insert (fixture->db, hash, "usr_1", 1000, 2000, &error));
  g_assert_no_error (error);
  g_assert_false (purser_store_token_insert (fixture->db, hash, "usr_1", 1000, 2000, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_CONFLICT);
  g_clear_error (&error);

  g_assert_true (purser_store_token_lookup (fixture->db, hash, 1999, &got, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (got.id, ==, "usr_1");
  g_assert_cmpuint (got.department_ids->len, ==, 2);
  purser_user_record_clear (&got);

  g_assert_false (purser_store_token_lookup (fixture->db, hash, 2000, &got, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (purser_store_token_lookup (fixture->db, other_hash, 1500, &got, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (purser_store_token_delete (fixture->db, hash, &error));
  g_assert_no_error (error);
  g_assert_false (purser_store_token_lookup (fixture->db, hash, 1500, &got, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (purser_store_token_delete (fixture->db, hash, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND);
}

/* ── departments ───────────────────────────────────────────────────────────────── */

static void
test_departments (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) list = purser_department_records_new ();
  PurserDepartmentRecord dep = {
    .id = (char *) "dep_sales",
    .org_id = (char *) ORG_A,
    .name = (char *) "Sales",
    .cost_center = (char *) "CC-400",
    .seat_allocation = 12,
    .created_at = 1700000200,
  };
  PurserDepartmentRecord got = { 0 };

  g_assert_true (purser_store_department_insert (fixture->db, &dep, &error));
  g_assert_no_error (error);
  g_assert_true (purser_store_department_get (fixture->db, ORG_A, "dep_sales", &got, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (got.id, ==, "dep_sales");
  g_assert_cmpstr (got.org_id, ==, ORG_A);
  g_assert_null (got.parent_id);
  g_assert_cmpstr (got.name, ==, "Sales");
  g_assert_cmpstr (got.cost_center, ==, "CC-400");
  g_assert_cmpint (got.seat_allocation, ==, 12);
  g_assert_cmpint (got.created_at, ==, 1700000200);
  purser_department_record_clear (&got);

  /* Another organization cannot see it. */
  g_assert_false (purser_store_department_get (fixture->db, ORG_B, "dep_sales", &got, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  add_department (fixture->db, ORG_A, "dep_eng", NULL, "engineering");
  add_department (fixture->db, ORG_A, "team_web", "dep_eng", "Web");
  add_department (fixture->db, ORG_A, "team_web_sales", "dep_sales", "Web");
  add_department (fixture->db, ORG_B, "dep_b_sales", NULL, "Sales");

  /* Names are unique among siblings, whatever their case. */
  dep.id = (char *) "dep_sales2";
  dep.name = (char *) "SALES";
  g_assert_false (purser_store_department_insert (fixture->db, &dep, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_CONFLICT);
  g_clear_error (&error);
  dep.parent_id = (char *) "dep_eng";
  dep.name = (char *) "web";
  g_assert_false (purser_store_department_insert (fixture->db, &dep, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_CONFLICT);
  g_clear_error (&error);

  /* A parent in another organization is refused. */
  dep.org_id = (char *) ORG_B;
  dep.name = (char *) "Stray";
  g_assert_false (purser_store_department_insert (fixture->db, &dep, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_CONFLICT);
  g_clear_error (&error);

  /* Ordered by name, case-insensitively. */
  g_assert_true (purser_store_department_list (fixture->db, ORG_A, list, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 4);
  g_assert_cmpstr (g_array_index (list, PurserDepartmentRecord, 0).name, ==, "engineering");
  g_assert_cmpstr (g_array_index (list, PurserDepartmentRecord, 1).name, ==, "Sales");
  g_assert_cmpstr (g_array_index (list, PurserDepartmentRecord, 2).name, ==, "Web");
  g_assert_cmpstr (g_array_index (list, PurserDepartmentRecord, 3).name, ==, "Web");
  g_assert_cmpint (g_array_index (list, PurserDepartmentRecord, 0).seat_allocation, ==, -1);

  /* Update, and back to no allocation. */
  dep = (PurserDepartmentRecord){
    .id = (char *) "dep_sales",
    .org_id = (char *) ORG_A,
    .name = (char *) "Sales & Marketing",
    .seat_allocation = -1,
  };
  g_assert_true (purser_store_department_update (fixture->db, &dep, &error));
  g_assert_no_error (error);
  g_assert_true (purser_store_department_get (fixture->db, ORG_A, "dep_sales", &got, &error));
  g_assert_cmpstr (got.name, ==, "Sales & Marketing");
  g_assert_null (got.cost_center);
  g_assert_cmpint (got.seat_allocation, ==, -1);
  g_assert_cmpint (got.created_at, ==, 1700000200);
  purser_department_record_clear (&got);
  dep.org_id = (char *) ORG_B;
  g_assert_false (purser_store_department_update (fixture->db, &dep, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* A department with a team, or with people, stays. */
  g_assert_false (purser_store_department_delete (fixture->db, ORG_A, "dep_eng", &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_CONFLICT);
  g_clear_error (&error);
  add_employee (fixture->db, ORG_A, "emp_1", "Ann", "ann@acme.example", "team_web_sales");
  g_assert_false (purser_store_department_delete (fixture->db, ORG_A, "team_web_sales", &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_CONFLICT);
  g_clear_error (&error);

  g_assert_true (purser_store_department_delete (fixture->db, ORG_A, "team_web", &error));
  g_assert_no_error (error);
  g_assert_true (purser_store_department_delete (fixture->db, ORG_A, "dep_eng", &error));
  g_assert_no_error (error);
  g_assert_false (purser_store_department_delete (fixture->db, ORG_A, "dep_eng", &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (purser_store_department_delete (fixture->db, ORG_B, "dep_sales", &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND);
}

/* ── employees and licenses ────────────────────────────────────────────────────── */

static void
test_employee_round_trip (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  PurserEmployeeRecord emp = {
    .id = (char *) "emp_1",
    .org_id = (char *) ORG_A,
    .email = (char *) "Ann.Lee@acme.example",
    .name = (char *) "Ann Lee",
    .department_id = (char *) "dep_eng",
    .title = (char *) "Staff engineer",
    .status = (char *) "active",
    .created_at = 1700000300,
    .last_session_at = 1700500000,
  };
  PurserEmployeeRecord got = { 0 };

  add_department (fixture->db, ORG_A, "dep_eng", NULL, "Engineering");
  add_department (fixture->db, ORG_B, "dep_b", NULL, "Engineering");

  g_assert_true (purser_store_employee_insert (fixture->db, &emp, &error));
  g_assert_no_error (error);
  g_assert_true (purser_store_employee_get (fixture->db, ORG_A, "emp_1", &got, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (got.id, ==, emp.id);
  g_assert_cmpstr (got.org_id, ==, emp.org_id);
  g_assert_cmpstr (got.email, ==, emp.email);
  g_assert_cmpstr (got.name, ==, emp.name);
  g_assert_cmpstr (got.department_id, ==, emp.department_id);
  g_assert_cmpstr (got.title, ==, emp.title);
  g_assert_cmpstr (got.status, ==, "active");
  g_assert_cmpint (got.created_at, ==, emp.created_at);
  g_assert_cmpint (got.last_session_at, ==, emp.last_session_at);
  g_assert_false (got.licensed);
  g_assert_cmpint (got.license_assigned_at, ==, 0);
  purser_employee_record_clear (&got);

  g_assert_true (purser_store_employee_get_by_email (fixture->db, ORG_A, "ann.lee@ACME.example",
                                                     &got, &error));
  g_assert_cmpstr (got.id, ==, "emp_1");
  purser_employee_record_clear (&got);
  g_assert_false (purser_store_employee_get_by_email (fixture->db, ORG_B, "ann.lee@acme.example",
                                                      &got, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (purser_store_employee_get (fixture->db, ORG_B, "emp_1", &got, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* One e-mail per organization, whatever its case; another organization may have it. */
  emp.id = (char *) "emp_2";
  emp.email = (char *) "ANN.LEE@acme.example";
  g_assert_false (purser_store_employee_insert (fixture->db, &emp, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_CONFLICT);
  g_clear_error (&error);

  /* … but not another organization's department. */
  emp.org_id = (char *) ORG_B;
  g_assert_false (purser_store_employee_insert (fixture->db, &emp, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_CONFLICT);
  g_clear_error (&error);
  emp.department_id = (char *) "dep_b";
  g_assert_true (purser_store_employee_insert (fixture->db, &emp, &error));
  g_assert_no_error (error);

  /* Update. */
  emp = (PurserEmployeeRecord){
    .id = (char *) "emp_1",
    .org_id = (char *) ORG_A,
    .email = (char *) "ann@acme.example",
    .name = (char *) "Ann Lee-Park",
    .status = (char *) "inactive",
  };
  g_assert_true (purser_store_employee_update (fixture->db, &emp, &error));
  g_assert_no_error (error);
  g_assert_true (purser_store_employee_get (fixture->db, ORG_A, "emp_1", &got, &error));
  g_assert_cmpstr (got.email, ==, "ann@acme.example");
  g_assert_cmpstr (got.name, ==, "Ann Lee-Park");
  g_assert_null (got.department_id);
  g_assert_null (got.title);
  g_assert_cmpstr (got.status, ==, "inactive");
  g_assert_cmpint (got.last_session_at, ==, 0);
  g_assert_cmpint (got.created_at, ==, 1700000300);
  purser_employee_record_clear (&got);

  emp.org_id = (char *) ORG_B;
  g_assert_false (purser_store_employee_update (fixture->db, &emp, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND);
}

/* Reads every page of a filter, checking has_more on each. */
static GPtrArray *
list_all_ids (PurserDb *db, PurserEmployeeFilter filter, guint *n_pages)
{
  GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *after = NULL;
  gboolean has_more = TRUE;

  *n_pages = 0;
  while (has_more)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GArray) page = purser_employee_records_new ();

      filter.after_id = after;
      g_assert_true (purser_store_employee_list (db, ORG_A, &filter, page, &has_more, &error));
      g_assert_no_error (error);
      (*n_pages)++;
      g_assert_cmpuint (page->len, <=, filter.limit);
      /* has_more promises a non-empty next page, and a short page ends the list. */
      if (has_more)
        g_assert_cmpuint (page->len, ==, filter.limit);
      for (guint i = 0; i < page->len; i++)
        g_ptr_array_add (ids, g_strdup (g_array_index (page, PurserEmployeeRecord, i).id));
      if (page->len > 0)
        {
          g_free (after);
          after = g_strdup (g_array_index (page, PurserEmployeeRecord, page->len - 1).id);
        }
      g_assert_cmpuint (*n_pages, <, 100);
    }
  return ids;
}

static void
test_employee_list (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) departments = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GPtrArray) ids = NULL;
  PurserEmployeeFilter filter = { .limit = 10, .licensed = -1 };
  guint n_pages;

  add_department (fixture->db, ORG_A, "dep_eng", NULL, "Engineering");
  add_department (fixture->db, ORG_A, "dep_ops", NULL, "Operations");
  add_department (fixture->db, ORG_B, "dep_b", NULL, "Engineering");

  /* Ids deliberately out of alphabetical order: the list follows creation. */
  for (int i = 0; i < 25; i++)
    {
      g_autofree char *id = g_strdup_printf ("emp_%c%02d", 'z' - i % 3, i);
      g_autofree char *name = g_strdup_printf ("Person %02d", i);
      g_autofree char *email = g_strdup_printf ("p%02d@acme.example", i);

      add_employee (fixture->db, ORG_A, id, name, email,
                    i % 5 == 0 ? NULL : (i % 2 == 0 ? "dep_eng" : "dep_ops"));
    }
  add_employee (fixture->db, ORG_B, "emp_b", "Person 00", "p00@beta.example", "dep_b");
  add_employee (fixture->db, ORG_A, "emp_pct", "Growth 100% Hacker", "gh@acme.example", "dep_ops");
  add_employee (fixture->db, ORG_A, "emp_und", "Under_Score", "under@acme.example", "dep_ops");

  ids = list_all_ids (fixture->db, filter, &n_pages);
  g_assert_cmpuint (ids->len, ==, 27);
  g_assert_cmpuint (n_pages, ==, 3);
  g_assert_cmpstr (g_ptr_array_index (ids, 0), ==, "emp_z00");
  g_assert_cmpstr (g_ptr_array_index (ids, 1), ==, "emp_y01");
  g_assert_cmpstr (g_ptr_array_index (ids, 24), ==, "emp_z24");
  g_assert_cmpstr (g_ptr_array_index (ids, 26), ==, "emp_und");
  g_clear_pointer (&ids, g_ptr_array_unref);

  /* Exactly a page's worth: no phantom next page. */
  filter.limit = 27;
  ids = list_all_ids (fixture->db, filter, &n_pages);
  g_assert_cmpuint (ids->len, ==, 27);
  g_assert_cmpuint (n_pages, ==, 1);
  g_clear_pointer (&ids, g_ptr_array_unref);
  filter.limit = 10;

  /* Departments: "" stands for no department. */
  g_hash_table_add (departments, (char *) "dep_eng");
  filter.department_ids = departments;
  ids = list_all_ids (fixture->db, filter, &n_pages);
  g_assert_cmpuint (ids->len, ==, 10); /* even i, not a multiple of 5 */
  g_clear_pointer (&ids, g_ptr_array_unref);
  g_hash_table_add (departments, (char *) "");
  ids = list_all_ids (fixture->db, filter, &n_pages);
  g_assert_cmpuint (ids->len, ==, 15);
  g_clear_pointer (&ids, g_ptr_array_unref);
  g_hash_table_remove_all (departments);
  ids = list_all_ids (fixture->db, filter, &n_pages);
  g_assert_cmpuint (ids->len, ==, 0);
  g_clear_pointer (&ids, g_ptr_array_unref);
  filter.department_ids = NULL;

  /* Query: substring of name or e-mail, any case, wildcards taken literally. */
  filter.query = "person 1";
  ids = list_all_ids (fixture->db, filter, &n_pages);
  g_assert_cmpuint (ids->len, ==, 10);
  g_clear_pointer (&ids, g_ptr_array_unref);
  filter.query = "P07@ACME";
  ids = list_all_ids (fixture->db, filter, &n_pages);
  g_assert_cmpuint (ids->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (ids, 0), ==, "emp_y07");
  g_clear_pointer (&ids, g_ptr_array_unref);
  filter.query = "0%";
  ids = list_all_ids (fixture->db, filter, &n_pages);
  g_assert_cmpuint (ids->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (ids, 0), ==, "emp_pct");
  g_clear_pointer (&ids, g_ptr_array_unref);
  filter.query = "r_";
  ids = list_all_ids (fixture->db, filter, &n_pages);
  g_assert_cmpuint (ids->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (ids, 0), ==, "emp_und");
  g_clear_pointer (&ids, g_ptr_array_unref);
  filter.query = NULL;

  /* Licensed or not. */
  for (int i = 0; i < 25; i += 4)
    {
      g_autofree char *id = g_strdup_printf ("emp_%c%02d", 'z' - i % 3, i);

      g_assert_true (
          purser_store_license_assign (fixture->db, ORG_A, id, "usr_1", 1000 + i, &error));
      g_assert_no_error (error);
    }
  filter.licensed = 1;
  ids = list_all_ids (fixture->db, filter, &n_pages);
  g_assert_cmpuint (ids->len, ==, 7);
  g_assert_cmpstr (g_ptr_array_index (ids, 1), ==, "emp_y04");
  g_clear_pointer (&ids, g_ptr_array_unref);
  filter.licensed = 0;
  ids = list_all_ids (fixture->db, filter, &n_pages);
  g_assert_cmpuint (ids->len, ==, 20);
  g_clear_pointer (&ids, g_ptr_array_unref);

  /* Filters combine, and the records carry their license. */
  {
    g_autoptr (GArray) page = purser_employee_records_new ();
    gboolean has_more = TRUE;
    PurserEmployeeRecord *rec;

    filter = (PurserEmployeeFilter){ .limit = 5, .licensed = 1, .query = "person 0" };
    g_assert_true (
        purser_store_employee_list (fixture->db, ORG_A, &filter, page, &has_more, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (page->len, ==, 3); /* 00, 04, 08 */
    g_assert_false (has_more);
    rec = &g_array_index (page, PurserEmployeeRecord, 2);
    g_assert_cmpstr (rec->id, ==, "emp_x08");
    g_assert_true (rec->licensed);
    g_assert_cmpint (rec->license_assigned_at, ==, 1008);
  }

  /* An unknown cursor is an error, not an empty page. */
  {
    g_autoptr (GArray) page = purser_employee_records_new ();

    filter = (PurserEmployeeFilter){ .limit = 5, .licensed = -1, .after_id = "emp_b" };
    g_assert_false (purser_store_employee_list (fixture->db, ORG_A, &filter, page, NULL, &error));
    g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND);
    g_assert_cmpuint (page->len, ==, 0);
  }
}

static gint64
count_for (GHashTable *counts, const char *department_id)
{
  gint64 *count = g_hash_table_lookup (counts, department_id);

  return count != NULL ? *count : 0;
}

static void
test_licenses (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) counts = NULL;
  PurserEmployeeRecord got = { 0 };

  add_department (fixture->db, ORG_A, "dep_eng", NULL, "Engineering");
  add_department (fixture->db, ORG_A, "team_web", "dep_eng", "Web");
  add_department (fixture->db, ORG_B, "dep_b", NULL, "Engineering");
  add_employee (fixture->db, ORG_A, "emp_1", "One", "1@acme.example", "dep_eng");
  add_employee (fixture->db, ORG_A, "emp_2", "Two", "2@acme.example", "dep_eng");
  add_employee (fixture->db, ORG_A, "emp_3", "Three", "3@acme.example", "team_web");
  add_employee (fixture->db, ORG_A, "emp_4", "Four", "4@acme.example", NULL);
  add_employee (fixture->db, ORG_B, "emp_b", "Bee", "b@beta.example", "dep_b");

  g_assert_cmpint (purser_store_license_count (fixture->db, ORG_A), ==, 0);

  g_assert_true (purser_store_license_assign (fixture->db, ORG_A, "emp_1", "usr_1", 100, &error));
  g_assert_no_error (error);
  g_assert_false (purser_store_license_assign (fixture->db, ORG_A, "emp_1", "usr_1", 101, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_CONFLICT);
  g_clear_error (&error);

  /* Another organization's employee is not found, not licensed. */
  g_assert_false (purser_store_license_assign (fixture->db, ORG_A, "emp_b", "usr_1", 100, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (purser_store_license_assign (fixture->db, ORG_A, "emp_x", "usr_1", 100, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (purser_store_license_assign (fixture->db, ORG_A, "emp_2", "usr_1", 102, &error));
  g_assert_true (purser_store_license_assign (fixture->db, ORG_A, "emp_3", "usr_1", 103, &error));
  g_assert_true (purser_store_license_assign (fixture->db, ORG_A, "emp_4", "usr_1", 104, &error));
  g_assert_true (purser_store_license_assign (fixture->db, ORG_B, "emp_b", "usr_9", 105, &error));
  g_assert_no_error (error);
  g_assert_cmpint (purser_store_license_count (fixture->db, ORG_A), ==, 4);
  g_assert_cmpint (purser_store_license_count (fixture->db, ORG_B), ==, 1);

  g_assert_true (purser_store_employee_get (fixture->db, ORG_A, "emp_3", &got, &error));
  g_assert_true (got.licensed);
  g_assert_cmpint (got.license_assigned_at, ==, 103);
  purser_employee_record_clear (&got);

  g_assert_true (purser_store_license_revoke (fixture->db, ORG_A, "emp_2", "usr_1", 200, &error));
  g_assert_no_error (error);
  g_assert_false (purser_store_license_revoke (fixture->db, ORG_A, "emp_2", "usr_1", 201, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (purser_store_license_revoke (fixture->db, ORG_A, "emp_b", "usr_1", 201, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpint (purser_store_license_count (fixture->db, ORG_A), ==, 3);

  g_assert_true (purser_store_employee_get (fixture->db, ORG_A, "emp_2", &got, &error));
  g_assert_false (got.licensed);
  purser_employee_record_clear (&got);

  /* Revoked licenses stay as history; a new one can be assigned. */
  g_assert_true (purser_store_license_assign (fixture->db, ORG_A, "emp_2", "usr_1", 300, &error));
  g_assert_no_error (error);
  g_assert_true (purser_store_license_revoke (fixture->db, ORG_A, "emp_2", "usr_1", 400, &error));
  g_assert_cmpint (count_rows (fixture->db, "licenses"), ==, 6);
  g_assert_cmpint (purser_store_license_count (fixture->db, ORG_A), ==, 3);

  counts = purser_store_license_count_by_department (fixture->db, ORG_A, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (counts), ==, 3);
  g_assert_cmpint (count_for (counts, "dep_eng"), ==, 1);
  g_assert_cmpint (count_for (counts, "team_web"), ==, 1);
  g_assert_cmpint (count_for (counts, ""), ==, 1);
  g_clear_pointer (&counts, g_hash_table_unref);

  counts = purser_store_license_count_by_department (fixture->db, ORG_B, &error);
  g_assert_cmpuint (g_hash_table_size (counts), ==, 1);
  g_assert_cmpint (count_for (counts, "dep_b"), ==, 1);
}

/* ── subscriptions ─────────────────────────────────────────────────────────────── */

static void
assert_lines_equal (const GArray *a, const GArray *b)
{
  guint a_len = a != NULL ? a->len : 0;
  guint b_len = b != NULL ? b->len : 0;

  g_assert_cmpuint (a_len, ==, b_len);
  for (guint i = 0; i < a_len; i++)
    {
      const PurserLine *x = &g_array_index (a, PurserLine, i);
      const PurserLine *y = &g_array_index (b, PurserLine, i);

      g_assert_cmpint (x->kind, ==, y->kind);
      g_assert_cmpstr (x->description, ==, y->description);
      g_assert_cmpint (x->quantity, ==, y->quantity);
      g_assert_cmpint (x->unit_amount, ==, y->unit_amount);
      g_assert_cmpint (x->amount, ==, y->amount);
      g_assert_cmpint (x->period.start, ==, y->period.start);
      g_assert_cmpint (x->period.end, ==, y->period.end);
    }
}

static void
assert_contracts_equal (const PurserContract *a, const PurserContract *b)
{
  g_assert_cmpint (a->seat_price, ==, b->seat_price);
  g_assert_cmpint (a->platform_fee, ==, b->platform_fee);
  g_assert_cmpint (a->interval, ==, b->interval);
}

static void
assert_subscriptions_equal (const PurserSubscriptionRecord *a, const PurserSubscriptionRecord *b)
{
  const PurserSubscription *x = &a->state;
  const PurserSubscription *y = &b->state;

  g_assert_cmpstr (a->id, ==, b->id);
  g_assert_cmpstr (a->org_id, ==, b->org_id);
  g_assert_cmpstr (a->cancel_reason, ==, b->cancel_reason);
  g_assert_cmpstr (a->cancel_comment, ==, b->cancel_comment);
  g_assert_cmpint (a->canceled_at, ==, b->canceled_at);
  g_assert_cmpstr (a->po_number, ==, b->po_number);
  g_assert_cmpstr (a->invoice_notes, ==, b->invoice_notes);
  g_assert_cmpint (a->created_at, ==, b->created_at);
  g_assert_cmpint (a->updated_at, ==, b->updated_at);

  g_assert_cmpint (x->plan, ==, y->plan);
  g_assert_cmpint (x->cycle, ==, y->cycle);
  g_assert_cmpint (x->seats, ==, y->seats);
  assert_contracts_equal (&x->contract, &y->contract);
  g_assert_cmpint (x->billing_day, ==, y->billing_day);
  g_assert_cmpint (x->period.start, ==, y->period.start);
  g_assert_cmpint (x->period.end, ==, y->period.end);
  g_assert_cmpint (x->basis.start, ==, y->basis.start);
  g_assert_cmpint (x->basis.end, ==, y->basis.end);
  g_assert_cmpint (x->status, ==, y->status);
  g_assert_cmpint (x->cancel_at_period_end, ==, y->cancel_at_period_end);
  g_assert_cmpint (x->auto_renew, ==, y->auto_renew);
  g_assert_cmpint (x->proration_billing, ==, y->proration_billing);
  g_assert_cmpint (x->has_scheduled_plan, ==, y->has_scheduled_plan);
  if (x->has_scheduled_plan)
    {
      g_assert_cmpint (x->scheduled_plan, ==, y->scheduled_plan);
      assert_contracts_equal (&x->scheduled_contract, &y->scheduled_contract);
    }
  g_assert_cmpint (x->has_scheduled_cycle, ==, y->has_scheduled_cycle);
  if (x->has_scheduled_cycle)
    g_assert_cmpint (x->scheduled_cycle, ==, y->scheduled_cycle);
  g_assert_cmpint (x->scheduled_billing_day, ==, y->scheduled_billing_day);
  g_assert_cmpint (x->credit_balance, ==, y->credit_balance);
  assert_lines_equal (x->pending, y->pending);
}

/* An Enterprise annual subscription moving to Business monthly at its term end, with
 * true-up lines waiting: every field away from its zero value. */
static void
make_subscription (PurserSubscriptionRecord *rec, const char *id, const char *org_id)
{
  PurserDate start = purser_date_from_ymd (2026, 1, 15);
  PurserDate end = purser_date_from_ymd (2027, 1, 15);

  *rec = (PurserSubscriptionRecord) {
    .id = g_strdup (id),
    .org_id = g_strdup (org_id),
    .state = {
      .plan = PURSER_PLAN_ENTERPRISE,
      .cycle = PURSER_CYCLE_ANNUAL,
      .seats = 42,
      .contract = { .seat_price = 30000, .platform_fee = 500000, .interval = PURSER_CYCLE_ANNUAL },
      .billing_day = 15,
      .period = { start, end },
      .basis = { purser_date_from_ymd (2025, 1, 15), end },
      .status = PURSER_STATUS_PAST_DUE,
      .cancel_at_period_end = TRUE,
      .auto_renew = FALSE,
      .proration_billing = PURSER_PRORATION_TRUE_UP,
      .has_scheduled_plan = TRUE,
      .scheduled_plan = PURSER_PLAN_BUSINESS,
      .scheduled_contract = { .seat_price = 2500, .platform_fee = 0, .interval = PURSER_CYCLE_MONTHLY },
      .has_scheduled_cycle = TRUE,
      .scheduled_cycle = PURSER_CYCLE_MONTHLY,
      .scheduled_billing_day = 3,
      .credit_balance = 12345,
      .pending = purser_lines_new (),
    },
    .cancel_reason = g_strdup ("too_expensive"),
    .cancel_comment = g_strdup ("Budget cuts — next year"),
    .canceled_at = 1780000000,
    .po_number = g_strdup ("PO-7781"),
    .invoice_notes = g_strdup ("Net 30"),
    .created_at = 1768435200,
    .updated_at = 1770000000,
  };
  purser_lines_add (rec->state.pending, PURSER_LINE_PRORATION, "5 seats × 21 days", 5, 30000, 50970,
                    (PurserPeriod){ purser_date_from_ymd (2026, 7, 1), end });
  purser_lines_add (rec->state.pending, PURSER_LINE_CREDIT, NULL, -2, 30000, -12000,
                    (PurserPeriod){ purser_date_from_ymd (2026, 8, 1), end });
}

static void
test_subscription_round_trip (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  PurserSubscriptionRecord sub;
  PurserSubscriptionRecord got = { 0 };

  make_subscription (&sub, "sub_1", ORG_A);
  g_assert_true (purser_store_subscription_insert (fixture->db, &sub, &error));
  g_assert_no_error (error);
  g_assert_true (purser_store_subscription_get (fixture->db, "sub_1", &got, &error));
  g_assert_no_error (error);
  assert_subscriptions_equal (&sub, &got);
  purser_subscription_record_clear (&got);

  /* Back to plain: nothing scheduled, one pending line fewer, active. */
  sub.state.has_scheduled_plan = FALSE;
  sub.state.has_scheduled_cycle = FALSE;
  sub.state.scheduled_billing_day = 0;
  sub.state.status = PURSER_STATUS_ACTIVE;
  sub.state.plan = PURSER_PLAN_BUSINESS;
  sub.state.cycle = PURSER_CYCLE_MONTHLY;
  sub.state.proration_billing = PURSER_PRORATION_IMMEDIATE;
  sub.state.auto_renew = TRUE;
  sub.state.cancel_at_period_end = FALSE;
  sub.canceled_at = 0;
  g_clear_pointer (&sub.cancel_reason, g_free);
  g_array_remove_index (sub.state.pending, 0);
  sub.updated_at++;
  g_assert_true (purser_store_subscription_update (fixture->db, &sub, &error));
  g_assert_no_error (error);
  g_assert_true (purser_store_subscription_get (fixture->db, "sub_1", &got, &error));
  assert_subscriptions_equal (&sub, &got);
  purser_subscription_record_clear (&got);

  /* NULL pending is an empty list. */
  g_clear_pointer (&sub.state.pending, g_array_unref);
  g_assert_true (purser_store_subscription_update (fixture->db, &sub, &error));
  g_assert_true (purser_store_subscription_get (fixture->db, "sub_1", &got, &error));
  g_assert_cmpuint (got.state.pending->len, ==, 0);
  purser_subscription_record_clear (&got);
  g_assert_cmpint (count_rows (fixture->db, "subscription_pending_lines"), ==, 0);

  g_free (sub.id);
  sub.id = g_strdup ("sub_nowhere");
  g_assert_false (purser_store_subscription_update (fixture->db, &sub, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (purser_store_subscription_get (fixture->db, "sub_nowhere", &got, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Ids are unique. */
  g_free (sub.id);
  sub.id = g_strdup ("sub_1");
  g_assert_false (purser_store_subscription_insert (fixture->db, &sub, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_CONFLICT);
  purser_subscription_record_clear (&sub);
}

static void
test_subscription_current_due (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) due = NULL;
  PurserSubscriptionRecord sub;
  PurserSubscriptionRecord got = { 0 };

  g_assert_false (purser_store_subscription_current (fixture->db, ORG_A, &got, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* An old canceled subscription, then the current one, in A; one in B. */
  make_subscription (&sub, "sub_old", ORG_A);
  sub.state.status = PURSER_STATUS_CANCELED;
  sub.state.period.end = purser_date_from_ymd (2025, 1, 1);
  g_assert_true (purser_store_subscription_insert (fixture->db, &sub, &error));
  purser_subscription_record_clear (&sub);

  make_subscription (&sub, "sub_new", ORG_A);
  sub.state.status = PURSER_STATUS_ACTIVE;
  sub.state.period.end = purser_date_from_ymd (2026, 3, 1);
  g_assert_true (purser_store_subscription_insert (fixture->db, &sub, &error));
  purser_subscription_record_clear (&sub);

  make_subscription (&sub, "sub_b", ORG_B);
  sub.state.status = PURSER_STATUS_TRIALING;
  sub.state.period.end = purser_date_from_ymd (2026, 2, 1);
  g_assert_true (purser_store_subscription_insert (fixture->db, &sub, &error));
  purser_subscription_record_clear (&sub);
  g_assert_no_error (error);

  g_assert_true (purser_store_subscription_current (fixture->db, ORG_A, &got, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (got.id, ==, "sub_new");
  g_assert_cmpuint (got.state.pending->len, ==, 2);
  purser_subscription_record_clear (&got);

  due = purser_store_subscription_due (fixture->db, purser_date_from_ymd (2026, 1, 31), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (due->len, ==, 0);
  g_clear_pointer (&due, g_ptr_array_unref);

  due = purser_store_subscription_due (fixture->db, purser_date_from_ymd (2026, 3, 1), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (due->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (due, 0), ==, "sub_b");
  g_assert_cmpstr (g_ptr_array_index (due, 1), ==, "sub_new");
}

/* ── invoices ──────────────────────────────────────────────────────────────────── */

static void
make_invoice (PurserInvoiceRecord *rec, const char *id, const char *org_id, PurserDate issued_on)
{
  *rec = (PurserInvoiceRecord) {
    .id = g_strdup (id),
    .org_id = g_strdup (org_id),
    .status = PURSER_INVOICE_OPEN,
    .reason = g_strdup ("subscription_cycle"),
    .draft = {
      .lines = purser_lines_new (),
      .subtotal = 29000,
      .tax = 2103,
      .total = 31103,
      .credit_applied = 1000,
      .tax_note = g_strdup ("Sales tax 7.25% (US-WA)"),
    },
    .period = { issued_on, purser_date_add_months (issued_on, 1) },
    .issued_on = issued_on,
    .due_on = issued_on + 30,
    .po_number = g_strdup ("PO-1"),
    .notes = g_strdup ("Thank you"),
    .created_at = purser_date_to_unix (issued_on),
  };
  purser_lines_add (rec->draft.lines, PURSER_LINE_SEATS, "10 seats", 10, 2900, 29000, rec->period);
  purser_lines_add (rec->draft.lines, PURSER_LINE_CREDIT, "Balance applied", 1, -1000, -1000,
                    rec->period);
  purser_lines_add (rec->draft.lines, PURSER_LINE_TAX, "Sales tax 7.25% (US-WA)", 1, 2103, 2103,
                    (PurserPeriod){ PURSER_DATE_INVALID, PURSER_DATE_INVALID });
}

/* Inserts an invoice and returns its number. */
static char *
insert_invoice (PurserDb *db, const char *id, const char *org_id, PurserDate issued_on)
{
  g_autoptr (GError) error = NULL;
  PurserInvoiceRecord rec;
  char *number;

  make_invoice (&rec, id, org_id, issued_on);
  g_assert_true (purser_store_invoice_insert (db, &rec, &error));
  g_assert_no_error (error);
  number = g_steal_pointer (&rec.number);
  purser_invoice_record_clear (&rec);
  return number;
}

static void
test_invoice_numbers (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  PurserDate d2026 = purser_date_from_ymd (2026, 3, 11);
  PurserDate d2027 = purser_date_from_ymd (2027, 1, 1);
  PurserDate last2026 = purser_date_from_ymd (2026, 12, 31);
  PurserInvoiceRecord rec;
  struct
  {
    const char *id;
    const char *org_id;
    PurserDate issued_on;
    const char *number;
  } expected[] = {
    { "inv_a1", ORG_A, d2026, "ACME-2026-0001" }, { "inv_a2", ORG_A, d2026, "ACME-2026-0002" },
    { "inv_b1", ORG_B, d2026, "BETA-2026-0001" }, { "inv_a3", ORG_A, last2026, "ACME-2026-0003" },
    { "inv_a4", ORG_A, d2027, "ACME-2027-0001" }, { "inv_b2", ORG_B, d2026, "BETA-2026-0002" },
    { "inv_a5", ORG_A, d2027, "ACME-2027-0002" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autofree char *number
          = insert_invoice (fixture->db, expected[i].id, expected[i].org_id, expected[i].issued_on);

      g_assert_cmpstr (number, ==, expected[i].number);
    }

  /* A failed insert gives its number back: the id is taken. */
  make_invoice (&rec, "inv_a1", ORG_A, d2027);
  g_assert_false (purser_store_invoice_insert (fixture->db, &rec, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_CONFLICT);
  g_assert_null (rec.number);
  g_clear_error (&error);
  purser_invoice_record_clear (&rec);

  /* So does an invoice rolled back with the caller's transaction. */
  g_assert_true (purser_db_begin (fixture->db, &error));
  {
    g_autofree char *number = insert_invoice (fixture->db, "inv_a6", ORG_A, d2027);

    g_assert_cmpstr (number, ==, "ACME-2027-0003");
  }
  purser_db_rollback (fixture->db);

  {
    g_autofree char *number = insert_invoice (fixture->db, "inv_a7", ORG_A, d2027);

    g_assert_cmpstr (number, ==, "ACME-2027-0003");
  }

  /* An unknown organization has no number. */
  make_invoice (&rec, "inv_x", "org_nowhere", d2027);
  g_assert_false (purser_store_invoice_insert (fixture->db, &rec, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND);
  purser_invoice_record_clear (&rec);

  /* Without an id, one is made. */
  make_invoice (&rec, NULL, ORG_B, d2027);
  g_clear_error (&error);
  g_assert_true (purser_store_invoice_insert (fixture->db, &rec, &error));
  g_assert_true (g_str_has_prefix (rec.id, "inv_"));
  g_assert_cmpstr (rec.number, ==, "BETA-2027-0001");
  purser_invoice_record_clear (&rec);
}

static void
test_invoice_round_trip (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  PurserSubscriptionRecord sub;
  PurserInvoiceRecord rec;
  PurserInvoiceRecord got = { 0 };

  make_subscription (&sub, "sub_1", ORG_A);
  g_assert_true (purser_store_subscription_insert (fixture->db, &sub, &error));
  purser_subscription_record_clear (&sub);

  make_invoice (&rec, "inv_1", ORG_A, purser_date_from_ymd (2026, 3, 11));
  rec.subscription_id = g_strdup ("sub_1");
  g_assert_true (purser_store_invoice_insert (fixture->db, &rec, &error));
  g_assert_no_error (error);

  g_assert_true (purser_store_invoice_get (fixture->db, ORG_A, "inv_1", &got, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (got.id, ==, rec.id);
  g_assert_cmpstr (got.org_id, ==, rec.org_id);
  g_assert_cmpstr (got.subscription_id, ==, "sub_1");
  g_assert_cmpstr (got.number, ==, "ACME-2026-0001");
  g_assert_cmpint (got.status, ==, PURSER_INVOICE_OPEN);
  g_assert_cmpstr (got.reason, ==, rec.reason);
  g_assert_cmpint (got.draft.subtotal, ==, rec.draft.subtotal);
  g_assert_cmpint (got.draft.tax, ==, rec.draft.tax);
  g_assert_cmpint (got.draft.total, ==, rec.draft.total);
  g_assert_cmpint (got.draft.credit_applied, ==, rec.draft.credit_applied);
  g_assert_cmpstr (got.draft.tax_note, ==, rec.draft.tax_note);
  assert_lines_equal (rec.draft.lines, got.draft.lines);
  g_assert_cmpint (g_array_index (got.draft.lines, PurserLine, 2).period.start, ==,
                   PURSER_DATE_INVALID);
  g_assert_cmpint (got.period.start, ==, rec.period.start);
  g_assert_cmpint (got.period.end, ==, rec.period.end);
  g_assert_cmpint (got.issued_on, ==, rec.issued_on);
  g_assert_cmpint (got.due_on, ==, rec.due_on);
  g_assert_cmpstr (got.po_number, ==, rec.po_number);
  g_assert_cmpstr (got.notes, ==, rec.notes);
  g_assert_cmpint (got.amount_paid, ==, 0);
  g_assert_cmpint (got.created_at, ==, rec.created_at);
  g_assert_cmpint (got.paid_at, ==, 0);
  g_assert_cmpint (got.voided_at, ==, 0);
  g_assert_null (got.void_reason);
  purser_invoice_record_clear (&got);

  g_assert_false (purser_store_invoice_get (fixture->db, ORG_B, "inv_1", &got, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Status changes; the lines and totals do not. */
  rec.status = PURSER_INVOICE_PAID;
  rec.amount_paid = rec.draft.total;
  rec.paid_at = 1773300000;
  rec.draft.total = 1;
  g_assert_true (purser_store_invoice_update_status (fixture->db, &rec, &error));
  g_assert_no_error (error);
  g_assert_true (purser_store_invoice_get (fixture->db, ORG_A, "inv_1", &got, &error));
  g_assert_cmpint (got.status, ==, PURSER_INVOICE_PAID);
  g_assert_cmpint (got.amount_paid, ==, 31103);
  g_assert_cmpint (got.paid_at, ==, 1773300000);
  g_assert_cmpint (got.draft.total, ==, 31103);
  g_assert_cmpuint (got.draft.lines->len, ==, 3);
  purser_invoice_record_clear (&got);

  rec.status = PURSER_INVOICE_VOID;
  rec.voided_at = 1773400000;
  rec.void_reason = g_strdup ("duplicate");
  g_assert_true (purser_store_invoice_update_status (fixture->db, &rec, &error));
  g_assert_true (purser_store_invoice_get (fixture->db, ORG_A, "inv_1", &got, &error));
  g_assert_cmpint (got.status, ==, PURSER_INVOICE_VOID);
  g_assert_cmpint (got.voided_at, ==, 1773400000);
  g_assert_cmpstr (got.void_reason, ==, "duplicate");
  purser_invoice_record_clear (&got);

  g_free (rec.org_id);
  rec.org_id = g_strdup (ORG_B);
  g_assert_false (purser_store_invoice_update_status (fixture->db, &rec, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND);
  purser_invoice_record_clear (&rec);
}

static void
test_invoice_list (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) page = purser_invoice_records_new ();
  PurserDate day = purser_date_from_ymd (2026, 1, 1);
  gboolean has_more = FALSE;

  for (int i = 1; i <= 7; i++)
    {
      g_autofree char *id = g_strdup_printf ("inv_%d", i);
      g_autofree char *number = insert_invoice (fixture->db, id, ORG_A, day + i);

      /* Pay the even ones. */
      if (i % 2 == 0)
        {
          PurserInvoiceRecord rec
              = { .id = id, .org_id = (char *) ORG_A, .status = PURSER_INVOICE_PAID };

          g_assert_true (purser_store_invoice_update_status (fixture->db, &rec, &error));
        }
    }
  g_free (insert_invoice (fixture->db, "inv_b", ORG_B, day));

  /* Newest first, three at a time. */
  g_assert_true (
      purser_store_invoice_list (fixture->db, ORG_A, NULL, NULL, 3, page, &has_more, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (page->len, ==, 3);
  g_assert_true (has_more);
  g_assert_cmpstr (g_array_index (page, PurserInvoiceRecord, 0).id, ==, "inv_7");
  g_assert_cmpstr (g_array_index (page, PurserInvoiceRecord, 2).id, ==, "inv_5");
  g_assert_cmpuint (g_array_index (page, PurserInvoiceRecord, 0).draft.lines->len, ==, 3);
  g_array_set_size (page, 0);

  g_assert_true (
      purser_store_invoice_list (fixture->db, ORG_A, NULL, "inv_5", 3, page, &has_more, &error));
  g_assert_cmpuint (page->len, ==, 3);
  g_assert_true (has_more);
  g_assert_cmpstr (g_array_index (page, PurserInvoiceRecord, 0).id, ==, "inv_4");
  g_array_set_size (page, 0);

  g_assert_true (
      purser_store_invoice_list (fixture->db, ORG_A, NULL, "inv_2", 3, page, &has_more, &error));
  g_assert_cmpuint (page->len, ==, 1);
  g_assert_false (has_more);
  g_assert_cmpstr (g_array_index (page, PurserInvoiceRecord, 0).id, ==, "inv_1");
  g_array_set_size (page, 0);

  /* By status. */
  g_assert_true (
      purser_store_invoice_list (fixture->db, ORG_A, "paid", NULL, 3, page, &has_more, &error));
  g_assert_cmpuint (page->len, ==, 3);
  g_assert_false (has_more);
  g_assert_cmpstr (g_array_index (page, PurserInvoiceRecord, 0).id, ==, "inv_6");
  g_assert_cmpint (g_array_index (page, PurserInvoiceRecord, 0).status, ==, PURSER_INVOICE_PAID);
  g_array_set_size (page, 0);

  g_assert_true (
      purser_store_invoice_list (fixture->db, ORG_A, "open", "inv_5", 10, page, &has_more, &error));
  g_assert_cmpuint (page->len, ==, 2);
  g_assert_cmpstr (g_array_index (page, PurserInvoiceRecord, 0).id, ==, "inv_3");
  g_assert_cmpstr (g_array_index (page, PurserInvoiceRecord, 1).id, ==, "inv_1");
  g_array_set_size (page, 0);

  /* Another organization's invoice is no cursor here. */
  g_assert_false (
      purser_store_invoice_list (fixture->db, ORG_A, NULL, "inv_b", 3, page, &has_more, &error));
  g_assert_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND);
  g_assert_cmpuint (page->len, ==, 0);
}

/* ── events, idempotency, clock ────────────────────────────────────────────────── */

static gint64
append_event (PurserDb *db, const char *org_id, const char *type, const char *department_id)
{
  g_autoptr (GError) error = NULL;
  PurserEventRecord rec = {
    .org_id = g_strdup (org_id),
    .time = 1773000000,
    .actor = g_strdup ("usr_1"),
    .type = g_strdup (type),
    .entity_type = g_strdup ("employee"),
    .entity_id = g_strdup ("emp_1"),
    .department_id = g_strdup (department_id),
    .before_json = g_strdup ("{\"licensed\":false}"),
    .after_json = g_strdup ("{\"licensed\":true}"),
  };
  gint64 seq;

  g_assert_true (purser_store_event_append (db, &rec, &error));
  g_assert_no_error (error);
  g_assert_cmpint (rec.seq, >, 0);
  g_assert_true (g_str_has_prefix (rec.id, "evt_"));
  seq = rec.seq;
  purser_event_record_clear (&rec);
  return seq;
}

static void
test_events (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) page = purser_event_records_new ();
  g_autoptr (GHashTable) departments = g_hash_table_new (g_str_hash, g_str_equal);
  gint64 seqs[6];
  gboolean has_more = FALSE;
  PurserEventRecord *ev;

  g_assert_cmpint (purser_store_event_last_seq (fixture->db, ORG_A), ==, 0);

  seqs[0] = append_event (fixture->db, ORG_A, "license.assigned", "dep_eng");
  seqs[1] = append_event (fixture->db, ORG_B, "license.assigned", "dep_eng");
  seqs[2] = append_event (fixture->db, ORG_A, "subscription.updated", NULL);
  seqs[3] = append_event (fixture->db, ORG_A, "license.assigned", "dep_ops");
  seqs[4] = append_event (fixture->db, ORG_A, "license.revoked", "dep_eng");
  seqs[5] = append_event (fixture->db, ORG_A, "budget.updated", "dep_sales");
  for (guint i = 1; i < G_N_ELEMENTS (seqs); i++)
    g_assert_cmpint (seqs[i], ==, seqs[i - 1] + 1);
  g_assert_cmpint (purser_store_event_last_seq (fixture->db, ORG_A), ==, seqs[5]);
  g_assert_cmpint (purser_store_event_last_seq (fixture->db, ORG_B), ==, seqs[1]);

  g_assert_true (purser_store_event_list (fixture->db, ORG_A, 0, 2, NULL, page, &has_more, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (page->len, ==, 2);
  g_assert_true (has_more);
  ev = &g_array_index (page, PurserEventRecord, 0);
  g_assert_cmpint (ev->seq, ==, seqs[0]);
  g_assert_true (g_str_has_prefix (ev->id, "evt_"));
  g_assert_cmpstr (ev->org_id, ==, ORG_A);
  g_assert_cmpint (ev->time, ==, 1773000000);
  g_assert_cmpstr (ev->actor, ==, "usr_1");
  g_assert_cmpstr (ev->type, ==, "license.assigned");
  g_assert_cmpstr (ev->entity_type, ==, "employee");
  g_assert_cmpstr (ev->entity_id, ==, "emp_1");
  g_assert_cmpstr (ev->department_id, ==, "dep_eng");
  g_assert_cmpstr (ev->before_json, ==, "{\"licensed\":false}");
  g_assert_cmpstr (ev->after_json, ==, "{\"licensed\":true}");
  g_assert_cmpint (g_array_index (page, PurserEventRecord, 1).seq, ==, seqs[2]);
  g_assert_null (g_array_index (page, PurserEventRecord, 1).department_id);
  g_array_set_size (page, 0);

  g_assert_true (
      purser_store_event_list (fixture->db, ORG_A, seqs[2], 2, NULL, page, &has_more, &error));
  g_assert_cmpuint (page->len, ==, 2);
  g_assert_true (has_more);
  g_assert_cmpint (g_array_index (page, PurserEventRecord, 0).seq, ==, seqs[3]);
  g_array_set_size (page, 0);

  /* Exactly a page left: no phantom next page. */
  g_assert_true (
      purser_store_event_list (fixture->db, ORG_A, seqs[3], 2, NULL, page, &has_more, &error));
  g_assert_cmpuint (page->len, ==, 2);
  g_assert_false (has_more);
  g_assert_cmpint (g_array_index (page, PurserEventRecord, 1).seq, ==, seqs[5]);
  g_array_set_size (page, 0);

  g_assert_true (
      purser_store_event_list (fixture->db, ORG_A, seqs[4], 2, NULL, page, &has_more, &error));
  g_assert_cmpuint (page->len, ==, 1);
  g_assert_false (has_more);
  g_array_set_size (page, 0);

  g_assert_true (
      purser_store_event_list (fixture->db, ORG_A, seqs[5], 2, NULL, page, &has_more, &error));
  g_assert_cmpuint (page->len, ==, 0);
  g_assert_false (has_more);

  /* A manager's view: their departments only. */
  g_hash_table_add (departments, (char *) "dep_eng");
  g_hash_table_add (departments, (char *) "dep_sales");
  g_assert_true (
      purser_store_event_list (fixture->db, ORG_A, 0, 10, departments, page, &has_more, &error));
  g_assert_cmpuint (page->len, ==, 3);
  g_assert_false (has_more);
  g_assert_cmpint (g_array_index (page, PurserEventRecord, 0).seq, ==, seqs[0]);
  g_assert_cmpint (g_array_index (page, PurserEventRecord, 1).seq, ==, seqs[4]);
  g_assert_cmpint (g_array_index (page, PurserEventRecord, 2).seq, ==, seqs[5]);
  g_array_set_size (page, 0);

  g_assert_true (
      purser_store_event_list (fixture->db, ORG_A, 0, 1, departments, page, &has_more, &error));
  g_assert_cmpuint (page->len, ==, 1);
  g_assert_true (has_more);
  g_array_set_size (page, 0);

  /* Sequence numbers are never given twice, even after the newest event is gone. */
  g_assert_true (purser_db_exec (
      fixture->db, "DELETE FROM events WHERE seq = (SELECT max (seq) FROM events)", &error));
  g_assert_cmpint (append_event (fixture->db, ORG_A, "x", NULL), ==, seqs[5] + 1);
}

static void
test_idempotency (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *hash = NULL;
  g_autofree char *body = NULL;
  int status = 0;

  g_assert_false (
      purser_store_idempotency_get (fixture->db, ORG_A, "key-1", 0, &hash, &status, &body, &error));
  g_assert_no_error (error);
  g_assert_null (hash);

  g_assert_true (purser_store_idempotency_put (fixture->db, ORG_A, "key-1", "h1", 201,
                                               "{\"id\":\"emp_1\"}", 1000, &error));
  g_assert_no_error (error);
  g_assert_true (
      purser_store_idempotency_put (fixture->db, ORG_B, "key-1", "h2", 200, NULL, 1500, &error));

  g_assert_true (purser_store_idempotency_get (fixture->db, ORG_A, "key-1", 999, &hash, &status,
                                               &body, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (hash, ==, "h1");
  g_assert_cmpint (status, ==, 201);
  g_assert_cmpstr (body, ==, "{\"id\":\"emp_1\"}");
  g_clear_pointer (&hash, g_free);
  g_clear_pointer (&body, g_free);

  /* Scopes keep the same key apart. */
  g_assert_true (purser_store_idempotency_get (fixture->db, ORG_B, "key-1", 999, &hash, &status,
                                               &body, &error));
  g_assert_cmpstr (hash, ==, "h2");
  g_assert_null (body);
  g_clear_pointer (&hash, g_free);

  /* Too old to count. */
  g_assert_false (purser_store_idempotency_get (fixture->db, ORG_A, "key-1", 1000, &hash, &status,
                                                &body, &error));
  g_assert_no_error (error);

  /* An expired key can be used again. */
  g_assert_true (
      purser_store_idempotency_put (fixture->db, ORG_A, "key-1", "h3", 200, "{}", 5000, &error));
  g_assert_no_error (error);
  g_assert_true (
      purser_store_idempotency_get (fixture->db, ORG_A, "key-1", 4000, &hash, NULL, NULL, &error));
  g_assert_cmpstr (hash, ==, "h3");
  g_clear_pointer (&hash, g_free);

  /* Purge removes what is older than `before`, only that. */
  g_assert_true (purser_store_idempotency_purge (fixture->db, 1500, &error));
  g_assert_no_error (error);
  g_assert_cmpint (count_rows (fixture->db, "idempotency"), ==, 2);
  g_assert_true (purser_store_idempotency_purge (fixture->db, 2000, &error));
  g_assert_no_error (error);
  g_assert_cmpint (count_rows (fixture->db, "idempotency"), ==, 1);
  g_assert_false (
      purser_store_idempotency_get (fixture->db, ORG_B, "key-1", 0, NULL, NULL, NULL, &error));
  g_assert_true (
      purser_store_idempotency_get (fixture->db, ORG_A, "key-1", 0, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
}

static void
test_clock (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (purser_store_clock_get (fixture->db), ==, 0);
  g_assert_true (purser_store_clock_set (fixture->db, 1773000000, &error));
  g_assert_no_error (error);
  g_assert_cmpint (purser_store_clock_get (fixture->db), ==, 1773000000);
  g_assert_true (purser_store_clock_set (fixture->db, 1774000000, &error));
  g_assert_cmpint (purser_store_clock_get (fixture->db), ==, 1774000000);
  g_assert_cmpint (count_rows (fixture->db, "clock"), ==, 1);
}

/* ── transactions ──────────────────────────────────────────────────────────────── */

static void
test_rollback (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const char *tables[] = {
    "departments",
    "employees",
    "licenses",
    "subscriptions",
    "subscription_pending_lines",
    "invoices",
    "invoice_lines",
    "invoice_counters",
    "events",
    "idempotency",
    "clock",
  };
  PurserSubscriptionRecord sub;
  PurserEventRecord ev = { .org_id = (char *) ORG_A,
                           .actor = (char *) "system",
                           .type = (char *) "subscription.created" };

  /* A change and its event, the way the server writes them, then abandoned. */
  g_assert_true (purser_db_begin (fixture->db, &error));
  add_department (fixture->db, ORG_A, "dep_eng", NULL, "Engineering");
  add_employee (fixture->db, ORG_A, "emp_1", "One", "1@acme.example", "dep_eng");
  g_assert_true (purser_store_license_assign (fixture->db, ORG_A, "emp_1", "usr_1", 1, &error));
  make_subscription (&sub, "sub_1", ORG_A);
  g_assert_true (purser_store_subscription_insert (fixture->db, &sub, &error));
  purser_subscription_record_clear (&sub);
  g_free (insert_invoice (fixture->db, "inv_1", ORG_A, purser_date_from_ymd (2026, 5, 1)));
  g_assert_true (purser_store_event_append (fixture->db, &ev, &error));
  g_free (ev.id);
  g_assert_true (purser_store_idempotency_put (fixture->db, ORG_A, "k", "h", 200, "{}", 1, &error));
  g_assert_true (purser_store_clock_set (fixture->db, 5, &error));
  g_assert_no_error (error);
  g_assert_cmpint (count_rows (fixture->db, "invoice_lines"), ==, 3);
  purser_db_rollback (fixture->db);

  for (guint i = 0; i < G_N_ELEMENTS (tables); i++)
    {
      if (count_rows (fixture->db, tables[i]) != 0)
        g_error ("%s has rows after a rollback", tables[i]);
    }

  /* The connection is usable again, and the next number is still the first. */
  {
    g_autofree char *number
        = insert_invoice (fixture->db, "inv_1", ORG_A, purser_date_from_ymd (2026, 5, 1));

    g_assert_cmpstr (number, ==, "ACME-2026-0001");
  }
}

#define ADD(path, func) \
  g_test_add ("/purser/store/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  ADD ("org", test_org);
  ADD ("users-tokens", test_users_tokens);
  ADD ("departments", test_departments);
  ADD ("employee/round-trip", test_employee_round_trip);
  ADD ("employee/list", test_employee_list);
  ADD ("licenses", test_licenses);
  ADD ("subscription/round-trip", test_subscription_round_trip);
  ADD ("subscription/current-due", test_subscription_current_due);
  ADD ("invoice/numbers", test_invoice_numbers);
  ADD ("invoice/round-trip", test_invoice_round_trip);
  ADD ("invoice/list", test_invoice_list);
  ADD ("events", test_events);
  ADD ("idempotency", test_idempotency);
  ADD ("clock", test_clock);
  ADD ("rollback", test_rollback);

  return g_test_run ();
}
