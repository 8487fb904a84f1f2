/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "purserd-server.h"

G_BEGIN_DECLS

/* Route tables, each ended by an entry whose method is NULL. */
extern const PurserdRoute purserd_ops_routes[];
extern const PurserdRoute purserd_auth_routes[];
extern const PurserdRoute purserd_org_routes[];
extern const PurserdRoute purserd_employee_routes[];
extern const PurserdRoute purserd_subscription_routes[];
extern const PurserdRoute purserd_seat_routes[];
extern const PurserdRoute purserd_invoice_routes[];
extern const PurserdRoute purserd_event_routes[];
extern const PurserdRoute purserd_payment_routes[];

/* The invoice {id} of the organization in the path; answers 404 (or the failure) and returns
 * FALSE when there is none. */
gboolean purserd_call_load_invoice (PurserdCall *call, PurserInvoiceRecord *invoice);

G_END_DECLS
