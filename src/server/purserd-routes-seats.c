/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "purserd-json.h"
#include "purserd-routes.h"
#include "purserd-scope.h"

#define BULK_MAX 10000

/* Where the organization's seats are: purchased, assigned in each top-level department
 * (its teams included) and in no department, and what each department was allocated. */
typedef struct
{
  gint64 purchased;
  gint64 assigned;
  GArray *departments; /* PurserDepartmentRecord */
  GHashTable *counts;  /* department id or "" → gint64 * (licenses assigned there) */
} Seats;

static void
seats_clear (Seats *seats)
{
  g_clear_pointer (&seats->departments, g_array_unref);
  g_clear_pointer (&seats->counts, g_hash_table_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Seats, seats_clear)

static gboolean
load_seats (PurserdCall *call, Seats *seats)
{
  g_auto (PurserSubscriptionRecord) sub = { 0 };
  g_autoptr (GError) error = NULL;
  const char *org_id = purserd_call_org_id (call);

  seats->departments = purser_department_records_new ();
  if (!purser_store_department_list (call->db, org_id, seats->departments, &error))
    goto fail;
  seats->counts = purser_store_license_count_by_department (call->db, org_id, &error);
  if (seats->counts == NULL)
    goto fail;
  seats->assigned = purser_store_license_count (call->db, org_id);
  if (purser_store_subscription_current (call->db, org_id, &sub, &error))
    seats->purchased = sub.state.status == PURSER_STATUS_CANCELED ? 0 : sub.state.seats;
  else if (!g_error_matches (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND))
    goto fail;
  return TRUE;

fail:
  purserd_call_fail (call, error);
  return FALSE;
}

static gint64
count_in (Seats *seats, const char *department_id)
{
  gint64 *count = g_hash_table_lookup (seats->counts, department_id ? department_id : "");

  return count ? *count : 0;
}

/* Licenses assigned in a top-level department and everything below it. */
static gint64
assigned_in_subtree (Seats *seats, const char *root_id)
{
  g_autoptr (GHashTable) subtree = purserd_scope_subtree (seats->departments, root_id);
  GHashTableIter iter;
  gpointer id;
  gint64 total = 0;

  g_hash_table_iter_init (&iter, subtree);
  while (g_hash_table_iter_next (&iter, &id, NULL))
    total += count_in (seats, id);
  return total;
}

static gint64
allocated_total (Seats *seats)
{
  gint64 total = 0;

  for (guint i = 0; i < seats->departments->len; i++)
    {
      PurserDepartmentRecord *dept = &g_array_index (seats->departments, PurserDepartmentRecord, i);

      if (dept->parent_id == NULL && dept->seat_allocation >= 0)
        total += dept->seat_allocation;
    }
  return total;
}

static void
add_seats (JsonBuilder *b, Seats *seats, GHashTable *scope)
{
  gint64 unassigned_department = count_in (seats, NULL);

  json_builder_begin_object (b);
  purser_wire_add_int (b, "purchased", seats->purchased);
  purser_wire_add_int (b, "assigned", seats->assigned);
  purser_wire_add_int (b, "available", MAX (seats->purchased - seats->assigned, 0));
  purser_wire_add_int (b, "allocated", allocated_total (seats));
  json_builder_set_member_name (b, "by_department");
  json_builder_begin_array (b);
  for (guint i = 0; i < seats->departments->len; i++)
    {
      PurserDepartmentRecord *dept = &g_array_index (seats->departments, PurserDepartmentRecord, i);
      gint64 assigned;

      if (dept->parent_id != NULL || (scope && !g_hash_table_contains (scope, dept->id)))
        continue;
      assigned = assigned_in_subtree (seats, dept->id);
      json_builder_begin_object (b);
      purser_wire_add_string (b, "department_id", dept->id);
      purser_wire_add_string (b, "name", dept->name);
      purser_wire_add_int (b, "assigned", assigned);
      json_builder_set_member_name (b, "allocated");
      if (dept->seat_allocation >= 0)
        {
          json_builder_add_int_value (b, dept->seat_allocation);
          purser_wire_add_int (b, "available", MAX (dept->seat_allocation - assigned, 0));
        }
      else
        {
          json_builder_add_null_value (b);
          purser_wire_add_string (b, "available", NULL);
        }
      json_builder_end_object (b);
    }
  if (scope == NULL && unassigned_department > 0)
    {
      json_builder_begin_object (b);
      purser_wire_add_string (b, "department_id", NULL);
      purser_wire_add_string (b, "name", "No department");
      purser_wire_add_int (b, "assigned", unassigned_department);
      purser_wire_add_string (b, "allocated", NULL);
      purser_wire_add_string (b, "available", NULL);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
}

static void
seats_get (PurserdCall *call)
{
  g_auto (Seats) seats = { 0 };
  g_autoptr (GHashTable) scope = NULL;
  g_autoptr (JsonBuilder) b = NULL;
  gboolean failed = FALSE;

  scope = purserd_scope_departments (call, &failed);
  if (failed || !load_seats (call, &seats))
    return;
  b = json_builder_new_immutable ();
  add_seats (b, &seats, scope);
  purserd_call_reply (call, 200, b);
}

static void
licenses_list (PurserdCall *call)
{
  g_autoptr (GHashTable) scope = NULL;
  g_autoptr (GArray) employees = purser_employee_records_new ();
  g_autoptr (JsonBuilder) b = NULL;
  g_autoptr (GError) error = NULL;
  PurserEmployeeFilter filter = { .licensed = 1 };
  gboolean failed = FALSE, has_more = FALSE;

  scope = purserd_scope_departments (call, &failed);
  if (failed || !purserd_call_page (call, 100, 1000, &filter.limit, &filter.after_id))
    return;
  filter.department_ids = scope;
  if (!purser_store_employee_list (call->db, purserd_call_org_id (call), &filter, employees,
                                   &has_more, &error))
    {
      purserd_call_fail (call, error);
      return;
    }
  b = json_builder_new_immutable ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "data");
  json_builder_begin_array (b);
  for (guint i = 0; i < employees->len; i++)
    json_builder_add_value (
        b, purserd_json_employee (&g_array_index (employees, PurserEmployeeRecord, i)));
  json_builder_end_array (b);
  purser_wire_add_bool (b, "has_more", has_more);
  json_builder_end_object (b);
  purserd_call_reply (call, 200, b);
}

/* Reads {"employee_ids": [...]} and loads them, all in the caller's organization and scope:
 * a missing or out-of-scope id answers 404 naming it. */
static GArray *
load_employees (PurserdCall *call, GHashTable *scope)
{
  g_autoptr (GPtrArray) ids = NULL;
  g_autoptr (GArray) employees = purser_employee_records_new ();
  PurserWireReader reader;

  if (!purserd_call_read_body (call, &reader))
    return NULL;
  purser_wire_read_strings (&reader, "employee_ids", TRUE, BULK_MAX, 64, &ids);
  purser_wire_reader_finish (&reader);
  if (purser_wire_reader_failed (&reader))
    {
      purserd_call_reader_error (call, &reader);
      purser_wire_reader_clear (&reader);
      return NULL;
    }
  purser_wire_reader_clear (&reader);

  for (guint i = 0; i < ids->len; i++)
    {
      PurserEmployeeRecord employee = { 0 };
      const char *id = g_ptr_array_index (ids, i);

      if (!purser_store_employee_get (call->db, purserd_call_org_id (call), id, &employee, NULL)
          || (scope != NULL
              && (employee.department_id == NULL
                  || !g_hash_table_contains (scope, employee.department_id))))
        {
          purser_employee_record_clear (&employee);
          purserd_call_error (call, 404, "not_found", "employee_ids", "No employee %s.", id);
          return NULL;
        }
      g_array_append_val (employees, employee);
    }
  return g_steal_pointer (&employees);
}

static void
reply_bulk (PurserdCall *call, const char *done_name, GPtrArray *done, const char *skipped_name,
            GPtrArray *skipped)
{
  g_auto (Seats) seats = { 0 };
  g_autoptr (GHashTable) scope = NULL;
  g_autoptr (JsonBuilder) b = NULL;
  gboolean failed = FALSE;

  scope = purserd_scope_departments (call, &failed);
  if (failed || !load_seats (call, &seats))
    return;
  b = json_builder_new_immutable ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, done_name);
  json_builder_begin_array (b);
  for (guint i = 0; i < done->len; i++)
    json_builder_add_string_value (b, g_ptr_array_index (done, i));
  json_builder_end_array (b);
  json_builder_set_member_name (b, skipped_name);
  json_builder_begin_array (b);
  for (guint i = 0; i < skipped->len; i++)
    json_builder_add_string_value (b, g_ptr_array_index (skipped, i));
  json_builder_end_array (b);
  json_builder_set_member_name (b, "seats");
  add_seats (b, &seats, scope);
  json_builder_end_object (b);
  purserd_call_reply (call, 200, b);
}

/* Seats for `wanted` new licenses: overall, in each allocated department, and in the pool
 * the departments without an allocation share. */
static gboolean
check_room (PurserdCall *call, Seats *seats, GArray *wanted)
{
  g_autoptr (GHashTable) new_by_top = g_hash_table_new (g_str_hash, g_str_equal);
  gint64 pool = seats->purchased - allocated_total (seats);
  gint64 pool_used = 0, pool_new = 0;
  gint64 free_seats = seats->purchased - seats->assigned;

  if ((gint64) wanted->len > free_seats)
    {
      purserd_call_error (call, 409, "not_enough_seats", "employee_ids",
                          "%" G_GINT64_FORMAT " seats are free but %u licenses were asked for; "
                          "add %" G_GINT64_FORMAT " seats first.",
                          MAX (free_seats, 0), wanted->len,
                          (gint64) wanted->len - MAX (free_seats, 0));
      return FALSE;
    }

  for (guint i = 0; i < wanted->len; i++)
    {
      PurserEmployeeRecord *e = &g_array_index (wanted, PurserEmployeeRecord, i);
      const char *top = purserd_scope_top_department (seats->departments, e->department_id);

      g_hash_table_insert (
          new_by_top, (gpointer) (top ? top : ""),
          GINT_TO_POINTER (GPOINTER_TO_INT (g_hash_table_lookup (new_by_top, top ? top : "")) + 1));
    }

  for (guint i = 0; i < seats->departments->len; i++)
    {
      PurserDepartmentRecord *dept = &g_array_index (seats->departments, PurserDepartmentRecord, i);
      gint64 assigned, extra;

      if (dept->parent_id != NULL)
        continue;
      assigned = assigned_in_subtree (seats, dept->id);
      extra = GPOINTER_TO_INT (g_hash_table_lookup (new_by_top, dept->id));
      if (dept->seat_allocation < 0)
        {
          pool_used += assigned;
          pool_new += extra;
        }
      else if (assigned + extra > dept->seat_allocation)
        {
          purserd_call_error (call, 409, "department_allocation_exceeded", "employee_ids",
                              "%s has %" G_GINT64_FORMAT " of its %" G_GINT64_FORMAT
                              " allocated seats free; %" G_GINT64_FORMAT
                              " licenses were asked for there. Raise its allocation first.",
                              dept->name, MAX (dept->seat_allocation - assigned, 0),
                              dept->seat_allocation, extra);
          return FALSE;
        }
    }
  pool_used += count_in (seats, NULL);
  pool_new += GPOINTER_TO_INT (g_hash_table_lookup (new_by_top, ""));
  if (pool_new > 0 && pool_used + pool_new > pool)
    {
      purserd_call_error (call, 409, "not_enough_seats", "employee_ids",
                          "%" G_GINT64_FORMAT " seats are free outside the departments' "
                          "allocations but %" G_GINT64_FORMAT " licenses were asked for there.",
                          MAX (pool - pool_used, 0), pool_new);
      return FALSE;
    }
  return TRUE;
}

static gboolean
license_event (PurserdCall *call, const char *type, PurserEmployeeRecord *before_rec)
{
  g_auto (PurserEmployeeRecord) now = { 0 };
  g_autoptr (JsonNode) before = purserd_json_employee (before_rec);
  g_autoptr (JsonNode) after = NULL;
  g_autoptr (GError) error = NULL;

  if (!purser_store_employee_get (call->db, before_rec->org_id, before_rec->id, &now, &error))
    {
      purserd_call_fail (call, error);
      return FALSE;
    }
  after = purserd_json_employee (&now);
  return purserd_call_event (call, type, "employee", now.id, now.department_id, before, after);
}

static void
licenses_assign (PurserdCall *call)
{
  g_autoptr (GHashTable) scope = NULL;
  g_autoptr (GArray) employees = NULL;
  g_autoptr (GArray) wanted = purser_employee_records_new ();
  g_autoptr (GPtrArray) assigned = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) already = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_auto (Seats) seats = { 0 };
  gboolean failed = FALSE;

  scope = purserd_scope_departments (call, &failed);
  if (failed || (employees = load_employees (call, scope)) == NULL || !load_seats (call, &seats))
    return;
  if (seats.purchased == 0)
    {
      purserd_call_error (call, 409, "no_subscription", NULL,
                          "There is no active subscription, so there are no seats to assign.");
      return;
    }

  for (guint i = 0; i < employees->len; i++)
    {
      PurserEmployeeRecord *e = &g_array_index (employees, PurserEmployeeRecord, i);

      if (e->licensed)
        g_ptr_array_add (already, g_strdup (e->id));
      else if (g_strcmp0 (e->status, "active") != 0)
        {
          purserd_call_error (call, 422, "employee_inactive", "employee_ids",
                              "%s is inactive; reactivate them before assigning a license.",
                              e->name);
          return;
        }
      else
        {
          PurserEmployeeRecord copy = *e;

          memset (e, 0, sizeof *e);
          g_array_append_val (wanted, copy);
        }
    }
  if (!check_room (call, &seats, wanted))
    return;

  for (guint i = 0; i < wanted->len; i++)
    {
      PurserEmployeeRecord *e = &g_array_index (wanted, PurserEmployeeRecord, i);

      if (!purser_store_license_assign (call->db, e->org_id, e->id, call->actor, call->now, &error))
        {
          purserd_call_fail (call, error);
          return;
        }
      if (!license_event (call, "license.assigned", e))
        return;
      g_ptr_array_add (assigned, g_strdup (e->id));
    }
  reply_bulk (call, "assigned", assigned, "already_assigned", already);
}

static void
licenses_revoke (PurserdCall *call)
{
  g_autoptr (GHashTable) scope = NULL;
  g_autoptr (GArray) employees = NULL;
  g_autoptr (GPtrArray) revoked = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) not_assigned = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_auto (Seats) seats = { 0 };
  gboolean failed = FALSE;

  scope = purserd_scope_departments (call, &failed);
  if (failed || (employees = load_employees (call, scope)) == NULL || !load_seats (call, &seats))
    return;

  for (guint i = 0; i < employees->len; i++)
    {
      PurserEmployeeRecord *e = &g_array_index (employees, PurserEmployeeRecord, i);

      if (!e->licensed)
        {
          g_ptr_array_add (not_assigned, g_strdup (e->id));
          continue;
        }
      if (!purser_store_license_revoke (call->db, e->org_id, e->id, call->actor, call->now, &error))
        {
          purserd_call_fail (call, error);
          return;
        }
      if (!license_event (call, "license.revoked", e))
        return;
      g_ptr_array_add (revoked, g_strdup (e->id));
    }
  reply_bulk (call, "revoked", revoked, "not_assigned", not_assigned);
}

const PurserdRoute purserd_seat_routes[] = {
  { "GET", "/v1/orgs/{org}/seats", PURSERD_AUTH_USER, PURSERD_ROLES_STAFF, seats_get },
  { "GET", "/v1/orgs/{org}/licenses", PURSERD_AUTH_USER, PURSERD_ROLES_STAFF, licenses_list },
  { "POST", "/v1/orgs/{org}/licenses/assign", PURSERD_AUTH_USER,
    PURSERD_ROLE_ADMIN | PURSERD_ROLE_MANAGER, licenses_assign },
  { "POST", "/v1/orgs/{org}/licenses/revoke", PURSERD_AUTH_USER,
    PURSERD_ROLE_ADMIN | PURSERD_ROLE_MANAGER, licenses_revoke },
  { NULL },
};
