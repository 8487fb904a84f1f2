/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The Stripe gateway: Stripe's REST API over one SoupSession on the caller's main context.
 * Requests are form-encoded, carry the pinned Stripe-Version and, on POST, an
 * Idempotency-Key derived from our own operation, so a retry (ours, or after a crash) never
 * charges twice. Network errors, 429 and 5xx are retried with back-off; 4xx never are.
 * Card and bank numbers never pass through here: methods are added on Stripe's pages. */

#define PURSERD_STRIPE_API_VERSION  "2023-08-16"
#define PURSERD_STRIPE_DEFAULT_BASE "https://api.stripe.com"

typedef enum
{
  PURSERD_STRIPE_ERROR_NOT_CONFIGURED, /* no secret key */
  PURSERD_STRIPE_ERROR_UNREACHABLE,    /* network, timeouts, 429 and 5xx after the retries */
  PURSERD_STRIPE_ERROR_CARD,           /* 402 card_error: declined, expired, … */
  PURSERD_STRIPE_ERROR_REQUEST,        /* other 4xx: Stripe refused the request */
  PURSERD_STRIPE_ERROR_AUTHENTICATION, /* 401: the key is wrong */
  PURSERD_STRIPE_ERROR_INVALID_RESPONSE,
} PurserdStripeError;

#define PURSERD_STRIPE_ERROR (purserd_stripe_error_quark ())
GQuark purserd_stripe_error_quark (void);

typedef struct
{
  char *secret_key; /* NULL: Stripe is not configured */
  char *api_base;   /* NULL: PURSERD_STRIPE_DEFAULT_BASE */
  guint timeout_seconds;
  guint max_retries;
  guint retry_base_ms; /* first back-off; doubles each time */
} PurserdStripeConfig;

typedef struct _PurserdStripe PurserdStripe;

PurserdStripe *purserd_stripe_new (const PurserdStripeConfig *config);
void purserd_stripe_free (PurserdStripe *stripe);
gboolean purserd_stripe_configured (PurserdStripe *stripe);
const char *purserd_stripe_api_base (PurserdStripe *stripe);

/* One request to Stripe, built by the functions below. */
typedef struct
{
  char *method;
  char *path;            /* "/v1/payment_intents" */
  GPtrArray *form;       /* key, value, key, value… (owned) */
  char *idempotency_key; /* POST only */
  char *operation;       /* "payment_intent.create", for logs and tests */
} PurserdStripeRequest;

void purserd_stripe_request_free (PurserdStripeRequest *request);
/* The form body, as sent ("a=1&metadata%5Bb%5D=2"). */
char *purserd_stripe_request_encode (const PurserdStripeRequest *request);

PurserdStripeRequest *purserd_stripe_customer_create (const char *org_id, const char *name,
                                                      const char *email);
/* A Checkout Session in setup mode for one payment method type (card, us_bank_account,
 * sepa_debit); `setup_id` is ours, in the metadata and the idempotency key. */
PurserdStripeRequest *purserd_stripe_checkout_setup_create (const char *setup_id,
                                                            const char *org_id,
                                                            const char *customer, const char *type,
                                                            const char *success_url,
                                                            const char *cancel_url);
PurserdStripeRequest *purserd_stripe_setup_intent_get (const char *id);
PurserdStripeRequest *purserd_stripe_payment_method_get (const char *id);
PurserdStripeRequest *purserd_stripe_payment_method_detach (const char *id);
/* An off-session, confirmed charge of `amount` cents of an invoice on a saved method;
 * `payment_id` (ours) is the idempotency key, so a retry of the same attempt is harmless. */
PurserdStripeRequest *purserd_stripe_payment_intent_create (
    const char *payment_id, const char *org_id, const char *invoice_id, const char *invoice_number,
    const char *customer, const char *payment_method, const char *method_type, gint64 amount);
PurserdStripeRequest *purserd_stripe_payment_intent_get (const char *id);
/* Refunds `amount` cents of a PaymentIntent, keyed by our credit note. */
PurserdStripeRequest *purserd_stripe_refund_create (const char *credit_note_id,
                                                    const char *payment_intent, gint64 amount);

/* Sends (taking `request`); the answer is Stripe's JSON object. Errors carry Stripe's
 * message; for CARD and REQUEST errors *answer (if not NULL) is the `error` object. */
void purserd_stripe_send_async (PurserdStripe *stripe, PurserdStripeRequest *request,
                                GCancellable *cancellable, GAsyncReadyCallback callback,
                                gpointer user_data);
JsonObject *purserd_stripe_send_finish (PurserdStripe *stripe, GAsyncResult *result,
                                        JsonObject **error_object, GError **error);

/* ── what Purser reads from Stripe's objects ─────────────────────────────────── */

typedef struct
{
  char *id;
  char *type; /* card, us_bank_account, sepa_debit, … */
  char *customer;
  char *brand; /* card brand, or the bank's name */
  char *last4;
  int exp_month; /* cards only, else 0 */
  int exp_year;
  char *country;
} PurserdStripePaymentMethod;

typedef struct
{
  char *id;
  char *status; /* succeeded, processing, requires_payment_method, requires_action, … */
  gint64 amount;
  gint64 amount_received;
  char *customer;
  char *payment_method;
  char *latest_charge;
  char *failure_code; /* last_payment_error: decline_code, else code */
  char *failure_message;
  char *metadata_payment_id;
} PurserdStripePaymentIntent;

typedef struct
{
  char *id;
  char *url;
  char *status;
  char *mode;
  char *customer;
  char *setup_intent;
  char *metadata_setup_id;
  gint64 expires_at;
} PurserdStripeCheckoutSession;

typedef struct
{
  char *id;
  char *status;
  char *customer;
  char *payment_method;
} PurserdStripeSetupIntent;

typedef struct
{
  char *id;
  char *status;
  gint64 amount;
  char *charge;
  char *payment_intent;
} PurserdStripeRefund;

typedef struct
{
  char *id;
  char *payment_intent;
  gint64 amount;
  gint64 amount_refunded;
  gboolean refunded;
} PurserdStripeCharge;

typedef struct
{
  char *id;
  char *type;
  gint64 created;
  JsonObject *object; /* data.object */
  char *object_id;
} PurserdStripeEvent;

gboolean purserd_stripe_parse_payment_method (JsonObject *object, PurserdStripePaymentMethod *out,
                                              GError **error);
gboolean purserd_stripe_parse_payment_intent (JsonObject *object, PurserdStripePaymentIntent *out,
                                              GError **error);
gboolean purserd_stripe_parse_checkout_session (JsonObject *object,
                                                PurserdStripeCheckoutSession *out, GError **error);
gboolean purserd_stripe_parse_setup_intent (JsonObject *object, PurserdStripeSetupIntent *out,
                                            GError **error);
gboolean purserd_stripe_parse_refund (JsonObject *object, PurserdStripeRefund *out, GError **error);
gboolean purserd_stripe_parse_charge (JsonObject *object, PurserdStripeCharge *out, GError **error);
/* An id string of `object` (Stripe sends ids, or whole objects when expanded). */
char *purserd_stripe_parse_customer (JsonObject *object, GError **error);
gboolean purserd_stripe_parse_event (JsonNode *root, PurserdStripeEvent *out, GError **error);

void purserd_stripe_payment_method_clear (PurserdStripePaymentMethod *pm);
void purserd_stripe_payment_intent_clear (PurserdStripePaymentIntent *pi);
void purserd_stripe_checkout_session_clear (PurserdStripeCheckoutSession *cs);
void purserd_stripe_setup_intent_clear (PurserdStripeSetupIntent *si);
void purserd_stripe_refund_clear (PurserdStripeRefund *refund);
void purserd_stripe_charge_clear (PurserdStripeCharge *charge);
void purserd_stripe_event_clear (PurserdStripeEvent *event);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PurserdStripeRequest, purserd_stripe_request_free)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PurserdStripePaymentMethod, purserd_stripe_payment_method_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PurserdStripePaymentIntent, purserd_stripe_payment_intent_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PurserdStripeCheckoutSession,
                                  purserd_stripe_checkout_session_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PurserdStripeSetupIntent, purserd_stripe_setup_intent_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PurserdStripeRefund, purserd_stripe_refund_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PurserdStripeCharge, purserd_stripe_charge_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PurserdStripeEvent, purserd_stripe_event_clear)

G_END_DECLS
