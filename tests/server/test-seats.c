/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "purserd-harness.h"
#include "purserd-test-util.h"

/* Department seat allocations and license assignment end to end, on the test clock: an
 * allocation caps the licenses of a top-level department and its teams and is reserved out
 * of the purchased seats; the departments without one and the people in no department
 * share the pool the allocations leave. Every way of adding licenses or moving licensed
 * people (assigning, moving an employee, moving a team, the CSV import) and every way of
 * shrinking what there is (allocations, the subscription's seats) keeps to that, and a
 * refused request changes nothing. */

#define NOW "2026-03-01T09:00:00Z"

/* ── fixture: ACME on Business monthly with 10 seats ───────────────────────────────
 *
 *   Engineering   eng1 eng2 eng3
 *     Platform    plat1 plat2      (a team of Engineering)
 *   Sales         sales1 sales2 sales3
 *   Ops           ops1 ops2 ops3   (never given an allocation here)
 *   (none)        nobody
 */

typedef struct
{
  PurserdHarness *h;
  char *org;
  char *token;
  char *eng, *platform, *sales, *ops;
  char *eng_people[3];
  char *plat_people[2];
  char *sales_people[3];
  char *ops_people[3];
  char *nobody;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autofree char *sub_path = NULL;
  g_autoptr (JsonNode) created = NULL;

  f->h = harness_start (data, NULL);
  harness_create_org (f->h, "Acme Corp", "ACME", &f->org, &f->token);

  sub_path = test_path ("/v1/orgs/%s/subscription", f->org);
  created = call_ok (f->h, "POST", sub_path, f->token,
                     "{\"plan\": \"business\", \"cycle\": \"monthly\", \"seats\": 10, "
                     "\"billing_day\": 1}",
                     201);
  g_assert_cmpint (harness_get_int (created, "subscription.seats"), ==, 10);

  f->eng = test_create_department (f->h, f->org, f->token, "Engineering", NULL);
  f->platform = test_create_department (f->h, f->org, f->token, "Platform", f->eng);
  f->sales = test_create_department (f->h, f->org, f->token, "Sales", NULL);
  f->ops = test_create_department (f->h, f->org, f->token, "Ops", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (f->eng_people); i++)
    {
      g_autofree char *email = g_strdup_printf ("eng%u@acme.test", i + 1);
      g_autofree char *name = g_strdup_printf ("Engineer %u", i + 1);

      f->eng_people[i] = test_create_employee (f->h, f->org, f->token, email, name, f->eng);
    }
  for (guint i = 0; i < G_N_ELEMENTS (f->plat_people); i++)
    {
      g_autofree char *email = g_strdup_printf ("plat%u@acme.test", i + 1);
      g_autofree char *name = g_strdup_printf ("Platformer %u", i + 1);

      f->plat_people[i] = test_create_employee (f->h, f->org, f->token, email, name, f->platform);
    }
  for (guint i = 0; i < G_N_ELEMENTS (f->sales_people); i++)
    {
      g_autofree char *email = g_strdup_printf ("sales%u@acme.test", i + 1);
      g_autofree char *name = g_strdup_printf ("Seller %u", i + 1);

      f->sales_people[i] = test_create_employee (f->h, f->org, f->token, email, name, f->sales);
    }
  for (guint i = 0; i < G_N_ELEMENTS (f->ops_people); i++)
    {
      g_autofree char *email = g_strdup_printf ("ops%u@acme.test", i + 1);
      g_autofree char *name = g_strdup_printf ("Operator %u", i + 1);

      f->ops_people[i] = test_create_employee (f->h, f->org, f->token, email, name, f->ops);
    }
  f->nobody = test_create_employee (f->h, f->org, f->token, "nobody@acme.test", "No Body", NULL);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  harness_stop (f->h);
  g_free (f->org);
  g_free (f->token);
  g_free (f->eng);
  g_free (f->platform);
  g_free (f->sales);
  g_free (f->ops);
  for (guint i = 0; i < G_N_ELEMENTS (f->eng_people); i++)
    g_free (f->eng_people[i]);
  for (guint i = 0; i < G_N_ELEMENTS (f->plat_people); i++)
    g_free (f->plat_people[i]);
  for (guint i = 0; i < G_N_ELEMENTS (f->sales_people); i++)
    g_free (f->sales_people[i]);
  for (guint i = 0; i < G_N_ELEMENTS (f->ops_people); i++)
    g_free (f->ops_people[i]);
  g_free (f->nobody);
}

/* ── helpers ───────────────────────────────────────────────────────────────────── */

static JsonNode *
org_request (Fixture *f, const char *method, const char *what, const char *body, guint *status)
{
  g_autofree char *path = test_path ("/v1/orgs/%s/%s", f->org, what);

  return harness_request (f->h, method, path, f->token, body, status);
}

static JsonNode *
org_get (Fixture *f, const char *what)
{
  g_autofree char *path = test_path ("/v1/orgs/%s/%s", f->org, what);

  return call_ok (f->h, "GET", path, f->token, NULL, 200);
}

static JsonNode *
get_seats (Fixture *f)
{
  return org_get (f, "seats");
}

static gint64
last_seq (Fixture *f)
{
  g_autoptr (JsonNode) answer = org_get (f, "events?after=0&limit=1");

  return harness_get_int (answer, "last_seq");
}

/* PUT …/seat-allocation with `seats` as JSON text ("4" or "null"). */
static JsonNode *
put_allocation (Fixture *f, const char *department_id, const char *seats, guint *status)
{
  g_autofree char *what = g_strdup_printf ("departments/%s/seat-allocation", department_id);
  g_autofree char *body = g_strdup_printf ("{\"seats\": %s}", seats);

  return org_request (f, "PUT", what, body, status);
}

/* Allocates `seats` (or removes the allocation when seats < 0); asserts 200 and the
 * department JSON the answer carries. */
static void
allocate (Fixture *f, const char *department_id, gint64 seats)
{
  g_autofree char *text
      = seats < 0 ? g_strdup ("null") : g_strdup_printf ("%" G_GINT64_FORMAT, seats);
  g_autoptr (JsonNode) answer = NULL;
  JsonNode *dept, *allocation;
  guint status = 0;

  answer = put_allocation (f, department_id, text, &status);
  assert_status (answer, status, 200);
  dept = test_resource (answer, "department");
  g_assert_cmpstr (harness_get_str (dept, "id"), ==, department_id);
  allocation = harness_get (dept, "seat_allocation");
  if (seats < 0)
    g_assert_true (JSON_NODE_HOLDS_NULL (allocation));
  else
    g_assert_cmpint (harness_get_int (dept, "seat_allocation"), ==, seats);
}

/* Refuses to allocate `seats` with 409 and `code`. */
static void
allocate_refused (Fixture *f, const char *department_id, const char *seats, guint expected_status,
                  const char *code)
{
  g_autoptr (JsonNode) answer = NULL;
  guint status = 0;

  answer = put_allocation (f, department_id, seats, &status);
  assert_error (answer, status, expected_status, code);
}

static char *
ids_body (const char *const *ids)
{
  GString *body = g_string_new ("{\"employee_ids\": [");

  for (guint i = 0; ids[i] != NULL; i++)
    g_string_append_printf (body, "%s\"%s\"", i ? ", " : "", ids[i]);
  g_string_append (body, "]}");
  return g_string_free (body, FALSE);
}

/* POST …/licenses/assign for the NULL-terminated ids. */
static JsonNode *
assign (Fixture *f, const char *const *ids, guint *status)
{
  g_autofree char *body = ids_body (ids);

  return org_request (f, "POST", "licenses/assign", body, status);
}

static void
assign_ok (Fixture *f, const char *const *ids)
{
  test_assign (f->h, f->org, f->token, ids);
}

/* PATCH …/employees/{id} {"department_id": …} (NULL: no department). */
static JsonNode *
move_employee (Fixture *f, const char *employee_id, const char *department_id, guint *status)
{
  g_autofree char *what = g_strdup_printf ("employees/%s", employee_id);
  g_autofree char *body = department_id != NULL
                              ? g_strdup_printf ("{\"department_id\": \"%s\"}", department_id)
                              : g_strdup ("{\"department_id\": null}");

  return org_request (f, "PATCH", what, body, status);
}

static JsonNode *
get_employee (Fixture *f, const char *employee_id)
{
  g_autofree char *what = g_strdup_printf ("employees/%s", employee_id);
  g_autoptr (JsonNode) answer = org_get (f, what);

  return json_node_copy (test_resource (answer, "employee"));
}

/* The employee's department_id, or NULL. */
static char *
department_of (Fixture *f, const char *employee_id)
{
  g_autoptr (JsonNode) employee = get_employee (f, employee_id);
  JsonNode *node = harness_get (employee, "department_id");

  return JSON_NODE_HOLDS_NULL (node) ? NULL : g_strdup (json_node_get_string (node));
}

/* The move answers 200 and the employee is there afterwards. */
static void
move_employee_ok (Fixture *f, const char *employee_id, const char *department_id)
{
  g_autoptr (JsonNode) answer = NULL;
  g_autofree char *now_in = NULL;
  guint status = 0;

  answer = move_employee (f, employee_id, department_id, &status);
  assert_status (answer, status, 200);
  now_in = department_of (f, employee_id);
  g_assert_cmpstr (now_in, ==, department_id);
}

static JsonNode *
import_csv (Fixture *f, const char *csv, gboolean dry_run, guint *status)
{
  g_autofree char *path
      = test_path ("/v1/orgs/%s/employees/import%s", f->org, dry_run ? "?dry_run=true" : "");

  return harness_request_full (f->h, "POST", path, f->token, "text/csv", csv, strlen (csv), NULL,
                               status, NULL);
}

/* The entry of by_department for a department, or NULL. */
static JsonNode *
seats_entry (JsonNode *seats, const char *department_id)
{
  JsonArray *list = json_node_get_array (harness_get (seats, "by_department"));

  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonNode *entry = json_array_get_element (list, i);
      JsonNode *id = harness_get (entry, "department_id");

      if (!JSON_NODE_HOLDS_NULL (id) && g_strcmp0 (json_node_get_string (id), department_id) == 0)
        return entry;
    }
  return NULL;
}

/* A department's line in GET …/seats: allocated (-1: null, and available null too),
 * assigned and available = allocated − assigned. */
#define assert_department_seats(seats, department_id, allocated, assigned)                     \
  G_STMT_START                                                                                 \
  {                                                                                            \
    JsonNode *entry_ = seats_entry ((seats), (department_id));                                 \
                                                                                               \
    g_assert_nonnull (entry_);                                                                 \
    g_assert_cmpint (harness_get_int (entry_, "assigned"), ==, (assigned));                    \
    if ((allocated) < 0)                                                                       \
      {                                                                                        \
        g_assert_true (JSON_NODE_HOLDS_NULL (harness_get (entry_, "allocated")));              \
        g_assert_true (JSON_NODE_HOLDS_NULL (harness_get (entry_, "available")));              \
      }                                                                                        \
    else                                                                                       \
      {                                                                                        \
        g_assert_cmpint (harness_get_int (entry_, "allocated"), ==, (allocated));              \
        g_assert_cmpint (harness_get_int (entry_, "available"), ==, (allocated) - (assigned)); \
      }                                                                                        \
  }                                                                                            \
  G_STMT_END

/* Totals of GET …/seats. */
#define assert_totals(seats, purchased, assigned, allocated)                                \
  G_STMT_START                                                                              \
  {                                                                                         \
    g_assert_cmpint (harness_get_int ((seats), "purchased"), ==, (purchased));              \
    g_assert_cmpint (harness_get_int ((seats), "assigned"), ==, (assigned));                \
    g_assert_cmpint (harness_get_int ((seats), "available"), ==, (purchased) - (assigned)); \
    g_assert_cmpint (harness_get_int ((seats), "allocated"), ==, (allocated));              \
  }                                                                                         \
  G_STMT_END

/* What a refused request must leave as it was: the seats, every employee, every
 * department and the event feed. */
typedef struct
{
  JsonNode *seats;
  JsonNode *departments;
  JsonArray *employees;
  gint64 seq;
} Snapshot;

static void
snapshot_take (Fixture *f, Snapshot *s)
{
  g_autofree char *employees_path = test_path ("/v1/orgs/%s/employees", f->org);

  s->seats = get_seats (f);
  s->departments = org_get (f, "departments");
  s->employees = test_list_all (f->h, employees_path, f->token);
  s->seq = last_seq (f);
}

static void
snapshot_clear (Snapshot *s)
{
  g_clear_pointer (&s->seats, json_node_unref);
  g_clear_pointer (&s->departments, json_node_unref);
  g_clear_pointer (&s->employees, json_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Snapshot, snapshot_clear)

static void
assert_same_json (const char *what, JsonNode *before, JsonNode *after)
{
  if (!json_node_equal (before, after))
    {
      g_autofree char *x = test_describe (before);
      g_autofree char *y = test_describe (after);

      g_test_message ("%s before: %s\n%s after: %s", what, x, what, y);
      g_assert_true (json_node_equal (before, after));
    }
}

static void
assert_unchanged (Fixture *f, const Snapshot *before)
{
  g_auto (Snapshot) after = { 0 };
  g_autoptr (JsonNode) employees_before = json_node_new (JSON_NODE_ARRAY);
  g_autoptr (JsonNode) employees_after = json_node_new (JSON_NODE_ARRAY);

  snapshot_take (f, &after);
  json_node_set_array (employees_before, before->employees);
  json_node_set_array (employees_after, after.employees);
  g_assert_cmpint (after.seq, ==, before->seq);
  assert_same_json ("seats", before->seats, after.seats);
  assert_same_json ("departments", before->departments, after.departments);
  assert_same_json ("employees", employees_before, employees_after);
}

/* ── PUT …/departments/{id}/seat-allocation ────────────────────────────────────── */

/* Seats are allocated to top-level departments only. */
static void
test_allocation_team (Fixture *f, gconstpointer data)
{
  g_auto (Snapshot) before = { 0 };

  snapshot_take (f, &before);
  allocate_refused (f, f->platform, "2", 422, "not_a_department");
  assert_unchanged (f, &before);

  /* Its department can be. */
  allocate (f, f->eng, 2);
}

/* Without a subscription there are no seats to allocate: another organization on the same
 * server, with a department and no subscription. */
static void
test_allocation_no_subscription (Fixture *f, gconstpointer data)
{
  g_autofree char *other_org = NULL;
  g_autofree char *other_token = NULL;
  g_autofree char *other_dept = NULL;
  g_autofree char *path = NULL;
  g_autofree char *list_path = NULL;
  g_autoptr (JsonNode) answer = NULL;
  g_autoptr (JsonNode) list = NULL;
  guint status = 0;

  harness_create_org (f->h, "Globex", "GLBX", &other_org, &other_token);
  other_dept = test_create_department (f->h, other_org, other_token, "Engineering", NULL);
  path = test_path ("/v1/orgs/%s/departments/%s/seat-allocation", other_org, other_dept);
  answer = harness_request (f->h, "PUT", path, other_token, "{\"seats\": 1}", &status);
  assert_error (answer, status, 409, "no_subscription");

  list_path = test_path ("/v1/orgs/%s/departments", other_org);
  list = call_ok (f->h, "GET", list_path, other_token, NULL, 200);
  g_assert_cmpuint (test_array_length (list, "data"), ==, 1);
  g_assert_true (JSON_NODE_HOLDS_NULL (harness_get (list, "data.0.seat_allocation")));

  /* ACME, subscribed, can. */
  allocate (f, f->eng, 1);
}

/* A successful allocation answers the department, GET …/seats shows it, and null removes
 * it. Team members count toward their department. */
static void
test_allocation_set_and_remove (Fixture *f, gconstpointer data)
{
  const char *ids[] = { f->eng_people[0], f->plat_people[0], f->ops_people[0], NULL };
  g_autoptr (JsonNode) seats = NULL;
  g_autoptr (JsonNode) departments = NULL;
  gint64 seq;

  seats = get_seats (f);
  assert_totals (seats, 10, 0, 0);
  assert_department_seats (seats, f->eng, -1, 0);
  assert_department_seats (seats, f->sales, -1, 0);
  /* Teams are counted in their department, not listed on their own. */
  g_assert_null (seats_entry (seats, f->platform));
  g_clear_pointer (&seats, json_node_unref);

  assign_ok (f, ids);
  seq = last_seq (f);
  allocate (f, f->eng, 4);
  g_assert_cmpint (last_seq (f), >, seq);

  seats = get_seats (f);
  assert_totals (seats, 10, 3, 4);
  assert_department_seats (seats, f->eng, 4, 2);
  assert_department_seats (seats, f->sales, -1, 0);
  assert_department_seats (seats, f->ops, -1, 1);
  g_clear_pointer (&seats, json_node_unref);

  allocate (f, f->sales, 3);
  seats = get_seats (f);
  assert_totals (seats, 10, 3, 7);
  assert_department_seats (seats, f->eng, 4, 2);
  assert_department_seats (seats, f->sales, 3, 0);
  g_clear_pointer (&seats, json_node_unref);

  /* GET …/departments shows them too. */
  departments = org_get (f, "departments");
  for (guint i = 0; i < test_array_length (departments, "data"); i++)
    {
      g_autofree char *id_path = g_strdup_printf ("data.%u.id", i);
      g_autofree char *allocation_path = g_strdup_printf ("data.%u.seat_allocation", i);
      const char *id = harness_get_str (departments, id_path);

      if (g_strcmp0 (id, f->eng) == 0)
        g_assert_cmpint (harness_get_int (departments, allocation_path), ==, 4);
      else if (g_strcmp0 (id, f->sales) == 0)
        g_assert_cmpint (harness_get_int (departments, allocation_path), ==, 3);
      else
        g_assert_true (JSON_NODE_HOLDS_NULL (harness_get (departments, allocation_path)));
    }

  /* Changing one replaces it. */
  allocate (f, f->eng, 5);
  seats = get_seats (f);
  assert_totals (seats, 10, 3, 8);
  assert_department_seats (seats, f->eng, 5, 2);
  g_clear_pointer (&seats, json_node_unref);

  /* {"seats": null} removes it. */
  allocate (f, f->sales, -1);
  seats = get_seats (f);
  assert_totals (seats, 10, 3, 5);
  assert_department_seats (seats, f->eng, 5, 2);
  assert_department_seats (seats, f->sales, -1, 0);
  g_clear_pointer (&seats, json_node_unref);

  allocate (f, f->eng, -1);
  seats = get_seats (f);
  assert_totals (seats, 10, 3, 0);
  assert_department_seats (seats, f->eng, -1, 2);
}

/* Not below the licenses assigned in the department and its teams. */
static void
test_allocation_below_assigned (Fixture *f, gconstpointer data)
{
  const char *ids[] = { f->eng_people[0], f->eng_people[1], f->plat_people[0], NULL };
  g_auto (Snapshot) before = { 0 };
  g_autoptr (JsonNode) seats = NULL;

  assign_ok (f, ids);
  snapshot_take (f, &before);
  /* Two in Engineering itself, one in its team Platform: 2 is too few. */
  allocate_refused (f, f->eng, "2", 409, "allocation_below_assigned");
  allocate_refused (f, f->eng, "0", 409, "allocation_below_assigned");
  assert_unchanged (f, &before);

  allocate (f, f->eng, 3);
  seats = get_seats (f);
  assert_department_seats (seats, f->eng, 3, 3);
  g_clear_pointer (&seats, json_node_unref);

  /* Lowering an existing allocation below its licenses is refused the same way. */
  snapshot_clear (&before);
  snapshot_take (f, &before);
  allocate_refused (f, f->eng, "2", 409, "allocation_below_assigned");
  assert_unchanged (f, &before);
}

/* The allocations together fit in the purchased seats. */
static void
test_allocation_exceeds_seats (Fixture *f, gconstpointer data)
{
  g_auto (Snapshot) before = { 0 };
  g_autoptr (JsonNode) seats = NULL;

  snapshot_take (f, &before);
  allocate_refused (f, f->eng, "11", 409, "allocation_exceeds_seats");
  assert_unchanged (f, &before);

  allocate (f, f->eng, 6);
  snapshot_clear (&before);
  snapshot_take (f, &before);
  /* 6 + 5 > 10. */
  allocate_refused (f, f->sales, "5", 409, "allocation_exceeds_seats");
  assert_unchanged (f, &before);

  allocate (f, f->sales, 4);
  seats = get_seats (f);
  assert_totals (seats, 10, 0, 10);
  assert_department_seats (seats, f->eng, 6, 0);
  assert_department_seats (seats, f->sales, 4, 0);

  /* A department's own allocation is replaced, not added: Engineering may stay at 6 but
   * not grow to 7 beside Sales's 4. */
  snapshot_clear (&before);
  snapshot_take (f, &before);
  allocate_refused (f, f->eng, "7", 409, "allocation_exceeds_seats");
  allocate_refused (f, f->ops, "1", 409, "allocation_exceeds_seats");
  assert_unchanged (f, &before);
  allocate (f, f->eng, 6);
}

/* The licenses already held in departments without an allocation, and by people in no
 * department, must still fit in what the allocations leave. */
static void
test_allocation_exceeds_pool (Fixture *f, gconstpointer data)
{
  /* Three in Ops (no allocation) and one in no department: the pool holds 4. */
  const char *ids[] = { f->ops_people[0], f->ops_people[1], f->ops_people[2], f->nobody, NULL };
  g_auto (Snapshot) before = { 0 };
  g_autoptr (JsonNode) seats = NULL;

  assign_ok (f, ids);
  snapshot_take (f, &before);
  /* 10 − 7 = 3 seats would be left for the 4 pool licenses. */
  allocate_refused (f, f->eng, "7", 409, "allocation_exceeds_seats");
  assert_unchanged (f, &before);

  /* 10 − 6 = 4: exactly enough. */
  allocate (f, f->eng, 6);
  seats = get_seats (f);
  assert_totals (seats, 10, 4, 6);
  assert_department_seats (seats, f->eng, 6, 0);
  assert_department_seats (seats, f->ops, -1, 3);

  /* Another allocation, however small, would squeeze the pool. */
  snapshot_clear (&before);
  snapshot_take (f, &before);
  allocate_refused (f, f->sales, "1", 409, "allocation_exceeds_seats");
  assert_unchanged (f, &before);
}

/* ── POST …/licenses/assign ────────────────────────────────────────────────────── */

/* Never more licenses than free seats. */
static void
test_assign_not_enough_seats (Fixture *f, gconstpointer data)
{
  const char *eleven[]
      = { f->eng_people[0],  f->eng_people[1],   f->eng_people[2],   f->plat_people[0],
          f->plat_people[1], f->sales_people[0], f->sales_people[1], f->sales_people[2],
          f->ops_people[0],  f->ops_people[1],   f->ops_people[2],   NULL };
  const char *eight[] = { f->eng_people[0],   f->eng_people[1],   f->eng_people[2],
                          f->plat_people[0],  f->plat_people[1],  f->sales_people[0],
                          f->sales_people[1], f->sales_people[2], NULL };
  const char *three[] = { f->ops_people[0], f->ops_people[1], f->ops_people[2], NULL };
  const char *two[] = { f->ops_people[0], f->ops_people[1], NULL };
  g_auto (Snapshot) before = { 0 };
  g_autoptr (JsonNode) answer = NULL;
  g_autoptr (JsonNode) seats = NULL;
  guint status = 0;

  snapshot_take (f, &before);
  answer = assign (f, eleven, &status);
  assert_error (answer, status, 409, "not_enough_seats");
  assert_unchanged (f, &before);
  g_clear_pointer (&answer, json_node_unref);

  assign_ok (f, eight);
  snapshot_clear (&before);
  snapshot_take (f, &before);
  answer = assign (f, three, &status);
  assert_error (answer, status, 409, "not_enough_seats");
  assert_unchanged (f, &before);
  g_clear_pointer (&answer, json_node_unref);

  assign_ok (f, two);
  seats = get_seats (f);
  assert_totals (seats, 10, 10, 0);
}

/* An allocated department takes no more licenses than its allocation, its teams' members
 * included; a refused assign licenses nobody, not even the ones that would fit. */
static void
test_assign_department_allocation (Fixture *f, gconstpointer data)
{
  const char *engineers[] = { f->eng_people[0], f->eng_people[1], NULL };
  const char *team[] = { f->plat_people[0], f->plat_people[1], NULL };
  const char *mixed[] = { f->sales_people[0], f->plat_people[0], f->plat_people[1], NULL };
  const char *one[] = { f->plat_people[0], NULL };
  const char *last[] = { f->eng_people[2], NULL };
  g_auto (Snapshot) before = { 0 };
  g_autoptr (JsonNode) answer = NULL;
  g_autoptr (JsonNode) seats = NULL;
  g_autoptr (JsonNode) seller = NULL;
  guint status = 0;

  allocate (f, f->eng, 3);
  assign_ok (f, engineers);

  snapshot_take (f, &before);
  /* 2 + 2 > 3: Platform's members count toward Engineering. */
  answer = assign (f, team, &status);
  assert_error (answer, status, 409, "department_allocation_exceeded");
  g_clear_pointer (&answer, json_node_unref);
  answer = assign (f, mixed, &status);
  assert_error (answer, status, 409, "department_allocation_exceeded");
  assert_unchanged (f, &before);
  seller = get_employee (f, f->sales_people[0]);
  g_assert_false (harness_get_bool (seller, "licensed"));
  g_clear_pointer (&answer, json_node_unref);

  assign_ok (f, one);
  seats = get_seats (f);
  assert_totals (seats, 10, 3, 3);
  assert_department_seats (seats, f->eng, 3, 3);

  snapshot_clear (&before);
  snapshot_take (f, &before);
  answer = assign (f, last, &status);
  assert_error (answer, status, 409, "department_allocation_exceeded");
  assert_unchanged (f, &before);
}

/* Departments without an allocation and people in no department share what the
 * allocations leave, even while other seats are free. */
static void
test_assign_pool (Fixture *f, gconstpointer data)
{
  const char *pool[] = { f->ops_people[0], f->nobody, NULL };
  const char *ops[] = { f->ops_people[1], NULL };
  const char *engineer[] = { f->eng_people[0], NULL };
  g_auto (Snapshot) before = { 0 };
  g_autoptr (JsonNode) answer = NULL;
  g_autoptr (JsonNode) seats = NULL;
  guint status = 0;

  allocate (f, f->eng, 5);
  allocate (f, f->sales, 3);
  /* The pool: 10 − 8 = 2. */
  assign_ok (f, pool);

  snapshot_take (f, &before);
  answer = assign (f, ops, &status);
  assert_error (answer, status, 409, "not_enough_seats");
  assert_unchanged (f, &before);

  /* The allocated departments still have theirs. */
  assign_ok (f, engineer);
  seats = get_seats (f);
  assert_totals (seats, 10, 3, 8);
  assert_department_seats (seats, f->eng, 5, 1);
  assert_department_seats (seats, f->sales, 3, 0);
  assert_department_seats (seats, f->ops, -1, 1);
}

/* ── PATCH …/employees/{id} ────────────────────────────────────────────────────── */

/* A licensed employee moves into a full allocated department (or one of its teams) only
 * once it has room; unlicensed people move freely. */
static void
test_move_employee_into_full_department (Fixture *f, gconstpointer data)
{
  const char *ids[]
      = { f->eng_people[0], f->eng_people[1], f->sales_people[0], f->ops_people[0], NULL };
  g_auto (Snapshot) before = { 0 };
  g_autoptr (JsonNode) answer = NULL;
  g_autoptr (JsonNode) seats = NULL;
  g_autofree char *moved = NULL;
  guint status = 0;

  allocate (f, f->eng, 2);
  allocate (f, f->sales, 3);
  assign_ok (f, ids);

  snapshot_take (f, &before);
  answer = move_employee (f, f->sales_people[0], f->eng, &status);
  assert_error (answer, status, 409, "department_allocation_exceeded");
  g_clear_pointer (&answer, json_node_unref);
  answer = move_employee (f, f->sales_people[0], f->platform, &status);
  assert_error (answer, status, 409, "department_allocation_exceeded");
  g_clear_pointer (&answer, json_node_unref);
  /* From the pool too. */
  answer = move_employee (f, f->ops_people[0], f->platform, &status);
  assert_error (answer, status, 409, "department_allocation_exceeded");
  g_clear_pointer (&answer, json_node_unref);
  assert_unchanged (f, &before);

  /* Unlicensed people move freely. */
  move_employee_ok (f, f->sales_people[1], f->eng);
  move_employee_ok (f, f->sales_people[2], f->platform);
  move_employee_ok (f, f->ops_people[1], f->eng);
  moved = department_of (f, f->sales_people[2]);
  g_assert_cmpstr (moved, ==, f->platform);
  seats = get_seats (f);
  assert_totals (seats, 10, 4, 5);
  assert_department_seats (seats, f->eng, 2, 2);
  assert_department_seats (seats, f->sales, 3, 1);
  g_clear_pointer (&seats, json_node_unref);

  /* With room, the licensed move too. */
  allocate (f, f->eng, 3);
  move_employee_ok (f, f->sales_people[0], f->platform);
  seats = get_seats (f);
  assert_totals (seats, 10, 4, 6);
  assert_department_seats (seats, f->eng, 3, 3);
  assert_department_seats (seats, f->sales, 3, 0);
}

/* A licensed employee leaving an allocated department for the pool needs a seat in the
 * pool. */
static void
test_move_employee_into_full_pool (Fixture *f, gconstpointer data)
{
  const char *ids[] = { f->eng_people[0], f->ops_people[0], f->ops_people[1], NULL };
  g_auto (Snapshot) before = { 0 };
  g_autoptr (JsonNode) answer = NULL;
  g_autoptr (JsonNode) seats = NULL;
  g_autofree char *moved = NULL;
  g_autofree char *nowhere = NULL;
  guint status = 0;

  /* The pool: 10 − 8 = 2, both held in Ops. */
  allocate (f, f->eng, 8);
  assign_ok (f, ids);

  snapshot_take (f, &before);
  answer = move_employee (f, f->eng_people[0], f->ops, &status);
  assert_error (answer, status, 409, "not_enough_seats");
  g_clear_pointer (&answer, json_node_unref);
  answer = move_employee (f, f->eng_people[0], f->sales, &status);
  assert_error (answer, status, 409, "not_enough_seats");
  g_clear_pointer (&answer, json_node_unref);
  answer = move_employee (f, f->eng_people[0], NULL, &status);
  assert_error (answer, status, 409, "not_enough_seats");
  g_clear_pointer (&answer, json_node_unref);
  assert_unchanged (f, &before);

  /* Unlicensed people move freely. */
  move_employee_ok (f, f->eng_people[1], f->ops);
  move_employee_ok (f, f->eng_people[2], NULL);
  nowhere = department_of (f, f->eng_people[2]);
  g_assert_null (nowhere);
  seats = get_seats (f);
  assert_totals (seats, 10, 3, 8);
  assert_department_seats (seats, f->eng, 8, 1);
  assert_department_seats (seats, f->ops, -1, 2);
  g_clear_pointer (&seats, json_node_unref);

  /* With room in the pool, the licensed move too. */
  allocate (f, f->eng, 7);
  move_employee_ok (f, f->eng_people[0], f->ops);
  moved = department_of (f, f->eng_people[0]);
  g_assert_cmpstr (moved, ==, f->ops);
  seats = get_seats (f);
  assert_totals (seats, 10, 3, 7);
  assert_department_seats (seats, f->eng, 7, 0);
  assert_department_seats (seats, f->ops, -1, 3);
}

/* ── PATCH …/departments/{id} ──────────────────────────────────────────────────── */

/* A team brings its licensed people along. */
static void
test_move_team_into_full_department (Fixture *f, gconstpointer data)
{
  const char *ids[]
      = { f->eng_people[0], f->plat_people[0], f->sales_people[0], f->sales_people[1], NULL };
  g_autofree char *what = g_strdup_printf ("departments/%s", f->platform);
  g_autofree char *body = g_strdup_printf ("{\"parent_id\": \"%s\"}", f->sales);
  g_auto (Snapshot) before = { 0 };
  g_autoptr (JsonNode) answer = NULL;
  g_autoptr (JsonNode) seats = NULL;
  guint status = 0;

  allocate (f, f->eng, 3);
  allocate (f, f->sales, 2);
  assign_ok (f, ids);

  snapshot_take (f, &before);
  answer = org_request (f, "PATCH", what, body, &status);
  assert_error (answer, status, 409, "department_allocation_exceeded");
  g_clear_pointer (&answer, json_node_unref);
  assert_unchanged (f, &before);

  allocate (f, f->sales, 3);
  answer = org_request (f, "PATCH", what, body, &status);
  assert_status (answer, status, 200);
  g_assert_cmpstr (harness_get_str (test_resource (answer, "department"), "parent_id"), ==,
                   f->sales);
  seats = get_seats (f);
  assert_totals (seats, 10, 4, 6);
  assert_department_seats (seats, f->eng, 3, 1);
  assert_department_seats (seats, f->sales, 3, 3);
}

/* ── POST …/employees/import ───────────────────────────────────────────────────── */

/* The import moves licensed people like PATCH does: a dry run says so, and the real one
 * writes nothing, not even its other rows. */
static void
test_import_into_full_department (Fixture *f, gconstpointer data)
{
  const char *ids[] = { f->eng_people[0], f->eng_people[1], f->sales_people[0], NULL };
  const char *into_department = "email,name,department,team\r\n"
                                "new@acme.test,New Person,Ops,\r\n"
                                "sales1@acme.test,Seller 1,Engineering,\r\n";
  const char *into_team = "email,name,department,team\r\n"
                          "sales1@acme.test,Seller 1,Engineering,Platform\r\n";
  g_auto (Snapshot) before = { 0 };
  g_autoptr (JsonNode) answer = NULL;
  g_autoptr (JsonNode) seats = NULL;
  g_autofree char *moved = NULL;
  guint status = 0;

  allocate (f, f->eng, 2);
  assign_ok (f, ids);

  snapshot_take (f, &before);
  answer = import_csv (f, into_department, TRUE, &status);
  assert_error (answer, status, 409, "department_allocation_exceeded");
  g_clear_pointer (&answer, json_node_unref);
  answer = import_csv (f, into_team, TRUE, &status);
  assert_error (answer, status, 409, "department_allocation_exceeded");
  g_clear_pointer (&answer, json_node_unref);
  assert_unchanged (f, &before);

  answer = import_csv (f, into_department, FALSE, &status);
  assert_error (answer, status, 409, "department_allocation_exceeded");
  g_clear_pointer (&answer, json_node_unref);
  answer = import_csv (f, into_team, FALSE, &status);
  assert_error (answer, status, 409, "department_allocation_exceeded");
  g_clear_pointer (&answer, json_node_unref);
  assert_unchanged (f, &before);

  /* With room: the dry run plans the move and still changes nothing, the import makes it. */
  allocate (f, f->eng, 3);
  snapshot_clear (&before);
  snapshot_take (f, &before);
  answer = import_csv (f, into_team, TRUE, &status);
  assert_status (answer, status, 200);
  g_assert_true (harness_get_bool (answer, "dry_run"));
  g_assert_cmpint (harness_get_int (answer, "summary.update"), ==, 1);
  g_clear_pointer (&answer, json_node_unref);
  assert_unchanged (f, &before);

  answer = import_csv (f, into_team, FALSE, &status);
  assert_status (answer, status, 200);
  g_assert_false (harness_get_bool (answer, "dry_run"));
  moved = department_of (f, f->sales_people[0]);
  g_assert_cmpstr (moved, ==, f->platform);
  seats = get_seats (f);
  assert_department_seats (seats, f->eng, 3, 3);
  assert_department_seats (seats, f->sales, -1, 0);
}

/* ── POST …/subscription/change ────────────────────────────────────────────────── */

/* The seats cannot drop below what is allocated to departments. */
static void
test_subscription_below_allocated (Fixture *f, gconstpointer data)
{
  const char *ids[] = { f->eng_people[0], f->sales_people[0], NULL };
  g_auto (Snapshot) before = { 0 };
  g_autoptr (JsonNode) answer = NULL;
  g_autoptr (JsonNode) sub = NULL;
  guint status = 0;

  allocate (f, f->eng, 4);
  allocate (f, f->sales, 3);
  assign_ok (f, ids);
  harness_set_clock (f->h, "2026-03-10T09:00:00Z");

  /* 6 seats: above the 2 licenses, below the 7 allocated. */
  snapshot_take (f, &before);
  answer = org_request (f, "POST", "subscription/change", "{\"seats\": 6}", &status);
  assert_error (answer, status, 409, "seats_below_allocated");
  g_clear_pointer (&answer, json_node_unref);
  assert_unchanged (f, &before);
  sub = org_get (f, "subscription");
  g_assert_cmpint (harness_get_int (sub, "subscription.seats"), ==, 10);
  g_clear_pointer (&sub, json_node_unref);

  answer = org_request (f, "POST", "subscription/change", "{\"seats\": 7}", &status);
  assert_status (answer, status, 200);
}

/* Nor below the licenses assigned. */
static void
test_subscription_below_assigned (Fixture *f, gconstpointer data)
{
  /* Two in Engineering (allocated 2), four in the pool: 6 licenses, 2 allocated. */
  const char *ids[] = { f->eng_people[0],
                        f->eng_people[1],
                        f->ops_people[0],
                        f->ops_people[1],
                        f->ops_people[2],
                        f->nobody,
                        NULL };
  g_auto (Snapshot) before = { 0 };
  g_autoptr (JsonNode) answer = NULL;
  g_autoptr (JsonNode) sub = NULL;
  guint status = 0;

  allocate (f, f->eng, 2);
  assign_ok (f, ids);
  harness_set_clock (f->h, "2026-03-10T09:00:00Z");

  /* 5 seats: above the 2 allocated, below the 6 licenses. */
  snapshot_take (f, &before);
  answer = org_request (f, "POST", "subscription/change", "{\"seats\": 5}", &status);
  assert_error (answer, status, 409, "seats_below_assigned");
  g_clear_pointer (&answer, json_node_unref);
  assert_unchanged (f, &before);
  sub = org_get (f, "subscription");
  g_assert_cmpint (harness_get_int (sub, "subscription.seats"), ==, 10);
  g_clear_pointer (&sub, json_node_unref);

  answer = org_request (f, "POST", "subscription/change", "{\"seats\": 6}", &status);
  assert_status (answer, status, 200);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) \
  g_test_add ("/purser/server/seats/" name, Fixture, NOW, fixture_setup, func, fixture_teardown)

  ADD ("allocation/team", test_allocation_team);
  ADD ("allocation/no-subscription", test_allocation_no_subscription);
  ADD ("allocation/set-and-remove", test_allocation_set_and_remove);
  ADD ("allocation/below-assigned", test_allocation_below_assigned);
  ADD ("allocation/exceeds-seats", test_allocation_exceeds_seats);
  ADD ("allocation/exceeds-pool", test_allocation_exceeds_pool);
  ADD ("assign/not-enough-seats", test_assign_not_enough_seats);
  ADD ("assign/department-allocation", test_assign_department_allocation);
  ADD ("assign/pool", test_assign_pool);
  ADD ("move-employee/into-full-department", test_move_employee_into_full_department);
  ADD ("move-employee/into-full-pool", test_move_employee_into_full_pool);
  ADD ("move-team/into-full-department", test_move_team_into_full_department);
  ADD ("import/into-full-department", test_import_into_full_department);
  ADD ("subscription/below-allocated", test_subscription_below_allocated);
  ADD ("subscription/below-assigned", test_subscription_below_assigned);

#undef ADD

  return g_test_run ();
}
