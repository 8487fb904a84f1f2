/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "core-test-util.h"

static void
test_mul_div_round (void)
{
  /* halves go away from zero, in every sign combination */
  g_assert_cmpint (purser_mul_div_round (1, 1, 2), ==, 1);
  g_assert_cmpint (purser_mul_div_round (-1, 1, 2), ==, -1);
  g_assert_cmpint (purser_mul_div_round (3, 1, 2), ==, 2);
  g_assert_cmpint (purser_mul_div_round (-3, 1, 2), ==, -2);
  g_assert_cmpint (purser_mul_div_round (5, 1, -2), ==, -3);
  g_assert_cmpint (purser_mul_div_round (-5, 1, -2), ==, 3);
  /* below and above one half */
  g_assert_cmpint (purser_mul_div_round (5, 1, 4), ==, 1);
  g_assert_cmpint (purser_mul_div_round (7, 1, 4), ==, 2);
  g_assert_cmpint (purser_mul_div_round (-7, 1, 4), ==, -2);
  g_assert_cmpint (purser_mul_div_round (-5, 1, 4), ==, -1);
  g_assert_cmpint (purser_mul_div_round (0, 12345, 7), ==, 0);
  /* the product overflows 64 bits but not the result */
  g_assert_cmpint (purser_mul_div_round (G_MAXINT64, 3, 3), ==, G_MAXINT64);
  g_assert_cmpint (purser_mul_div_round (G_MAXINT64 / 2, 4, 2), ==, (G_MAXINT64 / 2) * 2);
  g_assert_cmpint (purser_mul_div_round (G_MININT64, 2, 2), ==, G_MININT64);
  /* the annual price: 12 × 2900 × 0.9 */
  g_assert_cmpint (purser_mul_div_round (12 * 2900, 9000, 10000), ==, 31320);
}

static void
test_mul_mul_div_round (void)
{
  /* PRODUCT.md: the four worked examples */
  g_assert_cmpint (purser_mul_mul_div_round (2900, 5, 21, 31), ==, 9823);
  g_assert_cmpint (purser_mul_mul_div_round (2900, 2, 12, 31), ==, 2245);
  g_assert_cmpint (purser_mul_mul_div_round (2900, -2, 12, 31), ==, -2245);
  g_assert_cmpint (purser_mul_mul_div_round (31320, 3, 198, 365), ==, 50970);
  g_assert_cmpint (purser_mul_mul_div_round (2900, 1, 14, 28), ==, 1450);
  g_assert_cmpint (purser_mul_mul_div_round (1, 1, 1, 2), ==, 1);
  g_assert_cmpint (purser_mul_mul_div_round (-1, 1, 1, 2), ==, -1);
  /* 64-bit operands whose triple product needs 128 bits */
  g_assert_cmpint (purser_mul_mul_div_round (G_GINT64_CONSTANT (4000000000000), 1000000, 366, 366),
                   ==, G_GINT64_CONSTANT (4000000000000000000));
}

static void
test_cents_format (void)
{
  static const struct
  {
    PurserCents cents;
    const char *text;
  } cases[] = {
    { 0, "$0.00" },
    { 5, "$0.05" },
    { 99, "$0.99" },
    { 100, "$1.00" },
    { 9823, "$98.23" },
    { -2245, "-$22.45" },
    { -5, "-$0.05" },
    { 100000, "$1,000.00" },
    { 123456, "$1,234.56" },
    { 99999999, "$999,999.99" },
    { 100000000, "$1,000,000.00" },
    { G_MAXINT64, "$92,233,720,368,547,758.07" },
    { G_MININT64, "-$92,233,720,368,547,758.08" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = purser_cents_format (cases[i].cents);

      g_assert_cmpstr (text, ==, cases[i].text);
    }
}

static void
test_leap_years (void)
{
  g_assert_true (purser_date_is_leap_year (2000));
  g_assert_true (purser_date_is_leap_year (2024));
  g_assert_true (purser_date_is_leap_year (2028));
  g_assert_true (purser_date_is_leap_year (2400));
  g_assert_false (purser_date_is_leap_year (1900));
  g_assert_false (purser_date_is_leap_year (2026));
  g_assert_false (purser_date_is_leap_year (2027));
  g_assert_false (purser_date_is_leap_year (2100));

  g_assert_cmpint (purser_date_days_in_month (2026, 2), ==, 28);
  g_assert_cmpint (purser_date_days_in_month (2028, 2), ==, 29);
  g_assert_cmpint (purser_date_days_in_month (2000, 2), ==, 29);
  g_assert_cmpint (purser_date_days_in_month (2100, 2), ==, 28);
  g_assert_cmpint (purser_date_days_in_month (2026, 1), ==, 31);
  g_assert_cmpint (purser_date_days_in_month (2026, 4), ==, 30);
  g_assert_cmpint (purser_date_days_in_month (2026, 12), ==, 31);
}

/* Checked against GDate's Julian day numbers, which are independent of our algorithm. */
static void
test_civil_roundtrip (void)
{
  g_autoptr (GDate) epoch = g_date_new_dmy (1, G_DATE_JANUARY, 1970);
  guint32 epoch_julian = g_date_get_julian (epoch);
  PurserDate previous = PURSER_DATE_INVALID;

  g_assert_cmpint (purser_date_from_ymd (1970, 1, 1), ==, 0);
  g_assert_cmpint (purser_date_from_ymd (1969, 12, 31), ==, -1);
  g_assert_cmpint (purser_date_from_ymd (2026, 3, 1), ==, 20513);

  for (int year = 1899; year <= 2101; year++)
    for (int month = 1; month <= 12; month++)
      for (int day = 1; day <= purser_date_days_in_month (year, month); day++)
        {
          g_autoptr (GDate) gdate = g_date_new_dmy (day, month, year);
          PurserDate date = purser_date_from_ymd (year, month, day);
          int y, m, d;

          g_assert_cmpint (date, ==, (gint64) g_date_get_julian (gdate) - epoch_julian);
          if (previous != PURSER_DATE_INVALID)
            g_assert_cmpint (date, ==, previous + 1);
          previous = date;

          purser_date_to_ymd (date, &y, &m, &d);
          g_assert_cmpint (y, ==, year);
          g_assert_cmpint (m, ==, month);
          g_assert_cmpint (d, ==, day);
          g_assert_cmpint (purser_date_year (date), ==, year);
          g_assert_cmpint (purser_date_day (date), ==, day);
        }
}

static void
test_from_ymd_invalid (void)
{
  g_assert_cmpint (purser_date_from_ymd (2026, 2, 29), ==, PURSER_DATE_INVALID);
  g_assert_cmpint (purser_date_from_ymd (2026, 4, 31), ==, PURSER_DATE_INVALID);
  g_assert_cmpint (purser_date_from_ymd (2026, 13, 1), ==, PURSER_DATE_INVALID);
  g_assert_cmpint (purser_date_from_ymd (2026, 0, 1), ==, PURSER_DATE_INVALID);
  g_assert_cmpint (purser_date_from_ymd (2026, 1, 0), ==, PURSER_DATE_INVALID);
  g_assert_cmpint (purser_date_from_ymd (0, 1, 1), ==, PURSER_DATE_INVALID);
  g_assert_cmpint (purser_date_from_ymd (10000, 1, 1), ==, PURSER_DATE_INVALID);
  g_assert_cmpint (purser_date_from_ymd (2028, 2, 29), !=, PURSER_DATE_INVALID);
}

static void
test_add_months (void)
{
  static const struct
  {
    const char *from;
    int n;
    const char *to;
  } cases[] = {
    { "2026-01-15", 1, "2026-02-15" },  { "2026-01-31", 1, "2026-02-28" },
    { "2028-01-31", 1, "2028-02-29" },  { "2026-03-31", -1, "2026-02-28" },
    { "2026-03-31", 1, "2026-04-30" },  { "2026-01-15", -1, "2025-12-15" },
    { "2026-12-01", 1, "2027-01-01" },  { "2028-02-29", 12, "2029-02-28" },
    { "2028-02-29", 48, "2032-02-29" }, { "2026-05-20", -25, "2024-04-20" },
    { "2026-05-20", 0, "2026-05-20" },  { "2026-01-15", 12, "2027-01-15" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text
          = purser_date_format (purser_date_add_months (D (cases[i].from), cases[i].n));

      g_assert_cmpstr (text, ==, cases[i].to);
    }
}

static void
test_parse_strict (void)
{
  static const char *const good[]
      = { "2026-03-11", "2028-02-29", "2000-02-29", "1970-01-01", "9999-12-31", "0001-01-01" };
  static const char *const bad[] = {
    "",
    "2026-02-29",
    "2026-02-30",
    "2100-02-29",
    "2026-04-31",
    "2026-13-01",
    "2026-00-10",
    "2026-01-00",
    "2026-1-01",
    "2026-01-1",
    "26-01-01",
    "2026/01/01",
    " 2026-01-01",
    "2026-01-01 ",
    "2026-01-01T00:00:00Z",
    "+026-01-01",
    "2026-01-0a",
    "0000-01-01",
    "2026-03-11\n",
    "２０２６-03-11",
    "2026-03-111",
    "20260311",
  };
  PurserDate date;

  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autofree char *text = NULL;

      g_assert_true (purser_date_parse (good[i], &date));
      text = purser_date_format (date);
      g_assert_cmpstr (text, ==, good[i]);
    }

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      date = 42;
      g_assert_false (purser_date_parse (bad[i], &date));
      g_assert_cmpint (date, ==, 42);
    }
  g_assert_false (purser_date_parse (NULL, &date));
}

static void
test_format_human (void)
{
  g_autofree char *a = purser_date_format_human (D ("2026-03-11"));
  g_autofree char *b = purser_date_format_human (D ("2028-02-29"));
  g_autofree char *c = purser_date_format_human (D ("2026-12-01"));

  g_assert_cmpstr (a, ==, "Mar 11, 2026");
  g_assert_cmpstr (b, ==, "Feb 29, 2028");
  g_assert_cmpstr (c, ==, "Dec 1, 2026");
}

static void
test_unix (void)
{
  g_assert_cmpint (purser_date_from_unix (0), ==, 0);
  g_assert_cmpint (purser_date_from_unix (86399), ==, 0);
  g_assert_cmpint (purser_date_from_unix (86400), ==, 1);
  g_assert_cmpint (purser_date_from_unix (-1), ==, -1);
  g_assert_cmpint (purser_date_from_unix (-86400), ==, -1);
  g_assert_cmpint (purser_date_from_unix (-86401), ==, -2);
  g_assert_cmpint (purser_date_from_unix (1773221400), ==, D ("2026-03-11"));
  g_assert_cmpint (purser_date_to_unix (D ("2026-03-11")), ==, 1773187200);
  g_assert_cmpint (purser_date_to_unix (-1), ==, -86400);
}

static void
test_time_parse (void)
{
  static const struct
  {
    const char *text;
    gint64 seconds;
  } good[] = {
    { "2026-03-11T09:30:00Z", 1773221400 },      { "2026-03-11t09:30:00z", 1773221400 },
    { "2026-03-11T09:30:00.999Z", 1773221400 },  { "2026-03-11T11:30:00+02:00", 1773221400 },
    { "2026-03-11T04:30:00-05:00", 1773221400 }, { "2026-03-10T23:30:00-10:00", 1773221400 },
    { "2026-03-11T00:00:00Z", 1773187200 },      { "1969-12-31T23:59:59Z", -1 },
    { "2028-02-29T23:59:59+00:00", 1835481599 },
  };
  static const char *const bad[] = {
    "",
    "2026-03-11",
    "2026-03-11T09:30:00",
    "2026-03-11 09:30:00Z",
    "2026-03-11T24:00:00Z",
    "2026-03-11T09:60:00Z",
    "2026-03-11T09:30:60Z",
    "2026-03-11T09:30Z",
    "2026-03-11T09:30:00.Z",
    "2026-03-11T09:30:00+0200",
    "2026-03-11T09:30:00+02",
    "2026-03-11T09:30:00+24:00",
    "2026-03-11T09:30:00ZZ",
    "2026-03-11T09:30:00Z ",
    "2026-02-30T09:30:00Z",
    "2026-03-11T9:30:00Z",
  };
  gint64 seconds;

  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_assert_true (purser_time_parse (good[i].text, &seconds));
      g_assert_cmpint (seconds, ==, good[i].seconds);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      seconds = 42;
      g_assert_false (purser_time_parse (bad[i], &seconds));
      g_assert_cmpint (seconds, ==, 42);
    }
  g_assert_false (purser_time_parse (NULL, &seconds));
}

static void
test_time_format (void)
{
  g_autofree char *a = purser_time_format (1773221400);
  g_autofree char *b = purser_time_format (-1);
  g_autofree char *c = purser_time_format (0);
  gint64 back;

  g_assert_cmpstr (a, ==, "2026-03-11T09:30:00Z");
  g_assert_cmpstr (b, ==, "1969-12-31T23:59:59Z");
  g_assert_cmpstr (c, ==, "1970-01-01T00:00:00Z");

  for (gint64 t = -100000; t < 4000000000; t += 7777777)
    {
      g_autofree char *text = purser_time_format (t);

      g_assert_true (purser_time_parse (text, &back));
      g_assert_cmpint (back, ==, t);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/purser/core/money/mul-div-round", test_mul_div_round);
  g_test_add_func ("/purser/core/money/mul-mul-div-round", test_mul_mul_div_round);
  g_test_add_func ("/purser/core/money/format", test_cents_format);
  g_test_add_func ("/purser/core/date/leap-years", test_leap_years);
  g_test_add_func ("/purser/core/date/civil-roundtrip", test_civil_roundtrip);
  g_test_add_func ("/purser/core/date/from-ymd-invalid", test_from_ymd_invalid);
  g_test_add_func ("/purser/core/date/add-months", test_add_months);
  g_test_add_func ("/purser/core/date/parse-strict", test_parse_strict);
  g_test_add_func ("/purser/core/date/format-human", test_format_human);
  g_test_add_func ("/purser/core/date/unix", test_unix);
  g_test_add_func ("/purser/core/time/parse", test_time_parse);
  g_test_add_func ("/purser/core/time/format", test_time_format);

  return g_test_run ();
}
