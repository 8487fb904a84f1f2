/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <string.h>

#include "purserd-harness.h"

/* Small assertions the server tests share. Macros keep the caller's line in failures. */

G_BEGIN_DECLS

static inline char *
test_describe (JsonNode *node)
{
  g_autoptr (JsonGenerator) generator = NULL;

  if (node == NULL)
    return g_strdup ("(no body)");
  generator = json_generator_new ();
  json_generator_set_root (generator, node);
  return json_generator_to_data (generator, NULL);
}

static inline void
test_check_status (const char *file, int line, const char *func, JsonNode *answer, guint status,
                   guint expected)
{
  g_autofree char *body = NULL;
  g_autofree char *text = NULL;

  if (status == expected)
    return;
  body = test_describe (answer);
  text = g_strdup_printf ("answered %u, expected %u: %s", status, expected, body);
  g_assertion_message (G_LOG_DOMAIN, file, line, func, text);
}

/* The status is `expected`, or the failure shows the body. */
#define assert_status(answer, status, expected) \
  test_check_status (__FILE__, __LINE__, G_STRFUNC, (answer), (status), (expected))

/* An error answer: the status and the envelope {"error": {"code", "message"}} and nothing
 * else beside it. */
static inline void
test_check_error (const char *file, int line, const char *func, JsonNode *answer, guint status,
                  guint expected_status, const char *expected_code)
{
  g_autofree char *body = test_describe (answer);
  g_autofree char *text = NULL;
  JsonObject *root, *error;
  JsonNode *code, *message;

  test_check_status (file, line, func, answer, status, expected_status);
  if (answer == NULL || !JSON_NODE_HOLDS_OBJECT (answer))
    text = g_strdup_printf ("the error answer %u is not a JSON object: %s", status, body);
  else if ((root = json_node_get_object (answer)) == NULL || json_object_get_size (root) != 1
           || !json_object_has_member (root, "error")
           || !JSON_NODE_HOLDS_OBJECT (json_object_get_member (root, "error")))
    text = g_strdup_printf ("the answer %u is not an error envelope: %s", status, body);
  else
    {
      error = json_object_get_object_member (root, "error");
      code = json_object_get_member (error, "code");
      message = json_object_get_member (error, "message");
      if (code == NULL || json_node_get_value_type (code) != G_TYPE_STRING || message == NULL
          || json_node_get_value_type (message) != G_TYPE_STRING
          || *json_node_get_string (message) == '\0')
        text = g_strdup_printf ("the envelope lacks a code or a message: %s", body);
      else if (expected_code != NULL && g_strcmp0 (json_node_get_string (code), expected_code) != 0)
        text = g_strdup_printf ("error code \"%s\", expected \"%s\": %s",
                                json_node_get_string (code), expected_code, body);
    }
  if (text != NULL)
    g_assertion_message (G_LOG_DOMAIN, file, line, func, text);
}

/* expected_code may be NULL: any code. */
#define assert_error(answer, status, expected_status, expected_code)                      \
  test_check_error (__FILE__, __LINE__, G_STRFUNC, (answer), (status), (expected_status), \
                    (expected_code))

/* Money at `path`: {"amount": amount, "currency": "usd"}. */
#define assert_money(root, path, expected)                                      \
  G_STMT_START                                                                  \
  {                                                                             \
    g_assert_cmpint (harness_get_int ((root), path ".amount"), ==, (expected)); \
    g_assert_cmpstr (harness_get_str ((root), path ".currency"), ==, "usd");    \
  }                                                                             \
  G_STMT_END

static inline JsonNode *
test_call (const char *file, int line, const char *func, PurserdHarness *h, const char *method,
           const char *path, const char *token, const char *body, guint expected)
{
  guint status = 0;
  JsonNode *answer = harness_request (h, method, path, token, body, &status);
  g_autofree char *where = g_strdup_printf ("%s %s", method, path);
  g_autofree char *text = NULL;

  if (status != expected)
    {
      g_autofree char *shown = test_describe (answer);

      text = g_strdup_printf ("%s answered %u, expected %u: %s", where, status, expected, shown);
      g_assertion_message (G_LOG_DOMAIN, file, line, func, text);
    }
  return answer;
}

/* A request that must answer `expected`; returns the answer (owned). */
#define call_ok(h, method, path, token, body, expected) \
  test_call (__FILE__, __LINE__, G_STRFUNC, (h), (method), (path), (token), (body), (expected))

static inline char *test_path (const char *format, ...) G_GNUC_PRINTF (1, 2);

static inline char *
test_path (const char *format, ...)
{
  va_list args;
  char *path;

  va_start (args, format);
  path = g_strdup_vprintf (format, args);
  va_end (args);
  return path;
}

/* The member `name` of an answer that wraps its resource ({"employee": {…}}), or the answer
 * itself when the resource is the whole answer. */
static inline JsonNode *
test_resource (JsonNode *answer, const char *name)
{
  if (answer != NULL && JSON_NODE_HOLDS_OBJECT (answer)
      && json_object_has_member (json_node_get_object (answer), name)
      && JSON_NODE_HOLDS_OBJECT (json_object_get_member (json_node_get_object (answer), name)))
    return json_object_get_member (json_node_get_object (answer), name);
  return answer;
}

/* Sum of the amounts of the lines at `path` (an array of lines). */
static inline gint64
test_lines_sum (JsonNode *root, const char *path)
{
  JsonArray *lines = json_node_get_array (harness_get (root, path));
  gint64 sum = 0;

  for (guint i = 0; i < json_array_get_length (lines); i++)
    {
      JsonObject *line = json_array_get_object_element (lines, i);

      sum += json_object_get_int_member (json_object_get_object_member (line, "amount"), "amount");
    }
  return sum;
}

/* The first line of `kind` in the lines at `path`, or NULL. */
static inline JsonNode *
test_line_of_kind (JsonNode *root, const char *path, const char *kind)
{
  JsonArray *lines = json_node_get_array (harness_get (root, path));

  for (guint i = 0; i < json_array_get_length (lines); i++)
    {
      JsonNode *line = json_array_get_element (lines, i);

      if (g_strcmp0 (harness_get_str (line, "kind"), kind) == 0)
        return line;
    }
  return NULL;
}

static inline guint
test_array_length (JsonNode *root, const char *path)
{
  JsonNode *node = harness_get (root, path);

  g_assert_true (JSON_NODE_HOLDS_ARRAY (node));
  return json_array_get_length (json_node_get_array (node));
}

/* A department (name, under parent_id or NULL); returns its id. */
static inline char *
test_create_department (PurserdHarness *h, const char *org_id, const char *token, const char *name,
                        const char *parent_id)
{
  g_autofree char *path = test_path ("/v1/orgs/%s/departments", org_id);
  g_autofree char *body = NULL;
  g_autoptr (JsonNode) answer = NULL;

  if (parent_id != NULL)
    body = g_strdup_printf ("{\"name\": \"%s\", \"parent_id\": \"%s\"}", name, parent_id);
  else
    body = g_strdup_printf ("{\"name\": \"%s\"}", name);
  answer = call_ok (h, "POST", path, token, body, 201);
  return g_strdup (harness_get_str (test_resource (answer, "department"), "id"));
}

/* An employee (department_id may be NULL); returns their id. */
static inline char *
test_create_employee (PurserdHarness *h, const char *org_id, const char *token, const char *email,
                      const char *name, const char *department_id)
{
  g_autofree char *path = test_path ("/v1/orgs/%s/employees", org_id);
  g_autofree char *body = NULL;
  g_autoptr (JsonNode) answer = NULL;

  if (department_id != NULL)
    body = g_strdup_printf ("{\"email\": \"%s\", \"name\": \"%s\", \"department_id\": \"%s\"}",
                            email, name, department_id);
  else
    body = g_strdup_printf ("{\"email\": \"%s\", \"name\": \"%s\"}", email, name);
  answer = call_ok (h, "POST", path, token, body, 201);
  return g_strdup (harness_get_str (test_resource (answer, "employee"), "id"));
}

/* Assigns licenses to the employees (NULL-terminated ids); asserts 200. */
static inline void
test_assign (PurserdHarness *h, const char *org_id, const char *token, const char *const *ids)
{
  g_autofree char *path = test_path ("/v1/orgs/%s/licenses/assign", org_id);
  g_autoptr (GString) body = g_string_new ("{\"employee_ids\": [");
  g_autoptr (JsonNode) answer = NULL;

  for (guint i = 0; ids[i] != NULL; i++)
    g_string_append_printf (body, "%s\"%s\"", i ? ", " : "", ids[i]);
  g_string_append (body, "]}");
  answer = call_ok (h, "POST", path, token, body->str, 200);
}

/* Every item of a paginated list (?limit=&after=, {"data", "has_more"}), in order. */
static inline JsonArray *
test_list_all (PurserdHarness *h, const char *path, const char *token)
{
  JsonArray *all = json_array_new ();
  g_autofree char *after = NULL;

  for (guint page = 0; page < 1000; page++)
    {
      g_autofree char *url = NULL;
      g_autoptr (JsonNode) answer = NULL;
      JsonArray *data;
      guint n;

      url = g_strdup_printf ("%s%slimit=100%s%s", path, strchr (path, '?') ? "&" : "?",
                             after ? "&after=" : "", after ? after : "");
      answer = call_ok (h, "GET", url, token, NULL, 200);
      data = json_node_get_array (harness_get (answer, "data"));
      n = json_array_get_length (data);
      for (guint i = 0; i < n; i++)
        json_array_add_element (all, json_node_copy (json_array_get_element (data, i)));
      if (!harness_get_bool (answer, "has_more"))
        return all;
      g_assert_cmpuint (n, >, 0);
      g_free (after);
      after = g_strdup (
          json_object_get_string_member (json_array_get_object_element (data, n - 1), "id"));
    }
  g_assert_not_reached ();
  return all;
}

/* ── fixtures ──────────────────────────────────────────────────────────────────── */

/* One server on the test clock at 2026-03-01T09:00:00Z, two organizations with an admin
 * each: A is "Acme Corp" (ACME), B is "Globex" (GLOBEX). */
typedef struct
{
  PurserdHarness *h;
  char *org_a;
  char *token_a;
  char *org_b;
  char *token_b;
} TestTwoOrgs;

static inline void
test_two_orgs_setup (TestTwoOrgs *f, gconstpointer data)
{
  f->h = harness_start ("2026-03-01T09:00:00Z", NULL);
  harness_create_org (f->h, "Acme Corp", "ACME", &f->org_a, &f->token_a);
  harness_create_org (f->h, "Globex", "GLOBEX", &f->org_b, &f->token_b);
}

static inline void
test_two_orgs_teardown (TestTwoOrgs *f, gconstpointer data)
{
  harness_stop (f->h);
  g_free (f->org_a);
  g_free (f->token_a);
  g_free (f->org_b);
  g_free (f->token_b);
}

/* A test at `path` on a fresh TestTwoOrgs. */
#define test_add_two_orgs(path, func) \
  g_test_add ((path), TestTwoOrgs, NULL, test_two_orgs_setup, (func), test_two_orgs_teardown)

/* purserd --demo: Northwind Labs, on the test clock at TEST_DEMO_NOW. Every demo login has
 * the password TEST_DEMO_PASSWORD. */
#define TEST_DEMO_NOW      "2026-03-11T09:00:00Z"
#define TEST_DEMO_PASSWORD "northwind-demo"

/* The demo organization and its people's tokens: test_demo_setup signs in its admin only
 * (the other tokens stay NULL), test_demo_roles_setup one person of each role. */
typedef struct
{
  PurserdHarness *h;
  char *org;
  char *admin;     /* finance@: admin */
  char *executive; /* ceo@ */
  char *manager;   /* eng.manager@: manages Engineering */
  char *employee;  /* ada.andersen@ */
} TestDemo;

static inline void
test_demo_setup (TestDemo *f, gconstpointer data)
{
  const char *const args[] = { "--demo", NULL };
  g_autoptr (JsonNode) me = NULL;

  f->h = harness_start (TEST_DEMO_NOW, args);
  f->admin = harness_login (f->h, "finance@northwind.example", TEST_DEMO_PASSWORD);
  me = call_ok (f->h, "GET", "/v1/me", f->admin, NULL, 200);
  f->org = g_strdup (harness_get_str (me, "org.id"));
}

static inline void
test_demo_roles_setup (TestDemo *f, gconstpointer data)
{
  test_demo_setup (f, data);
  f->executive = harness_login (f->h, "ceo@northwind.example", TEST_DEMO_PASSWORD);
  f->manager = harness_login (f->h, "eng.manager@northwind.example", TEST_DEMO_PASSWORD);
  f->employee = harness_login (f->h, "ada.andersen@northwind.example", TEST_DEMO_PASSWORD);
}

static inline void
test_demo_teardown (TestDemo *f, gconstpointer data)
{
  harness_stop (f->h);
  g_free (f->org);
  g_free (f->admin);
  g_free (f->executive);
  g_free (f->manager);
  g_free (f->employee);
}

/* A test at `path` on a fresh demo, signed in as its admin. */
#define test_add_demo(path, func) \
  g_test_add ((path), TestDemo, NULL, test_demo_setup, (func), test_demo_teardown)

/* A test at `path` on a fresh demo, signed in as one person of each role. */
#define test_add_demo_roles(path, func) \
  g_test_add ((path), TestDemo, NULL, test_demo_roles_setup, (func), test_demo_teardown)

G_END_DECLS
