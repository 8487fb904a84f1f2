/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <signal.h>
#include <sys/types.h>

#include <gio/gio.h>

#include "purserd-harness.h"
#include "purserd-test-util.h"

/* Bad input of every kind answers 4xx with the error envelope: never a 500, never a crash,
 * and nothing half-written. Each test ends by checking that the organizations' data is
 * exactly what it was and that the server still answers. */

#define LONG_MARK "@LONG@" /* replaced by 10,000 characters */

typedef struct
{
  TestTwoOrgs orgs; /* A: a subscription, a department, an employee with a license; B: none */
  char *invoice;    /* A's first invoice, open */
  char *licensed;   /* A's employee with a license */
  char *other;      /* A's employee without one */
  GPtrArray *snapshot;
} Fixture;

/* Everything the organizations show, as JSON. */
static GPtrArray *
take_snapshot (Fixture *f)
{
  GPtrArray *all = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  const char *a_paths[] = { "", "/subscription", "/seats", "/departments", "/events?after=0" };
  const char *lists[] = { "/invoices", "/employees", "/licenses" };
  g_autofree char *b_sub = test_path ("/v1/orgs/%s/subscription", f->orgs.org_b);
  g_autofree char *b_events = test_path ("/v1/orgs/%s/events?after=0", f->orgs.org_b);
  guint status = 0;

  for (guint i = 0; i < G_N_ELEMENTS (a_paths); i++)
    {
      g_autofree char *path = test_path ("/v1/orgs/%s%s", f->orgs.org_a, a_paths[i]);

      g_ptr_array_add (all, call_ok (f->orgs.h, "GET", path, f->orgs.token_a, NULL, 200));
    }
  for (guint i = 0; i < G_N_ELEMENTS (lists); i++)
    {
      g_autofree char *path = test_path ("/v1/orgs/%s%s", f->orgs.org_a, lists[i]);
      JsonArray *items = test_list_all (f->orgs.h, path, f->orgs.token_a);

      g_ptr_array_add (all, json_node_init_array (json_node_alloc (), items));
      json_array_unref (items);
    }
  g_ptr_array_add (all, harness_request (f->orgs.h, "GET", b_sub, f->orgs.token_b, NULL, &status));
  assert_error (g_ptr_array_index (all, all->len - 1), status, 404, "no_subscription");
  g_ptr_array_add (all, call_ok (f->orgs.h, "GET", b_events, f->orgs.token_b, NULL, 200));
  return all;
}

static void
assert_unchanged_and_alive (Fixture *f)
{
  g_autoptr (GPtrArray) now = take_snapshot (f);
  g_autoptr (JsonNode) health = NULL;

  g_assert_cmpuint (now->len, ==, f->snapshot->len);
  for (guint i = 0; i < now->len; i++)
    if (!json_node_equal (g_ptr_array_index (now, i), g_ptr_array_index (f->snapshot, i)))
      {
        g_autofree char *before = test_describe (g_ptr_array_index (f->snapshot, i));
        g_autofree char *after = test_describe (g_ptr_array_index (now, i));

        g_test_message ("snapshot %u changed:\nbefore: %s\nafter:  %s", i, before, after);
        g_assert_true (
            json_node_equal (g_ptr_array_index (now, i), g_ptr_array_index (f->snapshot, i)));
      }
  health = call_ok (f->orgs.h, "GET", "/healthz", NULL, NULL, 200);
  g_assert_cmpstr (harness_get_str (health, "status"), ==, "ok");
  g_assert_cmpint (kill (harness_pid (f->orgs.h), 0), ==, 0);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autofree char *sub = NULL;
  g_autofree char *dept = NULL;
  g_autoptr (JsonNode) created = NULL;
  const char *ids[2] = { NULL, NULL };

  test_two_orgs_setup (&f->orgs, data);
  sub = test_path ("/v1/orgs/%s/subscription", f->orgs.org_a);
  created = call_ok (f->orgs.h, "POST", sub, f->orgs.token_a,
                     "{\"plan\": \"business\", \"cycle\": \"monthly\", \"seats\": 10, "
                     "\"billing_day\": 1}",
                     201);
  f->invoice = g_strdup (harness_get_str (created, "invoice.id"));
  dept = test_create_department (f->orgs.h, f->orgs.org_a, f->orgs.token_a, "Engineering", NULL);
  f->licensed = test_create_employee (f->orgs.h, f->orgs.org_a, f->orgs.token_a, "lin@acme.test",
                                      "Lin Licensed", dept);
  f->other = test_create_employee (f->orgs.h, f->orgs.org_a, f->orgs.token_a, "oto@acme.test",
                                   "Oto Other", dept);
  ids[0] = f->licensed;
  test_assign (f->orgs.h, f->orgs.org_a, f->orgs.token_a, ids);
  harness_set_clock (f->orgs.h, "2026-03-11T09:00:00Z");
  f->snapshot = take_snapshot (f);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  test_two_orgs_teardown (&f->orgs, data);
  g_free (f->invoice);
  g_free (f->licensed);
  g_free (f->other);
  g_ptr_array_unref (f->snapshot);
}

/* ── bodies ────────────────────────────────────────────────────────────────────── */

typedef enum
{
  AS_ADMIN_A,
  AS_ADMIN_B,
  AS_OPERATOR,
  AS_NOBODY,
} Who;

typedef struct
{
  Who who;
  const char *method;
  const char *path; /* %s: the organization of `who` */
  const char *body;
  guint status;      /* 0: any 4xx */
  const char *code;  /* NULL: any */
  const char *field; /* NULL: not checked */
} Case;

static const Case cases[] = {
  /* not JSON, or not an object */
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change", "{", 400, "malformed_json" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change", "not json", 400, "malformed_json" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change", "[1, 2, 3]", 400, "malformed_json" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change", "[{\"seats\": 15}]", 400,
    "malformed_json" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change", "null", 400, "malformed_json" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change", "15", 400, "malformed_json" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change", "\"seats\"", 400, "malformed_json" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change", "", 400, "malformed_json" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change", "{\"seats\": 15", 400,
    "malformed_json" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change", "{seats: 15}", 400, "malformed_json" },
  { AS_ADMIN_A, "PATCH", "/v1/orgs/%s/subscription", "{\"po_number\": \"\xff\xfe\"}", 400,
    "malformed_json" },
  { AS_ADMIN_A, "PATCH", "/v1/orgs/%s/subscription", "{\"po_number\": \"\xc3\"}", 400,
    "malformed_json" },
  /* wrong types */
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change", "{\"seats\": \"15\"}", 400,
    "invalid_request", "seats" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change", "{\"seats\": 15.5}", 400,
    "invalid_request", "seats" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change", "{\"seats\": 15.0}", 400,
    "invalid_request", "seats" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change", "{\"seats\": 1e3}", 400,
    "invalid_request", "seats" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change", "{\"seats\": true}", 400,
    "invalid_request", "seats" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change", "{\"seats\": null}", 400,
    "invalid_request", "seats" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change", "{\"seats\": [15]}", 400,
    "invalid_request", "seats" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change", "{\"seats\": {\"n\": 15}}", 400,
    "invalid_request", "seats" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/preview", "{\"seats\": \"x\"}", 400,
    "invalid_request", "seats" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change", "{\"plan\": 1}", 400, "invalid_request",
    "plan" },
  /* out of range */
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change", "{\"seats\": 0}", 400, "invalid_request",
    "seats" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change", "{\"seats\": -5}", 400,
    "invalid_request", "seats" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change", "{\"seats\": 99999999999}", 400,
    "invalid_request", "seats" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change",
    "{\"seats\": 99999999999999999999999999}", 400 },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change", "{\"seats\": 1e400}", 400 },
  /* unknown enum values and fields */
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change", "{\"plan\": \"gold\"}", 400,
    "invalid_request", "plan" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change", "{\"plan\": \"Business\"}", 400,
    "invalid_request", "plan" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change", "{\"cycle\": \"weekly\"}", 400,
    "invalid_request", "cycle" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change", "{\"seat\": 15}", 400, "invalid_request",
    "seat" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change", "{\"seats\": 15, \"extra\": true}", 400,
    "invalid_request", "extra" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change", "{}", 0 },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change", "{\"seats\": 10}", 0 },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change",
    "{\"contract\": {\"seat_price\": {\"amount\": 100, \"currency\": \"usd\"}}}", 0 },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/change",
    "{\"plan\": \"enterprise\", \"contract\": {\"seat_price\": \"cheap\"}}", 400 },
  /* subscription settings */
  { AS_ADMIN_A, "PATCH", "/v1/orgs/%s/subscription", "{\"billing_day\": 29}", 400,
    "invalid_request", "billing_day" },
  { AS_ADMIN_A, "PATCH", "/v1/orgs/%s/subscription", "{\"billing_day\": 0}", 400, "invalid_request",
    "billing_day" },
  { AS_ADMIN_A, "PATCH", "/v1/orgs/%s/subscription", "{\"billing_day\": \"15\"}", 400,
    "invalid_request", "billing_day" },
  { AS_ADMIN_A, "PATCH", "/v1/orgs/%s/subscription", "{\"auto_renew\": \"yes\"}", 400,
    "invalid_request", "auto_renew" },
  { AS_ADMIN_A, "PATCH", "/v1/orgs/%s/subscription", "{\"auto_renew\": 1}", 400, "invalid_request",
    "auto_renew" },
  { AS_ADMIN_A, "PATCH", "/v1/orgs/%s/subscription", "{\"po_number\": \"" LONG_MARK "\"}", 400,
    "invalid_request", "po_number" },
  { AS_ADMIN_A, "PATCH", "/v1/orgs/%s/subscription", "{\"invoice_notes\": \"" LONG_MARK "\"}", 400,
    "invalid_request", "invoice_notes" },
  { AS_ADMIN_A, "PATCH", "/v1/orgs/%s/subscription", "{\"po_number\": \"a\\u0001b\"}", 400,
    "invalid_request", "po_number" },
  { AS_ADMIN_A, "PATCH", "/v1/orgs/%s/subscription", "{\"proration_billing\": \"sometimes\"}", 400,
    "invalid_request", "proration_billing" },
  { AS_ADMIN_A, "PATCH", "/v1/orgs/%s/subscription",
    "{\"po_number\": \"PO-1\", \"billing_day\": 31}", 400, "invalid_request", "billing_day" },
  /* a new subscription (B has none) */
  { AS_ADMIN_B, "POST", "/v1/orgs/%s/subscription",
    "{\"plan\": \"business\", \"cycle\": \"monthly\", \"seats\": 10, \"billing_day\": 29}", 400,
    "invalid_request", "billing_day" },
  { AS_ADMIN_B, "POST", "/v1/orgs/%s/subscription",
    "{\"plan\": \"business\", \"cycle\": \"monthly\", \"seats\": 10, \"billing_day\": 0}", 400,
    "invalid_request", "billing_day" },
  { AS_ADMIN_B, "POST", "/v1/orgs/%s/subscription", "{\"cycle\": \"monthly\", \"seats\": 10}", 400,
    "invalid_request", "plan" },
  { AS_ADMIN_B, "POST", "/v1/orgs/%s/subscription",
    "{\"plan\": \"gold\", \"cycle\": \"monthly\", \"seats\": 10}", 400, "invalid_request", "plan" },
  { AS_ADMIN_B, "POST", "/v1/orgs/%s/subscription",
    "{\"plan\": \"business\", \"cycle\": \"monthly\", \"seats\": \"10\"}", 400, "invalid_request",
    "seats" },
  { AS_ADMIN_B, "POST", "/v1/orgs/%s/subscription",
    "{\"plan\": \"business\", \"cycle\": \"monthly\", \"seats\": 0}", 400, "invalid_request",
    "seats" },
  { AS_ADMIN_B, "POST", "/v1/orgs/%s/subscription",
    "{\"plan\": \"business\", \"cycle\": \"monthly\", \"seats\": 10, \"trial_days\": -1}", 400,
    "invalid_request", "trial_days" },
  { AS_ADMIN_B, "POST", "/v1/orgs/%s/subscription",
    "{\"plan\": \"business\", \"cycle\": \"monthly\", \"seats\": 10, \"po_number\": \"" LONG_MARK
    "\"}",
    400, "invalid_request", "po_number" },
  { AS_ADMIN_B, "POST", "/v1/orgs/%s/subscription",
    "{\"plan\": \"business\", \"cycle\": \"monthly\", \"seat\": 10}", 400, "invalid_request" },
  { AS_ADMIN_B, "POST", "/v1/orgs/%s/subscription",
    "{\"plan\": \"enterprise\", \"cycle\": \"monthly\", \"seats\": 10}", 0 },
  { AS_ADMIN_B, "POST", "/v1/orgs/%s/subscription", "[]", 400, "malformed_json" },
  /* cancel and resume */
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/cancel", "{\"reason\": \"bored\"}", 400,
    "invalid_request", "reason" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/cancel", "{\"reason\": 5}", 400,
    "invalid_request", "reason" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/cancel", "{\"comment\": \"why not\"}", 400,
    "invalid_request", "reason" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/cancel",
    "{\"reason\": \"other\", \"comment\": \"" LONG_MARK "\"}", 400, "invalid_request", "comment" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/cancel",
    "{\"reason\": \"other\", \"at_period_end\": \"no\"}", 400, "invalid_request", "at_period_end" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/resume", "[]", 400, "malformed_json" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/subscription/resume", "{\"now\": true}", 400 },
  /* the organization */
  { AS_ADMIN_A, "PATCH", "/v1/orgs/%s", "{\"name\": \"" LONG_MARK "\"}", 400, "invalid_request",
    "name" },
  { AS_ADMIN_A, "PATCH", "/v1/orgs/%s", "{\"name\": \"\"}", 400, "invalid_request", "name" },
  { AS_ADMIN_A, "PATCH", "/v1/orgs/%s", "{\"name\": 42}", 400, "invalid_request", "name" },
  { AS_ADMIN_A, "PATCH", "/v1/orgs/%s", "{\"country\": \"USA\"}", 400, "invalid_request",
    "country" },
  { AS_ADMIN_A, "PATCH", "/v1/orgs/%s", "{\"country\": 1}", 400, "invalid_request", "country" },
  { AS_ADMIN_A, "PATCH", "/v1/orgs/%s", "{\"code\": \"NEW\"}", 400, "invalid_request", "code" },
  { AS_ADMIN_A, "PATCH", "/v1/orgs/%s", "{\"region\": \"WA\"}", 400, "invalid_request" },
  { AS_ADMIN_A, "PATCH", "/v1/orgs/%s", "{\"billing_email\": \"nope\"}", 400, "invalid_request",
    "billing_email" },
  { AS_ADMIN_A, "PATCH", "/v1/orgs/%s", "{\"tax_exempt\": \"yes\"}", 400, "invalid_request",
    "tax_exempt" },
  { AS_ADMIN_A, "PATCH", "/v1/orgs/%s", "{\"name\": \"Renamed\", \"country\": \"XXX\"}", 400,
    "invalid_request", "country" },
  /* departments and employees */
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/departments", "{\"name\": \"" LONG_MARK "\"}", 400,
    "invalid_request", "name" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/departments", "{\"name\": 5}", 400, "invalid_request",
    "name" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/departments", "{}", 400, "invalid_request", "name" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/departments", "{\"name\": \"Ops\", \"parent_id\": \"dep_no\"}",
    404 },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/departments", "{\"name\": \"Ops\", \"seat_allocation\": 3}",
    400, "invalid_request", "seat_allocation" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/departments", "{\"name\": \"engineering\"}", 409 },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/employees", "{\"email\": \"not-an-email\", \"name\": \"X\"}",
    0 },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/employees",
    "{\"email\": \"x@acme.test\", \"name\": \"" LONG_MARK "\"}", 400, "invalid_request", "name" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/employees",
    "{\"email\": \"" LONG_MARK "@acme.test\", \"name\": \"X\"}", 400, "invalid_request", "email" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/employees", "{\"name\": \"No Email\"}", 400, "invalid_request",
    "email" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/employees",
    "{\"email\": \"x@acme.test\", \"name\": \"X\", \"department_id\": \"dep_nope\"}", 0 },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/employees",
    "{\"email\": \"x@acme.test\", \"name\": \"X\", \"salary\": 1}", 400, "invalid_request",
    "salary" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/employees",
    "{\"email\": \"lin@acme.test\", \"name\": \"Lin Again\"}", 0 },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/licenses/assign", "{\"employee_ids\": \"emp_x\"}", 400,
    "invalid_request", "employee_ids" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/licenses/assign", "{\"employee_ids\": []}", 400,
    "invalid_request", "employee_ids" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/licenses/assign", "{\"employee_ids\": [1]}", 400,
    "invalid_request", "employee_ids" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/licenses/assign", "{\"employee_ids\": [\"" LONG_MARK "\"]}",
    400, "invalid_request", "employee_ids" },
  { AS_ADMIN_A, "POST", "/v1/orgs/%s/licenses/revoke", "{\"employee_ids\": null}", 400,
    "invalid_request", "employee_ids" },
  /* sign-in */
  { AS_NOBODY, "POST", "/v1/auth/login", "{\"email\": \"" LONG_MARK "\", \"password\": \"x\"}", 400,
    "invalid_request", "email" },
  { AS_NOBODY, "POST", "/v1/auth/login", "{\"email\": 5, \"password\": \"x\"}", 400,
    "invalid_request", "email" },
  { AS_NOBODY, "POST", "/v1/auth/login",
    "{\"email\": \"admin@acme.test\", \"password\": \"" LONG_MARK "\"}", 400, "invalid_request",
    "password" },
  { AS_NOBODY, "POST", "/v1/auth/login", "[]", 400, "malformed_json" },
  { AS_NOBODY, "POST", "/v1/auth/login", "", 400, "malformed_json" },
  /* provisioning */
  { AS_OPERATOR, "POST", "/v1/orgs",
    "{\"name\": \"" LONG_MARK "\", \"code\": \"ZZZ\", \"admin\": {\"email\": \"z@z.test\", "
    "\"name\": \"Z\", \"password\": \"long-enough-password\"}}",
    400, "invalid_request", "name" },
  { AS_OPERATOR, "POST", "/v1/orgs",
    "{\"name\": \"Z\", \"code\": \"!!\", \"admin\": {\"email\": \"z@z.test\", \"name\": \"Z\", "
    "\"password\": \"long-enough-password\"}}",
    400, "invalid_request", "code" },
  { AS_OPERATOR, "POST", "/v1/orgs",
    "{\"name\": \"Z\", \"code\": \"ZZ\", \"admin\": {\"email\": \"z@z.test\", \"name\": \"Z\", "
    "\"password\": \"short\"}}",
    400, "invalid_request" },
  { AS_OPERATOR, "POST", "/v1/orgs", "{\"name\": \"Z\", \"code\": \"ZZ\"}", 400, "invalid_request",
    "admin" },
  { AS_OPERATOR, "POST", "/v1/orgs", "{\"name\": \"Z\", \"code\": \"ZZ\", \"admin\": \"me\"}", 400,
    "invalid_request", "admin" },
  { AS_OPERATOR, "POST", "/v1/orgs",
    "{\"name\": \"Z\", \"code\": \"ACME\", \"admin\": {\"email\": \"z@z.test\", \"name\": \"Z\", "
    "\"password\": \"long-enough-password\"}}",
    409 },
  { AS_OPERATOR, "POST", "/v1/orgs",
    "{\"name\": \"Z\", \"code\": \"ZZ\", \"admin\": {\"email\": \"admin@acme.test\", "
    "\"name\": \"Z\", \"password\": \"long-enough-password\"}}",
    409 },
  /* the test clock */
  { AS_OPERATOR, "POST", "/v1/test-clock", "{\"now\": \"yesterday\"}", 400, "invalid_request",
    "now" },
  { AS_OPERATOR, "POST", "/v1/test-clock", "{\"now\": 12345}", 400, "invalid_request", "now" },
  { AS_OPERATOR, "POST", "/v1/test-clock", "{\"now\": \"2020-01-01T00:00:00Z\"}", 400,
    "invalid_request", "now" },
  { AS_OPERATOR, "POST", "/v1/test-clock", "{}", 400, "invalid_request", "now" },
  /* queries */
  { AS_ADMIN_A, "GET", "/v1/orgs/%s/invoices?limit=0", NULL, 400, "invalid_request", "limit" },
  { AS_ADMIN_A, "GET", "/v1/orgs/%s/invoices?limit=abc", NULL, 400, "invalid_request", "limit" },
  { AS_ADMIN_A, "GET", "/v1/orgs/%s/invoices?limit=1000000", NULL, 400, "invalid_request",
    "limit" },
  { AS_ADMIN_A, "GET", "/v1/orgs/%s/invoices?status=bogus", NULL, 400, "invalid_request",
    "status" },
  { AS_ADMIN_A, "GET", "/v1/orgs/%s/events?after=-1", NULL, 400, "invalid_request", "after" },
  { AS_ADMIN_A, "GET", "/v1/orgs/%s/events?limit=0", NULL, 400, "invalid_request", "limit" },
  { AS_ADMIN_A, "GET", "/v1/orgs/%s/employees?limit=0", NULL, 400, "invalid_request", "limit" },
  { AS_ADMIN_A, "GET", "/v1/orgs/%s/invoices/inv_nope", NULL, 404, "not_found" },
};

static char *
expand (const char *text, const char *org)
{
  g_autofree char *long_text = g_strnfill (10000, 'x');
  GString *s;

  if (text == NULL)
    return NULL;
  s = g_string_new (text);
  g_string_replace (s, LONG_MARK, long_text, 0);
  if (org != NULL && strstr (s->str, "%s") != NULL)
    g_string_replace (s, "%s", org, 1);
  return g_string_free (s, FALSE);
}

static void
test_bodies (Fixture *f, gconstpointer data)
{
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const Case *c = &cases[i];
      const char *org = c->who == AS_ADMIN_B ? f->orgs.org_b : f->orgs.org_a;
      const char *token = c->who == AS_ADMIN_A    ? f->orgs.token_a
                          : c->who == AS_ADMIN_B  ? f->orgs.token_b
                          : c->who == AS_OPERATOR ? HARNESS_OPERATOR_TOKEN
                                                  : NULL;
      g_autofree char *path = expand (c->path, org);
      g_autofree char *body = expand (c->body, NULL);
      g_autoptr (JsonNode) answer = NULL;
      guint status = 0;

      g_autofree char *shown
          = g_utf8_make_valid (body ? body : "", MIN (body ? strlen (body) : 0, 200));

      g_test_message ("case %u: %s %s %s", i, c->method, path, shown);
      answer = harness_request_full (f->orgs.h, c->method, path, token,
                                     body ? "application/json" : NULL, body,
                                     body ? strlen (body) : 0, NULL, &status, NULL);
      if (c->status == 0)
        {
          g_assert_cmpuint (status, >=, 400);
          g_assert_cmpuint (status, <, 500);
          assert_error (answer, status, status, c->code);
        }
      else
        assert_error (answer, status, c->status, c->code);
      if (c->field != NULL)
        g_assert_cmpstr (harness_get_str (answer, "error.field"), ==, c->field);
    }
  assert_unchanged_and_alive (f);
}

/* Something after the object makes the body malformed, even when the object alone would
 * be a fine request. */
static void
test_trailing_garbage (Fixture *f, gconstpointer data)
{
  const char *bodies[] = {
    "{\"seats\": 15} {}",
    "{\"seats\": 15}}",
    "{\"seats\": 15} x",
    "{\"seats\": 15}, 1",
    "{\"seats\": 15}{\"seats\": 20}",
  };
  g_autofree char *change = test_path ("/v1/orgs/%s/subscription/change", f->orgs.org_a);
  g_autofree char *preview = test_path ("/v1/orgs/%s/subscription/preview", f->orgs.org_a);

  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      g_autoptr (JsonNode) p = NULL;
      g_autoptr (JsonNode) c = NULL;
      guint status = 0;

      g_test_message ("body %s", bodies[i]);
      p = harness_request (f->orgs.h, "POST", preview, f->orgs.token_a, bodies[i], &status);
      assert_error (p, status, 400, "malformed_json");
      c = harness_request (f->orgs.h, "POST", change, f->orgs.token_a, bodies[i], &status);
      assert_error (c, status, 400, "malformed_json");
    }
  assert_unchanged_and_alive (f);
}

/* A body with NUL bytes inside. */
static void
test_nul_bytes (Fixture *f, gconstpointer data)
{
  static const char body[] = "{\"seats\": 1\0005}";
  g_autofree char *path = test_path ("/v1/orgs/%s/subscription/change", f->orgs.org_a);
  g_autoptr (JsonNode) answer = NULL;
  guint status = 0;

  answer = harness_request_full (f->orgs.h, "POST", path, f->orgs.token_a, "application/json", body,
                                 sizeof body - 1, NULL, &status, NULL);
  assert_error (answer, status, 400, NULL);
  assert_unchanged_and_alive (f);
}

/* Failing part-way through a bulk request leaves no part of it behind. */
static void
test_atomic (Fixture *f, gconstpointer data)
{
  g_autofree char *assign = test_path ("/v1/orgs/%s/licenses/assign", f->orgs.org_a);
  g_autofree char *revoke = test_path ("/v1/orgs/%s/licenses/revoke", f->orgs.org_a);
  g_autofree char *void_path
      = test_path ("/v1/orgs/%s/invoices/%s/void", f->orgs.org_a, f->invoice);
  g_autofree char *assign_body
      = g_strdup_printf ("{\"employee_ids\": [\"%s\", \"emp_nope\"]}", f->other);
  g_autofree char *revoke_body
      = g_strdup_printf ("{\"employee_ids\": [\"%s\", \"emp_nope\"]}", f->licensed);
  g_autofree char *dup_body
      = g_strdup_printf ("{\"employee_ids\": [\"%s\", \"%s\"]}", f->other, f->other);
  g_autofree char *long_reason = expand ("{\"reason\": \"" LONG_MARK "\"}", NULL);
  g_autoptr (JsonNode) a = NULL;
  g_autoptr (JsonNode) r = NULL;
  g_autoptr (JsonNode) d = NULL;
  g_autoptr (JsonNode) v = NULL;
  guint status = 0;

  a = harness_request (f->orgs.h, "POST", assign, f->orgs.token_a, assign_body, &status);
  assert_error (a, status, 404, "not_found");
  r = harness_request (f->orgs.h, "POST", revoke, f->orgs.token_a, revoke_body, &status);
  assert_error (r, status, 404, "not_found");
  d = harness_request (f->orgs.h, "POST", assign, f->orgs.token_a, dup_body, &status);
  g_assert_cmpuint (status, >=, 400);
  g_assert_cmpuint (status, <, 500);
  assert_error (d, status, status, NULL);
  v = harness_request (f->orgs.h, "POST", void_path, f->orgs.token_a, long_reason, &status);
  assert_error (v, status, 400, "invalid_request");
  assert_unchanged_and_alive (f);
}

/* ── routes and methods ────────────────────────────────────────────────────────── */

static void
test_routes (Fixture *f, gconstpointer data)
{
  const char *unknown[] = {
    "/v1/nope",
    "/",
    "/v2/orgs",
    "/v1/orgs/%s/subscriptionz",
    "/v1/orgs/%s/invoices/x/y/z",
    "/v1//me",
    "/v1/me/",
    "/v1/orgs/%s/subscription/upgrade",
    "/.env",
    "/v1/%2e%2e/etc/passwd",
  };
  const char *wrong[][3] = {
    /* method, path, allowed method */
    { "DELETE", "/v1/orgs/%s/subscription", "GET" },
    { "PUT", "/v1/auth/login", "POST" },
    { "GET", "/v1/auth/login", "POST" },
    { "PATCH", "/healthz", "GET" },
    { "POST", "/v1/orgs/%s/invoices", "GET" },
    { "DELETE", "/v1/orgs/%s", "PATCH" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (unknown); i++)
    {
      g_autofree char *path = expand (unknown[i], f->orgs.org_a);
      g_autoptr (JsonNode) get = NULL;
      g_autoptr (JsonNode) post = NULL;
      guint status = 0;

      g_test_message ("unknown route %s", path);
      get = harness_request (f->orgs.h, "GET", path, f->orgs.token_a, NULL, &status);
      assert_error (get, status, 404, "route_not_found");
      post = harness_request (f->orgs.h, "POST", path, f->orgs.token_a, "{}", &status);
      assert_error (post, status, 404, "route_not_found");
    }

  for (guint i = 0; i < G_N_ELEMENTS (wrong); i++)
    {
      g_autofree char *path = expand (wrong[i][1], f->orgs.org_a);
      g_autoptr (SoupMessageHeaders) headers = NULL;
      g_autoptr (JsonNode) answer = NULL;
      const char *allow;
      guint status = 0;

      g_test_message ("%s %s", wrong[i][0], path);
      answer = harness_request_full (f->orgs.h, wrong[i][0], path, f->orgs.token_a,
                                     "application/json", "{}", 2, NULL, &status, &headers);
      assert_error (answer, status, 405, "method_not_allowed");
      allow = soup_message_headers_get_one (headers, "Allow");
      g_assert_nonnull (allow);
      g_assert_nonnull (strstr (allow, wrong[i][2]));
    }
  assert_unchanged_and_alive (f);
}

/* A JSON body without a Content-Type is still read. */
static void
test_no_content_type (Fixture *f, gconstpointer data)
{
  g_autofree char *path = test_path ("/v1/orgs/%s/subscription/preview", f->orgs.org_a);
  const char *body = "{\"seats\": 15}";
  g_autoptr (JsonNode) answer = NULL;
  guint status = 0;

  answer = harness_request_full (f->orgs.h, "POST", path, f->orgs.token_a, NULL, body,
                                 strlen (body), NULL, &status, NULL);
  assert_status (answer, status, 200);
  g_assert_cmpint (harness_get_int (answer, "amount_due_now.amount"), ==, 9823);
  assert_unchanged_and_alive (f);
}

/* Nesting deep enough to blow a recursive parser's stack, well within the body limit. */
static void
test_deep_nesting (Fixture *f, gconstpointer data)
{
  g_autofree char *path = test_path ("/v1/orgs/%s/subscription/change", f->orgs.org_a);
  const guint depth = 400000;
  g_autoptr (GString) arrays = g_string_sized_new (2 * depth + 16);
  const guint object_depth = 100000;
  g_autoptr (GString) objects = g_string_sized_new (6 * object_depth + 32);
  g_autoptr (JsonNode) a = NULL;
  g_autoptr (JsonNode) o = NULL;
  guint status = 0;

  for (guint i = 0; i < depth; i++)
    g_string_append_c (arrays, '[');
  for (guint i = 0; i < depth; i++)
    g_string_append_c (arrays, ']');
  a = harness_request (f->orgs.h, "POST", path, f->orgs.token_a, arrays->str, &status);
  assert_error (a, status, 400, "malformed_json");

  g_string_append (objects, "{\"seats\": 12, \"x\": ");
  for (guint i = 0; i < object_depth; i++)
    g_string_append (objects, "{\"a\":");
  g_string_append (objects, "1");
  for (guint i = 0; i < object_depth; i++)
    g_string_append_c (objects, '}');
  g_string_append_c (objects, '}');
  o = harness_request (f->orgs.h, "POST", path, f->orgs.token_a, objects->str, &status);
  g_assert_cmpuint (status, ==, 400);
  assert_error (o, status, 400, NULL);
  assert_unchanged_and_alive (f);
}

/* ── oversized bodies ──────────────────────────────────────────────────────────── */

#define OVERSIZED (2 * 1024 * 1024)

typedef struct
{
  guint status;
  char *body;
} RawAnswer;

static void
raw_answer_clear (RawAnswer *answer)
{
  g_free (answer->body);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (RawAnswer, raw_answer_clear)

static GSocketConnection *
raw_connect (Fixture *f)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GError) error = NULL;
  const char *authority = harness_url (f->orgs.h) + strlen ("http://");
  GSocketConnection *connection;

  g_socket_client_set_timeout (client, 30);
  g_socket_client_set_enable_proxy (client, FALSE);
  connection = g_socket_client_connect_to_host (client, authority, 80, NULL, &error);
  g_assert_no_error (error);
  return connection;
}

/* Writes what it can: the server may answer and close before the whole body is sent. */
static gboolean
raw_write (GSocketConnection *connection, const char *data, gsize length)
{
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));

  return g_output_stream_write_all (out, data, length, NULL, NULL, NULL);
}

/* Reads one answer: status line, headers, a Content-Length body. */
static void
raw_read (GSocketConnection *connection, RawAnswer *answer)
{
  g_autoptr (GDataInputStream) in = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *status_line = NULL;
  gsize length = 0;
  gsize got = 0;

  in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (in), FALSE);
  g_data_input_stream_set_newline_type (in, G_DATA_STREAM_NEWLINE_TYPE_CR_LF);
  status_line = g_data_input_stream_read_line (in, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (status_line);
  g_test_message ("raw answer: %s", status_line);
  g_assert_true (g_str_has_prefix (status_line, "HTTP/1.1 "));
  answer->status = (guint) g_ascii_strtoull (status_line + 9, NULL, 10);
  for (;;)
    {
      g_autofree char *line = g_data_input_stream_read_line (in, NULL, NULL, &error);

      g_assert_no_error (error);
      g_assert_nonnull (line);
      if (*line == '\0')
        break;
      if (g_ascii_strncasecmp (line, "Content-Length:", 15) == 0)
        length = g_ascii_strtoull (line + 15, NULL, 10);
    }
  g_assert_cmpuint (length, >, 0);
  g_assert_cmpuint (length, <, 65536);
  answer->body = g_malloc0 (length + 1);
  g_input_stream_read_all (G_INPUT_STREAM (in), answer->body, length, &got, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (got, ==, length);
}

static void
assert_too_large (RawAnswer *raw)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;

  g_assert_cmpuint (raw->status, ==, 413);
  json_parser_load_from_data (parser, raw->body, -1, &error);
  g_assert_no_error (error);
  assert_error (json_parser_get_root (parser), raw->status, 413, "body_too_large");
}

static void
test_oversized (Fixture *f, gconstpointer data)
{
  g_autofree char *path = test_path ("/v1/orgs/%s/subscription/change", f->orgs.org_a);
  g_autofree char *filler = g_strnfill (OVERSIZED, ' ');
  g_autofree char *big = g_strdup_printf ("{\"seats\": 12, \"po\": \"%s\"}", filler);

  /* 1. A declared length over the limit: refused before the body is sent. */
  {
    g_autoptr (GSocketConnection) connection = raw_connect (f);
    g_autofree char *head = g_strdup_printf ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                             "Authorization: Bearer %s\r\n"
                                             "Content-Type: application/json\r\n"
                                             "Content-Length: %d\r\n\r\n",
                                             path, f->orgs.token_a, OVERSIZED);
    g_auto (RawAnswer) answer = { 0 };

    g_assert_true (raw_write (connection, head, strlen (head)));
    raw_read (connection, &answer);
    assert_too_large (&answer);
  }

  /* 2. The same through libsoup, which waits for "100 Continue" before sending it. */
  {
    const char *const headers[] = { "Expect", "100-continue", NULL };
    g_autoptr (JsonNode) answer = NULL;
    guint status = 0;

    answer = harness_request_full (f->orgs.h, "POST", path, f->orgs.token_a, "application/json",
                                   big, strlen (big), headers, &status, NULL);
    assert_error (answer, status, 413, "body_too_large");
  }

  /* 3. A chunked body with no declared length, sent in full: refused once it crosses the
   *    limit. */
  {
    g_autoptr (GSocketConnection) connection = raw_connect (f);
    g_autofree char *head = g_strdup_printf ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                             "Authorization: Bearer %s\r\n"
                                             "Content-Type: application/json\r\n"
                                             "Transfer-Encoding: chunked\r\n\r\n",
                                             path, f->orgs.token_a);
    g_auto (RawAnswer) answer = { 0 };
    gsize chunk = 64 * 1024;
    gboolean sent;

    sent = raw_write (connection, head, strlen (head));
    for (gsize at = 0; sent && at < strlen (big); at += chunk)
      {
        gsize n = MIN (chunk, strlen (big) - at);
        g_autofree char *size = g_strdup_printf ("%" G_GSIZE_MODIFIER "x\r\n", n);

        sent = raw_write (connection, size, strlen (size)) && raw_write (connection, big + at, n)
               && raw_write (connection, "\r\n", 2);
      }
    if (sent)
      raw_write (connection, "0\r\n\r\n", 5);
    raw_read (connection, &answer);
    assert_too_large (&answer);
  }

  /* 4. Just under the limit is read, and refused for what it says, not for its size. */
  {
    g_autofree char *fits_filler = g_strnfill (1000 * 1000, ' ');
    g_autofree char *fits = g_strdup_printf ("{\"seats\": 12, \"po\": \"%s\"}", fits_filler);
    g_autoptr (JsonNode) answer = NULL;
    guint status = 0;

    answer = harness_request (f->orgs.h, "POST", path, f->orgs.token_a, fits, &status);
    assert_error (answer, status, 400, "invalid_request");
  }

  assert_unchanged_and_alive (f);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func)                                                             \
  g_test_add ("/purser/server/bad-input/" name, Fixture, NULL, fixture_setup, func, \
              fixture_teardown)

  ADD ("bodies", test_bodies);
  ADD ("nul-bytes", test_nul_bytes);
  ADD ("atomic", test_atomic);
  ADD ("routes", test_routes);
  ADD ("no-content-type", test_no_content_type);
  ADD ("oversized", test_oversized);
  ADD ("trailing-garbage", test_trailing_garbage);
  ADD ("deep-nesting", test_deep_nesting);

#undef ADD

  return g_test_run ();
}
