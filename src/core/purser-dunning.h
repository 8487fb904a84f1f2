/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Dunning: a failed automatic charge is retried 3, 5 and 7 days after the first failure;
 * when the third retry fails too, the subscription goes past_due. */
#define PURSER_DUNNING_RETRIES 3

/* The day of the retry after `attempts` failed automatic charges (1 = the first charge),
 * counted from the first failure, or 0 when no retry is left. */
int purser_dunning_retry_day (int attempts);

/* When the next charge is due, or 0 when dunning is over (past due). */
gint64 purser_dunning_next_attempt (gint64 first_failed_at, int attempts);

G_END_DECLS
