/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "purser-date.h"

#include <string.h>

#define SECONDS_PER_DAY 86400
#define YEAR_MIN        1
#define YEAR_MAX        9999

static const char *const month_abbrev[12] = {
  "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* Howard Hinnant's days_from_civil: eras of 400 years, years starting on March 1st so that
 * the leap day is the last day of the year. */
static gint64
days_from_civil (gint64 y, gint64 m, gint64 d)
{
  gint64 era;
  gint64 yoe;
  gint64 doy;
  gint64 doe;

  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

  return era * 146097 + doe - 719468;
}

static void
civil_from_days (gint64 z, gint64 *y, gint64 *m, gint64 *d)
{
  gint64 era;
  gint64 doe;
  gint64 yoe;
  gint64 doy;
  gint64 mp;

  z += 719468;
  era = (z >= 0 ? z : z - 146096) / 146097;
  doe = z - era * 146097;
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yoe + era * 400 + (*m <= 2);
}

static gint64
floor_div (gint64 a, gint64 b)
{
  gint64 q = a / b;

  if ((a % b != 0) && ((a < 0) != (b < 0)))
    q--;
  return q;
}

gboolean
purser_date_is_leap_year (int year)
{
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int
purser_date_days_in_month (int year, int month)
{
  static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

  g_return_val_if_fail (month >= 1 && month <= 12, 0);

  if (month == 2 && purser_date_is_leap_year (year))
    return 29;
  return days[month - 1];
}

/* PURSER_DATE_INVALID for a day that does not exist or a year outside 1–9999. */
PurserDate
purser_date_from_ymd (int year, int month, int day)
{
  if (year < YEAR_MIN || year > YEAR_MAX || month < 1 || month > 12 || day < 1
      || day > purser_date_days_in_month (year, month))
    return PURSER_DATE_INVALID;

  return (PurserDate) days_from_civil (year, month, day);
}

void
purser_date_to_ymd (PurserDate date, int *year, int *month, int *day)
{
  gint64 y, m, d;

  civil_from_days (date, &y, &m, &d);
  if (year != NULL)
    *year = (int) y;
  if (month != NULL)
    *month = (int) m;
  if (day != NULL)
    *day = (int) d;
}

int
purser_date_year (PurserDate date)
{
  int year;

  purser_date_to_ymd (date, &year, NULL, NULL);
  return year;
}

int
purser_date_day (PurserDate date)
{
  int day;

  purser_date_to_ymd (date, NULL, NULL, &day);
  return day;
}

PurserDate
purser_date_add_months (PurserDate date, int n)
{
  int year, month, day;
  gint64 index;
  int new_year, new_month;

  g_return_val_if_fail (date != PURSER_DATE_INVALID, PURSER_DATE_INVALID);

  purser_date_to_ymd (date, &year, &month, &day);
  index = (gint64) year * 12 + (month - 1) + n;
  new_year = (int) floor_div (index, 12);
  new_month = (int) (index - (gint64) new_year * 12) + 1;
  day = MIN (day, purser_date_days_in_month (new_year, new_month));

  return (PurserDate) days_from_civil (new_year, new_month, day);
}

static gboolean
parse_digits (const char *text, int count, int *out)
{
  int value = 0;

  for (int i = 0; i < count; i++)
    {
      if (!g_ascii_isdigit (text[i]))
        return FALSE;
      value = value * 10 + (text[i] - '0');
    }
  *out = value;
  return TRUE;
}

/* "YYYY-MM-DD" at the start of `text`; does not look past the ten characters. */
static gboolean
parse_date_prefix (const char *text, PurserDate *out)
{
  int year, month, day;
  PurserDate date;

  if (!parse_digits (text, 4, &year) || text[4] != '-' || !parse_digits (text + 5, 2, &month)
      || text[7] != '-' || !parse_digits (text + 8, 2, &day))
    return FALSE;

  date = purser_date_from_ymd (year, month, day);
  if (date == PURSER_DATE_INVALID)
    return FALSE;

  *out = date;
  return TRUE;
}

gboolean
purser_date_parse (const char *text, PurserDate *out)
{
  PurserDate date;

  g_return_val_if_fail (out != NULL, FALSE);

  if (text == NULL || strlen (text) != 10 || !parse_date_prefix (text, &date))
    return FALSE;

  *out = date;
  return TRUE;
}

char *
purser_date_format (PurserDate date)
{
  int year, month, day;

  g_return_val_if_fail (date != PURSER_DATE_INVALID, NULL);

  purser_date_to_ymd (date, &year, &month, &day);
  return g_strdup_printf ("%04d-%02d-%02d", year, month, day);
}

char *
purser_date_format_human (PurserDate date)
{
  int year, month, day;

  g_return_val_if_fail (date != PURSER_DATE_INVALID, NULL);

  purser_date_to_ymd (date, &year, &month, &day);
  return g_strdup_printf ("%s %d, %d", month_abbrev[month - 1], day, year);
}

PurserDate
purser_date_from_unix (gint64 unix_seconds)
{
  return (PurserDate) floor_div (unix_seconds, SECONDS_PER_DAY);
}

gint64
purser_date_to_unix (PurserDate date)
{
  return (gint64) date * SECONDS_PER_DAY;
}

/* RFC 3339 date-time: full-date "T" partial-time time-offset. "t", "z" are allowed as the
 * RFC says; a space instead of "T" is not. Leap seconds (:60) are refused, as GLib does. */
gboolean
purser_time_parse (const char *text, gint64 *unix_seconds)
{
  PurserDate date;
  int hour, minute, second;
  int offset = 0;
  const char *p;

  g_return_val_if_fail (unix_seconds != NULL, FALSE);

  if (text == NULL || strlen (text) < 20 || !parse_date_prefix (text, &date))
    return FALSE;
  if (text[10] != 'T' && text[10] != 't')
    return FALSE;

  p = text + 11;
  if (!parse_digits (p, 2, &hour) || p[2] != ':' || !parse_digits (p + 3, 2, &minute) || p[5] != ':'
      || !parse_digits (p + 6, 2, &second))
    return FALSE;
  if (hour > 23 || minute > 59 || second > 59)
    return FALSE;
  p += 8;

  /* Fractions are dropped: whole seconds are all a billing date needs. */
  if (*p == '.')
    {
      p++;
      if (!g_ascii_isdigit (*p))
        return FALSE;
      while (g_ascii_isdigit (*p))
        p++;
    }

  if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
    offset = 0;
  else if (*p == '+' || *p == '-')
    {
      int off_hour, off_minute;

      if (!parse_digits (p + 1, 2, &off_hour) || p[3] != ':'
          || !parse_digits (p + 4, 2, &off_minute) || p[6] != '\0')
        return FALSE;
      if (off_hour > 23 || off_minute > 59)
        return FALSE;
      offset = (off_hour * 60 + off_minute) * 60;
      if (*p == '-')
        offset = -offset;
    }
  else
    return FALSE;

  *unix_seconds = purser_date_to_unix (date) + hour * 3600 + minute * 60 + second - offset;
  return TRUE;
}

char *
purser_time_format (gint64 unix_seconds)
{
  PurserDate date = purser_date_from_unix (unix_seconds);
  gint64 seconds = unix_seconds - purser_date_to_unix (date);
  int year, month, day;

  purser_date_to_ymd (date, &year, &month, &day);
  return g_strdup_printf ("%04d-%02d-%02dT%02d:%02d:%02dZ", year, month, day,
                          (int) (seconds / 3600), (int) (seconds / 60 % 60), (int) (seconds % 60));
}
