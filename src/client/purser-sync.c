/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "purser-cache.h"
#include "purser-sync.h"

/*
 * One run, on the caller's main context, with SQLite in worker threads:
 *
 *   open cache, read cursor ──cursor 0──▶ snapshot ──▶ replace (1 txn) ──┐
 *        │                                    ▲                         │
 *        ▼                                    │ 410 cursor_unknown      ▼
 *   GET events?after=cursor&limit=N ──────────┘◀───── has_more ── apply batch (1 txn)
 *        │ empty page / !has_more                                       │
 *        ▼                                                              │
 *   done: ONLINE, last-synced ◀─────────────────────────────────────────┘
 *
 * Any failure ends the run: OFFLINE when the server can't be reached, the cache keeping
 * every batch that was committed, so the next run resumes from its cursor.
 */

#define DEFAULT_BATCH_SIZE 500
#define EMPLOYEE_PAGE      200
#define LIST_PAGE          100

struct _PurserSync
{
  GObject parent_instance;

  PurserClient *client;
  char *org_id;
  char *cache_path;
  /* Used only in worker threads, by one operation at a time (runs never overlap). */
  PurserCache *cache;
  guint batch_size;

  PurserSyncState state;
  GDateTime *last_synced;
  double progress;
  GError *error;

  struct _Run *run;      /* the running sync, or NULL */
  GPtrArray *next_tasks; /* calls that came during a run: served by the next one */
  GSource *periodic;
  GCancellable *cancellable; /* cancelled in dispose */
};

G_DEFINE_FINAL_TYPE (PurserSync, purser_sync, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_STATE,
  PROP_LAST_SYNCED,
  PROP_PROGRESS,
  N_PROPS
};

enum
{
  CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* The steps of a full resync, each a GET under /v1/orgs/{org}. */
typedef enum
{
  STEP_HEAD, /* events?after=0&limit=1: the newest seq, taken first */
  STEP_ORG,
  STEP_DEPARTMENTS,
  STEP_SUBSCRIPTION,
  STEP_PAYMENT_METHODS,
  STEP_CREDIT_NOTES,
  STEP_EMPLOYEES,
  STEP_INVOICE_LIST,
  STEP_INVOICES, /* each invoice with its lines */
  STEP_PAYMENTS,
  STEP_REPLACE,
} Step;

typedef struct _Run
{
  PurserSync *self;
  GCancellable *cancellable;
  GPtrArray *tasks;
  gint64 cursor;       /* the cache's cursor */
  gint64 start_cursor; /* where this run's incremental part started */
  PurserSyncState previous_state;
  /* The full resync. */
  Step step;
  gint64 snapshot_seq;
  GPtrArray *entries;
  char *page_after;
  GPtrArray *invoice_ids;
  guint invoice_index;
} Run;

/* A cache operation for a worker thread. */
typedef enum
{
  OP_READ_STATE,
  OP_APPLY,
  OP_REPLACE,
  OP_TOUCH,
} OpKind;

typedef struct
{
  OpKind kind;
  JsonArray *events;
  GPtrArray *entries;
  gint64 cursor; /* in: for replace/touch; out: the cache's cursor */
  gint64 synced_at;
  gboolean has_more; /* the events page said there are more */
} Op;

static void fetch_events (Run *run);
static void snapshot_next (Run *run);

/* ── enum type ─────────────────────────────────────────────────────────────────── */

GType
purser_sync_state_get_type (void)
{
  static gsize type_id;

  if (g_once_init_enter (&type_id))
    {
      static const GEnumValue values[] = {
        { PURSER_SYNC_STATE_OFFLINE, "PURSER_SYNC_STATE_OFFLINE", "offline" },
        { PURSER_SYNC_STATE_ONLINE, "PURSER_SYNC_STATE_ONLINE", "online" },
        { PURSER_SYNC_STATE_SYNCING, "PURSER_SYNC_STATE_SYNCING", "syncing" },
        { 0, NULL, NULL },
      };
      GType type = g_enum_register_static (g_intern_static_string ("PurserSyncState"), values);

      g_once_init_leave (&type_id, type);
    }
  return type_id;
}

/* ── state ─────────────────────────────────────────────────────────────────────── */

static void
set_state (PurserSync *self, PurserSyncState state)
{
  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static void
set_progress (PurserSync *self, double progress)
{
  progress = CLAMP (progress, 0.0, 1.0);
  if (self->progress == progress)
    return;
  self->progress = progress;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROGRESS]);
}

/* Moves the progress toward `limit` by half the distance left: for pages of unknown
 * number. */
static void
approach_progress (PurserSync *self, double limit)
{
  if (self->progress < limit)
    set_progress (self, self->progress + (limit - self->progress) / 2);
}

static void
set_last_synced (PurserSync *self, gint64 unix_time)
{
  if (unix_time <= 0)
    return;
  if (self->last_synced != NULL && g_date_time_to_unix (self->last_synced) == unix_time)
    return;
  g_clear_pointer (&self->last_synced, g_date_time_unref);
  self->last_synced = g_date_time_new_from_unix_utc (unix_time);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAST_SYNCED]);
}

/* ── worker-thread cache operations ────────────────────────────────────────────── */

static void
op_free (Op *op)
{
  g_clear_pointer (&op->events, json_array_unref);
  g_clear_pointer (&op->entries, g_ptr_array_unref);
  g_free (op);
}

static void
op_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  PurserSync *self = source;
  Op *op = task_data;
  g_autoptr (GError) error = NULL;
  gboolean ok = FALSE;

  if (self->cache == NULL)
    {
      self->cache = purser_cache_open (self->cache_path, &error);
      if (self->cache == NULL)
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
    }
  switch (op->kind)
    {
      case OP_READ_STATE:
        ok = TRUE;
        break;

      case OP_APPLY:
        ok = purser_cache_apply_events (self->cache, op->events, op->synced_at, &error);
        break;

      case OP_REPLACE:
        ok = purser_cache_replace (self->cache, op->entries, op->cursor, op->synced_at, &error);
        break;

      case OP_TOUCH:
        ok = purser_cache_get_state (self->cache, &op->cursor, NULL, &error)
             && purser_cache_set_state (self->cache, op->cursor, op->synced_at, &error);
        break;

      default:
        g_assert_not_reached ();
    }
  if (ok)
    ok = purser_cache_get_state (self->cache, &op->cursor, &op->synced_at, &error);
  if (!ok)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
run_op (Run *run, Op *op, GAsyncReadyCallback callback)
{
  g_autoptr (GTask) task = g_task_new (run->self, run->cancellable, callback, run);

  g_task_set_source_tag (task, run_op);
  if (op->synced_at == 0)
    op->synced_at = g_get_real_time () / G_USEC_PER_SEC;
  g_task_set_task_data (task, op, (GDestroyNotify) op_free);
  g_task_run_in_thread (task, op_thread);
}

/* ── a run ─────────────────────────────────────────────────────────────────────── */

static void
run_free (Run *run)
{
  g_clear_object (&run->cancellable);
  g_clear_pointer (&run->tasks, g_ptr_array_unref);
  g_clear_pointer (&run->entries, g_ptr_array_unref);
  g_clear_pointer (&run->invoice_ids, g_ptr_array_unref);
  g_free (run->page_after);
  g_clear_object (&run->self);
  g_free (run);
}

static void start_run (PurserSync *self, GPtrArray *tasks, GCancellable *cancellable);

/* Ends the run: state, error, every waiting call; then the calls that came meanwhile. */
static void
finish_run (Run *run, GError *error)
{
  PurserSync *self = g_object_ref (run->self);
  g_autoptr (GPtrArray) next = NULL;

  g_assert (self->run == run);
  self->run = NULL;
  g_clear_error (&self->error);
  if (error == NULL)
    {
      set_progress (self, 1.0);
      set_state (self, PURSER_SYNC_STATE_ONLINE);
    }
  else
    {
      self->error = g_error_copy (error);
      /* A cancelled run knows nothing new about the server. */
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        set_state (self, g_error_matches (error, PURSER_CLIENT_ERROR, PURSER_CLIENT_ERROR_OFFLINE)
                             ? PURSER_SYNC_STATE_OFFLINE
                             : PURSER_SYNC_STATE_ONLINE);
      else
        set_state (self, run->previous_state);
    }
  for (guint i = 0; i < run->tasks->len; i++)
    {
      GTask *task = g_ptr_array_index (run->tasks, i);

      if (error == NULL)
        g_task_return_boolean (task, TRUE);
      else
        g_task_return_error (task, g_error_copy (error));
    }
  run_free (run);
  g_clear_error (&error);

  if (self->next_tasks->len > 0)
    {
      GTask *first = g_ptr_array_index (self->next_tasks, 0);

      next = g_steal_pointer (&self->next_tasks);
      self->next_tasks = g_ptr_array_new_with_free_func (g_object_unref);
      start_run (self, g_steal_pointer (&next), g_task_get_cancellable (first));
    }
  g_object_unref (self);
}

static char *
org_path (Run *run, const char *suffix)
{
  return g_strconcat ("/v1/orgs/", run->self->org_id, suffix, NULL);
}

/* The incremental part ── */

static void
applied_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Run *run = user_data;
  PurserSync *self = run->self;
  Op *op = g_task_get_task_data (G_TASK (result));
  GError *error = NULL;
  gboolean more = op->kind == OP_APPLY && op->has_more;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      finish_run (run, error);
      return;
    }
  if (op->kind != OP_TOUCH)
    g_signal_emit (self, signals[CHANGED], 0);
  run->cursor = op->cursor;
  set_last_synced (self, op->synced_at);
  if (op->kind == OP_REPLACE || more)
    {
      fetch_events (run);
      return;
    }
  finish_run (run, NULL);
}

static void
events_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Run *run = user_data;
  PurserSync *self = run->self;
  g_autoptr (JsonNode) node = NULL;
  GError *error = NULL;
  JsonObject *page;
  JsonArray *events;
  gint64 last_seq;
  Op *op;

  node = purser_client_get_json_finish (PURSER_CLIENT (source), result, &error);
  if (node == NULL)
    {
      if (g_error_matches (error, PURSER_CLIENT_ERROR, PURSER_CLIENT_ERROR_CURSOR_UNKNOWN))
        {
          /* The cache belongs to another database: start over from the list routes. */
          g_clear_error (&error);
          run->step = STEP_HEAD;
          set_progress (self, 0.0);
          snapshot_next (run);
          return;
        }
      finish_run (run, error);
      return;
    }
  page = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  events = page != NULL ? json_object_get_array_member (page, "data") : NULL;
  if (events == NULL)
    {
      finish_run (run, g_error_new (PURSER_CLIENT_ERROR, PURSER_CLIENT_ERROR_SERVER,
                                    "%s sent changes Purser can't read.",
                                    purser_client_get_host (self->client)));
      return;
    }
  last_seq = json_object_get_int_member_with_default (page, "last_seq", run->cursor);
  op = g_new0 (Op, 1);
  if (json_array_get_length (events) == 0)
    op->kind = OP_TOUCH;
  else
    {
      op->kind = OP_APPLY;
      op->events = json_array_ref (events);
      op->has_more = json_object_get_boolean_member_with_default (page, "has_more", FALSE);
      if (last_seq > run->start_cursor)
        {
          JsonNode *last = json_array_get_element (events, json_array_get_length (events) - 1);
          gint64 seq = json_object_get_int_member (json_node_get_object (last), "seq");

          set_progress (self, (double) (seq - run->start_cursor)
                                  / (double) (last_seq - run->start_cursor));
        }
    }
  run_op (run, op, applied_cb);
}

static void
fetch_events (Run *run)
{
  g_autofree char *suffix = g_strdup_printf ("/events?after=%" G_GINT64_FORMAT "&limit=%u",
                                             run->cursor, run->self->batch_size);
  g_autofree char *path = org_path (run, suffix);

  purser_client_get_json_async (run->self->client, path, run->cancellable, events_cb, run);
}

/* The full resync ── */

static void
add_entry (Run *run, const char *type, JsonNode *resource)
{
  const char *id;

  if (resource == NULL || !JSON_NODE_HOLDS_OBJECT (resource))
    return;
  id = json_object_get_string_member_with_default (json_node_get_object (resource), "id", NULL);
  if (id != NULL)
    g_ptr_array_add (run->entries, purser_cache_entry_new (type, id, resource));
}

/* A page's items; TRUE when there are more (run->page_after is then the last id). */
static gboolean
add_page (Run *run, const char *type, JsonObject *page)
{
  JsonArray *data = json_object_get_array_member (page, "data");
  guint n = data != NULL ? json_array_get_length (data) : 0;
  const char *last_id = NULL;

  for (guint i = 0; i < n; i++)
    {
      JsonNode *item = json_array_get_element (data, i);

      if (type != NULL)
        add_entry (run, type, item);
      else if (JSON_NODE_HOLDS_OBJECT (item))
        g_ptr_array_add (run->invoice_ids, g_strdup (json_object_get_string_member_with_default (
                                               json_node_get_object (item), "id", "")));
      if (JSON_NODE_HOLDS_OBJECT (item))
        last_id
            = json_object_get_string_member_with_default (json_node_get_object (item), "id", NULL);
    }
  g_clear_pointer (&run->page_after, g_free);
  if (n == 0 || last_id == NULL
      || !json_object_get_boolean_member_with_default (page, "has_more", FALSE))
    return FALSE;
  run->page_after = g_uri_escape_string (last_id, NULL, FALSE);
  return TRUE;
}

static void
replaced_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Run *run = user_data;

  run->start_cursor = run->snapshot_seq;
  applied_cb (source, result, user_data);
}

static void
snapshot_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Run *run = user_data;
  PurserSync *self = run->self;
  g_autoptr (JsonNode) node = NULL;
  GError *error = NULL;
  JsonObject *object;
  gboolean more = FALSE;

  node = purser_client_get_json_finish (PURSER_CLIENT (source), result, &error);
  if (node == NULL)
    {
      /* What this role may not see stays out of its cache. */
      if (!g_error_matches (error, PURSER_CLIENT_ERROR, PURSER_CLIENT_ERROR_FORBIDDEN)
          || run->step == STEP_HEAD || run->step == STEP_ORG)
        {
          finish_run (run, error);
          return;
        }
      g_clear_error (&error);
    }
  object = node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  if (node != NULL && object == NULL)
    {
      finish_run (run, g_error_new (PURSER_CLIENT_ERROR, PURSER_CLIENT_ERROR_SERVER,
                                    "%s sent data Purser can't read.",
                                    purser_client_get_host (self->client)));
      return;
    }

  if (object != NULL)
    switch (run->step)
      {
        case STEP_HEAD:
          run->snapshot_seq = json_object_get_int_member_with_default (object, "last_seq", 0);
          break;

        case STEP_ORG:
          add_entry (run, "org", node);
          break;

        case STEP_DEPARTMENTS:
          add_page (run, "department", object);
          break;

        case STEP_SUBSCRIPTION:
          add_entry (run, "subscription", json_object_get_member (object, "subscription"));
          break;

        case STEP_PAYMENT_METHODS:
          add_page (run, "payment_method", object);
          break;

        case STEP_CREDIT_NOTES:
          add_page (run, "credit_note", object);
          break;

        case STEP_EMPLOYEES:
          more = add_page (run, "employee", object);
          break;

        case STEP_INVOICE_LIST:
          more = add_page (run, NULL, object);
          break;

        case STEP_INVOICES:
          add_entry (run, "invoice",
                     json_object_has_member (object, "invoice")
                         ? json_object_get_member (object, "invoice")
                         : node);
          run->invoice_index++;
          more = run->invoice_index < run->invoice_ids->len;
          break;

        case STEP_PAYMENTS:
          more = add_page (run, "payment", object);
          break;

        case STEP_REPLACE:
        default:
          g_assert_not_reached ();
      }

  /* Progress: 5 % per small step, then employees to 50 %, invoices to 90 %, payments to
   * 95 %, the rest for the events that came meanwhile. */
  if (run->step < STEP_EMPLOYEES)
    set_progress (self, 0.05 * (run->step + 1));
  else if (run->step == STEP_EMPLOYEES)
    approach_progress (self, 0.5);
  else if (run->step == STEP_INVOICE_LIST)
    approach_progress (self, 0.55);
  else if (run->step == STEP_INVOICES)
    set_progress (self, 0.55 + 0.35 * run->invoice_index / MAX (run->invoice_ids->len, 1));
  else if (run->step == STEP_PAYMENTS)
    approach_progress (self, 0.95);

  if (!more)
    {
      g_clear_pointer (&run->page_after, g_free);
      run->step++;
      if (run->step == STEP_INVOICES && run->invoice_ids->len == 0)
        run->step++;
    }
  snapshot_next (run);
}

static void
snapshot_next (Run *run)
{
  g_autofree char *suffix = NULL;
  g_autofree char *path = NULL;
  const char *after = run->page_after;
  Op *op;

  switch (run->step)
    {
      case STEP_HEAD:
        g_clear_pointer (&run->entries, g_ptr_array_unref);
        g_clear_pointer (&run->invoice_ids, g_ptr_array_unref);
        run->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) purser_cache_entry_free);
        run->invoice_ids = g_ptr_array_new_with_free_func (g_free);
        run->invoice_index = 0;
        suffix = g_strdup ("/events?after=0&limit=1");
        break;

      case STEP_ORG:
        suffix = g_strdup ("");
        break;

      case STEP_DEPARTMENTS:
        suffix = g_strdup ("/departments");
        break;

      case STEP_SUBSCRIPTION:
        suffix = g_strdup ("/subscription");
        break;

      case STEP_PAYMENT_METHODS:
        suffix = g_strdup ("/payment-methods");
        break;

      case STEP_CREDIT_NOTES:
        suffix = g_strdup ("/credit-notes");
        break;

      case STEP_EMPLOYEES:
        suffix = g_strdup_printf ("/employees?limit=%d%s%s", EMPLOYEE_PAGE,
                                  after != NULL ? "&after=" : "", after != NULL ? after : "");
        break;

      case STEP_INVOICE_LIST:
        suffix = g_strdup_printf ("/invoices?limit=%d%s%s", LIST_PAGE,
                                  after != NULL ? "&after=" : "", after != NULL ? after : "");
        break;

        case STEP_INVOICES: {
          g_autofree char *id = g_uri_escape_string (
              g_ptr_array_index (run->invoice_ids, run->invoice_index), NULL, FALSE);

          suffix = g_strconcat ("/invoices/", id, NULL);
          break;
        }

      case STEP_PAYMENTS:
        suffix = g_strdup_printf ("/payments?limit=%d%s%s", LIST_PAGE,
                                  after != NULL ? "&after=" : "", after != NULL ? after : "");
        break;

      case STEP_REPLACE:
        op = g_new0 (Op, 1);
        op->kind = OP_REPLACE;
        op->entries = g_steal_pointer (&run->entries);
        op->cursor = run->snapshot_seq;
        g_clear_pointer (&run->invoice_ids, g_ptr_array_unref);
        run_op (run, op, replaced_cb);
        return;

      default:
        g_assert_not_reached ();
    }
  path = org_path (run, suffix);
  purser_client_get_json_async (run->self->client, path, run->cancellable, snapshot_cb, run);
}

/* The start ── */

static void
state_read_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Run *run = user_data;
  Op *op = g_task_get_task_data (G_TASK (result));
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      finish_run (run, error);
      return;
    }
  run->cursor = run->start_cursor = op->cursor;
  set_last_synced (run->self, op->synced_at);
  /* Never synced: a snapshot (a synced cache of an org without events has cursor 0 too). */
  if (run->cursor == 0 && op->synced_at == 0)
    {
      run->step = STEP_HEAD;
      snapshot_next (run);
    }
  else
    fetch_events (run);
}

static void
start_run (PurserSync *self, GPtrArray *tasks, GCancellable *cancellable)
{
  Run *run = g_new0 (Run, 1);
  Op *op = g_new0 (Op, 1);

  g_assert (self->run == NULL);
  run->self = g_object_ref (self);
  run->tasks = tasks;
  run->cancellable = g_object_ref (cancellable != NULL ? cancellable : self->cancellable);
  run->previous_state = self->state;
  self->run = run;
  set_progress (self, 0.0);
  set_state (self, PURSER_SYNC_STATE_SYNCING);
  op->kind = OP_READ_STATE;
  run_op (run, op, state_read_cb);
}

static void
periodic_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  /* The outcome is in the state and purser_sync_get_error (). */
  purser_sync_run_finish (PURSER_SYNC (source), result, NULL);
}

static gboolean
periodic_cb (gpointer user_data)
{
  PurserSync *self = user_data;

  if (self->run == NULL)
    purser_sync_run_async (self, NULL, periodic_done_cb, NULL);
  return G_SOURCE_CONTINUE;
}

/* ── overrides ─────────────────────────────────────────────────────────────────── */

static void
purser_sync_dispose (GObject *object)
{
  PurserSync *self = PURSER_SYNC (object);

  purser_sync_stop_periodic (self);
  g_cancellable_cancel (self->cancellable);
  G_OBJECT_CLASS (purser_sync_parent_class)->dispose (object);
}

static void
purser_sync_finalize (GObject *object)
{
  PurserSync *self = PURSER_SYNC (object);

  g_assert (self->run == NULL);
  g_clear_pointer (&self->cache, purser_cache_close);
  g_clear_object (&self->client);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->next_tasks, g_ptr_array_unref);
  g_clear_pointer (&self->last_synced, g_date_time_unref);
  g_clear_error (&self->error);
  g_free (self->org_id);
  g_free (self->cache_path);
  G_OBJECT_CLASS (purser_sync_parent_class)->finalize (object);
}

static void
purser_sync_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  PurserSync *self = PURSER_SYNC (object);

  switch (prop_id)
    {
      case PROP_STATE:
        g_value_set_enum (value, self->state);
        break;

      case PROP_LAST_SYNCED:
        g_value_set_boxed (value, self->last_synced);
        break;

      case PROP_PROGRESS:
        g_value_set_double (value, self->progress);
        break;

      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
purser_sync_class_init (PurserSyncClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = purser_sync_dispose;
  object_class->finalize = purser_sync_finalize;
  object_class->get_property = purser_sync_get_property;

  properties[PROP_STATE]
      = g_param_spec_enum ("state", NULL, NULL, PURSER_TYPE_SYNC_STATE, PURSER_SYNC_STATE_OFFLINE,
                           G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_LAST_SYNCED]
      = g_param_spec_boxed ("last-synced", NULL, NULL, G_TYPE_DATE_TIME,
                            G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_PROGRESS]
      = g_param_spec_double ("progress", NULL, NULL, 0.0, 1.0, 0.0,
                             G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                   NULL, NULL, G_TYPE_NONE, 0);
}

static void
purser_sync_init (PurserSync *self)
{
  self->batch_size = DEFAULT_BATCH_SIZE;
  self->state = PURSER_SYNC_STATE_OFFLINE;
  self->next_tasks = g_ptr_array_new_with_free_func (g_object_unref);
  self->cancellable = g_cancellable_new ();
}

/* ── public API ────────────────────────────────────────────────────────────────── */

PurserSync *
purser_sync_new (PurserClient *client, const char *org_id, const char *cache_path)
{
  PurserSync *self;

  g_return_val_if_fail (PURSER_IS_CLIENT (client), NULL);
  g_return_val_if_fail (org_id != NULL && *org_id != '\0', NULL);
  g_return_val_if_fail (cache_path != NULL, NULL);

  self = g_object_new (PURSER_TYPE_SYNC, NULL);
  self->client = g_object_ref (client);
  self->org_id = g_strdup (org_id);
  self->cache_path = g_strdup (cache_path);
  return self;
}

PurserClient *
purser_sync_get_client (PurserSync *self)
{
  g_return_val_if_fail (PURSER_IS_SYNC (self), NULL);

  return self->client;
}

const char *
purser_sync_get_org_id (PurserSync *self)
{
  g_return_val_if_fail (PURSER_IS_SYNC (self), NULL);

  return self->org_id;
}

const char *
purser_sync_get_cache_path (PurserSync *self)
{
  g_return_val_if_fail (PURSER_IS_SYNC (self), NULL);

  return self->cache_path;
}

PurserSyncState
purser_sync_get_state (PurserSync *self)
{
  g_return_val_if_fail (PURSER_IS_SYNC (self), PURSER_SYNC_STATE_OFFLINE);

  return self->state;
}

GDateTime *
purser_sync_get_last_synced (PurserSync *self)
{
  g_return_val_if_fail (PURSER_IS_SYNC (self), NULL);

  return self->last_synced;
}

double
purser_sync_get_progress (PurserSync *self)
{
  g_return_val_if_fail (PURSER_IS_SYNC (self), 0.0);

  return self->progress;
}

const GError *
purser_sync_get_error (PurserSync *self)
{
  g_return_val_if_fail (PURSER_IS_SYNC (self), NULL);

  return self->error;
}

void
purser_sync_set_batch_size (PurserSync *self, guint batch_size)
{
  g_return_if_fail (PURSER_IS_SYNC (self));
  g_return_if_fail (batch_size >= 1 && batch_size <= 5000);

  self->batch_size = batch_size;
}

void
purser_sync_run_async (PurserSync *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                       gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  GPtrArray *tasks;

  g_return_if_fail (PURSER_IS_SYNC (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, purser_sync_run_async);
  if (self->run != NULL)
    {
      g_ptr_array_add (self->next_tasks, g_steal_pointer (&task));
      return;
    }
  tasks = g_ptr_array_new_with_free_func (g_object_unref);
  g_ptr_array_add (tasks, g_steal_pointer (&task));
  start_run (self, tasks, cancellable);
}

gboolean
purser_sync_run_finish (PurserSync *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (PURSER_IS_SYNC (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == purser_sync_run_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
purser_sync_start_periodic (PurserSync *self, guint seconds)
{
  g_return_if_fail (PURSER_IS_SYNC (self));

  purser_sync_stop_periodic (self);
  if (seconds == 0)
    return;
  self->periodic = g_timeout_source_new_seconds (seconds);
  /* The timer does not keep the object alive. */
  g_source_set_callback (self->periodic, periodic_cb, self, NULL);
  g_source_attach (self->periodic, g_main_context_get_thread_default ());
}

void
purser_sync_stop_periodic (PurserSync *self)
{
  g_return_if_fail (PURSER_IS_SYNC (self));

  if (self->periodic != NULL)
    {
      g_source_destroy (self->periodic);
      g_clear_pointer (&self->periodic, g_source_unref);
    }
}
