/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "purserd-harness.h"
#include "purserd-test-util.h"

/* The subscription through the API, on the test clock: PRODUCT.md's worked examples come
 * out exact, the preview is what the change bills, the billing clock runs what fell due
 * exactly once, and cancellation, plan changes, settings, tax, voiding and the event feed
 * behave as the spec says. */

/* ── fixture: a fresh server on the test clock and one organization (ACME) ───────── */

typedef struct
{
  PurserdHarness *h;
  char *org;
  char *token;
} Org;

static void
org_setup (Org *f, gconstpointer data)
{
  f->h = harness_start (data, NULL);
  harness_create_org (f->h, "Acme Corp", "ACME", &f->org, &f->token);
}

static void
org_teardown (Org *f, gconstpointer data)
{
  harness_stop (f->h);
  g_free (f->org);
  g_free (f->token);
}

/* ── helpers ───────────────────────────────────────────────────────────────────── */

static JsonNode *
subscribe (Org *f, const char *cycle, gint64 seats, int billing_day)
{
  g_autofree char *path = test_path ("/v1/orgs/%s/subscription", f->org);
  g_autofree char *body = g_strdup_printf ("{\"plan\": \"business\", \"cycle\": \"%s\", "
                                           "\"seats\": %" G_GINT64_FORMAT ", \"billing_day\": %d}",
                                           cycle, seats, billing_day);

  return call_ok (f->h, "POST", path, f->token, body, 201);
}

static JsonNode *
org_post (Org *f, const char *what, const char *body, guint expected)
{
  g_autofree char *path = test_path ("/v1/orgs/%s/%s", f->org, what);

  return call_ok (f->h, "POST", path, f->token, body, expected);
}

static JsonNode *
org_get (Org *f, const char *what)
{
  g_autofree char *path = test_path ("/v1/orgs/%s/%s", f->org, what);

  return call_ok (f->h, "GET", path, f->token, NULL, 200);
}

static JsonNode *
get_subscription (Org *f)
{
  return org_get (f, "subscription");
}

static int
compare_numbers (gconstpointer a, gconstpointer b)
{
  JsonNode *x = *(JsonNode *const *) a;
  JsonNode *y = *(JsonNode *const *) b;

  return g_strcmp0 (harness_get_str (x, "number"), harness_get_str (y, "number"));
}

static GPtrArray *
invoices_by_number (Org *f)
{
  g_autofree char *path = test_path ("/v1/orgs/%s/invoices", f->org);
  g_autoptr (JsonArray) all = test_list_all (f->h, path, f->token);
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);

  for (guint i = 0; i < json_array_get_length (all); i++)
    g_ptr_array_add (list, json_node_copy (json_array_get_element (all, i)));
  g_ptr_array_sort (list, compare_numbers);
  return list;
}

static JsonNode *
invoice_full (Org *f, const char *id)
{
  g_autofree char *what = g_strdup_printf ("invoices/%s", id);
  g_autoptr (JsonNode) answer = org_get (f, what);

  return json_node_copy (harness_get (answer, "invoice"));
}

static gint64
last_seq (Org *f)
{
  g_autoptr (JsonNode) answer = org_get (f, "events?after=0&limit=1");

  return harness_get_int (answer, "last_seq");
}

/* An invoice's lines add up to its total, and its subtotal and tax to it too. */
static void
assert_invoice_adds_up (JsonNode *invoice)
{
  g_assert_cmpint (test_lines_sum (invoice, "lines"), ==,
                   harness_get_int (invoice, "total.amount"));
  g_assert_cmpint (harness_get_int (invoice, "subtotal.amount")
                       + harness_get_int (invoice, "tax.amount"),
                   ==, harness_get_int (invoice, "total.amount"));
  g_assert_cmpstr (harness_get_str (invoice, "currency"), ==, "usd");
}

/* The members a preview and a change share are the same. */
static void
assert_same_quote (JsonNode *preview, JsonNode *change)
{
  const char *members[] = { "lines", "amount_due_now", "effective", "next_invoice" };

  for (guint i = 0; i < G_N_ELEMENTS (members); i++)
    {
      JsonNode *a = harness_get (preview, members[i]);
      JsonNode *b = harness_get (change, members[i]);

      if (!json_node_equal (a, b))
        {
          g_autofree char *x = test_describe (a);
          g_autofree char *y = test_describe (b);

          g_test_message ("preview %s: %s\nchange %s: %s", members[i], x, members[i], y);
          g_assert_true (json_node_equal (a, b));
        }
    }
}

/* Preview then change with `body`: both answer 200 with the same quote. Returns the
 * change's answer. */
static JsonNode *
preview_and_change (Org *f, const char *body)
{
  g_autoptr (JsonNode) before = get_subscription (f);
  g_autoptr (JsonNode) preview = org_post (f, "subscription/preview", body, 200);
  g_autoptr (JsonNode) unchanged = get_subscription (f);
  JsonNode *change;

  /* A preview changes nothing. */
  g_assert_true (json_node_equal (before, unchanged));
  change = org_post (f, "subscription/change", body, 200);
  assert_same_quote (preview, change);
  return change;
}

static void
assert_period (JsonNode *root, const char *path, const char *start, const char *end)
{
  g_autofree char *start_path = g_strdup_printf ("%s.start", path);
  g_autofree char *end_path = g_strdup_printf ("%s.end", path);

  g_assert_cmpstr (harness_get_str (root, start_path), ==, start);
  g_assert_cmpstr (harness_get_str (root, end_path), ==, end);
}

/* ── creation ──────────────────────────────────────────────────────────────────── */

static void
test_create (Org *f, gconstpointer data)
{
  g_autoptr (JsonNode) created = subscribe (f, "monthly", 10, 1);
  g_autoptr (JsonNode) fetched = get_subscription (f);
  g_autoptr (JsonNode) again = NULL;
  g_autofree char *sub_path = test_path ("/v1/orgs/%s/subscription", f->org);
  JsonNode *invoice = harness_get (created, "invoice");
  guint status = 0;

  g_assert_true (g_str_has_prefix (harness_get_str (created, "subscription.id"), "sub_"));
  g_assert_cmpstr (harness_get_str (created, "subscription.org_id"), ==, f->org);
  g_assert_cmpstr (harness_get_str (created, "subscription.status"), ==, "active");
  g_assert_cmpstr (harness_get_str (created, "subscription.plan"), ==, "business");
  g_assert_cmpstr (harness_get_str (created, "subscription.cycle"), ==, "monthly");
  g_assert_cmpint (harness_get_int (created, "subscription.seats"), ==, 10);
  g_assert_cmpint (harness_get_int (created, "subscription.billing_day"), ==, 1);
  assert_period (created, "subscription.current_period", "2026-03-01", "2026-04-01");
  assert_money (created, "subscription.unit_price", 2900);
  g_assert_false (harness_get_bool (created, "subscription.cancel_at_period_end"));
  g_assert_true (harness_get_bool (created, "subscription.auto_renew"));
  g_assert_cmpstr (harness_get_str (created, "subscription.next_invoice.date"), ==, "2026-04-01");
  assert_money (created, "subscription.next_invoice.total", 29000);

  /* The first invoice: ten seats for March, in advance. */
  g_assert_true (g_str_has_prefix (harness_get_str (invoice, "id"), "inv_"));
  g_assert_cmpstr (harness_get_str (invoice, "number"), ==, "ACME-2026-0001");
  g_assert_cmpstr (harness_get_str (invoice, "status"), ==, "open");
  assert_money (invoice, "total", 29000);
  assert_money (invoice, "tax", 0);
  assert_money (invoice, "amount_due", 29000);
  assert_period (invoice, "period", "2026-03-01", "2026-04-01");
  g_assert_cmpstr (harness_get_str (invoice, "lines.0.kind"), ==, "seats");
  g_assert_cmpint (harness_get_int (invoice, "lines.0.quantity"), ==, 10);
  assert_money (invoice, "lines.0.unit_amount", 2900);
  assert_money (invoice, "lines.0.amount", 29000);
  assert_invoice_adds_up (invoice);

  /* GET shows what POST answered. */
  g_assert_true (json_node_equal (harness_get (created, "subscription"),
                                  harness_get (fetched, "subscription")));

  /* One subscription at a time. */
  again
      = harness_request (f->h, "POST", sub_path, f->token,
                         "{\"plan\": \"business\", \"cycle\": \"monthly\", \"seats\": 3}", &status);
  assert_error (again, status, 409, "subscription_exists");
}

/* ── PRODUCT.md's worked examples ──────────────────────────────────────────────── */

/* Business monthly, cycle 2026-03-01→04-01 (31 d): +5 seats on 03-11 → $98.23; −2 seats on
 * 03-20 → a credit of $22.45 taken off the next invoice. */
static void
test_proration_monthly (Org *f, gconstpointer data)
{
  g_autoptr (JsonNode) created = subscribe (f, "monthly", 10, 1);
  g_autoptr (JsonNode) up = NULL;
  g_autoptr (JsonNode) down = NULL;
  g_autoptr (JsonNode) sub = NULL;
  g_autoptr (GPtrArray) list = NULL;
  g_autoptr (JsonNode) cycle_invoice = NULL;
  JsonNode *line, *credit;

  harness_set_clock (f->h, "2026-03-11T10:00:00Z");
  up = preview_and_change (f, "{\"seats\": 15}");
  g_assert_cmpstr (harness_get_str (up, "effective"), ==, "now");
  line = test_line_of_kind (up, "lines", "proration");
  g_assert_nonnull (line);
  g_assert_nonnull (harness_get_str (line, "description"));
  g_assert_cmpstr (harness_get_str (line, "description"), !=, "");
  g_assert_cmpint (harness_get_int (line, "quantity"), ==, 5);
  assert_money (line, "unit_amount", 2900);
  assert_money (line, "amount", 9823);
  assert_period (line, "period", "2026-03-11", "2026-04-01");
  g_assert_cmpint (test_lines_sum (up, "lines"), ==, 9823);
  assert_money (up, "amount_due_now", 9823);
  g_assert_cmpstr (harness_get_str (up, "next_invoice.date"), ==, "2026-04-01");
  assert_money (up, "next_invoice.total", 15 * 2900);
  /* Charged at once on an invoice of its own. */
  assert_money (up, "invoice.total", 9823);
  g_assert_cmpstr (harness_get_str (up, "invoice.number"), ==, "ACME-2026-0002");
  g_assert_cmpstr (harness_get_str (up, "invoice.status"), ==, "open");
  assert_period (up, "invoice.period", "2026-03-11", "2026-04-01");
  assert_invoice_adds_up (harness_get (up, "invoice"));
  g_assert_cmpint (harness_get_int (up, "subscription.seats"), ==, 15);

  harness_set_clock (f->h, "2026-03-20T10:00:00Z");
  down = preview_and_change (f, "{\"seats\": 13}");
  g_assert_cmpstr (harness_get_str (down, "effective"), ==, "now");
  credit = test_line_of_kind (down, "lines", "credit");
  g_assert_nonnull (credit);
  g_assert_cmpint (harness_get_int (credit, "quantity"), ==, -2);
  assert_money (credit, "amount", -2245);
  assert_period (credit, "period", "2026-03-20", "2026-04-01");
  assert_money (down, "amount_due_now", 0);
  /* No cash refund: the credit waits for the next invoice. */
  g_assert_true (JSON_NODE_HOLDS_NULL (harness_get (down, "invoice")));
  g_assert_cmpstr (harness_get_str (down, "next_invoice.date"), ==, "2026-04-01");
  assert_money (down, "next_invoice.total", 13 * 2900 - 2245);
  sub = get_subscription (f);
  g_assert_cmpint (harness_get_int (sub, "subscription.seats"), ==, 13);
  assert_money (sub, "subscription.credit_balance", 2245);
  assert_money (sub, "subscription.next_invoice.total", 13 * 2900 - 2245);

  /* April's invoice is what next_invoice said. */
  harness_set_clock (f->h, "2026-04-01T06:00:00Z");
  list = invoices_by_number (f);
  g_assert_cmpuint (list->len, ==, 3);
  g_assert_cmpstr (harness_get_str (g_ptr_array_index (list, 2), "number"), ==, "ACME-2026-0003");
  cycle_invoice = invoice_full (f, harness_get_str (g_ptr_array_index (list, 2), "id"));
  g_assert_cmpstr (harness_get_str (cycle_invoice, "issued_on"), ==, "2026-04-01");
  assert_period (cycle_invoice, "period", "2026-04-01", "2026-05-01");
  assert_money (cycle_invoice, "total", 13 * 2900 - 2245);
  assert_money (cycle_invoice, "credit_applied", 2245);
  credit = test_line_of_kind (cycle_invoice, "lines", "credit");
  g_assert_nonnull (credit);
  assert_money (credit, "amount", -2245);
  line = test_line_of_kind (cycle_invoice, "lines", "seats");
  g_assert_nonnull (line);
  g_assert_cmpint (harness_get_int (line, "quantity"), ==, 13);
  assert_money (line, "amount", 13 * 2900);
  assert_invoice_adds_up (cycle_invoice);
  g_clear_pointer (&sub, json_node_unref);
  sub = get_subscription (f);
  assert_money (sub, "subscription.credit_balance", 0);
  assert_period (sub, "subscription.current_period", "2026-04-01", "2026-05-01");
}

/* Business annual, cycle 2026-01-15→2027-01-15 (365 d), +3 seats on 07-01 → $509.70. */
static void
test_proration_annual (Org *f, gconstpointer data)
{
  g_autoptr (JsonNode) created = subscribe (f, "annual", 20, 15);
  g_autoptr (JsonNode) change = NULL;
  JsonNode *line;

  assert_period (created, "subscription.current_period", "2026-01-15", "2027-01-15");
  assert_money (created, "subscription.unit_price", 31320);
  assert_money (created, "invoice.total", 20 * 31320);

  harness_set_clock (f->h, "2026-07-01T12:00:00Z");
  change = preview_and_change (f, "{\"seats\": 23}");
  line = test_line_of_kind (change, "lines", "proration");
  g_assert_nonnull (line);
  g_assert_cmpint (harness_get_int (line, "quantity"), ==, 3);
  assert_money (line, "unit_amount", 31320);
  assert_money (line, "amount", 50970);
  assert_period (line, "period", "2026-07-01", "2027-01-15");
  assert_money (change, "amount_due_now", 50970);
  assert_money (change, "invoice.total", 50970);
  g_assert_cmpstr (harness_get_str (change, "next_invoice.date"), ==, "2027-01-15");
  assert_money (change, "next_invoice.total", 23 * 31320);
}

/* Business monthly, cycle 2026-02-01→03-01 (28 d), +1 seat on 02-15 → $14.50. */
static void
test_proration_february (Org *f, gconstpointer data)
{
  g_autoptr (JsonNode) created = subscribe (f, "monthly", 4, 1);
  g_autoptr (JsonNode) change = NULL;
  JsonNode *line;

  assert_period (created, "subscription.current_period", "2026-02-01", "2026-03-01");
  harness_set_clock (f->h, "2026-02-15T08:00:00Z");
  change = preview_and_change (f, "{\"seats\": 5}");
  line = test_line_of_kind (change, "lines", "proration");
  g_assert_nonnull (line);
  assert_money (line, "amount", 1450);
  assert_period (line, "period", "2026-02-15", "2026-03-01");
  assert_money (change, "amount_due_now", 1450);
  assert_money (change, "invoice.total", 1450);
}

/* ── seats and licenses ────────────────────────────────────────────────────────── */

static void
test_seats_below_assigned (Org *f, gconstpointer data)
{
  g_autoptr (JsonNode) created = subscribe (f, "monthly", 5, 1);
  g_autofree char *dept = test_create_department (f->h, f->org, f->token, "Engineering", NULL);
  g_autofree char *e1
      = test_create_employee (f->h, f->org, f->token, "e1@acme.test", "Ann One", dept);
  g_autofree char *e2
      = test_create_employee (f->h, f->org, f->token, "e2@acme.test", "Bo Two", dept);
  g_autofree char *e3
      = test_create_employee (f->h, f->org, f->token, "e3@acme.test", "Cy Three", dept);
  g_autofree char *e4
      = test_create_employee (f->h, f->org, f->token, "e4@acme.test", "Di Four", NULL);
  const char *ids[] = { e1, e2, e3, e4, NULL };
  g_autoptr (JsonNode) seats = NULL;
  g_autoptr (JsonNode) preview = NULL;
  g_autoptr (JsonNode) refused = NULL;
  g_autoptr (JsonNode) sub = NULL;
  g_autoptr (JsonNode) exact = NULL;
  g_autoptr (JsonNode) after = NULL;
  g_autofree char *change_path = test_path ("/v1/orgs/%s/subscription/change", f->org);
  g_autofree char *preview_path = test_path ("/v1/orgs/%s/subscription/preview", f->org);
  const char *message;
  gint64 seq;
  guint status = 0;

  test_assign (f->h, f->org, f->token, ids);
  seats = org_get (f, "seats");
  g_assert_cmpint (harness_get_int (seats, "purchased"), ==, 5);
  g_assert_cmpint (harness_get_int (seats, "assigned"), ==, 4);
  g_assert_cmpint (harness_get_int (seats, "available"), ==, 1);
  g_assert_cmpstr (harness_get_str (seats, "by_department.0.name"), ==, "Engineering");
  g_assert_cmpint (harness_get_int (seats, "by_department.0.assigned"), ==, 3);

  harness_set_clock (f->h, "2026-03-10T09:00:00Z");
  seq = last_seq (f);
  preview = harness_request (f->h, "POST", preview_path, f->token, "{\"seats\": 3}", &status);
  assert_error (preview, status, 409, "seats_below_assigned");
  refused = harness_request (f->h, "POST", change_path, f->token, "{\"seats\": 3}", &status);
  assert_error (refused, status, 409, "seats_below_assigned");
  g_assert_cmpstr (harness_get_str (refused, "error.field"), ==, "seats");
  /* The message says how many licenses to revoke first. */
  message = harness_get_str (refused, "error.message");
  g_test_message ("seats_below_assigned: %s", message);
  g_assert_nonnull (strstr (message, "revoke"));
  g_assert_nonnull (strstr (message, " 1 "));

  /* Nothing changed. */
  sub = get_subscription (f);
  g_assert_cmpint (harness_get_int (sub, "subscription.seats"), ==, 5);
  g_assert_cmpint (last_seq (f), ==, seq);

  /* Down to exactly the assigned count is fine. */
  exact = org_post (f, "subscription/change", "{\"seats\": 4}", 200);
  g_assert_cmpint (harness_get_int (exact, "subscription.seats"), ==, 4);
  g_assert_nonnull (test_line_of_kind (exact, "lines", "credit"));
  g_assert_cmpint (harness_get_int (test_line_of_kind (exact, "lines", "credit"), "quantity"), ==,
                   -1);
  after = org_get (f, "seats");
  g_assert_cmpint (harness_get_int (after, "purchased"), ==, 4);
  g_assert_cmpint (harness_get_int (after, "available"), ==, 0);
}

/* ── the billing clock ─────────────────────────────────────────────────────────── */

static void
test_billing_clock (Org *f, gconstpointer data)
{
  g_autoptr (JsonNode) created = subscribe (f, "monthly", 10, 1);
  g_autoptr (GPtrArray) list = NULL;
  g_autoptr (JsonNode) events = NULL;
  g_autoptr (JsonNode) sub = NULL;
  g_autoptr (JsonNode) back = NULL;
  const char *expected_issued[] = { "2026-03-01", "2026-04-01", "2026-05-01", "2026-06-01" };
  const char *renewed_starts[] = { "2026-04-01", "2026-05-01", "2026-06-01" };
  JsonArray *data_array;
  guint renewed = 0;
  gint64 seq, previous = 0;
  guint status = 0;

  harness_set_clock (f->h, "2026-06-15T12:00:00Z");
  list = invoices_by_number (f);
  g_assert_cmpuint (list->len, ==, 4);
  for (guint i = 0; i < list->len; i++)
    {
      g_autofree char *number = g_strdup_printf ("ACME-2026-%04u", i + 1);
      JsonNode *invoice = g_ptr_array_index (list, i);

      g_assert_cmpstr (harness_get_str (invoice, "number"), ==, number);
      g_assert_cmpstr (harness_get_str (invoice, "issued_on"), ==, expected_issued[i]);
      assert_money (invoice, "total", 29000);
      if (i > 0)
        g_assert_cmpstr (harness_get_str (invoice, "reason"), ==, "subscription_cycle");
    }
  sub = get_subscription (f);
  assert_period (sub, "subscription.current_period", "2026-06-01", "2026-07-01");

  /* The renewals happened in order, once each. */
  events = org_get (f, "events?after=0");
  data_array = json_node_get_array (harness_get (events, "data"));
  for (guint i = 0; i < json_array_get_length (data_array); i++)
    {
      JsonNode *event = json_array_get_element (data_array, i);

      g_assert_cmpint (harness_get_int (event, "seq"), >, previous);
      previous = harness_get_int (event, "seq");
      if (g_strcmp0 (harness_get_str (event, "type"), "subscription.renewed") == 0)
        {
          g_assert_cmpuint (renewed, <, G_N_ELEMENTS (renewed_starts));
          g_assert_cmpstr (harness_get_str (event, "after.current_period.start"), ==,
                           renewed_starts[renewed]);
          renewed++;
        }
    }
  g_assert_cmpuint (renewed, ==, 3);

  /* Moving to the same time, or a little later, runs nothing again. */
  seq = last_seq (f);
  harness_set_clock (f->h, "2026-06-15T12:00:00Z");
  harness_set_clock (f->h, "2026-06-20T00:00:00Z");
  harness_set_clock (f->h, "2026-06-30T23:59:59Z");
  g_assert_cmpint (last_seq (f), ==, seq);
  g_clear_pointer (&list, g_ptr_array_unref);
  list = invoices_by_number (f);
  g_assert_cmpuint (list->len, ==, 4);

  /* The clock does not go back. */
  back = harness_request (f->h, "POST", "/v1/test-clock", HARNESS_OPERATOR_TOKEN,
                          "{\"now\": \"2026-05-01T00:00:00Z\"}", &status);
  assert_error (back, status, 400, NULL);

  /* The next period start issues exactly the next number. */
  harness_set_clock (f->h, "2026-07-01T00:00:00Z");
  g_clear_pointer (&list, g_ptr_array_unref);
  list = invoices_by_number (f);
  g_assert_cmpuint (list->len, ==, 5);
  g_assert_cmpstr (harness_get_str (g_ptr_array_index (list, 4), "number"), ==, "ACME-2026-0005");
  g_assert_cmpstr (harness_get_str (g_ptr_array_index (list, 4), "issued_on"), ==, "2026-07-01");
}

/* ── cancel and resume ─────────────────────────────────────────────────────────── */

static void
test_cancel_resume (Org *f, gconstpointer data)
{
  g_autoptr (JsonNode) created = subscribe (f, "monthly", 10, 1);
  g_autoptr (JsonNode) canceled = NULL;
  g_autoptr (JsonNode) resumed = NULL;
  g_autoptr (JsonNode) again = NULL;
  g_autoptr (JsonNode) ended = NULL;
  g_autoptr (JsonNode) seats = NULL;
  g_autoptr (JsonNode) no_reason = NULL;
  g_autoptr (JsonNode) bad_reason = NULL;
  g_autoptr (JsonNode) change = NULL;
  g_autoptr (JsonNode) resume_late = NULL;
  g_autoptr (GPtrArray) list = NULL;
  g_autofree char *cancel_path = test_path ("/v1/orgs/%s/subscription/cancel", f->org);
  g_autofree char *change_path = test_path ("/v1/orgs/%s/subscription/change", f->org);
  g_autofree char *resume_path = test_path ("/v1/orgs/%s/subscription/resume", f->org);
  guint status = 0;

  harness_set_clock (f->h, "2026-03-10T09:00:00Z");

  /* A reason is required, and must be one of the codes. */
  no_reason = harness_request (f->h, "POST", cancel_path, f->token, "{}", &status);
  assert_error (no_reason, status, 400, NULL);
  bad_reason
      = harness_request (f->h, "POST", cancel_path, f->token, "{\"reason\": \"bored\"}", &status);
  assert_error (bad_reason, status, 400, NULL);

  canceled = org_post (f, "subscription/cancel",
                       "{\"reason\": \"too_expensive\", \"comment\": \"Budget cut\"}", 200);
  g_assert_true (harness_get_bool (canceled, "subscription.cancel_at_period_end"));
  g_assert_cmpstr (harness_get_str (canceled, "subscription.status"), ==, "active");
  g_assert_cmpstr (harness_get_str (canceled, "subscription.cancellation.reason"), ==,
                   "too_expensive");
  g_assert_cmpstr (harness_get_str (canceled, "subscription.cancellation.comment"), ==,
                   "Budget cut");
  g_assert_cmpstr (harness_get_str (canceled, "subscription.cancellation.effective"), ==,
                   "2026-04-01");
  g_assert_cmpstr (harness_get_str (canceled, "effective"), ==, "period_end");
  assert_money (canceled, "amount_due_now", 0);

  resumed = org_post (f, "subscription/resume", NULL, 200);
  g_assert_false (harness_get_bool (resumed, "subscription.cancel_at_period_end"));
  g_assert_true (JSON_NODE_HOLDS_NULL (harness_get (resumed, "subscription.cancellation")));
  g_assert_cmpstr (harness_get_str (resumed, "subscription.status"), ==, "active");

  again = org_post (f, "subscription/cancel", "{\"reason\": \"unused\"}", 200);
  g_assert_true (harness_get_bool (again, "subscription.cancel_at_period_end"));

  /* Past the period end: canceled, and nothing more billed. */
  harness_set_clock (f->h, "2026-04-02T09:00:00Z");
  ended = get_subscription (f);
  g_assert_cmpstr (harness_get_str (ended, "subscription.status"), ==, "canceled");
  g_assert_cmpstr (harness_get_str (ended, "subscription.cancellation.reason"), ==, "unused");
  list = invoices_by_number (f);
  g_assert_cmpuint (list->len, ==, 1);
  seats = org_get (f, "seats");
  g_assert_cmpint (harness_get_int (seats, "purchased"), ==, 0);

  change = harness_request (f->h, "POST", change_path, f->token, "{\"seats\": 12}", &status);
  assert_error (change, status, 409, NULL);
  resume_late = harness_request (f->h, "POST", resume_path, f->token, NULL, &status);
  assert_error (resume_late, status, 409, NULL);

  /* And still nothing the month after. */
  harness_set_clock (f->h, "2026-05-02T09:00:00Z");
  g_clear_pointer (&list, g_ptr_array_unref);
  list = invoices_by_number (f);
  g_assert_cmpuint (list->len, ==, 1);
}

/* ── plan changes ──────────────────────────────────────────────────────────────── */

/* monthly → annual: immediate, the unused month credited, a new annual cycle charged. */
static void
test_upgrade_cycle (Org *f, gconstpointer data)
{
  g_autoptr (JsonNode) created = subscribe (f, "monthly", 10, 1);
  g_autoptr (JsonNode) change = NULL;
  JsonNode *credit, *seats;

  harness_set_clock (f->h, "2026-03-11T09:00:00Z");
  change = preview_and_change (f, "{\"cycle\": \"annual\"}");
  g_assert_cmpstr (harness_get_str (change, "effective"), ==, "now");
  credit = test_line_of_kind (change, "lines", "credit");
  g_assert_nonnull (credit);
  assert_money (credit, "amount", -19645); /* 10 × 2900 × 21/31 */
  assert_period (credit, "period", "2026-03-11", "2026-04-01");
  seats = test_line_of_kind (change, "lines", "seats");
  g_assert_nonnull (seats);
  g_assert_cmpint (harness_get_int (seats, "quantity"), ==, 10);
  assert_money (seats, "unit_amount", 31320);
  assert_money (seats, "amount", 313200);
  assert_money (change, "amount_due_now", 313200 - 19645);
  assert_money (change, "invoice.total", 313200 - 19645);
  assert_invoice_adds_up (harness_get (change, "invoice"));

  g_assert_cmpstr (harness_get_str (change, "subscription.cycle"), ==, "annual");
  g_assert_cmpint (harness_get_int (change, "subscription.billing_day"), ==, 11);
  assert_period (change, "subscription.current_period", "2026-03-11", "2027-03-11");
  g_assert_cmpstr (harness_get_str (change, "next_invoice.date"), ==, "2027-03-11");
  assert_money (change, "next_invoice.total", 313200);
}

/* annual → monthly: scheduled for the end of the term, applied at the renewal. */
static void
test_downgrade_cycle (Org *f, gconstpointer data)
{
  g_autoptr (JsonNode) created = subscribe (f, "annual", 10, 15);
  g_autoptr (JsonNode) change = NULL;
  g_autoptr (JsonNode) sub = NULL;
  g_autoptr (JsonNode) renewed = NULL;
  g_autoptr (GPtrArray) list = NULL;
  g_autoptr (JsonNode) last = NULL;
  JsonNode *seats;

  harness_set_clock (f->h, "2026-03-01T09:00:00Z");
  change = preview_and_change (f, "{\"cycle\": \"monthly\"}");
  g_assert_cmpstr (harness_get_str (change, "effective"), ==, "period_end");
  assert_money (change, "amount_due_now", 0);
  g_assert_true (JSON_NODE_HOLDS_NULL (harness_get (change, "invoice")));
  g_assert_cmpstr (harness_get_str (change, "next_invoice.date"), ==, "2027-01-15");
  assert_money (change, "next_invoice.total", 10 * 2900);

  sub = get_subscription (f);
  g_assert_cmpstr (harness_get_str (sub, "subscription.cycle"), ==, "annual");
  g_assert_cmpstr (harness_get_str (sub, "subscription.scheduled_change.cycle"), ==, "monthly");
  g_assert_cmpstr (harness_get_str (sub, "subscription.scheduled_change.effective"), ==,
                   "2027-01-15");
  assert_period (sub, "subscription.current_period", "2026-01-15", "2027-01-15");

  harness_set_clock (f->h, "2027-01-15T09:00:00Z");
  renewed = get_subscription (f);
  g_assert_cmpstr (harness_get_str (renewed, "subscription.cycle"), ==, "monthly");
  g_assert_true (JSON_NODE_HOLDS_NULL (harness_get (renewed, "subscription.scheduled_change")));
  assert_period (renewed, "subscription.current_period", "2027-01-15", "2027-02-15");
  list = invoices_by_number (f);
  g_assert_cmpuint (list->len, ==, 2);
  last = invoice_full (f, harness_get_str (g_ptr_array_index (list, 1), "id"));
  g_assert_cmpstr (harness_get_str (last, "number"), ==, "ACME-2027-0001");
  g_assert_cmpstr (harness_get_str (last, "issued_on"), ==, "2027-01-15");
  assert_money (last, "total", 10 * 2900);
  seats = test_line_of_kind (last, "lines", "seats");
  g_assert_nonnull (seats);
  assert_money (seats, "unit_amount", 2900);
}

/* ── settings ──────────────────────────────────────────────────────────────────── */

static void
test_patch (Org *f, gconstpointer data)
{
  g_autofree char *path = test_path ("/v1/orgs/%s/subscription", f->org);
  g_autoptr (JsonNode) created = subscribe (f, "monthly", 10, 1);
  g_autoptr (JsonNode) po = NULL;
  g_autoptr (JsonNode) day = NULL;
  g_autoptr (JsonNode) renew_off = NULL;
  g_autoptr (JsonNode) renew_on = NULL;
  g_autoptr (JsonNode) sub = NULL;
  g_autoptr (GPtrArray) list = NULL;
  g_autoptr (JsonNode) cycle_invoice = NULL;
  JsonNode *seats;

  harness_set_clock (f->h, "2026-03-05T09:00:00Z");
  po = call_ok (f->h, "PATCH", path, f->token,
                "{\"po_number\": \"PO-4410\", \"invoice_notes\": \"Cost center 4410.\"}", 200);
  g_assert_cmpstr (harness_get_str (po, "subscription.po_number"), ==, "PO-4410");
  g_assert_cmpstr (harness_get_str (po, "subscription.invoice_notes"), ==, "Cost center 4410.");

  /* A new billing day starts with the next period. */
  day = call_ok (f->h, "PATCH", path, f->token, "{\"billing_day\": 15}", 200);
  g_assert_cmpint (harness_get_int (day, "subscription.billing_day"), ==, 1);
  g_assert_cmpint (harness_get_int (day, "subscription.scheduled_change.billing_day"), ==, 15);
  assert_period (day, "subscription.current_period", "2026-03-01", "2026-04-01");

  renew_off = call_ok (f->h, "PATCH", path, f->token, "{\"auto_renew\": false}", 200);
  g_assert_false (harness_get_bool (renew_off, "subscription.auto_renew"));
  renew_on = call_ok (f->h, "PATCH", path, f->token, "{\"auto_renew\": true}", 200);
  g_assert_true (harness_get_bool (renew_on, "subscription.auto_renew"));

  sub = get_subscription (f);
  g_assert_cmpstr (harness_get_str (sub, "subscription.po_number"), ==, "PO-4410");
  g_assert_true (harness_get_bool (sub, "subscription.auto_renew"));

  /* The next invoice carries the PO number and notes; the new day applies. */
  harness_set_clock (f->h, "2026-04-01T09:00:00Z");
  list = invoices_by_number (f);
  g_assert_cmpuint (list->len, ==, 2);
  g_assert_null (harness_get_str (g_ptr_array_index (list, 0), "po_number"));
  cycle_invoice = invoice_full (f, harness_get_str (g_ptr_array_index (list, 1), "id"));
  g_assert_cmpstr (harness_get_str (cycle_invoice, "po_number"), ==, "PO-4410");
  g_assert_cmpstr (harness_get_str (cycle_invoice, "notes"), ==, "Cost center 4410.");
  /* 2026-04-01 → 04-15: a partial period of 14 days, prorated against the whole cycle
   * ending on the new anchor (03-15 → 04-15, 31 days). */
  assert_period (cycle_invoice, "period", "2026-04-01", "2026-04-15");
  seats = test_line_of_kind (cycle_invoice, "lines", "seats");
  g_assert_nonnull (seats);
  assert_money (seats, "amount", 13097); /* 10 × 2900 × 14/31 = 13096.77 */
  g_clear_pointer (&sub, json_node_unref);
  sub = get_subscription (f);
  g_assert_cmpint (harness_get_int (sub, "subscription.billing_day"), ==, 15);
  assert_period (sub, "subscription.current_period", "2026-04-01", "2026-04-15");
  g_assert_true (JSON_NODE_HOLDS_NULL (harness_get (sub, "subscription.scheduled_change")));
}

static void
test_auto_renew_off (Org *f, gconstpointer data)
{
  g_autofree char *path = test_path ("/v1/orgs/%s/subscription", f->org);
  g_autoptr (JsonNode) created = subscribe (f, "monthly", 10, 1);
  g_autoptr (JsonNode) off = NULL;
  g_autoptr (JsonNode) ended = NULL;
  g_autoptr (GPtrArray) list = NULL;

  harness_set_clock (f->h, "2026-03-05T09:00:00Z");
  off = call_ok (f->h, "PATCH", path, f->token, "{\"auto_renew\": false}", 200);
  g_assert_false (harness_get_bool (off, "subscription.auto_renew"));
  /* It ends with the period: no next invoice. */
  g_assert_true (JSON_NODE_HOLDS_NULL (harness_get (off, "subscription.next_invoice")));

  harness_set_clock (f->h, "2026-04-01T09:00:00Z");
  ended = get_subscription (f);
  g_assert_cmpstr (harness_get_str (ended, "subscription.status"), ==, "canceled");
  list = invoices_by_number (f);
  g_assert_cmpuint (list->len, ==, 1);
}

/* ── tax ───────────────────────────────────────────────────────────────────────── */

static void
test_tax_wa (Org *f, gconstpointer data)
{
  g_autofree char *org_path = test_path ("/v1/orgs/%s", f->org);
  g_autoptr (JsonNode) patched = NULL;
  g_autoptr (JsonNode) created = NULL;
  g_autoptr (JsonNode) change = NULL;
  JsonNode *invoice, *tax;

  patched = call_ok (f->h, "PATCH", org_path, f->token, "{\"country\": \"US\", \"region\": \"WA\"}",
                     200);
  g_assert_cmpstr (harness_get_str (test_resource (patched, "org"), "country"), ==, "US");
  g_assert_cmpstr (harness_get_str (test_resource (patched, "org"), "region"), ==, "WA");

  created = subscribe (f, "monthly", 10, 1);
  invoice = harness_get (created, "invoice");
  tax = test_line_of_kind (invoice, "lines", "tax");
  g_assert_nonnull (tax);
  assert_money (tax, "amount", 1885); /* 6.5 % of 29000 */
  assert_money (invoice, "subtotal", 29000);
  assert_money (invoice, "tax", 1885);
  assert_money (invoice, "total", 30885);
  assert_invoice_adds_up (invoice);
  assert_money (created, "subscription.next_invoice.total", 30885);

  /* A mid-cycle charge is taxed the same way, and previewed with its tax. */
  harness_set_clock (f->h, "2026-03-11T09:00:00Z");
  change = preview_and_change (f, "{\"seats\": 15}");
  assert_money (test_line_of_kind (change, "lines", "proration"), "amount", 9823);
  assert_money (test_line_of_kind (change, "lines", "tax"), "amount", 638); /* 638.495 */
  assert_money (change, "amount_due_now", 9823 + 638);
  assert_money (change, "invoice.total", 9823 + 638);
  assert_invoice_adds_up (harness_get (change, "invoice"));
}

static void
test_tax_reverse_charge (Org *f, gconstpointer data)
{
  g_autofree char *org_path = test_path ("/v1/orgs/%s", f->org);
  g_autoptr (JsonNode) patched = NULL;
  g_autoptr (JsonNode) created = NULL;
  JsonNode *invoice;
  const char *note;

  patched = call_ok (f->h, "PATCH", org_path, f->token,
                     "{\"country\": \"DE\", \"tax_id\": \"DE123456789\"}", 200);
  g_assert_cmpstr (harness_get_str (test_resource (patched, "org"), "tax_id"), ==, "DE123456789");

  created = subscribe (f, "monthly", 10, 1);
  invoice = harness_get (created, "invoice");
  assert_money (invoice, "tax", 0);
  assert_money (invoice, "total", 29000);
  note = harness_get_str (invoice, "tax_note");
  g_assert_nonnull (note);
  g_assert_nonnull (strstr (note, "everse charge"));
  assert_invoice_adds_up (invoice);
}

/* The same German organization without a VAT id pays German VAT. */
static void
test_tax_vat (Org *f, gconstpointer data)
{
  g_autofree char *org_path = test_path ("/v1/orgs/%s", f->org);
  g_autoptr (JsonNode) patched = NULL;
  g_autoptr (JsonNode) created = NULL;
  JsonNode *invoice;

  patched = call_ok (f->h, "PATCH", org_path, f->token, "{\"country\": \"DE\"}", 200);
  created = subscribe (f, "monthly", 10, 1);
  invoice = harness_get (created, "invoice");
  assert_money (invoice, "tax", 5510); /* 19 % of 29000 */
  assert_money (invoice, "total", 34510);
  g_assert_null (harness_get_str (invoice, "tax_note"));
  assert_invoice_adds_up (invoice);
}

/* ── invoices ──────────────────────────────────────────────────────────────────── */

static void
test_void (Org *f, gconstpointer data)
{
  g_autoptr (JsonNode) created = subscribe (f, "monthly", 10, 1);
  g_autofree char *first = g_strdup (harness_get_str (created, "invoice.id"));
  g_autofree char *void_first = g_strdup_printf ("invoices/%s/void", first);
  g_autofree char *void_path = test_path ("/v1/orgs/%s/invoices/%s/void", f->org, first);
  g_autoptr (JsonNode) voided = NULL;
  g_autoptr (JsonNode) again = NULL;
  g_autoptr (JsonNode) down = NULL;
  g_autoptr (JsonNode) paid_void = NULL;
  g_autoptr (JsonNode) missing = NULL;
  g_autoptr (JsonNode) fetched = NULL;
  g_autoptr (GPtrArray) list = NULL;
  g_autofree char *paid_path = NULL;
  g_autofree char *missing_path = test_path ("/v1/orgs/%s/invoices/inv_nope/void", f->org);
  JsonNode *paid;
  guint status = 0;

  voided = org_post (f, void_first, "{\"reason\": \"Issued by mistake\"}", 200);
  g_assert_cmpstr (harness_get_str (voided, "invoice.status"), ==, "void");
  assert_money (voided, "invoice.amount_due", 0);
  g_assert_cmpstr (harness_get_str (voided, "invoice.void_reason"), ==, "Issued by mistake");
  fetched = invoice_full (f, first);
  g_assert_cmpstr (harness_get_str (fetched, "status"), ==, "void");
  /* Voided once. */
  again = harness_request (f->h, "POST", void_path, f->token, NULL, &status);
  assert_error (again, status, 409, NULL);

  /* A credit larger than April's charge: April's invoice comes to zero and is paid. */
  harness_set_clock (f->h, "2026-03-02T09:00:00Z");
  down = org_post (f, "subscription/change", "{\"seats\": 1}", 200);
  assert_money (down, "subscription.credit_balance", 25258); /* 9 × 2900 × 30/31 */
  harness_set_clock (f->h, "2026-04-01T09:00:00Z");
  list = invoices_by_number (f);
  g_assert_cmpuint (list->len, ==, 2);
  paid = g_ptr_array_index (list, 1);
  g_assert_cmpstr (harness_get_str (paid, "status"), ==, "paid");
  assert_money (paid, "total", 0);
  paid_path = test_path ("/v1/orgs/%s/invoices/%s/void", f->org, harness_get_str (paid, "id"));
  /* Voiding it gives the credit it used back to the balance; nothing was paid, so there
   * is no credit note or refund. */
  paid_void = call_ok (f->h, "POST", paid_path, f->token, "{\"reason\": \"Wrong seats\"}", 200);
  g_assert_cmpstr (harness_get_str (paid_void, "invoice.status"), ==, "void");
  {
    g_autoptr (JsonNode) sub = org_get (f, "subscription");
    g_autoptr (JsonNode) notes = org_get (f, "credit-notes");

    assert_money (sub, "subscription.credit_balance", 25258);
    g_assert_cmpuint (json_array_get_length (json_node_get_array (harness_get (notes, "data"))), ==,
                      0);
  }

  missing = harness_request (f->h, "POST", missing_path, f->token, NULL, &status);
  assert_error (missing, status, 404, "not_found");
}

/* ── the event feed ────────────────────────────────────────────────────────────── */

static void
test_events (Org *f, gconstpointer data)
{
  g_autoptr (JsonNode) created = subscribe (f, "monthly", 10, 1);
  g_autoptr (JsonNode) change = NULL;
  g_autoptr (JsonNode) events = NULL;
  g_autoptr (JsonNode) page = NULL;
  g_autoptr (JsonNode) rest = NULL;
  g_autoptr (JsonNode) empty = NULL;
  g_autoptr (JsonNode) unknown = NULL;
  g_autoptr (JsonNode) bad = NULL;
  g_autofree char *sub_id = g_strdup (harness_get_str (created, "subscription.id"));
  g_autofree char *invoice_id = g_strdup (harness_get_str (created, "invoice.id"));
  g_autofree char *after_last = NULL;
  g_autofree char *too_far = NULL;
  g_autofree char *bad_path = test_path ("/v1/orgs/%s/events?after=abc", f->org);
  JsonArray *data_array;
  JsonNode *last_event = NULL;
  gboolean saw_created = FALSE, saw_invoice = FALSE;
  gint64 previous = 0, last;
  guint n, status = 0;

  harness_set_clock (f->h, "2026-03-11T09:00:00Z");
  change = org_post (f, "subscription/change", "{\"seats\": 15}", 200);

  events = org_get (f, "events?after=0");
  data_array = json_node_get_array (harness_get (events, "data"));
  n = json_array_get_length (data_array);
  g_assert_cmpuint (n, >=, 4);
  g_assert_false (harness_get_bool (events, "has_more"));
  for (guint i = 0; i < n; i++)
    {
      JsonNode *event = json_array_get_element (data_array, i);
      const char *type = harness_get_str (event, "type");

      g_assert_cmpint (harness_get_int (event, "seq"), >, previous);
      previous = harness_get_int (event, "seq");
      g_assert_nonnull (harness_get_str (event, "time"));
      g_assert_nonnull (harness_get_str (event, "actor"));
      if (g_strcmp0 (type, "subscription.created") == 0)
        {
          g_assert_false (saw_created);
          saw_created = TRUE;
          g_assert_cmpstr (harness_get_str (event, "entity.type"), ==, "subscription");
          g_assert_cmpstr (harness_get_str (event, "entity.id"), ==, sub_id);
          g_assert_true (JSON_NODE_HOLDS_NULL (harness_get (event, "before")));
          g_assert_cmpint (harness_get_int (event, "after.seats"), ==, 10);
        }
      if (g_strcmp0 (type, "invoice.created") == 0
          && g_strcmp0 (harness_get_str (event, "entity.id"), invoice_id) == 0)
        {
          saw_invoice = TRUE;
          g_assert_cmpstr (harness_get_str (event, "entity.type"), ==, "invoice");
          g_assert_cmpint (harness_get_int (event, "after.total.amount"), ==, 29000);
        }
      if (g_strcmp0 (type, "subscription.updated") == 0)
        last_event = event;
    }
  g_assert_true (saw_created);
  g_assert_true (saw_invoice);
  /* The change: before and after, in full. */
  g_assert_nonnull (last_event);
  g_assert_cmpstr (harness_get_str (last_event, "entity.id"), ==, sub_id);
  g_assert_cmpint (harness_get_int (last_event, "before.seats"), ==, 10);
  g_assert_cmpint (harness_get_int (last_event, "after.seats"), ==, 15);
  last = harness_get_int (events, "last_seq");
  g_assert_cmpint (last, ==, previous);

  /* Paging: the first one, then the rest from its seq, make the whole. */
  page = org_get (f, "events?after=0&limit=1");
  g_assert_cmpuint (test_array_length (page, "data"), ==, 1);
  g_assert_true (harness_get_bool (page, "has_more"));
  {
    g_autofree char *next
        = g_strdup_printf ("events?after=%" G_GINT64_FORMAT, harness_get_int (page, "data.0.seq"));

    rest = org_get (f, next);
    g_assert_cmpuint (test_array_length (rest, "data"), ==, n - 1);
  }

  after_last = g_strdup_printf ("events?after=%" G_GINT64_FORMAT, last);
  empty = org_get (f, after_last);
  g_assert_cmpuint (test_array_length (empty, "data"), ==, 0);
  g_assert_false (harness_get_bool (empty, "has_more"));

  /* A cursor this server never gave out. */
  too_far = test_path ("/v1/orgs/%s/events?after=%" G_GINT64_FORMAT, f->org, last + 1000000);
  unknown = harness_request (f->h, "GET", too_far, f->token, NULL, &status);
  assert_error (unknown, status, 410, "cursor_unknown");
  bad = harness_request (f->h, "GET", bad_path, f->token, NULL, &status);
  assert_error (bad, status, 400, NULL);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, now, func) \
  g_test_add ("/purser/server/subscription/" name, Org, now, org_setup, func, org_teardown)

  ADD ("create", "2026-03-01T09:00:00Z", test_create);
  ADD ("proration/monthly", "2026-03-01T09:00:00Z", test_proration_monthly);
  ADD ("proration/annual", "2026-01-15T09:00:00Z", test_proration_annual);
  ADD ("proration/february", "2026-02-01T09:00:00Z", test_proration_february);
  ADD ("seats-below-assigned", "2026-03-01T09:00:00Z", test_seats_below_assigned);
  ADD ("billing-clock", "2026-03-01T09:00:00Z", test_billing_clock);
  ADD ("cancel-resume", "2026-03-01T09:00:00Z", test_cancel_resume);
  ADD ("upgrade-cycle", "2026-03-01T09:00:00Z", test_upgrade_cycle);
  ADD ("downgrade-cycle", "2026-01-15T09:00:00Z", test_downgrade_cycle);
  ADD ("patch", "2026-03-01T09:00:00Z", test_patch);
  ADD ("auto-renew-off", "2026-03-01T09:00:00Z", test_auto_renew_off);
  ADD ("tax/us-wa", "2026-03-01T09:00:00Z", test_tax_wa);
  ADD ("tax/reverse-charge", "2026-03-01T09:00:00Z", test_tax_reverse_charge);
  ADD ("tax/vat", "2026-03-01T09:00:00Z", test_tax_vat);
  ADD ("void", "2026-03-01T09:00:00Z", test_void);
  ADD ("events", "2026-03-01T09:00:00Z", test_events);

#undef ADD

  return g_test_run ();
}
