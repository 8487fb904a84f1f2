/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "purserd-scope.h"

static GHashTable *
id_set_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

/* parent id → GPtrArray of child ids (borrowed from the records). */
static GHashTable *
children_index (const GArray *departments)
{
  GHashTable *children
      = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) g_ptr_array_unref);

  for (guint i = 0; i < departments->len; i++)
    {
      const PurserDepartmentRecord *dept = &g_array_index (departments, PurserDepartmentRecord, i);
      GPtrArray *list;

      if (dept->parent_id == NULL)
        continue;
      list = g_hash_table_lookup (children, dept->parent_id);
      if (list == NULL)
        {
          list = g_ptr_array_new ();
          g_hash_table_insert (children, dept->parent_id, list);
        }
      g_ptr_array_add (list, dept->id);
    }
  return children;
}

/* Breadth first; the set itself stops a (corrupt) cycle from looping forever. */
static void
add_subtree (GHashTable *set, GHashTable *children, const char *root_id)
{
  g_autoptr (GPtrArray) queue = g_ptr_array_new ();

  if (!g_hash_table_add (set, g_strdup (root_id)))
    return;
  g_ptr_array_add (queue, (gpointer) root_id);
  for (guint i = 0; i < queue->len; i++)
    {
      GPtrArray *list = g_hash_table_lookup (children, g_ptr_array_index (queue, i));

      for (guint j = 0; list != NULL && j < list->len; j++)
        {
          const char *child = g_ptr_array_index (list, j);

          if (g_hash_table_add (set, g_strdup (child)))
            g_ptr_array_add (queue, (gpointer) child);
        }
    }
}

GHashTable *
purserd_scope_departments (PurserdCall *call, gboolean *failed)
{
  g_autoptr (GArray) departments = NULL;
  g_autoptr (GHashTable) children = NULL;
  g_autoptr (GError) error = NULL;
  GHashTable *set;

  g_return_val_if_fail (call != NULL && failed != NULL, NULL);

  *failed = FALSE;
  if (call->is_operator || call->user == NULL
      || (call->role & (PURSERD_ROLE_ADMIN | PURSERD_ROLE_EXECUTIVE)) != 0)
    return NULL;

  /* Employees manage nothing: an empty set, never "everything". */
  set = id_set_new ();
  if (call->role != PURSERD_ROLE_MANAGER || call->user->department_ids == NULL
      || call->user->department_ids->len == 0)
    return set;

  departments = purser_department_records_new ();
  if (!purser_store_department_list (call->db, call->user->org_id, departments, &error))
    {
      g_hash_table_unref (set);
      purserd_call_fail (call, error);
      *failed = TRUE;
      return NULL;
    }
  children = children_index (departments);
  for (guint i = 0; i < call->user->department_ids->len; i++)
    add_subtree (set, children, g_ptr_array_index (call->user->department_ids, i));
  return set;
}

GHashTable *
purserd_scope_subtree (const GArray *departments, const char *root_id)
{
  g_autoptr (GHashTable) children = NULL;
  GHashTable *set;

  g_return_val_if_fail (departments != NULL && root_id != NULL, NULL);

  set = id_set_new ();
  children = children_index (departments);
  add_subtree (set, children, root_id);
  return set;
}

GArray *
purserd_scope_load_departments (PurserdCall *call)
{
  g_autoptr (GArray) departments = purser_department_records_new ();
  g_autoptr (GError) error = NULL;

  if (!purser_store_department_list (call->db, purserd_call_org_id (call), departments, &error))
    {
      purserd_call_fail (call, error);
      return NULL;
    }
  return g_steal_pointer (&departments);
}

char *
purserd_scope_name_key (const char *name)
{
  g_autofree char *normal = g_utf8_normalize (name, -1, G_NORMALIZE_DEFAULT_COMPOSE);

  return g_utf8_casefold (normal != NULL ? normal : name, -1);
}

const PurserDepartmentRecord *
purserd_scope_find_department (const GArray *departments, const char *id)
{
  for (guint i = 0; id != NULL && i < departments->len; i++)
    {
      const PurserDepartmentRecord *dept = &g_array_index (departments, PurserDepartmentRecord, i);

      if (g_str_equal (dept->id, id))
        return dept;
    }
  return NULL;
}

const char *
purserd_scope_top_department (const GArray *departments, const char *department_id)
{
  const PurserDepartmentRecord *dept;

  g_return_val_if_fail (departments != NULL, NULL);

  if (department_id == NULL)
    return NULL;
  dept = purserd_scope_find_department (departments, department_id);
  /* At most one step per department: a corrupt cycle ends the walk instead of hanging. */
  for (guint steps = 0; dept != NULL && dept->parent_id != NULL && steps <= departments->len;
       steps++)
    {
      const PurserDepartmentRecord *parent
          = purserd_scope_find_department (departments, dept->parent_id);

      if (parent == NULL)
        break;
      dept = parent;
    }
  return dept != NULL ? dept->id : NULL;
}
