/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "purserd-server.h"

G_BEGIN_DECLS

/* Northwind Labs (NWL): seven departments with teams, about 300 employees, Business annual
 * with most seats assigned, thirteen months of seat changes and invoices, and logins for
 * an admin, an executive, two managers and an employee. Does nothing when it exists. */
gboolean purserd_demo_seed (PurserdServer *server, GError **error);
void purserd_demo_print_logins (PurserdServer *server);

G_END_DECLS
