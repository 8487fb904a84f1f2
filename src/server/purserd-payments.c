/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "purser-dunning.h"
#include "purserd-json.h"
#include "purserd-outbox.h"
#include "purserd-payments.h"
#include "purserd-pdf.h"

#define RESEND_DELAY_SECONDS 60

struct _PurserdPayments
{
  PurserdServer *server;
  gint64 resend_after; /* wall clock: pending payments unanswered by Stripe wait until then */
  GHashTable *polled;  /* processing payment id → wall time Stripe was last asked */
};

typedef struct
{
  PurserdPayments *payments;
  char *payment_id;
  char *credit_note_id;
  PurserdChargeDone done;
  gpointer done_data;
  gboolean worker; /* started by the worker: tell the server when finished */
} Job;

static void
job_free (Job *job)
{
  g_free (job->payment_id);
  g_free (job->credit_note_id);
  g_free (job);
}

PurserdPayments *
purserd_payments_new (PurserdServer *server)
{
  PurserdPayments *payments = g_new0 (PurserdPayments, 1);

  payments->server = server;
  payments->polled = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return payments;
}

void
purserd_payments_free (PurserdPayments *payments)
{
  g_hash_table_unref (payments->polled);
  g_free (payments);
}

/* ── helpers ───────────────────────────────────────────────────────────────────── */

static gboolean
is_stripe_type (const char *type)
{
  return g_strcmp0 (type, "card") == 0 || g_strcmp0 (type, "us_bank_account") == 0
         || g_strcmp0 (type, "sepa_debit") == 0;
}

/* Whether a card or bank method can be charged now. SEPA Direct Debit collects euros and
 * Purser bills in dollars: such a method is kept (its mandate is valid) but not charged,
 * rather than charged the same number of euro cents. */
static gboolean
chargeable (PurserdServer *server, const PurserPaymentMethodRecord *method, GError **error)
{
  if (g_str_equal (method->type, "sepa_debit"))
    {
      g_set_error_literal (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NOT_ALLOWED,
                           "SEPA Direct Debit collects euros and Purser bills in US dollars, so "
                           "this invoice cannot be debited from it; make a card or US bank "
                           "account the default, or pay by bank transfer.");
      return FALSE;
    }
  if (!purserd_stripe_configured (purserd_server_stripe (server)))
    {
      g_set_error_literal (error, PURSERD_STRIPE_ERROR, PURSERD_STRIPE_ERROR_NOT_CONFIGURED,
                           "Stripe is not configured on this billing server, so cards and bank "
                           "debits cannot be charged; pay by transfer instead.");
      return FALSE;
    }
  return TRUE;
}

static char *
money (PurserCents amount)
{
  return purser_cents_format (amount);
}

static char *
date_text (gint64 time)
{
  return time ? purser_date_format_human (purser_date_from_unix (time)) : g_strdup ("");
}

static char *
public_link (PurserdServer *server, const char *path)
{
  const char *base = purserd_server_config (server)->public_url;

  return g_strconcat (base ? base : "http://127.0.0.1:8080", path, NULL);
}

static gboolean
queue_billing_mail (PurserdServer *server, PurserDb *db, const char *org_id,
                    const char *template_id, JsonObject *vars, const char *attachment,
                    GError **error)
{
  g_auto (GStrv) recipients = purserd_outbox_billing_recipients (db, org_id);
  g_auto (PurserOrgRecord) org = { 0 };

  if (!purser_store_org_get (db, org_id, &org, error))
    return FALSE;
  json_object_set_string_member (vars, "org_name", org.name);
  return purserd_outbox_queue (db, org_id, template_id, vars, (const char *const *) recipients,
                               attachment, error);
}

static gboolean
invoice_event (PurserDb *db, JsonNode *before, const PurserInvoiceRecord *invoice, const char *type,
               gint64 now, const char *actor, GError **error)
{
  g_autoptr (JsonNode) after = purserd_json_invoice (invoice, FALSE);

  return purserd_event_append (db, invoice->org_id, now, actor, type, "invoice", invoice->id, NULL,
                               before, after, error);
}

static gboolean
payment_event (PurserDb *db, const PurserPaymentRecord *payment, const char *type, gint64 now,
               const char *actor, GError **error)
{
  g_autoptr (JsonNode) after = purserd_json_payment (payment);

  return purserd_event_append (db, payment->org_id, now, actor, type, "payment", payment->id, NULL,
                               NULL, after, error);
}

/* past_due ↔ active, with its event. */
static gboolean
set_subscription_status (PurserDb *db, const char *org_id, PurserStatus from, PurserStatus to,
                         const char *event_type, gint64 now, const char *actor, GError **error)
{
  g_auto (PurserSubscriptionRecord) sub = { 0 };
  g_autoptr (GError) local = NULL;
  g_autoptr (JsonNode) before = NULL;
  g_autoptr (JsonNode) after = NULL;

  if (!purser_store_subscription_current (db, org_id, &sub, &local))
    {
      if (g_error_matches (local, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (sub.state.status != from)
    return TRUE;
  before = purserd_json_subscription (&sub, NULL);
  sub.state.status = to;
  sub.updated_at = now;
  if (!purser_store_subscription_update (db, &sub, error))
    return FALSE;
  after = purserd_json_subscription (&sub, NULL);
  return purserd_event_append (db, org_id, now, actor, event_type, "subscription", sub.id, NULL,
                               before, after, error);
}

/* The invoice's payments, newest first; CONFLICT while one of them is still under way (paying,
 * marking paid and voiding wait until Stripe has settled it). */
static GArray *
settled_payments (PurserDb *db, const PurserInvoiceRecord *invoice, GError **error)
{
  g_autoptr (GArray) payments = purser_payment_records_new ();
  gboolean has_more = FALSE;

  if (!purser_store_payment_list (db, invoice->org_id, invoice->id, NULL, 100, payments, &has_more,
                                  error))
    return NULL;
  for (guint i = 0; i < payments->len; i++)
    {
      const char *status = g_array_index (payments, PurserPaymentRecord, i).status;

      if (g_str_equal (status, "pending") || g_str_equal (status, "processing"))
        {
          g_set_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_CONFLICT,
                       "A payment of invoice %s is under way; wait until it has settled.",
                       invoice->number);
          return NULL;
        }
    }
  return g_steal_pointer (&payments);
}

/* ── issuing ───────────────────────────────────────────────────────────────────── */

gboolean
purserd_payments_prepare_invoice (PurserDb *db, PurserInvoiceRecord *invoice, GError **error)
{
  g_auto (PurserPaymentMethodRecord) method = { 0 };
  g_autoptr (GError) local = NULL;
  gboolean automatic = FALSE;

  if (!purser_store_payment_method_default (db, invoice->org_id, &method, &local))
    {
      if (!g_error_matches (local, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
    }
  else
    automatic = is_stripe_type (method.type);

  g_free (invoice->collection);
  invoice->collection = g_strdup (automatic ? "charge_automatically" : "send_invoice");
  if (invoice->status != PURSER_INVOICE_OPEN)
    return TRUE;
  invoice->due_on = purser_invoice_due_on (invoice->issued_on, automatic);
  if (automatic)
    invoice->next_attempt_at = invoice->created_at;
  return TRUE;
}

gboolean
purserd_payments_invoice_issued (PurserdServer *server, PurserDb *db, const PurserOrgRecord *org,
                                 const PurserInvoiceRecord *invoice, GError **error)
{
  g_autoptr (JsonObject) vars = json_object_new ();
  g_autofree char *total = money (invoice->draft.total);
  g_autofree char *due = purser_date_format_human (invoice->due_on);
  g_autofree char *start = purser_date_format_human (invoice->period.start);
  g_autofree char *end = purser_date_format_human (invoice->period.end);
  g_autofree char *period = g_strdup_printf ("%s – %s", start, end);
  g_autofree char *path = g_strdup_printf ("/v1/orgs/%s/invoices/%s/pdf", org->id, invoice->id);
  g_autofree char *url = public_link (server, path);
  g_autofree char *attachment = g_strconcat ("invoice:", invoice->id, NULL);
  gboolean automatic = g_strcmp0 (invoice->collection, "charge_automatically") == 0;

  if (invoice->draft.total == 0)
    return TRUE;
  json_object_set_string_member (vars, "invoice_number", invoice->number);
  json_object_set_string_member (vars, "total", total);
  json_object_set_string_member (vars, "due_date", due);
  json_object_set_string_member (vars, "period", period);
  json_object_set_string_member (
      vars, "payment_terms",
      automatic ? "It will be charged to your default payment method."
                : "Please pay by bank transfer by the due date, quoting the invoice number.");
  json_object_set_string_member (vars, "url", url);
  return queue_billing_mail (server, db, org->id, "invoice-issued", vars, attachment, error);
}

/* ── outcomes ──────────────────────────────────────────────────────────────────── */

static gboolean
payment_succeeded (PurserdServer *server, PurserDb *db, PurserPaymentRecord *payment,
                   PurserInvoiceRecord *invoice, gint64 now, const char *actor, GError **error)
{
  g_autoptr (JsonNode) before = purserd_json_invoice (invoice, FALSE);
  PurserInvoiceStatus was = invoice->status;
  g_autoptr (JsonObject) vars = json_object_new ();
  g_autofree char *amount = money (payment->amount);
  g_autofree char *paid_on = date_text (now);
  g_autofree char *attachment = g_strconcat ("receipt:", payment->id, NULL);

  g_free (payment->receipt_number);
  payment->receipt_number
      = g_strdup_printf ("%s-R%" G_GINT64_FORMAT, invoice->number,
                         purser_store_payment_receipt_count (db, invoice->id) + 1);
  if (!purser_store_payment_update (db, payment, error))
    return FALSE;

  if (was == PURSER_INVOICE_OPEN)
    {
      invoice->amount_paid += payment->amount;
      if (invoice->amount_paid >= invoice->draft.total)
        {
          invoice->status = PURSER_INVOICE_PAID;
          invoice->paid_at = now;
        }
      invoice->next_attempt_at = 0;
      if (!purser_store_invoice_update_status (db, invoice, error)
          || !invoice_event (db, before, invoice,
                             invoice->status == PURSER_INVOICE_PAID ? "invoice.paid"
                                                                    : "invoice.updated",
                             now, actor, error))
        return FALSE;
    }
  if (!payment_event (db, payment, "payment.succeeded", now, actor, error))
    return FALSE;
  if (was != PURSER_INVOICE_OPEN && payment->stripe_payment_intent != NULL)
    {
      /* Paid by transfer or voided meanwhile: this money goes back. */
      g_auto (PurserCreditNoteRecord) note = { 0 };
      g_autoptr (JsonNode) note_json = NULL;

      note.id = purser_db_new_id ("cn");
      note.org_id = g_strdup (invoice->org_id);
      note.invoice_id = g_strdup (invoice->id);
      note.payment_id = g_strdup (payment->id);
      note.amount = payment->amount;
      note.refund_status = g_strdup ("pending");
      note.reason = g_strdup_printf ("Invoice %s was already %s when this payment arrived.",
                                     invoice->number, purser_invoice_status_to_string (was));
      note.created_at = now;
      if (!purser_store_credit_note_insert (db, &note, error))
        return FALSE;
      note_json = purserd_json_credit_note (&note);
      return purserd_event_append (db, invoice->org_id, now, actor, "credit_note.created",
                                   "credit_note", note.id, NULL, NULL, note_json, error);
    }
  if (!set_subscription_status (db, invoice->org_id, PURSER_STATUS_PAST_DUE, PURSER_STATUS_ACTIVE,
                                "subscription.reactivated", now, actor, error))
    return FALSE;

  json_object_set_string_member (vars, "invoice_number", invoice->number);
  json_object_set_string_member (vars, "amount", amount);
  json_object_set_string_member (vars, "paid_on", paid_on);
  json_object_set_string_member (vars, "method", payment->method_label);
  json_object_set_string_member (vars, "receipt_number", payment->receipt_number);
  return queue_billing_mail (server, db, invoice->org_id, "payment-receipt", vars, attachment,
                             error);
}

/* A failed charge. Automatic attempts move dunning on: the next retry, or past_due when
 * none is left; a charge an admin asked for only records the failure. */
static gboolean
payment_failed (PurserdServer *server, PurserDb *db, PurserPaymentRecord *payment,
                PurserInvoiceRecord *invoice, gint64 now, const char *actor, GError **error)
{
  g_autoptr (JsonNode) before = purserd_json_invoice (invoice, FALSE);
  g_autoptr (JsonObject) vars = json_object_new ();
  g_autofree char *amount = money (invoice->draft.total - invoice->amount_paid);
  g_autofree char *path = g_strdup_printf ("/v1/orgs/%s/invoices/%s", invoice->org_id, invoice->id);
  g_autofree char *url = public_link (server, path);
  gboolean automatic = g_strcmp0 (payment->actor, "system") == 0;
  const char *reason
      = payment->failure_message ? payment->failure_message : "The payment was declined.";
  const char *template_id;

  if (!purser_store_payment_update (db, payment, error)
      || !payment_event (db, payment, "payment.failed", now, actor, error))
    return FALSE;
  if (!automatic || invoice->status != PURSER_INVOICE_OPEN)
    return TRUE;

  if (invoice->first_failed_at == 0)
    invoice->first_failed_at = now;
  invoice->next_attempt_at
      = purser_dunning_next_attempt (invoice->first_failed_at, invoice->attempt_count);
  if (!purser_store_invoice_update_status (db, invoice, error)
      || !invoice_event (db, before, invoice, "invoice.payment_failed", now, actor, error))
    return FALSE;

  json_object_set_string_member (vars, "invoice_number", invoice->number);
  json_object_set_string_member (vars, "amount", amount);
  json_object_set_string_member (vars, "method", payment->method_label);
  json_object_set_string_member (vars, "reason", reason);
  json_object_set_string_member (vars, "url", url);
  if (invoice->next_attempt_at == 0)
    {
      template_id = "past-due";
      if (!set_subscription_status (db, invoice->org_id, PURSER_STATUS_ACTIVE,
                                    PURSER_STATUS_PAST_DUE, "subscription.past_due", now, actor,
                                    error))
        return FALSE;
    }
  else
    {
      g_autofree char *next = date_text (invoice->next_attempt_at);
      g_autofree char *attempt = g_strdup_printf ("%d", invoice->attempt_count);
      g_autofree char *total = g_strdup_printf ("%d", PURSER_DUNNING_RETRIES + 1);

      template_id = invoice->attempt_count == 1 ? "payment-failed" : "dunning-reminder";
      json_object_set_string_member (vars, "next_attempt_on", next);
      json_object_set_string_member (vars, "attempt", attempt);
      json_object_set_string_member (vars, "attempts_total", total);
    }
  return queue_billing_mail (server, db, invoice->org_id, template_id, vars, NULL, error);
}

static const char *
intent_outcome (const char *status)
{
  if (g_strcmp0 (status, "succeeded") == 0)
    return "succeeded";
  if (g_strcmp0 (status, "processing") == 0)
    return "processing";
  if (g_strcmp0 (status, "requires_payment_method") == 0 || g_strcmp0 (status, "canceled") == 0
      || g_strcmp0 (status, "requires_action") == 0
      || g_strcmp0 (status, "requires_confirmation") == 0)
    return "failed";
  return NULL;
}

/* Moves a payment to `outcome` unless it is already final or the news is older. */
static gboolean
apply_outcome (PurserdServer *server, PurserDb *db, PurserPaymentRecord *payment,
               const char *outcome, const char *intent_id, const char *charge_id,
               const char *failure_code, const char *failure_message, gint64 seen, GError **error)
{
  g_auto (PurserInvoiceRecord) invoice = { 0 };
  gint64 now = purserd_server_now (server);
  const char *actor = payment->actor ? payment->actor : "system";

  if (seen > 0 && seen < payment->stripe_seen)
    return TRUE; /* an older event: newer state stays */
  if (g_strcmp0 (payment->status, "succeeded") == 0 || g_strcmp0 (payment->status, "failed") == 0)
    {
      /* Final. Stripe may still tell us the charge id. */
      if (charge_id != NULL && payment->stripe_charge == NULL)
        {
          payment->stripe_charge = g_strdup (charge_id);
          return purser_store_payment_update (db, payment, error);
        }
      return TRUE;
    }
  if (seen > 0)
    payment->stripe_seen = seen;
  if (intent_id != NULL && payment->stripe_payment_intent == NULL)
    payment->stripe_payment_intent = g_strdup (intent_id);
  if (charge_id != NULL)
    {
      g_free (payment->stripe_charge);
      payment->stripe_charge = g_strdup (charge_id);
    }
  payment->updated_at = now;
  if (!purser_store_invoice_get (db, payment->org_id, payment->invoice_id, &invoice, error))
    return FALSE;

  if (g_str_equal (outcome, "processing"))
    {
      /* Stripe's payment_intent.processing after its answer said so already: no news. */
      gboolean news = g_strcmp0 (payment->status, "processing") != 0;

      g_free (payment->status);
      payment->status = g_strdup ("processing");
      return purser_store_payment_update (db, payment, error)
             && (!news || payment_event (db, payment, "payment.processing", now, actor, error));
    }
  g_free (payment->status);
  payment->status = g_strdup (outcome);
  if (g_str_equal (outcome, "succeeded"))
    return payment_succeeded (server, db, payment, &invoice, now, actor, error);

  g_free (payment->failure_code);
  g_free (payment->failure_message);
  payment->failure_code = g_strdup (failure_code ? failure_code : "payment_failed");
  payment->failure_message
      = g_strdup (failure_message ? failure_message : "The payment could not be completed.");
  return payment_failed (server, db, payment, &invoice, now, actor, error);
}

gboolean
purserd_payments_apply_intent (PurserdServer *server, PurserDb *db,
                               const PurserdStripePaymentIntent *intent, gint64 seen,
                               GError **error)
{
  g_auto (PurserPaymentRecord) payment = { 0 };
  g_autoptr (GError) local = NULL;
  const char *outcome = intent_outcome (intent->status);

  if (!purser_store_payment_by_stripe (db, "stripe_payment_intent", intent->id, &payment, &local))
    {
      /* Our own id in the metadata finds a payment whose answer was lost. */
      if (!g_error_matches (local, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND)
          || intent->metadata_payment_id == NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      if (!purser_store_payment_get (db, NULL, intent->metadata_payment_id, &payment, error))
        return FALSE;
    }
  if (outcome == NULL)
    return TRUE; /* a state on the way (requires_confirmation…): nothing to record */
  return apply_outcome (server, db, &payment, outcome, intent->id, intent->latest_charge,
                        intent->failure_code, intent->failure_message, seen, error);
}

/* ── charging ──────────────────────────────────────────────────────────────────── */

/* In a transaction: a new pending payment of the invoice's amount due on `method`. */
static gboolean
create_payment (PurserDb *db, PurserInvoiceRecord *invoice, const PurserPaymentMethodRecord *method,
                const char *actor, gint64 now, gboolean automatic, PurserPaymentRecord *out,
                GError **error)
{
  g_autoptr (GArray) previous = settled_payments (db, invoice, error);

  if (previous == NULL)
    return FALSE;

  memset (out, 0, sizeof *out);
  out->id = purser_db_new_id ("pay");
  out->org_id = g_strdup (invoice->org_id);
  out->invoice_id = g_strdup (invoice->id);
  out->method_id = g_strdup (method->id);
  out->method_type = g_strdup (method->type);
  out->method_label = purserd_json_method_label (method);
  out->amount = invoice->draft.total - invoice->amount_paid;
  out->status = g_strdup ("pending");
  out->attempt = (int) previous->len + 1;
  out->actor = g_strdup (actor);
  out->created_at = now;
  out->updated_at = now;
  if (!purser_store_payment_insert (db, out, error)
      || !payment_event (db, out, "payment.created", now, actor, error))
    return FALSE;
  if (!automatic)
    return TRUE; /* a charge an admin asked for leaves the dunning schedule as it was */

  invoice->attempt_count++;
  invoice->next_attempt_at = 0; /* in flight */
  return purser_store_invoice_update_status (db, invoice, error);
}

static void charge_sent (GObject *source, GAsyncResult *result, gpointer user_data);

/* Sends the PaymentIntent of a pending payment (again, after a crash or a network error:
 * the same Idempotency-Key makes Stripe answer the first outcome). */
static void
send_charge (PurserdPayments *self, Job *job)
{
  PurserDb *db = purserd_server_db (self->server);
  g_auto (PurserPaymentRecord) payment = { 0 };
  g_auto (PurserPaymentMethodRecord) method = { 0 };
  g_auto (PurserInvoiceRecord) invoice = { 0 };
  g_autofree char *customer = NULL;
  g_autoptr (GError) error = NULL;

  if (!purser_store_payment_get (db, NULL, job->payment_id, &payment, &error)
      || !purser_store_invoice_get (db, payment.org_id, payment.invoice_id, &invoice, &error)
      || !purser_store_payment_method_get (db, payment.org_id, payment.method_id, &method, &error)
      || !purser_store_org_stripe_customer (db, payment.org_id, &customer, &error))
    {
      g_warning ("payments: cannot send %s: %s", job->payment_id, error->message);
      charge_sent (NULL, NULL, job);
      return;
    }
  purserd_stripe_send_async (purserd_server_stripe (self->server),
                             purserd_stripe_payment_intent_create (
                                 payment.id, payment.org_id, invoice.id, invoice.number, customer,
                                 method.stripe_id, method.type, payment.amount),
                             NULL, charge_sent, job);
}

/* Payments left pending are sent again after a pause, not at once. */
static void
back_off (PurserdPayments *self)
{
  self->resend_after = g_get_real_time () / G_USEC_PER_SEC + RESEND_DELAY_SECONDS;
}

static void
finish_job (Job *job)
{
  PurserdPayments *self = job->payments;

  if (job->done != NULL)
    job->done (job->payment_id, job->done_data);
  if (job->worker)
    purserd_server_worker_done (self->server, self);
  else
    purserd_server_kick (self->server);
  job_free (job);
}

static void
charge_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Job *job = user_data;
  PurserdPayments *self = job->payments;
  PurserDb *db = purserd_server_db (self->server);
  g_autoptr (JsonObject) answer = NULL;
  g_autoptr (JsonObject) error_object = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (PurserPaymentRecord) payment = { 0 };
  g_auto (PurserdStripePaymentIntent) intent = { 0 };
  g_autofree char *refusal = NULL;
  gboolean ok = FALSE;

  if (result == NULL)
    {
      back_off (self);
      finish_job (job);
      return;
    }
  answer = purserd_stripe_send_finish (purserd_server_stripe (self->server), result, &error_object,
                                       &error);

  if (answer == NULL
      && (g_error_matches (error, PURSERD_STRIPE_ERROR, PURSERD_STRIPE_ERROR_UNREACHABLE)
          || g_error_matches (error, PURSERD_STRIPE_ERROR, PURSERD_STRIPE_ERROR_INVALID_RESPONSE)
          || (job->done == NULL
              && g_error_matches (error, PURSERD_STRIPE_ERROR,
                                  PURSERD_STRIPE_ERROR_AUTHENTICATION))))
    {
      /* Unknown outcome, or (for the automatic charges) our key is wrong, which is the
       * operator's problem and not a decline: the payment stays pending and is sent again
       * later with the same key. */
      g_message ("payments: %s: %s; will ask Stripe again", job->payment_id, error->message);
      back_off (self);
      finish_job (job);
      return;
    }
  /* Stripe refused the charge: its reason is recorded below, and `error` is free again for
   * what recording it may say. */
  if (answer == NULL)
    {
      refusal = g_strdup (error->message);
      g_clear_error (&error);
    }

  if (!purser_db_begin (db, &error))
    goto out;
  if (!purser_store_payment_get (db, NULL, job->payment_id, &payment, &error))
    goto rollback;

  if (answer != NULL)
    {
      if (!purserd_stripe_parse_payment_intent (answer, &intent, &error))
        goto rollback;
      const char *outcome = intent_outcome (intent.status);

      ok = apply_outcome (self->server, db, &payment, outcome ? outcome : "failed", intent.id,
                          intent.latest_charge, intent.failure_code, intent.failure_message, 0,
                          &error);
    }
  else
    {
      /* Stripe refused the charge (declined card, or a request it would not take). */
      JsonObject *pi = error_object && json_object_has_member (error_object, "payment_intent")
                               && JSON_NODE_HOLDS_OBJECT (
                                   json_object_get_member (error_object, "payment_intent"))
                           ? json_object_get_object_member (error_object, "payment_intent")
                           : NULL;
      const char *code = NULL;

      if (error_object != NULL)
        {
          code = json_object_get_string_member_with_default (error_object, "decline_code", NULL);
          if (code == NULL)
            code = json_object_get_string_member_with_default (error_object, "code", NULL);
        }
      if (pi != NULL)
        purserd_stripe_parse_payment_intent (pi, &intent, NULL);
      ok = apply_outcome (self->server, db, &payment, "failed", intent.id, intent.latest_charge,
                          code ? code : "stripe_error", refusal, 0, &error);
      if (!ok && error == NULL)
        g_set_error_literal (&error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_FAILED,
                             "could not record the failed charge");
    }
  if (!ok)
    goto rollback;
  if (purser_db_commit (db, &error))
    goto out;

rollback:
  purser_db_rollback (db);
out:
  if (error != NULL)
    {
      g_warning ("payments: recording %s: %s", job->payment_id, error->message);
      back_off (self);
    }
  finish_job (job);
}

/* The worker's charge of a due invoice. */
static gboolean
start_due_charge (PurserdPayments *self, const char *org_id, const char *invoice_id)
{
  PurserDb *db = purserd_server_db (self->server);
  g_auto (PurserInvoiceRecord) invoice = { 0 };
  g_auto (PurserPaymentMethodRecord) method = { 0 };
  g_auto (PurserPaymentRecord) payment = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) refusal = NULL;
  gint64 now = purserd_server_now (self->server);
  Job *job;

  if (!purser_db_begin (db, &error))
    goto fail;
  if (!purser_store_invoice_get (db, org_id, invoice_id, &invoice, &error))
    goto rollback;
  if (!purser_store_payment_method_default (db, org_id, &method, NULL)
      || !is_stripe_type (method.type))
    {
      /* No method to charge any more: the invoice waits for a transfer. */
      g_autoptr (JsonNode) before = purserd_json_invoice (&invoice, FALSE);

      g_free (invoice.collection);
      invoice.collection = g_strdup ("send_invoice");
      invoice.next_attempt_at = 0;
      if (!purser_store_invoice_update_status (db, &invoice, &error)
          || !invoice_event (db, before, &invoice, "invoice.updated", now, "system", &error)
          || !purser_db_commit (db, &error))
        goto rollback;
      return FALSE;
    }
  if (!create_payment (db, &invoice, &method, "system", now, TRUE, &payment, &error))
    goto rollback;
  if (!chargeable (self->server, &method, &refusal))
    {
      /* Recorded as a failed attempt: dunning tells the admins and moves on. */
      if (!apply_outcome (self->server, db, &payment, "failed", NULL, NULL,
                          refusal->domain == PURSERD_STRIPE_ERROR ? "stripe_not_configured"
                                                                  : "currency_unsupported",
                          refusal->message, 0, &error)
          || !purser_db_commit (db, &error))
        goto rollback;
      return FALSE;
    }
  if (!purser_db_commit (db, &error))
    goto rollback;

  job = g_new0 (Job, 1);
  job->payments = self;
  job->payment_id = g_strdup (payment.id);
  job->worker = TRUE;
  send_charge (self, job);
  return TRUE;

rollback:
  purser_db_rollback (db);
fail:
  g_warning ("payments: charging %s: %s", invoice_id, error ? error->message : "failed");
  /* Do not spin on a broken invoice: it is retried at the next tick. */
  return FALSE;
}

gboolean
purserd_payments_charge_now (PurserdServer *server, const char *org_id, const char *invoice_id,
                             const char *method_id, const char *actor, PurserdChargeDone done,
                             gpointer data, GError **error)
{
  PurserdPayments *self = purserd_server_payments (server);
  PurserDb *db = purserd_server_db (server);
  g_auto (PurserInvoiceRecord) invoice = { 0 };
  g_auto (PurserPaymentMethodRecord) method = { 0 };
  g_auto (PurserPaymentRecord) payment = { 0 };
  g_autofree char *customer = NULL;
  gint64 now = purserd_server_now (server);
  Job *job;

  if (!purser_db_begin (db, error))
    return FALSE;
  if (!purser_store_invoice_get (db, org_id, invoice_id, &invoice, error))
    goto rollback;
  if (invoice.status != PURSER_INVOICE_OPEN)
    {
      g_set_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NOT_ALLOWED,
                   "Invoice %s is %s; only open invoices can be paid.", invoice.number,
                   purser_invoice_status_to_string (invoice.status));
      goto rollback;
    }
  if (method_id != NULL ? !purser_store_payment_method_get (db, org_id, method_id, &method, error)
                        : !purser_store_payment_method_default (db, org_id, &method, NULL))
    {
      if (method_id == NULL)
        g_set_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NOT_ALLOWED,
                     "There is no default payment method; add a card or bank account first.");
      goto rollback;
    }
  if (g_strcmp0 (method.status, "active") != 0)
    {
      g_set_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NOT_ALLOWED,
                   "That payment method was removed; choose another.");
      goto rollback;
    }
  if (!is_stripe_type (method.type))
    {
      g_set_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NOT_ALLOWED,
                   "Invoice %s is paid by bank transfer; once the money arrives, mark it paid "
                   "with the transfer's reference.",
                   invoice.number);
      goto rollback;
    }
  if (!chargeable (server, &method, error))
    goto rollback;
  if (!purser_store_org_stripe_customer (db, org_id, &customer, error))
    goto rollback;
  if (!create_payment (db, &invoice, &method, actor, now, FALSE, &payment, error)
      || !purser_db_commit (db, error))
    goto rollback;

  job = g_new0 (Job, 1);
  job->payments = self;
  job->payment_id = g_strdup (payment.id);
  job->done = done;
  job->done_data = data;
  send_charge (self, job);
  return TRUE;

rollback:
  purser_db_rollback (db);
  return FALSE;
}

/* ── transfers, voids and refunds ──────────────────────────────────────────────── */

gboolean
purserd_payments_mark_paid (PurserdServer *server, PurserDb *db, PurserInvoiceRecord *invoice,
                            const char *reference, gint64 now, const char *actor,
                            PurserPaymentRecord *out, GError **error)
{
  g_auto (PurserPaymentMethodRecord) method = { 0 };
  g_autoptr (GArray) methods = purser_payment_method_records_new ();
  g_autoptr (GArray) payments = NULL;

  if (invoice->status != PURSER_INVOICE_OPEN)
    {
      g_set_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NOT_ALLOWED,
                   "Invoice %s is %s; only open invoices can be marked paid.", invoice->number,
                   purser_invoice_status_to_string (invoice->status));
      return FALSE;
    }
  payments = settled_payments (db, invoice, error);
  if (payments == NULL
      || !purser_store_payment_method_list (db, invoice->org_id, FALSE, methods, error))
    return FALSE;
  for (guint i = 0; i < methods->len; i++)
    if (g_str_equal (g_array_index (methods, PurserPaymentMethodRecord, i).type, "wire"))
      {
        PurserPaymentMethodRecord *wire = &g_array_index (methods, PurserPaymentMethodRecord, i);

        method.id = g_strdup (wire->id);
      }
  memset (out, 0, sizeof *out);
  out->id = purser_db_new_id ("pay");
  out->org_id = g_strdup (invoice->org_id);
  out->invoice_id = g_strdup (invoice->id);
  out->method_id = g_steal_pointer (&method.id);
  out->method_type = g_strdup ("wire");
  out->method_label = g_strdup ("Bank transfer");
  out->amount = invoice->draft.total - invoice->amount_paid;
  out->status = g_strdup ("succeeded");
  out->reference = g_strdup (reference);
  out->attempt = 1;
  out->actor = g_strdup (actor);
  out->created_at = now;
  out->updated_at = now;
  if (!purser_store_payment_insert (db, out, error))
    return FALSE;
  return payment_succeeded (server, db, out, invoice, now, actor, error);
}

gboolean
purserd_payments_void (PurserdServer *server, PurserDb *db, PurserInvoiceRecord *invoice,
                       const char *reason, gint64 now, const char *actor, GError **error)
{
  g_autoptr (JsonNode) before = purserd_json_invoice (invoice, FALSE);
  g_autoptr (GArray) payments = NULL;
  gboolean was_paid = invoice->status == PURSER_INVOICE_PAID;

  if (invoice->status != PURSER_INVOICE_OPEN && !was_paid)
    {
      g_set_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NOT_ALLOWED,
                   "Invoice %s is %s; only open or paid invoices can be voided.", invoice->number,
                   purser_invoice_status_to_string (invoice->status));
      return FALSE;
    }
  payments = settled_payments (db, invoice, error);
  if (payments == NULL)
    return FALSE;

  invoice->status = PURSER_INVOICE_VOID;
  invoice->voided_at = now;
  invoice->next_attempt_at = 0;
  g_free (invoice->void_reason);
  invoice->void_reason = g_strdup (reason);
  if (!purser_store_invoice_update_status (db, invoice, error)
      || !invoice_event (db, before, invoice, "invoice.voided", now, actor, error))
    return FALSE;

  /* Paid money goes back: one credit note per payment, refunded the way it came. */
  for (guint i = 0; was_paid && i < payments->len; i++)
    {
      PurserPaymentRecord *payment = &g_array_index (payments, PurserPaymentRecord, i);
      g_auto (PurserCreditNoteRecord) note = { 0 };
      g_autoptr (JsonNode) after = NULL;
      gboolean by_stripe = payment->stripe_payment_intent != NULL;

      if (!g_str_equal (payment->status, "succeeded")
          || payment->amount <= payment->amount_refunded)
        continue;
      note.id = purser_db_new_id ("cn");
      note.org_id = g_strdup (invoice->org_id);
      note.invoice_id = g_strdup (invoice->id);
      note.payment_id = g_strdup (payment->id);
      note.amount = payment->amount - payment->amount_refunded;
      note.refund_status = g_strdup (by_stripe ? "pending" : "manual");
      note.reason = g_strdup (reason);
      note.created_at = now;
      if (!purser_store_credit_note_insert (db, &note, error))
        return FALSE;
      after = purserd_json_credit_note (&note);
      if (!purserd_event_append (db, invoice->org_id, now, actor, "credit_note.created",
                                 "credit_note", note.id, NULL, NULL, after, error))
        return FALSE;
      if (!by_stripe)
        {
          g_autoptr (JsonObject) vars = json_object_new ();
          g_autofree char *amount = money (note.amount);
          g_autofree char *attachment = g_strconcat ("credit_note:", note.id, NULL);

          json_object_set_string_member (vars, "invoice_number", invoice->number);
          json_object_set_string_member (vars, "amount", amount);
          json_object_set_string_member (vars, "credit_note_number", note.number);
          json_object_set_string_member (vars, "method", "bank transfer, sent by our finance team");
          if (!queue_billing_mail (server, db, invoice->org_id, "refund-issued", vars, attachment,
                                   error))
            return FALSE;
        }
    }
  return TRUE;
}

/* Records a refund Stripe reports (the refund's answer, or charge.refunded). */
static gboolean
record_refund (PurserdServer *server, PurserDb *db, PurserCreditNoteRecord *note,
               PurserPaymentRecord *payment, PurserCents refunded_total, const char *refund_id,
               gint64 now, GError **error)
{
  g_auto (PurserInvoiceRecord) invoice = { 0 };
  g_autoptr (JsonObject) vars = json_object_new ();
  g_autoptr (JsonNode) before = purserd_json_credit_note (note);
  g_autoptr (JsonNode) after = NULL;
  g_autofree char *amount = NULL;
  g_autofree char *attachment = g_strconcat ("credit_note:", note->id, NULL);
  gboolean newly = g_strcmp0 (note->refund_status, "succeeded") != 0;

  if (refunded_total > payment->amount_refunded)
    {
      PurserCents delta = refunded_total - payment->amount_refunded;

      payment->amount_refunded = refunded_total;
      payment->updated_at = now;
      if (!purser_store_payment_update (db, payment, error)
          || !purser_store_invoice_get (db, payment->org_id, payment->invoice_id, &invoice, error))
        return FALSE;
      invoice.amount_refunded += delta;
      if (!purser_store_invoice_update_status (db, &invoice, error))
        return FALSE;
    }
  if (!newly)
    return TRUE;
  note->refunded = note->amount;
  g_free (note->refund_status);
  note->refund_status = g_strdup ("succeeded");
  if (refund_id != NULL && note->stripe_refund_id == NULL)
    note->stripe_refund_id = g_strdup (refund_id);
  if (!purser_store_credit_note_update (db, note, error))
    return FALSE;
  after = purserd_json_credit_note (note);
  if (!purserd_event_append (db, note->org_id, now, "system", "credit_note.refunded", "credit_note",
                             note->id, NULL, before, after, error))
    return FALSE;
  if (invoice.number == NULL
      && !purser_store_invoice_get (db, payment->org_id, payment->invoice_id, &invoice, error))
    return FALSE;
  amount = money (note->amount);
  json_object_set_string_member (vars, "invoice_number", invoice.number);
  json_object_set_string_member (vars, "amount", amount);
  json_object_set_string_member (vars, "credit_note_number", note->number);
  json_object_set_string_member (vars, "method", payment->method_label);
  return queue_billing_mail (server, db, note->org_id, "refund-issued", vars, attachment, error);
}

gboolean
purserd_payments_apply_refund (PurserdServer *server, PurserDb *db,
                               const PurserdStripeCharge *charge, gint64 seen, GError **error)
{
  g_auto (PurserPaymentRecord) payment = { 0 };
  g_autoptr (GArray) notes = purser_credit_note_records_new ();
  gint64 now = purserd_server_now (server);

  if (!purser_store_payment_by_stripe (db, "stripe_charge", charge->id, &payment, NULL)
      && (charge->payment_intent == NULL
          || !purser_store_payment_by_stripe (db, "stripe_payment_intent", charge->payment_intent,
                                              &payment, error)))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND,
                     "No payment for charge %s", charge->id);
      return FALSE;
    }
  if (charge->amount_refunded <= payment.amount_refunded)
    return TRUE; /* nothing new (a repeat, or older news) */
  if (!purser_store_credit_note_list (db, payment.org_id, payment.invoice_id, notes, error))
    return FALSE;
  for (guint i = 0; i < notes->len; i++)
    {
      PurserCreditNoteRecord *note = &g_array_index (notes, PurserCreditNoteRecord, i);

      if (g_strcmp0 (note->payment_id, payment.id) == 0
          && g_strcmp0 (note->refund_status, "succeeded") != 0
          && charge->amount_refunded >= payment.amount_refunded + note->amount)
        return record_refund (server, db, note, &payment, charge->amount_refunded, NULL, now,
                              error);
    }
  /* A refund made elsewhere (Stripe's dashboard): recorded on the payment and the invoice,
   * without a credit note. */
  {
    g_auto (PurserInvoiceRecord) invoice = { 0 };
    PurserCents delta = charge->amount_refunded - payment.amount_refunded;

    payment.amount_refunded = charge->amount_refunded;
    payment.updated_at = now;
    (void) seen;
    if (!purser_store_payment_update (db, &payment, error)
        || !purser_store_invoice_get (db, payment.org_id, payment.invoice_id, &invoice, error))
      return FALSE;
    invoice.amount_refunded += delta;
    return purser_store_invoice_update_status (db, &invoice, error)
           && payment_event (db, &payment, "payment.refunded", now, "system", error);
  }
}

static void
refund_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Job *job = user_data;
  PurserdPayments *self = job->payments;
  PurserDb *db = purserd_server_db (self->server);
  g_autoptr (JsonObject) answer = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) refusal = NULL;
  g_auto (PurserCreditNoteRecord) note = { 0 };
  g_auto (PurserPaymentRecord) payment = { 0 };
  g_auto (PurserdStripeRefund) refund = { 0 };
  gint64 now = purserd_server_now (self->server);

  answer
      = purserd_stripe_send_finish (purserd_server_stripe (self->server), result, NULL, &refusal);
  if (answer == NULL
      && (g_error_matches (refusal, PURSERD_STRIPE_ERROR, PURSERD_STRIPE_ERROR_UNREACHABLE)
          || g_error_matches (refusal, PURSERD_STRIPE_ERROR, PURSERD_STRIPE_ERROR_AUTHENTICATION)))
    {
      back_off (self);
      finish_job (job);
      return;
    }
  if (!purser_db_begin (db, &error))
    goto out;
  if (!purser_store_credit_note_get (db, NULL, job->credit_note_id, &note, &error)
      || !purser_store_payment_get (db, note.org_id, note.payment_id, &payment, &error))
    goto rollback;
  if (answer == NULL || !purserd_stripe_parse_refund (answer, &refund, NULL)
      || g_strcmp0 (refund.status, "failed") == 0 || g_strcmp0 (refund.status, "canceled") == 0)
    {
      g_autoptr (JsonNode) before = purserd_json_credit_note (&note);
      g_autoptr (JsonNode) after = NULL;

      g_free (note.refund_status);
      note.refund_status = g_strdup ("failed");
      after = purserd_json_credit_note (&note);
      g_message ("payments: refund of %s failed: %s", note.number,
                 refusal         ? refusal->message
                 : refund.status ? refund.status
                                 : "unreadable answer");
      if (!purser_store_credit_note_update (db, &note, &error)
          || !purserd_event_append (db, note.org_id, now, "system", "credit_note.refund_failed",
                                    "credit_note", note.id, NULL, before, after, &error))
        goto rollback;
    }
  else if (g_strcmp0 (refund.status, "succeeded") == 0
           && g_strcmp0 (note.refund_status, "succeeded") != 0)
    {
      if (!record_refund (self->server, db, &note, &payment, payment.amount_refunded + note.amount,
                          refund.id, now, &error))
        goto rollback;
    }
  else
    {
      /* pending (charge.refunded will settle it), or charge.refunded got here first */
      g_free (note.stripe_refund_id);
      note.stripe_refund_id = g_strdup (refund.id);
      if (!purser_store_credit_note_update (db, &note, &error))
        goto rollback;
    }
  if (purser_db_commit (db, &error))
    goto out;
rollback:
  purser_db_rollback (db);
out:
  if (error != NULL)
    {
      g_warning ("payments: refund %s: %s", job->credit_note_id, error->message);
      back_off (self);
    }
  finish_job (job);
}

/* The next credit note whose Stripe refund has not been asked for. */
static char *
next_pending_refund (PurserDb *db)
{
  sqlite3_stmt *stmt = purser_db_prepare (
      db,
      "SELECT id FROM credit_notes WHERE refund_status = 'pending' AND stripe_refund_id IS NULL"
      " ORDER BY seq LIMIT 1",
      NULL);
  char *id = NULL;

  if (stmt == NULL)
    return NULL;
  if (sqlite3_step (stmt) == SQLITE_ROW)
    id = purser_db_column_dup (stmt, 0);
  sqlite3_reset (stmt);
  return id;
}

static gboolean
start_refund (PurserdPayments *self, const char *note_id)
{
  PurserDb *db = purserd_server_db (self->server);
  g_auto (PurserCreditNoteRecord) note = { 0 };
  g_auto (PurserPaymentRecord) payment = { 0 };
  g_autoptr (GError) error = NULL;
  Job *job;

  if (!purser_store_credit_note_get (db, NULL, note_id, &note, &error)
      || !purser_store_payment_get (db, note.org_id, note.payment_id, &payment, &error))
    {
      g_warning ("payments: refund %s: %s", note_id, error->message);
      return FALSE;
    }
  job = g_new0 (Job, 1);
  job->payments = self;
  job->credit_note_id = g_strdup (note_id);
  job->worker = TRUE;
  purserd_stripe_send_async (
      purserd_server_stripe (self->server),
      purserd_stripe_refund_create (note.id, payment.stripe_payment_intent, note.amount), NULL,
      refund_sent, job);
  return TRUE;
}

/* A bank debit Stripe is still collecting: asked about now and then, in case its webhook
 * never comes (no webhook secret configured, or an event lost). */
static void
intent_polled (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Job *job = user_data;
  PurserdPayments *self = job->payments;
  PurserDb *db = purserd_server_db (self->server);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) answer
      = purserd_stripe_send_finish (purserd_server_stripe (self->server), result, NULL, &error);
  g_auto (PurserdStripePaymentIntent) intent = { 0 };

  if (answer == NULL || !purserd_stripe_parse_payment_intent (answer, &intent, &error))
    goto out;
  if (!purser_db_begin (db, &error))
    goto out;
  if (!purserd_payments_apply_intent (self->server, db, &intent, 0, &error)
      || !purser_db_commit (db, &error))
    purser_db_rollback (db);
out:
  if (error != NULL)
    g_message ("payments: asking Stripe about %s: %s", job->payment_id, error->message);
  finish_job (job);
}

static gboolean
poll_processing (PurserdPayments *self)
{
  PurserDb *db = purserd_server_db (self->server);
  g_autoptr (GPtrArray) processing = purser_store_payment_ids_with_status (db, "processing", NULL);
  gint64 wall = g_get_real_time () / G_USEC_PER_SEC;
  GHashTableIter iter;
  gpointer key;

  /* Forget payments that have settled. */
  g_hash_table_iter_init (&iter, self->polled);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (processing == NULL
        || !g_ptr_array_find_with_equal_func (processing, key, g_str_equal, NULL))
      g_hash_table_iter_remove (&iter);

  for (guint i = 0; processing != NULL && i < processing->len; i++)
    {
      const char *id = g_ptr_array_index (processing, i);
      gpointer last = g_hash_table_lookup (self->polled, id);
      g_auto (PurserPaymentRecord) payment = { 0 };
      Job *job;

      if (last == NULL)
        {
          /* First seen now (or since a restart): wait a while for the webhook. */
          g_hash_table_insert (self->polled, g_strdup (id), GSIZE_TO_POINTER ((gsize) wall));
          continue;
        }
      if (wall - (gint64) GPOINTER_TO_SIZE (last)
          < (gint64) purserd_server_config (self->server)->stripe_poll_seconds)
        continue;
      g_hash_table_insert (self->polled, g_strdup (id), GSIZE_TO_POINTER ((gsize) wall));
      if (!purser_store_payment_get (db, NULL, id, &payment, NULL)
          || payment.stripe_payment_intent == NULL)
        continue;
      job = g_new0 (Job, 1);
      job->payments = self;
      job->payment_id = g_strdup (id);
      job->worker = TRUE;
      purserd_stripe_send_async (purserd_server_stripe (self->server),
                                 purserd_stripe_payment_intent_get (payment.stripe_payment_intent),
                                 NULL, intent_polled, job);
      return TRUE;
    }
  return FALSE;
}

/* ── the worker ────────────────────────────────────────────────────────────────── */

gboolean
purserd_payments_run (gpointer data)
{
  PurserdPayments *self = data;
  PurserDb *db = purserd_server_db (self->server);
  gboolean stripe = purserd_stripe_configured (purserd_server_stripe (self->server));
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) due = NULL;
  g_autofree char *refund = NULL;

  /* First what is already under way: payments sent without an answer, then refunds. */
  if (stripe && g_get_real_time () / G_USEC_PER_SEC >= self->resend_after)
    {
      g_autoptr (GPtrArray) pending = purser_store_payment_ids_with_status (db, "pending", NULL);

      if (pending != NULL && pending->len > 0)
        {
          Job *job = g_new0 (Job, 1);

          job->payments = self;
          job->payment_id = g_strdup (g_ptr_array_index (pending, 0));
          job->worker = TRUE;
          send_charge (self, job);
          return TRUE;
        }
      refund = next_pending_refund (db);
      if (refund != NULL && start_refund (self, refund))
        return TRUE;
      if (poll_processing (self))
        return TRUE;
    }

  due = purser_store_invoice_attempts_due (db, purserd_server_now (self->server), &error);
  if (due == NULL)
    {
      g_warning ("payments: %s", error->message);
      return FALSE;
    }
  for (guint i = 0; i + 1 < due->len; i += 2)
    {
      if (start_due_charge (self, g_ptr_array_index (due, i), g_ptr_array_index (due, i + 1)))
        return TRUE;
    }
  return FALSE;
}

/* ── documents ─────────────────────────────────────────────────────────────────── */

static void
seller_of (PurserdServer *server, PurserdSeller *seller)
{
  const PurserdConfig *config = purserd_server_config (server);

  seller->name = config->seller_name ? config->seller_name : "Purser Coaching, Inc.";
  seller->address = config->seller_address;
  seller->tax_id = config->seller_tax_id;
  seller->email = config->seller_email;
  seller->bank_details = config->seller_bank_details;
}

static PurserdPdfPayment
pdf_payment (const PurserPaymentRecord *payment)
{
  PurserdPdfPayment out = {
    .number = payment->receipt_number,
    .method = payment->method_label,
    .reference = payment->reference ? payment->reference : payment->stripe_charge,
    .amount = payment->amount,
    .paid_at = payment->updated_at,
  };

  return out;
}

GBytes *
purserd_payments_invoice_pdf (PurserdServer *server, PurserDb *db, const char *org_id,
                              const char *invoice_id, GError **error)
{
  g_auto (PurserOrgRecord) org = { 0 };
  g_auto (PurserInvoiceRecord) invoice = { 0 };
  g_autoptr (GArray) payments = purser_payment_records_new ();
  g_autoptr (GArray) paid = g_array_new (FALSE, TRUE, sizeof (PurserdPdfPayment));
  g_autofree char *terms = NULL;
  PurserdSeller seller = { 0 };
  gboolean has_more = FALSE;
  const char *method_label = NULL;

  if (!purser_store_org_get (db, org_id, &org, error)
      || !purser_store_invoice_get (db, org_id, invoice_id, &invoice, error)
      || !purser_store_payment_list (db, org_id, invoice_id, NULL, 100, payments, &has_more, error))
    return NULL;
  for (guint i = payments->len; i > 0; i--)
    {
      const PurserPaymentRecord *payment = &g_array_index (payments, PurserPaymentRecord, i - 1);

      method_label = payment->method_label;
      if (g_str_equal (payment->status, "succeeded"))
        {
          PurserdPdfPayment p = pdf_payment (payment);

          g_array_append_val (paid, p);
        }
    }
  seller_of (server, &seller);
  if (invoice.status != PURSER_INVOICE_OPEN)
    terms = NULL;
  else if (g_strcmp0 (invoice.collection, "charge_automatically") == 0)
    terms = method_label ? g_strdup_printf ("Charged automatically to %s.", method_label)
                         : g_strdup ("Charged automatically to your default payment method.");
  else
    {
      g_autofree char *due = purser_date_format_human (invoice.due_on);

      terms
          = g_strdup_printf ("Please pay by bank transfer by %s, quoting %s.", due, invoice.number);
    }
  if (g_strcmp0 (invoice.collection, "charge_automatically") == 0)
    seller.bank_details = NULL;
  return purserd_pdf_invoice (&seller, &org, &invoice, terms,
                              (const PurserdPdfPayment *) (gpointer) paid->data, paid->len, error);
}

GBytes *
purserd_payments_receipt_pdf (PurserdServer *server, PurserDb *db, const char *org_id,
                              const char *payment_id, GError **error)
{
  g_auto (PurserOrgRecord) org = { 0 };
  g_auto (PurserInvoiceRecord) invoice = { 0 };
  g_auto (PurserPaymentRecord) payment = { 0 };
  PurserdSeller seller = { 0 };
  PurserdPdfPayment paid;

  if (!purser_store_payment_get (db, org_id, payment_id, &payment, error))
    return NULL;
  if (!g_str_equal (payment.status, "succeeded"))
    {
      g_set_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NOT_ALLOWED,
                   "Payment %s has no receipt: it is %s.", payment_id, payment.status);
      return NULL;
    }
  if (!purser_store_org_get (db, org_id, &org, error)
      || !purser_store_invoice_get (db, org_id, payment.invoice_id, &invoice, error))
    return NULL;
  seller_of (server, &seller);
  paid = pdf_payment (&payment);
  return purserd_pdf_receipt (&seller, &org, &invoice, &paid, error);
}

GBytes *
purserd_payments_credit_note_pdf (PurserdServer *server, PurserDb *db, const char *org_id,
                                  const char *note_id, GError **error)
{
  g_auto (PurserOrgRecord) org = { 0 };
  g_auto (PurserInvoiceRecord) invoice = { 0 };
  g_auto (PurserCreditNoteRecord) note = { 0 };
  PurserdSeller seller = { 0 };
  PurserdPdfCreditNote pdf_note;

  if (!purser_store_credit_note_get (db, org_id, note_id, &note, error)
      || !purser_store_org_get (db, org_id, &org, error)
      || !purser_store_invoice_get (db, org_id, note.invoice_id, &invoice, error))
    return NULL;
  seller_of (server, &seller);
  pdf_note = (PurserdPdfCreditNote){
    .number = note.number,
    .reason = note.reason,
    .amount = note.amount,
    .refunded = note.refunded,
    .created_at = note.created_at,
  };
  return purserd_pdf_credit_note (&seller, &org, &invoice, &pdf_note, error);
}
