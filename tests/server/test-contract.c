/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "purserd-harness.h"

/* The API contract, src/server/openapi.json, against a running purserd --demo:
 *
 *   - the server serves exactly the file of the source tree;
 *   - every operation of the document, sent with its request example and a token of a role
 *     it allows, answers a documented status with a body of the documented schema (JSON, or
 *     a PDF document where the document says application/pdf);
 *   - without a token every secured operation answers 401, and roles the operation does not
 *     list (x-purser-roles) answer 403;
 *   - every path answers an unknown method with 405 and an Allow header naming exactly the
 *     methods the document lists, and the routes ARCHITECTURE.md plans but the document
 *     lacks are really not served;
 *   - the payment operations agree with each other on the demo, which has no Stripe key:
 *     wire transfer, PDFs, e-mail, and the refusals of what needs Stripe.
 *
 * The schemas are checked by a small JSON-schema checker (type, nullable, enum, required,
 * properties, additionalProperties, items, allOf, $ref, formats and bounds). */

#define DEMO_NOW      "2026-03-11T09:00:00Z"
#define DEMO_PASSWORD "northwind-demo"
/* An id nothing has: destructive operations without a real target get it. */
#define MISSING_ID "contract_missing_1"
#define MAX_DEPTH  64

typedef enum
{
  ROLE_ADMIN,
  ROLE_EXECUTIVE,
  ROLE_MANAGER,
  ROLE_EMPLOYEE,
  N_ROLES,
} Role;

static const char *const role_names[N_ROLES] = { "admin", "executive", "manager", "employee" };
static const char *const role_logins[N_ROLES] = {
  "finance@northwind.example",
  "ceo@northwind.example",
  "eng.manager@northwind.example",
  "ada.andersen@northwind.example",
};

static const char *const http_methods[] = {
  "get", "put", "post", "delete", "options", "head", "patch", "trace", NULL,
};

typedef struct
{
  PurserdHarness *h;
  JsonNode *doc;    /* the source tree's openapi.json */
  JsonObject *root; /* its object */
  JsonObject *paths;
  char *org_id;
  char *tokens[N_ROLES];

  /* real ids of the demo, found through the list routes */
  char *department_id; /* a top-level department */
  char *employee_id;   /* an active employee without a license */
  char *invoice_id;
  char *created_department_id; /* made by POST …/departments */

  /* our own client: answers are JSON or PDF, and keep their bytes */
  SoupSession *session;
} Contract;

static Contract contract;

/* One operation of the document. */
typedef struct
{
  char *method;     /* upper case */
  const char *path; /* the template, e.g. /v1/orgs/{org}/invoices/{id} */
  JsonObject *op;   /* borrowed from the document */
  guint order;      /* when it runs: reads first, destructive operations last */
  guint index;      /* its place in the document */
} Operation;

static void
operation_free (Operation *op)
{
  g_free (op->method);
  g_free (op);
}

/* ── the document ──────────────────────────────────────────────────────────────── */

static char *
document_path (void)
{
  return g_test_build_filename (G_TEST_DIST, "..", "src", "server", "openapi.json", NULL);
}

static JsonNode *
load_document (void)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *path = document_path ();

  if (!json_parser_load_from_file (parser, path, &error))
    g_error ("%s is not valid JSON: %s", path, error->message);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_node_copy (json_parser_get_root (parser));
}

static char *
to_json (JsonNode *node)
{
  if (node == NULL)
    return g_strdup ("(no body)");
  return json_to_string (node, FALSE);
}

/* A body for a failure message: long ones are cut. */
static char *
shown (JsonNode *node)
{
  char *text = to_json (node);

  if (strlen (text) > 1500)
    strcpy (text + 1490, " ...");
  return text;
}

static JsonNode *
parse_json (const char *text, gssize length)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;

  if (!json_parser_load_from_data (parser, text, length, &error))
    g_error ("not JSON (%s): %.*s", error->message, length < 0 ? (int) strlen (text) : (int) length,
             text);
  return json_node_copy (json_parser_get_root (parser));
}

/* A fresh, mutable copy (json_node_copy shares the objects inside). */
static JsonNode *
deep_copy (JsonNode *node)
{
  g_autofree char *text = to_json (node);

  return parse_json (text, -1);
}

/* "#/components/schemas/Money" -> that object of the document, or NULL. */
static JsonObject *
resolve_pointer (const char *ref)
{
  g_auto (GStrv) parts = NULL;
  JsonObject *object = contract.root;

  if (!g_str_has_prefix (ref, "#/"))
    return NULL;
  parts = g_strsplit (ref + 2, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      JsonNode *member = json_object_get_member (object, parts[i]);

      if (member == NULL || !JSON_NODE_HOLDS_OBJECT (member))
        return NULL;
      object = json_node_get_object (member);
    }
  return object;
}

/* The object itself, or what its $ref points at (following chains). */
static JsonObject *
deref (JsonObject *object)
{
  for (guint i = 0; object != NULL && json_object_has_member (object, "$ref") && i < MAX_DEPTH; i++)
    {
      const char *ref = json_object_get_string_member (object, "$ref");
      JsonObject *target = resolve_pointer (ref);

      if (target == NULL)
        g_error ("openapi.json: \"%s\" points at nothing", ref);
      object = target;
    }
  return object;
}

static const char *
string_member (JsonObject *object, const char *name)
{
  JsonNode *node = object ? json_object_get_member (object, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static JsonObject *
object_member (JsonObject *object, const char *name)
{
  JsonNode *node = object ? json_object_get_member (object, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static JsonArray *
array_member (JsonObject *object, const char *name)
{
  JsonNode *node = object ? json_object_get_member (object, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

static gboolean
bool_member (JsonObject *object, const char *name)
{
  JsonNode *node = object ? json_object_get_member (object, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_VALUE (node)
         && json_node_get_value_type (node) == G_TYPE_BOOLEAN && json_node_get_boolean (node);
}

static gboolean
array_has_string (JsonArray *array, const char *value)
{
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);

      if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING
          && g_str_equal (json_node_get_string (node), value))
        return TRUE;
    }
  return FALSE;
}

/* ── a small JSON-schema checker (OpenAPI 3.0 flavour) ─────────────────────────── */

static const char *
node_kind (JsonNode *node)
{
  switch (json_node_get_node_type (node))
    {
      case JSON_NODE_OBJECT:
        return "object";
      case JSON_NODE_ARRAY:
        return "array";
      case JSON_NODE_NULL:
        return "null";
      case JSON_NODE_VALUE:
        switch (json_node_get_value_type (node))
          {
            case G_TYPE_INT64:
              return "integer";
            case G_TYPE_DOUBLE:
              return "number";
            case G_TYPE_BOOLEAN:
              return "boolean";
            case G_TYPE_STRING:
              return "string";
            default:
              return "value";
          }
      default:
        return "unknown";
    }
}

static gboolean
type_matches (const char *type, JsonNode *value)
{
  const char *kind = node_kind (value);

  if (g_str_equal (type, "number"))
    return g_str_equal (kind, "number") || g_str_equal (kind, "integer");
  return g_str_equal (type, kind);
}

static gboolean
is_date (const char *text)
{
  int year = 0, month = 0, day = 0;
  char end = 0;

  if (strlen (text) != 10 || text[4] != '-' || text[7] != '-')
    return FALSE;
  if (sscanf (text, "%4d-%2d-%2d%c", &year, &month, &day, &end) != 3)
    return FALSE;
  return g_date_valid_dmy ((GDateDay) day, (GDateMonth) month, (GDateYear) year);
}

/* RFC 3339 in UTC, as the API writes times: 2026-03-11T09:00:00Z. */
static gboolean
is_time (const char *text)
{
  g_autoptr (GDateTime) parsed = NULL;
  char day[11];

  if (strlen (text) < 20 || text[10] != 'T' || !g_str_has_suffix (text, "Z"))
    return FALSE;
  memcpy (day, text, 10);
  day[10] = '\0';
  if (!is_date (day))
    return FALSE;
  parsed = g_date_time_new_from_iso8601 (text, NULL);
  return parsed != NULL;
}

static gint64
int_member (JsonObject *object, const char *name, gint64 fallback)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return fallback;
  if (json_node_get_value_type (node) == G_TYPE_INT64)
    return json_node_get_int (node);
  if (json_node_get_value_type (node) == G_TYPE_DOUBLE)
    return (gint64) json_node_get_double (node);
  return fallback;
}

static void check_schema (JsonNode *value, JsonObject *schema, const char *where, GString *errors,
                          guint depth);

static void
problem (GString *errors, const char *where, const char *what)
{
  if (errors->len > 4000)
    return;
  g_string_append_printf (errors, "\n  %s: %s", where, what);
}

static void
check_string (const char *text, JsonObject *schema, const char *where, GString *errors)
{
  const char *format = string_member (schema, "format");
  const char *pattern = string_member (schema, "pattern");
  glong length = g_utf8_strlen (text, -1);

  if (json_object_has_member (schema, "minLength") && length < int_member (schema, "minLength", 0))
    problem (errors, where, "shorter than minLength");
  if (json_object_has_member (schema, "maxLength")
      && length > int_member (schema, "maxLength", G_MAXINT64))
    problem (errors, where, "longer than maxLength");
  if (g_strcmp0 (format, "date") == 0 && !is_date (text))
    problem (errors, where, "not a date (YYYY-MM-DD)");
  if (g_strcmp0 (format, "date-time") == 0 && !is_time (text))
    problem (errors, where, "not an RFC 3339 UTC time");
  if (pattern != NULL && !g_regex_match_simple (pattern, text, 0, 0))
    problem (errors, where, "does not match the pattern");
}

static void
check_number (JsonNode *value, JsonObject *schema, const char *where, GString *errors)
{
  gdouble number = json_node_get_value_type (value) == G_TYPE_INT64
                       ? (gdouble) json_node_get_int (value)
                       : json_node_get_double (value);

  if (json_object_has_member (schema, "minimum")
      && number < (gdouble) int_member (schema, "minimum", 0))
    problem (errors, where, "below minimum");
  if (json_object_has_member (schema, "maximum")
      && number > (gdouble) int_member (schema, "maximum", 0))
    problem (errors, where, "above maximum");
}

static void
check_object (JsonObject *object, JsonObject *schema, const char *where, GString *errors,
              guint depth)
{
  JsonObject *properties = object_member (schema, "properties");
  JsonArray *required = array_member (schema, "required");
  JsonNode *additional = json_object_get_member (schema, "additionalProperties");
  g_autoptr (GList) members = json_object_get_members (object);

  for (guint i = 0; required != NULL && i < json_array_get_length (required); i++)
    {
      const char *name = json_array_get_string_element (required, i);

      if (!json_object_has_member (object, name))
        {
          g_autofree char *what = g_strdup_printf ("the required member \"%s\" is missing", name);

          problem (errors, where, what);
        }
    }
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *name = l->data;
      JsonObject *member_schema = object_member (properties, name);
      g_autofree char *child = g_strdup_printf ("%s.%s", where, name);

      if (member_schema != NULL)
        check_schema (json_object_get_member (object, name), member_schema, child, errors,
                      depth + 1);
      else if (additional != NULL && JSON_NODE_HOLDS_OBJECT (additional))
        check_schema (json_object_get_member (object, name), json_node_get_object (additional),
                      child, errors, depth + 1);
      else if (additional != NULL && JSON_NODE_HOLDS_VALUE (additional)
               && !json_node_get_boolean (additional))
        problem (errors, child, "not in the schema (additionalProperties is false)");
    }
}

static void
check_array (JsonArray *array, JsonObject *schema, const char *where, GString *errors, guint depth)
{
  JsonObject *items = object_member (schema, "items");
  guint n = json_array_get_length (array);

  if (json_object_has_member (schema, "minItems")
      && (gint64) n < int_member (schema, "minItems", 0))
    problem (errors, where, "fewer items than minItems");
  if (json_object_has_member (schema, "maxItems")
      && (gint64) n > int_member (schema, "maxItems", 0))
    problem (errors, where, "more items than maxItems");
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *child = g_strdup_printf ("%s[%u]", where, i);

      if (items != NULL)
        check_schema (json_array_get_element (array, i), items, child, errors, depth + 1);
      if (bool_member (schema, "uniqueItems"))
        for (guint j = 0; j < i; j++)
          if (json_node_equal (json_array_get_element (array, i),
                               json_array_get_element (array, j)))
            problem (errors, child, "repeats an earlier item (uniqueItems)");
    }
}

/* Appends to `errors` every way `value` (at `where`, e.g. "$.subscription") breaks
 * `schema`. */
static void
check_schema (JsonNode *value, JsonObject *schema, const char *where, GString *errors, guint depth)
{
  const char *type;
  JsonArray *all_of, *choices;

  if (depth > MAX_DEPTH)
    {
      problem (errors, where, "the schema nests too deep");
      return;
    }
  schema = deref (schema);
  type = string_member (schema, "type");
  all_of = array_member (schema, "allOf");

  if (value == NULL)
    {
      problem (errors, where, "no value");
      return;
    }
  if (JSON_NODE_HOLDS_NULL (value) && bool_member (schema, "nullable"))
    return;

  for (guint i = 0; all_of != NULL && i < json_array_get_length (all_of); i++)
    check_schema (value, json_array_get_object_element (all_of, i), where, errors, depth + 1);

  if (type != NULL && !type_matches (type, value))
    {
      g_autofree char *what
          = g_strdup_printf ("a %s where the schema wants %s%s", node_kind (value), type,
                             JSON_NODE_HOLDS_NULL (value) ? " (not nullable)" : "");

      problem (errors, where, what);
      return;
    }
  if (type == NULL && all_of == NULL && JSON_NODE_HOLDS_NULL (value)
      && !bool_member (schema, "nullable") && json_object_get_size (schema) > 0)
    {
      problem (errors, where, "null, and the schema is not nullable");
      return;
    }

  choices = array_member (schema, "enum");
  if (choices != NULL)
    {
      gboolean found = FALSE;

      for (guint i = 0; i < json_array_get_length (choices) && !found; i++)
        found = json_node_equal (value, json_array_get_element (choices, i));
      if (!found)
        {
          g_autofree char *text = to_json (value);
          g_autofree char *what = g_strdup_printf ("%s is not one of the enum", text);

          problem (errors, where, what);
        }
    }

  switch (json_node_get_node_type (value))
    {
      case JSON_NODE_OBJECT:
        check_object (json_node_get_object (value), schema, where, errors, depth);
        break;
      case JSON_NODE_ARRAY:
        check_array (json_node_get_array (value), schema, where, errors, depth);
        break;
      case JSON_NODE_VALUE:
        if (json_node_get_value_type (value) == G_TYPE_STRING)
          check_string (json_node_get_string (value), schema, where, errors);
        else if (json_node_get_value_type (value) == G_TYPE_INT64
                 || json_node_get_value_type (value) == G_TYPE_DOUBLE)
          check_number (value, schema, where, errors);
        break;
      case JSON_NODE_NULL:
        break;
      default:
        problem (errors, where, "an unknown kind of JSON node");
        break;
    }
}

/* Fails the test when `value` breaks `schema`. */
static void
assert_valid (JsonNode *value, JsonObject *schema, const char *what)
{
  g_autoptr (GString) errors = g_string_new (NULL);

  check_schema (value, schema, "$", errors, 0);
  if (errors->len > 0)
    {
      g_autofree char *body = shown (value);
      g_autofree char *message = g_strdup_printf (
          "%s does not match its documented schema:%s\nbody: %s", what, errors->str, body);

      g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, message);
    }
}

/* ── operations and requests ───────────────────────────────────────────────────── */

static gboolean
path_has_id (const char *path)
{
  return strstr (path, "{id}") != NULL;
}

/* When an operation runs: reads, then creations, then changes, then what destroys or
 * undoes (licenses before revoking them, cancel before resume, the session last). */
static guint
operation_order (const char *method, const char *path)
{
  if (g_str_equal (method, "GET"))
    return 0;
  if (g_str_has_suffix (path, "/licenses/assign"))
    return 3;
  if (g_str_has_suffix (path, "/licenses/revoke"))
    return 4;
  if (g_str_has_suffix (path, "/subscription/cancel"))
    return 5;
  if (g_str_has_suffix (path, "/subscription/resume"))
    return 6;
  if (g_str_equal (method, "DELETE") || g_str_has_suffix (path, "/void"))
    return 7;
  if (g_str_equal (path, "/v1/auth/logout"))
    return 8;
  if (g_str_equal (method, "POST") && !path_has_id (path))
    return 1;
  return 2;
}

static gint
compare_operations (gconstpointer a, gconstpointer b)
{
  const Operation *x = *(const Operation *const *) a;
  const Operation *y = *(const Operation *const *) b;

  if (x->order != y->order)
    return x->order < y->order ? -1 : 1;
  return x->index < y->index ? -1 : x->index > y->index;
}

/* Every operation of the document, in the order they are to run. */
static GPtrArray *
collect_operations (void)
{
  GPtrArray *ops = g_ptr_array_new_with_free_func ((GDestroyNotify) operation_free);
  g_autoptr (GList) paths = json_object_get_members (contract.paths);
  guint index = 0;

  for (GList *l = paths; l != NULL; l = l->next)
    {
      JsonObject *item = object_member (contract.paths, l->data);

      g_assert_nonnull (item);
      for (guint m = 0; http_methods[m] != NULL; m++)
        {
          JsonObject *object = object_member (item, http_methods[m]);
          Operation *op;

          if (object == NULL)
            continue;
          op = g_new0 (Operation, 1);
          op->method = g_ascii_strup (http_methods[m], -1);
          op->path = l->data;
          op->op = object;
          op->index = index++;
          op->order = operation_order (op->method, op->path);
          g_ptr_array_add (ops, op);
        }
    }
  g_ptr_array_sort (ops, compare_operations);
  return ops;
}

static gboolean
is_secured (JsonObject *op)
{
  JsonArray *security = array_member (op, "security");

  return security == NULL || json_array_get_length (security) > 0;
}

static gboolean
is_operator_route (JsonObject *op)
{
  return g_strcmp0 (string_member (op, "x-purser-auth"), "operator") == 0;
}

static gboolean
role_allowed (JsonObject *op, Role role)
{
  return array_has_string (array_member (op, "x-purser-roles"), role_names[role]);
}

/* The token for an operation: the operator's, or the first role it allows. */
static const char *
token_for (JsonObject *op)
{
  if (!is_secured (op))
    return NULL;
  if (is_operator_route (op))
    return HARNESS_OPERATOR_TOKEN;
  for (guint r = 0; r < N_ROLES; r++)
    if (role_allowed (op, (Role) r))
      return contract.tokens[r];
  g_error ("%s: a user operation without x-purser-roles", string_member (op, "operationId"));
  return NULL;
}

/* A template with {org} and {id} filled in. */
static char *
fill_path (const char *template, const char *id)
{
  g_auto (GStrv) parts = g_strsplit (template, "/", -1);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      if (g_str_equal (parts[i], "{org}"))
        {
          g_free (parts[i]);
          parts[i] = g_strdup (contract.org_id);
        }
      else if (g_str_equal (parts[i], "{id}"))
        {
          g_free (parts[i]);
          parts[i] = g_strdup (id ? id : MISSING_ID);
        }
    }
  return g_strjoinv ("/", parts);
}

/* Does a concrete path match a template of the document? */
static gboolean
template_matches (const char *template, const char *path)
{
  g_auto (GStrv) want = g_strsplit (template, "/", -1);
  g_auto (GStrv) have = g_strsplit (path, "/", -1);

  if (g_strv_length (want) != g_strv_length (have))
    return FALSE;
  for (guint i = 0; want[i] != NULL; i++)
    {
      if (want[i][0] == '{')
        {
          if (have[i][0] == '\0')
            return FALSE;
        }
      else if (!g_str_equal (want[i], have[i]))
        return FALSE;
    }
  return TRUE;
}

/* The request's media type and its example, as the document gives them. */
static JsonObject *
request_media (JsonObject *op, const char **content_type)
{
  JsonObject *body = deref (object_member (op, "requestBody"));
  JsonObject *content = object_member (body, "content");
  g_autoptr (GList) types = content ? json_object_get_members (content) : NULL;

  if (types == NULL)
    return NULL;
  *content_type = types->data;
  return object_member (content, types->data);
}

/* The query string made of the examples of the operation's query parameters. */
static char *
query_from_examples (JsonObject *op)
{
  JsonArray *params = array_member (op, "parameters");
  g_autoptr (GString) query = g_string_new (NULL);

  for (guint i = 0; params != NULL && i < json_array_get_length (params); i++)
    {
      JsonObject *param = deref (json_array_get_object_element (params, i));
      JsonNode *example = json_object_get_member (param, "example");
      g_autofree char *value = NULL;
      g_autofree char *escaped = NULL;

      if (g_strcmp0 (string_member (param, "in"), "query") != 0 || example == NULL)
        continue;
      value = JSON_NODE_HOLDS_VALUE (example) && json_node_get_value_type (example) == G_TYPE_STRING
                  ? g_strdup (json_node_get_string (example))
                  : to_json (example);
      escaped = g_uri_escape_string (value, NULL, TRUE);
      g_string_append_printf (query, "%s%s=%s", query->len ? "&" : "?",
                              string_member (param, "name"), escaped);
    }
  return g_string_free (g_steal_pointer (&query), FALSE);
}

typedef struct
{
  guint status;
  JsonNode *body; /* the parsed body of a JSON answer, or NULL */
  SoupMessageHeaders *headers;
  GBytes *raw; /* the body's bytes, whatever their type */
} Answer;

static void
answer_clear (Answer *answer)
{
  g_clear_pointer (&answer->body, json_node_unref);
  g_clear_pointer (&answer->headers, soup_message_headers_unref);
  g_clear_pointer (&answer->raw, g_bytes_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Answer, answer_clear)

/* The answer's media type without parameters, or NULL. */
static const char *
answer_type (const Answer *answer)
{
  return answer->headers ? soup_message_headers_get_content_type (answer->headers, NULL) : NULL;
}

static gsize
answer_length (const Answer *answer)
{
  return answer->raw ? g_bytes_get_size (answer->raw) : 0;
}

/* error.code of an error answer, or NULL. */
static const char *
answer_code (const Answer *answer)
{
  JsonObject *root = answer->body && JSON_NODE_HOLDS_OBJECT (answer->body)
                         ? json_node_get_object (answer->body)
                         : NULL;

  return string_member (object_member (root, "error"), "code");
}

/* A request with extra headers (name, value, …, NULL). JSON answers are parsed; every answer
 * keeps its bytes. */
static void
exchange_full (const char *method, const char *path, const char *token, const char *content_type,
               const char *body, const char *const *headers, Answer *answer)
{
  g_autofree char *url = g_strconcat (harness_url (contract.h), path, NULL);
  g_autoptr (SoupMessage) message = soup_message_new (method, url);
  g_autoptr (GError) error = NULL;
  SoupMessageHeaders *request_headers;
  gsize length = 0;
  const char *data;

  if (message == NULL)
    g_error ("not a valid request: %s %s", method, url);
  request_headers = soup_message_get_request_headers (message);
  if (token != NULL)
    {
      g_autofree char *bearer = g_strconcat ("Bearer ", token, NULL);

      soup_message_headers_replace (request_headers, "Authorization", bearer);
    }
  for (guint i = 0; headers != NULL && headers[i] != NULL && headers[i + 1] != NULL; i += 2)
    soup_message_headers_append (request_headers, headers[i], headers[i + 1]);
  if (body != NULL)
    {
      g_autoptr (GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (message, content_type, bytes);
    }

  answer->raw = soup_session_send_and_read (contract.session, message, NULL, &error);
  if (answer->raw == NULL)
    g_error ("%s %s got no answer: %s", method, path, error->message);
  answer->status = soup_message_get_status (message);
  answer->headers = soup_message_headers_ref (soup_message_get_response_headers (message));
  data = g_bytes_get_data (answer->raw, &length);
  if (length > 0 && g_strcmp0 (answer_type (answer), "application/json") == 0)
    answer->body = parse_json (data, (gssize) length);
}

static void
exchange (const char *method, const char *path, const char *token, const char *content_type,
          const char *body, Answer *answer)
{
  exchange_full (method, path, token, content_type, body, NULL, answer);
}

/* The media types a response lists, e.g. "application/json, application/pdf". */
static char *
listed_types (JsonObject *content)
{
  g_autoptr (GList) types = content ? json_object_get_members (content) : NULL;
  g_autoptr (GString) text = g_string_new (NULL);

  for (GList *l = types; l != NULL; l = l->next)
    g_string_append_printf (text, "%s%s", text->len ? ", " : "", (const char *) l->data);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* The answer is documented for the operation, and its body has the documented schema: JSON
 * valid against it, or a PDF document where the document promises one. */
static void
assert_documented (const Operation *op, const char *path, Answer *answer)
{
  JsonObject *responses = object_member (op->op, "responses");
  g_autofree char *code = g_strdup_printf ("%u", answer->status);
  g_autofree char *what
      = g_strdup_printf ("%s %s (%s) -> %u", op->method, path, op->path, answer->status);
  JsonObject *response = deref (object_member (responses, code));
  const char *type = answer_type (answer);
  gsize length = answer_length (answer);
  JsonObject *content, *media;

  if (response == NULL)
    {
      g_autofree char *body = shown (answer->body);
      g_autofree char *message
          = g_strdup_printf ("%s: the document does not list status %u for %s %s: %s", what,
                             answer->status, op->method, op->path, body);

      g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, message);
      return;
    }
  content = object_member (response, "content");
  if (content == NULL)
    {
      if (length > 0)
        {
          g_autofree char *body = shown (answer->body);
          g_autofree char *message = g_strdup_printf (
              "%s: documented without a body, answered %" G_GSIZE_FORMAT " bytes of %s: %s", what,
              length, type ? type : "no type", body);

          g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, message);
        }
      return;
    }
  if (length == 0)
    {
      g_autofree char *message = g_strdup_printf ("%s: documented with a body, sent none", what);

      g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, message);
      return;
    }
  media = type ? object_member (content, type) : NULL;
  if (media == NULL)
    {
      g_autofree char *listed = listed_types (content);
      g_autofree char *message = g_strdup_printf ("%s: answered Content-Type %s, documented %s",
                                                  what, type ? type : "(none)", listed);

      g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, message);
      return;
    }
  if (g_str_equal (type, "application/json"))
    assert_valid (answer->body, object_member (media, "schema"), what);
  else if (g_str_equal (type, "application/pdf"))
    {
      if (length < 5 || memcmp (g_bytes_get_data (answer->raw, NULL), "%PDF-", 5) != 0)
        {
          g_autofree char *message
              = g_strdup_printf ("%s: an application/pdf answer that is not a PDF document", what);

          g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, message);
        }
    }
  else
    {
      g_autofree char *message
          = g_strdup_printf ("%s: the test cannot check an answer of type %s", what, type);

      g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, message);
    }
}

/* ── the demo's real ids ───────────────────────────────────────────────────────── */

static JsonNode *
get_ok (const char *path, const char *token)
{
  guint status = 0;
  JsonNode *answer = harness_request (contract.h, "GET", path, token, NULL, &status);

  if (status != 200)
    {
      g_autofree char *body = shown (answer);

      g_error ("GET %s answered %u: %s", path, status, body);
    }
  return answer;
}

static void
find_ids (void)
{
  const char *admin = contract.tokens[ROLE_ADMIN];
  g_autofree char *departments_path = g_strdup_printf ("/v1/orgs/%s/departments", contract.org_id);
  g_autofree char *employees_path
      = g_strdup_printf ("/v1/orgs/%s/employees?licensed=false&limit=1000", contract.org_id);
  g_autofree char *invoices_path = g_strdup_printf ("/v1/orgs/%s/invoices", contract.org_id);
  g_autoptr (JsonNode) departments = get_ok (departments_path, admin);
  g_autoptr (JsonNode) employees = get_ok (employees_path, admin);
  g_autoptr (JsonNode) invoices = get_ok (invoices_path, admin);
  JsonArray *data;

  data = json_node_get_array (harness_get (departments, "data"));
  for (guint i = 0; i < json_array_get_length (data) && contract.department_id == NULL; i++)
    {
      JsonObject *dept = json_array_get_object_element (data, i);

      if (json_object_get_null_member (dept, "parent_id"))
        contract.department_id = g_strdup (json_object_get_string_member (dept, "id"));
    }
  data = json_node_get_array (harness_get (employees, "data"));
  for (guint i = 0; i < json_array_get_length (data) && contract.employee_id == NULL; i++)
    {
      JsonObject *employee = json_array_get_object_element (data, i);

      if (g_strcmp0 (json_object_get_string_member (employee, "status"), "active") == 0)
        contract.employee_id = g_strdup (json_object_get_string_member (employee, "id"));
    }
  data = json_node_get_array (harness_get (invoices, "data"));
  if (json_array_get_length (data) > 0)
    contract.invoice_id
        = g_strdup (json_object_get_string_member (json_array_get_object_element (data, 0), "id"));

  g_assert_nonnull (contract.department_id);
  g_assert_nonnull (contract.employee_id);
  g_assert_nonnull (contract.invoice_id);
}

/* The id of the first item of an organization's list (e.g. "invoices?status=open") whose
 * string `member` is `value` (any item when member is NULL), or NULL. The demo changes, so
 * ids are looked up when they are needed. */
static char *
find_id (const char *list, const char *member, const char *value)
{
  g_autofree char *path = g_strdup_printf ("/v1/orgs/%s/%s", contract.org_id, list);
  g_autoptr (JsonNode) answer = get_ok (path, contract.tokens[ROLE_ADMIN]);
  JsonArray *data = json_node_get_array (harness_get (answer, "data"));

  for (guint i = 0; i < json_array_get_length (data); i++)
    {
      JsonObject *item = json_array_get_object_element (data, i);

      if (member == NULL || g_strcmp0 (string_member (item, member), value) == 0)
        return g_strdup (string_member (item, "id"));
    }
  return NULL;
}

/* An open invoice, or NULL. */
static char *
find_open_invoice (void)
{
  return find_id ("invoices?status=open", NULL, NULL);
}

/* An invoice to void: an open one, else a paid one (it gets credit notes), or NULL. */
static char *
find_voidable_invoice (void)
{
  char *id = find_open_invoice ();

  return id ? id : find_id ("invoices?status=paid", NULL, NULL);
}

/* The default payment method, else any active one, or NULL. */
static char *
find_payment_method (void)
{
  g_autofree char *path = g_strdup_printf ("/v1/orgs/%s/payment-methods", contract.org_id);
  g_autoptr (JsonNode) answer = get_ok (path, contract.tokens[ROLE_ADMIN]);
  JsonNode *default_id = harness_get (answer, "default_id");

  if (JSON_NODE_HOLDS_VALUE (default_id))
    return g_strdup (json_node_get_string (default_id));
  return find_id ("payment-methods", NULL, NULL);
}

/* The {id} an operation acts on. */
static char *
id_for (const Operation *op)
{
  if (!path_has_id (op->path))
    return NULL;
  if (strstr (op->path, "/departments/{id}") != NULL)
    return g_strdup (contract.created_department_id);
  if (strstr (op->path, "/employees/{id}") != NULL)
    return g_strdup (contract.employee_id);
  if (g_str_has_suffix (op->path, "/invoices/{id}/void"))
    return find_voidable_invoice ();
  if (g_str_has_suffix (op->path, "/invoices/{id}/mark-paid"))
    {
      char *open = find_open_invoice ();

      return open ? open : g_strdup (contract.invoice_id);
    }
  if (strstr (op->path, "/invoices/{id}") != NULL)
    return g_strdup (contract.invoice_id);
  if (strstr (op->path, "/payment-methods/{id}") != NULL)
    return find_payment_method ();
  if (strstr (op->path, "/payments/{id}") != NULL)
    return find_id ("payments?limit=200", "status", "succeeded");
  if (strstr (op->path, "/credit-notes/{id}") != NULL)
    return find_id ("credit-notes", NULL, NULL);
  /* A path the test does not know: a made-up id, so the answer must be a documented 404. */
  g_test_message ("%s %s: no real id known, sending %s", op->method, op->path, MISSING_ID);
  return NULL;
}

static gint64
current_seats (void)
{
  g_autofree char *path = g_strdup_printf ("/v1/orgs/%s/subscription", contract.org_id);
  g_autoptr (JsonNode) answer = get_ok (path, contract.tokens[ROLE_ADMIN]);

  return harness_get_int (answer, "subscription.seats");
}

static char *
current_clock (void)
{
  g_autoptr (JsonNode) answer = get_ok ("/v1/test-clock", HARNESS_OPERATOR_TOKEN);

  return g_strdup (harness_get_str (answer, "now"));
}

/* The example body, with the ids and values only the running demo knows. */
static char *
request_body (const Operation *op, const char **content_type)
{
  JsonObject *media = request_media (op->op, content_type);
  JsonNode *example;
  g_autoptr (JsonNode) body = NULL;
  JsonObject *object;

  if (media == NULL)
    return NULL;
  example = json_object_get_member (media, "example");
  if (example == NULL)
    g_error ("%s %s: the request body has no example", op->method, op->path);
  if (!g_str_equal (*content_type, "application/json"))
    {
      g_assert_true (JSON_NODE_HOLDS_VALUE (example));
      return g_strdup (json_node_get_string (example));
    }

  body = deep_copy (example);
  if (!JSON_NODE_HOLDS_OBJECT (body))
    return to_json (body);
  object = json_node_get_object (body);
  if (json_object_has_member (object, "employee_ids"))
    {
      JsonArray *ids = json_array_new ();

      json_array_add_string_element (ids, contract.employee_id);
      json_object_set_array_member (object, "employee_ids", ids);
    }
  if (json_object_has_member (object, "department_id"))
    json_object_set_string_member (object, "department_id", contract.department_id);
  if (json_object_has_member (object, "payment_method_id"))
    {
      g_autofree char *method = find_payment_method ();

      if (method != NULL)
        json_object_set_string_member (object, "payment_method_id", method);
      else
        json_object_remove_member (object, "payment_method_id");
    }
  if (g_str_equal (op->path, "/v1/test-clock"))
    {
      g_autofree char *now = current_clock ();

      json_object_set_string_member (object, "now", now);
    }
  if (g_str_has_suffix (op->path, "/subscription/preview")
      || g_str_has_suffix (op->path, "/subscription/change"))
    json_object_set_int_member (object, "seats", current_seats () + 5);
  return to_json (body);
}

static gboolean
code_is (const Answer *answer, const char *a, const char *b)
{
  const char *code = answer_code (answer);

  return code != NULL && (g_strcmp0 (code, a) == 0 || g_strcmp0 (code, b) == 0);
}

static gboolean
invoice_is_open (const char *id)
{
  g_autofree char *path = g_strdup_printf ("/v1/orgs/%s/invoices/%s", contract.org_id, id);
  g_autoptr (JsonNode) answer = get_ok (path, contract.tokens[ROLE_ADMIN]);

  return g_strcmp0 (harness_get_str (answer, "invoice.status"), "open") == 0;
}

/* What an operation is expected to answer against the demo: a success, except where the
 * demo's state makes the example a documented refusal. */
static gboolean
expected_answer (const Operation *op, const char *id, const Answer *answer)
{
  guint status = answer->status;

  if (g_str_equal (op->method, "POST") && g_str_equal (op->path, "/v1/orgs/{org}/subscription"))
    return status == 409; /* Northwind already subscribes: subscription_exists */
  if (path_has_id (op->path) && id == NULL)
    return status == 404; /* nothing real to act on */
  /* The demo may already pay by wire transfer. */
  if (g_str_equal (op->method, "POST") && g_str_equal (op->path, "/v1/orgs/{org}/payment-methods"))
    return status == 201 || (status == 409 && code_is (answer, "already_exists", NULL));
  /* The demo has no Stripe key: nothing is charged, no card is added. */
  if (g_str_has_suffix (op->path, "/payment-methods/setup"))
    return status == 409 && code_is (answer, "stripe_not_configured", NULL);
  if (g_str_has_suffix (op->path, "/invoices/{id}/pay"))
    return status == 409 && code_is (answer, "not_payable", "stripe_not_configured");
  /* Only an open invoice is marked paid; there may be none. */
  if (g_str_has_suffix (op->path, "/invoices/{id}/mark-paid") && status == 409)
    return code_is (answer, "not_payable", NULL) && !invoice_is_open (id);
  /* No signature, and the demo has no webhook secret. */
  if (g_str_equal (op->path, "/v1/webhooks/stripe"))
    return status == 400 && code_is (answer, "webhooks_not_configured", "invalid_signature");
  return status >= 200 && status < 300;
}

/* ── tests ─────────────────────────────────────────────────────────────────────── */

/* Every $ref of the document leads somewhere. */
static void
check_refs (JsonNode *node, guint depth)
{
  g_assert_cmpuint (depth, <, MAX_DEPTH);
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *object = json_node_get_object (node);
      g_autoptr (GList) members = json_object_get_members (object);
      const char *ref = string_member (object, "$ref");

      if (ref != NULL && resolve_pointer (ref) == NULL)
        g_error ("openapi.json: \"%s\" points at nothing", ref);
      for (GList *l = members; l != NULL; l = l->next)
        check_refs (json_object_get_member (object, l->data), depth + 1);
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        check_refs (json_array_get_element (array, i), depth + 1);
    }
}

/* Answers are JSON with a schema, or PDF documents, which only successes are. */
static void
check_media (const char *op_id, const char *code, JsonObject *content)
{
  g_autoptr (GList) types = content ? json_object_get_members (content) : NULL;

  for (GList *l = types; l != NULL; l = l->next)
    {
      JsonObject *schema = deref (object_member (object_member (content, l->data), "schema"));

      g_test_message ("%s %s: %s", op_id, code, (const char *) l->data);
      g_assert_nonnull (schema);
      if (g_str_equal (l->data, "application/pdf"))
        {
          g_assert_true (code[0] == '2');
          g_assert_cmpstr (string_member (schema, "type"), ==, "string");
          g_assert_cmpstr (string_member (schema, "format"), ==, "binary");
        }
      else
        g_assert_cmpstr (l->data, ==, "application/json");
    }
}

static void
test_document (void)
{
  g_autoptr (GPtrArray) ops = collect_operations ();
  g_autoptr (GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);
  JsonObject *schemes
      = object_member (object_member (contract.root, "components"), "securitySchemes");

  g_assert_cmpstr (string_member (contract.root, "openapi"), ==, "3.0.3");
  g_assert_nonnull (string_member (object_member (contract.root, "info"), "title"));
  g_assert_nonnull (object_member (schemes, "bearerAuth"));
  check_refs (contract.doc, 0);
  g_assert_cmpuint (ops->len, >, 0);

  for (guint i = 0; i < ops->len; i++)
    {
      const Operation *op = g_ptr_array_index (ops, i);
      const char *op_id = string_member (op->op, "operationId");
      const char *description = string_member (op->op, "description");
      JsonObject *responses = object_member (op->op, "responses");
      g_autoptr (GList) codes = responses ? json_object_get_members (responses) : NULL;
      JsonArray *params = array_member (op->op, "parameters");
      const char *content_type = NULL;
      JsonObject *media = request_media (op->op, &content_type);
      gboolean success = FALSE;

      g_test_message ("%s %s", op->method, op->path);
      g_assert_nonnull (op_id);
      g_assert_true (g_hash_table_add (ids, (gpointer) op_id));
      g_assert_nonnull (description);
      g_assert_cmpuint (strlen (description), >, 20);
      g_assert_nonnull (codes);
      for (GList *l = codes; l != NULL; l = l->next)
        {
          JsonObject *response = deref (object_member (responses, l->data));

          g_assert_nonnull (response);
          g_assert_nonnull (string_member (response, "description"));
          check_media (op_id, l->data, object_member (response, "content"));
          success |= ((const char *) l->data)[0] == '2';
        }
      g_assert_true (success);

      /* Path parameters are declared; examples fit their schemas. */
      if (strstr (op->path, "{org}") != NULL || path_has_id (op->path))
        g_assert_nonnull (params);
      for (guint p = 0; params != NULL && p < json_array_get_length (params); p++)
        {
          JsonObject *param = deref (json_array_get_object_element (params, p));
          JsonNode *example = json_object_get_member (param, "example");
          g_autofree char *what = g_strdup_printf ("the example of parameter %s of %s",
                                                   string_member (param, "name"), op_id);

          g_assert_nonnull (string_member (param, "in"));
          if (example != NULL)
            assert_valid (example, object_member (param, "schema"), what);
        }

      /* The request body has an example that fits its schema. */
      if (media != NULL)
        {
          JsonNode *example = json_object_get_member (media, "example");
          g_autofree char *what = g_strdup_printf ("the request example of %s", op_id);

          g_assert_nonnull (example);
          assert_valid (example, object_member (media, "schema"), what);
        }

      /* Security says who may call (explicitly: [] for the public operations); such
       * operations document 401 (and 403 for roles). */
      g_assert_nonnull (array_member (op->op, "security"));
      if (is_secured (op->op))
        {
          const char *auth = string_member (op->op, "x-purser-auth");
          JsonArray *roles = array_member (op->op, "x-purser-roles");

          g_assert_nonnull (object_member (responses, "401"));
          g_assert_true (g_strcmp0 (auth, "user") == 0 || g_strcmp0 (auth, "operator") == 0);
          if (g_str_equal (auth, "user"))
            {
              g_assert_nonnull (roles);
              g_assert_cmpuint (json_array_get_length (roles), >, 0);
              for (guint r = 0; r < json_array_get_length (roles); r++)
                g_assert_true (
                    g_strv_contains (role_names, json_array_get_string_element (roles, r)));
              if (json_array_get_length (roles) < N_ROLES)
                g_assert_nonnull (object_member (responses, "403"));
            }
        }
    }
}

static void
test_served (void)
{
  Answer answer = { 0 };

  exchange ("GET", "/v1/openapi.json", NULL, NULL, NULL, &answer);
  g_assert_cmpuint (answer.status, ==, 200);
  g_assert_nonnull (answer.body);
  if (!json_node_equal (answer.body, contract.doc))
    g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC,
                         "GET /v1/openapi.json differs from src/server/openapi.json: rebuild "
                         "purserd (the document is a GResource)");
  answer_clear (&answer);
}

static void
test_operations (void)
{
  g_autoptr (GPtrArray) ops = collect_operations ();
  guint successes = 0;

  for (guint i = 0; i < ops->len; i++)
    {
      const Operation *op = g_ptr_array_index (ops, i);
      g_autofree char *id = id_for (op);
      g_autofree char *filled = fill_path (op->path, id);
      g_autofree char *query = query_from_examples (op->op);
      g_autofree char *path = g_strconcat (filled, query, NULL);
      const char *content_type = NULL;
      g_autofree char *body = request_body (op, &content_type);
      g_autofree char *session = NULL;
      const char *token = token_for (op->op);
      g_auto (Answer) answer = { 0 };

      /* Signing out ends the session: a session of its own. */
      if (g_str_equal (op->path, "/v1/auth/logout"))
        token = session = harness_login (contract.h, role_logins[ROLE_ADMIN], DEMO_PASSWORD);

      exchange (op->method, path, token, content_type, body, &answer);
      g_test_message ("%s %s -> %u", op->method, path, answer.status);
      assert_documented (op, path, &answer);
      if (!expected_answer (op, id, &answer))
        {
          g_autofree char *shown_body = shown (answer.body);
          g_autofree char *message
              = g_strdup_printf ("%s %s answered %u, documented but not what the example should "
                                 "get against the demo: %s",
                                 op->method, path, answer.status, shown_body);

          g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, message);
        }
      if (answer.status >= 200 && answer.status < 300)
        successes++;

      if (g_str_equal (op->method, "POST") && g_str_equal (op->path, "/v1/orgs/{org}/departments")
          && answer.status == 201)
        contract.created_department_id = g_strdup (harness_get_str (answer.body, "id"));
    }
  g_test_message ("%u of %u operations succeeded", successes, ops->len);
}

static void
test_unauthenticated (void)
{
  g_autoptr (GPtrArray) ops = collect_operations ();
  JsonObject *error_schema = resolve_pointer ("#/components/schemas/Error");

  for (guint i = 0; i < ops->len; i++)
    {
      const Operation *op = g_ptr_array_index (ops, i);
      g_autofree char *path = fill_path (op->path, NULL);
      const char *content_type = NULL;
      JsonObject *media = request_media (op->op, &content_type);
      g_autofree char *body = NULL;
      g_autofree char *what = NULL;
      g_auto (Answer) answer = { 0 };

      if (!is_secured (op->op))
        continue;
      if (media != NULL)
        body = to_json (json_object_get_member (media, "example"));
      exchange (op->method, path, NULL, content_type, body, &answer);
      g_test_message ("%s %s without a token -> %u", op->method, path, answer.status);
      g_assert_cmpuint (answer.status, ==, 401);
      assert_documented (op, path, &answer);
      what = g_strdup_printf ("the 401 of %s %s", op->method, op->path);
      assert_valid (answer.body, error_schema, what);
      g_assert_cmpstr (harness_get_str (answer.body, "error.code"), ==, "unauthorized");
    }
}

/* Roles an operation does not list are refused before anything happens (so destructive
 * operations are safe to try); readers it lists are not refused. */
static void
test_roles (void)
{
  g_autoptr (GPtrArray) ops = collect_operations ();

  for (guint i = 0; i < ops->len; i++)
    {
      const Operation *op = g_ptr_array_index (ops, i);
      const char *content_type = NULL;
      JsonObject *media = request_media (op->op, &content_type);
      g_autofree char *body = NULL;

      if (!is_secured (op->op) || is_operator_route (op->op))
        continue;
      if (media != NULL)
        body = to_json (json_object_get_member (media, "example"));
      for (guint r = 0; r < N_ROLES; r++)
        {
          g_autofree char *path = NULL;
          g_autofree char *id = NULL;
          g_auto (Answer) answer = { 0 };
          gboolean allowed = role_allowed (op->op, (Role) r);

          /* Only reads are sent for allowed roles: they change nothing. */
          if (allowed && !g_str_equal (op->method, "GET"))
            continue;
          if (allowed)
            id = id_for (op);
          path = fill_path (op->path, id);
          exchange (op->method, path, contract.tokens[r], content_type, body, &answer);
          g_test_message ("%s %s as %s -> %u", op->method, path, role_names[r], answer.status);
          assert_documented (op, path, &answer);
          if (allowed)
            g_assert_cmpuint (answer.status, !=, 403);
          else
            {
              g_assert_cmpuint (answer.status, ==, 403);
              g_assert_cmpstr (harness_get_str (answer.body, "error.code"), ==, "forbidden");
            }
        }
    }
}

/* The methods the document lists for the templates a concrete path matches. */
static GHashTable *
documented_methods (const char *path, gboolean *documented)
{
  GHashTable *methods = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GList) templates = json_object_get_members (contract.paths);

  *documented = FALSE;
  for (GList *l = templates; l != NULL; l = l->next)
    {
      JsonObject *item = object_member (contract.paths, l->data);

      if (!template_matches (l->data, path))
        continue;
      *documented = TRUE;
      for (guint m = 0; http_methods[m] != NULL; m++)
        if (object_member (item, http_methods[m]) != NULL)
          g_hash_table_add (methods, g_ascii_strup (http_methods[m], -1));
    }
  return methods;
}

static gint
compare_strings (gconstpointer a, gconstpointer b, gpointer data)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

/* "DELETE, PATCH": the set's members, sorted. */
static char *
describe_set (GHashTable *set)
{
  g_autofree gpointer *keys = g_hash_table_get_keys_as_array (set, NULL);

  g_qsort_with_data (keys, (gint) g_hash_table_size (set), sizeof (gpointer), compare_strings,
                     NULL);
  return g_strjoinv (", ", (char **) keys);
}

/* OPTIONS, which no route serves: 405 with the path's methods in Allow, or 404 when the
 * server has no such path. Returns the status. */
static guint
probe (const char *path, GHashTable **allow)
{
  g_auto (Answer) answer = { 0 };
  JsonObject *error_schema = resolve_pointer ("#/components/schemas/Error");
  g_autofree char *what = g_strdup_printf ("OPTIONS %s", path);

  exchange ("OPTIONS", path, NULL, NULL, NULL, &answer);
  g_test_message ("OPTIONS %s -> %u", path, answer.status);
  assert_valid (answer.body, error_schema, what);
  *allow = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (answer.status == 405)
    {
      const char *header = soup_message_headers_get_one (answer.headers, "Allow");
      g_auto (GStrv) methods = NULL;

      g_assert_nonnull (header);
      g_assert_cmpstr (harness_get_str (answer.body, "error.code"), ==, "method_not_allowed");
      methods = g_strsplit (header, ",", -1);
      for (guint i = 0; methods[i] != NULL; i++)
        g_hash_table_add (*allow, g_strstrip (g_ascii_strup (methods[i], -1)));
    }
  else
    {
      g_assert_cmpuint (answer.status, ==, 404);
      g_assert_cmpstr (harness_get_str (answer.body, "error.code"), ==, "route_not_found");
    }
  return answer.status;
}

static void
assert_same_methods (const char *path, GHashTable *allow, GHashTable *documented)
{
  g_autofree char *served = describe_set (allow);
  g_autofree char *listed = describe_set (documented);

  if (g_strcmp0 (served, listed) != 0)
    {
      g_autofree char *message = g_strdup_printf ("%s: the server allows %s, the document lists %s",
                                                  path, served, listed);

      g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, message);
    }
}

static void
test_allow (void)
{
  g_autoptr (GList) templates = json_object_get_members (contract.paths);

  for (GList *l = templates; l != NULL; l = l->next)
    {
      g_autofree char *path = fill_path (l->data, "contract_probe_1");
      g_autoptr (GHashTable) allow = NULL;
      g_autoptr (GHashTable) documented = NULL;
      gboolean listed;

      g_assert_cmpuint (probe (path, &allow), ==, 405);
      documented = documented_methods (path, &listed);
      g_assert_true (listed);
      assert_same_methods (path, allow, documented);
    }
}

/* Routes ARCHITECTURE.md plans: the server serves those the document lists, and no
 * others. */
static void
test_undocumented (void)
{
  static const char *const candidates[] = {
    "/v1/orgs",
    "/v1/orgs/{org}/users",
    "/v1/orgs/{org}/departments/{id}/seat-allocation",
    "/v1/orgs/{org}/employees/{id}/allowance",
    "/v1/orgs/{org}/invoices/{id}/pdf",
    "/v1/orgs/{org}/invoices/{id}/email",
    "/v1/orgs/{org}/invoices/{id}/pay",
    "/v1/orgs/{org}/payment-methods",
    "/v1/orgs/{org}/payment-methods/setup",
    "/v1/orgs/{org}/payment-methods/{id}",
    "/v1/orgs/{org}/payment-methods/{id}/default",
    "/v1/orgs/{org}/budgets",
    "/v1/orgs/{org}/budgets/{id}",
    "/v1/orgs/{org}/approval-policy",
    "/v1/orgs/{org}/spend-authorizations",
    "/v1/orgs/{org}/approval-requests",
    "/v1/orgs/{org}/approval-requests/{id}/approve",
    "/v1/orgs/{org}/approval-requests/{id}/reject",
    "/v1/orgs/{org}/budget-increase-requests",
    "/v1/orgs/{org}/sessions",
    "/v1/orgs/{org}/reports/usage",
    "/v1/orgs/{org}/reports/spending",
    "/v1/orgs/{org}/reports/roi",
    "/v1/orgs/{org}/exports/usage",
    "/v1/orgs/{org}/exports/accounting",
    "/v1/orgs/{org}/subscription/{id}",
    "/v1/orgs/{org}/seats/{id}",
    "/v1/orgs/{org}/events/{id}",
    "/v1/plans/{id}",
    "/v1/webhooks/stripe",
    "/v1/auth",
    "/v1/me/{id}",
    "/v1",
    "/",
  };

  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    {
      g_autofree char *path = fill_path (candidates[i], "contract_probe_1");
      g_autoptr (GHashTable) allow = NULL;
      g_autoptr (GHashTable) documented = NULL;
      gboolean listed;
      guint status = probe (path, &allow);

      documented = documented_methods (path, &listed);
      if (status == 405)
        {
          if (!listed)
            {
              g_autofree char *methods = describe_set (allow);
              g_autofree char *message = g_strdup_printf (
                  "the server serves %s %s, which the document lacks", methods, candidates[i]);

              g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, message);
            }
          assert_same_methods (path, allow, documented);
        }
      else if (listed)
        {
          g_autofree char *message = g_strdup_printf (
              "the document lists %s, which the server does not serve", candidates[i]);

          g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, message);
        }
    }
}

/* The Idempotency-Key every change takes: a replay says so, another body is refused. */
static void
test_idempotency (void)
{
  JsonObject *op = object_member (object_member (contract.paths, "/v1/orgs/{org}"), "patch");
  Operation patch = { .method = (char *) "PATCH", .path = "/v1/orgs/{org}", .op = op };
  g_autofree char *path = fill_path ("/v1/orgs/{org}", NULL);
  const char *const headers[] = { "Idempotency-Key", "contract-test-key-1", NULL };
  const char *first = "{\"billing_email\": \"ap@northwind.example\"}";
  const char *second = "{\"billing_email\": \"payables@northwind.example\"}";
  const char *admin = contract.tokens[ROLE_ADMIN];
  g_auto (Answer) a = { 0 };
  g_auto (Answer) b = { 0 };
  g_auto (Answer) c = { 0 };

  g_assert_nonnull (op);
  exchange_full ("PATCH", path, admin, "application/json", first, headers, &a);
  assert_documented (&patch, path, &a);
  g_assert_cmpuint (a.status, ==, 200);
  g_assert_null (soup_message_headers_get_one (a.headers, "Idempotent-Replayed"));

  exchange_full ("PATCH", path, admin, "application/json", first, headers, &b);
  assert_documented (&patch, path, &b);
  g_assert_cmpuint (b.status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (b.headers, "Idempotent-Replayed"), ==, "true");
  g_assert_true (json_node_equal (a.body, b.body));

  exchange_full ("PATCH", path, admin, "application/json", second, headers, &c);
  assert_documented (&patch, path, &c);
  g_assert_cmpuint (c.status, ==, 409);
  g_assert_cmpstr (harness_get_str (c.body, "error.code"), ==, "idempotency_key_reused");
}

/* ── payments ──────────────────────────────────────────────────────────────────── */

/* Sends a documented operation ({id} filled with `id`, MISSING_ID when NULL) and checks that
 * the answer is documented. */
static void
send_documented (const char *method, const char *template, const char *id, const char *query,
                 const char *token, const char *body, const char *const *headers, Answer *answer)
{
  g_autofree char *lower = g_ascii_strdown (method, -1);
  JsonObject *object = object_member (object_member (contract.paths, template), lower);
  Operation op = { .method = (char *) method, .path = template, .op = object };
  g_autofree char *filled = fill_path (template, id);
  g_autofree char *path = g_strconcat (filled, query ? query : "", NULL);

  if (object == NULL)
    g_error ("the document lacks %s %s", method, template);
  exchange_full (method, path, token, body ? "application/json" : NULL, body, headers, answer);
  g_test_message ("%s %s -> %u", method, path, answer->status);
  assert_documented (&op, path, answer);
}

/* The status, and for an error its code (and field, when not NULL). */
static void
expect (const Answer *answer, guint status, const char *code, const char *field)
{
  if (answer->status != status || (code != NULL && g_strcmp0 (answer_code (answer), code) != 0)
      || (field != NULL && g_strcmp0 (harness_get_str (answer->body, "error.field"), field) != 0))
    {
      g_autofree char *body = shown (answer->body);
      g_autofree char *message = g_strdup_printf (
          "answered %u, expected %u%s%s%s%s: %s", answer->status, status, code ? " " : "",
          code ? code : "", field ? " on " : "", field ? field : "", body);

      g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, message);
    }
}

static JsonArray *
data_of (const Answer *answer)
{
  return json_node_get_array (harness_get (answer->body, "data"));
}

/* The id of the list's first item whose `member` is `value`, or NULL (borrowed). */
static const char *
item_with (const Answer *answer, const char *member, const char *value)
{
  JsonArray *data = data_of (answer);

  for (guint i = 0; i < json_array_get_length (data); i++)
    {
      JsonObject *item = json_array_get_object_element (data, i);

      if (g_strcmp0 (string_member (item, member), value) == 0)
        return string_member (item, "id");
    }
  return NULL;
}

/* default_id names the one method marked is_default, or is null when none is. */
static void
assert_one_default (const Answer *list)
{
  JsonArray *data = data_of (list);
  JsonNode *default_id = harness_get (list->body, "default_id");
  const char *marked = NULL;

  for (guint i = 0; i < json_array_get_length (data); i++)
    {
      JsonObject *method = json_array_get_object_element (data, i);

      g_assert_cmpstr (string_member (method, "status"), ==, "active");
      if (json_object_get_boolean_member (method, "is_default"))
        {
          g_assert_null (marked);
          marked = string_member (method, "id");
        }
    }
  if (marked == NULL)
    g_assert_true (JSON_NODE_HOLDS_NULL (default_id));
  else
    g_assert_cmpstr (json_node_get_string (default_id), ==, marked);
}

/* Wire transfer is added once and can be the default; cards and bank debits are not added
 * here. Returns the wire method's id. */
static char *
check_payment_methods (void)
{
  const char *admin = contract.tokens[ROLE_ADMIN];
  const char *methods = "/v1/orgs/{org}/payment-methods";
  g_auto (Answer) before = { 0 };
  g_auto (Answer) added = { 0 };
  g_auto (Answer) card = { 0 };
  g_auto (Answer) made_default = { 0 };
  g_auto (Answer) after = { 0 };
  g_auto (Answer) itself = { 0 };
  g_auto (Answer) missing = { 0 };
  g_auto (Answer) kept = { 0 };
  const char *existing;
  char *wire;

  send_documented ("GET", methods, NULL, NULL, admin, NULL, NULL, &before);
  expect (&before, 200, NULL, NULL);
  g_assert_false (harness_get_bool (before.body, "stripe_configured"));
  assert_one_default (&before);
  existing = item_with (&before, "type", "wire");

  send_documented ("POST", methods, NULL, NULL, admin, "{\"type\": \"wire\"}", NULL, &added);
  if (existing != NULL)
    {
      expect (&added, 409, "already_exists", "type");
      wire = g_strdup (existing);
    }
  else
    {
      expect (&added, 201, NULL, NULL);
      g_assert_cmpstr (harness_get_str (added.body, "type"), ==, "wire");
      g_assert_cmpstr (harness_get_str (added.body, "status"), ==, "active");
      wire = g_strdup (harness_get_str (added.body, "id"));
    }
  send_documented ("POST", methods, NULL, NULL, admin, "{\"type\": \"card\"}", NULL, &card);
  expect (&card, 400, "invalid_request", "type");

  send_documented ("POST", "/v1/orgs/{org}/payment-methods/{id}/default", wire, NULL, admin, NULL,
                   NULL, &made_default);
  expect (&made_default, 200, NULL, NULL);
  g_assert_cmpstr (harness_get_str (made_default.body, "id"), ==, wire);
  g_assert_true (harness_get_bool (made_default.body, "is_default"));
  send_documented ("GET", methods, NULL, NULL, admin, NULL, NULL, &after);
  expect (&after, 200, NULL, NULL);
  assert_one_default (&after);
  g_assert_cmpstr (harness_get_str (after.body, "default_id"), ==, wire);
  g_assert_cmpstr (item_with (&after, "type", "wire"), ==, wire);

  /* Refusals change nothing. */
  {
    g_autofree char *query = g_strdup_printf ("?replacement=%s", wire);

    send_documented ("DELETE", "/v1/orgs/{org}/payment-methods/{id}", wire, query, admin, NULL,
                     NULL, &itself);
    expect (&itself, 400, "invalid_request", "replacement");
  }
  send_documented ("DELETE", "/v1/orgs/{org}/payment-methods/{id}", NULL, NULL, admin, NULL, NULL,
                   &missing);
  expect (&missing, 404, "not_found", "id");
  send_documented ("GET", methods, NULL, NULL, admin, NULL, NULL, &kept);
  g_assert_cmpstr (harness_get_str (kept.body, "default_id"), ==, wire);
  return wire;
}

static gboolean
header_contains (const Answer *answer, const char *name, const char *text)
{
  const char *value = soup_message_headers_get_one (answer->headers, name);

  return value != NULL && text != NULL && strstr (value, text) != NULL;
}

/* The invoice's, the receipts' and the credit notes' PDFs; payments and credit notes agree with
 * their invoices. */
static void
check_documents (void)
{
  const char *admin = contract.tokens[ROLE_ADMIN];
  g_autofree char *invoice_path
      = g_strdup_printf ("/v1/orgs/%s/invoices/%s", contract.org_id, contract.invoice_id);
  g_autoptr (JsonNode) invoice = get_ok (invoice_path, admin);
  g_auto (Answer) invoice_pdf = { 0 };
  g_auto (Answer) payments = { 0 };
  g_auto (Answer) notes = { 0 };
  g_auto (Answer) voided = { 0 };
  JsonArray *data;
  const char *succeeded = NULL, *unsettled = NULL;

  send_documented ("GET", "/v1/orgs/{org}/invoices/{id}/pdf", contract.invoice_id, NULL, admin,
                   NULL, NULL, &invoice_pdf);
  expect (&invoice_pdf, 200, NULL, NULL);
  g_assert_true (header_contains (&invoice_pdf, "Content-Disposition",
                                  harness_get_str (invoice, "invoice.number")));

  send_documented ("GET", "/v1/orgs/{org}/payments", NULL, "?limit=200", admin, NULL, NULL,
                   &payments);
  expect (&payments, 200, NULL, NULL);
  data = data_of (&payments);
  for (guint i = 0; i < json_array_get_length (data); i++)
    {
      JsonObject *payment = json_array_get_object_element (data, i);
      const char *status = string_member (payment, "status");

      if (g_str_equal (status, "succeeded"))
        {
          g_assert_nonnull (string_member (payment, "receipt_number"));
          if (succeeded == NULL)
            succeeded = string_member (payment, "id");
        }
      else if (unsettled == NULL)
        unsettled = string_member (payment, "id");
    }
  if (succeeded != NULL)
    {
      g_auto (Answer) receipt = { 0 };
      g_auto (Answer) of_invoice = { 0 };
      g_autofree char *query = NULL;
      const char *invoice_id = NULL, *number = NULL;

      for (guint i = 0; i < json_array_get_length (data); i++)
        {
          JsonObject *payment = json_array_get_object_element (data, i);

          if (g_str_equal (string_member (payment, "id"), succeeded))
            {
              invoice_id = string_member (payment, "invoice_id");
              number = string_member (payment, "receipt_number");
            }
        }
      send_documented ("GET", "/v1/orgs/{org}/payments/{id}/receipt", succeeded, NULL, admin, NULL,
                       NULL, &receipt);
      expect (&receipt, 200, NULL, NULL);
      g_assert_true (header_contains (&receipt, "Content-Disposition", number));

      query = g_strdup_printf ("?invoice_id=%s", invoice_id);
      send_documented ("GET", "/v1/orgs/{org}/payments", NULL, query, admin, NULL, NULL,
                       &of_invoice);
      expect (&of_invoice, 200, NULL, NULL);
      g_assert_nonnull (item_with (&of_invoice, "id", succeeded));
      for (guint i = 0; i < json_array_get_length (data_of (&of_invoice)); i++)
        g_assert_cmpstr (
            string_member (json_array_get_object_element (data_of (&of_invoice), i), "invoice_id"),
            ==, invoice_id);
    }
  else
    g_test_message ("no succeeded payment: no receipt to fetch");
  if (unsettled != NULL)
    {
      g_auto (Answer) none = { 0 };

      send_documented ("GET", "/v1/orgs/{org}/payments/{id}/receipt", unsettled, NULL, admin, NULL,
                       NULL, &none);
      expect (&none, 409, "no_document", NULL);
    }

  send_documented ("GET", "/v1/orgs/{org}/credit-notes", NULL, NULL, admin, NULL, NULL, &notes);
  expect (&notes, 200, NULL, NULL);
  data = data_of (&notes);
  if (json_array_get_length (data) > 0)
    {
      JsonObject *note = json_array_get_object_element (data, 0);
      g_auto (Answer) pdf = { 0 };

      send_documented ("GET", "/v1/orgs/{org}/credit-notes/{id}/pdf", string_member (note, "id"),
                       NULL, admin, NULL, NULL, &pdf);
      expect (&pdf, 200, NULL, NULL);
      g_assert_true (header_contains (&pdf, "Content-Disposition", string_member (note, "number")));
    }
  else
    g_test_message ("no credit note: no credit-note PDF to fetch");

  /* A voided paid invoice gives back what was paid on it, in credit notes. */
  send_documented ("GET", "/v1/orgs/{org}/invoices", NULL, "?status=void&limit=500", admin, NULL,
                   NULL, &voided);
  expect (&voided, 200, NULL, NULL);
  data = data_of (&voided);
  for (guint i = 0; i < json_array_get_length (data); i++)
    {
      JsonObject *void_invoice = json_array_get_object_element (data, i);
      JsonObject *paid = object_member (void_invoice, "amount_paid");
      g_autofree char *query
          = g_strdup_printf ("?invoice_id=%s", string_member (void_invoice, "id"));
      g_auto (Answer) of_invoice = { 0 };
      gint64 credited = 0;

      send_documented ("GET", "/v1/orgs/{org}/credit-notes", NULL, query, admin, NULL, NULL,
                       &of_invoice);
      expect (&of_invoice, 200, NULL, NULL);
      for (guint n = 0; n < json_array_get_length (data_of (&of_invoice)); n++)
        {
          JsonObject *note = json_array_get_object_element (data_of (&of_invoice), n);

          g_assert_cmpstr (string_member (note, "invoice_id"), ==,
                           string_member (void_invoice, "id"));
          credited += int_member (object_member (note, "amount"), "amount", 0);
        }
      g_test_message ("void invoice %s: paid %" G_GINT64_FORMAT ", credited %" G_GINT64_FORMAT,
                      string_member (void_invoice, "number"), int_member (paid, "amount", 0),
                      credited);
      g_assert_cmpint (credited, ==, int_member (paid, "amount", 0));
    }
}

/* An invoice e-mailed to someone is queued in the outbox, which lists it. */
static void
check_emails (void)
{
  const char *admin = contract.tokens[ROLE_ADMIN];
  g_autofree char *attachment = g_strconcat ("invoice:", contract.invoice_id, NULL);
  g_auto (Answer) before = { 0 };
  g_auto (Answer) sent = { 0 };
  g_auto (Answer) nobody = { 0 };
  g_auto (Answer) after = { 0 };
  JsonArray *to;
  const char *status;

  send_documented ("GET", "/v1/orgs/{org}/emails", NULL, NULL, admin, NULL, NULL, &before);
  expect (&before, 200, NULL, NULL);
  g_assert_cmpstr (harness_get_str (before.body, "delivery"), !=, "");

  send_documented ("POST", "/v1/orgs/{org}/invoices/{id}/email", contract.invoice_id, NULL, admin,
                   "{\"to\": [\"someone@example.com\"]}", NULL, &sent);
  expect (&sent, 202, NULL, NULL);
  g_assert_cmpstr (harness_get_str (sent.body, "template"), ==, "invoice-copy");
  g_assert_cmpstr (harness_get_str (sent.body, "attachment"), ==, attachment);
  to = json_node_get_array (harness_get (sent.body, "to"));
  g_assert_cmpuint (json_array_get_length (to), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (to, 0), ==, "someone@example.com");
  status = harness_get_str (sent.body, "status");
  g_assert_true (g_str_equal (status, "queued") || g_str_equal (status, "sent"));

  send_documented ("POST", "/v1/orgs/{org}/invoices/{id}/email", contract.invoice_id, NULL, admin,
                   "{\"to\": []}", NULL, &nobody);
  expect (&nobody, 400, "invalid_request", "to");

  send_documented ("GET", "/v1/orgs/{org}/emails", NULL, "?limit=200", admin, NULL, NULL, &after);
  expect (&after, 200, NULL, NULL);
  g_assert_nonnull (item_with (&after, "id", harness_get_str (sent.body, "id")));
}

/* Without Stripe nothing is charged and no card is added, and webhooks are refused. */
static void
check_without_stripe (const char *wire)
{
  const char *admin = contract.tokens[ROLE_ADMIN];
  const char *const bad_signature[] = { "Stripe-Signature", "t=1773219600,v1=0123", NULL };
  const char *event = "{\"id\": \"evt_contract_1\", \"object\": \"event\", \"type\": "
                      "\"payment_intent.succeeded\", \"created\": 1773219600, \"data\": "
                      "{\"object\": {}}}";
  g_autofree char *open = find_open_invoice ();
  g_auto (Answer) pay = { 0 };
  g_auto (Answer) setup = { 0 };
  g_auto (Answer) bad_url = { 0 };
  g_auto (Answer) unsigned_event = { 0 };
  g_auto (Answer) badly_signed = { 0 };

  send_documented ("POST", "/v1/orgs/{org}/invoices/{id}/pay", contract.invoice_id, NULL, admin,
                   NULL, NULL, &pay);
  g_assert_cmpuint (pay.status, ==, 409);
  g_assert_true (code_is (&pay, "not_payable", "stripe_not_configured"));
  if (open != NULL)
    {
      g_autofree char *body = g_strdup_printf ("{\"payment_method_id\": \"%s\"}", wire);
      g_auto (Answer) by_wire = { 0 };

      /* A transfer is not charged: it is marked paid when the money arrives. */
      send_documented ("POST", "/v1/orgs/{org}/invoices/{id}/pay", open, NULL, admin, body, NULL,
                       &by_wire);
      expect (&by_wire, 409, "not_payable", NULL);
    }

  send_documented ("POST", "/v1/orgs/{org}/payment-methods/setup", NULL, NULL, admin,
                   "{\"type\": \"card\"}", NULL, &setup);
  expect (&setup, 409, "stripe_not_configured", "type");
  send_documented ("POST", "/v1/orgs/{org}/payment-methods/setup", NULL, NULL, admin,
                   "{\"type\": \"card\", \"success_url\": \"ftp://purser.example/\"}", NULL,
                   &bad_url);
  expect (&bad_url, 400, "invalid_request", "success_url");

  send_documented ("POST", "/v1/webhooks/stripe", NULL, NULL, NULL, event, NULL, &unsigned_event);
  g_assert_cmpuint (unsigned_event.status, ==, 400);
  g_assert_true (code_is (&unsigned_event, "webhooks_not_configured", "invalid_signature"));
  send_documented ("POST", "/v1/webhooks/stripe", NULL, NULL, NULL, event, bad_signature,
                   &badly_signed);
  g_assert_cmpuint (badly_signed.status, ==, 400);
  g_assert_true (code_is (&badly_signed, "webhooks_not_configured", "invalid_signature"));
}

static void
test_payments (void)
{
  g_autofree char *wire = check_payment_methods ();

  check_documents ();
  check_emails ();
  check_without_stripe (wire);
}

/* ── main ──────────────────────────────────────────────────────────────────────── */

static void
contract_start (void)
{
  const char *const args[] = { "--demo", NULL };
  g_autoptr (JsonNode) me = NULL;

  contract.doc = load_document ();
  contract.root = json_node_get_object (contract.doc);
  contract.paths = object_member (contract.root, "paths");
  g_assert_nonnull (contract.paths);

  contract.h = harness_start (DEMO_NOW, args);
  contract.session = g_object_new (SOUP_TYPE_SESSION, "proxy-resolver", NULL, "timeout", 120,
                                   "user-agent", "purserd-contract-test", NULL);
  for (guint r = 0; r < N_ROLES; r++)
    contract.tokens[r] = harness_login (contract.h, role_logins[r], DEMO_PASSWORD);
  me = get_ok ("/v1/me", contract.tokens[ROLE_ADMIN]);
  contract.org_id = g_strdup (harness_get_str (me, "org.id"));
  find_ids ();
}

static void
contract_stop (void)
{
  g_clear_object (&contract.session);
  harness_stop (contract.h);
  for (guint r = 0; r < N_ROLES; r++)
    g_free (contract.tokens[r]);
  g_free (contract.org_id);
  g_free (contract.department_id);
  g_free (contract.employee_id);
  g_free (contract.invoice_id);
  g_free (contract.created_department_id);
  json_node_unref (contract.doc);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/purser/server/contract/document", test_document);
  g_test_add_func ("/purser/server/contract/served", test_served);
  g_test_add_func ("/purser/server/contract/operations", test_operations);
  g_test_add_func ("/purser/server/contract/payments", test_payments);
  g_test_add_func ("/purser/server/contract/unauthenticated", test_unauthenticated);
  g_test_add_func ("/purser/server/contract/roles", test_roles);
  g_test_add_func ("/purser/server/contract/allow", test_allow);
  g_test_add_func ("/purser/server/contract/undocumented", test_undocumented);
  g_test_add_func ("/purser/server/contract/idempotency", test_idempotency);

  contract_start ();
  status = g_test_run ();
  contract_stop ();
  return status;
}
