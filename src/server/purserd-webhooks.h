/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "purserd-server.h"

G_BEGIN_DECLS

/* Stripe's webhooks. POST /v1/webhooks/stripe checks the Stripe-Signature on the raw body
 * before anything is parsed, stores the event once (by its id) and answers at once; the
 * worker then processes stored events in the order Stripe created them, retrying with
 * back-off when processing fails, so nothing is lost and nothing happens twice. */

typedef struct _PurserdWebhooks PurserdWebhooks;

PurserdWebhooks *purserd_webhooks_new (PurserdServer *server);
void purserd_webhooks_free (PurserdWebhooks *webhooks);
gboolean purserd_webhooks_run (gpointer webhooks);

/* The route (PURSERD_AUTH_NONE, own transactions). */
void purserd_webhooks_receive (PurserdCall *call);

G_END_DECLS
