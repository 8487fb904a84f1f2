/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "purser-plan.h"
#include "purser-tax.h"

G_BEGIN_DECLS

typedef enum
{
  PURSER_LINE_SEATS,        /* seats for a whole (or first partial) period, in advance */
  PURSER_LINE_PRORATION,    /* seats added mid-cycle */
  PURSER_LINE_CREDIT,       /* seats removed, unused time on an upgrade, balance applied */
  PURSER_LINE_PLATFORM_FEE, /* Enterprise platform fee */
  PURSER_LINE_USAGE,        /* coaching usage in arrears */
  PURSER_LINE_TAX,
} PurserLineKind;

typedef struct
{
  PurserLineKind kind;
  char *description;
  gint64 quantity;
  PurserCents unit_amount;
  PurserCents amount;
  PurserPeriod period;
} PurserLine;

const char *purser_line_kind_to_string (PurserLineKind kind);
gboolean purser_line_kind_from_string (const char *text, PurserLineKind *out);

void purser_line_clear (PurserLine *line);
void purser_line_copy (const PurserLine *src, PurserLine *dest);
/* A GArray of PurserLine that clears its elements. */
GArray *purser_lines_new (void);
GArray *purser_lines_copy (const GArray *lines);
void purser_lines_add (GArray *lines, PurserLineKind kind, const char *description, gint64 quantity,
                       PurserCents unit_amount, PurserCents amount, PurserPeriod period);

/* An invoice before it is stored: its lines, ending with one tax line, and the totals.
 * total == the sum of all lines, tax line included; subtotal == total − tax. */
typedef struct
{
  GArray *lines; /* PurserLine */
  PurserCents subtotal;
  PurserCents tax;
  PurserCents total;
  PurserCents credit_applied; /* taken from the balance, >= 0 */
  char *tax_note;             /* the reverse-charge note, or NULL */
} PurserInvoiceDraft;

void purser_invoice_draft_clear (PurserInvoiceDraft *draft);

/* Builds an invoice from charge lines (taken over; lines may be negative):
 * 1. subtotal of the charges;
 * 2. while the subtotal is positive, a CREDIT line takes up to `*credit_balance` from the
 *    balance (which is reduced by what was applied);
 * 3. if the charges are negative in sum, the excess goes to the balance through a CREDIT
 *    line "Credit carried to your balance", so the invoice never goes below zero;
 * 4. one TAX line: the sum of the per-line tax (each line rounded half away from zero),
 *    described by purser_tax_describe(); with reverse charge, `tax_note` is set.
 * The total is the sum of the lines plus tax, always >= 0. */
void purser_invoice_assemble (GArray *charges, PurserCents *credit_balance,
                              const PurserTaxContext *tax, PurserInvoiceDraft *out);

/* "<ORGCODE>-<YYYY>-<NNNN>", NNNN at least four digits: "NWL-2026-0007". */
char *purser_invoice_number_format (const char *org_code, int year, gint64 sequence);

/* Invoices sent for payment by transfer are due in 30 days (net 30); those charged
 * automatically are due when issued. */
#define PURSER_INVOICE_NET_TERMS_DAYS 30
PurserDate purser_invoice_due_on (PurserDate issued_on, gboolean charged_automatically);

typedef enum
{
  PURSER_INVOICE_DRAFT,
  PURSER_INVOICE_OPEN,
  PURSER_INVOICE_PAID,
  PURSER_INVOICE_VOID,
  PURSER_INVOICE_UNCOLLECTIBLE,
} PurserInvoiceStatus;

const char *purser_invoice_status_to_string (PurserInvoiceStatus status);
gboolean purser_invoice_status_from_string (const char *text, PurserInvoiceStatus *out);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PurserLine, purser_line_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PurserInvoiceDraft, purser_invoice_draft_clear)

G_END_DECLS
