/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Payments end to end: a real purserd talks to the fake Stripe (its own thread, Stripe's
 * fixtures, signed webhooks back to purserd), and everything is checked through purserd's
 * HTTP API, the fake's record of requests, the maildir and the files purserd leaves. */
#define _GNU_SOURCE /* memmem */
#include "config.h"

#include <string.h>

#include "payments-test-util.h"

#define CARD "visa:4242:12:2030"

/* Seats 10 → 15 on the first day of the period: 5 × $29 for a whole month. */
#define PRORATION_15 14500

static const PayOptions without_stripe = { .with_key = FALSE };

/* ── helpers ───────────────────────────────────────────────────────────────────── */

static guint
wait_method_count (PayFixture *f, guint n)
{
  gint64 deadline = g_get_monotonic_time () + PAY_WAIT_SECONDS * G_TIME_SPAN_SECOND;
  guint count;

  while ((count = pay_method_count (f)) != n && g_get_monotonic_time () < deadline)
    g_usleep (50 * 1000);
  return count;
}

/* The fake's PaymentIntent creations with this Idempotency-Key. */
static GPtrArray *
intent_posts (PayFixture *f, const char *payment_id)
{
  g_autoptr (GPtrArray) all = pay_fake_requests (f, "POST", "/v1/payment_intents");
  g_autofree char *key = g_strconcat ("purser-charge-", payment_id, NULL);
  GPtrArray *found = g_ptr_array_new_with_free_func ((GDestroyNotify) fake_stripe_request_free);

  for (guint i = 0; i < all->len; i++)
    if (g_strcmp0 (((FakeStripeRequest *) g_ptr_array_index (all, i))->idempotency_key, key) == 0)
      {
        g_ptr_array_add (found, all->pdata[i]);
        all->pdata[i] = NULL;
      }
  return found;
}

static guint
count_requests (PayFixture *f, const char *method, const char *path)
{
  g_autoptr (GPtrArray) found = pay_fake_requests (f, method, path);

  return found->len;
}

/* The credit notes of an invoice. */
static JsonArray *
credit_notes (PayFixture *f, const char *invoice_id)
{
  g_autoptr (JsonNode) answer
      = pay_call (f, "GET", 200, NULL, "credit-notes?invoice_id=%s", invoice_id);

  return json_array_ref (json_node_get_array (harness_get (answer, "data")));
}

/* The only credit note of an invoice, once its refund_status is `status`. */
static JsonNode *
wait_credit_note (PayFixture *f, const char *invoice_id, const char *status)
{
  gint64 deadline = g_get_monotonic_time () + PAY_WAIT_SECONDS * G_TIME_SPAN_SECOND;

  for (;;)
    {
      g_autoptr (JsonArray) notes = credit_notes (f, invoice_id);

      g_assert_cmpuint (json_array_get_length (notes), <=, 1);
      if (json_array_get_length (notes) == 1
          && g_strcmp0 (harness_get_str (json_array_get_element (notes, 0), "refund_status"),
                        status)
                 == 0)
        return json_node_copy (json_array_get_element (notes, 0));
      if (g_get_monotonic_time () > deadline)
        {
          g_autoptr (JsonNode) all = json_node_init_array (json_node_alloc (), notes);
          g_autofree char *shown = test_describe (all);

          g_error ("no credit note of %s is %s after %d s: %s", invoice_id, status,
                   PAY_WAIT_SECONDS, shown);
        }
      g_usleep (50 * 1000);
    }
}

/* The events of the organization after `after` (all of them). */
static JsonArray *
events_after (PayFixture *f, gint64 after)
{
  g_autoptr (JsonNode) answer
      = pay_call (f, "GET", 200, NULL, "events?after=%" G_GINT64_FORMAT "&limit=5000", after);

  return json_array_ref (json_node_get_array (harness_get (answer, "data")));
}

/* The first event of `type` about `entity_id` after `after`, or NULL. */
static JsonNode *
find_event (PayFixture *f, gint64 after, const char *type, const char *entity_id)
{
  g_autoptr (JsonArray) events = events_after (f, after);

  for (guint i = 0; i < json_array_get_length (events); i++)
    {
      JsonNode *event = json_array_get_element (events, i);

      if (g_strcmp0 (harness_get_str (event, "type"), type) == 0
          && g_strcmp0 (harness_get_str (event, "entity.id"), entity_id) == 0)
        return json_node_copy (event);
    }
  return NULL;
}

/* Unfolded header `name` of a message, or NULL. */
static char *
mail_header (const char *message, const char *name)
{
  const char *end = strstr (message, "\r\n\r\n");
  g_autofree char *head = g_strndup (message, end ? (gsize) (end - message) : strlen (message));
  g_autoptr (GRegex) fold = g_regex_new ("\r?\n[ \t]+", 0, 0, NULL);
  g_autofree char *unfolded = g_regex_replace_literal (fold, head, -1, 0, " ", 0, NULL);
  g_auto (GStrv) lines = g_regex_split_simple ("\r?\n", unfolded, 0, 0);
  g_autofree char *prefix = g_strconcat (name, ":", NULL);

  for (guint i = 0; lines[i] != NULL; i++)
    if (g_ascii_strncasecmp (lines[i], prefix, strlen (prefix)) == 0)
      return g_strstrip (g_strdup (lines[i] + strlen (prefix)));
  return NULL;
}

/* The messages in the maildir's new/ whose Subject starts with `subject`. */
static GPtrArray *
maildir_messages (PayFixture *f, const char *subject)
{
  g_autofree char *path = g_build_filename (harness_dir (f->h), "mail", "new", NULL);
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  GPtrArray *messages = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *file = g_build_filename (path, name, NULL);
      g_autofree char *text = NULL;
      g_autofree char *header = NULL;

      if (!g_file_get_contents (file, &text, NULL, NULL))
        continue;
      header = mail_header (text, "Subject");
      if (header != NULL && g_str_has_prefix (header, subject))
        g_ptr_array_add (messages, g_steal_pointer (&text));
    }
  return messages;
}

/* ── 1. a card through Stripe's page and its webhooks ────────────────────────────── */

static void
test_card_setup (PayFixture *f, gconstpointer data)
{
  g_autoptr (JsonNode) setup = NULL;
  g_autoptr (JsonNode) methods = NULL;
  g_autoptr (GPtrArray) customers = NULL;
  g_autoptr (GPtrArray) sessions = NULL;
  g_autoptr (GPtrArray) deliveries = NULL;
  g_autofree char *session = NULL;
  g_autofree char *second = NULL;
  g_autofree char *pm = NULL;
  g_autofree char *customer = NULL;
  g_autofree char *customer_key = NULL;
  g_autofree char *pm_path = NULL;
  gint64 seq;
  JsonNode *card;
  guint completed = 0, succeeded = 0;

  if (f->h == NULL)
    return;
  seq = pay_last_seq (f);
  session = pay_setup (f, "card", &setup);
  g_assert_true (g_str_has_prefix (harness_get_str (setup, "url"), fake_stripe_url (f->fake)));
  g_assert_true (g_str_has_prefix (harness_get_str (setup, "id"), "pms_"));
  g_assert_cmpstr (harness_get_str (setup, "type"), ==, "card");
  g_assert_cmpstr (harness_get_str (setup, "status"), ==, "open");
  g_assert_true (g_str_has_prefix (session, "cs_"));

  /* One Stripe customer for the organization, made once and reused. */
  second = pay_setup (f, "card", NULL);
  g_assert_cmpstr (second, !=, session);
  customers = pay_fake_requests (f, "POST", "/v1/customers");
  g_assert_cmpuint (customers->len, ==, 1);
  customer_key = g_strconcat ("purser-customer-", f->org, NULL);
  g_assert_cmpstr (((FakeStripeRequest *) customers->pdata[0])->idempotency_key, ==, customer_key);
  customer = pay_customer (f);
  sessions = pay_fake_requests (f, "POST", "/v1/checkout/sessions");
  g_assert_cmpuint (sessions->len, ==, 2);
  for (guint i = 0; i < sessions->len; i++)
    {
      FakeStripeRequest *request = g_ptr_array_index (sessions, i);
      g_autofree char *mode = pay_form_get (request->body, "mode");
      g_autofree char *on = pay_form_get (request->body, "customer");

      g_assert_cmpuint (request->status, ==, 200);
      g_assert_cmpstr (mode, ==, "setup");
      g_assert_cmpstr (on, ==, customer);
    }
  /* Nothing is added until Stripe says the card was set up. */
  g_assert_cmpuint (pay_method_count (f), ==, 0);

  pm = fake_stripe_complete_checkout (f->fake, session, CARD, FAKE_STRIPE_SUCCEED);
  pay_settle (f);
  g_assert_cmpuint (wait_method_count (f, 1), ==, 1);
  pay_settle (f);

  /* Both events arrived and were accepted; together they added one method. */
  deliveries = fake_stripe_deliveries (f->fake);
  for (guint i = 0; i < deliveries->len; i++)
    {
      FakeStripeDelivery *delivery = g_ptr_array_index (deliveries, i);

      if (g_strcmp0 (delivery->type, "checkout.session.completed") == 0 && delivery->status == 200)
        completed++;
      if (g_strcmp0 (delivery->type, "setup_intent.succeeded") == 0 && delivery->status == 200)
        succeeded++;
    }
  g_assert_cmpuint (completed, ==, 1);
  g_assert_cmpuint (succeeded, ==, 1);
  pm_path = g_strconcat ("/v1/payment_methods/", pm, NULL);
  g_assert_cmpuint (count_requests (f, "GET", pm_path), >=, 1);

  methods = pay_methods (f);
  g_assert_cmpuint (test_array_length (methods, "data"), ==, 1);
  card = harness_get (methods, "data.0");
  g_assert_true (g_str_has_prefix (harness_get_str (card, "id"), "pm_"));
  g_assert_cmpstr (harness_get_str (card, "id"), !=, pm); /* purserd's own id */
  g_assert_cmpstr (harness_get_str (card, "type"), ==, "card");
  g_assert_cmpstr (harness_get_str (card, "brand"), ==, "visa");
  g_assert_cmpstr (harness_get_str (card, "last4"), ==, "4242");
  g_assert_cmpint (harness_get_int (card, "exp_month"), ==, 12);
  g_assert_cmpint (harness_get_int (card, "exp_year"), ==, 2030);
  g_assert_true (harness_get_bool (card, "is_default"));
  g_assert_cmpstr (harness_get_str (card, "status"), ==, "active");
  g_assert_cmpstr (harness_get_str (methods, "default_id"), ==, harness_get_str (card, "id"));
  g_assert_true (harness_get_bool (methods, "stripe_configured"));
  g_assert_cmpuint (pay_event_count (f, seq, "payment_method.added"), ==, 1);
}

/* ── 2. a new invoice is charged to the default card ─────────────────────────────── */

static void
test_charge_success (PayFixture *f, gconstpointer data)
{
  g_autofree char *pm = NULL;
  g_autofree char *card = NULL;
  g_autofree char *invoice_id = NULL;
  g_autofree char *customer = NULL;
  g_autofree char *receipt_path = NULL;
  g_autofree char *invoice_pdf = NULL;
  g_autofree char *attachment = NULL;
  g_autoptr (JsonNode) invoice = NULL;
  g_autoptr (JsonNode) payment = NULL;
  g_autoptr (JsonArray) payments = NULL;
  g_autoptr (JsonArray) mails = NULL;
  g_autoptr (GPtrArray) posts = NULL;
  g_autoptr (GPtrArray) messages = NULL;
  g_autofree char *mails_path = NULL;
  FakeStripeRequest *post;
  gint64 total;
  gint64 deadline;
  guint receipts = 0;

  if (f->h == NULL)
    return;
  card = pay_add_card (f, CARD, FAKE_STRIPE_SUCCEED, &pm);
  customer = pay_customer (f);
  invoice_id = pay_issue_invoice (f, 15);

  invoice = wait_invoice_status (f, invoice_id, "paid");
  total = harness_get_int (invoice, "total.amount");
  g_assert_cmpint (total, ==, PRORATION_15);
  g_assert_cmpstr (harness_get_str (invoice, "collection"), ==, "charge_automatically");
  assert_money (invoice, "amount_paid", total);
  assert_money (invoice, "amount_due", 0);
  g_assert_nonnull (harness_get_str (invoice, "paid_at"));
  g_assert_cmpint (harness_get_int (invoice, "attempt_count"), ==, 1);
  g_assert_null (harness_get_str (invoice, "next_attempt_at"));

  payments = pay_payments (f, invoice_id);
  g_assert_cmpuint (json_array_get_length (payments), ==, 1);
  payment = pay_payment_with_status (f, invoice_id, "succeeded");
  g_assert_true (g_str_has_prefix (harness_get_str (payment, "stripe_payment_intent"), "pi_"));
  g_assert_nonnull (harness_get_str (payment, "receipt_number"));
  g_assert_true (g_str_has_prefix (harness_get_str (payment, "receipt_number"),
                                   harness_get_str (invoice, "number")));
  assert_money (payment, "amount", total);
  assert_money (payment, "amount_refunded", 0);
  g_assert_cmpstr (harness_get_str (payment, "payment_method_id"), ==, card);
  g_assert_cmpstr (harness_get_str (payment, "method_type"), ==, "card");
  g_assert_null (harness_get_str (payment, "failure_code"));

  /* One PaymentIntent, keyed by the payment, as Stripe's API wants it. */
  posts = pay_fake_requests (f, "POST", "/v1/payment_intents");
  g_assert_cmpuint (posts->len, ==, 1);
  post = g_ptr_array_index (posts, 0);
  {
    g_autofree char *key = g_strconcat ("purser-charge-", harness_get_str (payment, "id"), NULL);
    g_autofree char *amount = pay_form_get (post->body, "amount");
    g_autofree char *expected_amount = g_strdup_printf ("%" G_GINT64_FORMAT, total);
    g_autofree char *on = pay_form_get (post->body, "customer");
    g_autofree char *method = pay_form_get (post->body, "payment_method");
    g_autofree char *currency = pay_form_get (post->body, "currency");
    g_autofree char *ours = pay_form_get (post->body, "metadata[purser_payment_id]");
    g_autofree char *pi = pay_json_member (post->response, "id");

    g_assert_cmpstr (post->idempotency_key, ==, key);
    g_assert_cmpstr (post->stripe_version, ==, "2023-08-16");
    g_assert_cmpstr (post->authorization, ==, "Bearer " PAY_API_KEY);
    g_assert_true (g_str_has_prefix (post->content_type, "application/x-www-form-urlencoded"));
    g_assert_cmpstr (amount, ==, expected_amount);
    g_assert_cmpstr (currency, ==, "usd");
    g_assert_cmpstr (on, ==, customer);
    g_assert_cmpstr (method, ==, pm);
    g_assert_cmpstr (ours, ==, harness_get_str (payment, "id"));
    g_assert_cmpuint (post->status, ==, 200);
    g_assert_cmpstr (pi, ==, harness_get_str (payment, "stripe_payment_intent"));
  }

  /* The receipt and the invoice are documents. */
  receipt_path = g_strdup_printf ("payments/%s/receipt", harness_get_str (payment, "id"));
  pay_assert_pdf (f, receipt_path);
  invoice_pdf = g_strdup_printf ("invoices/%s/pdf", invoice_id);
  pay_assert_pdf (f, invoice_pdf);

  /* The receipt mail, once (the payment_intent.succeeded webhook changes nothing), with the
   * receipt attached. */
  pay_settle (f);
  g_assert_cmpuint (pay_mail_count (f, "payment-receipt"), ==, 1);
  mails_path = pay_path (f, "emails");
  mails = test_list_all (f->h, mails_path, f->token);
  attachment = g_strconcat ("receipt:", harness_get_str (payment, "id"), NULL);
  for (guint i = 0; i < json_array_get_length (mails); i++)
    {
      JsonNode *mail = json_array_get_element (mails, i);

      if (g_strcmp0 (harness_get_str (mail, "template"), "payment-receipt") == 0)
        {
          g_assert_cmpstr (harness_get_str (mail, "attachment"), ==, attachment);
          receipts++;
        }
    }
  g_assert_cmpuint (receipts, ==, 1);
  g_assert_cmpuint (pay_event_count (f, 0, "payment.succeeded"), ==, 1);

  deadline = g_get_monotonic_time () + PAY_WAIT_SECONDS * G_TIME_SPAN_SECOND;
  for (;;)
    {
      g_clear_pointer (&messages, g_ptr_array_unref);
      messages = maildir_messages (f, "Payment received:");
      if (messages->len > 0 || g_get_monotonic_time () > deadline)
        break;
      g_usleep (50 * 1000);
    }
  g_assert_cmpuint (messages->len, >=, 1);
  for (guint i = 0; i < messages->len; i++)
    {
      const char *message = g_ptr_array_index (messages, i);
      g_autofree char *subject = mail_header (message, "Subject");

      g_assert_nonnull (strstr (subject, harness_get_str (invoice, "number")));
      g_assert_nonnull (strstr (message, "Content-Type: application/pdf"));
    }
}

/* ── 3. a declined card: dunning, then the retry goes through ─────────────────────── */

static void
test_decline_then_retry (PayFixture *f, gconstpointer data)
{
  g_autofree char *pm = NULL;
  g_autofree char *card = NULL;
  g_autofree char *invoice_id = NULL;
  g_autoptr (JsonNode) invoice = NULL;
  g_autoptr (JsonNode) failed = NULL;
  g_autoptr (JsonNode) paid = NULL;
  g_autoptr (JsonNode) sub = NULL;
  g_autoptr (JsonArray) payments = NULL;
  const char *code;

  if (f->h == NULL)
    return;
  card = pay_add_card (f, CARD, FAKE_STRIPE_SUCCEED, &pm);
  fake_stripe_set_behaviour (f->fake, pm, FAKE_STRIPE_DECLINE);
  invoice_id = pay_issue_invoice (f, 15);

  failed = wait_payment_status (f, invoice_id, "failed");
  pay_settle (f);
  code = harness_get_str (failed, "failure_code");
  g_assert_true (g_strcmp0 (code, "insufficient_funds") == 0
                 || g_strcmp0 (code, "card_declined") == 0);
  g_assert_nonnull (strstr (harness_get_str (failed, "failure_message"), "insufficient funds"));
  g_assert_cmpstr (harness_get_str (failed, "payment_method_id"), ==, card);
  g_assert_null (harness_get_str (failed, "receipt_number"));

  invoice = pay_invoice (f, invoice_id);
  g_assert_cmpstr (harness_get_str (invoice, "status"), ==, "open");
  g_assert_cmpstr (harness_get_str (invoice, "collection"), ==, "charge_automatically");
  g_assert_cmpint (harness_get_int (invoice, "attempt_count"), ==, 1);
  g_assert_cmpstr (harness_get_str (invoice, "next_attempt_at"), ==, "2026-03-04T09:00:00Z");
  assert_money (invoice, "amount_due", PRORATION_15);
  g_assert_cmpuint (pay_mail_count (f, "payment-failed"), ==, 1);
  g_assert_cmpuint (pay_mail_count (f, "dunning-reminder"), ==, 0);
  g_assert_cmpuint (pay_event_count (f, 0, "invoice.payment_failed"), ==, 1);

  /* Not a second before it is due. */
  pay_set_clock (f, "2026-03-04T08:59:59Z");
  payments = pay_payments (f, invoice_id);
  g_assert_cmpuint (json_array_get_length (payments), ==, 1);
  g_clear_pointer (&payments, json_array_unref);

  /* Day 3: the second attempt fails too; the next is on day 5. */
  pay_set_clock (f, "2026-03-04T09:00:00Z");
  payments = pay_payments (f, invoice_id);
  g_assert_cmpuint (json_array_get_length (payments), ==, 2);
  for (guint i = 0; i < 2; i++)
    g_assert_cmpstr (harness_get_str (json_array_get_element (payments, i), "status"), ==,
                     "failed");
  g_clear_pointer (&payments, json_array_unref);
  g_clear_pointer (&invoice, json_node_unref);
  invoice = pay_invoice (f, invoice_id);
  g_assert_cmpstr (harness_get_str (invoice, "status"), ==, "open");
  g_assert_cmpint (harness_get_int (invoice, "attempt_count"), ==, 2);
  g_assert_cmpstr (harness_get_str (invoice, "next_attempt_at"), ==, "2026-03-06T09:00:00Z");
  g_assert_cmpuint (pay_mail_count (f, "payment-failed"), ==, 1);
  g_assert_cmpuint (pay_mail_count (f, "dunning-reminder"), ==, 1);

  /* Day 5, with money on the card: paid, and the subscription never left active. */
  fake_stripe_set_behaviour (f->fake, pm, FAKE_STRIPE_SUCCEED);
  pay_set_clock (f, "2026-03-06T09:00:00Z");
  g_clear_pointer (&invoice, json_node_unref);
  invoice = wait_invoice_status (f, invoice_id, "paid");
  g_assert_cmpint (harness_get_int (invoice, "attempt_count"), ==, 3);
  g_assert_null (harness_get_str (invoice, "next_attempt_at"));
  assert_money (invoice, "amount_paid", PRORATION_15);
  payments = pay_payments (f, invoice_id);
  g_assert_cmpuint (json_array_get_length (payments), ==, 3);
  paid = pay_payment_with_status (f, invoice_id, "succeeded");
  g_assert_nonnull (harness_get_str (paid, "receipt_number"));
  sub = pay_subscription (f);
  g_assert_cmpstr (harness_get_str (sub, "status"), ==, "active");
  g_assert_cmpuint (pay_mail_count (f, "past-due"), ==, 0);
  g_assert_cmpuint (pay_mail_count (f, "payment-receipt"), ==, 1);
  g_assert_cmpuint (pay_mail_count (f, "dunning-reminder"), ==, 1);
  g_assert_cmpuint (count_requests (f, "POST", "/v1/payment_intents"), ==, 3);
}

/* ── 4. four failures: past_due, until an admin pays ──────────────────────────────── */

static void
test_past_due (PayFixture *f, gconstpointer data)
{
  static const char *const retries[]
      = { "2026-03-04T09:00:00Z", "2026-03-06T09:00:00Z", "2026-03-08T09:00:00Z" };
  g_autofree char *pm = NULL;
  g_autofree char *card = NULL;
  g_autofree char *invoice_id = NULL;
  g_autofree char *pay_path_ = NULL;
  g_autoptr (JsonNode) invoice = NULL;
  g_autoptr (JsonNode) sub = NULL;
  g_autoptr (JsonNode) refused = NULL;
  g_autoptr (JsonNode) answer = NULL;
  g_autoptr (JsonNode) failed = NULL;
  g_autoptr (JsonArray) payments = NULL;
  gint64 seq;
  guint status = 0;

  if (f->h == NULL)
    return;
  card = pay_add_card (f, CARD, FAKE_STRIPE_SUCCEED, &pm);
  fake_stripe_set_behaviour (f->fake, pm, FAKE_STRIPE_DECLINE);
  invoice_id = pay_issue_invoice (f, 15);
  failed = wait_payment_status (f, invoice_id, "failed");
  pay_settle (f);
  for (guint i = 0; i < G_N_ELEMENTS (retries); i++)
    {
      pay_set_clock (f, retries[i]);
      g_clear_pointer (&payments, json_array_unref);
      payments = pay_payments (f, invoice_id);
      g_assert_cmpuint (json_array_get_length (payments), ==, i + 2);
    }

  invoice = pay_invoice (f, invoice_id);
  g_assert_cmpstr (harness_get_str (invoice, "status"), ==, "open");
  g_assert_cmpint (harness_get_int (invoice, "attempt_count"), ==, 4);
  g_assert_null (harness_get_str (invoice, "next_attempt_at"));
  sub = pay_subscription (f);
  g_assert_cmpstr (harness_get_str (sub, "status"), ==, "past_due");
  g_assert_cmpuint (pay_mail_count (f, "payment-failed"), ==, 1);
  g_assert_cmpuint (pay_mail_count (f, "dunning-reminder"), ==, 2);
  g_assert_cmpuint (pay_mail_count (f, "past-due"), ==, 1);
  g_assert_cmpuint (pay_event_count (f, 0, "subscription.past_due"), ==, 1);

  /* No fifth automatic attempt. */
  pay_set_clock (f, "2026-03-20T09:00:00Z");
  g_clear_pointer (&payments, json_array_unref);
  payments = pay_payments (f, invoice_id);
  g_assert_cmpuint (json_array_get_length (payments), ==, 4);

  /* An admin's charge on a card that still declines: 402 with Stripe's reason. */
  pay_path_ = pay_path (f, "invoices/%s/pay", invoice_id);
  refused = harness_request (f->h, "POST", pay_path_, f->token, NULL, &status);
  assert_error (refused, status, 402, "payment_failed");
  g_assert_nonnull (strstr (harness_get_str (refused, "error.message"), "insufficient funds"));
  g_clear_pointer (&payments, json_array_unref);
  payments = pay_payments (f, invoice_id);
  g_assert_cmpuint (json_array_get_length (payments), ==, 5);
  g_clear_pointer (&invoice, json_node_unref);
  invoice = pay_invoice (f, invoice_id);
  g_assert_cmpstr (harness_get_str (invoice, "status"), ==, "open");
  g_assert_cmpint (harness_get_int (invoice, "attempt_count"), ==, 4);
  g_clear_pointer (&sub, json_node_unref);
  sub = pay_subscription (f);
  g_assert_cmpstr (harness_get_str (sub, "status"), ==, "past_due");

  /* Money on the card: paid, and the subscription is active again. */
  fake_stripe_set_behaviour (f->fake, pm, FAKE_STRIPE_SUCCEED);
  seq = pay_last_seq (f);
  answer = call_ok (f->h, "POST", pay_path_, f->token, NULL, 200);
  g_assert_cmpstr (harness_get_str (answer, "invoice.status"), ==, "paid");
  g_assert_cmpstr (harness_get_str (answer, "payment.status"), ==, "succeeded");
  g_assert_cmpstr (harness_get_str (answer, "payment.payment_method_id"), ==, card);
  assert_money (answer, "payment.amount", PRORATION_15);
  g_clear_pointer (&invoice, json_node_unref);
  invoice = pay_invoice (f, invoice_id);
  g_assert_cmpstr (harness_get_str (invoice, "status"), ==, "paid");
  g_clear_pointer (&sub, json_node_unref);
  sub = pay_subscription (f);
  g_assert_cmpstr (harness_get_str (sub, "status"), ==, "active");
  g_assert_cmpuint (pay_event_count (f, seq, "subscription.reactivated"), ==, 1);
  pay_settle (f);
  g_assert_cmpuint (pay_mail_count (f, "payment-receipt"), ==, 1);
}

/* ── 5. voiding a paid invoice refunds it ───────────────────────────────────────── */

static void
test_refund (PayFixture *f, gconstpointer data)
{
  g_autofree char *pm = NULL;
  g_autofree char *card = NULL;
  g_autofree char *invoice_id = NULL;
  g_autofree char *note_pdf = NULL;
  g_autoptr (JsonNode) paid = NULL;
  g_autoptr (JsonNode) payment = NULL;
  g_autoptr (JsonNode) voided = NULL;
  g_autoptr (JsonNode) note = NULL;
  g_autoptr (JsonNode) created = NULL;
  g_autoptr (JsonNode) refunded = NULL;
  g_autoptr (JsonNode) after = NULL;
  g_autoptr (GPtrArray) refunds = NULL;
  FakeStripeRequest *post;
  gint64 seq;

  if (f->h == NULL)
    return;
  card = pay_add_card (f, CARD, FAKE_STRIPE_SUCCEED, &pm);
  invoice_id = pay_issue_invoice (f, 15);
  paid = wait_invoice_status (f, invoice_id, "paid");
  payment = pay_payment_with_status (f, invoice_id, "succeeded");
  pay_settle (f);
  seq = pay_last_seq (f);

  voided = pay_call (f, "POST", 200, "{\"reason\": \"Seats bought by mistake\"}",
                     "invoices/%s/void", invoice_id);
  g_assert_cmpstr (harness_get_str (voided, "invoice.status"), ==, "void");
  g_assert_cmpstr (harness_get_str (voided, "invoice.void_reason"), ==, "Seats bought by mistake");

  note = wait_credit_note (f, invoice_id, "succeeded");
  g_assert_true (g_str_has_prefix (harness_get_str (note, "id"), "cn_"));
  g_assert_nonnull (harness_get_str (note, "number"));
  g_assert_cmpstr (harness_get_str (note, "payment_id"), ==, harness_get_str (payment, "id"));
  assert_money (note, "amount", PRORATION_15);
  assert_money (note, "refunded", PRORATION_15);
  g_assert_cmpstr (harness_get_str (note, "reason"), ==, "Seats bought by mistake");

  /* The note was made pending, and the refund's answer settled it. */
  created = find_event (f, seq, "credit_note.created", harness_get_str (note, "id"));
  g_assert_nonnull (created);
  g_assert_cmpstr (harness_get_str (created, "after.refund_status"), ==, "pending");
  assert_money (created, "after.refunded", 0);
  refunded = find_event (f, seq, "credit_note.refunded", harness_get_str (note, "id"));
  g_assert_nonnull (refunded);
  g_assert_cmpstr (harness_get_str (refunded, "after.refund_status"), ==, "succeeded");

  refunds = pay_fake_requests (f, "POST", "/v1/refunds");
  g_assert_cmpuint (refunds->len, ==, 1);
  post = g_ptr_array_index (refunds, 0);
  {
    g_autofree char *key = g_strconcat ("purser-refund-", harness_get_str (note, "id"), NULL);
    g_autofree char *amount = pay_form_get (post->body, "amount");
    g_autofree char *intent = pay_form_get (post->body, "payment_intent");

    g_assert_cmpstr (post->idempotency_key, ==, key);
    g_assert_cmpstr (post->stripe_version, ==, "2023-08-16");
    g_assert_cmpstr (amount, ==, G_STRINGIFY (PRORATION_15));
    g_assert_cmpstr (intent, ==, harness_get_str (payment, "stripe_payment_intent"));
    g_assert_cmpuint (post->status, ==, 200);
  }

  /* charge.refunded comes back from Stripe and changes nothing more. */
  pay_settle (f);
  g_assert_cmpuint (fake_stripe_event_count (f->fake, "charge.refunded"), ==, 1);
  after = pay_payment_with_status (f, invoice_id, "succeeded");
  assert_money (after, "amount_refunded", PRORATION_15);
  g_clear_pointer (&paid, json_node_unref);
  paid = pay_invoice (f, invoice_id);
  g_assert_cmpstr (harness_get_str (paid, "status"), ==, "void");
  assert_money (paid, "amount_refunded", PRORATION_15);
  g_assert_cmpuint (pay_mail_count (f, "refund-issued"), ==, 1);
  g_assert_cmpuint (pay_event_count (f, seq, "credit_note.refunded"), ==, 1);
  g_assert_cmpuint (count_requests (f, "POST", "/v1/refunds"), ==, 1);

  note_pdf = g_strdup_printf ("credit-notes/%s/pdf", harness_get_str (note, "id"));
  pay_assert_pdf (f, note_pdf);
}

/* ── 6. Stripe fails or loses answers: the same key, one charge ───────────────────── */

/* The invoice is paid by one payment and the fake made one PaymentIntent for it, asked for
 * `posts` times with the payment's key. */
static void
assert_charged_once (PayFixture *f, const char *invoice_id, guint posts, guint first_status)
{
  g_autoptr (JsonNode) payment = NULL;
  g_autoptr (JsonArray) payments = NULL;
  g_autoptr (GPtrArray) sent = NULL;
  g_autofree char *intent = NULL;

  g_autoptr (JsonNode) invoice = wait_invoice_status (f, invoice_id, "paid");
  payments = pay_payments (f, invoice_id);
  g_assert_cmpuint (json_array_get_length (payments), ==, 1);
  payment = pay_payment_with_status (f, invoice_id, "succeeded");
  assert_money (invoice, "amount_paid", harness_get_int (invoice, "total.amount"));
  sent = intent_posts (f, harness_get_str (payment, "id"));
  g_assert_cmpuint (sent->len, ==, posts);
  g_assert_cmpuint (((FakeStripeRequest *) sent->pdata[0])->status, ==, first_status);
  g_assert_cmpuint (((FakeStripeRequest *) sent->pdata[posts - 1])->status, ==, 200);
  /* The answers that came through name the same PaymentIntent. */
  for (guint i = 0; i < sent->len; i++)
    {
      FakeStripeRequest *request = g_ptr_array_index (sent, i);
      g_autofree char *id = NULL;

      if (request->status != 200)
        continue;
      id = pay_json_member (request->response, "id");
      if (intent == NULL)
        intent = g_strdup (id);
      g_assert_cmpstr (id, ==, intent);
    }
  g_assert_cmpstr (harness_get_str (payment, "stripe_payment_intent"), ==, intent);
}

static void
test_retries (PayFixture *f, gconstpointer data)
{
  g_autofree char *pm = NULL;
  g_autofree char *card = NULL;
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  guint before;

  if (f->h == NULL)
    return;
  card = pay_add_card (f, CARD, FAKE_STRIPE_SUCCEED, &pm);
  pay_settle (f);

  /* A 500 before anything happened: asked again, same key. */
  before = fake_stripe_event_count (f->fake, "payment_intent.succeeded");
  fake_stripe_fail_next (f->fake, 500, 1);
  first = pay_issue_invoice (f, 15);
  assert_charged_once (f, first, 2, 500);
  pay_settle (f);
  g_assert_cmpuint (fake_stripe_event_count (f->fake, "payment_intent.succeeded"), ==, before + 1);

  /* The charge was made but its answer was lost: the retry with the same key gets Stripe's
   * saved answer, not a second charge. */
  fake_stripe_lose_next_on (f->fake, "POST", "/v1/payment_intents", 500, 1);
  second = pay_issue_invoice (f, 20);
  assert_charged_once (f, second, 2, 500);
  pay_settle (f);
  g_assert_cmpuint (fake_stripe_event_count (f->fake, "payment_intent.succeeded"), ==, before + 2);
  g_assert_cmpuint (pay_mail_count (f, "payment-receipt"), ==, 2);
  g_assert_cmpuint (pay_event_count (f, 0, "payment.succeeded"), ==, 2);
}

/* Every answer lost, and the webhook held back: purserd does not know the outcome, keeps the
 * payment pending and asks again (same key) after its resend delay of 60 s. Slow: about a
 * minute. */
static void
test_lost_answer_resent (PayFixture *f, gconstpointer data)
{
  g_autofree char *pm = NULL;
  g_autofree char *card = NULL;
  g_autofree char *invoice_id = NULL;
  g_autoptr (JsonNode) pending = NULL;
  g_autoptr (JsonNode) invoice = NULL;
  g_autoptr (GPtrArray) sent = NULL;
  g_autoptr (GPtrArray) held = NULL;
  guint lost, before;
  gint64 deadline;

  if (f->h == NULL)
    return;
  card = pay_add_card (f, CARD, FAKE_STRIPE_SUCCEED, &pm);
  pay_settle (f);
  before = fake_stripe_event_count (f->fake, "payment_intent.succeeded");

  fake_stripe_hold_webhooks (f->fake, TRUE);
  fake_stripe_lose_next_on (f->fake, "POST", "/v1/payment_intents", 0, 100);
  invoice_id = pay_issue_invoice (f, 15);
  pending = wait_payment_status (f, invoice_id, "pending");
  pay_settle (f); /* purserd gave up for now */
  fake_stripe_lose_next_on (f->fake, "POST", "/v1/payment_intents", 0, 0);
  g_clear_pointer (&pending, json_node_unref);
  pending = pay_payment_with_status (f, invoice_id, "pending");
  sent = intent_posts (f, harness_get_str (pending, "id"));
  lost = sent->len;
  g_assert_cmpuint (lost, >=, 1);
  for (guint i = 0; i < sent->len; i++)
    g_assert_cmpuint (((FakeStripeRequest *) sent->pdata[i])->status, ==, 0);
  invoice = pay_invoice (f, invoice_id);
  g_assert_cmpstr (harness_get_str (invoice, "status"), ==, "open");
  /* The charge did happen at Stripe, once. */
  g_assert_cmpuint (fake_stripe_event_count (f->fake, "payment_intent.succeeded"), ==, before + 1);

  deadline = g_get_monotonic_time () + 90 * G_TIME_SPAN_SECOND;
  for (;;)
    {
      g_clear_pointer (&invoice, json_node_unref);
      invoice = pay_invoice (f, invoice_id);
      if (g_strcmp0 (harness_get_str (invoice, "status"), "paid") == 0)
        break;
      if (g_get_monotonic_time () > deadline)
        g_error ("the pending payment was not sent again within 90 s");
      g_usleep (250 * 1000);
    }
  assert_charged_once (f, invoice_id, lost + 1, 0);
  g_assert_cmpuint (fake_stripe_event_count (f->fake, "payment_intent.succeeded"), ==, before + 1);

  /* The held webhook arrives late and changes nothing. */
  held = fake_stripe_take_held_webhooks (f->fake);
  fake_stripe_hold_webhooks (f->fake, FALSE);
  for (guint i = 0; i < held->len; i++)
    {
      FakeStripeWebhook *webhook = g_ptr_array_index (held, i);
      guint status = 0;

      g_assert_true (fake_stripe_deliver (f->fake, webhook->body, &status));
      g_assert_cmpuint (status, ==, 200);
    }
  pay_settle (f);
  assert_charged_once (f, invoice_id, lost + 1, 0);
  g_assert_cmpuint (pay_mail_count (f, "payment-receipt"), ==, 1);
  g_assert_cmpuint (pay_event_count (f, 0, "payment.succeeded"), ==, 1);
}

/* ── 7. wire transfers ───────────────────────────────────────────────────────────── */

/* Wire as the default: invoices wait 30 days for a transfer, are marked paid by hand, and a
 * void gives a credit note refunded by hand. Works with or without Stripe. */
static void
check_wire (PayFixture *f)
{
  g_autofree char *wire = NULL;
  g_autofree char *invoice_id = NULL;
  g_autofree char *receipt = NULL;
  g_autoptr (JsonNode) methods = NULL;
  g_autoptr (JsonNode) invoice = NULL;
  g_autoptr (JsonNode) paid = NULL;
  g_autoptr (JsonNode) payment = NULL;
  g_autoptr (JsonNode) note = NULL;
  g_autoptr (JsonNode) refused = NULL;
  g_autoptr (JsonArray) payments = NULL;
  g_autoptr (JsonArray) notes = NULL;
  g_autofree char *pay_here = NULL;
  guint status = 0;

  wire = pay_add_wire (f);
  methods = pay_methods (f);
  g_assert_cmpstr (harness_get_str (methods, "default_id"), ==, wire);

  invoice_id = pay_issue_invoice (f, 15);
  pay_settle (f);
  invoice = pay_invoice (f, invoice_id);
  g_assert_cmpstr (harness_get_str (invoice, "status"), ==, "open");
  g_assert_cmpstr (harness_get_str (invoice, "collection"), ==, "send_invoice");
  g_assert_cmpstr (harness_get_str (invoice, "issued_on"), ==, "2026-03-01");
  g_assert_cmpstr (harness_get_str (invoice, "due_on"), ==, "2026-03-31");
  g_assert_null (harness_get_str (invoice, "next_attempt_at"));
  g_assert_cmpint (harness_get_int (invoice, "attempt_count"), ==, 0);
  payments = pay_payments (f, invoice_id);
  g_assert_cmpuint (json_array_get_length (payments), ==, 0);
  if (f->fake != NULL)
    g_assert_cmpuint (count_requests (f, "POST", "/v1/payment_intents"), ==, 0);

  /* Nothing to charge: an admin's "pay" says how it is paid. */
  pay_here = pay_path (f, "invoices/%s/pay", invoice_id);
  refused = harness_request (f->h, "POST", pay_here, f->token, NULL, &status);
  assert_error (refused, status, 409, NULL);

  paid = pay_call (f, "POST", 200, "{\"reference\": \"WT-123\"}", "invoices/%s/mark-paid",
                   invoice_id);
  g_assert_cmpstr (harness_get_str (paid, "invoice.status"), ==, "paid");
  g_assert_cmpstr (harness_get_str (paid, "payment.status"), ==, "succeeded");
  g_assert_cmpstr (harness_get_str (paid, "payment.method_type"), ==, "wire");
  g_assert_cmpstr (harness_get_str (paid, "payment.reference"), ==, "WT-123");
  g_assert_cmpstr (harness_get_str (paid, "payment.payment_method_id"), ==, wire);
  assert_money (paid, "payment.amount", PRORATION_15);
  g_assert_nonnull (harness_get_str (paid, "payment.receipt_number"));
  payment = pay_payment_with_status (f, invoice_id, "succeeded");
  g_assert_cmpstr (harness_get_str (payment, "reference"), ==, "WT-123");
  g_assert_null (harness_get_str (payment, "stripe_payment_intent"));
  receipt = g_strdup_printf ("payments/%s/receipt", harness_get_str (payment, "id"));
  pay_assert_pdf (f, receipt);

  g_clear_pointer (&refused, json_node_unref);
  refused = harness_request (f->h, "POST", pay_here, f->token, NULL, &status);
  assert_error (refused, status, 409, "not_payable");

  g_clear_pointer (&paid, json_node_unref);
  paid = pay_call (f, "POST", 200, "{\"reason\": \"Paid twice\"}", "invoices/%s/void", invoice_id);
  pay_settle (f);
  notes = credit_notes (f, invoice_id);
  g_assert_cmpuint (json_array_get_length (notes), ==, 1);
  note = json_node_copy (json_array_get_element (notes, 0));
  g_assert_cmpstr (harness_get_str (note, "refund_status"), ==, "manual");
  assert_money (note, "amount", PRORATION_15);
  g_assert_cmpstr (harness_get_str (note, "payment_id"), ==, harness_get_str (payment, "id"));
  g_assert_cmpuint (pay_mail_count (f, "refund-issued"), ==, 1);
  if (f->fake != NULL)
    g_assert_cmpuint (count_requests (f, "POST", "/v1/refunds"), ==, 0);
}

static void
test_wire (PayFixture *f, gconstpointer data)
{
  if (f->h == NULL)
    return;
  check_wire (f);
}

/* ── 8. removing the default method ─────────────────────────────────────────────── */

static void
test_remove_method (PayFixture *f, gconstpointer data)
{
  g_autofree char *pm = NULL;
  g_autofree char *card = NULL;
  g_autofree char *wire = NULL;
  g_autofree char *invoice_id = NULL;
  g_autofree char *path = NULL;
  g_autofree char *bad = NULL;
  g_autofree char *good = NULL;
  g_autofree char *detach = NULL;
  g_autoptr (JsonNode) refused = NULL;
  g_autoptr (JsonNode) answer = NULL;
  g_autoptr (JsonNode) invoice = NULL;
  g_autoptr (JsonNode) still = NULL;
  g_autoptr (JsonNode) failed = NULL;
  g_autoptr (GPtrArray) detaches = NULL;
  gint64 deadline;
  guint status = 0, intents;

  if (f->h == NULL)
    return;
  card = pay_add_card (f, CARD, FAKE_STRIPE_SUCCEED, &pm);
  wire = pay_add_wire (f);
  still = pay_method (f, wire);
  g_assert_false (harness_get_bool (still, "is_default"));
  fake_stripe_set_behaviour (f->fake, pm, FAKE_STRIPE_DECLINE);
  invoice_id = pay_issue_invoice (f, 15);
  failed = wait_payment_status (f, invoice_id, "failed");
  pay_settle (f);

  path = pay_path (f, "payment-methods/%s", card);
  refused = harness_request (f->h, "DELETE", path, f->token, NULL, &status);
  assert_error (refused, status, 409, "replacement_required");
  g_clear_pointer (&still, json_node_unref);
  still = pay_method (f, card);
  g_assert_nonnull (still);
  g_assert_true (harness_get_bool (still, "is_default"));

  bad = pay_path (f, "payment-methods/%s?replacement=%s", card, card);
  g_clear_pointer (&refused, json_node_unref);
  refused = harness_request (f->h, "DELETE", bad, f->token, NULL, &status);
  assert_error (refused, status, 400, NULL);

  good = pay_path (f, "payment-methods/%s?replacement=%s", card, wire);
  answer = call_ok (f->h, "DELETE", good, f->token, NULL, 200);
  g_assert_cmpstr (harness_get_str (answer, "default_id"), ==, wire);
  g_assert_cmpuint (test_array_length (answer, "data"), ==, 1);
  g_assert_cmpstr (harness_get_str (answer, "data.0.id"), ==, wire);
  g_assert_true (harness_get_bool (answer, "data.0.is_default"));

  /* Stripe forgets the card too. */
  detach = g_strdup_printf ("/v1/payment_methods/%s/detach", pm);
  deadline = g_get_monotonic_time () + PAY_WAIT_SECONDS * G_TIME_SPAN_SECOND;
  while (count_requests (f, "POST", detach) == 0 && g_get_monotonic_time () < deadline)
    g_usleep (50 * 1000);
  detaches = pay_fake_requests (f, "POST", detach);
  g_assert_cmpuint (detaches->len, ==, 1);
  g_assert_cmpuint (((FakeStripeRequest *) detaches->pdata[0])->status, ==, 200);
  g_assert_nonnull (((FakeStripeRequest *) detaches->pdata[0])->idempotency_key);

  /* payment_method.detached comes back and changes nothing. */
  pay_settle (f);
  g_assert_cmpuint (pay_method_count (f), ==, 1);
  g_assert_cmpuint (pay_event_count (f, 0, "payment_method.removed"), ==, 1);

  /* The open invoice is no longer charged: it waits for a transfer. */
  intents = count_requests (f, "POST", "/v1/payment_intents");
  pay_set_clock (f, "2026-03-04T09:00:00Z");
  g_assert_cmpuint (count_requests (f, "POST", "/v1/payment_intents"), ==, intents);
  invoice = pay_invoice (f, invoice_id);
  g_assert_cmpstr (harness_get_str (invoice, "status"), ==, "open");
  g_assert_cmpstr (harness_get_str (invoice, "collection"), ==, "send_invoice");
  g_assert_null (harness_get_str (invoice, "next_attempt_at"));
}

/* ── 9. without Stripe ──────────────────────────────────────────────────────────── */

static void
test_no_stripe (PayFixture *f, gconstpointer data)
{
  g_autofree char *path = NULL;
  g_autoptr (JsonNode) refused = NULL;
  g_autoptr (JsonNode) methods = NULL;
  guint status = 0;

  if (f->h == NULL)
    return;
  g_assert_null (f->fake);
  methods = pay_methods (f);
  g_assert_false (harness_get_bool (methods, "stripe_configured"));
  path = pay_path (f, "payment-methods/setup");
  refused = harness_request (f->h, "POST", path, f->token, "{\"type\": \"card\"}", &status);
  assert_error (refused, status, 409, "stripe_not_configured");
  g_assert_nonnull (strstr (harness_get_str (refused, "error.message"), "Stripe"));
  g_assert_cmpuint (pay_method_count (f), ==, 0);
  check_wire (f);
}

/* ── a debit whose webhook never comes ─────────────────────────────────────────── */

/* Stripe settles a processing debit but its webhook is lost: purserd asks Stripe itself
 * (here after 2 s, --stripe-poll-seconds) and records the outcome once. */
static void
test_processing_polled (PayFixture *f, gconstpointer data)
{
  g_autofree char *pm = NULL;
  g_autofree char *card = NULL;
  g_autofree char *invoice_id = NULL;
  g_autoptr (JsonNode) processing = NULL;
  g_autoptr (JsonNode) paid = NULL;
  g_autoptr (GPtrArray) held = NULL;
  const char *intent;

  if (f->h == NULL)
    return;
  card = pay_add_card (f, CARD, FAKE_STRIPE_PROCESSING, &pm);
  fake_stripe_hold_webhooks (f->fake, TRUE);
  invoice_id = pay_issue_invoice (f, 15);
  processing = wait_payment_status (f, invoice_id, "processing");
  intent = harness_get_str (processing, "stripe_payment_intent");
  g_assert_nonnull (intent);

  fake_stripe_settle (f->fake, intent, TRUE);
  held = fake_stripe_take_held_webhooks (f->fake); /* lost */
  g_assert_cmpuint (held->len, >, 0);

  paid = wait_invoice_status (f, invoice_id, "paid");
  g_assert_cmpint (fake_stripe_request_count (f->fake, "GET", "/v1/payment_intents/"), >=, 1);
  g_assert_cmpint (harness_get_int (paid, "amount_paid.amount"), ==,
                   harness_get_int (paid, "total.amount"));
}

/* ── 10. secrets stay secret ────────────────────────────────────────────────────── */

static gboolean
luhn_valid (const char *digits, gsize n)
{
  int sum = 0;

  for (gsize i = 0; i < n; i++)
    {
      int d = digits[n - 1 - i] - '0';

      if (i % 2 == 1)
        d = d * 2 > 9 ? d * 2 - 9 : d * 2;
      sum += d;
    }
  return sum % 10 == 0;
}

/* A run of 13 to 19 digits that passes Luhn's check and starts like a card number. */
static const char *
find_card_number (const guint8 *data, gsize length)
{
  gsize i = 0;

  while (i < length)
    {
      gsize start = i;

      while (i < length && g_ascii_isdigit (data[i]))
        i++;
      if (i - start >= 13 && i - start <= 19 && strchr ("3456", data[start]) != NULL
          && luhn_valid ((const char *) data + start, i - start))
        return (const char *) data + start;
      if (i == start)
        i++;
    }
  return NULL;
}

static void
assert_no_secret (const char *what, const char *path)
{
  static const char *const secrets[] = { PAY_API_KEY, PAY_WEBHOOK_KEY, "SECRETkey51c0ffee9d7a4b3e",
                                         "SECREThook8e2f61d0c4a97b5", "4242424242424242" };
  g_autofree char *data = NULL;
  g_autoptr (GError) error = NULL;
  const char *card;
  gsize length = 0;

  if (!g_file_get_contents (path, &data, &length, &error))
    {
      g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
      return;
    }
  for (guint i = 0; i < G_N_ELEMENTS (secrets); i++)
    if (memmem (data, length, secrets[i], strlen (secrets[i])) != NULL)
      g_error ("%s (%s) holds the secret %s", what, path, secrets[i]);
  card = find_card_number ((const guint8 *) data, length);
  if (card != NULL)
    g_error ("%s (%s) holds what looks like a card number: %.19s", what, path, card);
}

static void
test_secrets (PayFixture *f, gconstpointer data)
{
  static const char *const files[] = { "purserd.db", "purserd.db-wal", "stderr.log" };
  g_autofree char *pm = NULL;
  g_autofree char *card = NULL;
  g_autofree char *paid = NULL;
  g_autofree char *declined = NULL;
  g_autofree char *pay_here = NULL;
  g_autofree char *setup_path = NULL;
  g_autofree char *sample = NULL;
  g_autofree char *maildir = NULL;
  g_autoptr (JsonNode) refused = NULL;
  g_autoptr (JsonNode) note = NULL;
  g_autoptr (JsonNode) failed = NULL;
  g_autoptr (JsonNode) paid_invoice = NULL;
  g_autoptr (GString) contents = g_string_new (NULL);
  g_autoptr (GDir) dir = NULL;
  const char *name;
  guint status = 0;

  if (f->h == NULL)
    return;
  /* A card, a charge, a refund. */
  card = pay_add_card (f, CARD, FAKE_STRIPE_SUCCEED, &pm);
  paid = pay_issue_invoice (f, 15);
  paid_invoice = wait_invoice_status (f, paid, "paid");
  json_node_unref (pay_call (f, "POST", 200, "{\"reason\": \"test\"}", "invoices/%s/void", paid));
  note = wait_credit_note (f, paid, "succeeded");
  /* A decline and dunning. */
  fake_stripe_set_behaviour (f->fake, pm, FAKE_STRIPE_DECLINE);
  declined = pay_issue_invoice (f, 20);
  failed = wait_payment_status (f, declined, "failed");
  pay_set_clock (f, "2026-03-04T09:00:00Z");
  /* Stripe refusing the key (401), on a charge and on a setup. */
  fake_stripe_set_api_key (f->fake, "sk_test_someone_else_entirely");
  pay_here = pay_path (f, "invoices/%s/pay", declined);
  refused = harness_request (f->h, "POST", pay_here, f->token, NULL, &status);
  assert_error (refused, status, 402, "payment_failed");
  g_clear_pointer (&refused, json_node_unref);
  setup_path = pay_path (f, "payment-methods/setup");
  refused = harness_request (f->h, "POST", setup_path, f->token, "{\"type\": \"card\"}", &status);
  g_assert_cmpuint (status, >=, 400);
  fake_stripe_set_api_key (f->fake, PAY_API_KEY);
  /* Webhooks signed with another secret. */
  fake_stripe_set_webhook (f->fake, f->webhook_url, "whsec_not_the_right_one");
  g_assert_true (
      fake_stripe_deliver (f->fake, "{\"id\": \"evt_x\", \"object\": \"event\"}", &status));
  g_assert_cmpuint (status, ==, 400);
  fake_stripe_set_webhook (f->fake, f->webhook_url, PAY_WEBHOOK_KEY);
  pay_settle (f);

  /* The files purserd wrote: its database (with the WAL) and its log. */
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *path = g_build_filename (harness_dir (f->h), files[i], NULL);
      g_autofree char *text = NULL;
      gsize length = 0;

      assert_no_secret (files[i], path);
      if (g_file_get_contents (path, &text, &length, NULL))
        g_string_append_len (contents, text, (gssize) length);
    }
  /* …what it printed… */
  {
    g_autofree char *out = harness_stdout (f->h);
    g_autofree char *out_path = g_build_filename (harness_dir (f->h), "stdout.log", NULL);

    g_assert_nonnull (strstr (out, "purserd: Stripe at "));
    g_assert_true (g_file_set_contents (out_path, out, -1, NULL));
    assert_no_secret ("stdout", out_path);
  }
  /* …and the mail it sent. */
  maildir = g_build_filename (harness_dir (f->h), "mail", "new", NULL);
  dir = g_dir_open (maildir, 0, NULL);
  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (maildir, name, NULL);

      assert_no_secret ("a mail", path);
    }

  /* What was read is really purserd's data: the invoice numbers are there. */
  g_assert_nonnull (memmem (contents->str, contents->len, harness_get_str (paid_invoice, "number"),
                            strlen (harness_get_str (paid_invoice, "number"))));
  g_assert_nonnull (memmem (contents->str, contents->len, pm, strlen (pm)));
  /* The check itself finds a card number. */
  sample = g_strdup ("x 4000056655665556 y");
  g_assert_nonnull (find_card_number ((const guint8 *) sample, strlen (sample)));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ((path), PayFixture, NULL, pay_fixture_setup, (func), pay_fixture_teardown)
  ADD ("/payments/card-setup", test_card_setup);
  ADD ("/payments/charge-success", test_charge_success);
  ADD ("/payments/decline-then-retry", test_decline_then_retry);
  ADD ("/payments/past-due", test_past_due);
  ADD ("/payments/refund", test_refund);
  ADD ("/payments/retries", test_retries);
  ADD ("/payments/lost-answer-resent", test_lost_answer_resent);
  ADD ("/payments/wire", test_wire);
  ADD ("/payments/processing-polled", test_processing_polled);
  ADD ("/payments/remove-method", test_remove_method);
  g_test_add ("/payments/no-stripe", PayFixture, &without_stripe, pay_fixture_setup, test_no_stripe,
              pay_fixture_teardown);
  ADD ("/payments/secrets", test_secrets);
#undef ADD

  return g_test_run ();
}
