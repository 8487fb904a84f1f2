/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdio.h>

#include "purserd-harness.h"
#include "purserd-test-util.h"

/* purserd --demo: Northwind Labs looks like a real customer a year into its subscription,
 * and every demo login works. */

static JsonArray *
list (TestDemo *f, const char *what)
{
  g_autofree char *path = test_path ("/v1/orgs/%s/%s", f->org, what);

  return test_list_all (f->h, path, f->admin);
}

static GDate *
parse_date (const char *text)
{
  int y = 0, m = 0, d = 0;

  g_assert_nonnull (text);
  g_assert_cmpint (sscanf (text, "%4d-%2d-%2d", &y, &m, &d), ==, 3);
  g_assert_true (g_date_valid_dmy ((GDateDay) d, (GDateMonth) m, (GDateYear) y));
  return g_date_new_dmy ((GDateDay) d, (GDateMonth) m, (GDateYear) y);
}

static void
test_logins (TestDemo *f, gconstpointer data)
{
  const char *logins[][2] = {
    { "finance@northwind.example", "admin" },
    { "ceo@northwind.example", "executive" },
    { "eng.manager@northwind.example", "manager" },
    { "sales.manager@northwind.example", "manager" },
    { "ada.andersen@northwind.example", "employee" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (logins); i++)
    {
      g_autofree char *token = harness_login (f->h, logins[i][0], TEST_DEMO_PASSWORD);
      g_autoptr (JsonNode) me = call_ok (f->h, "GET", "/v1/me", token, NULL, 200);

      g_test_message ("%s", logins[i][0]);
      g_assert_cmpstr (harness_get_str (me, "user.email"), ==, logins[i][0]);
      g_assert_cmpstr (harness_get_str (me, "user.role"), ==, logins[i][1]);
      g_assert_cmpstr (harness_get_str (me, "user.org_id"), ==, f->org);
      g_assert_cmpstr (harness_get_str (me, "org.name"), ==, "Northwind Labs");
      g_assert_cmpstr (harness_get_str (me, "org.code"), ==, "NWL");
      if (g_str_equal (logins[i][1], "manager"))
        g_assert_cmpuint (test_array_length (me, "user.department_ids"), >=, 1);
    }
}

static void
test_people (TestDemo *f, gconstpointer data)
{
  g_autoptr (JsonArray) employees = list (f, "employees");
  g_autofree char *departments_path = test_path ("/v1/orgs/%s/departments", f->org);
  g_autoptr (JsonNode) departments = call_ok (f->h, "GET", departments_path, f->admin, NULL, 200);
  JsonArray *all = json_node_get_array (harness_get (departments, "data"));
  g_autoptr (GHashTable) teams = g_hash_table_new (g_str_hash, g_str_equal);
  guint top = 0, with_teams = 0, placed = 0;

  g_test_message ("%u employees, %u departments and teams", json_array_get_length (employees),
                  json_array_get_length (all));
  g_assert_cmpuint (json_array_get_length (employees), >=, 300);

  for (guint i = 0; i < json_array_get_length (all); i++)
    {
      JsonNode *dept = json_array_get_element (all, i);
      const char *parent = harness_get_str (dept, "parent_id");

      if (parent != NULL)
        g_hash_table_insert (teams, (gpointer) parent, GINT_TO_POINTER (1));
    }
  for (guint i = 0; i < json_array_get_length (all); i++)
    {
      JsonNode *dept = json_array_get_element (all, i);

      if (harness_get_str (dept, "parent_id") != NULL)
        continue;
      top++;
      if (g_hash_table_contains (teams, harness_get_str (dept, "id")))
        with_teams++;
    }
  g_assert_cmpuint (top, >=, 6);
  g_assert_cmpuint (with_teams, >=, 6);

  /* People sit in departments, and their e-mails are the organization's. */
  for (guint i = 0; i < json_array_get_length (employees); i++)
    {
      JsonNode *employee = json_array_get_element (employees, i);

      if (harness_get_str (employee, "department_id") != NULL)
        placed++;
      g_assert_true (g_str_has_suffix (harness_get_str (employee, "email"), "@northwind.example"));
    }
  g_assert_cmpuint (placed, >=, json_array_get_length (employees) * 9 / 10);
}

static void
test_subscription (TestDemo *f, gconstpointer data)
{
  g_autofree char *sub_path = test_path ("/v1/orgs/%s/subscription", f->org);
  g_autofree char *seats_path = test_path ("/v1/orgs/%s/seats", f->org);
  g_autoptr (JsonNode) sub = call_ok (f->h, "GET", sub_path, f->admin, NULL, 200);
  g_autoptr (JsonNode) seats = call_ok (f->h, "GET", seats_path, f->admin, NULL, 200);
  gint64 purchased = harness_get_int (seats, "purchased");
  gint64 assigned = harness_get_int (seats, "assigned");
  gint64 by_department = 0;

  g_assert_cmpstr (harness_get_str (sub, "subscription.plan"), ==, "business");
  g_assert_cmpstr (harness_get_str (sub, "subscription.cycle"), ==, "annual");
  g_assert_cmpstr (harness_get_str (sub, "subscription.status"), ==, "active");
  g_assert_cmpint (harness_get_int (sub, "subscription.seats"), ==, purchased);
  g_test_message ("%" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " seats assigned", assigned,
                  purchased);
  g_assert_cmpint (assigned, <=, purchased);
  g_assert_cmpint (assigned * 10, >, purchased * 8);
  g_assert_cmpint (harness_get_int (seats, "available"), ==, purchased - assigned);
  for (guint i = 0; i < test_array_length (seats, "by_department"); i++)
    {
      g_autofree char *path = g_strdup_printf ("by_department.%u.assigned", i);

      by_department += harness_get_int (seats, path);
    }
  g_assert_cmpint (by_department, ==, assigned);
}

static void
test_invoices (TestDemo *f, gconstpointer data)
{
  g_autoptr (JsonArray) invoices = list (f, "invoices");
  g_autoptr (GDate) first = NULL;
  g_autoptr (GDate) last = NULL;
  g_autoptr (GHashTable) numbers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GHashTable) per_year = g_hash_table_new (g_direct_hash, g_direct_equal);
  guint n = json_array_get_length (invoices), paid = 0;
  int span;

  g_test_message ("%u invoices", n);
  g_assert_cmpuint (n, >=, 5);
  for (guint i = 0; i < n; i++)
    {
      JsonNode *summary = json_array_get_element (invoices, i);
      g_autofree char *what
          = g_strdup_printf ("/v1/orgs/%s/invoices/%s", f->org, harness_get_str (summary, "id"));
      g_autoptr (JsonNode) full = call_ok (f->h, "GET", what, f->admin, NULL, 200);
      JsonNode *invoice = harness_get (full, "invoice");
      g_autoptr (GDate) issued = parse_date (harness_get_str (invoice, "issued_on"));
      const char *number = harness_get_str (invoice, "number");
      int year = 0;
      guint sequence = 0;

      /* Every invoice adds up, WA sales tax included. */
      g_assert_cmpint (test_lines_sum (invoice, "lines"), ==,
                       harness_get_int (invoice, "total.amount"));
      g_assert_cmpint (harness_get_int (invoice, "subtotal.amount")
                           + harness_get_int (invoice, "tax.amount"),
                       ==, harness_get_int (invoice, "total.amount"));
      if (g_strcmp0 (harness_get_str (invoice, "status"), "paid") == 0)
        paid++;

      g_assert_cmpint (sscanf (number, "NWL-%4d-%4u", &year, &sequence), ==, 2);
      g_assert_cmpint (year, ==, g_date_get_year (issued));
      g_assert_true (g_hash_table_add (numbers, g_strdup (number)));
      g_hash_table_insert (
          per_year, GINT_TO_POINTER (year),
          GUINT_TO_POINTER (MAX (sequence, GPOINTER_TO_UINT (g_hash_table_lookup (
                                               per_year, GINT_TO_POINTER (year))))));
      if (first == NULL || g_date_compare (issued, first) < 0)
        {
          g_clear_pointer (&first, g_date_free);
          first = g_date_copy (issued);
        }
      if (last == NULL || g_date_compare (issued, last) > 0)
        {
          g_clear_pointer (&last, g_date_free);
          last = g_date_copy (issued);
        }
    }

  /* Gapless per year: the highest number of each year is the count of that year. */
  {
    GHashTableIter iter;
    gpointer year, highest;
    guint total = 0;

    g_hash_table_iter_init (&iter, per_year);
    while (g_hash_table_iter_next (&iter, &year, &highest))
      total += GPOINTER_TO_UINT (highest);
    g_assert_cmpuint (total, ==, n);
  }

  span = g_date_days_between (first, last);
  g_test_message ("issued over %d days; %u paid", span, paid);
  g_assert_cmpint (span, >=, 300);
  g_assert_cmpint (span, <=, 400);
  g_assert_cmpuint (paid, >=, 1);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  test_add_demo ("/purser/server/demo/logins", test_logins);
  test_add_demo ("/purser/server/demo/people", test_people);
  test_add_demo ("/purser/server/demo/subscription", test_subscription);
  test_add_demo ("/purser/server/demo/invoices", test_invoices);

  return g_test_run ();
}
