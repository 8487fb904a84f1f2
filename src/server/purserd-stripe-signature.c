/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <sodium.h>
#include <string.h>

#include "purserd-stripe-signature.h"

GQuark
purserd_stripe_signature_error_quark (void)
{
  return g_quark_from_static_string ("purserd-stripe-signature-error-quark");
}

static char *
expected_signature (const char *secret, const char *timestamp, const guint8 *body, gsize length)
{
  g_autoptr (GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA256, (const guchar *) secret, strlen (secret));

  g_hmac_update (hmac, (const guchar *) timestamp, (gssize) strlen (timestamp));
  g_hmac_update (hmac, (const guchar *) ".", 1);
  g_hmac_update (hmac, body, (gssize) length);
  return g_strdup (g_hmac_get_string (hmac)); /* lowercase hex */
}

char *
purserd_stripe_signature_sign (const char *secret, gint64 now, const guint8 *body, gsize length)
{
  g_autofree char *timestamp = g_strdup_printf ("%" G_GINT64_FORMAT, now);
  g_autofree char *v1 = expected_signature (secret, timestamp, body, length);

  return g_strdup_printf ("t=%s,v1=%s", timestamp, v1);
}

gboolean
purserd_stripe_signature_verify (const char *header, const guint8 *body, gsize length,
                                 const char *const *secrets, gint64 now, gint64 tolerance,
                                 GError **error)
{
  g_auto (GStrv) items = NULL;
  g_autoptr (GPtrArray) signatures = g_ptr_array_new ();
  const char *timestamp = NULL;
  gint64 t = 0;
  gboolean matched = FALSE;

  if (header == NULL || *header == '\0')
    {
      g_set_error_literal (error, PURSERD_STRIPE_SIGNATURE_ERROR, PURSERD_STRIPE_SIGNATURE_MISSING,
                           "The Stripe-Signature header is missing.");
      return FALSE;
    }

  items = g_strsplit (header, ",", -1);
  for (guint i = 0; items[i] != NULL; i++)
    {
      char *item = g_strstrip (items[i]);
      char *eq = strchr (item, '=');

      if (eq == NULL)
        continue;
      *eq = '\0';
      if (g_str_equal (item, "t"))
        timestamp = eq + 1;
      else if (g_str_equal (item, "v1"))
        g_ptr_array_add (signatures, eq + 1);
    }

  if (timestamp == NULL || !g_ascii_string_to_signed (timestamp, 10, 0, G_MAXINT64, &t, NULL))
    {
      g_set_error_literal (error, PURSERD_STRIPE_SIGNATURE_ERROR,
                           PURSERD_STRIPE_SIGNATURE_NO_TIMESTAMP,
                           "The Stripe-Signature header has no timestamp (t=).");
      return FALSE;
    }

  for (guint s = 0; secrets != NULL && secrets[s] != NULL; s++)
    {
      g_autofree char *expected = expected_signature (secrets[s], timestamp, body, length);
      gsize n = strlen (expected);

      for (guint i = 0; i < signatures->len; i++)
        {
          const char *candidate = g_ptr_array_index (signatures, i);

          /* Every candidate is compared, so timing says nothing about which one matched. */
          if (strlen (candidate) == n && sodium_memcmp (candidate, expected, n) == 0)
            matched = TRUE;
        }
    }
  if (!matched)
    {
      g_set_error_literal (error, PURSERD_STRIPE_SIGNATURE_ERROR, PURSERD_STRIPE_SIGNATURE_NO_MATCH,
                           "No signature matches the webhook secret for this payload.");
      return FALSE;
    }
  if (tolerance > 0 && now - t > tolerance)
    {
      g_set_error (error, PURSERD_STRIPE_SIGNATURE_ERROR, PURSERD_STRIPE_SIGNATURE_TOO_OLD,
                   "The signature timestamp is %" G_GINT64_FORMAT
                   " s old; at most %" G_GINT64_FORMAT " s is accepted.",
                   now - t, tolerance);
      return FALSE;
    }
  return TRUE;
}
