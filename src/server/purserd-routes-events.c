/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "purserd-json.h"
#include "purserd-routes.h"
#include "purserd-scope.h"

/* The audit log and the feed clients sync from: events in sequence order. A cursor past
 * the end means the client's cache belongs to another database: 410 tells it to resync. */
static void
events_list (PurserdCall *call)
{
  g_autoptr (GHashTable) scope = NULL;
  g_autoptr (GArray) events = purser_event_records_new ();
  g_autoptr (JsonBuilder) b = NULL;
  g_autoptr (GError) error = NULL;
  const char *after_text = purserd_request_query (call->request, "after");
  const char *limit_text = purserd_request_query (call->request, "limit");
  guint64 after = 0, limit = 500;
  gint64 last;
  gboolean failed = FALSE, has_more = FALSE;

  if (after_text != NULL
      && !g_ascii_string_to_unsigned (after_text, 10, 0, G_MAXINT64, &after, NULL))
    {
      purserd_call_error (call, 400, "invalid_request", "after",
                          "after must be the seq of the last event you have (0 to start).");
      return;
    }
  if (limit_text != NULL && !g_ascii_string_to_unsigned (limit_text, 10, 1, 5000, &limit, NULL))
    {
      purserd_call_error (call, 400, "invalid_request", "limit",
                          "limit must be a whole number from 1 to 5000.");
      return;
    }
  scope = purserd_scope_departments (call, &failed);
  if (failed)
    return;

  last = purser_store_event_last_seq (call->db, purserd_call_org_id (call));
  if ((gint64) after > last)
    {
      purserd_call_error (call, 410, "cursor_unknown", "after",
                          "This server has no event %" G_GUINT64_FORMAT
                          "; the cache belongs to another database. Sync again from 0.",
                          after);
      return;
    }
  if (!purser_store_event_list (call->db, purserd_call_org_id (call), (gint64) after, (int) limit,
                                scope, events, &has_more, &error))
    {
      purserd_call_fail (call, error);
      return;
    }

  b = json_builder_new_immutable ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "data");
  json_builder_begin_array (b);
  for (guint i = 0; i < events->len; i++)
    json_builder_add_value (b, purserd_json_event (&g_array_index (events, PurserEventRecord, i)));
  json_builder_end_array (b);
  purser_wire_add_bool (b, "has_more", has_more);
  purser_wire_add_int (b, "last_seq", last);
  json_builder_end_object (b);
  purserd_call_reply (call, 200, b);
}

const PurserdRoute purserd_event_routes[] = {
  { "GET", "/v1/orgs/{org}/events", PURSERD_AUTH_USER, PURSERD_ROLES_STAFF, events_list },
  { NULL },
};
