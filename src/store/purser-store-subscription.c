/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "purser-store-private.h"

/* The column order of SUBSCRIPTION_COLUMNS is the parameter order of bind_subscription
 * and the column order of read_subscription. */
#define SUBSCRIPTION_COLUMNS                                                              \
  "id, org_id, plan, cycle, seats, contract_seat_price, contract_platform_fee,"           \
  " contract_interval, billing_day, period_start, period_end, basis_start, basis_end,"    \
  " status, cancel_at_period_end, auto_renew, proration_billing, scheduled_plan,"         \
  " scheduled_contract_seat_price, scheduled_contract_platform_fee,"                      \
  " scheduled_contract_interval, scheduled_cycle, scheduled_billing_day, credit_balance," \
  " cancel_reason, cancel_comment, canceled_at, po_number, invoice_notes, created_at,"    \
  " updated_at"
#define SUBSCRIPTION_N_COLUMNS 31

/* The core has no strings for this enum; these are the API's. */
static const char *
proration_billing_to_string (PurserProrationBilling billing)
{
  switch (billing)
    {
      case PURSER_PRORATION_IMMEDIATE:
        return "immediate";
      case PURSER_PRORATION_TRUE_UP:
        return "true_up";
      default:
        g_return_val_if_reached ("immediate");
    }
}

static gboolean
proration_billing_from_string (const char *text, PurserProrationBilling *out)
{
  if (g_strcmp0 (text, "immediate") == 0)
    *out = PURSER_PRORATION_IMMEDIATE;
  else if (g_strcmp0 (text, "true_up") == 0)
    *out = PURSER_PRORATION_TRUE_UP;
  else
    return FALSE;
  return TRUE;
}

void
purser_subscription_record_clear (PurserSubscriptionRecord *rec)
{
  g_clear_pointer (&rec->id, g_free);
  g_clear_pointer (&rec->org_id, g_free);
  purser_subscription_clear (&rec->state);
  g_clear_pointer (&rec->cancel_reason, g_free);
  g_clear_pointer (&rec->cancel_comment, g_free);
  g_clear_pointer (&rec->po_number, g_free);
  g_clear_pointer (&rec->invoice_notes, g_free);
}

static void
bind_subscription (sqlite3_stmt *stmt, const PurserSubscriptionRecord *rec)
{
  const PurserSubscription *s = &rec->state;

  purser_db_bind_text (stmt, 1, rec->id);
  purser_db_bind_text (stmt, 2, rec->org_id);
  purser_db_bind_text (stmt, 3, purser_plan_to_string (s->plan));
  purser_db_bind_text (stmt, 4, purser_cycle_to_string (s->cycle));
  purser_db_bind_int64 (stmt, 5, s->seats);
  purser_db_bind_int64 (stmt, 6, s->contract.seat_price);
  purser_db_bind_int64 (stmt, 7, s->contract.platform_fee);
  purser_db_bind_text (stmt, 8, purser_cycle_to_string (s->contract.interval));
  purser_db_bind_int64 (stmt, 9, s->billing_day);
  purser_db_bind_date (stmt, 10, s->period.start);
  purser_db_bind_date (stmt, 11, s->period.end);
  purser_db_bind_date (stmt, 12, s->basis.start);
  purser_db_bind_date (stmt, 13, s->basis.end);
  purser_db_bind_text (stmt, 14, purser_status_to_string (s->status));
  purser_db_bind_int64 (stmt, 15, s->cancel_at_period_end ? 1 : 0);
  purser_db_bind_int64 (stmt, 16, s->auto_renew ? 1 : 0);
  purser_db_bind_text (stmt, 17, proration_billing_to_string (s->proration_billing));
  if (s->has_scheduled_plan)
    {
      purser_db_bind_text (stmt, 18, purser_plan_to_string (s->scheduled_plan));
      purser_db_bind_int64 (stmt, 19, s->scheduled_contract.seat_price);
      purser_db_bind_int64 (stmt, 20, s->scheduled_contract.platform_fee);
      purser_db_bind_text (stmt, 21, purser_cycle_to_string (s->scheduled_contract.interval));
    }
  /* else 18–21 stay NULL: clear_bindings ran in purser_db_prepare */
  if (s->has_scheduled_cycle)
    purser_db_bind_text (stmt, 22, purser_cycle_to_string (s->scheduled_cycle));
  if (s->scheduled_billing_day != 0)
    purser_db_bind_int64 (stmt, 23, s->scheduled_billing_day);
  purser_db_bind_int64 (stmt, 24, s->credit_balance);
  purser_db_bind_text (stmt, 25, rec->cancel_reason);
  purser_db_bind_text (stmt, 26, rec->cancel_comment);
  purser_db_bind_time (stmt, 27, rec->canceled_at);
  purser_db_bind_text (stmt, 28, rec->po_number);
  purser_db_bind_text (stmt, 29, rec->invoice_notes);
  purser_db_bind_int64 (stmt, 30, rec->created_at);
  purser_db_bind_int64 (stmt, 31, rec->updated_at);
}

static gboolean
column_plan (sqlite3_stmt *stmt, int column, PurserPlan *out, GError **error)
{
  const char *text = (const char *) sqlite3_column_text (stmt, column);

  if (text == NULL || !purser_plan_from_string (text, out))
    return purser_db_corrupt (error, "plan", text);
  return TRUE;
}

static gboolean
column_cycle (sqlite3_stmt *stmt, int column, PurserCycle *out, GError **error)
{
  const char *text = (const char *) sqlite3_column_text (stmt, column);

  if (text == NULL || !purser_cycle_from_string (text, out))
    return purser_db_corrupt (error, "billing cycle", text);
  return TRUE;
}

/* Reads SUBSCRIPTION_COLUMNS into `out` (zeroed by the caller), pending lines aside. */
static gboolean
read_subscription (sqlite3_stmt *stmt, PurserSubscriptionRecord *out, GError **error)
{
  PurserSubscription *s = &out->state;
  const char *text;

  out->id = purser_db_column_dup (stmt, 0);
  out->org_id = purser_db_column_dup (stmt, 1);
  if (!column_plan (stmt, 2, &s->plan, error) || !column_cycle (stmt, 3, &s->cycle, error))
    return FALSE;
  s->seats = sqlite3_column_int64 (stmt, 4);
  s->contract.seat_price = sqlite3_column_int64 (stmt, 5);
  s->contract.platform_fee = sqlite3_column_int64 (stmt, 6);
  if (!column_cycle (stmt, 7, &s->contract.interval, error))
    return FALSE;
  s->billing_day = sqlite3_column_int (stmt, 8);
  s->period.start = purser_db_column_date (stmt, 9);
  s->period.end = purser_db_column_date (stmt, 10);
  s->basis.start = purser_db_column_date (stmt, 11);
  s->basis.end = purser_db_column_date (stmt, 12);

  text = (const char *) sqlite3_column_text (stmt, 13);
  if (text == NULL || !purser_status_from_string (text, &s->status))
    return purser_db_corrupt (error, "subscription status", text);
  s->cancel_at_period_end = sqlite3_column_int64 (stmt, 14) != 0;
  s->auto_renew = sqlite3_column_int64 (stmt, 15) != 0;
  text = (const char *) sqlite3_column_text (stmt, 16);
  if (!proration_billing_from_string (text, &s->proration_billing))
    return purser_db_corrupt (error, "proration billing", text);

  s->has_scheduled_plan = sqlite3_column_type (stmt, 17) != SQLITE_NULL;
  if (s->has_scheduled_plan)
    {
      if (!column_plan (stmt, 17, &s->scheduled_plan, error)
          || !column_cycle (stmt, 20, &s->scheduled_contract.interval, error))
        return FALSE;
      s->scheduled_contract.seat_price = sqlite3_column_int64 (stmt, 18);
      s->scheduled_contract.platform_fee = sqlite3_column_int64 (stmt, 19);
    }
  s->has_scheduled_cycle = sqlite3_column_type (stmt, 21) != SQLITE_NULL;
  if (s->has_scheduled_cycle && !column_cycle (stmt, 21, &s->scheduled_cycle, error))
    return FALSE;
  s->scheduled_billing_day = sqlite3_column_int (stmt, 22);
  s->credit_balance = sqlite3_column_int64 (stmt, 23);

  out->cancel_reason = purser_db_column_dup (stmt, 24);
  out->cancel_comment = purser_db_column_dup (stmt, 25);
  out->canceled_at = sqlite3_column_int64 (stmt, 26);
  out->po_number = purser_db_column_dup (stmt, 27);
  out->invoice_notes = purser_db_column_dup (stmt, 28);
  out->created_at = sqlite3_column_int64 (stmt, 29);
  out->updated_at = sqlite3_column_int64 (stmt, 30);
  return TRUE;
}

static gboolean
write_pending_lines (PurserDb *db, const PurserSubscriptionRecord *rec, GError **error)
{
  const GArray *pending = rec->state.pending;

  {
    g_auto (PurserDbStmt) stmt = purser_db_prepare (
        db, "DELETE FROM subscription_pending_lines WHERE subscription_id = ?", error);

    if (stmt == NULL)
      return FALSE;
    purser_db_bind_text (stmt, 1, rec->id);
    if (!purser_db_step_done (db, stmt, "Could not clear the pending lines", error))
      return FALSE;
  }

  for (guint i = 0; pending != NULL && i < pending->len; i++)
    {
      g_auto (PurserDbStmt) stmt = purser_db_prepare (
          db,
          "INSERT INTO subscription_pending_lines (subscription_id, position, kind, description,"
          " quantity, unit_amount, amount, period_start, period_end) VALUES (?,?,?,?,?,?,?,?,?)",
          error);

      if (stmt == NULL)
        return FALSE;
      purser_db_bind_text (stmt, 1, rec->id);
      purser_db_bind_int64 (stmt, 2, i);
      purser_db_bind_line (stmt, 3, &g_array_index (pending, PurserLine, i));
      if (!purser_db_step_done (db, stmt, "Could not store a pending line", error))
        return FALSE;
    }

  return TRUE;
}

static GArray *
load_pending_lines (PurserDb *db, const char *subscription_id, GError **error)
{
  g_autoptr (GArray) lines = purser_lines_new ();
  g_auto (PurserDbStmt) stmt = NULL;
  int rc;

  stmt = purser_db_prepare (db,
                            "SELECT kind, description, quantity, unit_amount, amount,"
                            " period_start, period_end FROM subscription_pending_lines"
                            " WHERE subscription_id = ? ORDER BY position",
                            error);
  if (stmt == NULL)
    return NULL;
  purser_db_bind_text (stmt, 1, subscription_id);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      PurserLine line = { 0 };

      if (!purser_db_column_line (stmt, 0, &line, error))
        return NULL;
      g_array_append_val (lines, line);
    }
  if (rc != SQLITE_DONE)
    {
      purser_db_set_error (db, error, "Could not read the pending lines");
      return NULL;
    }
  return g_steal_pointer (&lines);
}

gboolean
purser_store_subscription_insert (PurserDb *db, const PurserSubscriptionRecord *rec, GError **error)
{
  g_return_val_if_fail (rec != NULL && rec->id != NULL, FALSE);

  if (!purser_db_savepoint (db, error))
    return FALSE;

  {
    g_auto (PurserDbStmt) stmt = purser_db_prepare (
        db,
        "INSERT INTO subscriptions (" SUBSCRIPTION_COLUMNS ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,"
        "?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        error);

    if (stmt == NULL)
      goto fail;
    g_assert (sqlite3_bind_parameter_count (stmt) == SUBSCRIPTION_N_COLUMNS);
    bind_subscription (stmt, rec);
    if (!purser_db_step_done (db, stmt, "Could not add the subscription", error))
      goto fail;
  }

  if (!write_pending_lines (db, rec, error))
    goto fail;
  return purser_db_release (db, error);

fail:
  purser_db_rollback_to (db);
  return FALSE;
}

gboolean
purser_store_subscription_update (PurserDb *db, const PurserSubscriptionRecord *rec, GError **error)
{
  g_return_val_if_fail (rec != NULL && rec->id != NULL, FALSE);

  if (!purser_db_savepoint (db, error))
    return FALSE;

  {
    /* Same parameters as the insert; org_id (?2) and created_at (?30) never change, and
     * SQLite allows numbered parameters a statement does not use. */
    g_auto (PurserDbStmt) stmt = purser_db_prepare (
        db,
        "UPDATE subscriptions SET plan = ?3, cycle = ?4, seats = ?5, contract_seat_price = ?6,"
        " contract_platform_fee = ?7, contract_interval = ?8, billing_day = ?9,"
        " period_start = ?10, period_end = ?11, basis_start = ?12, basis_end = ?13,"
        " status = ?14, cancel_at_period_end = ?15, auto_renew = ?16, proration_billing = ?17,"
        " scheduled_plan = ?18, scheduled_contract_seat_price = ?19,"
        " scheduled_contract_platform_fee = ?20, scheduled_contract_interval = ?21,"
        " scheduled_cycle = ?22, scheduled_billing_day = ?23, credit_balance = ?24,"
        " cancel_reason = ?25, cancel_comment = ?26, canceled_at = ?27, po_number = ?28,"
        " invoice_notes = ?29, updated_at = ?31"
        " WHERE id = ?1",
        error);

    if (stmt == NULL)
      goto fail;
    bind_subscription (stmt, rec);
    if (!purser_db_step_done (db, stmt, "Could not update the subscription", error))
      goto fail;
    if (purser_db_changes (db) == 0)
      {
        purser_db_not_found (error, "No subscription %s", rec->id);
        goto fail;
      }
  }

  if (!write_pending_lines (db, rec, error))
    goto fail;
  return purser_db_release (db, error);

fail:
  purser_db_rollback_to (db);
  return FALSE;
}

/* Runs a query selecting SUBSCRIPTION_COLUMNS, parameters bound, and reads the one
 * subscription it finds with its pending lines. */
static gboolean
read_one_subscription (PurserDb *db, sqlite3_stmt *stmt, const char *key,
                       PurserSubscriptionRecord *out, GError **error)
{
  PurserSubscriptionRecord rec = { 0 };
  int rc = sqlite3_step (stmt);

  if (rc == SQLITE_DONE)
    return purser_db_not_found (error, "No subscription %s", key);
  if (rc != SQLITE_ROW)
    return purser_db_fail (db, error, "Could not read the subscription");

  if (!read_subscription (stmt, &rec, error))
    {
      purser_subscription_record_clear (&rec);
      return FALSE;
    }
  sqlite3_reset (stmt);

  rec.state.pending = load_pending_lines (db, rec.id, error);
  if (rec.state.pending == NULL)
    {
      purser_subscription_record_clear (&rec);
      return FALSE;
    }

  *out = rec;
  return TRUE;
}

gboolean
purser_store_subscription_current (PurserDb *db, const char *org_id, PurserSubscriptionRecord *out,
                                   GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;
  g_autofree char *key = NULL;

  g_return_val_if_fail (org_id != NULL && out != NULL, FALSE);

  stmt = purser_db_prepare (db,
                            "SELECT " SUBSCRIPTION_COLUMNS " FROM subscriptions WHERE org_id = ?"
                            " ORDER BY seq DESC LIMIT 1",
                            error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, org_id);
  key = g_strdup_printf ("for organization %s", org_id);
  return read_one_subscription (db, stmt, key, out, error);
}

gboolean
purser_store_subscription_get (PurserDb *db, const char *id, PurserSubscriptionRecord *out,
                               GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;

  g_return_val_if_fail (id != NULL && out != NULL, FALSE);

  stmt = purser_db_prepare (db, "SELECT " SUBSCRIPTION_COLUMNS " FROM subscriptions WHERE id = ?",
                            error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, id);
  return read_one_subscription (db, stmt, id, out, error);
}

GPtrArray *
purser_store_subscription_due (PurserDb *db, PurserDate date, GError **error)
{
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_auto (PurserDbStmt) stmt = NULL;
  int rc;

  stmt = purser_db_prepare (db,
                            "SELECT id FROM subscriptions"
                            " WHERE status <> ? AND period_end <= ?"
                            " ORDER BY period_end, seq",
                            error);
  if (stmt == NULL)
    return NULL;
  purser_db_bind_text (stmt, 1, purser_status_to_string (PURSER_STATUS_CANCELED));
  purser_db_bind_int64 (stmt, 2, date);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (ids, purser_db_column_dup (stmt, 0));
  if (rc != SQLITE_DONE)
    {
      purser_db_set_error (db, error, "Could not find the subscriptions due");
      return NULL;
    }
  return g_steal_pointer (&ids);
}
