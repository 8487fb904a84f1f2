/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "purserd-auth.h"
#include "purserd-billing.h"
#include "purserd-demo.h"

/* The demo is made the way a real customer's history is: through the API's own routes, at
 * the times they would have happened, with the billing clock run in between. */

#define DEMO_CODE     "NWL"
#define DEMO_PASSWORD "northwind-demo"
#define DEMO_DOMAIN   "northwind.example"
#define DAY           (24 * 60 * 60)

typedef struct
{
  const char *department;
  const char *teams[4];
  int people;
  const char *title;
} DemoDepartment;

static const DemoDepartment departments[] = {
  { "Engineering", { "Platform", "Mobile", "Data", "Security" }, 104, "Software Engineer" },
  { "Sales", { "Enterprise Sales", "SMB Sales", "Sales Engineering" }, 62, "Account Executive" },
  { "Customer Success", { "Support", "Onboarding" }, 44, "Customer Success Manager" },
  { "Product", { "Design", "Product Management" }, 34, "Product Designer" },
  { "Marketing", { "Brand", "Growth" }, 30, "Marketing Manager" },
  { "Finance", { "Accounting", "FP&A" }, 14, "Financial Analyst" },
  { "People", { "Recruiting", "People Operations" }, 14, "People Partner" },
};

static const char *const first_names[] = {
  "Ada",  "Ben",    "Chloe",  "Dev",    "Elena", "Farid", "Grace", "Hiro",   "Ines",   "Jonas",
  "Kemi", "Liam",   "Maya",   "Noah",   "Olga",  "Priya", "Quinn", "Rosa",   "Sam",    "Tariq",
  "Uma",  "Victor", "Wen",    "Xavier", "Yara",  "Zoe",   "Amir",  "Bianca", "Carlos", "Dana",
  "Emil", "Fatima", "Gustav", "Hana",   "Ivan",  "Julia", "Kofi",  "Lena",   "Mateo",  "Nadia",
};

static const char *const last_names[] = {
  "Andersen", "Brooks", "Castillo", "Dubois", "Eriksen", "Fischer",  "Garcia", "Haddad",
  "Ito",      "Jensen", "Kowalski", "Lopez",  "Moreau",  "Nakamura", "Okafor", "Petrov",
  "Quintero", "Rossi",  "Schmidt",  "Tanaka", "Usman",   "Vargas",   "Weber",  "Xu",
  "Yilmaz",   "Zhang",  "Abbott",   "Berg",   "Chen",    "Diallo",
};

typedef struct
{
  const char *role;
  const char *email;
  const char *name;
  const char *manages; /* a department name, for managers */
} DemoUser;

static const DemoUser users[] = {
  { "admin", "finance@" DEMO_DOMAIN, "Fiona Finch", NULL },
  { "executive", "ceo@" DEMO_DOMAIN, "Elliot Reyes", NULL },
  { "manager", "eng.manager@" DEMO_DOMAIN, "Maria Keller", "Engineering" },
  { "manager", "sales.manager@" DEMO_DOMAIN, "Sanjay Rao", "Sales" },
  { "employee", "ada.andersen@" DEMO_DOMAIN, "Ada Andersen", NULL },
};

typedef struct
{
  PurserdServer *server;
  PurserUserRecord admin;
  char *org_id;
  GRand *rand;
  int person; /* next name to hand out */
  GError *error;
} Demo;

static void
demo_clear (Demo *demo)
{
  purser_user_record_clear (&demo->admin);
  g_free (demo->org_id);
  g_clear_pointer (&demo->rand, g_rand_free);
  g_clear_error (&demo->error);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Demo, demo_clear)

static JsonNode *call_api (Demo *demo, gint64 now, const char *method, const char *body,
                           const char *format, ...) G_GNUC_PRINTF (5, 6);

static JsonNode *
call_api (Demo *demo, gint64 now, const char *method, const char *body, const char *format, ...)
{
  g_autofree char *path = NULL;
  va_list args;

  if (demo->error != NULL)
    return NULL;
  va_start (args, format);
  path = g_strdup_vprintf (format, args);
  va_end (args);
  if (!purserd_billing_run (demo->server, now, &demo->error))
    return NULL;
  return purserd_server_invoke (demo->server, demo->org_id ? &demo->admin : NULL, now, method, path,
                                body, &demo->error);
}

static void
next_person (Demo *demo, char **name, char **email)
{
  int i = demo->person++;
  const char *first = first_names[i % G_N_ELEMENTS (first_names)];
  const char *last = last_names[(i / G_N_ELEMENTS (first_names) + i) % G_N_ELEMENTS (last_names)];
  g_autofree char *local = NULL;

  *name = g_strdup_printf ("%s %s", first, last);
  local = g_ascii_strdown (*name, -1);
  g_strdelimit (local, " ", '.');
  *email = i < (int) (G_N_ELEMENTS (first_names) * G_N_ELEMENTS (last_names))
               ? g_strdup_printf ("%s@%s", local, DEMO_DOMAIN)
               : g_strdup_printf ("%s%d@%s", local, i, DEMO_DOMAIN);
}

/* The people as a CSV for the import route, department by department, team by team. */
static char *
people_csv (Demo *demo, int share_per_mille)
{
  GString *csv = g_string_new ("email,name,department,team,title\r\n");

  for (guint d = 0; d < G_N_ELEMENTS (departments); d++)
    {
      const DemoDepartment *dept = &departments[d];
      int n = dept->people * share_per_mille / 1000;
      int teams = 0;

      while (teams < 4 && dept->teams[teams] != NULL)
        teams++;
      for (int i = 0; i < n; i++)
        {
          g_autofree char *name = NULL;
          g_autofree char *email = NULL;

          next_person (demo, &name, &email);
          g_string_append_printf (csv, "%s,%s,%s,\"%s\",%s\r\n", email, name, dept->department,
                                  dept->teams[i % teams], dept->title);
        }
    }
  return g_string_free (csv, FALSE);
}

static const char *
member_string (JsonNode *node, const char *member)
{
  return json_object_get_string_member (json_node_get_object (node), member);
}

/* Ids of employees without a license, up to `count`. */
static GPtrArray *
unlicensed (Demo *demo, gint64 now, guint count)
{
  g_autoptr (JsonNode) page = NULL;
  GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);
  JsonArray *data;

  page = call_api (demo, now, "GET", NULL, "/v1/orgs/%s/employees?licensed=false&limit=1000",
                   demo->org_id);
  if (page == NULL)
    return ids;
  data = json_object_get_array_member (json_node_get_object (page), "data");
  for (guint i = 0; i < json_array_get_length (data) && ids->len < count; i++)
    {
      JsonObject *employee = json_array_get_object_element (data, i);

      if (g_str_equal (json_object_get_string_member (employee, "status"), "active"))
        g_ptr_array_add (ids, g_strdup (json_object_get_string_member (employee, "id")));
    }
  return ids;
}

static void
assign (Demo *demo, gint64 now, GPtrArray *ids)
{
  g_autoptr (GString) body = g_string_new ("{\"employee_ids\":[");
  g_autoptr (JsonNode) answer = NULL;

  if (ids->len == 0)
    return;
  for (guint i = 0; i < ids->len; i++)
    g_string_append_printf (body, "%s\"%s\"", i ? "," : "", (char *) g_ptr_array_index (ids, i));
  g_string_append (body, "]}");
  answer = call_api (demo, now, "POST", body->str, "/v1/orgs/%s/licenses/assign", demo->org_id);
}

static gint64
free_seats (Demo *demo, gint64 now)
{
  g_autoptr (JsonNode) seats = call_api (demo, now, "GET", NULL, "/v1/orgs/%s/seats", demo->org_id);

  return seats ? json_object_get_int_member (json_node_get_object (seats), "available") : 0;
}

static void
change_seats (Demo *demo, gint64 now, gint64 delta)
{
  g_autoptr (JsonNode) sub = NULL;
  g_autoptr (JsonNode) answer = NULL;
  g_autofree char *body = NULL;
  gint64 seats;

  sub = call_api (demo, now, "GET", NULL, "/v1/orgs/%s/subscription", demo->org_id);
  if (sub == NULL)
    return;
  seats = json_object_get_int_member (
      json_object_get_object_member (json_node_get_object (sub), "subscription"), "seats");
  body = g_strdup_printf ("{\"seats\": %" G_GINT64_FORMAT "}", seats + delta);
  answer = call_api (demo, now, "POST", body, "/v1/orgs/%s/subscription/change", demo->org_id);
}

/* The id of a top-level department by name, from GET …/departments. */
static const char *
department_id (JsonNode *list, const char *name)
{
  JsonArray *data = json_object_get_array_member (json_node_get_object (list), "data");

  for (guint i = 0; i < json_array_get_length (data); i++)
    {
      JsonObject *dept = json_array_get_object_element (data, i);

      if (g_str_equal (json_object_get_string_member (dept, "name"), name)
          && json_object_get_null_member (dept, "parent_id"))
        return json_object_get_string_member (dept, "id");
    }
  return NULL;
}

static void
hire (Demo *demo, gint64 now, int count)
{
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (JsonNode) list = NULL;

  list = call_api (demo, now, "GET", NULL, "/v1/orgs/%s/departments", demo->org_id);
  if (list == NULL)
    return;
  for (int i = 0; i < count && demo->error == NULL; i++)
    {
      const DemoDepartment *dept = &departments[g_rand_int_range (demo->rand, 0, 4)];
      g_autofree char *name = NULL;
      g_autofree char *email = NULL;
      g_autofree char *body = NULL;
      g_autoptr (JsonNode) employee = NULL;

      next_person (demo, &name, &email);
      body = g_strdup_printf ("{\"email\":\"%s\",\"name\":\"%s\",\"department_id\":\"%s\","
                              "\"title\":\"%s\"}",
                              email, name, department_id (list, dept->department), dept->title);
      employee = call_api (demo, now, "POST", body, "/v1/orgs/%s/employees", demo->org_id);
      if (employee != NULL)
        g_ptr_array_add (ids, g_strdup (member_string (employee, "id")));
    }

  /* Seats are bought when the hires would not fit, with a little room to spare. */
  if ((gint64) ids->len > free_seats (demo, now))
    change_seats (demo, now, (gint64) ids->len - free_seats (demo, now) + 3);
  assign (demo, now, ids);
}

static void
leave (Demo *demo, gint64 now, int count)
{
  g_autoptr (JsonNode) page = NULL;
  JsonArray *data;

  page = call_api (demo, now, "GET", NULL, "/v1/orgs/%s/employees?licensed=true&limit=50",
                   demo->org_id);
  if (page == NULL)
    return;
  data = json_object_get_array_member (json_node_get_object (page), "data");
  for (int i = 0; i < count && (guint) (i * 7 + 5) < json_array_get_length (data); i++)
    {
      JsonObject *employee = json_array_get_object_element (data, (guint) (i * 7 + 5));
      g_autoptr (JsonNode) answer = NULL;

      answer
          = call_api (demo, now, "PATCH", "{\"status\":\"inactive\"}", "/v1/orgs/%s/employees/%s",
                      demo->org_id, json_object_get_string_member (employee, "id"));
    }
}

static gboolean
add_users (Demo *demo, gint64 now)
{
  PurserDb *db = purserd_server_db (demo->server);
  g_autoptr (GArray) list = purser_department_records_new ();

  if (!purser_store_department_list (db, demo->org_id, list, &demo->error))
    return FALSE;
  for (guint i = 1; i < G_N_ELEMENTS (users); i++)
    {
      g_auto (PurserUserRecord) user = { 0 };
      g_auto (PurserEmployeeRecord) employee = { 0 };

      user.id = purser_db_new_id ("usr");
      user.org_id = g_strdup (demo->org_id);
      user.email = g_strdup (users[i].email);
      user.name = g_strdup (users[i].name);
      user.role = g_strdup (users[i].role);
      user.password_hash = purserd_password_hash (DEMO_PASSWORD);
      user.department_ids = g_ptr_array_new_with_free_func (g_free);
      user.created_at = now;
      for (guint d = 0; users[i].manages && d < list->len; d++)
        {
          PurserDepartmentRecord *dept = &g_array_index (list, PurserDepartmentRecord, d);

          if (dept->parent_id == NULL && g_str_equal (dept->name, users[i].manages))
            g_ptr_array_add (user.department_ids, g_strdup (dept->id));
        }
      if (g_str_equal (users[i].role, "employee")
          && purser_store_employee_get_by_email (db, demo->org_id, users[i].email, &employee, NULL))
        user.employee_id = g_strdup (employee.id);
      if (!purser_store_user_insert (db, &user, &demo->error))
        return FALSE;
    }
  return TRUE;
}

/* Northwind pays by wire transfer: past invoices were paid two days after they were
 * issued, each marked paid by finance with the transfer's reference, through the API. */
static gboolean
settle_past_invoices (Demo *demo, gint64 now)
{
  PurserDb *db = purserd_server_db (demo->server);
  g_autoptr (GArray) invoices = purser_invoice_records_new ();
  gboolean has_more = FALSE;

  if (!purser_store_invoice_list (db, demo->org_id, "open", NULL, 500, invoices, &has_more,
                                  &demo->error))
    return FALSE;
  for (guint i = invoices->len; i > 0; i--)
    {
      PurserInvoiceRecord *invoice = &g_array_index (invoices, PurserInvoiceRecord, i - 1);
      g_autoptr (JsonNode) answer = NULL;
      g_autofree char *body = NULL;

      if (invoice->created_at + 3 * DAY > now)
        continue;
      body = g_strdup_printf ("{\"reference\":\"FW-%s\"}", invoice->number);
      answer = call_api (demo, invoice->created_at + 2 * DAY, "POST", body,
                         "/v1/orgs/%s/invoices/%s/mark-paid", demo->org_id, invoice->id);
      if (answer == NULL)
        return FALSE;
    }
  return TRUE;
}

gboolean
purserd_demo_seed (PurserdServer *server, GError **error)
{
  PurserDb *db = purserd_server_db (server);
  gint64 now = purserd_server_now (server);
  g_auto (Demo) demo = { .server = server };
  g_autoptr (JsonNode) org = NULL;
  g_autoptr (JsonNode) answer = NULL;
  g_autofree char *org_body = NULL;
  g_autofree char *csv = NULL;
  g_autofree char *sub_body = NULL;
  g_autoptr (GPtrArray) first_licenses = NULL;
  PurserDate start;
  int year, month, day;
  gint64 t0;

  if (purser_store_org_code_exists (db, DEMO_CODE))
    return TRUE;

  /* Thirteen months of history: an annual cycle that renewed about a month ago. */
  purser_date_to_ymd (purser_date_add_months (purser_date_from_unix (now), -13), &year, &month,
                      &day);
  start = purser_date_from_ymd (year, month, MIN (day, PURSER_BILLING_DAY_MAX));
  t0 = purser_date_to_unix (start) + 9 * 60 * 60;
  demo.rand = g_rand_new_with_seed (20260311);

  org_body = g_strdup_printf (
      "{\"name\":\"Northwind Labs\",\"code\":\"%s\",\"country\":\"US\",\"region\":\"WA\","
      "\"billing_email\":\"ap@%s\",\"address\":\"Northwind Labs Inc.\\n400 Pine Street, Suite "
      "900\\n"
      "Seattle, WA 98101\\nUnited States\","
      "\"admin\":{\"email\":\"%s\",\"name\":\"%s\",\"password\":\"%s\"}}",
      DEMO_CODE, DEMO_DOMAIN, users[0].email, users[0].name, DEMO_PASSWORD);
  org = call_api (&demo, t0, "POST", org_body, "/v1/orgs");
  if (org == NULL)
    goto fail;
  demo.org_id
      = g_strdup (member_string (json_object_get_member (json_node_get_object (org), "org"), "id"));
  if (!purser_store_user_get_by_email (db, users[0].email, &demo.admin, &demo.error))
    goto fail;

  answer = call_api (&demo, t0, "POST", "{\"type\":\"wire\",\"label\":\"Accounts payable\"}",
                     "/v1/orgs/%s/payment-methods", demo.org_id);
  g_clear_pointer (&answer, json_node_unref);

  csv = people_csv (&demo, 920);
  answer = call_api (&demo, t0, "POST", csv, "/v1/orgs/%s/employees/import", demo.org_id);
  g_clear_pointer (&answer, json_node_unref);
  if (!add_users (&demo, t0))
    goto fail;

  sub_body = g_strdup_printf ("{\"plan\":\"business\",\"cycle\":\"annual\",\"seats\":268,"
                              "\"billing_day\":%d,\"po_number\":\"PO-NWL-%d-017\","
                              "\"invoice_notes\":\"Coaching program, cost center 4410.\"}",
                              purser_date_day (start), year);
  answer = call_api (&demo, t0, "POST", sub_body, "/v1/orgs/%s/subscription", demo.org_id);
  g_clear_pointer (&answer, json_node_unref);
  first_licenses = unlicensed (&demo, t0, 262);
  assign (&demo, t0, first_licenses);

  /* A year of hiring, a few departures and seat changes. */
  for (int m = 1; m <= 12 && demo.error == NULL; m++)
    {
      gint64 t
          = purser_date_to_unix (purser_date_add_months (start, m)) + (3 + m) * DAY + 10 * 60 * 60;

      if (t >= now)
        break;
      hire (&demo, t, 2 + g_rand_int_range (demo.rand, 0, 4));
      if (m == 4 || m == 9)
        leave (&demo, t + DAY, 3);
      if (m == 6 && free_seats (&demo, t + 2 * DAY) > 0)
        change_seats (&demo, t + 2 * DAY, -MIN (4, free_seats (&demo, t + 2 * DAY)));
    }
  if (demo.error != NULL || !purserd_billing_run (server, now, &demo.error)
      || !settle_past_invoices (&demo, now))
    goto fail;
  return TRUE;

fail:
  g_propagate_error (error, g_steal_pointer (&demo.error));
  return FALSE;
}

void
purserd_demo_print_logins (PurserdServer *server)
{
  g_print ("purserd: demo organization Northwind Labs (%s); every login's password is \"%s\"\n",
           DEMO_CODE, DEMO_PASSWORD);
  for (guint i = 0; i < G_N_ELEMENTS (users); i++)
    g_print ("purserd:   %-9s  %-32s %s%s%s\n", users[i].role, users[i].email, users[i].name,
             users[i].manages ? ", manages " : "", users[i].manages ? users[i].manages : "");
}
