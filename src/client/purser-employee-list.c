/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "purser-cache-private.h"
#include "purser-employee-list.h"

struct _PurserEmployeeList
{
  GObject parent_instance;

  char *cache_path;
  GPtrArray *items;
};

static void list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (PurserEmployeeList, purser_employee_list, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

/* An employee's department is a team when it has a parent: the parent is the department
 * then. */
static const char employees_sql[]
    = "SELECT e.id, e.name, e.email, IFNULL (p.name, d.name), IIF (p.id IS NULL, NULL, d.name),"
      "       e.status, IFNULL (json_extract (e.json, '$.licensed'), 0)"
      "  FROM resources e"
      "  LEFT JOIN resources d ON d.type = 'department' AND d.id = e.department_id"
      "  LEFT JOIN resources p ON p.type = 'department' AND p.id = d.parent_id"
      " WHERE e.type = 'employee'"
      " ORDER BY e.name COLLATE NOCASE, e.id";

/* ── helpers ───────────────────────────────────────────────────────────────────── */

static void
load_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  const char *path = task_data;
  g_autoptr (PurserCache) cache = NULL;
  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  GError *error = NULL;
  sqlite3_stmt *stmt;
  int rc;

  cache = purser_cache_open (path, &error);
  if (cache == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  stmt = purser_db_prepare (purser_cache_get_db (cache), employees_sql, NULL);
  g_assert (stmt != NULL);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (items, purser_employee_item_new ((const char *) sqlite3_column_text (stmt, 0),
                                                      (const char *) sqlite3_column_text (stmt, 1),
                                                      (const char *) sqlite3_column_text (stmt, 2),
                                                      (const char *) sqlite3_column_text (stmt, 3),
                                                      (const char *) sqlite3_column_text (stmt, 4),
                                                      (const char *) sqlite3_column_text (stmt, 5),
                                                      sqlite3_column_int (stmt, 6) != 0));
  if (rc != SQLITE_DONE)
    {
      g_task_return_new_error (task, PURSER_CLIENT_ERROR, PURSER_CLIENT_ERROR_CACHE,
                               "Could not read the saved employees in %s: %s.", path,
                               sqlite3_errmsg (sqlite3_db_handle (stmt)));
      sqlite3_reset (stmt);
      return;
    }
  g_task_return_pointer (task, g_steal_pointer (&items), (GDestroyNotify) g_ptr_array_unref);
}

/* ── GListModel ────────────────────────────────────────────────────────────────── */

static GType
get_item_type (GListModel *model)
{
  return PURSER_TYPE_EMPLOYEE_ITEM;
}

static guint
get_n_items (GListModel *model)
{
  return PURSER_EMPLOYEE_LIST (model)->items->len;
}

static gpointer
get_item (GListModel *model, guint position)
{
  PurserEmployeeList *self = PURSER_EMPLOYEE_LIST (model);

  if (position >= self->items->len)
    return NULL;
  return g_object_ref (g_ptr_array_index (self->items, position));
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = get_item_type;
  iface->get_n_items = get_n_items;
  iface->get_item = get_item;
}

/* ── overrides ─────────────────────────────────────────────────────────────────── */

static void
purser_employee_list_finalize (GObject *object)
{
  PurserEmployeeList *self = PURSER_EMPLOYEE_LIST (object);

  g_clear_pointer (&self->items, g_ptr_array_unref);
  g_free (self->cache_path);
  G_OBJECT_CLASS (purser_employee_list_parent_class)->finalize (object);
}

static void
purser_employee_list_class_init (PurserEmployeeListClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = purser_employee_list_finalize;
}

static void
purser_employee_list_init (PurserEmployeeList *self)
{
  self->items = g_ptr_array_new_with_free_func (g_object_unref);
}

/* ── public API ────────────────────────────────────────────────────────────────── */

PurserEmployeeList *
purser_employee_list_new (const char *cache_path)
{
  PurserEmployeeList *self;

  g_return_val_if_fail (cache_path != NULL, NULL);

  self = g_object_new (PURSER_TYPE_EMPLOYEE_LIST, NULL);
  self->cache_path = g_strdup (cache_path);
  return self;
}

void
purser_employee_list_reload_async (PurserEmployeeList *self, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (PURSER_IS_EMPLOYEE_LIST (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, purser_employee_list_reload_async);
  g_task_set_task_data (task, g_strdup (self->cache_path), g_free);
  g_task_run_in_thread (task, load_thread);
}

gboolean
purser_employee_list_reload_finish (PurserEmployeeList *self, GAsyncResult *result, GError **error)
{
  g_autoptr (GPtrArray) items = NULL;
  guint removed;

  g_return_val_if_fail (PURSER_IS_EMPLOYEE_LIST (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (
      g_task_get_source_tag (G_TASK (result)) == purser_employee_list_reload_async, FALSE);

  items = g_task_propagate_pointer (G_TASK (result), error);
  if (items == NULL)
    return FALSE;
  removed = self->items->len;
  g_ptr_array_unref (self->items);
  self->items = g_steal_pointer (&items);
  g_list_model_items_changed (G_LIST_MODEL (self), 0, removed, self->items->len);
  return TRUE;
}
