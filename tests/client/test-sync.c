/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>

#include "purser-cache.h"
#include "purser-employee-list.h"
#include "purser-sync.h"
#include "purserd-harness.h"

#define DEMO_LOGIN    "finance@northwind.example"
#define DEMO_PASSWORD "northwind-demo"
/* How long any one awaited event may take (ASan, the demo's size). */
#define WAIT_SECONDS 120

/* ── a proxy in front of purserd that can drop every connection ──────────────────── */

typedef struct
{
  SoupServer *server;
  SoupSession *session;
  char *upstream;
  char *url;
  gboolean down;
  int down_after; /* requests still forwarded before going down; -1: never */
  GPtrArray *log; /* "METHOD path?query" of every request */
} Proxy;

typedef struct
{
  SoupServerMessage *incoming;
  SoupMessage *outgoing;
} Forward;

static void
forwarded_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Forward *f = user_data;
  g_autoptr (GBytes) bytes
      = soup_session_send_and_read_finish (SOUP_SESSION (source), result, NULL);
  const char *type;

  if (bytes == NULL)
    soup_server_message_set_status (f->incoming, 502, NULL);
  else
    {
      gsize size;
      const char *data = g_bytes_get_data (bytes, &size);

      type = soup_message_headers_get_content_type (soup_message_get_response_headers (f->outgoing),
                                                    NULL);
      soup_server_message_set_status (f->incoming, soup_message_get_status (f->outgoing), NULL);
      soup_server_message_set_response (f->incoming, type != NULL ? type : "application/json",
                                        SOUP_MEMORY_COPY, data, size);
    }
  soup_server_message_unpause (f->incoming);
  g_object_unref (f->incoming);
  g_object_unref (f->outgoing);
  g_free (f);
}

static void
proxy_handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
               gpointer user_data)
{
  Proxy *p = user_data;
  GUri *uri = soup_server_message_get_uri (msg);
  const char *q = g_uri_get_query (uri);
  g_autofree char *url = g_strconcat (p->upstream, path, q ? "?" : "", q ? q : "", NULL);
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr (GBytes) bytes = soup_message_body_flatten (body);
  const char *headers[] = { "Authorization", "Idempotency-Key", "Accept" };
  Forward *f;

  g_ptr_array_add (p->log, g_strdup_printf ("%s %s%s%s", soup_server_message_get_method (msg), path,
                                            q ? "?" : "", q ? q : ""));
  if (p->down_after == 0)
    p->down = TRUE;
  if (p->down)
    {
      g_autoptr (GIOStream) stream = soup_server_message_steal_connection (msg);

      g_io_stream_close (stream, NULL, NULL);
      return;
    }
  if (p->down_after > 0)
    p->down_after--;

  f = g_new0 (Forward, 1);
  f->incoming = g_object_ref (msg);
  f->outgoing = soup_message_new (soup_server_message_get_method (msg), url);
  for (guint i = 0; i < G_N_ELEMENTS (headers); i++)
    {
      const char *value = soup_message_headers_get_one (
          soup_server_message_get_request_headers (msg), headers[i]);

      if (value != NULL)
        soup_message_headers_replace (soup_message_get_request_headers (f->outgoing), headers[i],
                                      value);
    }
  if (g_bytes_get_size (bytes) > 0)
    soup_message_set_request_body_from_bytes (f->outgoing, "application/json", bytes);
  soup_server_message_pause (msg);
  soup_session_send_and_read_async (p->session, f->outgoing, G_PRIORITY_DEFAULT, NULL, forwarded_cb,
                                    f);
}

static Proxy *
proxy_new (const char *upstream)
{
  Proxy *p = g_new0 (Proxy, 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSList) uris = NULL;

  p->upstream = g_strdup (upstream);
  p->down_after = -1;
  p->log = g_ptr_array_new_with_free_func (g_free);
  p->session = g_object_new (SOUP_TYPE_SESSION, "proxy-resolver", NULL, NULL);
  p->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (p->server, NULL, proxy_handler, p, NULL);
  soup_server_listen_local (p->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (p->server);
  p->url = g_uri_to_string (uris->data);
  while (g_str_has_suffix (p->url, "/"))
    p->url[strlen (p->url) - 1] = '\0';
  g_slist_free_full (g_steal_pointer (&uris), (GDestroyNotify) g_uri_unref);
  return p;
}

static void
proxy_free (Proxy *p)
{
  soup_server_disconnect (p->server);
  g_object_unref (p->server);
  g_object_unref (p->session);
  g_ptr_array_unref (p->log);
  g_free (p->upstream);
  g_free (p->url);
  g_free (p);
}

/* ── shared state: one purserd --demo for every test, in order ───────────────────── */

static PurserdHarness *server;
static Proxy *proxy;
static char *token;
static char *org_id;
static char *cache_dir;
static char *cache_path;
static PurserClient *client;
static PurserSync *sync_engine;
static char *team_employee_id; /* made by the incremental test */

static gboolean
timed_out_cb (gpointer user_data)
{
  g_error ("timed out waiting for %s", (const char *) user_data);
  return G_SOURCE_REMOVE;
}

/* Iterates the main context until *flag, failing after WAIT_SECONDS. */
static void
wait_for (gboolean *flag, const char *what)
{
  guint timeout = g_timeout_add_seconds (WAIT_SECONDS, timed_out_cb, (gpointer) what);

  while (!*flag)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (timeout);
}

typedef struct
{
  gboolean done;
  gboolean ok;
  GError *error;
  JsonNode *node;
} Wait;

static void
sync_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Wait *w = user_data;

  w->ok = purser_sync_run_finish (PURSER_SYNC (source), result, &w->error);
  w->done = TRUE;
}

static gboolean
run_sync (PurserSync *sync, GError **error)
{
  Wait w = { 0 };

  purser_sync_run_async (sync, NULL, sync_done_cb, &w);
  /* The call is async: nothing ran yet but the state. */
  g_assert_cmpint (purser_sync_get_state (sync), ==, PURSER_SYNC_STATE_SYNCING);
  wait_for (&w.done, "a sync");
  if (w.error != NULL)
    g_propagate_error (error, w.error);
  return w.ok;
}

static void
client_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Wait *w = user_data;

  if (g_task_get_source_tag (G_TASK (result)) == purser_client_sign_in_async)
    w->node = purser_client_sign_in_finish (PURSER_CLIENT (source), result, &w->error);
  else
    w->node = purser_client_get_me_finish (PURSER_CLIENT (source), result, &w->error);
  w->done = TRUE;
}

static gint64
server_last_seq (void)
{
  g_autofree char *path = g_strdup_printf ("/v1/orgs/%s/events?after=0&limit=1", org_id);
  guint status;
  g_autoptr (JsonNode) page = harness_request (server, "GET", path, token, NULL, &status);

  g_assert_cmpuint (status, ==, 200);
  return harness_get_int (page, "last_seq");
}

/* Counts a paged list of the server by walking it. */
static guint
server_count (const char *list)
{
  g_autofree char *after = NULL;
  guint n = 0;
  gboolean more = TRUE;

  while (more)
    {
      g_autofree char *path = g_strdup_printf ("/v1/orgs/%s/%s?limit=100%s%s", org_id, list,
                                               after ? "&after=" : "", after ? after : "");
      guint status;
      g_autoptr (JsonNode) page = harness_request (server, "GET", path, token, NULL, &status);
      JsonArray *data;

      g_assert_cmpuint (status, ==, 200);
      data = json_object_get_array_member (json_node_get_object (page), "data");
      n += json_array_get_length (data);
      more = harness_get_bool (page, "has_more");
      if (more)
        {
          JsonObject *last = json_array_get_object_element (data, json_array_get_length (data) - 1);

          g_free (after);
          after = g_strdup (json_object_get_string_member (last, "id"));
        }
    }
  return n;
}

static char *
create_employee (const char *name, const char *department_id)
{
  g_autofree char *path = g_strdup_printf ("/v1/orgs/%s/employees", org_id);
  g_autofree char *email = g_strdup_printf ("%s@client.test", name);
  g_autofree char *body = NULL;
  g_autoptr (JsonNode) answer = NULL;
  guint status;

  g_strdelimit (email, " ", '.');
  if (department_id != NULL)
    body = g_strdup_printf ("{\"email\": \"%s\", \"name\": \"%s\", \"department_id\": \"%s\"}",
                            email, name, department_id);
  else
    body = g_strdup_printf ("{\"email\": \"%s\", \"name\": \"%s\"}", email, name);
  answer = harness_request (server, "POST", path, token, body, &status);
  g_assert_cmpuint (status, ==, 201);
  return g_strdup (harness_get_str (answer, "id"));
}

static gint64
cache_cursor (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PurserCache) cache = purser_cache_open (cache_path, &error);
  gint64 cursor = -1;

  g_assert_no_error (error);
  g_assert_true (purser_cache_get_state (cache, &cursor, NULL, &error));
  g_assert_no_error (error);
  return cursor;
}

static guint
cache_count (const char *type)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PurserCache) cache = purser_cache_open (cache_path, &error);
  guint n = 0;

  g_assert_no_error (error);
  g_assert_true (purser_cache_count (cache, type, &n, &error));
  g_assert_no_error (error);
  return n;
}

static gboolean
cache_has (const char *type, const char *id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PurserCache) cache = purser_cache_open (cache_path, &error);
  g_autoptr (JsonNode) node = NULL;

  g_assert_no_error (error);
  node = purser_cache_get (cache, type, id, &error);
  if (node == NULL)
    g_assert_error (error, PURSER_CLIENT_ERROR, PURSER_CLIENT_ERROR_NOT_FOUND);
  return node != NULL;
}

/* Requests of the proxy's log from `from` on that start with `prefix`. */
static guint
log_count (guint from, const char *prefix)
{
  guint n = 0;

  for (guint i = from; i < proxy->log->len; i++)
    if (g_str_has_prefix (g_ptr_array_index (proxy->log, i), prefix))
      n++;
  return n;
}

static char *
events_request (gint64 after)
{
  return g_strdup_printf ("GET /v1/orgs/%s/events?after=%" G_GINT64_FORMAT "&", org_id, after);
}

/* ── the tests ─────────────────────────────────────────────────────────────────── */

static void
progress_cb (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  double *max = user_data;
  double progress = purser_sync_get_progress (PURSER_SYNC (object));

  /* Never backwards within a run. */
  g_assert_cmpfloat (progress, >=, *max);
  *max = progress;
}

static void
test_first_sync (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PurserCache) cache = NULL;
  g_autoptr (JsonNode) invoice = NULL;
  double max_progress = 0;
  gulong handler;
  guint n_employees = server_count ("employees");
  guint n_invoices = server_count ("invoices");
  guint n_payments = server_count ("payments");

  g_assert_cmpint (purser_sync_get_state (sync_engine), ==, PURSER_SYNC_STATE_OFFLINE);
  g_assert_null (purser_sync_get_last_synced (sync_engine));
  /* The demo is large enough that the first sync takes pages. */
  g_assert_cmpuint (n_employees, >, 200);
  g_assert_cmpuint (n_invoices, >, 0);

  handler
      = g_signal_connect (sync_engine, "notify::progress", G_CALLBACK (progress_cb), &max_progress);
  g_assert_true (run_sync (sync_engine, &error));
  g_assert_no_error (error);
  g_signal_handler_disconnect (sync_engine, handler);

  g_assert_cmpfloat (max_progress, ==, 1.0);
  g_assert_cmpfloat (purser_sync_get_progress (sync_engine), ==, 1.0);
  g_assert_cmpint (purser_sync_get_state (sync_engine), ==, PURSER_SYNC_STATE_ONLINE);
  g_assert_nonnull (purser_sync_get_last_synced (sync_engine));
  g_assert_null (purser_sync_get_error (sync_engine));

  g_assert_cmpuint (cache_count ("employee"), ==, n_employees);
  g_assert_cmpuint (cache_count ("invoice"), ==, n_invoices);
  g_assert_cmpuint (cache_count ("payment"), ==, n_payments);
  g_assert_cmpuint (cache_count ("org"), ==, 1);
  g_assert_cmpuint (cache_count ("department"), >, 0);
  g_assert_cmpuint (cache_count ("subscription"), ==, 1);
  g_assert_cmpint (cache_cursor (), ==, server_last_seq ());
  g_assert_true (cache_has ("org", org_id));

  /* The invoices are there with their lines, as the invoice page shows them. */
  cache = purser_cache_open (cache_path, &error);
  g_assert_no_error (error);
  {
    g_autofree char *path = g_strdup_printf ("/v1/orgs/%s/invoices?limit=1", org_id);
    guint status;
    g_autoptr (JsonNode) page = harness_request (server, "GET", path, token, NULL, &status);
    const char *id = harness_get_str (page, "data.0.id");

    invoice = purser_cache_get (cache, "invoice", id, &error);
    g_assert_no_error (error);
    g_assert_true (harness_has (invoice, "lines.0.amount.amount"));
  }
}

static void
changed_cb (PurserSync *sync, gpointer user_data)
{
  guint *n = user_data;

  (*n)++;
}

static void
test_incremental (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) departments = NULL;
  g_autofree char *path = g_strdup_printf ("/v1/orgs/%s/departments", org_id);
  g_autofree char *expected = NULL;
  const char *team_id = NULL;
  gint64 before = cache_cursor ();
  g_autofree char *plain_id = NULL;
  guint mark = proxy->log->len, changed = 0, status;
  JsonArray *data;
  gulong handler;

  /* A team (a department with a parent), for the list model's test. */
  departments = harness_request (server, "GET", path, token, NULL, &status);
  g_assert_cmpuint (status, ==, 200);
  data = json_object_get_array_member (json_node_get_object (departments), "data");
  for (guint i = 0; i < json_array_get_length (data) && team_id == NULL; i++)
    {
      JsonObject *dept = json_array_get_object_element (data, i);

      if (!json_object_get_null_member (dept, "parent_id"))
        team_id = json_object_get_string_member (dept, "id");
    }
  g_assert_nonnull (team_id);

  team_employee_id = create_employee ("Aaron Incremental", team_id);
  plain_id = create_employee ("Abby Incremental", NULL);
  g_assert_cmpint (server_last_seq (), ==, before + 2);
  g_assert_false (cache_has ("employee", team_employee_id));

  handler = g_signal_connect (sync_engine, "changed", G_CALLBACK (changed_cb), &changed);
  g_assert_true (run_sync (sync_engine, &error));
  g_assert_no_error (error);
  g_signal_handler_disconnect (sync_engine, handler);

  g_assert_true (cache_has ("employee", team_employee_id));
  g_assert_true (cache_has ("employee", plain_id));
  g_assert_cmpint (cache_cursor (), ==, before + 2);
  g_assert_cmpuint (changed, ==, 1);
  /* Only the new events were asked for: one page after the old cursor, no list route. */
  expected = events_request (before);
  g_assert_cmpuint (proxy->log->len - mark, ==, 1);
  g_assert_cmpuint (log_count (mark, expected), ==, 1);
}

static void
test_dropped_connection (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *resumed = NULL;
  gint64 before = cache_cursor ();
  guint mark;

  for (guint i = 0; i < 12; i++)
    {
      g_autofree char *name = g_strdup_printf ("Dropped %02u", i);

      g_ptr_array_add (ids, create_employee (name, NULL));
    }

  /* Batches of 5: two pages arrive, the third request finds the connection dropped. */
  purser_sync_set_batch_size (sync_engine, 5);
  proxy->down_after = 2;
  g_assert_false (run_sync (sync_engine, &error));
  g_assert_error (error, PURSER_CLIENT_ERROR, PURSER_CLIENT_ERROR_OFFLINE);
  g_assert_nonnull (strstr (error->message, "Can't reach 127.0.0.1"));
  g_assert_nonnull (strstr (error->message, "showing saved data"));
  g_assert_cmpint (purser_sync_get_state (sync_engine), ==, PURSER_SYNC_STATE_OFFLINE);
  g_assert_error (purser_sync_get_error (sync_engine), PURSER_CLIENT_ERROR,
                  PURSER_CLIENT_ERROR_OFFLINE);

  /* The cache holds exactly the two committed batches, and its cursor says so. */
  g_assert_cmpint (cache_cursor (), ==, before + 10);
  for (guint i = 0; i < 12; i++)
    g_assert_cmpint (cache_has ("employee", g_ptr_array_index (ids, i)), ==, i < 10);

  /* Back up: the next sync resumes from the cursor. */
  proxy->down = FALSE;
  proxy->down_after = -1;
  mark = proxy->log->len;
  g_clear_error (&error);
  g_assert_true (run_sync (sync_engine, &error));
  g_assert_no_error (error);
  resumed = events_request (before + 10);
  g_assert_true (g_str_has_prefix (g_ptr_array_index (proxy->log, mark), resumed));
  g_assert_cmpuint (log_count (mark, "GET /v1/orgs/"), ==, proxy->log->len - mark);
  g_assert_cmpint (cache_cursor (), ==, before + 12);
  for (guint i = 0; i < 12; i++)
    g_assert_true (cache_has ("employee", g_ptr_array_index (ids, i)));
  g_assert_cmpint (purser_sync_get_state (sync_engine), ==, PURSER_SYNC_STATE_ONLINE);
  purser_sync_set_batch_size (sync_engine, 500);
}

static void
test_cursor_unknown (void)
{
  g_autoptr (GError) error = NULL;
  gint64 last = server_last_seq ();
  g_autofree char *gone = NULL;
  guint mark = proxy->log->len;

  /* A cache from another database: a cursor this server never had, a row it never had. */
  {
    g_autoptr (PurserCache) cache = purser_cache_open (cache_path, &error);
    g_autoptr (JsonNode) ghost
        = json_from_string ("{\"id\": \"emp_ghost\", \"name\": \"Ghost\"}", &error);

    g_assert_no_error (error);
    g_assert_true (purser_cache_put (cache, "employee", "emp_ghost", ghost, &error));
    g_assert_true (purser_cache_set_state (cache, last + 1000, 1, &error));
    g_assert_no_error (error);
  }

  g_assert_true (run_sync (sync_engine, &error));
  g_assert_no_error (error);

  gone = events_request (last + 1000);
  g_assert_cmpuint (log_count (mark, gone), ==, 1);
  g_assert_false (cache_has ("employee", "emp_ghost"));
  g_assert_cmpuint (cache_count ("employee"), ==, server_count ("employees"));
  g_assert_cmpuint (cache_count ("invoice"), ==, server_count ("invoices"));
  g_assert_cmpint (cache_cursor (), ==, last);
  g_assert_cmpint (purser_sync_get_state (sync_engine), ==, PURSER_SYNC_STATE_ONLINE);
}

static void
state_cb (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  gboolean *online = user_data;

  if (purser_sync_get_state (PURSER_SYNC (object)) == PURSER_SYNC_STATE_ONLINE)
    *online = TRUE;
}

static void
test_offline_and_back (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDateTime) synced = g_date_time_ref (purser_sync_get_last_synced (sync_engine));
  gint64 before = cache_cursor ();
  g_autofree char *new_id = NULL;
  gboolean online = FALSE;
  gulong handler;

  g_assert_cmpint (purser_sync_get_state (sync_engine), ==, PURSER_SYNC_STATE_ONLINE);
  proxy->down = TRUE;
  g_assert_false (run_sync (sync_engine, &error));
  g_assert_error (error, PURSER_CLIENT_ERROR, PURSER_CLIENT_ERROR_OFFLINE);
  g_assert_cmpint (purser_sync_get_state (sync_engine), ==, PURSER_SYNC_STATE_OFFLINE);
  /* The saved data and its age are kept. */
  g_assert_cmpint (cache_cursor (), ==, before);
  g_assert_true (g_date_time_equal (purser_sync_get_last_synced (sync_engine), synced));

  /* The server comes back; the periodic sync notices and fetches what changed. */
  new_id = create_employee ("Back Online", NULL);
  proxy->down = FALSE;
  handler = g_signal_connect (sync_engine, "notify::state", G_CALLBACK (state_cb), &online);
  purser_sync_start_periodic (sync_engine, 1);
  wait_for (&online, "the periodic sync to go online");
  purser_sync_stop_periodic (sync_engine);
  g_signal_handler_disconnect (sync_engine, handler);

  g_assert_null (purser_sync_get_error (sync_engine));
  g_assert_cmpint (cache_cursor (), ==, before + 1);
  g_assert_true (cache_has ("employee", new_id));
  g_assert_cmpint (g_date_time_compare (purser_sync_get_last_synced (sync_engine), synced), >=, 0);
}

static void
items_changed_cb (GListModel *model, guint position, guint removed, guint added, gpointer user_data)
{
  guint *n_added = user_data;

  g_assert_cmpuint (position, ==, 0);
  *n_added = added;
}

static void
reload_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Wait *w = user_data;

  w->ok = purser_employee_list_reload_finish (PURSER_EMPLOYEE_LIST (source), result, &w->error);
  w->done = TRUE;
}

static void
test_employee_list (void)
{
  g_autoptr (PurserEmployeeList) list = purser_employee_list_new (cache_path);
  g_autoptr (JsonNode) employee = NULL;
  g_autoptr (JsonNode) team = NULL;
  g_autoptr (JsonNode) department = NULL;
  g_autofree char *path = NULL;
  PurserEmployeeItem *found = NULL;
  Wait w = { 0 };
  guint n, n_added = 0, status;

  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, 0);
  g_assert_true (g_list_model_get_item_type (G_LIST_MODEL (list)) == PURSER_TYPE_EMPLOYEE_ITEM);
  g_signal_connect (list, "items-changed", G_CALLBACK (items_changed_cb), &n_added);
  purser_employee_list_reload_async (list, NULL, reload_done_cb, &w);
  wait_for (&w.done, "the employee list");
  g_assert_no_error (w.error);
  g_assert_true (w.ok);

  n = g_list_model_get_n_items (G_LIST_MODEL (list));
  g_assert_cmpuint (n, ==, server_count ("employees"));
  g_assert_cmpuint (n_added, ==, n);

  /* Sorted by name; the team member made by the incremental test resolves its team and
   * department from the cache. */
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (PurserEmployeeItem) item = g_list_model_get_item (G_LIST_MODEL (list), i);

      if (i > 0)
        {
          g_autoptr (PurserEmployeeItem) prev = g_list_model_get_item (G_LIST_MODEL (list), i - 1);

          g_assert_cmpint (g_ascii_strcasecmp (purser_employee_item_get_name (prev),
                                               purser_employee_item_get_name (item)),
                           <=, 0);
        }
      if (g_strcmp0 (purser_employee_item_get_id (item), team_employee_id) == 0)
        found = g_object_ref (item);
    }
  g_assert_nonnull (found);

  path = g_strdup_printf ("/v1/orgs/%s/employees/%s", org_id, team_employee_id);
  employee = harness_request (server, "GET", path, token, NULL, &status);
  g_assert_cmpuint (status, ==, 200);
  g_free (path);
  path = g_strdup_printf ("/v1/orgs/%s/departments", org_id);
  {
    g_autoptr (JsonNode) list_node = harness_request (server, "GET", path, token, NULL, &status);
    JsonArray *data = json_object_get_array_member (json_node_get_object (list_node), "data");
    const char *team_id = harness_get_str (employee, "department_id");
    const char *parent_id = NULL;

    for (guint i = 0; i < json_array_get_length (data); i++)
      if (g_strcmp0 (json_object_get_string_member (json_array_get_object_element (data, i), "id"),
                     team_id)
          == 0)
        {
          team = json_node_copy (json_array_get_element (data, i));
          parent_id = harness_get_str (team, "parent_id");
        }
    for (guint i = 0; i < json_array_get_length (data); i++)
      if (g_strcmp0 (json_object_get_string_member (json_array_get_object_element (data, i), "id"),
                     parent_id)
          == 0)
        department = json_node_copy (json_array_get_element (data, i));
  }
  g_assert_nonnull (team);
  g_assert_nonnull (department);

  {
    g_autofree char *name = NULL, *email = NULL, *dept = NULL, *team_name = NULL;
    g_autofree char *state = NULL;
    gboolean licensed = TRUE;

    g_object_get (found, "name", &name, "email", &email, "department", &dept, "team", &team_name,
                  "status", &state, "licensed", &licensed, NULL);
    g_assert_cmpstr (name, ==, harness_get_str (employee, "name"));
    g_assert_cmpstr (email, ==, harness_get_str (employee, "email"));
    g_assert_cmpstr (dept, ==, harness_get_str (department, "name"));
    g_assert_cmpstr (team_name, ==, harness_get_str (team, "name"));
    g_assert_cmpstr (state, ==, harness_get_str (employee, "status"));
    g_assert_cmpint (licensed, ==, harness_get_bool (employee, "licensed"));
  }
  g_object_unref (found);
}

int
main (int argc, char **argv)
{
  const char *const demo[] = { "--demo", NULL };
  g_autoptr (GError) error = NULL;
  Wait w = { 0 };
  int result;

  g_test_init (&argc, &argv, NULL);

  server = harness_start (NULL, demo);
  proxy = proxy_new (harness_url (server));
  token = harness_login (server, DEMO_LOGIN, DEMO_PASSWORD);

  /* The library's own sign-in, through the proxy; a wrong password first. */
  client = purser_client_new (proxy->url);
  purser_client_sign_in_async (client, DEMO_LOGIN, "wrong", NULL, client_done_cb, &w);
  wait_for (&w.done, "the refused sign-in");
  g_assert_error (w.error, PURSER_CLIENT_ERROR, PURSER_CLIENT_ERROR_AUTH);
  g_assert_cmpstr (w.error->message, ==,
                   "The server refused the password. Check the e-mail address and the password, "
                   "then try again.");
  g_clear_error (&w.error);
  w.done = FALSE;
  purser_client_sign_in_async (client, DEMO_LOGIN, DEMO_PASSWORD, NULL, client_done_cb, &w);
  wait_for (&w.done, "the sign-in");
  g_assert_no_error (w.error);
  g_assert_nonnull (purser_client_get_token (client));
  g_clear_pointer (&w.node, json_node_unref);
  w.done = FALSE;
  purser_client_get_me_async (client, NULL, client_done_cb, &w);
  wait_for (&w.done, "/v1/me");
  g_assert_no_error (w.error);
  org_id = g_strdup (harness_get_str (w.node, "org.id"));
  g_clear_pointer (&w.node, json_node_unref);

  cache_dir = g_dir_make_tmp ("purser-cache-XXXXXX", &error);
  g_assert_no_error (error);
  cache_path = g_build_filename (cache_dir, "127.0.0.1", "cache.db", NULL);
  sync_engine = purser_sync_new (client, org_id, cache_path);

  g_test_add_func ("/purser/client/sync/first", test_first_sync);
  g_test_add_func ("/purser/client/sync/incremental", test_incremental);
  g_test_add_func ("/purser/client/sync/dropped-connection", test_dropped_connection);
  g_test_add_func ("/purser/client/sync/cursor-unknown", test_cursor_unknown);
  g_test_add_func ("/purser/client/sync/offline-and-back", test_offline_and_back);
  g_test_add_func ("/purser/client/sync/employee-list", test_employee_list);
  result = g_test_run ();

  g_assert_finalize_object (sync_engine);
  g_assert_finalize_object (client);
  proxy_free (proxy);
  harness_stop (server);
  {
    g_autofree char *folder = g_path_get_dirname (cache_path);
    g_autofree char *wal = g_strconcat (cache_path, "-wal", NULL);
    g_autofree char *shm = g_strconcat (cache_path, "-shm", NULL);

    g_unlink (cache_path);
    g_unlink (wal);
    g_unlink (shm);
    g_rmdir (folder);
    g_rmdir (cache_dir);
  }
  g_free (cache_path);
  g_free (cache_dir);
  g_free (org_id);
  g_free (token);
  g_free (team_employee_id);
  return result;
}
