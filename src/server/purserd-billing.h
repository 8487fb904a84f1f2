/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "purserd-server.h"

G_BEGIN_DECLS

/* The organization's tax treatment, from its address and tax settings. */
void purserd_billing_tax_context (PurserdServer *server, const PurserOrgRecord *org,
                                  PurserTaxContext *out);

/* Stores a finalized invoice (numbered, open; paid at once when nothing is due) with its
 * invoice.created event, its collection and its mail, in the caller's transaction. Takes
 * over `draft`. */
gboolean purserd_billing_issue_invoice (PurserdServer *server, PurserDb *db,
                                        const PurserOrgRecord *org,
                                        const PurserSubscriptionRecord *sub,
                                        PurserInvoiceDraft *draft, const char *reason,
                                        PurserPeriod period, PurserDate issued_on, gint64 now,
                                        const char *actor, PurserInvoiceRecord *out,
                                        GError **error);

/* Runs everything that fell due up to `now`, oldest first, each renewal in its own
 * transaction with its events: cycle invoices, scheduled downgrades, cancellations. */
gboolean purserd_billing_run (PurserdServer *server, gint64 now, GError **error);

G_END_DECLS
