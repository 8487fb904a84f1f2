/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "purserd-billing.h"
#include "purserd-json.h"
#include "purserd-payments.h"
#include "purserd-routes.h"

static const char *const statuses[] = { "draft", "open", "paid", "void", "uncollectible", NULL };

static void
invoices_list (PurserdCall *call)
{
  g_autoptr (GArray) invoices = purser_invoice_records_new ();
  g_autoptr (JsonBuilder) b = NULL;
  g_autoptr (GError) error = NULL;
  const char *status = purserd_request_query (call->request, "status");
  const char *after;
  gboolean has_more = FALSE;
  int limit;

  if (!purserd_call_page (call, 50, 500, &limit, &after))
    return;
  if (status != NULL && !g_strv_contains (statuses, status))
    {
      purserd_call_error (call, 400, "invalid_request", "status",
                          "status must be one of draft, open, paid, void, uncollectible.");
      return;
    }
  if (!purser_store_invoice_list (call->db, purserd_call_org_id (call), status, after, limit,
                                  invoices, &has_more, &error))
    {
      purserd_call_fail (call, error);
      return;
    }
  b = json_builder_new_immutable ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "data");
  json_builder_begin_array (b);
  for (guint i = 0; i < invoices->len; i++)
    json_builder_add_value (
        b, purserd_json_invoice (&g_array_index (invoices, PurserInvoiceRecord, i), FALSE));
  json_builder_end_array (b);
  purser_wire_add_bool (b, "has_more", has_more);
  json_builder_end_object (b);
  purserd_call_reply (call, 200, b);
}

gboolean
purserd_call_load_invoice (PurserdCall *call, PurserInvoiceRecord *invoice)
{
  g_autoptr (GError) error = NULL;

  if (purser_store_invoice_get (call->db, purserd_call_org_id (call),
                                purserd_call_param (call, "id"), invoice, &error))
    return TRUE;
  if (g_error_matches (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND))
    purserd_call_error (call, 404, "not_found", "id", "No invoice %s.",
                        purserd_call_param (call, "id"));
  else
    purserd_call_fail (call, error);
  return FALSE;
}

static void
invoice_get (PurserdCall *call)
{
  g_auto (PurserInvoiceRecord) invoice = { 0 };
  g_autoptr (JsonBuilder) b = NULL;

  if (!purserd_call_load_invoice (call, &invoice))
    return;
  b = json_builder_new_immutable ();
  json_builder_begin_object (b);
  purserd_json_add_node (b, "invoice", purserd_json_invoice (&invoice, TRUE));
  json_builder_end_object (b);
  purserd_call_reply (call, 200, b);
}

/* Voiding an open invoice gives back the balance credit it had taken. */
static gboolean
restore_credit (PurserdCall *call, const PurserInvoiceRecord *invoice)
{
  g_auto (PurserSubscriptionRecord) sub = { 0 };
  g_autoptr (JsonNode) before = NULL;
  g_autoptr (JsonNode) after = NULL;
  g_autoptr (GError) error = NULL;

  if (invoice->draft.credit_applied == 0)
    return TRUE;
  if (!purser_store_subscription_current (call->db, invoice->org_id, &sub, &error))
    {
      purserd_call_fail (call, error);
      return FALSE;
    }
  before = purserd_json_subscription (&sub, NULL);
  sub.state.credit_balance += invoice->draft.credit_applied;
  sub.updated_at = call->now;
  if (!purser_store_subscription_update (call->db, &sub, &error))
    {
      purserd_call_fail (call, error);
      return FALSE;
    }
  after = purserd_json_subscription (&sub, NULL);
  return purserd_call_event (call, "subscription.updated", "subscription", sub.id, NULL, before,
                             after);
}

static void
invoice_void (PurserdCall *call)
{
  g_auto (PurserInvoiceRecord) invoice = { 0 };
  g_autoptr (JsonNode) after = NULL;
  g_autoptr (JsonBuilder) b = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *reason = NULL;
  PurserWireReader reader;
  gboolean present;

  if (!purserd_call_load_invoice (call, &invoice))
    return;
  if (call->request->body->len > 0)
    {
      if (!purserd_call_read_body (call, &reader))
        return;
      purser_wire_read_nullable_string (&reader, "reason", PURSER_WIRE_TEXT_MAX, &reason, &present);
      if (!purserd_call_reader_done (call, &reader))
        {
          purser_wire_reader_clear (&reader);
          return;
        }
      purser_wire_reader_clear (&reader);
    }

  /* A paid invoice is voided with a credit note, and what was paid goes back. */
  if (!purserd_payments_void (call->server, call->db, &invoice, reason, call->now, call->actor,
                              &error))
    {
      if (g_error_matches (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NOT_ALLOWED))
        purserd_call_error (call, 409, "invoice_not_voidable", NULL, "%s", error->message);
      else if (g_error_matches (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_CONFLICT))
        purserd_call_error (call, 409, "payment_in_progress", NULL, "%s", error->message);
      else
        purserd_call_fail (call, error);
      return;
    }
  after = purserd_json_invoice (&invoice, TRUE);
  if (!restore_credit (call, &invoice))
    return;

  b = json_builder_new_immutable ();
  json_builder_begin_object (b);
  purserd_json_add_node (b, "invoice", json_node_copy (after));
  json_builder_end_object (b);
  purserd_call_reply (call, 200, b);
}

const PurserdRoute purserd_invoice_routes[] = {
  { "GET", "/v1/orgs/{org}/invoices", PURSERD_AUTH_USER, PURSERD_ROLES_READERS, invoices_list },
  { "GET", "/v1/orgs/{org}/invoices/{id}", PURSERD_AUTH_USER, PURSERD_ROLES_READERS, invoice_get },
  { "POST", "/v1/orgs/{org}/invoices/{id}/void", PURSERD_AUTH_USER, PURSERD_ROLE_ADMIN,
    invoice_void },
  { NULL },
};
