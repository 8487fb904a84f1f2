/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "purserd-json.h"
#include "purserd-mail.h"
#include "purserd-outbox.h"
#include "purserd-payments.h"
#include "purserd-routes.h"
#include "purserd-webhooks.h"

static const char *const setup_types[] = { "card", "us_bank_account", "sepa_debit", NULL };

/* ── helpers ───────────────────────────────────────────────────────────────────── */

static gboolean
not_found (PurserdCall *call, GError *error, const char *what)
{
  if (g_error_matches (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND))
    purserd_call_error (call, 404, "not_found", "id", "No %s %s.", what,
                        purserd_call_param (call, "id"));
  else
    purserd_call_fail (call, error);
  return FALSE;
}

static gboolean
load_method (PurserdCall *call, const char *id, PurserPaymentMethodRecord *out)
{
  g_autoptr (GError) error = NULL;

  if (purser_store_payment_method_get (call->db, purserd_call_org_id (call), id, out, &error)
      && g_str_equal (out->status, "active"))
    return TRUE;
  if (error == NULL)
    {
      purser_payment_method_record_clear (out);
      g_set_error (&error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND, "removed");
    }
  return not_found (call, error, "payment method");
}

/* A list's ?after= names nothing of this organization. */
static void
page_error (PurserdCall *call, GError *error)
{
  if (g_error_matches (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND))
    purserd_call_error (call, 400, "invalid_request", "after",
                        "after must be the id of the last item of the previous page.");
  else
    purserd_call_fail (call, error);
}

static void
reply_pdf (PurserdCall *call, GBytes *pdf, GError *error, const char *filename)
{
  g_autofree char *disposition = NULL;
  gsize length = 0;
  const char *data;

  if (pdf == NULL)
    {
      if (g_error_matches (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND))
        purserd_call_error (call, 404, "not_found", "id", "%s", error->message);
      else if (g_error_matches (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NOT_ALLOWED))
        purserd_call_error (call, 409, "no_document", NULL, "%s", error->message);
      else
        purserd_call_fail (call, error);
      return;
    }
  data = g_bytes_get_data (pdf, &length);
  purserd_call_reply_text (call, 200, "application/pdf", data, length);
  disposition = g_strdup_printf ("inline; filename=\"%s.pdf\"", filename);
  purserd_response_add_header (call->response, "Content-Disposition", disposition);
}

static JsonNode *
method_list_node (PurserdCall *call, GError **error)
{
  g_autoptr (GArray) methods = purser_payment_method_records_new ();
  g_autoptr (JsonBuilder) b = json_builder_new_immutable ();
  const char *default_id = NULL;

  if (!purser_store_payment_method_list (call->db, purserd_call_org_id (call), FALSE, methods,
                                         error))
    return NULL;
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "data");
  json_builder_begin_array (b);
  for (guint i = 0; i < methods->len; i++)
    {
      const PurserPaymentMethodRecord *pm = &g_array_index (methods, PurserPaymentMethodRecord, i);

      json_builder_add_value (b, purserd_json_payment_method (pm));
      if (pm->is_default)
        default_id = pm->id;
    }
  json_builder_end_array (b);
  purser_wire_add_string (b, "default_id", default_id);
  purser_wire_add_bool (b, "stripe_configured",
                        purserd_stripe_configured (purserd_server_stripe (call->server)));
  purser_wire_add_bool (b, "has_more", FALSE);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* ── payment methods ───────────────────────────────────────────────────────────── */

static void
methods_list (PurserdCall *call)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = method_list_node (call, &error);

  if (node == NULL)
    {
      purserd_call_fail (call, error);
      return;
    }
  purserd_call_reply_node (call, 200, node);
}

static void
method_add_wire (PurserdCall *call)
{
  g_auto (PurserPaymentMethodRecord) method = { 0 };
  g_auto (PurserPaymentMethodRecord) current = { 0 };
  g_autoptr (GArray) methods = purser_payment_method_records_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) after = NULL;
  g_autofree char *label = NULL;
  gboolean make_default = FALSE, has_default;
  PurserWireReader reader;
  int type = 0;
  static const char *const types[] = { "wire", "card", "us_bank_account", "sepa_debit", NULL };

  if (!purserd_call_read_body (call, &reader))
    return;
  purser_wire_read_enum (&reader, "type", TRUE, types, &type);
  purser_wire_read_string (&reader, "label", FALSE, PURSER_WIRE_NAME_MAX, &label);
  purser_wire_read_bool (&reader, "make_default", FALSE, &make_default);
  if (label != NULL && *g_strstrip (label) == '\0')
    g_clear_pointer (&label, g_free);
  if (!purserd_call_reader_done (call, &reader))
    {
      purser_wire_reader_clear (&reader);
      return;
    }
  purser_wire_reader_clear (&reader);
  if (type != 0)
    {
      purserd_call_error (call, 400, "invalid_request", "type",
                          "Cards and bank debits are added on Stripe's page: use POST "
                          "…/payment-methods/setup with this type; only \"wire\" is added here.");
      return;
    }
  if (!purser_store_payment_method_list (call->db, purserd_call_org_id (call), FALSE, methods,
                                         &error))
    {
      purserd_call_fail (call, error);
      return;
    }
  for (guint i = 0; i < methods->len; i++)
    if (g_str_equal (g_array_index (methods, PurserPaymentMethodRecord, i).type, "wire"))
      {
        purserd_call_error (call, 409, "already_exists", "type",
                            "Wire transfer is already a payment method of this organization.");
        return;
      }
  has_default
      = purser_store_payment_method_default (call->db, purserd_call_org_id (call), &current, NULL);

  method.id = purser_db_new_id ("pm");
  method.org_id = g_strdup (purserd_call_org_id (call));
  method.type = g_strdup ("wire");
  method.label = g_steal_pointer (&label);
  method.status = g_strdup ("active");
  method.created_at = call->now;
  if ((make_default || !has_default)
      && !purser_store_payment_method_set_default (call->db, method.org_id, NULL, &error))
    {
      purserd_call_fail (call, error);
      return;
    }
  method.is_default = make_default || !has_default;
  if (!purser_store_payment_method_insert (call->db, &method, &error))
    {
      purserd_call_fail (call, error);
      return;
    }
  after = purserd_json_payment_method (&method);
  if (!purserd_call_event (call, "payment_method.added", "payment_method", method.id, NULL, NULL,
                           after))
    return;
  purserd_call_reply_node (call, 201, after);
}

static void
method_set_default (PurserdCall *call)
{
  g_auto (PurserPaymentMethodRecord) method = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) before = NULL;
  g_autoptr (JsonNode) after = NULL;

  if (!load_method (call, purserd_call_param (call, "id"), &method))
    return;
  before = purserd_json_payment_method (&method);
  if (method.is_default)
    {
      purserd_call_reply_node (call, 200, before);
      return;
    }
  if (!purser_store_payment_method_set_default (call->db, method.org_id, method.id, &error))
    {
      purserd_call_fail (call, error);
      return;
    }
  method.is_default = TRUE;
  after = purserd_json_payment_method (&method);
  if (!purserd_call_event (call, "payment_method.default_changed", "payment_method", method.id,
                           NULL, before, after))
    return;
  purserd_call_reply_node (call, 200, after);
}

/* Open invoices that the method is charged for: those collected automatically. */
static gboolean
open_automatic_invoices (PurserdCall *call, guint *count, GError **error)
{
  g_autofree char *after = NULL;
  gboolean has_more = TRUE;

  *count = 0;
  while (has_more)
    {
      g_autoptr (GArray) invoices = purser_invoice_records_new ();

      if (!purser_store_invoice_list (call->db, purserd_call_org_id (call), "open", after, 200,
                                      invoices, &has_more, error))
        return FALSE;
      for (guint i = 0; i < invoices->len; i++)
        if (g_strcmp0 (g_array_index (invoices, PurserInvoiceRecord, i).collection,
                       "charge_automatically")
            == 0)
          (*count)++;
      if (invoices->len == 0)
        break;
      g_free (after);
      after = g_strdup (g_array_index (invoices, PurserInvoiceRecord, invoices->len - 1).id);
    }
  return TRUE;
}

static void
detached_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PurserdServer *server = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) answer
      = purserd_stripe_send_finish (purserd_server_stripe (server), result, NULL, &error);

  if (answer == NULL)
    g_message ("payment methods: Stripe did not detach a removed method: %s", error->message);
}

typedef struct
{
  PurserdServer *server;
  char *org_id;
  char *method_id;
} Detach;

static void
detach_free (gpointer data)
{
  Detach *detach = data;

  g_free (detach->org_id);
  g_free (detach->method_id);
  g_free (detach);
}

/* Runs after the request's transaction: only a removal that committed is sent to Stripe
 * (it is already unusable here if Stripe cannot be told). */
static gboolean
detach_after_commit (gpointer data)
{
  Detach *detach = data;
  g_auto (PurserPaymentMethodRecord) method = { 0 };

  if (purser_store_payment_method_get (purserd_server_db (detach->server), detach->org_id,
                                       detach->method_id, &method, NULL)
      && g_str_equal (method.status, "removed") && method.stripe_id != NULL)
    purserd_stripe_send_async (purserd_server_stripe (detach->server),
                               purserd_stripe_payment_method_detach (method.stripe_id), NULL,
                               detached_cb, detach->server);
  return G_SOURCE_REMOVE;
}

static void
method_remove (PurserdCall *call)
{
  g_auto (PurserPaymentMethodRecord) method = { 0 };
  g_auto (PurserPaymentMethodRecord) replacement = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) before = NULL;
  g_autoptr (JsonNode) after = NULL;
  g_autoptr (JsonNode) list = NULL;
  const char *replacement_id = purserd_request_query (call->request, "replacement");
  guint depending = 0;

  if (!load_method (call, purserd_call_param (call, "id"), &method))
    return;
  if (replacement_id != NULL)
    {
      if (g_str_equal (replacement_id, method.id))
        {
          purserd_call_error (call, 400, "invalid_request", "replacement",
                              "The replacement must be another payment method.");
          return;
        }
      if (!purser_store_payment_method_get (call->db, method.org_id, replacement_id, &replacement,
                                            NULL)
          || !g_str_equal (replacement.status, "active"))
        {
          purserd_call_error (call, 400, "invalid_request", "replacement",
                              "No active payment method %s to use instead.", replacement_id);
          return;
        }
    }
  if (method.is_default && replacement_id == NULL)
    {
      if (!open_automatic_invoices (call, &depending, &error))
        {
          purserd_call_fail (call, error);
          return;
        }
      if (depending > 0)
        {
          purserd_call_error (
              call, 409, "replacement_required", "replacement",
              "%u open invoice%s will be charged to this method; choose another method "
              "(?replacement=<id>) before removing it.",
              depending, depending == 1 ? "" : "s");
          return;
        }
    }

  before = purserd_json_payment_method (&method);
  g_free (method.status);
  method.status = g_strdup ("removed");
  method.removed_at = call->now;
  if (method.is_default
      && !purser_store_payment_method_set_default (call->db, method.org_id,
                                                   replacement_id ? replacement.id : NULL, &error))
    {
      purserd_call_fail (call, error);
      return;
    }
  method.is_default = FALSE;
  if (!purser_store_payment_method_update (call->db, &method, &error))
    {
      purserd_call_fail (call, error);
      return;
    }
  after = purserd_json_payment_method (&method);
  if (!purserd_call_event (call, "payment_method.removed", "payment_method", method.id, NULL,
                           before, after))
    return;
  list = method_list_node (call, &error);
  if (list == NULL)
    {
      purserd_call_fail (call, error);
      return;
    }
  /* Stripe forgets the method too, once the removal has committed. */
  if (method.stripe_id != NULL && purserd_stripe_configured (purserd_server_stripe (call->server)))
    {
      Detach *detach = g_new0 (Detach, 1);

      detach->server = call->server;
      detach->org_id = g_strdup (method.org_id);
      detach->method_id = g_strdup (method.id);
      g_idle_add_full (G_PRIORITY_DEFAULT, detach_after_commit, detach, detach_free);
    }
  purserd_call_reply_node (call, 200, list);
}

/* POST …/payment-methods/setup: a Stripe-hosted page to add a card or bank account. */
typedef struct
{
  PurserdCall *call;
  char *setup_id;
  char *type;
  char *success_url;
  char *cancel_url;
  char *customer;
} Setup;

static void
setup_free (Setup *setup)
{
  g_free (setup->setup_id);
  g_free (setup->type);
  g_free (setup->success_url);
  g_free (setup->cancel_url);
  g_free (setup->customer);
  g_free (setup);
}

static void
setup_fail (Setup *setup, GError *error)
{
  PurserdCall *call = setup->call;

  if (g_error_matches (error, PURSERD_STRIPE_ERROR, PURSERD_STRIPE_ERROR_NOT_CONFIGURED))
    purserd_call_error (call, 409, "stripe_not_configured", "type", "%s", error->message);
  else if (g_error_matches (error, PURSERD_STRIPE_ERROR, PURSERD_STRIPE_ERROR_UNREACHABLE))
    purserd_call_error (call, 503, "stripe_unavailable", NULL,
                        "Stripe could not be reached; nothing was changed. Try again in a "
                        "moment. (%s)",
                        error->message);
  else if (error->domain == PURSERD_STRIPE_ERROR)
    purserd_call_error (call, 502, "stripe_refused", NULL, "Stripe refused the request: %s",
                        error->message);
  else
    purserd_call_fail (call, error);
  purserd_call_finish (call);
  setup_free (setup);
}

static void
session_created (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Setup *setup = user_data;
  PurserdCall *call = setup->call;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) answer
      = purserd_stripe_send_finish (purserd_server_stripe (call->server), result, NULL, &error);
  g_auto (PurserdStripeCheckoutSession) session = { 0 };
  g_auto (PurserPaymentSetupRecord) rec = { 0 };
  g_autoptr (JsonBuilder) b = NULL;

  if (answer == NULL || !purserd_stripe_parse_checkout_session (answer, &session, &error))
    {
      setup_fail (setup, error);
      return;
    }
  rec.id = g_strdup (setup->setup_id);
  rec.org_id = g_strdup (purserd_call_org_id (call));
  rec.type = g_strdup (setup->type);
  rec.session_id = g_strdup (session.id);
  rec.url = g_strdup (session.url);
  rec.status = g_strdup ("open");
  rec.created_at = call->now;
  if (!purser_store_payment_setup_put (call->db, &rec, &error))
    {
      setup_fail (setup, error);
      return;
    }
  b = json_builder_new_immutable ();
  json_builder_begin_object (b);
  purser_wire_add_string (b, "id", rec.id);
  purser_wire_add_string (b, "type", rec.type);
  purser_wire_add_string (b, "url", session.url);
  purser_wire_add_string (b, "session_id", session.id);
  purser_wire_add_time (b, "expires_at", session.expires_at);
  purser_wire_add_string (b, "status", "open");
  json_builder_end_object (b);
  purserd_call_reply (call, 201, b);
  purserd_call_finish (call);
  setup_free (setup);
}

static void
create_session (Setup *setup)
{
  PurserdCall *call = setup->call;

  purserd_stripe_send_async (purserd_server_stripe (call->server),
                             purserd_stripe_checkout_setup_create (
                                 setup->setup_id, purserd_call_org_id (call), setup->customer,
                                 setup->type, setup->success_url, setup->cancel_url),
                             NULL, session_created, setup);
}

static void
customer_created (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Setup *setup = user_data;
  PurserdCall *call = setup->call;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) answer
      = purserd_stripe_send_finish (purserd_server_stripe (call->server), result, NULL, &error);

  if (answer == NULL || (setup->customer = purserd_stripe_parse_customer (answer, &error)) == NULL)
    {
      setup_fail (setup, error);
      return;
    }
  if (!purser_store_org_set_stripe_customer (call->db, purserd_call_org_id (call), setup->customer,
                                             &error))
    {
      setup_fail (setup, error);
      return;
    }
  create_session (setup);
}

static void
method_setup (PurserdCall *call)
{
  g_autoptr (GError) error = NULL;
  g_auto (PurserOrgRecord) org = { 0 };
  g_autofree char *success_url = NULL;
  g_autofree char *cancel_url = NULL;
  PurserWireReader reader;
  Setup *setup;
  int type = -1;

  if (!purserd_call_read_body (call, &reader))
    goto done;
  purser_wire_read_enum (&reader, "type", TRUE, setup_types, &type);
  purser_wire_read_string (&reader, "success_url", FALSE, PURSER_WIRE_TEXT_MAX, &success_url);
  purser_wire_read_string (&reader, "cancel_url", FALSE, PURSER_WIRE_TEXT_MAX, &cancel_url);
  if (!purserd_call_reader_done (call, &reader))
    {
      purser_wire_reader_clear (&reader);
      goto done;
    }
  purser_wire_reader_clear (&reader);
  if ((success_url && !g_str_has_prefix (success_url, "https://")
       && !g_str_has_prefix (success_url, "http://"))
      || (cancel_url && !g_str_has_prefix (cancel_url, "https://")
          && !g_str_has_prefix (cancel_url, "http://")))
    {
      purserd_call_error (call, 400, "invalid_request", success_url ? "success_url" : "cancel_url",
                          "Return URLs must be http:// or https:// addresses.");
      goto done;
    }
  if (!purserd_stripe_configured (purserd_server_stripe (call->server)))
    {
      purserd_call_error (call, 409, "stripe_not_configured", "type",
                          "Stripe is not configured on this server (no STRIPE_SECRET_KEY), so "
                          "cards and bank debits cannot be added. Wire transfer still works: "
                          "POST …/payment-methods {\"type\":\"wire\"}.");
      goto done;
    }
  if (!purser_store_org_get (call->db, purserd_call_org_id (call), &org, &error))
    {
      purserd_call_fail (call, error);
      goto done;
    }

  setup = g_new0 (Setup, 1);
  setup->call = call;
  setup->setup_id = purser_db_new_id ("pms");
  setup->type = g_strdup (setup_types[type]);
  {
    const char *base = purserd_server_config (call->server)->public_url;
    g_autofree char *root = g_strdup (base ? base : "http://127.0.0.1:8080");

    setup->success_url = success_url ? g_steal_pointer (&success_url)
                                     : g_strconcat (root, "/payment-methods/added", NULL);
    setup->cancel_url = cancel_url ? g_steal_pointer (&cancel_url)
                                   : g_strconcat (root, "/payment-methods/canceled", NULL);
  }
  if (!purser_store_org_stripe_customer (call->db, org.id, &setup->customer, &error))
    {
      setup_fail (setup, error);
      return;
    }
  if (setup->customer != NULL)
    {
      create_session (setup);
      return;
    }
  purserd_stripe_send_async (purserd_server_stripe (call->server),
                             purserd_stripe_customer_create (org.id, org.name, org.billing_email),
                             NULL, customer_created, setup);
  return;

done:
  purserd_call_finish (call);
}

/* ── invoices: documents, payment, e-mail ───────────────────────────────────────── */

static void
invoice_pdf (PurserdCall *call)
{
  g_auto (PurserInvoiceRecord) invoice = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) pdf = NULL;

  if (!purserd_call_load_invoice (call, &invoice))
    return;
  pdf = purserd_payments_invoice_pdf (call->server, call->db, invoice.org_id, invoice.id, &error);
  reply_pdf (call, pdf, error, invoice.number);
}

static void
receipt_pdf (PurserdCall *call)
{
  g_auto (PurserPaymentRecord) payment = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) pdf = NULL;

  if (!purser_store_payment_get (call->db, purserd_call_org_id (call),
                                 purserd_call_param (call, "id"), &payment, &error))
    {
      not_found (call, error, "payment");
      return;
    }
  pdf = purserd_payments_receipt_pdf (call->server, call->db, payment.org_id, payment.id, &error);
  reply_pdf (call, pdf, error, payment.receipt_number ? payment.receipt_number : payment.id);
}

static void
credit_note_pdf (PurserdCall *call)
{
  g_auto (PurserCreditNoteRecord) note = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) pdf = NULL;

  if (!purser_store_credit_note_get (call->db, purserd_call_org_id (call),
                                     purserd_call_param (call, "id"), &note, &error))
    {
      not_found (call, error, "credit note");
      return;
    }
  pdf = purserd_payments_credit_note_pdf (call->server, call->db, note.org_id, note.id, &error);
  reply_pdf (call, pdf, error, note.number);
}

static void
reply_invoice_payment (PurserdCall *call, guint status, const char *payment_id)
{
  g_auto (PurserInvoiceRecord) invoice = { 0 };
  g_auto (PurserPaymentRecord) payment = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonBuilder) b = json_builder_new_immutable ();

  if (!purser_store_payment_get (call->db, purserd_call_org_id (call), payment_id, &payment, &error)
      || !purser_store_invoice_get (call->db, payment.org_id, payment.invoice_id, &invoice, &error))
    {
      purserd_call_fail (call, error);
      return;
    }
  if (g_str_equal (payment.status, "failed"))
    {
      purserd_call_error (
          call, 402, "payment_failed", NULL, "%s%s%s",
          payment.failure_message ? payment.failure_message : "The payment was declined.",
          " The invoice stays open; ", "try another payment method or ask the card holder.");
      return;
    }
  json_builder_begin_object (b);
  purserd_json_add_node (b, "invoice", purserd_json_invoice (&invoice, TRUE));
  purserd_json_add_node (b, "payment", purserd_json_payment (&payment));
  json_builder_end_object (b);
  purserd_call_reply (call, status, b);
}

static void
charged (const char *payment_id, gpointer data)
{
  PurserdCall *call = data;

  reply_invoice_payment (call, 200, payment_id);
  purserd_call_finish (call);
}

static void
invoice_pay (PurserdCall *call)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *method_id = NULL;
  g_auto (PurserInvoiceRecord) invoice = { 0 };
  PurserWireReader reader;

  if (call->request->body->len > 0)
    {
      if (!purserd_call_read_body (call, &reader))
        goto done;
      purser_wire_read_string (&reader, "payment_method_id", FALSE, 64, &method_id);
      if (!purserd_call_reader_done (call, &reader))
        {
          purser_wire_reader_clear (&reader);
          goto done;
        }
      purser_wire_reader_clear (&reader);
    }
  if (!purserd_call_load_invoice (call, &invoice))
    goto done;
  if (purserd_payments_charge_now (call->server, purserd_call_org_id (call),
                                   purserd_call_param (call, "id"), method_id, call->actor, charged,
                                   call, &error))
    return;
  if (g_error_matches (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND))
    purserd_call_error (call, 404, "not_found", "payment_method_id", "%s", error->message);
  else if (g_error_matches (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NOT_ALLOWED))
    purserd_call_error (call, 409, "not_payable", NULL, "%s", error->message);
  else if (g_error_matches (error, PURSERD_STRIPE_ERROR, PURSERD_STRIPE_ERROR_NOT_CONFIGURED))
    purserd_call_error (call, 409, "stripe_not_configured", NULL, "%s", error->message);
  else if (g_error_matches (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_CONFLICT))
    purserd_call_error (call, 409, "payment_in_progress", NULL, "%s", error->message);
  else
    purserd_call_fail (call, error);
done:
  purserd_call_finish (call);
}

static void
invoice_mark_paid (PurserdCall *call)
{
  g_auto (PurserInvoiceRecord) invoice = { 0 };
  g_auto (PurserPaymentRecord) payment = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *reference = NULL;
  PurserWireReader reader;

  if (!purserd_call_read_body (call, &reader))
    return;
  purser_wire_read_string (&reader, "reference", TRUE, PURSER_WIRE_NAME_MAX, &reference);
  if (!purserd_call_reader_done (call, &reader))
    {
      purser_wire_reader_clear (&reader);
      return;
    }
  purser_wire_reader_clear (&reader);
  if (!purserd_call_load_invoice (call, &invoice))
    return;
  if (!purserd_payments_mark_paid (call->server, call->db, &invoice, reference, call->now,
                                   call->actor, &payment, &error))
    {
      if (g_error_matches (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_NOT_ALLOWED))
        purserd_call_error (call, 409, "not_payable", NULL, "%s", error->message);
      else
        purserd_call_fail (call, error);
      return;
    }
  reply_invoice_payment (call, 200, payment.id);
}

static void
invoice_email (PurserdCall *call)
{
  g_auto (PurserInvoiceRecord) invoice = { 0 };
  g_auto (PurserOrgRecord) org = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) to = NULL;
  g_autoptr (JsonObject) vars = json_object_new ();
  g_autoptr (GArray) sent = purser_mail_records_new ();
  g_autofree char *total = NULL;
  g_autofree char *attachment = NULL;
  gboolean has_more = FALSE;
  PurserWireReader reader;

  if (!purserd_call_read_body (call, &reader))
    return;
  purser_wire_read_strings (&reader, "to", TRUE, 20, PURSER_WIRE_EMAIL_MAX, &to);
  for (guint i = 0; to != NULL && i < to->len; i++)
    if (!purserd_mail_address_is_valid (g_ptr_array_index (to, i)))
      purser_wire_reader_fail (&reader, "to", "%s is not an e-mail address.",
                               (const char *) g_ptr_array_index (to, i));
  if (!purserd_call_reader_done (call, &reader))
    {
      purser_wire_reader_clear (&reader);
      return;
    }
  purser_wire_reader_clear (&reader);
  if (!purserd_call_load_invoice (call, &invoice))
    return;
  if (!purser_store_org_get (call->db, invoice.org_id, &org, &error))
    {
      purserd_call_fail (call, error);
      return;
    }
  total = purser_cents_format (invoice.draft.total);
  attachment = g_strconcat ("invoice:", invoice.id, NULL);
  json_object_set_string_member (vars, "org_name", org.name);
  json_object_set_string_member (vars, "invoice_number", invoice.number);
  json_object_set_string_member (vars, "total", total);
  json_object_set_string_member (vars, "sender_name",
                                 call->user && call->user->name ? call->user->name : org.name);
  g_ptr_array_add (to, NULL);
  if (!purserd_outbox_queue (call->db, org.id, "invoice-copy", vars,
                             (const char *const *) to->pdata, attachment, &error)
      || !purser_store_mail_list (call->db, org.id, NULL, 1, sent, &has_more, &error))
    {
      purserd_call_fail (call, error);
      return;
    }
  purserd_call_reply_node (call, 202,
                           purserd_json_mail (&g_array_index (sent, PurserMailRecord, 0)));
}

/* {"data": [...], "has_more"} from records drawn by `encode`. */
static void
reply_list (PurserdCall *call, GArray *records, JsonNode *(*encode) (gconstpointer record),
            gboolean has_more, const char *delivery)
{
  g_autoptr (JsonBuilder) b = json_builder_new_immutable ();
  guint size = g_array_get_element_size (records);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "data");
  json_builder_begin_array (b);
  for (guint i = 0; i < records->len; i++)
    json_builder_add_value (b, encode (records->data + (gsize) i * size));
  json_builder_end_array (b);
  purser_wire_add_bool (b, "has_more", has_more);
  if (delivery != NULL)
    purser_wire_add_string (b, "delivery", delivery);
  json_builder_end_object (b);
  purserd_call_reply (call, 200, b);
}

/* ── lists ─────────────────────────────────────────────────────────────────────── */

static void
payments_list (PurserdCall *call)
{
  g_autoptr (GArray) payments = purser_payment_records_new ();
  g_autoptr (GError) error = NULL;
  const char *after = NULL;
  gboolean has_more = FALSE;
  int limit;

  if (!purserd_call_page (call, 50, 200, &limit, &after))
    return;
  if (!purser_store_payment_list (call->db, purserd_call_org_id (call),
                                  purserd_request_query (call->request, "invoice_id"), after, limit,
                                  payments, &has_more, &error))
    {
      page_error (call, error);
      return;
    }
  reply_list (call, payments, (JsonNode * (*) (gconstpointer)) purserd_json_payment, has_more,
              NULL);
}

static void
credit_notes_list (PurserdCall *call)
{
  g_autoptr (GArray) notes = purser_credit_note_records_new ();
  g_autoptr (GError) error = NULL;

  if (!purser_store_credit_note_list (call->db, purserd_call_org_id (call),
                                      purserd_request_query (call->request, "invoice_id"), notes,
                                      &error))
    {
      purserd_call_fail (call, error);
      return;
    }
  reply_list (call, notes, (JsonNode * (*) (gconstpointer)) purserd_json_credit_note, FALSE, NULL);
}

static void
emails_list (PurserdCall *call)
{
  g_autoptr (GArray) mails = purser_mail_records_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *delivery = purserd_mailer_describe (purserd_server_mailer (call->server));
  const char *after = NULL;
  gboolean has_more = FALSE;
  int limit;

  if (!purserd_call_page (call, 50, 200, &limit, &after))
    return;
  if (!purser_store_mail_list (call->db, purserd_call_org_id (call), after, limit, mails, &has_more,
                               &error))
    {
      page_error (call, error);
      return;
    }
  reply_list (call, mails, (JsonNode * (*) (gconstpointer)) purserd_json_mail, has_more, delivery);
}

const PurserdRoute purserd_payment_routes[] = {
  { "GET", "/v1/orgs/{org}/payment-methods", PURSERD_AUTH_USER, PURSERD_ROLES_READERS,
    methods_list },
  { "POST", "/v1/orgs/{org}/payment-methods", PURSERD_AUTH_USER, PURSERD_ROLE_ADMIN,
    method_add_wire },
  { "POST", "/v1/orgs/{org}/payment-methods/setup", PURSERD_AUTH_USER, PURSERD_ROLE_ADMIN,
    method_setup, PURSERD_ROUTE_DEFERRED },
  { "POST", "/v1/orgs/{org}/payment-methods/{id}/default", PURSERD_AUTH_USER, PURSERD_ROLE_ADMIN,
    method_set_default },
  { "DELETE", "/v1/orgs/{org}/payment-methods/{id}", PURSERD_AUTH_USER, PURSERD_ROLE_ADMIN,
    method_remove },
  { "GET", "/v1/orgs/{org}/invoices/{id}/pdf", PURSERD_AUTH_USER, PURSERD_ROLES_READERS,
    invoice_pdf },
  { "POST", "/v1/orgs/{org}/invoices/{id}/pay", PURSERD_AUTH_USER, PURSERD_ROLE_ADMIN, invoice_pay,
    PURSERD_ROUTE_DEFERRED },
  { "POST", "/v1/orgs/{org}/invoices/{id}/mark-paid", PURSERD_AUTH_USER, PURSERD_ROLE_ADMIN,
    invoice_mark_paid },
  { "POST", "/v1/orgs/{org}/invoices/{id}/email", PURSERD_AUTH_USER, PURSERD_ROLES_READERS,
    invoice_email },
  { "GET", "/v1/orgs/{org}/payments", PURSERD_AUTH_USER, PURSERD_ROLES_READERS, payments_list },
  { "GET", "/v1/orgs/{org}/payments/{id}/receipt", PURSERD_AUTH_USER, PURSERD_ROLES_READERS,
    receipt_pdf },
  { "GET", "/v1/orgs/{org}/credit-notes", PURSERD_AUTH_USER, PURSERD_ROLES_READERS,
    credit_notes_list },
  { "GET", "/v1/orgs/{org}/credit-notes/{id}/pdf", PURSERD_AUTH_USER, PURSERD_ROLES_READERS,
    credit_note_pdf },
  { "GET", "/v1/orgs/{org}/emails", PURSERD_AUTH_USER, PURSERD_ROLE_ADMIN, emails_list },
  { "POST", "/v1/webhooks/stripe", PURSERD_AUTH_NONE, 0, purserd_webhooks_receive,
    PURSERD_ROUTE_OWN_TRANSACTIONS },
  { NULL },
};
