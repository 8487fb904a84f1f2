/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "core-test-util.h"

static PurserChange
seats_change (gint64 seats)
{
  PurserChange change = { 0 };

  change.has_seats = TRUE;
  change.seats = seats;
  return change;
}

static PurserChange
cycle_change (PurserCycle cycle)
{
  PurserChange change = { 0 };

  change.has_cycle = TRUE;
  change.cycle = cycle;
  return change;
}

static PurserChange
plan_change (PurserPlan plan, const PurserContract *contract)
{
  PurserChange change = { 0 };

  change.has_plan = TRUE;
  change.plan = plan;
  if (contract != NULL)
    {
      change.has_contract = TRUE;
      change.contract = *contract;
    }
  return change;
}

/* A seat change on `today` of a Business subscription: returns the one line it produces. */
static PurserCents
seat_change_amount (PurserCycle cycle, const char *start, const char *end, gint64 seats,
                    gint64 new_seats, const char *today)
{
  g_auto (PurserSubscription) sub = { 0 };
  g_auto (PurserQuote) quote = { 0 };
  g_autoptr (GError) error = NULL;
  PurserChange change = seats_change (new_seats);
  const PurserLine *line;

  make_business (&sub, cycle, seats, start, end);
  g_assert_true (
      purser_quote_change (&sub, &change, NULL, D (today), &test_no_tax, &quote, &error));
  g_assert_no_error (error);
  g_assert_cmpint (quote.after.seats, ==, new_seats);
  g_assert_cmpint (quote.effective, ==, PURSER_EFFECTIVE_NOW);
  line = line_at (quote.lines, 0);
  g_assert_cmpint (line->kind, ==, new_seats > seats ? PURSER_LINE_PRORATION : PURSER_LINE_CREDIT);
  g_assert_cmpint (line->quantity, ==, new_seats - seats);
  g_assert_cmpint (line->unit_amount, ==,
                   purser_plan_seat_price (PURSER_PLAN_BUSINESS, NULL, cycle));
  g_assert_cmpint (line->period.start, ==, D (today));
  g_assert_cmpint (line->period.end, ==, D (end));
  return line->amount;
}

/* PRODUCT.md, first example, all the way to the invoice. */
static void
test_prd_add_seats (void)
{
  g_auto (PurserSubscription) sub = { 0 };
  g_auto (PurserQuote) quote = { 0 };
  g_autoptr (GError) error = NULL;
  PurserChange change = seats_change (15);
  const PurserLine *line;

  make_business (&sub, PURSER_CYCLE_MONTHLY, 10, "2026-03-01", "2026-04-01");
  g_assert_true (
      purser_quote_change (&sub, &change, NULL, D ("2026-03-11"), &test_tax_wa, &quote, &error));
  g_assert_no_error (error);

  g_assert_true (quote.invoice_now);
  assert_invoice_sane (&quote.invoice);
  assert_lines_equal (quote.lines, quote.invoice.lines);
  g_assert_cmpuint (quote.lines->len, ==, 2);
  line = line_at (quote.lines, 0);
  g_assert_cmpint (line->kind, ==, PURSER_LINE_PRORATION);
  g_assert_cmpint (line->quantity, ==, 5);
  g_assert_cmpint (line->unit_amount, ==, 2900);
  g_assert_cmpint (line->amount, ==, 9823);
  g_assert_cmpstr (line->description, ==, "5 seats added on Mar 11, 2026, prorated 21 of 31 days");
  g_assert_cmpint (quote.invoice.tax, ==, 638);
  g_assert_cmpint (quote.amount_due_now, ==, 9823 + 638);
  g_assert_cmpint (quote.effective, ==, PURSER_EFFECTIVE_NOW);

  g_assert_cmpint (quote.after.seats, ==, 15);
  g_assert_cmpint (quote.after.period.start, ==, sub.period.start);
  g_assert_cmpint (quote.after.period.end, ==, sub.period.end);
  g_assert_true (quote.has_next_invoice);
  g_assert_cmpint (quote.next_invoice_date, ==, D ("2026-04-01"));
  g_assert_cmpint (quote.next_invoice_total, ==, 15 * 2900 + 2828); /* 43500 × 6.5 % = 2827.5 */
}

static void
test_prd_remove_seats (void)
{
  g_auto (PurserSubscription) sub = { 0 };
  g_auto (PurserQuote) quote = { 0 };
  g_autoptr (GError) error = NULL;
  PurserChange change = seats_change (13);
  PurserSeatFloor floor = { 10, 10 };
  const PurserLine *line;

  make_business (&sub, PURSER_CYCLE_MONTHLY, 15, "2026-03-01", "2026-04-01");
  sub.credit_balance = 100;
  g_assert_true (
      purser_quote_change (&sub, &change, &floor, D ("2026-03-20"), &test_tax_wa, &quote, &error));
  g_assert_no_error (error);

  g_assert_false (quote.invoice_now);
  g_assert_cmpint (quote.amount_due_now, ==, 0);
  g_assert_cmpuint (quote.lines->len, ==, 1);
  line = line_at (quote.lines, 0);
  g_assert_cmpint (line->kind, ==, PURSER_LINE_CREDIT);
  g_assert_cmpint (line->quantity, ==, -2);
  g_assert_cmpint (line->amount, ==, -2245);
  g_assert_cmpstr (line->description, ==,
                   "2 seats removed on Mar 20, 2026, prorated 12 of 31 days");
  g_assert_cmpint (quote.after.credit_balance, ==, 100 + 2245);
  g_assert_cmpint (quote.after.seats, ==, 13);
  g_assert_cmpint (quote.effective, ==, PURSER_EFFECTIVE_NOW);

  /* the credit is applied to the next invoice: 13 × 2900 − 2345 */
  g_assert_true (quote.has_next_invoice);
  g_assert_cmpint (quote.next_invoice_total, ==,
                   13 * 2900 - 2345 + purser_tax_for_amount (&test_tax_wa, 13 * 2900)
                       + purser_tax_for_amount (&test_tax_wa, -2345));
}

static void
test_prd_examples (void)
{
  g_assert_cmpint (
      seat_change_amount (PURSER_CYCLE_MONTHLY, "2026-03-01", "2026-04-01", 10, 15, "2026-03-11"),
      ==, 9823);
  g_assert_cmpint (
      seat_change_amount (PURSER_CYCLE_MONTHLY, "2026-03-01", "2026-04-01", 15, 13, "2026-03-20"),
      ==, -2245);
  g_assert_cmpint (
      seat_change_amount (PURSER_CYCLE_ANNUAL, "2026-01-15", "2027-01-15", 10, 13, "2026-07-01"),
      ==, 50970);
  g_assert_cmpint (
      seat_change_amount (PURSER_CYCLE_MONTHLY, "2026-02-01", "2026-03-01", 10, 11, "2026-02-15"),
      ==, 1450);
}

static void
test_first_and_last_day (void)
{
  /* the first day of the cycle: the whole price */
  g_assert_cmpint (
      seat_change_amount (PURSER_CYCLE_MONTHLY, "2026-03-01", "2026-04-01", 10, 11, "2026-03-01"),
      ==, 2900);
  g_assert_cmpint (
      seat_change_amount (PURSER_CYCLE_ANNUAL, "2026-01-15", "2027-01-15", 10, 11, "2026-01-15"),
      ==, 31320);
  /* the last day: one day of 31 */
  g_assert_cmpint (
      seat_change_amount (PURSER_CYCLE_MONTHLY, "2026-03-01", "2026-04-01", 10, 11, "2026-03-31"),
      ==, 94);
  g_assert_cmpint (
      seat_change_amount (PURSER_CYCLE_MONTHLY, "2026-03-01", "2026-04-01", 10, 9, "2026-03-31"),
      ==, -94);
  g_assert_cmpint (
      seat_change_amount (PURSER_CYCLE_MONTHLY, "2026-03-01", "2026-04-01", 10, 9, "2026-03-01"),
      ==, -2900);
}

static void
test_leap_day (void)
{
  /* February 2028 has 29 days */
  g_assert_cmpint (
      seat_change_amount (PURSER_CYCLE_MONTHLY, "2028-02-01", "2028-03-01", 10, 11, "2028-02-29"),
      ==, 100);
  g_assert_cmpint (
      seat_change_amount (PURSER_CYCLE_MONTHLY, "2028-02-01", "2028-03-01", 10, 11, "2028-02-15"),
      ==, 1500);
  g_assert_cmpint (
      seat_change_amount (PURSER_CYCLE_MONTHLY, "2028-02-15", "2028-03-15", 10, 11, "2028-02-29"),
      ==, 1500);
  /* a 366-day year and a 365-day year: 2 × 31320 × 1/366 = 171.15, × 1/365 = 171.62 */
  g_assert_cmpint (
      seat_change_amount (PURSER_CYCLE_ANNUAL, "2027-03-01", "2028-03-01", 10, 12, "2028-02-29"),
      ==, 171);
  g_assert_cmpint (
      seat_change_amount (PURSER_CYCLE_ANNUAL, "2026-03-01", "2027-03-01", 10, 12, "2027-02-28"),
      ==, 172);
  g_assert_cmpint (
      seat_change_amount (PURSER_CYCLE_ANNUAL, "2028-03-01", "2029-03-01", 10, 12, "2029-02-28"),
      ==, 172);
}

static void
test_floor (void)
{
  g_auto (PurserSubscription) sub = { 0 };
  PurserSeatFloor floor = { 12, 0 };
  PurserSeatFloor allocated = { 12, 14 };

  make_business (&sub, PURSER_CYCLE_MONTHLY, 15, "2026-03-01", "2026-04-01");

  /* down to exactly the assigned count is fine */
  {
    g_auto (PurserQuote) quote = { 0 };
    g_autoptr (GError) error = NULL;
    PurserChange change = seats_change (12);

    g_assert_true (purser_quote_change (&sub, &change, &floor, D ("2026-03-10"), &test_no_tax,
                                        &quote, &error));
    g_assert_no_error (error);
    g_assert_cmpint (quote.after.seats, ==, 12);
  }

  /* one below */
  {
    g_auto (PurserQuote) quote = { 0 };
    g_autoptr (GError) error = NULL;
    PurserChange change = seats_change (11);

    g_assert_false (purser_quote_change (&sub, &change, &floor, D ("2026-03-10"), &test_no_tax,
                                         &quote, &error));
    g_assert_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_SEATS_BELOW_ASSIGNED);
    g_assert_cmpstr (error->message, ==,
                     "12 licenses are assigned; revoke 1 license before lowering seats to 11.");
    g_assert_null (quote.lines);
  }

  {
    g_auto (PurserQuote) quote = { 0 };
    g_autoptr (GError) error = NULL;
    PurserChange change = seats_change (10);

    g_assert_false (purser_quote_change (&sub, &change, &floor, D ("2026-03-10"), &test_no_tax,
                                         &quote, &error));
    g_assert_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_SEATS_BELOW_ASSIGNED);
    g_assert_cmpstr (error->message, ==,
                     "12 licenses are assigned; revoke 2 licenses before lowering seats to 10.");
  }

  /* departments hold more than the assigned licenses */
  {
    g_auto (PurserQuote) quote = { 0 };
    g_autoptr (GError) error = NULL;
    PurserChange change = seats_change (13);

    g_assert_false (purser_quote_change (&sub, &change, &allocated, D ("2026-03-10"), &test_no_tax,
                                         &quote, &error));
    g_assert_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_SEATS_BELOW_ALLOCATED);
  }
  {
    g_auto (PurserQuote) quote = { 0 };
    g_autoptr (GError) error = NULL;
    PurserChange change = seats_change (14);

    g_assert_true (purser_quote_change (&sub, &change, &allocated, D ("2026-03-10"), &test_no_tax,
                                        &quote, &error));
    g_assert_no_error (error);
  }

  /* a floor never blocks an increase */
  {
    g_auto (PurserQuote) quote = { 0 };
    g_autoptr (GError) error = NULL;
    PurserSeatFloor above = { 20, 20 };
    PurserChange change = seats_change (16);

    g_assert_true (purser_quote_change (&sub, &change, &above, D ("2026-03-10"), &test_no_tax,
                                        &quote, &error));
    g_assert_no_error (error);
  }

  /* at least one seat */
  for (gint64 seats = -1; seats <= 0; seats++)
    {
      g_auto (PurserQuote) quote = { 0 };
      g_autoptr (GError) error = NULL;
      PurserChange change = seats_change (seats);

      g_assert_false (purser_quote_change (&sub, &change, NULL, D ("2026-03-10"), &test_no_tax,
                                           &quote, &error));
      g_assert_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_INVALID);
    }
}

static void
test_true_up (void)
{
  g_auto (PurserSubscription) sub = { 0 };
  g_auto (PurserQuote) quote = { 0 };
  g_auto (PurserSubscription) next = { 0 };
  g_auto (PurserInvoiceDraft) invoice = { 0 };
  g_autoptr (GError) error = NULL;
  PurserChange change = seats_change (15);
  gboolean ended, has_invoice;

  make_business (&sub, PURSER_CYCLE_MONTHLY, 10, "2026-03-01", "2026-04-01");
  sub.proration_billing = PURSER_PRORATION_TRUE_UP;
  g_assert_true (
      purser_quote_change (&sub, &change, NULL, D ("2026-03-11"), &test_no_tax, &quote, &error));
  g_assert_no_error (error);

  g_assert_false (quote.invoice_now);
  g_assert_cmpint (quote.amount_due_now, ==, 0);
  g_assert_cmpuint (quote.lines->len, ==, 1);
  g_assert_cmpint (line_at (quote.lines, 0)->amount, ==, 9823);
  g_assert_nonnull (quote.after.pending);
  g_assert_cmpuint (quote.after.pending->len, ==, 1);
  g_assert_cmpint (line_at (quote.after.pending, 0)->kind, ==, PURSER_LINE_PRORATION);
  g_assert_cmpint (quote.next_invoice_total, ==, 15 * 2900 + 9823);

  /* the cycle invoice collects it, once */
  purser_subscription_renew (&quote.after, &test_no_tax, &next, &ended, &has_invoice, &invoice);
  g_assert_false (ended);
  g_assert_true (has_invoice);
  assert_invoice_sane (&invoice);
  g_assert_cmpint (invoice.total, ==, 53323);
  g_assert_cmpint (line_at (invoice.lines, 0)->kind, ==, PURSER_LINE_SEATS);
  g_assert_cmpint (line_at (invoice.lines, 1)->kind, ==, PURSER_LINE_PRORATION);
  g_assert_true (next.pending == NULL || next.pending->len == 0);
}

static void
test_create_partial (void)
{
  PurserChange request = { 0 };
  g_autoptr (GError) error = NULL;

  request.has_plan = request.has_cycle = request.has_seats = TRUE;
  request.plan = PURSER_PLAN_BUSINESS;
  request.cycle = PURSER_CYCLE_MONTHLY;
  request.seats = 10;

  {
    g_auto (PurserQuote) quote = { 0 };
    const PurserLine *line;

    g_assert_true (purser_quote_create (&request, 1, 0, PURSER_PRORATION_IMMEDIATE, 0,
                                        D ("2026-03-11"), &test_no_tax, &quote, &error));
    g_assert_no_error (error);
    g_assert_true (quote.invoice_now);
    assert_invoice_sane (&quote.invoice);
    line = line_at (quote.lines, 0);
    g_assert_cmpint (line->kind, ==, PURSER_LINE_SEATS);
    g_assert_cmpint (line->quantity, ==, 10);
    g_assert_cmpint (line->unit_amount, ==, 2900);
    g_assert_cmpint (line->amount, ==, 19645);
    g_assert_cmpstr (
        line->description, ==,
        "Business seats (monthly), Mar 11, 2026 – Mar 31, 2026, prorated 21 of 31 days");
    g_assert_cmpint (quote.amount_due_now, ==, 19645);
    g_assert_cmpint (quote.after.status, ==, PURSER_STATUS_ACTIVE);
    g_assert_cmpint (quote.after.billing_day, ==, 1);
    g_assert_cmpint (quote.after.period.start, ==, D ("2026-03-11"));
    g_assert_cmpint (quote.after.period.end, ==, D ("2026-04-01"));
    g_assert_cmpint (quote.after.basis.start, ==, D ("2026-03-01"));
    g_assert_true (quote.after.auto_renew);
    g_assert_cmpint (quote.next_invoice_date, ==, D ("2026-04-01"));
    g_assert_cmpint (quote.next_invoice_total, ==, 29000);
  }

  /* annual: prorated against the year ending on the first anchor (365 days) */
  {
    g_auto (PurserQuote) quote = { 0 };

    request.cycle = PURSER_CYCLE_ANNUAL;
    g_assert_true (purser_quote_create (&request, 1, 0, PURSER_PRORATION_IMMEDIATE, 0,
                                        D ("2026-03-11"), &test_no_tax, &quote, &error));
    g_assert_no_error (error);
    g_assert_cmpint (line_at (quote.lines, 0)->amount, ==, 18020);
    g_assert_cmpint (quote.after.basis.start, ==, D ("2025-04-01"));
    g_assert_cmpint (quote.after.basis.end, ==, D ("2026-04-01"));
    g_assert_cmpint (quote.next_invoice_date, ==, D ("2026-04-01"));
    g_assert_cmpint (quote.next_invoice_total, ==, 313200);
  }

  /* on the billing day: a whole cycle, with an old balance applied */
  {
    g_auto (PurserQuote) quote = { 0 };

    request.cycle = PURSER_CYCLE_MONTHLY;
    g_assert_true (purser_quote_create (&request, 11, 0, PURSER_PRORATION_TRUE_UP, 5000,
                                        D ("2026-03-11"), &test_no_tax, &quote, &error));
    g_assert_no_error (error);
    g_assert_cmpint (line_at (quote.lines, 0)->amount, ==, 29000);
    g_assert_cmpstr (line_at (quote.lines, 0)->description, ==,
                     "Business seats (monthly), Mar 11, 2026 – Apr 10, 2026");
    g_assert_cmpint (quote.invoice.credit_applied, ==, 5000);
    g_assert_cmpint (quote.amount_due_now, ==, 24000);
    g_assert_cmpint (quote.after.credit_balance, ==, 0);
    g_assert_cmpint (quote.after.period.end, ==, D ("2026-04-11"));
    g_assert_cmpint (quote.after.proration_billing, ==, PURSER_PRORATION_TRUE_UP);
  }

  /* billing day 0: today's day, or 1 after the 28th */
  {
    g_auto (PurserQuote) quote = { 0 };

    g_assert_true (purser_quote_create (&request, 0, 0, PURSER_PRORATION_IMMEDIATE, 0,
                                        D ("2026-03-30"), &test_no_tax, &quote, &error));
    g_assert_no_error (error);
    g_assert_cmpint (quote.after.billing_day, ==, 1);
    g_assert_cmpint (quote.after.period.end, ==, D ("2026-04-01"));
    g_assert_cmpint (line_at (quote.lines, 0)->amount, ==, 1871); /* 10 × 2900 × 2/31 */
  }
}

static void
test_create_enterprise (void)
{
  PurserChange request = { 0 };
  g_auto (PurserQuote) quote = { 0 };
  g_autoptr (GError) error = NULL;

  request.has_plan = request.has_cycle = request.has_seats = request.has_contract = TRUE;
  request.plan = PURSER_PLAN_ENTERPRISE;
  request.cycle = PURSER_CYCLE_ANNUAL;
  request.seats = 50;
  request.contract.seat_price = 5000;
  request.contract.platform_fee = 100000;
  request.contract.interval = PURSER_CYCLE_MONTHLY;

  g_assert_true (purser_quote_create (&request, 1, 0, PURSER_PRORATION_IMMEDIATE, 0,
                                      D ("2026-01-01"), &test_tax_wa, &quote, &error));
  g_assert_no_error (error);
  assert_invoice_sane (&quote.invoice);
  g_assert_cmpuint (quote.lines->len, ==, 3);
  g_assert_cmpint (line_at (quote.lines, 0)->amount, ==, 50 * 60000);
  g_assert_cmpint (line_at (quote.lines, 1)->kind, ==, PURSER_LINE_PLATFORM_FEE);
  g_assert_cmpint (line_at (quote.lines, 1)->amount, ==, 1200000);
  g_assert_cmpint (quote.invoice.tax, ==, 195000 + 78000);
  g_assert_cmpint (quote.after.contract.seat_price, ==, 5000);
}

static void
test_create_trial (void)
{
  PurserChange request = { 0 };
  g_auto (PurserQuote) quote = { 0 };
  g_auto (PurserSubscription) next = { 0 };
  g_auto (PurserInvoiceDraft) invoice = { 0 };
  g_autoptr (GError) error = NULL;
  gboolean ended, has_invoice;

  request.has_plan = request.has_cycle = request.has_seats = TRUE;
  request.plan = PURSER_PLAN_BUSINESS;
  request.cycle = PURSER_CYCLE_MONTHLY;
  request.seats = 10;

  g_assert_true (purser_quote_create (&request, 1, 14, PURSER_PRORATION_IMMEDIATE, 0,
                                      D ("2026-03-11"), &test_no_tax, &quote, &error));
  g_assert_no_error (error);
  g_assert_false (quote.invoice_now);
  g_assert_cmpint (quote.amount_due_now, ==, 0);
  g_assert_cmpuint (quote.lines->len, ==, 0);
  g_assert_cmpint (quote.after.status, ==, PURSER_STATUS_TRIALING);
  g_assert_cmpint (quote.after.period.end, ==, D ("2026-03-25"));
  /* the first real period starts when the trial ends: 03-25 → 04-01, 7 of 31 days */
  g_assert_true (quote.has_next_invoice);
  g_assert_cmpint (quote.next_invoice_date, ==, D ("2026-03-25"));
  g_assert_cmpint (quote.next_invoice_total, ==, 6548);

  purser_subscription_renew (&quote.after, &test_no_tax, &next, &ended, &has_invoice, &invoice);
  g_assert_false (ended);
  g_assert_true (has_invoice);
  g_assert_cmpint (next.status, ==, PURSER_STATUS_ACTIVE);
  g_assert_cmpint (next.period.start, ==, D ("2026-03-25"));
  g_assert_cmpint (next.period.end, ==, D ("2026-04-01"));
  g_assert_cmpint (invoice.total, ==, 6548);

  /* billing day 0 with a trial: anchored where the paid period starts */
  {
    g_auto (PurserQuote) anchored = { 0 };

    g_assert_true (purser_quote_create (&request, 0, 14, PURSER_PRORATION_IMMEDIATE, 0,
                                        D ("2026-03-11"), &test_no_tax, &anchored, &error));
    g_assert_no_error (error);
    g_assert_cmpint (anchored.after.billing_day, ==, 25);
    g_assert_cmpint (anchored.next_invoice_total, ==, 29000);
  }
}

static void
test_trial_changes (void)
{
  g_auto (PurserSubscription) sub = { 0 };
  g_autoptr (GError) error = NULL;

  make_business (&sub, PURSER_CYCLE_ANNUAL, 10, "2026-03-11", "2026-03-25");
  sub.status = PURSER_STATUS_TRIALING;
  sub.billing_day = 1;

  /* nothing paid, nothing prorated: changes apply at once */
  {
    g_auto (PurserQuote) quote = { 0 };
    PurserChange change = cycle_change (PURSER_CYCLE_MONTHLY);

    g_assert_true (
        purser_quote_change (&sub, &change, NULL, D ("2026-03-12"), &test_no_tax, &quote, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (quote.lines->len, ==, 0);
    g_assert_cmpint (quote.amount_due_now, ==, 0);
    g_assert_cmpint (quote.after.cycle, ==, PURSER_CYCLE_MONTHLY);
    g_assert_false (quote.after.has_scheduled_cycle);
    g_assert_cmpint (quote.after.status, ==, PURSER_STATUS_TRIALING);
    g_assert_cmpint (quote.next_invoice_total, ==, 6548);
  }
  {
    g_auto (PurserQuote) quote = { 0 };
    PurserChange change = seats_change (20);

    g_assert_true (
        purser_quote_change (&sub, &change, NULL, D ("2026-03-12"), &test_no_tax, &quote, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (quote.lines->len, ==, 0);
    g_assert_cmpint (quote.after.seats, ==, 20);
  }
  {
    g_auto (PurserQuote) quote = { 0 };
    PurserChange change = seats_change (10);

    g_assert_false (
        purser_quote_change (&sub, &change, NULL, D ("2026-03-12"), &test_no_tax, &quote, &error));
    g_assert_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NO_CHANGE);
    g_clear_error (&error);
  }
  /* canceled now during a trial: no credit */
  {
    g_auto (PurserQuote) quote = { 0 };

    g_assert_true (
        purser_quote_cancel (&sub, FALSE, D ("2026-03-12"), &test_no_tax, &quote, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (quote.lines->len, ==, 0);
    g_assert_cmpint (quote.after.credit_balance, ==, 0);
    g_assert_cmpint (quote.after.status, ==, PURSER_STATUS_CANCELED);
  }
}

static void
test_create_invalid (void)
{
  static const PurserContract contract = { 5000, 0, PURSER_CYCLE_MONTHLY };
  PurserChange good = { 0 };
  struct
  {
    int billing_day;
    int trial_days;
    PurserCents balance;
    PurserChange request;
  } cases[10];
  guint n = 0;

  good.has_plan = good.has_cycle = good.has_seats = TRUE;
  good.plan = PURSER_PLAN_BUSINESS;
  good.cycle = PURSER_CYCLE_MONTHLY;
  good.seats = 10;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      cases[i].billing_day = 1;
      cases[i].trial_days = 0;
      cases[i].balance = 0;
      cases[i].request = good;
    }
  cases[n++].request.has_seats = FALSE;
  cases[n++].request.has_plan = FALSE;
  cases[n++].request.seats = 0;
  cases[n].request.has_contract = TRUE; /* a contract on Business */
  cases[n++].request.contract = contract;
  cases[n++].request.plan = PURSER_PLAN_ENTERPRISE; /* Enterprise without a contract */
  cases[n++].billing_day = 29;
  cases[n++].billing_day = -1;
  cases[n++].trial_days = -1;
  cases[n++].balance = -1;
  cases[n].request.plan = PURSER_PLAN_ENTERPRISE;
  cases[n].request.has_contract = TRUE;
  cases[n].request.contract = contract;
  cases[n++].request.contract.seat_price = -5;
  g_assert_cmpuint (n, ==, G_N_ELEMENTS (cases));

  for (guint i = 0; i < n; i++)
    {
      g_auto (PurserQuote) quote = { 0 };
      g_autoptr (GError) error = NULL;

      g_assert_false (purser_quote_create (
          &cases[i].request, cases[i].billing_day, cases[i].trial_days, PURSER_PRORATION_IMMEDIATE,
          cases[i].balance, D ("2026-03-11"), &test_no_tax, &quote, &error));
      g_assert_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_INVALID);
      g_assert_null (quote.lines);
    }
}

static void
test_upgrade_cycle (void)
{
  g_auto (PurserSubscription) sub = { 0 };
  g_auto (PurserQuote) quote = { 0 };
  g_autoptr (GError) error = NULL;
  PurserChange change = cycle_change (PURSER_CYCLE_ANNUAL);
  const PurserLine *credit, *seats;

  make_business (&sub, PURSER_CYCLE_MONTHLY, 10, "2026-03-01", "2026-04-01");
  sub.has_scheduled_plan = FALSE;
  g_assert_true (
      purser_quote_change (&sub, &change, NULL, D ("2026-03-11"), &test_no_tax, &quote, &error));
  g_assert_no_error (error);

  g_assert_true (quote.invoice_now);
  assert_invoice_sane (&quote.invoice);
  g_assert_cmpint (quote.effective, ==, PURSER_EFFECTIVE_NOW);
  credit = line_at (quote.lines, 0);
  g_assert_cmpint (credit->kind, ==, PURSER_LINE_CREDIT);
  g_assert_cmpint (credit->amount, ==, -19645);
  g_assert_cmpint (credit->period.start, ==, D ("2026-03-11"));
  g_assert_cmpint (credit->period.end, ==, D ("2026-04-01"));
  seats = line_at (quote.lines, 1);
  g_assert_cmpint (seats->kind, ==, PURSER_LINE_SEATS);
  g_assert_cmpint (seats->unit_amount, ==, 31320);
  g_assert_cmpint (seats->amount, ==, 313200);
  g_assert_cmpint (quote.amount_due_now, ==, 313200 - 19645);

  g_assert_cmpint (quote.after.cycle, ==, PURSER_CYCLE_ANNUAL);
  g_assert_cmpint (quote.after.billing_day, ==, 11);
  g_assert_cmpint (quote.after.period.start, ==, D ("2026-03-11"));
  g_assert_cmpint (quote.after.period.end, ==, D ("2027-03-11"));
  g_assert_cmpint (quote.after.basis.start, ==, D ("2026-03-11"));
  g_assert_cmpint (quote.next_invoice_date, ==, D ("2027-03-11"));
  g_assert_cmpint (quote.next_invoice_total, ==, 313200);
}

/* On the 31st the billing day becomes the 1st: a one-day first period, and a credit larger
 * than the charge goes to the balance. */
static void
test_upgrade_on_31st (void)
{
  g_auto (PurserSubscription) sub = { 0 };
  g_auto (PurserQuote) quote = { 0 };
  g_autoptr (GError) error = NULL;
  PurserChange change = cycle_change (PURSER_CYCLE_ANNUAL);

  make_business (&sub, PURSER_CYCLE_MONTHLY, 10, "2026-03-01", "2026-04-01");
  g_assert_true (
      purser_quote_change (&sub, &change, NULL, D ("2026-03-31"), &test_tax_wa, &quote, &error));
  g_assert_no_error (error);
  assert_invoice_sane (&quote.invoice);
  g_assert_cmpint (line_at (quote.lines, 0)->amount, ==, -935);
  g_assert_cmpint (line_at (quote.lines, 1)->amount, ==, 858);
  g_assert_cmpint (line_at (quote.lines, 2)->amount, ==, 77);
  g_assert_cmpstr (line_at (quote.lines, 2)->description, ==, "Credit carried to your balance");
  g_assert_cmpint (quote.amount_due_now, ==, 0);
  g_assert_cmpint (quote.after.credit_balance, ==, 77);
  g_assert_cmpint (quote.after.billing_day, ==, 1);
  g_assert_cmpint (quote.after.period.end, ==, D ("2026-04-01"));
  g_assert_cmpint (quote.after.basis.start, ==, D ("2025-04-01"));
  g_assert_cmpint (quote.next_invoice_total, ==,
                   313200 - 77 + purser_tax_for_amount (&test_tax_wa, 313200)
                       + purser_tax_for_amount (&test_tax_wa, -77));
}

/* An upgrade starts the next cycle now: the true-up lines waiting for it are invoiced. */
static void
test_upgrade_with_pending (void)
{
  g_auto (PurserSubscription) sub = { 0 };
  g_auto (PurserQuote) added = { 0 };
  g_auto (PurserQuote) upgraded = { 0 };
  g_autoptr (GError) error = NULL;
  PurserChange more = seats_change (15);
  PurserChange annual = cycle_change (PURSER_CYCLE_ANNUAL);

  make_business (&sub, PURSER_CYCLE_MONTHLY, 10, "2026-03-01", "2026-04-01");
  sub.proration_billing = PURSER_PRORATION_TRUE_UP;
  g_assert_true (
      purser_quote_change (&sub, &more, NULL, D ("2026-03-11"), &test_no_tax, &added, &error));
  g_assert_no_error (error);
  g_assert_true (purser_quote_change (&added.after, &annual, NULL, D ("2026-03-20"), &test_no_tax,
                                      &upgraded, &error));
  g_assert_no_error (error);

  assert_invoice_sane (&upgraded.invoice);
  g_assert_cmpuint (upgraded.lines->len, ==, 4);
  g_assert_cmpint (line_at (upgraded.lines, 0)->amount, ==, -16839); /* 15 × 2900 × 12/31 */
  g_assert_cmpint (line_at (upgraded.lines, 1)->amount, ==, 15 * 31320);
  g_assert_cmpint (line_at (upgraded.lines, 2)->kind, ==, PURSER_LINE_PRORATION);
  g_assert_cmpint (line_at (upgraded.lines, 2)->amount, ==, 9823);
  g_assert_cmpint (upgraded.amount_due_now, ==, 15 * 31320 - 16839 + 9823);
  g_assert_true (upgraded.after.pending == NULL || upgraded.after.pending->len == 0);
  g_assert_cmpint (upgraded.next_invoice_total, ==, 15 * 31320);
}

static void
test_upgrade_to_enterprise (void)
{
  static const PurserContract contract = { 5000, 100000, PURSER_CYCLE_MONTHLY };
  g_auto (PurserSubscription) sub = { 0 };
  g_autoptr (GError) error = NULL;

  make_business (&sub, PURSER_CYCLE_MONTHLY, 10, "2026-03-01", "2026-04-01");

  /* a contract is required */
  {
    g_auto (PurserQuote) quote = { 0 };
    PurserChange change = plan_change (PURSER_PLAN_ENTERPRISE, NULL);

    g_assert_false (
        purser_quote_change (&sub, &change, NULL, D ("2026-03-11"), &test_no_tax, &quote, &error));
    g_assert_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_INVALID);
    g_clear_error (&error);
  }

  {
    g_auto (PurserQuote) quote = { 0 };
    PurserChange change = plan_change (PURSER_PLAN_ENTERPRISE, &contract);

    change.has_seats = TRUE;
    change.seats = 12;
    g_assert_true (
        purser_quote_change (&sub, &change, NULL, D ("2026-03-11"), &test_no_tax, &quote, &error));
    g_assert_no_error (error);
    assert_invoice_sane (&quote.invoice);
    g_assert_cmpuint (quote.lines->len, ==, 4);
    g_assert_cmpint (line_at (quote.lines, 0)->amount, ==, -19645);
    g_assert_cmpint (line_at (quote.lines, 1)->kind, ==, PURSER_LINE_SEATS);
    g_assert_cmpint (line_at (quote.lines, 1)->quantity, ==, 12);
    g_assert_cmpint (line_at (quote.lines, 1)->amount, ==, 60000);
    g_assert_cmpint (line_at (quote.lines, 2)->kind, ==, PURSER_LINE_PLATFORM_FEE);
    g_assert_cmpint (line_at (quote.lines, 2)->amount, ==, 100000);
    g_assert_cmpint (quote.amount_due_now, ==, 160000 - 19645);
    g_assert_cmpint (quote.after.plan, ==, PURSER_PLAN_ENTERPRISE);
    g_assert_cmpint (quote.after.seats, ==, 12);
    g_assert_cmpint (quote.after.contract.platform_fee, ==, 100000);
    g_assert_cmpint (quote.after.period.end, ==, D ("2026-04-11"));
  }

  /* a contract on Business */
  {
    g_auto (PurserQuote) quote = { 0 };
    PurserChange change = seats_change (12);

    change.has_contract = TRUE;
    change.contract = contract;
    g_assert_false (
        purser_quote_change (&sub, &change, NULL, D ("2026-03-11"), &test_no_tax, &quote, &error));
    g_assert_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_INVALID);
    g_clear_error (&error);
  }
}

static void
test_new_contract (void)
{
  static const PurserContract cheaper = { 4000, 50000, PURSER_CYCLE_MONTHLY };
  g_auto (PurserSubscription) sub = { 0 };
  g_autoptr (GError) error = NULL;

  make_enterprise (&sub, PURSER_CYCLE_MONTHLY, 10, 5000, 100000, PURSER_CYCLE_MONTHLY, "2026-03-01",
                   "2026-04-01");

  {
    g_auto (PurserQuote) quote = { 0 };
    PurserChange change = plan_change (PURSER_PLAN_ENTERPRISE, &cheaper);

    g_assert_true (
        purser_quote_change (&sub, &change, NULL, D ("2026-03-11"), &test_no_tax, &quote, &error));
    g_assert_no_error (error);
    assert_invoice_sane (&quote.invoice);
    g_assert_cmpint (line_at (quote.lines, 0)->amount, ==, -33871);
    g_assert_cmpint (line_at (quote.lines, 1)->amount, ==, -67742);
    g_assert_cmpint (line_at (quote.lines, 2)->amount, ==, 40000);
    g_assert_cmpint (line_at (quote.lines, 3)->amount, ==, 50000);
    g_assert_cmpint (line_at (quote.lines, 4)->amount, ==, 11613);
    g_assert_cmpint (quote.amount_due_now, ==, 0);
    g_assert_cmpint (quote.after.credit_balance, ==, 11613);
    g_assert_cmpint (quote.after.contract.seat_price, ==, 4000);
  }

  /* the same contract again: nothing to do */
  {
    g_auto (PurserQuote) quote = { 0 };
    PurserChange change = plan_change (PURSER_PLAN_ENTERPRISE, &sub.contract);

    g_assert_false (
        purser_quote_change (&sub, &change, NULL, D ("2026-03-11"), &test_no_tax, &quote, &error));
    g_assert_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NO_CHANGE);
    g_clear_error (&error);
  }
}

static void
test_downgrade_plan (void)
{
  g_auto (PurserSubscription) sub = { 0 };
  g_auto (PurserQuote) quote = { 0 };
  g_auto (PurserQuote) again = { 0 };
  g_auto (PurserQuote) undo = { 0 };
  g_auto (PurserSubscription) next = { 0 };
  g_auto (PurserInvoiceDraft) invoice = { 0 };
  g_autoptr (GError) error = NULL;
  PurserChange change = plan_change (PURSER_PLAN_BUSINESS, NULL);
  PurserChange stay = plan_change (PURSER_PLAN_ENTERPRISE, NULL);
  gboolean ended, has_invoice;

  make_enterprise (&sub, PURSER_CYCLE_MONTHLY, 10, 5000, 100000, PURSER_CYCLE_MONTHLY, "2026-03-01",
                   "2026-04-01");
  g_assert_true (
      purser_quote_change (&sub, &change, NULL, D ("2026-03-11"), &test_tax_wa, &quote, &error));
  g_assert_no_error (error);

  g_assert_cmpint (quote.effective, ==, PURSER_EFFECTIVE_PERIOD_END);
  g_assert_false (quote.invoice_now);
  g_assert_cmpint (quote.amount_due_now, ==, 0);
  /* the lines of the next cycle invoice under Business, without tax */
  g_assert_cmpuint (quote.lines->len, ==, 1);
  g_assert_cmpint (line_at (quote.lines, 0)->kind, ==, PURSER_LINE_SEATS);
  g_assert_cmpint (line_at (quote.lines, 0)->amount, ==, 29000);
  g_assert_cmpint (line_at (quote.lines, 0)->period.start, ==, D ("2026-04-01"));
  g_assert_cmpuint (count_kind (quote.lines, PURSER_LINE_TAX), ==, 0);
  g_assert_cmpint (quote.after.plan, ==, PURSER_PLAN_ENTERPRISE);
  g_assert_true (quote.after.has_scheduled_plan);
  g_assert_cmpint (quote.after.scheduled_plan, ==, PURSER_PLAN_BUSINESS);
  g_assert_cmpint (quote.next_invoice_date, ==, D ("2026-04-01"));
  g_assert_cmpint (quote.next_invoice_total, ==, 29000 + 1885);

  /* asking twice changes nothing */
  g_assert_false (purser_quote_change (&quote.after, &change, NULL, D ("2026-03-12"), &test_tax_wa,
                                       &again, &error));
  g_assert_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NO_CHANGE);
  g_clear_error (&error);

  /* asking for the current plan withdraws it */
  g_assert_true (purser_quote_change (&quote.after, &stay, NULL, D ("2026-03-12"), &test_tax_wa,
                                      &undo, &error));
  g_assert_no_error (error);
  g_assert_false (undo.after.has_scheduled_plan);
  g_assert_cmpint (undo.next_invoice_total, ==, 150000 + 9750);

  /* at the period end it applies */
  purser_subscription_renew (&quote.after, &test_tax_wa, &next, &ended, &has_invoice, &invoice);
  g_assert_false (ended);
  g_assert_true (has_invoice);
  g_assert_cmpint (next.plan, ==, PURSER_PLAN_BUSINESS);
  g_assert_false (next.has_scheduled_plan);
  g_assert_cmpint (next.contract.seat_price, ==, 0);
  g_assert_cmpint (next.period.start, ==, D ("2026-04-01"));
  g_assert_cmpint (next.period.end, ==, D ("2026-05-01"));
  g_assert_cmpint (invoice.total, ==, quote.next_invoice_total);
}

static void
test_downgrade_cycle (void)
{
  g_auto (PurserSubscription) sub = { 0 };
  g_auto (PurserQuote) quote = { 0 };
  g_auto (PurserSubscription) next = { 0 };
  g_auto (PurserInvoiceDraft) invoice = { 0 };
  g_autoptr (GError) error = NULL;
  PurserChange change = cycle_change (PURSER_CYCLE_MONTHLY);
  gboolean ended, has_invoice;

  make_business (&sub, PURSER_CYCLE_ANNUAL, 10, "2026-01-15", "2027-01-15");
  g_assert_true (
      purser_quote_change (&sub, &change, NULL, D ("2026-06-01"), &test_no_tax, &quote, &error));
  g_assert_no_error (error);
  g_assert_cmpint (quote.effective, ==, PURSER_EFFECTIVE_PERIOD_END);
  g_assert_cmpint (quote.amount_due_now, ==, 0);
  g_assert_true (quote.after.has_scheduled_cycle);
  g_assert_cmpint (quote.after.cycle, ==, PURSER_CYCLE_ANNUAL);
  g_assert_cmpint (line_at (quote.lines, 0)->amount, ==, 29000);
  g_assert_cmpint (line_at (quote.lines, 0)->period.end, ==, D ("2027-02-15"));
  g_assert_cmpint (quote.next_invoice_date, ==, D ("2027-01-15"));
  g_assert_cmpint (quote.next_invoice_total, ==, 29000);

  purser_subscription_renew (&quote.after, &test_no_tax, &next, &ended, &has_invoice, &invoice);
  g_assert_cmpint (next.cycle, ==, PURSER_CYCLE_MONTHLY);
  g_assert_cmpint (next.period.end, ==, D ("2027-02-15"));
  g_assert_cmpint (invoice.total, ==, 29000);

  /* seats still change at once alongside a scheduled downgrade */
  {
    g_auto (PurserQuote) both = { 0 };

    change.has_seats = TRUE;
    change.seats = 13;
    g_assert_true (
        purser_quote_change (&sub, &change, NULL, D ("2026-07-01"), &test_no_tax, &both, &error));
    g_assert_no_error (error);
    g_assert_cmpint (both.effective, ==, PURSER_EFFECTIVE_NOW);
    g_assert_cmpint (both.amount_due_now, ==, 50970);
    g_assert_true (both.after.has_scheduled_cycle);
    g_assert_cmpint (both.after.seats, ==, 13);
    g_assert_cmpint (both.next_invoice_total, ==, 13 * 2900);
  }
}

static void
test_mixed_and_no_change (void)
{
  static const PurserContract contract = { 5000, 0, PURSER_CYCLE_MONTHLY };
  g_auto (PurserSubscription) business = { 0 };
  g_auto (PurserSubscription) enterprise = { 0 };
  g_autoptr (GError) error = NULL;
  PurserChange up_down = plan_change (PURSER_PLAN_ENTERPRISE, &contract);
  PurserChange down_up = plan_change (PURSER_PLAN_BUSINESS, NULL);
  PurserChange same = seats_change (10);
  PurserChange same_cycle = cycle_change (PURSER_CYCLE_ANNUAL);
  PurserChange empty = { 0 };

  make_business (&business, PURSER_CYCLE_ANNUAL, 10, "2026-01-15", "2027-01-15");
  make_enterprise (&enterprise, PURSER_CYCLE_MONTHLY, 10, 5000, 0, PURSER_CYCLE_MONTHLY,
                   "2026-03-01", "2026-04-01");
  up_down.has_cycle = TRUE;
  up_down.cycle = PURSER_CYCLE_MONTHLY;
  down_up.has_cycle = TRUE;
  down_up.cycle = PURSER_CYCLE_ANNUAL;

  {
    g_auto (PurserQuote) quote = { 0 };

    g_assert_false (purser_quote_change (&business, &up_down, NULL, D ("2026-03-11"), &test_no_tax,
                                         &quote, &error));
    g_assert_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_INVALID);
    g_clear_error (&error);
  }
  {
    g_auto (PurserQuote) quote = { 0 };

    g_assert_false (purser_quote_change (&enterprise, &down_up, NULL, D ("2026-03-11"),
                                         &test_no_tax, &quote, &error));
    g_assert_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_INVALID);
    g_clear_error (&error);
  }
  {
    g_auto (PurserQuote) quote = { 0 };

    g_assert_false (purser_quote_change (&business, &same, NULL, D ("2026-03-11"), &test_no_tax,
                                         &quote, &error));
    g_assert_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NO_CHANGE);
    g_clear_error (&error);
    g_assert_null (quote.after.pending);
  }
  {
    g_auto (PurserQuote) quote = { 0 };

    g_assert_false (purser_quote_change (&business, &same_cycle, NULL, D ("2026-03-11"),
                                         &test_no_tax, &quote, &error));
    g_assert_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NO_CHANGE);
    g_clear_error (&error);
  }
  {
    g_auto (PurserQuote) quote = { 0 };

    g_assert_false (purser_quote_change (&business, &empty, NULL, D ("2026-03-11"), &test_no_tax,
                                         &quote, &error));
    g_assert_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NO_CHANGE);
    g_clear_error (&error);
  }
  /* outside the current period */
  {
    g_auto (PurserQuote) quote = { 0 };
    PurserChange change = seats_change (11);

    g_assert_false (purser_quote_change (&business, &change, NULL, D ("2027-01-15"), &test_no_tax,
                                         &quote, &error));
    g_assert_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_INVALID);
    g_clear_error (&error);
    g_assert_false (purser_quote_change (&business, &change, NULL, D ("2026-01-14"), &test_no_tax,
                                         &quote, &error));
    g_assert_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_INVALID);
    g_clear_error (&error);
  }
}

static void
test_canceled_not_allowed (void)
{
  g_auto (PurserSubscription) sub = { 0 };
  g_autoptr (GError) error = NULL;
  PurserChange change = seats_change (11);

  make_business (&sub, PURSER_CYCLE_MONTHLY, 10, "2026-03-01", "2026-04-01");
  sub.status = PURSER_STATUS_CANCELED;

  {
    g_auto (PurserQuote) quote = { 0 };

    g_assert_false (
        purser_quote_change (&sub, &change, NULL, D ("2026-03-11"), &test_no_tax, &quote, &error));
    g_assert_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NOT_ALLOWED);
    g_clear_error (&error);
  }
  {
    g_auto (PurserQuote) quote = { 0 };

    g_assert_false (
        purser_quote_cancel (&sub, TRUE, D ("2026-03-11"), &test_no_tax, &quote, &error));
    g_assert_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NOT_ALLOWED);
    g_clear_error (&error);
  }
  {
    g_auto (PurserQuote) quote = { 0 };

    g_assert_false (
        purser_quote_cancel (&sub, FALSE, D ("2026-03-11"), &test_no_tax, &quote, &error));
    g_assert_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NOT_ALLOWED);
    g_clear_error (&error);
  }
  {
    g_auto (PurserQuote) quote = { 0 };

    sub.cancel_at_period_end = TRUE;
    g_assert_false (purser_quote_resume (&sub, D ("2026-03-11"), &test_no_tax, &quote, &error));
    g_assert_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NOT_ALLOWED);
    g_clear_error (&error);
  }
  g_assert_false (purser_subscription_next_invoice (&sub, &test_no_tax, NULL, NULL));
}

static void
test_cancel_at_period_end (void)
{
  g_auto (PurserSubscription) sub = { 0 };
  g_auto (PurserQuote) quote = { 0 };
  g_auto (PurserQuote) twice = { 0 };
  g_auto (PurserQuote) resumed = { 0 };
  g_auto (PurserQuote) nothing = { 0 };
  g_auto (PurserSubscription) next = { 0 };
  g_auto (PurserInvoiceDraft) invoice = { 0 };
  g_autoptr (GError) error = NULL;
  gboolean ended, has_invoice;

  make_business (&sub, PURSER_CYCLE_MONTHLY, 10, "2026-03-01", "2026-04-01");
  g_assert_true (purser_quote_cancel (&sub, TRUE, D ("2026-03-11"), &test_no_tax, &quote, &error));
  g_assert_no_error (error);
  g_assert_cmpint (quote.effective, ==, PURSER_EFFECTIVE_PERIOD_END);
  g_assert_cmpuint (quote.lines->len, ==, 0);
  g_assert_cmpint (quote.amount_due_now, ==, 0);
  g_assert_true (quote.after.cancel_at_period_end);
  g_assert_cmpint (quote.after.status, ==, PURSER_STATUS_ACTIVE);
  g_assert_false (quote.has_next_invoice);

  g_assert_false (
      purser_quote_cancel (&quote.after, TRUE, D ("2026-03-12"), &test_no_tax, &twice, &error));
  g_assert_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NO_CHANGE);
  g_clear_error (&error);

  purser_subscription_renew (&quote.after, &test_no_tax, &next, &ended, &has_invoice, &invoice);
  g_assert_true (ended);
  g_assert_false (has_invoice);
  g_assert_cmpint (next.status, ==, PURSER_STATUS_CANCELED);

  /* resume: undone, and the next invoice is back */
  g_assert_true (
      purser_quote_resume (&quote.after, D ("2026-03-20"), &test_no_tax, &resumed, &error));
  g_assert_no_error (error);
  g_assert_false (resumed.after.cancel_at_period_end);
  g_assert_true (resumed.after.auto_renew);
  g_assert_true (resumed.has_next_invoice);
  g_assert_cmpint (resumed.next_invoice_total, ==, 29000);

  g_assert_false (purser_quote_resume (&sub, D ("2026-03-20"), &test_no_tax, &nothing, &error));
  g_assert_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NOT_ALLOWED);
  g_clear_error (&error);

  /* auto-renew off ends the subscription too, and resume switches it back on */
  {
    g_auto (PurserQuote) on = { 0 };

    sub.auto_renew = FALSE;
    g_assert_false (purser_subscription_next_invoice (&sub, &test_no_tax, NULL, NULL));
    g_assert_true (purser_quote_resume (&sub, D ("2026-03-20"), &test_no_tax, &on, &error));
    g_assert_no_error (error);
    g_assert_true (on.after.auto_renew);
    g_assert_true (on.has_next_invoice);
  }
}

static void
test_cancel_with_pending (void)
{
  g_auto (PurserSubscription) sub = { 0 };
  g_auto (PurserQuote) added = { 0 };
  g_auto (PurserQuote) at_end = { 0 };
  g_auto (PurserQuote) now = { 0 };
  g_autoptr (GError) error = NULL;
  PurserChange change = seats_change (15);

  make_business (&sub, PURSER_CYCLE_MONTHLY, 10, "2026-03-01", "2026-04-01");
  sub.proration_billing = PURSER_PRORATION_TRUE_UP;
  g_assert_true (
      purser_quote_change (&sub, &change, NULL, D ("2026-03-11"), &test_no_tax, &added, &error));
  g_assert_no_error (error);

  /* ending at the period end still bills the true-up */
  g_assert_true (
      purser_quote_cancel (&added.after, TRUE, D ("2026-03-20"), &test_no_tax, &at_end, &error));
  g_assert_no_error (error);
  g_assert_true (at_end.has_next_invoice);
  g_assert_cmpint (at_end.next_invoice_total, ==, 9823);

  /* ending now: the true-up less the unused time of 15 seats, 12 of 31 days */
  g_assert_true (
      purser_quote_cancel (&added.after, FALSE, D ("2026-03-20"), &test_no_tax, &now, &error));
  g_assert_no_error (error);
  g_assert_true (now.invoice_now);
  assert_invoice_sane (&now.invoice);
  g_assert_cmpint (line_at (now.lines, 0)->kind, ==, PURSER_LINE_PRORATION);
  g_assert_cmpint (line_at (now.lines, 1)->amount, ==, -16839);
  g_assert_cmpint (now.amount_due_now, ==, 0);
  g_assert_cmpint (now.after.credit_balance, ==, 16839 - 9823);
  g_assert_true (now.after.pending == NULL || now.after.pending->len == 0);
  g_assert_false (now.has_next_invoice);
}

static void
test_cancel_now (void)
{
  g_auto (PurserSubscription) sub = { 0 };
  g_auto (PurserQuote) quote = { 0 };
  g_autoptr (GError) error = NULL;
  const PurserLine *credit;

  make_business (&sub, PURSER_CYCLE_MONTHLY, 10, "2026-03-01", "2026-04-01");
  sub.credit_balance = 1;
  g_assert_true (purser_quote_cancel (&sub, FALSE, D ("2026-03-20"), &test_no_tax, &quote, &error));
  g_assert_no_error (error);
  g_assert_cmpint (quote.effective, ==, PURSER_EFFECTIVE_NOW);
  g_assert_false (quote.invoice_now);
  g_assert_cmpuint (quote.lines->len, ==, 1);
  credit = line_at (quote.lines, 0);
  g_assert_cmpint (credit->kind, ==, PURSER_LINE_CREDIT);
  g_assert_cmpint (credit->quantity, ==, -10);
  g_assert_cmpint (credit->amount, ==, -11226);
  g_assert_cmpint (quote.after.credit_balance, ==, 11227);
  g_assert_cmpint (quote.after.status, ==, PURSER_STATUS_CANCELED);
  g_assert_cmpint (quote.after.period.end, ==, D ("2026-03-20"));
  g_assert_false (quote.has_next_invoice);
}

static void
test_renew (void)
{
  g_auto (PurserSubscription) sub = { 0 };

  make_business (&sub, PURSER_CYCLE_MONTHLY, 10, "2026-03-01", "2026-04-01");
  sub.credit_balance = 2245;

  {
    g_auto (PurserSubscription) next = { 0 };
    g_auto (PurserInvoiceDraft) invoice = { 0 };
    gboolean ended, has_invoice;
    PurserDate date;
    PurserCents total;

    purser_subscription_renew (&sub, &test_tax_wa, &next, &ended, &has_invoice, &invoice);
    g_assert_false (ended);
    g_assert_true (has_invoice);
    assert_invoice_sane (&invoice);
    g_assert_cmpint (next.period.start, ==, D ("2026-04-01"));
    g_assert_cmpint (next.period.end, ==, D ("2026-05-01"));
    g_assert_cmpint (next.credit_balance, ==, 0);
    g_assert_cmpint (invoice.credit_applied, ==, 2245);
    g_assert_cmpstr (line_at (invoice.lines, 0)->description, ==,
                     "Business seats (monthly), Apr 1, 2026 – Apr 30, 2026");
    g_assert_cmpint (invoice.total, ==, 29000 - 2245 + 1885 - 146);

    g_assert_true (purser_subscription_next_invoice (&sub, &test_tax_wa, &date, &total));
    g_assert_cmpint (date, ==, D ("2026-04-01"));
    g_assert_cmpint (total, ==, invoice.total);
  }

  /* a new billing day: a partial period [04-01, 04-15) against [03-15, 04-15) */
  {
    g_auto (PurserSubscription) next = { 0 };
    g_auto (PurserInvoiceDraft) invoice = { 0 };
    gboolean ended, has_invoice;

    sub.credit_balance = 0;
    sub.scheduled_billing_day = 15;
    purser_subscription_renew (&sub, &test_no_tax, &next, &ended, &has_invoice, &invoice);
    g_assert_cmpint (next.billing_day, ==, 15);
    g_assert_cmpint (next.scheduled_billing_day, ==, 0);
    g_assert_cmpint (next.period.start, ==, D ("2026-04-01"));
    g_assert_cmpint (next.period.end, ==, D ("2026-04-15"));
    g_assert_cmpint (next.basis.start, ==, D ("2026-03-15"));
    g_assert_cmpint (invoice.total, ==, 13097);
  }

  /* Enterprise annual across the leap day: a whole cycle is the contract price */
  {
    g_auto (PurserSubscription) ent = { 0 };
    g_auto (PurserSubscription) next = { 0 };
    g_auto (PurserInvoiceDraft) invoice = { 0 };
    gboolean ended, has_invoice;

    make_enterprise (&ent, PURSER_CYCLE_ANNUAL, 3, 60000, 500000, PURSER_CYCLE_ANNUAL, "2027-03-01",
                     "2028-03-01");
    purser_subscription_renew (&ent, &test_no_tax, &next, &ended, &has_invoice, &invoice);
    g_assert_cmpint (next.period.end, ==, D ("2029-03-01"));
    g_assert_cmpint (invoice.total, ==, 180000 + 500000);
  }
}

static void
test_strings (void)
{
  for (int status = PURSER_STATUS_TRIALING; status <= PURSER_STATUS_CANCELED; status++)
    {
      PurserStatus back;

      g_assert_true (purser_status_from_string (purser_status_to_string (status), &back));
      g_assert_cmpint (back, ==, status);
    }
  g_assert_cmpstr (purser_status_to_string (PURSER_STATUS_PAST_DUE), ==, "past_due");
  g_assert_cmpstr (purser_effective_to_string (PURSER_EFFECTIVE_NOW), ==, "now");
  g_assert_cmpstr (purser_effective_to_string (PURSER_EFFECTIVE_PERIOD_END), ==, "period_end");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/purser/core/proration/prd/add-seats", test_prd_add_seats);
  g_test_add_func ("/purser/core/proration/prd/remove-seats", test_prd_remove_seats);
  g_test_add_func ("/purser/core/proration/prd/examples", test_prd_examples);
  g_test_add_func ("/purser/core/proration/first-and-last-day", test_first_and_last_day);
  g_test_add_func ("/purser/core/proration/leap-day", test_leap_day);
  g_test_add_func ("/purser/core/seats/floor", test_floor);
  g_test_add_func ("/purser/core/seats/true-up", test_true_up);
  g_test_add_func ("/purser/core/create/partial", test_create_partial);
  g_test_add_func ("/purser/core/create/enterprise", test_create_enterprise);
  g_test_add_func ("/purser/core/create/trial", test_create_trial);
  g_test_add_func ("/purser/core/create/invalid", test_create_invalid);
  g_test_add_func ("/purser/core/change/trial", test_trial_changes);
  g_test_add_func ("/purser/core/change/upgrade-cycle", test_upgrade_cycle);
  g_test_add_func ("/purser/core/change/upgrade-on-31st", test_upgrade_on_31st);
  g_test_add_func ("/purser/core/change/upgrade-with-pending", test_upgrade_with_pending);
  g_test_add_func ("/purser/core/change/upgrade-to-enterprise", test_upgrade_to_enterprise);
  g_test_add_func ("/purser/core/change/new-contract", test_new_contract);
  g_test_add_func ("/purser/core/change/downgrade-plan", test_downgrade_plan);
  g_test_add_func ("/purser/core/change/downgrade-cycle", test_downgrade_cycle);
  g_test_add_func ("/purser/core/change/mixed-and-no-change", test_mixed_and_no_change);
  g_test_add_func ("/purser/core/change/canceled", test_canceled_not_allowed);
  g_test_add_func ("/purser/core/cancel/at-period-end", test_cancel_at_period_end);
  g_test_add_func ("/purser/core/cancel/with-pending", test_cancel_with_pending);
  g_test_add_func ("/purser/core/cancel/now", test_cancel_now);
  g_test_add_func ("/purser/core/renew/cycle", test_renew);
  g_test_add_func ("/purser/core/subscription/strings", test_strings);

  return g_test_run ();
}
