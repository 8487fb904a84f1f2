/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "purser-store.h"
#include "purser-wire.h"

G_BEGIN_DECLS

/* The API's resources, one function each, used by the answers and by the BillingEvents
 * (whose `after` is the resource exactly as the API shows it). */
JsonNode *purserd_json_org (const PurserOrgRecord *org);
JsonNode *purserd_json_user (const PurserUserRecord *user);
JsonNode *purserd_json_department (const PurserDepartmentRecord *dept);
JsonNode *purserd_json_employee (const PurserEmployeeRecord *employee);
/* `tax` NULL leaves next_invoice out. */
JsonNode *purserd_json_subscription (const PurserSubscriptionRecord *sub,
                                     const PurserTaxContext *tax);
JsonNode *purserd_json_invoice (const PurserInvoiceRecord *invoice, gboolean with_lines);
JsonNode *purserd_json_event (const PurserEventRecord *event);
JsonNode *purserd_json_payment_method (const PurserPaymentMethodRecord *pm);
/* "Visa •••• 4242", "US bank account STRIPE TEST BANK •••• 6789", "Wire transfer". */
char *purserd_json_method_label (const PurserPaymentMethodRecord *pm);
JsonNode *purserd_json_payment (const PurserPaymentRecord *payment);
JsonNode *purserd_json_credit_note (const PurserCreditNoteRecord *note);
JsonNode *purserd_json_mail (const PurserMailRecord *mail);

/* Adds `node` (taking it) as `member` of the builder's current object. */
void purserd_json_add_node (JsonBuilder *builder, const char *member, JsonNode *node);

/* A BillingEvent in the caller's transaction (JSON nodes are borrowed). */
gboolean purserd_event_append (PurserDb *db, const char *org_id, gint64 time, const char *actor,
                               const char *type, const char *entity_type, const char *entity_id,
                               const char *department_id, JsonNode *before, JsonNode *after,
                               GError **error);

G_END_DECLS
