/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* A small, stateful Stripe for scenario tests.
 *
 * A SoupServer on 127.0.0.1 (a free port) that runs in its own thread with its own
 * GMainContext, so a test can make synchronous calls to purserd while purserd calls this.
 * Objects are copies of Stripe's fixtures ($PURSER_STRIPE_DIR, default
 * $G_TEST_SRCDIR/../../shared/stripe, fixtures3.2023-08-16.json) with the fields that
 * matter set, so the shapes are Stripe's.
 *
 *   POST /v1/customers                      GET  /v1/customers/{id}    POST /v1/customers/{id}
 *   POST /v1/checkout/sessions (mode=setup) GET  /v1/checkout/sessions/{id}
 *   GET  /v1/setup_intents/{id}             GET  /v1/payment_methods/{id}
 *   POST /v1/payment_methods/{id}/detach    POST /v1/payment_intents   GET /v1/payment_intents/{id}
 *   GET  /v1/charges/{id}                   POST /v1/refunds           GET /v1/refunds/{id}
 *   GET  /v1/events/{id}                    GET  /pay/{session}        (the "hosted page", no auth)
 *
 * Requests are form-encoded (nested keys `metadata[k]`, `payment_method_types[0]`) and need
 * `Authorization: Bearer sk_test_…` (401 otherwise). Errors have Stripe's shape
 * `{"error":{"type","code","param","message",…}}`. `Idempotency-Key` on POST works like
 * Stripe: a result is saved once the endpoint ran (2xx, 402), replayed for the same key and
 * parameters with `Idempotent-Replayed: true`, and a 400 idempotency_error for other
 * parameters; validation errors (400) and injected failures are not saved.
 *
 * Checks worth knowing: amount is a positive integer, at least 50 for usd/eur
 * (amount_too_small); the payment method must be attached to the customer; its type must be in
 * `payment_method_types` when given; sepa_debit needs eur and us_bank_account usd. Refunds
 * are `succeeded` at once; more than what is left of the charge is a 400 (amount_too_large,
 * or charge_already_refunded).
 *
 * Webhooks: the endpoint is subscribed to checkout.session.completed,
 * checkout.session.expired, setup_intent.succeeded, payment_intent.succeeded,
 * payment_intent.processing, payment_intent.payment_failed, charge.refunded and
 * payment_method.detached. Events (fixture `event`, ids `evt_…` increasing, api_version
 * 2023-08-16, `request` = the triggering call's Request-Id and Idempotency-Key, or nulls for
 * fake_stripe_complete_checkout() and the like) are sent after the triggering answer has
 * been written, one at a time and in order, from the fake's thread, pretty-printed like
 * Stripe, with
 * `Stripe-Signature: t=<now>,v1=<hex HMAC-SHA256 of "t.body">` (signed afresh on each
 * attempt). A delivery without a 2xx answer is tried again, up to FAKE_STRIPE_WEBHOOK_ATTEMPTS
 * in all, waiting attempt × FAKE_STRIPE_WEBHOOK_RETRY_MS between tries. Without a webhook
 * URL (and without hold) events are made but not sent.
 *
 * All functions are thread-safe; call them from the test's thread, never from a handler
 * running in the fake's thread. Misuse (an unknown id, a session that is not open) is a
 * g_critical, which G_DEBUG=fatal-warnings makes fatal. */

#define FAKE_STRIPE_API_VERSION      "2023-08-16"
#define FAKE_STRIPE_WEBHOOK_ATTEMPTS 4
#define FAKE_STRIPE_WEBHOOK_RETRY_MS 100

typedef struct _FakeStripe FakeStripe;

typedef enum
{
  /* the charge succeeds at once (200, status succeeded) */
  FAKE_STRIPE_SUCCEED,
  /* 402 card_error card_declined / insufficient_funds; the PaymentIntent goes back to
   * requires_payment_method, the charge is failed */
  FAKE_STRIPE_DECLINE,
  /* 200 with status processing (as ACH and SEPA debits do) until fake_stripe_settle() */
  FAKE_STRIPE_PROCESSING,
} FakeStripeBehaviour;

/* One request the fake received, in arrival order (injected failures included). */
typedef struct
{
  char *method;
  char *path;           /* without the query */
  char *query;          /* NULL when there is none */
  char *stripe_version; /* headers, NULL when absent */
  char *idempotency_key;
  char *authorization;
  char *content_type;
  char *body;     /* raw request body, "" when empty */
  guint status;   /* what the fake answered; 0 for a dropped connection */
  char *response; /* the answer's body, NULL for a dropped connection */
} FakeStripeRequest;

/* A webhook held back by fake_stripe_hold_webhooks(). */
typedef struct
{
  char *id; /* evt_… */
  char *type;
  char *body;      /* the exact bytes that were signed */
  char *signature; /* Stripe-Signature value, signed when the event was made */
} FakeStripeWebhook;

/* One attempt to deliver a webhook. */
typedef struct
{
  char *event_id; /* NULL when the body was not an event */
  char *type;
  guint attempt; /* 1 for the first try */
  guint status;  /* purserd's answer; 0 when there was none (connection error) */
} FakeStripeDelivery;

void fake_stripe_request_free (FakeStripeRequest *request);
void fake_stripe_webhook_free (FakeStripeWebhook *webhook);
void fake_stripe_delivery_free (FakeStripeDelivery *delivery);

/* TRUE when Stripe's fixtures can be found; otherwise FALSE with a reason to give
 * g_test_skip(). */
gboolean fake_stripe_available (char **reason);

/* Starts the fake (aborts when the fixtures are missing: check fake_stripe_available()). */
FakeStripe *fake_stripe_start (void);
/* Stops the thread and frees everything; undelivered webhooks are dropped. */
void fake_stripe_stop (FakeStripe *self);

/* "http://127.0.0.1:PORT", without a trailing slash. */
const char *fake_stripe_url (FakeStripe *self);

/* Only this secret key is accepted (default: any key starting with sk_test_). */
void fake_stripe_set_api_key (FakeStripe *self, const char *key);

/* Where webhooks go and the endpoint secret (whsec_…) that signs them; url NULL stops
 * sending. */
void fake_stripe_set_webhook (FakeStripe *self, const char *url, const char *secret);

/* The customer finishes the hosted Checkout page of an open setup session: makes a
 * PaymentMethod of the session's first payment method type, attached to the session's
 * customer, with `behaviour` for later charges, marks the session complete and its
 * SetupIntent succeeded, and sends checkout.session.completed then setup_intent.succeeded.
 * `details` (NULL for defaults):
 *   card            "brand:last4:exp_month:exp_year"  e.g. "visa:4242:12:2030"
 *   us_bank_account "bank_name:last4"                 e.g. "STRIPE TEST BANK:6789"
 *   sepa_debit      "last4:country"                   e.g. "3000:DE"
 * Returns the new pm_… id. */
char *fake_stripe_complete_checkout (FakeStripe *self, const char *session_id, const char *details,
                                     FakeStripeBehaviour behaviour);
/* The session times out: status expired, checkout.session.expired. */
void fake_stripe_expire_checkout (FakeStripe *self, const char *session_id);

/* How later PaymentIntents on this payment method end. */
void fake_stripe_set_behaviour (FakeStripe *self, const char *pm_id, FakeStripeBehaviour behaviour);

/* A processing PaymentIntent ends: succeeded (payment_intent.succeeded) or failed
 * (requires_payment_method, payment_intent.payment_failed). */
void fake_stripe_settle (FakeStripe *self, const char *payment_intent_id, gboolean succeed);

/* The next n /v1/ requests fail with `status` before anything happens (500 and 503
 * api_error, 429 rate_limit with Retry-After: 1; 0 closes the connection without an
 * answer). Nothing is saved for their idempotency keys. Counts every request, purserd's
 * background ones too (lookups while it handles a webhook): flush webhooks first, or use
 * fake_stripe_fail_next_on(). Setting it again replaces what is left. */
void fake_stripe_fail_next (FakeStripe *self, guint status, guint n);
/* The same for the next n requests with this method (NULL: any) and path prefix (NULL: any),
 * e.g. ("POST", "/v1/payment_intents"); others pass. */
void fake_stripe_fail_next_on (FakeStripe *self, const char *method, const char *path_prefix,
                               guint status, guint n);
/* The next n /v1/ requests are carried out (state, webhooks, idempotent result saved) but
 * their answer is lost: replaced by `status` as above (0 = connection closed). This is the
 * case where a retry with the same Idempotency-Key must not charge twice. */
void fake_stripe_lose_next (FakeStripe *self, guint status, guint n);
void fake_stripe_lose_next_on (FakeStripe *self, const char *method, const char *path_prefix,
                               guint status, guint n);

/* While held, new webhooks are kept instead of sent. Releasing (FALSE) queues the ones
 * still held, in order; take them first to replay, reorder or duplicate them by hand. */
void fake_stripe_hold_webhooks (FakeStripe *self, gboolean hold);
/* The held webhooks (FakeStripeWebhook), oldest first; the fake forgets them. */
GPtrArray *fake_stripe_take_held_webhooks (FakeStripe *self);

/* POSTs `body` to the webhook URL now (after what is queued), signed afresh, without
 * retries; waits for the answer. FALSE (status 0) when there was no answer or no URL. */
gboolean fake_stripe_deliver (FakeStripe *self, const char *body, guint *status);
/* The same with this Stripe-Signature value as is (NULL: signed afresh; "": no header). */
gboolean fake_stripe_deliver_signed (FakeStripe *self, const char *body, const char *signature,
                                     guint *status);

/* Waits (up to 30 s) until every webhook made so far has been delivered or given up; FALSE
 * on timeout. Held webhooks are not waited for. */
gboolean fake_stripe_flush_webhooks (FakeStripe *self);

/* Introspection. method and path_prefix may be NULL (any). */
guint fake_stripe_request_count (FakeStripe *self, const char *method, const char *path_prefix);
/* Copies: FakeStripeRequest, FakeStripeDelivery; free with g_ptr_array_unref(). */
GPtrArray *fake_stripe_requests (FakeStripe *self);
GPtrArray *fake_stripe_deliveries (FakeStripe *self);
/* Events made so far of this type (NULL: all), held, sent or not. */
guint fake_stripe_event_count (FakeStripe *self, const char *type);
/* A copy of a stored object (customer, session, pm, pi, charge, refund, event), NULL if
 * unknown. */
JsonNode *fake_stripe_get_object (FakeStripe *self, const char *id);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FakeStripe, fake_stripe_stop)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FakeStripeRequest, fake_stripe_request_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FakeStripeWebhook, fake_stripe_webhook_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FakeStripeDelivery, fake_stripe_delivery_free)

G_END_DECLS
