/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gio/gio.h>

#include "purserd-billing.h"
#include "purserd-routes.h"

static void
healthz (PurserdCall *call)
{
  g_autoptr (JsonBuilder) b = json_builder_new_immutable ();

  json_builder_begin_object (b);
  purser_wire_add_string (b, "status", "ok");
  purser_wire_add_string (b, "version", PACKAGE_VERSION);
  purser_wire_add_int (b, "schema_version", purser_db_schema_version (call->db));
  purser_wire_add_time (b, "time", call->now);
  purser_wire_add_bool (b, "test_clock", purserd_server_config (call->server)->test_clock);
  json_builder_end_object (b);
  purserd_call_reply (call, 200, b);
}

static void
openapi (PurserdCall *call)
{
  g_autoptr (GBytes) bytes = NULL;
  gsize length = 0;
  const char *data;

  bytes = g_resources_lookup_data ("/io/github/purser/purserd/openapi.json",
                                   G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  g_assert (bytes != NULL);
  data = g_bytes_get_data (bytes, &length);
  purserd_call_reply_text (call, 200, "application/json; charset=utf-8", data, length);
}

static gboolean
test_clock_enabled (PurserdCall *call)
{
  if (purserd_server_config (call->server)->test_clock)
    return TRUE;
  purserd_call_error (call, 404, "test_clock_disabled", NULL,
                      "The test clock is off; start purserd with --test-clock to use it.");
  return FALSE;
}

static void
reply_clock (PurserdCall *call)
{
  g_autoptr (JsonBuilder) b = json_builder_new_immutable ();

  json_builder_begin_object (b);
  purser_wire_add_time (b, "now", purserd_server_now (call->server));
  json_builder_end_object (b);
  purserd_call_reply (call, 200, b);
}

static void
test_clock_get (PurserdCall *call)
{
  if (test_clock_enabled (call))
    reply_clock (call);
}

static gboolean
clock_settled (gpointer data)
{
  PurserdCall *call = data;

  reply_clock (call);
  purserd_call_finish (call);
  return G_SOURCE_REMOVE;
}

/* Moving the clock runs everything that fell due, in order, exactly once. */
static void
test_clock_set (PurserdCall *call)
{
  PurserWireReader reader;
  g_autoptr (GError) error = NULL;
  gint64 now = 0;

  if (!test_clock_enabled (call) || !purserd_call_read_body (call, &reader))
    return;
  purser_wire_read_time (&reader, "now", TRUE, &now);
  purser_wire_reader_finish (&reader);
  if (purser_wire_reader_failed (&reader))
    purserd_call_reader_error (call, &reader);
  else if (now < purserd_server_now (call->server))
    purserd_call_error (call, 400, "invalid_request", "now",
                        "The test clock only moves forward; it is already later than that.");
  else
    {
      purserd_server_set_now (call->server, now);
      if (!purserd_billing_run (call->server, now, &error))
        purserd_call_fail (call, error);
      else
        {
          /* Answer once the charges, webhooks and mail it caused have run, so a test sees
           * their outcome. */
          purserd_call_defer (call);
          purserd_server_when_idle (call->server, clock_settled, call);
        }
    }
  purser_wire_reader_clear (&reader);
}

const PurserdRoute purserd_ops_routes[] = {
  { "GET", "/healthz", PURSERD_AUTH_NONE, 0, healthz },
  { "GET", "/v1/openapi.json", PURSERD_AUTH_NONE, 0, openapi },
  { "GET", "/v1/test-clock", PURSERD_AUTH_OPERATOR, 0, test_clock_get },
  { "POST", "/v1/test-clock", PURSERD_AUTH_OPERATOR, 0, test_clock_set,
    PURSERD_ROUTE_OWN_TRANSACTIONS },
  { NULL },
};
