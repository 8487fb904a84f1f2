/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PURSERD_STRIPE_SIGNATURE_TOLERANCE 300

typedef enum
{
  PURSERD_STRIPE_SIGNATURE_MISSING,      /* no Stripe-Signature header */
  PURSERD_STRIPE_SIGNATURE_NO_TIMESTAMP, /* no t= */
  PURSERD_STRIPE_SIGNATURE_NO_MATCH,     /* no v1 matches a secret */
  PURSERD_STRIPE_SIGNATURE_TOO_OLD,      /* now − t > tolerance */
} PurserdStripeSignatureError;

#define PURSERD_STRIPE_SIGNATURE_ERROR (purserd_stripe_signature_error_quark ())
GQuark purserd_stripe_signature_error_quark (void);

/* Verifies a `Stripe-Signature` header over the raw body, as Stripe's SDKs do: any `v1`
 * entry equal (constant time, lowercase hex) to HMAC-SHA256(secret, "<t>.<body>") for any of
 * `secrets`, and now − t ≤ tolerance (0: no age check; a future t passes). */
gboolean purserd_stripe_signature_verify (const char *header, const guint8 *body, gsize length,
                                          const char *const *secrets, gint64 now, gint64 tolerance,
                                          GError **error);

/* "t=<now>,v1=<hex>" for `secret` (the demo and the tests sign with it). */
char *purserd_stripe_signature_sign (const char *secret, gint64 now, const guint8 *body,
                                     gsize length);

G_END_DECLS
