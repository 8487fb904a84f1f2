/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "purser-subscription.h"

#include <string.h>

G_BEGIN_DECLS

static inline PurserDate
D (const char *text)
{
  PurserDate date = PURSER_DATE_INVALID;

  if (!purser_date_parse (text, &date))
    g_error ("bad date in a test: %s", text);
  return date;
}

static inline const PurserLine *
line_at (const GArray *lines, guint i)
{
  g_assert_nonnull (lines);
  g_assert_cmpuint (i, <, lines->len);
  return &g_array_index (lines, PurserLine, i);
}

static inline PurserCents
sum_lines (const GArray *lines)
{
  PurserCents sum = 0;

  for (guint i = 0; i < lines->len; i++)
    sum += g_array_index (lines, PurserLine, i).amount;
  return sum;
}

static inline guint
count_kind (const GArray *lines, PurserLineKind kind)
{
  guint n = 0;

  for (guint i = 0; i < lines->len; i++)
    n += g_array_index (lines, PurserLine, i).kind == kind;
  return n;
}

/* The invariants every assembled invoice keeps. */
static inline void
assert_invoice_sane (const PurserInvoiceDraft *invoice)
{
  const PurserLine *last;

  g_assert_nonnull (invoice->lines);
  g_assert_cmpuint (invoice->lines->len, >=, 1);
  last = line_at (invoice->lines, invoice->lines->len - 1);
  g_assert_cmpint (last->kind, ==, PURSER_LINE_TAX);
  g_assert_cmpuint (count_kind (invoice->lines, PURSER_LINE_TAX), ==, 1);
  g_assert_cmpint (last->amount, ==, invoice->tax);
  g_assert_cmpint (invoice->total, ==, sum_lines (invoice->lines));
  g_assert_cmpint (invoice->subtotal, ==, invoice->total - invoice->tax);
  g_assert_cmpint (invoice->total, >=, 0);
  g_assert_cmpint (invoice->credit_applied, >=, 0);
}

static inline void
assert_lines_equal (const GArray *a, const GArray *b)
{
  g_assert_cmpuint (a->len, ==, b->len);
  for (guint i = 0; i < a->len; i++)
    {
      const PurserLine *x = line_at (a, i);
      const PurserLine *y = line_at (b, i);

      g_assert_cmpint (x->kind, ==, y->kind);
      g_assert_cmpstr (x->description, ==, y->description);
      g_assert_cmpint (x->quantity, ==, y->quantity);
      g_assert_cmpint (x->unit_amount, ==, y->unit_amount);
      g_assert_cmpint (x->amount, ==, y->amount);
      g_assert_cmpint (x->period.start, ==, y->period.start);
      g_assert_cmpint (x->period.end, ==, y->period.end);
    }
}

static inline void
assert_subscriptions_equal (const PurserSubscription *a, const PurserSubscription *b)
{
  g_assert_cmpint (a->plan, ==, b->plan);
  g_assert_cmpint (a->cycle, ==, b->cycle);
  g_assert_cmpint (a->seats, ==, b->seats);
  g_assert_cmpint (a->contract.seat_price, ==, b->contract.seat_price);
  g_assert_cmpint (a->contract.platform_fee, ==, b->contract.platform_fee);
  g_assert_cmpint (a->contract.interval, ==, b->contract.interval);
  g_assert_cmpint (a->billing_day, ==, b->billing_day);
  g_assert_cmpint (a->period.start, ==, b->period.start);
  g_assert_cmpint (a->period.end, ==, b->period.end);
  g_assert_cmpint (a->basis.start, ==, b->basis.start);
  g_assert_cmpint (a->basis.end, ==, b->basis.end);
  g_assert_cmpint (a->status, ==, b->status);
  g_assert_cmpint (a->cancel_at_period_end, ==, b->cancel_at_period_end);
  g_assert_cmpint (a->auto_renew, ==, b->auto_renew);
  g_assert_cmpint (a->proration_billing, ==, b->proration_billing);
  g_assert_cmpint (a->has_scheduled_plan, ==, b->has_scheduled_plan);
  g_assert_cmpint (a->has_scheduled_cycle, ==, b->has_scheduled_cycle);
  g_assert_cmpint (a->scheduled_billing_day, ==, b->scheduled_billing_day);
  g_assert_cmpint (a->credit_balance, ==, b->credit_balance);
  g_assert_cmpuint (a->pending != NULL ? a->pending->len : 0, ==,
                    b->pending != NULL ? b->pending->len : 0);
  if (a->pending != NULL && b->pending != NULL)
    assert_lines_equal (a->pending, b->pending);
}

/* An active Business subscription in a whole cycle [start, end). */
static inline void
make_business (PurserSubscription *sub, PurserCycle cycle, gint64 seats, const char *start,
               const char *end)
{
  memset (sub, 0, sizeof *sub);
  sub->plan = PURSER_PLAN_BUSINESS;
  sub->cycle = cycle;
  sub->seats = seats;
  sub->period.start = D (start);
  sub->period.end = D (end);
  sub->basis = sub->period;
  sub->billing_day = purser_date_day (sub->period.start);
  sub->status = PURSER_STATUS_ACTIVE;
  sub->auto_renew = TRUE;
  sub->proration_billing = PURSER_PRORATION_IMMEDIATE;
}

static inline void
make_enterprise (PurserSubscription *sub, PurserCycle cycle, gint64 seats, PurserCents seat_price,
                 PurserCents platform_fee, PurserCycle interval, const char *start, const char *end)
{
  make_business (sub, cycle, seats, start, end);
  sub->plan = PURSER_PLAN_ENTERPRISE;
  sub->contract.seat_price = seat_price;
  sub->contract.platform_fee = platform_fee;
  sub->contract.interval = interval;
}

static const PurserTaxContext test_no_tax = { PURSER_TAX_STANDARD, 0, "" };
static const PurserTaxContext test_tax_wa = { PURSER_TAX_STANDARD, 650, "US-WA" };

G_END_DECLS
