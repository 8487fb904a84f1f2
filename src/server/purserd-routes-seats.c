/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "purserd-json.h"
#include "purserd-routes.h"
#include "purserd-scope.h"
#include "purserd-seats.h"

#define BULK_MAX 10000

static void
add_seats (JsonBuilder *b, PurserdSeats *seats, GHashTable *scope)
{
  PurserSeatMap *map = &seats->map;

  json_builder_begin_object (b);
  purser_wire_add_int (b, "purchased", map->purchased);
  purser_wire_add_int (b, "assigned", purser_seat_map_assigned (map));
  purser_wire_add_int (b, "available", MAX (map->purchased - purser_seat_map_assigned (map), 0));
  purser_wire_add_int (b, "allocated", purser_seat_map_allocated (map));
  json_builder_set_member_name (b, "by_department");
  json_builder_begin_array (b);
  for (guint i = 0; i < map->groups->len; i++)
    {
      PurserSeatGroup *group = &g_array_index (map->groups, PurserSeatGroup, i);

      /* Managers see their departments; people in no department only the whole org. */
      if (scope != NULL && (group->id == NULL || !g_hash_table_contains (scope, group->id)))
        continue;
      if (group->id == NULL && group->assigned == 0)
        continue;
      json_builder_begin_object (b);
      purser_wire_add_string (b, "department_id", group->id);
      purser_wire_add_string (b, "name", group->name);
      purser_wire_add_int (b, "assigned", group->assigned);
      json_builder_set_member_name (b, "allocated");
      if (group->allocation >= 0)
        {
          json_builder_add_int_value (b, group->allocation);
          purser_wire_add_int (b, "available", MAX (group->allocation - group->assigned, 0));
        }
      else
        {
          json_builder_add_null_value (b);
          purser_wire_add_string (b, "available", NULL);
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
}

static void
seats_get (PurserdCall *call)
{
  g_auto (PurserdSeats) seats = { 0 };
  g_autoptr (GHashTable) scope = NULL;
  g_autoptr (JsonBuilder) b = NULL;
  gboolean failed = FALSE;

  scope = purserd_scope_departments (call, &failed);
  if (failed || !purserd_seats_load (call, &seats))
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
  if (!purserd_call_reader_done (call, &reader))
    {
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
  g_auto (PurserdSeats) seats = { 0 };
  g_autoptr (GHashTable) scope = NULL;
  g_autoptr (JsonBuilder) b = NULL;
  gboolean failed = FALSE;

  scope = purserd_scope_departments (call, &failed);
  if (failed || !purserd_seats_load (call, &seats))
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
  g_auto (PurserdSeats) seats = { 0 };
  gboolean failed = FALSE;

  scope = purserd_scope_departments (call, &failed);
  if (failed || (employees = load_employees (call, scope)) == NULL
      || !purserd_seats_load (call, &seats))
    return;
  if (seats.map.purchased == 0)
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
  for (guint i = 0; i < wanted->len; i++)
    purserd_seats_group (&seats, g_array_index (wanted, PurserEmployeeRecord, i).department_id)
        ->assigned++;
  if (!purserd_seats_check (call, &seats, PURSER_SEAT_CHANGE_LICENSES, "employee_ids"))
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
  g_auto (PurserdSeats) seats = { 0 };
  gboolean failed = FALSE;

  scope = purserd_scope_departments (call, &failed);
  if (failed || (employees = load_employees (call, scope)) == NULL
      || !purserd_seats_load (call, &seats))
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
