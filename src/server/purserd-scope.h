/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "purserd-server.h"

G_BEGIN_DECLS

/* What part of the organization a user may see and act on. Admins and executives see
 * everything; a manager sees the departments they manage and every team below them. */

/* The set (char * → itself, owned) of department ids visible to the caller, or NULL when
 * the caller sees the whole organization. On a storage failure answers the call and
 * returns NULL with *failed set. */
GHashTable *purserd_scope_departments (PurserdCall *call, gboolean *failed);

/* Every department id in the subtree of `root_id` (itself included), from a list of
 * PurserDepartmentRecord. */
GHashTable *purserd_scope_subtree (const GArray *departments, const char *root_id);

/* Every department of the caller's organization (PurserDepartmentRecord), or NULL having
 * answered the call with the storage error. */
GArray *purserd_scope_load_departments (PurserdCall *call);
const PurserDepartmentRecord *purserd_scope_find_department (const GArray *departments,
                                                             const char *id);
/* Department names compare as people read them: "Sales" and "sales" are one name. */
char *purserd_scope_name_key (const char *name);

/* The top-level department above `department_id` (itself when it has no parent), or NULL. */
const char *purserd_scope_top_department (const GArray *departments, const char *department_id);

G_END_DECLS
