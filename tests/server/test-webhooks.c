/* SPDX-License-Identifier: GPL-3.0-or-later */
/* POST /v1/webhooks/stripe end to end: Stripe's sample events reach a real purserd signed as
 * Stripe signs them, change what they should (and nothing else), bad signatures change
 * nothing, duplicates and old news are harmless, and processing that fails is retried. */
#include "config.h"

#include <string.h>

#include "payments-test-util.h"

#define CARD "visa:4242:12:2030"

static const char *const sample_events[] = {
  "charge.refunded",          "customer.subscription.updated",
  "invoice.payment_failed",   "payment_intent.payment_failed",
  "payment_intent.succeeded", "setup_intent.succeeded",
};

/* ── signing and sending ───────────────────────────────────────────────────────── */

static gint64
wall_now (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* Stripe's v1 scheme, computed here independently of purserd: HMAC-SHA256 of "t.body". */
static char *
v1_of (const char *secret, gint64 t, const char *body, gsize length)
{
  g_autoptr (GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA256, (const guchar *) secret, strlen (secret));
  g_autofree char *prefix = g_strdup_printf ("%" G_GINT64_FORMAT ".", t);

  g_hmac_update (hmac, (const guchar *) prefix, -1);
  g_hmac_update (hmac, (const guchar *) body, (gssize) length);
  return g_strdup (g_hmac_get_string (hmac));
}

static char *
signature (const char *secret, gint64 t, const char *body)
{
  g_autofree char *v1 = v1_of (secret, t, body, strlen (body));

  return g_strdup_printf ("t=%" G_GINT64_FORMAT ",v1=%s", t, v1);
}

/* POSTs `body` as is with this Stripe-Signature (NULL: no header). */
static JsonNode *
post_signed (PayFixture *f, const char *body, const char *header, guint *status)
{
  const char *const headers[] = { "Stripe-Signature", header, NULL };

  return harness_request_full (f->h, "POST", "/v1/webhooks/stripe", NULL, "application/json", body,
                               strlen (body), header ? headers : NULL, status, NULL);
}

/* Signed now with the fixture's secret; asserts 200 and returns "duplicate". */
static gboolean
deliver (PayFixture *f, const char *body)
{
  g_autofree char *header = signature (PAY_WEBHOOK_KEY, wall_now (), body);
  g_autoptr (JsonNode) answer = NULL;
  guint status = 0;

  answer = post_signed (f, body, header, &status);
  assert_status (answer, status, 200);
  g_assert_true (harness_get_bool (answer, "received"));
  return harness_get_bool (answer, "duplicate");
}

/* ── events ────────────────────────────────────────────────────────────────────── */

static char *
sample_path (const char *type)
{
  g_autofree char *name = g_strconcat (type, ".json", NULL);

  return g_build_filename (g_getenv ("PURSER_STRIPE_DIR"), "events", name, NULL);
}

static char *
sample_text (const char *type)
{
  g_autofree char *path = sample_path (type);
  g_autoptr (GError) error = NULL;
  char *text = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return text;
}

/* Stripe's sample event of this type, to be rewritten to purserd's objects: a fresh id and
 * `created`. */
static JsonNode *
sample_event (const char *type)
{
  static guint serial;
  g_autofree char *text = sample_text (type);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *id = g_strdup_printf ("evt_test%06u%08x", ++serial, g_random_int ());
  JsonObject *event;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  event = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (event, "type"), ==, type);
  json_object_set_string_member (event, "id", id);
  json_object_set_int_member (event, "created", wall_now ());
  json_object_set_string_member (event, "api_version", "2023-08-16");
  return json_node_copy (json_parser_get_root (parser));
}

static JsonObject *
object_of (JsonNode *event)
{
  return json_object_get_object_member (
      json_object_get_object_member (json_node_get_object (event), "data"), "object");
}

static char *
event_text (JsonNode *event)
{
  return json_to_string (event, TRUE);
}

/* ── state ─────────────────────────────────────────────────────────────────────── */

/* Everything an event could change, as one JSON text: the event feed's end, the invoices,
 * the payments, the methods, the subscription, the mail and the credit notes. */
static char *
snapshot (PayFixture *f)
{
  static const char *const lists[]
      = { "invoices", "payments", "credit-notes", "emails", "payment-methods" };
  g_autoptr (GString) out = g_string_new (NULL);
  g_autoptr (JsonNode) sub = pay_subscription (f);
  g_autofree char *sub_text = test_describe (sub);

  g_string_append_printf (out, "last_seq %" G_GINT64_FORMAT "\n", pay_last_seq (f));
  g_string_append_printf (out, "subscription %s\n", sub_text);
  for (guint i = 0; i < G_N_ELEMENTS (lists); i++)
    {
      g_autoptr (JsonNode) answer = pay_call (f, "GET", 200, NULL, "%s", lists[i]);
      g_autofree char *text = test_describe (harness_get (answer, "data"));

      g_string_append_printf (out, "%s %s\n", lists[i], text);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* A card whose charges stay `processing` until an event says how they ended; returns its
 * Stripe id. */
static char *
add_processing_card (PayFixture *f)
{
  char *pm = NULL;

  g_free (pay_add_card (f, CARD, FAKE_STRIPE_PROCESSING, &pm));
  return pm;
}

typedef struct
{
  char *invoice_id;
  char *payment_id;
  char *intent;
  char *charge;
  gint64 amount;
} Pending;

static void
pending_clear (Pending *p)
{
  g_free (p->invoice_id);
  g_free (p->payment_id);
  g_free (p->intent);
  g_free (p->charge);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Pending, pending_clear)

/* An invoice charged on the processing card: its payment waits for Stripe's word. */
static void
pending_charge (PayFixture *f, gint64 seats, Pending *out)
{
  g_autoptr (JsonNode) payment = NULL;
  g_autoptr (JsonNode) invoice = NULL;

  out->invoice_id = pay_issue_invoice (f, seats);
  payment = wait_payment_status (f, out->invoice_id, "processing");
  pay_settle (f);
  invoice = pay_invoice (f, out->invoice_id);
  g_assert_cmpstr (harness_get_str (invoice, "status"), ==, "open");
  out->payment_id = g_strdup (harness_get_str (payment, "id"));
  out->intent = g_strdup (harness_get_str (payment, "stripe_payment_intent"));
  g_assert_nonnull (out->intent);
  out->charge = pay_fake_member (f, out->intent, "latest_charge");
  g_assert_nonnull (out->charge);
  out->amount = harness_get_int (payment, "amount.amount");
  g_assert_cmpint (out->amount, ==, harness_get_int (invoice, "total.amount"));
}

/* Stripe's sample payment_intent.<type> rewritten to the pending payment. */
static JsonNode *
intent_event (PayFixture *f, const char *type, const Pending *p, const char *pm)
{
  g_autoptr (JsonNode) event = sample_event (type);
  g_autofree char *customer = pay_customer (f);
  JsonObject *pi = object_of (event);
  JsonObject *metadata = json_object_new ();

  json_object_set_string_member (pi, "id", p->intent);
  json_object_set_string_member (metadata, "purser_payment_id", p->payment_id);
  json_object_set_string_member (metadata, "purser_invoice_id", p->invoice_id);
  json_object_set_object_member (pi, "metadata", metadata);
  json_object_set_string_member (pi, "customer", customer);
  json_object_set_string_member (pi, "latest_charge", p->charge);
  json_object_set_string_member (pi, "currency", "usd");
  json_object_set_int_member (pi, "amount", p->amount);
  if (g_str_equal (type, "payment_intent.succeeded"))
    {
      json_object_set_string_member (pi, "payment_method", pm);
      json_object_set_int_member (pi, "amount_received", p->amount);
    }
  return g_steal_pointer (&event);
}

/* ── 1. Stripe's samples ───────────────────────────────────────────────────────── */

/* Each sample as Stripe's SDK fixtures have it, byte for byte and freshly signed: accepted,
 * stored once, and (being about objects that are not purserd's) changing nothing. */
static void
test_samples_raw (PayFixture *f, gconstpointer data)
{
  g_autofree char *dir = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr (GDir) listing = NULL;
  const char *name;
  guint files = 0;

  if (f->h == NULL)
    return;
  g_free (pay_add_card (f, CARD, FAKE_STRIPE_SUCCEED, NULL));
  pay_settle (f);
  before = snapshot (f);

  dir = g_build_filename (g_getenv ("PURSER_STRIPE_DIR"), "events", NULL);
  listing = g_dir_open (dir, 0, NULL);
  g_assert_nonnull (listing);
  while ((name = g_dir_read_name (listing)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autofree char *text = NULL;

      if (!g_str_has_suffix (name, ".json"))
        continue;
      path = g_build_filename (dir, name, NULL);
      g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
      g_test_message ("%s", name);
      g_assert_false (deliver (f, text));
      files++;
    }
  g_assert_cmpuint (files, ==, G_N_ELEMENTS (sample_events));
  pay_settle (f);
  after = snapshot (f);
  g_assert_cmpstr (after, ==, before);

  /* They were stored: a second delivery is a duplicate. */
  for (guint i = 0; i < G_N_ELEMENTS (sample_events); i++)
    {
      g_autofree char *text = sample_text (sample_events[i]);

      g_assert_true (deliver (f, text));
    }
}

/* payment_intent.succeeded settles a processing payment: paid, with a receipt; then
 * charge.refunded records a refund made in Stripe's dashboard. */
static void
test_sample_intent_succeeded_and_refund (PayFixture *f, gconstpointer data)
{
  g_autofree char *pm = NULL;
  g_autofree char *text = NULL;
  g_autofree char *refund_text = NULL;
  g_autofree char *customer = NULL;
  g_autoptr (JsonNode) event = NULL;
  g_autoptr (JsonNode) refund = NULL;
  g_autoptr (JsonNode) invoice = NULL;
  g_autoptr (JsonNode) payment = NULL;
  g_auto (Pending) p = { 0 };
  JsonObject *charge;
  gint64 seq;

  if (f->h == NULL)
    return;
  pm = add_processing_card (f);
  pending_charge (f, 15, &p);
  seq = pay_last_seq (f);

  event = intent_event (f, "payment_intent.succeeded", &p, pm);
  text = event_text (event);
  g_assert_false (deliver (f, text));
  invoice = wait_invoice_status (f, p.invoice_id, "paid");
  assert_money (invoice, "amount_paid", p.amount);
  payment = pay_payment_with_status (f, p.invoice_id, "succeeded");
  g_assert_cmpstr (harness_get_str (payment, "id"), ==, p.payment_id);
  g_assert_nonnull (harness_get_str (payment, "receipt_number"));
  pay_settle (f);
  g_assert_cmpuint (pay_mail_count (f, "payment-receipt"), ==, 1);
  g_assert_cmpuint (pay_event_count (f, seq, "payment.succeeded"), ==, 1);
  g_assert_cmpuint (pay_event_count (f, seq, "invoice.paid"), ==, 1);

  /* The whole charge refunded at Stripe. */
  seq = pay_last_seq (f);
  customer = pay_customer (f);
  refund = sample_event ("charge.refunded");
  charge = object_of (refund);
  json_object_set_string_member (charge, "id", p.charge);
  json_object_set_string_member (charge, "payment_intent", p.intent);
  json_object_set_string_member (charge, "customer", customer);
  json_object_set_string_member (charge, "currency", "usd");
  json_object_set_int_member (charge, "amount", p.amount);
  json_object_set_int_member (charge, "amount_captured", p.amount);
  json_object_set_int_member (charge, "amount_refunded", p.amount);
  refund_text = event_text (refund);
  g_assert_false (deliver (f, refund_text));
  pay_settle (f);
  g_clear_pointer (&payment, json_node_unref);
  payment = pay_payment_with_status (f, p.invoice_id, "succeeded");
  assert_money (payment, "amount_refunded", p.amount);
  g_assert_cmpuint (pay_event_count (f, seq, "payment.refunded"), ==, 1);

  /* Old news again (the same refund in another event): nothing more. */
  g_clear_pointer (&refund_text, g_free);
  json_object_set_string_member (json_node_get_object (refund), "id", "evt_test_refund_again");
  refund_text = event_text (refund);
  g_assert_false (deliver (f, refund_text));
  pay_settle (f);
  g_assert_cmpuint (pay_event_count (f, seq, "payment.refunded"), ==, 1);
}

/* payment_intent.payment_failed fails a processing payment and starts dunning. */
static void
test_sample_intent_failed (PayFixture *f, gconstpointer data)
{
  g_autofree char *pm = NULL;
  g_autofree char *text = NULL;
  g_autoptr (JsonNode) event = NULL;
  g_autoptr (JsonNode) invoice = NULL;
  g_autoptr (JsonNode) payment = NULL;
  g_autoptr (JsonNode) sub = NULL;
  g_auto (Pending) p = { 0 };

  if (f->h == NULL)
    return;
  pm = add_processing_card (f);
  pending_charge (f, 15, &p);

  event = intent_event (f, "payment_intent.payment_failed", &p, pm);
  text = event_text (event);
  g_assert_false (deliver (f, text));
  payment = wait_payment_status (f, p.invoice_id, "failed");
  g_assert_cmpstr (harness_get_str (payment, "id"), ==, p.payment_id);
  /* The sample's last_payment_error: card_declined, decline_code generic_decline. */
  g_assert_cmpstr (harness_get_str (payment, "failure_code"), ==, "generic_decline");
  g_assert_cmpstr (harness_get_str (payment, "failure_message"), ==, "Your card was declined.");
  pay_settle (f);
  invoice = pay_invoice (f, p.invoice_id);
  g_assert_cmpstr (harness_get_str (invoice, "status"), ==, "open");
  g_assert_cmpint (harness_get_int (invoice, "attempt_count"), ==, 1);
  g_assert_cmpstr (harness_get_str (invoice, "next_attempt_at"), ==, "2026-03-04T09:00:00Z");
  g_assert_cmpuint (pay_mail_count (f, "payment-failed"), ==, 1);
  sub = pay_subscription (f);
  g_assert_cmpstr (harness_get_str (sub, "status"), ==, "active");
}

/* setup_intent.succeeded for the organization's customer adds the method it names. */
static void
test_sample_setup_intent (PayFixture *f, gconstpointer data)
{
  g_autofree char *session = NULL;
  g_autofree char *pm = NULL;
  g_autofree char *seti = NULL;
  g_autofree char *customer = NULL;
  g_autofree char *text = NULL;
  g_autoptr (GPtrArray) held = NULL;
  g_autoptr (JsonNode) event = NULL;
  g_autoptr (JsonNode) methods = NULL;
  JsonObject *intent;
  gint64 deadline;

  if (f->h == NULL)
    return;
  /* A card the fake knows and purserd has not heard of: its events are kept back. */
  session = pay_setup (f, "card", NULL);
  fake_stripe_hold_webhooks (f->fake, TRUE);
  pm = fake_stripe_complete_checkout (f->fake, session, "mastercard:4444:3:2031",
                                      FAKE_STRIPE_SUCCEED);
  held = fake_stripe_take_held_webhooks (f->fake);
  fake_stripe_hold_webhooks (f->fake, FALSE);
  g_assert_cmpuint (held->len, ==, 2);
  pay_settle (f);
  g_assert_cmpuint (pay_method_count (f), ==, 0);
  seti = pay_fake_member (f, session, "setup_intent");
  customer = pay_customer (f);

  event = sample_event ("setup_intent.succeeded");
  intent = object_of (event);
  json_object_set_string_member (intent, "id", seti);
  json_object_set_string_member (intent, "customer", customer);
  json_object_set_string_member (intent, "payment_method", pm);
  text = event_text (event);
  g_assert_false (deliver (f, text));
  deadline = g_get_monotonic_time () + PAY_WAIT_SECONDS * G_TIME_SPAN_SECOND;
  while (pay_method_count (f) == 0 && g_get_monotonic_time () < deadline)
    g_usleep (50 * 1000);
  pay_settle (f);
  methods = pay_methods (f);
  g_assert_cmpuint (test_array_length (methods, "data"), ==, 1);
  g_assert_cmpstr (harness_get_str (methods, "data.0.type"), ==, "card");
  g_assert_cmpstr (harness_get_str (methods, "data.0.brand"), ==, "mastercard");
  g_assert_cmpstr (harness_get_str (methods, "data.0.last4"), ==, "4444");
  g_assert_cmpint (harness_get_int (methods, "data.0.exp_month"), ==, 3);
  g_assert_cmpint (harness_get_int (methods, "data.0.exp_year"), ==, 2031);
  g_assert_true (harness_get_bool (methods, "data.0.is_default"));
}

/* Events about Stripe Billing's objects, which Purser does not use, and events of a type
 * nobody knows: accepted and stored, and nothing changes, even for purserd's customer. */
static void
test_sample_unused (PayFixture *f, gconstpointer data)
{
  static const char *const unused[] = { "customer.subscription.updated", "invoice.payment_failed" };
  g_autofree char *pm = NULL;
  g_autofree char *customer = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *unknown_text = NULL;
  g_autoptr (JsonNode) unknown = NULL;
  g_autoptr (JsonNode) paid = NULL;
  g_autofree char *open_invoice = NULL;
  g_autofree char *paid_invoice = NULL;
  g_autoptr (JsonNode) failed = NULL;
  JsonObject *warning;
  guint requests;

  if (f->h == NULL)
    return;
  g_free (pay_add_card (f, CARD, FAKE_STRIPE_SUCCEED, &pm));
  paid_invoice = pay_issue_invoice (f, 15);
  paid = wait_invoice_status (f, paid_invoice, "paid");
  fake_stripe_set_behaviour (f->fake, pm, FAKE_STRIPE_DECLINE);
  open_invoice = pay_issue_invoice (f, 20);
  failed = wait_payment_status (f, open_invoice, "failed");
  pay_settle (f);
  customer = pay_customer (f);
  before = snapshot (f);
  requests = fake_stripe_request_count (f->fake, NULL, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (unused); i++)
    {
      g_autoptr (JsonNode) event = sample_event (unused[i]);
      g_autofree char *text = NULL;

      json_object_set_string_member (object_of (event), "customer", customer);
      text = event_text (event);
      g_assert_false (deliver (f, text));
    }
  unknown = sample_event ("payment_intent.succeeded");
  json_object_set_string_member (json_node_get_object (unknown), "type",
                                 "radar.early_fraud_warning.created");
  warning = json_object_new ();
  json_object_set_string_member (warning, "id", "issfr_1PgafyB7WZ01zgkW0a1b2c3d");
  json_object_set_string_member (warning, "object", "radar.early_fraud_warning");
  json_object_set_string_member (warning, "charge", "ch_1PgafuB7WZ01zgkWXYmPNZs8");
  json_object_set_string_member (warning, "fraud_type", "misc");
  json_object_set_object_member (
      json_object_get_object_member (json_node_get_object (unknown), "data"), "object", warning);
  unknown_text = event_text (unknown);
  g_assert_false (deliver (f, unknown_text));
  pay_settle (f);
  after = snapshot (f);
  g_assert_cmpstr (after, ==, before);
  g_assert_cmpuint (fake_stripe_request_count (f->fake, NULL, NULL), ==, requests);
  /* Stored: the same event again is a duplicate. */
  g_assert_true (deliver (f, unknown_text));
}

/* ── 2. signatures ─────────────────────────────────────────────────────────────── */

static void
expect_refused (PayFixture *f, const char *body, const char *header)
{
  g_autoptr (JsonNode) answer = NULL;
  guint status = 0;

  answer = post_signed (f, body, header, &status);
  assert_error (answer, status, 400, "invalid_signature");
}

static void
test_signatures (PayFixture *f, gconstpointer data)
{
  g_autofree char *pm = NULL;
  g_autofree char *text = NULL;
  g_autofree char *tampered = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *other_text = NULL;
  g_autoptr (JsonNode) event = NULL;
  g_autoptr (JsonNode) other = NULL;
  g_autoptr (JsonNode) answer = NULL;
  g_autoptr (JsonNode) invoice = NULL;
  g_auto (Pending) p = { 0 };
  gint64 now = wall_now ();
  guint status = 0;

  if (f->h == NULL)
    return;
  pm = add_processing_card (f);
  pending_charge (f, 15, &p);
  event = intent_event (f, "payment_intent.succeeded", &p, pm);
  text = event_text (event);
  before = snapshot (f);

  {
    g_autofree char *wrong = signature ("whsec_someone_else", now, text);
    g_autofree char *old = signature (PAY_WEBHOOK_KEY, now - 301, text);
    g_autofree char *v1 = v1_of (PAY_WEBHOOK_KEY, now, text, strlen (text));
    g_autofree char *no_time = g_strdup_printf ("v1=%s", v1);
    g_autofree char *v0 = g_strdup_printf ("t=%" G_GINT64_FORMAT ",v0=%s", now, v1);
    g_autofree char *right = signature (PAY_WEBHOOK_KEY, now, text);

    expect_refused (f, text, NULL);
    expect_refused (f, text, "");
    expect_refused (f, text, wrong);
    expect_refused (f, text, old);
    expect_refused (f, text, no_time);
    expect_refused (f, text, v0);
    /* The right signature over other bytes: one digit of the amount changed. */
    tampered = g_strdup (text);
    {
      g_autofree char *amount = g_strdup_printf ("%" G_GINT64_FORMAT, p.amount);
      char *at = strstr (tampered, amount);

      g_assert_nonnull (at);
      at[0] = at[0] == '9' ? '8' : at[0] + 1;
    }
    expect_refused (f, tampered, right);
  }
  /* Nothing was stored or changed. */
  pay_settle (f);
  after = snapshot (f);
  g_assert_cmpstr (after, ==, before);

  /* 299 s old is still in time; the event is new to purserd. */
  {
    g_autofree char *late = signature (PAY_WEBHOOK_KEY, wall_now () - 299, text);

    answer = post_signed (f, text, late, &status);
    assert_status (answer, status, 200);
    g_assert_false (harness_get_bool (answer, "duplicate"));
  }
  invoice = wait_invoice_status (f, p.invoice_id, "paid");

  /* Two v1 entries, signed with the old and the new secret: the new one matches. */
  other = sample_event ("customer.subscription.updated");
  other_text = event_text (other);
  {
    gint64 t = wall_now ();
    g_autofree char *old_v1 = v1_of ("whsec_the_old_secret", t, other_text, strlen (other_text));
    g_autofree char *new_v1 = v1_of (PAY_WEBHOOK_KEY, t, other_text, strlen (other_text));
    g_autofree char *both
        = g_strdup_printf ("t=%" G_GINT64_FORMAT ",v1=%s,v1=%s", t, old_v1, new_v1);
    g_autofree char *only_old = g_strdup_printf ("t=%" G_GINT64_FORMAT ",v1=%s", t, old_v1);

    expect_refused (f, other_text, only_old);
    g_clear_pointer (&answer, json_node_unref);
    answer = post_signed (f, other_text, both, &status);
    assert_status (answer, status, 200);
    g_assert_false (harness_get_bool (answer, "duplicate"));
  }
}

#define OLD_SECRET "whsec_SECRETrotating_old_5a1f"
#define NEW_SECRET "whsec_SECRETrotating_new_9c3e"

static const PayOptions rotating = {
  .with_key = TRUE,
  .webhook_lines = OLD_SECRET "\n" NEW_SECRET "\n",
  .signing = NEW_SECRET,
};

/* While the secret is rotated, both are accepted; a third is not. */
static void
test_rotation (PayFixture *f, gconstpointer data)
{
  static const char *const secrets[] = { OLD_SECRET, NEW_SECRET };

  if (f->h == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (secrets); i++)
    {
      g_autoptr (JsonNode) event = sample_event ("customer.subscription.updated");
      g_autofree char *text = event_text (event);
      g_autofree char *header = signature (secrets[i], wall_now (), text);
      g_autoptr (JsonNode) answer = NULL;
      guint status = 0;

      answer = post_signed (f, text, header, &status);
      assert_status (answer, status, 200);
      g_assert_false (harness_get_bool (answer, "duplicate"));
    }
  {
    g_autoptr (JsonNode) event = sample_event ("customer.subscription.updated");
    g_autofree char *text = event_text (event);
    g_autofree char *header = signature (PAY_WEBHOOK_KEY, wall_now (), text);

    expect_refused (f, text, header);
  }
  /* The fake signs with the new secret: its events go through. */
  g_free (pay_add_card (f, CARD, FAKE_STRIPE_SUCCEED, NULL));
  g_assert_cmpuint (pay_method_count (f), ==, 1);
}

/* ── 3. duplicates and order ───────────────────────────────────────────────────── */

static void
test_duplicate (PayFixture *f, gconstpointer data)
{
  g_autofree char *pm = NULL;
  g_autofree char *text = NULL;
  g_autoptr (JsonNode) event = NULL;
  g_autoptr (JsonNode) invoice = NULL;
  g_autoptr (JsonNode) answer = NULL;
  g_autofree char *header = NULL;
  g_auto (Pending) p = { 0 };
  gint64 seq;
  guint status = 0;

  if (f->h == NULL)
    return;
  pm = add_processing_card (f);
  pending_charge (f, 15, &p);
  seq = pay_last_seq (f);
  event = intent_event (f, "payment_intent.succeeded", &p, pm);
  text = event_text (event);

  g_assert_false (deliver (f, text));
  header = signature (PAY_WEBHOOK_KEY, wall_now (), text);
  answer = post_signed (f, text, header, &status);
  assert_status (answer, status, 200);
  g_assert_true (harness_get_bool (answer, "received"));
  g_assert_true (harness_get_bool (answer, "duplicate"));
  invoice = wait_invoice_status (f, p.invoice_id, "paid");
  /* And once more after it was processed. */
  g_assert_true (deliver (f, text));
  pay_settle (f);
  g_assert_cmpuint (pay_mail_count (f, "payment-receipt"), ==, 1);
  g_assert_cmpuint (pay_event_count (f, seq, "payment.succeeded"), ==, 1);
  g_assert_cmpuint (pay_event_count (f, seq, "invoice.paid"), ==, 1);
}

/* payment_intent.succeeded, then an older payment_intent.payment_failed about the same
 * PaymentIntent: the newer state stays. */
static void
test_older_event_after (PayFixture *f, gconstpointer data)
{
  g_autofree char *pm = NULL;
  g_autofree char *succeeded_text = NULL;
  g_autofree char *failed_text = NULL;
  g_autoptr (JsonNode) succeeded = NULL;
  g_autoptr (JsonNode) failed = NULL;
  g_autoptr (JsonNode) invoice = NULL;
  g_autoptr (JsonNode) payment = NULL;
  g_autoptr (JsonArray) payments = NULL;
  g_auto (Pending) p = { 0 };
  gint64 t2 = wall_now ();

  if (f->h == NULL)
    return;
  pm = add_processing_card (f);
  pending_charge (f, 15, &p);
  succeeded = intent_event (f, "payment_intent.succeeded", &p, pm);
  json_object_set_int_member (json_node_get_object (succeeded), "created", t2);
  failed = intent_event (f, "payment_intent.payment_failed", &p, pm);
  json_object_set_int_member (json_node_get_object (failed), "created", t2 - 60);
  succeeded_text = event_text (succeeded);
  failed_text = event_text (failed);

  g_assert_false (deliver (f, succeeded_text));
  g_assert_false (deliver (f, failed_text));
  pay_settle (f);
  invoice = wait_invoice_status (f, p.invoice_id, "paid");
  g_assert_null (harness_get_str (invoice, "next_attempt_at"));
  payments = pay_payments (f, p.invoice_id);
  g_assert_cmpuint (json_array_get_length (payments), ==, 1);
  payment = pay_payment_with_status (f, p.invoice_id, "succeeded");
  g_assert_null (harness_get_str (payment, "failure_code"));
  g_assert_cmpuint (pay_mail_count (f, "payment-failed"), ==, 0);
  g_assert_cmpuint (pay_mail_count (f, "payment-receipt"), ==, 1);
}

/* A payment that is not final yet: payment_intent.processing (T2), then an older
 * payment_intent.payment_failed (T1) does not fail it; the newer payment_intent.succeeded
 * (T3) settles it. */
static void
test_older_event_while_processing (PayFixture *f, gconstpointer data)
{
  g_autofree char *pm = NULL;
  g_autofree char *processing_text = NULL;
  g_autofree char *failed_text = NULL;
  g_autofree char *succeeded_text = NULL;
  g_autoptr (JsonNode) processing = NULL;
  g_autoptr (JsonNode) failed = NULL;
  g_autoptr (JsonNode) succeeded = NULL;
  g_autoptr (JsonNode) invoice = NULL;
  g_autoptr (JsonNode) payment = NULL;
  g_auto (Pending) p = { 0 };
  gint64 t2 = wall_now ();
  JsonObject *pi;

  if (f->h == NULL)
    return;
  pm = add_processing_card (f);
  pending_charge (f, 15, &p);

  processing = intent_event (f, "payment_intent.succeeded", &p, pm);
  json_object_set_string_member (json_node_get_object (processing), "type",
                                 "payment_intent.processing");
  json_object_set_int_member (json_node_get_object (processing), "created", t2);
  pi = object_of (processing);
  json_object_set_string_member (pi, "status", "processing");
  json_object_set_int_member (pi, "amount_received", 0);
  failed = intent_event (f, "payment_intent.payment_failed", &p, pm);
  json_object_set_int_member (json_node_get_object (failed), "created", t2 - 60);
  succeeded = intent_event (f, "payment_intent.succeeded", &p, pm);
  json_object_set_int_member (json_node_get_object (succeeded), "created", t2 + 1);
  processing_text = event_text (processing);
  failed_text = event_text (failed);
  succeeded_text = event_text (succeeded);

  g_assert_false (deliver (f, processing_text));
  pay_settle (f);
  g_assert_false (deliver (f, failed_text));
  pay_settle (f);
  payment = pay_payment_with_status (f, p.invoice_id, "processing");
  g_assert_null (harness_get_str (payment, "failure_code"));
  invoice = pay_invoice (f, p.invoice_id);
  g_assert_cmpstr (harness_get_str (invoice, "status"), ==, "open");
  g_assert_null (harness_get_str (invoice, "next_attempt_at"));
  g_assert_cmpuint (pay_mail_count (f, "payment-failed"), ==, 0);

  g_assert_false (deliver (f, succeeded_text));
  g_clear_pointer (&invoice, json_node_unref);
  invoice = wait_invoice_status (f, p.invoice_id, "paid");
  pay_settle (f);
  g_clear_pointer (&payment, json_node_unref);
  payment = pay_payment_with_status (f, p.invoice_id, "succeeded");
  g_assert_cmpuint (pay_mail_count (f, "payment-receipt"), ==, 1);
  g_assert_cmpuint (pay_mail_count (f, "payment-failed"), ==, 0);
}

/* The organization's events of this type about this entity. */
static guint
entity_events (PayFixture *f, const char *type, const char *entity_id)
{
  g_autoptr (JsonNode) answer = pay_call (f, "GET", 200, NULL, "events?after=0&limit=5000");
  JsonArray *data = json_node_get_array (harness_get (answer, "data"));
  guint n = 0;

  for (guint i = 0; i < json_array_get_length (data); i++)
    {
      JsonNode *event = json_array_get_element (data, i);

      if (g_strcmp0 (harness_get_str (event, "type"), type) == 0
          && g_strcmp0 (harness_get_str (event, "entity.id"), entity_id) == 0)
        n++;
    }
  return n;
}

/* What a settled charge looks like, without ids and times: the invoice, its payments and
 * what the event feed says about them. */
static char *
outcome_of (PayFixture *f, const char *invoice_id)
{
  static const char *const types[]
      = { "payment.processing", "payment.succeeded", "payment.failed", "invoice.paid" };
  g_autoptr (JsonNode) invoice = pay_invoice (f, invoice_id);
  g_autoptr (JsonArray) payments = pay_payments (f, invoice_id);
  g_autoptr (GString) out = g_string_new (NULL);

  g_string_append_printf (
      out,
      "invoice %s paid %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT " attempts %" G_GINT64_FORMAT
      " next %s;",
      harness_get_str (invoice, "status"), harness_get_int (invoice, "amount_paid.amount"),
      harness_get_int (invoice, "total.amount"), harness_get_int (invoice, "attempt_count"),
      harness_get_str (invoice, "next_attempt_at"));
  for (guint i = 0; i < json_array_get_length (payments); i++)
    {
      JsonNode *payment = json_array_get_element (payments, i);

      g_string_append_printf (
          out, " payment %s refunded %" G_GINT64_FORMAT " failure %s receipt %s;",
          harness_get_str (payment, "status"), harness_get_int (payment, "amount_refunded.amount"),
          harness_get_str (payment, "failure_code"),
          harness_get_str (payment, "receipt_number") ? "yes" : "no");
      for (guint j = 0; j < G_N_ELEMENTS (types); j++)
        g_string_append_printf (out, " %s=%u", types[j],
                                entity_events (f, types[j], harness_get_str (payment, "id")));
      g_string_append_c (out, ';');
    }
  for (guint j = 2; j < G_N_ELEMENTS (types); j++)
    g_string_append_printf (out, " %s=%u", types[j], entity_events (f, types[j], invoice_id));
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* The fake's own events for a charge (processing, then succeeded a second later), held and
 * delivered by hand in order; returns the outcome. */
static char *
held_charge (PayFixture *f, gint64 seats, gboolean reverse)
{
  g_autoptr (GPtrArray) held = NULL;
  g_autoptr (JsonNode) payment = NULL;
  g_autofree char *invoice_id = NULL;
  g_autofree char *intent = NULL;

  fake_stripe_hold_webhooks (f->fake, TRUE);
  invoice_id = pay_issue_invoice (f, seats);
  payment = wait_payment_status (f, invoice_id, "processing");
  intent = g_strdup (harness_get_str (payment, "stripe_payment_intent"));
  g_usleep (1100 * 1000); /* a later `created` */
  fake_stripe_settle (f->fake, intent, TRUE);
  held = fake_stripe_take_held_webhooks (f->fake);
  fake_stripe_hold_webhooks (f->fake, FALSE);
  g_assert_cmpuint (held->len, ==, 2);
  g_assert_cmpstr (((FakeStripeWebhook *) held->pdata[0])->type, ==, "payment_intent.processing");
  g_assert_cmpstr (((FakeStripeWebhook *) held->pdata[1])->type, ==, "payment_intent.succeeded");
  for (guint i = 0; i < held->len; i++)
    {
      FakeStripeWebhook *webhook = g_ptr_array_index (held, reverse ? held->len - 1 - i : i);
      guint status = 0;

      g_assert_true (fake_stripe_deliver (f->fake, webhook->body, &status));
      g_assert_cmpuint (status, ==, 200);
    }
  pay_settle (f);
  return outcome_of (f, invoice_id);
}

static void
test_reversed_held (PayFixture *f, gconstpointer data)
{
  g_autofree char *in_order = NULL;
  g_autofree char *reversed = NULL;

  if (f->h == NULL)
    return;
  g_free (add_processing_card (f));
  in_order = held_charge (f, 15, FALSE);
  reversed = held_charge (f, 20, TRUE);
  g_test_message ("in order: %s", in_order);
  g_assert_true (g_str_has_prefix (in_order, "invoice paid"));
  /* Each change recorded once: processing (Stripe's answer, then its event: one change),
   * then succeeded. */
  g_assert_nonnull (strstr (in_order, "payment.processing=1 payment.succeeded=1 "
                                      "payment.failed=0 invoice.paid=0;"));
  g_assert_true (g_str_has_suffix (in_order, "payment.failed=0 invoice.paid=1"));
  g_assert_cmpstr (reversed, ==, in_order);
  g_assert_cmpuint (pay_mail_count (f, "payment-receipt"), ==, 2);
}

/* ── 4. failed processing is retried ───────────────────────────────────────────── */

/* setup_intent.succeeded arrives while Stripe cannot answer purserd's lookup of the payment
 * method: the event is kept and processed again after its back-off (5 s). */
static void
test_processing_retried (PayFixture *f, gconstpointer data)
{
  g_autofree char *session = NULL;
  g_autofree char *pm = NULL;
  g_autofree char *pm_path = NULL;
  g_autoptr (GPtrArray) held = NULL;
  g_autoptr (GPtrArray) lookups = NULL;
  g_autoptr (JsonNode) methods = NULL;
  FakeStripeWebhook *setup_event = NULL;
  gint64 delivered, deadline;
  guint status = 0;

  if (f->h == NULL)
    return;
  f->expect_webhook_failure = TRUE;
  session = pay_setup (f, "card", NULL);
  fake_stripe_hold_webhooks (f->fake, TRUE);
  pm = fake_stripe_complete_checkout (f->fake, session, CARD, FAKE_STRIPE_SUCCEED);
  held = fake_stripe_take_held_webhooks (f->fake);
  fake_stripe_hold_webhooks (f->fake, FALSE);
  for (guint i = 0; i < held->len; i++)
    if (g_strcmp0 (((FakeStripeWebhook *) held->pdata[i])->type, "setup_intent.succeeded") == 0)
      setup_event = held->pdata[i];
  g_assert_nonnull (setup_event);

  /* More failures than purserd's own retries of one lookup (1 + 3). */
  pm_path = g_strconcat ("/v1/payment_methods/", pm, NULL);
  fake_stripe_fail_next_on (f->fake, "GET", "/v1/payment_methods", 500, 5);
  g_assert_true (fake_stripe_deliver (f->fake, setup_event->body, &status));
  g_assert_cmpuint (status, ==, 200);
  delivered = g_get_monotonic_time ();
  pay_settle (f);
  g_assert_cmpuint (pay_method_count (f), ==, 0);
  g_assert_cmpuint (fake_stripe_request_count (f->fake, "GET", pm_path), ==, 4);

  deadline = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;
  while (pay_method_count (f) == 0 && g_get_monotonic_time () < deadline)
    g_usleep (100 * 1000);
  g_assert_cmpuint (pay_method_count (f), ==, 1);
  g_test_message ("added %.1f s after the delivery",
                  (double) (g_get_monotonic_time () - delivered) / G_TIME_SPAN_SECOND);
  g_assert_cmpint (g_get_monotonic_time () - delivered, >=, 4 * G_TIME_SPAN_SECOND);
  lookups = pay_fake_requests (f, "GET", pm_path);
  g_assert_cmpuint (lookups->len, ==, 6);
  for (guint i = 0; i < 5; i++)
    g_assert_cmpuint (((FakeStripeRequest *) lookups->pdata[i])->status, ==, 500);
  g_assert_cmpuint (((FakeStripeRequest *) lookups->pdata[5])->status, ==, 200);

  /* The other event of the setup adds nothing more. */
  for (guint i = 0; i < held->len; i++)
    if (held->pdata[i] != setup_event)
      {
        g_assert_true (
            fake_stripe_deliver (f->fake, ((FakeStripeWebhook *) held->pdata[i])->body, &status));
        g_assert_cmpuint (status, ==, 200);
      }
  pay_settle (f);
  methods = pay_methods (f);
  g_assert_cmpuint (test_array_length (methods, "data"), ==, 1);
  g_assert_cmpstr (harness_get_str (methods, "data.0.last4"), ==, "4242");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ((path), PayFixture, NULL, pay_fixture_setup, (func), pay_fixture_teardown)
  ADD ("/webhooks/samples-raw", test_samples_raw);
  ADD ("/webhooks/sample/payment-intent-succeeded-charge-refunded",
       test_sample_intent_succeeded_and_refund);
  ADD ("/webhooks/sample/payment-intent-payment-failed", test_sample_intent_failed);
  ADD ("/webhooks/sample/setup-intent-succeeded", test_sample_setup_intent);
  ADD ("/webhooks/sample/unused-and-unknown", test_sample_unused);
  ADD ("/webhooks/signatures", test_signatures);
  g_test_add ("/webhooks/rotation", PayFixture, &rotating, pay_fixture_setup, test_rotation,
              pay_fixture_teardown);
  ADD ("/webhooks/duplicate", test_duplicate);
  ADD ("/webhooks/older-event-after", test_older_event_after);
  ADD ("/webhooks/older-event-while-processing", test_older_event_while_processing);
  ADD ("/webhooks/reversed-held", test_reversed_held);
  ADD ("/webhooks/processing-retried", test_processing_retried);
#undef ADD

  return g_test_run ();
}
