/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "purser-invoice.h"

#include <string.h>

static const char *const line_kind_names[] = {
  [PURSER_LINE_SEATS] = "seats",   [PURSER_LINE_PRORATION] = "proration",
  [PURSER_LINE_CREDIT] = "credit", [PURSER_LINE_PLATFORM_FEE] = "platform_fee",
  [PURSER_LINE_USAGE] = "usage",   [PURSER_LINE_TAX] = "tax",
};

static const char *const invoice_status_names[] = {
  [PURSER_INVOICE_DRAFT] = "draft",
  [PURSER_INVOICE_OPEN] = "open",
  [PURSER_INVOICE_PAID] = "paid",
  [PURSER_INVOICE_VOID] = "void",
  [PURSER_INVOICE_UNCOLLECTIBLE] = "uncollectible",
};

const char *
purser_line_kind_to_string (PurserLineKind kind)
{
  g_return_val_if_fail ((guint) kind < G_N_ELEMENTS (line_kind_names), NULL);

  return line_kind_names[kind];
}

gboolean
purser_line_kind_from_string (const char *text, PurserLineKind *out)
{
  g_return_val_if_fail (out != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (line_kind_names); i++)
    if (g_strcmp0 (text, line_kind_names[i]) == 0)
      {
        *out = (PurserLineKind) i;
        return TRUE;
      }
  return FALSE;
}

void
purser_line_clear (PurserLine *line)
{
  g_return_if_fail (line != NULL);

  g_clear_pointer (&line->description, g_free);
}

void
purser_line_copy (const PurserLine *src, PurserLine *dest)
{
  g_return_if_fail (src != NULL);
  g_return_if_fail (dest != NULL);

  *dest = *src;
  dest->description = g_strdup (src->description);
}

static void
line_clear_func (gpointer data)
{
  purser_line_clear (data);
}

GArray *
purser_lines_new (void)
{
  GArray *lines = g_array_new (FALSE, TRUE, sizeof (PurserLine));

  g_array_set_clear_func (lines, line_clear_func);
  return lines;
}

/* NULL copies as an empty array. */
GArray *
purser_lines_copy (const GArray *lines)
{
  GArray *copy = purser_lines_new ();

  if (lines == NULL)
    return copy;

  g_array_set_size (copy, lines->len);
  for (guint i = 0; i < lines->len; i++)
    purser_line_copy (&g_array_index (lines, PurserLine, i), &g_array_index (copy, PurserLine, i));
  return copy;
}

void
purser_lines_add (GArray *lines, PurserLineKind kind, const char *description, gint64 quantity,
                  PurserCents unit_amount, PurserCents amount, PurserPeriod period)
{
  PurserLine line = {
    .kind = kind,
    .description = g_strdup (description),
    .quantity = quantity,
    .unit_amount = unit_amount,
    .amount = amount,
    .period = period,
  };

  g_return_if_fail (lines != NULL);

  g_array_append_val (lines, line);
}

void
purser_invoice_draft_clear (PurserInvoiceDraft *draft)
{
  g_return_if_fail (draft != NULL);

  g_clear_pointer (&draft->lines, g_array_unref);
  g_clear_pointer (&draft->tax_note, g_free);
  memset (draft, 0, sizeof *draft);
}

/* The dates the lines cover, for the lines that stand for the whole invoice. */
static PurserPeriod
lines_span (const GArray *lines)
{
  PurserPeriod span = { 0, 0 };

  for (guint i = 0; i < lines->len; i++)
    {
      const PurserPeriod *period = &g_array_index (lines, PurserLine, i).period;

      if (period->start == 0 && period->end == 0)
        continue;
      if (span.start == 0 && span.end == 0)
        span = *period;
      else
        {
          span.start = MIN (span.start, period->start);
          span.end = MAX (span.end, period->end);
        }
    }
  return span;
}

void
purser_invoice_assemble (GArray *charges, PurserCents *credit_balance, const PurserTaxContext *tax,
                         PurserInvoiceDraft *out)
{
  g_autofree char *tax_description = NULL;
  PurserCents subtotal = 0;
  PurserCents tax_total = 0;
  PurserPeriod span;

  g_return_if_fail (credit_balance != NULL);
  g_return_if_fail (*credit_balance >= 0);
  g_return_if_fail (out != NULL);

  memset (out, 0, sizeof *out);
  out->lines = charges != NULL ? charges : purser_lines_new ();
  span = lines_span (out->lines);

  for (guint i = 0; i < out->lines->len; i++)
    subtotal += g_array_index (out->lines, PurserLine, i).amount;

  if (subtotal > 0 && *credit_balance > 0)
    {
      PurserCents applied = MIN (subtotal, *credit_balance);

      purser_lines_add (out->lines, PURSER_LINE_CREDIT, "Credit applied from your balance", 1,
                        -applied, -applied, span);
      *credit_balance -= applied;
      out->credit_applied = applied;
    }
  else if (subtotal < 0)
    {
      purser_lines_add (out->lines, PURSER_LINE_CREDIT, "Credit carried to your balance", 1,
                        -subtotal, -subtotal, span);
      *credit_balance += -subtotal;
    }

  /* The balance lines are taxed too: a balance comes from price reductions (seats removed,
   * unused time) whose tax was paid, so using it lowers the tax like a credit note. */
  subtotal = 0;
  for (guint i = 0; i < out->lines->len; i++)
    {
      const PurserLine *line = &g_array_index (out->lines, PurserLine, i);

      subtotal += line->amount;
      tax_total += purser_tax_for_amount (tax, line->amount);
    }

  /* Per-line rounding of credits can exceed the tax of the charges by a cent or two when
   * the credits cancel the charges; an invoice still never goes below zero. */
  if (subtotal + tax_total < 0)
    tax_total = -subtotal;

  tax_description = purser_tax_describe (tax);
  purser_lines_add (out->lines, PURSER_LINE_TAX, tax_description, 1, tax_total, tax_total, span);

  out->subtotal = subtotal;
  out->tax = tax_total;
  out->total = subtotal + tax_total;
  if (tax != NULL && tax->treatment == PURSER_TAX_REVERSE_CHARGE)
    out->tax_note = g_strdup (PURSER_REVERSE_CHARGE_NOTE);
}

char *
purser_invoice_number_format (const char *org_code, int year, gint64 sequence)
{
  g_return_val_if_fail (org_code != NULL, NULL);
  g_return_val_if_fail (sequence >= 0, NULL);

  return g_strdup_printf ("%s-%04d-%04" G_GINT64_FORMAT, org_code, year, sequence);
}

const char *
purser_invoice_status_to_string (PurserInvoiceStatus status)
{
  g_return_val_if_fail ((guint) status < G_N_ELEMENTS (invoice_status_names), NULL);

  return invoice_status_names[status];
}

gboolean
purser_invoice_status_from_string (const char *text, PurserInvoiceStatus *out)
{
  g_return_val_if_fail (out != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (invoice_status_names); i++)
    if (g_strcmp0 (text, invoice_status_names[i]) == 0)
      {
        *out = (PurserInvoiceStatus) i;
        return TRUE;
      }
  return FALSE;
}

PurserDate
purser_invoice_due_on (PurserDate issued_on, gboolean charged_automatically)
{
  return charged_automatically ? issued_on : issued_on + PURSER_INVOICE_NET_TERMS_DAYS;
}
