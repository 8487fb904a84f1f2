/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "purserd-server.h"
#include "purserd-stripe.h"

G_BEGIN_DECLS

/* Collecting invoices: the first charge when an invoice is finalized, dunning retries on
 * the billing clock (3, 5 and 7 days, then past_due), charges asked for by an admin, wire
 * payments marked by hand, refunds through credit notes, and the PDFs of all of them.
 * Stripe is called after the transaction that records the intent commits, with an
 * Idempotency-Key of our own payment id, so a crash or a retry never charges twice. */

typedef struct _PurserdPayments PurserdPayments;

PurserdPayments *purserd_payments_new (PurserdServer *server);
void purserd_payments_free (PurserdPayments *payments);
/* The worker: starts the next due charge or refund; FALSE when nothing is due. */
gboolean purserd_payments_run (gpointer payments);

/* In the transaction that issues `invoice` (before it is stored): how it is collected
 * (charged automatically when the default method is a card or bank debit, else sent for
 * payment by transfer, net 30: purser_invoice_due_on) and when the first charge is due. */
gboolean purserd_payments_prepare_invoice (PurserDb *db, PurserInvoiceRecord *invoice,
                                           GError **error);
/* After it is stored, in the same transaction: the "invoice issued" mail. */
gboolean purserd_payments_invoice_issued (PurserdServer *server, PurserDb *db,
                                          const PurserOrgRecord *org,
                                          const PurserInvoiceRecord *invoice, GError **error);

/* Outcome of a charge, for the routes. */
typedef void (*PurserdChargeDone) (const char *payment_id, gpointer data);

/* Charges an open invoice now (POST …/pay), on `method_id` or the default method. In its
 * own transactions; `done` runs when the outcome is recorded (the payment says how it went).
 * Fails at once (nothing changed) when the invoice cannot be charged. */
gboolean purserd_payments_charge_now (PurserdServer *server, const char *org_id,
                                      const char *invoice_id, const char *method_id,
                                      const char *actor, PurserdChargeDone done, gpointer data,
                                      GError **error);

/* The answer of Stripe about a PaymentIntent (from a charge or a webhook), applied once:
 * an older state never overwrites a newer one. `seen` is the Stripe event's `created`
 * (0 for an API answer). In the caller's transaction. Returns FALSE with NOT_FOUND when
 * the PaymentIntent is not one of ours. */
gboolean purserd_payments_apply_intent (PurserdServer *server, PurserDb *db,
                                        const PurserdStripePaymentIntent *intent, gint64 seen,
                                        GError **error);
/* A charge's refunds as Stripe reports them (charge.refunded). */
gboolean purserd_payments_apply_refund (PurserdServer *server, PurserDb *db,
                                        const PurserdStripeCharge *charge, gint64 seen,
                                        GError **error);

/* A payment received by transfer: records it and marks the invoice paid. */
gboolean purserd_payments_mark_paid (PurserdServer *server, PurserDb *db,
                                     PurserInvoiceRecord *invoice, const char *reference,
                                     gint64 now, const char *actor, PurserPaymentRecord *out,
                                     GError **error);

/* Voids an invoice; a paid one gets a credit note for what was paid and its refund
 * (through Stripe, after commit, or "manual" for transfers). In the caller's transaction. */
gboolean purserd_payments_void (PurserdServer *server, PurserDb *db, PurserInvoiceRecord *invoice,
                                const char *reason, gint64 now, const char *actor, GError **error);

/* The documents. */
GBytes *purserd_payments_invoice_pdf (PurserdServer *server, PurserDb *db, const char *org_id,
                                      const char *invoice_id, GError **error);
GBytes *purserd_payments_receipt_pdf (PurserdServer *server, PurserDb *db, const char *org_id,
                                      const char *payment_id, GError **error);
GBytes *purserd_payments_credit_note_pdf (PurserdServer *server, PurserDb *db, const char *org_id,
                                          const char *note_id, GError **error);

G_END_DECLS
