/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "core-test-util.h"

static void
test_strings (void)
{
  PurserPlan plan;
  PurserCycle cycle;

  g_assert_cmpstr (purser_plan_to_string (PURSER_PLAN_BUSINESS), ==, "business");
  g_assert_cmpstr (purser_plan_to_string (PURSER_PLAN_ENTERPRISE), ==, "enterprise");
  g_assert_cmpstr (purser_plan_display_name (PURSER_PLAN_BUSINESS), ==, "Business");
  g_assert_cmpstr (purser_plan_display_name (PURSER_PLAN_ENTERPRISE), ==, "Enterprise");
  g_assert_cmpstr (purser_cycle_to_string (PURSER_CYCLE_MONTHLY), ==, "monthly");
  g_assert_cmpstr (purser_cycle_to_string (PURSER_CYCLE_ANNUAL), ==, "annual");

  g_assert_true (purser_plan_from_string ("enterprise", &plan));
  g_assert_cmpint (plan, ==, PURSER_PLAN_ENTERPRISE);
  g_assert_true (purser_plan_from_string ("business", &plan));
  g_assert_cmpint (plan, ==, PURSER_PLAN_BUSINESS);
  g_assert_false (purser_plan_from_string ("Business", &plan));
  g_assert_false (purser_plan_from_string ("", &plan));
  g_assert_false (purser_plan_from_string (NULL, &plan));

  g_assert_true (purser_cycle_from_string ("annual", &cycle));
  g_assert_cmpint (cycle, ==, PURSER_CYCLE_ANNUAL);
  g_assert_true (purser_cycle_from_string ("monthly", &cycle));
  g_assert_cmpint (cycle, ==, PURSER_CYCLE_MONTHLY);
  g_assert_false (purser_cycle_from_string ("yearly", &cycle));
  g_assert_false (purser_cycle_from_string (NULL, &cycle));
}

static void
test_upgrades (void)
{
  g_assert_true (purser_plan_is_upgrade (PURSER_PLAN_BUSINESS, PURSER_PLAN_ENTERPRISE));
  g_assert_false (purser_plan_is_upgrade (PURSER_PLAN_ENTERPRISE, PURSER_PLAN_BUSINESS));
  g_assert_false (purser_plan_is_upgrade (PURSER_PLAN_BUSINESS, PURSER_PLAN_BUSINESS));
  g_assert_true (purser_cycle_is_upgrade (PURSER_CYCLE_MONTHLY, PURSER_CYCLE_ANNUAL));
  g_assert_false (purser_cycle_is_upgrade (PURSER_CYCLE_ANNUAL, PURSER_CYCLE_MONTHLY));
  g_assert_false (purser_cycle_is_upgrade (PURSER_CYCLE_ANNUAL, PURSER_CYCLE_ANNUAL));
}

static void
test_prices (void)
{
  PurserContract monthly = { 5000, 100000, PURSER_CYCLE_MONTHLY };
  PurserContract annual = { 50000, 1200001, PURSER_CYCLE_ANNUAL };
  PurserContract half = { 6, 18, PURSER_CYCLE_ANNUAL };

  g_assert_cmpint (purser_plan_seat_price (PURSER_PLAN_BUSINESS, NULL, PURSER_CYCLE_MONTHLY), ==,
                   2900);
  g_assert_cmpint (purser_plan_seat_price (PURSER_PLAN_BUSINESS, NULL, PURSER_CYCLE_ANNUAL), ==,
                   31320);
  /* a contract on Business is ignored: list prices */
  g_assert_cmpint (purser_plan_seat_price (PURSER_PLAN_BUSINESS, &monthly, PURSER_CYCLE_ANNUAL), ==,
                   31320);
  g_assert_cmpint (purser_plan_platform_fee (PURSER_PLAN_BUSINESS, &monthly, PURSER_CYCLE_ANNUAL),
                   ==, 0);
  g_assert_cmpint (purser_plan_platform_fee (PURSER_PLAN_BUSINESS, NULL, PURSER_CYCLE_MONTHLY), ==,
                   0);

  /* a year is twelve months, without discount */
  g_assert_cmpint (purser_plan_seat_price (PURSER_PLAN_ENTERPRISE, &monthly, PURSER_CYCLE_MONTHLY),
                   ==, 5000);
  g_assert_cmpint (purser_plan_seat_price (PURSER_PLAN_ENTERPRISE, &monthly, PURSER_CYCLE_ANNUAL),
                   ==, 60000);
  g_assert_cmpint (
      purser_plan_platform_fee (PURSER_PLAN_ENTERPRISE, &monthly, PURSER_CYCLE_MONTHLY), ==,
      100000);
  g_assert_cmpint (purser_plan_platform_fee (PURSER_PLAN_ENTERPRISE, &monthly, PURSER_CYCLE_ANNUAL),
                   ==, 1200000);

  /* a month is a year / 12, half away from zero */
  g_assert_cmpint (purser_plan_seat_price (PURSER_PLAN_ENTERPRISE, &annual, PURSER_CYCLE_ANNUAL),
                   ==, 50000);
  g_assert_cmpint (purser_plan_seat_price (PURSER_PLAN_ENTERPRISE, &annual, PURSER_CYCLE_MONTHLY),
                   ==, 4167);
  g_assert_cmpint (purser_plan_platform_fee (PURSER_PLAN_ENTERPRISE, &annual, PURSER_CYCLE_MONTHLY),
                   ==, 100000);
  g_assert_cmpint (purser_plan_seat_price (PURSER_PLAN_ENTERPRISE, &half, PURSER_CYCLE_MONTHLY), ==,
                   1);
  g_assert_cmpint (purser_plan_platform_fee (PURSER_PLAN_ENTERPRISE, &half, PURSER_CYCLE_MONTHLY),
                   ==, 2);
}

static void
test_period_days (void)
{
  PurserPeriod march = { D ("2026-03-01"), D ("2026-04-01") };
  PurserPeriod feb = { D ("2026-02-01"), D ("2026-03-01") };
  PurserPeriod feb_leap = { D ("2028-02-01"), D ("2028-03-01") };
  PurserPeriod year = { D ("2026-01-15"), D ("2027-01-15") };
  PurserPeriod leap_year = { D ("2027-03-01"), D ("2028-03-01") };
  PurserPeriod after_leap = { D ("2028-03-01"), D ("2029-03-01") };

  g_assert_cmpint (purser_period_days (&march), ==, 31);
  g_assert_cmpint (purser_period_days (&feb), ==, 28);
  g_assert_cmpint (purser_period_days (&feb_leap), ==, 29);
  g_assert_cmpint (purser_period_days (&year), ==, 365);
  g_assert_cmpint (purser_period_days (&leap_year), ==, 366);
  g_assert_cmpint (purser_period_days (&after_leap), ==, 365);
}

static void
test_cycle_advance (void)
{
  g_assert_cmpint (purser_cycle_advance (D ("2026-01-15"), PURSER_CYCLE_MONTHLY, 1), ==,
                   D ("2026-02-15"));
  g_assert_cmpint (purser_cycle_advance (D ("2026-01-15"), PURSER_CYCLE_MONTHLY, 12), ==,
                   D ("2027-01-15"));
  g_assert_cmpint (purser_cycle_advance (D ("2026-01-15"), PURSER_CYCLE_ANNUAL, 1), ==,
                   D ("2027-01-15"));
  g_assert_cmpint (purser_cycle_advance (D ("2026-04-01"), PURSER_CYCLE_ANNUAL, -1), ==,
                   D ("2025-04-01"));
  g_assert_cmpint (purser_cycle_advance (D ("2028-02-28"), PURSER_CYCLE_ANNUAL, 1), ==,
                   D ("2029-02-28"));
  g_assert_cmpint (purser_cycle_advance (D ("2026-12-28"), PURSER_CYCLE_MONTHLY, 2), ==,
                   D ("2027-02-28"));
}

static void
test_next_billing_date (void)
{
  static const struct
  {
    const char *date;
    int day;
    const char *next;
  } cases[] = {
    { "2026-03-11", 1, "2026-04-01" },  { "2026-03-01", 1, "2026-04-01" }, /* strictly after */
    { "2026-02-28", 1, "2026-03-01" },  { "2026-03-10", 15, "2026-03-15" },
    { "2026-03-15", 15, "2026-04-15" }, { "2026-12-20", 15, "2027-01-15" },
    { "2026-01-31", 28, "2026-02-28" }, { "2028-02-28", 28, "2028-03-28" },
    { "2028-02-29", 28, "2028-03-28" }, { "2026-12-31", 1, "2027-01-01" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    g_assert_cmpint (purser_next_billing_date (D (cases[i].date), cases[i].day), ==,
                     D (cases[i].next));
}

static void
assert_first_period (const char *start, int billing_day, PurserCycle cycle,
                     const char *period_start, const char *period_end, const char *basis_start,
                     const char *basis_end)
{
  PurserPeriod period, basis;

  purser_first_period (D (start), billing_day, cycle, &period, &basis);
  g_assert_cmpint (period.start, ==, D (period_start));
  g_assert_cmpint (period.end, ==, D (period_end));
  g_assert_cmpint (basis.start, ==, D (basis_start));
  g_assert_cmpint (basis.end, ==, D (basis_end));
}

static void
test_first_period (void)
{
  /* the example of the decisions: prorated against the year ending on the next anchor */
  assert_first_period ("2026-03-11", 1, PURSER_CYCLE_ANNUAL, "2026-03-11", "2026-04-01",
                       "2025-04-01", "2026-04-01");
  /* on the billing day: a whole cycle */
  assert_first_period ("2026-03-11", 11, PURSER_CYCLE_ANNUAL, "2026-03-11", "2027-03-11",
                       "2026-03-11", "2027-03-11");
  assert_first_period ("2026-03-01", 1, PURSER_CYCLE_MONTHLY, "2026-03-01", "2026-04-01",
                       "2026-03-01", "2026-04-01");
  assert_first_period ("2026-03-11", 1, PURSER_CYCLE_MONTHLY, "2026-03-11", "2026-04-01",
                       "2026-03-01", "2026-04-01");
  /* the basis of a leap year: 366 days */
  assert_first_period ("2028-03-11", 1, PURSER_CYCLE_ANNUAL, "2028-03-11", "2028-04-01",
                       "2027-04-01", "2028-04-01");
  assert_first_period ("2028-02-10", 15, PURSER_CYCLE_MONTHLY, "2028-02-10", "2028-02-15",
                       "2028-01-15", "2028-02-15");
  assert_first_period ("2028-02-20", 15, PURSER_CYCLE_MONTHLY, "2028-02-20", "2028-03-15",
                       "2028-02-15", "2028-03-15");
  assert_first_period ("2026-01-31", 28, PURSER_CYCLE_MONTHLY, "2026-01-31", "2026-02-28",
                       "2026-01-28", "2026-02-28");
}

static void
test_prorate (void)
{
  /* PRODUCT.md */
  g_assert_cmpint (purser_prorate (2900, 5, 21, 31), ==, 9823);
  g_assert_cmpint (purser_prorate (2900, -2, 12, 31), ==, -2245);
  g_assert_cmpint (purser_prorate (31320, 3, 198, 365), ==, 50970);
  g_assert_cmpint (purser_prorate (2900, 1, 14, 28), ==, 1450);
  /* whole cycles are exact */
  g_assert_cmpint (purser_prorate (2900, 7, 31, 31), ==, 20300);
  g_assert_cmpint (purser_prorate (31320, 7, 366, 366), ==, 219240);
  g_assert_cmpint (purser_prorate (2900, 7, 0, 31), ==, 0);
  /* 365- and 366-day years differ */
  g_assert_cmpint (purser_prorate (31320, 2, 1, 365), ==, 172);
  g_assert_cmpint (purser_prorate (31320, 2, 1, 366), ==, 171);
  /* a half cent goes away from zero */
  g_assert_cmpint (purser_prorate (1, 1, 1, 2), ==, 1);
  g_assert_cmpint (purser_prorate (1, -1, 1, 2), ==, -1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/purser/core/plan/strings", test_strings);
  g_test_add_func ("/purser/core/plan/upgrades", test_upgrades);
  g_test_add_func ("/purser/core/plan/prices", test_prices);
  g_test_add_func ("/purser/core/cycle/period-days", test_period_days);
  g_test_add_func ("/purser/core/cycle/advance", test_cycle_advance);
  g_test_add_func ("/purser/core/cycle/next-billing-date", test_next_billing_date);
  g_test_add_func ("/purser/core/cycle/first-period", test_first_period);
  g_test_add_func ("/purser/core/proration/formula", test_prorate);

  return g_test_run ();
}
