/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "purser-money.h"

/* a × b of two 64-bit values always fits in 128 bits; a × b × c must stay below this. */
#define PRODUCT_LIMIT ((__int128) 1 << 125)

static __int128
abs128 (__int128 x)
{
  return x < 0 ? -x : x;
}

static gint64
div_round (__int128 n, __int128 d)
{
  __int128 q = n / d;
  __int128 r = n % d;

  /* C division truncates toward zero; a remainder of half or more moves away from it. */
  if (2 * abs128 (r) >= abs128 (d))
    q += ((n < 0) != (d < 0)) ? -1 : 1;

  g_assert (q >= G_MININT64 && q <= G_MAXINT64);
  return (gint64) q;
}

gint64
purser_mul_div_round (gint64 a, gint64 b, gint64 c)
{
  g_return_val_if_fail (c != 0, 0);

  return div_round ((__int128) a * b, c);
}

gint64
purser_mul_mul_div_round (gint64 a, gint64 b, gint64 c, gint64 d)
{
  __int128 ab;

  g_return_val_if_fail (d != 0, 0);

  /* Only amounts far beyond any invoice could overflow: refuse them rather than wrap. */
  ab = (__int128) a * b;
  g_return_val_if_fail (c == 0 || abs128 (ab) <= PRODUCT_LIMIT / abs128 (c), 0);

  return div_round (ab * c, d);
}

char *
purser_cents_format (PurserCents amount)
{
  g_autoptr (GString) digits = NULL;
  GString *out;
  guint64 magnitude;
  guint64 dollars;
  gsize len;

  /* Through an unsigned value so that G_MININT64 has a magnitude too. */
  magnitude = amount < 0 ? (guint64) 0 - (guint64) amount : (guint64) amount;
  dollars = magnitude / 100;

  digits = g_string_new (NULL);
  g_string_printf (digits, "%" G_GUINT64_FORMAT, dollars);

  out = g_string_new (amount < 0 ? "-$" : "$");
  len = digits->len;
  for (gsize i = 0; i < len; i++)
    {
      if (i > 0 && (len - i) % 3 == 0)
        g_string_append_c (out, ',');
      g_string_append_c (out, digits->str[i]);
    }
  g_string_append_printf (out, ".%02u", (guint) (magnitude % 100));

  return g_string_free (out, FALSE);
}

const char *
purser_plural (gint64 n, const char *one, const char *many)
{
  return n == 1 || n == -1 ? one : many;
}
