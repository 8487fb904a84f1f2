/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "purserd-billing.h"
#include "purserd-json.h"
#include "purserd-routes.h"
#include "purserd-scope.h"

#define SEATS_MAX      1000000
#define PRICE_MAX      ((PurserCents) 100000000000) /* a billion dollars */
#define TRIAL_DAYS_MAX 90

static const char *const plans[] = { "business", "enterprise", NULL };
static const char *const cycles[] = { "monthly", "annual", NULL };
static const char *const intervals[] = { "month", "year", NULL };
static const char *const proration_modes[] = { "immediate", "true_up", NULL };
static const char *const cancel_reasons[] = {
  "too_expensive", "missing_features", "switched_service", "unused", "other", NULL,
};

/* Reads any of plan, cycle, seats, contract. The contract's interval defaults to the cycle. */
static void
read_change (PurserWireReader *reader, PurserCycle default_cycle, PurserChange *change)
{
  PurserWireReader contract;
  int value;

  memset (change, 0, sizeof *change);
  if (purser_wire_read_enum (reader, "plan", FALSE, plans, &value))
    {
      change->has_plan = TRUE;
      change->plan = (PurserPlan) value;
    }
  if (purser_wire_read_enum (reader, "cycle", FALSE, cycles, &value))
    {
      change->has_cycle = TRUE;
      change->cycle = (PurserCycle) value;
    }
  change->has_seats = purser_wire_read_int (reader, "seats", FALSE, 1, SEATS_MAX, &change->seats);
  if (purser_wire_read_object (reader, "contract", FALSE, &contract))
    {
      change->has_contract = TRUE;
      change->contract.interval = change->has_cycle ? change->cycle : default_cycle;
      purser_wire_read_money (&contract, "seat_price", TRUE, 1, PRICE_MAX,
                              &change->contract.seat_price);
      purser_wire_read_money (&contract, "platform_fee", FALSE, 0, PRICE_MAX,
                              &change->contract.platform_fee);
      if (purser_wire_read_enum (&contract, "interval", FALSE, intervals, &value))
        change->contract.interval = (PurserCycle) value;
      purser_wire_reader_finish (&contract);
      purser_wire_reader_close_child (reader, &contract);
    }
}

typedef struct
{
  PurserOrgRecord org;
  PurserSubscriptionRecord sub;
  PurserTaxContext tax;
  gboolean has_sub;
} Billing;

static void
billing_clear (Billing *billing)
{
  purser_org_record_clear (&billing->org);
  purser_subscription_record_clear (&billing->sub);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Billing, billing_clear)

/* Loads the organization, its tax treatment and its newest subscription. With
 * `need_live`, answers 404/409 unless there is one that is not canceled. */
static gboolean
load_billing (PurserdCall *call, Billing *billing, gboolean need_live)
{
  g_autoptr (GError) error = NULL;

  if (!purser_store_org_get (call->db, purserd_call_org_id (call), &billing->org, &error))
    {
      purserd_call_fail (call, error);
      return FALSE;
    }
  purserd_billing_tax_context (call->server, &billing->org, &billing->tax);

  billing->has_sub
      = purser_store_subscription_current (call->db, billing->org.id, &billing->sub, &error);
  if (!billing->has_sub
      && !g_error_matches (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND))
    {
      purserd_call_fail (call, error);
      return FALSE;
    }
  if (need_live && !billing->has_sub)
    {
      purserd_call_error (call, 404, "no_subscription", NULL,
                          "The organization has no subscription yet; create one first.");
      return FALSE;
    }
  if (need_live && billing->sub.state.status == PURSER_STATUS_CANCELED)
    {
      purserd_call_error (call, 409, "subscription_canceled", NULL,
                          "The subscription was canceled; start a new one instead.");
      return FALSE;
    }
  return TRUE;
}

/* Only the totals matter here, so the seat map's per-department counts are not loaded:
 * this runs on every preview. */
static gboolean
seat_floor (PurserdCall *call, PurserSeatFloor *floor)
{
  g_autoptr (GArray) departments = purserd_scope_load_departments (call);

  if (departments == NULL)
    return FALSE;
  floor->assigned = purser_store_license_count (call->db, purserd_call_org_id (call));
  floor->allocated = 0;
  for (guint i = 0; i < departments->len; i++)
    {
      const PurserDepartmentRecord *dept = &g_array_index (departments, PurserDepartmentRecord, i);

      if (dept->parent_id == NULL && dept->seat_allocation > 0)
        floor->allocated += dept->seat_allocation;
    }
  return TRUE;
}

/* Writes the subscription's new state, the invoice the change issues now (if any) and the
 * event, then answers with the quote, the subscription and the invoice. */
static void
apply_quote (PurserdCall *call, Billing *billing, PurserQuote *quote, const char *event_type,
             const char *invoice_reason, guint status, gboolean with_quote)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) before = NULL;
  g_autoptr (JsonNode) after = NULL;
  g_autoptr (JsonBuilder) b = json_builder_new_immutable ();
  g_auto (PurserInvoiceRecord) invoice = { 0 };
  gboolean created = g_str_equal (event_type, "subscription.created");

  if (!created)
    before = purserd_json_subscription (&billing->sub, NULL);

  purser_subscription_clear (&billing->sub.state);
  purser_subscription_copy (&quote->after, &billing->sub.state);
  billing->sub.updated_at = call->now;

  if (created ? !purser_store_subscription_insert (call->db, &billing->sub, &error)
              : !purser_store_subscription_update (call->db, &billing->sub, &error))
    {
      purserd_call_fail (call, error);
      return;
    }

  if (quote->invoice_now)
    {
      PurserPeriod period = billing->sub.state.period;

      /* The invoice of a mid-cycle change covers the change date to the period end. */
      if (!created && quote->effective == PURSER_EFFECTIVE_NOW && call->today > period.start
          && call->today < period.end)
        period.start = call->today;
      /* The invoice is the quote's: what the preview showed is what is billed. */
      if (!purserd_billing_issue_invoice (call->server, call->db, &billing->org, &billing->sub,
                                          &quote->invoice, invoice_reason, period, call->today,
                                          call->now, call->actor, &invoice, &error))
        {
          purserd_call_fail (call, error);
          return;
        }
    }

  after = purserd_json_subscription (&billing->sub, &billing->tax);
  if (!purserd_call_event (call, event_type, "subscription", billing->sub.id, NULL, before, after))
    return;

  json_builder_begin_object (b);
  if (with_quote)
    purser_wire_add_quote_members (b, quote);
  purserd_json_add_node (b, "subscription", json_node_copy (after));
  if (quote->invoice_now)
    purserd_json_add_node (b, "invoice", purserd_json_invoice (&invoice, TRUE));
  else
    purser_wire_add_string (b, "invoice", NULL);
  json_builder_end_object (b);
  purserd_call_reply (call, status, b);
}

static void
subscription_get (PurserdCall *call)
{
  g_auto (Billing) billing = { 0 };
  g_autoptr (JsonBuilder) b = NULL;

  if (!load_billing (call, &billing, FALSE))
    return;
  if (!billing.has_sub)
    {
      purserd_call_error (call, 404, "no_subscription", NULL,
                          "The organization has no subscription yet.");
      return;
    }
  b = json_builder_new_immutable ();
  json_builder_begin_object (b);
  purserd_json_add_node (b, "subscription", purserd_json_subscription (&billing.sub, &billing.tax));
  json_builder_end_object (b);
  purserd_call_reply (call, 200, b);
}

static void
subscription_create (PurserdCall *call)
{
  g_auto (Billing) billing = { 0 };
  g_auto (PurserQuote) quote = { 0 };
  g_autoptr (GError) error = NULL;
  PurserWireReader reader;
  PurserChange request;
  PurserCents balance = 0;
  gint64 billing_day = MIN (purser_date_day (call->today), PURSER_BILLING_DAY_MAX);
  gint64 trial_days = 0;
  int proration = PURSER_PRORATION_IMMEDIATE;
  char *po_number = NULL, *notes = NULL;
  gboolean present;

  if (!load_billing (call, &billing, FALSE) || !purserd_call_read_body (call, &reader))
    return;

  if (billing.has_sub && billing.sub.state.status != PURSER_STATUS_CANCELED)
    {
      purser_wire_reader_clear (&reader);
      purserd_call_error (call, 409, "subscription_exists", NULL,
                          "The organization already has a %s subscription; change it instead.",
                          purser_status_to_string (billing.sub.state.status));
      return;
    }

  read_change (&reader, PURSER_CYCLE_MONTHLY, &request);
  if (!request.has_plan)
    purser_wire_reader_fail (&reader, "plan", "The field \"plan\" is required.");
  if (!request.has_cycle)
    purser_wire_reader_fail (&reader, "cycle", "The field \"cycle\" is required.");
  if (!request.has_seats)
    purser_wire_reader_fail (&reader, "seats", "The field \"seats\" is required.");
  purser_wire_read_int (&reader, "billing_day", FALSE, PURSER_BILLING_DAY_MIN,
                        PURSER_BILLING_DAY_MAX, &billing_day);
  purser_wire_read_int (&reader, "trial_days", FALSE, 0, TRIAL_DAYS_MAX, &trial_days);
  purser_wire_read_enum (&reader, "proration_billing", FALSE, proration_modes, &proration);
  purser_wire_read_nullable_string (&reader, "po_number", 100, &po_number, &present);
  purser_wire_read_nullable_string (&reader, "invoice_notes", PURSER_WIRE_TEXT_MAX, &notes,
                                    &present);
  if (!purserd_call_reader_done (call, &reader))
    {
      purser_wire_reader_clear (&reader);
      g_free (po_number);
      g_free (notes);
      return;
    }
  purser_wire_reader_clear (&reader);

  if (billing.has_sub)
    balance = billing.sub.state.credit_balance;
  if (!purser_quote_create (&request, (int) billing_day, (int) trial_days,
                            (PurserProrationBilling) proration, balance, call->today, &billing.tax,
                            &quote, &error))
    {
      g_free (po_number);
      g_free (notes);
      purserd_call_fail (call, error);
      return;
    }

  /* The canceled subscription stays as history; its balance moved to the new one. */
  if (billing.has_sub && balance != 0)
    {
      billing.sub.state.credit_balance = 0;
      if (!purser_store_subscription_update (call->db, &billing.sub, &error))
        {
          g_free (po_number);
          g_free (notes);
          purserd_call_fail (call, error);
          return;
        }
    }

  purser_subscription_record_clear (&billing.sub);
  memset (&billing.sub, 0, sizeof billing.sub);
  billing.sub.id = purser_db_new_id ("sub");
  billing.sub.org_id = g_strdup (billing.org.id);
  billing.sub.po_number = po_number;
  billing.sub.invoice_notes = notes;
  billing.sub.created_at = call->now;
  apply_quote (call, &billing, &quote, "subscription.created", "subscription_create", 201, FALSE);
}

/* preview and change read the same body and run the same rules. */
static gboolean
quote_change (PurserdCall *call, Billing *billing, PurserQuote *quote)
{
  g_autoptr (GError) error = NULL;
  PurserWireReader reader;
  PurserChange change;
  PurserSeatFloor floor;

  if (!load_billing (call, billing, TRUE) || !purserd_call_read_body (call, &reader))
    return FALSE;
  read_change (&reader, billing->sub.state.cycle, &change);
  if (!purserd_call_reader_done (call, &reader))
    {
      purser_wire_reader_clear (&reader);
      return FALSE;
    }
  purser_wire_reader_clear (&reader);

  if (!seat_floor (call, &floor))
    return FALSE;
  if (!purser_quote_change (&billing->sub.state, &change, &floor, call->today, &billing->tax, quote,
                            &error))
    {
      purserd_call_fail (call, error);
      return FALSE;
    }
  return TRUE;
}

static void
subscription_preview (PurserdCall *call)
{
  g_auto (Billing) billing = { 0 };
  g_auto (PurserQuote) quote = { 0 };
  g_autoptr (JsonBuilder) b = NULL;

  if (!quote_change (call, &billing, &quote))
    return;
  b = json_builder_new_immutable ();
  json_builder_begin_object (b);
  purser_wire_add_quote_members (b, &quote);
  json_builder_end_object (b);
  purserd_call_reply (call, 200, b);
}

static void
subscription_change (PurserdCall *call)
{
  g_auto (Billing) billing = { 0 };
  g_auto (PurserQuote) quote = { 0 };

  if (quote_change (call, &billing, &quote))
    apply_quote (call, &billing, &quote, "subscription.updated", "subscription_update", 200, TRUE);
}

static void
subscription_cancel (PurserdCall *call)
{
  g_auto (Billing) billing = { 0 };
  g_auto (PurserQuote) quote = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *comment = NULL;
  PurserWireReader reader;
  gboolean at_period_end = TRUE, present;
  int reason = 0;

  if (!load_billing (call, &billing, TRUE) || !purserd_call_read_body (call, &reader))
    return;
  purser_wire_read_enum (&reader, "reason", TRUE, cancel_reasons, &reason);
  purser_wire_read_nullable_string (&reader, "comment", PURSER_WIRE_TEXT_MAX, &comment, &present);
  purser_wire_read_bool (&reader, "at_period_end", FALSE, &at_period_end);
  if (!purserd_call_reader_done (call, &reader))
    {
      purser_wire_reader_clear (&reader);
      return;
    }
  purser_wire_reader_clear (&reader);

  if (!purser_quote_cancel (&billing.sub.state, at_period_end, call->today, &billing.tax, &quote,
                            &error))
    {
      purserd_call_fail (call, error);
      return;
    }
  g_free (billing.sub.cancel_reason);
  billing.sub.cancel_reason = g_strdup (cancel_reasons[reason]);
  g_free (billing.sub.cancel_comment);
  billing.sub.cancel_comment = g_steal_pointer (&comment);
  billing.sub.canceled_at = call->now;
  apply_quote (call, &billing, &quote, "subscription.canceled", "subscription_cancel", 200, TRUE);
}

static void
subscription_resume (PurserdCall *call)
{
  g_auto (Billing) billing = { 0 };
  g_auto (PurserQuote) quote = { 0 };
  g_autoptr (GError) error = NULL;

  if (!load_billing (call, &billing, TRUE))
    return;
  /* An empty body is fine; a body must be an empty object. */
  if (call->request->body->len > 0)
    {
      PurserWireReader reader;

      if (!purserd_call_read_body (call, &reader))
        return;
      if (!purser_wire_reader_finish (&reader))
        {
          purserd_call_reader_error (call, &reader);
          purser_wire_reader_clear (&reader);
          return;
        }
      purser_wire_reader_clear (&reader);
    }
  if (!purser_quote_resume (&billing.sub.state, call->today, &billing.tax, &quote, &error))
    {
      purserd_call_fail (call, error);
      return;
    }
  g_clear_pointer (&billing.sub.cancel_reason, g_free);
  g_clear_pointer (&billing.sub.cancel_comment, g_free);
  billing.sub.canceled_at = 0;
  apply_quote (call, &billing, &quote, "subscription.resumed", "subscription_update", 200, TRUE);
}

static void
subscription_patch (PurserdCall *call)
{
  g_auto (Billing) billing = { 0 };
  g_autoptr (JsonNode) before = NULL;
  g_autoptr (JsonNode) after = NULL;
  g_autoptr (JsonBuilder) b = NULL;
  g_autoptr (GError) error = NULL;
  PurserWireReader reader;
  PurserSubscription *s;
  gint64 billing_day = 0;
  gboolean auto_renew, present;
  int proration;

  if (!load_billing (call, &billing, TRUE) || !purserd_call_read_body (call, &reader))
    return;
  s = &billing.sub.state;
  before = purserd_json_subscription (&billing.sub, NULL);

  if (purser_wire_read_bool (&reader, "auto_renew", FALSE, &auto_renew))
    s->auto_renew = auto_renew;
  /* A new billing day starts with the next period (a partial one up to the new day). */
  if (purser_wire_read_int (&reader, "billing_day", FALSE, PURSER_BILLING_DAY_MIN,
                            PURSER_BILLING_DAY_MAX, &billing_day))
    s->scheduled_billing_day = billing_day == s->billing_day ? 0 : (int) billing_day;
  purser_wire_read_nullable_string (&reader, "po_number", 100, &billing.sub.po_number, &present);
  purser_wire_read_nullable_string (&reader, "invoice_notes", PURSER_WIRE_TEXT_MAX,
                                    &billing.sub.invoice_notes, &present);
  if (purser_wire_read_enum (&reader, "proration_billing", FALSE, proration_modes, &proration))
    s->proration_billing = (PurserProrationBilling) proration;
  if (!purserd_call_reader_done (call, &reader))
    {
      purser_wire_reader_clear (&reader);
      return;
    }
  purser_wire_reader_clear (&reader);

  billing.sub.updated_at = call->now;
  if (!purser_store_subscription_update (call->db, &billing.sub, &error))
    {
      purserd_call_fail (call, error);
      return;
    }
  after = purserd_json_subscription (&billing.sub, &billing.tax);
  if (!purserd_call_event (call, "subscription.updated", "subscription", billing.sub.id, NULL,
                           before, after))
    return;
  b = json_builder_new_immutable ();
  json_builder_begin_object (b);
  purserd_json_add_node (b, "subscription", json_node_copy (after));
  json_builder_end_object (b);
  purserd_call_reply (call, 200, b);
}

const PurserdRoute purserd_subscription_routes[] = {
  { "GET", "/v1/orgs/{org}/subscription", PURSERD_AUTH_USER, PURSERD_ROLES_READERS,
    subscription_get },
  { "POST", "/v1/orgs/{org}/subscription", PURSERD_AUTH_USER, PURSERD_ROLE_ADMIN,
    subscription_create },
  { "PATCH", "/v1/orgs/{org}/subscription", PURSERD_AUTH_USER, PURSERD_ROLE_ADMIN,
    subscription_patch },
  { "POST", "/v1/orgs/{org}/subscription/preview", PURSERD_AUTH_USER, PURSERD_ROLE_ADMIN,
    subscription_preview },
  { "POST", "/v1/orgs/{org}/subscription/change", PURSERD_AUTH_USER, PURSERD_ROLE_ADMIN,
    subscription_change },
  { "POST", "/v1/orgs/{org}/subscription/cancel", PURSERD_AUTH_USER, PURSERD_ROLE_ADMIN,
    subscription_cancel },
  { "POST", "/v1/orgs/{org}/subscription/resume", PURSERD_AUTH_USER, PURSERD_ROLE_ADMIN,
    subscription_resume },
  { NULL },
};
