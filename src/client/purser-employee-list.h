/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "purser-employee-item.h"

G_BEGIN_DECLS

/* The employees of a cache, by name, as a GListModel of PurserEmployeeItem. Empty until
 * the first reload; a reload reads the cache in a worker thread (its own connection) and
 * replaces the items on the caller's main context, emitting items-changed. Connect
 * PurserSync::changed to a reload to follow the sync. */
#define PURSER_TYPE_EMPLOYEE_LIST (purser_employee_list_get_type ())
G_DECLARE_FINAL_TYPE (PurserEmployeeList, purser_employee_list, PURSER, EMPLOYEE_LIST, GObject)

PurserEmployeeList *purser_employee_list_new (const char *cache_path);

void purser_employee_list_reload_async (PurserEmployeeList *self, GCancellable *cancellable,
                                        GAsyncReadyCallback callback, gpointer user_data);
gboolean purser_employee_list_reload_finish (PurserEmployeeList *self, GAsyncResult *result,
                                             GError **error);

G_END_DECLS
