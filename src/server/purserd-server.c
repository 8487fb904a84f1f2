/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib-unix.h>
#include <sodium.h>
#include <string.h>

#include "purserd-auth.h"
#include "purserd-billing.h"
#include "purserd-json.h"
#include "purserd-outbox.h"
#include "purserd-payments.h"
#include "purserd-routes.h"
#include "purserd-server.h"
#include "purserd-webhooks.h"

#define IDEMPOTENCY_WINDOW (24 * 60 * 60)
#define TICK_SECONDS       30
#define WORK_TICK_SECONDS  2

struct _PurserdServer
{
  PurserdConfig config;
  PurserDb *db;
  PurserTaxTable *tax;
  PurserdHttp *http;
  GMainLoop *loop;
  gint64 test_now;
  guint tick_id;
  guint work_tick_id;
  PurserdStripe *stripe;
  PurserdMailer *mailer;
  PurserdPayments *payments;
  PurserdWebhooks *webhooks;
  PurserdOutbox *outbox;
  GArray *workers; /* Worker */
  guint kick_id;
  GPtrArray *idle_waiters; /* IdleWaiter* */
};

typedef struct
{
  PurserdWorkerFunc func;
  gpointer data;
  gboolean busy;
} Worker;

typedef struct
{
  GSourceFunc func;
  gpointer data;
} IdleWaiter;

static const PurserdRoute *const route_tables[] = {
  purserd_ops_routes,      purserd_auth_routes,         purserd_org_routes,
  purserd_employee_routes, purserd_subscription_routes, purserd_seat_routes,
  purserd_invoice_routes,  purserd_event_routes,        purserd_payment_routes,
};

/* ── answers ───────────────────────────────────────────────────────────────────── */

const char *
purserd_call_param (PurserdCall *call, const char *name)
{
  return g_hash_table_lookup (call->params, name);
}

const char *
purserd_call_org_id (PurserdCall *call)
{
  return purserd_call_param (call, "org");
}

void
purserd_call_reply_text (PurserdCall *call, guint status, const char *content_type,
                         const char *body, gsize length)
{
  call->response->status = status;
  call->response->content_type = content_type;
  g_clear_pointer (&call->response->body, g_bytes_unref);
  call->response->body = g_bytes_new (body, length);
  if (status >= 400)
    call->failed = TRUE;
}

void
purserd_call_reply (PurserdCall *call, guint status, JsonBuilder *builder)
{
  g_autofree char *body = purser_wire_builder_finish (builder);

  purserd_call_reply_text (call, status, NULL, body, strlen (body));
}

void
purserd_call_error (PurserdCall *call, guint status, const char *code, const char *field,
                    const char *format, ...)
{
  g_autofree char *message = NULL;
  g_autofree char *body = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  body = purser_wire_error_body (code, message, field);
  purserd_call_reply_text (call, status, NULL, body, strlen (body));
}

void
purserd_call_reply_node (PurserdCall *call, guint status, JsonNode *node)
{
  g_autofree char *body = purser_wire_to_string (node);

  purserd_call_reply_text (call, status, NULL, body, strlen (body));
}

gboolean
purserd_call_reader_done (PurserdCall *call, PurserWireReader *reader)
{
  purser_wire_reader_finish (reader);
  if (!purser_wire_reader_failed (reader))
    return TRUE;
  purserd_call_reader_error (call, reader);
  return FALSE;
}

void
purserd_call_fail (PurserdCall *call, const GError *error)
{
  purserd_call_fail_field (call, error, NULL);
}

void
purserd_call_fail_field (PurserdCall *call, const GError *error, const char *field)
{
  if (error->domain == PURSER_STORE_ERROR)
    {
      switch ((PurserStoreError) error->code)
        {
          case PURSER_STORE_ERROR_NOT_FOUND:
            purserd_call_error (call, 404, "not_found", NULL, "%s", error->message);
            return;
          case PURSER_STORE_ERROR_CONFLICT:
            purserd_call_error (call, 409, "conflict", NULL, "%s", error->message);
            return;
          case PURSER_STORE_ERROR_FAILED:
          case PURSER_STORE_ERROR_TOO_NEW:
          default:
            g_warning ("storage: %s", error->message);
            purserd_call_error (call, 503, "storage_unavailable", NULL,
                                "The billing database could not be written. Nothing was changed; "
                                "try again in a moment.");
            return;
        }
    }
  if (error->domain == PURSER_CORE_ERROR)
    {
      switch ((PurserCoreError) error->code)
        {
          case PURSER_CORE_ERROR_SEATS_BELOW_ASSIGNED:
            purserd_call_error (call, 409, "seats_below_assigned", "seats", "%s", error->message);
            return;
          case PURSER_CORE_ERROR_SEATS_BELOW_ALLOCATED:
            purserd_call_error (call, 409, "seats_below_allocated", "seats", "%s", error->message);
            return;
          case PURSER_CORE_ERROR_NOT_ALLOWED:
            purserd_call_error (call, 409, "not_allowed", field, "%s", error->message);
            return;
          case PURSER_CORE_ERROR_NOT_ENOUGH_SEATS:
            purserd_call_error (call, 409, "not_enough_seats", field, "%s", error->message);
            return;
          case PURSER_CORE_ERROR_ALLOCATION_EXCEEDED:
            purserd_call_error (call, 409, "department_allocation_exceeded", field, "%s",
                                error->message);
            return;
          case PURSER_CORE_ERROR_ALLOCATION_BELOW_ASSIGNED:
            purserd_call_error (call, 409, "allocation_below_assigned", field, "%s",
                                error->message);
            return;
          case PURSER_CORE_ERROR_ALLOCATION_EXCEEDS_SEATS:
            purserd_call_error (call, 409, "allocation_exceeds_seats", field, "%s", error->message);
            return;
          case PURSER_CORE_ERROR_NO_CHANGE:
            purserd_call_error (call, 422, "no_change", NULL, "%s", error->message);
            return;
          case PURSER_CORE_ERROR_INVALID:
          default:
            purserd_call_error (call, 422, "invalid_change", NULL, "%s", error->message);
            return;
        }
    }
  if (error->domain == PURSER_WIRE_ERROR)
    {
      purserd_call_error (call, 400,
                          error->code == PURSER_WIRE_ERROR_MALFORMED ? "malformed_json"
                                                                     : "invalid_request",
                          NULL, "%s", error->message);
      return;
    }
  g_warning ("unexpected error: %s", error->message);
  purserd_call_error (call, 503, "unavailable", NULL, "%s", error->message);
}

void
purserd_call_reader_error (PurserdCall *call, PurserWireReader *reader)
{
  purserd_call_error (call, 400, "invalid_request", reader->field, "%s",
                      reader->error ? reader->error->message : "The request is not valid.");
}

gboolean
purserd_call_read_body (PurserdCall *call, PurserWireReader *reader)
{
  g_autoptr (GError) error = NULL;
  GByteArray *body = call->request->body;

  if (!purser_wire_reader_init_body (reader, (const char *) body->data, body->len, &error))
    {
      purserd_call_fail (call, error);
      return FALSE;
    }
  return TRUE;
}

gboolean
purserd_call_page (PurserdCall *call, int default_limit, int max_limit, int *limit,
                   const char **after)
{
  const char *text = purserd_request_query (call->request, "limit");

  *limit = default_limit;
  if (text != NULL)
    {
      guint64 value;

      if (!g_ascii_string_to_unsigned (text, 10, 1, (guint64) max_limit, &value, NULL))
        {
          purserd_call_error (call, 400, "invalid_request", "limit",
                              "limit must be a whole number from 1 to %d.", max_limit);
          return FALSE;
        }
      *limit = (int) value;
    }
  *after = purserd_request_query (call->request, "after");
  if (*after != NULL && (**after == '\0' || strlen (*after) > 64))
    {
      purserd_call_error (call, 400, "invalid_request", "after",
                          "after must be the id of the last item of the previous page.");
      return FALSE;
    }
  return TRUE;
}

gboolean
purserd_call_event (PurserdCall *call, const char *type, const char *entity_type,
                    const char *entity_id, const char *department_id, JsonNode *before,
                    JsonNode *after)
{
  g_autoptr (GError) error = NULL;

  if (!purserd_event_append (call->db, purserd_call_org_id (call), call->now, call->actor, type,
                             entity_type, entity_id, department_id, before, after, &error))
    {
      purserd_call_fail (call, error);
      return FALSE;
    }
  return TRUE;
}

/* ── routing ───────────────────────────────────────────────────────────────────── */

static gboolean
match_pattern (const char *pattern, char **segments, GHashTable *params)
{
  g_auto (GStrv) parts = g_strsplit (pattern + 1, "/", -1);
  guint n = g_strv_length (parts);

  if (n != g_strv_length (segments))
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      if (parts[i][0] == '{')
        {
          if (segments[i][0] == '\0')
            return FALSE;
          if (params != NULL)
            g_hash_table_insert (params, g_strndup (parts[i] + 1, strlen (parts[i]) - 2),
                                 g_strdup (segments[i]));
        }
      else if (!g_str_equal (parts[i], segments[i]))
        return FALSE;
    }
  return TRUE;
}

static const PurserdRoute *
find_route (const char *method, const char *path, GHashTable *params, GString *allowed)
{
  g_auto (GStrv) segments = NULL;

  if (path[0] != '/')
    return NULL;
  segments = g_strsplit (path + 1, "/", -1);
  for (guint t = 0; t < G_N_ELEMENTS (route_tables); t++)
    for (const PurserdRoute *route = route_tables[t]; route->method != NULL; route++)
      {
        if (!match_pattern (route->pattern, segments, NULL))
          continue;
        if (g_str_equal (route->method, method))
          {
            match_pattern (route->pattern, segments, params);
            return route;
          }
        if (allowed->len > 0)
          g_string_append (allowed, ", ");
        g_string_append (allowed, route->method);
      }
  return NULL;
}

static const char *
bearer_token (PurserdRequest *request)
{
  const char *header = purserd_request_header (request, "authorization");

  if (header == NULL || g_ascii_strncasecmp (header, "Bearer ", 7) != 0)
    return NULL;
  header += 7;
  while (*header == ' ')
    header++;
  return *header ? header : NULL;
}

static PurserdRole
role_from_string (const char *role)
{
  if (g_strcmp0 (role, "admin") == 0)
    return PURSERD_ROLE_ADMIN;
  if (g_strcmp0 (role, "executive") == 0)
    return PURSERD_ROLE_EXECUTIVE;
  if (g_strcmp0 (role, "manager") == 0)
    return PURSERD_ROLE_MANAGER;
  return PURSERD_ROLE_EMPLOYEE;
}

static gboolean
authenticate (PurserdServer *self, const PurserdRoute *route, PurserdCall *call)
{
  const char *token = bearer_token (call->request);
  guint8 hash[32];

  if (route->auth == PURSERD_AUTH_NONE)
    return TRUE;

  if (route->auth == PURSERD_AUTH_OPERATOR)
    {
      guint8 expected[32];

      if (self->config.operator_token == NULL)
        {
          purserd_call_error (call, 403, "operator_disabled", NULL,
                              "This server has no operator token; start purserd with "
                              "--operator-token or PURSER_OPERATOR_TOKEN.");
          return FALSE;
        }
      if (token == NULL)
        {
          purserd_call_error (call, 401, "unauthorized", NULL,
                              "Send the operator token as \"Authorization: Bearer <token>\".");
          return FALSE;
        }
      purserd_token_hash (token, hash);
      purserd_token_hash (self->config.operator_token, expected);
      if (sodium_memcmp (hash, expected, sizeof hash) != 0)
        {
          purserd_call_error (call, 401, "invalid_token", NULL, "The operator token is wrong.");
          return FALSE;
        }
      call->is_operator = TRUE;
      call->actor = "operator";
      return TRUE;
    }

  if (token == NULL)
    {
      purserd_call_error (call, 401, "unauthorized", NULL,
                          "Sign in first (POST /v1/auth/login) and send the token as "
                          "\"Authorization: Bearer <token>\".");
      return FALSE;
    }
  purserd_token_hash (token, call->token_hash);
  memcpy (hash, call->token_hash, sizeof hash);
  call->user = g_new0 (PurserUserRecord, 1);
  /* Sessions expire by the wall clock, whatever the test clock says. */
  if (!purser_store_token_lookup (self->db, hash, g_get_real_time () / G_USEC_PER_SEC, call->user,
                                  NULL))
    {
      purserd_call_error (call, 401, "invalid_token", NULL,
                          "The session has ended or the token is not valid; sign in again.");
      return FALSE;
    }
  call->role = role_from_string (call->user->role);
  call->actor = call->user->id;

  /* Another organization's ids do not exist for this user. */
  if (purserd_call_org_id (call) != NULL
      && !g_str_equal (purserd_call_org_id (call), call->user->org_id))
    {
      purserd_call_error (call, 404, "not_found", "org", "No organization %s.",
                          purserd_call_org_id (call));
      return FALSE;
    }
  if ((route->roles & call->role) == 0)
    {
      purserd_call_error (call, 403, "forbidden", NULL,
                          "Your role (%s) may not do this; ask an organization admin.",
                          call->user->role);
      return FALSE;
    }
  return TRUE;
}

static gboolean
impersonate (const PurserdRoute *route, PurserdCall *call, const PurserUserRecord *as_user)
{
  if (as_user == NULL)
    {
      call->is_operator = TRUE;
      call->actor = "operator";
      return route->auth != PURSERD_AUTH_USER;
    }
  call->user = (PurserUserRecord *) as_user;
  call->role = role_from_string (as_user->role);
  call->actor = as_user->id;
  if (route->auth == PURSERD_AUTH_USER
      && ((route->roles & call->role) == 0
          || (purserd_call_org_id (call)
              && !g_str_equal (purserd_call_org_id (call), as_user->org_id))))
    {
      purserd_call_error (call, 403, "forbidden", NULL, "not allowed");
      return FALSE;
    }
  return TRUE;
}

static int
compare_strings (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static char *
request_hash (PurserdRequest *request)
{
  g_autoptr (GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree const char **keys = NULL;
  guint n = 0;

  g_checksum_update (checksum, (const guchar *) request->method, -1);
  g_checksum_update (checksum, (const guchar *) " ", 1);
  g_checksum_update (checksum, (const guchar *) request->path, -1);
  /* The query is part of the request: ?dry_run=true is not the real import. */
  keys = (const char **) g_hash_table_get_keys_as_array (request->query, &n);
  qsort (keys, n, sizeof *keys, compare_strings);
  for (guint i = 0; i < n; i++)
    {
      g_checksum_update (checksum, (const guchar *) "&", 1);
      g_checksum_update (checksum, (const guchar *) keys[i], -1);
      g_checksum_update (checksum, (const guchar *) "=", 1);
      g_checksum_update (checksum, g_hash_table_lookup (request->query, keys[i]), -1);
    }
  g_checksum_update (checksum, (const guchar *) "\n", 1);
  g_checksum_update (checksum, request->body->data, request->body->len);
  return g_strdup (g_checksum_get_string (checksum));
}

static const char *
idempotency_scope (PurserdCall *call)
{
  if (call->user != NULL)
    return call->user->id;
  return call->is_operator ? "operator" : "public";
}

/* TRUE when the answer was replayed (or refused) from an earlier request with the key. */
static gboolean
idempotency_replay (PurserdServer *self, PurserdCall *call, const char *key, const char *hash)
{
  g_autofree char *stored_hash = NULL;
  g_autofree char *body = NULL;
  g_autoptr (GError) error = NULL;
  gint64 wall = g_get_real_time () / G_USEC_PER_SEC;
  int status = 0;

  if (!purser_store_idempotency_get (self->db, idempotency_scope (call), key,
                                     wall - IDEMPOTENCY_WINDOW, &stored_hash, &status, &body,
                                     &error))
    {
      if (error != NULL)
        {
          purserd_call_fail (call, error);
          return TRUE;
        }
      return FALSE;
    }
  if (!g_str_equal (stored_hash, hash))
    {
      purserd_call_error (call, 409, "idempotency_key_reused", NULL,
                          "This Idempotency-Key was used with a different request; use a new key "
                          "for a new request.");
      return TRUE;
    }
  purserd_call_reply_text (call, (guint) status, NULL, body, strlen (body));
  purserd_response_add_header (call->response, "Idempotent-Replayed", "true");
  return TRUE;
}

static void
idempotency_remember (PurserdServer *self, PurserdCall *call, const char *key, const char *hash)
{
  g_autoptr (GError) error = NULL;
  gsize length = 0;
  const char *data = g_bytes_get_data (call->response->body, &length);
  g_autofree char *body = g_strndup (data, length);

  if (!purser_store_idempotency_put (self->db, idempotency_scope (call), key, hash,
                                     (int) call->response->status, body,
                                     g_get_real_time () / G_USEC_PER_SEC, &error))
    g_warning ("idempotency: %s", error->message);
}

static void
call_free (PurserdCall *call)
{
  if (call->user != NULL && call->user != call->as_user)
    {
      purser_user_record_clear (call->user);
      g_free (call->user);
    }
  g_hash_table_unref (call->params);
  g_free (call->idempotency_key);
  g_free (call->request_hash);
  g_free (call);
}

/* Ends a request: a missing answer becomes an error, a deferred one is sent. */
static void
call_end (PurserdCall *call)
{
  gboolean deferred = call->response->deferred;
  PurserdResponse *response = call->response;

  if (response->status == 0)
    purserd_call_error (call, 503, "unavailable", NULL, "The request was not answered.");
  call_free (call);
  if (deferred)
    purserd_response_complete (response);
}

void
purserd_call_defer (PurserdCall *call)
{
  call->response->deferred = TRUE;
}

void
purserd_call_finish (PurserdCall *call)
{
  PurserdResponse *response = call->response;

  /* Deferred answers are remembered once known, like synchronous ones (refusals too). */
  if (call->idempotency_key != NULL && response->status > 0 && response->status < 500
      && response->status != 401 && response->status != 429)
    idempotency_remember (call->server, call, call->idempotency_key, call->request_hash);
  call_end (call);
}

/* The whole pipeline of one request. `as_user` (with `as_operator`) skips the bearer token
 * for in-process callers such as the demo, which still pass every other check. */
static void
dispatch (PurserdServer *self, PurserdRequest *request, PurserdResponse *response,
          const PurserUserRecord *as_user, gboolean as_operator, gint64 now)
{
  g_autoptr (GString) allowed = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  const PurserdRoute *route;
  gboolean mutation
      = !g_str_equal (request->method, "GET") && !g_str_equal (request->method, "HEAD");
  const char *key = purserd_request_header (request, "idempotency-key");
  g_autofree char *hash = NULL;
  PurserdCall *call = g_new0 (PurserdCall, 1);

  call->server = self;
  call->db = self->db;
  call->request = request;
  call->response = response;
  call->params = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  call->actor = "anonymous";
  call->as_user = as_user;
  call->now = now;
  call->today = purser_date_from_unix (call->now);

  route = find_route (request->method, request->path, call->params, allowed);
  if (route == NULL)
    {
      if (allowed->len > 0)
        {
          purserd_call_error (call, 405, "method_not_allowed", NULL,
                              "%s is not allowed on %s; use %s.", request->method, request->path,
                              allowed->str);
          purserd_response_add_header (response, "Allow", allowed->str);
        }
      else
        purserd_call_error (call, 404, "route_not_found", NULL, "There is no %s %s.",
                            request->method, request->path);
      goto out;
    }

  if (as_user != NULL || as_operator)
    {
      if (!impersonate (route, call, as_user))
        goto out;
    }
  else if (!authenticate (self, route, call))
    goto out;

  if (!mutation || (route->flags & PURSERD_ROUTE_OWN_TRANSACTIONS))
    {
      route->func (call);
      goto out;
    }

  /* Public routes (sign-in) answer with secrets that must not be kept: no replay there. */
  if (route->auth == PURSERD_AUTH_NONE)
    key = NULL;
  if (key != NULL && (strlen (key) == 0 || strlen (key) > 255))
    {
      purserd_call_error (call, 400, "invalid_request", "Idempotency-Key",
                          "An Idempotency-Key has 1 to 255 characters.");
      goto out;
    }
  if (key != NULL)
    {
      hash = request_hash (request);
      if (idempotency_replay (self, call, key, hash))
        goto out;
    }

  /* The route opens its transactions and calls purserd_call_finish when it has answered. */
  if (route->flags & PURSERD_ROUTE_DEFERRED)
    {
      call->idempotency_key = g_strdup (key);
      call->request_hash = g_steal_pointer (&hash);
      purserd_call_defer (call);
      route->func (call);
      return;
    }

  /* A change and its BillingEvent commit together, or not at all. */
  if (!purser_db_begin (self->db, &error))
    {
      purserd_call_fail (call, error);
      goto out;
    }
  route->func (call);
  if (call->failed)
    purser_db_rollback (self->db);
  else
    {
      if (key != NULL)
        idempotency_remember (self, call, key, hash);
      if (!purser_db_commit (self->db, &error))
        {
          purser_db_rollback (self->db);
          purserd_call_fail (call, error);
        }
    }
  if (!call->failed)
    purserd_server_kick (self);
  /* Refusals are remembered too, so a retry gets the same answer. */
  if (call->failed && key != NULL && response->status >= 400 && response->status < 500
      && response->status != 401 && response->status != 429)
    idempotency_remember (self, call, key, hash);

out:
  if (response->deferred)
    return; /* a GET or an own-transactions route that answers later */
  call_end (call);
}

static void
handle_request (PurserdRequest *request, PurserdResponse *response, gpointer user_data)
{
  PurserdServer *self = user_data;

  dispatch (self, request, response, NULL, FALSE, purserd_server_now (self));
}

static void
invoke_answered (PurserdResponse *response, gpointer data)
{
  *(gboolean *) data = TRUE;
}

JsonNode *
purserd_server_invoke (PurserdServer *self, const PurserUserRecord *as_user, gint64 now,
                       const char *method, const char *path, const char *body, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  PurserdRequest request = { 0 };
  PurserdResponse response = { 0 };
  JsonNode *result = NULL;
  gboolean answered = FALSE;
  const char *data;
  gsize length = 0;

  request.method = (char *) method;
  request.path = g_strdup (path);
  request.query = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (strchr (request.path, '?') != NULL)
    {
      g_auto (GStrv) pairs = g_strsplit (strchr (request.path, '?') + 1, "&", -1);

      *strchr (request.path, '?') = '\0';
      for (guint i = 0; pairs[i] != NULL; i++)
        {
          char *eq = strchr (pairs[i], '=');

          if (eq != NULL)
            g_hash_table_insert (request.query, g_strndup (pairs[i], (gsize) (eq - pairs[i])),
                                 g_strdup (eq + 1));
        }
    }
  request.headers = g_hash_table_new (g_str_hash, g_str_equal);
  request.body = g_byte_array_new ();
  if (body != NULL)
    g_byte_array_append (request.body, (const guint8 *) body, strlen (body));

  response.complete = invoke_answered;
  response.complete_data = &answered;
  dispatch (self, &request, &response, as_user, as_user == NULL, now);
  while (response.deferred && !answered)
    g_main_context_iteration (NULL, TRUE);

  data = g_bytes_get_data (response.body, &length);
  if (response.status >= 400)
    g_set_error (error, PURSER_WIRE_ERROR, PURSER_WIRE_ERROR_INVALID, "%s %s answered %u: %.*s",
                 method, path, response.status, (int) length, data);
  else if (length == 0)
    result = json_node_new (JSON_NODE_NULL);
  else if (json_parser_load_from_data (parser, data, (gssize) length, error))
    result = json_node_copy (json_parser_get_root (parser));

  g_free (request.path);
  g_hash_table_unref (request.query);
  g_hash_table_unref (request.headers);
  g_byte_array_unref (request.body);
  g_clear_pointer (&response.body, g_bytes_unref);
  g_clear_pointer (&response.headers, g_ptr_array_unref);
  return result;
}

/* ── background work ─────────────────────────────────────────────────────────── */

static gboolean
run_workers (gpointer user_data)
{
  PurserdServer *self = user_data;
  gboolean busy = FALSE;

  self->kick_id = 0;
  for (guint i = 0; i < self->workers->len; i++)
    {
      Worker *worker = &g_array_index (self->workers, Worker, i);

      /* Busy before the call: a worker that finishes at once clears it again itself. */
      if (!worker->busy)
        {
          worker->busy = TRUE;
          if (!worker->func (worker->data))
            worker->busy = FALSE;
        }
      busy = busy || worker->busy;
    }
  if (!busy && self->idle_waiters->len > 0)
    {
      g_autoptr (GPtrArray) waiters = g_steal_pointer (&self->idle_waiters);

      self->idle_waiters = g_ptr_array_new_with_free_func (g_free);
      for (guint i = 0; i < waiters->len; i++)
        {
          IdleWaiter *waiter = g_ptr_array_index (waiters, i);

          waiter->func (waiter->data);
        }
    }
  return G_SOURCE_REMOVE;
}

void
purserd_server_kick (PurserdServer *self)
{
  if (self->kick_id == 0 && self->workers != NULL)
    self->kick_id = g_idle_add (run_workers, self);
}

void
purserd_server_add_worker (PurserdServer *self, PurserdWorkerFunc func, gpointer data)
{
  Worker worker = { func, data, FALSE };

  g_array_append_val (self->workers, worker);
}

void
purserd_server_worker_done (PurserdServer *self, gpointer data)
{
  for (guint i = 0; i < self->workers->len; i++)
    if (g_array_index (self->workers, Worker, i).data == data)
      g_array_index (self->workers, Worker, i).busy = FALSE;
  purserd_server_kick (self);
}

void
purserd_server_when_idle (PurserdServer *self, GSourceFunc func, gpointer data)
{
  IdleWaiter *waiter = g_new (IdleWaiter, 1);

  waiter->func = func;
  waiter->data = data;
  g_ptr_array_add (self->idle_waiters, waiter);
  purserd_server_kick (self);
}

static gboolean
work_tick_cb (gpointer user_data)
{
  purserd_server_kick (user_data);
  return G_SOURCE_CONTINUE;
}

PurserdStripe *
purserd_server_stripe (PurserdServer *self)
{
  return self->stripe;
}

PurserdMailer *
purserd_server_mailer (PurserdServer *self)
{
  return self->mailer;
}

PurserdPayments *
purserd_server_payments (PurserdServer *self)
{
  return self->payments;
}

/* ── the clock ─────────────────────────────────────────────────────────────────── */

gint64
purserd_server_now (PurserdServer *self)
{
  if (self->config.test_clock)
    return self->test_now;
  return g_get_real_time () / G_USEC_PER_SEC;
}

void
purserd_server_set_now (PurserdServer *self, gint64 now)
{
  g_autoptr (GError) error = NULL;

  g_return_if_fail (self->config.test_clock);
  self->test_now = now;
  if (!purser_store_clock_set (self->db, now, &error))
    g_warning ("test clock: %s", error->message);
}

static gboolean
tick_cb (gpointer user_data)
{
  PurserdServer *self = user_data;
  g_autoptr (GError) error = NULL;
  gint64 wall = g_get_real_time () / G_USEC_PER_SEC;

  if (!purserd_billing_run (self, purserd_server_now (self), &error))
    g_warning ("billing clock: %s", error->message);
  purserd_server_kick (self);
  if (!purser_store_idempotency_purge (self->db, wall - IDEMPOTENCY_WINDOW, &error))
    g_warning ("idempotency purge: %s", error->message);
  return G_SOURCE_CONTINUE;
}

static gboolean
quit_cb (gpointer user_data)
{
  PurserdServer *self = user_data;

  g_main_loop_quit (self->loop);
  return G_SOURCE_CONTINUE;
}

/* ── the server ────────────────────────────────────────────────────────────────── */

PurserdServer *
purserd_server_new (const PurserdConfig *config, GError **error)
{
  g_autoptr (PurserdServer) self = g_new0 (PurserdServer, 1);

  self->config = *config;
  self->config.database = g_strdup (config->database);
  self->config.http.listen = g_strdup (config->http.listen);
  self->config.operator_token = g_strdup (config->operator_token);
  self->config.seller_country = g_strdup (config->seller_country ? config->seller_country : "US");
  self->config.tax_table_path = g_strdup (config->tax_table_path);
  self->config.stripe.secret_key = NULL; /* kept by the gateway only */
  self->config.stripe.api_base = g_strdup (config->stripe.api_base);
  self->config.webhook_secrets = g_strdupv (config->webhook_secrets);
  self->config.mail.smtp_url = g_strdup (config->mail.smtp_url);
  self->config.mail.username = g_strdup (config->mail.username);
  self->config.mail.password = NULL; /* kept by the mailer only */
  self->config.mail.ca_file = g_strdup (config->mail.ca_file);
  self->config.mail.from = g_strdup (config->mail.from);
  self->config.mail.maildir = g_strdup (config->mail.maildir);
  self->config.public_url = g_strdup (config->public_url);
  self->config.seller_name = g_strdup (config->seller_name);
  self->config.seller_address = g_strdup (config->seller_address);
  self->config.seller_email = g_strdup (config->seller_email);
  self->config.seller_tax_id = g_strdup (config->seller_tax_id);
  self->config.seller_bank_details = g_strdup (config->seller_bank_details);
  self->stripe = purserd_stripe_new (&config->stripe);
  self->mailer = purserd_mailer_new (&config->mail);
  self->workers = g_array_new (FALSE, TRUE, sizeof (Worker));
  self->idle_waiters = g_ptr_array_new_with_free_func (g_free);

  if (self->config.tax_table_path != NULL)
    {
      g_autofree char *text = NULL;

      if (!g_file_get_contents (self->config.tax_table_path, &text, NULL, error))
        return NULL;
      self->tax = purser_tax_table_new_parse (text, error);
      if (self->tax == NULL)
        return NULL;
    }
  else
    self->tax = purser_tax_table_new_default ();

  self->db = purser_db_open (self->config.database, PURSER_SCHEMA_SERVER, error);
  if (self->db == NULL)
    return NULL;

  self->payments = purserd_payments_new (self);
  self->webhooks = purserd_webhooks_new (self);
  self->outbox = purserd_outbox_new (self, self->mailer);
  purserd_server_add_worker (self, purserd_webhooks_run, self->webhooks);
  purserd_server_add_worker (self, purserd_payments_run, self->payments);
  purserd_server_add_worker (self, purserd_outbox_run, self->outbox);

  if (self->config.test_clock)
    {
      self->test_now = purser_store_clock_get (self->db);
      if (self->test_now == 0)
        purserd_server_set_now (self, config->start_time ? config->start_time
                                                         : g_get_real_time () / G_USEC_PER_SEC);
    }
  return g_steal_pointer (&self);
}

gboolean
purserd_server_listen (PurserdServer *self, GError **error)
{
  if (!purserd_billing_run (self, purserd_server_now (self), error))
    return FALSE;
  self->http = purserd_http_start (&self->config.http, g_main_context_default (), handle_request,
                                   self, error);
  return self->http != NULL;
}

guint16
purserd_server_port (PurserdServer *self)
{
  return purserd_http_port (self->http);
}

void
purserd_server_run (PurserdServer *self)
{
  guint term_id, int_id;

  self->loop = g_main_loop_new (NULL, FALSE);
  if (!self->config.test_clock)
    self->tick_id = g_timeout_add_seconds (TICK_SECONDS, tick_cb, self);
  /* Retries of mail and webhook processing are due by the wall clock. */
  self->work_tick_id = g_timeout_add_seconds (WORK_TICK_SECONDS, work_tick_cb, self);
  purserd_server_kick (self);
  term_id = g_unix_signal_add (SIGTERM, quit_cb, self);
  int_id = g_unix_signal_add (SIGINT, quit_cb, self);
  g_main_loop_run (self->loop);
  g_source_remove (term_id);
  g_source_remove (int_id);
  g_clear_handle_id (&self->tick_id, g_source_remove);
  g_clear_handle_id (&self->work_tick_id, g_source_remove);
  g_clear_pointer (&self->http, purserd_http_stop);
  g_clear_pointer (&self->loop, g_main_loop_unref);
}

void
purserd_server_free (PurserdServer *self)
{
  g_clear_pointer (&self->http, purserd_http_stop);
  g_clear_handle_id (&self->kick_id, g_source_remove);
  g_clear_pointer (&self->outbox, purserd_outbox_free);
  g_clear_pointer (&self->webhooks, purserd_webhooks_free);
  g_clear_pointer (&self->payments, purserd_payments_free);
  g_clear_pointer (&self->stripe, purserd_stripe_free);
  g_clear_pointer (&self->mailer, purserd_mailer_free);
  g_clear_pointer (&self->workers, g_array_unref);
  g_clear_pointer (&self->idle_waiters, g_ptr_array_unref);
  g_clear_pointer (&self->db, purser_db_close);
  g_clear_pointer (&self->tax, purser_tax_table_free);
  g_free (self->config.database);
  g_free (self->config.http.listen);
  g_free (self->config.operator_token);
  g_free (self->config.seller_country);
  g_free (self->config.tax_table_path);
  g_free (self->config.stripe.api_base);
  g_strfreev (self->config.webhook_secrets);
  g_free (self->config.mail.smtp_url);
  g_free (self->config.mail.username);
  g_free (self->config.mail.ca_file);
  g_free (self->config.mail.from);
  g_free (self->config.mail.maildir);
  g_free (self->config.public_url);
  g_free (self->config.seller_name);
  g_free (self->config.seller_address);
  g_free (self->config.seller_email);
  g_free (self->config.seller_tax_id);
  g_free (self->config.seller_bank_details);
  g_free (self);
}

PurserDb *
purserd_server_db (PurserdServer *self)
{
  return self->db;
}

const PurserTaxTable *
purserd_server_tax_table (PurserdServer *self)
{
  return self->tax;
}

const char *
purserd_server_seller_country (PurserdServer *self)
{
  return self->config.seller_country;
}

const PurserdConfig *
purserd_server_config (PurserdServer *self)
{
  return &self->config;
}
