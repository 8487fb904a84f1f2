/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "purser-tax.h"
#include "purserd-pdf.h"

/* The documents are read back with poppler's own tools: pdfinfo for the page count and
 * the metadata, pdftotext -layout for what a reader sees. Set PURSER_PDF_OUT to a folder
 * to keep the PDFs for a look. */

static char *tmp_dir;

static const PurserdSeller seller = {
  .name = "Purser Coaching, Inc.",
  .address = "500 Howard Street, Suite 300\nSan Francisco, CA 94105\nUnited States",
  .tax_id = "US 84-1234567",
  .email = "billing@purser.example",
  .bank_details = NULL,
};

static const PurserdSeller seller_with_bank = {
  .name = "Purser Coaching, Inc.",
  .address = "500 Howard Street, Suite 300\nSan Francisco, CA 94105\nUnited States",
  .tax_id = "US 84-1234567",
  .email = "billing@purser.example",
  .bank_details = "Bank: First Republic Example Bank\nAccount name: Purser Coaching, Inc.\n"
                  "Routing (ABA): 321081669\nAccount: 80007654321\nSWIFT: FRBBUS6S",
};

#define NO_PERIOD ((PurserPeriod){ PURSER_DATE_INVALID, PURSER_DATE_INVALID })

static PurserPeriod
period (int y0, int m0, int d0, int y1, int m1, int d1)
{
  return (PurserPeriod){ purser_date_from_ymd (y0, m0, d0), purser_date_from_ymd (y1, m1, d1) };
}

static void
make_buyer (PurserOrgRecord *buyer, const char *name)
{
  buyer->id = g_strdup ("org_1");
  buyer->name = g_strdup (name);
  buyer->code = g_strdup ("NWL");
  buyer->country = g_strdup ("DE");
  buyer->tax_id = g_strdup ("DE123456789");
  buyer->billing_email = g_strdup ("ap@northwind.example");
  buyer->address = g_strdup ("Friedrichstraße 68\n10117 Berlin\nGermany");
}

/* An open invoice: five charges, $50.00 of balance applied, tax.
 * Items 34800 + 4116 + 50000 + 92500 − 1450 = 179966; − 5000 = 174966; + 12685 tax. */
static void
make_invoice (PurserInvoiceRecord *invoice)
{
  GArray *lines = purser_lines_new ();
  PurserPeriod cycle = period (2026, 3, 11, 2026, 4, 11);

  purser_lines_add (lines, PURSER_LINE_SEATS, "Business seats (monthly)", 12, 2900, 34800, cycle);
  purser_lines_add (lines, PURSER_LINE_PRORATION, "2 seats added Mar 20, 2026", 2, 2900, 4116,
                    period (2026, 3, 20, 2026, 4, 11));
  purser_lines_add (lines, PURSER_LINE_PLATFORM_FEE, "Enterprise platform fee", 1, 50000, 50000,
                    cycle);
  purser_lines_add (lines, PURSER_LINE_USAGE, "Coaching sessions in arrears", 37, 2500, 92500,
                    period (2026, 2, 11, 2026, 3, 11));
  purser_lines_add (lines, PURSER_LINE_CREDIT, "1 seat removed, unused time", -1, 2900, -1450,
                    period (2026, 3, 26, 2026, 4, 11));
  purser_lines_add (lines, PURSER_LINE_CREDIT, "Credit applied from your balance", 1, -5000, -5000,
                    cycle);
  purser_lines_add (lines, PURSER_LINE_TAX, "Sales tax (US-CA 7.25%)", 1, 12685, 12685, cycle);

  invoice->id = g_strdup ("inv_1");
  invoice->org_id = g_strdup ("org_1");
  invoice->number = g_strdup ("NWL-2026-0007");
  invoice->status = PURSER_INVOICE_OPEN;
  invoice->reason = g_strdup ("subscription_cycle");
  invoice->draft.lines = lines;
  invoice->draft.subtotal = 174966;
  invoice->draft.tax = 12685;
  invoice->draft.total = 187651;
  invoice->draft.credit_applied = 5000;
  invoice->period = cycle;
  invoice->issued_on = purser_date_from_ymd (2026, 3, 11);
  invoice->due_on = purser_date_from_ymd (2026, 4, 10);
  invoice->po_number = g_strdup ("PO-4471-B");
  invoice->created_at = purser_date_to_unix (invoice->issued_on) + 9 * 3600;
}

static char *
run (const char *const *argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;
  char *out = NULL;
  int status = 0;
  /* pdfinfo prints dates in the local time zone. */
  g_auto (GStrv) env = g_environ_setenv (g_get_environ (), "TZ", "UTC", TRUE);

  g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status,
                &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, &error))
    g_error ("%s: %s\n%s", argv[0], error->message, err);
  g_assert_true (g_utf8_validate (out, -1, NULL));
  return out;
}

/* Writes the PDF to a file of its own and returns the path. */
static char *
save (GBytes *pdf, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *file = g_strconcat (name, ".pdf", NULL);
  char *path = g_build_filename (tmp_dir, file, NULL);
  gsize size;
  const char *data = g_bytes_get_data (pdf, &size);
  const char *keep = g_getenv ("PURSER_PDF_OUT");

  g_assert_nonnull (pdf);
  g_assert_cmpuint (size, >, 4);
  g_assert_cmpmem (data, 5, "%PDF-", 5);
  g_file_set_contents (path, data, size, &error);
  g_assert_no_error (error);
  if (keep != NULL)
    {
      g_autofree char *copy = g_build_filename (keep, file, NULL);

      g_file_set_contents (copy, data, size, &error);
      g_assert_no_error (error);
    }
  return path;
}

static char *
text_of (const char *path, int first, int last)
{
  g_autofree char *f = g_strdup_printf ("%d", first);
  g_autofree char *l = g_strdup_printf ("%d", last);

  if (first > 0)
    return run ((const char *[]){ "pdftotext", "-layout", "-enc", "UTF-8", "-f", f, "-l", l, path,
                                  "-", NULL });
  return run ((const char *[]){ "pdftotext", "-layout", "-enc", "UTF-8", path, "-", NULL });
}

/* A field of pdfinfo's output, e.g. "Pages". */
static char *
info_of (const char *path, const char *field)
{
  g_autofree char *out = run ((const char *[]){ "pdfinfo", path, NULL });
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      gsize len = strlen (field);

      if (strncmp (lines[i], field, len) == 0 && lines[i][len] == ':')
        return g_strstrip (g_strdup (lines[i] + len + 1));
    }
  g_error ("pdfinfo has no %s:\n%s", field, out);
}

static int
pages_of (const char *path)
{
  g_autofree char *pages = info_of (path, "Pages");

  return atoi (pages);
}

#define assert_has(text, needle)                               \
  G_STMT_START                                                 \
  {                                                            \
    if (strstr ((text), (needle)) == NULL)                     \
      g_error ("“%s” is missing from:\n%s", (needle), (text)); \
  }                                                            \
  G_STMT_END

#define assert_lacks(text, needle)                              \
  G_STMT_START                                                  \
  {                                                             \
    if (strstr ((text), (needle)) != NULL)                      \
      g_error ("“%s” should not be in:\n%s", (needle), (text)); \
  }                                                             \
  G_STMT_END

/* A label and its amount ending a line, as the totals are laid out (with, perhaps, the
 * payment instructions on their left). */
static void
assert_row (const char *text, const char *label, const char *amount)
{
  g_autofree char *label_re = g_regex_escape_string (label, -1);
  g_autofree char *amount_re = g_regex_escape_string (amount, -1);
  g_autofree char *pattern = g_strdup_printf ("(?:^|\\s)%s\\s+%s\\s*$", label_re, amount_re);

  if (!g_regex_match_simple (pattern, text, G_REGEX_MULTILINE, 0))
    g_error ("no row “%s  %s” in:\n%s", label, amount, text);
}

static guint
count (const char *text, const char *needle)
{
  guint n = 0;

  for (const char *p = strstr (text, needle); p != NULL; p = strstr (p + 1, needle))
    n++;
  return n;
}

/* The text of all pages without their running heads and footers, on one line: what
 * flows from page to page reads on. */
static char *
flat_body (const char *path, int n_pages)
{
  g_autoptr (GString) body = g_string_new (NULL);
  g_autoptr (GRegex) space = g_regex_new ("\\s+", 0, 0, NULL);

  for (int i = 1; i <= n_pages; i++)
    {
      g_autofree char *page = text_of (path, i, i);
      g_auto (GStrv) lines = g_strsplit (page, "\n", -1);

      for (guint j = 0; lines[j] != NULL; j++)
        if (strstr (lines[j], "(continued)") == NULL && strstr (lines[j], "Page ") == NULL)
          g_string_append_printf (body, "%s\n", lines[j]);
    }
  return g_regex_replace (space, body->str, -1, 0, " ", 0, NULL);
}

static char *
render_invoice (const PurserdSeller *s, const PurserOrgRecord *buyer,
                const PurserInvoiceRecord *invoice, const char *terms,
                const PurserdPdfPayment *payments, guint n_payments, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) pdf
      = purserd_pdf_invoice (s, buyer, invoice, terms, payments, n_payments, &error);

  g_assert_no_error (error);
  return save (pdf, name);
}

static void
test_invoice_one_page (void)
{
  g_auto (PurserOrgRecord) buyer = { 0 };
  g_auto (PurserInvoiceRecord) invoice = { 0 };
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;
  g_autofree char *title = NULL;
  g_autofree char *author = NULL;
  g_autofree char *created = NULL;

  make_buyer (&buyer, "Northwind Logistics GmbH");
  make_invoice (&invoice);
  path = render_invoice (&seller, &buyer, &invoice,
                         "Pay by bank transfer within 30 days, quoting the invoice number.", NULL,
                         0, "invoice-open");

  g_assert_cmpint (pages_of (path), ==, 1);
  title = info_of (path, "Title");
  author = info_of (path, "Author");
  created = info_of (path, "CreationDate");
  g_assert_cmpstr (title, ==, "Invoice NWL-2026-0007");
  g_assert_cmpstr (author, ==, "Purser Coaching, Inc.");
  /* The invoice's own time, not the time it was drawn. */
  assert_has (created, "Mar 11 09:00:00 2026");

  text = text_of (path, 0, 0);
  assert_has (text, "Invoice");
  assert_has (text, "Purser Coaching, Inc.");
  assert_has (text, "500 Howard Street, Suite 300");
  assert_has (text, "US 84-1234567");
  assert_has (text, "billing@purser.example");
  assert_has (text, "Bill to");
  assert_has (text, "Northwind Logistics GmbH");
  assert_has (text, "Friedrichstraße 68");
  assert_has (text, "ap@northwind.example");
  assert_has (text, "VAT ID: DE123456789");
  assert_has (text, "NWL-2026-0007");
  assert_has (text, "PO-4471-B");
  assert_has (text, "Mar 11, 2026 – Apr 10, 2026"); /* the service period, last day included */
  assert_has (text, "Date due");

  /* Every item with its period, quantity, unit price and amount. */
  assert_has (text, "Business seats (monthly)");
  assert_has (text, "2 seats added Mar 20, 2026");
  assert_has (text, "Mar 20, 2026 – Apr 10, 2026");
  assert_has (text, "Enterprise platform fee");
  assert_has (text, "Coaching sessions in arrears");
  assert_has (text, "Feb 11, 2026 – Mar 10, 2026");
  assert_has (text, "1 seat removed, unused time");
  assert_has (text, "$348.00");
  assert_has (text, "$41.16");
  assert_has (text, "$500.00");
  assert_has (text, "$925.00");
  assert_has (text, "$25.00");
  assert_has (text, "-$14.50");

  /* The tax line is a total, not an item; the balance applied is a total too. */
  assert_lacks (text, "Sales tax (US-CA 7.25%)");
  assert_lacks (text, "Credit applied from your balance");
  assert_row (text, "Subtotal", "$1,799.66");
  assert_row (text, "Credit applied", "-$50.00");
  assert_row (text, "Tax", "$126.85");
  assert_row (text, "Total", "$1,876.51");
  assert_row (text, "Amount paid", "$0.00");
  assert_row (text, "Amount due", "$1,876.51");
  assert_has (text, "$1,876.51 due Apr 10, 2026");

  /* Open: the stamp and the due date. */
  assert_has (text, "OPEN");
  assert_has (text, "Due Apr 10, 2026");
  assert_lacks (text, "PAID");
  assert_lacks (text, "Reverse charge");

  assert_has (text, "Pay by bank transfer within 30 days, quoting the invoice number.");
  assert_has (text, "Page 1 of 1");
  assert_lacks (text, "Notes");
  assert_lacks (text, "Payments");
}

static void
test_invoice_reverse_charge (void)
{
  g_auto (PurserOrgRecord) buyer = { 0 };
  g_auto (PurserInvoiceRecord) invoice = { 0 };
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;

  make_buyer (&buyer, "Northwind Logistics GmbH");
  make_invoice (&invoice);
  /* No tax charged: the buyer accounts for it. */
  invoice.draft.tax_note = g_strdup (PURSER_REVERSE_CHARGE_NOTE);
  g_array_index (invoice.draft.lines, PurserLine, invoice.draft.lines->len - 1).amount = 0;
  invoice.draft.tax = 0;
  invoice.draft.total = 174966;
  path = render_invoice (&seller_with_bank, &buyer, &invoice,
                         "Pay by bank transfer within 30 days, quoting the invoice number.", NULL,
                         0, "invoice-reverse-charge");
  text = text_of (path, 0, 0);

  assert_has (text, "Reverse charge: VAT to be accounted for by the recipient");
  assert_has (text, "2006/112/EC");
  assert_row (text, "Tax", "$0.00");
  assert_row (text, "Amount due", "$1,749.66");
  g_assert_cmpint (pages_of (path), ==, 1);

  /* Open and due by wire: the bank details, quoting the invoice number. */
  assert_has (text, "Pay by bank transfer");
  assert_has (text, "Bank: First Republic Example Bank");
  assert_has (text, "Routing (ABA): 321081669");
  assert_has (text, "SWIFT: FRBBUS6S");
  assert_has (text, "Reference: NWL-2026-0007");
}

static void
test_invoice_paid (void)
{
  g_auto (PurserOrgRecord) buyer = { 0 };
  g_auto (PurserInvoiceRecord) invoice = { 0 };
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;
  const PurserdPdfPayment payments[] = {
    { "NWL-2026-0007-R1", "Visa •••• 4242", "ch_3PXa9b2eZvKYlo2C1x5c1xyz", 100000,
      purser_date_to_unix (purser_date_from_ymd (2026, 3, 12)) + 3600 },
    { "NWL-2026-0007-R2", "Wire transfer", "NWL-2026-0007", 87651,
      purser_date_to_unix (purser_date_from_ymd (2026, 3, 20)) + 7200 },
  };

  make_buyer (&buyer, "Northwind Logistics GmbH");
  make_invoice (&invoice);
  invoice.status = PURSER_INVOICE_PAID;
  invoice.amount_paid = 187651;
  invoice.paid_at = payments[1].paid_at;
  invoice.notes = g_strdup ("Thank you for your business.");
  path = render_invoice (&seller_with_bank, &buyer, &invoice,
                         "Charged automatically to Visa •••• 4242", payments,
                         G_N_ELEMENTS (payments), "invoice-paid");
  text = text_of (path, 0, 0);

  assert_has (text, "PAID");
  assert_has (text, "Paid on Mar 20, 2026");
  assert_has (text, "$1,876.51 paid on Mar 20, 2026");
  assert_lacks (text, "OPEN");
  assert_has (text, "Charged automatically to Visa •••• 4242");

  /* Amount due is zero once paid. */
  assert_row (text, "Amount paid", "$1,876.51");
  assert_row (text, "Amount due", "$0.00");

  assert_has (text, "Payments");
  assert_has (text, "NWL-2026-0007-R1");
  assert_has (text, "NWL-2026-0007-R2");
  assert_has (text, "Mar 12, 2026");
  assert_has (text, "$1,000.00");
  assert_has (text, "$876.51");
  assert_has (text, "Wire transfer");
  assert_lacks (text, "ch_3PXa9b2eZvKYlo2C1x5c1-");

  /* Nothing left to pay: no bank instructions. */
  assert_lacks (text, "Pay by bank transfer");
  assert_lacks (text, "Routing (ABA)");

  assert_has (text, "Notes");
  assert_has (text, "Thank you for your business.");
}

static void
test_invoice_void (void)
{
  g_auto (PurserOrgRecord) buyer = { 0 };
  g_auto (PurserInvoiceRecord) invoice = { 0 };
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;

  make_buyer (&buyer, "Northwind Logistics GmbH");
  make_invoice (&invoice);
  invoice.status = PURSER_INVOICE_VOID;
  invoice.voided_at = purser_date_to_unix (purser_date_from_ymd (2026, 3, 15));
  invoice.void_reason = g_strdup ("Issued twice");
  path = render_invoice (&seller, &buyer, &invoice, NULL, NULL, 0, "invoice-void");
  text = text_of (path, 0, 0);

  assert_has (text, "VOID");
  assert_has (text, "Void: nothing is due");
  assert_has (text, "Voided on Mar 15, 2026: Issued twice");
  assert_lacks (text, "OPEN");
  assert_lacks (text, "PAID");
  assert_lacks (text, "Due Apr 10, 2026");
  assert_lacks (text, "$1,876.51 due");
  assert_row (text, "Total", "$1,876.51");
  assert_row (text, "Amount due", "$0.00");
}

static void
test_invoice_uncollectible (void)
{
  g_auto (PurserOrgRecord) buyer = { 0 };
  g_auto (PurserInvoiceRecord) invoice = { 0 };
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;

  make_buyer (&buyer, "Northwind Logistics GmbH");
  make_invoice (&invoice);
  invoice.status = PURSER_INVOICE_UNCOLLECTIBLE;
  invoice.amount_paid = 87651;
  path = render_invoice (&seller, &buyer, &invoice, NULL, NULL, 0, "invoice-uncollectible");
  text = text_of (path, 0, 0);

  assert_has (text, "UNCOLLECTIBLE");
  assert_has (text, "$1,000.00 uncollectible");
  assert_row (text, "Amount paid", "$876.51");
  assert_row (text, "Amount due", "$1,000.00");
  assert_lacks (text, "OPEN");
}

/* No period, no PO number, no due date, no tax id: the rows are left out, not shown empty. */
static void
test_invoice_sparse (void)
{
  g_auto (PurserOrgRecord) buyer = { 0 };
  g_auto (PurserInvoiceRecord) invoice = { 0 };
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;
  GArray *lines = purser_lines_new ();

  buyer.name = g_strdup ("Solo Buyer LLC");
  purser_lines_add (lines, PURSER_LINE_SEATS, "Business seats (monthly)", 1, 2900, 2900, NO_PERIOD);
  purser_lines_add (lines, PURSER_LINE_TAX, "No tax", 1, 0, 0, NO_PERIOD);
  invoice.number = g_strdup ("SOLO-2026-0001");
  invoice.status = PURSER_INVOICE_OPEN;
  invoice.draft.lines = lines;
  invoice.draft.subtotal = 2900;
  invoice.draft.total = 2900;
  invoice.period = NO_PERIOD;
  invoice.issued_on = purser_date_from_ymd (2026, 1, 2);
  invoice.due_on = PURSER_DATE_INVALID;
  invoice.created_at = purser_date_to_unix (invoice.issued_on);
  path = render_invoice (&seller, &buyer, &invoice, NULL, NULL, 0, "invoice-sparse");
  text = text_of (path, 0, 0);

  assert_has (text, "Solo Buyer LLC");
  assert_has (text, "SOLO-2026-0001");
  assert_has (text, "$29.00");
  assert_lacks (text, "PO number");
  assert_lacks (text, "Service period");
  assert_lacks (text, "Date due");
  assert_lacks (text, "Tax ID: DE");
  assert_lacks (text, "VAT ID");
  assert_lacks (text, "Credit applied");
  assert_lacks (text, "No tax");
}

/* The same invoice gives the same bytes: the creation date is the invoice's. */
static void
test_invoice_reproducible (void)
{
  g_auto (PurserOrgRecord) buyer = { 0 };
  g_auto (PurserInvoiceRecord) invoice = { 0 };
  g_autoptr (GBytes) first = NULL;
  g_autoptr (GBytes) second = NULL;

  make_buyer (&buyer, "Northwind Logistics GmbH");
  make_invoice (&invoice);
  first = purserd_pdf_invoice (&seller, &buyer, &invoice, NULL, NULL, 0, NULL);
  second = purserd_pdf_invoice (&seller, &buyer, &invoice, NULL, NULL, 0, NULL);
  g_assert_nonnull (first);
  g_assert_true (g_bytes_equal (first, second));
}

static void
test_invoice_long (void)
{
  g_auto (PurserOrgRecord) buyer = { 0 };
  g_auto (PurserInvoiceRecord) invoice = { 0 };
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;
  g_autofree char *page1 = NULL;
  g_autofree char *page2 = NULL;
  g_autofree char *last_page = NULL;
  g_autofree char *page_of = NULL;
  g_autofree char *last_of = NULL;
  g_autofree char *flat = NULL;
  g_autoptr (GString) notes = g_string_new (NULL);
  GArray *lines = purser_lines_new ();
  PurserPeriod cycle = period (2026, 3, 1, 2026, 4, 1);
  PurserCents sum = 0;
  int n_pages;

  for (int i = 1; i <= 150; i++)
    {
      g_autofree char *description = g_strdup_printf ("Coaching session #%03d", i);

      purser_lines_add (lines, PURSER_LINE_USAGE, description, 1, 2500 + i, 2500 + i, cycle);
      sum += 2500 + i;
    }
  /* A description long enough to wrap over several lines of its cell. */
  purser_lines_add (lines, PURSER_LINE_USAGE,
                    "Executive coaching programme for the leadership team, including preparation "
                    "of 360-degree feedback reports, two offsite workshops, and follow-up "
                    "sessions with every participant over the quarter — wrapped-tail-marker",
                    1, 1200000, 1200000, cycle);
  sum += 1200000;
  purser_lines_add (lines, PURSER_LINE_TAX, "No tax", 1, 0, 0, cycle);
  g_assert_cmpint (sum, ==, 1586325);

  for (int i = 0; i < 120; i++)
    g_string_append (notes, "These notes are long and must wrap across lines and pages. ");
  g_string_append (notes, "End-of-notes-marker.");

  make_buyer (&buyer, "Northwind Logistics GmbH");
  invoice.number = g_strdup ("NWL-2026-0042");
  invoice.status = PURSER_INVOICE_OPEN;
  invoice.draft.lines = lines;
  invoice.draft.subtotal = sum;
  invoice.draft.total = sum;
  invoice.period = cycle;
  invoice.issued_on = cycle.start;
  invoice.due_on = purser_date_from_ymd (2026, 3, 31);
  invoice.notes = g_string_free (g_steal_pointer (&notes), FALSE);
  invoice.created_at = purser_date_to_unix (cycle.start);
  path = render_invoice (&seller, &buyer, &invoice, NULL, NULL, 0, "invoice-long");

  n_pages = pages_of (path);
  g_assert_cmpint (n_pages, >, 3);
  text = text_of (path, 0, 0);
  page1 = text_of (path, 1, 1);
  page2 = text_of (path, 2, 2);
  last_page = text_of (path, n_pages, n_pages);
  page_of = g_strdup_printf ("Page 1 of %d", n_pages);
  last_of = g_strdup_printf ("Page %d of %d", n_pages, n_pages);
  flat = flat_body (path, n_pages);

  assert_has (page1, page_of);
  assert_has (last_page, last_of);
  for (int i = 1; i <= n_pages; i++)
    {
      g_autofree char *page = text_of (path, i, i);
      g_autofree char *footer = g_strdup_printf ("Page %d of %d", i, n_pages);

      assert_has (page, footer);
      assert_has (page, "NWL-2026-0042");
    }

  /* Every line once, none lost at a page break. */
  for (int i = 1; i <= 150; i++)
    {
      g_autofree char *description = g_strdup_printf ("Coaching session #%03d", i);

      g_assert_cmpuint (count (text, description), ==, 1);
    }
  assert_has (text, "Executive coaching programme");
  assert_has (text, "wrapped-tail-marker");
  assert_has (text, "$12,000.00");

  /* The table header again on page 2, under a running head. */
  assert_lacks (page1, "(continued)");
  assert_has (page2, "Purser Coaching, Inc. · Invoice NWL-2026-0042 (continued)");
  assert_has (page2, "Description");
  assert_has (page2, "Qty");
  assert_has (page2, "Unit price");
  assert_has (page2, "Amount");
  assert_lacks (page2, "Bill to");

  assert_row (text, "Total", "$15,863.25");
  assert_has (text, "$15,863.25 due Mar 31, 2026");
  assert_has (last_page, "End-of-notes-marker.");
  /* The notes, wrapped over two pages at least, lose no word. */
  assert_lacks (page1, "These notes are long");
  g_assert_cmpuint (count (flat, "These notes are long and must wrap across lines and pages."), ==,
                    120);
}

static void
test_receipt (void)
{
  g_auto (PurserOrgRecord) buyer = { 0 };
  g_auto (PurserInvoiceRecord) invoice = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) pdf = NULL;
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;
  g_autofree char *title = NULL;
  g_autofree char *created = NULL;
  const PurserdPdfPayment payment = {
    "NWL-2026-0007-R1",
    "Visa •••• 4242",
    "ch_3PXa9b2eZvKYlo2C1x5c1xyz",
    187651,
    purser_date_to_unix (purser_date_from_ymd (2026, 3, 12)) + 14 * 3600 + 5 * 60,
  };

  make_buyer (&buyer, "Northwind Logistics GmbH");
  make_invoice (&invoice);
  invoice.status = PURSER_INVOICE_PAID;
  invoice.amount_paid = 187651;
  invoice.paid_at = payment.paid_at;
  pdf = purserd_pdf_receipt (&seller, &buyer, &invoice, &payment, &error);
  g_assert_no_error (error);
  path = save (pdf, "receipt");
  text = text_of (path, 0, 0);
  title = info_of (path, "Title");
  created = info_of (path, "CreationDate");

  g_assert_cmpint (pages_of (path), ==, 1);
  g_assert_cmpstr (title, ==, "Receipt NWL-2026-0007-R1");
  assert_has (created, "Mar 12 14:05:00 2026");

  assert_has (text, "Receipt");
  assert_has (text, "NWL-2026-0007-R1");
  assert_has (text, "Invoice number");
  assert_has (text, "NWL-2026-0007");
  assert_has (text, "Date paid");
  assert_has (text, "Mar 12, 2026");
  assert_has (text, "Visa •••• 4242");
  assert_has (text, "ch_3PXa9b2eZvKYlo2C1x5c1xyz");
  assert_has (text, "$1,876.51 paid on Mar 12, 2026");
  assert_has (text, "PAID");
  assert_has (text, "Purser Coaching, Inc.");
  assert_has (text, "Northwind Logistics GmbH");
  /* The summary of the invoice. */
  assert_has (text, "Business seats (monthly)");
  assert_has (text, "Coaching sessions in arrears");
  assert_row (text, "Tax", "$126.85");
  assert_row (text, "Total", "$1,876.51");
  assert_row (text, "Amount paid", "$1,876.51");
  assert_lacks (text, "Remaining due");
  assert_has (text, "billing@purser.example");
  assert_has (text, "Page 1 of 1");
}

/* A receipt of a long invoice stays short. */
static void
test_receipt_summary (void)
{
  g_auto (PurserOrgRecord) buyer = { 0 };
  g_auto (PurserInvoiceRecord) invoice = { 0 };
  g_autoptr (GBytes) pdf = NULL;
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;
  GArray *lines = purser_lines_new ();
  const PurserdPdfPayment payment = { "NWL-2026-0042-R1", "Wire transfer", NULL, 50000,
                                      purser_date_to_unix (purser_date_from_ymd (2026, 4, 2)) };

  for (int i = 1; i <= 40; i++)
    {
      g_autofree char *description = g_strdup_printf ("Coaching session #%03d", i);

      purser_lines_add (lines, PURSER_LINE_USAGE, description, 1, 2500, 2500, NO_PERIOD);
    }
  purser_lines_add (lines, PURSER_LINE_TAX, "No tax", 1, 0, 0, NO_PERIOD);
  make_buyer (&buyer, "Northwind Logistics GmbH");
  invoice.number = g_strdup ("NWL-2026-0042");
  invoice.status = PURSER_INVOICE_OPEN;
  invoice.draft.lines = lines;
  invoice.draft.subtotal = 100000;
  invoice.draft.total = 100000;
  invoice.amount_paid = 50000;
  invoice.issued_on = purser_date_from_ymd (2026, 3, 1);
  invoice.due_on = purser_date_from_ymd (2026, 3, 31);
  pdf = purserd_pdf_receipt (&seller, &buyer, &invoice, &payment, NULL);
  path = save (pdf, "receipt-summary");
  text = text_of (path, 0, 0);

  g_assert_cmpint (pages_of (path), ==, 1);
  assert_has (text, "Summary of invoice NWL-2026-0042");
  assert_has (text, "Coaching session #001");
  assert_has (text, "Coaching session #010");
  assert_lacks (text, "Coaching session #011");
  assert_has (text, "and 30 more items on invoice NWL-2026-0042");
  assert_has (text, "$1,000.00"); /* the invoice's total */
  assert_has (text, "$500.00 paid on Apr 2, 2026");
  assert_row (text, "Remaining due", "$500.00");
  assert_has (text, "Wire transfer");
}

static void
test_credit_note (void)
{
  g_auto (PurserOrgRecord) buyer = { 0 };
  g_auto (PurserInvoiceRecord) invoice = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) pdf = NULL;
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;
  g_autofree char *title = NULL;
  const PurserdPdfCreditNote note = {
    "NWL-2026-0007-C1",
    "Two seats were billed for employees who had left before the period began.",
    5800,
    2000,
    purser_date_to_unix (purser_date_from_ymd (2026, 3, 18)) + 3600,
  };

  make_buyer (&buyer, "Northwind Logistics GmbH");
  make_invoice (&invoice);
  invoice.status = PURSER_INVOICE_PAID;
  invoice.amount_paid = 187651;
  pdf = purserd_pdf_credit_note (&seller, &buyer, &invoice, &note, &error);
  g_assert_no_error (error);
  path = save (pdf, "credit-note");
  text = text_of (path, 0, 0);
  title = info_of (path, "Title");

  g_assert_cmpint (pages_of (path), ==, 1);
  g_assert_cmpstr (title, ==, "Credit note NWL-2026-0007-C1");
  assert_has (text, "Credit note");
  assert_has (text, "NWL-2026-0007-C1");
  assert_has (text, "Credit against invoice NWL-2026-0007");
  assert_has (text, "Mar 11, 2026"); /* the invoice's date */
  assert_has (text, "Mar 18, 2026"); /* the note's */
  assert_has (text, "Two seats were billed for employees");
  assert_row (text, "Invoice total", "$1,876.51");
  assert_row (text, "This credit note", "-$58.00");
  assert_row (text, "Total credited", "$58.00");
  assert_row (text, "Adjusted invoice total", "$1,818.51");
  assert_row (text, "Refunded to payment method", "$20.00");
  assert_row (text, "Credited to your balance", "$38.00");
  assert_has (text, "Northwind Logistics GmbH");
  assert_has (text, "Purser Coaching, Inc.");
  assert_lacks (text, "Business seats"); /* not a copy of the invoice */
}

static char *
render_for_buyer (const char *name, const char *file)
{
  g_auto (PurserOrgRecord) buyer = { 0 };
  g_auto (PurserInvoiceRecord) invoice = { 0 };

  make_buyer (&buyer, name);
  make_invoice (&invoice);
  invoice.notes = g_strdup ("Broken \xff\xfe bytes & <markup> are shown as typed.");
  return render_invoice (&seller, &buyer, &invoice, NULL, NULL, 0, file);
}

/* Names with accents and other Latin, Greek and Cyrillic letters round-trip; text that is
 * not UTF-8 is repaired, not fatal; markup characters are text. */
static void
test_utf8 (void)
{
  g_autofree char *path = render_for_buyer ("Zoë Müller Ærøskøbing ĀĒĪ Ωμέγα Щука", "invoice-utf8");
  g_autofree char *text = text_of (path, 0, 0);

  assert_has (text, "Zoë Müller Ærøskøbing ĀĒĪ Ωμέγα Щука");
  assert_has (text, "bytes & <markup> are shown as typed.");
}

/* Names that are not UTF-8 (they never should be) still give a document, metadata and all. */
static void
test_utf8_invalid (void)
{
  g_auto (PurserOrgRecord) buyer = { 0 };
  g_auto (PurserInvoiceRecord) invoice = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) pdf = NULL;
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;
  g_autofree char *subject = NULL;
  const PurserdSeller broken_seller = { "Purser \xc3\x28 Coaching", "Somewhere", NULL, NULL, NULL };

  make_buyer (&buyer, "Bad \xe2\x82 Name GmbH");
  make_invoice (&invoice);
  pdf = purserd_pdf_invoice (&broken_seller, &buyer, &invoice, NULL, NULL, 0, &error);
  g_assert_no_error (error);
  path = save (pdf, "invoice-invalid-utf8");
  text = text_of (path, 0, 0);
  subject = info_of (path, "Subject");

  assert_has (text, "Name GmbH");
  assert_has (text, "Coaching");
  assert_has (subject, "Name GmbH");
}

/* Han characters need a font that has them: DejaVu has none, fontconfig falls back to one
 * if installed (fonts-noto-cjk). Without, Pango draws boxes and there is nothing to test. */
static void
test_utf8_cjk (void)
{
  g_autofree char *fonts
      = run ((const char *[]){ "fc-list", ":charset=6771 4eac", "family", NULL });
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;

  if (*g_strstrip (fonts) == '\0')
    {
      g_test_skip ("no font with 東京 is installed (fonts-noto-cjk)");
      return;
    }
  path = render_for_buyer ("Zoë Müller 東京", "invoice-utf8-cjk");
  text = text_of (path, 0, 0);
  assert_has (text, "Zoë Müller 東京");
}

static void
remove_tmp_dir (void)
{
  g_autoptr (GDir) dir = g_dir_open (tmp_dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (tmp_dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (tmp_dir);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);

  tmp_dir = g_dir_make_tmp ("purser-pdf-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/purser/server/pdf/invoice/one-page", test_invoice_one_page);
  g_test_add_func ("/purser/server/pdf/invoice/reverse-charge", test_invoice_reverse_charge);
  g_test_add_func ("/purser/server/pdf/invoice/paid", test_invoice_paid);
  g_test_add_func ("/purser/server/pdf/invoice/void", test_invoice_void);
  g_test_add_func ("/purser/server/pdf/invoice/uncollectible", test_invoice_uncollectible);
  g_test_add_func ("/purser/server/pdf/invoice/sparse", test_invoice_sparse);
  g_test_add_func ("/purser/server/pdf/invoice/reproducible", test_invoice_reproducible);
  g_test_add_func ("/purser/server/pdf/invoice/long", test_invoice_long);
  g_test_add_func ("/purser/server/pdf/receipt", test_receipt);
  g_test_add_func ("/purser/server/pdf/receipt/summary", test_receipt_summary);
  g_test_add_func ("/purser/server/pdf/credit-note", test_credit_note);
  g_test_add_func ("/purser/server/pdf/utf8/latin", test_utf8);
  g_test_add_func ("/purser/server/pdf/utf8/cjk", test_utf8_cjk);
  g_test_add_func ("/purser/server/pdf/utf8/invalid", test_utf8_invalid);

  status = g_test_run ();
  remove_tmp_dir ();
  g_free (tmp_dir);
  return status;
}
