/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "fake-stripe.h"

#include <libsoup/soup.h>
#include <string.h>

/* How it fits together
 *
 *   test thread                          fake's thread (own GMainContext)
 *   ───────────                          ───────────────────────────────
 *   fake_stripe_complete_checkout() ─┐    server_cb ── handle_api ── route ── create_…()
 *   fake_stripe_settle()             │         │ (under mutex)          │
 *                                    │         │ answer written         emit_event() → request_events
 *                                    ▼         ▼ "finished"
 *                            enqueue_locked() ─── held[] (hold) or queue ── pump_cb ── one POST
 *                                                                               │ at a time
 *   fake_stripe_flush_webhooks() waits on cond ◄── delivery_finish_attempt ◄────┘ (retries)
 *
 * Every piece of state is under `mutex`; the server and the webhook session live in the
 * fake's thread only. */

#define STRIPE_FIXTURES "fixtures3.2023-08-16.json"
#define FLUSH_TIMEOUT_S 30

typedef struct _Delivery Delivery;

/* Injected failures for the next `n` matching requests. */
typedef struct
{
  char *method;      /* NULL: any */
  char *path_prefix; /* NULL: any */
  guint status;
  guint n;
} Failure;

struct _FakeStripe
{
  GMutex mutex;
  GCond cond;

  /* set before the thread runs, read-only afterwards */
  JsonObject *fixtures;
  char *tag;
  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;
  char *url;
  gboolean ready;

  /* the fake's thread only */
  SoupServer *server;
  SoupSession *session;

  /* under mutex */
  guint serial;
  guint event_serial;
  GHashTable *objects;     /* id → JsonNode holding the object */
  GHashTable *behaviours;  /* pm id → FakeStripeBehaviour + 1 */
  GHashTable *idempotency; /* "authorization\nkey" → Saved */
  GPtrArray *requests;     /* FakeStripeRequest */
  GPtrArray *deliveries;   /* FakeStripeDelivery */
  GPtrArray *event_types;  /* char *, one per event made */
  char *api_key;
  char *webhook_url;
  char *webhook_secret;
  Failure fail; /* before the request is carried out */
  Failure lose; /* after: the answer is lost */
  gboolean hold;
  GPtrArray *held; /* FakeStripeWebhook */
  GQueue queue;    /* Delivery */
  Delivery *in_flight;
  guint pending_finish; /* answers with events whose writing has not finished */
  gboolean pump_scheduled;
  GSource *retry_source;
  gboolean stopping;

  /* the request being handled (fake's thread, under mutex) */
  const char *request_id;
  const char *request_idempotency_key;
  GPtrArray *request_events;
};

struct _Delivery
{
  FakeStripe *self;
  char *event_id;
  char *type;
  char *body;
  char *signature; /* NULL: sign each attempt afresh; "": send none */
  guint attempt;
  SoupMessage *message;
  /* fake_stripe_deliver(): owned by the waiting caller, tried once */
  gboolean direct;
  gboolean done;
  gboolean answered;
  guint status;
};

/* A saved answer for an Idempotency-Key. */
typedef struct
{
  char *fingerprint; /* method, path and the sorted parameters */
  guint status;
  char *body;
  char *request_id;
} Saved;

typedef struct
{
  char *key;
  char *value;
} FormField;

/* What an endpoint decided. */
typedef struct
{
  guint status;
  JsonObject *body; /* owned */
  gboolean save;    /* the endpoint ran: keep it for Idempotency-Key */
} Answer;

/* What goes on the wire. */
typedef struct
{
  guint status; /* 0: close the connection */
  char *body;
  const char *content_type;
  const char *request_id;
  gboolean replayed;
  gboolean retry_after;
} Reply;

typedef struct
{
  FakeStripe *self;
  GPtrArray *events; /* Delivery */
} FinishData;

static void answer_error (Answer *answer, guint status, const char *type, const char *code,
                          const char *param, const char *format, ...) G_GNUC_PRINTF (6, 7);

static void send_delivery (FakeStripe *self, Delivery *delivery);
static gboolean retry_cb (gpointer data);

/* ── small helpers ─────────────────────────────────────────────────────────────────────── */

static void
failure_set (Failure *failure, const char *method, const char *path_prefix, guint status, guint n)
{
  g_free (failure->method);
  g_free (failure->path_prefix);
  failure->method = g_strdup (method);
  failure->path_prefix = g_strdup (path_prefix);
  failure->status = status;
  failure->n = n;
}

/* TRUE (and one fewer left) when this request is to fail. */
static gboolean
failure_take (Failure *failure, const char *method, const char *path)
{
  if (failure->n == 0 || (failure->method != NULL && !g_str_equal (failure->method, method))
      || (failure->path_prefix != NULL && !g_str_has_prefix (path, failure->path_prefix)))
    return FALSE;
  failure->n--;
  return TRUE;
}

static gint64
now_seconds (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

static char *
stripe_dir (void)
{
  const char *env = g_getenv ("PURSER_STRIPE_DIR");
  const char *srcdir = g_getenv ("G_TEST_SRCDIR");

  if (env != NULL && *env != '\0')
    return g_strdup (env);
  /* G_TEST_SRCDIR is the repository's tests/ folder; the data sits next to the checkout. */
  if (srcdir != NULL)
    return g_build_filename (srcdir, "..", "..", "shared", "stripe", NULL);
  return g_build_filename ("..", "shared", "stripe", NULL);
}

static char *
sign (const char *secret, gint64 t, const char *body)
{
  g_autoptr (GHmac) hmac = NULL;
  g_autofree char *prefix = g_strdup_printf ("%" G_GINT64_FORMAT ".", t);

  hmac = g_hmac_new (G_CHECKSUM_SHA256, (const guchar *) (secret ? secret : ""),
                     secret ? strlen (secret) : 0);
  g_hmac_update (hmac, (const guchar *) prefix, -1);
  g_hmac_update (hmac, (const guchar *) body, -1);
  return g_strdup_printf ("t=%" G_GINT64_FORMAT ",v1=%s", t, g_hmac_get_string (hmac));
}

static char *
new_id (FakeStripe *self, const char *prefix)
{
  return g_strdup_printf ("%s_%s%08u", prefix, self->tag, ++self->serial);
}

static char *
fingerprint_of (const char *kind, const char *details)
{
  g_autofree char *text = g_strdup_printf ("%s:%s", kind, details);
  g_autofree char *sum = g_compute_checksum_for_string (G_CHECKSUM_SHA1, text, -1);

  return g_strndup (sum, 16);
}

static char *
format_amount (gint64 amount, const char *currency)
{
  const char *symbol = g_str_equal (currency, "usd")   ? "$"
                       : g_str_equal (currency, "eur") ? "€"
                                                       : "";

  return g_strdup_printf ("%s%" G_GINT64_FORMAT ".%02d%s%s", symbol, amount / 100,
                          (int) (amount % 100), *symbol ? "" : " ", *symbol ? "" : currency);
}

/* ── JSON ──────────────────────────────────────────────────────────────────────────────── */

static JsonNode *node_deep_copy (JsonNode *node);

static JsonObject *
object_deep_copy (JsonObject *object)
{
  JsonObject *copy = json_object_new ();
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;

  json_object_iter_init_ordered (&iter, object);
  while (json_object_iter_next_ordered (&iter, &name, &member))
    json_object_set_member (copy, name, node_deep_copy (member));
  return copy;
}

static JsonNode *
node_deep_copy (JsonNode *node)
{
  JsonNode *copy;

  switch (json_node_get_node_type (node))
    {
      case JSON_NODE_OBJECT:
        copy = json_node_new (JSON_NODE_OBJECT);
        json_node_take_object (copy, object_deep_copy (json_node_get_object (node)));
        return copy;
        case JSON_NODE_ARRAY: {
          JsonArray *array = json_node_get_array (node);
          JsonArray *array_copy = json_array_new ();

          for (guint i = 0; i < json_array_get_length (array); i++)
            json_array_add_element (array_copy, node_deep_copy (json_array_get_element (array, i)));
          copy = json_node_new (JSON_NODE_ARRAY);
          json_node_take_array (copy, array_copy);
          return copy;
        }
      case JSON_NODE_VALUE:
      case JSON_NODE_NULL:
        return json_node_copy (node);
      default:
        g_assert_not_reached ();
    }
}

static JsonNode *
object_node (JsonObject *object)
{
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  json_node_set_object (node, object);
  return node;
}

static char *
to_json (JsonObject *object)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) node = object_node (object);
  g_autofree char *text = NULL;

  json_generator_set_root (generator, node);
  json_generator_set_pretty (generator, TRUE);
  json_generator_set_indent (generator, 2);
  text = json_generator_to_data (generator, NULL);
  return g_strconcat (text, "\n", NULL);
}

static void
set_nullable_string (JsonObject *object, const char *member, const char *value)
{
  if (value != NULL)
    json_object_set_string_member (object, member, value);
  else
    json_object_set_null_member (object, member);
}

static const char *
get_string (JsonObject *object, const char *member)
{
  return json_object_get_string_member_with_default (object, member, NULL);
}

static JsonArray *
string_array (GPtrArray *strings)
{
  JsonArray *array = json_array_new ();

  for (guint i = 0; i < strings->len; i++)
    json_array_add_string_element (array, g_ptr_array_index (strings, i));
  return array;
}

static JsonObject *
fixture_copy (FakeStripe *self, const char *name)
{
  JsonObject *fixture = json_object_get_object_member (self->fixtures, name);

  g_assert (fixture != NULL);
  return object_deep_copy (fixture);
}

/* Takes the object; returns it, borrowed. */
static JsonObject *
store (FakeStripe *self, JsonObject *object)
{
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  json_node_take_object (node, object);
  g_hash_table_replace (self->objects, g_strdup (get_string (object, "id")), node);
  return object;
}

static JsonObject *
lookup (FakeStripe *self, const char *id, const char *kind)
{
  JsonNode *node;
  JsonObject *object;

  if (id == NULL)
    return NULL;
  node = g_hash_table_lookup (self->objects, id);
  if (node == NULL)
    return NULL;
  object = json_node_get_object (node);
  if (g_strcmp0 (get_string (object, "object"), kind) != 0)
    return NULL;
  return object;
}

/* ── records ───────────────────────────────────────────────────────────────────────────── */

void
fake_stripe_request_free (FakeStripeRequest *request)
{
  if (request == NULL)
    return;
  g_free (request->method);
  g_free (request->path);
  g_free (request->query);
  g_free (request->stripe_version);
  g_free (request->idempotency_key);
  g_free (request->authorization);
  g_free (request->content_type);
  g_free (request->body);
  g_free (request->response);
  g_free (request);
}

static gpointer
request_copy (gconstpointer data, gpointer user_data)
{
  const FakeStripeRequest *request = data;
  FakeStripeRequest *copy = g_new0 (FakeStripeRequest, 1);

  copy->method = g_strdup (request->method);
  copy->path = g_strdup (request->path);
  copy->query = g_strdup (request->query);
  copy->stripe_version = g_strdup (request->stripe_version);
  copy->idempotency_key = g_strdup (request->idempotency_key);
  copy->authorization = g_strdup (request->authorization);
  copy->content_type = g_strdup (request->content_type);
  copy->body = g_strdup (request->body);
  copy->status = request->status;
  copy->response = g_strdup (request->response);
  return copy;
}

void
fake_stripe_webhook_free (FakeStripeWebhook *webhook)
{
  if (webhook == NULL)
    return;
  g_free (webhook->id);
  g_free (webhook->type);
  g_free (webhook->body);
  g_free (webhook->signature);
  g_free (webhook);
}

void
fake_stripe_delivery_free (FakeStripeDelivery *delivery)
{
  if (delivery == NULL)
    return;
  g_free (delivery->event_id);
  g_free (delivery->type);
  g_free (delivery);
}

static gpointer
delivery_record_copy (gconstpointer data, gpointer user_data)
{
  const FakeStripeDelivery *delivery = data;
  FakeStripeDelivery *copy = g_new0 (FakeStripeDelivery, 1);

  copy->event_id = g_strdup (delivery->event_id);
  copy->type = g_strdup (delivery->type);
  copy->attempt = delivery->attempt;
  copy->status = delivery->status;
  return copy;
}

static Delivery *
delivery_new (FakeStripe *self, const char *event_id, const char *type, const char *body)
{
  Delivery *delivery = g_new0 (Delivery, 1);

  delivery->self = self;
  delivery->event_id = g_strdup (event_id);
  delivery->type = g_strdup (type);
  delivery->body = g_strdup (body);
  return delivery;
}

static void
delivery_free (Delivery *delivery)
{
  if (delivery == NULL)
    return;
  g_free (delivery->event_id);
  g_free (delivery->type);
  g_free (delivery->body);
  g_free (delivery->signature);
  g_clear_object (&delivery->message);
  g_free (delivery);
}

static void
saved_free (Saved *saved)
{
  g_free (saved->fingerprint);
  g_free (saved->body);
  g_free (saved->request_id);
  g_free (saved);
}

static void
finish_data_free (gpointer data, GClosure *closure)
{
  FinishData *finish = data;

  g_ptr_array_unref (finish->events);
  g_free (finish);
}

/* ── forms ─────────────────────────────────────────────────────────────────────────────── */

static void
form_field_free (FormField *field)
{
  g_free (field->key);
  g_free (field->value);
  g_free (field);
}

static char *
form_unescape (const char *text)
{
  g_autofree char *spaced = g_strdup (text);

  g_strdelimit (spaced, "+", ' ');
  return g_uri_unescape_string (spaced, NULL);
}

/* NULL when the encoding is broken. */
static GPtrArray *
form_parse (const char *body)
{
  g_autoptr (GPtrArray) form = g_ptr_array_new_with_free_func ((GDestroyNotify) form_field_free);
  g_auto (GStrv) pairs = g_strsplit (body ? body : "", "&", -1);

  for (guint i = 0; pairs[i] != NULL; i++)
    {
      const char *equals = strchr (pairs[i], '=');
      g_autofree char *raw_key = NULL;
      FormField *field;

      if (*pairs[i] == '\0')
        continue;
      raw_key = equals ? g_strndup (pairs[i], equals - pairs[i]) : g_strdup (pairs[i]);
      field = g_new0 (FormField, 1);
      field->key = form_unescape (raw_key);
      field->value = form_unescape (equals ? equals + 1 : "");
      if (field->key == NULL || field->value == NULL || *field->key == '\0')
        {
          form_field_free (field);
          return NULL;
        }
      g_ptr_array_add (form, field);
    }
  return g_steal_pointer (&form);
}

static const char *
form_get (GPtrArray *form, const char *key)
{
  const char *value = NULL;

  for (guint i = 0; i < form->len; i++)
    {
      FormField *field = g_ptr_array_index (form, i);

      if (g_str_equal (field->key, key))
        value = field->value;
    }
  return value;
}

/* The inside of `prefix[inside]`, or NULL. */
static char *
form_subkey (const char *key, const char *prefix)
{
  gsize prefix_len = strlen (prefix), key_len = strlen (key);

  if (!g_str_has_prefix (key, prefix) || key_len < prefix_len + 2 || key[prefix_len] != '['
      || key[key_len - 1] != ']')
    return NULL;
  return g_strndup (key + prefix_len + 1, key_len - prefix_len - 2);
}

/* `prefix[name]=value` fields as a JSON object of strings (empty when there are none). */
static JsonObject *
form_get_map (GPtrArray *form, const char *prefix)
{
  JsonObject *map = json_object_new ();

  for (guint i = 0; i < form->len; i++)
    {
      FormField *field = g_ptr_array_index (form, i);
      g_autofree char *name = form_subkey (field->key, prefix);

      if (name != NULL && *name != '\0' && strchr (name, '[') == NULL)
        json_object_set_string_member (map, name, field->value);
    }
  return map;
}

typedef struct
{
  gint64 index;
  guint seq;
  const char *value;
} ListItem;

static int
list_item_compare (gconstpointer a, gconstpointer b)
{
  const ListItem *x = a, *y = b;

  if (x->index != y->index)
    return x->index < y->index ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* `prefix[0]`, `prefix[1]`… (or `prefix[]`) in index order. */
static GPtrArray *
form_get_list (GPtrArray *form, const char *prefix)
{
  g_autoptr (GArray) items = g_array_new (FALSE, FALSE, sizeof (ListItem));
  GPtrArray *list = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < form->len; i++)
    {
      FormField *field = g_ptr_array_index (form, i);
      g_autofree char *inside = form_subkey (field->key, prefix);
      ListItem item = { G_MAXINT64, i, field->value };

      if (inside == NULL)
        continue;
      if (*inside != '\0' && !g_ascii_string_to_signed (inside, 10, 0, G_MAXINT, &item.index, NULL))
        continue;
      g_array_append_val (items, item);
    }
  g_array_sort (items, list_item_compare);
  for (guint i = 0; i < items->len; i++)
    g_ptr_array_add (list, g_strdup (g_array_index (items, ListItem, i).value));
  return list;
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

static char *
form_fingerprint (const char *method, const char *path, GPtrArray *form)
{
  g_autoptr (GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < form->len; i++)
    {
      FormField *field = g_ptr_array_index (form, i);

      g_ptr_array_add (lines, g_strdup_printf ("%s=%s", field->key, field->value));
    }
  g_ptr_array_sort (lines, compare_strings);
  g_string_append_printf (text, "%s %s\n", method, path);
  for (guint i = 0; i < lines->len; i++)
    g_string_append_printf (text, "%s\n", (const char *) g_ptr_array_index (lines, i));
  return g_string_free (text, FALSE);
}

/* ── answers ───────────────────────────────────────────────────────────────────────────── */

static void
answer_clear (Answer *answer)
{
  g_clear_pointer (&answer->body, json_object_unref);
}

static JsonObject *
error_object (const char *type, const char *code, const char *param, const char *message)
{
  JsonObject *error = json_object_new ();

  if (code != NULL)
    {
      g_autofree char *slug = g_strdup (code);
      g_autofree char *doc_url = NULL;

      g_strdelimit (slug, "_", '-');
      doc_url = g_strconcat ("https://stripe.com/docs/error-codes/", slug, NULL);
      json_object_set_string_member (error, "code", code);
      json_object_set_string_member (error, "doc_url", doc_url);
    }
  json_object_set_string_member (error, "message", message);
  if (param != NULL)
    json_object_set_string_member (error, "param", param);
  json_object_set_string_member (error, "type", type);
  return error;
}

static void
answer_error (Answer *answer, guint status, const char *type, const char *code, const char *param,
              const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  answer_clear (answer);
  answer->status = status;
  answer->body = json_object_new ();
  json_object_set_object_member (answer->body, "error", error_object (type, code, param, message));
  answer->save = FALSE;
}

static void
answer_invalid (Answer *answer, const char *code, const char *param, const char *message)
{
  answer_error (answer, 400, "invalid_request_error", code, param, "%s", message);
}

static void
answer_object (Answer *answer, JsonObject *object)
{
  answer_clear (answer);
  answer->status = 200;
  answer->body = object_deep_copy (object);
  answer->save = TRUE;
}

static void
answer_missing (Answer *answer, guint status, const char *param, const char *what, const char *id)
{
  answer_error (answer, status, "invalid_request_error", "resource_missing", param,
                "No such %s: '%s'", what, id);
}

/* ── parameters: FALSE with the 400 in answer ──────────────────────────────────────────── */

static gboolean
param_required (GPtrArray *form, const char *key, const char **value, Answer *answer)
{
  *value = form_get (form, key);
  if (*value == NULL || **value == '\0')
    {
      answer_error (answer, 400, "invalid_request_error", "parameter_missing", key,
                    "Missing required param: %s.", key);
      return FALSE;
    }
  return TRUE;
}

/* *value is -1 when absent and not required. */
static gboolean
param_amount (GPtrArray *form, const char *key, gboolean required, gint64 *value, Answer *answer)
{
  const char *text = form_get (form, key);

  *value = -1;
  if (text == NULL && !required)
    return TRUE;
  if (text == NULL)
    return param_required (form, key, &text, answer);
  if (!g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, value, NULL))
    {
      answer_error (answer, 400, "invalid_request_error", "parameter_invalid_integer", key,
                    "Invalid integer: %s", text);
      return FALSE;
    }
  if (*value < 1)
    {
      answer_error (answer, 400, "invalid_request_error", "parameter_invalid_integer", key,
                    "This value must be greater than or equal to 1.");
      return FALSE;
    }
  return TRUE;
}

static gboolean
param_bool (GPtrArray *form, const char *key, gboolean *value, Answer *answer)
{
  const char *text = form_get (form, key);

  *value = FALSE;
  if (text == NULL || g_str_equal (text, "false"))
    return TRUE;
  if (g_str_equal (text, "true"))
    {
      *value = TRUE;
      return TRUE;
    }
  answer_error (answer, 400, "invalid_request_error", NULL, key, "Invalid boolean: %s", text);
  return FALSE;
}

static gboolean
param_currency (GPtrArray *form, gboolean required, char **value, Answer *answer)
{
  const char *text = form_get (form, "currency");

  *value = NULL;
  if (text == NULL && !required)
    return TRUE;
  if (text == NULL)
    return param_required (form, "currency", &text, answer);
  if (strlen (text) != 3 || !g_ascii_isalpha (text[0]) || !g_ascii_isalpha (text[1])
      || !g_ascii_isalpha (text[2]))
    {
      answer_error (answer, 400, "invalid_request_error", NULL, "currency",
                    "Invalid currency: %s. Stripe currently supports these currencies: usd, "
                    "eur, gbp, … (see https://stripe.com/docs/currencies)",
                    text);
      return FALSE;
    }
  *value = g_ascii_strdown (text, -1);
  return TRUE;
}

/* Stripe's limits: 50 keys, keys up to 40 characters, values up to 500. */
static gboolean
param_metadata (GPtrArray *form, JsonObject **metadata, Answer *answer)
{
  g_autoptr (JsonObject) map = form_get_map (form, "metadata");
  JsonObjectIter iter;
  const char *name;
  JsonNode *value;

  *metadata = NULL;
  if (json_object_get_size (map) > 50)
    {
      answer_invalid (answer, NULL, "metadata",
                      "Invalid metadata: metadata cannot have more than 50 keys");
      return FALSE;
    }
  json_object_iter_init (&iter, map);
  while (json_object_iter_next (&iter, &name, &value))
    {
      if (g_utf8_strlen (name, -1) > 40 || g_utf8_strlen (json_node_get_string (value), -1) > 500)
        {
          answer_error (answer, 400, "invalid_request_error", NULL, "metadata",
                        "Invalid metadata: keys can be up to 40 characters long and values up "
                        "to 500 characters long (key '%s')",
                        name);
          return FALSE;
        }
    }
  *metadata = g_steal_pointer (&map);
  return TRUE;
}

/* ── objects ───────────────────────────────────────────────────────────────────────────── */

static JsonObject *
make_payment_method (FakeStripe *self, const char *type, const char *details, JsonObject *customer)
{
  JsonObject *pm = fixture_copy (self, "payment_method");
  JsonObject *billing = json_object_get_object_member (pm, "billing_details");
  g_auto (GStrv) parts = g_strsplit (details ? details : "", ":", -1);
  guint n = g_strv_length (parts);
  g_autofree char *id = new_id (self, "pm");
  g_autofree char *fingerprint = fingerprint_of (type, details ? details : "default");
  JsonObject *method;

#define PART(i, fallback) (n > (i) && *parts[i] != '\0' ? parts[i] : (fallback))

  json_object_set_string_member (pm, "id", id);
  json_object_set_int_member (pm, "created", now_seconds ());
  set_nullable_string (pm, "customer", customer ? get_string (customer, "id") : NULL);
  json_object_set_object_member (pm, "metadata", json_object_new ());
  json_object_set_string_member (pm, "type", type);
  if (customer != NULL)
    {
      set_nullable_string (billing, "email", get_string (customer, "email"));
      set_nullable_string (billing, "name", get_string (customer, "name"));
    }

  if (g_str_equal (type, "card"))
    {
      const char *brand = PART (0, "visa");
      JsonArray *networks = json_array_new ();

      method = object_deep_copy (json_object_get_object_member (pm, "card"));
      json_object_set_string_member (method, "brand", brand);
      json_object_set_string_member (method, "last4", PART (1, "4242"));
      json_object_set_int_member (method, "exp_month", g_ascii_strtoll (PART (2, "12"), NULL, 10));
      json_object_set_int_member (method, "exp_year", g_ascii_strtoll (PART (3, "2034"), NULL, 10));
      json_object_set_string_member (method, "fingerprint", fingerprint);
      json_array_add_string_element (networks, brand);
      json_object_set_array_member (json_object_get_object_member (method, "networks"), "available",
                                    networks);
    }
  else if (g_str_equal (type, "us_bank_account"))
    {
      JsonObject *networks = json_object_new ();
      JsonArray *supported = json_array_new ();

      method = json_object_new ();
      json_object_set_string_member (method, "account_holder_type", "individual");
      json_object_set_string_member (method, "account_type", "checking");
      json_object_set_string_member (method, "bank_name", PART (0, "STRIPE TEST BANK"));
      json_object_set_null_member (method, "financial_connections_account");
      json_object_set_string_member (method, "fingerprint", fingerprint);
      json_object_set_string_member (method, "last4", PART (1, "6789"));
      json_object_set_string_member (networks, "preferred", "ach");
      json_array_add_string_element (supported, "ach");
      json_object_set_array_member (networks, "supported", supported);
      json_object_set_object_member (method, "networks", networks);
      json_object_set_string_member (method, "routing_number", "110000000");
      json_object_set_null_member (method, "status_details");
    }
  else
    {
      JsonObject *generated = json_object_new ();

      g_assert (g_str_equal (type, "sepa_debit"));
      method = json_object_new ();
      json_object_set_string_member (method, "bank_code", "37040044");
      json_object_set_string_member (method, "branch_code", "");
      json_object_set_string_member (method, "country", PART (1, "DE"));
      json_object_set_string_member (method, "fingerprint", fingerprint);
      json_object_set_null_member (generated, "charge");
      json_object_set_null_member (generated, "setup_attempt");
      json_object_set_object_member (method, "generated_from", generated);
      json_object_set_string_member (method, "last4", PART (0, "3000"));
    }
#undef PART

  json_object_remove_member (pm, "card");
  json_object_set_object_member (pm, type, method);
  return store (self, pm);
}

/* The charge's payment_method_details for this payment method. */
static JsonObject *
method_details (JsonObject *charge_fixture, JsonObject *pm)
{
  const char *type = get_string (pm, "type");
  JsonObject *from = json_object_get_object_member (pm, type);
  JsonObject *details = json_object_new ();
  JsonObject *method;

  if (g_str_equal (type, "card"))
    {
      JsonObject *fixture_details
          = json_object_get_object_member (charge_fixture, "payment_method_details");

      method = object_deep_copy (json_object_get_object_member (fixture_details, "card"));
      json_object_set_string_member (method, "brand", get_string (from, "brand"));
      json_object_set_string_member (method, "country", get_string (from, "country"));
      json_object_set_int_member (method, "exp_month",
                                  json_object_get_int_member (from, "exp_month"));
      json_object_set_int_member (method, "exp_year",
                                  json_object_get_int_member (from, "exp_year"));
      json_object_set_string_member (method, "fingerprint", get_string (from, "fingerprint"));
      json_object_set_string_member (method, "last4", get_string (from, "last4"));
      json_object_set_string_member (method, "network", get_string (from, "brand"));
    }
  else
    {
      static const char *const bank_members[] = { "account_holder_type",
                                                  "account_type",
                                                  "bank_name",
                                                  "fingerprint",
                                                  "last4",
                                                  "routing_number",
                                                  NULL };
      static const char *const sepa_members[]
          = { "bank_code", "branch_code", "country", "fingerprint", "last4", NULL };
      const char *const *members = g_str_equal (type, "sepa_debit") ? sepa_members : bank_members;

      method = json_object_new ();
      for (guint i = 0; members[i] != NULL; i++)
        json_object_set_member (method, members[i],
                                node_deep_copy (json_object_get_member (from, members[i])));
      if (g_str_equal (type, "sepa_debit"))
        json_object_set_null_member (method, "mandate");
    }
  json_object_set_object_member (details, type, method);
  json_object_set_string_member (details, "type", type);
  return details;
}

static void
charge_set_succeeded (FakeStripe *self, JsonObject *charge)
{
  JsonObject *outcome = json_object_new ();
  g_autofree char *txn = new_id (self, "txn");

  json_object_set_int_member (charge, "amount_captured",
                              json_object_get_int_member (charge, "amount"));
  json_object_set_string_member (charge, "balance_transaction", txn);
  json_object_set_boolean_member (charge, "captured", TRUE);
  json_object_set_null_member (charge, "failure_code");
  json_object_set_null_member (charge, "failure_message");
  json_object_set_string_member (outcome, "network_status", "approved_by_network");
  json_object_set_null_member (outcome, "reason");
  json_object_set_string_member (outcome, "risk_level", "normal");
  json_object_set_string_member (outcome, "seller_message", "Payment complete.");
  json_object_set_string_member (outcome, "type", "authorized");
  json_object_set_object_member (charge, "outcome", outcome);
  json_object_set_boolean_member (charge, "paid", TRUE);
  json_object_set_string_member (charge, "status", "succeeded");
}

static void
charge_set_failed (JsonObject *charge, const char *code, const char *decline_code,
                   const char *message)
{
  JsonObject *outcome = json_object_new ();
  g_autofree char *seller = g_strdup_printf ("The bank returned the decline code `%s`.",
                                             decline_code ? decline_code : code);

  json_object_set_int_member (charge, "amount_captured", 0);
  json_object_set_null_member (charge, "balance_transaction");
  json_object_set_boolean_member (charge, "captured", FALSE);
  json_object_set_string_member (charge, "failure_code", code);
  json_object_set_string_member (charge, "failure_message", message);
  json_object_set_string_member (outcome, "network_status", "declined_by_network");
  set_nullable_string (outcome, "reason", decline_code);
  json_object_set_string_member (outcome, "risk_level", "normal");
  json_object_set_string_member (outcome, "seller_message", seller);
  json_object_set_string_member (outcome, "type", "issuer_declined");
  json_object_set_object_member (charge, "outcome", outcome);
  json_object_set_boolean_member (charge, "paid", FALSE);
  json_object_set_string_member (charge, "status", "failed");
}

static JsonObject *
make_charge (FakeStripe *self, JsonObject *pi, JsonObject *pm)
{
  JsonObject *charge = fixture_copy (self, "charge");
  JsonObject *fixture = json_object_get_object_member (self->fixtures, "charge");
  JsonObject *refunds = json_object_new ();
  g_autofree char *id = new_id (self, "ch");
  g_autofree char *refunds_url = g_strdup_printf ("/v1/charges/%s/refunds", id);

  json_object_set_string_member (charge, "id", id);
  json_object_set_int_member (charge, "amount", json_object_get_int_member (pi, "amount"));
  json_object_set_int_member (charge, "amount_captured", 0);
  json_object_set_int_member (charge, "amount_refunded", 0);
  json_object_set_null_member (charge, "balance_transaction");
  json_object_set_member (charge, "billing_details",
                          node_deep_copy (json_object_get_member (pm, "billing_details")));
  json_object_set_boolean_member (charge, "captured", FALSE);
  json_object_set_int_member (charge, "created", now_seconds ());
  json_object_set_string_member (charge, "currency", get_string (pi, "currency"));
  json_object_set_string_member (charge, "customer", get_string (pi, "customer"));
  set_nullable_string (charge, "description", get_string (pi, "description"));
  json_object_set_null_member (charge, "failure_code");
  json_object_set_null_member (charge, "failure_message");
  json_object_set_object_member (charge, "metadata",
                                 object_deep_copy (json_object_get_object_member (pi, "metadata")));
  json_object_set_null_member (charge, "outcome");
  json_object_set_boolean_member (charge, "paid", FALSE);
  json_object_set_string_member (charge, "payment_intent", get_string (pi, "id"));
  json_object_set_string_member (charge, "payment_method", get_string (pm, "id"));
  json_object_set_object_member (charge, "payment_method_details", method_details (fixture, pm));
  json_object_set_boolean_member (charge, "refunded", FALSE);
  json_object_set_array_member (refunds, "data", json_array_new ());
  json_object_set_boolean_member (refunds, "has_more", FALSE);
  json_object_set_string_member (refunds, "object", "list");
  json_object_set_int_member (refunds, "total_count", 0);
  json_object_set_string_member (refunds, "url", refunds_url);
  json_object_set_object_member (charge, "refunds", refunds);
  json_object_set_string_member (charge, "status", "pending");
  return store (self, charge);
}

static JsonObject *
payment_error (JsonObject *charge, JsonObject *pm, const char *code, const char *decline_code,
               const char *message)
{
  JsonObject *error = error_object ("card_error", code, NULL, message);

  json_object_set_string_member (error, "charge", get_string (charge, "id"));
  set_nullable_string (error, "decline_code", decline_code);
  json_object_set_object_member (error, "payment_method", object_deep_copy (pm));
  return error;
}

/* The PaymentIntent's attempt failed: back to requires_payment_method. */
static void
fail_payment (JsonObject *pi, JsonObject *charge, JsonObject *pm, const char *code,
              const char *decline_code, const char *message)
{
  charge_set_failed (charge, code, decline_code, message);
  json_object_set_int_member (pi, "amount_received", 0);
  json_object_set_object_member (pi, "last_payment_error",
                                 payment_error (charge, pm, code, decline_code, message));
  json_object_set_string_member (pi, "status", "requires_payment_method");
}

static void
succeed_payment (FakeStripe *self, JsonObject *pi, JsonObject *charge)
{
  charge_set_succeeded (self, charge);
  json_object_set_int_member (pi, "amount_received", json_object_get_int_member (pi, "amount"));
  json_object_set_null_member (pi, "last_payment_error");
  json_object_set_string_member (pi, "status", "succeeded");
}

/* ── webhooks ──────────────────────────────────────────────────────────────────────────── */

static gboolean
pump_cb (gpointer data)
{
  FakeStripe *self = data;
  Delivery *delivery;

  g_mutex_lock (&self->mutex);
  self->pump_scheduled = FALSE;
  if (self->in_flight != NULL || self->stopping)
    {
      g_mutex_unlock (&self->mutex);
      return G_SOURCE_REMOVE;
    }
  delivery = g_queue_pop_head (&self->queue);
  self->in_flight = delivery;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->mutex);

  if (delivery != NULL)
    send_delivery (self, delivery);
  return G_SOURCE_REMOVE;
}

static void
schedule_pump_locked (FakeStripe *self)
{
  GSource *source;

  if (self->pump_scheduled || self->stopping)
    return;
  self->pump_scheduled = TRUE;
  source = g_idle_source_new ();
  g_source_set_callback (source, pump_cb, self, NULL);
  g_source_set_name (source, "[fake-stripe] webhooks");
  g_source_attach (source, self->context);
  g_source_unref (source);
}

/* An event is ready to go out: hold it, queue it, or drop it when there is nowhere to send. */
static void
enqueue_locked (FakeStripe *self, Delivery *delivery)
{
  if (self->stopping)
    {
      delivery_free (delivery);
    }
  else if (self->hold)
    {
      FakeStripeWebhook *webhook = g_new0 (FakeStripeWebhook, 1);

      webhook->id = g_steal_pointer (&delivery->event_id);
      webhook->type = g_steal_pointer (&delivery->type);
      webhook->body = g_steal_pointer (&delivery->body);
      webhook->signature = sign (self->webhook_secret, now_seconds (), webhook->body);
      g_ptr_array_add (self->held, webhook);
      delivery_free (delivery);
    }
  else if (self->webhook_url == NULL)
    {
      delivery_free (delivery);
    }
  else
    {
      g_queue_push_tail (&self->queue, delivery);
      schedule_pump_locked (self);
    }
}

static void
emit_event (FakeStripe *self, const char *type, JsonObject *object, JsonObject *previous)
{
  JsonObject *event = fixture_copy (self, "event");
  JsonObject *data = json_object_new ();
  JsonObject *request = json_object_new ();
  g_autofree char *id = g_strdup_printf ("evt_1%s%08u", self->tag, ++self->event_serial);
  g_autofree char *body = NULL;
  Delivery *delivery;

  json_object_set_object_member (data, "object", object_deep_copy (object));
  if (previous != NULL)
    json_object_set_object_member (data, "previous_attributes", previous);
  set_nullable_string (request, "id", self->request_id);
  set_nullable_string (request, "idempotency_key", self->request_idempotency_key);

  json_object_set_string_member (event, "api_version", FAKE_STRIPE_API_VERSION);
  json_object_set_int_member (event, "created", now_seconds ());
  json_object_set_object_member (event, "data", data);
  json_object_set_string_member (event, "id", id);
  json_object_set_boolean_member (event, "livemode", FALSE);
  json_object_set_string_member (event, "object", "event");
  json_object_set_int_member (event, "pending_webhooks", self->webhook_url ? 1 : 0);
  json_object_set_object_member (event, "request", request);
  json_object_set_string_member (event, "type", type);
  body = to_json (store (self, event));
  g_ptr_array_add (self->event_types, g_strdup (type));

  delivery = delivery_new (self, id, type, body);
  if (self->request_events != NULL)
    g_ptr_array_add (self->request_events, delivery); /* sent once the answer is written */
  else
    enqueue_locked (self, delivery);
}

static void
delivery_finish_attempt (FakeStripe *self, Delivery *delivery, guint status, gboolean answered)
{
  FakeStripeDelivery *record = g_new0 (FakeStripeDelivery, 1);

  record->event_id = g_strdup (delivery->event_id);
  record->type = g_strdup (delivery->type);
  record->attempt = delivery->attempt;
  record->status = status;
  g_clear_object (&delivery->message);

  g_mutex_lock (&self->mutex);
  g_ptr_array_add (self->deliveries, record);
  if (!SOUP_STATUS_IS_SUCCESSFUL (status) && !delivery->direct
      && delivery->attempt < FAKE_STRIPE_WEBHOOK_ATTEMPTS && !self->stopping)
    {
      g_assert (self->retry_source == NULL);
      self->retry_source = g_timeout_source_new (delivery->attempt * FAKE_STRIPE_WEBHOOK_RETRY_MS);
      g_source_set_callback (self->retry_source, retry_cb, self, NULL);
      g_source_set_name (self->retry_source, "[fake-stripe] webhook retry");
      g_source_attach (self->retry_source, self->context);
      g_mutex_unlock (&self->mutex);
      return;
    }
  self->in_flight = NULL;
  if (delivery->direct)
    {
      delivery->status = status;
      delivery->answered = answered;
      delivery->done = TRUE;
    }
  else
    {
      delivery_free (delivery);
    }
  schedule_pump_locked (self);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->mutex);
}

static void
delivery_sent_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Delivery *delivery = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;

  bytes = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  delivery_finish_attempt (delivery->self, delivery,
                           bytes ? soup_message_get_status (delivery->message) : 0, bytes != NULL);
}

static void
send_delivery (FakeStripe *self, Delivery *delivery)
{
  g_autofree char *url = NULL;
  g_autofree char *signature = NULL;
  g_autoptr (GBytes) body = NULL;
  SoupMessageHeaders *headers;

  g_mutex_lock (&self->mutex);
  url = g_strdup (self->webhook_url);
  signature = delivery->signature ? g_strdup (delivery->signature)
                                  : sign (self->webhook_secret, now_seconds (), delivery->body);
  g_mutex_unlock (&self->mutex);

  delivery->attempt++;
  g_clear_object (&delivery->message);
  if (url != NULL)
    delivery->message = soup_message_new (SOUP_METHOD_POST, url);
  if (delivery->message == NULL)
    {
      delivery_finish_attempt (self, delivery, 0, FALSE);
      return;
    }
  headers = soup_message_get_request_headers (delivery->message);
  if (*signature != '\0')
    soup_message_headers_replace (headers, "Stripe-Signature", signature);
  soup_message_headers_replace (headers, "User-Agent",
                                "Stripe/1.0 (+https://stripe.com/docs/webhooks)");
  body = g_bytes_new (delivery->body, strlen (delivery->body));
  soup_message_set_request_body_from_bytes (delivery->message, "application/json; charset=utf-8",
                                            body);
  soup_session_send_and_read_async (self->session, delivery->message, G_PRIORITY_DEFAULT, NULL,
                                    delivery_sent_cb, delivery);
}

static gboolean
retry_cb (gpointer data)
{
  FakeStripe *self = data;
  Delivery *delivery;

  g_mutex_lock (&self->mutex);
  g_clear_pointer (&self->retry_source, g_source_unref);
  delivery = self->in_flight;
  g_mutex_unlock (&self->mutex);

  if (delivery != NULL)
    send_delivery (self, delivery);
  return G_SOURCE_REMOVE;
}

static void
message_finished_cb (SoupServerMessage *msg, gpointer user_data)
{
  FinishData *finish = user_data;
  FakeStripe *self = finish->self;

  g_mutex_lock (&self->mutex);
  g_assert (self->pending_finish > 0);
  self->pending_finish--;
  for (guint i = 0; i < finish->events->len; i++)
    enqueue_locked (self, g_steal_pointer (&finish->events->pdata[i]));
  g_ptr_array_set_size (finish->events, 0);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->mutex);
}

/* ── endpoints (under mutex) ───────────────────────────────────────────────────────────── */

static void
get_resource (FakeStripe *self, const char *id, const char *kind, const char *what, Answer *answer)
{
  JsonObject *object = lookup (self, id, kind);

  if (object == NULL)
    answer_missing (answer, 404, "id", what, id);
  else
    answer_object (answer, object);
}

static void
create_customer (FakeStripe *self, GPtrArray *form, Answer *answer)
{
  g_autoptr (JsonObject) metadata = NULL;
  g_autofree char *id = NULL;
  JsonObject *customer;

  if (!param_metadata (form, &metadata, answer))
    return;
  id = new_id (self, "cus");
  customer = fixture_copy (self, "customer");
  json_object_set_int_member (customer, "created", now_seconds ());
  set_nullable_string (customer, "description", form_get (form, "description"));
  set_nullable_string (customer, "email", form_get (form, "email"));
  json_object_set_string_member (customer, "id", id);
  json_object_set_object_member (customer, "metadata", g_steal_pointer (&metadata));
  set_nullable_string (customer, "name", form_get (form, "name"));
  set_nullable_string (customer, "phone", form_get (form, "phone"));
  answer_object (answer, store (self, customer));
}

static void
update_customer (FakeStripe *self, const char *id, GPtrArray *form, Answer *answer)
{
  static const char *const fields[] = { "description", "email", "name", "phone", NULL };
  JsonObject *customer = lookup (self, id, "customer");
  g_autoptr (JsonObject) metadata = NULL;
  const char *default_pm;
  JsonObjectIter iter;
  const char *name;
  JsonNode *value;

  if (customer == NULL)
    {
      answer_missing (answer, 404, "id", "customer", id);
      return;
    }
  if (!param_metadata (form, &metadata, answer))
    return;
  default_pm = form_get (form, "invoice_settings[default_payment_method]");
  if (default_pm != NULL && *default_pm != '\0'
      && (lookup (self, default_pm, "payment_method") == NULL
          || g_strcmp0 (get_string (lookup (self, default_pm, "payment_method"), "customer"), id)
                 != 0))
    {
      answer_error (answer, 400, "invalid_request_error", "resource_missing",
                    "invoice_settings[default_payment_method]",
                    "The customer does not have a payment method with the ID %s. The payment "
                    "method must be attached to the customer.",
                    default_pm);
      return;
    }

  for (guint i = 0; fields[i] != NULL; i++)
    {
      const char *text = form_get (form, fields[i]);

      if (text != NULL)
        set_nullable_string (customer, fields[i], *text ? text : NULL);
    }
  json_object_iter_init (&iter, metadata);
  while (json_object_iter_next (&iter, &name, &value))
    {
      JsonObject *current = json_object_get_object_member (customer, "metadata");

      if (*json_node_get_string (value) == '\0')
        json_object_remove_member (current, name);
      else
        json_object_set_string_member (current, name, json_node_get_string (value));
    }
  if (default_pm != NULL)
    set_nullable_string (json_object_get_object_member (customer, "invoice_settings"),
                         "default_payment_method", *default_pm ? default_pm : NULL);
  answer_object (answer, customer);
}

static gboolean
supported_method_type (const char *type)
{
  return g_strcmp0 (type, "card") == 0 || g_strcmp0 (type, "us_bank_account") == 0
         || g_strcmp0 (type, "sepa_debit") == 0;
}

static void
create_checkout_session (FakeStripe *self, GPtrArray *form, Answer *answer)
{
  const char *mode, *success_url, *customer_id = form_get (form, "customer");
  g_autofree char *currency = NULL;
  g_autoptr (JsonObject) metadata = NULL;
  g_autoptr (GPtrArray) types = form_get_list (form, "payment_method_types");
  g_autofree char *session_id = NULL, *seti_id = NULL, *secret = NULL, *url = NULL;
  JsonObject *session, *seti;
  gint64 now = now_seconds ();

  if (!param_required (form, "mode", &mode, answer)
      || !param_required (form, "success_url", &success_url, answer)
      || !param_currency (form, FALSE, &currency, answer)
      || !param_metadata (form, &metadata, answer))
    return;
  if (!g_str_equal (mode, "setup"))
    {
      answer_error (answer, 400, "invalid_request_error", NULL, "mode",
                    "fake-stripe only supports mode=setup, not %s", mode);
      return;
    }
  if (customer_id != NULL && lookup (self, customer_id, "customer") == NULL)
    {
      answer_missing (answer, 400, "customer", "customer", customer_id);
      return;
    }
  if (types->len == 0)
    g_ptr_array_add (types, g_strdup ("card"));
  for (guint i = 0; i < types->len; i++)
    {
      if (!supported_method_type (g_ptr_array_index (types, i)))
        {
          g_autofree char *param = g_strdup_printf ("payment_method_types[%u]", i);

          answer_error (answer, 400, "invalid_request_error", NULL, param,
                        "Invalid %s: must be one of card, us_bank_account or sepa_debit "
                        "(the types fake-stripe knows)",
                        param);
          return;
        }
    }

  seti_id = new_id (self, "seti");
  secret = g_strdup_printf ("%s_secret_%s", seti_id, self->tag);
  seti = fixture_copy (self, "setup_intent");
  json_object_set_string_member (seti, "client_secret", secret);
  json_object_set_int_member (seti, "created", now);
  set_nullable_string (seti, "customer", customer_id);
  json_object_set_string_member (seti, "id", seti_id);
  json_object_set_object_member (seti, "metadata", json_object_new ());
  json_object_set_null_member (seti, "payment_method");
  json_object_set_array_member (seti, "payment_method_types", string_array (types));
  json_object_set_string_member (seti, "status", "requires_payment_method");
  json_object_set_string_member (seti, "usage", "off_session");
  store (self, seti);

  session_id = new_id (self, "cs_test_a1");
  url = g_strdup_printf ("%s/pay/%s", self->url, session_id);
  session = fixture_copy (self, "checkout.session");
  json_object_set_null_member (session, "amount_subtotal");
  json_object_set_null_member (session, "amount_total");
  set_nullable_string (session, "cancel_url", form_get (form, "cancel_url"));
  set_nullable_string (session, "client_reference_id", form_get (form, "client_reference_id"));
  json_object_set_int_member (session, "created", now);
  set_nullable_string (session, "currency", currency);
  set_nullable_string (session, "customer", customer_id);
  json_object_set_null_member (session, "customer_details");
  json_object_set_int_member (session, "expires_at", now + 24 * 3600);
  json_object_set_string_member (session, "id", session_id);
  json_object_set_object_member (session, "metadata", g_steal_pointer (&metadata));
  json_object_set_string_member (session, "mode", "setup");
  json_object_set_null_member (session, "payment_intent");
  json_object_set_array_member (session, "payment_method_types", string_array (types));
  json_object_set_string_member (session, "payment_status", "no_payment_required");
  json_object_set_string_member (session, "setup_intent", seti_id);
  json_object_set_string_member (session, "status", "open");
  json_object_set_string_member (session, "success_url", success_url);
  json_object_set_string_member (session, "url", url);
  answer_object (answer, store (self, session));
}

static void
detach_payment_method (FakeStripe *self, const char *id, Answer *answer)
{
  JsonObject *pm = lookup (self, id, "payment_method");
  JsonObject *previous, *customer;

  if (pm == NULL)
    {
      answer_missing (answer, 404, "id", "PaymentMethod", id);
      return;
    }
  customer = lookup (self, get_string (pm, "customer"), "customer");
  if (get_string (pm, "customer") == NULL)
    {
      answer_invalid (answer, NULL, NULL,
                      "The payment method you provided is not attached to a customer so "
                      "detachment is impossible.");
      return;
    }
  if (customer != NULL)
    {
      JsonObject *settings = json_object_get_object_member (customer, "invoice_settings");

      if (g_strcmp0 (get_string (settings, "default_payment_method"), id) == 0)
        json_object_set_null_member (settings, "default_payment_method");
    }
  previous = json_object_new ();
  json_object_set_string_member (previous, "customer", get_string (pm, "customer"));
  json_object_set_null_member (pm, "customer");
  emit_event (self, "payment_method.detached", pm, previous);
  answer_object (answer, pm);
}

static FakeStripeBehaviour
behaviour_of (FakeStripe *self, const char *pm_id)
{
  gpointer value = g_hash_table_lookup (self->behaviours, pm_id);

  return value ? (FakeStripeBehaviour) (GPOINTER_TO_INT (value) - 1) : FAKE_STRIPE_SUCCEED;
}

static void
create_payment_intent (FakeStripe *self, GPtrArray *form, Answer *answer)
{
  gint64 amount;
  g_autofree char *currency = NULL;
  const char *customer_id, *pm_id, *pm_type;
  gboolean confirm, off_session;
  g_autoptr (JsonObject) metadata = NULL;
  g_autoptr (GPtrArray) types = form_get_list (form, "payment_method_types");
  g_autofree char *id = NULL, *secret = NULL;
  JsonObject *pm, *pi, *charge;
  gboolean type_allowed = types->len == 0;

  if (!param_amount (form, "amount", TRUE, &amount, answer)
      || !param_currency (form, TRUE, &currency, answer)
      || !param_required (form, "customer", &customer_id, answer)
      || !param_required (form, "payment_method", &pm_id, answer)
      || !param_bool (form, "confirm", &confirm, answer)
      || !param_bool (form, "off_session", &off_session, answer)
      || !param_metadata (form, &metadata, answer))
    return;
  if ((g_str_equal (currency, "usd") || g_str_equal (currency, "eur")) && amount < 50)
    {
      g_autofree char *minimum = format_amount (50, currency);

      answer_error (answer, 400, "invalid_request_error", "amount_too_small", "amount",
                    "Amount must be at least %s %s", minimum, currency);
      return;
    }
  if (amount > 99999999)
    {
      answer_invalid (answer, "amount_too_large", "amount",
                      "Amount must be no more than 999,999.99");
      return;
    }
  if (lookup (self, customer_id, "customer") == NULL)
    {
      answer_missing (answer, 400, "customer", "customer", customer_id);
      return;
    }
  pm = lookup (self, pm_id, "payment_method");
  if (pm == NULL)
    {
      answer_missing (answer, 400, "payment_method", "PaymentMethod", pm_id);
      return;
    }
  if (get_string (pm, "customer") == NULL)
    {
      answer_invalid (answer, NULL, "payment_method",
                      "The provided PaymentMethod was previously used with a PaymentIntent "
                      "without Customer attachment, shared with a connected account without "
                      "Customer attachment, or was detached from a Customer. It may not be used "
                      "again. To use a PaymentMethod multiple times, you must attach it to a "
                      "Customer first.");
      return;
    }
  if (!g_str_equal (get_string (pm, "customer"), customer_id))
    {
      answer_error (answer, 400, "invalid_request_error", NULL, "payment_method",
                    "The PaymentMethod %s does not belong to the Customer %s. Please use the "
                    "Customer that the PaymentMethod is attached to.",
                    pm_id, customer_id);
      return;
    }
  pm_type = get_string (pm, "type");
  for (guint i = 0; i < types->len; i++)
    type_allowed |= g_str_equal (g_ptr_array_index (types, i), pm_type);
  if (!type_allowed)
    {
      g_autofree char *allowed = NULL;

      g_ptr_array_add (types, NULL);
      allowed = g_strjoinv (", ", (char **) types->pdata);
      answer_error (answer, 400, "invalid_request_error", NULL, "payment_method",
                    "The PaymentMethod provided (%s) is not allowed for this PaymentIntent. "
                    "Please attach a PaymentMethod of one of the following types: %s. "
                    "Alternatively, update the allowed payment_method_types for this "
                    "PaymentIntent to include \"%s\".",
                    pm_type, allowed, pm_type);
      return;
    }
  if ((g_str_equal (pm_type, "sepa_debit") && !g_str_equal (currency, "eur"))
      || (g_str_equal (pm_type, "us_bank_account") && !g_str_equal (currency, "usd")))
    {
      answer_error (answer, 400, "invalid_request_error", NULL, "currency",
                    "The currency provided (%s) is invalid for one or more payment method "
                    "types on this PaymentIntent (%s).",
                    currency, pm_type);
      return;
    }
  if (types->len == 0)
    g_ptr_array_add (types, g_strdup (pm_type));

  id = new_id (self, "pi");
  secret = g_strdup_printf ("%s_secret_%s", id, self->tag);
  pi = fixture_copy (self, "payment_intent");
  json_object_set_int_member (pi, "amount", amount);
  json_object_set_int_member (pi, "amount_capturable", 0);
  json_object_set_int_member (pi, "amount_received", 0);
  json_object_set_null_member (pi, "canceled_at");
  json_object_set_null_member (pi, "cancellation_reason");
  json_object_set_string_member (pi, "client_secret", secret);
  json_object_set_int_member (pi, "created", now_seconds ());
  json_object_set_string_member (pi, "currency", currency);
  json_object_set_string_member (pi, "customer", customer_id);
  set_nullable_string (pi, "description", form_get (form, "description"));
  json_object_set_string_member (pi, "id", id);
  json_object_set_null_member (pi, "last_payment_error");
  json_object_set_null_member (pi, "latest_charge");
  json_object_set_object_member (pi, "metadata", g_steal_pointer (&metadata));
  json_object_set_null_member (pi, "next_action");
  json_object_set_string_member (pi, "payment_method", pm_id);
  json_object_set_array_member (pi, "payment_method_types", string_array (types));
  json_object_set_null_member (pi, "processing");
  set_nullable_string (pi, "receipt_email", form_get (form, "receipt_email"));
  json_object_set_string_member (pi, "status", "requires_confirmation");
  store (self, pi);
  if (!confirm)
    {
      answer_object (answer, pi);
      return;
    }

  charge = make_charge (self, pi, pm);
  json_object_set_string_member (pi, "latest_charge", get_string (charge, "id"));
  switch (behaviour_of (self, pm_id))
    {
      case FAKE_STRIPE_SUCCEED:
        succeed_payment (self, pi, charge);
        emit_event (self, "payment_intent.succeeded", pi, NULL);
        answer_object (answer, pi);
        break;
      case FAKE_STRIPE_PROCESSING:
        json_object_set_string_member (pi, "status", "processing");
        emit_event (self, "payment_intent.processing", pi, NULL);
        answer_object (answer, pi);
        break;
        case FAKE_STRIPE_DECLINE: {
          JsonObject *error;

          fail_payment (pi, charge, pm, "card_declined", "insufficient_funds",
                        "Your card has insufficient funds.");
          emit_event (self, "payment_intent.payment_failed", pi, NULL);
          answer_clear (answer);
          error = payment_error (charge, pm, "card_declined", "insufficient_funds",
                                 "Your card has insufficient funds.");
          json_object_set_object_member (error, "payment_intent", object_deep_copy (pi));
          answer->status = 402;
          answer->body = json_object_new ();
          json_object_set_object_member (answer->body, "error", error);
          answer->save = TRUE;
          break;
        }
      default:
        g_assert_not_reached ();
    }
}

static void
create_refund (FakeStripe *self, GPtrArray *form, Answer *answer)
{
  const char *pi_id = form_get (form, "payment_intent");
  const char *charge_id = form_get (form, "charge");
  const char *reason = form_get (form, "reason");
  JsonObject *charge = NULL, *refund, *refunds, *previous;
  g_autoptr (JsonObject) metadata = NULL;
  g_autofree char *id = NULL, *txn = NULL;
  gint64 amount, remaining, charged, refunded;
  JsonArray *old_data, *data;

  if (pi_id == NULL && charge_id == NULL)
    {
      answer_invalid (answer, "parameter_missing", NULL,
                      "Must provide either `charge` or `payment_intent`.");
      return;
    }
  if (pi_id != NULL)
    {
      JsonObject *pi = lookup (self, pi_id, "payment_intent");

      if (pi == NULL)
        {
          answer_missing (answer, 400, "payment_intent", "payment_intent", pi_id);
          return;
        }
      charge = lookup (self, get_string (pi, "latest_charge"), "charge");
      if (charge == NULL)
        {
          answer_error (
              answer, 400, "invalid_request_error", "charge_not_refundable", "payment_intent",
              "This PaymentIntent (%s) does not have a successful charge to refund.", pi_id);
          return;
        }
    }
  if (charge_id != NULL)
    {
      JsonObject *named = lookup (self, charge_id, "charge");

      if (named == NULL)
        {
          answer_missing (answer, 400, "charge", "charge", charge_id);
          return;
        }
      if (charge != NULL && charge != named)
        {
          answer_error (answer, 400, "invalid_request_error", NULL, "charge",
                        "The charge %s does not belong to the PaymentIntent %s.", charge_id, pi_id);
          return;
        }
      charge = named;
    }
  if (!g_str_equal (get_string (charge, "status"), "succeeded"))
    {
      answer_error (answer, 400, "invalid_request_error", "charge_not_refundable", NULL,
                    "Charge %s is %s and cannot be refunded.", get_string (charge, "id"),
                    get_string (charge, "status"));
      return;
    }
  charged = json_object_get_int_member (charge, "amount");
  refunded = json_object_get_int_member (charge, "amount_refunded");
  remaining = charged - refunded;
  if (remaining <= 0)
    {
      answer_error (answer, 400, "invalid_request_error", "charge_already_refunded", NULL,
                    "Charge %s has already been refunded.", get_string (charge, "id"));
      return;
    }
  if (!param_amount (form, "amount", FALSE, &amount, answer)
      || !param_metadata (form, &metadata, answer))
    return;
  if (amount < 0)
    amount = remaining;
  if (amount > remaining)
    {
      g_autofree char *asked = format_amount (amount, get_string (charge, "currency"));
      g_autofree char *left = format_amount (remaining, get_string (charge, "currency"));

      answer_error (answer, 400, "invalid_request_error", "amount_too_large", "amount",
                    "Refund amount (%s) is greater than unrefunded amount on charge (%s)", asked,
                    left);
      return;
    }
  if (reason != NULL && !g_str_equal (reason, "duplicate") && !g_str_equal (reason, "fraudulent")
      && !g_str_equal (reason, "requested_by_customer"))
    {
      answer_error (answer, 400, "invalid_request_error", NULL, "reason",
                    "Invalid reason: must be one of duplicate, fraudulent, or "
                    "requested_by_customer");
      return;
    }

  id = new_id (self, "re");
  txn = new_id (self, "txn");
  refund = fixture_copy (self, "refund");
  json_object_set_int_member (refund, "amount", amount);
  json_object_set_string_member (refund, "balance_transaction", txn);
  json_object_set_string_member (refund, "charge", get_string (charge, "id"));
  json_object_set_int_member (refund, "created", now_seconds ());
  json_object_set_string_member (refund, "currency", get_string (charge, "currency"));
  json_object_set_string_member (refund, "id", id);
  json_object_set_object_member (refund, "metadata", g_steal_pointer (&metadata));
  set_nullable_string (refund, "payment_intent", get_string (charge, "payment_intent"));
  set_nullable_string (refund, "reason", reason);
  json_object_set_string_member (refund, "status", "succeeded");
  store (self, refund);

  previous = json_object_new ();
  json_object_set_int_member (previous, "amount_refunded", refunded);
  if (refunded + amount == charged)
    json_object_set_boolean_member (previous, "refunded", FALSE);
  json_object_set_int_member (charge, "amount_refunded", refunded + amount);
  json_object_set_boolean_member (charge, "refunded", refunded + amount == charged);
  refunds = json_object_get_object_member (charge, "refunds");
  old_data = json_object_get_array_member (refunds, "data");
  data = json_array_new ();
  json_array_add_object_element (data, object_deep_copy (refund)); /* newest first */
  for (guint i = 0; i < json_array_get_length (old_data); i++)
    json_array_add_element (data, node_deep_copy (json_array_get_element (old_data, i)));
  json_object_set_array_member (refunds, "data", data);
  json_object_set_int_member (refunds, "total_count", json_array_get_length (data));
  emit_event (self, "charge.refunded", charge, previous);
  answer_object (answer, refund);
}

static void
route (FakeStripe *self, const char *method, const char *path, GPtrArray *form, Answer *answer)
{
  g_auto (GStrv) segments = g_strsplit (path + strlen ("/v1/"), "/", -1);
  guint n = g_strv_length (segments);
  gboolean post = g_str_equal (method, "POST"), get = g_str_equal (method, "GET");

#define IS(i, name) (n > (i) && g_str_equal (segments[i], name))

  if (n == 1 && post && IS (0, "customers"))
    create_customer (self, form, answer);
  else if (n == 2 && get && IS (0, "customers"))
    get_resource (self, segments[1], "customer", "customer", answer);
  else if (n == 2 && post && IS (0, "customers"))
    update_customer (self, segments[1], form, answer);
  else if (n == 2 && post && IS (0, "checkout") && IS (1, "sessions"))
    create_checkout_session (self, form, answer);
  else if (n == 3 && get && IS (0, "checkout") && IS (1, "sessions"))
    get_resource (self, segments[2], "checkout.session", "checkout.session", answer);
  else if (n == 2 && get && IS (0, "setup_intents"))
    get_resource (self, segments[1], "setup_intent", "setupintent", answer);
  else if (n == 2 && get && IS (0, "payment_methods"))
    get_resource (self, segments[1], "payment_method", "PaymentMethod", answer);
  else if (n == 3 && post && IS (0, "payment_methods") && IS (2, "detach"))
    detach_payment_method (self, segments[1], answer);
  else if (n == 1 && post && IS (0, "payment_intents"))
    create_payment_intent (self, form, answer);
  else if (n == 2 && get && IS (0, "payment_intents"))
    get_resource (self, segments[1], "payment_intent", "payment_intent", answer);
  else if (n == 2 && get && IS (0, "charges"))
    get_resource (self, segments[1], "charge", "charge", answer);
  else if (n == 1 && post && IS (0, "refunds"))
    create_refund (self, form, answer);
  else if (n == 2 && get && IS (0, "refunds"))
    get_resource (self, segments[1], "refund", "refund", answer);
  else if (n == 2 && get && IS (0, "events"))
    get_resource (self, segments[1], "event", "event", answer);
  else
    answer_error (answer, 404, "invalid_request_error", NULL, NULL,
                  "Unrecognized request URL (%s: %s). Please see https://stripe.com/docs or "
                  "we can help at https://support.stripe.com/.",
                  method, path);
#undef IS
}

/* ── the server (fake's thread) ────────────────────────────────────────────────────────── */

static void
reply_from_answer (Reply *reply, Answer *answer)
{
  reply->status = answer->status;
  reply->body = to_json (answer->body);
  reply->content_type = "application/json";
}

static void
reply_failure (Reply *reply, guint status)
{
  g_autoptr (JsonObject) body = json_object_new ();

  g_clear_pointer (&reply->body, g_free);
  reply->status = status;
  reply->replayed = FALSE;
  reply->content_type = "application/json";
  if (status == 0)
    return;
  if (status == 429)
    {
      reply->retry_after = TRUE;
      json_object_set_object_member (body, "error",
                                     error_object ("invalid_request_error", "rate_limit", NULL,
                                                   "Too many requests hit the API too quickly. "
                                                   "We recommend an exponential backoff of your "
                                                   "requests."));
    }
  else
    {
      json_object_set_object_member (body, "error",
                                     error_object ("api_error", NULL, NULL,
                                                   "Something went wrong on Stripe's end. "
                                                   "(fake-stripe: injected failure)"));
    }
  reply->body = to_json (body);
}

static gboolean
check_auth (FakeStripe *self, const char *authorization, Answer *answer)
{
  const char *key;

  if (authorization == NULL || *authorization == '\0')
    {
      answer_error (answer, 401, "invalid_request_error", NULL, NULL,
                    "You did not provide an API key. You need to provide your API key in the "
                    "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                    "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for "
                    "details, or we can help at https://support.stripe.com/.");
      return FALSE;
    }
  key = g_str_has_prefix (authorization, "Bearer ") ? authorization + strlen ("Bearer ") : NULL;
  if (key == NULL
      || (self->api_key != NULL ? !g_str_equal (key, self->api_key)
                                : !g_str_has_prefix (key, "sk_test_")))
    {
      gsize len = key ? strlen (key) : 0;
      g_autofree char *masked
          = len > 12 ? g_strdup_printf ("%.8s****%s", key, key + len - 4) : g_strdup ("****");

      answer_error (answer, 401, "invalid_request_error", NULL, NULL,
                    "Invalid API Key provided: %s", masked);
      return FALSE;
    }
  return TRUE;
}

static void
handle_api (FakeStripe *self, const char *method, const char *path, SoupMessageHeaders *headers,
            const char *body, const char *request_id, GPtrArray *events, Reply *reply)
{
  const char *authorization = soup_message_headers_get_one (headers, "Authorization");
  const char *key = soup_message_headers_get_one (headers, "Idempotency-Key");
  const char *content_type = soup_message_headers_get_content_type (headers, NULL);
  gboolean post = g_str_equal (method, "POST");
  g_autoptr (GPtrArray) form = NULL;
  g_autofree char *fingerprint = NULL, *saved_key = NULL;
  Answer answer = { 0 };

  if (failure_take (&self->fail, method, path))
    {
      reply_failure (reply, self->fail.status);
      return;
    }
  if (!check_auth (self, authorization, &answer))
    goto out;
  if (post && *body != '\0' && g_strcmp0 (content_type, "application/x-www-form-urlencoded") != 0)
    {
      answer_error (&answer, 400, "invalid_request_error", NULL, NULL,
                    "Invalid request: the body must be application/x-www-form-urlencoded, not %s",
                    content_type ? content_type : "(none)");
      goto out;
    }
  form = form_parse (post ? body : "");
  if (form == NULL)
    {
      answer_invalid (&answer, NULL, NULL, "Invalid request: the form body could not be decoded.");
      goto out;
    }

  if (post && key != NULL)
    {
      Saved *saved;

      fingerprint = form_fingerprint (method, path, form);
      saved_key = g_strdup_printf ("%s\n%s", authorization, key);
      saved = g_hash_table_lookup (self->idempotency, saved_key);
      if (saved != NULL && g_str_equal (saved->fingerprint, fingerprint))
        {
          reply->status = saved->status;
          reply->body = g_strdup (saved->body);
          reply->content_type = "application/json";
          reply->request_id = saved->request_id;
          reply->replayed = TRUE;
          goto lose;
        }
      if (saved != NULL)
        {
          answer_error (&answer, 400, "idempotency_error", NULL, NULL,
                        "Keys for idempotent requests can only be used with the same parameters "
                        "they were first used with. Try using a key other than '%s' if you meant "
                        "to execute a different request.",
                        key);
          goto out;
        }
    }

  self->request_id = request_id;
  self->request_idempotency_key = post ? key : NULL;
  self->request_events = events;
  route (self, method, path, form, &answer);
  self->request_id = NULL;
  self->request_idempotency_key = NULL;
  self->request_events = NULL;

  if (post && key != NULL && answer.save)
    {
      Saved *saved = g_new0 (Saved, 1);

      saved->fingerprint = g_steal_pointer (&fingerprint);
      saved->status = answer.status;
      saved->body = to_json (answer.body);
      saved->request_id = g_strdup (request_id);
      g_hash_table_replace (self->idempotency, g_steal_pointer (&saved_key), saved);
    }

out:
  reply_from_answer (reply, &answer);
  answer_clear (&answer);
lose:
  if (failure_take (&self->lose, method, path))
    reply_failure (reply, self->lose.status);
}

static void
handle_pay_page (FakeStripe *self, const char *method, const char *path, Reply *reply)
{
  JsonObject *session = lookup (self, path + strlen ("/pay/"), "checkout.session");

  reply->content_type = "text/html; charset=utf-8";
  if (session == NULL || !g_str_equal (method, "GET"))
    {
      reply->status = 404;
      reply->body = g_strdup ("<!DOCTYPE html>\n<title>Not found</title>\n<p>No such page.</p>\n");
      return;
    }
  reply->status = 200;
  reply->body
      = g_markup_printf_escaped ("<!DOCTYPE html>\n<title>Fake Stripe Checkout</title>\n"
                                 "<h1>Set up a payment method</h1>\n"
                                 "<p id=\"session\">%s</p>\n<p id=\"status\">%s</p>\n",
                                 get_string (session, "id"), get_string (session, "status"));
}

static void
server_cb (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
           gpointer user_data)
{
  FakeStripe *self = user_data;
  const char *method = soup_server_message_get_method (msg);
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *response_headers = soup_server_message_get_response_headers (msg);
  g_autoptr (GBytes) bytes = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  g_autoptr (GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) delivery_free);
  const char *version = soup_message_headers_get_one (headers, "Stripe-Version");
  const char *key = soup_message_headers_get_one (headers, "Idempotency-Key");
  g_autofree char *request_id = NULL;
  FakeStripeRequest *record = g_new0 (FakeStripeRequest, 1);
  Reply reply = { 0 };
  gsize length = 0;
  const char *data = g_bytes_get_data (bytes, &length);

  record->method = g_strdup (method);
  record->path = g_strdup (path);
  record->query = g_strdup (g_uri_get_query (soup_server_message_get_uri (msg)));
  record->stripe_version = g_strdup (version);
  record->idempotency_key = g_strdup (key);
  record->authorization = g_strdup (soup_message_headers_get_one (headers, "Authorization"));
  record->content_type = g_strdup (soup_message_headers_get_one (headers, "Content-Type"));
  record->body = g_strndup (data ? data : "", length);

  g_mutex_lock (&self->mutex);
  g_ptr_array_add (self->requests, record);
  request_id = new_id (self, "req");
  reply.request_id = request_id;
  if (g_str_has_prefix (path, "/v1/"))
    {
      handle_api (self, method, path, headers, record->body, request_id, events, &reply);
    }
  else if (g_str_has_prefix (path, "/pay/"))
    {
      handle_pay_page (self, method, path, &reply);
    }
  else
    {
      Answer answer = { 0 };

      answer_error (&answer, 404, "invalid_request_error", NULL, NULL,
                    "Unrecognized request URL (%s: %s).", method, path);
      reply_from_answer (&reply, &answer);
      answer_clear (&answer);
    }
  record->status = reply.status;
  record->response = g_strdup (reply.body);
  if (reply.status == 0)
    {
      for (guint i = 0; i < events->len; i++)
        enqueue_locked (self, g_steal_pointer (&events->pdata[i]));
      g_ptr_array_set_size (events, 0);
    }
  else if (events->len > 0)
    {
      self->pending_finish++;
    }
  g_mutex_unlock (&self->mutex);

  if (reply.status == 0)
    {
      g_autoptr (GIOStream) stream = soup_server_message_steal_connection (msg);

      if (stream != NULL)
        g_io_stream_close (stream, NULL, NULL);
      return;
    }

  soup_server_message_set_status (msg, reply.status, NULL);
  soup_message_headers_replace (response_headers, "Request-Id", reply.request_id);
  soup_message_headers_replace (response_headers, "Stripe-Version",
                                version ? version : FAKE_STRIPE_API_VERSION);
  if (key != NULL && g_str_equal (method, "POST"))
    soup_message_headers_replace (response_headers, "Idempotency-Key", key);
  if (reply.replayed)
    soup_message_headers_replace (response_headers, "Idempotent-Replayed", "true");
  if (reply.retry_after)
    soup_message_headers_replace (response_headers, "Retry-After", "1");
  length = strlen (reply.body);
  soup_server_message_set_response (msg, reply.content_type, SOUP_MEMORY_TAKE,
                                    g_steal_pointer (&reply.body), length);

  if (events->len > 0)
    {
      FinishData *finish = g_new0 (FinishData, 1);

      finish->self = self;
      finish->events = g_steal_pointer (&events);
      g_signal_connect_data (msg, "finished", G_CALLBACK (message_finished_cb), finish,
                             finish_data_free, 0);
    }
}

static gboolean
quit_cb (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

static gpointer
thread_main (gpointer data)
{
  FakeStripe *self = data;
  g_autoptr (GError) error = NULL;
  GSList *uris;
  guint port;

  g_main_context_push_thread_default (self->context);
  self->server = soup_server_new ("server-header", "fake-stripe", NULL);
  soup_server_add_handler (self->server, NULL, server_cb, self, NULL);
  if (!soup_server_listen_local (self->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
    g_error ("fake-stripe: cannot listen on 127.0.0.1: %s", error->message);
  uris = soup_server_get_uris (self->server);
  g_assert (uris != NULL);
  port = g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  self->session = g_object_new (SOUP_TYPE_SESSION, "timeout", 10, "proxy-resolver", NULL, NULL);

  g_mutex_lock (&self->mutex);
  self->url = g_strdup_printf ("http://127.0.0.1:%u", port);
  self->ready = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->mutex);

  g_main_loop_run (self->loop);

  soup_server_disconnect (self->server);
  g_clear_object (&self->server);
  soup_session_abort (self->session);
  while (g_main_context_iteration (self->context, FALSE))
    ;
  g_clear_object (&self->session);
  while (g_main_context_iteration (self->context, FALSE))
    ;
  g_main_context_pop_thread_default (self->context);
  return NULL;
}

/* ── public API ────────────────────────────────────────────────────────────────────────── */

gboolean
fake_stripe_available (char **reason)
{
  g_autofree char *dir = stripe_dir ();
  g_autofree char *path = g_build_filename (dir, STRIPE_FIXTURES, NULL);

  if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return TRUE;
  if (reason != NULL)
    *reason = g_strdup_printf ("Stripe's fixtures are not at %s (set PURSER_STRIPE_DIR)", path);
  return FALSE;
}

FakeStripe *
fake_stripe_start (void)
{
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  g_autofree char *dir = stripe_dir ();
  g_autofree char *path = g_build_filename (dir, STRIPE_FIXTURES, NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  FakeStripe *self;
  JsonNode *root;
  JsonObject *resources;

  if (!json_parser_load_from_file (parser, path, &error))
    g_error ("fake-stripe: cannot load Stripe's fixtures: %s", error->message);
  root = json_parser_get_root (parser);
  resources = JSON_NODE_HOLDS_OBJECT (root)
                  ? json_object_get_object_member (json_node_get_object (root), "resources")
                  : NULL;
  if (resources == NULL)
    g_error ("fake-stripe: %s has no \"resources\"", path);

  self = g_new0 (FakeStripe, 1);
  g_mutex_init (&self->mutex);
  g_cond_init (&self->cond);
  self->fixtures = json_object_ref (resources);
  self->tag = g_malloc0 (7);
  for (guint i = 0; i < 6; i++)
    self->tag[i] = alphabet[g_random_int_range (0, sizeof alphabet - 1)];
  self->objects
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) json_node_unref);
  self->behaviours = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->idempotency
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) saved_free);
  self->requests = g_ptr_array_new_with_free_func ((GDestroyNotify) fake_stripe_request_free);
  self->deliveries = g_ptr_array_new_with_free_func ((GDestroyNotify) fake_stripe_delivery_free);
  self->event_types = g_ptr_array_new_with_free_func (g_free);
  self->held = g_ptr_array_new_with_free_func ((GDestroyNotify) fake_stripe_webhook_free);
  g_queue_init (&self->queue);
  self->context = g_main_context_new ();
  self->loop = g_main_loop_new (self->context, FALSE);

  g_mutex_lock (&self->mutex);
  self->thread = g_thread_new ("fake-stripe", thread_main, self);
  while (!self->ready)
    g_cond_wait (&self->cond, &self->mutex);
  g_mutex_unlock (&self->mutex);
  return self;
}

void
fake_stripe_stop (FakeStripe *self)
{
  GSource *source;
  Delivery *delivery;

  if (self == NULL)
    return;

  g_mutex_lock (&self->mutex);
  self->stopping = TRUE;
  if (self->retry_source != NULL)
    g_source_destroy (self->retry_source);
  g_clear_pointer (&self->retry_source, g_source_unref);
  g_mutex_unlock (&self->mutex);

  source = g_idle_source_new ();
  g_source_set_callback (source, quit_cb, self->loop, NULL);
  g_source_attach (source, self->context);
  g_source_unref (source);
  g_thread_join (self->thread);

  if (self->in_flight != NULL && !self->in_flight->direct)
    delivery_free (self->in_flight);
  while ((delivery = g_queue_pop_head (&self->queue)) != NULL)
    {
      if (!delivery->direct)
        delivery_free (delivery);
    }
  g_main_loop_unref (self->loop);
  g_main_context_unref (self->context);
  json_object_unref (self->fixtures);
  g_hash_table_unref (self->objects);
  g_hash_table_unref (self->behaviours);
  g_hash_table_unref (self->idempotency);
  g_ptr_array_unref (self->requests);
  g_ptr_array_unref (self->deliveries);
  g_ptr_array_unref (self->event_types);
  g_ptr_array_unref (self->held);
  failure_set (&self->fail, NULL, NULL, 0, 0);
  failure_set (&self->lose, NULL, NULL, 0, 0);
  g_free (self->api_key);
  g_free (self->webhook_url);
  g_free (self->webhook_secret);
  g_free (self->url);
  g_free (self->tag);
  g_mutex_clear (&self->mutex);
  g_cond_clear (&self->cond);
  g_free (self);
}

const char *
fake_stripe_url (FakeStripe *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->url;
}

void
fake_stripe_set_api_key (FakeStripe *self, const char *key)
{
  g_return_if_fail (self != NULL);
  g_mutex_lock (&self->mutex);
  g_free (self->api_key);
  self->api_key = g_strdup (key);
  g_mutex_unlock (&self->mutex);
}

void
fake_stripe_set_webhook (FakeStripe *self, const char *url, const char *secret)
{
  g_return_if_fail (self != NULL);
  g_mutex_lock (&self->mutex);
  g_free (self->webhook_url);
  g_free (self->webhook_secret);
  self->webhook_url = g_strdup (url);
  self->webhook_secret = g_strdup (secret);
  g_mutex_unlock (&self->mutex);
}

char *
fake_stripe_complete_checkout (FakeStripe *self, const char *session_id, const char *details,
                               FakeStripeBehaviour behaviour)
{
  JsonObject *session, *seti, *customer, *pm, *customer_details;
  const char *type;
  char *pm_id = NULL;
  g_autofree char *attempt = NULL;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (session_id != NULL, NULL);

  g_mutex_lock (&self->mutex);
  session = lookup (self, session_id, "checkout.session");
  if (session == NULL || !g_str_equal (get_string (session, "status"), "open"))
    {
      g_critical ("fake-stripe: no open checkout session %s", session_id);
      goto out;
    }
  seti = lookup (self, get_string (session, "setup_intent"), "setup_intent");
  customer = lookup (self, get_string (session, "customer"), "customer");
  type = json_array_get_string_element (
      json_object_get_array_member (session, "payment_method_types"), 0);
  pm = make_payment_method (self, type, details, customer);
  pm_id = g_strdup (get_string (pm, "id"));
  g_hash_table_replace (self->behaviours, g_strdup (pm_id), GINT_TO_POINTER (behaviour + 1));

  attempt = new_id (self, "setatt");
  json_object_set_string_member (seti, "latest_attempt", attempt);
  if (!g_str_equal (type, "card"))
    {
      g_autofree char *mandate = new_id (self, "mandate");

      json_object_set_string_member (seti, "mandate", mandate);
    }
  json_object_set_string_member (seti, "payment_method", pm_id);
  json_object_set_string_member (seti, "status", "succeeded");

  customer_details = json_object_new ();
  json_object_set_null_member (customer_details, "address");
  set_nullable_string (customer_details, "email", customer ? get_string (customer, "email") : NULL);
  set_nullable_string (customer_details, "name", customer ? get_string (customer, "name") : NULL);
  json_object_set_null_member (customer_details, "phone");
  json_object_set_string_member (customer_details, "tax_exempt", "none");
  json_object_set_array_member (customer_details, "tax_ids", json_array_new ());
  json_object_set_object_member (session, "customer_details", customer_details);
  json_object_set_string_member (session, "status", "complete");
  json_object_set_null_member (session, "url");

  emit_event (self, "checkout.session.completed", session, NULL);
  emit_event (self, "setup_intent.succeeded", seti, NULL);
out:
  g_mutex_unlock (&self->mutex);
  return pm_id;
}

void
fake_stripe_expire_checkout (FakeStripe *self, const char *session_id)
{
  JsonObject *session, *seti;

  g_return_if_fail (self != NULL);
  g_mutex_lock (&self->mutex);
  session = lookup (self, session_id, "checkout.session");
  if (session == NULL || !g_str_equal (get_string (session, "status"), "open"))
    {
      g_critical ("fake-stripe: no open checkout session %s", session_id);
    }
  else
    {
      seti = lookup (self, get_string (session, "setup_intent"), "setup_intent");
      json_object_set_string_member (seti, "cancellation_reason", "abandoned");
      json_object_set_string_member (seti, "status", "canceled");
      json_object_set_string_member (session, "status", "expired");
      json_object_set_null_member (session, "url");
      emit_event (self, "checkout.session.expired", session, NULL);
    }
  g_mutex_unlock (&self->mutex);
}

void
fake_stripe_set_behaviour (FakeStripe *self, const char *pm_id, FakeStripeBehaviour behaviour)
{
  g_return_if_fail (self != NULL);
  g_mutex_lock (&self->mutex);
  if (lookup (self, pm_id, "payment_method") == NULL)
    g_critical ("fake-stripe: no payment method %s", pm_id);
  else
    g_hash_table_replace (self->behaviours, g_strdup (pm_id), GINT_TO_POINTER (behaviour + 1));
  g_mutex_unlock (&self->mutex);
}

void
fake_stripe_settle (FakeStripe *self, const char *payment_intent_id, gboolean succeed)
{
  JsonObject *pi, *charge, *pm;

  g_return_if_fail (self != NULL);
  g_mutex_lock (&self->mutex);
  pi = lookup (self, payment_intent_id, "payment_intent");
  if (pi == NULL || !g_str_equal (get_string (pi, "status"), "processing"))
    {
      g_critical ("fake-stripe: no processing PaymentIntent %s", payment_intent_id);
      g_mutex_unlock (&self->mutex);
      return;
    }
  charge = lookup (self, get_string (pi, "latest_charge"), "charge");
  pm = lookup (self, get_string (pi, "payment_method"), "payment_method");
  g_assert (charge != NULL && pm != NULL);
  if (succeed)
    {
      succeed_payment (self, pi, charge);
      emit_event (self, "payment_intent.succeeded", pi, NULL);
    }
  else
    {
      fail_payment (pi, charge, pm, "insufficient_funds", NULL,
                    "The customer's account has insufficient funds to cover this payment.");
      emit_event (self, "payment_intent.payment_failed", pi, NULL);
    }
  g_mutex_unlock (&self->mutex);
}

void
fake_stripe_fail_next_on (FakeStripe *self, const char *method, const char *path_prefix,
                          guint status, guint n)
{
  g_return_if_fail (self != NULL);
  g_mutex_lock (&self->mutex);
  failure_set (&self->fail, method, path_prefix, status, n);
  g_mutex_unlock (&self->mutex);
}

void
fake_stripe_fail_next (FakeStripe *self, guint status, guint n)
{
  fake_stripe_fail_next_on (self, NULL, NULL, status, n);
}

void
fake_stripe_lose_next_on (FakeStripe *self, const char *method, const char *path_prefix,
                          guint status, guint n)
{
  g_return_if_fail (self != NULL);
  g_mutex_lock (&self->mutex);
  failure_set (&self->lose, method, path_prefix, status, n);
  g_mutex_unlock (&self->mutex);
}

void
fake_stripe_lose_next (FakeStripe *self, guint status, guint n)
{
  fake_stripe_lose_next_on (self, NULL, NULL, status, n);
}

void
fake_stripe_hold_webhooks (FakeStripe *self, gboolean hold)
{
  g_return_if_fail (self != NULL);
  g_mutex_lock (&self->mutex);
  self->hold = hold;
  if (!hold)
    {
      for (guint i = 0; i < self->held->len; i++)
        {
          FakeStripeWebhook *webhook = g_ptr_array_index (self->held, i);

          enqueue_locked (self, delivery_new (self, webhook->id, webhook->type, webhook->body));
        }
      g_ptr_array_set_size (self->held, 0);
    }
  g_mutex_unlock (&self->mutex);
}

GPtrArray *
fake_stripe_take_held_webhooks (FakeStripe *self)
{
  GPtrArray *held;

  g_return_val_if_fail (self != NULL, NULL);
  g_mutex_lock (&self->mutex);
  held = g_steal_pointer (&self->held);
  self->held = g_ptr_array_new_with_free_func ((GDestroyNotify) fake_stripe_webhook_free);
  g_mutex_unlock (&self->mutex);
  return held;
}

gboolean
fake_stripe_deliver_signed (FakeStripe *self, const char *body, const char *signature,
                            guint *status)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *event = NULL;
  Delivery *delivery;
  gboolean answered;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (body != NULL, FALSE);
  g_return_val_if_fail (g_thread_self () != self->thread, FALSE);

  if (json_parser_load_from_data (parser, body, -1, NULL)
      && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    event = json_node_get_object (json_parser_get_root (parser));
  delivery = delivery_new (self, event ? get_string (event, "id") : NULL,
                           event ? get_string (event, "type") : NULL, body);
  delivery->signature = g_strdup (signature);
  delivery->direct = TRUE;

  g_mutex_lock (&self->mutex);
  if (self->webhook_url == NULL || self->stopping)
    {
      g_mutex_unlock (&self->mutex);
      delivery_free (delivery);
      if (status != NULL)
        *status = 0;
      return FALSE;
    }
  g_queue_push_tail (&self->queue, delivery);
  schedule_pump_locked (self);
  while (!delivery->done)
    g_cond_wait (&self->cond, &self->mutex);
  g_mutex_unlock (&self->mutex);

  if (status != NULL)
    *status = delivery->status;
  answered = delivery->answered;
  delivery_free (delivery);
  return answered;
}

gboolean
fake_stripe_deliver (FakeStripe *self, const char *body, guint *status)
{
  return fake_stripe_deliver_signed (self, body, NULL, status);
}

gboolean
fake_stripe_flush_webhooks (FakeStripe *self)
{
  gint64 deadline = g_get_monotonic_time () + FLUSH_TIMEOUT_S * G_USEC_PER_SEC;
  gboolean flushed = TRUE;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (g_thread_self () != self->thread, FALSE);

  g_mutex_lock (&self->mutex);
  while (flushed && (self->queue.length > 0 || self->in_flight != NULL || self->pending_finish > 0))
    flushed = g_cond_wait_until (&self->cond, &self->mutex, deadline);
  g_mutex_unlock (&self->mutex);
  return flushed;
}

guint
fake_stripe_request_count (FakeStripe *self, const char *method, const char *path_prefix)
{
  guint count = 0;

  g_return_val_if_fail (self != NULL, 0);
  g_mutex_lock (&self->mutex);
  for (guint i = 0; i < self->requests->len; i++)
    {
      FakeStripeRequest *request = g_ptr_array_index (self->requests, i);

      if ((method == NULL || g_str_equal (request->method, method))
          && (path_prefix == NULL || g_str_has_prefix (request->path, path_prefix)))
        count++;
    }
  g_mutex_unlock (&self->mutex);
  return count;
}

GPtrArray *
fake_stripe_requests (FakeStripe *self)
{
  GPtrArray *copy;

  g_return_val_if_fail (self != NULL, NULL);
  g_mutex_lock (&self->mutex);
  copy = g_ptr_array_copy (self->requests, request_copy, NULL);
  g_mutex_unlock (&self->mutex);
  return copy;
}

GPtrArray *
fake_stripe_deliveries (FakeStripe *self)
{
  GPtrArray *copy;

  g_return_val_if_fail (self != NULL, NULL);
  g_mutex_lock (&self->mutex);
  copy = g_ptr_array_copy (self->deliveries, delivery_record_copy, NULL);
  g_mutex_unlock (&self->mutex);
  return copy;
}

guint
fake_stripe_event_count (FakeStripe *self, const char *type)
{
  guint count = 0;

  g_return_val_if_fail (self != NULL, 0);
  g_mutex_lock (&self->mutex);
  for (guint i = 0; i < self->event_types->len; i++)
    {
      if (type == NULL || g_str_equal (g_ptr_array_index (self->event_types, i), type))
        count++;
    }
  g_mutex_unlock (&self->mutex);
  return count;
}

JsonNode *
fake_stripe_get_object (FakeStripe *self, const char *id)
{
  JsonNode *node, *copy = NULL;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (id != NULL, NULL);
  g_mutex_lock (&self->mutex);
  node = g_hash_table_lookup (self->objects, id);
  if (node != NULL)
    copy = node_deep_copy (node);
  g_mutex_unlock (&self->mutex);
  return copy;
}
