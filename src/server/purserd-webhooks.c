/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "purserd-json.h"
#include "purserd-payments.h"
#include "purserd-stripe-signature.h"
#include "purserd-webhooks.h"

#define MAX_BACKOFF_SECONDS (60 * 60)

struct _PurserdWebhooks
{
  PurserdServer *server;
};

typedef enum
{
  OUTCOME_PROCESSED,
  OUTCOME_IGNORED,
  OUTCOME_STARTED, /* waiting for Stripe; finished by a callback */
  OUTCOME_FAILED,
} Outcome;

PurserdWebhooks *
purserd_webhooks_new (PurserdServer *server)
{
  PurserdWebhooks *webhooks = g_new0 (PurserdWebhooks, 1);

  webhooks->server = server;
  return webhooks;
}

void
purserd_webhooks_free (PurserdWebhooks *webhooks)
{
  g_free (webhooks);
}

/* ── receiving ─────────────────────────────────────────────────────────────────── */

void
purserd_webhooks_receive (PurserdCall *call)
{
  const PurserdConfig *config = purserd_server_config (call->server);
  GByteArray *body = call->request->body;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonParser) parser = json_parser_new (); /* mutable: the client_secret is cut */
  g_auto (PurserdStripeEvent) event = { 0 };
  g_auto (PurserStripeEventRecord) rec = { 0 };
  gboolean duplicate = FALSE;
  g_autoptr (JsonBuilder) builder = json_builder_new_immutable ();

  if (config->webhook_secrets == NULL || config->webhook_secrets[0] == NULL)
    {
      purserd_call_error (call, 400, "webhooks_not_configured", NULL,
                          "This server has no Stripe webhook secret (STRIPE_WEBHOOK_SECRET); "
                          "it cannot accept events.");
      return;
    }
  /* The raw bytes, before any parsing; the wall clock, whatever the billing clock says. */
  if (!purserd_stripe_signature_verify (
          purserd_request_header (call->request, "stripe-signature"), body->data, body->len,
          (const char *const *) config->webhook_secrets, g_get_real_time () / G_USEC_PER_SEC,
          PURSERD_STRIPE_SIGNATURE_TOLERANCE, &error))
    {
      purserd_call_error (call, 400, "invalid_signature", "Stripe-Signature", "%s", error->message);
      return;
    }
  if (!json_parser_load_from_data (parser, (const char *) body->data, (gssize) body->len, &error)
      || !purserd_stripe_parse_event (json_parser_get_root (parser), &event, &error))
    {
      purserd_call_error (call, 400, "invalid_event", NULL, "Not a Stripe event: %s",
                          error->message);
      return;
    }

  rec.id = g_strdup (event.id);
  rec.type = g_strdup (event.type);
  rec.created = event.created;
  rec.object_id = g_strdup (event.object_id);
  /* Intents carry a client_secret, which Purser never needs: it is not stored. */
  if (json_object_has_member (event.object, "client_secret"))
    json_object_remove_member (event.object, "client_secret");
  rec.payload = json_to_string (json_parser_get_root (parser), FALSE);
  rec.status = g_strdup ("pending");
  rec.received_at = g_get_real_time () / G_USEC_PER_SEC;
  if (!purser_store_stripe_event_insert (call->db, &rec, &duplicate, &error))
    {
      purserd_call_fail (call, error);
      return;
    }
  purserd_server_kick (call->server);

  json_builder_begin_object (builder);
  purser_wire_add_bool (builder, "received", TRUE);
  purser_wire_add_bool (builder, "duplicate", duplicate);
  json_builder_end_object (builder);
  purserd_call_reply (call, 200, builder);
}

/* ── processing ────────────────────────────────────────────────────────────────── */

typedef struct
{
  PurserdWebhooks *webhooks;
  char *event_id;
  gint64 created;
  char *org_id;
  char *setup_id;
  char *method_stripe_id;
} Job;

static void
job_free (Job *job)
{
  g_free (job->event_id);
  g_free (job->org_id);
  g_free (job->setup_id);
  g_free (job->method_stripe_id);
  g_free (job);
}

/* Marks an event done (or failed, to be retried) in its own transaction. */
static void
settle (PurserdWebhooks *self, const char *event_id, Outcome outcome, const char *note)
{
  PurserDb *db = purserd_server_db (self->server);
  g_auto (PurserStripeEventRecord) rec = { 0 };
  g_autoptr (GError) error = NULL;
  gint64 wall = g_get_real_time () / G_USEC_PER_SEC;

  if (!purser_store_stripe_event_get (db, event_id, &rec, &error))
    goto out;
  g_free (rec.status);
  g_free (rec.note);
  rec.note = g_strdup (note);
  rec.attempts++;
  if (outcome == OUTCOME_FAILED)
    {
      rec.status = g_strdup ("failed");
      rec.next_attempt_at
          = wall + MIN ((gint64) 5 << MIN (rec.attempts - 1, 12), MAX_BACKOFF_SECONDS);
      g_message ("webhooks: %s (%s) failed, retrying later: %s", rec.id, rec.type, note);
    }
  else
    {
      rec.status = g_strdup (outcome == OUTCOME_IGNORED ? "ignored" : "processed");
      rec.processed_at = wall;
    }
  purser_store_stripe_event_update (db, &rec, &error);
out:
  if (error != NULL)
    g_warning ("webhooks: %s: %s", event_id, error->message);
}

static void
job_done (Job *job, Outcome outcome, const char *note)
{
  PurserdWebhooks *self = job->webhooks;

  settle (self, job->event_id, outcome, note);
  purserd_server_worker_done (self->server, self);
  job_free (job);
}

/* Runs `apply` in a transaction; NOT_FOUND means the object is not Purser's: ignored. */
static Outcome
transact (PurserdWebhooks *self,
          gboolean (*apply) (PurserdWebhooks *, PurserDb *, gpointer, gint64, GError **),
          gpointer data, gint64 created, char **note)
{
  PurserDb *db = purserd_server_db (self->server);
  g_autoptr (GError) error = NULL;

  if (!purser_db_begin (db, &error))
    goto failed;
  if (!apply (self, db, data, created, &error))
    {
      purser_db_rollback (db);
      if (g_error_matches (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND))
        {
          *note = g_strdup_printf ("not Purser's: %s", error->message);
          return OUTCOME_IGNORED;
        }
      goto failed;
    }
  if (purser_db_commit (db, &error))
    return OUTCOME_PROCESSED;
  purser_db_rollback (db);
failed:
  *note = g_strdup (error->message);
  return OUTCOME_FAILED;
}

static gboolean
apply_intent (PurserdWebhooks *self, PurserDb *db, gpointer data, gint64 created, GError **error)
{
  return purserd_payments_apply_intent (self->server, db, data, created, error);
}

static gboolean
apply_refund (PurserdWebhooks *self, PurserDb *db, gpointer data, gint64 created, GError **error)
{
  return purserd_payments_apply_refund (self->server, db, data, created, error);
}

static gboolean
apply_detached (PurserdWebhooks *self, PurserDb *db, gpointer data, gint64 created, GError **error)
{
  const PurserdStripePaymentMethod *pm = data;
  g_auto (PurserPaymentMethodRecord) method = { 0 };
  g_autoptr (JsonNode) before = NULL;
  g_autoptr (JsonNode) after = NULL;
  gint64 now = purserd_server_now (self->server);

  if (!purser_store_payment_method_by_stripe (db, pm->id, &method, error))
    return FALSE;
  if (created < method.stripe_seen || g_str_equal (method.status, "removed"))
    return TRUE;
  before = purserd_json_payment_method (&method);
  g_free (method.status);
  method.status = g_strdup ("removed");
  method.removed_at = now;
  method.is_default = FALSE;
  method.stripe_seen = created;
  if (!purser_store_payment_method_update (db, &method, error))
    return FALSE;
  after = purserd_json_payment_method (&method);
  return purserd_event_append (db, method.org_id, now, "system", "payment_method.removed",
                               "payment_method", method.id, NULL, before, after, error);
}

/* A method Stripe confirmed (setup done): stored once, the default if there is none. */
static gboolean
add_method (PurserdWebhooks *self, PurserDb *db, Job *job, const PurserdStripePaymentMethod *pm,
            GError **error)
{
  g_auto (PurserPaymentMethodRecord) method = { 0 };
  g_auto (PurserPaymentMethodRecord) existing = { 0 };
  g_auto (PurserPaymentSetupRecord) setup = { 0 };
  g_autoptr (JsonNode) after = NULL;
  g_autoptr (GError) local = NULL;
  gint64 now = purserd_server_now (self->server);
  gboolean has_default;
  sqlite3_stmt *stmt;
  gboolean detached_later = FALSE;

  if (purser_store_payment_method_by_stripe (db, pm->id, &existing, NULL))
    return TRUE; /* the other setup event got here first */

  /* A detach Stripe reported already, from later than this event: do not bring it back. */
  stmt = purser_db_prepare (db,
                            "SELECT 1 FROM stripe_events WHERE type = 'payment_method.detached'"
                            " AND object_id = ? AND created >= ? AND status = 'ignored'",
                            error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, pm->id);
  purser_db_bind_int64 (stmt, 2, job->created);
  detached_later = sqlite3_step (stmt) == SQLITE_ROW;
  sqlite3_reset (stmt);
  if (detached_later)
    return TRUE;

  if (!g_str_equal (pm->type, "card") && !g_str_equal (pm->type, "us_bank_account")
      && !g_str_equal (pm->type, "sepa_debit"))
    {
      g_set_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND,
                   "payment method type %s is not one Purser uses", pm->type);
      return FALSE;
    }
  has_default = purser_store_payment_method_default (db, job->org_id, &existing, &local);
  if (!has_default && !g_error_matches (local, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }

  method.id = purser_db_new_id ("pm");
  method.org_id = g_strdup (job->org_id);
  method.type = g_strdup (pm->type);
  method.stripe_id = g_strdup (pm->id);
  method.brand = g_strdup (pm->brand);
  method.last4 = g_strdup (pm->last4);
  method.exp_month = pm->exp_month;
  method.exp_year = pm->exp_year;
  method.country = g_strdup (pm->country);
  method.is_default = !has_default;
  method.status = g_strdup ("active");
  method.created_at = now;
  method.stripe_seen = job->created;
  if (!purser_store_payment_method_insert (db, &method, error))
    return FALSE;
  if (job->setup_id != NULL && purser_store_payment_setup_get (db, job->setup_id, &setup, NULL))
    {
      g_free (setup.status);
      setup.status = g_strdup ("complete");
      g_free (setup.method_id);
      setup.method_id = g_strdup (method.id);
      setup.completed_at = now;
      if (!purser_store_payment_setup_put (db, &setup, error))
        return FALSE;
    }
  after = purserd_json_payment_method (&method);
  return purserd_event_append (db, method.org_id, now, "system", "payment_method.added",
                               "payment_method", method.id, NULL, NULL, after, error);
}

static void
method_fetched (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Job *job = user_data;
  PurserdWebhooks *self = job->webhooks;
  PurserDb *db = purserd_server_db (self->server);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) answer
      = purserd_stripe_send_finish (purserd_server_stripe (self->server), result, NULL, &error);
  g_auto (PurserdStripePaymentMethod) pm = { 0 };

  if (answer == NULL || !purserd_stripe_parse_payment_method (answer, &pm, &error))
    {
      job_done (job, OUTCOME_FAILED, error->message);
      return;
    }
  if (!purser_db_begin (db, &error))
    goto failed;
  if (!add_method (self, db, job, &pm, &error))
    {
      purser_db_rollback (db);
      if (g_error_matches (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND))
        {
          job_done (job, OUTCOME_IGNORED, error->message);
          return;
        }
      goto failed;
    }
  if (!purser_db_commit (db, &error))
    {
      purser_db_rollback (db);
      goto failed;
    }
  job_done (job, OUTCOME_PROCESSED, NULL);
  return;
failed:
  job_done (job, OUTCOME_FAILED, error->message);
}

static void
fetch_method (Job *job)
{
  purserd_stripe_send_async (purserd_server_stripe (job->webhooks->server),
                             purserd_stripe_payment_method_get (job->method_stripe_id), NULL,
                             method_fetched, job);
}

static void
setup_intent_fetched (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Job *job = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) answer = purserd_stripe_send_finish (
      purserd_server_stripe (job->webhooks->server), result, NULL, &error);
  g_auto (PurserdStripeSetupIntent) intent = { 0 };

  if (answer == NULL || !purserd_stripe_parse_setup_intent (answer, &intent, &error))
    {
      job_done (job, OUTCOME_FAILED, error->message);
      return;
    }
  if (intent.payment_method == NULL || g_strcmp0 (intent.status, "succeeded") != 0)
    {
      job_done (job, OUTCOME_IGNORED, "the setup has no confirmed payment method yet");
      return;
    }
  job->method_stripe_id = g_strdup (intent.payment_method);
  fetch_method (job);
}

/* The organization of a Stripe customer id (NULL with a note when it is not ours). */
static char *
org_of_customer (PurserDb *db, const char *customer, char **note)
{
  char *org_id = NULL;
  g_autoptr (GError) error = NULL;

  if (customer == NULL || !purser_store_org_by_stripe_customer (db, customer, &org_id, &error))
    {
      *note = g_strdup_printf ("customer %s is not a Purser organization",
                               customer ? customer : "(none)");
      return NULL;
    }
  return org_id;
}

static Outcome
process (PurserdWebhooks *self, const PurserStripeEventRecord *rec, Job *job, char **note)
{
  PurserDb *db = purserd_server_db (self->server);
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) error = NULL;
  g_auto (PurserdStripeEvent) event = { 0 };
  const char *type = rec->type;

  if (!json_parser_load_from_data (parser, rec->payload, -1, &error)
      || !purserd_stripe_parse_event (json_parser_get_root (parser), &event, &error))
    {
      *note = g_strdup (error->message);
      return OUTCOME_IGNORED;
    }

  /* Only the events that settle a payment: payment_intent.created and the like carry a
   * status (requires_payment_method) that is not a failure yet. */
  if (g_str_equal (type, "payment_intent.succeeded")
      || g_str_equal (type, "payment_intent.payment_failed")
      || g_str_equal (type, "payment_intent.processing")
      || g_str_equal (type, "payment_intent.canceled"))
    {
      g_auto (PurserdStripePaymentIntent) intent = { 0 };

      if (!purserd_stripe_parse_payment_intent (event.object, &intent, &error))
        goto unreadable;
      return transact (self, apply_intent, &intent, rec->created, note);
    }
  if (g_str_equal (type, "charge.refunded"))
    {
      g_auto (PurserdStripeCharge) charge = { 0 };

      if (!purserd_stripe_parse_charge (event.object, &charge, &error))
        goto unreadable;
      return transact (self, apply_refund, &charge, rec->created, note);
    }
  if (g_str_equal (type, "payment_method.detached"))
    {
      g_auto (PurserdStripePaymentMethod) pm = { 0 };

      if (!purserd_stripe_parse_payment_method (event.object, &pm, &error))
        goto unreadable;
      return transact (self, apply_detached, &pm, rec->created, note);
    }
  if (g_str_equal (type, "checkout.session.completed"))
    {
      g_auto (PurserdStripeCheckoutSession) session = { 0 };
      g_auto (PurserPaymentSetupRecord) setup = { 0 };

      if (!purserd_stripe_parse_checkout_session (event.object, &session, &error))
        goto unreadable;
      if (g_strcmp0 (session.mode, "setup") != 0 || session.setup_intent == NULL)
        {
          *note = g_strdup ("not a setup session");
          return OUTCOME_IGNORED;
        }
      if (!purser_store_payment_setup_get (
              db, session.metadata_setup_id ? session.metadata_setup_id : session.id, &setup, NULL))
        {
          *note = g_strdup_printf ("session %s was not started by Purser", session.id);
          return OUTCOME_IGNORED;
        }
      job->org_id = g_strdup (setup.org_id);
      job->setup_id = g_strdup (setup.id);
      purserd_stripe_send_async (purserd_server_stripe (self->server),
                                 purserd_stripe_setup_intent_get (session.setup_intent), NULL,
                                 setup_intent_fetched, job);
      return OUTCOME_STARTED;
    }
  if (g_str_equal (type, "setup_intent.succeeded"))
    {
      g_auto (PurserdStripeSetupIntent) intent = { 0 };

      if (!purserd_stripe_parse_setup_intent (event.object, &intent, &error))
        goto unreadable;
      job->org_id = org_of_customer (db, intent.customer, note);
      if (job->org_id == NULL)
        return OUTCOME_IGNORED;
      if (intent.payment_method == NULL)
        {
          *note = g_strdup ("the setup has no payment method");
          return OUTCOME_IGNORED;
        }
      job->method_stripe_id = g_strdup (intent.payment_method);
      fetch_method (job);
      return OUTCOME_STARTED;
    }
  *note = g_strdup_printf ("%s is not used by Purser", type);
  return OUTCOME_IGNORED;

unreadable:
  *note = g_strdup_printf ("unreadable %s: %s", type, error->message);
  return OUTCOME_IGNORED;
}

gboolean
purserd_webhooks_run (gpointer data)
{
  PurserdWebhooks *self = data;
  PurserDb *db = purserd_server_db (self->server);
  g_autoptr (GPtrArray) due = NULL;
  g_autoptr (GError) error = NULL;

  due = purser_store_stripe_event_due (db, g_get_real_time () / G_USEC_PER_SEC, &error);
  for (guint i = 0; due != NULL && i < due->len; i++)
    {
      g_auto (PurserStripeEventRecord) rec = { 0 };
      g_autofree char *note = NULL;
      Job *job;
      Outcome outcome;

      if (!purser_store_stripe_event_get (db, g_ptr_array_index (due, i), &rec, &error))
        break;
      job = g_new0 (Job, 1);
      job->webhooks = self;
      job->event_id = g_strdup (rec.id);
      job->created = rec.created;
      outcome = process (self, &rec, job, &note);
      if (outcome == OUTCOME_STARTED)
        return TRUE;
      job_free (job);
      settle (self, rec.id, outcome, note);
      if (outcome == OUTCOME_PROCESSED)
        purserd_server_kick (self->server); /* it may have queued mail or charges */
    }
  if (error != NULL)
    g_warning ("webhooks: %s", error->message);
  return FALSE;
}
