/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib/gstdio.h>
#include <string.h>

#include "fake-stripe.h"
#include "purserd-test-util.h"

/* What test-payments and test-webhooks share: a purserd wired to the fake Stripe (secret key
 * and webhook secret in files of a temporary directory), one organization on the test clock
 * with a Business subscription, and helpers that wait for the background work to settle. */

G_BEGIN_DECLS

#define PAY_START        "2026-03-01T09:00:00Z"
#define PAY_API_KEY      "sk_test_SECRETkey51c0ffee9d7a4b3e"
#define PAY_WEBHOOK_KEY  "whsec_SECREThook8e2f61d0c4a97b5"
#define PAY_WAIT_SECONDS 10

typedef struct
{
  FakeStripe *fake; /* NULL when purserd runs without Stripe */
  PurserdHarness *h;
  char *secrets_dir;
  char *webhook_url;
  char *org;
  char *token;
  /* The test makes event processing fail on purpose (otherwise a failure is one). */
  gboolean expect_webhook_failure;
} PayFixture;

typedef struct
{
  gboolean with_key;         /* --stripe-key-file */
  const char *webhook_lines; /* the secret file's contents; NULL: PAY_WEBHOOK_KEY */
  const char *signing;       /* the secret the fake signs with; NULL: PAY_WEBHOOK_KEY */
} PayOptions;

/* FALSE (and the test skipped) when Stripe's fixtures are missing. */
static inline gboolean
pay_available (void)
{
  g_autofree char *reason = NULL;

  if (fake_stripe_available (&reason))
    return TRUE;
  g_test_skip (reason);
  return FALSE;
}

static inline char *
pay_write_secret (PayFixture *f, const char *name, const char *text)
{
  g_autoptr (GError) error = NULL;
  char *path = g_build_filename (f->secrets_dir, name, NULL);

  g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error);
  g_assert_no_error (error);
  return path;
}

/* purserd on the test clock at `now` with the fake (unless !options->with_key, when there is
 * no key at all), an organization ACME and its admin. */
static inline void
pay_start (PayFixture *f, const char *now, const PayOptions *options)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *webhook_file = NULL;
  gboolean with_key = options == NULL || options->with_key;

  memset (f, 0, sizeof *f);
  f->secrets_dir = g_dir_make_tmp ("purser-pay-XXXXXX", &error);
  g_assert_no_error (error);
  webhook_file = pay_write_secret (f, "webhook-secret",
                                   options && options->webhook_lines ? options->webhook_lines
                                                                     : PAY_WEBHOOK_KEY "\n");
  g_ptr_array_add (args, g_strdup ("--webhook-secret-file"));
  g_ptr_array_add (args, g_strdup (webhook_file));
  if (with_key)
    {
      f->fake = fake_stripe_start ();
      fake_stripe_set_api_key (f->fake, PAY_API_KEY);
      g_ptr_array_add (args, g_strdup ("--stripe-api-base"));
      g_ptr_array_add (args, g_strdup (fake_stripe_url (f->fake)));
      g_ptr_array_add (args, g_strdup ("--stripe-key-file"));
      g_ptr_array_add (args, pay_write_secret (f, "stripe-key", PAY_API_KEY "\n"));
      g_ptr_array_add (args, g_strdup ("--stripe-retry-ms"));
      g_ptr_array_add (args, g_strdup ("10"));
      g_ptr_array_add (args, g_strdup ("--stripe-poll-seconds"));
      g_ptr_array_add (args, g_strdup ("2"));
    }
  g_ptr_array_add (args, NULL);
  f->h = harness_start (now, (const char *const *) args->pdata);
  f->webhook_url = g_strconcat (harness_url (f->h), "/v1/webhooks/stripe", NULL);
  if (f->fake != NULL)
    fake_stripe_set_webhook (f->fake, f->webhook_url,
                             options && options->signing ? options->signing : PAY_WEBHOOK_KEY);
  harness_create_org (f->h, "Acme Corp", "ACME", &f->org, &f->token);
}

static inline void
pay_stop (PayFixture *f)
{
  /* purserd first: the fake may still be sending it an event. */
  if (f->fake != NULL)
    fake_stripe_set_webhook (f->fake, NULL, NULL);
  /* No event's processing failed (purserd says so when it keeps one to retry). */
  if (!f->expect_webhook_failure)
    {
      g_autofree char *log = NULL;

      g_assert_true (g_file_get_contents (harness_stderr_path (f->h), &log, NULL, NULL));
      if (strstr (log, "failed, retrying later") != NULL)
        g_error ("processing a webhook event failed; purserd's stderr:\n%s", log);
    }
  harness_stop (f->h);
  g_clear_pointer (&f->fake, fake_stripe_stop);
  if (f->secrets_dir != NULL)
    {
      g_autofree char *key = g_build_filename (f->secrets_dir, "stripe-key", NULL);
      g_autofree char *hook = g_build_filename (f->secrets_dir, "webhook-secret", NULL);

      g_unlink (key);
      g_unlink (hook);
      g_rmdir (f->secrets_dir);
    }
  g_free (f->secrets_dir);
  g_free (f->webhook_url);
  g_free (f->org);
  g_free (f->token);
}

/* ── requests ──────────────────────────────────────────────────────────────────── */

static inline char *pay_path (PayFixture *f, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* "/v1/orgs/<org>/" + the formatted rest. */
static inline char *
pay_path (PayFixture *f, const char *format, ...)
{
  va_list args;
  g_autofree char *rest = NULL;

  va_start (args, format);
  rest = g_strdup_vprintf (format, args);
  va_end (args);
  return g_strdup_printf ("/v1/orgs/%s/%s", f->org, rest);
}

#define pay_call(f, method, expected, body, ...)                                \
  ({                                                                            \
    g_autofree char *pay_call_path_ = pay_path ((f), __VA_ARGS__);              \
    call_ok ((f)->h, (method), pay_call_path_, (f)->token, (body), (expected)); \
  })

/* The billing clock as purserd has it. */
static inline char *
pay_clock (PayFixture *f)
{
  g_autoptr (JsonNode) answer
      = call_ok (f->h, "GET", "/v1/test-clock", HARNESS_OPERATOR_TOKEN, NULL, 200);

  return g_strdup (harness_get_str (answer, "now"));
}

/* Waits until the fake has sent what it has to send and purserd has done what that caused
 * (setting the clock to the time it already has answers once purserd's workers are idle). */
static inline void
pay_settle (PayFixture *f)
{
  g_autofree char *now = pay_clock (f);

  for (guint round = 0; round < 2; round++)
    {
      if (f->fake != NULL)
        g_assert_true (fake_stripe_flush_webhooks (f->fake));
      harness_set_clock (f->h, now);
    }
}

/* Moves the clock (purserd answers once the charges and mail it caused ran) and settles. */
static inline void
pay_set_clock (PayFixture *f, const char *now)
{
  harness_set_clock (f->h, now);
  pay_settle (f);
}

static inline JsonNode *
pay_invoice (PayFixture *f, const char *id)
{
  g_autoptr (JsonNode) answer = pay_call (f, "GET", 200, NULL, "invoices/%s", id);

  return json_node_copy (harness_get (answer, "invoice"));
}

/* Polls the invoice until it has `status` (at most PAY_WAIT_SECONDS); returns it. */
static inline JsonNode *
wait_invoice_status (PayFixture *f, const char *id, const char *status)
{
  gint64 deadline = g_get_monotonic_time () + PAY_WAIT_SECONDS * G_TIME_SPAN_SECOND;

  for (;;)
    {
      g_autoptr (JsonNode) invoice = pay_invoice (f, id);

      if (g_strcmp0 (harness_get_str (invoice, "status"), status) == 0)
        return g_steal_pointer (&invoice);
      if (g_get_monotonic_time () > deadline)
        {
          g_autofree char *shown = test_describe (invoice);

          g_error ("invoice %s is not %s after %d s: %s", id, status, PAY_WAIT_SECONDS, shown);
        }
      g_usleep (50 * 1000);
    }
}

/* Business monthly, `seats` seats, billing day 1; returns the first invoice's id. */
static inline char *
pay_subscribe (PayFixture *f, gint64 seats)
{
  g_autofree char *body = g_strdup_printf (
      "{\"plan\": \"business\", \"cycle\": \"monthly\", \"seats\": %" G_GINT64_FORMAT
      ", \"billing_day\": 1}",
      seats);
  g_autoptr (JsonNode) answer = pay_call (f, "POST", 201, body, "subscription");

  return g_strdup (harness_get_str (answer, "invoice.id"));
}

/* Buys seats up to `seats`: a proration invoice issued now; returns its id. */
static inline char *
pay_issue_invoice (PayFixture *f, gint64 seats)
{
  g_autofree char *body = g_strdup_printf ("{\"seats\": %" G_GINT64_FORMAT "}", seats);
  g_autoptr (JsonNode) answer = pay_call (f, "POST", 200, body, "subscription/change");

  g_assert_false (JSON_NODE_HOLDS_NULL (harness_get (answer, "invoice")));
  return g_strdup (harness_get_str (answer, "invoice.id"));
}

static inline JsonNode *
pay_subscription (PayFixture *f)
{
  g_autoptr (JsonNode) answer = pay_call (f, "GET", 200, NULL, "subscription");

  return json_node_copy (harness_get (answer, "subscription"));
}

/* The payments of an invoice, as GET …/payments?invoice_id= lists them. */
static inline JsonArray *
pay_payments (PayFixture *f, const char *invoice_id)
{
  g_autofree char *path = pay_path (f, "payments?invoice_id=%s", invoice_id);

  return test_list_all (f->h, path, f->token);
}

/* The only payment of an invoice with this status (asserts there is exactly one). */
static inline JsonNode *
pay_payment_with_status (PayFixture *f, const char *invoice_id, const char *status)
{
  g_autoptr (JsonArray) payments = pay_payments (f, invoice_id);
  JsonNode *found = NULL;
  guint n = 0;

  for (guint i = 0; i < json_array_get_length (payments); i++)
    {
      JsonNode *payment = json_array_get_element (payments, i);

      if (g_strcmp0 (harness_get_str (payment, "status"), status) == 0)
        {
          found = payment;
          n++;
        }
    }
  if (n != 1)
    {
      g_autoptr (JsonNode) all = json_node_init_array (json_node_alloc (), payments);
      g_autofree char *shown = test_describe (all);

      g_error ("invoice %s has %u %s payments, expected 1: %s", invoice_id, n, status, shown);
    }
  return json_node_copy (found);
}

/* Polls until the invoice has a payment with `status`; returns it. */
static inline JsonNode *
wait_payment_status (PayFixture *f, const char *invoice_id, const char *status)
{
  gint64 deadline = g_get_monotonic_time () + PAY_WAIT_SECONDS * G_TIME_SPAN_SECOND;

  for (;;)
    {
      g_autoptr (JsonArray) payments = pay_payments (f, invoice_id);

      for (guint i = 0; i < json_array_get_length (payments); i++)
        if (g_strcmp0 (harness_get_str (json_array_get_element (payments, i), "status"), status)
            == 0)
          return pay_payment_with_status (f, invoice_id, status);
      if (g_get_monotonic_time () > deadline)
        {
          g_autoptr (JsonNode) all = json_node_init_array (json_node_alloc (), payments);
          g_autofree char *shown = test_describe (all);

          g_error ("invoice %s has no %s payment after %d s: %s", invoice_id, status,
                   PAY_WAIT_SECONDS, shown);
        }
      g_usleep (50 * 1000);
    }
}

/* Mails of this template queued for the organization (GET …/emails). */
static inline guint
pay_mail_count (PayFixture *f, const char *template_id)
{
  g_autofree char *path = pay_path (f, "emails");
  g_autoptr (JsonArray) mails = test_list_all (f->h, path, f->token);
  guint n = 0;

  for (guint i = 0; i < json_array_get_length (mails); i++)
    if (g_strcmp0 (harness_get_str (json_array_get_element (mails, i), "template"), template_id)
        == 0)
      n++;
  return n;
}

/* The seq of the organization's last event: nothing was recorded while it stays the same. */
static inline gint64
pay_last_seq (PayFixture *f)
{
  g_autoptr (JsonNode) answer = pay_call (f, "GET", 200, NULL, "events?after=0&limit=1");

  return harness_get_int (answer, "last_seq");
}

/* The organization's events after `after` with this type. */
static inline guint
pay_event_count (PayFixture *f, gint64 after, const char *type)
{
  g_autoptr (JsonNode) answer
      = pay_call (f, "GET", 200, NULL, "events?after=%" G_GINT64_FORMAT "&limit=5000", after);
  JsonArray *data = json_node_get_array (harness_get (answer, "data"));
  guint n = 0;

  g_assert_false (harness_get_bool (answer, "has_more"));
  for (guint i = 0; i < json_array_get_length (data); i++)
    if (g_strcmp0 (harness_get_str (json_array_get_element (data, i), "type"), type) == 0)
      n++;
  return n;
}

/* ── payment methods ───────────────────────────────────────────────────────────── */

static inline JsonNode *
pay_methods (PayFixture *f)
{
  return pay_call (f, "GET", 200, NULL, "payment-methods");
}

static inline guint
pay_method_count (PayFixture *f)
{
  g_autoptr (JsonNode) methods = pay_methods (f);

  return test_array_length (methods, "data");
}

/* The method with this id in the list, or NULL. */
static inline JsonNode *
pay_method (PayFixture *f, const char *id)
{
  g_autoptr (JsonNode) methods = pay_methods (f);
  JsonArray *data = json_node_get_array (harness_get (methods, "data"));

  for (guint i = 0; i < json_array_get_length (data); i++)
    if (g_strcmp0 (harness_get_str (json_array_get_element (data, i), "id"), id) == 0)
      return json_node_copy (json_array_get_element (data, i));
  return NULL;
}

/* POST …/payment-methods/setup {"type"}: the session's id (the answer in *answer). */
static inline char *
pay_setup (PayFixture *f, const char *type, JsonNode **answer)
{
  g_autofree char *body = g_strdup_printf ("{\"type\": \"%s\"}", type);
  g_autoptr (JsonNode) setup = pay_call (f, "POST", 201, body, "payment-methods/setup");
  char *session = g_strdup (harness_get_str (setup, "session_id"));

  if (answer != NULL)
    *answer = g_steal_pointer (&setup);
  return session;
}

/* A card added on Stripe's page and reported by webhooks; returns purserd's id of the new
 * method (and the fake's pm_… in *stripe_id). */
static inline char *
pay_add_card (PayFixture *f, const char *details, FakeStripeBehaviour behaviour, char **stripe_id)
{
  g_autofree char *session = pay_setup (f, "card", NULL);
  g_autoptr (JsonNode) before = pay_methods (f);
  g_autofree char *pm = NULL;
  gint64 deadline = g_get_monotonic_time () + PAY_WAIT_SECONDS * G_TIME_SPAN_SECOND;
  guint count = test_array_length (before, "data");

  pm = fake_stripe_complete_checkout (f->fake, session, details, behaviour);
  g_assert_nonnull (pm);
  pay_settle (f);
  for (;;)
    {
      g_autoptr (JsonNode) methods = pay_methods (f);
      JsonArray *data = json_node_get_array (harness_get (methods, "data"));

      if (json_array_get_length (data) > count)
        {
          g_assert_cmpuint (json_array_get_length (data), ==, count + 1);
          for (guint i = 0; i < json_array_get_length (data); i++)
            {
              const char *id = harness_get_str (json_array_get_element (data, i), "id");
              gboolean known = FALSE;
              JsonArray *old = json_node_get_array (harness_get (before, "data"));

              for (guint j = 0; j < json_array_get_length (old); j++)
                known
                    |= g_strcmp0 (harness_get_str (json_array_get_element (old, j), "id"), id) == 0;
              if (!known)
                {
                  if (stripe_id != NULL)
                    *stripe_id = g_steal_pointer (&pm);
                  return g_strdup (id);
                }
            }
        }
      if (g_get_monotonic_time () > deadline)
        {
          g_autofree char *shown = test_describe (methods);

          g_error ("the card added at Stripe did not appear within %d s: %s", PAY_WAIT_SECONDS,
                   shown);
        }
      g_usleep (50 * 1000);
    }
}

/* POST …/payment-methods {"type": "wire"}; returns its id. */
static inline char *
pay_add_wire (PayFixture *f)
{
  g_autoptr (JsonNode) wire = pay_call (f, "POST", 201, "{\"type\": \"wire\"}", "payment-methods");

  g_assert_cmpstr (harness_get_str (wire, "type"), ==, "wire");
  return g_strdup (harness_get_str (wire, "id"));
}

/* ── what the fake saw ─────────────────────────────────────────────────────────── */

/* The requests with this method and exact path (NULL: any), oldest first. */
static inline GPtrArray *
pay_fake_requests (PayFixture *f, const char *method, const char *path)
{
  g_autoptr (GPtrArray) all = fake_stripe_requests (f->fake);
  GPtrArray *found = g_ptr_array_new_with_free_func ((GDestroyNotify) fake_stripe_request_free);

  for (guint i = 0; i < all->len; i++)
    {
      FakeStripeRequest *request = g_ptr_array_index (all, i);

      if ((method == NULL || g_str_equal (request->method, method))
          && (path == NULL || g_str_equal (request->path, path)))
        {
          g_ptr_array_add (found, request);
          all->pdata[i] = NULL;
        }
    }
  return found;
}

/* A field of a form-encoded body ("metadata[purser_payment_id]"), decoded; NULL if absent. */
static inline char *
pay_form_get (const char *body, const char *key)
{
  g_auto (GStrv) pairs = g_strsplit (body ? body : "", "&", -1);

  for (guint i = 0; pairs[i] != NULL; i++)
    {
      char *eq = strchr (pairs[i], '=');
      g_autofree char *name = NULL;

      if (eq == NULL)
        continue;
      *eq = '\0';
      g_strdelimit (pairs[i], "+", ' ');
      g_strdelimit (eq + 1, "+", ' ');
      name = g_uri_unescape_string (pairs[i], NULL);
      if (g_strcmp0 (name, key) == 0)
        return g_uri_unescape_string (eq + 1, NULL);
    }
  return NULL;
}

/* A member of a JSON text (a fake's answer), as a string; NULL if absent. */
static inline char *
pay_json_member (const char *json, const char *member)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *object;

  if (json == NULL || !json_parser_load_from_data (parser, json, -1, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return NULL;
  object = json_node_get_object (json_parser_get_root (parser));
  return g_strdup (json_object_get_string_member_with_default (object, member, NULL));
}

/* The organization's Stripe customer, as the fake created it. */
static inline char *
pay_customer (PayFixture *f)
{
  g_autoptr (GPtrArray) created = pay_fake_requests (f, "POST", "/v1/customers");

  for (guint i = 0; i < created->len; i++)
    {
      FakeStripeRequest *request = g_ptr_array_index (created, i);

      if (request->status == 200)
        return pay_json_member (request->response, "id");
    }
  g_error ("the fake created no customer");
  return NULL;
}

/* A string member of a fake's stored object ("status", "latest_charge"). */
static inline char *
pay_fake_member (PayFixture *f, const char *id, const char *member)
{
  g_autoptr (JsonNode) object = fake_stripe_get_object (f->fake, id);

  g_assert_nonnull (object);
  return g_strdup (
      json_object_get_string_member_with_default (json_node_get_object (object), member, NULL));
}

/* ── documents ─────────────────────────────────────────────────────────────────── */

/* GET with the admin's token, whatever the answer's type; the body and its Content-Type. */
static inline GBytes *
pay_get_raw (PayFixture *f, const char *path, guint *status, char **content_type)
{
  g_autoptr (SoupSession) session = soup_session_new ();
  g_autofree char *url = g_strconcat (harness_url (f->h), path, NULL);
  g_autofree char *bearer = g_strconcat ("Bearer ", f->token, NULL);
  g_autoptr (SoupMessage) message = soup_message_new ("GET", url);
  g_autoptr (GError) error = NULL;
  GBytes *body;

  soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization",
                                bearer);
  body = soup_session_send_and_read (session, message, NULL, &error);
  g_assert_no_error (error);
  *status = soup_message_get_status (message);
  if (content_type != NULL)
    *content_type = g_strdup (
        soup_message_headers_get_content_type (soup_message_get_response_headers (message), NULL));
  return body;
}

/* The document at `path` (under the organization) is a PDF. */
static inline void
pay_assert_pdf (PayFixture *f, const char *path)
{
  g_autofree char *full = pay_path (f, "%s", path);
  g_autofree char *type = NULL;
  g_autoptr (GBytes) body = NULL;
  gsize length = 0;
  const char *data;
  guint status = 0;

  body = pay_get_raw (f, full, &status, &type);
  data = g_bytes_get_data (body, &length);
  if (status != 200)
    g_error ("GET %s answered %u: %.*s", full, status, (int) MIN (length, 500), data);
  g_assert_cmpstr (type, ==, "application/pdf");
  g_assert_cmpuint (length, >, 1000);
  g_assert_true (memcmp (data, "%PDF-", 5) == 0);
}

/* The fixture of the payment tests: purserd with the fake Stripe (PayOptions in `data`,
 * NULL for the defaults), ACME on Business monthly with 10 seats; skipped without Stripe's
 * fixtures. */
static inline void
pay_fixture_setup (PayFixture *f, gconstpointer data)
{
  memset (f, 0, sizeof *f);
  if (!pay_available ())
    return;
  pay_start (f, PAY_START, data);
  g_free (pay_subscribe (f, 10));
}

static inline void
pay_fixture_teardown (PayFixture *f, gconstpointer data)
{
  if (f->h != NULL)
    pay_stop (f);
}

G_END_DECLS
