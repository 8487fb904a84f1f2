/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "purserd-scope.h"
#include "purserd-seats.h"

gboolean
purserd_seats_load (PurserdCall *call, PurserdSeats *seats)
{
  g_auto (PurserSubscriptionRecord) sub = { 0 };
  g_autoptr (GError) error = NULL;
  const char *org_id = purserd_call_org_id (call);
  GHashTableIter iter;
  gpointer id, count;

  memset (seats, 0, sizeof *seats);
  purser_seat_map_init (&seats->map, 0);
  if ((seats->departments = purserd_scope_load_departments (call)) == NULL)
    return FALSE;
  seats->counts = purser_store_license_count_by_department (call->db, org_id, &error);
  if (seats->counts == NULL)
    goto fail;
  /* A live subscription has at least one seat; without one there are none. */
  if (purser_store_subscription_current (call->db, org_id, &sub, &error))
    seats->map.purchased = sub.state.status != PURSER_STATUS_CANCELED ? sub.state.seats : 0;
  else if (!g_error_matches (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND))
    goto fail;

  for (guint i = 0; i < seats->departments->len; i++)
    {
      PurserDepartmentRecord *dept = &g_array_index (seats->departments, PurserDepartmentRecord, i);

      if (dept->parent_id == NULL)
        purser_seat_map_group (&seats->map, dept->id, dept->name)->allocation
            = dept->seat_allocation;
    }
  g_hash_table_iter_init (&iter, seats->counts);
  while (g_hash_table_iter_next (&iter, &id, &count))
    purserd_seats_group (seats, *(const char *) id ? id : NULL)->assigned
        += *(const gint64 *) count;
  return TRUE;

fail:
  purserd_call_fail (call, error);
  return FALSE;
}

void
purserd_seats_clear (PurserdSeats *seats)
{
  purser_seat_map_clear (&seats->map);
  g_clear_pointer (&seats->departments, g_array_unref);
  g_clear_pointer (&seats->counts, g_hash_table_unref);
}

PurserSeatGroup *
purserd_seats_group (PurserdSeats *seats, const char *department_id)
{
  const char *top
      = department_id ? purserd_scope_top_department (seats->departments, department_id) : NULL;

  return purser_seat_map_group (&seats->map, top, NULL);
}

gint64
purserd_seats_in_subtree (PurserdSeats *seats, const char *department_id)
{
  g_autoptr (GHashTable) subtree = purserd_scope_subtree (seats->departments, department_id);
  GHashTableIter iter;
  gpointer id;
  gint64 total = 0;

  g_hash_table_iter_init (&iter, subtree);
  while (g_hash_table_iter_next (&iter, &id, NULL))
    {
      const gint64 *count = g_hash_table_lookup (seats->counts, id);

      total += count ? *count : 0;
    }
  return total;
}

gboolean
purserd_seats_check (PurserdCall *call, PurserdSeats *seats, PurserSeatChange change,
                     const char *field)
{
  g_autoptr (GError) error = NULL;

  if (purser_seat_map_check (&seats->map, change, &error))
    return TRUE;
  purserd_call_fail_field (call, error, field);
  return FALSE;
}
