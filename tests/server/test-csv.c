/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "purserd-csv.h"

static GPtrArray *
parse (const char *text, PurserdCsvFlags flags)
{
  g_autoptr (GError) error = NULL;
  GPtrArray *rows;
  guint line = 99;

  rows = purserd_csv_parse (text, strlen (text), flags, &line, &error);
  g_assert_no_error (error);
  g_assert_nonnull (rows);
  g_assert_cmpuint (line, ==, 0);
  return rows;
}

static void
assert_row (GPtrArray *rows, guint index, guint line, const char *const *expected)
{
  const PurserdCsvRow *row;

  g_assert_cmpuint (index, <, rows->len);
  row = g_ptr_array_index (rows, index);
  g_assert_cmpuint (row->line, ==, line);
  g_assert_cmpuint (row->n_fields, ==, g_strv_length ((char **) expected));
  for (guint i = 0; i < row->n_fields; i++)
    g_assert_cmpstr (row->fields[i], ==, expected[i]);
  g_assert_null (row->fields[row->n_fields]);
}

static void
assert_fails (const char *text, PurserdCsvFlags flags, int code, guint expected_line)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) rows = NULL;
  guint line = 0;

  rows = purserd_csv_parse (text, strlen (text), flags, &line, &error);
  g_assert_null (rows);
  g_assert_error (error, PURSERD_CSV_ERROR, code);
  g_assert_cmpuint (line, ==, expected_line);
  g_assert_nonnull (strstr (error->message, "ine"));
}

static void
test_plain (void)
{
  g_autoptr (GPtrArray) rows
      = parse ("email,name\na@x.io,Ann\nb@x.io,Bob\n", PURSERD_CSV_RECTANGULAR);

  g_assert_cmpuint (rows->len, ==, 3);
  assert_row (rows, 0, 1, (const char *[]){ "email", "name", NULL });
  assert_row (rows, 1, 2, (const char *[]){ "a@x.io", "Ann", NULL });
  assert_row (rows, 2, 3, (const char *[]){ "b@x.io", "Bob", NULL });
}

static void
test_quotes (void)
{
  g_autoptr (GPtrArray) rows = parse ("a,b,c\n\"x, y\",\"\",z\n\"only\"\n", PURSERD_CSV_DEFAULT);

  g_assert_cmpuint (rows->len, ==, 3);
  assert_row (rows, 1, 2, (const char *[]){ "x, y", "", "z", NULL });
  assert_row (rows, 2, 3, (const char *[]){ "only", NULL });
}

static void
test_escaped_quotes (void)
{
  g_autoptr (GPtrArray) rows = parse ("\"say \"\"hi\"\"\",\"\"\"\"\n", PURSERD_CSV_DEFAULT);

  g_assert_cmpuint (rows->len, ==, 1);
  assert_row (rows, 0, 1, (const char *[]){ "say \"hi\"", "\"", NULL });
}

static void
test_embedded_newlines (void)
{
  g_autoptr (GPtrArray) rows = parse (
      "h1,h2\n\"two\nlines\",x\r\n\"three\r\nmore\nlines\",y\nlast,z", PURSERD_CSV_RECTANGULAR);

  g_assert_cmpuint (rows->len, ==, 4);
  assert_row (rows, 1, 2, (const char *[]){ "two\nlines", "x", NULL });
  assert_row (rows, 2, 4, (const char *[]){ "three\r\nmore\nlines", "y", NULL });
  /* The line numbers after a multi-line field are the file's lines. */
  assert_row (rows, 3, 7, (const char *[]){ "last", "z", NULL });
}

static void
test_crlf (void)
{
  g_autoptr (GPtrArray) rows = parse ("a,b\r\n1,2\r\n3,4\r\n", PURSERD_CSV_RECTANGULAR);

  g_assert_cmpuint (rows->len, ==, 3);
  assert_row (rows, 1, 2, (const char *[]){ "1", "2", NULL });
  assert_row (rows, 2, 3, (const char *[]){ "3", "4", NULL });
}

static void
test_lone_cr (void)
{
  g_autoptr (GPtrArray) rows = parse ("a,b\r1,2\r", PURSERD_CSV_RECTANGULAR);

  g_assert_cmpuint (rows->len, ==, 2);
  assert_row (rows, 1, 2, (const char *[]){ "1", "2", NULL });
}

static void
test_bom (void)
{
  g_autoptr (GPtrArray) rows = parse ("\xEF\xBB\xBF"
                                      "email,name\nä@x.io,Zoë\n",
                                      PURSERD_CSV_DEFAULT);

  g_assert_cmpuint (rows->len, ==, 2);
  assert_row (rows, 0, 1, (const char *[]){ "email", "name", NULL });
  assert_row (rows, 1, 2, (const char *[]){ "ä@x.io", "Zoë", NULL });
}

static void
test_empty_lines (void)
{
  g_autoptr (GPtrArray) trailing = parse ("a,b\n1,2\n\n", PURSERD_CSV_RECTANGULAR);
  g_autoptr (GPtrArray) inner = parse ("a,b\n\r\n1,2\n\n\n3,4", PURSERD_CSV_RECTANGULAR);
  g_autoptr (GPtrArray) nothing = parse ("", PURSERD_CSV_DEFAULT);
  g_autoptr (GPtrArray) bom_only = parse ("\xEF\xBB\xBF", PURSERD_CSV_DEFAULT);

  g_assert_cmpuint (trailing->len, ==, 2);
  g_assert_cmpuint (inner->len, ==, 3);
  assert_row (inner, 1, 3, (const char *[]){ "1", "2", NULL });
  assert_row (inner, 2, 6, (const char *[]){ "3", "4", NULL });
  g_assert_cmpuint (nothing->len, ==, 0);
  g_assert_cmpuint (bom_only->len, ==, 0);
}

static void
test_empty_fields (void)
{
  g_autoptr (GPtrArray) rows = parse (",\n\"\"\n", PURSERD_CSV_DEFAULT);

  g_assert_cmpuint (rows->len, ==, 2);
  assert_row (rows, 0, 1, (const char *[]){ "", "", NULL });
  assert_row (rows, 1, 2, (const char *[]){ "", NULL });
}

static void
test_ragged (void)
{
  g_autoptr (GPtrArray) rows = parse ("a,b\n1,2,3\n4\n", PURSERD_CSV_DEFAULT);

  /* Without RECTANGULAR the caller sees every record as it is. */
  g_assert_cmpuint (rows->len, ==, 3);
  assert_row (rows, 1, 2, (const char *[]){ "1", "2", "3", NULL });
  assert_row (rows, 2, 3, (const char *[]){ "4", NULL });

  assert_fails ("a,b\n1,2\n\"x\ny\",2,3\n", PURSERD_CSV_RECTANGULAR, PURSERD_CSV_ERROR_RAGGED, 3);
  assert_fails ("a,b\n1,2\n1\n", PURSERD_CSV_RECTANGULAR, PURSERD_CSV_ERROR_RAGGED, 3);
}

static void
test_syntax_errors (void)
{
  assert_fails ("a,b\n1,\"open\n2,3\n", PURSERD_CSV_DEFAULT, PURSERD_CSV_ERROR_SYNTAX, 2);
  assert_fails ("a,b\n\n\"x\"y,2\n", PURSERD_CSV_DEFAULT, PURSERD_CSV_ERROR_SYNTAX, 3);
}

static void
test_encoding (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) rows = NULL;
  static const char nul[] = "a,b\n1,2\n3\0,4\n";
  guint line = 0;

  assert_fails ("a,b\n1,2\nM\xFCller,3\n", PURSERD_CSV_DEFAULT, PURSERD_CSV_ERROR_ENCODING, 3);

  rows = purserd_csv_parse (nul, sizeof nul - 1, PURSERD_CSV_DEFAULT, &line, &error);
  g_assert_null (rows);
  g_assert_error (error, PURSERD_CSV_ERROR, PURSERD_CSV_ERROR_ENCODING);
  g_assert_cmpuint (line, ==, 3);
}

static void
test_unquoted_quote (void)
{
  g_autoptr (GPtrArray) rows = parse ("5\" disk,x\n", PURSERD_CSV_DEFAULT);

  assert_row (rows, 0, 1, (const char *[]){ "5\" disk", "x", NULL });
}

static void
test_email (void)
{
  static const char *const good[] = {
    "ann@example.com",
    "a.b+tag@sub.example.co.uk",
    "x@a-b.io",
    "zoë@example.de",
  };
  static const char *const bad[] = {
    "",
    "ann",
    "ann@",
    "@example.com",
    "ann@example",
    "ann@@example.com",
    "a@b@c.io",
    "ann smith@example.com",
    "ann@example.com ",
    "ann@.example.com",
    "ann@example.com.",
    "ann@example..com",
    ".ann@example.com",
    "ann.@example.com",
    "a..b@example.com",
    "ann@-example.com",
    "ann@example-.com",
    "ann@exa\tmple.com",
    "<ann@example.com>",
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    g_assert_true (purserd_email_is_valid (good[i]));
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      if (purserd_email_is_valid (bad[i]))
        g_error ("\"%s\" passed as an e-mail address", bad[i]);
    }
  g_assert_false (purserd_email_is_valid (NULL));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/purser/server/csv/plain", test_plain);
  g_test_add_func ("/purser/server/csv/quotes", test_quotes);
  g_test_add_func ("/purser/server/csv/escaped-quotes", test_escaped_quotes);
  g_test_add_func ("/purser/server/csv/embedded-newlines", test_embedded_newlines);
  g_test_add_func ("/purser/server/csv/crlf", test_crlf);
  g_test_add_func ("/purser/server/csv/lone-cr", test_lone_cr);
  g_test_add_func ("/purser/server/csv/bom", test_bom);
  g_test_add_func ("/purser/server/csv/empty-lines", test_empty_lines);
  g_test_add_func ("/purser/server/csv/empty-fields", test_empty_fields);
  g_test_add_func ("/purser/server/csv/ragged", test_ragged);
  g_test_add_func ("/purser/server/csv/syntax-errors", test_syntax_errors);
  g_test_add_func ("/purser/server/csv/encoding", test_encoding);
  g_test_add_func ("/purser/server/csv/unquoted-quote", test_unquoted_quote);
  g_test_add_func ("/purser/server/csv/email", test_email);

  return g_test_run ();
}
