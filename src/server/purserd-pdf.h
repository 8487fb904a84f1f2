/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "purser-store.h"

G_BEGIN_DECLS

/* Invoices, receipts and credit notes as PDF documents (US Letter), drawn with Cairo and
 * laid out with Pango in "DejaVu Sans". Long documents break across pages, repeating the
 * table header, with "Page N of M" in the footer. The output depends only on the
 * arguments: the PDF creation date is taken from the document (the invoice's creation,
 * the payment, the credit note), so the same input gives the same bytes.
 *
 * User text (names, addresses, descriptions, notes) is laid out as plain UTF-8, never as
 * markup. Failures of Cairo are reported as G_IO_ERROR_FAILED. */

typedef struct
{
  const char *name;         /* "Purser Coaching, Inc." */
  const char *address;      /* several lines, '\n'-separated */
  const char *tax_id;       /* may be NULL */
  const char *email;        /* billing contact, may be NULL */
  const char *bank_details; /* wire instructions, several lines; may be NULL */
} PurserdSeller;

typedef struct
{
  const char *number;    /* receipt number, e.g. "NWL-2026-0007-R1" */
  const char *method;    /* "Visa •••• 4242", "Wire transfer" */
  const char *reference; /* Stripe charge id or the wire reference; may be NULL */
  PurserCents amount;
  gint64 paid_at; /* unix seconds */
} PurserdPdfPayment;

typedef struct
{
  const char *number;   /* "NWL-2026-0007-C1" */
  const char *reason;   /* free text */
  PurserCents amount;   /* positive: what is credited */
  PurserCents refunded; /* of which refunded to the payment method */
  gint64 created_at;
} PurserdPdfCreditNote;

/* The invoice with its lines (the TAX line shown in the totals as "Tax", not as an item;
 * the balance applied, the CREDIT line of draft.credit_applied, shown in the totals as
 * "Credit applied"), its status as a stamp (PAID with the date, VOID with the reason,
 * OPEN with the due date, UNCOLLECTIBLE, DRAFT), the reverse-charge note,
 * `payment_terms` (one line under the totals, e.g. "Charged automatically to Visa ••••
 * 4242"; may be NULL), the seller's bank details beside the totals while an amount is
 * due, the payments (`n_payments` may be 0) and the invoice's notes. */
GBytes *purserd_pdf_invoice (const PurserdSeller *seller, const PurserOrgRecord *buyer,
                             const PurserInvoiceRecord *invoice, const char *payment_terms,
                             const PurserdPdfPayment *payments, guint n_payments, GError **error);

/* A receipt for one payment against `invoice`, with a short summary of the invoice. */
GBytes *purserd_pdf_receipt (const PurserdSeller *seller, const PurserOrgRecord *buyer,
                             const PurserInvoiceRecord *invoice, const PurserdPdfPayment *payment,
                             GError **error);

/* A credit note correcting `invoice`: the reason, what is credited and what of it is
 * refunded to the payment method (the rest goes to the customer's balance). */
GBytes *purserd_pdf_credit_note (const PurserdSeller *seller, const PurserOrgRecord *buyer,
                                 const PurserInvoiceRecord *invoice,
                                 const PurserdPdfCreditNote *note, GError **error);

G_END_DECLS
