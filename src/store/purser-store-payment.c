/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "purser-store-private.h"

/* Payment methods, setups, payments, credit notes, Stripe events and the mail outbox.
 * Each table has its column list, a row reader, and `one_row`/`rows` do the stepping. */

typedef gboolean (*RowReader) (sqlite3_stmt *stmt, gpointer out, GError **error);

/* Steps a bound statement expecting one row; NOT_FOUND with `what` when there is none. */
static gboolean
one_row (PurserDb *db, sqlite3_stmt *stmt, RowReader reader, gpointer out, const char *what,
         const char *key, GError **error)
{
  int rc = sqlite3_step (stmt);

  if (rc == SQLITE_DONE)
    return purser_db_not_found (error, "No %s %s", what, key ? key : "");
  if (rc != SQLITE_ROW)
    return purser_db_fail (db, error, "Could not read from the database");
  return reader (stmt, out, error);
}

/* Reads up to `limit` rows (0: all) into `out`, an array of `size`-byte records; sets
 * *has_more when there was another. */
static gboolean
rows (PurserDb *db, sqlite3_stmt *stmt, RowReader reader, GArray *out, int limit,
      gboolean *has_more, GError **error)
{
  int rc;

  if (has_more != NULL)
    *has_more = FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      if (limit > 0 && out->len == (guint) limit)
        {
          if (has_more != NULL)
            *has_more = TRUE;
          return TRUE;
        }
      g_array_set_size (out, out->len + 1);
      if (!reader (stmt,
                   &g_array_index (out, guint8, (out->len - 1) * g_array_get_element_size (out)),
                   error))
        {
          g_array_set_size (out, out->len - 1);
          return FALSE;
        }
    }
  if (rc != SQLITE_DONE)
    return purser_db_fail (db, error, "Could not read from the database");
  return TRUE;
}

static GPtrArray *
id_rows (PurserDb *db, sqlite3_stmt *stmt, GError **error)
{
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (ids, purser_db_column_dup (stmt, 0));
  if (rc != SQLITE_DONE)
    {
      purser_db_set_error (db, error, "Could not read from the database");
      return NULL;
    }
  return g_steal_pointer (&ids);
}

static GArray *
records_new (gsize size, GDestroyNotify clear)
{
  GArray *records = g_array_new (FALSE, TRUE, (guint) size);

  g_array_set_clear_func (records, clear);
  return records;
}

/* ── the organization's Stripe customer ────────────────────────────────────────── */

gboolean
purser_store_org_stripe_customer (PurserDb *db, const char *org_id, char **customer_id,
                                  GError **error)
{
  g_auto (PurserDbStmt) stmt
      = purser_db_prepare (db, "SELECT stripe_customer_id FROM orgs WHERE id = ?", error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, org_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    return purser_db_not_found (error, "No organization %s", org_id);
  if (rc != SQLITE_ROW)
    return purser_db_fail (db, error, "Could not read the organization");
  *customer_id = purser_db_column_dup (stmt, 0);
  return TRUE;
}

gboolean
purser_store_org_set_stripe_customer (PurserDb *db, const char *org_id, const char *customer_id,
                                      GError **error)
{
  g_auto (PurserDbStmt) stmt
      = purser_db_prepare (db, "UPDATE orgs SET stripe_customer_id = ? WHERE id = ?", error);

  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, customer_id);
  purser_db_bind_text (stmt, 2, org_id);
  if (!purser_db_step_done (db, stmt, "Could not save the Stripe customer", error))
    return FALSE;
  if (purser_db_changes (db) == 0)
    return purser_db_not_found (error, "No organization %s", org_id);
  return TRUE;
}

gboolean
purser_store_org_by_stripe_customer (PurserDb *db, const char *customer_id, char **org_id,
                                     GError **error)
{
  g_auto (PurserDbStmt) stmt
      = purser_db_prepare (db, "SELECT id FROM orgs WHERE stripe_customer_id = ?", error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, customer_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    return purser_db_not_found (error, "No organization has the Stripe customer %s",
                                customer_id ? customer_id : "(none)");
  if (rc != SQLITE_ROW)
    return purser_db_fail (db, error, "Could not read the organization");
  *org_id = purser_db_column_dup (stmt, 0);
  return TRUE;
}

/* ── payment methods ───────────────────────────────────────────────────────────── */

#define METHOD_COLUMNS                                                              \
  "id, org_id, type, stripe_id, brand, last4, exp_month, exp_year, country, label," \
  " is_default, status, created_at, removed_at, stripe_seen"

void
purser_payment_method_record_clear (PurserPaymentMethodRecord *rec)
{
  g_clear_pointer (&rec->id, g_free);
  g_clear_pointer (&rec->org_id, g_free);
  g_clear_pointer (&rec->type, g_free);
  g_clear_pointer (&rec->stripe_id, g_free);
  g_clear_pointer (&rec->brand, g_free);
  g_clear_pointer (&rec->last4, g_free);
  g_clear_pointer (&rec->country, g_free);
  g_clear_pointer (&rec->label, g_free);
  g_clear_pointer (&rec->status, g_free);
}

GArray *
purser_payment_method_records_new (void)
{
  return records_new (sizeof (PurserPaymentMethodRecord),
                      (GDestroyNotify) purser_payment_method_record_clear);
}

static gboolean
read_method (sqlite3_stmt *stmt, gpointer data, GError **error)
{
  PurserPaymentMethodRecord *out = data;

  *out = (PurserPaymentMethodRecord){
    .id = purser_db_column_dup (stmt, 0),
    .org_id = purser_db_column_dup (stmt, 1),
    .type = purser_db_column_dup (stmt, 2),
    .stripe_id = purser_db_column_dup (stmt, 3),
    .brand = purser_db_column_dup (stmt, 4),
    .last4 = purser_db_column_dup (stmt, 5),
    .exp_month = (int) sqlite3_column_int64 (stmt, 6),
    .exp_year = (int) sqlite3_column_int64 (stmt, 7),
    .country = purser_db_column_dup (stmt, 8),
    .label = purser_db_column_dup (stmt, 9),
    .is_default = sqlite3_column_int64 (stmt, 10) != 0,
    .status = purser_db_column_dup (stmt, 11),
    .created_at = sqlite3_column_int64 (stmt, 12),
    .removed_at = sqlite3_column_int64 (stmt, 13),
    .stripe_seen = sqlite3_column_int64 (stmt, 14),
  };
  return TRUE;
}

static void
bind_method (sqlite3_stmt *stmt, const PurserPaymentMethodRecord *rec)
{
  purser_db_bind_text (stmt, 1, rec->id);
  purser_db_bind_text (stmt, 2, rec->org_id);
  purser_db_bind_text (stmt, 3, rec->type);
  purser_db_bind_text (stmt, 4, rec->stripe_id);
  purser_db_bind_text (stmt, 5, rec->brand);
  purser_db_bind_text (stmt, 6, rec->last4);
  purser_db_bind_int64 (stmt, 7, rec->exp_month);
  purser_db_bind_int64 (stmt, 8, rec->exp_year);
  purser_db_bind_text (stmt, 9, rec->country);
  purser_db_bind_text (stmt, 10, rec->label);
  purser_db_bind_int64 (stmt, 11, rec->is_default ? 1 : 0);
  purser_db_bind_text (stmt, 12, rec->status ? rec->status : "active");
  purser_db_bind_int64 (stmt, 13, rec->created_at);
  purser_db_bind_time (stmt, 14, rec->removed_at);
  purser_db_bind_int64 (stmt, 15, rec->stripe_seen);
}

gboolean
purser_store_payment_method_insert (PurserDb *db, const PurserPaymentMethodRecord *rec,
                                    GError **error)
{
  g_auto (PurserDbStmt) stmt = purser_db_prepare (
      db, "INSERT INTO payment_methods (" METHOD_COLUMNS ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
      error);

  if (stmt == NULL)
    return FALSE;
  bind_method (stmt, rec);
  return purser_db_step_done (db, stmt, "Could not add the payment method", error);
}

gboolean
purser_store_payment_method_update (PurserDb *db, const PurserPaymentMethodRecord *rec,
                                    GError **error)
{
  g_auto (PurserDbStmt) stmt = purser_db_prepare (
      db,
      "UPDATE payment_methods SET type = ?3, stripe_id = ?4, brand = ?5, last4 = ?6,"
      " exp_month = ?7, exp_year = ?8, country = ?9, label = ?10, is_default = ?11,"
      " status = ?12, removed_at = ?14, stripe_seen = ?15 WHERE id = ?1 AND org_id = ?2",
      error);

  if (stmt == NULL)
    return FALSE;
  bind_method (stmt, rec);
  if (!purser_db_step_done (db, stmt, "Could not update the payment method", error))
    return FALSE;
  if (purser_db_changes (db) == 0)
    return purser_db_not_found (error, "No payment method %s", rec->id);
  return TRUE;
}

gboolean
purser_store_payment_method_get (PurserDb *db, const char *org_id, const char *id,
                                 PurserPaymentMethodRecord *out, GError **error)
{
  g_auto (PurserDbStmt) stmt = purser_db_prepare (
      db, "SELECT " METHOD_COLUMNS " FROM payment_methods WHERE org_id = ? AND id = ?", error);

  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, org_id);
  purser_db_bind_text (stmt, 2, id);
  return one_row (db, stmt, read_method, out, "payment method", id, error);
}

gboolean
purser_store_payment_method_by_stripe (PurserDb *db, const char *stripe_id,
                                       PurserPaymentMethodRecord *out, GError **error)
{
  g_auto (PurserDbStmt) stmt = purser_db_prepare (
      db, "SELECT " METHOD_COLUMNS " FROM payment_methods WHERE stripe_id = ?", error);

  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, stripe_id);
  return one_row (db, stmt, read_method, out, "payment method", stripe_id, error);
}

gboolean
purser_store_payment_method_default (PurserDb *db, const char *org_id,
                                     PurserPaymentMethodRecord *out, GError **error)
{
  g_auto (PurserDbStmt) stmt
      = purser_db_prepare (db,
                           "SELECT " METHOD_COLUMNS " FROM payment_methods WHERE org_id = ?"
                           " AND is_default = 1 AND status = 'active'",
                           error);

  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, org_id);
  return one_row (db, stmt, read_method, out, "default payment method for", org_id, error);
}

gboolean
purser_store_payment_method_set_default (PurserDb *db, const char *org_id, const char *id,
                                         GError **error)
{
  {
    g_auto (PurserDbStmt) stmt = purser_db_prepare (
        db, "UPDATE payment_methods SET is_default = 0 WHERE org_id = ? AND is_default = 1", error);

    if (stmt == NULL)
      return FALSE;
    purser_db_bind_text (stmt, 1, org_id);
    if (!purser_db_step_done (db, stmt, "Could not change the default payment method", error))
      return FALSE;
  }
  if (id == NULL)
    return TRUE;
  {
    g_auto (PurserDbStmt) stmt
        = purser_db_prepare (db,
                             "UPDATE payment_methods SET is_default = 1 WHERE org_id = ?"
                             " AND id = ? AND status = 'active'",
                             error);

    if (stmt == NULL)
      return FALSE;
    purser_db_bind_text (stmt, 1, org_id);
    purser_db_bind_text (stmt, 2, id);
    if (!purser_db_step_done (db, stmt, "Could not change the default payment method", error))
      return FALSE;
    if (purser_db_changes (db) == 0)
      return purser_db_not_found (error, "No active payment method %s", id);
  }
  return TRUE;
}

gboolean
purser_store_payment_method_list (PurserDb *db, const char *org_id, gboolean all, GArray *out,
                                  GError **error)
{
  g_auto (PurserDbStmt) stmt
      = purser_db_prepare (db,
                           "SELECT " METHOD_COLUMNS " FROM payment_methods WHERE org_id = ?"
                           " AND (? OR status = 'active') ORDER BY seq",
                           error);

  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, org_id);
  purser_db_bind_int64 (stmt, 2, all ? 1 : 0);
  return rows (db, stmt, read_method, out, 0, NULL, error);
}

/* ── setups (Checkout Sessions in setup mode) ──────────────────────────────────── */

#define SETUP_COLUMNS \
  "id, org_id, type, session_id, url, status, method_id, created_at, completed_at"

void
purser_payment_setup_record_clear (PurserPaymentSetupRecord *rec)
{
  g_clear_pointer (&rec->id, g_free);
  g_clear_pointer (&rec->org_id, g_free);
  g_clear_pointer (&rec->type, g_free);
  g_clear_pointer (&rec->session_id, g_free);
  g_clear_pointer (&rec->url, g_free);
  g_clear_pointer (&rec->status, g_free);
  g_clear_pointer (&rec->method_id, g_free);
}

static gboolean
read_setup (sqlite3_stmt *stmt, gpointer data, GError **error)
{
  PurserPaymentSetupRecord *out = data;

  *out = (PurserPaymentSetupRecord){
    .id = purser_db_column_dup (stmt, 0),
    .org_id = purser_db_column_dup (stmt, 1),
    .type = purser_db_column_dup (stmt, 2),
    .session_id = purser_db_column_dup (stmt, 3),
    .url = purser_db_column_dup (stmt, 4),
    .status = purser_db_column_dup (stmt, 5),
    .method_id = purser_db_column_dup (stmt, 6),
    .created_at = sqlite3_column_int64 (stmt, 7),
    .completed_at = sqlite3_column_int64 (stmt, 8),
  };
  return TRUE;
}

gboolean
purser_store_payment_setup_put (PurserDb *db, const PurserPaymentSetupRecord *rec, GError **error)
{
  g_auto (PurserDbStmt) stmt = purser_db_prepare (
      db, "INSERT OR REPLACE INTO payment_setups (" SETUP_COLUMNS ") VALUES (?,?,?,?,?,?,?,?,?)",
      error);

  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, rec->id);
  purser_db_bind_text (stmt, 2, rec->org_id);
  purser_db_bind_text (stmt, 3, rec->type);
  purser_db_bind_text (stmt, 4, rec->session_id);
  purser_db_bind_text (stmt, 5, rec->url);
  purser_db_bind_text (stmt, 6, rec->status);
  purser_db_bind_text (stmt, 7, rec->method_id);
  purser_db_bind_int64 (stmt, 8, rec->created_at);
  purser_db_bind_time (stmt, 9, rec->completed_at);
  return purser_db_step_done (db, stmt, "Could not save the payment method setup", error);
}

gboolean
purser_store_payment_setup_get (PurserDb *db, const char *id_or_session,
                                PurserPaymentSetupRecord *out, GError **error)
{
  g_auto (PurserDbStmt) stmt = purser_db_prepare (
      db, "SELECT " SETUP_COLUMNS " FROM payment_setups WHERE id = ?1 OR session_id = ?1", error);

  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, id_or_session);
  return one_row (db, stmt, read_setup, out, "payment method setup", id_or_session, error);
}

/* ── payments ──────────────────────────────────────────────────────────────────── */

#define PAYMENT_COLUMNS                                                              \
  "id, org_id, invoice_id, method_id, method_type, method_label, amount, status,"    \
  " stripe_payment_intent, stripe_charge, failure_code, failure_message, reference," \
  " receipt_number, amount_refunded, attempt, actor, created_at, updated_at, stripe_seen"

void
purser_payment_record_clear (PurserPaymentRecord *rec)
{
  g_clear_pointer (&rec->id, g_free);
  g_clear_pointer (&rec->org_id, g_free);
  g_clear_pointer (&rec->invoice_id, g_free);
  g_clear_pointer (&rec->method_id, g_free);
  g_clear_pointer (&rec->method_type, g_free);
  g_clear_pointer (&rec->method_label, g_free);
  g_clear_pointer (&rec->status, g_free);
  g_clear_pointer (&rec->stripe_payment_intent, g_free);
  g_clear_pointer (&rec->stripe_charge, g_free);
  g_clear_pointer (&rec->failure_code, g_free);
  g_clear_pointer (&rec->failure_message, g_free);
  g_clear_pointer (&rec->reference, g_free);
  g_clear_pointer (&rec->receipt_number, g_free);
  g_clear_pointer (&rec->actor, g_free);
}

GArray *
purser_payment_records_new (void)
{
  return records_new (sizeof (PurserPaymentRecord), (GDestroyNotify) purser_payment_record_clear);
}

static gboolean
read_payment (sqlite3_stmt *stmt, gpointer data, GError **error)
{
  PurserPaymentRecord *out = data;

  *out = (PurserPaymentRecord){
    .id = purser_db_column_dup (stmt, 0),
    .org_id = purser_db_column_dup (stmt, 1),
    .invoice_id = purser_db_column_dup (stmt, 2),
    .method_id = purser_db_column_dup (stmt, 3),
    .method_type = purser_db_column_dup (stmt, 4),
    .method_label = purser_db_column_dup (stmt, 5),
    .amount = sqlite3_column_int64 (stmt, 6),
    .status = purser_db_column_dup (stmt, 7),
    .stripe_payment_intent = purser_db_column_dup (stmt, 8),
    .stripe_charge = purser_db_column_dup (stmt, 9),
    .failure_code = purser_db_column_dup (stmt, 10),
    .failure_message = purser_db_column_dup (stmt, 11),
    .reference = purser_db_column_dup (stmt, 12),
    .receipt_number = purser_db_column_dup (stmt, 13),
    .amount_refunded = sqlite3_column_int64 (stmt, 14),
    .attempt = (int) sqlite3_column_int64 (stmt, 15),
    .actor = purser_db_column_dup (stmt, 16),
    .created_at = sqlite3_column_int64 (stmt, 17),
    .updated_at = sqlite3_column_int64 (stmt, 18),
    .stripe_seen = sqlite3_column_int64 (stmt, 19),
  };
  return TRUE;
}

static void
bind_payment (sqlite3_stmt *stmt, const PurserPaymentRecord *rec)
{
  purser_db_bind_text (stmt, 1, rec->id);
  purser_db_bind_text (stmt, 2, rec->org_id);
  purser_db_bind_text (stmt, 3, rec->invoice_id);
  purser_db_bind_text (stmt, 4, rec->method_id);
  purser_db_bind_text (stmt, 5, rec->method_type);
  purser_db_bind_text (stmt, 6, rec->method_label);
  purser_db_bind_int64 (stmt, 7, rec->amount);
  purser_db_bind_text (stmt, 8, rec->status);
  purser_db_bind_text (stmt, 9, rec->stripe_payment_intent);
  purser_db_bind_text (stmt, 10, rec->stripe_charge);
  purser_db_bind_text (stmt, 11, rec->failure_code);
  purser_db_bind_text (stmt, 12, rec->failure_message);
  purser_db_bind_text (stmt, 13, rec->reference);
  purser_db_bind_text (stmt, 14, rec->receipt_number);
  purser_db_bind_int64 (stmt, 15, rec->amount_refunded);
  purser_db_bind_int64 (stmt, 16, rec->attempt);
  purser_db_bind_text (stmt, 17, rec->actor);
  purser_db_bind_int64 (stmt, 18, rec->created_at);
  purser_db_bind_int64 (stmt, 19, rec->updated_at);
  purser_db_bind_int64 (stmt, 20, rec->stripe_seen);
}

gboolean
purser_store_payment_insert (PurserDb *db, const PurserPaymentRecord *rec, GError **error)
{
  g_auto (PurserDbStmt) stmt
      = purser_db_prepare (db,
                           "INSERT INTO payments (" PAYMENT_COLUMNS ") VALUES"
                           " (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           error);

  if (stmt == NULL)
    return FALSE;
  bind_payment (stmt, rec);
  return purser_db_step_done (db, stmt, "Could not record the payment", error);
}

gboolean
purser_store_payment_update (PurserDb *db, const PurserPaymentRecord *rec, GError **error)
{
  g_auto (PurserDbStmt) stmt = purser_db_prepare (
      db,
      "UPDATE payments SET method_id = ?4, method_type = ?5, method_label = ?6, amount = ?7,"
      " status = ?8, stripe_payment_intent = ?9, stripe_charge = ?10, failure_code = ?11,"
      " failure_message = ?12, reference = ?13, receipt_number = ?14, amount_refunded = ?15,"
      " attempt = ?16, updated_at = ?19, stripe_seen = ?20 WHERE id = ?1 AND org_id = ?2"
      " AND invoice_id = ?3",
      error);

  if (stmt == NULL)
    return FALSE;
  bind_payment (stmt, rec);
  if (!purser_db_step_done (db, stmt, "Could not update the payment", error))
    return FALSE;
  if (purser_db_changes (db) == 0)
    return purser_db_not_found (error, "No payment %s", rec->id);
  return TRUE;
}

gboolean
purser_store_payment_get (PurserDb *db, const char *org_id, const char *id,
                          PurserPaymentRecord *out, GError **error)
{
  g_auto (PurserDbStmt) stmt = purser_db_prepare (
      db, "SELECT " PAYMENT_COLUMNS " FROM payments WHERE id = ?1 AND (?2 IS NULL OR org_id = ?2)",
      error);

  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, id);
  purser_db_bind_text (stmt, 2, org_id);
  return one_row (db, stmt, read_payment, out, "payment", id, error);
}

gboolean
purser_store_payment_by_stripe (PurserDb *db, const char *column, const char *value,
                                PurserPaymentRecord *out, GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;

  if (g_str_equal (column, "stripe_payment_intent"))
    stmt = purser_db_prepare (
        db, "SELECT " PAYMENT_COLUMNS " FROM payments WHERE stripe_payment_intent = ?", error);
  else if (g_str_equal (column, "stripe_charge"))
    stmt = purser_db_prepare (
        db, "SELECT " PAYMENT_COLUMNS " FROM payments WHERE stripe_charge = ? ORDER BY seq DESC",
        error);
  else
    g_return_val_if_reached (FALSE);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, value);
  return one_row (db, stmt, read_payment, out, "payment for", value, error);
}

gboolean
purser_store_payment_list (PurserDb *db, const char *org_id, const char *invoice_id,
                           const char *after_id, int limit, GArray *out, gboolean *has_more,
                           GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;
  gint64 after = G_MAXINT64;

  if (!purser_db_page_seq (db, "SELECT seq FROM payments WHERE org_id = ? AND id = ?", org_id,
                           after_id, &after, error))
    return FALSE;
  stmt = purser_db_prepare (db,
                            "SELECT " PAYMENT_COLUMNS " FROM payments WHERE org_id = ?1"
                            " AND (?2 IS NULL OR invoice_id = ?2) AND seq < ?3 ORDER BY seq DESC",
                            error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, org_id);
  purser_db_bind_text (stmt, 2, invoice_id);
  purser_db_bind_int64 (stmt, 3, after);
  return rows (db, stmt, read_payment, out, limit, has_more, error);
}

GPtrArray *
purser_store_payment_ids_with_status (PurserDb *db, const char *status, GError **error)
{
  g_auto (PurserDbStmt) stmt
      = purser_db_prepare (db, "SELECT id FROM payments WHERE status = ? ORDER BY seq", error);

  if (stmt == NULL)
    return NULL;
  purser_db_bind_text (stmt, 1, status);
  return id_rows (db, stmt, error);
}

gint64
purser_store_payment_receipt_count (PurserDb *db, const char *invoice_id)
{
  g_auto (PurserDbStmt) stmt = purser_db_prepare (
      db, "SELECT count(*) FROM payments WHERE invoice_id = ? AND receipt_number IS NOT NULL",
      NULL);

  if (stmt == NULL)
    return 0;
  purser_db_bind_text (stmt, 1, invoice_id);
  return sqlite3_step (stmt) == SQLITE_ROW ? sqlite3_column_int64 (stmt, 0) : 0;
}

/* ── credit notes ──────────────────────────────────────────────────────────────── */

#define NOTE_COLUMNS                                                             \
  "id, org_id, invoice_id, payment_id, number, amount, refunded, refund_status," \
  " stripe_refund_id, reason, created_at"

void
purser_credit_note_record_clear (PurserCreditNoteRecord *rec)
{
  g_clear_pointer (&rec->id, g_free);
  g_clear_pointer (&rec->org_id, g_free);
  g_clear_pointer (&rec->invoice_id, g_free);
  g_clear_pointer (&rec->payment_id, g_free);
  g_clear_pointer (&rec->number, g_free);
  g_clear_pointer (&rec->refund_status, g_free);
  g_clear_pointer (&rec->stripe_refund_id, g_free);
  g_clear_pointer (&rec->reason, g_free);
}

GArray *
purser_credit_note_records_new (void)
{
  return records_new (sizeof (PurserCreditNoteRecord),
                      (GDestroyNotify) purser_credit_note_record_clear);
}

static gboolean
read_note (sqlite3_stmt *stmt, gpointer data, GError **error)
{
  PurserCreditNoteRecord *out = data;

  *out = (PurserCreditNoteRecord){
    .id = purser_db_column_dup (stmt, 0),
    .org_id = purser_db_column_dup (stmt, 1),
    .invoice_id = purser_db_column_dup (stmt, 2),
    .payment_id = purser_db_column_dup (stmt, 3),
    .number = purser_db_column_dup (stmt, 4),
    .amount = sqlite3_column_int64 (stmt, 5),
    .refunded = sqlite3_column_int64 (stmt, 6),
    .refund_status = purser_db_column_dup (stmt, 7),
    .stripe_refund_id = purser_db_column_dup (stmt, 8),
    .reason = purser_db_column_dup (stmt, 9),
    .created_at = sqlite3_column_int64 (stmt, 10),
  };
  return TRUE;
}

static void
bind_note (sqlite3_stmt *stmt, const PurserCreditNoteRecord *rec)
{
  purser_db_bind_text (stmt, 1, rec->id);
  purser_db_bind_text (stmt, 2, rec->org_id);
  purser_db_bind_text (stmt, 3, rec->invoice_id);
  purser_db_bind_text (stmt, 4, rec->payment_id);
  purser_db_bind_text (stmt, 5, rec->number);
  purser_db_bind_int64 (stmt, 6, rec->amount);
  purser_db_bind_int64 (stmt, 7, rec->refunded);
  purser_db_bind_text (stmt, 8, rec->refund_status);
  purser_db_bind_text (stmt, 9, rec->stripe_refund_id);
  purser_db_bind_text (stmt, 10, rec->reason);
  purser_db_bind_int64 (stmt, 11, rec->created_at);
}

gboolean
purser_store_credit_note_insert (PurserDb *db, PurserCreditNoteRecord *rec, GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;
  gint64 count = 0;

  {
    g_auto (PurserDbStmt) count_stmt
        = purser_db_prepare (db,
                             "SELECT count(*), (SELECT number FROM invoices WHERE id = ?1)"
                             " FROM credit_notes WHERE invoice_id = ?1",
                             error);

    if (count_stmt == NULL)
      return FALSE;
    purser_db_bind_text (count_stmt, 1, rec->invoice_id);
    if (sqlite3_step (count_stmt) != SQLITE_ROW || sqlite3_column_text (count_stmt, 1) == NULL)
      return purser_db_not_found (error, "No invoice %s", rec->invoice_id);
    count = sqlite3_column_int64 (count_stmt, 0);
    g_free (rec->number);
    rec->number = g_strdup_printf ("%s-C%" G_GINT64_FORMAT,
                                   (const char *) sqlite3_column_text (count_stmt, 1), count + 1);
  }
  stmt = purser_db_prepare (
      db, "INSERT INTO credit_notes (" NOTE_COLUMNS ") VALUES (?,?,?,?,?,?,?,?,?,?,?)", error);
  if (stmt == NULL)
    return FALSE;
  bind_note (stmt, rec);
  return purser_db_step_done (db, stmt, "Could not add the credit note", error);
}

gboolean
purser_store_credit_note_update (PurserDb *db, const PurserCreditNoteRecord *rec, GError **error)
{
  g_auto (PurserDbStmt) stmt
      = purser_db_prepare (db,
                           "UPDATE credit_notes SET refunded = ?7, refund_status = ?8,"
                           " stripe_refund_id = ?9 WHERE id = ?1 AND org_id = ?2",
                           error);

  if (stmt == NULL)
    return FALSE;
  bind_note (stmt, rec);
  if (!purser_db_step_done (db, stmt, "Could not update the credit note", error))
    return FALSE;
  if (purser_db_changes (db) == 0)
    return purser_db_not_found (error, "No credit note %s", rec->id);
  return TRUE;
}

gboolean
purser_store_credit_note_get (PurserDb *db, const char *org_id, const char *id,
                              PurserCreditNoteRecord *out, GError **error)
{
  g_auto (PurserDbStmt) stmt = purser_db_prepare (
      db, "SELECT " NOTE_COLUMNS " FROM credit_notes WHERE id = ?1 AND (?2 IS NULL OR org_id = ?2)",
      error);

  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, id);
  purser_db_bind_text (stmt, 2, org_id);
  return one_row (db, stmt, read_note, out, "credit note", id, error);
}

gboolean
purser_store_credit_note_list (PurserDb *db, const char *org_id, const char *invoice_id,
                               GArray *out, GError **error)
{
  g_auto (PurserDbStmt) stmt
      = purser_db_prepare (db,
                           "SELECT " NOTE_COLUMNS " FROM credit_notes WHERE org_id = ?1"
                           " AND (?2 IS NULL OR invoice_id = ?2) ORDER BY seq",
                           error);

  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, org_id);
  purser_db_bind_text (stmt, 2, invoice_id);
  return rows (db, stmt, read_note, out, 0, NULL, error);
}

/* ── Stripe events ─────────────────────────────────────────────────────────────── */

#define EVENT_COLUMNS                                                              \
  "seq, id, type, created, object_id, payload, status, attempts, next_attempt_at," \
  " note, received_at, processed_at"

void
purser_stripe_event_record_clear (PurserStripeEventRecord *rec)
{
  g_clear_pointer (&rec->id, g_free);
  g_clear_pointer (&rec->type, g_free);
  g_clear_pointer (&rec->object_id, g_free);
  g_clear_pointer (&rec->payload, g_free);
  g_clear_pointer (&rec->status, g_free);
  g_clear_pointer (&rec->note, g_free);
}

static gboolean
read_stripe_event (sqlite3_stmt *stmt, gpointer data, GError **error)
{
  PurserStripeEventRecord *out = data;

  *out = (PurserStripeEventRecord){
    .seq = sqlite3_column_int64 (stmt, 0),
    .id = purser_db_column_dup (stmt, 1),
    .type = purser_db_column_dup (stmt, 2),
    .created = sqlite3_column_int64 (stmt, 3),
    .object_id = purser_db_column_dup (stmt, 4),
    .payload = purser_db_column_dup (stmt, 5),
    .status = purser_db_column_dup (stmt, 6),
    .attempts = (int) sqlite3_column_int64 (stmt, 7),
    .next_attempt_at = sqlite3_column_int64 (stmt, 8),
    .note = purser_db_column_dup (stmt, 9),
    .received_at = sqlite3_column_int64 (stmt, 10),
    .processed_at = sqlite3_column_int64 (stmt, 11),
  };
  return TRUE;
}

gboolean
purser_store_stripe_event_insert (PurserDb *db, const PurserStripeEventRecord *rec,
                                  gboolean *duplicate, GError **error)
{
  g_auto (PurserDbStmt) stmt = purser_db_prepare (
      db,
      "INSERT INTO stripe_events (id, type, created, object_id, payload, status, attempts,"
      " next_attempt_at, note, received_at) VALUES (?,?,?,?,?,?,0,?,NULL,?)"
      " ON CONFLICT (id) DO NOTHING",
      error);

  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, rec->id);
  purser_db_bind_text (stmt, 2, rec->type);
  purser_db_bind_int64 (stmt, 3, rec->created);
  purser_db_bind_text (stmt, 4, rec->object_id);
  purser_db_bind_text (stmt, 5, rec->payload);
  purser_db_bind_text (stmt, 6, rec->status ? rec->status : "pending");
  purser_db_bind_int64 (stmt, 7, rec->next_attempt_at);
  purser_db_bind_int64 (stmt, 8, rec->received_at);
  if (!purser_db_step_done (db, stmt, "Could not store the Stripe event", error))
    return FALSE;
  *duplicate = purser_db_changes (db) == 0;
  return TRUE;
}

gboolean
purser_store_stripe_event_get (PurserDb *db, const char *id, PurserStripeEventRecord *out,
                               GError **error)
{
  g_auto (PurserDbStmt) stmt
      = purser_db_prepare (db, "SELECT " EVENT_COLUMNS " FROM stripe_events WHERE id = ?", error);

  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, id);
  return one_row (db, stmt, read_stripe_event, out, "Stripe event", id, error);
}

gboolean
purser_store_stripe_event_update (PurserDb *db, const PurserStripeEventRecord *rec, GError **error)
{
  g_auto (PurserDbStmt) stmt
      = purser_db_prepare (db,
                           "UPDATE stripe_events SET status = ?2, attempts = ?3,"
                           " next_attempt_at = ?4, note = ?5, processed_at = ?6 WHERE id = ?1",
                           error);

  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, rec->id);
  purser_db_bind_text (stmt, 2, rec->status);
  purser_db_bind_int64 (stmt, 3, rec->attempts);
  purser_db_bind_int64 (stmt, 4, rec->next_attempt_at);
  purser_db_bind_text (stmt, 5, rec->note);
  purser_db_bind_time (stmt, 6, rec->processed_at);
  return purser_db_step_done (db, stmt, "Could not update the Stripe event", error);
}

GPtrArray *
purser_store_stripe_event_due (PurserDb *db, gint64 now, GError **error)
{
  g_auto (PurserDbStmt) stmt
      = purser_db_prepare (db,
                           "SELECT id FROM stripe_events WHERE status IN ('pending', 'failed')"
                           " AND next_attempt_at <= ? ORDER BY created, seq",
                           error);

  if (stmt == NULL)
    return NULL;
  purser_db_bind_int64 (stmt, 1, now);
  return id_rows (db, stmt, error);
}

/* ── mail outbox ───────────────────────────────────────────────────────────────── */

#define MAIL_COLUMNS                                                                     \
  "id, org_id, template, recipients, subject, text_body, html_body, attachment, status," \
  " attempts, next_attempt_at, last_error, created_at, sent_at"

void
purser_mail_record_clear (PurserMailRecord *rec)
{
  g_clear_pointer (&rec->id, g_free);
  g_clear_pointer (&rec->org_id, g_free);
  g_clear_pointer (&rec->template_id, g_free);
  g_clear_pointer (&rec->recipients, g_free);
  g_clear_pointer (&rec->subject, g_free);
  g_clear_pointer (&rec->text_body, g_free);
  g_clear_pointer (&rec->html_body, g_free);
  g_clear_pointer (&rec->attachment, g_free);
  g_clear_pointer (&rec->status, g_free);
  g_clear_pointer (&rec->last_error, g_free);
}

GArray *
purser_mail_records_new (void)
{
  return records_new (sizeof (PurserMailRecord), (GDestroyNotify) purser_mail_record_clear);
}

static gboolean
read_mail (sqlite3_stmt *stmt, gpointer data, GError **error)
{
  PurserMailRecord *out = data;

  *out = (PurserMailRecord){
    .id = purser_db_column_dup (stmt, 0),
    .org_id = purser_db_column_dup (stmt, 1),
    .template_id = purser_db_column_dup (stmt, 2),
    .recipients = purser_db_column_dup (stmt, 3),
    .subject = purser_db_column_dup (stmt, 4),
    .text_body = purser_db_column_dup (stmt, 5),
    .html_body = purser_db_column_dup (stmt, 6),
    .attachment = purser_db_column_dup (stmt, 7),
    .status = purser_db_column_dup (stmt, 8),
    .attempts = (int) sqlite3_column_int64 (stmt, 9),
    .next_attempt_at = sqlite3_column_int64 (stmt, 10),
    .last_error = purser_db_column_dup (stmt, 11),
    .created_at = sqlite3_column_int64 (stmt, 12),
    .sent_at = sqlite3_column_int64 (stmt, 13),
  };
  return TRUE;
}

gboolean
purser_store_mail_insert (PurserDb *db, const PurserMailRecord *rec, GError **error)
{
  g_auto (PurserDbStmt) stmt = purser_db_prepare (
      db, "INSERT INTO outbox (" MAIL_COLUMNS ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", error);

  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, rec->id);
  purser_db_bind_text (stmt, 2, rec->org_id);
  purser_db_bind_text (stmt, 3, rec->template_id);
  purser_db_bind_text (stmt, 4, rec->recipients);
  purser_db_bind_text (stmt, 5, rec->subject);
  purser_db_bind_text (stmt, 6, rec->text_body);
  purser_db_bind_text (stmt, 7, rec->html_body);
  purser_db_bind_text (stmt, 8, rec->attachment);
  purser_db_bind_text (stmt, 9, rec->status ? rec->status : "queued");
  purser_db_bind_int64 (stmt, 10, rec->attempts);
  purser_db_bind_int64 (stmt, 11, rec->next_attempt_at);
  purser_db_bind_text (stmt, 12, rec->last_error);
  purser_db_bind_int64 (stmt, 13, rec->created_at);
  purser_db_bind_time (stmt, 14, rec->sent_at);
  return purser_db_step_done (db, stmt, "Could not queue the e-mail", error);
}

gboolean
purser_store_mail_update (PurserDb *db, const PurserMailRecord *rec, GError **error)
{
  g_auto (PurserDbStmt) stmt
      = purser_db_prepare (db,
                           "UPDATE outbox SET status = ?2, attempts = ?3, next_attempt_at = ?4,"
                           " last_error = ?5, sent_at = ?6 WHERE id = ?1",
                           error);

  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, rec->id);
  purser_db_bind_text (stmt, 2, rec->status);
  purser_db_bind_int64 (stmt, 3, rec->attempts);
  purser_db_bind_int64 (stmt, 4, rec->next_attempt_at);
  purser_db_bind_text (stmt, 5, rec->last_error);
  purser_db_bind_time (stmt, 6, rec->sent_at);
  return purser_db_step_done (db, stmt, "Could not update the e-mail", error);
}

gboolean
purser_store_mail_get (PurserDb *db, const char *id, PurserMailRecord *out, GError **error)
{
  g_auto (PurserDbStmt) stmt
      = purser_db_prepare (db, "SELECT " MAIL_COLUMNS " FROM outbox WHERE id = ?", error);

  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, id);
  return one_row (db, stmt, read_mail, out, "e-mail", id, error);
}

GPtrArray *
purser_store_mail_due (PurserDb *db, gint64 now, GError **error)
{
  g_auto (PurserDbStmt) stmt = purser_db_prepare (
      db, "SELECT id FROM outbox WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY seq",
      error);

  if (stmt == NULL)
    return NULL;
  purser_db_bind_int64 (stmt, 1, now);
  return id_rows (db, stmt, error);
}

gboolean
purser_store_mail_list (PurserDb *db, const char *org_id, const char *after_id, int limit,
                        GArray *out, gboolean *has_more, GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;
  gint64 after = G_MAXINT64;

  if (!purser_db_page_seq (db, "SELECT seq FROM outbox WHERE org_id = ? AND id = ?", org_id,
                           after_id, &after, error))
    return FALSE;
  stmt = purser_db_prepare (db,
                            "SELECT " MAIL_COLUMNS " FROM outbox WHERE org_id = ? AND seq < ?"
                            " ORDER BY seq DESC",
                            error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, org_id);
  purser_db_bind_int64 (stmt, 2, after);
  return rows (db, stmt, read_mail, out, limit, has_more, error);
}

gchar **
purser_store_user_emails_with_role (PurserDb *db, const char *org_id, const char *role)
{
  g_auto (PurserDbStmt) stmt = purser_db_prepare (
      db, "SELECT email FROM users WHERE org_id = ? AND role = ? ORDER BY email", NULL);
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  if (stmt != NULL)
    {
      purser_db_bind_text (stmt, 1, org_id);
      purser_db_bind_text (stmt, 2, role);
      while (sqlite3_step (stmt) == SQLITE_ROW)
        g_strv_builder_add (builder, (const char *) sqlite3_column_text (stmt, 0));
    }
  return g_strv_builder_end (builder);
}
