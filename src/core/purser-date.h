/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A calendar date as the number of days since 1970-01-01 (proleptic Gregorian, UTC).
 * Differences of dates are day counts. */
typedef gint32 PurserDate;

#define PURSER_DATE_INVALID G_MININT32

gboolean purser_date_is_leap_year (int year);
int purser_date_days_in_month (int year, int month);
PurserDate purser_date_from_ymd (int year, int month, int day);
void purser_date_to_ymd (PurserDate date, int *year, int *month, int *day);
int purser_date_year (PurserDate date);
int purser_date_day (PurserDate date);

/* Adds n months (n may be negative), clamping the day to the target month's length. */
PurserDate purser_date_add_months (PurserDate date, int n);

/* Strict "YYYY-MM-DD"; returns FALSE for anything else (including 2026-02-30). */
gboolean purser_date_parse (const char *text, PurserDate *out);
char *purser_date_format (PurserDate date);

/* "Mar 11, 2026" for descriptions (not localized: invoices are in English). */
char *purser_date_format_human (PurserDate date);

/* Unix seconds (UTC) → date, and the midnight UTC starting a date → unix seconds. */
PurserDate purser_date_from_unix (gint64 unix_seconds);
gint64 purser_date_to_unix (PurserDate date);

/* Strict RFC 3339 ("2026-03-11T00:00:00Z", offsets and fractions allowed) → unix seconds. */
gboolean purser_time_parse (const char *text, gint64 *unix_seconds);
/* "2026-03-11T09:30:00Z" */
char *purser_time_format (gint64 unix_seconds);

G_END_DECLS
