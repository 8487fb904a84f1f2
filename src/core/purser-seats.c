/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "purser-seats.h"

static void
group_clear (gpointer data)
{
  PurserSeatGroup *group = data;

  g_clear_pointer (&group->id, g_free);
  g_clear_pointer (&group->name, g_free);
}

void
purser_seat_map_init (PurserSeatMap *map, gint64 purchased)
{
  map->purchased = purchased;
  map->groups = g_array_new (FALSE, TRUE, sizeof (PurserSeatGroup));
  g_array_set_clear_func (map->groups, group_clear);
}

void
purser_seat_map_clear (PurserSeatMap *map)
{
  g_clear_pointer (&map->groups, g_array_unref);
}

void
purser_seat_map_copy (const PurserSeatMap *src, PurserSeatMap *dest)
{
  purser_seat_map_init (dest, src->purchased);
  for (guint i = 0; i < src->groups->len; i++)
    {
      const PurserSeatGroup *group = &g_array_index (src->groups, PurserSeatGroup, i);
      PurserSeatGroup copy = {
        .id = g_strdup (group->id),
        .name = g_strdup (group->name),
        .allocation = group->allocation,
        .assigned = group->assigned,
      };

      g_array_append_val (dest->groups, copy);
    }
}

PurserSeatGroup *
purser_seat_map_group (PurserSeatMap *map, const char *id, const char *name)
{
  PurserSeatGroup group = { 0 };

  for (guint i = 0; i < map->groups->len; i++)
    {
      PurserSeatGroup *found = &g_array_index (map->groups, PurserSeatGroup, i);

      if (g_strcmp0 (found->id, id) == 0)
        return found;
    }
  group.id = g_strdup (id);
  group.name = g_strdup (name ? name : id ? id : "No department");
  group.allocation = -1;
  g_array_append_val (map->groups, group);
  return &g_array_index (map->groups, PurserSeatGroup, map->groups->len - 1);
}

gint64
purser_seat_map_assigned (const PurserSeatMap *map)
{
  gint64 total = 0;

  for (guint i = 0; i < map->groups->len; i++)
    total += g_array_index (map->groups, PurserSeatGroup, i).assigned;
  return total;
}

gint64
purser_seat_map_allocated (const PurserSeatMap *map)
{
  gint64 total = 0;

  for (guint i = 0; i < map->groups->len; i++)
    total += MAX (g_array_index (map->groups, PurserSeatGroup, i).allocation, 0);
  return total;
}

gint64
purser_seat_map_pool (const PurserSeatMap *map)
{
  return map->purchased - purser_seat_map_allocated (map);
}

gint64
purser_seat_map_pool_assigned (const PurserSeatMap *map)
{
  gint64 total = 0;

  for (guint i = 0; i < map->groups->len; i++)
    {
      const PurserSeatGroup *group = &g_array_index (map->groups, PurserSeatGroup, i);

      if (group->allocation < 0)
        total += group->assigned;
    }
  return total;
}

void
purser_seat_map_floor (const PurserSeatMap *map, PurserSeatFloor *floor)
{
  floor->assigned = purser_seat_map_assigned (map);
  floor->allocated = purser_seat_map_allocated (map);
}

static const PurserSeatGroup *
over_allocation (const PurserSeatMap *map)
{
  for (guint i = 0; i < map->groups->len; i++)
    {
      const PurserSeatGroup *group = &g_array_index (map->groups, PurserSeatGroup, i);

      if (group->allocation >= 0 && group->assigned > group->allocation)
        return group;
    }
  return NULL;
}

static gboolean
check_allocations (const PurserSeatMap *map, GError **error)
{
  const PurserSeatGroup *group = over_allocation (map);
  gint64 allocated = purser_seat_map_allocated (map);
  gint64 pool = purser_seat_map_pool (map);
  gint64 pool_assigned = purser_seat_map_pool_assigned (map);

  if (group != NULL)
    {
      g_set_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_ALLOCATION_BELOW_ASSIGNED,
                   "%s and its teams hold %" G_GINT64_FORMAT " %s; allocate at least "
                   "%" G_GINT64_FORMAT " seats or revoke licenses there first.",
                   group->name, group->assigned,
                   purser_plural (group->assigned, "license", "licenses"), group->assigned);
      return FALSE;
    }
  if (allocated > map->purchased)
    {
      g_set_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_ALLOCATION_EXCEEDS_SEATS,
                   "Departments would be allocated %" G_GINT64_FORMAT " seats but %" G_GINT64_FORMAT
                   " are purchased; lower an allocation or buy %" G_GINT64_FORMAT " more %s.",
                   allocated, map->purchased, allocated - map->purchased,
                   purser_plural (allocated - map->purchased, "seat", "seats"));
      return FALSE;
    }
  if (pool_assigned > pool)
    {
      g_set_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_ALLOCATION_EXCEEDS_SEATS,
                   "Only %" G_GINT64_FORMAT " seats would be left outside the allocations, but "
                   "%" G_GINT64_FORMAT " %s assigned in departments without one; allocate "
                   "%" G_GINT64_FORMAT " fewer %s or buy more.",
                   MAX (pool, 0), pool_assigned,
                   purser_plural (pool_assigned, "license is", "licenses are"),
                   pool_assigned - pool, purser_plural (pool_assigned - pool, "seat", "seats"));
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_licenses (const PurserSeatMap *map, GError **error)
{
  const PurserSeatGroup *group = over_allocation (map);
  gint64 assigned = purser_seat_map_assigned (map);
  gint64 pool = purser_seat_map_pool (map);
  gint64 pool_assigned = purser_seat_map_pool_assigned (map);

  if (assigned > map->purchased)
    {
      g_set_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NOT_ENOUGH_SEATS,
                   "%" G_GINT64_FORMAT " %s would need more than the %" G_GINT64_FORMAT
                   " purchased seats; add %" G_GINT64_FORMAT " %s first.",
                   assigned, purser_plural (assigned, "license", "licenses"), map->purchased,
                   assigned - map->purchased,
                   purser_plural (assigned - map->purchased, "seat", "seats"));
      return FALSE;
    }
  if (group != NULL)
    {
      g_set_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_ALLOCATION_EXCEEDED,
                   "%s would hold %" G_GINT64_FORMAT " %s for its %" G_GINT64_FORMAT
                   " allocated seats; raise its allocation by %" G_GINT64_FORMAT " first.",
                   group->name, group->assigned,
                   purser_plural (group->assigned, "license", "licenses"), group->allocation,
                   group->assigned - group->allocation);
      return FALSE;
    }
  if (pool_assigned > pool)
    {
      g_set_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NOT_ENOUGH_SEATS,
                   "Departments without an allocation would hold %" G_GINT64_FORMAT " %s but "
                   "only %" G_GINT64_FORMAT " seats are left outside the allocations; add seats "
                   "or lower an allocation first.",
                   pool_assigned, purser_plural (pool_assigned, "license", "licenses"),
                   MAX (pool, 0));
      return FALSE;
    }
  return TRUE;
}

gboolean
purser_seat_map_check (const PurserSeatMap *after, PurserSeatChange change, GError **error)
{
  g_return_val_if_fail (after != NULL && after->groups != NULL, FALSE);

  switch (change)
    {
      case PURSER_SEAT_CHANGE_ALLOCATION:
        return check_allocations (after, error);
      case PURSER_SEAT_CHANGE_LICENSES:
      default:
        return check_licenses (after, error);
    }
}
