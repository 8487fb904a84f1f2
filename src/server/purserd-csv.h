/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* CSV as RFC 4180 writes it, read the way spreadsheets export it: UTF-8 with an optional
 * byte-order mark, fields separated by commas, quoted fields with "" for a quote and line
 * breaks inside, records ended by CRLF, LF or a lone CR. Lines with nothing on them (such
 * as the empty line after the last record) are not records. Pure functions, no I/O. */

#define PURSERD_CSV_ERROR (purserd_csv_error_quark ())
GQuark purserd_csv_error_quark (void);

typedef enum
{
  PURSERD_CSV_ERROR_ENCODING, /* not UTF-8, or a NUL byte */
  PURSERD_CSV_ERROR_SYNTAX,   /* an unterminated quote, text after a closing quote */
  PURSERD_CSV_ERROR_RAGGED,   /* a record whose field count differs from the first one */
} PurserdCsvError;

typedef enum
{
  PURSERD_CSV_DEFAULT = 0,
  /* Fail on the first record whose field count differs from the first record's. Without
   * it the caller sees every record's fields and can report every bad one. */
  PURSERD_CSV_RECTANGULAR = 1 << 0,
} PurserdCsvFlags;

typedef struct
{
  guint line; /* the 1-based line the record starts on */
  guint n_fields;
  char **fields; /* n_fields strings, NULL-terminated */
} PurserdCsvRow;

void purserd_csv_row_free (PurserdCsvRow *row);

/* The records of `data` (GPtrArray of PurserdCsvRow, freeing them), or NULL with `error`
 * set and *error_line the line of the failure. */
GPtrArray *purserd_csv_parse (const char *data, gsize length, PurserdCsvFlags flags,
                              guint *error_line, GError **error);

/* local@domain.tld: one @, no spaces or control characters, a dot in the domain between
 * non-empty labels. Shared by the import and the JSON routes so both accept the same. */
gboolean purserd_email_is_valid (const char *email);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PurserdCsvRow, purserd_csv_row_free)

G_END_DECLS
