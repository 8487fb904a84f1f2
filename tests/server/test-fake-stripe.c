/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "fake-stripe.h"

#include <libsoup/soup.h>
#include <string.h>

/* The fake Stripe, checked from outside: a libsoup client in the test's thread, and a webhook
 * receiver (a SoupServer in its own thread, as purserd would be) that verifies every
 * Stripe-Signature with GHmac and calls the fake back while it handles an event. */

#define API_KEY "sk_test_fake_stripe_selftest"
#define SECRET  "whsec_fake_stripe_selftest"

/* ── the webhook receiver ──────────────────────────────────────────────────────────────── */

typedef struct
{
  char *id;
  char *type;
  char *body;
  JsonNode *event;
  char *fetched_status; /* payment_intent.succeeded: the PI's status, fetched from the fake */
} Received;

typedef struct
{
  GMutex mutex;
  GCond cond;
  gboolean ready;
  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;
  SoupServer *server;
  SoupSession *session;
  char *url;
  char *fake_url;
  GPtrArray *received; /* Received, accepted events in arrival order */
  GQueue script;       /* statuses to answer next (then 200) */
  guint attempts;
  guint rejected; /* bad signatures */
} Receiver;

typedef struct
{
  FakeStripe *fake;
  Receiver *receiver;
  SoupSession *session;
} Fixture;

static void
received_free (Received *received)
{
  g_free (received->id);
  g_free (received->type);
  g_free (received->body);
  g_clear_pointer (&received->event, json_node_unref);
  g_free (received->fetched_status);
  g_free (received);
}

static JsonNode *
parse (const char *text)
{
  g_autoptr (JsonParser) parser = json_parser_new ();

  if (text == NULL || !json_parser_load_from_data (parser, text, -1, NULL))
    return NULL;
  return json_node_ref (json_parser_get_root (parser));
}

/* a.b.0.c in a JSON tree; NULL when missing */
static JsonNode *
at (JsonNode *root, const char *path)
{
  g_auto (GStrv) parts = g_strsplit (path, ".", -1);
  JsonNode *node = root;

  for (guint i = 0; node != NULL && parts[i] != NULL; i++)
    {
      if (JSON_NODE_HOLDS_OBJECT (node))
        {
          JsonObject *object = json_node_get_object (node);

          node = json_object_has_member (object, parts[i])
                     ? json_object_get_member (object, parts[i])
                     : NULL;
        }
      else if (JSON_NODE_HOLDS_ARRAY (node))
        {
          JsonArray *array = json_node_get_array (node);
          guint64 index;

          if (!g_ascii_string_to_unsigned (parts[i], 10, 0, G_MAXUINT, &index, NULL)
              || index >= json_array_get_length (array))
            return NULL;
          node = json_array_get_element (array, index);
        }
      else
        {
          return NULL;
        }
    }
  return node;
}

static JsonNode *
must (JsonNode *root, const char *path)
{
  JsonNode *node = at (root, path);

  if (node == NULL)
    {
      g_autofree char *text = root ? json_to_string (root, TRUE) : g_strdup ("(nothing)");

      g_error ("no %s in %s", path, text);
    }
  return node;
}

static const char *
str_at (JsonNode *root, const char *path)
{
  JsonNode *node = must (root, path);

  if (JSON_NODE_HOLDS_NULL (node))
    return NULL;
  g_assert_cmpint (json_node_get_value_type (node), ==, G_TYPE_STRING);
  return json_node_get_string (node);
}

static gint64
int_at (JsonNode *root, const char *path)
{
  JsonNode *node = must (root, path);

  g_assert_cmpint (json_node_get_value_type (node), ==, G_TYPE_INT64);
  return json_node_get_int (node);
}

static gboolean
bool_at (JsonNode *root, const char *path)
{
  JsonNode *node = must (root, path);

  g_assert_cmpint (json_node_get_value_type (node), ==, G_TYPE_BOOLEAN);
  return json_node_get_boolean (node);
}

static gboolean
null_at (JsonNode *root, const char *path)
{
  return JSON_NODE_HOLDS_NULL (must (root, path));
}

/* Stripe's scheme: t=…,v1=… (any v1 may match), HMAC-SHA256 of "t.body", 300 s tolerance. */
static gboolean
verify_signature (const char *secret, const char *header, const char *body)
{
  g_auto (GStrv) items = NULL;
  g_autoptr (GPtrArray) v1 = g_ptr_array_new ();
  const char *t = NULL;
  gint64 timestamp;
  g_autoptr (GHmac) hmac = NULL;
  const char *expected;

  if (header == NULL)
    return FALSE;
  items = g_strsplit (header, ",", -1);
  for (guint i = 0; items[i] != NULL; i++)
    {
      if (g_str_has_prefix (items[i], "t="))
        t = items[i] + 2;
      else if (g_str_has_prefix (items[i], "v1="))
        g_ptr_array_add (v1, items[i] + 3);
    }
  if (t == NULL || v1->len == 0
      || !g_ascii_string_to_signed (t, 10, 0, G_MAXINT64, &timestamp, NULL))
    return FALSE;
  if (ABS (g_get_real_time () / G_USEC_PER_SEC - timestamp) > 300)
    return FALSE;
  hmac = g_hmac_new (G_CHECKSUM_SHA256, (const guchar *) secret, strlen (secret));
  g_hmac_update (hmac, (const guchar *) t, -1);
  g_hmac_update (hmac, (const guchar *) ".", 1);
  g_hmac_update (hmac, (const guchar *) body, -1);
  expected = g_hmac_get_string (hmac);
  for (guint i = 0; i < v1->len; i++)
    {
      if (g_str_equal (g_ptr_array_index (v1, i), expected))
        return TRUE;
    }
  return FALSE;
}

static char *
fetch_status (Receiver *receiver, const char *pi_id)
{
  g_autofree char *url = g_strdup_printf ("%s/v1/payment_intents/%s", receiver->fake_url, pi_id);
  g_autoptr (SoupMessage) msg = soup_message_new (SOUP_METHOD_GET, url);
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (JsonNode) root = NULL;

  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                "Bearer " API_KEY);
  bytes = soup_session_send_and_read (receiver->session, msg, NULL, NULL);
  if (bytes == NULL || soup_message_get_status (msg) != 200)
    return NULL;
  root = parse (g_bytes_get_data (bytes, NULL));
  return g_strdup (str_at (root, "status"));
}

static void
receiver_cb (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
             gpointer user_data)
{
  Receiver *receiver = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  g_autoptr (GBytes) bytes = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  g_autofree char *body = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  const char *signature = soup_message_headers_get_one (headers, "Stripe-Signature");
  guint status = 200;

  g_mutex_lock (&receiver->mutex);
  receiver->attempts++;
  if (!verify_signature (SECRET, signature, body)
      || !g_str_equal (soup_message_headers_get_content_type (headers, NULL), "application/json"))
    {
      receiver->rejected++;
      status = 400;
    }
  else if (receiver->script.length > 0)
    {
      status = GPOINTER_TO_UINT (g_queue_pop_head (&receiver->script));
    }
  g_mutex_unlock (&receiver->mutex);

  if (status == 200)
    {
      Received *received = g_new0 (Received, 1);

      received->event = parse (body);
      g_assert_nonnull (received->event);
      received->id = g_strdup (str_at (received->event, "id"));
      received->type = g_strdup (str_at (received->event, "type"));
      received->body = g_strdup (body);
      /* purserd looks things up while it handles an event: the fake must answer meanwhile. */
      if (g_str_equal (received->type, "payment_intent.succeeded"))
        received->fetched_status
            = fetch_status (receiver, str_at (received->event, "data.object.id"));
      g_mutex_lock (&receiver->mutex);
      g_ptr_array_add (receiver->received, received);
      g_cond_broadcast (&receiver->cond);
      g_mutex_unlock (&receiver->mutex);
    }
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC, "ok", 2);
}

static gboolean
receiver_quit_cb (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

static gpointer
receiver_thread (gpointer data)
{
  Receiver *receiver = data;
  g_autoptr (GError) error = NULL;
  GSList *uris;

  g_main_context_push_thread_default (receiver->context);
  receiver->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (receiver->server, "/stripe/webhook", receiver_cb, receiver, NULL);
  soup_server_listen_local (receiver->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (receiver->server);
  receiver->session = g_object_new (SOUP_TYPE_SESSION, "proxy-resolver", NULL, NULL);

  g_mutex_lock (&receiver->mutex);
  receiver->url
      = g_strdup_printf ("http://127.0.0.1:%d/stripe/webhook", g_uri_get_port (uris->data));
  receiver->ready = TRUE;
  g_cond_broadcast (&receiver->cond);
  g_mutex_unlock (&receiver->mutex);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  g_main_loop_run (receiver->loop);
  soup_server_disconnect (receiver->server);
  g_clear_object (&receiver->server);
  g_clear_object (&receiver->session);
  while (g_main_context_iteration (receiver->context, FALSE))
    ;
  g_main_context_pop_thread_default (receiver->context);
  return NULL;
}

static Receiver *
receiver_start (const char *fake_url)
{
  Receiver *receiver = g_new0 (Receiver, 1);

  g_mutex_init (&receiver->mutex);
  g_cond_init (&receiver->cond);
  receiver->fake_url = g_strdup (fake_url);
  receiver->received = g_ptr_array_new_with_free_func ((GDestroyNotify) received_free);
  receiver->context = g_main_context_new ();
  receiver->loop = g_main_loop_new (receiver->context, FALSE);
  g_mutex_lock (&receiver->mutex);
  receiver->thread = g_thread_new ("webhook-receiver", receiver_thread, receiver);
  while (!receiver->ready)
    g_cond_wait (&receiver->cond, &receiver->mutex);
  g_mutex_unlock (&receiver->mutex);
  return receiver;
}

static void
receiver_stop (Receiver *receiver)
{
  GSource *source = g_idle_source_new ();

  g_source_set_callback (source, receiver_quit_cb, receiver->loop, NULL);
  g_source_attach (source, receiver->context);
  g_source_unref (source);
  g_thread_join (receiver->thread);
  g_main_loop_unref (receiver->loop);
  g_main_context_unref (receiver->context);
  g_ptr_array_unref (receiver->received);
  g_queue_clear (&receiver->script);
  g_free (receiver->url);
  g_free (receiver->fake_url);
  g_mutex_clear (&receiver->mutex);
  g_cond_clear (&receiver->cond);
  g_free (receiver);
}

/* The next answers, then 200. */
static void
receiver_script (Receiver *receiver, guint status, guint times)
{
  g_mutex_lock (&receiver->mutex);
  for (guint i = 0; i < times; i++)
    g_queue_push_tail (&receiver->script, GUINT_TO_POINTER (status));
  g_mutex_unlock (&receiver->mutex);
}

static guint
receiver_count (Receiver *receiver)
{
  guint n;

  g_mutex_lock (&receiver->mutex);
  n = receiver->received->len;
  g_mutex_unlock (&receiver->mutex);
  return n;
}

static guint
receiver_rejected (Receiver *receiver)
{
  guint n;

  g_mutex_lock (&receiver->mutex);
  n = receiver->rejected;
  g_mutex_unlock (&receiver->mutex);
  return n;
}

/* Safe to keep: entries are only ever appended. */
static Received *
receiver_get (Receiver *receiver, guint i)
{
  Received *received;

  g_mutex_lock (&receiver->mutex);
  g_assert_cmpuint (i, <, receiver->received->len);
  received = g_ptr_array_index (receiver->received, i);
  g_mutex_unlock (&receiver->mutex);
  return received;
}

static Received *
receiver_last (Receiver *receiver)
{
  guint n = receiver_count (receiver);

  g_assert_cmpuint (n, >, 0);
  return receiver_get (receiver, n - 1);
}

/* ── the client ────────────────────────────────────────────────────────────────────────── */

typedef struct
{
  guint status; /* 0: no answer */
  JsonNode *json;
  SoupMessageHeaders *headers;
  GError *error;
} Response;

static void
response_clear (Response *response)
{
  g_clear_pointer (&response->json, json_node_unref);
  g_clear_pointer (&response->headers, soup_message_headers_unref);
  g_clear_error (&response->error);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Response, response_clear)

static Response
request (Fixture *fixture, const char *method, const char *path, const char *form,
         const char *authorization, const char *key, const char *content_type)
{
  g_autofree char *url = g_strconcat (fake_stripe_url (fixture->fake), path, NULL);
  g_autoptr (SoupMessage) msg = soup_message_new (method, url);
  SoupMessageHeaders *headers = soup_message_get_request_headers (msg);
  g_autoptr (GBytes) bytes = NULL;
  Response response = { 0 };

  if (authorization != NULL)
    soup_message_headers_replace (headers, "Authorization", authorization);
  if (key != NULL)
    soup_message_headers_replace (headers, "Idempotency-Key", key);
  soup_message_headers_replace (headers, "Stripe-Version", FAKE_STRIPE_API_VERSION);
  if (form != NULL)
    {
      g_autoptr (GBytes) body = g_bytes_new (form, strlen (form));

      soup_message_set_request_body_from_bytes (
          msg, content_type ? content_type : "application/x-www-form-urlencoded", body);
    }
  bytes = soup_session_send_and_read (fixture->session, msg, NULL, &response.error);
  if (bytes == NULL)
    return response;
  response.status = soup_message_get_status (msg);
  response.headers = soup_message_headers_ref (soup_message_get_response_headers (msg));
  response.json = parse (g_bytes_get_data (bytes, NULL));
  return response;
}

static Response
call (Fixture *fixture, const char *method, const char *path, const char *form)
{
  return request (fixture, method, path, form, "Bearer " API_KEY, NULL, NULL);
}

static Response
call_key (Fixture *fixture, const char *path, const char *form, const char *key)
{
  return request (fixture, "POST", path, form, "Bearer " API_KEY, key, NULL);
}

static void
assert_error (Response *response, guint status, const char *type, const char *code,
              const char *param)
{
  g_assert_no_error (response->error);
  g_assert_cmpuint (response->status, ==, status);
  g_assert_cmpstr (str_at (response->json, "error.type"), ==, type);
  g_assert_nonnull (str_at (response->json, "error.message"));
  if (code != NULL)
    g_assert_cmpstr (str_at (response->json, "error.code"), ==, code);
  if (param != NULL)
    g_assert_cmpstr (str_at (response->json, "error.param"), ==, param);
}

static void
assert_ok (Response *response)
{
  g_assert_no_error (response->error);
  if (response->status != 200)
    {
      g_autofree char *text = response->json ? json_to_string (response->json, TRUE) : NULL;

      g_error ("expected 200, got %u: %s", response->status, text);
    }
}

static JsonNode *
get_object (Fixture *fixture, const char *path)
{
  g_auto (Response) response = call (fixture, "GET", path, NULL);

  assert_ok (&response);
  return g_steal_pointer (&response.json);
}

/* A customer who went through Checkout: fills the customer, session and pm ids. */
static void
customer_with_method (Fixture *fixture, const char *type, const char *currency, const char *details,
                      FakeStripeBehaviour behaviour, char **customer_id, char **pm_id)
{
  g_autofree char *form = NULL;
  g_auto (Response) customer
      = call (fixture, "POST", "/v1/customers", "name=Grace+Hopper&email=grace%40example.com");
  g_auto (Response) session = { 0 };

  assert_ok (&customer);
  form = g_strdup_printf ("mode=setup&customer=%s&currency=%s&payment_method_types%%5B0%%5D=%s"
                          "&success_url=https%%3A%%2F%%2Fpurser.test%%2Fok"
                          "&cancel_url=https%%3A%%2F%%2Fpurser.test%%2Fcancel",
                          str_at (customer.json, "id"), currency, type);
  session = call (fixture, "POST", "/v1/checkout/sessions", form);
  assert_ok (&session);
  *pm_id = fake_stripe_complete_checkout (fixture->fake, str_at (session.json, "id"), details,
                                          behaviour);
  g_assert_nonnull (*pm_id);
  *customer_id = g_strdup (str_at (customer.json, "id"));
  g_assert_true (fake_stripe_flush_webhooks (fixture->fake));
}

static Response
charge (Fixture *fixture, const char *customer_id, const char *pm_id, gint64 amount,
        const char *currency, const char *key)
{
  g_autofree char *form = g_strdup_printf ("amount=%" G_GINT64_FORMAT "&currency=%s&customer=%s"
                                           "&payment_method=%s&off_session=true&confirm=true"
                                           "&description=Invoice+INV-1"
                                           "&metadata%%5Binvoice_id%%5D=inv_1",
                                           amount, currency, customer_id, pm_id);

  return call_key (fixture, "/v1/payment_intents", form, key);
}

static guint
deliveries_of (Fixture *fixture, const char *event_id, GString *statuses)
{
  g_autoptr (GPtrArray) deliveries = fake_stripe_deliveries (fixture->fake);
  guint n = 0;

  for (guint i = 0; i < deliveries->len; i++)
    {
      FakeStripeDelivery *delivery = g_ptr_array_index (deliveries, i);

      if (g_strcmp0 (delivery->event_id, event_id) != 0)
        continue;
      n++;
      g_assert_cmpuint (delivery->attempt, ==, n);
      g_string_append_printf (statuses, "%s%u", statuses->len ? " " : "", delivery->status);
    }
  return n;
}

/* ── fixture ───────────────────────────────────────────────────────────────────────────── */

static void
fixture_setup (Fixture *fixture, gconstpointer data)
{
  g_autofree char *reason = NULL;

  if (!fake_stripe_available (&reason))
    {
      g_test_skip (reason);
      return;
    }
  fixture->fake = fake_stripe_start ();
  fixture->receiver = receiver_start (fake_stripe_url (fixture->fake));
  fake_stripe_set_webhook (fixture->fake, fixture->receiver->url, SECRET);
  fixture->session = g_object_new (SOUP_TYPE_SESSION, "proxy-resolver", NULL, "timeout", 20, NULL);
}

static void
fixture_teardown (Fixture *fixture, gconstpointer data)
{
  if (fixture->fake == NULL)
    return;
  g_assert_true (fake_stripe_flush_webhooks (fixture->fake));
  fake_stripe_stop (fixture->fake);
  receiver_stop (fixture->receiver);
  g_assert_finalize_object (fixture->session);
}

/* ── tests ─────────────────────────────────────────────────────────────────────────────── */

static void
test_auth (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GPtrArray) requests = NULL;
  FakeStripeRequest *first, *last;

  if (fixture->fake == NULL)
    return;

  {
    g_auto (Response) response
        = request (fixture, "POST", "/v1/customers", "name=Ada", NULL, NULL, NULL);

    assert_error (&response, 401, "invalid_request_error", NULL, NULL);
    g_assert_nonnull (strstr (str_at (response.json, "error.message"), "API key"));
  }
  {
    g_auto (Response) response = request (fixture, "POST", "/v1/customers", "name=Ada",
                                          "Bearer pk_test_publishable", NULL, NULL);

    assert_error (&response, 401, "invalid_request_error", NULL, NULL);
  }
  {
    g_auto (Response) response = request (fixture, "GET", "/v1/customers/cus_x", NULL,
                                          "Basic c2tfdGVzdF94Og==", NULL, NULL);

    assert_error (&response, 401, "invalid_request_error", NULL, NULL);
  }
  fake_stripe_set_api_key (fixture->fake, API_KEY);
  {
    g_auto (Response) response = request (fixture, "POST", "/v1/customers", "name=Ada",
                                          "Bearer sk_test_someone_else_entirely", NULL, NULL);

    assert_error (&response, 401, "invalid_request_error", NULL, NULL);
  }
  {
    g_auto (Response) response = call (fixture, "POST", "/v1/customers", "name=Ada");

    assert_ok (&response);
    g_assert_true (g_str_has_prefix (str_at (response.json, "id"), "cus_"));
    g_assert_nonnull (soup_message_headers_get_one (response.headers, "Request-Id"));
  }
  {
    g_auto (Response) response = call (fixture, "GET", "/v1/subscriptions_nope", NULL);

    assert_error (&response, 404, "invalid_request_error", NULL, NULL);
  }
  {
    g_auto (Response) response = request (fixture, "POST", "/v1/customers", "{\"name\":\"Ada\"}",
                                          "Bearer " API_KEY, NULL, "application/json");

    assert_error (&response, 400, "invalid_request_error", NULL, NULL);
  }

  /* Everything was recorded, as sent. */
  g_assert_cmpuint (fake_stripe_request_count (fixture->fake, NULL, NULL), ==, 7);
  g_assert_cmpuint (fake_stripe_request_count (fixture->fake, "POST", "/v1/customers"), ==, 5);
  g_assert_cmpuint (fake_stripe_request_count (fixture->fake, "GET", "/v1/"), ==, 2);
  requests = fake_stripe_requests (fixture->fake);
  g_assert_cmpuint (requests->len, ==, 7);
  first = g_ptr_array_index (requests, 0);
  g_assert_cmpstr (first->method, ==, "POST");
  g_assert_cmpstr (first->path, ==, "/v1/customers");
  g_assert_null (first->authorization);
  g_assert_cmpstr (first->body, ==, "name=Ada");
  g_assert_cmpstr (first->stripe_version, ==, FAKE_STRIPE_API_VERSION);
  g_assert_cmpuint (first->status, ==, 401);
  last = g_ptr_array_index (requests, 4);
  g_assert_cmpstr (last->authorization, ==, "Bearer " API_KEY);
  g_assert_cmpuint (last->status, ==, 200);
  g_assert_nonnull (strstr (last->response, "\"cus_"));
}

static void
test_checkout (Fixture *fixture, gconstpointer data)
{
  g_autofree char *form = NULL, *pay_url = NULL, *path = NULL, *pm_id = NULL;
  g_autoptr (JsonNode) fetched = NULL, seti = NULL, session_after = NULL, pm = NULL;
  g_auto (Response) customer = { 0 };
  g_auto (Response) session = { 0 };
  g_autoptr (GString) statuses = g_string_new (NULL);
  const char *customer_id, *session_id;
  Received *completed, *succeeded;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  if (fixture->fake == NULL)
    return;

  /* A customer, in Stripe's shape. */
  customer = call (fixture, "POST", "/v1/customers",
                   "name=Ada+Lovelace&email=ada%40example.com&metadata%5Borg_id%5D=org_42"
                   "&metadata[plan]=team");
  assert_ok (&customer);
  customer_id = str_at (customer.json, "id");
  g_assert_true (g_str_has_prefix (customer_id, "cus_"));
  g_assert_cmpstr (str_at (customer.json, "object"), ==, "customer");
  g_assert_cmpstr (str_at (customer.json, "name"), ==, "Ada Lovelace");
  g_assert_cmpstr (str_at (customer.json, "email"), ==, "ada@example.com");
  g_assert_cmpstr (str_at (customer.json, "metadata.org_id"), ==, "org_42");
  g_assert_cmpstr (str_at (customer.json, "metadata.plan"), ==, "team");
  g_assert_false (bool_at (customer.json, "livemode"));
  g_assert_true (null_at (customer.json, "invoice_settings.default_payment_method"));
  g_assert_cmpstr (str_at (customer.json, "tax_exempt"), ==, "none");
  g_assert_cmpint (ABS (int_at (customer.json, "created") - now), <=, 60);

  path = g_strdup_printf ("/v1/customers/%s", customer_id);
  fetched = get_object (fixture, path);
  g_assert_cmpstr (str_at (fetched, "email"), ==, "ada@example.com");
  {
    g_auto (Response) missing = call (fixture, "GET", "/v1/customers/cus_nobody", NULL);

    assert_error (&missing, 404, "invalid_request_error", "resource_missing", "id");
  }

  /* A Checkout session in setup mode. */
  {
    g_auto (Response) bad = call (fixture, "POST", "/v1/checkout/sessions", "mode=setup");

    assert_error (&bad, 400, "invalid_request_error", "parameter_missing", "success_url");
  }
  {
    g_auto (Response) bad = call (fixture, "POST", "/v1/checkout/sessions",
                                  "mode=setup&customer=cus_nobody&success_url=https%3A%2F%2Fx");

    assert_error (&bad, 400, "invalid_request_error", "resource_missing", "customer");
  }
  form = g_strdup_printf ("mode=setup&customer=%s&currency=usd&payment_method_types%%5B0%%5D=card"
                          "&success_url=https%%3A%%2F%%2Fpurser.test%%2Fok"
                          "&cancel_url=https%%3A%%2F%%2Fpurser.test%%2Fcancel"
                          "&metadata%%5Borg_id%%5D=org_42",
                          customer_id);
  session = call (fixture, "POST", "/v1/checkout/sessions", form);
  assert_ok (&session);
  session_id = str_at (session.json, "id");
  g_assert_true (g_str_has_prefix (session_id, "cs_test_"));
  g_assert_cmpstr (str_at (session.json, "object"), ==, "checkout.session");
  g_assert_cmpstr (str_at (session.json, "mode"), ==, "setup");
  g_assert_cmpstr (str_at (session.json, "status"), ==, "open");
  g_assert_cmpstr (str_at (session.json, "customer"), ==, customer_id);
  g_assert_cmpstr (str_at (session.json, "currency"), ==, "usd");
  g_assert_cmpstr (str_at (session.json, "payment_method_types.0"), ==, "card");
  g_assert_cmpstr (str_at (session.json, "success_url"), ==, "https://purser.test/ok");
  g_assert_cmpstr (str_at (session.json, "metadata.org_id"), ==, "org_42");
  pay_url = g_strdup_printf ("%s/pay/%s", fake_stripe_url (fixture->fake), session_id);
  g_assert_cmpstr (str_at (session.json, "url"), ==, pay_url);
  g_assert_true (g_str_has_prefix (str_at (session.json, "setup_intent"), "seti_"));
  {
    g_autofree char *pay_path = g_strdup_printf ("/pay/%s", session_id);
    g_auto (Response) page = request (fixture, "GET", pay_path, NULL, NULL, NULL, NULL);

    g_assert_cmpuint (page.status, ==, 200);
    g_assert_cmpstr (soup_message_headers_get_content_type (page.headers, NULL), ==, "text/html");
  }
  g_clear_pointer (&path, g_free);
  path = g_strdup_printf ("/v1/setup_intents/%s", str_at (session.json, "setup_intent"));
  seti = get_object (fixture, path);
  g_assert_cmpstr (str_at (seti, "object"), ==, "setup_intent");
  g_assert_cmpstr (str_at (seti, "status"), ==, "requires_payment_method");
  g_assert_cmpstr (str_at (seti, "customer"), ==, customer_id);
  g_assert_cmpstr (str_at (seti, "usage"), ==, "off_session");

  /* The customer finishes the page: two signed webhooks, in order. */
  g_assert_cmpuint (receiver_count (fixture->receiver), ==, 0);
  pm_id = fake_stripe_complete_checkout (fixture->fake, session_id, "visa:4242:12:2030",
                                         FAKE_STRIPE_SUCCEED);
  g_assert_true (g_str_has_prefix (pm_id, "pm_"));
  g_assert_true (fake_stripe_flush_webhooks (fixture->fake));
  g_assert_cmpuint (receiver_count (fixture->receiver), ==, 2);
  g_assert_cmpuint (receiver_rejected (fixture->receiver), ==, 0);
  completed = receiver_get (fixture->receiver, 0);
  succeeded = receiver_get (fixture->receiver, 1);
  g_assert_cmpstr (completed->type, ==, "checkout.session.completed");
  g_assert_cmpstr (succeeded->type, ==, "setup_intent.succeeded");
  g_assert_true (g_str_has_prefix (completed->id, "evt_"));
  g_assert_cmpstr (completed->id, <, succeeded->id);
  g_assert_cmpstr (str_at (completed->event, "object"), ==, "event");
  g_assert_cmpstr (str_at (completed->event, "api_version"), ==, FAKE_STRIPE_API_VERSION);
  g_assert_false (bool_at (completed->event, "livemode"));
  g_assert_cmpint (ABS (int_at (completed->event, "created") - now), <=, 60);
  g_assert_cmpint (int_at (completed->event, "pending_webhooks"), ==, 1);
  g_assert_true (null_at (completed->event, "request.id"));
  g_assert_cmpstr (str_at (completed->event, "data.object.id"), ==, session_id);
  g_assert_cmpstr (str_at (completed->event, "data.object.status"), ==, "complete");
  g_assert_cmpstr (str_at (completed->event, "data.object.setup_intent"), ==,
                   str_at (session.json, "setup_intent"));
  g_assert_cmpstr (str_at (completed->event, "data.object.metadata.org_id"), ==, "org_42");
  g_assert_cmpstr (str_at (succeeded->event, "data.object.object"), ==, "setup_intent");
  g_assert_cmpstr (str_at (succeeded->event, "data.object.status"), ==, "succeeded");
  g_assert_cmpstr (str_at (succeeded->event, "data.object.payment_method"), ==, pm_id);
  g_assert_cmpstr (str_at (succeeded->event, "data.object.customer"), ==, customer_id);
  g_assert_true (g_str_has_suffix (completed->body, "}\n"));
  g_assert_cmpuint (deliveries_of (fixture, completed->id, statuses), ==, 1);
  g_assert_cmpstr (statuses->str, ==, "200");

  /* The state moved on. */
  g_clear_pointer (&path, g_free);
  path = g_strdup_printf ("/v1/checkout/sessions/%s", session_id);
  session_after = get_object (fixture, path);
  g_assert_cmpstr (str_at (session_after, "status"), ==, "complete");
  g_assert_cmpstr (str_at (session_after, "customer_details.email"), ==, "ada@example.com");
  g_clear_pointer (&path, g_free);
  path = g_strdup_printf ("/v1/payment_methods/%s", pm_id);
  pm = get_object (fixture, path);
  g_assert_cmpstr (str_at (pm, "object"), ==, "payment_method");
  g_assert_cmpstr (str_at (pm, "type"), ==, "card");
  g_assert_cmpstr (str_at (pm, "customer"), ==, customer_id);
  g_assert_cmpstr (str_at (pm, "card.brand"), ==, "visa");
  g_assert_cmpstr (str_at (pm, "card.last4"), ==, "4242");
  g_assert_cmpint (int_at (pm, "card.exp_month"), ==, 12);
  g_assert_cmpint (int_at (pm, "card.exp_year"), ==, 2030);
  g_assert_cmpstr (str_at (pm, "billing_details.email"), ==, "ada@example.com");
  g_clear_pointer (&seti, json_node_unref);
  seti = fake_stripe_get_object (fixture->fake, str_at (session.json, "setup_intent"));
  g_assert_cmpstr (str_at (seti, "status"), ==, "succeeded");

  /* An abandoned session expires. */
  {
    g_auto (Response) other = call (fixture, "POST", "/v1/checkout/sessions", form);

    assert_ok (&other);
    fake_stripe_expire_checkout (fixture->fake, str_at (other.json, "id"));
    g_assert_true (fake_stripe_flush_webhooks (fixture->fake));
    g_assert_cmpstr (receiver_last (fixture->receiver)->type, ==, "checkout.session.expired");
    g_assert_cmpstr (str_at (receiver_last (fixture->receiver)->event, "data.object.status"), ==,
                     "expired");
  }
}

static void
test_payment_intents (Fixture *fixture, gconstpointer data)
{
  g_autofree char *customer_id = NULL, *pm_id = NULL, *other_customer = NULL, *other_pm = NULL;
  g_autofree char *path = NULL;
  g_autoptr (JsonNode) fetched = NULL, fetched_charge = NULL;
  Received *event;

  if (fixture->fake == NULL)
    return;
  customer_with_method (fixture, "card", "usd", NULL, FAKE_STRIPE_SUCCEED, &customer_id, &pm_id);
  customer_with_method (fixture, "card", "usd", "mastercard:4444:1:2031", FAKE_STRIPE_SUCCEED,
                        &other_customer, &other_pm);

  /* Succeeds: a charge, and payment_intent.succeeded after the answer. */
  {
    g_auto (Response) pi = charge (fixture, customer_id, pm_id, 2000, "usd", NULL);

    assert_ok (&pi);
    g_assert_true (g_str_has_prefix (str_at (pi.json, "id"), "pi_"));
    g_assert_cmpstr (str_at (pi.json, "object"), ==, "payment_intent");
    g_assert_cmpstr (str_at (pi.json, "status"), ==, "succeeded");
    g_assert_cmpint (int_at (pi.json, "amount"), ==, 2000);
    g_assert_cmpint (int_at (pi.json, "amount_received"), ==, 2000);
    g_assert_cmpstr (str_at (pi.json, "currency"), ==, "usd");
    g_assert_cmpstr (str_at (pi.json, "customer"), ==, customer_id);
    g_assert_cmpstr (str_at (pi.json, "payment_method"), ==, pm_id);
    g_assert_cmpstr (str_at (pi.json, "description"), ==, "Invoice INV-1");
    g_assert_cmpstr (str_at (pi.json, "metadata.invoice_id"), ==, "inv_1");
    g_assert_true (null_at (pi.json, "last_payment_error"));
    g_assert_true (g_str_has_prefix (str_at (pi.json, "latest_charge"), "ch_"));

    path = g_strdup_printf ("/v1/charges/%s", str_at (pi.json, "latest_charge"));
    fetched_charge = get_object (fixture, path);
    g_assert_cmpstr (str_at (fetched_charge, "object"), ==, "charge");
    g_assert_cmpstr (str_at (fetched_charge, "status"), ==, "succeeded");
    g_assert_true (bool_at (fetched_charge, "paid"));
    g_assert_true (bool_at (fetched_charge, "captured"));
    g_assert_cmpint (int_at (fetched_charge, "amount"), ==, 2000);
    g_assert_cmpint (int_at (fetched_charge, "amount_refunded"), ==, 0);
    g_assert_cmpstr (str_at (fetched_charge, "payment_intent"), ==, str_at (pi.json, "id"));
    g_assert_cmpstr (str_at (fetched_charge, "payment_method_details.type"), ==, "card");
    g_assert_cmpstr (str_at (fetched_charge, "payment_method_details.card.last4"), ==, "4242");

    g_assert_true (fake_stripe_flush_webhooks (fixture->fake));
    event = receiver_last (fixture->receiver);
    g_assert_cmpstr (event->type, ==, "payment_intent.succeeded");
    g_assert_cmpstr (str_at (event->event, "data.object.id"), ==, str_at (pi.json, "id"));
    g_assert_cmpstr (str_at (event->event, "data.object.status"), ==, "succeeded");
    g_assert_cmpstr (str_at (event->event, "request.id"), ==,
                     soup_message_headers_get_one (pi.headers, "Request-Id"));
    /* The receiver called the fake back while handling the event. */
    g_assert_cmpstr (event->fetched_status, ==, "succeeded");
  }

  /* Declines: 402 with Stripe's card error, payment_intent.payment_failed. */
  fake_stripe_set_behaviour (fixture->fake, pm_id, FAKE_STRIPE_DECLINE);
  {
    g_auto (Response) pi = charge (fixture, customer_id, pm_id, 3000, "usd", NULL);

    assert_error (&pi, 402, "card_error", "card_declined", NULL);
    g_assert_cmpstr (str_at (pi.json, "error.decline_code"), ==, "insufficient_funds");
    g_assert_cmpstr (str_at (pi.json, "error.message"), ==, "Your card has insufficient funds.");
    g_assert_true (g_str_has_prefix (str_at (pi.json, "error.charge"), "ch_"));
    g_assert_cmpstr (str_at (pi.json, "error.payment_method.id"), ==, pm_id);
    g_assert_cmpstr (str_at (pi.json, "error.payment_intent.status"), ==,
                     "requires_payment_method");
    g_assert_cmpint (int_at (pi.json, "error.payment_intent.amount_received"), ==, 0);
    g_assert_cmpstr (str_at (pi.json, "error.payment_intent.last_payment_error.code"), ==,
                     "card_declined");
    g_assert_cmpstr (str_at (pi.json, "error.payment_intent.last_payment_error.decline_code"), ==,
                     "insufficient_funds");

    g_clear_pointer (&path, g_free);
    path = g_strdup_printf ("/v1/payment_intents/%s", str_at (pi.json, "error.payment_intent.id"));
    fetched = get_object (fixture, path);
    g_assert_cmpstr (str_at (fetched, "status"), ==, "requires_payment_method");
    g_clear_pointer (&fetched_charge, json_node_unref);
    fetched_charge = fake_stripe_get_object (fixture->fake, str_at (pi.json, "error.charge"));
    g_assert_cmpstr (str_at (fetched_charge, "status"), ==, "failed");
    g_assert_false (bool_at (fetched_charge, "paid"));

    g_assert_true (fake_stripe_flush_webhooks (fixture->fake));
    event = receiver_last (fixture->receiver);
    g_assert_cmpstr (event->type, ==, "payment_intent.payment_failed");
    g_assert_cmpstr (str_at (event->event, "data.object.id"), ==, str_at (fetched, "id"));
    g_assert_cmpstr (str_at (event->event, "data.object.last_payment_error.type"), ==,
                     "card_error");
  }

  /* The card works again: the retry succeeds. */
  fake_stripe_set_behaviour (fixture->fake, pm_id, FAKE_STRIPE_SUCCEED);
  {
    g_auto (Response) pi = charge (fixture, customer_id, pm_id, 3000, "usd", NULL);

    assert_ok (&pi);
    g_assert_cmpstr (str_at (pi.json, "status"), ==, "succeeded");
  }

  /* Validation: 400 invalid_request_error naming the parameter. */
  {
    g_autofree char *form = g_strdup_printf ("currency=usd&customer=%s&payment_method=%s"
                                             "&confirm=true&off_session=true",
                                             customer_id, pm_id);
    g_auto (Response) r = call (fixture, "POST", "/v1/payment_intents", form);

    assert_error (&r, 400, "invalid_request_error", "parameter_missing", "amount");
  }
  {
    g_auto (Response) r = charge (fixture, customer_id, pm_id, -5, "usd", NULL);

    assert_error (&r, 400, "invalid_request_error", NULL, "amount");
  }
  {
    g_autofree char *form = g_strdup_printf ("amount=12.5&currency=usd&customer=%s"
                                             "&payment_method=%s&confirm=true",
                                             customer_id, pm_id);
    g_auto (Response) r = call (fixture, "POST", "/v1/payment_intents", form);

    assert_error (&r, 400, "invalid_request_error", NULL, "amount");
  }
  {
    g_auto (Response) r = charge (fixture, customer_id, pm_id, 10, "usd", NULL);

    assert_error (&r, 400, "invalid_request_error", "amount_too_small", "amount");
  }
  {
    g_autofree char *form = g_strdup_printf ("amount=100&customer=%s&payment_method=%s"
                                             "&confirm=true",
                                             customer_id, pm_id);
    g_auto (Response) r = call (fixture, "POST", "/v1/payment_intents", form);

    assert_error (&r, 400, "invalid_request_error", "parameter_missing", "currency");
  }
  {
    g_autofree char *form = g_strdup_printf ("amount=100&currency=usd&payment_method=%s"
                                             "&confirm=true",
                                             pm_id);
    g_auto (Response) r = call (fixture, "POST", "/v1/payment_intents", form);

    assert_error (&r, 400, "invalid_request_error", "parameter_missing", "customer");
  }
  {
    g_auto (Response) r = charge (fixture, "cus_nobody", pm_id, 100, "usd", NULL);

    assert_error (&r, 400, "invalid_request_error", "resource_missing", "customer");
  }
  {
    g_auto (Response) r = charge (fixture, customer_id, "pm_nothing", 100, "usd", NULL);

    assert_error (&r, 400, "invalid_request_error", "resource_missing", "payment_method");
  }
  {
    g_auto (Response) r = charge (fixture, customer_id, other_pm, 100, "usd", NULL);

    assert_error (&r, 400, "invalid_request_error", NULL, "payment_method");
  }
  {
    g_autofree char *form = g_strdup_printf ("amount=100&currency=usd&customer=%s"
                                             "&payment_method=%s&confirm=true"
                                             "&payment_method_types[0]=us_bank_account",
                                             customer_id, pm_id);
    g_auto (Response) r = call (fixture, "POST", "/v1/payment_intents", form);

    assert_error (&r, 400, "invalid_request_error", NULL, "payment_method");
  }
  {
    g_autofree char *form = g_strdup_printf ("amount=100&currency=usd&customer=%s"
                                             "&payment_method=%s&confirm=true"
                                             "&payment_method_types[0]=card",
                                             customer_id, pm_id);
    g_auto (Response) r = call (fixture, "POST", "/v1/payment_intents", form);

    assert_ok (&r);
    g_assert_cmpstr (str_at (r.json, "payment_method_types.0"), ==, "card");
  }

  g_assert_true (fake_stripe_flush_webhooks (fixture->fake));
  g_assert_cmpuint (fake_stripe_event_count (fixture->fake, "payment_intent.succeeded"), ==, 3);
  g_assert_cmpuint (fake_stripe_event_count (fixture->fake, "payment_intent.payment_failed"), ==,
                    1);
}

static void
test_idempotency (Fixture *fixture, gconstpointer data)
{
  g_autofree char *customer_id = NULL, *pm_id = NULL, *first_id = NULL, *pi_id = NULL;

  if (fixture->fake == NULL)
    return;

  {
    g_auto (Response) first = call_key (fixture, "/v1/customers", "name=A&email=a%40x.test", "k1");
    g_auto (Response) again = { 0 };
    g_auto (Response) reordered = { 0 };
    g_auto (Response) different = { 0 };

    assert_ok (&first);
    g_assert_null (soup_message_headers_get_one (first.headers, "Idempotent-Replayed"));
    g_assert_cmpstr (soup_message_headers_get_one (first.headers, "Idempotency-Key"), ==, "k1");
    first_id = g_strdup (str_at (first.json, "id"));

    again = call_key (fixture, "/v1/customers", "name=A&email=a%40x.test", "k1");
    assert_ok (&again);
    g_assert_cmpstr (str_at (again.json, "id"), ==, first_id);
    g_assert_cmpstr (soup_message_headers_get_one (again.headers, "Idempotent-Replayed"), ==,
                     "true");
    g_assert_cmpstr (soup_message_headers_get_one (again.headers, "Request-Id"), ==,
                     soup_message_headers_get_one (first.headers, "Request-Id"));

    reordered = call_key (fixture, "/v1/customers", "email=a%40x.test&name=A", "k1");
    assert_ok (&reordered);
    g_assert_cmpstr (str_at (reordered.json, "id"), ==, first_id);

    different = call_key (fixture, "/v1/customers", "name=B", "k1");
    assert_error (&different, 400, "idempotency_error", NULL, NULL);
  }
  {
    g_auto (Response) other_key
        = call_key (fixture, "/v1/customers", "name=A&email=a%40x.test", "k2");

    assert_ok (&other_key);
    g_assert_cmpstr (str_at (other_key.json, "id"), !=, first_id);
  }

  /* A charge replayed is not a second charge. */
  customer_with_method (fixture, "card", "usd", NULL, FAKE_STRIPE_SUCCEED, &customer_id, &pm_id);
  {
    g_auto (Response) first = charge (fixture, customer_id, pm_id, 1500, "usd", "charge-inv-1");
    g_auto (Response) again = charge (fixture, customer_id, pm_id, 1500, "usd", "charge-inv-1");

    assert_ok (&first);
    assert_ok (&again);
    g_assert_cmpstr (str_at (again.json, "id"), ==, str_at (first.json, "id"));
    g_assert_cmpstr (str_at (again.json, "latest_charge"), ==,
                     str_at (first.json, "latest_charge"));
    g_assert_cmpstr (soup_message_headers_get_one (again.headers, "Idempotent-Replayed"), ==,
                     "true");
    pi_id = g_strdup (str_at (first.json, "id"));
  }
  g_assert_true (fake_stripe_flush_webhooks (fixture->fake));
  g_assert_cmpuint (fake_stripe_event_count (fixture->fake, "payment_intent.succeeded"), ==, 1);
  g_assert_cmpuint (fake_stripe_request_count (fixture->fake, "POST", "/v1/payment_intents"), ==,
                    2);

  /* A decline is saved too (the endpoint ran), even if the card works later. */
  fake_stripe_set_behaviour (fixture->fake, pm_id, FAKE_STRIPE_DECLINE);
  {
    g_auto (Response) first = charge (fixture, customer_id, pm_id, 1600, "usd", "charge-inv-2");
    g_auto (Response) again = { 0 };

    assert_error (&first, 402, "card_error", "card_declined", NULL);
    fake_stripe_set_behaviour (fixture->fake, pm_id, FAKE_STRIPE_SUCCEED);
    again = charge (fixture, customer_id, pm_id, 1600, "usd", "charge-inv-2");
    assert_error (&again, 402, "card_error", "card_declined", NULL);
    g_assert_cmpstr (str_at (again.json, "error.charge"), ==, str_at (first.json, "error.charge"));
    g_assert_cmpstr (soup_message_headers_get_one (again.headers, "Idempotent-Replayed"), ==,
                     "true");
  }

  /* A validation error is not saved: the corrected request runs under the same key. */
  {
    g_auto (Response) bad = charge (fixture, customer_id, pm_id, 0, "usd", "charge-inv-3");
    g_auto (Response) good = charge (fixture, customer_id, pm_id, 1700, "usd", "charge-inv-3");

    assert_error (&bad, 400, "invalid_request_error", NULL, "amount");
    assert_ok (&good);
    g_assert_null (soup_message_headers_get_one (good.headers, "Idempotent-Replayed"));
  }
  {
    g_autoptr (GPtrArray) requests = NULL;
    FakeStripeRequest *last = NULL;

    /* The receiver's lookups are recorded too: find the last POST. */
    g_assert_true (fake_stripe_flush_webhooks (fixture->fake));
    requests = fake_stripe_requests (fixture->fake);
    for (guint i = requests->len; last == NULL && i > 0; i--)
      {
        FakeStripeRequest *r = g_ptr_array_index (requests, i - 1);

        if (g_str_equal (r->method, "POST"))
          last = r;
      }
    g_assert_nonnull (last);
    g_assert_cmpstr (last->idempotency_key, ==, "charge-inv-3");
    g_assert_cmpstr (last->path, ==, "/v1/payment_intents");
    g_assert_cmpstr (last->content_type, ==, "application/x-www-form-urlencoded");
    g_assert_nonnull (strstr (last->body, "amount=1700"));
    g_assert_cmpuint (last->status, ==, 200);
  }
  g_assert_nonnull (pi_id);
}

static void
test_failures (Fixture *fixture, gconstpointer data)
{
  g_autofree char *customer_id = NULL, *pm_id = NULL;
  g_autoptr (GPtrArray) requests = NULL;

  if (fixture->fake == NULL)
    return;
  customer_with_method (fixture, "card", "usd", NULL, FAKE_STRIPE_SUCCEED, &customer_id, &pm_id);

  /* 500 before anything happens: nothing saved under the key, no charge. */
  fake_stripe_fail_next (fixture->fake, 500, 1);
  {
    g_auto (Response) failed = charge (fixture, customer_id, pm_id, 900, "usd", "retry-1");
    g_auto (Response) retried = { 0 };

    assert_error (&failed, 500, "api_error", NULL, NULL);
    g_assert_cmpuint (fake_stripe_event_count (fixture->fake, "payment_intent.succeeded"), ==, 0);
    retried = charge (fixture, customer_id, pm_id, 900, "usd", "retry-1");
    assert_ok (&retried);
    g_assert_null (soup_message_headers_get_one (retried.headers, "Idempotent-Replayed"));
  }

  /* Two 503s, then through. (The receiver calls the fake back while it handles the
   * payment_intent.succeeded above: let it finish so it does not take the failures.) */
  g_assert_true (fake_stripe_flush_webhooks (fixture->fake));
  fake_stripe_fail_next (fixture->fake, 503, 2);
  for (guint i = 0; i < 3; i++)
    {
      g_auto (Response) r = call (fixture, "POST", "/v1/customers", "name=Retry");

      if (i < 2)
        assert_error (&r, 503, "api_error", NULL, NULL);
      else
        assert_ok (&r);
    }

  /* Rate limited, with Retry-After. */
  fake_stripe_fail_next (fixture->fake, 429, 1);
  {
    g_auto (Response) r = call (fixture, "GET", "/v1/customers/cus_whoever", NULL);

    assert_error (&r, 429, "invalid_request_error", "rate_limit", NULL);
    g_assert_cmpstr (soup_message_headers_get_one (r.headers, "Retry-After"), ==, "1");
  }

  /* Only matching requests fail. */
  fake_stripe_fail_next_on (fixture->fake, "POST", "/v1/refunds", 500, 1);
  {
    g_auto (Response) other = call (fixture, "POST", "/v1/customers", "name=Passes");
    g_auto (Response) refund = call (fixture, "POST", "/v1/refunds", "amount=100");
    g_auto (Response) again = call (fixture, "POST", "/v1/refunds", "amount=100");

    assert_ok (&other);
    assert_error (&refund, 500, "api_error", NULL, NULL);
    assert_error (&again, 400, "invalid_request_error", NULL, NULL);
  }

  /* A dropped connection: no answer at all; the next request is served. */
  fake_stripe_fail_next (fixture->fake, 0, 1);
  {
    g_auto (Response) dropped = call (fixture, "POST", "/v1/customers", "name=Dropped");
    g_auto (Response) next = { 0 };

    g_assert_cmpuint (dropped.status, ==, 0);
    g_assert_nonnull (dropped.error);
    next = call (fixture, "POST", "/v1/customers", "name=Next");
    assert_ok (&next);
  }

  /* The answer is lost after the charge happened: the retry with the same key gets the saved
   * result, and there is one charge. Only POSTs to /v1/payment_intents are picked, so the
   * receiver's lookups pass. */
  fake_stripe_lose_next_on (fixture->fake, "POST", "/v1/payment_intents", 0, 1);
  {
    g_auto (Response) lost = charge (fixture, customer_id, pm_id, 1200, "usd", "lost-1");
    g_auto (Response) retried = { 0 };

    g_assert_cmpuint (lost.status, ==, 0);
    g_assert_nonnull (lost.error);
    retried = charge (fixture, customer_id, pm_id, 1200, "usd", "lost-1");
    assert_ok (&retried);
    g_assert_cmpstr (soup_message_headers_get_one (retried.headers, "Idempotent-Replayed"), ==,
                     "true");
    g_assert_cmpstr (str_at (retried.json, "status"), ==, "succeeded");
  }
  g_assert_true (fake_stripe_flush_webhooks (fixture->fake));
  fake_stripe_lose_next (fixture->fake, 500, 1);
  {
    g_auto (Response) lost = charge (fixture, customer_id, pm_id, 1300, "usd", "lost-2");
    g_auto (Response) retried = { 0 };

    assert_error (&lost, 500, "api_error", NULL, NULL);
    retried = charge (fixture, customer_id, pm_id, 1300, "usd", "lost-2");
    assert_ok (&retried);
    g_assert_cmpstr (soup_message_headers_get_one (retried.headers, "Idempotent-Replayed"), ==,
                     "true");
  }
  g_assert_true (fake_stripe_flush_webhooks (fixture->fake));
  g_assert_cmpuint (fake_stripe_event_count (fixture->fake, "payment_intent.succeeded"), ==, 3);

  requests = fake_stripe_requests (fixture->fake);
  {
    guint dropped = 0;

    for (guint i = 0; i < requests->len; i++)
      {
        FakeStripeRequest *r = g_ptr_array_index (requests, i);

        if (r->status == 0)
          {
            dropped++;
            g_assert_null (r->response);
          }
      }
    g_assert_cmpuint (dropped, ==, 2);
  }
}

static void
test_refunds (Fixture *fixture, gconstpointer data)
{
  g_autofree char *customer_id = NULL, *pm_id = NULL, *form = NULL, *charge_id = NULL;
  g_autoptr (JsonNode) fetched = NULL;
  Received *event;

  if (fixture->fake == NULL)
    return;
  customer_with_method (fixture, "card", "usd", NULL, FAKE_STRIPE_SUCCEED, &customer_id, &pm_id);
  {
    g_auto (Response) pi = charge (fixture, customer_id, pm_id, 1000, "usd", NULL);

    assert_ok (&pi);
    charge_id = g_strdup (str_at (pi.json, "latest_charge"));
    form = g_strdup_printf ("payment_intent=%s&amount=300&metadata%%5Bcredit_note%%5D=cn_1",
                            str_at (pi.json, "id"));
  }
  g_assert_true (fake_stripe_flush_webhooks (fixture->fake));

  /* Partial, by PaymentIntent. */
  {
    g_auto (Response) refund = call (fixture, "POST", "/v1/refunds", form);

    assert_ok (&refund);
    g_assert_true (g_str_has_prefix (str_at (refund.json, "id"), "re_"));
    g_assert_cmpstr (str_at (refund.json, "object"), ==, "refund");
    g_assert_cmpstr (str_at (refund.json, "status"), ==, "succeeded");
    g_assert_cmpint (int_at (refund.json, "amount"), ==, 300);
    g_assert_cmpstr (str_at (refund.json, "charge"), ==, charge_id);
    g_assert_cmpstr (str_at (refund.json, "currency"), ==, "usd");
    g_assert_cmpstr (str_at (refund.json, "metadata.credit_note"), ==, "cn_1");

    fetched = fake_stripe_get_object (fixture->fake, charge_id);
    g_assert_cmpint (int_at (fetched, "amount_refunded"), ==, 300);
    g_assert_false (bool_at (fetched, "refunded"));
    g_assert_cmpstr (str_at (fetched, "refunds.data.0.id"), ==, str_at (refund.json, "id"));

    g_assert_true (fake_stripe_flush_webhooks (fixture->fake));
    event = receiver_last (fixture->receiver);
    g_assert_cmpstr (event->type, ==, "charge.refunded");
    g_assert_cmpstr (str_at (event->event, "data.object.id"), ==, charge_id);
    g_assert_cmpint (int_at (event->event, "data.object.amount_refunded"), ==, 300);
    g_assert_cmpint (int_at (event->event, "data.previous_attributes.amount_refunded"), ==, 0);
  }

  /* The rest, by charge, without an amount. */
  {
    g_autofree char *by_charge
        = g_strdup_printf ("charge=%s&reason=requested_by_customer", charge_id);
    g_auto (Response) refund = call (fixture, "POST", "/v1/refunds", by_charge);
    g_auto (Response) again = call (fixture, "POST", "/v1/refunds", by_charge);

    assert_ok (&refund);
    g_assert_cmpint (int_at (refund.json, "amount"), ==, 700);
    g_assert_cmpstr (str_at (refund.json, "reason"), ==, "requested_by_customer");
    g_clear_pointer (&fetched, json_node_unref);
    fetched = fake_stripe_get_object (fixture->fake, charge_id);
    g_assert_cmpint (int_at (fetched, "amount_refunded"), ==, 1000);
    g_assert_true (bool_at (fetched, "refunded"));
    g_assert_cmpint (int_at (fetched, "refunds.total_count"), ==, 2);

    assert_error (&again, 400, "invalid_request_error", "charge_already_refunded", NULL);
  }

  /* More than the charge. */
  {
    g_auto (Response) pi = charge (fixture, customer_id, pm_id, 500, "usd", NULL);
    g_autofree char *over = NULL;
    g_auto (Response) refund = { 0 };

    assert_ok (&pi);
    over = g_strdup_printf ("payment_intent=%s&amount=600", str_at (pi.json, "id"));
    refund = call (fixture, "POST", "/v1/refunds", over);
    assert_error (&refund, 400, "invalid_request_error", "amount_too_large", "amount");
    g_clear_pointer (&fetched, json_node_unref);
    fetched = fake_stripe_get_object (fixture->fake, str_at (pi.json, "latest_charge"));
    g_assert_cmpint (int_at (fetched, "amount_refunded"), ==, 0);
  }
  {
    g_auto (Response) neither = call (fixture, "POST", "/v1/refunds", "amount=100");
    g_auto (Response) unknown = call (fixture, "POST", "/v1/refunds", "payment_intent=pi_nothing");

    assert_error (&neither, 400, "invalid_request_error", NULL, NULL);
    assert_error (&unknown, 400, "invalid_request_error", "resource_missing", "payment_intent");
  }
  g_assert_true (fake_stripe_flush_webhooks (fixture->fake));
  g_assert_cmpuint (fake_stripe_event_count (fixture->fake, "charge.refunded"), ==, 2);
}

static void
test_processing (Fixture *fixture, gconstpointer data)
{
  g_autofree char *sepa_customer = NULL, *sepa_pm = NULL, *bank_customer = NULL;
  g_autofree char *bank_pm = NULL, *pi_id = NULL, *charge_id = NULL;
  g_autoptr (JsonNode) pm = NULL, pi = NULL, charge_after = NULL;

  if (fixture->fake == NULL)
    return;

  /* SEPA: processing, then settled. */
  customer_with_method (fixture, "sepa_debit", "eur", "3000:DE", FAKE_STRIPE_PROCESSING,
                        &sepa_customer, &sepa_pm);
  pm = fake_stripe_get_object (fixture->fake, sepa_pm);
  g_assert_cmpstr (str_at (pm, "type"), ==, "sepa_debit");
  g_assert_cmpstr (str_at (pm, "sepa_debit.last4"), ==, "3000");
  g_assert_cmpstr (str_at (pm, "sepa_debit.country"), ==, "DE");
  g_assert_null (at (pm, "card"));
  {
    g_auto (Response) wrong = charge (fixture, sepa_customer, sepa_pm, 5000, "usd", NULL);
    g_auto (Response) r = charge (fixture, sepa_customer, sepa_pm, 5000, "eur", NULL);

    assert_error (&wrong, 400, "invalid_request_error", NULL, "currency");
    assert_ok (&r);
    g_assert_cmpstr (str_at (r.json, "status"), ==, "processing");
    g_assert_cmpint (int_at (r.json, "amount_received"), ==, 0);
    pi_id = g_strdup (str_at (r.json, "id"));
    charge_id = g_strdup (str_at (r.json, "latest_charge"));
  }
  charge_after = fake_stripe_get_object (fixture->fake, charge_id);
  g_assert_cmpstr (str_at (charge_after, "status"), ==, "pending");
  g_assert_cmpstr (str_at (charge_after, "payment_method_details.type"), ==, "sepa_debit");
  g_assert_true (fake_stripe_flush_webhooks (fixture->fake));
  g_assert_cmpstr (receiver_last (fixture->receiver)->type, ==, "payment_intent.processing");

  fake_stripe_settle (fixture->fake, pi_id, TRUE);
  g_assert_true (fake_stripe_flush_webhooks (fixture->fake));
  g_assert_cmpstr (receiver_last (fixture->receiver)->type, ==, "payment_intent.succeeded");
  g_assert_cmpstr (str_at (receiver_last (fixture->receiver)->event, "data.object.id"), ==, pi_id);
  pi = fake_stripe_get_object (fixture->fake, pi_id);
  g_assert_cmpstr (str_at (pi, "status"), ==, "succeeded");
  g_assert_cmpint (int_at (pi, "amount_received"), ==, 5000);
  g_clear_pointer (&charge_after, json_node_unref);
  charge_after = fake_stripe_get_object (fixture->fake, charge_id);
  g_assert_true (bool_at (charge_after, "paid"));

  /* ACH: processing, then failed. */
  g_clear_pointer (&pi_id, g_free);
  g_clear_pointer (&charge_id, g_free);
  customer_with_method (fixture, "us_bank_account", "usd", "STRIPE TEST BANK:6789",
                        FAKE_STRIPE_PROCESSING, &bank_customer, &bank_pm);
  g_clear_pointer (&pm, json_node_unref);
  pm = fake_stripe_get_object (fixture->fake, bank_pm);
  g_assert_cmpstr (str_at (pm, "us_bank_account.bank_name"), ==, "STRIPE TEST BANK");
  g_assert_cmpstr (str_at (pm, "us_bank_account.last4"), ==, "6789");
  {
    g_auto (Response) r = charge (fixture, bank_customer, bank_pm, 4000, "usd", NULL);

    assert_ok (&r);
    g_assert_cmpstr (str_at (r.json, "status"), ==, "processing");
    pi_id = g_strdup (str_at (r.json, "id"));
    charge_id = g_strdup (str_at (r.json, "latest_charge"));
  }
  {
    g_autofree char *form = g_strdup_printf ("payment_intent=%s", pi_id);
    g_auto (Response) early = call (fixture, "POST", "/v1/refunds", form);

    assert_error (&early, 400, "invalid_request_error", "charge_not_refundable", NULL);
  }
  fake_stripe_settle (fixture->fake, pi_id, FALSE);
  g_assert_true (fake_stripe_flush_webhooks (fixture->fake));
  g_assert_cmpstr (receiver_last (fixture->receiver)->type, ==, "payment_intent.payment_failed");
  g_clear_pointer (&pi, json_node_unref);
  pi = fake_stripe_get_object (fixture->fake, pi_id);
  g_assert_cmpstr (str_at (pi, "status"), ==, "requires_payment_method");
  g_assert_cmpstr (str_at (pi, "last_payment_error.code"), ==, "insufficient_funds");
  g_clear_pointer (&charge_after, json_node_unref);
  charge_after = fake_stripe_get_object (fixture->fake, charge_id);
  g_assert_cmpstr (str_at (charge_after, "status"), ==, "failed");
}

static void
test_webhooks (Fixture *fixture, gconstpointer data)
{
  g_autofree char *customer_id = NULL, *pm_id = NULL, *event_id = NULL, *detach = NULL;
  g_autoptr (GPtrArray) held = NULL;
  g_autoptr (GString) statuses = g_string_new (NULL);
  FakeStripeWebhook *webhook;
  guint before, status = 0;

  if (fixture->fake == NULL)
    return;
  customer_with_method (fixture, "card", "usd", NULL, FAKE_STRIPE_SUCCEED, &customer_id, &pm_id);

  /* Held: nothing is sent; the held copy is signed and can be replayed by hand. */
  before = receiver_count (fixture->receiver);
  fake_stripe_hold_webhooks (fixture->fake, TRUE);
  {
    g_auto (Response) pi = charge (fixture, customer_id, pm_id, 800, "usd", NULL);

    assert_ok (&pi);
  }
  g_assert_true (fake_stripe_flush_webhooks (fixture->fake));
  g_assert_cmpuint (receiver_count (fixture->receiver), ==, before);
  held = fake_stripe_take_held_webhooks (fixture->fake);
  g_assert_cmpuint (held->len, ==, 1);
  webhook = g_ptr_array_index (held, 0);
  g_assert_cmpstr (webhook->type, ==, "payment_intent.succeeded");
  g_assert_true (verify_signature (SECRET, webhook->signature, webhook->body));
  g_assert_false (verify_signature ("whsec_wrong", webhook->signature, webhook->body));
  fake_stripe_hold_webhooks (fixture->fake, FALSE);

  g_assert_true (fake_stripe_deliver (fixture->fake, webhook->body, &status));
  g_assert_cmpuint (status, ==, 200);
  g_assert_true (fake_stripe_deliver (fixture->fake, webhook->body, &status)); /* duplicate */
  g_assert_cmpuint (receiver_count (fixture->receiver), ==, before + 2);
  g_assert_cmpstr (receiver_get (fixture->receiver, before)->id, ==, webhook->id);
  g_assert_cmpstr (receiver_get (fixture->receiver, before + 1)->body, ==, webhook->body);
  g_assert_true (
      fake_stripe_deliver_signed (fixture->fake, webhook->body, webhook->signature, &status));
  g_assert_cmpuint (status, ==, 200);
  g_assert_true (
      fake_stripe_deliver_signed (fixture->fake, webhook->body, "t=1,v1=deadbeef", &status));
  g_assert_cmpuint (status, ==, 400);
  g_assert_true (fake_stripe_deliver_signed (fixture->fake, webhook->body, "", &status));
  g_assert_cmpuint (status, ==, 400);
  g_assert_cmpuint (receiver_rejected (fixture->receiver), ==, 2);

  /* Released in order after being held. */
  fake_stripe_hold_webhooks (fixture->fake, TRUE);
  for (guint i = 0; i < 3; i++)
    {
      g_auto (Response) pi = charge (fixture, customer_id, pm_id, 1000 + i, "usd", NULL);

      assert_ok (&pi);
    }
  before = receiver_count (fixture->receiver);
  fake_stripe_hold_webhooks (fixture->fake, FALSE);
  g_assert_true (fake_stripe_flush_webhooks (fixture->fake));
  g_assert_cmpuint (receiver_count (fixture->receiver), ==, before + 3);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpint (
        int_at (receiver_get (fixture->receiver, before + i)->event, "data.object.amount"), ==,
        1000 + i);

  /* Not answered with 2xx: tried again. */
  receiver_script (fixture->receiver, 500, 2);
  {
    g_auto (Response) pi = charge (fixture, customer_id, pm_id, 700, "usd", NULL);

    assert_ok (&pi);
  }
  g_assert_true (fake_stripe_flush_webhooks (fixture->fake));
  event_id = g_strdup (receiver_last (fixture->receiver)->id);
  g_assert_cmpuint (deliveries_of (fixture, event_id, statuses), ==, 3);
  g_assert_cmpstr (statuses->str, ==, "500 500 200");

  /* … and given up after FAKE_STRIPE_WEBHOOK_ATTEMPTS. */
  before = receiver_count (fixture->receiver);
  receiver_script (fixture->receiver, 503, FAKE_STRIPE_WEBHOOK_ATTEMPTS);
  {
    g_auto (Response) pi = charge (fixture, customer_id, pm_id, 600, "usd", NULL);

    assert_ok (&pi);
  }
  g_assert_true (fake_stripe_flush_webhooks (fixture->fake));
  g_assert_cmpuint (receiver_count (fixture->receiver), ==, before);
  {
    g_autoptr (GPtrArray) deliveries = fake_stripe_deliveries (fixture->fake);
    FakeStripeDelivery *last = g_ptr_array_index (deliveries, deliveries->len - 1);

    g_assert_cmpuint (last->attempt, ==, FAKE_STRIPE_WEBHOOK_ATTEMPTS);
    g_assert_cmpuint (last->status, ==, 503);
    g_assert_cmpstr (last->type, ==, "payment_intent.succeeded");
  }

  /* Detaching: payment_method.detached; the method cannot be charged any more. */
  detach = g_strdup_printf ("/v1/payment_methods/%s/detach", pm_id);
  {
    g_auto (Response) detached = call (fixture, "POST", detach, NULL);
    g_auto (Response) again = call (fixture, "POST", detach, NULL);
    g_auto (Response) pi = charge (fixture, customer_id, pm_id, 600, "usd", NULL);

    assert_ok (&detached);
    g_assert_true (null_at (detached.json, "customer"));
    assert_error (&again, 400, "invalid_request_error", NULL, NULL);
    assert_error (&pi, 400, "invalid_request_error", NULL, "payment_method");
  }
  g_assert_true (fake_stripe_flush_webhooks (fixture->fake));
  g_assert_cmpstr (receiver_last (fixture->receiver)->type, ==, "payment_method.detached");
  g_assert_cmpstr (
      str_at (receiver_last (fixture->receiver)->event, "data.previous_attributes.customer"), ==,
      customer_id);

  /* Without a URL nothing is sent, and flushing does not wait. */
  fake_stripe_set_webhook (fixture->fake, NULL, NULL);
  before = fake_stripe_event_count (fixture->fake, NULL);
  {
    g_auto (Response) created = call (fixture, "POST", "/v1/customers", "name=Quiet");
    g_autofree char *form = g_strdup_printf (
        "mode=setup&customer=%s&success_url=https%%3A%%2F%%2Fx", str_at (created.json, "id"));
    g_auto (Response) session = call (fixture, "POST", "/v1/checkout/sessions", form);
    g_autofree char *quiet_pm = NULL;

    assert_ok (&session);
    quiet_pm = fake_stripe_complete_checkout (fixture->fake, str_at (session.json, "id"), NULL,
                                              FAKE_STRIPE_SUCCEED);
    g_assert_nonnull (quiet_pm);
  }
  g_assert_true (fake_stripe_flush_webhooks (fixture->fake));
  g_assert_cmpuint (fake_stripe_event_count (fixture->fake, NULL), ==, before + 2);
  g_assert_false (fake_stripe_deliver (fixture->fake, webhook->body, &status));
  g_assert_cmpuint (status, ==, 0);
}

/* Stopping while a webhook waits for a retry and another is queued frees everything (ASan). */
static void
test_stop_busy (Fixture *fixture, gconstpointer data)
{
  g_autofree char *customer_id = NULL, *pm_id = NULL;

  if (fixture->fake == NULL)
    return;
  customer_with_method (fixture, "card", "usd", NULL, FAKE_STRIPE_SUCCEED, &customer_id, &pm_id);
  receiver_script (fixture->receiver, 500, 100);
  {
    g_auto (Response) r = call (fixture, "POST", "/v1/customers", "name=Busy");
    g_autofree char *form = g_strdup_printf (
        "mode=setup&customer=%s&success_url=https%%3A%%2F%%2Fx", str_at (r.json, "id"));
    g_auto (Response) session = call (fixture, "POST", "/v1/checkout/sessions", form);
    g_autofree char *busy_pm = NULL;

    assert_ok (&session);
    busy_pm = fake_stripe_complete_checkout (fixture->fake, str_at (session.json, "id"), NULL,
                                             FAKE_STRIPE_SUCCEED);
    g_assert_nonnull (busy_pm);
  }
  fake_stripe_hold_webhooks (fixture->fake, TRUE);
  {
    g_auto (Response) pi = charge (fixture, customer_id, pm_id, 900, "usd", NULL);

    assert_ok (&pi);
  }
  g_clear_pointer (&fixture->fake, fake_stripe_stop);
  receiver_stop (fixture->receiver);
  g_assert_finalize_object (fixture->session);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) \
  g_test_add ("/purser/fake-stripe/" name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("auth", test_auth);
  ADD ("checkout", test_checkout);
  ADD ("payment-intents", test_payment_intents);
  ADD ("idempotency", test_idempotency);
  ADD ("failures", test_failures);
  ADD ("refunds", test_refunds);
  ADD ("processing", test_processing);
  ADD ("webhooks", test_webhooks);
  ADD ("stop-busy", test_stop_busy);
#undef ADD

  return g_test_run ();
}
