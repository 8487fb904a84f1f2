/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "purser-plan.h"

#define BPS_WHOLE 10000

const char *
purser_plan_to_string (PurserPlan plan)
{
  switch (plan)
    {
      case PURSER_PLAN_BUSINESS:
        return "business";
      case PURSER_PLAN_ENTERPRISE:
        return "enterprise";
      default:
        g_return_val_if_reached (NULL);
    }
}

gboolean
purser_plan_from_string (const char *text, PurserPlan *out)
{
  g_return_val_if_fail (out != NULL, FALSE);

  if (g_strcmp0 (text, "business") == 0)
    *out = PURSER_PLAN_BUSINESS;
  else if (g_strcmp0 (text, "enterprise") == 0)
    *out = PURSER_PLAN_ENTERPRISE;
  else
    return FALSE;
  return TRUE;
}

const char *
purser_cycle_to_string (PurserCycle cycle)
{
  switch (cycle)
    {
      case PURSER_CYCLE_MONTHLY:
        return "monthly";
      case PURSER_CYCLE_ANNUAL:
        return "annual";
      default:
        g_return_val_if_reached (NULL);
    }
}

gboolean
purser_cycle_from_string (const char *text, PurserCycle *out)
{
  g_return_val_if_fail (out != NULL, FALSE);

  if (g_strcmp0 (text, "monthly") == 0)
    *out = PURSER_CYCLE_MONTHLY;
  else if (g_strcmp0 (text, "annual") == 0)
    *out = PURSER_CYCLE_ANNUAL;
  else
    return FALSE;
  return TRUE;
}

const char *
purser_plan_display_name (PurserPlan plan)
{
  switch (plan)
    {
      case PURSER_PLAN_BUSINESS:
        return "Business";
      case PURSER_PLAN_ENTERPRISE:
        return "Enterprise";
      default:
        g_return_val_if_reached (NULL);
    }
}

gboolean
purser_plan_is_upgrade (PurserPlan from, PurserPlan to)
{
  return from == PURSER_PLAN_BUSINESS && to == PURSER_PLAN_ENTERPRISE;
}

gboolean
purser_cycle_is_upgrade (PurserCycle from, PurserCycle to)
{
  return from == PURSER_CYCLE_MONTHLY && to == PURSER_CYCLE_ANNUAL;
}

/* A contract price given per `interval`, for one `cycle`. */
static PurserCents
contract_price (PurserCents price, PurserCycle interval, PurserCycle cycle)
{
  if (interval == cycle)
    return price;
  if (cycle == PURSER_CYCLE_ANNUAL)
    return price * 12;
  return purser_mul_div_round (price, 1, 12);
}

PurserCents
purser_plan_seat_price (PurserPlan plan, const PurserContract *contract, PurserCycle cycle)
{
  switch (plan)
    {
      case PURSER_PLAN_BUSINESS:
        if (cycle == PURSER_CYCLE_ANNUAL)
          return purser_mul_div_round (12 * PURSER_BUSINESS_SEAT_MONTHLY,
                                       BPS_WHOLE - PURSER_ANNUAL_DISCOUNT_BPS, BPS_WHOLE);
        return PURSER_BUSINESS_SEAT_MONTHLY;
      case PURSER_PLAN_ENTERPRISE:
        g_return_val_if_fail (contract != NULL, 0);
        return contract_price (contract->seat_price, contract->interval, cycle);
      default:
        g_return_val_if_reached (0);
    }
}

PurserCents
purser_plan_platform_fee (PurserPlan plan, const PurserContract *contract, PurserCycle cycle)
{
  switch (plan)
    {
      case PURSER_PLAN_BUSINESS:
        return 0;
      case PURSER_PLAN_ENTERPRISE:
        g_return_val_if_fail (contract != NULL, 0);
        return contract_price (contract->platform_fee, contract->interval, cycle);
      default:
        g_return_val_if_reached (0);
    }
}

int
purser_period_days (const PurserPeriod *period)
{
  g_return_val_if_fail (period != NULL, 0);

  return period->end - period->start;
}

PurserDate
purser_cycle_advance (PurserDate anchor, PurserCycle cycle, int n)
{
  return purser_date_add_months (anchor, cycle == PURSER_CYCLE_ANNUAL ? 12 * n : n);
}

PurserDate
purser_next_billing_date (PurserDate date, int billing_day)
{
  int year, month, day;

  g_return_val_if_fail (billing_day >= PURSER_BILLING_DAY_MIN
                            && billing_day <= PURSER_BILLING_DAY_MAX,
                        PURSER_DATE_INVALID);

  purser_date_to_ymd (date, &year, &month, &day);
  if (day < billing_day)
    return purser_date_from_ymd (year, month, billing_day);
  /* Day 1–28 exists in every month, so the next month's anchor is exact. */
  return purser_date_add_months (purser_date_from_ymd (year, month, billing_day), 1);
}

void
purser_first_period (PurserDate start, int billing_day, PurserCycle cycle, PurserPeriod *period,
                     PurserPeriod *basis)
{
  PurserDate next;

  g_return_if_fail (period != NULL);
  g_return_if_fail (basis != NULL);
  g_return_if_fail (billing_day >= PURSER_BILLING_DAY_MIN && billing_day <= PURSER_BILLING_DAY_MAX);

  if (purser_date_day (start) == billing_day)
    {
      period->start = start;
      period->end = purser_cycle_advance (start, cycle, 1);
      *basis = *period;
      return;
    }

  next = purser_next_billing_date (start, billing_day);
  period->start = start;
  period->end = next;
  basis->start = purser_cycle_advance (next, cycle, -1);
  basis->end = next;
}

PurserCents
purser_prorate (PurserCents unit_price_for_cycle, gint64 quantity, int days_remaining,
                int days_in_cycle)
{
  g_return_val_if_fail (days_in_cycle > 0, 0);

  return purser_mul_mul_div_round (unit_price_for_cycle, quantity, days_remaining, days_in_cycle);
}
