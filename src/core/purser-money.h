/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Money is an integer count of minor units (cents). There is one currency, "usd". */
typedef gint64 PurserCents;

#define PURSER_CURRENCY "usd"

/* round (a × b / c) to the nearest integer, halves away from zero; c != 0.
 * The product is computed in 128 bits, so it cannot overflow for any realistic amount. */
gint64 purser_mul_div_round (gint64 a, gint64 b, gint64 c);

/* round (a × b × c / d), halves away from zero; d != 0. */
gint64 purser_mul_mul_div_round (gint64 a, gint64 b, gint64 c, gint64 d);

/* "$1,234.56", "-$22.45" — for descriptions and logs, never for arithmetic. */
char *purser_cents_format (PurserCents amount);

/* `one` for ±1, else `many`: "1 seat", "3 seats", "-1 seat". */
const char *purser_plural (gint64 n, const char *one, const char *many);

G_END_DECLS
