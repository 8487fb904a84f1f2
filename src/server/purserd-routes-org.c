/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <sodium.h>
#include <string.h>

#include "purserd-auth.h"
#include "purserd-csv.h"
#include "purserd-json.h"
#include "purserd-routes.h"
#include "purserd-scope.h"
#include "purserd-seats.h"

/* Organizations (provisioning and settings), the plans, departments and their seat
 * allocations. */

#define CODE_MIN   2
#define CODE_MAX   8
#define REGION_MAX 3
#define ID_MAX     64
#define SEATS_MAX  1000000

/* ── helpers ───────────────────────────────────────────────────────────────────── */

static void
set_str (char **slot, const char *value)
{
  char *copy = g_strdup (value);

  g_free (*slot);
  *slot = copy;
}

static void
ascii_upper_in_place (char *text)
{
  for (char *p = text; p != NULL && *p != '\0'; p++)
    *p = g_ascii_toupper (*p);
}

static gboolean
load_department (PurserdCall *call, PurserDepartmentRecord *out)
{
  g_autoptr (GError) error = NULL;
  const char *id = purserd_call_param (call, "id");

  if (purser_store_department_get (call->db, purserd_call_org_id (call), id, out, &error))
    return TRUE;
  if (g_error_matches (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND))
    purserd_call_error (call, 404, "not_found", NULL, "No department %s.", id);
  else
    purserd_call_fail (call, error);
  return FALSE;
}

/* Plain SQL: the store has no count of a department's own employees. */
static gboolean
count_employees_in (PurserdCall *call, const char *department_id, gint64 *out)
{
  g_autoptr (GError) error = NULL;
  sqlite3_stmt *stmt = purser_db_prepare (call->db,
                                          "SELECT count(*) FROM employees"
                                          " WHERE org_id = ? AND department_id = ?",
                                          &error);
  int rc;

  if (stmt == NULL)
    {
      purserd_call_fail (call, error);
      return FALSE;
    }
  purser_db_bind_text (stmt, 1, purserd_call_org_id (call));
  purser_db_bind_text (stmt, 2, department_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    *out = sqlite3_column_int64 (stmt, 0);
  else
    purser_db_set_error (call->db, &error, "Could not count the department's employees");
  /* A statement left stepping would hold a read transaction open. */
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW)
    {
      purserd_call_fail (call, error);
      return FALSE;
    }
  return TRUE;
}

/* ── organizations ─────────────────────────────────────────────────────────────── */

static void
org_copy (const PurserOrgRecord *src, PurserOrgRecord *dest)
{
  *dest = (PurserOrgRecord){
    .id = g_strdup (src->id),
    .name = g_strdup (src->name),
    .code = g_strdup (src->code),
    .country = g_strdup (src->country),
    .region = g_strdup (src->region),
    .tax_id = g_strdup (src->tax_id),
    .tax_exempt = src->tax_exempt,
    .billing_email = g_strdup (src->billing_email),
    .address = g_strdup (src->address),
    .created_at = src->created_at,
  };
}

static gboolean
org_equal (const PurserOrgRecord *a, const PurserOrgRecord *b)
{
  return g_strcmp0 (a->name, b->name) == 0 && g_strcmp0 (a->country, b->country) == 0
         && g_strcmp0 (a->region, b->region) == 0 && g_strcmp0 (a->tax_id, b->tax_id) == 0
         && !a->tax_exempt == !b->tax_exempt && g_strcmp0 (a->billing_email, b->billing_email) == 0
         && g_strcmp0 (a->address, b->address) == 0;
}

/* The settings both POST and PATCH take; absent members keep their value. */
static void
read_org_settings (PurserWireReader *reader, PurserOrgRecord *org)
{
  gboolean present;

  purser_wire_read_nullable_string (reader, "country", PURSER_WIRE_NAME_MAX, &org->country,
                                    &present);
  purser_wire_read_nullable_string (reader, "region", PURSER_WIRE_NAME_MAX, &org->region, &present);
  purser_wire_read_nullable_string (reader, "tax_id", PURSER_WIRE_NAME_MAX, &org->tax_id, &present);
  purser_wire_read_bool (reader, "tax_exempt", FALSE, &org->tax_exempt);
  purser_wire_read_nullable_string (reader, "billing_email", PURSER_WIRE_EMAIL_MAX,
                                    &org->billing_email, &present);
  purser_wire_read_nullable_string (reader, "address", PURSER_WIRE_TEXT_MAX, &org->address,
                                    &present);
}

/* "de 123.456.789" → "DE123456789" when that makes it a valid VAT id of an EU country
 * (reverse charge depends on it); anything else is kept as typed. */
static void
normalize_tax_id (PurserOrgRecord *org)
{
  GString *compact;

  if (org->tax_id == NULL || !purser_country_is_eu (org->country))
    return;
  compact = g_string_new (NULL);
  for (const char *p = org->tax_id; *p != '\0'; p++)
    if (*p != ' ' && *p != '.' && *p != '-')
      g_string_append_c (compact, g_ascii_toupper (*p));
  if (purser_vat_id_is_valid (org->country, compact->str))
    {
      g_free (org->tax_id);
      org->tax_id = g_string_free (compact, FALSE);
    }
  else
    g_string_free (compact, TRUE);
}

static gboolean
region_is_valid (const char *region)
{
  gsize len = strlen (region);

  if (len == 0 || len > REGION_MAX)
    return FALSE;
  for (const char *p = region; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p))
      return FALSE;
  return TRUE;
}

/* Normalizes and checks the settings that differ from `before` (all of them for a new
 * organization), recording the first failure in the reader. */
static void
check_org_settings (PurserWireReader *reader, const PurserOrgRecord *before, PurserOrgRecord *org)
{
  ascii_upper_in_place (org->country);
  ascii_upper_in_place (org->region);
  normalize_tax_id (org);

  if (org->name != NULL && org->name[0] == '\0')
    purser_wire_reader_fail (reader, "name", "The field \"name\" must not be empty.");
  if (g_strcmp0 (org->country, before->country) != 0 && org->country != NULL
      && !purser_country_is_valid (org->country))
    purser_wire_reader_fail (reader, "country",
                             "The field \"country\" must be an ISO 3166-1 alpha-2 code such as "
                             "US or DE.");
  if (g_strcmp0 (org->region, before->region) != 0 && org->region != NULL
      && !region_is_valid (org->region))
    purser_wire_reader_fail (reader, "region",
                             "The field \"region\" must be the subdivision part of an ISO 3166-2 "
                             "code (1 to 3 letters or digits), such as CA for US-CA.");
  if (org->region != NULL && org->country == NULL)
    purser_wire_reader_fail (reader,
                             g_strcmp0 (org->region, before->region) != 0 ? "region" : "country",
                             "A region needs a country: set \"country\" as well.");
  if (g_strcmp0 (org->billing_email, before->billing_email) != 0 && org->billing_email != NULL
      && !purserd_email_is_valid (org->billing_email))
    purser_wire_reader_fail (reader, "billing_email",
                             "The field \"billing_email\" must be an e-mail address such as "
                             "billing@example.com.");
}

/* 2–8 letters or digits starting with a letter; upper-cased in place. */
static gboolean
code_is_valid (char *code)
{
  gsize len = strlen (code);

  if (len < CODE_MIN || len > CODE_MAX || !g_ascii_isalpha (code[0]))
    return FALSE;
  for (char *p = code; *p != '\0'; p++)
    {
      if (!g_ascii_isalnum (*p))
        return FALSE;
      *p = g_ascii_toupper (*p);
    }
  return TRUE;
}

typedef struct
{
  char *email;
  char *name;
  char *password;
} AdminInput;

static void
admin_input_clear (AdminInput *admin)
{
  g_free (admin->email);
  g_free (admin->name);
  if (admin->password != NULL)
    sodium_memzero (admin->password, strlen (admin->password));
  g_free (admin->password);
}

static gboolean
read_org_create (PurserdCall *call, PurserOrgRecord *org, AdminInput *admin)
{
  PurserWireReader reader = { 0 };
  PurserWireReader child = { 0 };
  PurserOrgRecord empty = { 0 };
  gboolean ok;

  if (!purserd_call_read_body (call, &reader))
    return FALSE;
  purser_wire_read_string (&reader, "name", TRUE, PURSER_WIRE_NAME_MAX, &org->name);
  if (purser_wire_read_string (&reader, "code", TRUE, PURSER_WIRE_NAME_MAX, &org->code)
      && !code_is_valid (org->code))
    purser_wire_reader_fail (&reader, "code",
                             "The code has %d to %d letters or digits and starts with a letter, "
                             "such as ACME; invoice numbers begin with it.",
                             CODE_MIN, CODE_MAX);
  read_org_settings (&reader, org);
  if (purser_wire_read_object (&reader, "admin", TRUE, &child))
    {
      purser_wire_read_string (&child, "email", TRUE, PURSER_WIRE_EMAIL_MAX, &admin->email);
      purser_wire_read_string (&child, "name", TRUE, PURSER_WIRE_NAME_MAX, &admin->name);
      purser_wire_read_string (&child, "password", TRUE, PURSERD_PASSWORD_MAX, &admin->password);
      if (admin->email != NULL && !purserd_email_is_valid (admin->email))
        purser_wire_reader_fail (&child, "email",
                                 "The field \"email\" must be an e-mail address such as "
                                 "ann@example.com.");
      if (admin->password != NULL && g_utf8_strlen (admin->password, -1) < PURSERD_PASSWORD_MIN)
        purser_wire_reader_fail (&child, "password", "The password needs at least %d characters.",
                                 PURSERD_PASSWORD_MIN);
      purser_wire_reader_finish (&child);
      purser_wire_reader_close_child (&reader, &child);
    }
  check_org_settings (&reader, &empty, org);
  ok = purserd_call_reader_done (call, &reader);
  purser_wire_reader_clear (&reader);
  return ok;
}

static void
org_create (PurserdCall *call)
{
  g_auto (PurserOrgRecord) org = { 0 };
  g_auto (PurserUserRecord) user = { 0 };
  AdminInput admin = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) org_json = NULL;
  g_autoptr (JsonBuilder) b = NULL;

  if (!read_org_create (call, &org, &admin))
    goto out;

  if (purser_store_org_code_exists (call->db, org.code))
    {
      purserd_call_error (call, 409, "code_taken", "code",
                          "The code %s belongs to another organization; choose another.", org.code);
      goto out;
    }
  if (purser_store_user_email_exists (call->db, admin.email))
    {
      purserd_call_error (call, 409, "email_taken", "admin.email",
                          "%s already signs in to Purser; each person has one login, so choose "
                          "another e-mail address for this organization's admin.",
                          admin.email);
      goto out;
    }

  org.id = purser_db_new_id ("org");
  org.created_at = call->now;
  user = (PurserUserRecord){
    .id = purser_db_new_id ("usr"),
    .org_id = g_strdup (org.id),
    .email = g_strdup (admin.email),
    .name = g_strdup (admin.name),
    .role = g_strdup ("admin"),
    .password_hash = purserd_password_hash (admin.password),
    .created_at = call->now,
  };
  if (user.password_hash == NULL)
    {
      purserd_call_error (call, 503, "unavailable", NULL,
                          "The password could not be hashed (out of memory); try again.");
      goto out;
    }

  org_json = purserd_json_org (&org);
  if (!purser_store_org_insert (call->db, &org, &error)
      || !purser_store_user_insert (call->db, &user, &error)
      || !purserd_event_append (call->db, org.id, call->now, call->actor, "org.created", "org",
                                org.id, NULL, NULL, org_json, &error))
    {
      purserd_call_fail (call, error);
      goto out;
    }

  b = json_builder_new_immutable ();
  json_builder_begin_object (b);
  purserd_json_add_node (b, "org", g_steal_pointer (&org_json));
  purserd_json_add_node (b, "admin", purserd_json_user (&user));
  json_builder_end_object (b);
  purserd_call_reply (call, 201, b);

out:
  admin_input_clear (&admin);
}

static void
org_get (PurserdCall *call)
{
  g_auto (PurserOrgRecord) org = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = NULL;

  if (!purser_store_org_get (call->db, purserd_call_org_id (call), &org, &error))
    {
      purserd_call_fail (call, error);
      return;
    }
  node = purserd_json_org (&org);
  purserd_call_reply_node (call, 200, node);
}

static void
org_update (PurserdCall *call)
{
  g_auto (PurserOrgRecord) before = { 0 };
  g_auto (PurserOrgRecord) org = { 0 };
  PurserWireReader reader = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) before_json = NULL;
  g_autoptr (JsonNode) after_json = NULL;
  gboolean ok;

  if (!purser_store_org_get (call->db, purserd_call_org_id (call), &before, &error))
    {
      purserd_call_fail (call, error);
      return;
    }
  org_copy (&before, &org);

  if (!purserd_call_read_body (call, &reader))
    return;
  purser_wire_read_string (&reader, "name", FALSE, PURSER_WIRE_NAME_MAX, &org.name);
  read_org_settings (&reader, &org);
  if (purser_wire_reader_has (&reader, "code"))
    purser_wire_reader_fail (&reader, "code",
                             "The organization code cannot change: every invoice number "
                             "carries it.");
  check_org_settings (&reader, &before, &org);
  ok = purserd_call_reader_done (call, &reader);
  purser_wire_reader_clear (&reader);
  if (!ok)
    return;

  after_json = purserd_json_org (&org);
  if (org_equal (&before, &org))
    {
      purserd_call_reply_node (call, 200, after_json);
      return;
    }
  before_json = purserd_json_org (&before);
  if (!purser_store_org_update (call->db, &org, &error))
    {
      purserd_call_fail (call, error);
      return;
    }
  if (!purserd_call_event (call, "org.updated", "org", org.id, NULL, before_json, after_json))
    return;
  purserd_call_reply_node (call, 200, after_json);
}

/* ── plans ─────────────────────────────────────────────────────────────────────── */

static void
plans_list (PurserdCall *call)
{
  g_autoptr (JsonBuilder) b = json_builder_new_immutable ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "data");
  json_builder_begin_array (b);

  json_builder_begin_object (b);
  purser_wire_add_string (b, "id", purser_plan_to_string (PURSER_PLAN_BUSINESS));
  purser_wire_add_string (b, "name", purser_plan_display_name (PURSER_PLAN_BUSINESS));
  json_builder_set_member_name (b, "prices");
  json_builder_begin_object (b);
  purser_wire_add_money (b, purser_cycle_to_string (PURSER_CYCLE_MONTHLY),
                         purser_plan_seat_price (PURSER_PLAN_BUSINESS, NULL, PURSER_CYCLE_MONTHLY));
  purser_wire_add_money (b, purser_cycle_to_string (PURSER_CYCLE_ANNUAL),
                         purser_plan_seat_price (PURSER_PLAN_BUSINESS, NULL, PURSER_CYCLE_ANNUAL));
  json_builder_end_object (b);
  purser_wire_add_int (b, "annual_discount_bps", PURSER_ANNUAL_DISCOUNT_BPS);
  purser_wire_add_string (b, "coaches", "standard");
  json_builder_end_object (b);

  /* Enterprise prices are negotiated per contract. */
  json_builder_begin_object (b);
  purser_wire_add_string (b, "id", purser_plan_to_string (PURSER_PLAN_ENTERPRISE));
  purser_wire_add_string (b, "name", purser_plan_display_name (PURSER_PLAN_ENTERPRISE));
  purser_wire_add_string (b, "prices", NULL);
  purser_wire_add_bool (b, "contract", TRUE);
  purser_wire_add_string (b, "coaches", "all");
  json_builder_end_object (b);

  json_builder_end_array (b);
  json_builder_end_object (b);
  purserd_call_reply (call, 200, b);
}

/* ── departments ───────────────────────────────────────────────────────────────── */

static void
department_copy (const PurserDepartmentRecord *src, PurserDepartmentRecord *dest)
{
  *dest = (PurserDepartmentRecord){
    .id = g_strdup (src->id),
    .org_id = g_strdup (src->org_id),
    .parent_id = g_strdup (src->parent_id),
    .name = g_strdup (src->name),
    .cost_center = g_strdup (src->cost_center),
    .seat_allocation = src->seat_allocation,
    .created_at = src->created_at,
  };
}

/* Another department under `parent_id` already called `name` (itself excepted). */
static const PurserDepartmentRecord *
find_sibling_named (const GArray *departments, const char *parent_id, const char *name,
                    const char *self_id)
{
  g_autofree char *key = purserd_scope_name_key (name);

  for (guint i = 0; i < departments->len; i++)
    {
      const PurserDepartmentRecord *dept = &g_array_index (departments, PurserDepartmentRecord, i);
      g_autofree char *other = NULL;

      if (g_strcmp0 (dept->parent_id, parent_id) != 0 || g_strcmp0 (dept->id, self_id) == 0)
        continue;
      other = purserd_scope_name_key (dept->name);
      if (g_str_equal (key, other))
        return dept;
    }
  return NULL;
}

static void
name_taken_error (PurserdCall *call, const GArray *departments, const char *parent_id,
                  const char *name)
{
  const PurserDepartmentRecord *parent = purserd_scope_find_department (departments, parent_id);

  if (parent != NULL)
    purserd_call_error (call, 409, "name_taken", "name", "%s already has a team named %s.",
                        parent->name, name);
  else
    purserd_call_error (call, 409, "name_taken", "name", "There is already a department named %s.",
                        name);
}

/* Adds the members of a JSON object to the builder's current object. */
static void
add_members (JsonBuilder *b, JsonNode *node)
{
  JsonObject *object = json_node_get_object (node);
  g_autoptr (GList) members = json_object_get_members (object);

  for (GList *l = members; l != NULL; l = l->next)
    {
      json_builder_set_member_name (b, l->data);
      json_builder_add_value (b, json_node_copy (json_object_get_member (object, l->data)));
    }
}

static void
departments_list (PurserdCall *call)
{
  g_autoptr (GHashTable) scope = NULL;
  g_auto (PurserdSeats) seats = { 0 };
  g_autoptr (JsonBuilder) b = NULL;
  GArray *departments;
  gboolean failed = FALSE;

  scope = purserd_scope_departments (call, &failed);
  if (failed || !purserd_seats_load (call, &seats))
    return;
  departments = seats.departments;

  b = json_builder_new_immutable ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "data");
  json_builder_begin_array (b);
  for (guint i = 0; i < departments->len; i++)
    {
      const PurserDepartmentRecord *dept = &g_array_index (departments, PurserDepartmentRecord, i);
      const gint64 *assigned = g_hash_table_lookup (seats.counts, dept->id);
      g_autoptr (JsonNode) node = NULL;

      if (scope != NULL && !g_hash_table_contains (scope, dept->id))
        continue;
      node = purserd_json_department (dept);
      json_builder_begin_object (b);
      add_members (b, node);
      /* In the department itself; its teams count for themselves. */
      purser_wire_add_int (b, "assigned", assigned != NULL ? *assigned : 0);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  purser_wire_add_bool (b, "has_more", FALSE);
  json_builder_end_object (b);
  purserd_call_reply (call, 200, b);
}

typedef struct
{
  char *name;
  char *parent_id;
  gboolean has_parent;
  char *cost_center;
  gboolean has_cost_center;
} DepartmentInput;

static void
department_input_clear (DepartmentInput *input)
{
  g_free (input->name);
  g_free (input->parent_id);
  g_free (input->cost_center);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (DepartmentInput, department_input_clear)

static gboolean
read_department (PurserdCall *call, gboolean create, DepartmentInput *input)
{
  PurserWireReader reader = { 0 };
  gboolean ok;

  if (!purserd_call_read_body (call, &reader))
    return FALSE;
  if (purser_wire_read_string (&reader, "name", create, PURSER_WIRE_NAME_MAX, &input->name)
      && input->name[0] == '\0')
    purser_wire_reader_fail (&reader, "name", "The field \"name\" must not be empty.");
  purser_wire_read_nullable_string (&reader, "parent_id", ID_MAX, &input->parent_id,
                                    &input->has_parent);
  purser_wire_read_nullable_string (&reader, "cost_center", PURSER_WIRE_NAME_MAX,
                                    &input->cost_center, &input->has_cost_center);
  if (purser_wire_reader_has (&reader, "seat_allocation"))
    purser_wire_reader_fail (&reader, "seat_allocation",
                             "Seats are allocated with PUT …/departments/{id}/seat-allocation.");
  ok = purserd_call_reader_done (call, &reader);
  purser_wire_reader_clear (&reader);
  return ok;
}

static void
department_create (PurserdCall *call)
{
  g_auto (DepartmentInput) input = { 0 };
  g_auto (PurserDepartmentRecord) dept = { 0 };
  g_autoptr (GArray) departments = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) after = NULL;
  const char *top;

  if (!read_department (call, TRUE, &input)
      || (departments = purserd_scope_load_departments (call)) == NULL)
    return;

  if (input.parent_id != NULL
      && purserd_scope_find_department (departments, input.parent_id) == NULL)
    {
      purserd_call_error (call, 404, "not_found", "parent_id", "No department %s.",
                          input.parent_id);
      return;
    }
  if (find_sibling_named (departments, input.parent_id, input.name, NULL) != NULL)
    {
      name_taken_error (call, departments, input.parent_id, input.name);
      return;
    }

  dept = (PurserDepartmentRecord){
    .id = purser_db_new_id ("dep"),
    .org_id = g_strdup (purserd_call_org_id (call)),
    .parent_id = g_steal_pointer (&input.parent_id),
    .name = g_steal_pointer (&input.name),
    .cost_center = g_steal_pointer (&input.cost_center),
    .seat_allocation = -1,
    .created_at = call->now,
  };
  top = dept.id;
  after = purserd_json_department (&dept);
  if (!purser_store_department_insert (call->db, &dept, &error))
    {
      purserd_call_fail (call, error);
      return;
    }
  if (!purserd_call_event (call, "department.created", "department", dept.id, top, NULL, after))
    return;
  purserd_call_reply_node (call, 201, after);
}

/* A move of `dept`'s subtree under `new_parent_id` takes its licensed people along. */
static gboolean
check_move (PurserdCall *call, const PurserDepartmentRecord *dept, const char *new_parent_id)
{
  g_auto (PurserdSeats) seats = { 0 };
  gint64 moving;

  if (!purserd_seats_load (call, &seats))
    return FALSE;
  moving = purserd_seats_in_subtree (&seats, dept->id);
  purserd_seats_group (&seats, dept->id)->assigned -= moving;
  purserd_seats_group (&seats, new_parent_id)->assigned += moving;
  return purserd_seats_check (call, &seats, PURSER_SEAT_CHANGE_LICENSES, "parent_id");
}

static void
department_update (PurserdCall *call)
{
  g_auto (DepartmentInput) input = { 0 };
  g_auto (PurserDepartmentRecord) before = { 0 };
  g_auto (PurserDepartmentRecord) dept = { 0 };
  g_autoptr (GArray) departments = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) before_json = NULL;
  g_autoptr (JsonNode) after_json = NULL;
  gboolean moved;
  const char *top;

  if (!load_department (call, &before) || !read_department (call, FALSE, &input)
      || (departments = purserd_scope_load_departments (call)) == NULL)
    return;

  department_copy (&before, &dept);
  if (input.name != NULL)
    set_str (&dept.name, input.name);
  if (input.has_parent)
    set_str (&dept.parent_id, input.parent_id);
  if (input.has_cost_center)
    set_str (&dept.cost_center, input.cost_center);
  moved = g_strcmp0 (before.parent_id, dept.parent_id) != 0;

  if (moved && dept.parent_id != NULL)
    {
      g_autoptr (GHashTable) subtree = purserd_scope_subtree (departments, dept.id);

      if (purserd_scope_find_department (departments, dept.parent_id) == NULL)
        {
          purserd_call_error (call, 404, "not_found", "parent_id", "No department %s.",
                              dept.parent_id);
          return;
        }
      if (g_hash_table_contains (subtree, dept.parent_id))
        {
          purserd_call_error (call, 422, "invalid_parent", "parent_id",
                              "%s cannot move under itself or one of its own teams.", dept.name);
          return;
        }
      /* Seats are allocated to top-level departments only; dropping them silently
       * would surprise whoever allocated them. */
      if (before.seat_allocation >= 0)
        {
          purserd_call_error (call, 409, "department_has_allocation", "parent_id",
                              "%s has %" G_GINT64_FORMAT " allocated seats; remove its seat "
                              "allocation before moving it under another department.",
                              before.name, before.seat_allocation);
          return;
        }
      if (!check_move (call, &before, dept.parent_id))
        return;
    }
  if ((moved || g_strcmp0 (before.name, dept.name) != 0)
      && find_sibling_named (departments, dept.parent_id, dept.name, dept.id) != NULL)
    {
      name_taken_error (call, departments, dept.parent_id, dept.name);
      return;
    }

  after_json = purserd_json_department (&dept);
  if (!moved && g_strcmp0 (before.name, dept.name) == 0
      && g_strcmp0 (before.cost_center, dept.cost_center) == 0)
    {
      purserd_call_reply_node (call, 200, after_json);
      return;
    }
  before_json = purserd_json_department (&before);
  top = dept.id;
  if (!purser_store_department_update (call->db, &dept, &error))
    {
      purserd_call_fail (call, error);
      return;
    }
  if (!purserd_call_event (call, "department.updated", "department", dept.id, top, before_json,
                           after_json))
    return;
  purserd_call_reply_node (call, 200, after_json);
}

static void
department_delete (PurserdCall *call)
{
  g_auto (PurserDepartmentRecord) dept = { 0 };
  g_autoptr (GArray) departments = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) before = NULL;
  gint64 teams = 0;
  gint64 employees = 0;
  g_autofree char *top = NULL;

  if (!load_department (call, &dept)
      || (departments = purserd_scope_load_departments (call)) == NULL
      || !count_employees_in (call, dept.id, &employees))
    return;

  for (guint i = 0; i < departments->len; i++)
    if (g_strcmp0 (g_array_index (departments, PurserDepartmentRecord, i).parent_id, dept.id) == 0)
      teams++;
  if (teams > 0 || employees > 0)
    {
      g_autofree char *what = NULL;

      if (teams > 0 && employees > 0)
        what = g_strdup_printf ("%" G_GINT64_FORMAT " %s and %" G_GINT64_FORMAT " %s", teams,
                                purser_plural (teams, "team", "teams"), employees,
                                purser_plural (employees, "employee", "employees"));
      else if (teams > 0)
        what = g_strdup_printf ("%" G_GINT64_FORMAT " %s", teams,
                                purser_plural (teams, "team", "teams"));
      else
        what = g_strdup_printf ("%" G_GINT64_FORMAT " %s", employees,
                                purser_plural (employees, "employee", "employees"));
      purserd_call_error (call, 409, "department_not_empty", NULL,
                          "%s still has %s; move or remove them first.", dept.name, what);
      return;
    }

  top = g_strdup (dept.id);
  before = purserd_json_department (&dept);
  if (!purser_store_department_delete (call->db, dept.org_id, dept.id, &error))
    {
      purserd_call_fail (call, error);
      return;
    }
  if (!purserd_call_event (call, "department.deleted", "department", dept.id, top, before, NULL))
    return;
  purserd_call_reply_text (call, 204, NULL, "", 0);
}

/* {"seats": N} or {"seats": null} (no allocation); *seats is -1 for null. */
static gboolean
read_allocation (PurserdCall *call, gint64 *seats)
{
  PurserWireReader reader = { 0 };
  JsonNode *node;
  gboolean ok;

  if (!purserd_call_read_body (call, &reader))
    return FALSE;
  node = json_object_get_member (reader.object, "seats");
  if (node != NULL && JSON_NODE_HOLDS_NULL (node))
    {
      /* The reader has no nullable integer: mark the member as read. */
      g_ptr_array_add (reader.seen, (gpointer) "seats");
      *seats = -1;
    }
  else
    purser_wire_read_int (&reader, "seats", TRUE, 0, SEATS_MAX, seats);
  ok = purserd_call_reader_done (call, &reader);
  purser_wire_reader_clear (&reader);
  return ok;
}

static void
department_allocate (PurserdCall *call)
{
  g_auto (PurserDepartmentRecord) before = { 0 };
  g_auto (PurserDepartmentRecord) dept = { 0 };
  g_auto (PurserdSeats) org_seats = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) before_json = NULL;
  g_autoptr (JsonNode) after_json = NULL;
  gint64 seats = -1;

  if (!load_department (call, &before) || !read_allocation (call, &seats))
    return;
  if (before.parent_id != NULL)
    {
      purserd_call_error (call, 422, "not_a_department", NULL,
                          "%s is a team; seats are allocated to top-level departments.",
                          before.name);
      return;
    }
  if (!purserd_seats_load (call, &org_seats))
    return;
  if (seats >= 0 && org_seats.map.purchased == 0)
    {
      purserd_call_error (call, 409, "no_subscription", NULL,
                          "The organization has no subscription; subscribe before allocating "
                          "seats to departments.");
      return;
    }
  purserd_seats_group (&org_seats, before.id)->allocation = seats;
  if (!purserd_seats_check (call, &org_seats, PURSER_SEAT_CHANGE_ALLOCATION, "seats"))
    return;

  department_copy (&before, &dept);
  dept.seat_allocation = seats;
  after_json = purserd_json_department (&dept);
  if (before.seat_allocation == dept.seat_allocation)
    {
      purserd_call_reply_node (call, 200, after_json);
      return;
    }
  before_json = purserd_json_department (&before);
  if (!purser_store_department_update (call->db, &dept, &error))
    {
      purserd_call_fail (call, error);
      return;
    }
  if (!purserd_call_event (call, "department.updated", "department", dept.id, dept.id, before_json,
                           after_json))
    return;
  purserd_call_reply_node (call, 200, after_json);
}

const PurserdRoute purserd_org_routes[] = {
  { "POST", "/v1/orgs", PURSERD_AUTH_OPERATOR, 0, org_create },
  { "GET", "/v1/orgs/{org}", PURSERD_AUTH_USER, PURSERD_ROLES_ALL, org_get },
  { "PATCH", "/v1/orgs/{org}", PURSERD_AUTH_USER, PURSERD_ROLE_ADMIN, org_update },
  { "GET", "/v1/plans", PURSERD_AUTH_USER, PURSERD_ROLES_ALL, plans_list },
  { "GET", "/v1/orgs/{org}/departments", PURSERD_AUTH_USER, PURSERD_ROLES_STAFF, departments_list },
  { "POST", "/v1/orgs/{org}/departments", PURSERD_AUTH_USER, PURSERD_ROLE_ADMIN,
    department_create },
  { "PATCH", "/v1/orgs/{org}/departments/{id}", PURSERD_AUTH_USER, PURSERD_ROLE_ADMIN,
    department_update },
  { "DELETE", "/v1/orgs/{org}/departments/{id}", PURSERD_AUTH_USER, PURSERD_ROLE_ADMIN,
    department_delete },
  { "PUT", "/v1/orgs/{org}/departments/{id}/seat-allocation", PURSERD_AUTH_USER, PURSERD_ROLE_ADMIN,
    department_allocate },
  { NULL },
};
