/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "core-test-util.h"

/* Seeded random lives of subscriptions: seat changes, upgrades, scheduled downgrades,
 * true-up, cancellations, trials, renewals. Along the way:
 * - every invoice: total == sum of its lines, never negative, one tax line;
 * - a quote computed twice is the same (the preview is what gets applied);
 * - the next invoice a quote announces is the one the renewal issues;
 * - the balance never goes negative;
 * - what is billed for seats and fees equals what was held, day by day, to half a cent
 *   per line: Σ lines == Σ over days of (seats × unit + fee) / days_in_cycle. */

/* lcm (28, 29, 30, 31, 365, 366): every cycle length divides it, so the exact sum of
 * per-day prices is an integer count of 1/DENOMINATOR cents. */
#define DENOMINATOR G_GINT64_CONSTANT (1681363740)

typedef enum
{
  OP_CHANGE,
  OP_CANCEL_AT_END,
  OP_CANCEL_NOW,
  OP_RESUME,
} Op;

typedef struct
{
  GRand *rand;
  guint32 seed;
  gboolean enterprise;
  const PurserTaxContext *tax;
  PurserSubscription sub;
  PurserDate today;

  __int128 held;  /* in 1/DENOMINATOR cents */
  gint64 billed;  /* cents */
  gint64 n_lines; /* lines counted in `billed` */

  gboolean has_next;
  PurserDate next_date;
  PurserCents next_total;

  PurserCents initial_balance;
  PurserCents invoiced; /* Σ invoice subtotals */

  guint n_quotes;
  guint n_invoices;
} Sim;

static const PurserTaxContext tax_de = { PURSER_TAX_STANDARD, 1900, "DE" };
static const PurserTaxContext tax_reverse = { PURSER_TAX_REVERSE_CHARGE, 0, "FR" };
static const PurserTaxContext tax_exempt = { PURSER_TAX_EXEMPT, 0, "US-NY" };

static gboolean
is_billable_line (const PurserLine *line)
{
  switch (line->kind)
    {
      case PURSER_LINE_SEATS:
      case PURSER_LINE_PRORATION:
      case PURSER_LINE_PLATFORM_FEE:
        return TRUE;
      case PURSER_LINE_CREDIT:
        /* seats removed and unused time; the balance lines have a quantity of 1 */
        return line->quantity < 0;
      case PURSER_LINE_USAGE:
      case PURSER_LINE_TAX:
        return FALSE;
      default:
        g_assert_not_reached ();
    }
}

static void
count_lines (Sim *sim, const GArray *lines)
{
  for (guint i = 0; i < lines->len; i++)
    {
      const PurserLine *line = line_at (lines, i);

      if (is_billable_line (line))
        {
          sim->billed += line->amount;
          sim->n_lines++;
        }
    }
}

/* How an invoice moves the balance: its "applied" (−) and "carried" (+) lines. */
static PurserCents
balance_delta (const PurserInvoiceDraft *invoice)
{
  PurserCents delta = 0;

  for (guint i = 0; i < invoice->lines->len; i++)
    {
      const PurserLine *line = line_at (invoice->lines, i);

      if (line->kind == PURSER_LINE_CREDIT && line->quantity == 1)
        delta += line->amount;
    }
  g_assert_cmpint (delta, ==, (delta > 0 ? delta : -invoice->credit_applied));
  return delta;
}

static void
count_invoice (Sim *sim, const PurserInvoiceDraft *invoice)
{
  assert_invoice_sane (invoice);
  sim->invoiced += invoice->subtotal;
  if (sim->tax->treatment != PURSER_TAX_STANDARD)
    g_assert_cmpint (invoice->tax, ==, 0);
  count_lines (sim, invoice->lines);
  sim->n_invoices++;
}

static void
hold_today (Sim *sim)
{
  const PurserSubscription *sub = &sim->sub;
  int cycle_days;
  PurserCents per_cycle;

  if (sub->status != PURSER_STATUS_ACTIVE && sub->status != PURSER_STATUS_PAST_DUE)
    return;
  g_assert_cmpint (sub->period.start, <=, sim->today);
  g_assert_cmpint (sim->today, <, sub->period.end);

  cycle_days = purser_period_days (&sub->basis);
  g_assert_cmpint (DENOMINATOR % cycle_days, ==, 0);
  per_cycle = sub->seats * purser_plan_seat_price (sub->plan, &sub->contract, sub->cycle)
              + purser_plan_platform_fee (sub->plan, &sub->contract, sub->cycle);
  sim->held += (__int128) per_cycle * (DENOMINATOR / cycle_days);
}

static void
predict_next (Sim *sim)
{
  sim->has_next
      = purser_subscription_next_invoice (&sim->sub, sim->tax, &sim->next_date, &sim->next_total);
}

static void
renew (Sim *sim)
{
  g_auto (PurserSubscription) next = { 0 };
  g_auto (PurserInvoiceDraft) invoice = { 0 };
  gboolean ended, has_invoice;

  purser_subscription_renew (&sim->sub, sim->tax, &next, &ended, &has_invoice, &invoice);
  g_assert_cmpint (next.credit_balance, ==,
                   sim->sub.credit_balance + (has_invoice ? balance_delta (&invoice) : 0));

  /* what was announced is what is issued */
  g_assert_cmpint (has_invoice, ==, sim->has_next);
  if (has_invoice)
    {
      g_assert_cmpint (sim->next_date, ==, sim->today);
      g_assert_cmpint (invoice.total, ==, sim->next_total);
      count_invoice (sim, &invoice);
    }
  if (ended)
    g_assert_cmpint (next.status, ==, PURSER_STATUS_CANCELED);
  else
    {
      g_assert_cmpint (next.period.start, ==, sim->today);
      g_assert_cmpint (next.period.end, >, sim->today);
      g_assert_cmpint (purser_date_day (next.period.end), ==, next.billing_day);
      g_assert_cmpint (next.status, !=, PURSER_STATUS_TRIALING);
    }
  g_assert_true (next.pending == NULL || next.pending->len == 0);
  g_assert_cmpint (next.credit_balance, >=, 0);

  purser_subscription_clear (&sim->sub);
  sim->sub = next;
  memset (&next, 0, sizeof next);
  predict_next (sim);
}

static gboolean
run_op (Sim *sim, Op op, const PurserChange *change, const PurserSeatFloor *floor,
        PurserQuote *quote, GError **error)
{
  switch (op)
    {
      case OP_CHANGE:
        return purser_quote_change (&sim->sub, change, floor, sim->today, sim->tax, quote, error);
      case OP_CANCEL_AT_END:
        return purser_quote_cancel (&sim->sub, TRUE, sim->today, sim->tax, quote, error);
      case OP_CANCEL_NOW:
        return purser_quote_cancel (&sim->sub, FALSE, sim->today, sim->tax, quote, error);
      case OP_RESUME:
        return purser_quote_resume (&sim->sub, sim->today, sim->tax, quote, error);
      default:
        g_assert_not_reached ();
    }
}

static void
assert_quotes_equal (const PurserQuote *a, const PurserQuote *b)
{
  assert_lines_equal (a->lines, b->lines);
  g_assert_cmpint (a->invoice_now, ==, b->invoice_now);
  g_assert_cmpint (a->amount_due_now, ==, b->amount_due_now);
  g_assert_cmpint (a->effective, ==, b->effective);
  g_assert_cmpint (a->has_next_invoice, ==, b->has_next_invoice);
  g_assert_cmpint (a->next_invoice_date, ==, b->next_invoice_date);
  g_assert_cmpint (a->next_invoice_total, ==, b->next_invoice_total);
  assert_subscriptions_equal (&a->after, &b->after);
}

/* Runs an operation; on success checks the quote and applies its `after`. */
static gboolean
apply (Sim *sim, Op op, const PurserChange *change, const PurserSeatFloor *floor, GError **error)
{
  g_auto (PurserQuote) quote = { 0 };
  g_auto (PurserQuote) again = { 0 };
  PurserDate date;
  PurserCents total;

  if (!run_op (sim, op, change, floor, &quote, error))
    {
      g_assert_null (quote.lines);
      return FALSE;
    }
  sim->n_quotes++;

  g_assert_true (run_op (sim, op, change, floor, &again, NULL));
  assert_quotes_equal (&quote, &again);

  g_assert_nonnull (quote.lines);
  if (quote.invoice_now)
    {
      g_assert_cmpint (quote.after.credit_balance, ==,
                       sim->sub.credit_balance + balance_delta (&quote.invoice));
      assert_lines_equal (quote.lines, quote.invoice.lines);
      g_assert_cmpint (quote.amount_due_now, ==, quote.invoice.total);
      g_assert_cmpint (quote.effective, ==, PURSER_EFFECTIVE_NOW);
      count_invoice (sim, &quote.invoice);
    }
  else
    {
      g_assert_cmpint (quote.amount_due_now, ==, 0);
      g_assert_null (quote.invoice.lines);
      g_assert_cmpuint (count_kind (quote.lines, PURSER_LINE_TAX), ==, 0);
      /* credits to the balance happen now; a scheduled change's lines are only a preview,
       * and true-up lines are counted when they are invoiced */
      PurserCents credited = 0;

      if (quote.effective == PURSER_EFFECTIVE_NOW)
        for (guint i = 0; i < quote.lines->len; i++)
          {
            const PurserLine *line = line_at (quote.lines, i);

            if (line->kind == PURSER_LINE_CREDIT)
              {
                g_assert_cmpint (line->amount, <=, 0);
                g_assert_cmpint (line->quantity, <, 0);
                sim->billed += line->amount;
                sim->n_lines++;
                credited += -line->amount;
              }
          }
      g_assert_cmpint (quote.after.credit_balance, ==, sim->sub.credit_balance + credited);
    }
  g_assert_cmpint (quote.after.credit_balance, >=, 0);

  /* the announced next invoice is the renewal of `after` */
  g_assert_cmpint (quote.has_next_invoice, ==,
                   purser_subscription_next_invoice (&quote.after, sim->tax, &date, &total));
  if (quote.has_next_invoice)
    {
      g_assert_cmpint (quote.next_invoice_date, ==, date);
      g_assert_cmpint (quote.next_invoice_total, ==, total);
      g_assert_cmpint (date, ==, quote.after.period.end);
    }

  purser_subscription_clear (&sim->sub);
  sim->sub = quote.after;
  memset (&quote.after, 0, sizeof quote.after);
  sim->has_next = quote.has_next_invoice;
  sim->next_date = quote.next_invoice_date;
  sim->next_total = quote.next_invoice_total;
  return TRUE;
}

static PurserContract
random_contract (GRand *rand)
{
  PurserContract contract;

  contract.seat_price
      = g_rand_int_range (rand, 0, 4) == 0 ? 0 : g_rand_int_range (rand, 100, 200000);
  contract.platform_fee = g_rand_boolean (rand) ? 0 : g_rand_int_range (rand, 1, 5000000);
  contract.interval = g_rand_boolean (rand) ? PURSER_CYCLE_MONTHLY : PURSER_CYCLE_ANNUAL;
  return contract;
}

static void
random_seat_change (Sim *sim)
{
  g_autoptr (GError) error = NULL;
  PurserChange change = { 0 };
  PurserSeatFloor floor;
  gint64 seats = sim->sub.seats;
  gboolean ok;

  change.has_seats = TRUE;
  change.seats = g_rand_int_range (sim->rand, 1, (gint32) seats + 12);
  floor.assigned = g_rand_int_range (sim->rand, 0, (gint32) seats + 1);
  floor.allocated = g_rand_int_range (sim->rand, 0, (gint32) seats + 1);

  ok = apply (sim, OP_CHANGE, &change, &floor, &error);
  if (change.seats == seats)
    g_assert_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NO_CHANGE);
  else if (change.seats < seats && change.seats < floor.assigned)
    g_assert_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_SEATS_BELOW_ASSIGNED);
  else if (change.seats < seats && change.seats < floor.allocated)
    g_assert_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_SEATS_BELOW_ALLOCATED);
  else
    {
      g_assert_no_error (error);
      g_assert_true (ok);
      g_assert_cmpint (sim->sub.seats, ==, change.seats);
    }
}

static void
random_cycle_change (Sim *sim)
{
  g_autoptr (GError) error = NULL;
  PurserChange change = { 0 };
  gboolean was_scheduled = sim->sub.has_scheduled_cycle;
  gboolean ok;

  change.has_cycle = TRUE;
  change.cycle = g_rand_boolean (sim->rand) ? PURSER_CYCLE_MONTHLY : PURSER_CYCLE_ANNUAL;
  ok = apply (sim, OP_CHANGE, &change, NULL, &error);

  if (change.cycle == sim->sub.cycle && !ok)
    {
      /* the same cycle with nothing scheduled; or already scheduled */
      g_assert_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NO_CHANGE);
      return;
    }
  if (!ok && was_scheduled && change.cycle == PURSER_CYCLE_MONTHLY)
    {
      g_assert_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NO_CHANGE);
      return;
    }
  g_assert_no_error (error);
}

static void
random_plan_change (Sim *sim)
{
  g_autoptr (GError) error = NULL;
  PurserChange change = { 0 };
  gboolean ok;

  change.has_plan = TRUE;
  change.plan = g_rand_boolean (sim->rand) ? PURSER_PLAN_BUSINESS : PURSER_PLAN_ENTERPRISE;
  if (change.plan == PURSER_PLAN_ENTERPRISE
      && (sim->sub.plan == PURSER_PLAN_BUSINESS || g_rand_boolean (sim->rand)))
    {
      change.has_contract = TRUE;
      change.contract = random_contract (sim->rand);
    }

  ok = apply (sim, OP_CHANGE, &change, NULL, &error);
  if (!ok)
    g_assert_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NO_CHANGE);
}

static void
random_step (Sim *sim)
{
  g_autoptr (GError) error = NULL;
  int dice = g_rand_int_range (sim->rand, 0, 100);
  gboolean was_ending = sim->sub.cancel_at_period_end || !sim->sub.auto_renew;

  if (dice < 45)
    random_seat_change (sim);
  else if (dice < 60)
    random_cycle_change (sim);
  else if (dice < 70)
    {
      if (sim->enterprise)
        random_plan_change (sim);
    }
  else if (dice < 73)
    {
      if (apply (sim, OP_CANCEL_AT_END, NULL, NULL, &error))
        g_assert_true (sim->sub.cancel_at_period_end);
      else
        g_assert_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NO_CHANGE);
    }
  else if (dice < 85)
    {
      if (apply (sim, OP_RESUME, NULL, NULL, &error))
        g_assert_true (was_ending);
      else
        {
          g_assert_false (was_ending);
          g_assert_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NOT_ALLOWED);
        }
    }
  else if (dice < 87)
    {
      /* settings the server flips directly */
      sim->sub.auto_renew = !sim->sub.auto_renew;
      predict_next (sim);
    }
  else if (dice < 94)
    {
      sim->sub.proration_billing = sim->sub.proration_billing == PURSER_PRORATION_TRUE_UP
                                       ? PURSER_PRORATION_IMMEDIATE
                                       : PURSER_PRORATION_TRUE_UP;
      predict_next (sim);
    }
  else if (dice < 99)
    {
      sim->sub.scheduled_billing_day = g_rand_int_range (sim->rand, 1, 29);
      predict_next (sim);
    }
  else
    {
      g_assert_true (apply (sim, OP_CANCEL_NOW, NULL, NULL, &error));
      g_assert_no_error (error);
      g_assert_cmpint (sim->sub.status, ==, PURSER_STATUS_CANCELED);
    }
}

static void
create (Sim *sim)
{
  g_auto (PurserQuote) quote = { 0 };
  g_autoptr (GError) error = NULL;
  PurserChange request = { 0 };
  int billing_day = g_rand_int_range (sim->rand, 0, 29);
  int trial_days
      = g_rand_int_range (sim->rand, 0, 4) == 0 ? g_rand_int_range (sim->rand, 1, 31) : 0;
  PurserCents balance
      = g_rand_int_range (sim->rand, 0, 3) == 0 ? g_rand_int_range (sim->rand, 1, 100000) : 0;
  PurserProrationBilling billing
      = g_rand_boolean (sim->rand) ? PURSER_PRORATION_TRUE_UP : PURSER_PRORATION_IMMEDIATE;

  request.has_plan = request.has_cycle = request.has_seats = TRUE;
  request.plan = sim->enterprise && g_rand_boolean (sim->rand) ? PURSER_PLAN_ENTERPRISE
                                                               : PURSER_PLAN_BUSINESS;
  request.cycle = g_rand_boolean (sim->rand) ? PURSER_CYCLE_MONTHLY : PURSER_CYCLE_ANNUAL;
  request.seats = g_rand_int_range (sim->rand, 1, 60);
  if (request.plan == PURSER_PLAN_ENTERPRISE)
    {
      request.has_contract = TRUE;
      request.contract = random_contract (sim->rand);
    }

  g_assert_true (purser_quote_create (&request, billing_day, trial_days, billing, balance,
                                      sim->today, sim->tax, &quote, &error));
  g_assert_no_error (error);
  sim->initial_balance = balance;
  g_assert_cmpint (quote.invoice_now, ==, trial_days == 0);
  if (quote.invoice_now)
    {
      assert_lines_equal (quote.lines, quote.invoice.lines);
      g_assert_cmpint (quote.amount_due_now, ==, quote.invoice.total);
      count_invoice (sim, &quote.invoice);
    }
  g_assert_true (quote.has_next_invoice);
  g_assert_cmpint (quote.next_invoice_date, ==, quote.after.period.end);

  sim->sub = quote.after;
  memset (&quote.after, 0, sizeof quote.after);
  sim->has_next = quote.has_next_invoice;
  sim->next_date = quote.next_invoice_date;
  sim->next_total = quote.next_invoice_total;
}

static void
run_life (guint32 seed, gboolean enterprise)
{
  static const PurserTaxContext *const taxes[]
      = { &test_no_tax, &test_tax_wa, &tax_de, &tax_reverse, &tax_exempt };
  Sim sim = { 0 };
  int days;
  int lived;
  __int128 error_scaled;

  sim.rand = g_rand_new_with_seed (seed);
  sim.seed = seed;
  sim.enterprise = enterprise;
  sim.tax = taxes[g_rand_int_range (sim.rand, 0, G_N_ELEMENTS (taxes))];
  sim.today = purser_date_from_ymd (2026, 1, 1) + g_rand_int_range (sim.rand, 0, 4 * 365);
  days = g_rand_int_range (sim.rand, 30, 3 * 366);

  create (&sim);
  for (lived = 0; lived <= days; lived++, sim.today++)
    {
      if (sim.sub.status == PURSER_STATUS_CANCELED)
        break;
      if (sim.today == sim.sub.period.end)
        renew (&sim);
      if (sim.sub.status == PURSER_STATUS_CANCELED)
        break;

      /* the last day closes the books: cancel now credits what is left */
      if (lived == days)
        {
          g_autoptr (GError) error = NULL;

          g_assert_true (apply (&sim, OP_CANCEL_NOW, NULL, NULL, &error));
          break;
        }

      if (g_rand_int_range (sim.rand, 0, 100) < 12)
        random_step (&sim);
      if (g_rand_int_range (sim.rand, 0, 100) < 3 && sim.sub.status != PURSER_STATUS_CANCELED)
        random_step (&sim);
      if (sim.sub.status != PURSER_STATUS_CANCELED)
        hold_today (&sim);
    }

  g_assert_cmpint (sim.sub.status, ==, PURSER_STATUS_CANCELED);
  g_assert_true (sim.sub.pending == NULL || sim.sub.pending->len == 0);

  /* no cent appears or disappears: what was billed was invoiced or went to the balance */
  g_assert_cmpint (sim.invoiced - (sim.sub.credit_balance - sim.initial_balance), ==, sim.billed);

  /* each line is off by at most half a cent */
  error_scaled = (__int128) sim.billed * DENOMINATOR - sim.held;
  if (error_scaled < 0)
    error_scaled = -error_scaled;
  if (error_scaled * 2 > (__int128) sim.n_lines * DENOMINATOR)
    g_error ("seed %u: billed %" G_GINT64_FORMAT " cents over %" G_GINT64_FORMAT
             " lines, held %.3f cents",
             seed, sim.billed, sim.n_lines, (double) (sim.held / DENOMINATOR));

  g_test_message (
      "seed %u: %d days planned, ended on day %d, %u quotes, %u invoices, %" G_GINT64_FORMAT
      " lines, billed %" G_GINT64_FORMAT,
      seed, days, lived, sim.n_quotes, sim.n_invoices, sim.n_lines, sim.billed);

  purser_subscription_clear (&sim.sub);
  g_rand_free (sim.rand);
}

static void
test_business_lives (void)
{
  for (guint32 seed = 1; seed <= 1000; seed++)
    run_life (seed, FALSE);
}

static void
test_enterprise_lives (void)
{
  for (guint32 seed = 1001; seed <= 2000; seed++)
    run_life (seed, TRUE);
}

/* The exact-sum check itself must catch a one-cent-per-day drift: a subscription billed a
 * cent too much per day for a month is far outside the tolerance. */
static void
test_tolerance_is_tight (void)
{
  gint64 n_lines = 3;
  __int128 held = (__int128) 29000 * DENOMINATOR;
  __int128 billed_wrong = (__int128) (29000 + 31) * DENOMINATOR;
  __int128 diff = billed_wrong - held;

  g_assert_true (diff * 2 > (__int128) n_lines * DENOMINATOR);
  g_assert_cmpint (DENOMINATOR % 28, ==, 0);
  g_assert_cmpint (DENOMINATOR % 29, ==, 0);
  g_assert_cmpint (DENOMINATOR % 30, ==, 0);
  g_assert_cmpint (DENOMINATOR % 31, ==, 0);
  g_assert_cmpint (DENOMINATOR % 365, ==, 0);
  g_assert_cmpint (DENOMINATOR % 366, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/purser/core/invariants/tolerance", test_tolerance_is_tight);
  g_test_add_func ("/purser/core/invariants/business-lives", test_business_lives);
  g_test_add_func ("/purser/core/invariants/enterprise-lives", test_enterprise_lives);

  return g_test_run ();
}
