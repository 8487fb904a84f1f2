/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "purser-date.h"
#include "purser-money.h"

G_BEGIN_DECLS

typedef enum
{
  PURSER_PLAN_BUSINESS,
  PURSER_PLAN_ENTERPRISE,
} PurserPlan;

/* The billing cycle; on the wire "monthly" / "annual". */
typedef enum
{
  PURSER_CYCLE_MONTHLY,
  PURSER_CYCLE_ANNUAL,
} PurserCycle;

#define PURSER_BUSINESS_SEAT_MONTHLY 2900 /* $29.00 per seat per month */
#define PURSER_ANNUAL_DISCOUNT_BPS   1000 /* 10 % off twelve months */
#define PURSER_BILLING_DAY_MIN       1
#define PURSER_BILLING_DAY_MAX       28

/* An Enterprise contract: a negotiated seat price and an optional platform fee, both per
 * `interval` (a month or a year). Prices for the other interval are derived: a year is
 * 12 months (no discount), a month is a year / 12 rounded half away from zero. */
typedef struct
{
  PurserCents seat_price;
  PurserCents platform_fee;
  PurserCycle interval;
} PurserContract;

/* A half-open period [start, end). */
typedef struct
{
  PurserDate start;
  PurserDate end;
} PurserPeriod;

const char *purser_plan_to_string (PurserPlan plan);
gboolean purser_plan_from_string (const char *text, PurserPlan *out);
const char *purser_cycle_to_string (PurserCycle cycle);
gboolean purser_cycle_from_string (const char *text, PurserCycle *out);
/* "Business", "Enterprise"; "monthly", "annual" */
const char *purser_plan_display_name (PurserPlan plan);

/* Business plans rank below Enterprise; monthly below annual. */
gboolean purser_plan_is_upgrade (PurserPlan from, PurserPlan to);
gboolean purser_cycle_is_upgrade (PurserCycle from, PurserCycle to);

/* The price of one seat for one whole cycle: Business monthly 2900, Business annual
 * 12 × 2900 × (1 − 10 %) = 31320; Enterprise from the contract. */
PurserCents purser_plan_seat_price (PurserPlan plan, const PurserContract *contract,
                                    PurserCycle cycle);
/* The platform fee for one whole cycle (0 for Business). */
PurserCents purser_plan_platform_fee (PurserPlan plan, const PurserContract *contract,
                                      PurserCycle cycle);

/* Cycles. A cycle runs from an anchor date (inclusive) to the next (exclusive): one
 * month or twelve months later, on the same day (the billing day, 1–28). */
int purser_period_days (const PurserPeriod *period);
PurserDate purser_cycle_advance (PurserDate anchor, PurserCycle cycle, int n);
/* The first date strictly after `date` whose day of month is `billing_day`. */
PurserDate purser_next_billing_date (PurserDate date, int billing_day);

/* Where a subscription starting on `start` with `billing_day` begins: when start's day is
 * the billing day, `period` is a whole cycle [start, start + 1 cycle) and `basis` equals
 * it; otherwise `period` is the partial stretch [start, next billing date) and `basis` is
 * the whole cycle ending on that date, against which the partial period is prorated. */
void purser_first_period (PurserDate start, int billing_day, PurserCycle cycle,
                          PurserPeriod *period, PurserPeriod *basis);

/* The PRD formula, exact: unit_price_for_cycle × quantity × days_remaining / days_in_cycle,
 * rounded once to the cent, half away from zero. `quantity` may be negative. */
PurserCents purser_prorate (PurserCents unit_price_for_cycle, gint64 quantity, int days_remaining,
                            int days_in_cycle);

G_END_DECLS
