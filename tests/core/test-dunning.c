/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "purser-dunning.h"

#define DAY (24 * 60 * 60)

/* PRODUCT.md: failed charges retry after 3, 5 and 7 days; then past_due. */
static void
test_schedule (void)
{
  gint64 failed = 1767225600; /* 2026-01-01 00:00 UTC */

  g_assert_cmpint (purser_dunning_next_attempt (failed, 1), ==, failed + 3 * DAY);
  g_assert_cmpint (purser_dunning_next_attempt (failed, 2), ==, failed + 5 * DAY);
  g_assert_cmpint (purser_dunning_next_attempt (failed, 3), ==, failed + 7 * DAY);
  g_assert_cmpint (purser_dunning_next_attempt (failed, 4), ==, 0);
  g_assert_cmpint (purser_dunning_next_attempt (failed, 0), ==, 0);
  g_assert_cmpint (purser_dunning_retry_day (PURSER_DUNNING_RETRIES), ==, 7);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dunning/schedule", test_schedule);
  return g_test_run ();
}
