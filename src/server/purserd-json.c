/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "purserd-json.h"

static JsonNode *
finish (JsonBuilder *builder)
{
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

void
purserd_json_add_node (JsonBuilder *builder, const char *member, JsonNode *node)
{
  json_builder_set_member_name (builder, member);
  json_builder_add_value (builder, node);
}

JsonNode *
purserd_json_org (const PurserOrgRecord *org)
{
  g_autoptr (JsonBuilder) b = json_builder_new_immutable ();

  json_builder_begin_object (b);
  purser_wire_add_string (b, "id", org->id);
  purser_wire_add_string (b, "name", org->name);
  purser_wire_add_string (b, "code", org->code);
  purser_wire_add_string (b, "country", org->country);
  purser_wire_add_string (b, "region", org->region);
  purser_wire_add_string (b, "tax_id", org->tax_id);
  purser_wire_add_bool (b, "tax_exempt", org->tax_exempt);
  purser_wire_add_string (b, "billing_email", org->billing_email);
  purser_wire_add_string (b, "address", org->address);
  purser_wire_add_time (b, "created_at", org->created_at);
  return finish (b);
}

JsonNode *
purserd_json_user (const PurserUserRecord *user)
{
  g_autoptr (JsonBuilder) b = json_builder_new_immutable ();

  json_builder_begin_object (b);
  purser_wire_add_string (b, "id", user->id);
  purser_wire_add_string (b, "email", user->email);
  purser_wire_add_string (b, "name", user->name);
  purser_wire_add_string (b, "role", user->role);
  purser_wire_add_string (b, "org_id", user->org_id);
  purser_wire_add_string (b, "employee_id", user->employee_id);
  json_builder_set_member_name (b, "department_ids");
  json_builder_begin_array (b);
  for (guint i = 0; user->department_ids && i < user->department_ids->len; i++)
    json_builder_add_string_value (b, g_ptr_array_index (user->department_ids, i));
  json_builder_end_array (b);
  return finish (b);
}

JsonNode *
purserd_json_department (const PurserDepartmentRecord *dept)
{
  g_autoptr (JsonBuilder) b = json_builder_new_immutable ();

  json_builder_begin_object (b);
  purser_wire_add_string (b, "id", dept->id);
  purser_wire_add_string (b, "name", dept->name);
  purser_wire_add_string (b, "parent_id", dept->parent_id);
  purser_wire_add_string (b, "cost_center", dept->cost_center);
  json_builder_set_member_name (b, "seat_allocation");
  if (dept->seat_allocation >= 0)
    json_builder_add_int_value (b, dept->seat_allocation);
  else
    json_builder_add_null_value (b);
  purser_wire_add_time (b, "created_at", dept->created_at);
  return finish (b);
}

JsonNode *
purserd_json_employee (const PurserEmployeeRecord *employee)
{
  g_autoptr (JsonBuilder) b = json_builder_new_immutable ();

  json_builder_begin_object (b);
  purser_wire_add_string (b, "id", employee->id);
  purser_wire_add_string (b, "email", employee->email);
  purser_wire_add_string (b, "name", employee->name);
  purser_wire_add_string (b, "department_id", employee->department_id);
  purser_wire_add_string (b, "title", employee->title);
  purser_wire_add_string (b, "status", employee->status);
  purser_wire_add_bool (b, "licensed", employee->licensed);
  purser_wire_add_time (b, "license_assigned_at",
                        employee->licensed ? employee->license_assigned_at : 0);
  purser_wire_add_time (b, "last_session_at", employee->last_session_at);
  purser_wire_add_time (b, "created_at", employee->created_at);
  return finish (b);
}

JsonNode *
purserd_json_subscription (const PurserSubscriptionRecord *rec, const PurserTaxContext *tax)
{
  g_autoptr (JsonBuilder) b = json_builder_new_immutable ();
  const PurserSubscription *s = &rec->state;
  gboolean scheduled
      = s->has_scheduled_plan || s->has_scheduled_cycle || s->scheduled_billing_day != 0;

  json_builder_begin_object (b);
  purser_wire_add_string (b, "id", rec->id);
  purser_wire_add_string (b, "org_id", rec->org_id);
  purser_wire_add_string (b, "status", purser_status_to_string (s->status));
  purser_wire_add_string (b, "plan", purser_plan_to_string (s->plan));
  purser_wire_add_string (b, "cycle", purser_cycle_to_string (s->cycle));
  purser_wire_add_int (b, "seats", s->seats);
  purser_wire_add_int (b, "billing_day", s->billing_day);
  purser_wire_add_period (b, "current_period", &s->period);
  purser_wire_add_money (b, "unit_price", purser_plan_seat_price (s->plan, &s->contract, s->cycle));
  purser_wire_add_money (b, "platform_fee",
                         purser_plan_platform_fee (s->plan, &s->contract, s->cycle));
  purser_wire_add_contract (b, "contract", s->plan == PURSER_PLAN_ENTERPRISE ? &s->contract : NULL);
  purser_wire_add_bool (b, "cancel_at_period_end", s->cancel_at_period_end);
  purser_wire_add_bool (b, "auto_renew", s->auto_renew);
  purser_wire_add_string (b, "proration_billing",
                          s->proration_billing == PURSER_PRORATION_TRUE_UP ? "true_up"
                                                                           : "immediate");
  json_builder_set_member_name (b, "scheduled_change");
  if (scheduled)
    {
      json_builder_begin_object (b);
      purser_wire_add_string (
          b, "plan", s->has_scheduled_plan ? purser_plan_to_string (s->scheduled_plan) : NULL);
      purser_wire_add_string (
          b, "cycle", s->has_scheduled_cycle ? purser_cycle_to_string (s->scheduled_cycle) : NULL);
      json_builder_set_member_name (b, "billing_day");
      if (s->scheduled_billing_day != 0)
        json_builder_add_int_value (b, s->scheduled_billing_day);
      else
        json_builder_add_null_value (b);
      purser_wire_add_date (b, "effective", s->period.end);
      json_builder_end_object (b);
    }
  else
    json_builder_add_null_value (b);
  purser_wire_add_money (b, "credit_balance", s->credit_balance);
  purser_wire_add_lines (b, "pending_lines", s->pending);
  json_builder_set_member_name (b, "cancellation");
  if (rec->cancel_reason != NULL)
    {
      json_builder_begin_object (b);
      purser_wire_add_string (b, "reason", rec->cancel_reason);
      purser_wire_add_string (b, "comment", rec->cancel_comment);
      purser_wire_add_time (b, "requested_at", rec->canceled_at);
      purser_wire_add_date (b, "effective",
                            s->status == PURSER_STATUS_CANCELED || s->cancel_at_period_end
                                ? s->period.end
                                : PURSER_DATE_INVALID);
      json_builder_end_object (b);
    }
  else
    json_builder_add_null_value (b);
  purser_wire_add_string (b, "po_number", rec->po_number);
  purser_wire_add_string (b, "invoice_notes", rec->invoice_notes);
  if (tax != NULL)
    {
      PurserDate date;
      PurserCents total;

      json_builder_set_member_name (b, "next_invoice");
      if (s->status != PURSER_STATUS_CANCELED
          && purser_subscription_next_invoice (s, tax, &date, &total))
        {
          json_builder_begin_object (b);
          purser_wire_add_date (b, "date", date);
          purser_wire_add_money (b, "total", total);
          json_builder_end_object (b);
        }
      else
        json_builder_add_null_value (b);
    }
  purser_wire_add_time (b, "created_at", rec->created_at);
  purser_wire_add_time (b, "updated_at", rec->updated_at);
  return finish (b);
}

JsonNode *
purserd_json_invoice (const PurserInvoiceRecord *inv, gboolean with_lines)
{
  g_autoptr (JsonBuilder) b = json_builder_new_immutable ();
  gboolean settled = inv->status == PURSER_INVOICE_PAID || inv->status == PURSER_INVOICE_VOID
                     || inv->status == PURSER_INVOICE_UNCOLLECTIBLE;

  json_builder_begin_object (b);
  purser_wire_add_string (b, "id", inv->id);
  purser_wire_add_string (b, "number", inv->number);
  purser_wire_add_string (b, "status", purser_invoice_status_to_string (inv->status));
  purser_wire_add_string (b, "reason", inv->reason);
  purser_wire_add_string (b, "subscription_id", inv->subscription_id);
  purser_wire_add_period (b, "period", &inv->period);
  purser_wire_add_date (b, "issued_on", inv->issued_on);
  purser_wire_add_date (b, "due_on", inv->due_on);
  purser_wire_add_string (b, "currency", PURSER_CURRENCY);
  if (with_lines)
    purser_wire_add_lines (b, "lines", inv->draft.lines);
  purser_wire_add_money (b, "subtotal", inv->draft.subtotal);
  purser_wire_add_money (b, "tax", inv->draft.tax);
  purser_wire_add_money (b, "total", inv->draft.total);
  purser_wire_add_money (b, "credit_applied", inv->draft.credit_applied);
  purser_wire_add_money (b, "amount_paid", inv->amount_paid);
  purser_wire_add_money (b, "amount_due", settled ? 0 : inv->draft.total - inv->amount_paid);
  purser_wire_add_string (b, "tax_note", inv->draft.tax_note);
  purser_wire_add_string (b, "po_number", inv->po_number);
  purser_wire_add_string (b, "notes", inv->notes);
  purser_wire_add_time (b, "created_at", inv->created_at);
  purser_wire_add_time (b, "paid_at", inv->paid_at);
  purser_wire_add_time (b, "voided_at", inv->voided_at);
  purser_wire_add_string (b, "void_reason", inv->void_reason);
  purser_wire_add_string (b, "collection", inv->collection);
  json_builder_set_member_name (b, "attempt_count");
  json_builder_add_int_value (b, inv->attempt_count);
  purser_wire_add_time (b, "next_attempt_at", inv->next_attempt_at);
  purser_wire_add_money (b, "amount_refunded", inv->amount_refunded);
  return finish (b);
}

JsonNode *
purserd_json_payment_method (const PurserPaymentMethodRecord *pm)
{
  g_autoptr (JsonBuilder) b = json_builder_new_immutable ();
  g_autofree char *label = purserd_json_method_label (pm);

  json_builder_begin_object (b);
  purser_wire_add_string (b, "id", pm->id);
  purser_wire_add_string (b, "type", pm->type);
  purser_wire_add_string (b, "label", label);
  purser_wire_add_string (b, "brand", pm->brand);
  purser_wire_add_string (b, "last4", pm->last4);
  if (pm->exp_month > 0)
    {
      json_builder_set_member_name (b, "exp_month");
      json_builder_add_int_value (b, pm->exp_month);
      json_builder_set_member_name (b, "exp_year");
      json_builder_add_int_value (b, pm->exp_year);
    }
  purser_wire_add_string (b, "country", pm->country);
  purser_wire_add_bool (b, "is_default", pm->is_default);
  purser_wire_add_string (b, "status", pm->status);
  purser_wire_add_time (b, "created_at", pm->created_at);
  purser_wire_add_time (b, "removed_at", pm->removed_at);
  return finish (b);
}

char *
purserd_json_method_label (const PurserPaymentMethodRecord *pm)
{
  if (g_strcmp0 (pm->type, "wire") == 0)
    return g_strdup_printf ("Wire transfer%s%s", pm->label ? " — " : "",
                            pm->label ? pm->label : "");
  if (g_strcmp0 (pm->type, "card") == 0)
    {
      g_autofree char *brand = g_strdup (pm->brand ? pm->brand : "Card");

      if (g_str_equal (brand, "amex"))
        return g_strdup_printf ("American Express •••• %s", pm->last4 ? pm->last4 : "");
      brand[0] = g_ascii_toupper (brand[0]);
      return g_strdup_printf ("%s •••• %s", brand, pm->last4 ? pm->last4 : "");
    }
  return g_strdup_printf ("%s %s •••• %s",
                          g_strcmp0 (pm->type, "sepa_debit") == 0 ? "SEPA Direct Debit"
                                                                  : "US bank account",
                          pm->brand ? pm->brand : "", pm->last4 ? pm->last4 : "");
}

JsonNode *
purserd_json_payment (const PurserPaymentRecord *pay)
{
  g_autoptr (JsonBuilder) b = json_builder_new_immutable ();

  json_builder_begin_object (b);
  purser_wire_add_string (b, "id", pay->id);
  purser_wire_add_string (b, "invoice_id", pay->invoice_id);
  purser_wire_add_string (b, "status", pay->status);
  purser_wire_add_money (b, "amount", pay->amount);
  purser_wire_add_money (b, "amount_refunded", pay->amount_refunded);
  purser_wire_add_string (b, "payment_method_id", pay->method_id);
  purser_wire_add_string (b, "method_type", pay->method_type);
  purser_wire_add_string (b, "method_label", pay->method_label);
  purser_wire_add_string (b, "failure_code", pay->failure_code);
  purser_wire_add_string (b, "failure_message", pay->failure_message);
  purser_wire_add_string (b, "reference", pay->reference);
  purser_wire_add_string (b, "receipt_number", pay->receipt_number);
  purser_wire_add_string (b, "stripe_payment_intent", pay->stripe_payment_intent);
  json_builder_set_member_name (b, "attempt");
  json_builder_add_int_value (b, pay->attempt);
  purser_wire_add_time (b, "created_at", pay->created_at);
  purser_wire_add_time (b, "updated_at", pay->updated_at);
  return finish (b);
}

JsonNode *
purserd_json_credit_note (const PurserCreditNoteRecord *note)
{
  g_autoptr (JsonBuilder) b = json_builder_new_immutable ();

  json_builder_begin_object (b);
  purser_wire_add_string (b, "id", note->id);
  purser_wire_add_string (b, "number", note->number);
  purser_wire_add_string (b, "invoice_id", note->invoice_id);
  purser_wire_add_string (b, "payment_id", note->payment_id);
  purser_wire_add_money (b, "amount", note->amount);
  purser_wire_add_money (b, "refunded", note->refunded);
  purser_wire_add_string (b, "refund_status", note->refund_status);
  purser_wire_add_string (b, "reason", note->reason);
  purser_wire_add_time (b, "created_at", note->created_at);
  return finish (b);
}

JsonNode *
purserd_json_mail (const PurserMailRecord *mail)
{
  g_autoptr (JsonBuilder) b = json_builder_new_immutable ();
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();

  json_builder_begin_object (b);
  purser_wire_add_string (b, "id", mail->id);
  purser_wire_add_string (b, "template", mail->template_id);
  json_builder_set_member_name (b, "to");
  if (mail->recipients != NULL && json_parser_load_from_data (parser, mail->recipients, -1, NULL))
    json_builder_add_value (b, json_node_copy (json_parser_get_root (parser)));
  else
    json_builder_add_null_value (b);
  purser_wire_add_string (b, "subject", mail->subject);
  purser_wire_add_string (b, "attachment", mail->attachment);
  purser_wire_add_string (b, "status", mail->status);
  json_builder_set_member_name (b, "attempts");
  json_builder_add_int_value (b, mail->attempts);
  purser_wire_add_string (b, "last_error", mail->last_error);
  purser_wire_add_time (b, "created_at", mail->created_at);
  purser_wire_add_time (b, "sent_at", mail->sent_at);
  return finish (b);
}

static JsonNode *
parse_stored (const char *json)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();

  if (json == NULL || !json_parser_load_from_data (parser, json, -1, NULL))
    return json_node_new (JSON_NODE_NULL);
  return json_node_copy (json_parser_get_root (parser));
}

JsonNode *
purserd_json_event (const PurserEventRecord *ev)
{
  g_autoptr (JsonBuilder) b = json_builder_new_immutable ();

  json_builder_begin_object (b);
  purser_wire_add_int (b, "seq", ev->seq);
  purser_wire_add_string (b, "id", ev->id);
  purser_wire_add_time (b, "time", ev->time);
  purser_wire_add_string (b, "actor", ev->actor);
  purser_wire_add_string (b, "type", ev->type);
  json_builder_set_member_name (b, "entity");
  json_builder_begin_object (b);
  purser_wire_add_string (b, "type", ev->entity_type);
  purser_wire_add_string (b, "id", ev->entity_id);
  json_builder_end_object (b);
  purserd_json_add_node (b, "before", parse_stored (ev->before_json));
  purserd_json_add_node (b, "after", parse_stored (ev->after_json));
  return finish (b);
}

gboolean
purserd_event_append (PurserDb *db, const char *org_id, gint64 time, const char *actor,
                      const char *type, const char *entity_type, const char *entity_id,
                      const char *department_id, JsonNode *before, JsonNode *after, GError **error)
{
  g_autofree char *before_json = before ? purser_wire_to_string (before) : NULL;
  g_autofree char *after_json = after ? purser_wire_to_string (after) : NULL;
  PurserEventRecord rec = {
    .org_id = (char *) org_id,
    .time = time,
    .actor = (char *) actor,
    .type = (char *) type,
    .entity_type = (char *) entity_type,
    .entity_id = (char *) entity_id,
    .department_id = (char *) department_id,
    .before_json = before_json,
    .after_json = after_json,
  };
  gboolean ok = purser_store_event_append (db, &rec, error);

  g_free (rec.id);
  return ok;
}
