/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "purserd-harness.h"
#include "purserd-test-util.h"

/* Sign-in, tokens, the operator, the roles on every kind of route, and tenancy: another
 * organization's ids do not exist for a user. */

/* ── helpers ───────────────────────────────────────────────────────────────────── */

static guint
status_of (PurserdHarness *h, const char *method, const char *path, const char *token,
           const char *body)
{
  g_autoptr (JsonNode) answer = NULL;
  guint status = 0;

  answer = harness_request (h, method, path, token, body, &status);
  if (status >= 400)
    assert_error (answer, status, status, NULL);
  return status;
}

/* Ids of the department `name` (top level) and every team below it. */
static GHashTable *
subtree_of (PurserdHarness *h, const char *org, const char *token, const char *name)
{
  g_autofree char *path = test_path ("/v1/orgs/%s/departments", org);
  g_autoptr (JsonNode) answer = call_ok (h, "GET", path, token, NULL, 200);
  JsonArray *data = json_node_get_array (harness_get (answer, "data"));
  GHashTable *set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gboolean grew = TRUE;

  for (guint i = 0; i < json_array_get_length (data); i++)
    {
      JsonNode *dept = json_array_get_element (data, i);

      if (harness_get_str (dept, "parent_id") == NULL
          && g_strcmp0 (harness_get_str (dept, "name"), name) == 0)
        g_hash_table_add (set, g_strdup (harness_get_str (dept, "id")));
    }
  g_assert_cmpuint (g_hash_table_size (set), ==, 1);
  while (grew)
    {
      grew = FALSE;
      for (guint i = 0; i < json_array_get_length (data); i++)
        {
          JsonNode *dept = json_array_get_element (data, i);
          const char *parent = harness_get_str (dept, "parent_id");
          const char *id = harness_get_str (dept, "id");

          if (parent != NULL && g_hash_table_contains (set, parent)
              && !g_hash_table_contains (set, id))
            {
              g_hash_table_add (set, g_strdup (id));
              grew = TRUE;
            }
        }
    }
  return set;
}

/* ── sign-in ───────────────────────────────────────────────────────────────────── */

static void
test_login (TestTwoOrgs *f, gconstpointer data)
{
  g_autoptr (JsonNode) answer = NULL;
  g_autoptr (JsonNode) me = NULL;
  const char *token;

  answer
      = call_ok (f->h, "POST", "/v1/auth/login", NULL,
                 "{\"email\": \"admin@acme.test\", \"password\": \"" HARNESS_PASSWORD "\"}", 200);
  token = harness_get_str (answer, "token");
  g_assert_nonnull (token);
  g_assert_cmpuint (strlen (token), >=, 32);
  g_assert_true (g_str_has_prefix (harness_get_str (answer, "user.id"), "usr_"));
  g_assert_cmpstr (harness_get_str (answer, "user.email"), ==, "admin@acme.test");
  g_assert_cmpstr (harness_get_str (answer, "user.name"), ==, "Admin of Acme Corp");
  g_assert_cmpstr (harness_get_str (answer, "user.role"), ==, "admin");
  g_assert_cmpstr (harness_get_str (answer, "user.org_id"), ==, f->org_a);

  /* The token works, and is not the one of the harness's own sign-in. */
  g_assert_cmpstr (token, !=, f->token_a);
  me = call_ok (f->h, "GET", "/v1/me", token, NULL, 200);
  g_assert_cmpstr (harness_get_str (me, "user.id"), ==, harness_get_str (answer, "user.id"));
  g_assert_cmpstr (harness_get_str (me, "user.email"), ==, "admin@acme.test");
  g_assert_cmpstr (harness_get_str (me, "user.role"), ==, "admin");
  g_assert_cmpstr (harness_get_str (me, "org.id"), ==, f->org_a);
  g_assert_cmpstr (harness_get_str (me, "org.name"), ==, "Acme Corp");
  g_assert_cmpstr (harness_get_str (me, "org.code"), ==, "ACME");
}

static void
test_login_refused (TestTwoOrgs *f, gconstpointer data)
{
  g_autoptr (JsonNode) wrong = NULL;
  g_autoptr (JsonNode) unknown = NULL;
  g_autoptr (JsonNode) missing = NULL;
  guint status = 0;

  wrong = harness_request (f->h, "POST", "/v1/auth/login", NULL,
                           "{\"email\": \"admin@acme.test\", \"password\": \"wrong-password-1\"}",
                           &status);
  assert_error (wrong, status, 401, "invalid_credentials");

  /* An unknown e-mail gets the very same answer: nobody learns who has an account. */
  unknown = harness_request (
      f->h, "POST", "/v1/auth/login", NULL,
      "{\"email\": \"nobody@acme.test\", \"password\": \"" HARNESS_PASSWORD "\"}", &status);
  assert_error (unknown, status, 401, "invalid_credentials");
  g_assert_true (json_node_equal (wrong, unknown));

  missing = harness_request (f->h, "POST", "/v1/auth/login", NULL,
                             "{\"email\": \"admin@acme.test\"}", &status);
  assert_error (missing, status, 400, NULL);
  g_assert_cmpstr (harness_get_str (missing, "error.field"), ==, "password");
}

static void
test_token_required (TestTwoOrgs *f, gconstpointer data)
{
  g_autofree char *org = test_path ("/v1/orgs/%s", f->org_a);
  g_autofree char *sub = test_path ("/v1/orgs/%s/subscription", f->org_a);
  const char *const basic[] = { "Authorization", "Basic YWRtaW46cGFzc3dvcmQ=", NULL };
  const char *const empty[] = { "Authorization", "Bearer ", NULL };
  const char *paths[][2] = {
    { "GET", "/v1/me" },
    { "GET", org },
    { "GET", sub },
    { "POST", "/v1/auth/logout" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autoptr (JsonNode) none = NULL;
      g_autoptr (JsonNode) bogus = NULL;
      g_autoptr (JsonNode) basic_answer = NULL;
      g_autoptr (JsonNode) empty_answer = NULL;
      guint status = 0;

      g_test_message ("%s %s", paths[i][0], paths[i][1]);
      none = harness_request (f->h, paths[i][0], paths[i][1], NULL, NULL, &status);
      assert_error (none, status, 401, "unauthorized");
      bogus
          = harness_request (f->h, paths[i][0], paths[i][1], "pst_not-a-real-token", NULL, &status);
      assert_error (bogus, status, 401, "invalid_token");
      basic_answer = harness_request_full (f->h, paths[i][0], paths[i][1], NULL, NULL, NULL, 0,
                                           basic, &status, NULL);
      assert_error (basic_answer, status, 401, NULL);
      empty_answer = harness_request_full (f->h, paths[i][0], paths[i][1], NULL, NULL, NULL, 0,
                                           empty, &status, NULL);
      assert_error (empty_answer, status, 401, NULL);
    }

  /* The operator token is not a user's token. */
  {
    g_autoptr (JsonNode) answer = NULL;
    guint status = 0;

    answer = harness_request (f->h, "GET", "/v1/me", HARNESS_OPERATOR_TOKEN, NULL, &status);
    assert_error (answer, status, 401, "invalid_token");
  }
}

static void
test_logout (TestTwoOrgs *f, gconstpointer data)
{
  g_autofree char *second = harness_login (f->h, "admin@acme.test", HARNESS_PASSWORD);
  g_autoptr (JsonNode) out = NULL;
  g_autoptr (JsonNode) after = NULL;
  g_autoptr (JsonNode) again = NULL;
  g_autoptr (JsonNode) other = NULL;
  guint status = 0;

  g_assert_cmpstr (second, !=, f->token_a);
  out = harness_request (f->h, "POST", "/v1/auth/logout", second, NULL, &status);
  g_assert_cmpuint (status, ==, 204);
  g_assert_null (out);

  after = harness_request (f->h, "GET", "/v1/me", second, NULL, &status);
  assert_error (after, status, 401, "invalid_token");
  again = harness_request (f->h, "POST", "/v1/auth/logout", second, NULL, &status);
  assert_error (again, status, 401, "invalid_token");

  /* Only that session ended. */
  other = call_ok (f->h, "GET", "/v1/me", f->token_a, NULL, 200);
  g_assert_cmpstr (harness_get_str (other, "user.email"), ==, "admin@acme.test");
}

static void
test_operator (TestTwoOrgs *f, gconstpointer data)
{
  const char *body
      = "{\"name\": \"Initech\", \"code\": \"INIT\", \"admin\": {\"email\": "
        "\"boss@initech.test\", \"name\": \"Bill\", \"password\": \"" HARNESS_PASSWORD "\"}}";
  g_autoptr (JsonNode) none = NULL;
  g_autoptr (JsonNode) wrong = NULL;
  g_autoptr (JsonNode) user = NULL;
  g_autoptr (JsonNode) login = NULL;
  g_autoptr (JsonNode) created = NULL;
  g_autoptr (JsonNode) again = NULL;
  g_autoptr (JsonNode) clock = NULL;
  guint status = 0;

  none = harness_request (f->h, "POST", "/v1/orgs", NULL, body, &status);
  assert_error (none, status, 401, "unauthorized");
  wrong = harness_request (f->h, "POST", "/v1/orgs", "not-the-operator-token", body, &status);
  assert_error (wrong, status, 401, "invalid_token");
  /* An organization admin is not the operator. */
  user = harness_request (f->h, "POST", "/v1/orgs", f->token_a, body, &status);
  assert_error (user, status, 401, "invalid_token");

  /* None of them created anything. */
  login = harness_request (
      f->h, "POST", "/v1/auth/login", NULL,
      "{\"email\": \"boss@initech.test\", \"password\": \"" HARNESS_PASSWORD "\"}", &status);
  assert_error (login, status, 401, "invalid_credentials");

  created = call_ok (f->h, "POST", "/v1/orgs", HARNESS_OPERATOR_TOKEN, body, 201);
  g_assert_true (g_str_has_prefix (harness_get_str (created, "org.id"), "org_"));
  g_assert_cmpstr (harness_get_str (created, "org.code"), ==, "INIT");
  g_free (harness_login (f->h, "boss@initech.test", HARNESS_PASSWORD));

  /* A code is one organization's. */
  again = harness_request (f->h, "POST", "/v1/orgs", HARNESS_OPERATOR_TOKEN,
                           "{\"name\": \"Initech 2\", \"code\": \"INIT\", \"admin\": {\"email\": "
                           "\"peter@initech.test\", \"name\": \"Peter\", \"password\": "
                           "\"" HARNESS_PASSWORD "\"}}",
                           &status);
  assert_error (again, status, 409, NULL);

  /* The test clock is the operator's too. */
  clock = harness_request (f->h, "POST", "/v1/test-clock", f->token_a,
                           "{\"now\": \"2026-03-02T00:00:00Z\"}", &status);
  assert_error (clock, status, 401, NULL);
}

/* A request of B's admin, and the path it goes to (owned). */
typedef struct
{
  const char *method;
  char *path;
  const char *body;
} Probe;

/* Each probe finds nothing for B's admin: 404 not_found. Frees the paths. */
static void
assert_not_found_for_b (TestTwoOrgs *f, Probe *probes, guint n)
{
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (JsonNode) answer = NULL;
      guint status = 0;

      g_test_message ("%s %s", probes[i].method, probes[i].path);
      answer = harness_request (f->h, probes[i].method, probes[i].path, f->token_b, probes[i].body,
                                &status);
      assert_error (answer, status, 404, "not_found");
      g_free (probes[i].path);
    }
}

static void
test_tenancy (TestTwoOrgs *f, gconstpointer data)
{
  g_autofree char *sub_a = test_path ("/v1/orgs/%s/subscription", f->org_a);
  g_autoptr (JsonNode) created = NULL;
  g_autoptr (JsonNode) sub_before = NULL;
  g_autoptr (JsonNode) sub_after = NULL;
  g_autofree char *employee_a = NULL;
  g_autofree char *department_a = NULL;
  const char *invoice_a;
  Probe foreign[] = {
    { "GET", test_path ("/v1/orgs/%s", f->org_a), NULL },
    { "PATCH", test_path ("/v1/orgs/%s", f->org_a), "{\"name\": \"Mine\"}" },
    { "GET", test_path ("/v1/orgs/%s/subscription", f->org_a), NULL },
    { "POST", test_path ("/v1/orgs/%s/subscription/change", f->org_a), "{\"seats\": 2}" },
    { "GET", test_path ("/v1/orgs/%s/invoices", f->org_a), NULL },
    { "GET", test_path ("/v1/orgs/%s/employees", f->org_a), NULL },
    { "GET", test_path ("/v1/orgs/%s/events?after=0", f->org_a), NULL },
    { "GET", test_path ("/v1/orgs/%s/seats", f->org_a), NULL },
    { "GET", test_path ("/v1/orgs/%s/departments", f->org_a), NULL },
  };

  created = call_ok (f->h, "POST", sub_a, f->token_a,
                     "{\"plan\": \"business\", \"cycle\": \"monthly\", \"seats\": 5, "
                     "\"billing_day\": 1}",
                     201);
  invoice_a = harness_get_str (created, "invoice.id");
  department_a = test_create_department (f->h, f->org_a, f->token_a, "Research", NULL);
  employee_a = test_create_employee (f->h, f->org_a, f->token_a, "ann@acme.test", "Ann Acme",
                                     department_a);
  sub_before = call_ok (f->h, "GET", sub_a, f->token_a, NULL, 200);

  /* B's admin, through A's organization: no such organization. */
  assert_not_found_for_b (f, foreign, G_N_ELEMENTS (foreign));

  /* B's admin, with A's ids inside B's own organization: they do not exist there. */
  {
    g_autofree char *assign_body = g_strdup_printf ("{\"employee_ids\": [\"%s\"]}", employee_a);
    Probe inside_b[] = {
      { "GET", test_path ("/v1/orgs/%s/invoices/%s", f->org_b, invoice_a), NULL },
      { "POST", test_path ("/v1/orgs/%s/invoices/%s/void", f->org_b, invoice_a), NULL },
      { "PATCH", test_path ("/v1/orgs/%s/employees/%s", f->org_b, employee_a),
        "{\"name\": \"Taken Over\"}" },
      { "PATCH", test_path ("/v1/orgs/%s/departments/%s", f->org_b, department_a),
        "{\"name\": \"Ours now\"}" },
      { "DELETE", test_path ("/v1/orgs/%s/departments/%s", f->org_b, department_a), NULL },
      { "POST", test_path ("/v1/orgs/%s/licenses/assign", f->org_b), assign_body },
      /* A foreign id and one that never existed look alike. */
      { "GET", test_path ("/v1/orgs/%s/invoices/inv_doesnotexist", f->org_b), NULL },
      /* An organization that does not exist at all answers like a foreign one. */
      { "GET", g_strdup ("/v1/orgs/org_doesnotexist"), NULL },
    };

    assert_not_found_for_b (f, inside_b, G_N_ELEMENTS (inside_b));
  }

  /* Nothing of A changed. */
  sub_after = call_ok (f->h, "GET", sub_a, f->token_a, NULL, 200);
  g_assert_true (json_node_equal (sub_before, sub_after));
  {
    g_autofree char *employee = test_path ("/v1/orgs/%s/employees?limit=100", f->org_a);
    g_autoptr (JsonNode) list = call_ok (f->h, "GET", employee, f->token_a, NULL, 200);

    g_assert_cmpuint (test_array_length (list, "data"), ==, 1);
    g_assert_cmpstr (harness_get_str (list, "data.0.name"), ==, "Ann Acme");
    g_assert_false (harness_get_bool (list, "data.0.licensed"));
  }
  {
    g_autofree char *org = test_path ("/v1/orgs/%s", f->org_a);
    g_autoptr (JsonNode) answer = call_ok (f->h, "GET", org, f->token_a, NULL, 200);

    g_assert_cmpstr (harness_get_str (test_resource (answer, "org"), "name"), ==, "Acme Corp");
  }
}

/* ── roles, on the demo organization ───────────────────────────────────────────── */

/* A request on the demo organization: `under` follows its "/v1/orgs/<id>". */
typedef struct
{
  const char *method;
  const char *under;
  const char *body;
} OrgRoute;

/* Each route answers `expected` to `token` (with the error envelope when it is an error). */
static void
assert_routes_answer (TestDemo *f, const char *token, const OrgRoute *routes, guint n,
                      guint expected)
{
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *path = test_path ("/v1/orgs/%s%s", f->org, routes[i].under);

      g_test_message ("%s %s", routes[i].method, path);
      g_assert_cmpuint (status_of (f->h, routes[i].method, path, token, routes[i].body), ==,
                        expected);
    }
}

static void
test_roles_admin (TestDemo *f, gconstpointer data)
{
  static const OrgRoute reads[] = {
    { "GET", "" },           { "GET", "/subscription" }, { "GET", "/seats" },
    { "GET", "/employees" }, { "GET", "/invoices" },     { "GET", "/events?after=0" },
  };
  g_autofree char *sub = test_path ("/v1/orgs/%s/subscription", f->org);
  g_autofree char *preview = test_path ("/v1/orgs/%s/subscription/preview", f->org);
  g_autoptr (JsonNode) me = call_ok (f->h, "GET", "/v1/me", f->admin, NULL, 200);
  g_autoptr (JsonNode) answer = NULL;

  g_assert_cmpstr (harness_get_str (me, "user.role"), ==, "admin");
  assert_routes_answer (f, f->admin, reads, G_N_ELEMENTS (reads), 200);

  answer = call_ok (f->h, "GET", sub, f->admin, NULL, 200);
  {
    g_autofree char *body = g_strdup_printf ("{\"seats\": %" G_GINT64_FORMAT "}",
                                             harness_get_int (answer, "subscription.seats") + 1);

    g_assert_cmpuint (status_of (f->h, "POST", preview, f->admin, body), ==, 200);
  }
}

static void
test_roles_executive (TestDemo *f, gconstpointer data)
{
  static const OrgRoute reads[] = { { "GET", "/invoices" }, { "GET", "/seats" }, { "GET", "" } };
  g_autofree char *sub = test_path ("/v1/orgs/%s/subscription", f->org);
  g_autoptr (JsonNode) me = call_ok (f->h, "GET", "/v1/me", f->executive, NULL, 200);
  g_autoptr (JsonNode) before = NULL;
  g_autoptr (JsonNode) after = NULL;
  g_autofree char *more = NULL;

  g_assert_cmpstr (harness_get_str (me, "user.role"), ==, "executive");
  /* Reads everything… */
  before = call_ok (f->h, "GET", sub, f->executive, NULL, 200);
  g_assert_cmpstr (harness_get_str (before, "subscription.plan"), ==, "business");
  assert_routes_answer (f, f->executive, reads, G_N_ELEMENTS (reads), 200);

  /* …and changes nothing of the plan. */
  more = g_strdup_printf ("{\"seats\": %" G_GINT64_FORMAT "}",
                          harness_get_int (before, "subscription.seats") + 5);
  {
    const OrgRoute writes[] = {
      { "POST", "/subscription/change", more },
      { "POST", "/subscription/preview", more },
      { "POST", "/subscription/cancel", "{\"reason\": \"other\"}" },
      { "PATCH", "/subscription", "{\"po_number\": \"X\"}" },
      { "PATCH", "", "{\"name\": \"X\"}" },
      { "POST", "/licenses/assign", "{\"employee_ids\": [\"emp_x\"]}" },
    };

    assert_routes_answer (f, f->executive, writes, G_N_ELEMENTS (writes), 403);
  }
  after = call_ok (f->h, "GET", sub, f->admin, NULL, 200);
  g_assert_true (json_node_equal (before, after));
}

static void
test_roles_manager (TestDemo *f, gconstpointer data)
{
  static const OrgRoute closed[] = {
    { "GET", "/subscription" },
    { "GET", "/invoices" },
    { "POST", "/subscription/change", "{\"seats\": 500}" },
  };
  g_autofree char *seats = test_path ("/v1/orgs/%s/seats", f->org);
  g_autofree char *employees = test_path ("/v1/orgs/%s/employees", f->org);
  g_autofree char *assign = test_path ("/v1/orgs/%s/licenses/assign", f->org);
  g_autofree char *revoke = test_path ("/v1/orgs/%s/licenses/revoke", f->org);
  g_autoptr (GHashTable) engineering = subtree_of (f->h, f->org, f->admin, "Engineering");
  g_autoptr (GHashTable) sales = subtree_of (f->h, f->org, f->admin, "Sales");
  g_autoptr (JsonNode) me = call_ok (f->h, "GET", "/v1/me", f->manager, NULL, 200);
  g_autoptr (JsonNode) seats_answer = NULL;
  g_autoptr (JsonArray) mine = NULL;
  g_autoptr (JsonArray) everyone = NULL;
  const char *sales_person = NULL;
  const char *licensed_engineer = NULL;
  guint engineers = 0;

  g_assert_cmpstr (harness_get_str (me, "user.role"), ==, "manager");

  /* Not the plan, not the invoices. */
  assert_routes_answer (f, f->manager, closed, G_N_ELEMENTS (closed), 403);

  /* Seats: only Engineering. */
  seats_answer = call_ok (f->h, "GET", seats, f->manager, NULL, 200);
  g_assert_cmpuint (test_array_length (seats_answer, "by_department"), ==, 1);
  g_assert_cmpstr (harness_get_str (seats_answer, "by_department.0.name"), ==, "Engineering");
  g_assert_true (g_hash_table_contains (
      engineering, harness_get_str (seats_answer, "by_department.0.department_id")));
  g_assert_cmpint (harness_get_int (seats_answer, "by_department.0.assigned"), >, 0);

  /* People: only Engineering's, teams included. */
  mine = test_list_all (f->h, employees, f->manager);
  everyone = test_list_all (f->h, employees, f->admin);
  g_assert_cmpuint (json_array_get_length (mine), >, 0);
  g_assert_cmpuint (json_array_get_length (mine), <, json_array_get_length (everyone));
  for (guint i = 0; i < json_array_get_length (mine); i++)
    {
      JsonNode *employee = json_array_get_element (mine, i);
      const char *department = harness_get_str (employee, "department_id");

      g_assert_nonnull (department);
      g_assert_true (g_hash_table_contains (engineering, department));
      if (licensed_engineer == NULL && harness_get_bool (employee, "licensed"))
        licensed_engineer = harness_get_str (employee, "id");
    }
  for (guint i = 0; i < json_array_get_length (everyone); i++)
    {
      JsonNode *employee = json_array_get_element (everyone, i);
      const char *department = harness_get_str (employee, "department_id");

      if (department != NULL && g_hash_table_contains (engineering, department))
        engineers++;
      if (sales_person == NULL && department != NULL && g_hash_table_contains (sales, department))
        sales_person = harness_get_str (employee, "id");
    }
  g_assert_cmpuint (engineers, ==, json_array_get_length (mine));
  g_assert_nonnull (sales_person);
  g_assert_nonnull (licensed_engineer);

  /* A Sales person does not exist for the Engineering manager. */
  {
    g_autofree char *body = g_strdup_printf ("{\"employee_ids\": [\"%s\"]}", sales_person);
    g_autoptr (JsonNode) answer = NULL;
    guint status = 0;

    answer = harness_request (f->h, "POST", assign, f->manager, body, &status);
    assert_error (answer, status, 404, "not_found");
    g_clear_pointer (&answer, json_node_unref);
    answer = harness_request (f->h, "POST", revoke, f->manager, body, &status);
    assert_error (answer, status, 404, "not_found");
  }

  /* An engineer's license is the manager's to revoke and give back. */
  {
    g_autofree char *body = g_strdup_printf ("{\"employee_ids\": [\"%s\"]}", licensed_engineer);
    g_autoptr (JsonNode) revoked = call_ok (f->h, "POST", revoke, f->manager, body, 200);
    g_autoptr (JsonNode) assigned = NULL;

    g_assert_cmpuint (test_array_length (revoked, "revoked"), ==, 1);
    g_assert_cmpstr (harness_get_str (revoked, "revoked.0"), ==, licensed_engineer);
    assigned = call_ok (f->h, "POST", assign, f->manager, body, 200);
    g_assert_cmpuint (test_array_length (assigned, "assigned"), ==, 1);
    g_assert_cmpstr (harness_get_str (assigned, "assigned.0"), ==, licensed_engineer);
  }
}

static void
test_roles_employee (TestDemo *f, gconstpointer data)
{
  static const OrgRoute closed[] = {
    { "GET", "/employees" },
    { "GET", "/subscription" },
    { "GET", "/seats" },
    { "GET", "/invoices" },
    { "GET", "/events?after=0" },
    { "POST", "/licenses/assign", "{\"employee_ids\": [\"emp_x\"]}" },
    { "PATCH", "", "{\"name\": \"Mine\"}" },
  };
  g_autofree char *org = test_path ("/v1/orgs/%s", f->org);
  g_autoptr (JsonNode) me = call_ok (f->h, "GET", "/v1/me", f->employee, NULL, 200);
  g_autoptr (JsonNode) own = NULL;

  g_assert_cmpstr (harness_get_str (me, "user.role"), ==, "employee");
  g_assert_cmpstr (harness_get_str (me, "user.email"), ==, "ada.andersen@northwind.example");
  own = call_ok (f->h, "GET", org, f->employee, NULL, 200);
  g_assert_cmpstr (harness_get_str (test_resource (own, "org"), "name"), ==, "Northwind Labs");

  assert_routes_answer (f, f->employee, closed, G_N_ELEMENTS (closed), 403);
}

/* Every route against every role: who may pass the role check. Mutations carry a body (or
 * an id) that fails validation after it, so a probe that passes changes nothing. */
enum
{
  ADMIN = 1 << 0,
  EXECUTIVE = 1 << 1,
  MANAGER = 1 << 2,
  EMPLOYEE = 1 << 3,
  STAFF = ADMIN | EXECUTIVE | MANAGER,
  READERS = ADMIN | EXECUTIVE,
  EVERYONE = STAFF | EMPLOYEE,
};

static void
test_roles_matrix (TestDemo *f, gconstpointer data)
{
  static const char probe[] = "{\"__role_probe__\": true}";
  g_autoptr (JsonNode) me = call_ok (f->h, "GET", "/v1/me", f->employee, NULL, 200);
  const char *self = harness_get_str (me, "user.employee_id");
  g_autofree char *events = test_path ("/v1/orgs/%s/events?after=0&limit=1", f->org);
  g_autoptr (JsonNode) before = call_ok (f->h, "GET", events, f->admin, NULL, 200);
  g_autoptr (JsonNode) after = NULL;
  const struct
  {
    const char *method;
    const char *path; /* %s: the organization; {self}: the employee's own id */
    const char *body;
    guint allowed;
  } routes[] = {
    { "GET", "/v1/me", NULL, EVERYONE },
    { "GET", "/v1/plans", NULL, EVERYONE },
    { "GET", "/v1/orgs/%s", NULL, EVERYONE },
    { "PATCH", "/v1/orgs/%s", probe, ADMIN },
    { "GET", "/v1/orgs/%s/departments", NULL, STAFF },
    { "POST", "/v1/orgs/%s/departments", probe, ADMIN },
    { "PATCH", "/v1/orgs/%s/departments/dep_probe", probe, ADMIN },
    { "DELETE", "/v1/orgs/%s/departments/dep_probe", NULL, ADMIN },
    { "PUT", "/v1/orgs/%s/departments/dep_probe/seat-allocation", probe, ADMIN },
    { "GET", "/v1/orgs/%s/employees", NULL, STAFF },
    { "POST", "/v1/orgs/%s/employees", probe, ADMIN | MANAGER },
    { "GET", "/v1/orgs/%s/employees/{self}", NULL, EVERYONE },
    { "PATCH", "/v1/orgs/%s/employees/emp_probe", probe, ADMIN | MANAGER },
    { "POST", "/v1/orgs/%s/employees/import", "", ADMIN },
    { "GET", "/v1/orgs/%s/subscription", NULL, READERS },
    { "POST", "/v1/orgs/%s/subscription", probe, ADMIN },
    { "PATCH", "/v1/orgs/%s/subscription", probe, ADMIN },
    { "POST", "/v1/orgs/%s/subscription/preview", probe, ADMIN },
    { "POST", "/v1/orgs/%s/subscription/change", probe, ADMIN },
    { "POST", "/v1/orgs/%s/subscription/cancel", probe, ADMIN },
    { "POST", "/v1/orgs/%s/subscription/resume", probe, ADMIN },
    { "GET", "/v1/orgs/%s/seats", NULL, STAFF },
    { "GET", "/v1/orgs/%s/licenses", NULL, STAFF },
    { "POST", "/v1/orgs/%s/licenses/assign", probe, ADMIN | MANAGER },
    { "POST", "/v1/orgs/%s/licenses/revoke", probe, ADMIN | MANAGER },
    { "GET", "/v1/orgs/%s/invoices", NULL, READERS },
    { "GET", "/v1/orgs/%s/invoices/inv_probe", NULL, READERS },
    { "POST", "/v1/orgs/%s/invoices/inv_probe/void", probe, ADMIN },
    { "GET", "/v1/orgs/%s/events?after=0", NULL, STAFF },
  };
  const struct
  {
    guint role;
    const char *name;
    const char *token;
  } people[] = {
    { ADMIN, "admin", f->admin },
    { EXECUTIVE, "executive", f->executive },
    { MANAGER, "manager", f->manager },
    { EMPLOYEE, "employee", f->employee },
  };

  g_assert_nonnull (self);
  for (guint r = 0; r < G_N_ELEMENTS (routes); r++)
    for (guint p = 0; p < G_N_ELEMENTS (people); p++)
      {
        g_autoptr (GString) path = g_string_new (routes[r].path);
        g_autoptr (JsonNode) answer = NULL;
        gboolean allowed = (routes[r].allowed & people[p].role) != 0;
        guint status = 0;

        g_string_replace (path, "%s", f->org, 1);
        g_string_replace (path, "{self}", self, 0);
        answer = harness_request (f->h, routes[r].method, path->str, people[p].token,
                                  routes[r].body, &status);
        if (allowed && (status == 401 || status == 403 || status >= 500))
          {
            g_autofree char *shown = test_describe (answer);

            g_test_message ("%s %s as %s answered %u: %s", routes[r].method, path->str,
                            people[p].name, status, shown);
            g_assert_cmpuint (status, !=, 401);
            g_assert_cmpuint (status, !=, 403);
            g_assert_cmpuint (status, <, 500);
          }
        if (!allowed)
          {
            g_test_message ("%s %s as %s", routes[r].method, path->str, people[p].name);
            assert_error (answer, status, 403, "forbidden");
          }
      }

  /* The probes wrote nothing. */
  after = call_ok (f->h, "GET", events, f->admin, NULL, 200);
  g_assert_cmpint (harness_get_int (after, "last_seq"), ==, harness_get_int (before, "last_seq"));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  test_add_two_orgs ("/purser/server/auth/login", test_login);
  test_add_two_orgs ("/purser/server/auth/login-refused", test_login_refused);
  test_add_two_orgs ("/purser/server/auth/token-required", test_token_required);
  test_add_two_orgs ("/purser/server/auth/logout", test_logout);
  test_add_two_orgs ("/purser/server/auth/operator", test_operator);
  test_add_two_orgs ("/purser/server/auth/tenancy", test_tenancy);
  test_add_demo_roles ("/purser/server/auth/roles/admin", test_roles_admin);
  test_add_demo_roles ("/purser/server/auth/roles/executive", test_roles_executive);
  test_add_demo_roles ("/purser/server/auth/roles/manager", test_roles_manager);
  test_add_demo_roles ("/purser/server/auth/roles/employee", test_roles_employee);
  test_add_demo_roles ("/purser/server/auth/roles/matrix", test_roles_matrix);

  return g_test_run ();
}
