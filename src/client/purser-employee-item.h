/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* One row of the employees page, as read from the cache. Immutable: a reload makes new
 * items. department is the top-level department, team the sub-department (NULL when the
 * employee is directly in a department, both NULL when in none). */
#define PURSER_TYPE_EMPLOYEE_ITEM (purser_employee_item_get_type ())
G_DECLARE_FINAL_TYPE (PurserEmployeeItem, purser_employee_item, PURSER, EMPLOYEE_ITEM, GObject)

PurserEmployeeItem *purser_employee_item_new (const char *id, const char *name, const char *email,
                                              const char *department, const char *team,
                                              const char *status, gboolean licensed);
const char *purser_employee_item_get_id (PurserEmployeeItem *self);
const char *purser_employee_item_get_name (PurserEmployeeItem *self);
const char *purser_employee_item_get_email (PurserEmployeeItem *self);
const char *purser_employee_item_get_department (PurserEmployeeItem *self);
const char *purser_employee_item_get_team (PurserEmployeeItem *self);
/* "active" or "inactive". */
const char *purser_employee_item_get_status (PurserEmployeeItem *self);
gboolean purser_employee_item_get_licensed (PurserEmployeeItem *self);

G_END_DECLS
