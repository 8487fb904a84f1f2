/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "purser-store-private.h"

#define INVOICE_COLUMNS                                                                \
  "id, org_id, subscription_id, number, status, reason, subtotal, tax, total,"         \
  " credit_applied, tax_note, period_start, period_end, issued_on, due_on, po_number," \
  " notes, amount_paid, created_at, paid_at, voided_at, void_reason, collection,"      \
  " attempt_count, next_attempt_at, first_failed_at, amount_refunded"

void
purser_invoice_record_clear (PurserInvoiceRecord *rec)
{
  g_clear_pointer (&rec->id, g_free);
  g_clear_pointer (&rec->org_id, g_free);
  g_clear_pointer (&rec->subscription_id, g_free);
  g_clear_pointer (&rec->number, g_free);
  g_clear_pointer (&rec->reason, g_free);
  purser_invoice_draft_clear (&rec->draft);
  g_clear_pointer (&rec->po_number, g_free);
  g_clear_pointer (&rec->notes, g_free);
  g_clear_pointer (&rec->void_reason, g_free);
  g_clear_pointer (&rec->collection, g_free);
}

GArray *
purser_invoice_records_new (void)
{
  GArray *records = g_array_new (FALSE, TRUE, sizeof (PurserInvoiceRecord));

  g_array_set_clear_func (records, (GDestroyNotify) purser_invoice_record_clear);
  return records;
}

/* The next number of the organization's sequence for `year`. The counter row is bumped in
 * the caller's transaction: if the invoice is rolled back, so is the number. */
static char *
allocate_number (PurserDb *db, const char *org_id, int year, GError **error)
{
  g_autofree char *code = NULL;
  gint64 sequence;

  {
    g_auto (PurserDbStmt) stmt
        = purser_db_prepare (db, "SELECT code FROM orgs WHERE id = ?", error);
    int rc;

    if (stmt == NULL)
      return NULL;
    purser_db_bind_text (stmt, 1, org_id);
    rc = sqlite3_step (stmt);
    if (rc == SQLITE_DONE)
      {
        purser_db_not_found (error, "No organization %s", org_id);
        return NULL;
      }
    if (rc != SQLITE_ROW)
      {
        purser_db_set_error (db, error, "Could not read the organization");
        return NULL;
      }
    code = purser_db_column_dup (stmt, 0);
  }

  {
    g_auto (PurserDbStmt) stmt = purser_db_prepare (
        db,
        "INSERT INTO invoice_counters (org_id, year, last) VALUES (?, ?, 1)"
        " ON CONFLICT (org_id, year) DO UPDATE SET last = last + 1 RETURNING last",
        error);

    if (stmt == NULL)
      return NULL;
    purser_db_bind_text (stmt, 1, org_id);
    purser_db_bind_int64 (stmt, 2, year);
    if (sqlite3_step (stmt) != SQLITE_ROW)
      {
        purser_db_set_error (db, error, "Could not allocate an invoice number");
        return NULL;
      }
    sequence = sqlite3_column_int64 (stmt, 0);
    /* Run the statement to its end so the upsert is complete before the reset. */
    if (!purser_db_step_done (db, stmt, "Could not allocate an invoice number", error))
      return NULL;
  }

  return purser_invoice_number_format (code, year, sequence);
}

static gboolean
insert_invoice_row (PurserDb *db, const PurserInvoiceRecord *rec, GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;

  stmt = purser_db_prepare (db,
                            "INSERT INTO invoices (" INVOICE_COLUMNS ") VALUES"
                            " (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                            error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, rec->id);
  purser_db_bind_text (stmt, 2, rec->org_id);
  purser_db_bind_text (stmt, 3, rec->subscription_id);
  purser_db_bind_text (stmt, 4, rec->number);
  purser_db_bind_text (stmt, 5, purser_invoice_status_to_string (rec->status));
  purser_db_bind_text (stmt, 6, rec->reason);
  purser_db_bind_int64 (stmt, 7, rec->draft.subtotal);
  purser_db_bind_int64 (stmt, 8, rec->draft.tax);
  purser_db_bind_int64 (stmt, 9, rec->draft.total);
  purser_db_bind_int64 (stmt, 10, rec->draft.credit_applied);
  purser_db_bind_text (stmt, 11, rec->draft.tax_note);
  purser_db_bind_date (stmt, 12, rec->period.start);
  purser_db_bind_date (stmt, 13, rec->period.end);
  purser_db_bind_date (stmt, 14, rec->issued_on);
  purser_db_bind_date (stmt, 15, rec->due_on);
  purser_db_bind_text (stmt, 16, rec->po_number);
  purser_db_bind_text (stmt, 17, rec->notes);
  purser_db_bind_int64 (stmt, 18, rec->amount_paid);
  purser_db_bind_int64 (stmt, 19, rec->created_at);
  purser_db_bind_time (stmt, 20, rec->paid_at);
  purser_db_bind_time (stmt, 21, rec->voided_at);
  purser_db_bind_text (stmt, 22, rec->void_reason);
  purser_db_bind_text (stmt, 23, rec->collection ? rec->collection : "send_invoice");
  purser_db_bind_int64 (stmt, 24, rec->attempt_count);
  purser_db_bind_time (stmt, 25, rec->next_attempt_at);
  purser_db_bind_time (stmt, 26, rec->first_failed_at);
  purser_db_bind_int64 (stmt, 27, rec->amount_refunded);
  return purser_db_step_done (db, stmt, "Could not add the invoice", error);
}

static gboolean
insert_invoice_lines (PurserDb *db, const PurserInvoiceRecord *rec, GError **error)
{
  const GArray *lines = rec->draft.lines;

  for (guint i = 0; lines != NULL && i < lines->len; i++)
    {
      g_auto (PurserDbStmt) stmt = purser_db_prepare (
          db,
          "INSERT INTO invoice_lines (invoice_id, position, kind, description, quantity,"
          " unit_amount, amount, period_start, period_end) VALUES (?,?,?,?,?,?,?,?,?)",
          error);

      if (stmt == NULL)
        return FALSE;
      purser_db_bind_text (stmt, 1, rec->id);
      purser_db_bind_int64 (stmt, 2, i);
      purser_db_bind_line (stmt, 3, &g_array_index (lines, PurserLine, i));
      if (!purser_db_step_done (db, stmt, "Could not add an invoice line", error))
        return FALSE;
    }
  return TRUE;
}

gboolean
purser_store_invoice_insert (PurserDb *db, PurserInvoiceRecord *rec, GError **error)
{
  g_autofree char *number = NULL;

  g_return_val_if_fail (rec != NULL && rec->org_id != NULL, FALSE);
  g_return_val_if_fail (rec->issued_on != PURSER_DATE_INVALID, FALSE);

  if (rec->id == NULL)
    rec->id = purser_db_new_id ("inv");

  /* A savepoint keeps the counter and the invoice together even without a transaction
   * around the call: a failed insert gives its number back. */
  if (!purser_db_savepoint (db, error))
    return FALSE;

  number = allocate_number (db, rec->org_id, purser_date_year (rec->issued_on), error);
  if (number == NULL)
    goto fail;

  /* The row is written with the new number before rec is touched, so a failure leaves
   * the caller's record as it was. */
  {
    PurserInvoiceRecord numbered = *rec;

    numbered.number = number;
    if (!insert_invoice_row (db, &numbered, error) || !insert_invoice_lines (db, &numbered, error))
      goto fail;
  }

  if (!purser_db_release (db, error))
    return FALSE;

  g_free (rec->number);
  rec->number = g_steal_pointer (&number);
  return TRUE;

fail:
  purser_db_rollback_to (db);
  return FALSE;
}

static gboolean
load_lines (PurserDb *db, const char *invoice_id, GArray *lines, GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;
  int rc;

  stmt = purser_db_prepare (db,
                            "SELECT kind, description, quantity, unit_amount, amount,"
                            " period_start, period_end FROM invoice_lines"
                            " WHERE invoice_id = ? ORDER BY position",
                            error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, invoice_id);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      PurserLine line = { 0 };

      if (!purser_db_column_line (stmt, 0, &line, error))
        return FALSE;
      g_array_append_val (lines, line);
    }
  if (rc != SQLITE_DONE)
    return purser_db_fail (db, error, "Could not read the invoice lines");
  return TRUE;
}

/* Reads a row of INVOICE_COLUMNS into `out` (zeroed by the caller), lines aside. */
static gboolean
read_invoice (sqlite3_stmt *stmt, PurserInvoiceRecord *out, GError **error)
{
  const char *status = (const char *) sqlite3_column_text (stmt, 4);

  out->id = purser_db_column_dup (stmt, 0);
  out->org_id = purser_db_column_dup (stmt, 1);
  out->subscription_id = purser_db_column_dup (stmt, 2);
  out->number = purser_db_column_dup (stmt, 3);
  if (status == NULL || !purser_invoice_status_from_string (status, &out->status))
    return purser_db_corrupt (error, "invoice status", status);
  out->reason = purser_db_column_dup (stmt, 5);
  out->draft.subtotal = sqlite3_column_int64 (stmt, 6);
  out->draft.tax = sqlite3_column_int64 (stmt, 7);
  out->draft.total = sqlite3_column_int64 (stmt, 8);
  out->draft.credit_applied = sqlite3_column_int64 (stmt, 9);
  out->draft.tax_note = purser_db_column_dup (stmt, 10);
  out->period.start = purser_db_column_date (stmt, 11);
  out->period.end = purser_db_column_date (stmt, 12);
  out->issued_on = purser_db_column_date (stmt, 13);
  out->due_on = purser_db_column_date (stmt, 14);
  out->po_number = purser_db_column_dup (stmt, 15);
  out->notes = purser_db_column_dup (stmt, 16);
  out->amount_paid = sqlite3_column_int64 (stmt, 17);
  out->created_at = sqlite3_column_int64 (stmt, 18);
  out->paid_at = sqlite3_column_int64 (stmt, 19);
  out->voided_at = sqlite3_column_int64 (stmt, 20);
  out->void_reason = purser_db_column_dup (stmt, 21);
  out->collection = purser_db_column_dup (stmt, 22);
  out->attempt_count = (int) sqlite3_column_int64 (stmt, 23);
  out->next_attempt_at = sqlite3_column_int64 (stmt, 24);
  out->first_failed_at = sqlite3_column_int64 (stmt, 25);
  out->amount_refunded = sqlite3_column_int64 (stmt, 26);
  out->draft.lines = purser_lines_new ();
  return TRUE;
}

gboolean
purser_store_invoice_get (PurserDb *db, const char *org_id, const char *id,
                          PurserInvoiceRecord *out, GError **error)
{
  PurserInvoiceRecord rec = { 0 };

  g_return_val_if_fail (org_id != NULL && id != NULL && out != NULL, FALSE);

  {
    g_auto (PurserDbStmt) stmt = purser_db_prepare (
        db, "SELECT " INVOICE_COLUMNS " FROM invoices WHERE org_id = ? AND id = ?", error);
    int rc;

    if (stmt == NULL)
      return FALSE;
    purser_db_bind_text (stmt, 1, org_id);
    purser_db_bind_text (stmt, 2, id);
    rc = sqlite3_step (stmt);
    if (rc == SQLITE_DONE)
      return purser_db_not_found (error, "No invoice %s", id);
    if (rc != SQLITE_ROW)
      return purser_db_fail (db, error, "Could not read the invoice");
    if (!read_invoice (stmt, &rec, error))
      goto fail;
  }

  if (!load_lines (db, rec.id, rec.draft.lines, error))
    goto fail;
  *out = rec;
  return TRUE;

fail:
  purser_invoice_record_clear (&rec);
  return FALSE;
}

gboolean
purser_store_invoice_update_status (PurserDb *db, const PurserInvoiceRecord *rec, GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;

  g_return_val_if_fail (rec != NULL && rec->org_id != NULL && rec->id != NULL, FALSE);

  stmt = purser_db_prepare (db,
                            "UPDATE invoices SET status = ?3, amount_paid = ?4, paid_at = ?5,"
                            " voided_at = ?6, void_reason = ?7, collection = ?8,"
                            " attempt_count = ?9, next_attempt_at = ?10, first_failed_at = ?11,"
                            " amount_refunded = ?12 WHERE org_id = ?1 AND id = ?2",
                            error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, rec->org_id);
  purser_db_bind_text (stmt, 2, rec->id);
  purser_db_bind_text (stmt, 3, purser_invoice_status_to_string (rec->status));
  purser_db_bind_int64 (stmt, 4, rec->amount_paid);
  purser_db_bind_time (stmt, 5, rec->paid_at);
  purser_db_bind_time (stmt, 6, rec->voided_at);
  purser_db_bind_text (stmt, 7, rec->void_reason);
  purser_db_bind_text (stmt, 8, rec->collection ? rec->collection : "send_invoice");
  purser_db_bind_int64 (stmt, 9, rec->attempt_count);
  purser_db_bind_time (stmt, 10, rec->next_attempt_at);
  purser_db_bind_time (stmt, 11, rec->first_failed_at);
  purser_db_bind_int64 (stmt, 12, rec->amount_refunded);
  if (!purser_db_step_done (db, stmt, "Could not update the invoice", error))
    return FALSE;
  if (purser_db_changes (db) == 0)
    return purser_db_not_found (error, "No invoice %s", rec->id);
  return TRUE;
}

gboolean
purser_store_invoice_list (PurserDb *db, const char *org_id, const char *status,
                           const char *after_id, int limit, GArray *out, gboolean *has_more,
                           GError **error)
{
  guint first;
  gint64 before_seq = G_MAXINT64;
  gint64 n = 0;

  g_return_val_if_fail (org_id != NULL && out != NULL, FALSE);
  g_return_val_if_fail (limit > 0, FALSE);

  first = out->len;

  if (!purser_db_page_seq (db, "SELECT seq FROM invoices WHERE org_id = ? AND id = ?", org_id,
                           after_id, &before_seq, error))
    return FALSE;

  {
    g_auto (PurserDbStmt) stmt = purser_db_prepare (
        db,
        "SELECT " INVOICE_COLUMNS " FROM invoices WHERE org_id = ?1 AND seq < ?2"
        " AND (?3 IS NULL OR status = ?3) ORDER BY seq DESC LIMIT ?4",
        error);
    int rc;

    if (stmt == NULL)
      return FALSE;
    purser_db_bind_text (stmt, 1, org_id);
    purser_db_bind_int64 (stmt, 2, before_seq);
    purser_db_bind_text (stmt, 3, status);
    /* One row more than asked tells whether there is a next page. */
    purser_db_bind_int64 (stmt, 4, (gint64) limit + 1);

    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
      {
        PurserInvoiceRecord rec = { 0 };

        if (n++ == limit)
          break;
        if (!read_invoice (stmt, &rec, error))
          {
            purser_invoice_record_clear (&rec);
            goto fail;
          }
        g_array_append_val (out, rec);
      }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
      {
        purser_db_set_error (db, error, "Could not list the invoices");
        goto fail;
      }
  }

  /* Lines come from another statement, once the list's statement is reset. */
  for (guint i = first; i < out->len; i++)
    {
      PurserInvoiceRecord *rec = &g_array_index (out, PurserInvoiceRecord, i);

      if (!load_lines (db, rec->id, rec->draft.lines, error))
        goto fail;
    }

  if (has_more != NULL)
    *has_more = n > limit;
  return TRUE;

fail:
  /* Leave `out` as it was given. */
  g_array_set_size (out, first);
  return FALSE;
}

GPtrArray *
purser_store_invoice_attempts_due (PurserDb *db, gint64 now, GError **error)
{
  g_auto (PurserDbStmt) stmt = purser_db_prepare (
      db,
      "SELECT org_id, id FROM invoices WHERE next_attempt_at IS NOT NULL"
      " AND next_attempt_at <= ? AND status = 'open' AND NOT EXISTS (SELECT 1 FROM payments"
      " WHERE payments.invoice_id = invoices.id AND payments.status IN ('pending', 'processing'))"
      " ORDER BY next_attempt_at, seq",
      error);
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  int rc;

  if (stmt == NULL)
    return NULL;
  purser_db_bind_int64 (stmt, 1, now);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      g_ptr_array_add (ids, purser_db_column_dup (stmt, 0));
      g_ptr_array_add (ids, purser_db_column_dup (stmt, 1));
    }
  if (rc != SQLITE_DONE)
    {
      purser_db_set_error (db, error, "Could not read the invoices due for payment");
      return NULL;
    }
  return g_steal_pointer (&ids);
}
