/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <libsoup/soup.h>
#include <string.h>

#include "purserd-stripe.h"

struct _PurserdStripe
{
  PurserdStripeConfig config;
  SoupSession *session;
};

GQuark
purserd_stripe_error_quark (void)
{
  return g_quark_from_static_string ("purserd-stripe-error-quark");
}

PurserdStripe *
purserd_stripe_new (const PurserdStripeConfig *config)
{
  PurserdStripe *stripe = g_new0 (PurserdStripe, 1);

  stripe->config.secret_key = g_strdup (config->secret_key);
  stripe->config.api_base
      = g_strdup (config->api_base ? config->api_base : PURSERD_STRIPE_DEFAULT_BASE);
  while (g_str_has_suffix (stripe->config.api_base, "/"))
    stripe->config.api_base[strlen (stripe->config.api_base) - 1] = '\0';
  stripe->config.timeout_seconds = config->timeout_seconds ? config->timeout_seconds : 30;
  stripe->config.max_retries = config->max_retries;
  stripe->config.retry_base_ms = config->retry_base_ms ? config->retry_base_ms : 500;
  /* No proxy resolver: it would need GSettings, and purserd talks to one host. */
  stripe->session = soup_session_new_with_options ("timeout", stripe->config.timeout_seconds,
                                                   "idle-timeout", 60, "proxy-resolver", NULL,
                                                   "user-agent", "purserd/" PACKAGE_VERSION, NULL);
  return stripe;
}

void
purserd_stripe_free (PurserdStripe *stripe)
{
  if (stripe == NULL)
    return;
  g_clear_object (&stripe->session);
  if (stripe->config.secret_key != NULL)
    memset (stripe->config.secret_key, 0, strlen (stripe->config.secret_key));
  g_free (stripe->config.secret_key);
  g_free (stripe->config.api_base);
  g_free (stripe);
}

gboolean
purserd_stripe_configured (PurserdStripe *stripe)
{
  return stripe != NULL && stripe->config.secret_key != NULL && *stripe->config.secret_key;
}

const char *
purserd_stripe_api_base (PurserdStripe *stripe)
{
  return stripe->config.api_base;
}

/* ── requests ──────────────────────────────────────────────────────────────────── */

void
purserd_stripe_request_free (PurserdStripeRequest *request)
{
  if (request == NULL)
    return;
  g_free (request->method);
  g_free (request->path);
  g_ptr_array_unref (request->form);
  g_free (request->idempotency_key);
  g_free (request->operation);
  g_free (request);
}

static PurserdStripeRequest *request_new (const char *operation, const char *method,
                                          const char *idempotency_key, const char *path_format, ...)
    G_GNUC_PRINTF (4, 5);

static PurserdStripeRequest *
request_new (const char *operation, const char *method, const char *idempotency_key,
             const char *path_format, ...)
{
  PurserdStripeRequest *request = g_new0 (PurserdStripeRequest, 1);
  va_list args;

  request->operation = g_strdup (operation);
  request->method = g_strdup (method);
  va_start (args, path_format);
  request->path = g_strdup_vprintf (path_format, args);
  va_end (args);
  request->form = g_ptr_array_new_with_free_func (g_free);
  request->idempotency_key = g_strdup (idempotency_key);
  return request;
}

static void
form_add (PurserdStripeRequest *request, const char *key, const char *value)
{
  if (value == NULL)
    return;
  g_ptr_array_add (request->form, g_strdup (key));
  g_ptr_array_add (request->form, g_strdup (value));
}

static void
form_add_int (PurserdStripeRequest *request, const char *key, gint64 value)
{
  g_ptr_array_add (request->form, g_strdup (key));
  g_ptr_array_add (request->form, g_strdup_printf ("%" G_GINT64_FORMAT, value));
}

char *
purserd_stripe_request_encode (const PurserdStripeRequest *request)
{
  GString *body = g_string_new (NULL);

  for (guint i = 0; i + 1 < request->form->len; i += 2)
    {
      g_autofree char *key
          = g_uri_escape_string (g_ptr_array_index (request->form, i), NULL, FALSE);
      g_autofree char *value
          = g_uri_escape_string (g_ptr_array_index (request->form, i + 1), NULL, FALSE);

      if (body->len > 0)
        g_string_append_c (body, '&');
      g_string_append_printf (body, "%s=%s", key, value);
    }
  return g_string_free (body, FALSE);
}

/* Ids go into paths; Stripe's are [A-Za-z0-9_], anything else is refused before sending. */
static gboolean
valid_id (const char *id)
{
  if (id == NULL || *id == '\0' || strlen (id) > 255)
    return FALSE;
  for (const char *p = id; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '_')
      return FALSE;
  return TRUE;
}

static const char *
checked_id (const char *id)
{
  return valid_id (id) ? id : "invalid_id";
}

PurserdStripeRequest *
purserd_stripe_customer_create (const char *org_id, const char *name, const char *email)
{
  g_autofree char *key = g_strdup_printf ("purser-customer-%s", org_id);
  PurserdStripeRequest *request = request_new ("customer.create", "POST", key, "/v1/customers");

  form_add (request, "name", name);
  form_add (request, "email", email);
  form_add (request, "metadata[purser_org_id]", org_id);
  return request;
}

PurserdStripeRequest *
purserd_stripe_checkout_setup_create (const char *setup_id, const char *org_id,
                                      const char *customer, const char *type,
                                      const char *success_url, const char *cancel_url)
{
  g_autofree char *key = g_strdup_printf ("purser-setup-%s", setup_id);
  PurserdStripeRequest *request
      = request_new ("checkout.session.create", "POST", key, "/v1/checkout/sessions");

  form_add (request, "mode", "setup");
  form_add (request, "customer", customer);
  /* SEPA Direct Debit mandates are in euros; card and ACH setups in dollars. */
  form_add (request, "currency", g_str_equal (type, "sepa_debit") ? "eur" : "usd");
  form_add (request, "payment_method_types[0]", type);
  form_add (request, "success_url", success_url);
  form_add (request, "cancel_url", cancel_url);
  form_add (request, "metadata[purser_setup_id]", setup_id);
  form_add (request, "metadata[purser_org_id]", org_id);
  form_add (request, "setup_intent_data[metadata][purser_setup_id]", setup_id);
  form_add (request, "setup_intent_data[metadata][purser_org_id]", org_id);
  return request;
}

PurserdStripeRequest *
purserd_stripe_setup_intent_get (const char *id)
{
  return request_new ("setup_intent.get", "GET", NULL, "/v1/setup_intents/%s", checked_id (id));
}

PurserdStripeRequest *
purserd_stripe_payment_method_get (const char *id)
{
  return request_new ("payment_method.get", "GET", NULL, "/v1/payment_methods/%s", checked_id (id));
}

PurserdStripeRequest *
purserd_stripe_payment_method_detach (const char *id)
{
  g_autofree char *key = g_strdup_printf ("purser-detach-%s", id);

  return request_new ("payment_method.detach", "POST", key, "/v1/payment_methods/%s/detach",
                      checked_id (id));
}

PurserdStripeRequest *
purserd_stripe_payment_intent_create (const char *payment_id, const char *org_id,
                                      const char *invoice_id, const char *invoice_number,
                                      const char *customer, const char *payment_method,
                                      const char *method_type, gint64 amount)
{
  g_autofree char *key = g_strdup_printf ("purser-charge-%s", payment_id);
  g_autofree char *description = g_strdup_printf ("Invoice %s", invoice_number);
  PurserdStripeRequest *request
      = request_new ("payment_intent.create", "POST", key, "/v1/payment_intents");

  form_add_int (request, "amount", amount);
  /* SEPA Direct Debit collects euros only: Stripe refuses a sepa_debit PaymentIntent in any
   * other currency (and the mandate from checkout_setup_create is in euros). */
  form_add (request, "currency", g_strcmp0 (method_type, "sepa_debit") == 0 ? "eur" : "usd");
  form_add (request, "customer", customer);
  form_add (request, "payment_method", payment_method);
  form_add (request, "payment_method_types[0]", method_type);
  form_add (request, "off_session", "true");
  form_add (request, "confirm", "true");
  form_add (request, "description", description);
  form_add (request, "metadata[purser_payment_id]", payment_id);
  form_add (request, "metadata[purser_org_id]", org_id);
  form_add (request, "metadata[purser_invoice_id]", invoice_id);
  form_add (request, "metadata[purser_invoice_number]", invoice_number);
  return request;
}

PurserdStripeRequest *
purserd_stripe_payment_intent_get (const char *id)
{
  return request_new ("payment_intent.get", "GET", NULL, "/v1/payment_intents/%s", checked_id (id));
}

PurserdStripeRequest *
purserd_stripe_refund_create (const char *credit_note_id, const char *payment_intent, gint64 amount)
{
  g_autofree char *key = g_strdup_printf ("purser-refund-%s", credit_note_id);
  PurserdStripeRequest *request = request_new ("refund.create", "POST", key, "/v1/refunds");

  form_add (request, "payment_intent", payment_intent);
  form_add_int (request, "amount", amount);
  form_add (request, "reason", "requested_by_customer");
  form_add (request, "metadata[purser_credit_note_id]", credit_note_id);
  return request;
}

/* ── sending ───────────────────────────────────────────────────────────────────── */

typedef struct
{
  PurserdStripe *stripe; /* outlives every request: freed after the main loop ends */
  PurserdStripeRequest *request;
  char *body;
  guint attempt;
  GSource *retry_source; /* on the task's context, where the session lives */
} SendData;

static void
send_data_free (SendData *data)
{
  purserd_stripe_request_free (data->request);
  g_free (data->body);
  if (data->retry_source != NULL)
    {
      g_source_destroy (data->retry_source);
      g_source_unref (data->retry_source);
    }
  g_free (data);
}

static void send_attempt (GTask *task);

static gboolean
retry_cb (gpointer user_data)
{
  GTask *task = user_data;
  SendData *data = g_task_get_task_data (task);

  g_clear_pointer (&data->retry_source, g_source_unref);
  send_attempt (task);
  return G_SOURCE_REMOVE;
}

/* TRUE when another attempt was scheduled. */
static gboolean
maybe_retry (GTask *task, guint retry_after_seconds)
{
  SendData *data = g_task_get_task_data (task);
  PurserdStripe *stripe = data->stripe;
  guint delay;

  if (data->attempt > stripe->config.max_retries
      || g_cancellable_is_cancelled (g_task_get_cancellable (task)))
    return FALSE;
  delay = stripe->config.retry_base_ms << MIN (data->attempt - 1, 6u);
  if (retry_after_seconds > 0)
    delay = MAX (delay, MIN (retry_after_seconds, 60u) * 1000);
  g_message ("stripe: %s %s: retrying in %u ms (attempt %u)", data->request->method,
             data->request->path, delay, data->attempt + 1);
  /* Not g_timeout_add: that is the global default context, which a caller on a thread with
   * its own context may not run, and the session belongs to the caller's context. */
  data->retry_source = g_timeout_source_new (delay);
  g_source_set_callback (data->retry_source, retry_cb, task, NULL);
  g_source_attach (data->retry_source, g_task_get_context (task));
  return TRUE;
}

static JsonObject *
parse_object (GBytes *bytes, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  gsize length = 0;
  const char *text = g_bytes_get_data (bytes, &length);

  if (length == 0 || !json_parser_load_from_data (parser, text, (gssize) length, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error_literal (error, PURSERD_STRIPE_ERROR, PURSERD_STRIPE_ERROR_INVALID_RESPONSE,
                           "Stripe answered something that is not a JSON object.");
      return NULL;
    }
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

typedef struct
{
  JsonObject *object;
  JsonObject *error_object;
} SendResult;

static void
send_result_free (SendResult *result)
{
  g_clear_pointer (&result->object, json_object_unref);
  g_clear_pointer (&result->error_object, json_object_unref);
  g_free (result);
}

static void
send_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  SendData *data = g_task_get_task_data (task);
  SoupMessage *message = soup_session_get_async_result_message (SOUP_SESSION (source), res);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = soup_session_send_and_read_finish (SOUP_SESSION (source), res, &error);
  g_autoptr (JsonObject) object = NULL;
  JsonObject *error_object = NULL;
  SendResult *result;
  guint status;
  const char *should_retry;

  if (bytes == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && maybe_retry (task, 0))
        {
          g_steal_pointer (&task);
          return;
        }
      g_task_return_new_error (task, PURSERD_STRIPE_ERROR, PURSERD_STRIPE_ERROR_UNREACHABLE,
                               "Stripe could not be reached: %s", error->message);
      return;
    }

  status = soup_message_get_status (message);
  should_retry = soup_message_headers_get_one (soup_message_get_response_headers (message),
                                               "Stripe-Should-Retry");
  if ((status == 429 || status >= 500 || g_strcmp0 (should_retry, "true") == 0)
      && g_strcmp0 (should_retry, "false") != 0)
    {
      const char *retry_after = soup_message_headers_get_one (
          soup_message_get_response_headers (message), "Retry-After");
      guint64 seconds = 0;

      if (retry_after != NULL)
        g_ascii_string_to_unsigned (retry_after, 10, 0, 3600, &seconds, NULL);
      if (maybe_retry (task, (guint) seconds))
        {
          g_steal_pointer (&task);
          return;
        }
      g_task_return_new_error (task, PURSERD_STRIPE_ERROR, PURSERD_STRIPE_ERROR_UNREACHABLE,
                               "Stripe is unavailable (HTTP %u); try again later.", status);
      return;
    }

  object = parse_object (bytes, &error);
  if (object == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (status >= 200 && status < 300)
    {
      result = g_new0 (SendResult, 1);
      result->object = g_steal_pointer (&object);
      g_task_return_pointer (task, result, (GDestroyNotify) send_result_free);
      return;
    }

  if (json_object_has_member (object, "error")
      && JSON_NODE_HOLDS_OBJECT (json_object_get_member (object, "error")))
    error_object = json_object_get_object_member (object, "error");
  {
    const char *message_text
        = error_object ? json_object_get_string_member_with_default (error_object, "message", NULL)
                       : NULL;
    const char *type
        = error_object ? json_object_get_string_member_with_default (error_object, "type", "") : "";
    PurserdStripeError code = PURSERD_STRIPE_ERROR_REQUEST;

    if (status == 401)
      code = PURSERD_STRIPE_ERROR_AUTHENTICATION;
    else if (status == 402 || g_str_equal (type, "card_error"))
      code = PURSERD_STRIPE_ERROR_CARD;
    error = g_error_new (PURSERD_STRIPE_ERROR, code, "%s",
                         message_text ? message_text : "Stripe refused the request.");
    g_message ("stripe: %s %s: HTTP %u %s", data->request->method, data->request->path, status,
               type);
    result = g_new0 (SendResult, 1);
    result->error_object = error_object ? json_object_ref (error_object) : NULL;
    g_object_set_data_full (G_OBJECT (task), "error-object", result,
                            (GDestroyNotify) send_result_free);
    g_task_return_error (task, g_steal_pointer (&error));
  }
}

static void
send_attempt (GTask *task)
{
  SendData *data = g_task_get_task_data (task);
  PurserdStripe *stripe = data->stripe;
  g_autofree char *url = g_strconcat (stripe->config.api_base, data->request->path, NULL);
  g_autofree char *authorization = g_strconcat ("Bearer ", stripe->config.secret_key, NULL);
  g_autoptr (SoupMessage) message = NULL;
  SoupMessageHeaders *headers;

  data->attempt++;
  if (g_str_equal (data->request->method, "GET") && data->body[0] != '\0')
    {
      g_autofree char *with_query = g_strconcat (url, "?", data->body, NULL);
      message = soup_message_new ("GET", with_query);
    }
  else
    message = soup_message_new (data->request->method, url);
  if (message == NULL)
    {
      g_task_return_new_error (task, PURSERD_STRIPE_ERROR, PURSERD_STRIPE_ERROR_REQUEST,
                               "Not a valid Stripe URL: %s", url);
      g_object_unref (task);
      return;
    }
  headers = soup_message_get_request_headers (message);
  soup_message_headers_replace (headers, "Authorization", authorization);
  soup_message_headers_replace (headers, "Stripe-Version", PURSERD_STRIPE_API_VERSION);
  soup_message_headers_replace (headers, "Accept", "application/json");
  if (!g_str_equal (data->request->method, "GET"))
    {
      GBytes *body = g_bytes_new (data->body, strlen (data->body));

      if (data->request->idempotency_key != NULL)
        soup_message_headers_replace (headers, "Idempotency-Key", data->request->idempotency_key);
      soup_message_set_request_body_from_bytes (message, "application/x-www-form-urlencoded", body);
      g_bytes_unref (body);
    }
  soup_session_send_and_read_async (stripe->session, message, G_PRIORITY_DEFAULT,
                                    g_task_get_cancellable (task), send_done, task);
}

void
purserd_stripe_send_async (PurserdStripe *stripe, PurserdStripeRequest *request,
                           GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  SendData *data = g_new0 (SendData, 1);

  g_task_set_source_tag (task, purserd_stripe_send_async);
  data->stripe = stripe;
  data->request = request;
  data->body = purserd_stripe_request_encode (request);
  g_task_set_task_data (task, data, (GDestroyNotify) send_data_free);

  if (!purserd_stripe_configured (stripe))
    {
      g_task_return_new_error (task, PURSERD_STRIPE_ERROR, PURSERD_STRIPE_ERROR_NOT_CONFIGURED,
                               "Stripe is not configured on this server (no secret key); cards "
                               "and bank debits are unavailable, wire transfer still works.");
      g_object_unref (task);
      return;
    }
  send_attempt (task);
}

JsonObject *
purserd_stripe_send_finish (PurserdStripe *stripe, GAsyncResult *result, JsonObject **error_object,
                            GError **error)
{
  SendResult *value;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  if (error_object != NULL)
    {
      SendResult *failure = g_object_get_data (G_OBJECT (result), "error-object");

      *error_object
          = failure && failure->error_object ? json_object_ref (failure->error_object) : NULL;
    }
  value = g_task_propagate_pointer (G_TASK (result), error);
  if (value == NULL)
    return NULL;
  {
    JsonObject *object = g_steal_pointer (&value->object);

    send_result_free (value);
    return object;
  }
}

/* ── parsing Stripe's objects ──────────────────────────────────────────────────── */

static const char *
string_member (JsonObject *object, const char *name)
{
  JsonNode *node;

  if (object == NULL || !json_object_has_member (object, name))
    return NULL;
  node = json_object_get_member (object, name);
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    return json_node_get_string (node);
  return NULL;
}

static JsonObject *
object_member (JsonObject *object, const char *name)
{
  JsonNode *node;

  if (object == NULL || !json_object_has_member (object, name))
    return NULL;
  node = json_object_get_member (object, name);
  return JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static gint64
int_member (JsonObject *object, const char *name)
{
  JsonNode *node;

  if (object == NULL || !json_object_has_member (object, name))
    return 0;
  node = json_object_get_member (object, name);
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64)
    return json_node_get_int (node);
  return 0;
}

/* An expandable field: an id, or the object (whose id is taken). */
static char *
id_member (JsonObject *object, const char *name)
{
  const char *id = string_member (object, name);

  if (id != NULL)
    return g_strdup (id);
  return g_strdup (string_member (object_member (object, name), "id"));
}

static gboolean
check_object (JsonObject *object, const char *type, GError **error)
{
  if (object != NULL && g_strcmp0 (string_member (object, "object"), type) == 0
      && string_member (object, "id") != NULL)
    return TRUE;
  g_set_error (error, PURSERD_STRIPE_ERROR, PURSERD_STRIPE_ERROR_INVALID_RESPONSE,
               "Stripe sent something that is not a %s.", type);
  return FALSE;
}

static char *
metadata (JsonObject *object, const char *key)
{
  return g_strdup (string_member (object_member (object, "metadata"), key));
}

gboolean
purserd_stripe_parse_payment_method (JsonObject *object, PurserdStripePaymentMethod *out,
                                     GError **error)
{
  JsonObject *details;

  memset (out, 0, sizeof *out);
  if (!check_object (object, "payment_method", error))
    return FALSE;
  out->id = g_strdup (string_member (object, "id"));
  out->type = g_strdup (string_member (object, "type"));
  out->customer = id_member (object, "customer");
  details = object_member (object, out->type ? out->type : "");
  if (g_strcmp0 (out->type, "card") == 0)
    {
      out->brand = g_strdup (string_member (details, "brand"));
      out->exp_month = (int) int_member (details, "exp_month");
      out->exp_year = (int) int_member (details, "exp_year");
    }
  else if (g_strcmp0 (out->type, "us_bank_account") == 0)
    out->brand = g_strdup (string_member (details, "bank_name"));
  else if (g_strcmp0 (out->type, "sepa_debit") == 0)
    out->brand = g_strdup (string_member (details, "bank_code"));
  out->last4 = g_strdup (string_member (details, "last4"));
  out->country = g_strdup (string_member (details, "country"));
  return TRUE;
}

gboolean
purserd_stripe_parse_payment_intent (JsonObject *object, PurserdStripePaymentIntent *out,
                                     GError **error)
{
  JsonObject *last_error;

  memset (out, 0, sizeof *out);
  if (!check_object (object, "payment_intent", error))
    return FALSE;
  out->id = g_strdup (string_member (object, "id"));
  out->status = g_strdup (string_member (object, "status"));
  out->amount = int_member (object, "amount");
  out->amount_received = int_member (object, "amount_received");
  out->customer = id_member (object, "customer");
  out->payment_method = id_member (object, "payment_method");
  out->latest_charge = id_member (object, "latest_charge");
  last_error = object_member (object, "last_payment_error");
  if (last_error != NULL)
    {
      const char *code = string_member (last_error, "decline_code");

      out->failure_code = g_strdup (code ? code : string_member (last_error, "code"));
      out->failure_message = g_strdup (string_member (last_error, "message"));
    }
  out->metadata_payment_id = metadata (object, "purser_payment_id");
  return TRUE;
}

gboolean
purserd_stripe_parse_checkout_session (JsonObject *object, PurserdStripeCheckoutSession *out,
                                       GError **error)
{
  memset (out, 0, sizeof *out);
  if (!check_object (object, "checkout.session", error))
    return FALSE;
  out->id = g_strdup (string_member (object, "id"));
  out->url = g_strdup (string_member (object, "url"));
  out->status = g_strdup (string_member (object, "status"));
  out->mode = g_strdup (string_member (object, "mode"));
  out->customer = id_member (object, "customer");
  out->setup_intent = id_member (object, "setup_intent");
  out->metadata_setup_id = metadata (object, "purser_setup_id");
  out->expires_at = int_member (object, "expires_at");
  return TRUE;
}

gboolean
purserd_stripe_parse_setup_intent (JsonObject *object, PurserdStripeSetupIntent *out,
                                   GError **error)
{
  memset (out, 0, sizeof *out);
  if (!check_object (object, "setup_intent", error))
    return FALSE;
  out->id = g_strdup (string_member (object, "id"));
  out->status = g_strdup (string_member (object, "status"));
  out->customer = id_member (object, "customer");
  out->payment_method = id_member (object, "payment_method");
  return TRUE;
}

gboolean
purserd_stripe_parse_refund (JsonObject *object, PurserdStripeRefund *out, GError **error)
{
  memset (out, 0, sizeof *out);
  if (!check_object (object, "refund", error))
    return FALSE;
  out->id = g_strdup (string_member (object, "id"));
  out->status = g_strdup (string_member (object, "status"));
  out->amount = int_member (object, "amount");
  out->charge = id_member (object, "charge");
  out->payment_intent = id_member (object, "payment_intent");
  return TRUE;
}

gboolean
purserd_stripe_parse_charge (JsonObject *object, PurserdStripeCharge *out, GError **error)
{
  memset (out, 0, sizeof *out);
  if (!check_object (object, "charge", error))
    return FALSE;
  out->id = g_strdup (string_member (object, "id"));
  out->payment_intent = id_member (object, "payment_intent");
  out->amount = int_member (object, "amount");
  out->amount_refunded = int_member (object, "amount_refunded");
  out->refunded = json_object_get_boolean_member_with_default (object, "refunded", FALSE);
  return TRUE;
}

char *
purserd_stripe_parse_customer (JsonObject *object, GError **error)
{
  if (!check_object (object, "customer", error))
    return NULL;
  return g_strdup (string_member (object, "id"));
}

gboolean
purserd_stripe_parse_event (JsonNode *root, PurserdStripeEvent *out, GError **error)
{
  JsonObject *object = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  JsonObject *data = object_member (object, "data");
  JsonObject *inner = object_member (data, "object");

  memset (out, 0, sizeof *out);
  if (!check_object (object, "event", error))
    return FALSE;
  if (string_member (object, "type") == NULL || inner == NULL)
    {
      g_set_error_literal (error, PURSERD_STRIPE_ERROR, PURSERD_STRIPE_ERROR_INVALID_RESPONSE,
                           "The event has no type or no data.object.");
      return FALSE;
    }
  out->id = g_strdup (string_member (object, "id"));
  out->type = g_strdup (string_member (object, "type"));
  out->created = int_member (object, "created");
  out->object = json_object_ref (inner);
  out->object_id = g_strdup (string_member (inner, "id"));
  return TRUE;
}

void
purserd_stripe_payment_method_clear (PurserdStripePaymentMethod *pm)
{
  g_clear_pointer (&pm->id, g_free);
  g_clear_pointer (&pm->type, g_free);
  g_clear_pointer (&pm->customer, g_free);
  g_clear_pointer (&pm->brand, g_free);
  g_clear_pointer (&pm->last4, g_free);
  g_clear_pointer (&pm->country, g_free);
}

void
purserd_stripe_payment_intent_clear (PurserdStripePaymentIntent *pi)
{
  g_clear_pointer (&pi->id, g_free);
  g_clear_pointer (&pi->status, g_free);
  g_clear_pointer (&pi->customer, g_free);
  g_clear_pointer (&pi->payment_method, g_free);
  g_clear_pointer (&pi->latest_charge, g_free);
  g_clear_pointer (&pi->failure_code, g_free);
  g_clear_pointer (&pi->failure_message, g_free);
  g_clear_pointer (&pi->metadata_payment_id, g_free);
}

void
purserd_stripe_checkout_session_clear (PurserdStripeCheckoutSession *cs)
{
  g_clear_pointer (&cs->id, g_free);
  g_clear_pointer (&cs->url, g_free);
  g_clear_pointer (&cs->status, g_free);
  g_clear_pointer (&cs->mode, g_free);
  g_clear_pointer (&cs->customer, g_free);
  g_clear_pointer (&cs->setup_intent, g_free);
  g_clear_pointer (&cs->metadata_setup_id, g_free);
}

void
purserd_stripe_setup_intent_clear (PurserdStripeSetupIntent *si)
{
  g_clear_pointer (&si->id, g_free);
  g_clear_pointer (&si->status, g_free);
  g_clear_pointer (&si->customer, g_free);
  g_clear_pointer (&si->payment_method, g_free);
}

void
purserd_stripe_refund_clear (PurserdStripeRefund *refund)
{
  g_clear_pointer (&refund->id, g_free);
  g_clear_pointer (&refund->status, g_free);
  g_clear_pointer (&refund->charge, g_free);
  g_clear_pointer (&refund->payment_intent, g_free);
}

void
purserd_stripe_charge_clear (PurserdStripeCharge *charge)
{
  g_clear_pointer (&charge->id, g_free);
  g_clear_pointer (&charge->payment_intent, g_free);
}

void
purserd_stripe_event_clear (PurserdStripeEvent *event)
{
  g_clear_pointer (&event->id, g_free);
  g_clear_pointer (&event->type, g_free);
  g_clear_pointer (&event->object, json_object_unref);
  g_clear_pointer (&event->object_id, g_free);
}
