/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "core-test-util.h"

static void
test_default_table (void)
{
  g_autoptr (PurserTaxTable) table = purser_tax_table_new_default ();

  g_assert_cmpint (purser_tax_table_lookup (table, "US", "WA"), ==, 650);
  g_assert_cmpint (purser_tax_table_lookup (table, "US", "NY"), ==, 400);
  g_assert_cmpint (purser_tax_table_lookup (table, "US", "TX"), ==, 625);
  g_assert_cmpint (purser_tax_table_lookup (table, "US", "PA"), ==, 600);
  g_assert_cmpint (purser_tax_table_lookup (table, "US", "CT"), ==, 635);
  g_assert_cmpint (purser_tax_table_lookup (table, "US", "UT"), ==, 610);
  g_assert_cmpint (purser_tax_table_lookup (table, "US", "TN"), ==, 700);
  g_assert_cmpint (purser_tax_table_lookup (table, "US", "SC"), ==, 600);
  g_assert_cmpint (purser_tax_table_lookup (table, "US", "OH"), ==, 575);
  g_assert_cmpint (purser_tax_table_lookup (table, "US", "CA"), ==, 0);
  g_assert_cmpint (purser_tax_table_lookup (table, "US", "OR"), ==, 0);
  g_assert_cmpint (purser_tax_table_lookup (table, "US", NULL), ==, 0);
  g_assert_cmpint (purser_tax_table_lookup (table, "DE", NULL), ==, 1900);
  g_assert_cmpint (purser_tax_table_lookup (table, "DE", "BY"), ==, 1900);
  g_assert_cmpint (purser_tax_table_lookup (table, "FR", NULL), ==, 2000);
  g_assert_cmpint (purser_tax_table_lookup (table, "NL", NULL), ==, 2100);
  g_assert_cmpint (purser_tax_table_lookup (table, "IE", NULL), ==, 2300);
  g_assert_cmpint (purser_tax_table_lookup (table, "ES", NULL), ==, 2100);
  g_assert_cmpint (purser_tax_table_lookup (table, "IT", NULL), ==, 2200);
  g_assert_cmpint (purser_tax_table_lookup (table, "AT", NULL), ==, 2000);
  g_assert_cmpint (purser_tax_table_lookup (table, "BE", NULL), ==, 2100);
  g_assert_cmpint (purser_tax_table_lookup (table, "SE", NULL), ==, 2500);
  g_assert_cmpint (purser_tax_table_lookup (table, "DK", NULL), ==, 2500);
  g_assert_cmpint (purser_tax_table_lookup (table, "FI", NULL), ==, 2550);
  g_assert_cmpint (purser_tax_table_lookup (table, "PL", NULL), ==, 2300);
  g_assert_cmpint (purser_tax_table_lookup (table, "PT", NULL), ==, 2300);
  g_assert_cmpint (purser_tax_table_lookup (table, "GB", NULL), ==, 2000);
  g_assert_cmpint (purser_tax_table_lookup (table, "JP", NULL), ==, 0);
  g_assert_cmpint (purser_tax_table_lookup (table, NULL, NULL), ==, 0);

  /* every EU member has a rate */
  for (char a = 'A'; a <= 'Z'; a++)
    for (char b = 'A'; b <= 'Z'; b++)
      {
        char country[3] = { a, b, '\0' };

        if (purser_country_is_eu (country))
          g_assert_cmpint (purser_tax_table_lookup (table, country, NULL), >, 0);
      }
}

static void
test_parse_table (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PurserTaxTable) table = NULL;

  table = purser_tax_table_new_parse ("# sales tax\n"
                                      "US-WA 650\n"
                                      "\n"
                                      "  US\t0   # the rest of the US\n"
                                      "DE 1900\r\n"
                                      "US-NY    888\n",
                                      &error);
  g_assert_no_error (error);
  g_assert_nonnull (table);
  g_assert_cmpint (purser_tax_table_lookup (table, "US", "WA"), ==, 650);
  g_assert_cmpint (purser_tax_table_lookup (table, "US", "NY"), ==, 888);
  g_assert_cmpint (purser_tax_table_lookup (table, "US", "TX"), ==, 0);
  g_assert_cmpint (purser_tax_table_lookup (table, "DE", NULL), ==, 1900);
  /* the file replaces the built-in table */
  g_assert_cmpint (purser_tax_table_lookup (table, "FR", NULL), ==, 0);
  g_clear_pointer (&table, purser_tax_table_free);

  table = purser_tax_table_new_parse ("", &error);
  g_assert_no_error (error);
  g_assert_nonnull (table);
  g_clear_pointer (&table, purser_tax_table_free);
}

static void
test_parse_table_errors (void)
{
  static const struct
  {
    const char *text;
    const char *line;
  } cases[] = {
    { "DE 1900\nXX\n", "line 2:" },
    { "de 1900\n", "line 1:" },
    { "# c\n\nDE 10001\n", "line 3:" },
    { "DE -5\n", "line 1:" },
    { "DE 19.0\n", "line 1:" },
    { "DE 19x\n", "line 1:" },
    { "DE 1900\nFR 2000\nDE 1900\n", "line 3:" },
    { "DE 1900 extra\n", "line 1:" },
    { "US-WASHINGTON 650\n", "line 1:" },
    { "US_WA 650\n", "line 1:" },
    { "DEU 1900\n", "line 1:" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (PurserTaxTable) table = purser_tax_table_new_parse (cases[i].text, &error);

      g_assert_null (table);
      g_assert_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, cases[i].line));
    }
}

static void
test_countries_and_vat_ids (void)
{
  g_assert_true (purser_country_is_eu ("DE"));
  g_assert_true (purser_country_is_eu ("GR"));
  g_assert_true (purser_country_is_eu ("IE"));
  g_assert_false (purser_country_is_eu ("GB"));
  g_assert_false (purser_country_is_eu ("US"));
  g_assert_false (purser_country_is_eu ("CH"));
  g_assert_false (purser_country_is_eu ("de"));
  g_assert_false (purser_country_is_eu (NULL));

  g_assert_true (purser_country_is_valid ("US"));
  g_assert_true (purser_country_is_valid ("ZZ"));
  g_assert_false (purser_country_is_valid ("us"));
  g_assert_false (purser_country_is_valid ("USA"));
  g_assert_false (purser_country_is_valid ("U"));
  g_assert_false (purser_country_is_valid (""));
  g_assert_false (purser_country_is_valid (NULL));

  g_assert_true (purser_vat_id_is_valid ("DE", "DE123456789"));
  g_assert_true (purser_vat_id_is_valid ("FR", "FRXX123456789"));
  g_assert_true (purser_vat_id_is_valid ("NL", "NL123456789B01"));
  g_assert_true (purser_vat_id_is_valid ("GR", "EL123456789"));
  g_assert_true (purser_vat_id_is_valid ("AT", "ATU1"));
  g_assert_true (purser_vat_id_is_valid ("ES", "ESX12345678X"));
  g_assert_true (purser_vat_id_is_valid ("IE", "IE123456789012"));
  g_assert_false (purser_vat_id_is_valid ("IE", "IE1234567890123"));
  g_assert_false (purser_vat_id_is_valid ("GR", "GR123456789"));
  g_assert_false (purser_vat_id_is_valid ("DE", "FR123456789"));
  g_assert_false (purser_vat_id_is_valid ("DE", "DE1"));
  g_assert_false (purser_vat_id_is_valid ("DE", "DE"));
  g_assert_false (purser_vat_id_is_valid ("DE", "DE12345678-9"));
  g_assert_false (purser_vat_id_is_valid ("DE", "DE 123456789"));
  g_assert_false (purser_vat_id_is_valid ("DE", "de123456789"));
  g_assert_false (purser_vat_id_is_valid ("GB", "GB123456789"));
  g_assert_false (purser_vat_id_is_valid ("DE", NULL));
  g_assert_false (purser_vat_id_is_valid (NULL, "DE123456789"));
  g_assert_false (purser_vat_id_is_valid ("DE", ""));
}

static void
test_resolve (void)
{
  g_autoptr (PurserTaxTable) table = purser_tax_table_new_default ();
  PurserTaxContext tax;
  PurserTaxParty wa = { "US", "WA", NULL, FALSE };
  PurserTaxParty wa_exempt = { "US", "WA", NULL, TRUE };
  PurserTaxParty ca = { "US", "CA", NULL, FALSE };
  PurserTaxParty de_b2b = { "DE", NULL, "DE123456789", FALSE };
  PurserTaxParty de_b2c = { "DE", NULL, NULL, FALSE };
  PurserTaxParty de_bad_vat = { "DE", NULL, "DE1", FALSE };
  PurserTaxParty gr_b2b = { "GR", NULL, "EL123456789", FALSE };
  PurserTaxParty gb = { "GB", NULL, "GB123456789", FALSE };
  PurserTaxParty unknown = { NULL, NULL, NULL, FALSE };
  PurserTaxParty exempt_de = { "DE", NULL, "DE123456789", TRUE };

  purser_tax_resolve (table, "US", &wa, &tax);
  g_assert_cmpint (tax.treatment, ==, PURSER_TAX_STANDARD);
  g_assert_cmpint (tax.rate_bps, ==, 650);
  g_assert_cmpstr (tax.jurisdiction, ==, "US-WA");

  purser_tax_resolve (table, "US", &wa_exempt, &tax);
  g_assert_cmpint (tax.treatment, ==, PURSER_TAX_EXEMPT);
  g_assert_cmpint (tax.rate_bps, ==, 0);
  g_assert_cmpstr (tax.jurisdiction, ==, "US-WA");

  purser_tax_resolve (table, "US", &ca, &tax);
  g_assert_cmpint (tax.treatment, ==, PURSER_TAX_STANDARD);
  g_assert_cmpint (tax.rate_bps, ==, 0);

  /* EU B2B from a seller in another country */
  purser_tax_resolve (table, "US", &de_b2b, &tax);
  g_assert_cmpint (tax.treatment, ==, PURSER_TAX_REVERSE_CHARGE);
  g_assert_cmpint (tax.rate_bps, ==, 0);
  g_assert_cmpstr (tax.jurisdiction, ==, "DE");
  purser_tax_resolve (table, "FR", &de_b2b, &tax);
  g_assert_cmpint (tax.treatment, ==, PURSER_TAX_REVERSE_CHARGE);
  purser_tax_resolve (table, NULL, &de_b2b, &tax);
  g_assert_cmpint (tax.treatment, ==, PURSER_TAX_REVERSE_CHARGE);
  purser_tax_resolve (table, "FR", &gr_b2b, &tax);
  g_assert_cmpint (tax.treatment, ==, PURSER_TAX_REVERSE_CHARGE);

  /* same country: domestic VAT */
  purser_tax_resolve (table, "DE", &de_b2b, &tax);
  g_assert_cmpint (tax.treatment, ==, PURSER_TAX_STANDARD);
  g_assert_cmpint (tax.rate_bps, ==, 1900);

  /* no (valid) VAT id: consumer VAT */
  purser_tax_resolve (table, "US", &de_b2c, &tax);
  g_assert_cmpint (tax.treatment, ==, PURSER_TAX_STANDARD);
  g_assert_cmpint (tax.rate_bps, ==, 1900);
  purser_tax_resolve (table, "US", &de_bad_vat, &tax);
  g_assert_cmpint (tax.treatment, ==, PURSER_TAX_STANDARD);
  g_assert_cmpint (tax.rate_bps, ==, 1900);

  /* outside the EU there is no reverse charge here */
  purser_tax_resolve (table, "US", &gb, &tax);
  g_assert_cmpint (tax.treatment, ==, PURSER_TAX_STANDARD);
  g_assert_cmpint (tax.rate_bps, ==, 2000);

  /* exemption wins over reverse charge */
  purser_tax_resolve (table, "US", &exempt_de, &tax);
  g_assert_cmpint (tax.treatment, ==, PURSER_TAX_EXEMPT);

  purser_tax_resolve (table, "US", &unknown, &tax);
  g_assert_cmpint (tax.treatment, ==, PURSER_TAX_STANDARD);
  g_assert_cmpint (tax.rate_bps, ==, 0);
  g_assert_cmpstr (tax.jurisdiction, ==, "");
}

static void
test_tax_for_amount (void)
{
  PurserTaxContext standard = { PURSER_TAX_STANDARD, 650, "US-WA" };
  PurserTaxContext half = { PURSER_TAX_STANDARD, 5000, "XX" };
  PurserTaxContext exempt = { PURSER_TAX_EXEMPT, 650, "US-WA" };
  PurserTaxContext reverse = { PURSER_TAX_REVERSE_CHARGE, 1900, "DE" };

  g_assert_cmpint (purser_tax_for_amount (&standard, 10000), ==, 650);
  g_assert_cmpint (purser_tax_for_amount (&standard, 9823), ==, 638);
  g_assert_cmpint (purser_tax_for_amount (&standard, 10), ==, 1);
  g_assert_cmpint (purser_tax_for_amount (&standard, 7), ==, 0);
  g_assert_cmpint (purser_tax_for_amount (&standard, -2245), ==, -146);
  g_assert_cmpint (purser_tax_for_amount (&standard, 0), ==, 0);
  g_assert_cmpint (purser_tax_for_amount (&half, 1), ==, 1);
  g_assert_cmpint (purser_tax_for_amount (&half, -1), ==, -1);
  g_assert_cmpint (purser_tax_for_amount (&half, 3), ==, 2);
  g_assert_cmpint (purser_tax_for_amount (&half, -3), ==, -2);
  g_assert_cmpint (purser_tax_for_amount (&exempt, 10000), ==, 0);
  g_assert_cmpint (purser_tax_for_amount (&reverse, 10000), ==, 0);
}

static void
test_describe (void)
{
  static const struct
  {
    PurserTaxContext tax;
    const char *text;
  } cases[] = {
    { { PURSER_TAX_STANDARD, 725, "US-WA" }, "Sales tax 7.25% (US-WA)" },
    { { PURSER_TAX_STANDARD, 650, "US-WA" }, "Sales tax 6.5% (US-WA)" },
    { { PURSER_TAX_STANDARD, 0, "US-CA" }, "Sales tax 0% (US-CA)" },
    { { PURSER_TAX_STANDARD, 1900, "DE" }, "VAT 19% (DE)" },
    { { PURSER_TAX_STANDARD, 2550, "FI" }, "VAT 25.5% (FI)" },
    { { PURSER_TAX_STANDARD, 2000, "GB" }, "VAT 20% (GB)" },
    { { PURSER_TAX_STANDARD, 505, "XX" }, "Tax 5.05% (XX)" },
    { { PURSER_TAX_STANDARD, 0, "" }, "Tax 0%" },
    { { PURSER_TAX_REVERSE_CHARGE, 0, "DE" }, "Reverse charge" },
    { { PURSER_TAX_EXEMPT, 0, "US-WA" }, "Tax exempt" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = purser_tax_describe (&cases[i].tax);

      g_assert_cmpstr (text, ==, cases[i].text);
    }
}

static void
test_invoice_number (void)
{
  g_autofree char *a = purser_invoice_number_format ("NWL", 2026, 7);
  g_autofree char *b = purser_invoice_number_format ("NWL", 2026, 12345);
  g_autofree char *c = purser_invoice_number_format ("ACME", 2027, 1);

  g_assert_cmpstr (a, ==, "NWL-2026-0007");
  g_assert_cmpstr (b, ==, "NWL-2026-12345");
  g_assert_cmpstr (c, ==, "ACME-2027-0001");
}

static void
test_enum_strings (void)
{
  for (int kind = PURSER_LINE_SEATS; kind <= PURSER_LINE_TAX; kind++)
    {
      PurserLineKind back;

      g_assert_true (purser_line_kind_from_string (purser_line_kind_to_string (kind), &back));
      g_assert_cmpint (back, ==, kind);
    }
  for (int status = PURSER_INVOICE_DRAFT; status <= PURSER_INVOICE_UNCOLLECTIBLE; status++)
    {
      PurserInvoiceStatus back;

      g_assert_true (
          purser_invoice_status_from_string (purser_invoice_status_to_string (status), &back));
      g_assert_cmpint (back, ==, status);
    }

  g_assert_cmpstr (purser_line_kind_to_string (PURSER_LINE_PLATFORM_FEE), ==, "platform_fee");
  g_assert_cmpstr (purser_invoice_status_to_string (PURSER_INVOICE_UNCOLLECTIBLE), ==,
                   "uncollectible");
  {
    PurserLineKind kind;
    PurserInvoiceStatus status;

    g_assert_false (purser_line_kind_from_string ("Seats", &kind));
    g_assert_false (purser_line_kind_from_string (NULL, &kind));
    g_assert_false (purser_invoice_status_from_string ("closed", &status));
  }
}

static void
test_lines (void)
{
  g_autoptr (GArray) lines = purser_lines_new ();
  g_autoptr (GArray) copy = NULL;
  g_autoptr (GArray) empty = purser_lines_copy (NULL);
  PurserPeriod period = { D ("2026-03-01"), D ("2026-04-01") };
  PurserLine line;

  purser_lines_add (lines, PURSER_LINE_SEATS, "Seats", 10, 2900, 29000, period);
  purser_lines_add (lines, PURSER_LINE_CREDIT, NULL, -2, 2900, -2245, period);
  copy = purser_lines_copy (lines);
  assert_lines_equal (lines, copy);
  g_assert_true (line_at (copy, 0)->description != line_at (lines, 0)->description);
  g_assert_cmpuint (empty->len, ==, 0);

  purser_line_copy (line_at (lines, 0), &line);
  g_assert_cmpstr (line.description, ==, "Seats");
  purser_line_clear (&line);
  g_assert_null (line.description);
}

static GArray *
charges_of (const PurserCents *amounts, gsize n)
{
  GArray *lines = purser_lines_new ();
  PurserPeriod period = { D ("2026-03-01"), D ("2026-04-01") };

  for (gsize i = 0; i < n; i++)
    purser_lines_add (lines, amounts[i] < 0 ? PURSER_LINE_CREDIT : PURSER_LINE_PRORATION, "charge",
                      1, amounts[i], amounts[i], period);
  return lines;
}

static void
test_assemble_simple (void)
{
  static const PurserCents amounts[] = { 9823 };
  g_auto (PurserInvoiceDraft) invoice = { 0 };
  PurserCents balance = 0;
  const PurserLine *tax_line;

  purser_invoice_assemble (charges_of (amounts, 1), &balance, &test_tax_wa, &invoice);
  assert_invoice_sane (&invoice);
  g_assert_cmpuint (invoice.lines->len, ==, 2);
  tax_line = line_at (invoice.lines, 1);
  g_assert_cmpstr (tax_line->description, ==, "Sales tax 6.5% (US-WA)");
  g_assert_cmpint (tax_line->amount, ==, 638);
  g_assert_cmpint (invoice.subtotal, ==, 9823);
  g_assert_cmpint (invoice.tax, ==, 638);
  g_assert_cmpint (invoice.total, ==, 10461);
  g_assert_cmpint (invoice.credit_applied, ==, 0);
  g_assert_null (invoice.tax_note);
  g_assert_cmpint (balance, ==, 0);
}

static void
test_assemble_per_line_tax (void)
{
  /* 0.65 + 0.65 → 1 + 1: per line, not 1.30 → 1 on the sum */
  static const PurserCents amounts[] = { 10, 10 };
  g_auto (PurserInvoiceDraft) invoice = { 0 };
  PurserCents balance = 0;

  purser_invoice_assemble (charges_of (amounts, 2), &balance, &test_tax_wa, &invoice);
  assert_invoice_sane (&invoice);
  g_assert_cmpint (invoice.tax, ==, 2);
  g_assert_cmpint (invoice.total, ==, 22);
}

static void
test_assemble_credit_applied (void)
{
  static const PurserCents amounts[] = { 10000 };
  g_auto (PurserInvoiceDraft) invoice = { 0 };
  PurserCents balance = 3000;
  const PurserLine *credit;

  purser_invoice_assemble (charges_of (amounts, 1), &balance, &test_tax_wa, &invoice);
  assert_invoice_sane (&invoice);
  g_assert_cmpuint (invoice.lines->len, ==, 3);
  credit = line_at (invoice.lines, 1);
  g_assert_cmpint (credit->kind, ==, PURSER_LINE_CREDIT);
  g_assert_cmpint (credit->amount, ==, -3000);
  g_assert_cmpstr (credit->description, ==, "Credit applied from your balance");
  g_assert_cmpint (invoice.credit_applied, ==, 3000);
  g_assert_cmpint (balance, ==, 0);
  g_assert_cmpint (invoice.subtotal, ==, 7000);
  g_assert_cmpint (invoice.tax, ==, 650 - 195);
  g_assert_cmpint (invoice.total, ==, 7455);
}

static void
test_assemble_credit_exceeds (void)
{
  static const PurserCents amounts[] = { 2000 };
  g_auto (PurserInvoiceDraft) invoice = { 0 };
  PurserCents balance = 5000;

  purser_invoice_assemble (charges_of (amounts, 1), &balance, &test_tax_wa, &invoice);
  assert_invoice_sane (&invoice);
  g_assert_cmpint (invoice.credit_applied, ==, 2000);
  g_assert_cmpint (balance, ==, 3000);
  g_assert_cmpint (invoice.subtotal, ==, 0);
  g_assert_cmpint (invoice.total, ==, 0);
}

static void
test_assemble_negative_carried (void)
{
  static const PurserCents amounts[] = { -5000, 3000 };
  g_auto (PurserInvoiceDraft) invoice = { 0 };
  PurserCents balance = 100;
  const PurserLine *carried;

  purser_invoice_assemble (charges_of (amounts, 2), &balance, &test_tax_wa, &invoice);
  assert_invoice_sane (&invoice);
  g_assert_cmpuint (invoice.lines->len, ==, 4);
  carried = line_at (invoice.lines, 2);
  g_assert_cmpint (carried->kind, ==, PURSER_LINE_CREDIT);
  g_assert_cmpint (carried->amount, ==, 2000);
  g_assert_cmpstr (carried->description, ==, "Credit carried to your balance");
  g_assert_cmpint (balance, ==, 2100);
  g_assert_cmpint (invoice.credit_applied, ==, 0);
  g_assert_cmpint (invoice.total, ==, 0);
}

static void
test_assemble_never_negative (void)
{
  /* per-line tax 0 × 4 and −1.82 → −2: the tax may not take the total below zero */
  static const PurserCents amounts[] = { 7, 7, 7, 7, -28 };
  g_auto (PurserInvoiceDraft) invoice = { 0 };
  PurserCents balance = 0;

  purser_invoice_assemble (charges_of (amounts, 5), &balance, &test_tax_wa, &invoice);
  assert_invoice_sane (&invoice);
  g_assert_cmpint (invoice.total, ==, 0);
  g_assert_cmpint (balance, ==, 0);
}

static void
test_assemble_reverse_charge (void)
{
  static const PurserCents amounts[] = { 29000 };
  PurserTaxContext reverse = { PURSER_TAX_REVERSE_CHARGE, 0, "DE" };
  g_auto (PurserInvoiceDraft) invoice = { 0 };
  PurserCents balance = 0;

  purser_invoice_assemble (charges_of (amounts, 1), &balance, &reverse, &invoice);
  assert_invoice_sane (&invoice);
  g_assert_cmpint (invoice.tax, ==, 0);
  g_assert_cmpint (invoice.total, ==, 29000);
  g_assert_cmpstr (invoice.tax_note, ==, PURSER_REVERSE_CHARGE_NOTE);
  g_assert_cmpstr (line_at (invoice.lines, 1)->description, ==, "Reverse charge");
}

static void
test_assemble_exempt_and_empty (void)
{
  static const PurserCents amounts[] = { 29000 };
  PurserTaxContext exempt = { PURSER_TAX_EXEMPT, 0, "US-WA" };
  g_auto (PurserInvoiceDraft) invoice = { 0 };
  g_auto (PurserInvoiceDraft) empty = { 0 };
  PurserCents balance = 0;

  purser_invoice_assemble (charges_of (amounts, 1), &balance, &exempt, &invoice);
  assert_invoice_sane (&invoice);
  g_assert_cmpint (invoice.total, ==, 29000);
  g_assert_cmpstr (line_at (invoice.lines, 1)->description, ==, "Tax exempt");
  g_assert_null (invoice.tax_note);

  balance = 500;
  purser_invoice_assemble (NULL, &balance, &test_tax_wa, &empty);
  assert_invoice_sane (&empty);
  g_assert_cmpuint (empty.lines->len, ==, 1);
  g_assert_cmpint (empty.total, ==, 0);
  g_assert_cmpint (balance, ==, 500);
}

/* Random charges, balances and rates: the invariants of purser-invoice.h always hold and no
 * cent of the balance is created or lost. */
static void
test_assemble_random (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (20260311);

  for (int round = 0; round < 5000; round++)
    {
      g_auto (PurserInvoiceDraft) invoice = { 0 };
      PurserTaxContext tax = { PURSER_TAX_STANDARD, g_rand_int_range (rand, 0, 2800), "XX" };
      GArray *charges = purser_lines_new ();
      PurserPeriod period = { 0, 0 };
      int n = g_rand_int_range (rand, 0, 6);
      PurserCents balance = g_rand_boolean (rand) ? 0 : g_rand_int_range (rand, 0, 100000);
      PurserCents balance_before = balance;
      PurserCents charged = 0;
      PurserCents carried = 0;

      if (round % 7 == 0)
        tax.treatment = PURSER_TAX_REVERSE_CHARGE;
      for (int i = 0; i < n; i++)
        {
          PurserCents amount = g_rand_int_range (rand, -60000, 60000);

          charged += amount;
          purser_lines_add (charges, PURSER_LINE_PRORATION, "x", 1, amount, amount, period);
        }

      purser_invoice_assemble (charges, &balance, &tax, &invoice);
      assert_invoice_sane (&invoice);
      g_assert_cmpint (balance, >=, 0);
      if (charged < 0)
        carried = -charged;
      g_assert_cmpint (balance, ==, balance_before - invoice.credit_applied + carried);
      g_assert_cmpint (invoice.subtotal, ==, MAX (charged, 0) - invoice.credit_applied);
      g_assert_cmpint (invoice.credit_applied, <=, MAX (charged, 0));
      if (tax.treatment != PURSER_TAX_STANDARD)
        g_assert_cmpint (invoice.tax, ==, 0);
    }
}

/* PRODUCT.md: send invoice (wire/bank transfer, net 30); automatic charges are due at once. */
static void
test_due_on (void)
{
  PurserDate issued = purser_date_from_ymd (2026, 3, 11);

  g_assert_cmpint (purser_invoice_due_on (issued, TRUE), ==, issued);
  g_assert_cmpint (purser_invoice_due_on (issued, FALSE), ==, purser_date_from_ymd (2026, 4, 10));
  g_assert_cmpint (purser_invoice_due_on (purser_date_from_ymd (2026, 12, 15), FALSE), ==,
                   purser_date_from_ymd (2027, 1, 14));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/purser/core/tax/default-table", test_default_table);
  g_test_add_func ("/purser/core/tax/parse", test_parse_table);
  g_test_add_func ("/purser/core/tax/parse-errors", test_parse_table_errors);
  g_test_add_func ("/purser/core/tax/countries-and-vat-ids", test_countries_and_vat_ids);
  g_test_add_func ("/purser/core/tax/resolve", test_resolve);
  g_test_add_func ("/purser/core/tax/for-amount", test_tax_for_amount);
  g_test_add_func ("/purser/core/tax/describe", test_describe);
  g_test_add_func ("/purser/core/invoice/number", test_invoice_number);
  g_test_add_func ("/purser/core/invoice/enum-strings", test_enum_strings);
  g_test_add_func ("/purser/core/invoice/lines", test_lines);
  g_test_add_func ("/purser/core/invoice/assemble/simple", test_assemble_simple);
  g_test_add_func ("/purser/core/invoice/assemble/per-line-tax", test_assemble_per_line_tax);
  g_test_add_func ("/purser/core/invoice/assemble/credit-applied", test_assemble_credit_applied);
  g_test_add_func ("/purser/core/invoice/assemble/credit-exceeds", test_assemble_credit_exceeds);
  g_test_add_func ("/purser/core/invoice/assemble/negative-carried",
                   test_assemble_negative_carried);
  g_test_add_func ("/purser/core/invoice/assemble/never-negative", test_assemble_never_negative);
  g_test_add_func ("/purser/core/invoice/assemble/reverse-charge", test_assemble_reverse_charge);
  g_test_add_func ("/purser/core/invoice/assemble/exempt-and-empty",
                   test_assemble_exempt_and_empty);
  g_test_add_func ("/purser/core/invoice/assemble/random", test_assemble_random);
  g_test_add_func ("/purser/core/invoice/due-on", test_due_on);

  return g_test_run ();
}
