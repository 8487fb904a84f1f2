/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "purserd-billing.h"
#include "purserd-json.h"
#include "purserd-payments.h"

void
purserd_billing_tax_context (PurserdServer *server, const PurserOrgRecord *org,
                             PurserTaxContext *out)
{
  PurserTaxParty buyer = {
    .country = org->country,
    .region = org->region,
    .tax_id = org->tax_id,
    .exempt = org->tax_exempt,
  };

  purser_tax_resolve (purserd_server_tax_table (server), purserd_server_seller_country (server),
                      &buyer, out);
}

gboolean
purserd_billing_issue_invoice (PurserdServer *server, PurserDb *db, const PurserOrgRecord *org,
                               const PurserSubscriptionRecord *sub, PurserInvoiceDraft *draft,
                               const char *reason, PurserPeriod period, PurserDate issued_on,
                               gint64 now, const char *actor, PurserInvoiceRecord *out,
                               GError **error)
{
  g_autoptr (JsonNode) after = NULL;

  memset (out, 0, sizeof *out);
  out->id = purser_db_new_id ("inv");
  out->org_id = g_strdup (org->id);
  out->subscription_id = g_strdup (sub->id);
  out->reason = g_strdup (reason);
  out->draft = *draft;
  memset (draft, 0, sizeof *draft);
  out->period = period;
  out->issued_on = issued_on;
  out->due_on = issued_on;
  out->po_number = g_strdup (sub->po_number);
  out->notes = g_strdup (sub->invoice_notes);
  out->created_at = now;
  if (out->draft.total == 0)
    {
      out->status = PURSER_INVOICE_PAID;
      out->paid_at = now;
    }
  else
    out->status = PURSER_INVOICE_OPEN;

  if (!purserd_payments_prepare_invoice (db, out, error)
      || !purser_store_invoice_insert (db, out, error))
    return FALSE;
  after = purserd_json_invoice (out, TRUE);
  return purserd_event_append (db, org->id, now, actor, "invoice.created", "invoice", out->id, NULL,
                               NULL, after, error)
         && purserd_payments_invoice_issued (server, db, org, out, error);
}

static gboolean
renew_one (PurserdServer *server, const char *id, GError **error)
{
  PurserDb *db = purserd_server_db (server);
  g_auto (PurserSubscriptionRecord) rec = { 0 };
  g_auto (PurserOrgRecord) org = { 0 };
  g_auto (PurserInvoiceDraft) draft = { 0 };
  g_auto (PurserInvoiceRecord) invoice = { 0 };
  g_autoptr (JsonNode) before = NULL;
  g_autoptr (JsonNode) after = NULL;
  PurserSubscription next = { 0 };
  PurserTaxContext tax;
  PurserDate renewal_date;
  gboolean ended = FALSE, has_invoice = FALSE;
  gint64 time;

  if (!purser_db_begin (db, error))
    return FALSE;
  if (!purser_store_subscription_get (db, id, &rec, error)
      || !purser_store_org_get (db, rec.org_id, &org, error))
    goto fail;

  purserd_billing_tax_context (server, &org, &tax);
  renewal_date = rec.state.period.end;
  time = purser_date_to_unix (renewal_date);
  before = purserd_json_subscription (&rec, NULL);

  purser_subscription_renew (&rec.state, &tax, &next, &ended, &has_invoice, &draft);
  if (!ended && next.period.end <= renewal_date)
    {
      purser_subscription_clear (&next);
      g_set_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_INVALID,
                   "renewal of %s did not advance its period", id);
      goto fail;
    }
  purser_subscription_clear (&rec.state);
  rec.state = next;
  rec.updated_at = time;
  if (!purser_store_subscription_update (db, &rec, error))
    goto fail;

  if (has_invoice
      && !purserd_billing_issue_invoice (
          server, db, &org, &rec, &draft, ended ? "subscription_final" : "subscription_cycle",
          rec.state.period, renewal_date, time, "system", &invoice, error))
    goto fail;

  after = purserd_json_subscription (&rec, &tax);
  if (!purserd_event_append (db, org.id, time, "system",
                             ended ? "subscription.ended" : "subscription.renewed", "subscription",
                             rec.id, NULL, before, after, error))
    goto fail;

  return purser_db_commit (db, error);

fail:
  purser_db_rollback (db);
  return FALSE;
}

gboolean
purserd_billing_run (PurserdServer *server, gint64 now, GError **error)
{
  PurserDate today = purser_date_from_unix (now);

  for (;;)
    {
      g_autoptr (GPtrArray) due = NULL;

      due = purser_store_subscription_due (purserd_server_db (server), today, error);
      if (due == NULL)
        return FALSE;
      if (due->len == 0)
        return TRUE;
      if (!renew_one (server, g_ptr_array_index (due, 0), error))
        return FALSE;
    }
}
