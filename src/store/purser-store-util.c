/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "purser-store-private.h"

gboolean
purser_db_not_found (GError **error, const char *format, ...)
{
  va_list args;
  char *message;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_NOT_FOUND, message);
  g_free (message);
  return FALSE;
}

gboolean
purser_db_corrupt (GError **error, const char *what, const char *value)
{
  g_set_error (error, PURSER_STORE_ERROR, PURSER_STORE_ERROR_FAILED,
               "The database holds an unknown %s “%s”", what, value != NULL ? value : "(null)");
  return FALSE;
}

char *
purser_db_string_set_to_json (GHashTable *set)
{
  GString *json = g_string_new ("[");
  GHashTableIter iter;
  gpointer key;
  gboolean first = TRUE;

  g_hash_table_iter_init (&iter, set);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      if (!first)
        g_string_append_c (json, ',');
      first = FALSE;

      g_string_append_c (json, '"');
      for (const char *p = key; *p != '\0'; p++)
        {
          guchar c = (guchar) *p;

          if (c == '"' || c == '\\')
            g_string_append_printf (json, "\\%c", c);
          else if (c < 0x20)
            g_string_append_printf (json, "\\u%04x", c);
          else
            g_string_append_c (json, (char) c);
        }
      g_string_append_c (json, '"');
    }

  g_string_append_c (json, ']');
  return g_string_free (json, FALSE);
}

void
purser_db_bind_line (sqlite3_stmt *stmt, int first_index, const PurserLine *line)
{
  purser_db_bind_text (stmt, first_index, purser_line_kind_to_string (line->kind));
  purser_db_bind_text (stmt, first_index + 1, line->description);
  purser_db_bind_int64 (stmt, first_index + 2, line->quantity);
  purser_db_bind_int64 (stmt, first_index + 3, line->unit_amount);
  purser_db_bind_int64 (stmt, first_index + 4, line->amount);
  purser_db_bind_date (stmt, first_index + 5, line->period.start);
  purser_db_bind_date (stmt, first_index + 6, line->period.end);
}

gboolean
purser_db_column_line (sqlite3_stmt *stmt, int first_column, PurserLine *out, GError **error)
{
  const char *kind = (const char *) sqlite3_column_text (stmt, first_column);

  if (kind == NULL || !purser_line_kind_from_string (kind, &out->kind))
    return purser_db_corrupt (error, "line kind", kind);

  out->description = purser_db_column_dup (stmt, first_column + 1);
  out->quantity = sqlite3_column_int64 (stmt, first_column + 2);
  out->unit_amount = sqlite3_column_int64 (stmt, first_column + 3);
  out->amount = sqlite3_column_int64 (stmt, first_column + 4);
  out->period.start = purser_db_column_date (stmt, first_column + 5);
  out->period.end = purser_db_column_date (stmt, first_column + 6);
  return TRUE;
}

gboolean
purser_db_page_seq (PurserDb *db, const char *sql, const char *org_id, const char *after_id,
                    gint64 *seq, GError **error)
{
  g_auto (PurserDbStmt) stmt = NULL;
  int rc;

  if (after_id == NULL)
    return TRUE;
  stmt = purser_db_prepare (db, sql, error);
  if (stmt == NULL)
    return FALSE;
  purser_db_bind_text (stmt, 1, org_id);
  purser_db_bind_text (stmt, 2, after_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    return purser_db_not_found (error, "No %s to continue after", after_id);
  if (rc != SQLITE_ROW)
    return purser_db_fail (db, error, "Could not read the page cursor");
  *seq = sqlite3_column_int64 (stmt, 0);
  return TRUE;
}
