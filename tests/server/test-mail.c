/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "purserd-mail-templates.h"
#include "purserd-mail.h"

/* The messages are read back by a small MIME reader of this file (no GMime here): headers
 * unfolded, multiparts split on their boundaries, quoted-printable, base64 and RFC 2047
 * decoded by hand. SMTP goes to a real aiosmtpd on loopback, run by Debian's python3 with
 * the script below; it writes each message's bytes as they arrived, and its envelope. */

#define PYTHON       "/usr/bin/python3"
#define WAIT_SECONDS 30
#define DATE         1700000000 /* Tue, 14 Nov 2023 22:13:20 +0000 */
#define FROM         "Purser Billing <billing@example.com>"
#define USERNAME     "billing"
#define PASSWORD     "correct horse battery staple"

static const char server_script[]
    = "import asyncio, json, logging, os, sys, warnings\n"
      "from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword\n"
      "warnings.simplefilter('ignore')\n"
      "logging.disable(logging.CRITICAL)\n"
      "port, spool, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]\n"
      "count = 0\n"
      "class Handler:\n"
      "    async def handle_RCPT(self, server, session, envelope, address, options):\n"
      "        if address.startswith('nobody@'):\n"
      "            return '550 5.1.1 <%s>: no such user here' % address\n"
      "        if address.startswith('busy@'):\n"
      "            return '451 4.2.1 Mailbox busy, try again later'\n"
      "        envelope.rcpt_tos.append(address)\n"
      "        return '250 2.1.5 OK'\n"
      "    async def handle_DATA(self, server, session, envelope):\n"
      "        global count\n"
      "        count += 1\n"
      "        base = os.path.join(spool, 'message-%03d' % count)\n"
      "        login = None\n"
      "        if session.authenticated and isinstance(session.auth_data, LoginPassword):\n"
      "            login = session.auth_data.login.decode()\n"
      "        with open(base + '.json', 'w') as f:\n"
      "            json.dump({'mail_from': envelope.mail_from, 'rcpt_tos': envelope.rcpt_tos,\n"
      "                       'login': login}, f)\n"
      "        with open(base + '.tmp', 'wb') as f:\n"
      "            f.write(envelope.original_content)\n"
      "        os.rename(base + '.tmp', base + '.eml')\n"
      "        return '250 2.0.0 Message accepted'\n"
      "def authenticate(server, session, envelope, mechanism, auth_data):\n"
      "    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == b'" USERNAME "'\n"
      "          and auth_data.password == b'" PASSWORD "')\n"
      "    # handled=False: aiosmtpd answers 535 itself.\n"
      "    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)\n"
      "async def main():\n"
      "    loop = asyncio.get_running_loop()\n"
      "    options = {}\n"
      "    if mode == 'auth':\n"
      "        options = dict(authenticator=authenticate, auth_required=True,\n"
      "                       auth_require_tls=False)\n"
      "    server = await loop.create_server(\n"
      "        lambda: SMTP(Handler(), hostname='mail.test', **options), '127.0.0.1', port)\n"
      "    print('ready', flush=True)\n"
      "    # The test closes stdin, or dies: either way, stop.\n"
      "    closed = loop.create_future()\n"
      "    def on_stdin():\n"
      "        if not os.read(0, 1024):\n"
      "            loop.remove_reader(0)\n"
      "            closed.set_result(None)\n"
      "    loop.add_reader(0, on_stdin)\n"
      "    await closed\n"
      "    server.close()\n"
      "asyncio.run(main())\n";

static GThread *main_thread;

/* ---- Waiting on the main loop ------------------------------------------------------ */

static void
store_result_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **slot = user_data;

  /* The callback runs where the caller runs. */
  g_assert_true (g_thread_self () == main_thread);
  *slot = g_object_ref (result);
}

static gboolean
time_out_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates the thread-default main context until *slot is set, failing after a while. */
static void
wait_for (GAsyncResult **slot)
{
  g_autoptr (GMainContext) context = g_main_context_ref_thread_default ();
  g_autoptr (GSource) timeout = g_timeout_source_new_seconds (WAIT_SECONDS);
  gboolean timed_out = FALSE;

  g_source_set_callback (timeout, time_out_cb, &timed_out, NULL);
  g_source_attach (timeout, context);
  while (*slot == NULL && !timed_out)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (timeout);
  if (timed_out)
    g_error ("Nothing happened in %d seconds", WAIT_SECONDS);
}

static gboolean
send_and_wait (PurserdMailer *mailer, const char *const *recipients, GBytes *message,
               GCancellable *cancellable, gboolean *permanent, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  purserd_mailer_send_async (mailer, recipients, message, cancellable, store_result_cb, &result);
  wait_for (&result);
  return purserd_mailer_send_finish (mailer, result, permanent, error);
}

/* ---- Reading messages back --------------------------------------------------------- */

typedef struct
{
  GHashTable *headers; /* lower-case name → unfolded value of the first one */
  GHashTable *counts;  /* lower-case name → how many */
  GPtrArray *names;    /* lower-case names, in order */
  char *body;
  gsize body_length;
} Entity;

static void
entity_free (Entity *entity)
{
  g_hash_table_unref (entity->headers);
  g_hash_table_unref (entity->counts);
  g_ptr_array_unref (entity->names);
  g_free (entity->body);
  g_free (entity);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Entity, entity_free)

/* Every line ends in CRLF (no bare CR or LF) and has at most `limit` octets. */
static void
assert_lines (const char *data, gsize length, gsize limit)
{
  gsize line_start = 0;

  for (gsize i = 0; i < length; i++)
    {
      if (data[i] == '\r')
        {
          g_assert_cmpint (i + 1, <, length);
          g_assert_cmpint (data[i + 1], ==, '\n');
        }
      else if (data[i] == '\n')
        {
          g_assert_cmpint (i, >, 0);
          g_assert_cmpint (data[i - 1], ==, '\r');
          g_assert_cmpuint (i - 1 - line_start, <=, limit);
          line_start = i + 1;
        }
    }
  g_assert_cmpuint (length - line_start, <=, limit);
}

static Entity *
entity_parse (const char *data, gsize length)
{
  Entity *entity = g_new0 (Entity, 1);
  const char *end = g_strstr_len (data, length, "\r\n\r\n");
  g_autofree char *block = NULL;
  g_auto (GStrv) lines = NULL;
  GString *unfolded = g_string_new (NULL);

  g_assert_nonnull (end);
  entity->headers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  entity->counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  entity->names = g_ptr_array_new_with_free_func (g_free);
  entity->body_length = length - (end + 4 - data);
  entity->body = g_strndup (end + 4, entity->body_length);

  /* Unfolding: a CRLF before a space or a tab goes. */
  for (const char *p = data; p < end; p++)
    {
      if (p[0] == '\r' && p[1] == '\n' && (p[2] == ' ' || p[2] == '\t'))
        {
          p++;
          continue;
        }
      g_string_append_c (unfolded, *p);
    }
  block = g_string_free (unfolded, FALSE);

  lines = g_strsplit (block, "\r\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *colon = strchr (lines[i], ':');
      g_autofree char *name = NULL;

      g_assert_nonnull (colon);
      g_assert_cmpuint (strspn (lines[i], " \t"), ==, 0);
      name = g_ascii_strdown (lines[i], colon - lines[i]);
      g_hash_table_insert (
          entity->counts, g_strdup (name),
          GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (entity->counts, name)) + 1));
      g_ptr_array_add (entity->names, g_strdup (name));
      if (!g_hash_table_contains (entity->headers, name))
        g_hash_table_insert (entity->headers, g_steal_pointer (&name),
                             g_strstrip (g_strdup (colon + 1)));
    }
  return entity;
}

static const char *
header (Entity *entity, const char *name)
{
  return g_hash_table_lookup (entity->headers, name);
}

static guint
header_count (Entity *entity, const char *name)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (entity->counts, name));
}

/* The value of `parameter` in a header such as Content-Type, unquoted. */
static char *
header_parameter (Entity *entity, const char *name, const char *parameter)
{
  const char *value = header (entity, name);
  g_autofree char *needle = g_strconcat (parameter, "=", NULL);
  const char *p;

  g_assert_nonnull (value);
  for (p = strstr (value, needle); p != NULL; p = strstr (p + 1, needle))
    if (p > value && (p[-1] == ' ' || p[-1] == ';'))
      break;
  if (p == NULL)
    return NULL;
  p += strlen (needle);
  if (*p == '"')
    {
      GString *out = g_string_new (NULL);

      for (p++; *p != '"' && *p != '\0'; p++)
        {
          if (*p == '\\')
            p++;
          g_string_append_c (out, *p);
        }
      return g_string_free (out, FALSE);
    }
  return g_strndup (p, strcspn (p, "; "));
}

static gboolean
has_prefix (const char *value, const char *prefix)
{
  return value != NULL && g_ascii_strncasecmp (value, prefix, strlen (prefix)) == 0;
}

/* The parts of a multipart entity, checking the delimiters: a first one, one after each
 * part, the closing one last, and the boundary nowhere else in the body. */
static GPtrArray *
split_multipart (Entity *entity)
{
  g_autofree char *boundary = header_parameter (entity, "content-type", "boundary");
  g_autofree char *delimiter = NULL;
  g_autofree char *body = NULL;
  GPtrArray *parts = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  const char *p;
  guint occurrences = 0;

  g_assert_nonnull (boundary);
  g_assert_cmpuint (strlen (boundary), >=, 1);
  g_assert_cmpuint (strlen (boundary), <=, 70);
  delimiter = g_strconcat ("\r\n--", boundary, NULL);
  /* The first delimiter may start the body: the CRLF before it is then the header's. */
  body = g_strconcat ("\r\n", entity->body, NULL);

  for (p = strstr (body, boundary); p != NULL; p = strstr (p + 1, boundary))
    occurrences++;

  p = strstr (body, delimiter);
  g_assert_nonnull (p);
  for (;;)
    {
      const char *start = p + strlen (delimiter);
      const char *next;

      if (g_str_has_prefix (start, "--"))
        {
          g_assert_true (g_str_has_prefix (start, "--\r\n"));
          break;
        }
      g_assert_true (g_str_has_prefix (start, "\r\n"));
      start += 2;
      next = strstr (start, delimiter);
      g_assert_nonnull (next);
      g_ptr_array_add (parts, g_bytes_new (start, next - start));
      p = next;
    }
  /* One delimiter per part and the closing one: the boundary appears nowhere else. */
  g_assert_cmpuint (occurrences, ==, parts->len + 1);
  return parts;
}

static Entity *
entity_parse_bytes (GBytes *bytes)
{
  gsize length = 0;
  const char *data = g_bytes_get_data (bytes, &length);

  return entity_parse (data, length);
}

static int
hex_value (char c)
{
  g_assert_true (g_ascii_isxdigit (c));
  g_assert_false (g_ascii_islower (c)); /* RFC 2045: upper case */
  return g_ascii_xdigit_value (c);
}

/* Quoted-printable to text with LF line ends, checking the encoding's own rules. */
static char *
decode_quoted_printable (Entity *entity)
{
  GString *out = g_string_new (NULL);
  const char *p = entity->body;
  const char *end = entity->body + entity->body_length;

  g_assert_cmpstr (header (entity, "content-transfer-encoding"), ==, "quoted-printable");
  assert_lines (entity->body, entity->body_length, 76);
  while (p < end)
    {
      if (p[0] == '=' && p + 2 < end && p[1] == '\r' && p[2] == '\n')
        p += 3;
      else if (p[0] == '=')
        {
          g_assert_cmpint (end - p, >=, 3);
          g_string_append_c (out, (char) (hex_value (p[1]) * 16 + hex_value (p[2])));
          p += 3;
        }
      else if (p[0] == '\r')
        {
          /* No whitespace before a hard line break. */
          g_assert_true (p == entity->body || (p[-1] != ' ' && p[-1] != '\t'));
          g_string_append_c (out, '\n');
          p += 2;
        }
      else
        {
          g_assert_true ((*p >= 33 && *p <= 126) || *p == ' ' || *p == '\t');
          g_string_append_c (out, *p);
          p++;
        }
    }
  return g_string_free (out, FALSE);
}

static GBytes *
decode_base64 (Entity *entity)
{
  GString *joined = g_string_new (NULL);
  gsize length = 0;
  guchar *decoded;

  g_assert_cmpstr (header (entity, "content-transfer-encoding"), ==, "base64");
  assert_lines (entity->body, entity->body_length, 76);
  for (const char *p = entity->body; *p != '\0'; p++)
    {
      if (*p == '\r' || *p == '\n')
        continue;
      g_assert_true (g_ascii_isalnum (*p) || *p == '+' || *p == '/' || *p == '=');
      g_string_append_c (joined, *p);
    }
  g_assert_cmpuint (joined->len % 4, ==, 0);
  decoded = g_base64_decode (joined->str, &length);
  g_string_free (joined, TRUE);
  return g_bytes_new_take (decoded, length);
}

/* A header value of encoded words, or plain ASCII. */
static char *
decode_header_text (const char *value)
{
  GString *out = g_string_new (NULL);
  g_auto (GStrv) words = g_strsplit (value, " ", -1);
  gboolean previous_encoded = FALSE;

  g_assert_true (g_str_is_ascii (value));
  for (guint i = 0; words[i] != NULL; i++)
    {
      const char *word = words[i];

      if (g_str_has_prefix (word, "=?UTF-8?B?") && g_str_has_suffix (word, "?="))
        {
          g_autofree char *payload = g_strndup (word + 10, strlen (word) - 12);
          gsize length = 0;
          g_autofree guchar *decoded = g_base64_decode (payload, &length);

          g_assert_cmpuint (strlen (word), <=, 75);
          g_string_append_len (out, (const char *) decoded, length);
          previous_encoded = TRUE;
        }
      else
        {
          if (i > 0 && !previous_encoded)
            g_string_append_c (out, ' ');
          g_string_append (out, word);
          previous_encoded = FALSE;
        }
    }
  return g_string_free (out, FALSE);
}

static GBytes *
pdf_bytes (void)
{
  GByteArray *pdf = g_byte_array_new ();
  static const char head[] = "%PDF-1.7\r\n%\xe2\xe3\xcf\xd3\n--=_purser_mix_\r\n.\r\n";

  g_byte_array_append (pdf, (const guint8 *) head, sizeof head - 1);
  /* Every byte value, in runs that line up with base64's groups differently each time. */
  for (guint i = 0; i < 20000; i++)
    {
      guint8 byte = (guint8) ((i * 7 + i / 256) & 0xff);

      g_byte_array_append (pdf, &byte, 1);
    }
  g_byte_array_append (pdf, (const guint8 *) "\n%%EOF\n", 7);
  return g_byte_array_free_to_bytes (pdf);
}

static char *
read_all (const char *path)
{
  g_autoptr (GError) error = NULL;
  char *contents = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  return contents;
}

/* ---- Composing --------------------------------------------------------------------- */

static const char long_subject[] = "Rechnung für Grüße & Co. KG — fällig am 1. Dezember: "
                                   "Überweisung über 1.234,56 € erbeten, danke schön! ✓";

static void
fill_mail (PurserdMail *mail, const char *text, const char *html)
{
  const char *const to[] = { "ap@example.com", "cfo@example.org", NULL };

  mail->from = g_strdup (FROM);
  mail->to = g_strdupv ((GStrv) to);
  mail->subject = g_strdup ("Invoice INV-2026-0007 is ready");
  mail->text = g_strdup (text);
  mail->html = g_strdup (html);
  mail->message_id = g_strdup ("<outbox-42@purser>");
}

static void
assert_common_headers (Entity *message)
{
  static const char *const once[]
      = { "date", "from", "to", "subject", "message-id", "mime-version", "content-type" };

  for (guint i = 0; i < G_N_ELEMENTS (once); i++)
    g_assert_cmpuint (header_count (message, once[i]), ==, 1);
  g_assert_cmpstr (header (message, "date"), ==, "Tue, 14 Nov 2023 22:13:20 +0000");
  g_assert_cmpstr (header (message, "from"), ==, FROM);
  g_assert_cmpstr (header (message, "to"), ==, "ap@example.com, cfo@example.org");
  g_assert_cmpstr (header (message, "message-id"), ==, "<outbox-42@purser>");
  g_assert_cmpstr (header (message, "mime-version"), ==, "1.0");
}

static void
test_compose_full (void)
{
  g_auto (PurserdMail) mail = { 0 };
  g_autoptr (GBytes) pdf = pdf_bytes ();
  g_autoptr (GBytes) csv = g_bytes_new_static ("a,b\r\n1,2\r\n", 10);
  g_autoptr (GBytes) message = NULL;
  g_autoptr (GBytes) again = NULL;
  g_autoptr (Entity) top = NULL;
  g_autoptr (Entity) alternative = NULL;
  g_autoptr (GPtrArray) parts = NULL;
  g_autoptr (GPtrArray) alternatives = NULL;
  g_autofree char *subject = NULL;
  g_autofree char *long_line = g_strnfill (2000, 'x');
  g_autofree char *text = NULL;
  g_autofree char *html = NULL;
  const char *data;
  gsize length;

  text = g_strconcat ("Hello Jürgen,\n\n"
                      "Your invoice = €1.234,56.   \n"
                      ".a line that starts with a dot\n"
                      "From here on, tabs\tand trailing tabs\t\n",
                      long_line, "\n\n— Purser\n", NULL);
  html = g_strconcat ("<p style=\"margin:0\">Grüße, <b>Jürgen</b> &amp; co</p>\n<p>", long_line,
                      "</p>", NULL);
  fill_mail (&mail, text, html);
  g_free (mail.subject);
  mail.subject = g_strdup (long_subject);
  purserd_mail_add_attachment (&mail, "INV-2026-0007.pdf", "application/pdf", pdf);
  purserd_mail_add_attachment (&mail, "lines.csv", "text/csv", csv);

  message = purserd_mail_compose (&mail, DATE);
  g_assert_nonnull (message);
  data = g_bytes_get_data (message, &length);
  assert_lines (data, length, 998);
  g_assert_true (g_str_has_suffix (data, "\r\n"));
  g_assert_true (g_str_is_ascii (data)); /* 7-bit: everything non-ASCII is encoded */

  top = entity_parse_bytes (message);
  assert_common_headers (top);
  g_assert_cmpstr (header (top, "auto-submitted"), ==, "auto-generated");
  /* The headers' own lines stay within 78 where they can be folded. */
  assert_lines (data, g_strstr_len (data, length, "\r\n\r\n") - data, 78);

  /* The subject: encoded words only, which decode to the original. */
  g_assert_true (has_prefix (header (top, "subject"), "=?UTF-8?B?"));
  subject = decode_header_text (header (top, "subject"));
  g_assert_cmpstr (subject, ==, long_subject);

  g_assert_true (has_prefix (header (top, "content-type"), "multipart/mixed;"));
  parts = split_multipart (top);
  g_assert_cmpuint (parts->len, ==, 3);

  alternative = entity_parse_bytes (parts->pdata[0]);
  g_assert_true (has_prefix (header (alternative, "content-type"), "multipart/alternative;"));
  alternatives = split_multipart (alternative);
  g_assert_cmpuint (alternatives->len, ==, 2);
  {
    g_autoptr (Entity) plain = entity_parse_bytes (alternatives->pdata[0]);
    g_autoptr (Entity) rich = entity_parse_bytes (alternatives->pdata[1]);
    g_autofree char *plain_text = decode_quoted_printable (plain);
    g_autofree char *rich_text = decode_quoted_printable (rich);

    g_assert_cmpstr (header (plain, "content-type"), ==, "text/plain; charset=UTF-8");
    g_assert_cmpstr (header (rich, "content-type"), ==, "text/html; charset=UTF-8");
    g_assert_cmpstr (plain_text, ==, text);
    g_assert_cmpstr (rich_text, ==, html);
  }

  {
    g_autoptr (Entity) attachment = entity_parse_bytes (parts->pdata[1]);
    g_autoptr (GBytes) decoded = decode_base64 (attachment);
    g_autofree char *name = header_parameter (attachment, "content-type", "name");
    g_autofree char *filename = header_parameter (attachment, "content-disposition", "filename");

    g_assert_true (has_prefix (header (attachment, "content-type"), "application/pdf;"));
    g_assert_true (has_prefix (header (attachment, "content-disposition"), "attachment;"));
    g_assert_cmpstr (name, ==, "INV-2026-0007.pdf");
    g_assert_cmpstr (filename, ==, "INV-2026-0007.pdf");
    g_assert_true (g_bytes_equal (decoded, pdf));
  }
  {
    g_autoptr (Entity) attachment = entity_parse_bytes (parts->pdata[2]);
    g_autoptr (GBytes) decoded = decode_base64 (attachment);

    g_assert_true (has_prefix (header (attachment, "content-type"), "text/csv;"));
    g_assert_true (g_bytes_equal (decoded, csv));
  }

  /* The same mail and date make the same bytes: a retry sends what was sent. */
  again = purserd_mail_compose (&mail, DATE);
  g_assert_true (g_bytes_equal (again, message));
}

static void
test_compose_text_only (void)
{
  g_auto (PurserdMail) mail = { 0 };
  g_autoptr (GBytes) message = NULL;
  g_autoptr (Entity) top = NULL;
  g_autofree char *text = NULL;
  const char *data;
  gsize length;

  fill_mail (&mail, "Hello,\n\nyour invoice is ready.\n", NULL);
  message = purserd_mail_compose (&mail, DATE);
  data = g_bytes_get_data (message, &length);
  assert_lines (data, length, 998);
  g_assert_null (g_strstr_len (data, length, "multipart"));

  top = entity_parse_bytes (message);
  assert_common_headers (top);
  /* ASCII stays readable. */
  g_assert_cmpstr (header (top, "subject"), ==, "Invoice INV-2026-0007 is ready");
  g_assert_cmpstr (header (top, "content-type"), ==, "text/plain; charset=UTF-8");
  text = decode_quoted_printable (top);
  g_assert_cmpstr (text, ==, "Hello,\n\nyour invoice is ready.\n");
}

static void
test_compose_alternative (void)
{
  g_auto (PurserdMail) mail = { 0 };
  g_autoptr (GBytes) message = NULL;
  g_autoptr (Entity) top = NULL;
  g_autoptr (GPtrArray) parts = NULL;
  g_autoptr (Entity) plain = NULL;
  g_autoptr (Entity) rich = NULL;
  g_autofree char *text = NULL;
  g_autofree char *html = NULL;

  /* No trailing line break: none is added. */
  fill_mail (&mail, "Hello", "<p>Hello</p>");
  message = purserd_mail_compose (&mail, DATE);
  top = entity_parse_bytes (message);
  assert_common_headers (top);
  g_assert_true (has_prefix (header (top, "content-type"), "multipart/alternative;"));
  parts = split_multipart (top);
  g_assert_cmpuint (parts->len, ==, 2);
  plain = entity_parse_bytes (parts->pdata[0]);
  rich = entity_parse_bytes (parts->pdata[1]);
  text = decode_quoted_printable (plain);
  html = decode_quoted_printable (rich);
  g_assert_cmpstr (text, ==, "Hello");
  g_assert_cmpstr (html, ==, "<p>Hello</p>");
  g_assert_cmpstr (header (rich, "content-type"), ==, "text/html; charset=UTF-8");
}

static void
test_compose_text_with_attachment (void)
{
  g_auto (PurserdMail) mail = { 0 };
  g_autoptr (GBytes) pdf = pdf_bytes ();
  g_autoptr (GBytes) message = NULL;
  g_autoptr (Entity) top = NULL;
  g_autoptr (GPtrArray) parts = NULL;
  g_autoptr (Entity) plain = NULL;
  g_autoptr (Entity) attachment = NULL;
  g_autoptr (GBytes) decoded = NULL;
  g_autofree char *text = NULL;
  g_autofree char *name = NULL;
  g_autofree char *filename = NULL;

  fill_mail (&mail, "The invoice is attached.\n", NULL);
  /* A name that is not ASCII (RFC 2231), and a type that is not one. */
  purserd_mail_add_attachment (&mail, "Rechnung März.pdf", "application/pdf\r\nX-Evil: 1", pdf);
  message = purserd_mail_compose (&mail, DATE);
  top = entity_parse_bytes (message);
  g_assert_true (has_prefix (header (top, "content-type"), "multipart/mixed;"));
  parts = split_multipart (top);
  g_assert_cmpuint (parts->len, ==, 2);

  plain = entity_parse_bytes (parts->pdata[0]);
  g_assert_cmpstr (header (plain, "content-type"), ==, "text/plain; charset=UTF-8");
  text = decode_quoted_printable (plain);
  g_assert_cmpstr (text, ==, "The invoice is attached.\n");

  attachment = entity_parse_bytes (parts->pdata[1]);
  g_assert_cmpuint (header_count (attachment, "x-evil"), ==, 0);
  g_assert_true (has_prefix (header (attachment, "content-type"), "application/octet-stream;"));
  name = header_parameter (attachment, "content-type", "name");
  g_assert_cmpstr (name, ==, "Rechnung Marz.pdf");
  filename = header_parameter (attachment, "content-disposition", "filename*0*");
  g_assert_cmpstr (filename, ==, "UTF-8''Rechnung%20M%C3%A4rz.pdf");
  decoded = decode_base64 (attachment);
  g_assert_true (g_bytes_equal (decoded, pdf));
}

static void
test_compose_headers (void)
{
  g_auto (PurserdMail) mail = { 0 };
  g_autoptr (GBytes) message = NULL;
  g_autoptr (Entity) top = NULL;
  g_autoptr (GString) words = g_string_new (NULL);
  g_autofree char *long_line = g_strnfill (5000, 'y');
  const char *data;
  gsize length;

  fill_mail (&mail, long_line, NULL);
  /* A line break in the subject cannot start a header. */
  g_free (mail.subject);
  mail.subject = g_strdup ("Invoice\r\nBcc: everyone@example.net");
  g_free (mail.from);
  mail.from = g_strdup ("Billing, \"Purser\" Inc. <billing@example.com>");
  g_free (mail.message_id);
  mail.message_id = g_strdup ("outbox-7@purser");

  message = purserd_mail_compose (&mail, DATE);
  data = g_bytes_get_data (message, &length);
  assert_lines (data, length, 998);
  top = entity_parse_bytes (message);
  g_assert_cmpuint (header_count (top, "bcc"), ==, 0);
  g_assert_cmpstr (header (top, "subject"), ==, "Invoice  Bcc: everyone@example.net");
  g_assert_cmpstr (header (top, "from"), ==,
                   "\"Billing, \\\"Purser\\\" Inc.\" <billing@example.com>");
  g_assert_cmpstr (header (top, "message-id"), ==, "<outbox-7@purser>");

  /* A long ASCII subject folds at spaces and unfolds to itself. */
  for (guint i = 0; i < 40; i++)
    g_string_append_printf (words, "%sword%u", i > 0 ? " " : "", i);
  g_free (mail.subject);
  mail.subject = g_strdup (words->str);
  g_clear_pointer (&message, g_bytes_unref);
  g_clear_pointer (&top, entity_free);
  message = purserd_mail_compose (&mail, DATE);
  data = g_bytes_get_data (message, &length);
  assert_lines (data, g_strstr_len (data, length, "\r\n\r\n") - data, 78);
  top = entity_parse_bytes (message);
  g_assert_cmpstr (header (top, "subject"), ==, words->str);

  /* A non-ASCII display name is encoded too. */
  g_free (mail.from);
  mail.from = g_strdup ("Pürser Fakturierung <billing@example.com>");
  g_clear_pointer (&message, g_bytes_unref);
  g_clear_pointer (&top, entity_free);
  message = purserd_mail_compose (&mail, DATE);
  top = entity_parse_bytes (message);
  g_assert_cmpstr (header (top, "from"), ==,
                   "=?UTF-8?B?UMO8cnNlciBGYWt0dXJpZXJ1bmc=?= <billing@example.com>");
}

static void
test_addresses (void)
{
  g_autofree char *bare = purserd_mail_address_from_mailbox (FROM);
  g_autofree char *plain = purserd_mail_address_from_mailbox (" ap@example.com ");
  g_autofree char *quoted = purserd_mail_address_from_mailbox ("\"A, B\" <a.b@example.com>");

  g_assert_cmpstr (bare, ==, "billing@example.com");
  g_assert_cmpstr (plain, ==, "ap@example.com");
  g_assert_cmpstr (quoted, ==, "a.b@example.com");
  g_assert_null (purserd_mail_address_from_mailbox ("Purser Billing"));
  g_assert_null (purserd_mail_address_from_mailbox ("Purser <billing@example.com> x"));

  g_assert_true (purserd_mail_address_is_valid ("ap+invoices@example.co.uk"));
  g_assert_false (purserd_mail_address_is_valid ("ap@example.com\r\nBcc: x@example.com"));
  g_assert_false (purserd_mail_address_is_valid ("jürgen@example.de"));
  g_assert_false (purserd_mail_address_is_valid ("ap@@example.com"));
  g_assert_false (purserd_mail_address_is_valid ("ap@example"));
  g_assert_false (purserd_mail_address_is_valid (""));
}

/* ---- Templates --------------------------------------------------------------------- */

typedef struct
{
  const char *id;
  const char *vars[9];
} TemplateCase;

/* Every template and the variables it needs: all of them, and only them. */
static const TemplateCase templates[] = {
  { "dunning-reminder",
    { "org_name", "invoice_number", "amount", "attempt", "attempts_total", "next_attempt_on",
      "reason", "url" } },
  { "invoice-copy", { "org_name", "invoice_number", "total", "sender_name" } },
  { "invoice-issued",
    { "org_name", "invoice_number", "total", "due_date", "period", "payment_terms", "url" } },
  { "past-due", { "org_name", "invoice_number", "amount", "url" } },
  { "payment-failed",
    { "org_name", "invoice_number", "amount", "method", "reason", "next_attempt_on", "url" } },
  { "payment-receipt",
    { "org_name", "invoice_number", "amount", "paid_on", "method", "receipt_number" } },
  { "refund-issued", { "org_name", "invoice_number", "amount", "credit_note_number", "method" } },
};

static gboolean
is_number_var (const char *name)
{
  return g_str_equal (name, "attempt") || g_str_equal (name, "attempts_total");
}

/* A value that can be found again: «name», and a URL with an & to escape. */
static char *
value_for (const char *name)
{
  if (g_str_equal (name, "url"))
    return g_strdup ("https://billing.example.com/pay?invoice=«url»&from=mail");
  return g_strdup_printf ("«%s»", name);
}

static JsonObject *
vars_for (const TemplateCase *template, const char *except)
{
  JsonObject *vars = json_object_new ();

  for (guint i = 0; template->vars[i] != NULL; i++)
    {
      if (g_strcmp0 (template->vars[i], except) == 0)
        continue;
      if (g_str_equal (template->vars[i], "attempt"))
        json_object_set_int_member (vars, "attempt", 2);
      else if (g_str_equal (template->vars[i], "attempts_total"))
        json_object_set_int_member (vars, "attempts_total", 3);
      else
        {
          g_autofree char *value = value_for (template->vars[i]);

          json_object_set_string_member (vars, template->vars[i], value);
        }
    }
  /* Unused variables are fine. */
  json_object_set_string_member (vars, "unused", "whatever");
  return vars;
}

static void
test_render_templates (void)
{
  g_auto (GStrv) ids = purserd_mail_template_list ();

  /* The table and the resources list the same templates. */
  g_assert_cmpuint (g_strv_length (ids), ==, G_N_ELEMENTS (templates));
  for (guint t = 0; t < G_N_ELEMENTS (templates); t++)
    g_assert_cmpstr (ids[t], ==, templates[t].id);

  for (guint t = 0; t < G_N_ELEMENTS (templates); t++)
    {
      const TemplateCase *template = &templates[t];
      g_autoptr (JsonObject) vars = vars_for (template, NULL);
      g_autoptr (GError) error = NULL;
      g_autofree char *subject = NULL;
      g_autofree char *text = NULL;
      g_autofree char *html = NULL;
      g_autofree char *escaped_subject = NULL;
      g_autofree char *title = NULL;
      gboolean has_numbers = FALSE;

      g_test_message ("template %s", template->id);
      g_assert_true (purserd_mail_render (template->id, vars, &subject, &text, &html, &error));
      g_assert_no_error (error);

      g_assert_cmpuint (strlen (subject), >, 10);
      g_assert_null (strchr (subject, '\n'));
      g_assert_null (strstr (subject, "{{"));
      g_assert_null (strstr (text, "{{"));
      g_assert_null (strstr (html, "{{"));
      g_assert_null (strstr (text, "<p"));
      g_assert_true (g_str_has_suffix (text, "Purser Billing\n"));

      /* The layout wraps the body, with the subject as the title. */
      g_assert_true (g_str_has_prefix (html, "<!DOCTYPE html>"));
      g_assert_true (g_str_has_suffix (html, "</html>\n"));
      escaped_subject = g_markup_escape_text (subject, -1);
      title = g_strdup_printf ("<title>%s</title>", escaped_subject);
      g_assert_nonnull (strstr (html, title));
      g_assert_nonnull (strstr (html, "<h1"));

      /* Both parts carry every value; HTML escaped, text as it is. */
      for (guint i = 0; template->vars[i] != NULL; i++)
        {
          g_autofree char *value = value_for (template->vars[i]);
          g_autofree char *escaped = g_markup_escape_text (value, -1);

          if (is_number_var (template->vars[i]))
            {
              has_numbers = TRUE;
              continue;
            }
          g_assert_nonnull (strstr (text, value));
          g_assert_nonnull (strstr (html, escaped));
          if (g_str_equal (template->vars[i], "url"))
            g_assert_null (strstr (html, value));
        }
      if (has_numbers)
        {
          g_assert_nonnull (strstr (text, "2 of 3"));
          g_assert_nonnull (strstr (html, "2 of 3"));
        }

      /* Without any one of its variables, a template does not render. */
      for (guint i = 0; template->vars[i] != NULL; i++)
        {
          g_autoptr (JsonObject) fewer = vars_for (template, template->vars[i]);
          g_autoptr (GError) missing = NULL;
          g_autofree char *quoted = g_strdup_printf ("“%s”", template->vars[i]);
          char *out_subject = NULL;

          g_assert_false (
              purserd_mail_render (template->id, fewer, &out_subject, NULL, NULL, &missing));
          g_assert_error (missing, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_MISSING_VARIABLE);
          g_assert_nonnull (strstr (missing->message, quoted));
          g_assert_null (out_subject);
        }
    }
}

static void
test_render_escaping (void)
{
  g_autoptr (JsonObject) vars = vars_for (&templates[1], NULL); /* invoice-copy */
  g_autoptr (GError) error = NULL;
  g_autofree char *subject = NULL;
  g_autofree char *text = NULL;
  g_autofree char *html = NULL;
  const char *evil = "<script>alert('x')</script> & \"Sons\"";

  g_assert_cmpstr (templates[1].id, ==, "invoice-copy");
  json_object_set_string_member (vars, "sender_name", evil);
  g_assert_true (purserd_mail_render ("invoice-copy", vars, &subject, &text, &html, &error));
  g_assert_no_error (error);

  g_assert_null (strstr (html, "<script"));
  g_assert_nonnull (
      strstr (html, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;Sons&quot;"));
  /* Text and subject are not HTML: the value as it is. */
  g_assert_nonnull (strstr (text, evil));
  g_assert_true (g_str_has_prefix (subject, evil));
}

static void
test_render_errors (void)
{
  g_autoptr (JsonObject) vars = vars_for (&templates[3], NULL); /* past-due */
  g_autoptr (JsonObject) object = json_object_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *subject = NULL;
  g_autofree char *text = NULL;
  g_autofree char *html = NULL;
  g_auto (PurserdMail) mail = { 0 };

  g_assert_false (purserd_mail_render ("no-such-template", vars, NULL, NULL, NULL, &error));
  g_assert_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_TEMPLATE_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (purserd_mail_render ("../mail/layout", vars, NULL, NULL, NULL, &error));
  g_assert_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_TEMPLATE_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (purserd_mail_render ("past-due", NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_MISSING_VARIABLE);
  g_clear_error (&error);

  /* null is no value; an object is not one to print. */
  json_object_set_null_member (vars, "amount");
  g_assert_false (purserd_mail_render ("past-due", vars, NULL, NULL, NULL, &error));
  g_assert_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_MISSING_VARIABLE);
  g_clear_error (&error);
  json_object_set_object_member (vars, "amount", json_object_ref (object));
  g_assert_false (purserd_mail_render ("past-due", vars, NULL, NULL, NULL, &error));
  g_assert_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_INVALID_VARIABLE);
  g_clear_error (&error);

  /* Numbers print as numbers; an empty string is a value. */
  json_object_set_double_member (vars, "amount", 1250.0);
  json_object_set_string_member (vars, "org_name", "");
  g_assert_true (purserd_mail_render ("past-due", vars, &subject, &text, &html, &error));
  g_assert_no_error (error);
  g_assert_nonnull (strstr (text, "is 1250."));

  /* Into a mail, replacing what it held. */
  mail.subject = g_strdup ("old");
  g_assert_true (purserd_mail_render_into (&mail, "past-due", vars, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (mail.subject, ==, subject);
  g_assert_cmpstr (mail.text, ==, text);
  g_assert_cmpstr (mail.html, ==, html);
}

/* A rendered template with its PDF, composed: what the outbox will send. */
static GBytes *
compose_invoice (GBytes *pdf, const char *const *to)
{
  g_auto (PurserdMail) mail = { 0 };
  g_autoptr (JsonObject) vars = vars_for (&templates[2], NULL); /* invoice-issued */
  g_autoptr (GError) error = NULL;

  mail.from = g_strdup (FROM);
  mail.to = g_strdupv ((GStrv) to);
  mail.message_id = g_strdup ("<outbox-42@purser>");
  json_object_set_string_member (vars, "org_name", "Northwind Löwen GmbH");
  json_object_set_string_member (vars, "total", "$1,234.56");
  g_assert_true (purserd_mail_render_into (&mail, "invoice-issued", vars, &error));
  g_assert_no_error (error);
  purserd_mail_add_attachment (&mail, "INV-2026-0007.pdf", "application/pdf", pdf);
  return purserd_mail_compose (&mail, DATE);
}

/* The message as sent: the PDF and the texts intact. */
static void
assert_invoice_message (const char *data, gsize length, GBytes *pdf)
{
  g_autoptr (Entity) top = entity_parse (data, length);
  g_autoptr (GPtrArray) parts = NULL;
  g_autoptr (Entity) alternative = NULL;
  g_autoptr (GPtrArray) alternatives = NULL;
  g_autoptr (Entity) plain = NULL;
  g_autoptr (Entity) attachment = NULL;
  g_autoptr (GBytes) decoded = NULL;
  g_autofree char *subject = NULL;
  g_autofree char *text = NULL;

  assert_lines (data, length, 998);
  g_assert_cmpstr (header (top, "message-id"), ==, "<outbox-42@purser>");
  subject = decode_header_text (header (top, "subject"));
  g_assert_cmpstr (subject, ==,
                   "Invoice «invoice_number» for Northwind Löwen GmbH: $1,234.56 due "
                   "«due_date»");
  parts = split_multipart (top);
  g_assert_cmpuint (parts->len, ==, 2);
  alternative = entity_parse_bytes (parts->pdata[0]);
  alternatives = split_multipart (alternative);
  g_assert_cmpuint (alternatives->len, ==, 2);
  plain = entity_parse_bytes (alternatives->pdata[0]);
  text = decode_quoted_printable (plain);
  g_assert_nonnull (strstr (text, "Amount due:      $1,234.56\n"));
  attachment = entity_parse_bytes (parts->pdata[1]);
  decoded = decode_base64 (attachment);
  g_assert_true (g_bytes_equal (decoded, pdf));
}

static void
test_render_compose (void)
{
  const char *const to[] = { "ap@example.com", NULL };
  g_autoptr (GBytes) pdf = pdf_bytes ();
  g_autoptr (GBytes) message = compose_invoice (pdf, to);
  gsize length = 0;
  const char *data = g_bytes_get_data (message, &length);

  assert_invoice_message (data, length, pdf);
}

/* ---- Maildir ----------------------------------------------------------------------- */

static GPtrArray *
list_dir (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) dir = g_dir_open (path, 0, &error);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_no_error (error);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  return names;
}

static void
remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_autoptr (GPtrArray) names = list_dir (path);

      for (guint i = 0; i < names->len; i++)
        {
          g_autofree char *child = g_build_filename (path, names->pdata[i], NULL);

          remove_tree (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

static void
test_maildir (void)
{
  g_autofree char *dir = g_dir_make_tmp ("purser-mail-XXXXXX", NULL);
  g_autofree char *maildir = g_build_filename (dir, "Maildir", NULL);
  g_autofree char *new_dir = g_build_filename (maildir, "new", NULL);
  g_autofree char *tmp_dir = g_build_filename (maildir, "tmp", NULL);
  g_autofree char *cur_dir = g_build_filename (maildir, "cur", NULL);
  g_autofree char *description = NULL;
  g_autofree char *expected_description = NULL;
  g_autoptr (PurserdMailer) mailer = NULL;
  g_autoptr (GBytes) pdf = pdf_bytes ();
  const char *const to[] = { "ap@example.com", "audit@example.org", NULL };
  g_autoptr (GBytes) message = compose_invoice (pdf, to);
  g_autoptr (GMainContext) context = g_main_context_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) names = NULL;
  g_autoptr (GPtrArray) tmp_names = NULL;
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;
  const char *data = g_bytes_get_data (message, &length);
  const char *envelope = "Return-Path: <billing@example.com>\r\n"
                         "X-Original-To: ap@example.com\r\n"
                         "X-Original-To: audit@example.org\r\n";
  PurserdMailConfig config = {
    .from = (char *) FROM,
    .maildir = maildir,
  };
  gboolean permanent = TRUE;

  g_assert_nonnull (dir);
  g_assert_true (purserd_mail_config_check (&config, &error));
  g_assert_no_error (error);
  mailer = purserd_mailer_new (&config);
  g_assert_false (purserd_mailer_uses_smtp (mailer));
  g_assert_cmpstr (purserd_mailer_get_from (mailer), ==, FROM);
  description = purserd_mailer_describe (mailer);
  expected_description = g_strdup_printf ("maildir %s (SMTP is not configured)", maildir);
  g_assert_cmpstr (description, ==, expected_description);

  /* The callback comes on the caller's thread-default context, not the global default. */
  g_main_context_push_thread_default (context);
  g_assert_true (send_and_wait (mailer, to, message, NULL, &permanent, &error));
  g_main_context_pop_thread_default (context);
  g_assert_no_error (error);
  g_assert_false (permanent);

  names = list_dir (new_dir);
  tmp_names = list_dir (tmp_dir);
  g_assert_cmpuint (names->len, ==, 1);
  g_assert_cmpuint (tmp_names->len, ==, 0);
  g_assert_true (g_file_test (cur_dir, G_FILE_TEST_IS_DIR));
  path = g_build_filename (new_dir, names->pdata[0], NULL);
  contents = read_all (path);
  g_assert_true (g_str_has_prefix (contents, envelope));
  g_assert_cmpuint (strlen (contents), ==, strlen (envelope) + length);
  g_assert_cmpmem (contents + strlen (envelope), length, data, length);
  assert_invoice_message (contents, strlen (contents), pdf);

  /* A second message is a second file. */
  g_assert_true (send_and_wait (mailer, to, message, NULL, &permanent, &error));
  g_assert_no_error (error);
  g_clear_pointer (&names, g_ptr_array_unref);
  g_clear_pointer (&tmp_names, g_ptr_array_unref);
  names = list_dir (new_dir);
  tmp_names = list_dir (tmp_dir);
  g_assert_cmpuint (names->len, ==, 2);
  g_assert_cmpuint (tmp_names->len, ==, 0);

  /* The mailer can go while a send runs. */
  {
    g_autoptr (GAsyncResult) result = NULL;
    PurserdMailer *doomed = purserd_mailer_new (&config);

    purserd_mailer_send_async (doomed, to, message, NULL, store_result_cb, &result);
    purserd_mailer_free (doomed);
    wait_for (&result);
    g_assert_true (purserd_mailer_send_finish (mailer, result, &permanent, &error));
    g_assert_no_error (error);
  }

  remove_tree (dir);
}

static void
test_maildir_errors (void)
{
  g_autofree char *dir = g_dir_make_tmp ("purser-mail-XXXXXX", NULL);
  g_autofree char *file = g_build_filename (dir, "not-a-folder", NULL);
  g_autofree char *maildir = g_build_filename (file, "Maildir", NULL);
  const char *const to[] = { "ap@example.com", NULL };
  const char *const bad[] = { "ap@example.com", "not an address", NULL };
  const char *const none[] = { NULL };
  g_autoptr (GBytes) message = g_bytes_new_static ("Subject: x\r\n\r\nx\r\n", 17);
  g_autoptr (PurserdMailer) mailer = NULL;
  g_autoptr (PurserdMailer) nowhere = NULL;
  g_autoptr (GError) error = NULL;
  PurserdMailConfig config = { .from = (char *) FROM, .maildir = maildir };
  PurserdMailConfig empty = { .from = (char *) FROM };
  gboolean permanent = FALSE;

  g_assert_true (g_file_set_contents (file, "", 0, NULL));
  mailer = purserd_mailer_new (&config);

  /* A maildir that cannot be made: try again later. */
  g_assert_false (send_and_wait (mailer, to, message, NULL, &permanent, &error));
  g_assert_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_MAILDIR);
  g_assert_false (permanent);
  g_clear_error (&error);

  /* A bad recipient: never. */
  g_assert_false (send_and_wait (mailer, bad, message, NULL, &permanent, &error));
  g_assert_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_RECIPIENT);
  g_assert_true (permanent);
  g_clear_error (&error);
  g_assert_false (send_and_wait (mailer, none, message, NULL, &permanent, &error));
  g_assert_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_RECIPIENT);
  g_assert_true (permanent);
  g_clear_error (&error);

  /* Nowhere to deliver. */
  g_assert_false (purserd_mail_config_check (&empty, &error));
  g_assert_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_CONFIG);
  g_clear_error (&error);
  nowhere = purserd_mailer_new (&empty);
  g_assert_false (send_and_wait (nowhere, to, message, NULL, &permanent, &error));
  g_assert_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_CONFIG);
  g_assert_false (permanent);
  g_clear_error (&error);

  remove_tree (dir);
}

/* ---- SMTP -------------------------------------------------------------------------- */

typedef struct
{
  char *dir;
  char *script;
  char *spool;
  guint16 port;
  GSubprocess *server;
} SmtpFixture;

static guint16
pick_free_port (GSocket **keep_listening)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) socket
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) local = NULL;
  guint16 port;

  g_assert_no_error (error);
  g_assert_true (g_socket_bind (socket, address, TRUE, &error));
  g_assert_no_error (error);
  local = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
  if (keep_listening != NULL)
    {
      /* Accepts connections (the kernel does) and never says a word. */
      g_assert_true (g_socket_listen (socket, &error));
      g_assert_no_error (error);
      *keep_listening = g_steal_pointer (&socket);
    }
  else
    g_socket_close (socket, NULL);
  return port;
}

static void
smtp_setup (SmtpFixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) probe = NULL;

  probe = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                            NULL, PYTHON, "-c", "import aiosmtpd", NULL);
  if (probe == NULL || !g_subprocess_wait_check (probe, NULL, NULL))
    {
      g_test_skip (PYTHON " with aiosmtpd (python3-aiosmtpd) is needed");
      return;
    }

  fixture->dir = g_dir_make_tmp ("purser-smtp-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->script = g_build_filename (fixture->dir, "smtp-server.py", NULL);
  fixture->spool = g_build_filename (fixture->dir, "spool", NULL);
  g_assert_cmpint (g_mkdir (fixture->spool, 0700), ==, 0);
  g_assert_true (g_file_set_contents (fixture->script, server_script, -1, &error));
  fixture->port = pick_free_port (NULL);
}

static void
server_stop (SmtpFixture *fixture)
{
  if (fixture->server == NULL)
    return;
  g_subprocess_force_exit (fixture->server);
  g_subprocess_wait (fixture->server, NULL, NULL);
  g_clear_object (&fixture->server);
}

static void
smtp_teardown (SmtpFixture *fixture, gconstpointer data)
{
  server_stop (fixture);
  if (fixture->dir != NULL)
    remove_tree (fixture->dir);
  g_free (fixture->dir);
  g_free (fixture->script);
  g_free (fixture->spool);
}

/* Starts the server and waits until it says it listens, then checks that it does. */
static void
server_start (SmtpFixture *fixture, const char *mode)
{
  g_autoptr (GSubprocessLauncher) launcher
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autofree char *port = g_strdup_printf ("%u", fixture->port);
  g_autoptr (GDataInputStream) output = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *line = NULL;

  g_assert_null (fixture->server);
  g_subprocess_launcher_unsetenv (launcher, "PYTHONPATH");
  g_subprocess_launcher_unsetenv (launcher, "PYTHONHOME");
  fixture->server = g_subprocess_launcher_spawn (launcher, &error, PYTHON, fixture->script, port,
                                                 fixture->spool, mode, NULL);
  g_assert_no_error (error);

  output = g_data_input_stream_new (g_subprocess_get_stdout_pipe (fixture->server));
  g_data_input_stream_read_line_async (output, G_PRIORITY_DEFAULT, NULL, store_result_cb, &result);
  wait_for (&result);
  line = g_data_input_stream_read_line_finish_utf8 (output, result, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (line, ==, "ready");

  g_socket_client_set_timeout (client, WAIT_SECONDS);
  connection = g_socket_client_connect_to_host (client, "127.0.0.1", fixture->port, NULL, &error);
  g_assert_no_error (error);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
}

/* The messages the server received, in order. */
static GPtrArray *
received (SmtpFixture *fixture)
{
  g_autoptr (GPtrArray) names = list_dir (fixture->spool);
  GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
  for (guint i = 0; i < names->len; i++)
    if (g_str_has_suffix (names->pdata[i], ".eml"))
      g_ptr_array_add (paths, g_build_filename (fixture->spool, names->pdata[i], NULL));
  return paths;
}

static JsonObject *
envelope_of (const char *eml_path)
{
  g_autofree char *base = g_strndup (eml_path, strlen (eml_path) - strlen (".eml"));
  g_autofree char *json_path = g_strconcat (base, ".json", NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;

  json_parser_load_from_file (parser, json_path, &error);
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static PurserdMailer *
smtp_mailer (SmtpFixture *fixture, const char *username, const char *password, gboolean require_tls)
{
  g_autofree char *url = g_strdup_printf ("smtp://127.0.0.1:%u", fixture->port);
  PurserdMailConfig config = {
    .smtp_url = url,
    .username = (char *) username,
    .password = (char *) password,
    .require_tls = require_tls,
    .from = (char *) FROM,
    .timeout_seconds = 10,
  };
  g_autoptr (GError) error = NULL;

  g_assert_true (purserd_mail_config_check (&config, &error));
  g_assert_no_error (error);
  return purserd_mailer_new (&config);
}

static void
test_smtp_deliver (SmtpFixture *fixture, gconstpointer data)
{
  const char *const to[] = { "ap@example.com", "cfo@example.org", NULL };
  const char *const envelope_to[]
      = { "ap@example.com", "cfo@example.org", "audit@example.net", NULL };
  g_autoptr (GBytes) pdf = pdf_bytes ();
  g_autoptr (GBytes) message = NULL;
  g_autoptr (PurserdMailer) mailer = NULL;
  g_autoptr (GPtrArray) messages = NULL;
  g_autoptr (JsonObject) envelope = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *description = NULL;
  g_autofree char *expected_description = NULL;
  gboolean permanent = TRUE;
  gsize contents_length = 0;
  JsonArray *rcpt;

  if (fixture->dir == NULL)
    return; /* skipped */
  server_start (fixture, "plain");
  mailer = smtp_mailer (fixture, NULL, NULL, FALSE);
  g_assert_true (purserd_mailer_uses_smtp (mailer));
  description = purserd_mailer_describe (mailer);
  expected_description = g_strdup_printf (
      "SMTP smtp://127.0.0.1:%u without login (STARTTLS when offered)", fixture->port);
  g_assert_cmpstr (description, ==, expected_description);

  message = compose_invoice (pdf, to);
  g_assert_true (send_and_wait (mailer, envelope_to, message, NULL, &permanent, &error));
  g_assert_no_error (error);
  g_assert_false (permanent);

  /* Once, byte for byte (dot-stuffing undone), with the PDF intact. */
  messages = received (fixture);
  g_assert_cmpuint (messages->len, ==, 1);
  g_file_get_contents (messages->pdata[0], &contents, &contents_length, &error);
  g_assert_no_error (error);
  g_assert_true (contents_length == g_bytes_get_size (message));
  g_assert_cmpmem (contents, contents_length, g_bytes_get_data (message, NULL),
                   g_bytes_get_size (message));
  assert_invoice_message (contents, contents_length, pdf);

  /* The envelope: the bare sender, every recipient (the third as a Bcc). */
  envelope = envelope_of (messages->pdata[0]);
  g_assert_cmpstr (json_object_get_string_member (envelope, "mail_from"), ==,
                   "billing@example.com");
  rcpt = json_object_get_array_member (envelope, "rcpt_tos");
  g_assert_cmpuint (json_array_get_length (rcpt), ==, 3);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpstr (json_array_get_string_element (rcpt, i), ==, envelope_to[i]);
  g_assert_true (json_object_get_null_member (envelope, "login"));
}

static void
test_smtp_retry (SmtpFixture *fixture, gconstpointer data)
{
  const char *const to[] = { "ap@example.com", NULL };
  g_autoptr (GBytes) pdf = pdf_bytes ();
  g_autoptr (GBytes) message = compose_invoice (pdf, to);
  g_autoptr (PurserdMailer) mailer = NULL;
  g_autoptr (GPtrArray) messages = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *contents = NULL;
  gboolean permanent = TRUE;

  if (fixture->dir == NULL)
    return; /* skipped */
  mailer = smtp_mailer (fixture, NULL, NULL, FALSE);

  /* Nobody listens: later. */
  g_assert_false (send_and_wait (mailer, to, message, NULL, &permanent, &error));
  g_assert_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_CONNECT);
  g_test_message ("server down: %s", error->message);
  g_assert_false (permanent);
  g_clear_error (&error);
  messages = received (fixture);
  g_assert_cmpuint (messages->len, ==, 0);
  g_clear_pointer (&messages, g_ptr_array_unref);

  /* The retry, once the server is up, delivers exactly one copy. */
  server_start (fixture, "plain");
  permanent = TRUE;
  g_assert_true (send_and_wait (mailer, to, message, NULL, &permanent, &error));
  g_assert_no_error (error);
  g_assert_false (permanent);
  messages = received (fixture);
  g_assert_cmpuint (messages->len, ==, 1);
  contents = read_all (messages->pdata[0]);
  assert_invoice_message (contents, strlen (contents), pdf);
}

static void
test_smtp_refused (SmtpFixture *fixture, gconstpointer data)
{
  const char *const nobody[] = { "ap@example.com", "nobody@example.com", NULL };
  const char *const busy[] = { "busy@example.com", NULL };
  const char *const to[] = { "ap@example.com", NULL };
  g_autoptr (GBytes) pdf = pdf_bytes ();
  g_autoptr (GBytes) message = compose_invoice (pdf, to);
  g_autoptr (PurserdMailer) mailer = NULL;
  g_autoptr (GPtrArray) messages = NULL;
  g_autoptr (GError) error = NULL;
  gboolean permanent = FALSE;

  if (fixture->dir == NULL)
    return; /* skipped */
  server_start (fixture, "plain");
  mailer = smtp_mailer (fixture, NULL, NULL, FALSE);

  /* 550 for one recipient: the message fails for good, and nobody gets it. */
  g_assert_false (send_and_wait (mailer, nobody, message, NULL, &permanent, &error));
  g_assert_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_REJECTED);
  g_test_message ("550: %s", error->message);
  g_assert_nonnull (strstr (error->message, "550 5.1.1 <nobody@example.com>: no such user here"));
  g_assert_true (permanent);
  g_clear_error (&error);

  /* 451: later. */
  g_assert_false (send_and_wait (mailer, busy, message, NULL, &permanent, &error));
  g_assert_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_TEMPORARY);
  g_test_message ("451: %s", error->message);
  g_assert_nonnull (strstr (error->message, "451"));
  g_assert_false (permanent);
  g_clear_error (&error);

  messages = received (fixture);
  g_assert_cmpuint (messages->len, ==, 0);

  /* STARTTLS required, and this server has none: a configuration problem, not the message's. */
  {
    g_autoptr (PurserdMailer) strict = smtp_mailer (fixture, NULL, NULL, TRUE);

    permanent = TRUE;
    g_assert_false (send_and_wait (strict, to, message, NULL, &permanent, &error));
    g_assert_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_TLS);
    g_test_message ("STARTTLS: %s", error->message);
    g_assert_false (permanent);
    g_clear_error (&error);
  }
  g_clear_pointer (&messages, g_ptr_array_unref);
  messages = received (fixture);
  g_assert_cmpuint (messages->len, ==, 0);
}

static void
test_smtp_auth (SmtpFixture *fixture, gconstpointer data)
{
  const char *const to[] = { "ap@example.com", NULL };
  g_autoptr (GBytes) pdf = pdf_bytes ();
  g_autoptr (GBytes) message = compose_invoice (pdf, to);
  g_autoptr (PurserdMailer) anonymous = NULL;
  g_autoptr (PurserdMailer) wrong = NULL;
  g_autoptr (PurserdMailer) mailer = NULL;
  g_autoptr (GPtrArray) messages = NULL;
  g_autoptr (JsonObject) envelope = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *description = NULL;
  gboolean permanent = TRUE;

  if (fixture->dir == NULL)
    return; /* skipped */
  server_start (fixture, "auth");

  /* No login where one is required: 530, fixed in the configuration. */
  anonymous = smtp_mailer (fixture, NULL, NULL, FALSE);
  g_assert_false (send_and_wait (anonymous, to, message, NULL, &permanent, &error));
  g_assert_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_AUTH);
  g_test_message ("no login: %s", error->message);
  g_assert_nonnull (strstr (error->message, "530"));
  g_assert_false (permanent);
  g_clear_error (&error);

  /* A wrong password: the same, and the password is not in the message. */
  wrong = smtp_mailer (fixture, USERNAME, "hunter2", FALSE);
  permanent = TRUE;
  g_assert_false (send_and_wait (wrong, to, message, NULL, &permanent, &error));
  g_assert_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_AUTH);
  g_test_message ("wrong password: %s", error->message);
  g_assert_null (strstr (error->message, "hunter2"));
  g_assert_false (permanent);
  g_clear_error (&error);

  mailer = smtp_mailer (fixture, USERNAME, PASSWORD, FALSE);
  description = purserd_mailer_describe (mailer);
  g_assert_nonnull (strstr (description, " as " USERNAME " "));
  g_assert_null (strstr (description, "horse"));
  g_assert_true (send_and_wait (mailer, to, message, NULL, &permanent, &error));
  g_assert_no_error (error);
  g_assert_false (permanent);

  messages = received (fixture);
  g_assert_cmpuint (messages->len, ==, 1);
  envelope = envelope_of (messages->pdata[0]);
  g_assert_cmpstr (json_object_get_string_member (envelope, "login"), ==, USERNAME);
}

static gboolean
cancel_cb (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_REMOVE;
}

static void
test_smtp_silent_server (void)
{
  const char *const to[] = { "ap@example.com", NULL };
  g_autoptr (GBytes) message = g_bytes_new_static ("Subject: x\r\n\r\nx\r\n", 17);
  g_autoptr (GSocket) listener = NULL;
  guint16 port = pick_free_port (&listener);
  g_autofree char *url = g_strdup_printf ("smtp://127.0.0.1:%u", port);
  g_autoptr (PurserdMailer) impatient = NULL;
  g_autoptr (PurserdMailer) patient = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  PurserdMailConfig config = { .smtp_url = url, .from = (char *) FROM, .timeout_seconds = 1 };
  gboolean permanent = TRUE;
  gint64 start;

  /* A server that never greets: the time-out ends the wait, and it is worth a retry. */
  impatient = purserd_mailer_new (&config);
  start = g_get_monotonic_time ();
  g_assert_false (send_and_wait (impatient, to, message, NULL, &permanent, &error));
  g_assert_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_CONNECT);
  g_test_message ("silent server: %s", error->message);
  g_assert_false (permanent);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 15 * G_USEC_PER_SEC);
  g_clear_error (&error);

  /* Cancelling stops the wait long before the time-out. */
  config.timeout_seconds = 120;
  patient = purserd_mailer_new (&config);
  g_timeout_add (200, cancel_cb, cancellable);
  start = g_get_monotonic_time ();
  permanent = TRUE;
  g_assert_false (send_and_wait (patient, to, message, cancellable, &permanent, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (permanent);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 10 * G_USEC_PER_SEC);
  g_clear_error (&error);

  /* Cancelled before it starts. */
  g_assert_false (send_and_wait (patient, to, message, cancellable, &permanent, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (permanent);
  g_clear_error (&error);

  g_socket_close (listener, NULL);
}

static void
test_smtp_config (void)
{
  g_autoptr (PurserdMailer) mailer = NULL;
  g_autoptr (PurserdMailer) tls = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *description = NULL;
  g_autofree char *tls_description = NULL;
  PurserdMailConfig config = {
    .smtp_url = (char *) "smtp://billing:s3cret-in-url@mail.example.com:587",
    .password = (char *) "s3cret-password",
    .require_tls = TRUE,
    .from = (char *) FROM,
  };
  PurserdMailConfig smtps = {
    .smtp_url = (char *) "smtps://mail.example.com:465",
    .username = (char *) "billing@example.com",
    .password = (char *) "s3cret-password",
    .from = (char *) FROM,
  };

  /* The password is never shown, not even the one in the URL. */
  mailer = purserd_mailer_new (&config);
  description = purserd_mailer_describe (mailer);
  g_assert_cmpstr (description, ==,
                   "SMTP smtp://billing@mail.example.com:587 as billing (STARTTLS required)");
  tls = purserd_mailer_new (&smtps);
  tls_description = purserd_mailer_describe (tls);
  g_assert_cmpstr (tls_description, ==,
                   "SMTP smtps://mail.example.com:465 as billing@example.com (TLS)");

  g_assert_true (purserd_mail_config_check (&config, &error));
  g_assert_no_error (error);

  config.smtp_url = (char *) "http://mail.example.com";
  g_assert_false (purserd_mail_config_check (&config, &error));
  g_assert_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_CONFIG);
  g_clear_error (&error);
  config.smtp_url = (char *) "smtp://:secret@";
  g_assert_false (purserd_mail_config_check (&config, &error));
  g_assert_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_CONFIG);
  g_assert_null (strstr (error->message, "secret"));
  g_clear_error (&error);
  config.smtp_url = (char *) "smtp://mail.example.com";
  config.from = (char *) "Purser Billing";
  g_assert_false (purserd_mail_config_check (&config, &error));
  g_assert_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_CONFIG);
  g_clear_error (&error);
  config.from = (char *) FROM;
  config.ca_file = (char *) "/nonexistent/ca.pem";
  g_assert_false (purserd_mail_config_check (&config, &error));
  g_assert_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_CONFIG);
  g_clear_error (&error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  main_thread = g_thread_self ();

  g_test_add_func ("/purser/server/mail/addresses", test_addresses);
  g_test_add_func ("/purser/server/mail/compose/full", test_compose_full);
  g_test_add_func ("/purser/server/mail/compose/text-only", test_compose_text_only);
  g_test_add_func ("/purser/server/mail/compose/alternative", test_compose_alternative);
  g_test_add_func ("/purser/server/mail/compose/text-with-attachment",
                   test_compose_text_with_attachment);
  g_test_add_func ("/purser/server/mail/compose/headers", test_compose_headers);
  g_test_add_func ("/purser/server/mail/render/templates", test_render_templates);
  g_test_add_func ("/purser/server/mail/render/escaping", test_render_escaping);
  g_test_add_func ("/purser/server/mail/render/errors", test_render_errors);
  g_test_add_func ("/purser/server/mail/render/compose", test_render_compose);
  g_test_add_func ("/purser/server/mail/maildir/deliver", test_maildir);
  g_test_add_func ("/purser/server/mail/maildir/errors", test_maildir_errors);
  g_test_add_func ("/purser/server/mail/smtp/config", test_smtp_config);
  g_test_add_func ("/purser/server/mail/smtp/silent-server", test_smtp_silent_server);
  g_test_add ("/purser/server/mail/smtp/deliver", SmtpFixture, NULL, smtp_setup, test_smtp_deliver,
              smtp_teardown);
  g_test_add ("/purser/server/mail/smtp/retry", SmtpFixture, NULL, smtp_setup, test_smtp_retry,
              smtp_teardown);
  g_test_add ("/purser/server/mail/smtp/refused", SmtpFixture, NULL, smtp_setup, test_smtp_refused,
              smtp_teardown);
  g_test_add ("/purser/server/mail/smtp/auth", SmtpFixture, NULL, smtp_setup, test_smtp_auth,
              smtp_teardown);

  return g_test_run ();
}
