/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "purser-dunning.h"

static const int retry_days[PURSER_DUNNING_RETRIES] = { 3, 5, 7 };

int
purser_dunning_retry_day (int attempts)
{
  if (attempts < 1 || attempts > PURSER_DUNNING_RETRIES)
    return 0;
  return retry_days[attempts - 1];
}

gint64
purser_dunning_next_attempt (gint64 first_failed_at, int attempts)
{
  int day = purser_dunning_retry_day (attempts);

  if (day == 0)
    return 0;
  return first_failed_at + (gint64) day * 24 * 60 * 60;
}
