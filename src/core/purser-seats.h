/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "purser-subscription.h"

G_BEGIN_DECLS

/* Where an organization's seats go. Each top-level department may have an allocation: a
 * cap on the licenses assigned in it and its teams, reserved out of the purchased seats.
 * Departments without one, and people in no department, share the pool: the purchased
 * seats less every allocation. */

typedef struct
{
  char *id; /* the top-level department, or NULL: people in no department */
  char *name;
  gint64 allocation; /* -1: none (the group draws on the pool) */
  gint64 assigned;   /* licenses held in the department and its teams */
} PurserSeatGroup;

typedef struct
{
  gint64 purchased; /* 0 without a live subscription */
  GArray *groups;   /* PurserSeatGroup */
} PurserSeatMap;

void purser_seat_map_init (PurserSeatMap *map, gint64 purchased);
void purser_seat_map_clear (PurserSeatMap *map);
void purser_seat_map_copy (const PurserSeatMap *src, PurserSeatMap *dest);
/* The group of `id` (NULL: no department), added with no allocation when missing. */
PurserSeatGroup *purser_seat_map_group (PurserSeatMap *map, const char *id, const char *name);

gint64 purser_seat_map_assigned (const PurserSeatMap *map);
gint64 purser_seat_map_allocated (const PurserSeatMap *map);
/* Seats left to the groups without an allocation, and what they hold. */
gint64 purser_seat_map_pool (const PurserSeatMap *map);
gint64 purser_seat_map_pool_assigned (const PurserSeatMap *map);
/* What the seat count may not go below, for purser_quote_change(). */
void purser_seat_map_floor (const PurserSeatMap *map, PurserSeatFloor *floor);

typedef enum
{
  PURSER_SEAT_CHANGE_LICENSES,   /* licenses assigned, or licensed people moved */
  PURSER_SEAT_CHANGE_ALLOCATION, /* a department's allocation set */
} PurserSeatChange;

/* Checks the seats as a change would leave them: every licence within the purchased seats,
 * every allocated department within its allocation, the pool within what allocations
 * leave, the allocations within the purchased seats. The error names the first broken
 * rule in words a finance manager can act on; its code depends on what was changed
 * (an allocation below its licenses is ALLOCATION_BELOW_ASSIGNED, licenses past an
 * allocation ALLOCATION_EXCEEDED). */
gboolean purser_seat_map_check (const PurserSeatMap *after, PurserSeatChange change,
                                GError **error);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PurserSeatMap, purser_seat_map_clear)

G_END_DECLS
