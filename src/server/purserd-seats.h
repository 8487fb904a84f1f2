/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "purser-seats.h"
#include "purserd-server.h"

G_BEGIN_DECLS

/* The organization's seats as the core's allocation rules see them, loaded once per
 * request: purchased seats (0 without a live subscription), departments with their
 * allocations, licenses per department. Routes change the map the way their change would
 * and ask the core to check it. */
typedef struct
{
  PurserSeatMap map;
  GArray *departments; /* PurserDepartmentRecord */
  GHashTable *counts;  /* department id, or "" for none → gint64 * licenses */
} PurserdSeats;

/* Answers the call and returns FALSE on a storage failure. */
gboolean purserd_seats_load (PurserdCall *call, PurserdSeats *seats);
void purserd_seats_clear (PurserdSeats *seats);
/* The group a department (or a team, through its department) draws seats from; NULL or an
 * unknown id: the group of people in no department. */
PurserSeatGroup *purserd_seats_group (PurserdSeats *seats, const char *department_id);
/* Licenses held in a department and every team below it. */
gint64 purserd_seats_in_subtree (PurserdSeats *seats, const char *department_id);
/* Asks the core about the map as changed; a refusal answers 409 naming `field`. */
gboolean purserd_seats_check (PurserdCall *call, PurserdSeats *seats, PurserSeatChange change,
                              const char *field);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PurserdSeats, purserd_seats_clear)

G_END_DECLS
