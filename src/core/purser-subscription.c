/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "purser-subscription.h"

#include <string.h>

/* Bounds that keep every sum of lines far inside 64 bits. */
#define SEATS_MAX      1000000
#define PRICE_MAX      G_GINT64_CONSTANT (10000000000) /* $100M per seat or fee per cycle */
#define TRIAL_DAYS_MAX 366

static const char *const status_names[] = {
  [PURSER_STATUS_TRIALING] = "trialing",
  [PURSER_STATUS_ACTIVE] = "active",
  [PURSER_STATUS_PAST_DUE] = "past_due",
  [PURSER_STATUS_CANCELED] = "canceled",
};

GQuark
purser_core_error_quark (void)
{
  return g_quark_from_static_string ("purser-core-error-quark");
}

const char *
purser_status_to_string (PurserStatus status)
{
  g_return_val_if_fail ((guint) status < G_N_ELEMENTS (status_names), NULL);

  return status_names[status];
}

gboolean
purser_status_from_string (const char *text, PurserStatus *out)
{
  g_return_val_if_fail (out != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (status_names); i++)
    if (g_strcmp0 (text, status_names[i]) == 0)
      {
        *out = (PurserStatus) i;
        return TRUE;
      }
  return FALSE;
}

const char *
purser_effective_to_string (PurserEffective effective)
{
  switch (effective)
    {
      case PURSER_EFFECTIVE_NOW:
        return "now";
      case PURSER_EFFECTIVE_PERIOD_END:
        return "period_end";
      default:
        g_return_val_if_reached (NULL);
    }
}

void
purser_subscription_clear (PurserSubscription *sub)
{
  g_return_if_fail (sub != NULL);

  g_clear_pointer (&sub->pending, g_array_unref);
  memset (sub, 0, sizeof *sub);
}

void
purser_subscription_copy (const PurserSubscription *src, PurserSubscription *dest)
{
  g_return_if_fail (src != NULL);
  g_return_if_fail (dest != NULL);

  *dest = *src;
  dest->pending = src->pending != NULL ? purser_lines_copy (src->pending) : NULL;
}

void
purser_quote_clear (PurserQuote *quote)
{
  g_return_if_fail (quote != NULL);

  g_clear_pointer (&quote->lines, g_array_unref);
  purser_invoice_draft_clear (&quote->invoice);
  purser_subscription_clear (&quote->after);
  memset (quote, 0, sizeof *quote);
}

/* Descriptions */

/* Periods are half-open, but people read "Mar 1 – Mar 31": show the last day included. */
static char *
describe_period (const PurserPeriod *period)
{
  g_autofree char *first = purser_date_format_human (period->start);
  g_autofree char *last = purser_date_format_human (period->end - 1);

  return g_strdup_printf ("%s – %s", first, last);
}

static char *
describe_proration (int days, int days_in_cycle)
{
  return g_strdup_printf ("prorated %d of %d days", days, days_in_cycle);
}

/* "Business seats (monthly), Mar 11, 2026 – Mar 31, 2026, prorated 21 of 31 days" */
static char *
describe_cycle_item (const char *what, const PurserSubscription *sub)
{
  g_autofree char *range = describe_period (&sub->period);
  int days = purser_period_days (&sub->period);
  int cycle_days = purser_period_days (&sub->basis);

  if (days == cycle_days)
    return g_strdup_printf ("%s %s (%s), %s", purser_plan_display_name (sub->plan), what,
                            purser_cycle_to_string (sub->cycle), range);
  else
    {
      g_autofree char *prorated = describe_proration (days, cycle_days);

      return g_strdup_printf ("%s %s (%s), %s, %s", purser_plan_display_name (sub->plan), what,
                              purser_cycle_to_string (sub->cycle), range, prorated);
    }
}

/* Lines */

static gboolean
lines_nonempty (const GArray *lines)
{
  return lines != NULL && lines->len > 0;
}

static void
lines_append_copies (GArray *dest, const GArray *src)
{
  if (src == NULL)
    return;
  for (guint i = 0; i < src->len; i++)
    {
      PurserLine copy;

      purser_line_copy (&g_array_index (src, PurserLine, i), &copy);
      g_array_append_val (dest, copy);
    }
}

static PurserCents
lines_sum (const GArray *lines)
{
  PurserCents sum = 0;

  for (guint i = 0; i < lines->len; i++)
    sum += g_array_index (lines, PurserLine, i).amount;
  return sum;
}

static PurserCents
seat_price (const PurserSubscription *sub)
{
  return purser_plan_seat_price (sub->plan, &sub->contract, sub->cycle);
}

static PurserCents
platform_fee (const PurserSubscription *sub)
{
  return purser_plan_platform_fee (sub->plan, &sub->contract, sub->cycle);
}

/* Seats and platform fee for `sub`'s current period, prorated when it is partial. */
static void
add_cycle_lines (GArray *lines, const PurserSubscription *sub)
{
  int days = purser_period_days (&sub->period);
  int cycle_days = purser_period_days (&sub->basis);
  PurserCents unit = seat_price (sub);
  PurserCents fee = platform_fee (sub);
  g_autofree char *seats_text = describe_cycle_item ("seats", sub);

  purser_lines_add (lines, PURSER_LINE_SEATS, seats_text, sub->seats, unit,
                    purser_prorate (unit, sub->seats, days, cycle_days), sub->period);

  if (fee > 0)
    {
      g_autofree char *fee_text = describe_cycle_item ("platform fee", sub);

      purser_lines_add (lines, PURSER_LINE_PLATFORM_FEE, fee_text, 1, fee,
                        purser_prorate (fee, 1, days, cycle_days), sub->period);
    }
}

/* Negative lines for what was paid in advance for [today, period.end). */
static void
add_unused_credit (GArray *lines, const PurserSubscription *sub, PurserDate today)
{
  PurserPeriod unused = { today, sub->period.end };
  int days = purser_period_days (&unused);
  int cycle_days = purser_period_days (&sub->basis);
  PurserCents unit = seat_price (sub);
  PurserCents fee = platform_fee (sub);
  g_autofree char *from = purser_date_format_human (today);
  g_autofree char *prorated = describe_proration (days, cycle_days);

  if (days <= 0)
    return;

  if (unit > 0)
    {
      g_autofree char *text = g_strdup_printf (
          "Unused time on %" G_GINT64_FORMAT " %s %s (%s) from %s, %s", sub->seats,
          purser_plan_display_name (sub->plan), purser_plural (sub->seats, "seat", "seats"),
          purser_cycle_to_string (sub->cycle), from, prorated);

      purser_lines_add (lines, PURSER_LINE_CREDIT, text, -sub->seats, unit,
                        purser_prorate (unit, -sub->seats, days, cycle_days), unused);
    }

  if (fee > 0)
    {
      g_autofree char *text
          = g_strdup_printf ("Unused time on the %s platform fee (%s) from %s, %s",
                             purser_plan_display_name (sub->plan),
                             purser_cycle_to_string (sub->cycle), from, prorated);

      purser_lines_add (lines, PURSER_LINE_CREDIT, text, -1, fee,
                        purser_prorate (fee, -1, days, cycle_days), unused);
    }
}

static void
clear_schedule (PurserSubscription *sub)
{
  sub->has_scheduled_plan = FALSE;
  sub->has_scheduled_cycle = FALSE;
  sub->scheduled_billing_day = 0;
  memset (&sub->scheduled_contract, 0, sizeof sub->scheduled_contract);
}

static void
take_pending (PurserSubscription *sub, GArray *charges)
{
  lines_append_copies (charges, sub->pending);
  g_clear_pointer (&sub->pending, g_array_unref);
}

static int
billing_day_for (PurserDate date)
{
  int day = purser_date_day (date);

  return day <= PURSER_BILLING_DAY_MAX ? day : PURSER_BILLING_DAY_MIN;
}

/* Quotes */

static void
quote_invoice_now (PurserQuote *quote, GArray *charges, const PurserTaxContext *tax)
{
  purser_invoice_assemble (charges, &quote->after.credit_balance, tax, &quote->invoice);
  quote->invoice_now = TRUE;
  quote->lines = purser_lines_copy (quote->invoice.lines);
  quote->amount_due_now = quote->invoice.total;
}

static void
quote_fill_next_invoice (PurserQuote *quote, const PurserTaxContext *tax)
{
  quote->has_next_invoice = purser_subscription_next_invoice (
      &quote->after, tax, &quote->next_invoice_date, &quote->next_invoice_total);
}

/* The lines of the next cycle invoice without its tax line: what a scheduled change shows. */
static GArray *
next_cycle_lines (const PurserSubscription *sub, const PurserTaxContext *tax)
{
  PurserSubscription next = { 0 };
  PurserInvoiceDraft invoice = { 0 };
  gboolean ended, has_invoice;
  GArray *lines = purser_lines_new ();

  purser_subscription_renew (sub, tax, &next, &ended, &has_invoice, &invoice);
  if (has_invoice)
    for (guint i = 0; i < invoice.lines->len; i++)
      {
        const PurserLine *line = &g_array_index (invoice.lines, PurserLine, i);

        if (line->kind != PURSER_LINE_TAX)
          purser_lines_add (lines, line->kind, line->description, line->quantity, line->unit_amount,
                            line->amount, line->period);
      }

  purser_invoice_draft_clear (&invoice);
  purser_subscription_clear (&next);
  return lines;
}

static gboolean
contract_is_valid (const PurserContract *contract)
{
  return contract->seat_price >= 0 && contract->seat_price <= PRICE_MAX
         && contract->platform_fee >= 0 && contract->platform_fee <= PRICE_MAX
         && (contract->interval == PURSER_CYCLE_MONTHLY
             || contract->interval == PURSER_CYCLE_ANNUAL);
}

static gboolean
contract_equal (const PurserContract *a, const PurserContract *b)
{
  return a->seat_price == b->seat_price && a->platform_fee == b->platform_fee
         && a->interval == b->interval;
}

static gboolean
check_seats (gint64 seats, GError **error)
{
  if (seats < 1 || seats > SEATS_MAX)
    {
      g_set_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_INVALID,
                   "The number of seats must be between 1 and %d.", SEATS_MAX);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_floor (gint64 seats, const PurserSeatFloor *floor, GError **error)
{
  if (floor == NULL)
    return TRUE;

  if (seats < floor->assigned)
    {
      gint64 revoke = floor->assigned - seats;

      g_set_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_SEATS_BELOW_ASSIGNED,
                   "%" G_GINT64_FORMAT " %s assigned; revoke %" G_GINT64_FORMAT
                   " %s before lowering seats to %" G_GINT64_FORMAT ".",
                   floor->assigned, purser_plural (floor->assigned, "license is", "licenses are"),
                   revoke, purser_plural (revoke, "license", "licenses"), seats);
      return FALSE;
    }

  if (seats < floor->allocated)
    {
      gint64 release = floor->allocated - seats;

      g_set_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_SEATS_BELOW_ALLOCATED,
                   "%" G_GINT64_FORMAT " %s allocated to departments; reduce the allocations "
                   "by %" G_GINT64_FORMAT " before lowering seats to %" G_GINT64_FORMAT ".",
                   floor->allocated, purser_plural (floor->allocated, "seat is", "seats are"),
                   release, seats);
      return FALSE;
    }

  return TRUE;
}

static gboolean
check_open (const PurserSubscription *sub, PurserDate today, GError **error)
{
  if (sub->status == PURSER_STATUS_CANCELED)
    {
      g_set_error_literal (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NOT_ALLOWED,
                           "The subscription is canceled; start a new subscription instead.");
      return FALSE;
    }

  if (today < sub->period.start || today >= sub->period.end)
    {
      g_autofree char *day = purser_date_format (today);
      g_autofree char *range = describe_period (&sub->period);

      g_set_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_INVALID,
                   "%s is outside the current period (%s).", day, range);
      return FALSE;
    }

  return TRUE;
}

gboolean
purser_quote_create (const PurserChange *request, int billing_day, int trial_days,
                     PurserProrationBilling proration_billing, PurserCents credit_balance,
                     PurserDate today, const PurserTaxContext *tax, PurserQuote *out,
                     GError **error)
{
  PurserSubscription *after;

  g_return_val_if_fail (request != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  memset (out, 0, sizeof *out);

  if (!request->has_plan || !request->has_cycle || !request->has_seats)
    {
      g_set_error_literal (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_INVALID,
                           "A new subscription needs a plan, a billing cycle and seats.");
      return FALSE;
    }
  if (!check_seats (request->seats, error))
    return FALSE;
  if (request->plan == PURSER_PLAN_ENTERPRISE && !request->has_contract)
    {
      g_set_error_literal (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_INVALID,
                           "The Enterprise plan needs a contract (seat price and platform fee).");
      return FALSE;
    }
  if (request->plan == PURSER_PLAN_BUSINESS && request->has_contract)
    {
      g_set_error_literal (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_INVALID,
                           "The Business plan has list prices; only Enterprise takes a contract.");
      return FALSE;
    }
  if (request->has_contract && !contract_is_valid (&request->contract))
    {
      g_set_error_literal (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_INVALID,
                           "The contract prices must be between $0 and $100,000,000.");
      return FALSE;
    }
  /* 0: the day the first paid period starts (today, or when the trial ends), as Stripe does. */
  if (billing_day == 0 && trial_days >= 0 && trial_days <= TRIAL_DAYS_MAX)
    billing_day = billing_day_for (today + trial_days);
  if (billing_day < PURSER_BILLING_DAY_MIN || billing_day > PURSER_BILLING_DAY_MAX)
    {
      g_set_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_INVALID,
                   "The billing day must be between %d and %d.", PURSER_BILLING_DAY_MIN,
                   PURSER_BILLING_DAY_MAX);
      return FALSE;
    }
  if (trial_days < 0 || trial_days > TRIAL_DAYS_MAX)
    {
      g_set_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_INVALID,
                   "A trial lasts between 0 and %d days.", TRIAL_DAYS_MAX);
      return FALSE;
    }
  if (credit_balance < 0)
    {
      g_set_error_literal (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_INVALID,
                           "A credit balance cannot be negative.");
      return FALSE;
    }

  after = &out->after;
  after->plan = request->plan;
  after->cycle = request->cycle;
  after->seats = request->seats;
  if (request->plan == PURSER_PLAN_ENTERPRISE)
    after->contract = request->contract;
  after->billing_day = billing_day;
  after->auto_renew = TRUE;
  after->proration_billing = proration_billing;
  after->credit_balance = credit_balance;
  out->effective = PURSER_EFFECTIVE_NOW;

  if (trial_days > 0)
    {
      after->status = PURSER_STATUS_TRIALING;
      after->period.start = today;
      after->period.end = today + trial_days;
      after->basis = after->period;
      out->lines = purser_lines_new ();
    }
  else
    {
      GArray *charges = purser_lines_new ();

      after->status = PURSER_STATUS_ACTIVE;
      purser_first_period (today, billing_day, request->cycle, &after->period, &after->basis);
      add_cycle_lines (charges, after);
      quote_invoice_now (out, charges, tax);
    }

  quote_fill_next_invoice (out, tax);
  return TRUE;
}

/* During a trial nothing has been paid: every change applies at once, without lines. */
static gboolean
change_trial (PurserQuote *out, const PurserChange *change, gint64 seats, GError **error)
{
  PurserSubscription *after = &out->after;
  gboolean changed = FALSE;

  if (change->has_plan && change->plan != after->plan)
    {
      after->plan = change->plan;
      changed = TRUE;
    }
  if (change->has_cycle && change->cycle != after->cycle)
    {
      after->cycle = change->cycle;
      changed = TRUE;
    }
  if (after->plan == PURSER_PLAN_ENTERPRISE && change->has_contract
      && !contract_equal (&change->contract, &after->contract))
    {
      after->contract = change->contract;
      changed = TRUE;
    }
  if (after->plan == PURSER_PLAN_BUSINESS)
    memset (&after->contract, 0, sizeof after->contract);
  if (seats != after->seats)
    {
      after->seats = seats;
      changed = TRUE;
    }

  if (!changed)
    {
      g_set_error_literal (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NO_CHANGE,
                           "The subscription already has this plan, cycle and seats.");
      return FALSE;
    }

  clear_schedule (after);
  out->lines = purser_lines_new ();
  out->effective = PURSER_EFFECTIVE_NOW;
  return TRUE;
}

/* Upgrade: credit the unused part of the period, start a new cycle today, invoice it. */
static void
change_restart (PurserQuote *out, const PurserSubscription *sub, PurserPlan plan, PurserCycle cycle,
                gint64 seats, const PurserContract *contract, PurserDate today,
                const PurserTaxContext *tax)
{
  PurserSubscription *after = &out->after;
  GArray *charges = purser_lines_new ();

  add_unused_credit (charges, sub, today);

  after->plan = plan;
  after->cycle = cycle;
  after->seats = seats;
  if (plan == PURSER_PLAN_ENTERPRISE)
    after->contract = *contract;
  else
    memset (&after->contract, 0, sizeof after->contract);
  after->billing_day = billing_day_for (today);
  purser_first_period (today, after->billing_day, cycle, &after->period, &after->basis);
  /* A new cycle supersedes what was scheduled for the end of the old one. */
  clear_schedule (after);

  add_cycle_lines (charges, after);
  /* True-up lines wait for the next cycle invoice, and this is it. */
  take_pending (after, charges);

  out->effective = PURSER_EFFECTIVE_NOW;
  quote_invoice_now (out, charges, tax);
}

/* Seats up or down within the current period. */
static void
change_seats (PurserQuote *out, const PurserSubscription *sub, gint64 seats, PurserDate today,
              const PurserTaxContext *tax)
{
  PurserSubscription *after = &out->after;
  PurserPeriod rest = { today, sub->period.end };
  int days = purser_period_days (&rest);
  int cycle_days = purser_period_days (&sub->basis);
  gint64 delta = seats - sub->seats;
  gint64 count = delta < 0 ? -delta : delta;
  PurserCents unit = seat_price (sub);
  PurserCents amount = purser_prorate (unit, delta, days, cycle_days);
  g_autofree char *when = purser_date_format_human (today);
  g_autofree char *prorated = describe_proration (days, cycle_days);
  g_autofree char *text = g_strdup_printf ("%" G_GINT64_FORMAT " %s %s on %s, %s", count,
                                           purser_plural (count, "seat", "seats"),
                                           delta > 0 ? "added" : "removed", when, prorated);
  GArray *lines = purser_lines_new ();

  g_assert (delta != 0);

  after->seats = seats;
  out->effective = PURSER_EFFECTIVE_NOW;
  purser_lines_add (lines, delta > 0 ? PURSER_LINE_PRORATION : PURSER_LINE_CREDIT, text, delta,
                    unit, amount, rest);

  if (delta < 0)
    {
      after->credit_balance += -amount;
      out->lines = lines;
    }
  else if (sub->proration_billing == PURSER_PRORATION_TRUE_UP || amount == 0)
    {
      /* Seats at $0 (a free contract) are not worth an invoice of $0. */
      if (amount != 0)
        {
          if (after->pending == NULL)
            after->pending = purser_lines_new ();
          lines_append_copies (after->pending, lines);
        }
      out->lines = lines;
    }
  else
    quote_invoice_now (out, lines, tax);
}

gboolean
purser_quote_change (const PurserSubscription *sub, const PurserChange *change,
                     const PurserSeatFloor *floor, PurserDate today, const PurserTaxContext *tax,
                     PurserQuote *out, GError **error)
{
  PurserPlan plan;
  PurserCycle cycle;
  gint64 seats;
  PurserContract contract;
  gboolean upgrade, downgrade, new_contract;
  gboolean schedule_changed = FALSE;
  PurserSubscription *after;

  g_return_val_if_fail (sub != NULL, FALSE);
  g_return_val_if_fail (change != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  memset (out, 0, sizeof *out);

  if (!check_open (sub, today, error))
    return FALSE;

  plan = change->has_plan ? change->plan : sub->plan;
  cycle = change->has_cycle ? change->cycle : sub->cycle;
  seats = change->has_seats ? change->seats : sub->seats;
  contract = change->has_contract ? change->contract : sub->contract;

  if (change->has_seats && !check_seats (seats, error))
    return FALSE;
  if (change->has_contract && plan != PURSER_PLAN_ENTERPRISE)
    {
      g_set_error_literal (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_INVALID,
                           "The Business plan has list prices; only Enterprise takes a contract.");
      return FALSE;
    }
  if (plan == PURSER_PLAN_ENTERPRISE && sub->plan != PURSER_PLAN_ENTERPRISE
      && !change->has_contract)
    {
      g_set_error_literal (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_INVALID,
                           "Moving to Enterprise needs a contract (seat price and platform fee).");
      return FALSE;
    }
  if (change->has_contract && !contract_is_valid (&contract))
    {
      g_set_error_literal (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_INVALID,
                           "The contract prices must be between $0 and $100,000,000.");
      return FALSE;
    }

  new_contract = sub->plan == PURSER_PLAN_ENTERPRISE && plan == PURSER_PLAN_ENTERPRISE
                 && change->has_contract && !contract_equal (&contract, &sub->contract);
  upgrade = purser_plan_is_upgrade (sub->plan, plan) || purser_cycle_is_upgrade (sub->cycle, cycle)
            || new_contract;
  downgrade
      = purser_plan_is_upgrade (plan, sub->plan) || purser_cycle_is_upgrade (cycle, sub->cycle);
  if (upgrade && downgrade)
    {
      g_set_error_literal (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_INVALID,
                           "An upgrade applies now and a downgrade at the period end; "
                           "request them as two changes.");
      return FALSE;
    }

  if (seats < sub->seats && !check_floor (seats, floor, error))
    return FALSE;

  purser_subscription_copy (sub, &out->after);
  after = &out->after;

  if (sub->status == PURSER_STATUS_TRIALING)
    {
      if (!change_trial (out, change, seats, error))
        {
          purser_quote_clear (out);
          return FALSE;
        }
      quote_fill_next_invoice (out, tax);
      return TRUE;
    }

  if (upgrade)
    {
      change_restart (out, sub, plan, cycle, seats, &contract, today, tax);
      quote_fill_next_invoice (out, tax);
      return TRUE;
    }

  /* Asking for the current plan or cycle again withdraws a scheduled downgrade. */
  if (change->has_plan && plan == sub->plan && after->has_scheduled_plan)
    {
      after->has_scheduled_plan = FALSE;
      memset (&after->scheduled_contract, 0, sizeof after->scheduled_contract);
      schedule_changed = TRUE;
    }
  if (change->has_cycle && cycle == sub->cycle && after->has_scheduled_cycle)
    {
      after->has_scheduled_cycle = FALSE;
      schedule_changed = TRUE;
    }
  if (plan != sub->plan && !(after->has_scheduled_plan && after->scheduled_plan == plan))
    {
      after->has_scheduled_plan = TRUE;
      after->scheduled_plan = plan;
      memset (&after->scheduled_contract, 0, sizeof after->scheduled_contract);
      schedule_changed = TRUE;
    }
  if (cycle != sub->cycle && !(after->has_scheduled_cycle && after->scheduled_cycle == cycle))
    {
      after->has_scheduled_cycle = TRUE;
      after->scheduled_cycle = cycle;
      schedule_changed = TRUE;
    }

  if (seats != sub->seats)
    change_seats (out, sub, seats, today, tax);
  else if (schedule_changed)
    {
      out->effective = PURSER_EFFECTIVE_PERIOD_END;
      out->lines = next_cycle_lines (after, tax);
    }
  else
    {
      g_set_error_literal (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NO_CHANGE,
                           "The subscription already has this plan, cycle and seats.");
      purser_quote_clear (out);
      return FALSE;
    }

  quote_fill_next_invoice (out, tax);
  return TRUE;
}

gboolean
purser_quote_cancel (const PurserSubscription *sub, gboolean at_period_end, PurserDate today,
                     const PurserTaxContext *tax, PurserQuote *out, GError **error)
{
  PurserSubscription *after;

  g_return_val_if_fail (sub != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  memset (out, 0, sizeof *out);

  if (!check_open (sub, today, error))
    return FALSE;

  if (at_period_end && sub->cancel_at_period_end)
    {
      g_autofree char *end = purser_date_format_human (sub->period.end);

      g_set_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NO_CHANGE,
                   "The subscription is already set to end on %s.", end);
      return FALSE;
    }

  purser_subscription_copy (sub, &out->after);
  after = &out->after;

  if (at_period_end)
    {
      after->cancel_at_period_end = TRUE;
      out->lines = purser_lines_new ();
      out->effective = PURSER_EFFECTIVE_PERIOD_END;
    }
  else
    {
      GArray *charges = purser_lines_new ();

      /* A trial was not paid for: nothing to credit. */
      if (sub->status != PURSER_STATUS_TRIALING)
        add_unused_credit (charges, sub, today);

      after->status = PURSER_STATUS_CANCELED;
      after->period.end = today;
      after->cancel_at_period_end = FALSE;
      clear_schedule (after);
      out->effective = PURSER_EFFECTIVE_NOW;

      if (lines_nonempty (after->pending))
        {
          /* The final invoice: true-up lines, less the unused time. */
          GArray *lines = purser_lines_new ();

          take_pending (after, lines);
          lines_append_copies (lines, charges);
          g_array_unref (charges);
          quote_invoice_now (out, lines, tax);
        }
      else
        {
          g_clear_pointer (&after->pending, g_array_unref);
          after->credit_balance += -lines_sum (charges);
          out->lines = charges;
        }
    }

  quote_fill_next_invoice (out, tax);
  return TRUE;
}

gboolean
purser_quote_resume (const PurserSubscription *sub, PurserDate today, const PurserTaxContext *tax,
                     PurserQuote *out, GError **error)
{
  g_return_val_if_fail (sub != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  memset (out, 0, sizeof *out);

  if (!check_open (sub, today, error))
    return FALSE;

  if (!sub->cancel_at_period_end && sub->auto_renew)
    {
      g_set_error_literal (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NOT_ALLOWED,
                           "The subscription is not set to end; there is nothing to resume.");
      return FALSE;
    }

  purser_subscription_copy (sub, &out->after);
  out->after.cancel_at_period_end = FALSE;
  out->after.auto_renew = TRUE;
  out->lines = purser_lines_new ();
  out->effective = PURSER_EFFECTIVE_NOW;

  quote_fill_next_invoice (out, tax);
  return TRUE;
}

void
purser_subscription_renew (const PurserSubscription *sub, const PurserTaxContext *tax,
                           PurserSubscription *next, gboolean *ended, gboolean *has_invoice,
                           PurserInvoiceDraft *invoice)
{
  GArray *charges;

  g_return_if_fail (sub != NULL);
  g_return_if_fail (next != NULL);
  g_return_if_fail (ended != NULL);
  g_return_if_fail (has_invoice != NULL);
  g_return_if_fail (invoice != NULL);

  purser_subscription_copy (sub, next);
  memset (invoice, 0, sizeof *invoice);
  *ended = FALSE;
  *has_invoice = FALSE;

  if (sub->status == PURSER_STATUS_CANCELED)
    {
      *ended = TRUE;
      return;
    }

  if (sub->cancel_at_period_end || !sub->auto_renew)
    {
      *ended = TRUE;
      next->status = PURSER_STATUS_CANCELED;
      next->cancel_at_period_end = FALSE;
      clear_schedule (next);
      if (lines_nonempty (next->pending))
        {
          charges = purser_lines_new ();
          take_pending (next, charges);
          purser_invoice_assemble (charges, &next->credit_balance, tax, invoice);
          *has_invoice = TRUE;
        }
      g_clear_pointer (&next->pending, g_array_unref);
      return;
    }

  if (sub->has_scheduled_plan)
    {
      next->plan = sub->scheduled_plan;
      if (next->plan == PURSER_PLAN_ENTERPRISE)
        next->contract = sub->scheduled_contract;
      else
        memset (&next->contract, 0, sizeof next->contract);
    }
  if (sub->has_scheduled_cycle)
    next->cycle = sub->scheduled_cycle;
  if (sub->scheduled_billing_day >= PURSER_BILLING_DAY_MIN
      && sub->scheduled_billing_day <= PURSER_BILLING_DAY_MAX)
    next->billing_day = sub->scheduled_billing_day;
  clear_schedule (next);

  /* Also covers a trial ending on another day than the billing day: a partial period. */
  purser_first_period (sub->period.end, next->billing_day, next->cycle, &next->period,
                       &next->basis);
  if (next->status == PURSER_STATUS_TRIALING)
    next->status = PURSER_STATUS_ACTIVE;

  charges = purser_lines_new ();
  add_cycle_lines (charges, next);
  take_pending (next, charges);
  purser_invoice_assemble (charges, &next->credit_balance, tax, invoice);
  *has_invoice = TRUE;
}

gboolean
purser_subscription_next_invoice (const PurserSubscription *sub, const PurserTaxContext *tax,
                                  PurserDate *date, PurserCents *total)
{
  PurserSubscription next = { 0 };
  PurserInvoiceDraft invoice = { 0 };
  gboolean ended, has_invoice;

  g_return_val_if_fail (sub != NULL, FALSE);

  purser_subscription_renew (sub, tax, &next, &ended, &has_invoice, &invoice);
  if (has_invoice)
    {
      if (date != NULL)
        *date = sub->period.end;
      if (total != NULL)
        *total = invoice.total;
    }

  purser_invoice_draft_clear (&invoice);
  purser_subscription_clear (&next);
  return has_invoice;
}
