/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "purser-invoice.h"

G_BEGIN_DECLS

#define PURSER_CORE_ERROR (purser_core_error_quark ())
GQuark purser_core_error_quark (void);

typedef enum
{
  PURSER_CORE_ERROR_INVALID,                   /* a value out of range, a contradictory change */
  PURSER_CORE_ERROR_NO_CHANGE,                 /* the change asks for what is already there */
  PURSER_CORE_ERROR_NOT_ALLOWED,               /* not in this state (e.g. canceled) */
  PURSER_CORE_ERROR_SEATS_BELOW_ASSIGNED,      /* fewer seats than assigned licenses */
  PURSER_CORE_ERROR_SEATS_BELOW_ALLOCATED,     /* fewer seats than departments were allocated */
  PURSER_CORE_ERROR_NOT_ENOUGH_SEATS,          /* more licenses than seats (or than the pool) */
  PURSER_CORE_ERROR_ALLOCATION_EXCEEDED,       /* more licenses in a department than allocated */
  PURSER_CORE_ERROR_ALLOCATION_BELOW_ASSIGNED, /* an allocation below the licenses it holds */
  PURSER_CORE_ERROR_ALLOCATION_EXCEEDS_SEATS,  /* allocations past the purchased seats */
} PurserCoreError;

typedef enum
{
  PURSER_STATUS_TRIALING,
  PURSER_STATUS_ACTIVE,
  PURSER_STATUS_PAST_DUE,
  PURSER_STATUS_CANCELED,
} PurserStatus;

const char *purser_status_to_string (PurserStatus status);
gboolean purser_status_from_string (const char *text, PurserStatus *out);

/* How seat additions are billed: charged at once on their own invoice (default), or
 * collected on the next cycle invoice ("true-up"). */
typedef enum
{
  PURSER_PRORATION_IMMEDIATE,
  PURSER_PRORATION_TRUE_UP,
} PurserProrationBilling;

/* The subscription as the rules see it. Plain data; `pending` may be NULL (= empty). */
typedef struct
{
  PurserPlan plan;
  PurserCycle cycle;
  gint64 seats;
  PurserContract contract; /* meaningful for Enterprise only */
  int billing_day;
  PurserPeriod period; /* the current period; may be partial */
  PurserPeriod basis;  /* the whole cycle `period` is prorated against */
  PurserStatus status;
  gboolean cancel_at_period_end;
  gboolean auto_renew;
  PurserProrationBilling proration_billing;

  /* changes scheduled for the end of the current period */
  gboolean has_scheduled_plan;
  PurserPlan scheduled_plan;
  PurserContract scheduled_contract;
  gboolean has_scheduled_cycle;
  PurserCycle scheduled_cycle;
  int scheduled_billing_day; /* 0: unchanged */

  PurserCents credit_balance; /* owed to the customer, applied to the next invoice */
  GArray *pending;            /* PurserLine: true-up prorations for the next invoice */
} PurserSubscription;

void purser_subscription_clear (PurserSubscription *sub);
void purser_subscription_copy (const PurserSubscription *src, PurserSubscription *dest);

/* What a create or change asks for: any subset of plan, cycle, seats, contract. */
typedef struct
{
  gboolean has_plan;
  gboolean has_cycle;
  gboolean has_seats;
  gboolean has_contract;
  PurserPlan plan;
  PurserCycle cycle;
  gint64 seats;
  PurserContract contract;
} PurserChange;

typedef enum
{
  PURSER_EFFECTIVE_NOW,
  PURSER_EFFECTIVE_PERIOD_END,
} PurserEffective;

const char *purser_effective_to_string (PurserEffective effective);

/* The answer of a preview and the plan of a real change: the same struct for both.
 * `lines` is what the preview shows: the lines of the invoice issued now (tax line
 * included) when `invoice_now`, otherwise the lines the change produces (credits that go
 * to the balance, or the first invoice of a scheduled plan, without tax). */
typedef struct
{
  GArray *lines;
  gboolean invoice_now;
  PurserInvoiceDraft invoice; /* valid when invoice_now; its lines equal `lines` */
  PurserCents amount_due_now; /* invoice.total, or 0 */
  PurserEffective effective;
  gboolean has_next_invoice;
  PurserDate next_invoice_date;
  PurserCents next_invoice_total;
  PurserSubscription after; /* the subscription once the change is applied */
} PurserQuote;

void purser_quote_clear (PurserQuote *quote);

/* Limits the seat count may not go below. */
typedef struct
{
  gint64 assigned;  /* licenses currently assigned */
  gint64 allocated; /* seats allocated to departments, in sum */
} PurserSeatFloor;

/* A new subscription on `today`. `request` must have plan, cycle and seats (and a contract
 * for Enterprise). When today is not the billing day the first period is partial and
 * prorated (purser_first_period). trial_days > 0 starts a trial: status trialing, nothing
 * charged, the first period starts when the trial ends. `credit_balance` is a balance left
 * from an earlier subscription of the organization. */
gboolean purser_quote_create (const PurserChange *request, int billing_day, int trial_days,
                              PurserProrationBilling proration_billing, PurserCents credit_balance,
                              PurserDate today, const PurserTaxContext *tax, PurserQuote *out,
                              GError **error);

/* Any change of plan, cycle, seats or contract, on `today` (period.start <= today < period.end).
 * - seats up: immediate; a PRORATION line unit × Δ × days_left / days_in_cycle, charged at
 *   once on its own invoice, or added to `pending` with true-up;
 * - seats down: immediate; a CREDIT line for the same formula, added to the balance;
 *   never below floor->assigned (SEATS_BELOW_ASSIGNED) nor floor->allocated;
 * - Business → Enterprise, monthly → annual, or a new Enterprise contract: immediate; a
 *   CREDIT line for the unused part of the current period, and a new cycle starting today
 *   (billing day becomes today's day, or 1 with a partial first period when today is the
 *   29th–31st), charged now;
 * - Enterprise → Business, annual → monthly: scheduled for the period end.
 * A change that upgrades one of plan/cycle and downgrades the other is INVALID. */
gboolean purser_quote_change (const PurserSubscription *sub, const PurserChange *change,
                              const PurserSeatFloor *floor, PurserDate today,
                              const PurserTaxContext *tax, PurserQuote *out, GError **error);

/* Cancel at the period end (undoable by resume until then), or now: status canceled today,
 * the unused time credited to the balance, pending true-up lines invoiced. */
gboolean purser_quote_cancel (const PurserSubscription *sub, gboolean at_period_end,
                              PurserDate today, const PurserTaxContext *tax, PurserQuote *out,
                              GError **error);

/* Undo a cancellation at period end (also switches auto-renew back on). */
gboolean purser_quote_resume (const PurserSubscription *sub, PurserDate today,
                              const PurserTaxContext *tax, PurserQuote *out, GError **error);

/* The end of the current period (today == sub->period.end). Either the subscription ends
 * (cancel at period end, auto-renew off: *ended = TRUE, status canceled; pending true-up
 * lines still make a final invoice, has_invoice tells) or it renews: scheduled changes
 * apply, the next period starts (partial when the billing day was changed) and the cycle
 * invoice is assembled: seats in advance, platform fee, pending true-up lines, the credit
 * balance, tax. */
void purser_subscription_renew (const PurserSubscription *sub, const PurserTaxContext *tax,
                                PurserSubscription *next, gboolean *ended, gboolean *has_invoice,
                                PurserInvoiceDraft *invoice);

/* The date and total of the next cycle invoice, by running the renewal on a copy.
 * FALSE when the subscription ends at the period end without a final invoice. */
gboolean purser_subscription_next_invoice (const PurserSubscription *sub,
                                           const PurserTaxContext *tax, PurserDate *date,
                                           PurserCents *total);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PurserSubscription, purser_subscription_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PurserQuote, purser_quote_clear)

G_END_DECLS
