/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "purserd-csv.h"
#include "purserd-json.h"
#include "purserd-routes.h"
#include "purserd-scope.h"
#include "purserd-seats.h"

/* Employees: the list (scoped for managers), one employee, adding and changing them, and
 * the CSV import that does the same for a whole file at once. */

#define PAGE_DEFAULT    100
#define PAGE_MAX        1000
#define ID_MAX          64
#define IMPORT_ROWS_MAX 100000

static const char *const statuses[] = { "active", "inactive", NULL };

/* ── helpers ───────────────────────────────────────────────────────────────────── */

static void
set_str (char **slot, const char *value)
{
  char *copy = g_strdup (value);

  g_free (*slot);
  *slot = copy;
}

static gboolean
is_self (PurserdCall *call, const char *employee_id)
{
  return call->user != NULL && g_strcmp0 (call->user->employee_id, employee_id) == 0;
}

/* The employee {id} if the caller may see it; everyone else's are simply not found. */
static gboolean
load_employee (PurserdCall *call, GHashTable *scope, gboolean allow_self, PurserEmployeeRecord *out)
{
  g_autoptr (GError) error = NULL;
  const char *id = purserd_call_param (call, "id");

  if (!purser_store_employee_get (call->db, purserd_call_org_id (call), id, out, &error))
    {
      if (g_error_matches (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND))
        purserd_call_error (call, 404, "not_found", NULL, "No employee %s.", id);
      else
        purserd_call_fail (call, error);
      return FALSE;
    }
  if (scope == NULL
      || (out->department_id != NULL && g_hash_table_contains (scope, out->department_id))
      || (allow_self && is_self (call, out->id)))
    return TRUE;
  purser_employee_record_clear (out);
  purserd_call_error (call, 404, "not_found", NULL, "No employee %s.", id);
  return FALSE;
}

/* A department the caller may put people into: 404 when missing or outside the scope. */
static gboolean
check_department (PurserdCall *call, const GArray *departments, GHashTable *scope,
                  const char *department_id)
{
  if (purserd_scope_find_department (departments, department_id) != NULL
      && (scope == NULL || g_hash_table_contains (scope, department_id)))
    return TRUE;
  purserd_call_error (call, 404, "not_found", "department_id", "No department %s.", department_id);
  return FALSE;
}

/* Another employee of the organization with this e-mail address (any capitalisation). */
static gboolean
email_taken (PurserdCall *call, const char *email, const char *self_id, gboolean *taken)
{
  g_auto (PurserEmployeeRecord) other = { 0 };
  g_autoptr (GError) error = NULL;

  *taken = FALSE;
  if (purser_store_employee_get_by_email (call->db, purserd_call_org_id (call), email, &other,
                                          &error))
    {
      *taken = g_strcmp0 (other.id, self_id) != 0;
      if (*taken)
        purserd_call_error (call, 409, "email_taken", "email",
                            "%s is already the e-mail address of %s (%s) in this organization.",
                            email, other.name, other.id);
      return TRUE;
    }
  if (g_error_matches (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND))
    return TRUE;
  purserd_call_fail (call, error);
  return FALSE;
}

/* ── list and read ─────────────────────────────────────────────────────────────── */

/* The departments ?department_id= asks for, within the caller's scope; "none" asks for
 * the people without a department. */
static GHashTable *
department_filter (PurserdCall *call, const char *department_id, GHashTable *scope)
{
  g_autoptr (GArray) departments = NULL;
  g_autoptr (GHashTable) subtree = NULL;
  GHashTableIter iter;
  gpointer id;

  if (g_str_equal (department_id, "none"))
    {
      subtree = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      if (scope == NULL)
        g_hash_table_add (subtree, g_strdup (""));
      return g_steal_pointer (&subtree);
    }
  if ((departments = purserd_scope_load_departments (call)) == NULL)
    return NULL;
  if (strlen (department_id) > ID_MAX
      || purserd_scope_find_department (departments, department_id) == NULL
      || (scope != NULL && !g_hash_table_contains (scope, department_id)))
    {
      purserd_call_error (call, 400, "invalid_request", "department_id",
                          "No department %s; department_id must be the id of one of your "
                          "departments, or \"none\".",
                          department_id);
      return NULL;
    }
  subtree = purserd_scope_subtree (departments, department_id);
  if (scope != NULL)
    {
      g_hash_table_iter_init (&iter, subtree);
      while (g_hash_table_iter_next (&iter, &id, NULL))
        if (!g_hash_table_contains (scope, id))
          g_hash_table_iter_remove (&iter);
    }
  return g_steal_pointer (&subtree);
}

static void
employees_list (PurserdCall *call)
{
  g_autoptr (GHashTable) scope = NULL;
  g_autoptr (GHashTable) departments = NULL;
  g_autoptr (GArray) employees = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonBuilder) b = NULL;
  PurserEmployeeFilter filter = { .licensed = -1 };
  const char *department_id = purserd_request_query (call->request, "department_id");
  const char *query = purserd_request_query (call->request, "q");
  const char *licensed = purserd_request_query (call->request, "licensed");
  gboolean failed = FALSE;
  gboolean has_more = FALSE;

  if (!purserd_call_page (call, PAGE_DEFAULT, PAGE_MAX, &filter.limit, &filter.after_id))
    return;
  if (query != NULL
      && (!g_utf8_validate (query, -1, NULL) || g_utf8_strlen (query, -1) > PURSER_WIRE_NAME_MAX))
    {
      purserd_call_error (call, 400, "invalid_request", "q",
                          "q must be UTF-8 text of at most %d characters.", PURSER_WIRE_NAME_MAX);
      return;
    }
  if (licensed != NULL && !g_str_equal (licensed, "true") && !g_str_equal (licensed, "false"))
    {
      purserd_call_error (call, 400, "invalid_request", "licensed",
                          "licensed must be true or false.");
      return;
    }

  scope = purserd_scope_departments (call, &failed);
  if (failed)
    return;
  if (department_id != NULL)
    {
      departments = department_filter (call, department_id, scope);
      if (departments == NULL)
        return;
    }

  filter.department_ids = departments != NULL ? departments : scope;
  filter.query = query;
  filter.licensed = licensed == NULL ? -1 : g_str_equal (licensed, "true");
  employees = purser_employee_records_new ();
  if (!purser_store_employee_list (call->db, purserd_call_org_id (call), &filter, employees,
                                   &has_more, &error))
    {
      if (filter.after_id != NULL
          && g_error_matches (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND))
        purserd_call_error (call, 400, "invalid_request", "after",
                            "after must be the id of the last employee of the previous page.");
      else
        purserd_call_fail (call, error);
      return;
    }

  b = json_builder_new_immutable ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "data");
  json_builder_begin_array (b);
  for (guint i = 0; i < employees->len; i++)
    json_builder_add_value (
        b, purserd_json_employee (&g_array_index (employees, PurserEmployeeRecord, i)));
  json_builder_end_array (b);
  purser_wire_add_bool (b, "has_more", has_more);
  json_builder_end_object (b);
  purserd_call_reply (call, 200, b);
}

static void
employee_get (PurserdCall *call)
{
  g_autoptr (GHashTable) scope = NULL;
  g_auto (PurserEmployeeRecord) employee = { 0 };
  g_autoptr (JsonNode) node = NULL;
  gboolean failed = FALSE;

  /* Employees get an empty scope: only their own record is found. */
  scope = purserd_scope_departments (call, &failed);
  if (failed || !load_employee (call, scope, TRUE, &employee))
    return;
  node = purserd_json_employee (&employee);
  purserd_call_reply_node (call, 200, node);
}

/* ── create and update ─────────────────────────────────────────────────────────── */

typedef struct
{
  char *email;
  char *name;
  char *department_id;
  gboolean has_department;
  char *title;
  gboolean has_title;
  int status; /* index in statuses, -1 absent */
} EmployeeInput;

static void
employee_input_clear (EmployeeInput *input)
{
  g_free (input->email);
  g_free (input->name);
  g_free (input->department_id);
  g_free (input->title);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (EmployeeInput, employee_input_clear)

static gboolean
read_employee (PurserdCall *call, gboolean create, EmployeeInput *input)
{
  PurserWireReader reader = { 0 };
  gboolean ok;

  input->status = -1;
  if (!purserd_call_read_body (call, &reader))
    return FALSE;
  if (purser_wire_read_string (&reader, "email", create, PURSER_WIRE_EMAIL_MAX, &input->email)
      && !purserd_email_is_valid (input->email))
    purser_wire_reader_fail (&reader, "email",
                             "The field \"email\" must be an e-mail address such as "
                             "ann@example.com.");
  if (purser_wire_read_string (&reader, "name", create, PURSER_WIRE_NAME_MAX, &input->name)
      && input->name[0] == '\0')
    purser_wire_reader_fail (&reader, "name", "The field \"name\" must not be empty.");
  purser_wire_read_nullable_string (&reader, "department_id", ID_MAX, &input->department_id,
                                    &input->has_department);
  purser_wire_read_nullable_string (&reader, "title", PURSER_WIRE_NAME_MAX, &input->title,
                                    &input->has_title);
  if (!create)
    purser_wire_read_enum (&reader, "status", FALSE, statuses, &input->status);
  ok = purserd_call_reader_done (call, &reader);
  purser_wire_reader_clear (&reader);
  return ok;
}

static void
employee_create (PurserdCall *call)
{
  g_auto (EmployeeInput) input = { 0 };
  g_auto (PurserEmployeeRecord) employee = { 0 };
  g_autoptr (GHashTable) scope = NULL;
  g_autoptr (GArray) departments = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) after = NULL;
  gboolean failed = FALSE;
  gboolean taken = FALSE;

  if (!read_employee (call, TRUE, &input))
    return;
  scope = purserd_scope_departments (call, &failed);
  if (failed || (departments = purserd_scope_load_departments (call)) == NULL)
    return;
  if (input.department_id != NULL)
    {
      if (!check_department (call, departments, scope, input.department_id))
        return;
    }
  else if (scope != NULL)
    {
      purserd_call_error (call, 403, "forbidden", "department_id",
                          "Managers add people to their own departments: set department_id to "
                          "one of them.");
      return;
    }
  if (!email_taken (call, input.email, NULL, &taken) || taken)
    return;

  employee = (PurserEmployeeRecord){
    .id = purser_db_new_id ("emp"),
    .org_id = g_strdup (purserd_call_org_id (call)),
    .email = g_steal_pointer (&input.email),
    .name = g_steal_pointer (&input.name),
    .department_id = g_steal_pointer (&input.department_id),
    .title = g_steal_pointer (&input.title),
    .status = g_strdup ("active"),
    .created_at = call->now,
  };
  after = purserd_json_employee (&employee);
  if (!purser_store_employee_insert (call->db, &employee, &error))
    {
      purserd_call_fail (call, error);
      return;
    }
  if (!purserd_call_event (call, "employee.created", "employee", employee.id,
                           employee.department_id, NULL, after))
    return;
  purserd_call_reply_node (call, 201, after);
}

/* Reads the employee again into `out` (which may hold the employee: `id` is copied). */
static gboolean
reread_employee (PurserdCall *call, const char *id, PurserEmployeeRecord *out)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *copy = g_strdup (id);

  purser_employee_record_clear (out);
  if (purser_store_employee_get (call->db, purserd_call_org_id (call), copy, out, &error))
    return TRUE;
  purserd_call_fail (call, error);
  return FALSE;
}

static gboolean
employee_equal (const PurserEmployeeRecord *a, const PurserEmployeeRecord *b)
{
  return g_strcmp0 (a->email, b->email) == 0 && g_strcmp0 (a->name, b->name) == 0
         && g_strcmp0 (a->department_id, b->department_id) == 0
         && g_strcmp0 (a->title, b->title) == 0 && g_strcmp0 (a->status, b->status) == 0;
}

static void
employee_copy (const PurserEmployeeRecord *src, PurserEmployeeRecord *dest)
{
  *dest = *src;
  dest->id = g_strdup (src->id);
  dest->org_id = g_strdup (src->org_id);
  dest->email = g_strdup (src->email);
  dest->name = g_strdup (src->name);
  dest->department_id = g_strdup (src->department_id);
  dest->title = g_strdup (src->title);
  dest->status = g_strdup (src->status);
}

static void
employee_update (PurserdCall *call)
{
  g_auto (EmployeeInput) input = { 0 };
  g_auto (PurserEmployeeRecord) before = { 0 };
  g_auto (PurserEmployeeRecord) employee = { 0 };
  g_autoptr (GHashTable) scope = NULL;
  g_autoptr (GArray) departments = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) before_json = NULL;
  g_autoptr (JsonNode) after_json = NULL;
  gboolean failed = FALSE;
  gboolean taken = FALSE;
  gboolean revoke;

  scope = purserd_scope_departments (call, &failed);
  if (failed || !load_employee (call, scope, FALSE, &before) || !read_employee (call, FALSE, &input)
      || (departments = purserd_scope_load_departments (call)) == NULL)
    return;

  employee_copy (&before, &employee);
  if (input.email != NULL)
    set_str (&employee.email, input.email);
  if (input.name != NULL)
    set_str (&employee.name, input.name);
  if (input.has_department)
    set_str (&employee.department_id, input.department_id);
  if (input.has_title)
    set_str (&employee.title, input.title);
  if (input.status >= 0)
    set_str (&employee.status, statuses[input.status]);
  revoke = before.licensed && g_str_equal (employee.status, "inactive");

  if (g_strcmp0 (before.department_id, employee.department_id) != 0)
    {
      const char *old_top = purserd_scope_top_department (departments, before.department_id);
      const char *new_top;

      if (employee.department_id == NULL && scope != NULL)
        {
          purserd_call_error (call, 403, "forbidden", "department_id",
                              "Managers cannot move people out of their departments; ask an "
                              "organization admin.");
          return;
        }
      if (employee.department_id != NULL
          && !check_department (call, departments, scope, employee.department_id))
        return;
      new_top = purserd_scope_top_department (departments, employee.department_id);
      if (before.licensed && !revoke && g_strcmp0 (old_top, new_top) != 0)
        {
          g_auto (PurserdSeats) seats = { 0 };

          if (!purserd_seats_load (call, &seats))
            return;
          purserd_seats_group (&seats, old_top)->assigned--;
          purserd_seats_group (&seats, new_top)->assigned++;
          if (!purserd_seats_check (call, &seats, PURSER_SEAT_CHANGE_LICENSES, "department_id"))
            return;
        }
    }
  if (g_ascii_strcasecmp (before.email, employee.email) != 0
      && (!email_taken (call, employee.email, employee.id, &taken) || taken))
    return;

  if (employee_equal (&before, &employee))
    {
      after_json = purserd_json_employee (&before);
      purserd_call_reply_node (call, 200, after_json);
      return;
    }

  /* An inactive employee holds no license: it goes back to the pool now, with its own
   * event, as POST …/licenses/revoke would record it. */
  if (revoke)
    {
      g_auto (PurserEmployeeRecord) revoked = { 0 };
      g_autoptr (JsonNode) licensed_json = purserd_json_employee (&before);
      g_autoptr (JsonNode) revoked_json = NULL;

      if (!purser_store_license_revoke (call->db, before.org_id, before.id, call->actor, call->now,
                                        &error))
        {
          purserd_call_fail (call, error);
          return;
        }
      if (!reread_employee (call, before.id, &revoked))
        return;
      revoked_json = purserd_json_employee (&revoked);
      if (!purserd_call_event (call, "license.revoked", "employee", before.id, before.department_id,
                               licensed_json, revoked_json))
        return;
      before_json = g_steal_pointer (&revoked_json);
      employee.licensed = FALSE;
      employee.license_assigned_at = 0;
    }
  else
    before_json = purserd_json_employee (&before);

  if (!purser_store_employee_update (call->db, &employee, &error))
    {
      purserd_call_fail (call, error);
      return;
    }
  if (!reread_employee (call, employee.id, &employee))
    return;
  after_json = purserd_json_employee (&employee);
  if (!purserd_call_event (call, "employee.updated", "employee", employee.id,
                           employee.department_id, before_json, after_json))
    return;
  purserd_call_reply_node (call, 200, after_json);
}

/* ── CSV import ────────────────────────────────────────────────────────────────── */

/*
 * The import plans the whole file before touching anything:
 *
 *   CSV text ──parse──▶ rows ──check──▶ errors? ──▶ 422 with every bad row
 *                                          │
 *                                          ▼
 *   departments + employees (one read each) ──▶ plan: departments to create,
 *                                               employees to create / update / leave
 *                                          │
 *                         dry_run ◀────────┴────────▶ apply in the request's transaction
 *                            └──────── the same answer ────────┘
 *
 * Existing employees are found through a hash by lower-cased e-mail and departments
 * through hashes by folded name, so a 50,000-row file costs one pass.
 */

typedef enum
{
  COLUMN_EMAIL,
  COLUMN_NAME,
  COLUMN_DEPARTMENT,
  COLUMN_TEAM,
  COLUMN_TITLE,
  N_COLUMNS,
} Column;

static const char *const column_names[N_COLUMNS] = {
  "email", "name", "department", "team", "title",
};

static const glong column_max[N_COLUMNS] = {
  PURSER_WIRE_EMAIL_MAX, PURSER_WIRE_NAME_MAX, PURSER_WIRE_NAME_MAX,
  PURSER_WIRE_NAME_MAX,  PURSER_WIRE_NAME_MAX,
};

/* A department or team the file names: one that exists, or one to create. */
typedef struct _Unit Unit;
struct _Unit
{
  char *id;
  char *name;
  Unit *parent; /* a team's department */
  gboolean created;
  GHashTable *teams; /* departments: folded name → Unit (borrowed) */
};

static void
unit_free (Unit *unit)
{
  g_free (unit->id);
  g_free (unit->name);
  g_clear_pointer (&unit->teams, g_hash_table_unref);
  g_free (unit);
}

typedef struct
{
  guint line;
  char *values[N_COLUMNS];        /* trimmed; NULL when absent or empty */
  PurserEmployeeRecord *existing; /* borrowed from Import.employees */
  char *department_id;            /* where the employee ends up */
  const char *top_id;
  gboolean changed;
  gboolean name_changed;
  gboolean title_changed;
  gboolean department_changed;
} Row;

static void
row_free (Row *row)
{
  for (guint i = 0; i < N_COLUMNS; i++)
    g_free (row->values[i]);
  g_free (row->department_id);
  g_free (row);
}

typedef struct
{
  PurserdCall *call;
  int columns[N_COLUMNS]; /* field index, or -1 */
  GPtrArray *rows;        /* Row */
  JsonArray *errors;      /* {"line", "field", "message"} */
  guint n_errors;

  GArray *departments;          /* PurserDepartmentRecord */
  GHashTable *department_by_id; /* id → record (borrowed) */
  GHashTable *top_by_id;        /* id → top-level id (borrowed) */
  GPtrArray *units;             /* Unit, owned */
  GHashTable *tops;             /* folded name → Unit */
  GHashTable *unit_by_id;       /* id → Unit */
  GPtrArray *created;           /* Unit to create, in order (borrowed) */

  GArray *employees;    /* PurserEmployeeRecord */
  GHashTable *by_email; /* lower-cased e-mail → record (borrowed) */
} Import;

static void
import_clear (Import *import)
{
  g_clear_pointer (&import->rows, g_ptr_array_unref);
  g_clear_pointer (&import->errors, json_array_unref);
  g_clear_pointer (&import->department_by_id, g_hash_table_unref);
  g_clear_pointer (&import->top_by_id, g_hash_table_unref);
  g_clear_pointer (&import->tops, g_hash_table_unref);
  g_clear_pointer (&import->unit_by_id, g_hash_table_unref);
  g_clear_pointer (&import->created, g_ptr_array_unref);
  g_clear_pointer (&import->units, g_ptr_array_unref);
  g_clear_pointer (&import->departments, g_array_unref);
  g_clear_pointer (&import->by_email, g_hash_table_unref);
  g_clear_pointer (&import->employees, g_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Import, import_clear)

static void add_error (Import *import, guint line, const char *field, const char *format, ...)
    G_GNUC_PRINTF (4, 5);

static void
add_error (Import *import, guint line, const char *field, const char *format, ...)
{
  g_autofree char *message = NULL;
  JsonObject *error;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  error = json_object_new ();
  json_object_set_int_member (error, "line", line);
  if (field != NULL)
    json_object_set_string_member (error, "field", field);
  else
    json_object_set_null_member (error, "field");
  json_object_set_string_member (error, "message", message);
  json_array_add_object_element (import->errors, error);
  import->n_errors++;
}

/* 422 invalid_csv: the envelope plus every error found; nothing was written. */
static void reply_invalid (Import *import, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
reply_invalid (Import *import, const char *format, ...)
{
  g_autoptr (JsonBuilder) b = json_builder_new_immutable ();
  g_autofree char *message = NULL;
  JsonNode *errors;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "error");
  json_builder_begin_object (b);
  purser_wire_add_string (b, "code", "invalid_csv");
  purser_wire_add_string (b, "message", message);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "errors");
  errors = json_node_new (JSON_NODE_ARRAY);
  json_node_take_array (errors, g_steal_pointer (&import->errors));
  json_builder_add_value (b, errors);
  json_builder_end_object (b);
  purserd_call_reply (import->call, 422, b);
}

static gboolean
has_control_characters (const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      return TRUE;
  return FALSE;
}

/* The header: known columns in any order and capitalisation, email and name required. */
static gboolean
read_header (Import *import, const PurserdCsvRow *header)
{
  g_autoptr (GString) unknown = g_string_new (NULL);

  for (guint c = 0; c < N_COLUMNS; c++)
    import->columns[c] = -1;
  for (guint i = 0; i < header->n_fields; i++)
    {
      g_autofree char *trimmed = g_strstrip (g_strdup (header->fields[i]));
      g_autofree char *name = g_ascii_strdown (trimmed, -1);
      gboolean known = FALSE;

      for (guint c = 0; c < N_COLUMNS && !known; c++)
        {
          if (!g_str_equal (name, column_names[c]))
            continue;
          known = TRUE;
          if (import->columns[c] >= 0)
            add_error (import, header->line, column_names[c],
                       "The column \"%s\" appears twice in the header.", column_names[c]);
          import->columns[c] = (int) i;
        }
      if (known)
        continue;
      if (name[0] == '\0')
        add_error (import, header->line, NULL, "Column %u of the header has no name.", i + 1);
      else
        add_error (import, header->line, header->fields[i], "Unknown column \"%s\".",
                   header->fields[i]);
      g_string_append_printf (unknown, "%s\"%s\"", unknown->len > 0 ? ", " : "", header->fields[i]);
    }
  for (guint c = COLUMN_EMAIL; c <= COLUMN_NAME; c++)
    if (import->columns[c] < 0)
      add_error (import, header->line, column_names[c], "The column \"%s\" is required.",
                 column_names[c]);
  if (import->columns[COLUMN_TEAM] >= 0 && import->columns[COLUMN_DEPARTMENT] < 0)
    add_error (import, header->line, "team",
               "The column \"team\" needs the column \"department\" (a team belongs to a "
               "department).");

  if (import->n_errors == 0)
    return TRUE;
  if (unknown->len > 0)
    reply_invalid (import,
                   "Unknown columns %s; the columns are email, name, department, team and "
                   "title (the first line of the file names them).",
                   unknown->str);
  else
    reply_invalid (import,
                   "The header is not valid; the columns are email, name, department, team and "
                   "title (email and name are required).");
  return FALSE;
}

/* Checks every record, keeping the valid ones as rows and an error for each problem. */
static void
read_rows (Import *import, GPtrArray *records, guint n_columns)
{
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  import->rows = g_ptr_array_new_full (records->len, (GDestroyNotify) row_free);
  for (guint r = 1; r < records->len; r++)
    {
      const PurserdCsvRow *record = g_ptr_array_index (records, r);
      Row *row;
      gboolean ok = TRUE;
      char *key;
      gpointer first;

      if (record->n_fields != n_columns)
        {
          add_error (import, record->line, NULL, "Line %u has %u %s; the header has %u.",
                     record->line, record->n_fields,
                     purser_plural (record->n_fields, "field", "fields"), n_columns);
          continue;
        }

      row = g_new0 (Row, 1);
      row->line = record->line;
      for (guint c = 0; c < N_COLUMNS; c++)
        {
          char *value;

          if (import->columns[c] < 0)
            continue;
          value = g_strstrip (g_strdup (record->fields[import->columns[c]]));
          if (value[0] == '\0')
            {
              g_free (value);
              continue;
            }
          row->values[c] = value;
          if (g_utf8_strlen (value, -1) > column_max[c])
            {
              add_error (import, record->line, column_names[c],
                         "The %s is longer than %ld characters.", column_names[c], column_max[c]);
              ok = FALSE;
            }
          else if (has_control_characters (value))
            {
              add_error (import, record->line, column_names[c],
                         "The %s contains a line break or another control character.",
                         column_names[c]);
              ok = FALSE;
            }
        }

      if (row->values[COLUMN_EMAIL] == NULL)
        {
          add_error (import, record->line, "email", "The e-mail address is missing.");
          ok = FALSE;
        }
      else if (ok && !purserd_email_is_valid (row->values[COLUMN_EMAIL]))
        {
          add_error (import, record->line, "email", "\"%s\" is not an e-mail address.",
                     row->values[COLUMN_EMAIL]);
          ok = FALSE;
        }
      if (row->values[COLUMN_NAME] == NULL)
        {
          add_error (import, record->line, "name", "The name is missing.");
          ok = FALSE;
        }
      if (row->values[COLUMN_TEAM] != NULL && row->values[COLUMN_DEPARTMENT] == NULL)
        {
          add_error (import, record->line, "team",
                     "The team \"%s\" needs a department (a team belongs to a department).",
                     row->values[COLUMN_TEAM]);
          ok = FALSE;
        }

      if (row->values[COLUMN_EMAIL] != NULL)
        {
          /* The database compares e-mails ignoring ASCII case; so does the file. */
          key = g_ascii_strdown (row->values[COLUMN_EMAIL], -1);
          if (g_hash_table_lookup_extended (seen, key, NULL, &first))
            {
              add_error (import, record->line, "email", "%s is already on line %u of the file.",
                         row->values[COLUMN_EMAIL], GPOINTER_TO_UINT (first));
              ok = FALSE;
              g_free (key);
            }
          else
            g_hash_table_insert (seen, key, GUINT_TO_POINTER (record->line));
        }

      if (ok)
        g_ptr_array_add (import->rows, row);
      else
        row_free (row);
    }
}

static Unit *
unit_new (Import *import, const char *id, const char *name, Unit *parent, gboolean created)
{
  Unit *unit = g_new0 (Unit, 1);

  unit->id = g_strdup (id);
  unit->name = g_strdup (name);
  unit->parent = parent;
  unit->created = created;
  if (parent == NULL)
    unit->teams = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_ptr_array_add (import->units, unit);
  g_hash_table_insert (import->unit_by_id, unit->id, unit);
  if (parent != NULL)
    g_hash_table_insert (parent->teams, purserd_scope_name_key (name), unit);
  else
    g_hash_table_insert (import->tops, purserd_scope_name_key (name), unit);
  return unit;
}

static gboolean
load_state (Import *import)
{
  PurserdCall *call = import->call;
  PurserEmployeeFilter filter = { .limit = G_MAXINT - 1, .licensed = -1 };
  g_autoptr (GError) error = NULL;

  if ((import->departments = purserd_scope_load_departments (call)) == NULL)
    return FALSE;
  import->department_by_id = g_hash_table_new (g_str_hash, g_str_equal);
  import->top_by_id = g_hash_table_new (g_str_hash, g_str_equal);
  import->units = g_ptr_array_new_with_free_func ((GDestroyNotify) unit_free);
  import->tops = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  import->unit_by_id = g_hash_table_new (g_str_hash, g_str_equal);
  import->created = g_ptr_array_new ();

  for (guint i = 0; i < import->departments->len; i++)
    {
      PurserDepartmentRecord *dept
          = &g_array_index (import->departments, PurserDepartmentRecord, i);

      g_hash_table_insert (import->department_by_id, dept->id, dept);
    }
  for (guint i = 0; i < import->departments->len; i++)
    {
      PurserDepartmentRecord *dept
          = &g_array_index (import->departments, PurserDepartmentRecord, i);
      PurserDepartmentRecord *top = dept;

      for (guint steps = 0; top->parent_id != NULL && steps <= import->departments->len; steps++)
        {
          PurserDepartmentRecord *parent
              = g_hash_table_lookup (import->department_by_id, top->parent_id);
          if (parent == NULL)
            break;
          top = parent;
        }
      g_hash_table_insert (import->top_by_id, dept->id, top->id);
      if (dept->parent_id == NULL)
        unit_new (import, dept->id, dept->name, NULL, FALSE);
    }
  /* Teams directly under a department are what the "team" column names. */
  for (guint i = 0; i < import->departments->len; i++)
    {
      PurserDepartmentRecord *dept
          = &g_array_index (import->departments, PurserDepartmentRecord, i);
      Unit *parent;

      if (dept->parent_id == NULL)
        continue;
      parent = g_hash_table_lookup (import->unit_by_id, dept->parent_id);
      if (parent != NULL && parent->parent == NULL)
        unit_new (import, dept->id, dept->name, parent, FALSE);
    }

  import->employees = purser_employee_records_new ();
  if (!purser_store_employee_list (call->db, purserd_call_org_id (call), &filter, import->employees,
                                   NULL, &error))
    {
      purserd_call_fail (call, error);
      return FALSE;
    }
  import->by_email = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < import->employees->len; i++)
    {
      PurserEmployeeRecord *e = &g_array_index (import->employees, PurserEmployeeRecord, i);

      g_hash_table_insert (import->by_email, g_ascii_strdown (e->email, -1), e);
    }
  return TRUE;
}

static Unit *
find_or_plan_unit (Import *import, Unit *parent, const char *name)
{
  g_autofree char *key = purserd_scope_name_key (name);
  GHashTable *siblings = parent != NULL ? parent->teams : import->tops;
  Unit *unit = g_hash_table_lookup (siblings, key);
  g_autofree char *id = NULL;

  if (unit != NULL)
    return unit;
  id = purser_db_new_id ("dep");
  unit = unit_new (import, id, name, parent, TRUE);
  g_ptr_array_add (import->created, unit);
  return unit;
}

static const char *
top_of (Import *import, const char *department_id)
{
  Unit *unit;

  if (department_id == NULL)
    return NULL;
  unit = g_hash_table_lookup (import->unit_by_id, department_id);
  if (unit != NULL && unit->created)
    return unit->parent != NULL ? unit->parent->id : unit->id;
  return g_hash_table_lookup (import->top_by_id, department_id);
}

/* Department and team names of a department id, as the file would write them. */
static void
names_of (Import *import, const char *department_id, const char **department, const char **team)
{
  Unit *unit = department_id ? g_hash_table_lookup (import->unit_by_id, department_id) : NULL;
  const PurserDepartmentRecord *dept;
  const PurserDepartmentRecord *top;

  *department = *team = NULL;
  if (unit != NULL)
    {
      *department = unit->parent != NULL ? unit->parent->name : unit->name;
      *team = unit->parent != NULL ? unit->name : NULL;
      return;
    }
  /* Deeper levels: the top-level department, and the department itself as the team. */
  dept = department_id ? g_hash_table_lookup (import->department_by_id, department_id) : NULL;
  if (dept == NULL)
    return;
  top = g_hash_table_lookup (import->department_by_id, top_of (import, department_id));
  *department = top != NULL ? top->name : NULL;
  *team = top != dept ? dept->name : NULL;
}

/* Where the row puts the employee and what changes for someone who exists. */
static void
plan_row (Import *import, Row *row)
{
  const PurserEmployeeRecord *e;
  const char *department = row->values[COLUMN_DEPARTMENT];
  const char *team = row->values[COLUMN_TEAM];

  g_autofree char *key = g_ascii_strdown (row->values[COLUMN_EMAIL], -1);

  row->existing = g_hash_table_lookup (import->by_email, key);
  e = row->existing;

  if (import->columns[COLUMN_DEPARTMENT] < 0)
    row->department_id = e != NULL ? g_strdup (e->department_id) : NULL;
  else if (department == NULL)
    row->department_id = NULL;
  else
    {
      Unit *top = find_or_plan_unit (import, NULL, department);

      if (team != NULL)
        row->department_id = g_strdup (find_or_plan_unit (import, top, team)->id);
      else if (import->columns[COLUMN_TEAM] < 0 && e != NULL && e->department_id != NULL
               && g_strcmp0 (top_of (import, e->department_id), top->id) == 0)
        /* Without a team column, people stay in their team within the department. */
        row->department_id = g_strdup (e->department_id);
      else
        row->department_id = g_strdup (top->id);
    }
  row->top_id = top_of (import, row->department_id);

  if (e == NULL)
    {
      row->changed = TRUE;
      return;
    }
  row->name_changed = g_strcmp0 (e->name, row->values[COLUMN_NAME]) != 0;
  row->title_changed
      = import->columns[COLUMN_TITLE] >= 0 && g_strcmp0 (e->title, row->values[COLUMN_TITLE]) != 0;
  row->department_changed = g_strcmp0 (e->department_id, row->department_id) != 0;
  row->changed = row->name_changed || row->title_changed || row->department_changed;
}

/* Licensed people the file moves to another department take their seats along. */
static gboolean
check_import_seats (Import *import)
{
  g_auto (PurserdSeats) seats = { 0 };
  gboolean moves = FALSE;

  if (!purserd_seats_load (import->call, &seats))
    return FALSE;
  for (guint i = 0; i < import->rows->len; i++)
    {
      const Row *row = g_ptr_array_index (import->rows, i);
      const char *old_top;

      if (row->existing == NULL || !row->existing->licensed || !row->department_changed)
        continue;
      old_top = top_of (import, row->existing->department_id);
      if (g_strcmp0 (old_top, row->top_id) == 0)
        continue;
      /* A department the file creates has no allocation: it draws on the pool. */
      purserd_seats_group (&seats, old_top)->assigned--;
      purserd_seats_group (&seats, row->top_id)->assigned++;
      moves = TRUE;
    }
  return !moves || purserd_seats_check (import->call, &seats, PURSER_SEAT_CHANGE_LICENSES, NULL);
}

static void
add_change (JsonBuilder *b, const char *member, const char *from, const char *to)
{
  json_builder_set_member_name (b, member);
  json_builder_begin_object (b);
  purser_wire_add_string (b, "from", from);
  purser_wire_add_string (b, "to", to);
  json_builder_end_object (b);
}

static void
reply_plan (Import *import, gboolean dry_run)
{
  g_autoptr (JsonBuilder) b = json_builder_new_immutable ();
  guint n_create = 0, n_update = 0, n_unchanged = 0;

  for (guint i = 0; i < import->rows->len; i++)
    {
      const Row *row = g_ptr_array_index (import->rows, i);

      if (row->existing == NULL)
        n_create++;
      else if (row->changed)
        n_update++;
      else
        n_unchanged++;
    }

  json_builder_begin_object (b);
  purser_wire_add_bool (b, "dry_run", dry_run);
  json_builder_set_member_name (b, "summary");
  json_builder_begin_object (b);
  purser_wire_add_int (b, "create", n_create);
  purser_wire_add_int (b, "update", n_update);
  purser_wire_add_int (b, "unchanged", n_unchanged);
  purser_wire_add_int (b, "departments_created", import->created->len);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "create");
  json_builder_begin_array (b);
  for (guint i = 0; i < import->rows->len; i++)
    {
      const Row *row = g_ptr_array_index (import->rows, i);
      const char *department, *team;

      if (row->existing != NULL)
        continue;
      names_of (import, row->department_id, &department, &team);
      json_builder_begin_object (b);
      purser_wire_add_int (b, "line", row->line);
      purser_wire_add_string (b, "email", row->values[COLUMN_EMAIL]);
      purser_wire_add_string (b, "name", row->values[COLUMN_NAME]);
      purser_wire_add_string (b, "department", department);
      purser_wire_add_string (b, "team", team);
      purser_wire_add_string (b, "title", row->values[COLUMN_TITLE]);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "update");
  json_builder_begin_array (b);
  for (guint i = 0; i < import->rows->len; i++)
    {
      const Row *row = g_ptr_array_index (import->rows, i);
      const PurserEmployeeRecord *e = row->existing;

      if (e == NULL || !row->changed)
        continue;
      json_builder_begin_object (b);
      purser_wire_add_int (b, "line", row->line);
      purser_wire_add_string (b, "id", e->id);
      purser_wire_add_string (b, "email", e->email);
      json_builder_set_member_name (b, "changes");
      json_builder_begin_object (b);
      if (row->name_changed)
        add_change (b, "name", e->name, row->values[COLUMN_NAME]);
      if (row->department_changed)
        {
          const char *from_department, *from_team, *to_department, *to_team;

          names_of (import, e->department_id, &from_department, &from_team);
          names_of (import, row->department_id, &to_department, &to_team);
          if (g_strcmp0 (top_of (import, e->department_id), row->top_id) != 0)
            add_change (b, "department", from_department, to_department);
          if (g_strcmp0 (from_team, to_team) != 0
              || g_strcmp0 (top_of (import, e->department_id), row->top_id) == 0)
            add_change (b, "team", from_team, to_team);
        }
      if (row->title_changed)
        add_change (b, "title", e->title, row->values[COLUMN_TITLE]);
      json_builder_end_object (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "departments_created");
  json_builder_begin_array (b);
  for (guint i = 0; i < import->created->len; i++)
    {
      const Unit *unit = g_ptr_array_index (import->created, i);

      json_builder_begin_object (b);
      purser_wire_add_string (b, "name", unit->name);
      purser_wire_add_string (b, "parent", unit->parent != NULL ? unit->parent->name : NULL);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "errors");
  json_builder_begin_array (b);
  json_builder_end_array (b);
  json_builder_end_object (b);
  purserd_call_reply (import->call, 200, b);
}

static gboolean
event (Import *import, const char *type, const char *entity_type, const char *entity_id,
       const char *department_id, JsonNode *before, JsonNode *after)
{
  return purserd_call_event (import->call, type, entity_type, entity_id, department_id, before,
                             after);
}

/* Writes the plan with the events the single-row routes write. */
static gboolean
apply_plan (Import *import)
{
  PurserdCall *call = import->call;
  const char *org_id = purserd_call_org_id (call);
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < import->created->len; i++)
    {
      const Unit *unit = g_ptr_array_index (import->created, i);
      PurserDepartmentRecord dept = {
        .id = unit->id,
        .org_id = (char *) org_id,
        .parent_id = unit->parent != NULL ? unit->parent->id : NULL,
        .name = unit->name,
        .seat_allocation = -1,
        .created_at = call->now,
      };
      g_autoptr (JsonNode) after = purserd_json_department (&dept);

      if (!purser_store_department_insert (call->db, &dept, &error))
        {
          purserd_call_fail (call, error);
          return FALSE;
        }
      if (!event (import, "department.created", "department", dept.id, unit->id, NULL, after))
        return FALSE;
    }

  for (guint i = 0; i < import->rows->len; i++)
    {
      Row *row = g_ptr_array_index (import->rows, i);
      g_auto (PurserEmployeeRecord) employee = { 0 };
      g_autoptr (JsonNode) before = NULL;
      g_autoptr (JsonNode) after = NULL;

      if (row->existing == NULL)
        {
          employee = (PurserEmployeeRecord){
            .id = purser_db_new_id ("emp"),
            .org_id = g_strdup (org_id),
            .email = g_strdup (row->values[COLUMN_EMAIL]),
            .name = g_strdup (row->values[COLUMN_NAME]),
            .department_id = g_strdup (row->department_id),
            .title = g_strdup (row->values[COLUMN_TITLE]),
            .status = g_strdup ("active"),
            .created_at = call->now,
          };
          after = purserd_json_employee (&employee);
          if (!purser_store_employee_insert (call->db, &employee, &error))
            {
              purserd_call_fail (call, error);
              return FALSE;
            }
          if (!event (import, "employee.created", "employee", employee.id, row->department_id, NULL,
                      after))
            return FALSE;
          continue;
        }
      if (!row->changed)
        continue;

      employee_copy (row->existing, &employee);
      set_str (&employee.name, row->values[COLUMN_NAME]);
      set_str (&employee.department_id, row->department_id);
      if (import->columns[COLUMN_TITLE] >= 0)
        set_str (&employee.title, row->values[COLUMN_TITLE]);
      before = purserd_json_employee (row->existing);
      after = purserd_json_employee (&employee);
      if (!purser_store_employee_update (call->db, &employee, &error))
        {
          purserd_call_fail (call, error);
          return FALSE;
        }
      if (!event (import, "employee.updated", "employee", employee.id, row->department_id, before,
                  after))
        return FALSE;
    }
  return TRUE;
}

static gboolean
read_dry_run (PurserdCall *call, gboolean *dry_run)
{
  const char *text = purserd_request_query (call->request, "dry_run");

  *dry_run = FALSE;
  if (text == NULL || g_str_equal (text, "false") || g_str_equal (text, "0"))
    return TRUE;
  if (g_str_equal (text, "true") || g_str_equal (text, "1") || text[0] == '\0')
    {
      *dry_run = TRUE;
      return TRUE;
    }
  purserd_call_error (call, 400, "invalid_request", "dry_run", "dry_run must be true or false.");
  return FALSE;
}

static void
employees_import (PurserdCall *call)
{
  g_auto (Import) import = { .call = call };
  g_autoptr (GPtrArray) records = NULL;
  g_autoptr (GError) error = NULL;
  GByteArray *body = call->request->body;
  const PurserdCsvRow *header;
  gboolean dry_run;
  guint line = 0;

  if (!read_dry_run (call, &dry_run))
    return;

  import.errors = json_array_new ();

  records = purserd_csv_parse ((const char *) body->data, body->len, PURSERD_CSV_DEFAULT, &line,
                               &error);
  if (records == NULL)
    {
      add_error (&import, line, NULL, "%s", error->message);
      reply_invalid (&import, "The file is not valid CSV: %s Nothing was imported.",
                     error->message);
      return;
    }
  if (records->len == 0)
    {
      add_error (&import, 1, NULL, "The file is empty.");
      reply_invalid (&import, "The file is empty; its first line names the columns: email, "
                              "name, department, team, title.");
      return;
    }
  if (records->len - 1 > IMPORT_ROWS_MAX)
    {
      add_error (&import, 1, NULL, "The file has %u rows; at most %d can be imported at once.",
                 records->len - 1, IMPORT_ROWS_MAX);
      reply_invalid (&import, "The file has more than %d rows; split it into several files.",
                     IMPORT_ROWS_MAX);
      return;
    }

  header = g_ptr_array_index (records, 0);
  if (!read_header (&import, header))
    return;
  read_rows (&import, records, header->n_fields);
  if (import.n_errors > 0)
    {
      reply_invalid (&import,
                     "%u %s of the file %s errors; nothing was imported. Fix %s and "
                     "import the file again.",
                     import.n_errors, purser_plural (import.n_errors, "line", "lines"),
                     import.n_errors == 1 ? "has" : "have", import.n_errors == 1 ? "it" : "them");
      return;
    }
  g_clear_pointer (&records, g_ptr_array_unref);

  if (!load_state (&import))
    return;
  for (guint i = 0; i < import.rows->len; i++)
    plan_row (&import, g_ptr_array_index (import.rows, i));
  if (!check_import_seats (&import))
    return;
  if (!dry_run && !apply_plan (&import))
    return;
  reply_plan (&import, dry_run);
}

const PurserdRoute purserd_employee_routes[] = {
  { "GET", "/v1/orgs/{org}/employees", PURSERD_AUTH_USER, PURSERD_ROLES_STAFF, employees_list },
  { "POST", "/v1/orgs/{org}/employees", PURSERD_AUTH_USER,
    PURSERD_ROLE_ADMIN | PURSERD_ROLE_MANAGER, employee_create },
  { "POST", "/v1/orgs/{org}/employees/import", PURSERD_AUTH_USER, PURSERD_ROLE_ADMIN,
    employees_import },
  { "GET", "/v1/orgs/{org}/employees/{id}", PURSERD_AUTH_USER, PURSERD_ROLES_ALL, employee_get },
  { "PATCH", "/v1/orgs/{org}/employees/{id}", PURSERD_AUTH_USER,
    PURSERD_ROLE_ADMIN | PURSERD_ROLE_MANAGER, employee_update },
  { NULL },
};
