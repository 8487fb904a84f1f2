/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Stripe contract of purserd's gateway (purserd-stripe.h), checked three ways:
 *
 *  /stripe-contract/prism/…      every request builder's request, sent by the gateway to Prism
 *                                serving Stripe's OpenAPI spec, is accepted (Prism answers 400
 *                                with an sl-violations header otherwise), and its answer (one
 *                                of Stripe's fixtures) parses; requests the spec refuses are
 *                                refused, and a request without the key is a 401.
 *  /stripe-contract/spec/…       every form key is a parameter Stripe's spec knows: Prism lets
 *                                unknown parameters through, Stripe answers them with a 400.
 *  /stripe-contract/fixtures/…   every parser reads Stripe's sample objects (API 2023-08-16
 *  /stripe-contract/events/…     and the latest) and webhook events; what it read is compared
 *                                with the JSON itself, so reading the wrong member fails.
 *  /stripe-gateway/…             headers, retries and the mapping of Stripe's errors, against
 *                                a SoupServer of this test.
 *
 * Stripe's files are in $PURSER_STRIPE_DIR; without them the Stripe tests skip. With them,
 * Prism is required: the first run installs it with npm into $G_TEST_BUILDDIR/prism. */
#include "config.h"

#include <libsoup/soup.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "purserd-stripe.h"

#define PRISM_PACKAGE         "@stoplight/prism-cli@5.14.2"
#define PRISM_INSTALL_SECONDS 300
#define PRISM_READY_SECONDS   90
#define SEND_TIMEOUT_SECONDS  60
#define SPEC_FILE             "spec3.prism.billing.json"
#define FIXTURES_PINNED       "fixtures3.2023-08-16.json"
#define FIXTURES_LATEST       "fixtures3.latest.json"
#define CONTRACT_KEY          "sk_test_contract"
#define GATEWAY_KEY           "sk_test_51NnlpQGPxmnHQRkJgateway"

/* Arguments shaped like the real ones: Purser's ids, Stripe's ids (from its fixtures). */
#define ORG_ID         "org_k7m2q4z5xw3p6a2b"
#define SETUP_ID       "pms_d3f5h7j2k4m6n8p2"
#define PAYMENT_ID     "pay_r2t4v6x3z5b7c2e4"
#define INVOICE_ID     "inv_q3s5u7w2y4a6c3d5"
#define INVOICE_NUMBER "ACME-2023-0042"
#define CREDIT_NOTE_ID "crn_h2j4l6n3p5r7t2v4"
#define CUSTOMER_ID    "cus_Oaxlz8kB0PJWGa"
#define PM_ID          "pm_1NnmX6GPxmnHQRkJM0z8tUaS"
#define SETI_ID        "seti_1NnlpjGPxmnHQRkJN5k6R6QG"
#define PI_ID          "pi_1NnlpVGPxmnHQRkJNuz3w9tH"
#define SUCCESS_URL    "https://purser.example/billing/methods?setup=" SETUP_ID
#define CANCEL_URL     "https://purser.example/billing/methods"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PurserdStripe, purserd_stripe_free)

/* The builders of purserd-stripe.h this suite sends to Prism. A builder added to the header
 * fails /stripe-contract/spec/every-builder-is-covered until it is tested here too. */
static const char *const covered_builders[] = {
  "customer_create",    "checkout_setup_create", "setup_intent_get",
  "payment_method_get", "payment_method_detach", "payment_intent_create",
  "payment_intent_get", "refund_create",         NULL,
};

static const char *const method_types[] = { "card", "us_bank_account", "sepa_debit" };

/* ── waiting on the main context ───────────────────────────────────────────────── */

static gboolean
expire_cb (gpointer user_data)
{
  gboolean *expired = user_data;

  *expired = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the thread's main context until *done, for at most timeout_ms; returns *done. */
static gboolean
iterate_until (const gboolean *done, guint timeout_ms)
{
  GMainContext *context = g_main_context_get_thread_default ();
  GSource *timeout = g_timeout_source_new (timeout_ms);
  gboolean expired = FALSE;

  g_source_set_callback (timeout, expire_cb, &expired, NULL);
  g_source_attach (timeout, context);
  while (!*done && !expired)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (timeout);
  g_source_unref (timeout);
  return *done;
}

static guint
free_port (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) sock
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  guint port;

  g_assert_no_error (error);
  g_socket_bind (sock, any, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (sock, &error);
  g_assert_no_error (error);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_socket_close (sock, NULL);
  return port;
}

/* ── the retries the gateway logs ───────────────────────────────────────────────── */

static guint retries_logged;

static GLogWriterOutput
count_retries_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields,
                      gpointer user_data)
{
  for (gsize i = 0; i < n_fields; i++)
    if (g_str_equal (fields[i].key, "MESSAGE"))
      {
        g_autofree char *text = fields[i].length < 0
                                    ? g_strdup (fields[i].value)
                                    : g_strndup (fields[i].value, (gsize) fields[i].length);

        if (g_str_has_prefix (text, "stripe: ") && strstr (text, ": retrying in ") != NULL)
          g_atomic_int_inc (&retries_logged);
      }
  return g_log_writer_default (level, fields, n_fields, user_data);
}

/* ── Stripe's files ─────────────────────────────────────────────────────────────── */

static const char *
stripe_dir (void)
{
  return g_getenv ("PURSER_STRIPE_DIR");
}

/* FALSE, and the test skipped, when Stripe's spec and fixtures are not here. */
static gboolean
have_stripe_files (void)
{
  const char *dir = stripe_dir ();
  g_autofree char *spec = NULL;

  if (dir == NULL || *dir == '\0')
    {
      g_test_skip ("PURSER_STRIPE_DIR is not set: no Stripe spec or fixtures to check against");
      return FALSE;
    }
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_test_skip_printf ("%s is absent: no Stripe spec or fixtures to check against", dir);
      return FALSE;
    }
  spec = g_build_filename (dir, SPEC_FILE, NULL);
  if (!g_file_test (spec, G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip_printf ("%s is absent: no Stripe spec to check against", spec);
      return FALSE;
    }
  return TRUE;
}

static GHashTable *documents; /* file name in PURSER_STRIPE_DIR → JsonParser */

static JsonNode *
stripe_document (const char *name)
{
  JsonParser *parser;

  if (documents == NULL)
    documents = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  parser = g_hash_table_lookup (documents, name);
  if (parser == NULL)
    {
      g_autofree char *path = g_build_filename (stripe_dir (), name, NULL);
      g_autoptr (GError) error = NULL;

      parser = json_parser_new ();
      json_parser_load_from_file (parser, path, &error);
      g_assert_no_error (error);
      g_hash_table_insert (documents, g_strdup (name), parser);
    }
  return json_parser_get_root (parser);
}

static JsonObject *
spec (void)
{
  return json_node_get_object (stripe_document (SPEC_FILE));
}

/* `resources.<resource>` of one of Stripe's fixture files (resource names may have dots). */
static JsonObject *
fixture (const char *file, const char *resource)
{
  JsonObject *resources
      = json_object_get_object_member (json_node_get_object (stripe_document (file)), "resources");

  g_assert_true (json_object_has_member (resources, resource));
  return json_object_get_object_member (resources, resource);
}

static JsonObject *
copy_object (JsonObject *object)
{
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), object);
  g_autofree char *text = json_to_string (node, FALSE);
  g_autoptr (JsonNode) copy = json_from_string (text, NULL);

  return json_object_ref (json_node_get_object (copy));
}

/* ── reading Stripe's JSON directly, to compare with what the parsers read ─────── */

/* The node at a dotted path ("card.brand"); NULL when a step is missing. */
static JsonNode *
node_at (JsonObject *object, const char *path)
{
  g_auto (GStrv) steps = g_strsplit (path, ".", -1);
  JsonNode *node = NULL;

  for (guint i = 0; steps[i] != NULL; i++)
    {
      if (object == NULL || !json_object_has_member (object, steps[i]))
        return NULL;
      node = json_object_get_member (object, steps[i]);
      object = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
    }
  return node;
}

static gboolean
value_of_type (JsonNode *node, GType type)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type;
}

static const char *
str_at (JsonObject *object, const char *path)
{
  JsonNode *node = node_at (object, path);

  return value_of_type (node, G_TYPE_STRING) ? json_node_get_string (node) : NULL;
}

static gint64
int_at (JsonObject *object, const char *path)
{
  JsonNode *node = node_at (object, path);

  return value_of_type (node, G_TYPE_INT64) ? json_node_get_int (node) : 0;
}

static gboolean
bool_at (JsonObject *object, const char *path)
{
  JsonNode *node = node_at (object, path);

  return value_of_type (node, G_TYPE_BOOLEAN) ? json_node_get_boolean (node) : FALSE;
}

/* An expandable field: the id Stripe sent, or the id of the object it expanded in its place. */
static const char *
id_at (JsonObject *object, const char *path)
{
  JsonNode *node = node_at (object, path);

  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    return str_at (json_node_get_object (node), "id");
  return str_at (object, path);
}

/* ── the parsers, checked against the JSON they read ─────────────────────────── */

static void
check_payment_method (JsonObject *object, PurserdStripePaymentMethod *pm)
{
  g_autoptr (GError) error = NULL;
  const char *type = str_at (object, "type");
  const char *brand_member = NULL;
  g_autofree char *last4 = NULL;
  g_autofree char *country = NULL;
  gboolean ok = purserd_stripe_parse_payment_method (object, pm, &error);

  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_true (g_str_has_prefix (pm->id, "pm_"));
  g_assert_cmpstr (pm->id, ==, str_at (object, "id"));
  g_assert_nonnull (type);
  g_assert_cmpstr (pm->type, ==, type);
  g_assert_cmpstr (pm->customer, ==, id_at (object, "customer"));
  if (g_str_equal (type, "card"))
    brand_member = "card.brand";
  else if (g_str_equal (type, "us_bank_account"))
    brand_member = "us_bank_account.bank_name";
  else if (g_str_equal (type, "sepa_debit"))
    brand_member = "sepa_debit.bank_code";
  if (brand_member != NULL)
    {
      g_assert_nonnull (str_at (object, brand_member));
      g_assert_cmpstr (pm->brand, ==, str_at (object, brand_member));
    }
  else
    g_assert_null (pm->brand);
  last4 = g_strconcat (type, ".last4", NULL);
  country = g_strconcat (type, ".country", NULL);
  g_assert_cmpstr (pm->last4, ==, str_at (object, last4));
  g_assert_cmpstr (pm->country, ==, str_at (object, country));
  if (g_str_equal (type, "card"))
    {
      g_assert_cmpuint (strlen (pm->last4), ==, 4);
      g_assert_cmpint (pm->exp_month, ==, int_at (object, "card.exp_month"));
      g_assert_cmpint (pm->exp_month, >=, 1);
      g_assert_cmpint (pm->exp_month, <=, 12);
      g_assert_cmpint (pm->exp_year, ==, int_at (object, "card.exp_year"));
    }
  else
    {
      g_assert_cmpint (pm->exp_month, ==, 0);
      g_assert_cmpint (pm->exp_year, ==, 0);
    }
}

static void
check_payment_intent (JsonObject *object, PurserdStripePaymentIntent *pi)
{
  g_autoptr (GError) error = NULL;
  const char *decline_code = str_at (object, "last_payment_error.decline_code");
  gboolean ok = purserd_stripe_parse_payment_intent (object, pi, &error);

  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_true (g_str_has_prefix (pi->id, "pi_"));
  g_assert_cmpstr (pi->id, ==, str_at (object, "id"));
  g_assert_nonnull (pi->status);
  g_assert_cmpstr (pi->status, ==, str_at (object, "status"));
  g_assert_cmpint (pi->amount, >, 0);
  g_assert_cmpint (pi->amount, ==, int_at (object, "amount"));
  g_assert_cmpint (pi->amount_received, ==, int_at (object, "amount_received"));
  g_assert_cmpstr (pi->customer, ==, id_at (object, "customer"));
  g_assert_cmpstr (pi->payment_method, ==, id_at (object, "payment_method"));
  g_assert_cmpstr (pi->latest_charge, ==, id_at (object, "latest_charge"));
  g_assert_cmpstr (pi->failure_code, ==,
                   decline_code ? decline_code : str_at (object, "last_payment_error.code"));
  g_assert_cmpstr (pi->failure_message, ==, str_at (object, "last_payment_error.message"));
  g_assert_cmpstr (pi->metadata_payment_id, ==, str_at (object, "metadata.purser_payment_id"));
}

static void
check_checkout_session (JsonObject *object, PurserdStripeCheckoutSession *cs)
{
  g_autoptr (GError) error = NULL;
  gboolean ok = purserd_stripe_parse_checkout_session (object, cs, &error);

  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_true (g_str_has_prefix (cs->id, "cs_"));
  g_assert_cmpstr (cs->id, ==, str_at (object, "id"));
  g_assert_nonnull (cs->url);
  g_assert_cmpstr (cs->url, ==, str_at (object, "url"));
  g_assert_nonnull (cs->status);
  g_assert_cmpstr (cs->status, ==, str_at (object, "status"));
  g_assert_nonnull (cs->mode);
  g_assert_cmpstr (cs->mode, ==, str_at (object, "mode"));
  g_assert_cmpstr (cs->customer, ==, id_at (object, "customer"));
  g_assert_cmpstr (cs->setup_intent, ==, id_at (object, "setup_intent"));
  g_assert_cmpstr (cs->metadata_setup_id, ==, str_at (object, "metadata.purser_setup_id"));
  g_assert_cmpint (cs->expires_at, >, 0);
  g_assert_cmpint (cs->expires_at, ==, int_at (object, "expires_at"));
}

static void
check_setup_intent (JsonObject *object, PurserdStripeSetupIntent *si)
{
  g_autoptr (GError) error = NULL;
  gboolean ok = purserd_stripe_parse_setup_intent (object, si, &error);

  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_true (g_str_has_prefix (si->id, "seti_"));
  g_assert_cmpstr (si->id, ==, str_at (object, "id"));
  g_assert_nonnull (si->status);
  g_assert_cmpstr (si->status, ==, str_at (object, "status"));
  g_assert_cmpstr (si->customer, ==, id_at (object, "customer"));
  g_assert_cmpstr (si->payment_method, ==, id_at (object, "payment_method"));
}

static void
check_refund (JsonObject *object, PurserdStripeRefund *refund)
{
  g_autoptr (GError) error = NULL;
  gboolean ok = purserd_stripe_parse_refund (object, refund, &error);

  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_true (g_str_has_prefix (refund->id, "re_"));
  g_assert_cmpstr (refund->id, ==, str_at (object, "id"));
  g_assert_nonnull (refund->status);
  g_assert_cmpstr (refund->status, ==, str_at (object, "status"));
  g_assert_cmpint (refund->amount, >, 0);
  g_assert_cmpint (refund->amount, ==, int_at (object, "amount"));
  g_assert_cmpstr (refund->charge, ==, id_at (object, "charge"));
  g_assert_cmpstr (refund->payment_intent, ==, id_at (object, "payment_intent"));
}

static void
check_charge (JsonObject *object, PurserdStripeCharge *charge)
{
  g_autoptr (GError) error = NULL;
  gboolean ok = purserd_stripe_parse_charge (object, charge, &error);

  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_true (g_str_has_prefix (charge->id, "ch_"));
  g_assert_cmpstr (charge->id, ==, str_at (object, "id"));
  g_assert_cmpstr (charge->payment_intent, ==, id_at (object, "payment_intent"));
  g_assert_cmpint (charge->amount, >, 0);
  g_assert_cmpint (charge->amount, ==, int_at (object, "amount"));
  g_assert_cmpint (charge->amount_refunded, ==, int_at (object, "amount_refunded"));
  g_assert_cmpint (charge->refunded, ==, bool_at (object, "refunded"));
}

static void
check_customer (JsonObject *object, char **id)
{
  g_autoptr (GError) error = NULL;

  *id = purserd_stripe_parse_customer (object, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (*id, "cus_"));
  g_assert_cmpstr (*id, ==, str_at (object, "id"));
}

/* check_x_only (object): parses and compares; accepts_x (object, error): only parses. */
#define PARSER_WRAPPERS(Type, name)                                   \
  static void check_##name##_only (JsonObject *object)                \
  {                                                                   \
    g_auto (Type) value = { 0 };                                      \
    check_##name (object, &value);                                    \
  }                                                                   \
  static gboolean accepts_##name (JsonObject *object, GError **error) \
  {                                                                   \
    g_auto (Type) value = { 0 };                                      \
    return purserd_stripe_parse_##name (object, &value, error);       \
  }

PARSER_WRAPPERS (PurserdStripePaymentMethod, payment_method)
PARSER_WRAPPERS (PurserdStripePaymentIntent, payment_intent)
PARSER_WRAPPERS (PurserdStripeCheckoutSession, checkout_session)
PARSER_WRAPPERS (PurserdStripeSetupIntent, setup_intent)
PARSER_WRAPPERS (PurserdStripeRefund, refund)
PARSER_WRAPPERS (PurserdStripeCharge, charge)

static void
check_customer_only (JsonObject *object)
{
  g_autofree char *id = NULL;

  check_customer (object, &id);
}

static gboolean
accepts_customer (JsonObject *object, GError **error)
{
  g_autofree char *id = purserd_stripe_parse_customer (object, error);

  return id != NULL;
}

typedef struct
{
  const char *resource; /* its fixture, and its "object" */
  void (*check) (JsonObject *object);
  gboolean (*accepts) (JsonObject *object, GError **error);
} Parser;

static const Parser parsers[] = {
  { "payment_method", check_payment_method_only, accepts_payment_method },
  { "payment_intent", check_payment_intent_only, accepts_payment_intent },
  { "checkout.session", check_checkout_session_only, accepts_checkout_session },
  { "setup_intent", check_setup_intent_only, accepts_setup_intent },
  { "refund", check_refund_only, accepts_refund },
  { "charge", check_charge_only, accepts_charge },
  { "customer", check_customer_only, accepts_customer },
};

static const Parser *
parser_for (const char *object_kind)
{
  for (guint i = 0; i < G_N_ELEMENTS (parsers); i++)
    if (g_strcmp0 (parsers[i].resource, object_kind) == 0)
      return &parsers[i];
  return NULL;
}

/* ── Stripe's spec: the parameters an operation takes ─────────────────────────── */

static JsonObject *
resolve (JsonObject *schema)
{
  const char *ref;

  while (schema != NULL && (ref = str_at (schema, "$ref")) != NULL)
    {
      JsonObject *schemas = json_object_get_object_member (
          json_object_get_object_member (spec (), "components"), "schemas");
      const char *name = ref + strlen ("#/components/schemas/");

      g_assert_true (g_str_has_prefix (ref, "#/components/schemas/"));
      g_assert_true (json_object_has_member (schemas, name));
      schema = json_object_get_object_member (schemas, name);
    }
  return schema;
}

static JsonObject *
object_of (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* Whether `schema` takes the form key whose bracketed steps are `steps`. */
static gboolean
schema_takes (JsonObject *schema, char **steps)
{
  const char *const alternatives[] = { "anyOf", "oneOf" };
  JsonObject *properties;
  JsonNode *additional;

  schema = resolve (schema);
  if (steps[0] == NULL)
    return TRUE;
  if (schema == NULL)
    return FALSE;
  if (json_object_get_size (schema) == 0) /* {}: anything (Prism's loosened arrays) */
    return TRUE;
  for (guint a = 0; a < G_N_ELEMENTS (alternatives); a++)
    {
      JsonNode *node = node_at (schema, alternatives[a]);

      if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
        {
          JsonArray *array = json_node_get_array (node);

          for (guint i = 0; i < json_array_get_length (array); i++)
            if (schema_takes (object_of (json_array_get_element (array, i)), steps))
              return TRUE;
        }
    }
  properties = object_of (node_at (schema, "properties"));
  if (properties != NULL && json_object_has_member (properties, steps[0]))
    return schema_takes (object_of (json_object_get_member (properties, steps[0])), steps + 1);
  additional = node_at (schema, "additionalProperties");
  if (additional != NULL && JSON_NODE_HOLDS_OBJECT (additional))
    return schema_takes (json_node_get_object (additional), steps + 1);
  if (value_of_type (additional, G_TYPE_BOOLEAN) && json_node_get_boolean (additional))
    return TRUE;
  if (g_strcmp0 (str_at (schema, "type"), "array") == 0 && steps[0][0] != '\0'
      && strspn (steps[0], "0123456789") == strlen (steps[0]))
    return schema_takes (object_of (node_at (schema, "items")), steps + 1);
  return FALSE;
}

/* "setup_intent_data[metadata][k]" → { "setup_intent_data", "metadata", "k" } */
static GStrv
form_key_steps (const char *key)
{
  GPtrArray *steps = g_ptr_array_new ();
  const char *bracket = strchr (key, '[');

  g_ptr_array_add (steps, g_strndup (key, bracket ? (gsize) (bracket - key) : strlen (key)));
  while (bracket != NULL)
    {
      const char *close = strchr (bracket, ']');

      if (close == NULL)
        {
          g_ptr_array_add (steps, g_strdup (bracket)); /* matches nothing */
          break;
        }
      g_ptr_array_add (steps, g_strndup (bracket + 1, (gsize) (close - bracket - 1)));
      if (close[1] != '\0' && close[1] != '[')
        g_ptr_array_add (steps, g_strdup (close + 1)); /* matches nothing */
      bracket = close[1] == '[' ? close + 1 : NULL;
    }
  g_ptr_array_add (steps, NULL);
  return (GStrv) g_ptr_array_free (steps, FALSE);
}

/* The operation of Stripe's spec for a method and a concrete path; literal path segments win
 * over {parameters} ("/v1/customers/search" over "/v1/customers/{customer}"). */
static JsonObject *
spec_operation (const char *method, const char *path)
{
  JsonObject *paths = json_object_get_object_member (spec (), "paths");
  g_auto (GStrv) parts = g_strsplit (path, "/", -1);
  g_autofree char *lower = g_ascii_strdown (method, -1);
  GList *templates = json_object_get_members (paths);
  const char *best = NULL;
  int best_literals = -1;
  JsonObject *operations;

  for (GList *l = templates; l != NULL; l = l->next)
    {
      g_auto (GStrv) steps = g_strsplit (l->data, "/", -1);
      int literals = 0;
      gboolean match = g_strv_length (steps) == g_strv_length (parts);

      for (guint i = 0; match && steps[i] != NULL; i++)
        {
          if (g_str_equal (steps[i], parts[i]))
            literals++;
          else if (!(steps[i][0] == '{' && g_str_has_suffix (steps[i], "}") && *parts[i] != '\0'))
            match = FALSE;
        }
      if (match && literals > best_literals)
        {
          best = l->data;
          best_literals = literals;
        }
    }
  operations = best ? json_object_get_object_member (paths, best) : NULL;
  g_list_free (templates);
  return operations ? object_of (node_at (operations, lower)) : NULL;
}

/* NULL when Stripe's spec knows the operation and every form key; else what is wrong. */
static char *
form_problem (const PurserdStripeRequest *request)
{
  JsonObject *operation = spec_operation (request->method, request->path);
  JsonObject *body = NULL;
  JsonNode *parameters;

  if (operation == NULL)
    return g_strdup_printf ("Stripe's spec has no %s %s", request->method, request->path);
  body = resolve (object_of (
      node_at (operation, "requestBody.content.application/x-www-form-urlencoded.schema")));
  parameters = node_at (operation, "parameters");
  for (guint i = 0; i + 1 < request->form->len; i += 2)
    {
      const char *key = g_ptr_array_index (request->form, i);
      g_auto (GStrv) steps = form_key_steps (key);
      gboolean known = FALSE;

      if (g_str_equal (request->method, "GET"))
        {
          /* GET parameters are in the query: `parameters` with in=query */
          JsonArray *list = parameters && JSON_NODE_HOLDS_ARRAY (parameters)
                                ? json_node_get_array (parameters)
                                : NULL;

          for (guint p = 0; list != NULL && p < json_array_get_length (list); p++)
            {
              JsonObject *parameter = object_of (json_array_get_element (list, p));

              if (g_strcmp0 (str_at (parameter, "in"), "query") == 0
                  && g_strcmp0 (str_at (parameter, "name"), steps[0]) == 0)
                known = schema_takes (object_of (node_at (parameter, "schema")), steps + 1);
            }
        }
      else
        known = body != NULL && schema_takes (body, steps);
      if (!known)
        return g_strdup_printf ("%s %s: Stripe's spec has no parameter %s", request->method,
                                request->path, key);
    }
  return NULL;
}

/* ── requests: reading and editing the form ───────────────────────────────────── */

static int
form_index (const PurserdStripeRequest *request, const char *key)
{
  for (guint i = 0; i + 1 < request->form->len; i += 2)
    if (g_str_equal (g_ptr_array_index (request->form, i), key))
      return (int) i;
  return -1;
}

static const char *
form_get (const PurserdStripeRequest *request, const char *key)
{
  int i = form_index (request, key);

  return i < 0 ? NULL : g_ptr_array_index (request->form, (guint) i + 1);
}

static void
form_set (PurserdStripeRequest *request, const char *key, const char *value)
{
  int i = form_index (request, key);

  if (i < 0)
    {
      g_ptr_array_add (request->form, g_strdup (key));
      g_ptr_array_add (request->form, g_strdup (value));
      return;
    }
  g_free (g_ptr_array_index (request->form, (guint) i + 1));
  g_ptr_array_index (request->form, (guint) i + 1) = g_strdup (value);
}

static void
form_remove (PurserdStripeRequest *request, const char *key)
{
  int i = form_index (request, key);

  g_assert_cmpint (i, >=, 0);
  g_ptr_array_remove_range (request->form, (guint) i, 2);
}

static PurserdStripeRequest *
build_checkout (const char *type)
{
  return purserd_stripe_checkout_setup_create (SETUP_ID, ORG_ID, CUSTOMER_ID, type, SUCCESS_URL,
                                               CANCEL_URL);
}

static PurserdStripeRequest *
build_payment_intent (const char *type)
{
  return purserd_stripe_payment_intent_create (PAYMENT_ID, ORG_ID, INVOICE_ID, INVOICE_NUMBER,
                                               CUSTOMER_ID, PM_ID, type, 129900);
}

/* One request of every builder (cards for the ones with a type). */
static GPtrArray *
every_request (void)
{
  GPtrArray *requests
      = g_ptr_array_new_with_free_func ((GDestroyNotify) purserd_stripe_request_free);

  g_ptr_array_add (requests, purserd_stripe_customer_create (ORG_ID, "Acme Robotics GmbH",
                                                             "billing@acme-robotics.example"));
  g_ptr_array_add (requests, build_checkout ("card"));
  g_ptr_array_add (requests, purserd_stripe_setup_intent_get (SETI_ID));
  g_ptr_array_add (requests, purserd_stripe_payment_method_get (PM_ID));
  g_ptr_array_add (requests, purserd_stripe_payment_method_detach (PM_ID));
  g_ptr_array_add (requests, build_payment_intent ("card"));
  g_ptr_array_add (requests, purserd_stripe_payment_intent_get (PI_ID));
  g_ptr_array_add (requests, purserd_stripe_refund_create (CREDIT_NOTE_ID, PI_ID, 4999));
  g_assert_cmpuint (requests->len, ==, g_strv_length ((GStrv) covered_builders));
  return requests;
}

/* ── sending with the gateway ─────────────────────────────────────────────────── */

typedef struct
{
  PurserdStripe *stripe;
  gboolean done;
  JsonObject *object;
  JsonObject *error_object;
  GError *error;
} Sent;

static void
sent_clear (Sent *sent)
{
  g_clear_pointer (&sent->object, json_object_unref);
  g_clear_pointer (&sent->error_object, json_object_unref);
  g_clear_error (&sent->error);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Sent, sent_clear)

static PurserdStripe *
gateway_new (const char *secret_key, const char *api_base, guint max_retries, guint retry_base_ms)
{
  PurserdStripeConfig config = {
    .secret_key = (char *) secret_key,
    .api_base = (char *) api_base,
    .max_retries = max_retries,
    .retry_base_ms = retry_base_ms,
  };

  return purserd_stripe_new (&config);
}

static void
sent_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Sent *sent = user_data;

  sent->object
      = purserd_stripe_send_finish (sent->stripe, result, &sent->error_object, &sent->error);
  sent->done = TRUE;
}

/* Sends `request` (taken) and runs the thread's main context until the answer. */
static void
send_and_wait (PurserdStripe *stripe, PurserdStripeRequest *request, Sent *sent)
{
  g_autofree char *operation = g_strdup (request->operation);

  sent->stripe = stripe;
  purserd_stripe_send_async (stripe, request, NULL, sent_cb, sent);
  if (!iterate_until (&sent->done, SEND_TIMEOUT_SECONDS * 1000))
    g_error ("%s: no answer within %d s", operation, SEND_TIMEOUT_SECONDS);
  g_assert_true ((sent->object != NULL) != (sent->error != NULL));
}

/* ── a local server: scripted answers, or a proxy that drops Authorization ────── */

typedef struct
{
  guint status;
  const char *body;
  const char *retry_after; /* NULL: no Retry-After */
} Reply;

typedef struct
{
  char *method;
  char *path;
  char *query;
  char *body;
  char *authorization;
  char *stripe_version;
  char *idempotency_key;
  char *content_type;
} Seen;

typedef struct
{
  SoupServer *server;
  char *base;
  const Reply *replies; /* in order, the last one again and again */
  guint n_replies;
  GPtrArray *seen; /* Seen */
  char *upstream;  /* set: forward there, without the Authorization header */
  SoupSession *session;
  char *violations; /* the upstream's last sl-violations */
} Local;

static void
seen_free (Seen *seen)
{
  g_free (seen->method);
  g_free (seen->path);
  g_free (seen->query);
  g_free (seen->body);
  g_free (seen->authorization);
  g_free (seen->stripe_version);
  g_free (seen->idempotency_key);
  g_free (seen->content_type);
  g_free (seen);
}

static void
forwarded_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SoupServerMessage) msg = user_data;
  Local *local = g_object_get_data (G_OBJECT (msg), "local");
  SoupMessage *out = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes
      = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);

  if (bytes == NULL)
    soup_server_message_set_status (msg, SOUP_STATUS_BAD_GATEWAY, error->message);
  else
    {
      const char *violations
          = soup_message_headers_get_one (soup_message_get_response_headers (out), "sl-violations");
      gsize length = 0;
      const char *data = g_bytes_get_data (bytes, &length);

      g_free (local->violations);
      local->violations = g_strdup (violations);
      soup_server_message_set_status (msg, soup_message_get_status (out), NULL);
      soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, data, length);
    }
  soup_server_message_unpause (msg);
}

static void
forward (Local *local, SoupServerMessage *msg, Seen *seen)
{
  g_autofree char *url = g_strconcat (local->upstream, seen->path, NULL);
  g_autoptr (SoupMessage) out = soup_message_new (seen->method, url);
  SoupMessageHeaders *headers = soup_message_get_request_headers (out);

  if (seen->stripe_version != NULL)
    soup_message_headers_replace (headers, "Stripe-Version", seen->stripe_version);
  if (seen->idempotency_key != NULL)
    soup_message_headers_replace (headers, "Idempotency-Key", seen->idempotency_key);
  if (seen->content_type != NULL)
    {
      g_autoptr (GBytes) body = g_bytes_new (seen->body, strlen (seen->body));

      soup_message_set_request_body_from_bytes (out, seen->content_type, body);
    }
  g_object_set_data (G_OBJECT (msg), "local", local);
  soup_server_message_pause (msg);
  soup_session_send_and_read_async (local->session, out, G_PRIORITY_DEFAULT, NULL, forwarded_cb,
                                    g_object_ref (msg));
}

static void
local_cb (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
          gpointer user_data)
{
  Local *local = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  g_autoptr (GBytes) bytes = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  Seen *seen = g_new0 (Seen, 1);
  gsize length = 0;
  const char *data = g_bytes_get_data (bytes, &length);
  const Reply *reply;

  seen->method = g_strdup (soup_server_message_get_method (msg));
  seen->path = g_strdup (path);
  seen->query = g_strdup (g_uri_get_query (soup_server_message_get_uri (msg)));
  seen->body = g_strndup (data ? data : "", length);
  seen->authorization = g_strdup (soup_message_headers_get_one (headers, "Authorization"));
  seen->stripe_version = g_strdup (soup_message_headers_get_one (headers, "Stripe-Version"));
  seen->idempotency_key = g_strdup (soup_message_headers_get_one (headers, "Idempotency-Key"));
  seen->content_type = g_strdup (soup_message_headers_get_content_type (headers, NULL));
  g_ptr_array_add (local->seen, seen);

  if (local->upstream != NULL)
    {
      forward (local, msg, seen);
      return;
    }
  g_assert_cmpuint (local->n_replies, >, 0);
  reply = &local->replies[MIN (local->seen->len, local->n_replies) - 1];
  soup_server_message_set_status (msg, reply->status, NULL);
  if (reply->retry_after != NULL)
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Retry-After",
                                  reply->retry_after);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC, reply->body,
                                    strlen (reply->body));
}

static Local *
local_new (const Reply *replies, guint n_replies)
{
  Local *local = g_new0 (Local, 1);
  g_autoptr (GError) error = NULL;
  GSList *uris;

  local->replies = replies;
  local->n_replies = n_replies;
  local->seen = g_ptr_array_new_with_free_func ((GDestroyNotify) seen_free);
  local->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (local->server, NULL, local_cb, local, NULL);
  soup_server_listen_local (local->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (local->server);
  g_assert_nonnull (uris);
  local->base = g_strdup_printf ("http://127.0.0.1:%d", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  return local;
}

static void
local_free (Local *local)
{
  soup_server_disconnect (local->server);
  g_clear_object (&local->server);
  g_clear_object (&local->session);
  g_ptr_array_unref (local->seen);
  g_free (local->base);
  g_free (local->upstream);
  g_free (local->violations);
  g_free (local);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Local, local_free)

static Seen *
seen_at (Local *local, guint i)
{
  g_assert_cmpuint (i, <, local->seen->len);
  return g_ptr_array_index (local->seen, i);
}

/* ── Prism, Stripe's stand-in ─────────────────────────────────────────────────── */

typedef struct
{
  gboolean tried;
  char *failure; /* why it is not running */
  GSubprocess *process;
  gboolean exited;
  pid_t pid; /* and its process group */
  char *base;
  char *log;
} Prism;

static Prism prism;
static gboolean npm_exited;
static SoupSession *raw_session;

static SoupSession *
raw (void)
{
  if (raw_session == NULL)
    raw_session = soup_session_new_with_options ("proxy-resolver", NULL, "timeout", 10, NULL);
  return raw_session;
}

static void
own_process_group (gpointer user_data)
{
  /* Its own group, so what it starts goes with it; and it dies with this test, even when an
   * assertion aborts it before the teardown. */
  setpgid (0, 0);
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static GSubprocess *
spawn_logged (const char *const *argv, const char *log, GError **error)
{
  g_autoptr (GSubprocessLauncher) launcher
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_MERGE);

  g_subprocess_launcher_set_stdout_file_path (launcher, log);
  g_subprocess_launcher_set_child_setup (launcher, own_process_group, NULL, NULL);
  return g_subprocess_launcher_spawnv (launcher, argv, error);
}

static void
exited_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  gboolean *exited = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *exited = TRUE;
}

static pid_t
process_pid (GSubprocess *process)
{
  const char *identifier = g_subprocess_get_identifier (process);

  g_assert_nonnull (identifier);
  return (pid_t) g_ascii_strtoll (identifier, NULL, 10);
}

/* TERM, then KILL, to the whole group; waits for the process on the main context. */
static void
stop_group (pid_t pid, const gboolean *exited)
{
  if (*exited)
    return;
  kill (-pid, SIGTERM);
  if (!iterate_until (exited, 5000))
    {
      kill (-pid, SIGKILL);
      iterate_until (exited, 5000);
    }
}

static char *
log_tail (const char *path, guint lines)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) all = NULL;
  guint n;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return g_strdup_printf ("(no %s)", path);
  all = g_strsplit (g_strchomp (text), "\n", -1);
  n = g_strv_length (all);
  return g_strjoinv ("\n", all + (n > lines ? n - lines : 0));
}

static char *
prism_install (const char *dir, const char *cli)
{
  g_autofree char *npm = g_find_program_in_path ("npm");
  g_autofree char *log = g_strconcat (dir, "-npm.log", NULL);
  const char *argv[]
      = { npm, "install", "--prefix", dir, "--no-audit", "--no-fund", PRISM_PACKAGE, NULL };
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  pid_t pid;

  if (npm == NULL)
    return g_strdup ("npm is not installed (not in PATH); it installs " PRISM_PACKAGE);
  g_mkdir_with_parents (dir, 0755);
  g_test_message ("installing " PRISM_PACKAGE " into %s (log: %s)", dir, log);
  process = spawn_logged (argv, log, &error);
  if (process == NULL)
    return g_strdup_printf ("npm could not be started: %s", error->message);
  pid = process_pid (process);
  npm_exited = FALSE;
  g_subprocess_wait_async (process, NULL, exited_cb, &npm_exited);
  if (!iterate_until (&npm_exited, PRISM_INSTALL_SECONDS * 1000))
    {
      stop_group (pid, &npm_exited);
      return g_strdup_printf ("npm install " PRISM_PACKAGE " did not finish within %d s "
                              "(is the npm registry reachable?); see %s",
                              PRISM_INSTALL_SECONDS, log);
    }
  if (!g_subprocess_get_successful (process) || !g_file_test (cli, G_FILE_TEST_IS_REGULAR))
    {
      g_autofree char *tail = log_tail (log, 15);

      return g_strdup_printf ("npm install " PRISM_PACKAGE " failed (exit status %d):\n%s",
                              g_subprocess_get_exit_status (process), tail);
    }
  g_test_message ("npm install " PRISM_PACKAGE ": %.1f s",
                  (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC);
  return NULL;
}

static gboolean
probe (const char *url)
{
  g_autoptr (SoupMessage) message = soup_message_new ("GET", url);
  g_autoptr (GBytes) bytes = NULL;

  soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization",
                                "Bearer sk_test_x");
  bytes = soup_session_send_and_read (raw (), message, NULL, NULL);
  return bytes != NULL && soup_message_get_status (message) == SOUP_STATUS_OK;
}

static char *
prism_start (void)
{
  g_autofree char *dir = g_build_filename (g_test_get_dir (G_TEST_BUILT), "prism", NULL);
  g_autofree char *cli
      = g_build_filename (dir, "node_modules", "@stoplight", "prism-cli", "dist", "index.js", NULL);
  g_autofree char *node = g_find_program_in_path ("node");
  g_autofree char *spec_path = g_build_filename (stripe_dir (), SPEC_FILE, NULL);
  g_autofree char *port = g_strdup_printf ("%u", free_port ());
  g_autofree char *probe_url = NULL;
  const char *argv[] = {
    node, cli, "mock", spec_path, "-h", "127.0.0.1", "-p", port, "-v", "warn", NULL,
  };
  g_autoptr (GError) error = NULL;
  gint64 start;
  char *failure;

  if (node == NULL)
    return g_strdup ("node is not installed (not in PATH); Prism needs it");
  if (!g_file_test (cli, G_FILE_TEST_IS_REGULAR) && (failure = prism_install (dir, cli)) != NULL)
    return failure;

  prism.log = g_build_filename (g_test_get_dir (G_TEST_BUILT), "prism.log", NULL);
  prism.base = g_strconcat ("http://127.0.0.1:", port, NULL);
  probe_url = g_strconcat (prism.base, "/v1/customers/cus_probe", NULL);
  start = g_get_monotonic_time ();
  prism.process = spawn_logged (argv, prism.log, &error);
  if (prism.process == NULL)
    return g_strdup_printf ("Prism could not be started: %s", error->message);
  prism.pid = process_pid (prism.process);
  g_subprocess_wait_async (prism.process, NULL, exited_cb, &prism.exited);
  while (!probe (probe_url))
    {
      gboolean never = FALSE;

      if (prism.exited || g_get_monotonic_time () - start > PRISM_READY_SECONDS * G_USEC_PER_SEC)
        {
          g_autofree char *tail = log_tail (prism.log, 15);

          return g_strdup_printf (
              "Prism %s on %s (log %s):\n%s",
              prism.exited ? "exited while starting"
                           : "was not ready within " G_STRINGIFY (PRISM_READY_SECONDS) " s",
              prism.base, prism.log, tail);
        }
      iterate_until (&never, 250);
    }
  g_test_message ("Prism ready on %s in %.1f s (log: %s)", prism.base,
                  (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC, prism.log);
  return NULL;
}

/* TRUE when Prism answers; else the test is skipped (no Stripe files) or failed. */
static gboolean
prism_ready (void)
{
  if (!have_stripe_files ())
    return FALSE;
  if (!prism.tried)
    {
      prism.tried = TRUE;
      prism.failure = prism_start ();
    }
  if (prism.failure == NULL && prism.exited)
    prism.failure = g_strdup_printf ("Prism stopped; see %s", prism.log);
  if (prism.failure != NULL)
    {
      g_test_fail_printf ("Prism, Stripe's stand-in, is not running: %s", prism.failure);
      return FALSE;
    }
  return TRUE;
}

static void
prism_stop (void)
{
  if (prism.process != NULL)
    stop_group (prism.pid, &prism.exited);
  prism.pid = 0;
  g_clear_object (&prism.process);
  g_clear_pointer (&prism.failure, g_free);
  g_clear_pointer (&prism.base, g_free);
  g_clear_pointer (&prism.log, g_free);
}

static void
prism_kill_at_exit (void)
{
  if (prism.pid > 0 && !prism.exited)
    kill (-prism.pid, SIGKILL);
}

/* Prism's verdict on a request, from its sl-violations header ("" when it had none). */
static char *
prism_violations (const char *method, const char *path, const char *body)
{
  g_autofree char *url = g_strconcat (prism.base, path, NULL);
  g_autoptr (SoupMessage) message = soup_message_new (method, url);
  g_autoptr (GBytes) bytes = NULL;
  const char *violations;

  soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization",
                                "Bearer " CONTRACT_KEY);
  if (!g_str_equal (method, "GET"))
    {
      g_autoptr (GBytes) form = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (message, "application/x-www-form-urlencoded", form);
    }
  bytes = soup_session_send_and_read (raw (), message, NULL, NULL);
  violations
      = soup_message_headers_get_one (soup_message_get_response_headers (message), "sl-violations");
  return g_strdup (violations ? violations : "");
}

/* Sends `request` (taken) to Prism with the gateway; Stripe's spec must accept it. Returns
 * the answer. */
static JsonObject *
prism_send (PurserdStripeRequest *request)
{
  g_autofree char *problem = form_problem (request);
  g_autofree char *method = g_strdup (request->method);
  g_autofree char *path = g_strdup (request->path);
  g_autofree char *operation = g_strdup (request->operation);
  g_autofree char *body = purserd_stripe_request_encode (request);
  g_autoptr (PurserdStripe) stripe = gateway_new (CONTRACT_KEY, prism.base, 0, 0);
  g_auto (Sent) sent = { 0 };

  g_test_message ("%s: %s %s %s", operation, method, path, body);
  g_assert_cmpstr (problem, ==, NULL);
  send_and_wait (stripe, request, &sent);
  if (sent.error != NULL)
    {
      g_autofree char *violations = prism_violations (method, path, body);

      g_test_message ("%s: Stripe's spec refused %s %s: %s\nsl-violations: %s", operation, method,
                      path, sent.error->message, violations);
    }
  g_assert_no_error (sent.error);
  return g_steal_pointer (&sent.object);
}

/* Sends `request` (taken) to Prism; Stripe's spec must refuse it. Returns the violations. */
static char *
prism_refused (PurserdStripeRequest *request)
{
  g_autofree char *method = g_strdup (request->method);
  g_autofree char *path = g_strdup (request->path);
  g_autofree char *body = purserd_stripe_request_encode (request);
  g_autoptr (PurserdStripe) stripe = gateway_new (CONTRACT_KEY, prism.base, 0, 0);
  g_auto (Sent) sent = { 0 };
  char *violations;

  send_and_wait (stripe, request, &sent);
  g_assert_error (sent.error, PURSERD_STRIPE_ERROR, PURSERD_STRIPE_ERROR_REQUEST);
  g_assert_nonnull (sent.error_object);
  g_assert_cmpstr (str_at (sent.error_object, "type"), ==, "invalid_request_error");
  g_assert_cmpstr (sent.error->message, ==, str_at (sent.error_object, "message"));
  violations = prism_violations (method, path, body);
  g_test_message ("refused as it should be: %s %s %s\nsl-violations: %s", method, path, body,
                  violations);
  return violations;
}

/* ── /stripe-contract/spec ────────────────────────────────────────────────────── */

static void
test_every_builder_is_covered (void)
{
  g_autofree char *header_path
      = g_test_build_filename (G_TEST_DIST, "..", "src", "server", "purserd-stripe.h", NULL);
  g_autofree char *header = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GRegex) regex = g_regex_new ("^PurserdStripeRequest \\*purserd_stripe_(\\w+) \\(",
                                          G_REGEX_MULTILINE, 0, NULL);
  g_autoptr (GMatchInfo) match = NULL;
  guint found = 0;

  g_file_get_contents (header_path, &header, NULL, &error);
  g_assert_no_error (error);
  g_regex_match (regex, header, 0, &match);
  while (g_match_info_matches (match))
    {
      g_autofree char *name = g_match_info_fetch (match, 1);

      if (!g_strv_contains (covered_builders, name))
        g_test_message ("purserd_stripe_%s is a request builder this suite does not send", name);
      g_assert_true (g_strv_contains (covered_builders, name));
      found++;
      g_match_info_next (match, NULL);
    }
  g_assert_cmpuint (found, ==, g_strv_length ((GStrv) covered_builders));
}

/* Prism lets unknown parameters through (Stripe answers them with a 400), so the form keys
 * are checked here against the spec; this makes sure that check can fail. */
static void
test_spec_unknown_parameter (void)
{
  g_autoptr (PurserdStripeRequest) request = NULL;
  g_autofree char *problem = NULL;
  g_autofree char *nested = NULL;
  g_autofree char *fine = NULL;

  if (!have_stripe_files ())
    return;
  request = build_payment_intent ("card");
  fine = form_problem (request);
  g_assert_cmpstr (fine, ==, NULL);
  form_set (request, "off_sesion", "true");
  problem = form_problem (request);
  g_assert_nonnull (problem);
  g_assert_nonnull (strstr (problem, "off_sesion"));
  form_remove (request, "off_sesion");
  form_set (request, "metadata[purser_org_id][0]", "nested");
  form_remove (request, "metadata[purser_org_id]");
  nested = form_problem (request);
  g_assert_nonnull (nested);
}

/* ── /stripe-contract/fixtures and /stripe-contract/events ──────────────────────── */

typedef struct
{
  const char *file;
  const Parser *parser;
} FixtureCase;

static FixtureCase fixture_cases[2][G_N_ELEMENTS (parsers)];

static void
test_fixture (gconstpointer data)
{
  const FixtureCase *fc = data;
  JsonObject *object;

  if (!have_stripe_files ())
    return;
  object = fixture (fc->file, fc->parser->resource);
  g_assert_cmpstr (str_at (object, "object"), ==, fc->parser->resource);
  fc->parser->check (object);

  /* and nothing else passes for one */
  for (guint i = 0; i < G_N_ELEMENTS (parsers); i++)
    if (&parsers[i] != fc->parser)
      {
        g_autoptr (GError) error = NULL;

        g_assert_false (fc->parser->accepts (fixture (fc->file, parsers[i].resource), &error));
        g_assert_error (error, PURSERD_STRIPE_ERROR, PURSERD_STRIPE_ERROR_INVALID_RESPONSE);
      }
}

/* Expandable fields as whole objects (as Stripe sends them when asked to expand), Purser's
 * metadata and a failed payment. */
static void
test_fixtures_expanded (void)
{
  const char *file = FIXTURES_PINNED;
  g_autoptr (JsonObject) pi = NULL;
  g_autoptr (JsonObject) cs = NULL;
  g_autoptr (JsonObject) si = NULL;
  g_autoptr (JsonObject) refund = NULL;
  g_autoptr (JsonObject) charge = NULL;
  JsonObject *failure = json_object_new ();
  const char *customer_id, *pm_id, *charge_id, *pi_id, *si_id;

  if (!have_stripe_files ())
    {
      json_object_unref (failure);
      return;
    }
  customer_id = str_at (fixture (file, "customer"), "id");
  pm_id = str_at (fixture (file, "payment_method"), "id");
  charge_id = str_at (fixture (file, "charge"), "id");
  pi_id = str_at (fixture (file, "payment_intent"), "id");
  si_id = str_at (fixture (file, "setup_intent"), "id");

  pi = copy_object (fixture (file, "payment_intent"));
  json_object_set_object_member (pi, "customer", copy_object (fixture (file, "customer")));
  json_object_set_object_member (pi, "payment_method",
                                 copy_object (fixture (file, "payment_method")));
  json_object_set_object_member (pi, "latest_charge", copy_object (fixture (file, "charge")));
  json_object_set_string_member (json_object_get_object_member (pi, "metadata"),
                                 "purser_payment_id", PAYMENT_ID);
  json_object_set_string_member (failure, "type", "card_error");
  json_object_set_string_member (failure, "code", "card_declined");
  json_object_set_string_member (failure, "decline_code", "insufficient_funds");
  json_object_set_string_member (failure, "message", "Your card has insufficient funds.");
  json_object_set_object_member (pi, "last_payment_error", failure);
  {
    g_auto (PurserdStripePaymentIntent) parsed = { 0 };

    check_payment_intent (pi, &parsed);
    g_assert_cmpstr (parsed.customer, ==, customer_id);
    g_assert_cmpstr (parsed.payment_method, ==, pm_id);
    g_assert_cmpstr (parsed.latest_charge, ==, charge_id);
    g_assert_cmpstr (parsed.failure_code, ==, "insufficient_funds");
    g_assert_cmpstr (parsed.failure_message, ==, "Your card has insufficient funds.");
    g_assert_cmpstr (parsed.metadata_payment_id, ==, PAYMENT_ID);
  }
  json_object_remove_member (failure, "decline_code");
  {
    g_auto (PurserdStripePaymentIntent) parsed = { 0 };

    check_payment_intent (pi, &parsed);
    g_assert_cmpstr (parsed.failure_code, ==, "card_declined");
  }

  cs = copy_object (fixture (file, "checkout.session"));
  json_object_set_object_member (cs, "customer", copy_object (fixture (file, "customer")));
  json_object_set_object_member (cs, "setup_intent", copy_object (fixture (file, "setup_intent")));
  json_object_set_string_member (json_object_get_object_member (cs, "metadata"), "purser_setup_id",
                                 SETUP_ID);
  {
    g_auto (PurserdStripeCheckoutSession) parsed = { 0 };

    check_checkout_session (cs, &parsed);
    g_assert_cmpstr (parsed.customer, ==, customer_id);
    g_assert_cmpstr (parsed.setup_intent, ==, si_id);
    g_assert_cmpstr (parsed.metadata_setup_id, ==, SETUP_ID);
  }

  si = copy_object (fixture (file, "setup_intent"));
  json_object_set_object_member (si, "customer", copy_object (fixture (file, "customer")));
  json_object_set_object_member (si, "payment_method",
                                 copy_object (fixture (file, "payment_method")));
  {
    g_auto (PurserdStripeSetupIntent) parsed = { 0 };

    check_setup_intent (si, &parsed);
    g_assert_cmpstr (parsed.customer, ==, customer_id);
    g_assert_cmpstr (parsed.payment_method, ==, pm_id);
  }

  refund = copy_object (fixture (file, "refund"));
  json_object_set_object_member (refund, "charge", copy_object (fixture (file, "charge")));
  json_object_set_object_member (refund, "payment_intent",
                                 copy_object (fixture (file, "payment_intent")));
  {
    g_auto (PurserdStripeRefund) parsed = { 0 };

    check_refund (refund, &parsed);
    g_assert_cmpstr (parsed.charge, ==, charge_id);
    g_assert_cmpstr (parsed.payment_intent, ==, pi_id);
  }

  charge = copy_object (fixture (file, "charge"));
  json_object_set_object_member (charge, "payment_intent",
                                 copy_object (fixture (file, "payment_intent")));
  json_object_set_int_member (charge, "amount_refunded", 40);
  {
    g_auto (PurserdStripeCharge) parsed = { 0 };

    check_charge (charge, &parsed);
    g_assert_cmpstr (parsed.payment_intent, ==, pi_id);
    g_assert_cmpint (parsed.amount_refunded, ==, 40);
    g_assert_false (parsed.refunded);
  }
}

/* The bank debits Purser takes, built from the card fixture with the members Stripe's spec
 * gives payment_method_us_bank_account and payment_method_sepa_debit (the fixtures have
 * cards only). */
static void
test_fixtures_bank_methods (void)
{
  static const struct
  {
    const char *type;
    const char *members[4][2];
  } banks[] = {
    { "us_bank_account",
      { { "bank_name", "STRIPE TEST BANK" },
        { "last4", "6789" },
        { "routing_number", "110000000" },
        { "account_type", "checking" } } },
    { "sepa_debit",
      { { "bank_code", "37040044" },
        { "country", "DE" },
        { "last4", "3000" },
        { "branch_code", "" } } },
  };

  if (!have_stripe_files ())
    return;
  for (guint b = 0; b < G_N_ELEMENTS (banks); b++)
    {
      g_autofree char *schema_name = g_strconcat ("payment_method_", banks[b].type, NULL);
      JsonObject *schemas = json_object_get_object_member (
          json_object_get_object_member (spec (), "components"), "schemas");
      JsonObject *properties = json_object_get_object_member (
          json_object_get_object_member (schemas, schema_name), "properties");
      g_autoptr (JsonObject) pm = copy_object (fixture (FIXTURES_PINNED, "payment_method"));
      JsonObject *details = json_object_new ();
      g_auto (PurserdStripePaymentMethod) parsed = { 0 };

      for (guint m = 0; m < G_N_ELEMENTS (banks[b].members); m++)
        {
          g_assert_true (json_object_has_member (properties, banks[b].members[m][0]));
          json_object_set_string_member (details, banks[b].members[m][0], banks[b].members[m][1]);
        }
      json_object_remove_member (pm, "card");
      json_object_set_string_member (pm, "type", banks[b].type);
      json_object_set_object_member (pm, banks[b].type, details);
      json_object_set_string_member (pm, "customer", CUSTOMER_ID);
      check_payment_method (pm, &parsed);
      g_assert_cmpstr (parsed.customer, ==, CUSTOMER_ID);
      g_assert_nonnull (parsed.brand);
      g_assert_nonnull (parsed.last4);
    }
}

static void
test_event_without_object (void)
{
  g_autoptr (JsonNode) root
      = json_from_string ("{\"id\":\"evt_1NnmX7GPxmnHQRkJ\",\"object\":\"event\","
                          "\"type\":\"payment_intent.succeeded\",\"created\":1,\"data\":{}}",
                          NULL);
  g_autoptr (JsonNode) not_event
      = json_from_string ("{\"id\":\"pi_1\",\"object\":\"payment_intent\"}", NULL);
  g_auto (PurserdStripeEvent) event = { 0 };
  g_auto (PurserdStripeEvent) other = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) other_error = NULL;

  g_assert_false (purserd_stripe_parse_event (root, &event, &error));
  g_assert_error (error, PURSERD_STRIPE_ERROR, PURSERD_STRIPE_ERROR_INVALID_RESPONSE);
  g_assert_false (purserd_stripe_parse_event (not_event, &other, &other_error));
  g_assert_error (other_error, PURSERD_STRIPE_ERROR, PURSERD_STRIPE_ERROR_INVALID_RESPONSE);
}

static GPtrArray *event_files; /* names in $PURSER_STRIPE_DIR/events */

static void
test_event (gconstpointer data)
{
  const char *name = data;
  g_autofree char *path = g_build_filename (stripe_dir (), "events", name, NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_auto (PurserdStripeEvent) event = { 0 };
  JsonObject *file;
  const char *kind;
  const Parser *object_parser;
  gboolean ok;

  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  file = json_node_get_object (json_parser_get_root (parser));
  ok = purserd_stripe_parse_event (json_parser_get_root (parser), &event, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_true (g_str_has_prefix (event.id, "evt_"));
  g_assert_cmpstr (event.id, ==, str_at (file, "id"));
  g_assert_cmpstr (event.type, ==, str_at (file, "type"));
  g_assert_cmpint (event.created, >, 0);
  g_assert_cmpint (event.created, ==, int_at (file, "created"));
  g_assert_nonnull (event.object_id);
  g_assert_cmpstr (event.object_id, ==, str_at (file, "data.object.id"));
  g_assert_cmpstr (str_at (event.object, "id"), ==, event.object_id);

  kind = str_at (event.object, "object");
  object_parser = parser_for (kind);
  if (object_parser == NULL)
    {
      g_test_message ("%s: Purser reads no %s objects; the envelope parsed", name, kind);
      return;
    }
  /* payment_intent.succeeded carries a payment_intent, checkout.session.completed a
   * checkout.session… */
  g_assert_true (g_str_has_prefix (event.type, kind));
  g_assert_cmpint (event.type[strlen (kind)], ==, '.');
  object_parser->check (event.object);
}

static void
test_events_present (void)
{
  if (!have_stripe_files ())
    return;
  g_assert_nonnull (event_files);
  g_assert_cmpuint (event_files->len, >, 0);
}

/* ── /stripe-contract/prism ───────────────────────────────────────────────────── */

static void
test_prism_customer_create (void)
{
  g_autoptr (PurserdStripeRequest) request = NULL;
  g_autoptr (JsonObject) answer = NULL;
  g_autofree char *id = NULL;

  if (!prism_ready ())
    return;
  request = purserd_stripe_customer_create (ORG_ID, "Acme Robotics GmbH",
                                            "billing@acme-robotics.example");
  g_assert_cmpstr (request->method, ==, "POST");
  g_assert_cmpstr (request->path, ==, "/v1/customers");
  g_assert_cmpstr (form_get (request, "name"), ==, "Acme Robotics GmbH");
  g_assert_cmpstr (form_get (request, "email"), ==, "billing@acme-robotics.example");
  g_assert_cmpstr (form_get (request, "metadata[purser_org_id]"), ==, ORG_ID);
  answer = prism_send (g_steal_pointer (&request));
  check_customer (answer, &id);
}

static void
test_prism_checkout_setup (gconstpointer data)
{
  const char *type = data;
  g_autoptr (PurserdStripeRequest) request = NULL;
  g_autoptr (JsonObject) answer = NULL;
  g_auto (PurserdStripeCheckoutSession) session = { 0 };
  const char *const modes[] = { "setup", "payment", "subscription", NULL };

  if (!prism_ready ())
    return;
  request = build_checkout (type);
  g_assert_cmpstr (request->path, ==, "/v1/checkout/sessions");
  g_assert_cmpstr (form_get (request, "mode"), ==, "setup");
  g_assert_cmpstr (form_get (request, "customer"), ==, CUSTOMER_ID);
  g_assert_cmpstr (form_get (request, "payment_method_types[0]"), ==, type);
  /* SEPA Direct Debit is in euros; cards and ACH in dollars */
  g_assert_cmpstr (form_get (request, "currency"), ==,
                   g_str_equal (type, "sepa_debit") ? "eur" : "usd");
  g_assert_cmpstr (form_get (request, "success_url"), ==, SUCCESS_URL);
  g_assert_cmpstr (form_get (request, "cancel_url"), ==, CANCEL_URL);
  g_assert_cmpstr (form_get (request, "metadata[purser_setup_id]"), ==, SETUP_ID);
  g_assert_cmpstr (form_get (request, "setup_intent_data[metadata][purser_setup_id]"), ==,
                   SETUP_ID);
  answer = prism_send (g_steal_pointer (&request));
  check_checkout_session (answer, &session);
  g_assert_true (g_str_has_prefix (session.url, "https://"));
  g_assert_true (g_strv_contains (modes, session.mode));
}

static void
test_prism_setup_intent_get (void)
{
  g_autoptr (PurserdStripeRequest) request = NULL;
  g_autoptr (JsonObject) answer = NULL;
  g_auto (PurserdStripeSetupIntent) si = { 0 };

  if (!prism_ready ())
    return;
  request = purserd_stripe_setup_intent_get (SETI_ID);
  g_assert_cmpstr (request->method, ==, "GET");
  g_assert_cmpstr (request->path, ==, "/v1/setup_intents/" SETI_ID);
  answer = prism_send (g_steal_pointer (&request));
  check_setup_intent (answer, &si);
}

static void
check_prism_payment_method (PurserdStripeRequest *request)
{
  g_autoptr (JsonObject) answer = prism_send (request);
  g_auto (PurserdStripePaymentMethod) pm = { 0 };

  check_payment_method (answer, &pm);
  g_assert_cmpstr (pm.type, ==, "card");
  g_assert_nonnull (pm.brand);
  g_assert_nonnull (pm.last4);
}

static void
test_prism_payment_method_get (void)
{
  PurserdStripeRequest *request;

  if (!prism_ready ())
    return;
  request = purserd_stripe_payment_method_get (PM_ID);
  g_assert_cmpstr (request->method, ==, "GET");
  g_assert_cmpstr (request->path, ==, "/v1/payment_methods/" PM_ID);
  check_prism_payment_method (request);
}

static void
test_prism_payment_method_detach (void)
{
  PurserdStripeRequest *request;

  if (!prism_ready ())
    return;
  request = purserd_stripe_payment_method_detach (PM_ID);
  g_assert_cmpstr (request->method, ==, "POST");
  g_assert_cmpstr (request->path, ==, "/v1/payment_methods/" PM_ID "/detach");
  check_prism_payment_method (request);
}

static void
test_prism_payment_intent_create (gconstpointer data)
{
  const char *type = data;
  g_autoptr (PurserdStripeRequest) request = NULL;
  g_autoptr (JsonObject) answer = NULL;
  g_auto (PurserdStripePaymentIntent) pi = { 0 };

  if (!prism_ready ())
    return;
  request = build_payment_intent (type);
  g_assert_cmpstr (request->path, ==, "/v1/payment_intents");
  g_assert_cmpstr (form_get (request, "amount"), ==, "129900");
  /* SEPA Direct Debit payments can only be in euros */
  g_assert_cmpstr (form_get (request, "currency"), ==,
                   g_str_equal (type, "sepa_debit") ? "eur" : "usd");
  g_assert_cmpstr (form_get (request, "customer"), ==, CUSTOMER_ID);
  g_assert_cmpstr (form_get (request, "payment_method"), ==, PM_ID);
  g_assert_cmpstr (form_get (request, "payment_method_types[0]"), ==, type);
  g_assert_cmpstr (form_get (request, "off_session"), ==, "true");
  g_assert_cmpstr (form_get (request, "confirm"), ==, "true");
  g_assert_cmpstr (form_get (request, "metadata[purser_payment_id]"), ==, PAYMENT_ID);
  g_assert_cmpstr (form_get (request, "metadata[purser_invoice_number]"), ==, INVOICE_NUMBER);
  answer = prism_send (g_steal_pointer (&request));
  check_payment_intent (answer, &pi);
}

static void
test_prism_payment_intent_get (void)
{
  g_autoptr (PurserdStripeRequest) request = NULL;
  g_autoptr (JsonObject) answer = NULL;
  g_auto (PurserdStripePaymentIntent) pi = { 0 };

  if (!prism_ready ())
    return;
  request = purserd_stripe_payment_intent_get (PI_ID);
  g_assert_cmpstr (request->method, ==, "GET");
  g_assert_cmpstr (request->path, ==, "/v1/payment_intents/" PI_ID);
  answer = prism_send (g_steal_pointer (&request));
  check_payment_intent (answer, &pi);
}

static void
test_prism_refund_create (void)
{
  g_autoptr (PurserdStripeRequest) request = NULL;
  g_autoptr (JsonObject) answer = NULL;
  g_auto (PurserdStripeRefund) refund = { 0 };

  if (!prism_ready ())
    return;
  request = purserd_stripe_refund_create (CREDIT_NOTE_ID, PI_ID, 4999);
  g_assert_cmpstr (request->path, ==, "/v1/refunds");
  g_assert_cmpstr (form_get (request, "payment_intent"), ==, PI_ID);
  g_assert_cmpstr (form_get (request, "amount"), ==, "4999");
  g_assert_cmpstr (form_get (request, "metadata[purser_credit_note_id]"), ==, CREDIT_NOTE_ID);
  answer = prism_send (g_steal_pointer (&request));
  check_refund (answer, &refund);
}

/* Dollars instead of cents: Stripe's amounts are integers. */
static void
test_prism_refused_amount (void)
{
  PurserdStripeRequest *request;
  g_autofree char *violations = NULL;

  if (!prism_ready ())
    return;
  request = build_payment_intent ("card");
  form_set (request, "amount", "12.99");
  violations = prism_refused (request);
  g_assert_nonnull (strstr (violations, "amount"));
}

static void
test_prism_refused_missing_success_url (void)
{
  PurserdStripeRequest *request;
  g_autofree char *violations = NULL;

  if (!prism_ready ())
    return;
  request = build_checkout ("card");
  form_remove (request, "success_url");
  violations = prism_refused (request);
  g_assert_nonnull (strstr (violations, "success_url"));
}

static void
test_prism_refused_refund_reason (void)
{
  PurserdStripeRequest *request;
  g_autofree char *violations = NULL;

  if (!prism_ready ())
    return;
  request = purserd_stripe_refund_create (CREDIT_NOTE_ID, PI_ID, 4999);
  form_set (request, "reason", "changed_mind");
  violations = prism_refused (request);
  g_assert_nonnull (strstr (violations, "reason"));
}

/* The gateway's request with its Authorization header dropped on the way (by a proxy of this
 * test): Prism answers 401, which the gateway reports as an authentication error. */
static void
test_prism_unauthenticated (void)
{
  g_autoptr (Local) proxy = NULL;
  g_autoptr (PurserdStripe) stripe = NULL;
  g_auto (Sent) sent = { 0 };

  if (!prism_ready ())
    return;
  proxy = local_new (NULL, 0);
  proxy->upstream = g_strdup (prism.base);
  proxy->session = soup_session_new_with_options ("proxy-resolver", NULL, NULL);
  stripe = gateway_new (CONTRACT_KEY, proxy->base, 2, 10);
  send_and_wait (stripe,
                 purserd_stripe_customer_create (ORG_ID, "Acme Robotics GmbH",
                                                 "billing@acme-robotics.example"),
                 &sent);
  g_assert_error (sent.error, PURSERD_STRIPE_ERROR, PURSERD_STRIPE_ERROR_AUTHENTICATION);
  g_assert_cmpuint (proxy->seen->len, ==, 1); /* a 401 is not retried */
  g_assert_cmpstr (seen_at (proxy, 0)->authorization, ==, "Bearer " CONTRACT_KEY);
  g_assert_nonnull (proxy->violations);
  g_assert_nonnull (strstr (proxy->violations, "security"));
}

/* ── /stripe-gateway ──────────────────────────────────────────────────────────── */

#define PI_ANSWER                                                                            \
  "{\"id\":\"pi_3NnlpVGPxmnHQRkJ0Qmr7Afc\",\"object\":\"payment_intent\",\"amount\":129900," \
  "\"status\":\"succeeded\"}"
#define API_ERROR \
  "{\"error\":{\"type\":\"api_error\",\"message\":\"Something went wrong on Stripe's end.\"}}"
#define RATE_ERROR                                                                      \
  "{\"error\":{\"type\":\"invalid_request_error\",\"code\":\"rate_limit\",\"message\":" \
  "\"Too many requests hit the API too quickly.\"}}"

static void
test_gateway_post_headers (void)
{
  static const Reply replies[] = { { 200, PI_ANSWER, NULL } };
  g_autoptr (GPtrArray) requests = every_request ();
  guint posts = 0;

  for (guint i = 0; i < requests->len; i++)
    {
      PurserdStripeRequest *request = g_ptr_array_index (requests, i);
      g_autoptr (Local) local = NULL;
      g_autoptr (PurserdStripe) stripe = NULL;
      g_autofree char *key = NULL;
      g_autofree char *path = NULL;
      g_autofree char *body = NULL;
      g_auto (Sent) sent = { 0 };
      Seen *seen;

      if (!g_str_equal (request->method, "POST"))
        continue;
      posts++;
      local = local_new (replies, G_N_ELEMENTS (replies));
      stripe = gateway_new (GATEWAY_KEY, local->base, 0, 10);
      key = g_strdup (request->idempotency_key);
      path = g_strdup (request->path);
      body = purserd_stripe_request_encode (request);
      g_assert_nonnull (key);
      g_assert_true (g_str_has_prefix (key, "purser-"));
      g_ptr_array_index (requests, i) = NULL; /* taken by send */
      send_and_wait (stripe, request, &sent);
      g_assert_no_error (sent.error);
      g_assert_cmpuint (local->seen->len, ==, 1);
      seen = seen_at (local, 0);
      g_assert_cmpstr (seen->method, ==, "POST");
      g_assert_cmpstr (seen->path, ==, path);
      g_assert_cmpstr (seen->query, ==, NULL);
      g_assert_cmpstr (seen->stripe_version, ==, "2023-08-16");
      g_assert_cmpstr (seen->idempotency_key, ==, key);
      g_assert_cmpstr (seen->content_type, ==, "application/x-www-form-urlencoded");
      g_assert_cmpstr (seen->authorization, ==, "Bearer " GATEWAY_KEY);
      g_assert_cmpstr (seen->body, ==, body);
    }
  g_assert_cmpuint (posts, ==, 5);
}

static void
test_gateway_get_headers (void)
{
  static const Reply replies[] = { { 200, PI_ANSWER, NULL } };
  g_autoptr (GPtrArray) requests = every_request ();
  guint gets = 0;

  for (guint i = 0; i < requests->len; i++)
    {
      PurserdStripeRequest *request = g_ptr_array_index (requests, i);
      g_autoptr (Local) local = NULL;
      g_autoptr (PurserdStripe) stripe = NULL;
      g_autofree char *path = NULL;
      g_auto (Sent) sent = { 0 };
      Seen *seen;

      if (!g_str_equal (request->method, "GET"))
        continue;
      gets++;
      local = local_new (replies, G_N_ELEMENTS (replies));
      stripe = gateway_new (GATEWAY_KEY, local->base, 0, 10);
      path = g_strdup (request->path);
      g_assert_null (request->idempotency_key);
      g_ptr_array_index (requests, i) = NULL;
      send_and_wait (stripe, request, &sent);
      g_assert_no_error (sent.error);
      g_assert_cmpuint (local->seen->len, ==, 1);
      seen = seen_at (local, 0);
      g_assert_cmpstr (seen->method, ==, "GET");
      g_assert_cmpstr (seen->path, ==, path);
      g_assert_cmpstr (seen->stripe_version, ==, "2023-08-16");
      g_assert_cmpstr (seen->authorization, ==, "Bearer " GATEWAY_KEY);
      g_assert_cmpstr (seen->idempotency_key, ==, NULL);
      g_assert_cmpstr (seen->body, ==, "");
    }
  g_assert_cmpuint (gets, ==, 3);
}

/* The key comes from our own operation: the same attempt again has the same key, another
 * attempt another one. */
static void
test_gateway_idempotency_keys (void)
{
  g_autoptr (PurserdStripeRequest) a = build_payment_intent ("card");
  g_autoptr (PurserdStripeRequest) again = build_payment_intent ("card");
  g_autoptr (PurserdStripeRequest) other
      = purserd_stripe_payment_intent_create ("pay_w5y7a2c4e6g3j5l7", ORG_ID, INVOICE_ID,
                                              INVOICE_NUMBER, CUSTOMER_ID, PM_ID, "card", 129900);
  g_autoptr (PurserdStripeRequest) refund
      = purserd_stripe_refund_create (CREDIT_NOTE_ID, PI_ID, 4999);
  g_autoptr (PurserdStripeRequest) setup = build_checkout ("sepa_debit");

  g_assert_cmpstr (a->idempotency_key, ==, again->idempotency_key);
  g_assert_cmpstr (a->idempotency_key, !=, other->idempotency_key);
  g_assert_nonnull (strstr (a->idempotency_key, PAYMENT_ID));
  g_assert_nonnull (strstr (refund->idempotency_key, CREDIT_NOTE_ID));
  g_assert_nonnull (strstr (setup->idempotency_key, SETUP_ID));
}

static void
check_retried (const Reply *replies, guint n_replies)
{
  g_autoptr (Local) local = local_new (replies, n_replies);
  g_autoptr (PurserdStripe) stripe = gateway_new (GATEWAY_KEY, local->base, 2, 10);
  PurserdStripeRequest *request = build_payment_intent ("card");
  g_autofree char *key = g_strdup (request->idempotency_key);
  g_autofree char *body = purserd_stripe_request_encode (request);
  g_auto (Sent) sent = { 0 };

  send_and_wait (stripe, request, &sent);
  g_assert_no_error (sent.error);
  g_assert_cmpstr (str_at (sent.object, "id"), ==, "pi_3NnlpVGPxmnHQRkJ0Qmr7Afc");
  g_assert_cmpuint (local->seen->len, ==, n_replies);
  for (guint i = 0; i < local->seen->len; i++)
    {
      g_assert_cmpstr (seen_at (local, i)->idempotency_key, ==, key);
      g_assert_cmpstr (seen_at (local, i)->body, ==, body);
    }
}

static void
test_gateway_retry_500 (void)
{
  static const Reply replies[] = { { 500, API_ERROR, NULL }, { 200, PI_ANSWER, NULL } };

  check_retried (replies, G_N_ELEMENTS (replies));
}

static void
test_gateway_retry_429 (void)
{
  static const Reply replies[] = { { 429, RATE_ERROR, "0" }, { 200, PI_ANSWER, NULL } };

  check_retried (replies, G_N_ELEMENTS (replies));
}

static void
test_gateway_5xx_exhausted (void)
{
  static const Reply replies[] = { { 503, API_ERROR, NULL } };
  g_autoptr (Local) local = local_new (replies, G_N_ELEMENTS (replies));
  g_autoptr (PurserdStripe) stripe = gateway_new (GATEWAY_KEY, local->base, 2, 10);
  g_auto (Sent) sent = { 0 };

  send_and_wait (stripe, build_payment_intent ("card"), &sent);
  g_assert_error (sent.error, PURSERD_STRIPE_ERROR, PURSERD_STRIPE_ERROR_UNREACHABLE);
  g_assert_cmpuint (local->seen->len, ==, 3);
}

static void
test_gateway_400_not_retried (void)
{
  static const Reply replies[] = {
    { 400,
      "{\"error\":{\"type\":\"invalid_request_error\",\"code\":\"parameter_invalid_integer\","
      "\"param\":\"amount\",\"message\":\"Invalid integer: 12.99\"}}",
      NULL },
    { 200, PI_ANSWER, NULL },
  };
  g_autoptr (Local) local = local_new (replies, G_N_ELEMENTS (replies));
  g_autoptr (PurserdStripe) stripe = gateway_new (GATEWAY_KEY, local->base, 2, 10);
  g_auto (Sent) sent = { 0 };

  send_and_wait (stripe, build_payment_intent ("card"), &sent);
  g_assert_error (sent.error, PURSERD_STRIPE_ERROR, PURSERD_STRIPE_ERROR_REQUEST);
  g_assert_cmpstr (sent.error->message, ==, "Invalid integer: 12.99");
  g_assert_nonnull (sent.error_object);
  g_assert_cmpstr (str_at (sent.error_object, "param"), ==, "amount");
  g_assert_cmpstr (str_at (sent.error_object, "code"), ==, "parameter_invalid_integer");
  g_assert_cmpuint (local->seen->len, ==, 1);
}

static void
test_gateway_402_card_error (void)
{
  static const Reply replies[] = {
    { 402,
      "{\"error\":{\"type\":\"card_error\",\"code\":\"card_declined\",\"decline_code\":"
      "\"insufficient_funds\",\"message\":\"Your card has insufficient funds.\","
      "\"charge\":\"ch_3NnlpVGPxmnHQRkJ0a8Hkm2Q\",\"payment_intent\":{\"id\":"
      "\"pi_3NnlpVGPxmnHQRkJ0Qmr7Afc\",\"object\":\"payment_intent\",\"status\":"
      "\"requires_payment_method\"}}}",
      NULL },
    { 200, PI_ANSWER, NULL },
  };
  g_autoptr (Local) local = local_new (replies, G_N_ELEMENTS (replies));
  g_autoptr (PurserdStripe) stripe = gateway_new (GATEWAY_KEY, local->base, 2, 10);
  g_auto (Sent) sent = { 0 };

  send_and_wait (stripe, build_payment_intent ("card"), &sent);
  g_assert_error (sent.error, PURSERD_STRIPE_ERROR, PURSERD_STRIPE_ERROR_CARD);
  g_assert_cmpstr (sent.error->message, ==, "Your card has insufficient funds.");
  g_assert_nonnull (sent.error_object);
  g_assert_cmpstr (str_at (sent.error_object, "code"), ==, "card_declined");
  g_assert_cmpstr (str_at (sent.error_object, "decline_code"), ==, "insufficient_funds");
  g_assert_cmpstr (str_at (sent.error_object, "payment_intent.id"), ==,
                   "pi_3NnlpVGPxmnHQRkJ0Qmr7Afc");
  g_assert_cmpuint (local->seen->len, ==, 1);
}

/* Prism's own 401 answer. */
static void
test_gateway_401 (void)
{
  static const Reply replies[] = {
    { 401,
      "{\"error\":{\"type\":\"invalid_request_error\",\"message\":\"Invalid API Key provided: "
      "sk_test_********gateway\"}}",
      NULL },
  };
  g_autoptr (Local) local = local_new (replies, G_N_ELEMENTS (replies));
  g_autoptr (PurserdStripe) stripe = gateway_new (GATEWAY_KEY, local->base, 2, 10);
  g_auto (Sent) sent = { 0 };

  send_and_wait (stripe, purserd_stripe_payment_intent_get (PI_ID), &sent);
  g_assert_error (sent.error, PURSERD_STRIPE_ERROR, PURSERD_STRIPE_ERROR_AUTHENTICATION);
  g_assert_nonnull (strstr (sent.error->message, "Invalid API Key"));
  g_assert_cmpuint (local->seen->len, ==, 1);
}

static void
test_gateway_unreachable (void)
{
  g_autofree char *base = g_strdup_printf ("http://127.0.0.1:%u", free_port ());
  g_autoptr (PurserdStripe) stripe = gateway_new (GATEWAY_KEY, base, 2, 10);
  g_auto (Sent) sent = { 0 };
  guint before = g_atomic_int_get (&retries_logged);

  send_and_wait (stripe, build_payment_intent ("card"), &sent);
  g_assert_error (sent.error, PURSERD_STRIPE_ERROR, PURSERD_STRIPE_ERROR_UNREACHABLE);
  /* max_retries + 1 attempts: the first and two retries */
  g_assert_cmpuint (g_atomic_int_get (&retries_logged) - before, ==, 2);
}

static void
test_gateway_not_configured (void)
{
  static const Reply replies[] = { { 200, PI_ANSWER, NULL } };
  const char *const keys[] = { NULL, "" };
  g_autoptr (Local) local = local_new (replies, G_N_ELEMENTS (replies));

  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      g_autoptr (PurserdStripe) stripe = gateway_new (keys[i], local->base, 2, 10);
      g_auto (Sent) sent = { 0 };

      g_assert_false (purserd_stripe_configured (stripe));
      send_and_wait (stripe, build_payment_intent ("card"), &sent);
      g_assert_error (sent.error, PURSERD_STRIPE_ERROR, PURSERD_STRIPE_ERROR_NOT_CONFIGURED);
    }
  g_assert_cmpuint (local->seen->len, ==, 0);
}

/* A gateway used from a thread with its own main context, while the global default context
 * is not run at all: its retry must come back to its own context, where its session lives. */
typedef struct
{
  const char *base;
  GMainContext *test_context;
  gboolean done; /* on the test's thread */
  char *error;
} ThreadSend;

static gboolean
thread_send_done_cb (gpointer user_data)
{
  ThreadSend *ts = user_data;

  ts->done = TRUE;
  return G_SOURCE_REMOVE;
}

static gpointer
thread_send (gpointer user_data)
{
  ThreadSend *ts = user_data;
  GMainContext *context = g_main_context_new ();

  g_main_context_push_thread_default (context);
  {
    g_autoptr (PurserdStripe) stripe = gateway_new (GATEWAY_KEY, ts->base, 2, 10);
    g_auto (Sent) sent = { 0 };

    sent.stripe = stripe;
    purserd_stripe_send_async (stripe, purserd_stripe_payment_intent_get (PI_ID), NULL, sent_cb,
                               &sent);
    if (!iterate_until (&sent.done, 10 * 1000))
      g_error ("no answer within 10 s: the retry was scheduled on another main context");
    if (sent.error != NULL)
      ts->error = g_strdup (sent.error->message);
  }
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  g_main_context_invoke (ts->test_context, thread_send_done_cb, ts);
  return NULL;
}

static void
test_gateway_retry_thread_context (void)
{
  static const Reply replies[] = { { 500, API_ERROR, NULL }, { 200, PI_ANSWER, NULL } };
  GMainContext *context = g_main_context_new ();
  ThreadSend ts = { .test_context = context };
  Local *local;
  GThread *thread;

  g_main_context_push_thread_default (context);
  local = local_new (replies, G_N_ELEMENTS (replies));
  ts.base = local->base;
  thread = g_thread_new ("stripe-gateway", thread_send, &ts);
  g_assert_true (iterate_until (&ts.done, SEND_TIMEOUT_SECONDS * 1000));
  g_thread_join (thread);
  g_assert_cmpstr (ts.error, ==, NULL);
  g_assert_cmpuint (local->seen->len, ==, 2);
  local_free (local);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
}

/* ── main ─────────────────────────────────────────────────────────────────────── */

static void
add_event_tests (void)
{
  g_autofree char *dir = NULL;
  g_autoptr (GDir) listing = NULL;
  const char *name;

  g_test_add_func ("/stripe-contract/events/present", test_events_present);
  if (stripe_dir () == NULL)
    return;
  dir = g_build_filename (stripe_dir (), "events", NULL);
  listing = g_dir_open (dir, 0, NULL);
  if (listing == NULL)
    return;
  event_files = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (listing)) != NULL)
    if (g_str_has_suffix (name, ".json"))
      g_ptr_array_add (event_files, g_strdup (name));
  g_ptr_array_sort (event_files, (GCompareFunc) g_strcmp0);
  for (guint i = 0; i < event_files->len; i++)
    {
      g_autofree char *path
          = g_strconcat ("/stripe-contract/events/", g_ptr_array_index (event_files, i), NULL);

      g_test_add_data_func (path, g_ptr_array_index (event_files, i), test_event);
    }
}

int
main (int argc, char *argv[])
{
  const char *const files[] = { FIXTURES_PINNED, FIXTURES_LATEST };
  int status;

  g_test_init (&argc, &argv, NULL);
  g_log_set_writer_func (count_retries_writer, NULL, NULL);
  atexit (prism_kill_at_exit);

  g_test_add_func ("/stripe-contract/spec/every-builder-is-covered", test_every_builder_is_covered);
  g_test_add_func ("/stripe-contract/spec/unknown-parameter", test_spec_unknown_parameter);

  for (guint f = 0; f < G_N_ELEMENTS (files); f++)
    for (guint p = 0; p < G_N_ELEMENTS (parsers); p++)
      {
        g_autofree char *version = g_strndup (files[f] + strlen ("fixtures3."),
                                              strlen (files[f]) - strlen ("fixtures3..json"));
        g_autofree char *path
            = g_strdup_printf ("/stripe-contract/fixtures/%s/%s", version, parsers[p].resource);

        fixture_cases[f][p] = (FixtureCase){ files[f], &parsers[p] };
        g_test_add_data_func (path, &fixture_cases[f][p], test_fixture);
      }
  g_test_add_func ("/stripe-contract/fixtures/expanded", test_fixtures_expanded);
  g_test_add_func ("/stripe-contract/fixtures/bank-methods", test_fixtures_bank_methods);
  g_test_add_func ("/stripe-contract/fixtures/event-without-object", test_event_without_object);
  add_event_tests ();

  g_test_add_func ("/stripe-contract/prism/customer.create", test_prism_customer_create);
  for (guint t = 0; t < G_N_ELEMENTS (method_types); t++)
    {
      g_autofree char *checkout
          = g_strconcat ("/stripe-contract/prism/checkout.session.create/", method_types[t], NULL);
      g_autofree char *payment
          = g_strconcat ("/stripe-contract/prism/payment_intent.create/", method_types[t], NULL);

      g_test_add_data_func (checkout, method_types[t], test_prism_checkout_setup);
      g_test_add_data_func (payment, method_types[t], test_prism_payment_intent_create);
    }
  g_test_add_func ("/stripe-contract/prism/setup_intent.get", test_prism_setup_intent_get);
  g_test_add_func ("/stripe-contract/prism/payment_method.get", test_prism_payment_method_get);
  g_test_add_func ("/stripe-contract/prism/payment_method.detach",
                   test_prism_payment_method_detach);
  g_test_add_func ("/stripe-contract/prism/payment_intent.get", test_prism_payment_intent_get);
  g_test_add_func ("/stripe-contract/prism/refund.create", test_prism_refund_create);
  g_test_add_func ("/stripe-contract/prism/refused/amount-not-integer", test_prism_refused_amount);
  g_test_add_func ("/stripe-contract/prism/refused/missing-success-url",
                   test_prism_refused_missing_success_url);
  g_test_add_func ("/stripe-contract/prism/refused/refund-reason",
                   test_prism_refused_refund_reason);
  g_test_add_func ("/stripe-contract/prism/unauthenticated", test_prism_unauthenticated);

  g_test_add_func ("/stripe-gateway/post-headers", test_gateway_post_headers);
  g_test_add_func ("/stripe-gateway/get-headers", test_gateway_get_headers);
  g_test_add_func ("/stripe-gateway/idempotency-keys", test_gateway_idempotency_keys);
  g_test_add_func ("/stripe-gateway/retry/500-then-200", test_gateway_retry_500);
  g_test_add_func ("/stripe-gateway/retry/429-retry-after", test_gateway_retry_429);
  g_test_add_func ("/stripe-gateway/retry/5xx-exhausted", test_gateway_5xx_exhausted);
  g_test_add_func ("/stripe-gateway/retry/thread-context", test_gateway_retry_thread_context);
  g_test_add_func ("/stripe-gateway/400-not-retried", test_gateway_400_not_retried);
  g_test_add_func ("/stripe-gateway/402-card-error", test_gateway_402_card_error);
  g_test_add_func ("/stripe-gateway/401-authentication", test_gateway_401);
  g_test_add_func ("/stripe-gateway/unreachable", test_gateway_unreachable);
  g_test_add_func ("/stripe-gateway/not-configured", test_gateway_not_configured);

  status = g_test_run ();

  prism_stop ();
  g_clear_object (&raw_session);
  g_clear_pointer (&documents, g_hash_table_unref);
  g_clear_pointer (&event_files, g_ptr_array_unref);
  return status;
}
