/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "purserd-csv.h"

G_DEFINE_QUARK (purserd - csv - error - quark, purserd_csv_error)

void
purserd_csv_row_free (PurserdCsvRow *row)
{
  if (row == NULL)
    return;
  g_strfreev (row->fields);
  g_free (row);
}

/* The number of the line `at` is on. */
static guint
line_of (const char *start, const char *at)
{
  guint line = 1;

  for (const char *p = start; p < at; p++)
    if (*p == '\n' || (*p == '\r' && (p + 1 == at || p[1] != '\n')))
      line++;
  return line;
}

/* Consumes one line break (CRLF, LF or CR) at *p. */
static void
skip_line_break (const char **p, const char *end)
{
  if (**p == '\r' && *p + 1 < end && (*p)[1] == '\n')
    *p += 2;
  else
    *p += 1;
}

typedef struct
{
  GPtrArray *rows;
  GPtrArray *fields; /* of the record being read */
  GString *field;
  guint line; /* where the record being read started */
} Parser;

static void
end_field (Parser *parser)
{
  g_ptr_array_add (parser->fields, g_strndup (parser->field->str, parser->field->len));
  g_string_truncate (parser->field, 0);
}

static void
end_record (Parser *parser)
{
  PurserdCsvRow *row = g_new0 (PurserdCsvRow, 1);

  end_field (parser);
  row->line = parser->line;
  row->n_fields = parser->fields->len;
  g_ptr_array_add (parser->fields, NULL);
  /* Takes the strings and leaves the array empty for the next record. */
  row->fields = (char **) g_ptr_array_steal (parser->fields, NULL);
  g_ptr_array_add (parser->rows, row);
}

GPtrArray *
purserd_csv_parse (const char *data, gsize length, PurserdCsvFlags flags, guint *error_line,
                   GError **error)
{
  g_autoptr (GPtrArray) rows
      = g_ptr_array_new_with_free_func ((GDestroyNotify) purserd_csv_row_free);
  g_autoptr (GPtrArray) fields = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GString) field = g_string_new (NULL);
  Parser parser = { rows, fields, field, 1 };
  const char *p = data;
  const char *end = data + length;
  const char *invalid = NULL;
  gboolean in_record = FALSE; /* something of the current record was read */
  gboolean at_field_start = TRUE;
  guint line = 1;
  guint dummy_line;

  g_return_val_if_fail (data != NULL || length == 0, NULL);

  if (error_line == NULL)
    error_line = &dummy_line;
  *error_line = 0;
  if (p == NULL)
    return g_steal_pointer (&rows);

  if (length >= 3 && memcmp (p, "\xEF\xBB\xBF", 3) == 0)
    p += 3;
  if (!g_utf8_validate_len (p, (gsize) (end - p), &invalid))
    {
      *error_line = line_of (p, invalid);
      g_set_error (error, PURSERD_CSV_ERROR, PURSERD_CSV_ERROR_ENCODING,
                   "Line %u is not UTF-8 text (or holds a NUL byte); save the file as "
                   "\"CSV UTF-8\".",
                   *error_line);
      return NULL;
    }

  while (p < end)
    {
      char c = *p;

      if (!in_record)
        {
          if (c == '\r' || c == '\n')
            {
              /* A line with nothing on it is no record. */
              skip_line_break (&p, end);
              line++;
              continue;
            }
          in_record = TRUE;
          parser.line = line;
        }

      if (at_field_start && c == '"')
        {
          guint quote_line = line;

          p++;
          for (;;)
            {
              if (p >= end)
                {
                  *error_line = quote_line;
                  g_set_error (error, PURSERD_CSV_ERROR, PURSERD_CSV_ERROR_SYNTAX,
                               "The quoted field that starts on line %u has no closing quote.",
                               quote_line);
                  return NULL;
                }
              if (*p == '"')
                {
                  if (p + 1 < end && p[1] == '"')
                    {
                      g_string_append_c (field, '"');
                      p += 2;
                      continue;
                    }
                  p++;
                  break;
                }
              if (*p == '\r' || *p == '\n')
                {
                  const char *from = p;

                  skip_line_break (&p, end);
                  g_string_append_len (field, from, p - from);
                  line++;
                  continue;
                }
              g_string_append_c (field, *p);
              p++;
            }
          if (p < end && *p != ',' && *p != '\r' && *p != '\n')
            {
              *error_line = line;
              g_set_error (error, PURSERD_CSV_ERROR, PURSERD_CSV_ERROR_SYNTAX,
                           "Line %u has text after a closing quote; a quote inside a quoted "
                           "field is written as two quotes (\"\").",
                           line);
              return NULL;
            }
          at_field_start = FALSE;
          continue;
        }

      if (c == ',')
        {
          end_field (&parser);
          at_field_start = TRUE;
          p++;
        }
      else if (c == '\r' || c == '\n')
        {
          end_record (&parser);
          in_record = FALSE;
          at_field_start = TRUE;
          skip_line_break (&p, end);
          line++;
        }
      else
        {
          /* A quote inside an unquoted field is kept as it is, as spreadsheets do. */
          g_string_append_c (field, c);
          at_field_start = FALSE;
          p++;
        }
    }
  if (in_record)
    end_record (&parser);

  if (flags & PURSERD_CSV_RECTANGULAR)
    for (guint i = 1; i < rows->len; i++)
      {
        const PurserdCsvRow *first = g_ptr_array_index (rows, 0);
        const PurserdCsvRow *row = g_ptr_array_index (rows, i);

        if (row->n_fields != first->n_fields)
          {
            *error_line = row->line;
            g_set_error (error, PURSERD_CSV_ERROR, PURSERD_CSV_ERROR_RAGGED,
                         "Line %u has %u fields; the first line has %u.", row->line, row->n_fields,
                         first->n_fields);
            return NULL;
          }
      }

  return g_steal_pointer (&rows);
}

gboolean
purserd_email_is_valid (const char *email)
{
  const char *at;
  const char *domain;
  const char *last_dot;

  if (email == NULL)
    return FALSE;
  for (const char *p = email; *p != '\0'; p++)
    if ((guchar) *p <= ' ' || *p == 0x7f || *p == ',' || *p == ';' || *p == '<' || *p == '>'
        || *p == '(' || *p == ')' || *p == '[' || *p == ']' || *p == '\\' || *p == '"')
      return FALSE;

  at = strchr (email, '@');
  if (at == NULL || at == email || strchr (at + 1, '@') != NULL)
    return FALSE;
  /* No leading, trailing or doubled dots in the local part either. */
  if (email[0] == '.' || at[-1] == '.' || g_strstr_len (email, at - email, "..") != NULL)
    return FALSE;

  domain = at + 1;
  last_dot = strrchr (domain, '.');
  if (last_dot == NULL || domain[0] == '.' || last_dot[1] == '\0' || strstr (domain, "..") != NULL)
    return FALSE;
  for (const char *p = domain; *p != '\0'; p++)
    if (*p == '-' && (p == domain || p[-1] == '.' || p[1] == '.' || p[1] == '\0'))
      return FALSE;
  return TRUE;
}
