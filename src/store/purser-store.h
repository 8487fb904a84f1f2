/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "purser-db.h"
#include "purser-subscription.h"

G_BEGIN_DECLS

/* Repositories of the server's database, one group per aggregate. Records are plain
 * structs owning their strings; `_clear` frees them. Functions do not open transactions:
 * the caller wraps a change and its event in purser_db_begin/commit. Lookups that find
 * nothing fail with PURSER_STORE_ERROR_NOT_FOUND. Times are unix seconds. */

/* ── organizations ─────────────────────────────────────────────────────────────── */
typedef struct
{
  char *id;
  char *name;
  char *code;    /* invoice number prefix, 2–8 upper-case letters/digits */
  char *country; /* ISO alpha-2 or NULL */
  char *region;
  char *tax_id;
  gboolean tax_exempt;
  char *billing_email;
  char *address; /* free text, several lines */
  gint64 created_at;
} PurserOrgRecord;

void purser_org_record_clear (PurserOrgRecord *rec);
gboolean purser_store_org_insert (PurserDb *db, const PurserOrgRecord *rec, GError **error);
gboolean purser_store_org_update (PurserDb *db, const PurserOrgRecord *rec, GError **error);
gboolean purser_store_org_get (PurserDb *db, const char *id, PurserOrgRecord *out, GError **error);
gboolean purser_store_org_code_exists (PurserDb *db, const char *code);

/* ── users and tokens ──────────────────────────────────────────────────────────── */
typedef struct
{
  char *id;
  char *org_id;
  char *email;
  char *name;
  char *role;                /* admin | executive | manager | employee */
  char *password_hash;       /* crypto_pwhash_str */
  char *employee_id;         /* the employee this login is, or NULL */
  GPtrArray *department_ids; /* managers: the departments they manage (char *) */
  gint64 created_at;
} PurserUserRecord;

void purser_user_record_clear (PurserUserRecord *rec);
gboolean purser_store_user_insert (PurserDb *db, const PurserUserRecord *rec, GError **error);
gboolean purser_store_user_get (PurserDb *db, const char *id, PurserUserRecord *out,
                                GError **error);
gboolean purser_store_user_get_by_email (PurserDb *db, const char *email, PurserUserRecord *out,
                                         GError **error);
gboolean purser_store_user_email_exists (PurserDb *db, const char *email);

/* token_hash: SHA-256 of the bearer token (32 bytes). */
gboolean purser_store_token_insert (PurserDb *db, const guint8 *token_hash, const char *user_id,
                                    gint64 created_at, gint64 expires_at, GError **error);
/* The user of a live token (expires_at > now). */
gboolean purser_store_token_lookup (PurserDb *db, const guint8 *token_hash, gint64 now,
                                    PurserUserRecord *out, GError **error);
gboolean purser_store_token_delete (PurserDb *db, const guint8 *token_hash, GError **error);

/* ── departments (a tree: parent_id NULL for a department, set for a team) ──────── */
typedef struct
{
  char *id;
  char *org_id;
  char *parent_id;
  char *name;
  char *cost_center;
  gint64 seat_allocation; /* -1: none */
  gint64 created_at;
} PurserDepartmentRecord;

void purser_department_record_clear (PurserDepartmentRecord *rec);
/* GArray of PurserDepartmentRecord that clears its elements */
GArray *purser_department_records_new (void);
gboolean purser_store_department_insert (PurserDb *db, const PurserDepartmentRecord *rec,
                                         GError **error);
gboolean purser_store_department_update (PurserDb *db, const PurserDepartmentRecord *rec,
                                         GError **error);
gboolean purser_store_department_delete (PurserDb *db, const char *org_id, const char *id,
                                         GError **error);
gboolean purser_store_department_get (PurserDb *db, const char *org_id, const char *id,
                                      PurserDepartmentRecord *out, GError **error);
/* All departments of the organization, ordered by name. */
gboolean purser_store_department_list (PurserDb *db, const char *org_id, GArray *out,
                                       GError **error);

/* ── employees and licenses ────────────────────────────────────────────────────── */
typedef struct
{
  char *id;
  char *org_id;
  char *email;
  char *name;
  char *department_id; /* a department or a team, or NULL */
  char *title;
  char *status; /* active | inactive */
  gint64 created_at;
  gint64 last_session_at; /* 0: never */
  gboolean licensed;      /* read-only: has an unrevoked license */
  gint64 license_assigned_at;
} PurserEmployeeRecord;

void purser_employee_record_clear (PurserEmployeeRecord *rec);
GArray *purser_employee_records_new (void);
gboolean purser_store_employee_insert (PurserDb *db, const PurserEmployeeRecord *rec,
                                       GError **error);
gboolean purser_store_employee_update (PurserDb *db, const PurserEmployeeRecord *rec,
                                       GError **error);
gboolean purser_store_employee_get (PurserDb *db, const char *org_id, const char *id,
                                    PurserEmployeeRecord *out, GError **error);
gboolean purser_store_employee_get_by_email (PurserDb *db, const char *org_id, const char *email,
                                             PurserEmployeeRecord *out, GError **error);

typedef struct
{
  const char *after_id;       /* keyset pagination in creation order, or NULL */
  int limit;                  /* rows to return; the store fetches one more for has_more */
  GHashTable *department_ids; /* only these departments (set of char *), or NULL: all */
  const char *query;          /* substring of name or email, case-insensitive, or NULL */
  int licensed;               /* -1 any, 0 without, 1 with a license */
} PurserEmployeeFilter;

gboolean purser_store_employee_list (PurserDb *db, const char *org_id,
                                     const PurserEmployeeFilter *filter, GArray *out,
                                     gboolean *has_more, GError **error);

gboolean purser_store_license_assign (PurserDb *db, const char *org_id, const char *employee_id,
                                      const char *actor, gint64 now, GError **error);
gboolean purser_store_license_revoke (PurserDb *db, const char *org_id, const char *employee_id,
                                      const char *actor, gint64 now, GError **error);
gint64 purser_store_license_count (PurserDb *db, const char *org_id);
/* department_id (or "" for none) → assigned count, as gint64 stored in GINT_TO_POINTER-safe
 * boxed gint64 values (g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free)). */
GHashTable *purser_store_license_count_by_department (PurserDb *db, const char *org_id,
                                                      GError **error);

/* ── subscriptions ─────────────────────────────────────────────────────────────── */
typedef struct
{
  char *id;
  char *org_id;
  PurserSubscription state;
  char *cancel_reason; /* too_expensive | missing_features | … or NULL */
  char *cancel_comment;
  gint64 canceled_at; /* when the cancellation was asked for; 0 none */
  char *po_number;
  char *invoice_notes;
  gint64 created_at;
  gint64 updated_at;
} PurserSubscriptionRecord;

void purser_subscription_record_clear (PurserSubscriptionRecord *rec);
gboolean purser_store_subscription_insert (PurserDb *db, const PurserSubscriptionRecord *rec,
                                           GError **error);
/* Writes every field, the pending true-up lines included. */
gboolean purser_store_subscription_update (PurserDb *db, const PurserSubscriptionRecord *rec,
                                           GError **error);
/* The organization's newest subscription (canceled ones included). */
gboolean purser_store_subscription_current (PurserDb *db, const char *org_id,
                                            PurserSubscriptionRecord *out, GError **error);
/* Ids (char *) of subscriptions not canceled whose period ends on or before `date`,
 * oldest period end first. */
GPtrArray *purser_store_subscription_due (PurserDb *db, PurserDate date, GError **error);
gboolean purser_store_subscription_get (PurserDb *db, const char *id, PurserSubscriptionRecord *out,
                                        GError **error);

/* ── invoices ──────────────────────────────────────────────────────────────────── */
typedef struct
{
  char *id;
  char *org_id;
  char *subscription_id;
  char *number; /* set by insert */
  PurserInvoiceStatus status;
  char *
      reason; /* subscription_create | subscription_cycle | subscription_update | subscription_cancel */
  PurserInvoiceDraft draft; /* lines and totals */
  PurserPeriod period;
  PurserDate issued_on;
  PurserDate due_on;
  char *po_number;
  char *notes;
  PurserCents amount_paid;
  gint64 created_at;
  gint64 paid_at;
  gint64 voided_at;
  char *void_reason;
  char *collection;       /* charge_automatically | send_invoice */
  int attempt_count;      /* charges tried */
  gint64 next_attempt_at; /* billing-clock time of the next charge, 0: none due */
  gint64 first_failed_at; /* when dunning began, 0: never failed */
  PurserCents amount_refunded;
} PurserInvoiceRecord;

void purser_invoice_record_clear (PurserInvoiceRecord *rec);
GArray *purser_invoice_records_new (void);
/* Inserts a finalized invoice, giving it the next gapless number of its organization for
 * the year of issued_on ("<CODE>-<YYYY>-<NNNN>", stored back into rec->number). */
gboolean purser_store_invoice_insert (PurserDb *db, PurserInvoiceRecord *rec, GError **error);
gboolean purser_store_invoice_get (PurserDb *db, const char *org_id, const char *id,
                                   PurserInvoiceRecord *out, GError **error);
/* Status, payment and collection fields. Lines never change. */
gboolean purser_store_invoice_update_status (PurserDb *db, const PurserInvoiceRecord *rec,
                                             GError **error);
/* Newest first; keyset pagination by id; status NULL for all. */
gboolean purser_store_invoice_list (PurserDb *db, const char *org_id, const char *status,
                                    const char *after_id, int limit, GArray *out,
                                    gboolean *has_more, GError **error);

/* org id, invoice id, org id, invoice id… of open invoices whose next charge is due at
 * `now` and that have no payment under way, the most overdue first. */
GPtrArray *purser_store_invoice_attempts_due (PurserDb *db, gint64 now, GError **error);

/* ── payments ──────────────────────────────────────────────────────────────────── */

/* The organization's Stripe customer id (NULL when it has none yet). */
gboolean purser_store_org_stripe_customer (PurserDb *db, const char *org_id, char **customer_id,
                                           GError **error);
gboolean purser_store_org_set_stripe_customer (PurserDb *db, const char *org_id,
                                               const char *customer_id, GError **error);
/* The organization of a Stripe customer; NOT_FOUND when it is not ours. */
gboolean purser_store_org_by_stripe_customer (PurserDb *db, const char *customer_id, char **org_id,
                                              GError **error);

typedef struct
{
  char *id;
  char *org_id;
  char *type; /* card | us_bank_account | sepa_debit | wire */
  char *stripe_id;
  char *brand; /* card brand, or bank name */
  char *last4;
  int exp_month;
  int exp_year;
  char *country;
  char *label; /* wire: who pays, e.g. "Accounts payable" */
  gboolean is_default;
  char *status; /* active | removed */
  gint64 created_at;
  gint64 removed_at;
  gint64 stripe_seen; /* `created` of the newest Stripe event applied */
} PurserPaymentMethodRecord;

void purser_payment_method_record_clear (PurserPaymentMethodRecord *rec);
GArray *purser_payment_method_records_new (void);
gboolean purser_store_payment_method_insert (PurserDb *db, const PurserPaymentMethodRecord *rec,
                                             GError **error);
gboolean purser_store_payment_method_update (PurserDb *db, const PurserPaymentMethodRecord *rec,
                                             GError **error);
gboolean purser_store_payment_method_get (PurserDb *db, const char *org_id, const char *id,
                                          PurserPaymentMethodRecord *out, GError **error);
gboolean purser_store_payment_method_by_stripe (PurserDb *db, const char *stripe_id,
                                                PurserPaymentMethodRecord *out, GError **error);
/* The active default method; NOT_FOUND when there is none. */
gboolean purser_store_payment_method_default (PurserDb *db, const char *org_id,
                                              PurserPaymentMethodRecord *out, GError **error);
/* Makes `id` the only default (NULL: no default). */
gboolean purser_store_payment_method_set_default (PurserDb *db, const char *org_id, const char *id,
                                                  GError **error);
/* Active methods, oldest first (removed ones too when `all`). */
gboolean purser_store_payment_method_list (PurserDb *db, const char *org_id, gboolean all,
                                           GArray *out, GError **error);

typedef struct
{
  char *id;
  char *org_id;
  char *type;
  char *session_id;
  char *url;
  char *status; /* open | complete */
  char *method_id;
  gint64 created_at;
  gint64 completed_at;
} PurserPaymentSetupRecord;

void purser_payment_setup_record_clear (PurserPaymentSetupRecord *rec);
gboolean purser_store_payment_setup_put (PurserDb *db, const PurserPaymentSetupRecord *rec,
                                         GError **error);
/* By our id or Stripe's session id. */
gboolean purser_store_payment_setup_get (PurserDb *db, const char *id_or_session,
                                         PurserPaymentSetupRecord *out, GError **error);

typedef struct
{
  char *id;
  char *org_id;
  char *invoice_id;
  char *method_id;
  char *method_type;
  char *method_label; /* "Visa •••• 4242", as it was when paid */
  PurserCents amount;
  char *status; /* pending | processing | succeeded | failed */
  char *stripe_payment_intent;
  char *stripe_charge;
  char *failure_code;
  char *failure_message;
  char *reference; /* wire transfer reference */
  char *receipt_number;
  PurserCents amount_refunded;
  int attempt;
  char *actor;
  gint64 created_at;
  gint64 updated_at;
  gint64 stripe_seen;
} PurserPaymentRecord;

void purser_payment_record_clear (PurserPaymentRecord *rec);
GArray *purser_payment_records_new (void);
gboolean purser_store_payment_insert (PurserDb *db, const PurserPaymentRecord *rec, GError **error);
gboolean purser_store_payment_update (PurserDb *db, const PurserPaymentRecord *rec, GError **error);
/* org_id NULL: any organization (the webhook and the collector look payments up by id). */
gboolean purser_store_payment_get (PurserDb *db, const char *org_id, const char *id,
                                   PurserPaymentRecord *out, GError **error);
/* column is stripe_payment_intent or stripe_charge. */
gboolean purser_store_payment_by_stripe (PurserDb *db, const char *column, const char *value,
                                         PurserPaymentRecord *out, GError **error);
/* Newest first; invoice_id NULL for the organization's payments. */
gboolean purser_store_payment_list (PurserDb *db, const char *org_id, const char *invoice_id,
                                    const char *after_id, int limit, GArray *out,
                                    gboolean *has_more, GError **error);
/* Ids of payments in `status` across organizations, oldest first. */
GPtrArray *purser_store_payment_ids_with_status (PurserDb *db, const char *status, GError **error);
/* How many payments of the organization have a receipt (to number the next one). */
gint64 purser_store_payment_receipt_count (PurserDb *db, const char *invoice_id);

typedef struct
{
  char *id;
  char *org_id;
  char *invoice_id;
  char *payment_id;
  char *number; /* "<invoice number>-C<n>" */
  PurserCents amount;
  PurserCents refunded;
  char *refund_status; /* none | pending | succeeded | failed | manual */
  char *stripe_refund_id;
  char *reason;
  gint64 created_at;
} PurserCreditNoteRecord;

void purser_credit_note_record_clear (PurserCreditNoteRecord *rec);
GArray *purser_credit_note_records_new (void);
/* Numbers the note after its invoice ("NWL-2026-0007-C1"), stored back into rec->number. */
gboolean purser_store_credit_note_insert (PurserDb *db, PurserCreditNoteRecord *rec,
                                          GError **error);
gboolean purser_store_credit_note_update (PurserDb *db, const PurserCreditNoteRecord *rec,
                                          GError **error);
gboolean purser_store_credit_note_get (PurserDb *db, const char *org_id, const char *id,
                                       PurserCreditNoteRecord *out, GError **error);
/* Oldest first; invoice_id NULL for all of the organization's. */
gboolean purser_store_credit_note_list (PurserDb *db, const char *org_id, const char *invoice_id,
                                        GArray *out, GError **error);

/* E-mail addresses of the organization's users with `role`, sorted. */
gchar **purser_store_user_emails_with_role (PurserDb *db, const char *org_id, const char *role);

/* ── Stripe events ─────────────────────────────────────────────────────────────── */
typedef struct
{
  gint64 seq;
  char *id;
  char *type;
  gint64 created;
  char *object_id;
  char *payload;
  char *status; /* pending | processed | ignored | failed */
  int attempts;
  gint64 next_attempt_at;
  char *note;
  gint64 received_at;
  gint64 processed_at;
} PurserStripeEventRecord;

void purser_stripe_event_record_clear (PurserStripeEventRecord *rec);
/* Stores a new event; *duplicate is TRUE (and nothing is written) when its id is known. */
gboolean purser_store_stripe_event_insert (PurserDb *db, const PurserStripeEventRecord *rec,
                                           gboolean *duplicate, GError **error);
gboolean purser_store_stripe_event_get (PurserDb *db, const char *id, PurserStripeEventRecord *out,
                                        GError **error);
/* status, attempts, next_attempt_at, note, processed_at. */
gboolean purser_store_stripe_event_update (PurserDb *db, const PurserStripeEventRecord *rec,
                                           GError **error);
/* Ids of events waiting to be processed at wall time `now`, in order of creation. */
GPtrArray *purser_store_stripe_event_due (PurserDb *db, gint64 now, GError **error);

/* ── mail outbox ───────────────────────────────────────────────────────────────── */
typedef struct
{
  char *id;
  char *org_id;
  char *template_id;
  char *recipients; /* JSON array of addresses */
  char *subject;
  char *text_body;
  char *html_body;
  char *attachment; /* "invoice:<id>", "receipt:<payment id>", "credit_note:<id>" or NULL */
  char *status;     /* queued | sent | failed */
  int attempts;
  gint64 next_attempt_at; /* wall clock */
  char *last_error;
  gint64 created_at;
  gint64 sent_at;
} PurserMailRecord;

void purser_mail_record_clear (PurserMailRecord *rec);
GArray *purser_mail_records_new (void);
gboolean purser_store_mail_insert (PurserDb *db, const PurserMailRecord *rec, GError **error);
/* status, attempts, next_attempt_at, last_error, sent_at. */
gboolean purser_store_mail_update (PurserDb *db, const PurserMailRecord *rec, GError **error);
gboolean purser_store_mail_get (PurserDb *db, const char *id, PurserMailRecord *out,
                                GError **error);
/* Ids of queued mail due at `now`, oldest first. */
GPtrArray *purser_store_mail_due (PurserDb *db, gint64 now, GError **error);
/* Newest first. */
gboolean purser_store_mail_list (PurserDb *db, const char *org_id, const char *after_id, int limit,
                                 GArray *out, gboolean *has_more, GError **error);

/* ── billing events ────────────────────────────────────────────────────────────── */
typedef struct
{
  gint64 seq;
  char *id;
  char *org_id;
  gint64 time;
  char *actor; /* user id, "operator" or "system" */
  char *type;  /* subscription.updated, license.assigned, … */
  char *entity_type;
  char *entity_id;
  char *department_id; /* the top-level department the entity belongs to, or NULL */
  char *before_json;   /* full state before, or NULL */
  char *after_json;    /* full state after, or NULL for a deletion */
} PurserEventRecord;

void purser_event_record_clear (PurserEventRecord *rec);
GArray *purser_event_records_new (void);
/* Appends; sets rec->seq and rec->id. */
gboolean purser_store_event_append (PurserDb *db, PurserEventRecord *rec, GError **error);
/* Events with seq > after, in order; department_ids (set) limits to those departments. */
gboolean purser_store_event_list (PurserDb *db, const char *org_id, gint64 after, int limit,
                                  GHashTable *department_ids, GArray *out, gboolean *has_more,
                                  GError **error);
gint64 purser_store_event_last_seq (PurserDb *db, const char *org_id);

/* ── idempotency keys ──────────────────────────────────────────────────────────── */
/* FALSE without error when there is no record for (scope, key) newer than `not_before`. */
gboolean purser_store_idempotency_get (PurserDb *db, const char *scope, const char *key,
                                       gint64 not_before, char **request_hash, int *status,
                                       char **body, GError **error);
gboolean purser_store_idempotency_put (PurserDb *db, const char *scope, const char *key,
                                       const char *request_hash, int status, const char *body,
                                       gint64 now, GError **error);
gboolean purser_store_idempotency_purge (PurserDb *db, gint64 before, GError **error);

/* ── the billing clock ─────────────────────────────────────────────────────────── */
/* The persisted test-clock time (0 when never set). */
gint64 purser_store_clock_get (PurserDb *db);
gboolean purser_store_clock_set (PurserDb *db, gint64 now, GError **error);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PurserOrgRecord, purser_org_record_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PurserUserRecord, purser_user_record_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PurserDepartmentRecord, purser_department_record_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PurserEmployeeRecord, purser_employee_record_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PurserSubscriptionRecord, purser_subscription_record_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PurserPaymentMethodRecord, purser_payment_method_record_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PurserPaymentSetupRecord, purser_payment_setup_record_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PurserPaymentRecord, purser_payment_record_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PurserCreditNoteRecord, purser_credit_note_record_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PurserStripeEventRecord, purser_stripe_event_record_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PurserMailRecord, purser_mail_record_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PurserInvoiceRecord, purser_invoice_record_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PurserEventRecord, purser_event_record_clear)

G_END_DECLS
