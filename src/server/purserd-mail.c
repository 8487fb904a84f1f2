/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "purserd-csv.h"
#include "purserd-mail.h"

/* Line lengths: RFC 5322 allows 998 octets and asks for 78; RFC 2045 keeps encoded bodies
 * at 76; RFC 2047 keeps a line with encoded words at 76 and each word at 75. */
#define FOLD_COLUMN        78
#define ENCODED_COLUMN     76
#define QP_LINE_CONTENT    75 /* and "=" for a soft break */
#define BASE64_LINE        76
#define LONG_HEADER_TEXT   200
#define MAX_ADDRESS_LENGTH 254
#define DEFAULT_TIMEOUT    60
#define MAX_REPLY_LENGTH   200
#define MAILDIR_NAME_TRIES 10

struct _PurserdMailer
{
  char *smtp_url;
  char *username;
  char *password;
  gboolean require_tls;
  char *ca_file;
  char *from;
  char *envelope_from; /* the bare address of `from`, NULL when it has none */
  char *maildir;
  guint timeout_seconds;
};

typedef struct
{
  PurserdMailer *mailer; /* a reference */
  GStrv recipients;
  GBytes *message;
  gboolean permanent;
} SendData;

/* The message as libcurl reads it. */
typedef struct
{
  const guint8 *data;
  gsize length;
  gsize offset;
} Reader;

/* What a transfer learns beside its result. */
typedef struct
{
  GCancellable *cancellable;
  char *error_reply; /* the server's last 4xx or 5xx reply line, for error messages */
} Transfer;

static GOnce curl_once = G_ONCE_INIT;

static const char *const week_days[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
static const char *const months[]
    = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

GQuark
purserd_mail_error_quark (void)
{
  return g_quark_from_static_string ("purserd-mail-error-quark");
}

/* ---- Addresses --------------------------------------------------------------------- */

static gboolean
is_printable_ascii (const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || (guchar) *p > 0x7e)
      return FALSE;
  return TRUE;
}

gboolean
purserd_mail_address_is_valid (const char *address)
{
  if (address == NULL || strlen (address) > MAX_ADDRESS_LENGTH)
    return FALSE;
  return is_printable_ascii (address) && strchr (address, ':') == NULL
         && purserd_email_is_valid (address);
}

/* "Name <address>", "\"Name, Inc.\" <address>" or "address". */
static gboolean
parse_mailbox (const char *mailbox, char **display_name, char **address)
{
  g_autofree char *copy = g_strstrip (g_strdup (mailbox));
  g_autofree char *name = NULL;
  g_autofree char *bare = NULL;
  char *open = strrchr (copy, '<');

  if (open != NULL)
    {
      char *close = strchr (open, '>');

      if (close == NULL || close[1] != '\0')
        return FALSE;
      bare = g_strndup (open + 1, close - open - 1);
      *open = '\0';
      name = g_strstrip (g_strdup (copy));
      if (name[0] == '"' && strlen (name) >= 2 && name[strlen (name) - 1] == '"')
        {
          GString *unquoted = g_string_new (NULL);

          for (const char *p = name + 1; p < name + strlen (name) - 1; p++)
            {
              if (*p == '\\' && p[1] != '\0')
                p++;
              g_string_append_c (unquoted, *p);
            }
          g_free (name);
          name = g_string_free (unquoted, FALSE);
        }
    }
  else
    bare = g_strdup (copy);

  if (!purserd_mail_address_is_valid (bare))
    return FALSE;
  if (display_name != NULL)
    *display_name = (name != NULL && name[0] != '\0') ? g_steal_pointer (&name) : NULL;
  if (address != NULL)
    *address = g_steal_pointer (&bare);
  return TRUE;
}

char *
purserd_mail_address_from_mailbox (const char *mailbox)
{
  char *address = NULL;

  if (mailbox == NULL || !parse_mailbox (mailbox, NULL, &address))
    return NULL;
  return address;
}

/* ---- Headers ----------------------------------------------------------------------- */

/* Valid UTF-8 without control characters (a CR or LF would start a new header), without
 * leading or trailing spaces. */
static char *
sanitize_text (const char *text)
{
  char *clean = g_utf8_make_valid (text != NULL ? text : "", -1);

  for (char *p = clean; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || (guchar) *p == 0x7f)
      *p = ' ';
  return g_strstrip (clean);
}

static gboolean
needs_encoded_words (const char *text)
{
  if (!is_printable_ascii (text) || strstr (text, "=?") != NULL)
    return TRUE;
  /* A word too long to fold would make a line too long. */
  for (const char *p = text; *p != '\0';)
    {
      gsize word = strcspn (p, " ");

      if (word > LONG_HEADER_TEXT)
        return TRUE;
      p += word;
      p += strspn (p, " ");
    }
  return FALSE;
}

/* Printable ASCII folded at spaces; `column` is where the text starts on its line. */
static void
append_folded (GString *out, const char *text, gsize column)
{
  g_auto (GStrv) words = g_strsplit (text, " ", -1);

  for (guint i = 0; words[i] != NULL; i++)
    {
      gsize length = strlen (words[i]);

      if (i > 0)
        {
          if (column + 1 + length > FOLD_COLUMN)
            {
              g_string_append (out, "\r\n");
              column = 0;
            }
          g_string_append_c (out, ' ');
          column++;
        }
      g_string_append (out, words[i]);
      column += length;
    }
}

/* RFC 2047 B-encoded words, each holding whole UTF-8 characters, lines within 76. */
static void
append_encoded_words (GString *out, const char *text, gsize column)
{
  const char *p = text;
  gboolean first = TRUE;

  while (*p != '\0')
    {
      /* "=?UTF-8?B?" and "?=" take 12 characters, a folded line starts with a space. */
      gsize room = first ? ENCODED_COLUMN - MIN (column, ENCODED_COLUMN) : ENCODED_COLUMN - 1;
      gsize budget = room > 12 + 8 ? (room - 12) / 4 * 3 : 0;
      const char *end = p;
      g_autofree char *encoded = NULL;

      if (budget == 0)
        {
          g_assert (first);
          first = FALSE;
          g_string_append (out, "\r\n");
          continue;
        }
      while (*end != '\0')
        {
          const char *next = g_utf8_next_char (end);

          if ((gsize) (next - p) > budget)
            break;
          end = next;
        }
      if (end == p)
        end = g_utf8_next_char (p);

      encoded = g_base64_encode ((const guchar *) p, end - p);
      if (!first)
        g_string_append (out, "\r\n ");
      g_string_append_printf (out, "=?UTF-8?B?%s?=", encoded);
      first = FALSE;
      p = end;
    }
}

/* An unstructured header (Subject). */
static void
append_text_header (GString *out, const char *name, const char *value)
{
  g_autofree char *clean = sanitize_text (value);

  g_string_append_printf (out, "%s: ", name);
  if (needs_encoded_words (clean))
    append_encoded_words (out, clean, strlen (name) + 2);
  else
    append_folded (out, clean, strlen (name) + 2);
  g_string_append (out, "\r\n");
}

static void
append_mailbox_header (GString *out, const char *name, const char *display_name,
                       const char *address)
{
  g_autofree char *clean = sanitize_text (display_name);

  g_string_append_printf (out, "%s: ", name);
  if (clean[0] == '\0')
    {
      g_string_append_printf (out, "%s\r\n", address);
      return;
    }

  if (needs_encoded_words (clean) || strlen (clean) > LONG_HEADER_TEXT)
    append_encoded_words (out, clean, strlen (name) + 2);
  else if (strpbrk (clean, "()<>[]:;@\\,.\"") != NULL)
    {
      /* A quoted string. */
      g_string_append_c (out, '"');
      for (const char *p = clean; *p != '\0'; p++)
        {
          if (*p == '"' || *p == '\\')
            g_string_append_c (out, '\\');
          g_string_append_c (out, *p);
        }
      g_string_append_c (out, '"');
    }
  else
    g_string_append (out, clean);
  g_string_append_printf (out, " <%s>\r\n", address);
}

static void
append_address_list_header (GString *out, const char *name, const char *const *addresses)
{
  gsize column = strlen (name) + 2;

  g_string_append_printf (out, "%s: ", name);
  for (guint i = 0; addresses[i] != NULL; i++)
    {
      gsize length = strlen (addresses[i]);

      if (i > 0)
        {
          g_string_append_c (out, ',');
          column++;
          if (column + 1 + length + 1 > FOLD_COLUMN)
            {
              g_string_append (out, "\r\n");
              column = 0;
            }
          g_string_append_c (out, ' ');
          column++;
        }
      g_string_append (out, addresses[i]);
      column += length;
    }
  g_string_append (out, "\r\n");
}

static char *
format_date (gint64 date_unix)
{
  g_autoptr (GDateTime) date = g_date_time_new_from_unix_utc (date_unix);

  if (date == NULL)
    date = g_date_time_new_now_utc ();
  return g_strdup_printf (
      "%s, %02d %s %04d %02d:%02d:%02d +0000", week_days[g_date_time_get_day_of_week (date) - 1],
      g_date_time_get_day_of_month (date), months[g_date_time_get_month (date) - 1],
      g_date_time_get_year (date), g_date_time_get_hour (date), g_date_time_get_minute (date),
      g_date_time_get_second (date));
}

static gboolean
message_id_is_valid (const char *message_id)
{
  gsize length = strlen (message_id);

  return length > 2 && length < LONG_HEADER_TEXT && is_printable_ascii (message_id)
         && strchr (message_id, ' ') == NULL && strchr (message_id + 1, '<') == NULL
         && strchr (message_id, '@') != NULL;
}

static char *
normalize_message_id (const char *message_id)
{
  g_autofree char *random = NULL;

  if (message_id == NULL)
    {
      random = g_uuid_string_random ();
      return g_strdup_printf ("<%s@purser>", random);
    }
  if (message_id[0] == '<' && g_str_has_suffix (message_id, ">"))
    return g_strdup (message_id);
  return g_strdup_printf ("<%s>", message_id);
}

/* ---- Bodies ------------------------------------------------------------------------ */

static gboolean
is_line_end (const char *p, const char *end)
{
  return p == end || *p == '\n' || *p == '\r';
}

/* Quoted-printable (RFC 2045 6.7) with CRLF hard breaks for LF, CRLF or a lone CR. Also
 * encodes a leading "." and "From " so that no relay or mbox touches a line. */
static void
append_quoted_printable (GString *out, const char *text)
{
  const char *p = text;
  const char *end = text + strlen (text);

  while (p < end)
    {
      gsize column = 0;

      for (; !is_line_end (p, end); p++)
        {
          guchar c = *p;
          gboolean literal = FALSE;

          for (int pass = 0; pass < 2; pass++)
            {
              if (c == ' ' || c == '\t')
                literal = !is_line_end (p + 1, end);
              else if (column == 0 && (c == '.' || (c == 'F' && strncmp (p, "From ", 5) == 0)))
                literal = FALSE;
              else
                literal = c >= 33 && c <= 126 && c != '=';

              if (column + (literal ? 1 : 3) <= QP_LINE_CONTENT)
                break;
              g_string_append (out, "=\r\n");
              column = 0;
            }

          if (literal)
            g_string_append_c (out, c);
          else
            g_string_append_printf (out, "=%02X", c);
          column += literal ? 1 : 3;
        }

      if (p < end)
        {
          g_string_append (out, "\r\n");
          if (*p == '\r' && p + 1 < end && p[1] == '\n')
            p++;
          p++;
        }
    }
}

static void
append_base64_lines (GString *out, GBytes *bytes)
{
  gsize size = 0;
  const guchar *data = bytes != NULL ? g_bytes_get_data (bytes, &size) : NULL;
  g_autofree char *encoded = g_base64_encode (data, size);
  gsize length = strlen (encoded);

  for (gsize i = 0; i < length; i += BASE64_LINE)
    {
      g_string_append_len (out, encoded + i, MIN (BASE64_LINE, length - i));
      g_string_append (out, "\r\n");
    }
}

static gboolean
is_token_char (char c)
{
  return g_ascii_isalnum (c) || strchr ("!#$&^_.+-", c) != NULL;
}

static gboolean
content_type_is_valid (const char *content_type)
{
  const char *slash;

  if (content_type == NULL || strlen (content_type) > 100)
    return FALSE;
  slash = strchr (content_type, '/');
  if (slash == NULL || slash == content_type || slash[1] == '\0')
    return FALSE;
  for (const char *p = content_type; *p != '\0'; p++)
    if (p != slash && !is_token_char (*p))
      return FALSE;
  return TRUE;
}

static char *
clean_filename (const char *filename)
{
  g_autofree char *clean = sanitize_text (filename);

  g_strdelimit (clean, "/\\", '_');
  if (clean[0] == '\0')
    return g_strdup ("attachment");
  /* Within a line, whatever the encoding. */
  if (strlen (clean) > LONG_HEADER_TEXT)
    {
      const char *cut = clean + LONG_HEADER_TEXT;

      cut = g_utf8_find_prev_char (clean, cut + 1);
      clean[cut - clean] = '\0';
    }
  return g_steal_pointer (&clean);
}

static void
append_quoted (GString *out, const char *text)
{
  g_string_append_c (out, '"');
  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_c (out, '\\');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

/* filename*0*=UTF-8''…; filename*1*=… (RFC 2231), in pieces that keep lines short. */
static void
append_extended_parameter (GString *out, const char *name, const char *value)
{
  GString *piece = g_string_new (NULL);
  guint index = 0;

  for (const char *p = value;; p++)
    {
      if (*p == '\0' || piece->len >= 60)
        {
          g_string_append_printf (out, ";\r\n %s*%u*=%s%s", name, index,
                                  index == 0 ? "UTF-8''" : "", piece->str);
          g_string_truncate (piece, 0);
          index++;
        }
      if (*p == '\0')
        break;
      if (g_ascii_isalnum (*p) || strchr ("!#$&+-.^_`|~", *p) != NULL)
        g_string_append_c (piece, *p);
      else
        g_string_append_printf (piece, "%%%02X", (guchar) *p);
    }
  g_string_free (piece, TRUE);
}

static void
append_attachment (GString *out, const PurserdMailAttachment *attachment)
{
  g_autofree char *filename = clean_filename (attachment->filename);
  const char *content_type = content_type_is_valid (attachment->content_type)
                                 ? attachment->content_type
                                 : "application/octet-stream";

  g_string_append_printf (out, "Content-Type: %s", content_type);
  if (is_printable_ascii (filename))
    {
      g_string_append (out, ";\r\n name=");
      append_quoted (out, filename);
      g_string_append (out, "\r\nContent-Disposition: attachment;\r\n filename=");
      append_quoted (out, filename);
    }
  else
    {
      /* An ASCII stand-in for old readers, the real name for the others. */
      g_autofree char *fallback = g_str_to_ascii (filename, "C");

      g_strdelimit (fallback, "?", '_');
      g_string_append (out, ";\r\n name=");
      append_quoted (out, fallback);
      g_string_append (out, "\r\nContent-Disposition: attachment");
      append_extended_parameter (out, "filename", filename);
    }
  g_string_append (out, "\r\nContent-Transfer-Encoding: base64\r\n\r\n");
  append_base64_lines (out, attachment->data);
}

static void
append_text_part (GString *out, const char *subtype, const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text, -1);

  g_string_append_printf (out,
                          "Content-Type: text/%s; charset=UTF-8\r\n"
                          "Content-Transfer-Encoding: quoted-printable\r\n"
                          "\r\n",
                          subtype);
  append_quoted_printable (out, valid);
}

static void
append_multipart_start (GString *out, const char *subtype, const char *boundary, gboolean top_level)
{
  g_string_append_printf (out, "Content-Type: multipart/%s;\r\n boundary=\"%s\"\r\n\r\n", subtype,
                          boundary);
  if (top_level)
    g_string_append (out, "This is a message in MIME format.\r\n");
  g_string_append_printf (out, "--%s\r\n", boundary);
}

static void
append_alternative (GString *out, const PurserdMail *mail, const char *boundary, gboolean top_level)
{
  append_multipart_start (out, "alternative", boundary, top_level);
  append_text_part (out, "plain", mail->text);
  g_string_append_printf (out, "\r\n--%s\r\n", boundary);
  append_text_part (out, "html", mail->html);
  g_string_append_printf (out, "\r\n--%s--\r\n", boundary);
}

/* "=_" appears in neither quoted-printable nor base64, so these never meet the content. */
static char *
make_boundary (const char *kind, const PurserdMail *mail, const char *message_id, gint64 date_unix)
{
  g_autoptr (GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree char *date = g_strdup_printf ("%" G_GINT64_FORMAT, date_unix);

  g_checksum_update (checksum, (const guchar *) message_id, -1);
  g_checksum_update (checksum, (const guchar *) date, -1);
  if (mail->subject != NULL)
    g_checksum_update (checksum, (const guchar *) mail->subject, -1);
  return g_strdup_printf ("=_purser_%s_%.32s", kind, g_checksum_get_string (checksum));
}

/* ---- Messages ---------------------------------------------------------------------- */

PurserdMailAttachment *
purserd_mail_attachment_new (const char *filename, const char *content_type, GBytes *data)
{
  PurserdMailAttachment *attachment = g_new0 (PurserdMailAttachment, 1);

  g_return_val_if_fail (data != NULL, NULL);

  attachment->filename = g_strdup (filename);
  attachment->content_type = g_strdup (content_type);
  attachment->data = g_bytes_ref (data);
  return attachment;
}

void
purserd_mail_attachment_free (PurserdMailAttachment *attachment)
{
  if (attachment == NULL)
    return;
  g_free (attachment->filename);
  g_free (attachment->content_type);
  g_clear_pointer (&attachment->data, g_bytes_unref);
  g_free (attachment);
}

void
purserd_mail_clear (PurserdMail *mail)
{
  g_return_if_fail (mail != NULL);

  g_free (mail->from);
  g_strfreev (mail->to);
  g_free (mail->subject);
  g_free (mail->text);
  g_free (mail->html);
  g_clear_pointer (&mail->attachments, g_ptr_array_unref);
  g_free (mail->message_id);
  memset (mail, 0, sizeof *mail);
}

void
purserd_mail_add_attachment (PurserdMail *mail, const char *filename, const char *content_type,
                             GBytes *data)
{
  g_return_if_fail (mail != NULL);
  g_return_if_fail (data != NULL);

  if (mail->attachments == NULL)
    mail->attachments
        = g_ptr_array_new_with_free_func ((GDestroyNotify) purserd_mail_attachment_free);
  g_ptr_array_add (mail->attachments, purserd_mail_attachment_new (filename, content_type, data));
}

GBytes *
purserd_mail_compose (const PurserdMail *mail, gint64 date_unix)
{
  g_autofree char *from_name = NULL;
  g_autofree char *from_address = NULL;
  g_autofree char *date = NULL;
  g_autofree char *message_id = NULL;
  gboolean from_valid;
  guint n_attachments;
  gsize size;
  GString *out;

  g_return_val_if_fail (mail != NULL, NULL);
  g_return_val_if_fail (mail->from != NULL, NULL);
  from_valid = parse_mailbox (mail->from, &from_name, &from_address);
  g_return_val_if_fail (from_valid, NULL);
  g_return_val_if_fail (mail->to != NULL && mail->to[0] != NULL, NULL);
  for (guint i = 0; mail->to[i] != NULL; i++)
    g_return_val_if_fail (purserd_mail_address_is_valid (mail->to[i]), NULL);
  g_return_val_if_fail (mail->text != NULL, NULL);
  message_id = normalize_message_id (mail->message_id);
  g_return_val_if_fail (message_id_is_valid (message_id), NULL);

  n_attachments = mail->attachments != NULL ? mail->attachments->len : 0;
  size = 4096 + strlen (mail->text) * 2 + (mail->html != NULL ? strlen (mail->html) * 2 : 0);
  for (guint i = 0; i < n_attachments; i++)
    {
      const PurserdMailAttachment *attachment = g_ptr_array_index (mail->attachments, i);

      g_return_val_if_fail (attachment != NULL && attachment->data != NULL, NULL);
      size += g_bytes_get_size (attachment->data) / 3 * 4 * 78 / 76 + 512;
    }
  out = g_string_sized_new (size);

  date = format_date (date_unix);
  g_string_append_printf (out, "Date: %s\r\n", date);
  append_mailbox_header (out, "From", from_name, from_address);
  append_address_list_header (out, "To", (const char *const *) mail->to);
  append_text_header (out, "Subject", mail->subject);
  g_string_append_printf (out, "Message-ID: %s\r\n", message_id);
  g_string_append (out, "MIME-Version: 1.0\r\n");
  /* RFC 3834: no vacation replies to billing mail. */
  g_string_append (out, "Auto-Submitted: auto-generated\r\n");

  if (n_attachments > 0)
    {
      g_autofree char *mixed = make_boundary ("mix", mail, message_id, date_unix);

      append_multipart_start (out, "mixed", mixed, TRUE);
      if (mail->html != NULL)
        {
          g_autofree char *alternative = make_boundary ("alt", mail, message_id, date_unix);

          append_alternative (out, mail, alternative, FALSE);
        }
      else
        append_text_part (out, "plain", mail->text);
      for (guint i = 0; i < n_attachments; i++)
        {
          g_string_append_printf (out, "\r\n--%s\r\n", mixed);
          append_attachment (out, g_ptr_array_index (mail->attachments, i));
        }
      g_string_append_printf (out, "\r\n--%s--\r\n", mixed);
    }
  else if (mail->html != NULL)
    {
      g_autofree char *alternative = make_boundary ("alt", mail, message_id, date_unix);

      append_alternative (out, mail, alternative, TRUE);
    }
  else
    {
      append_text_part (out, "plain", mail->text);
      if (!g_str_has_suffix (out->str, "\r\n"))
        g_string_append (out, "\r\n");
    }

  return g_string_free_to_bytes (out);
}

/* ---- Configuration ----------------------------------------------------------------- */

void
purserd_mail_config_clear (PurserdMailConfig *config)
{
  g_return_if_fail (config != NULL);

  g_free (config->smtp_url);
  g_free (config->username);
  if (config->password != NULL)
    explicit_bzero (config->password, strlen (config->password));
  g_free (config->password);
  g_free (config->ca_file);
  g_free (config->from);
  g_free (config->maildir);
  memset (config, 0, sizeof *config);
}

static gboolean
has_smtp (const char *smtp_url)
{
  return smtp_url != NULL && smtp_url[0] != '\0';
}

gboolean
purserd_mail_config_check (const PurserdMailConfig *config, GError **error)
{
  g_autofree char *from = NULL;

  g_return_val_if_fail (config != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  from = config->from != NULL ? purserd_mail_address_from_mailbox (config->from) : NULL;
  if (from == NULL)
    {
      g_set_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_CONFIG,
                   "The sender “%s” is not an e-mail address (write “Name <address>” or "
                   "“address”)",
                   config->from != NULL ? config->from : "");
      return FALSE;
    }

  if (has_smtp (config->smtp_url))
    {
      /* The URL may hold a password: never quote it. */
      g_autoptr (GUri) uri = g_uri_parse (config->smtp_url, G_URI_FLAGS_HAS_PASSWORD, NULL);
      const char *scheme = uri != NULL ? g_uri_get_scheme (uri) : NULL;

      if (uri == NULL || g_uri_get_host (uri) == NULL || g_uri_get_host (uri)[0] == '\0')
        {
          g_set_error_literal (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_CONFIG,
                               "The SMTP URL is not a URL with a host, like "
                               "smtp://mail.example.com:587");
          return FALSE;
        }
      if (g_ascii_strcasecmp (scheme, "smtp") != 0 && g_ascii_strcasecmp (scheme, "smtps") != 0)
        {
          g_set_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_CONFIG,
                       "The SMTP URL starts with “%s://”; use smtp:// (STARTTLS) or smtps://",
                       scheme);
          return FALSE;
        }
      if (config->ca_file != NULL && !g_file_test (config->ca_file, G_FILE_TEST_IS_REGULAR))
        {
          g_set_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_CONFIG,
                       "The CA file “%s” does not exist", config->ca_file);
          return FALSE;
        }
    }
  else if (config->maildir == NULL || config->maildir[0] == '\0')
    {
      g_set_error_literal (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_CONFIG,
                           "Neither an SMTP server nor a maildir is configured: mail has "
                           "nowhere to go");
      return FALSE;
    }
  return TRUE;
}

/* ---- The mailer -------------------------------------------------------------------- */

static gpointer
init_curl (gpointer data)
{
  return GINT_TO_POINTER (curl_global_init (CURL_GLOBAL_DEFAULT));
}

static void
mailer_clear (gpointer data)
{
  PurserdMailer *self = data;

  g_free (self->smtp_url);
  g_free (self->username);
  if (self->password != NULL)
    explicit_bzero (self->password, strlen (self->password));
  g_free (self->password);
  g_free (self->ca_file);
  g_free (self->from);
  g_free (self->envelope_from);
  g_free (self->maildir);
}

PurserdMailer *
purserd_mailer_new (const PurserdMailConfig *config)
{
  PurserdMailer *self;

  g_return_val_if_fail (config != NULL, NULL);

  g_once (&curl_once, init_curl, NULL);

  self = g_atomic_rc_box_new0 (PurserdMailer);
  self->smtp_url = has_smtp (config->smtp_url) ? g_strdup (config->smtp_url) : NULL;
  self->username = g_strdup (config->username);
  self->password = g_strdup (config->password);
  self->require_tls = config->require_tls;
  self->ca_file = g_strdup (config->ca_file);
  self->from = g_strdup (config->from);
  self->envelope_from
      = config->from != NULL ? purserd_mail_address_from_mailbox (config->from) : NULL;
  self->maildir
      = (config->maildir != NULL && config->maildir[0] != '\0') ? g_strdup (config->maildir) : NULL;
  self->timeout_seconds = config->timeout_seconds > 0 ? config->timeout_seconds : DEFAULT_TIMEOUT;
  return self;
}

void
purserd_mailer_free (PurserdMailer *self)
{
  if (self != NULL)
    g_atomic_rc_box_release_full (self, mailer_clear);
}

gboolean
purserd_mailer_uses_smtp (PurserdMailer *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->smtp_url != NULL;
}

const char *
purserd_mailer_get_from (PurserdMailer *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->from;
}

char *
purserd_mailer_describe (PurserdMailer *self)
{
  g_autoptr (GUri) uri = NULL;
  g_autofree char *shown = NULL;
  const char *user;
  const char *security;

  g_return_val_if_fail (self != NULL, NULL);

  if (self->smtp_url == NULL)
    {
      if (self->maildir == NULL)
        return g_strdup ("nowhere: neither SMTP nor a maildir is configured");
      return g_strdup_printf ("maildir %s (SMTP is not configured)", self->maildir);
    }

  uri = g_uri_parse (self->smtp_url, G_URI_FLAGS_HAS_PASSWORD, NULL);
  if (uri == NULL)
    return g_strdup ("SMTP with an invalid URL");
  shown = g_uri_to_string_partial (uri, G_URI_HIDE_PASSWORD | G_URI_HIDE_AUTH_PARAMS);
  user = self->username != NULL ? self->username : g_uri_get_user (uri);
  if (g_ascii_strcasecmp (g_uri_get_scheme (uri), "smtps") == 0)
    security = "TLS";
  else
    security = self->require_tls ? "STARTTLS required" : "STARTTLS when offered";

  if (user != NULL && user[0] != '\0')
    return g_strdup_printf ("SMTP %s as %s (%s)", shown, user, security);
  return g_strdup_printf ("SMTP %s without login (%s)", shown, security);
}

/* ---- Maildir ----------------------------------------------------------------------- */

static gboolean
write_all (int fd, const char *data, gsize length)
{
  while (length > 0)
    {
      gssize written = write (fd, data, length);

      if (written < 0)
        {
          if (errno == EINTR)
            continue;
          return FALSE;
        }
      data += written;
      length -= written;
    }
  return TRUE;
}

/* time.MusecPpidQcounterRrandom.host, as the maildir convention has it. */
static char *
maildir_unique_name (void)
{
  static gint counter;
  gint64 now = g_get_real_time ();
  g_autoptr (GString) host = g_string_new (NULL);

  for (const char *p = g_get_host_name (); *p != '\0'; p++)
    {
      if (*p == '/')
        g_string_append (host, "\\057");
      else if (*p == ':')
        g_string_append (host, "\\072");
      else
        g_string_append_c (host, *p);
    }
  return g_strdup_printf ("%" G_GINT64_FORMAT ".M%06dP%dQ%uR%08x.%s", now / G_USEC_PER_SEC,
                          (int) (now % G_USEC_PER_SEC), (int) getpid (),
                          (guint) g_atomic_int_add (&counter, 1), g_random_int (), host->str);
}

static void
set_errno_error (GError **error, int saved_errno, const char *what, const char *path)
{
  g_set_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_MAILDIR, "Could not %s “%s”: %s", what,
               path, g_strerror (saved_errno));
}

static gboolean
sync_directory (const char *path, GError **error)
{
  int fd = g_open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);

  if (fd < 0 || fsync (fd) != 0)
    {
      set_errno_error (error, errno, "sync", path);
      if (fd >= 0)
        close (fd);
      return FALSE;
    }
  close (fd);
  return TRUE;
}

static gboolean
deliver_to_maildir (PurserdMailer *mailer, const char *const *recipients, GBytes *message,
                    GError **error)
{
  static const char *const subdirs[] = { "tmp", "new", "cur" };
  g_autofree char *tmp_dir = g_build_filename (mailer->maildir, "tmp", NULL);
  g_autofree char *new_dir = g_build_filename (mailer->maildir, "new", NULL);
  GString *envelope = g_string_new (NULL);
  g_autofree char *envelope_text = NULL;
  gsize size = 0;
  const char *data = g_bytes_get_data (message, &size);

  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *path = g_build_filename (mailer->maildir, subdirs[i], NULL);

      if (g_mkdir_with_parents (path, 0700) != 0)
        {
          set_errno_error (error, errno, "create the maildir folder", path);
          g_string_free (envelope, TRUE);
          return FALSE;
        }
    }

  /* What a delivery agent adds: the envelope, which the headers need not show. */
  if (mailer->envelope_from != NULL)
    g_string_append_printf (envelope, "Return-Path: <%s>\r\n", mailer->envelope_from);
  for (guint i = 0; recipients[i] != NULL; i++)
    g_string_append_printf (envelope, "X-Original-To: %s\r\n", recipients[i]);
  envelope_text = g_string_free (envelope, FALSE);

  for (guint attempt = 0; attempt < MAILDIR_NAME_TRIES; attempt++)
    {
      g_autofree char *name = maildir_unique_name ();
      g_autofree char *tmp_path = g_build_filename (tmp_dir, name, NULL);
      g_autofree char *new_path = g_build_filename (new_dir, name, NULL);
      int fd = g_open (tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      int saved_errno;

      if (fd < 0)
        {
          if (errno == EEXIST)
            continue;
          set_errno_error (error, errno, "create", tmp_path);
          return FALSE;
        }
      if (!write_all (fd, envelope_text, strlen (envelope_text)) || !write_all (fd, data, size)
          || fsync (fd) != 0)
        {
          saved_errno = errno;
          close (fd);
          g_unlink (tmp_path);
          set_errno_error (error, saved_errno, "write", tmp_path);
          return FALSE;
        }
      if (close (fd) != 0)
        {
          saved_errno = errno;
          g_unlink (tmp_path);
          set_errno_error (error, saved_errno, "write", tmp_path);
          return FALSE;
        }

      /* link() never replaces a message; rename() where hard links are not supported. */
      if (link (tmp_path, new_path) != 0)
        {
          saved_errno = errno;
          if (saved_errno == EEXIST)
            {
              g_unlink (tmp_path);
              continue;
            }
          if (g_rename (tmp_path, new_path) != 0)
            {
              saved_errno = errno;
              g_unlink (tmp_path);
              set_errno_error (error, saved_errno, "move the message into", new_dir);
              return FALSE;
            }
        }
      else
        g_unlink (tmp_path);
      return sync_directory (new_dir, error);
    }

  g_set_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_MAILDIR,
               "Could not find a free file name in “%s”", tmp_dir);
  return FALSE;
}

/* ---- SMTP -------------------------------------------------------------------------- */

static size_t
read_message_cb (char *buffer, size_t size, size_t n_items, void *user_data)
{
  Reader *reader = user_data;
  gsize length = MIN (size * n_items, reader->length - reader->offset);

  memcpy (buffer, reader->data + reader->offset, length);
  reader->offset += length;
  return length;
}

static int
progress_cb (void *user_data, curl_off_t download_total, curl_off_t download_now,
             curl_off_t upload_total, curl_off_t upload_now)
{
  Transfer *transfer = user_data;

  return g_cancellable_is_cancelled (transfer->cancellable) ? 1 : 0;
}

/* Keeps the server's last error reply (4xx, 5xx): a QUIT's "221" after it does not count.
 * Only CURLINFO_HEADER_IN is looked at: what the client sends (AUTH with the password, the
 * message) is never kept. */
static int
debug_cb (CURL *handle, curl_infotype type, char *data, size_t size, void *user_data)
{
  Transfer *transfer = user_data;
  g_autofree char *line = NULL;
  const char *start = data;
  const char *end = data + size;

  if (type != CURLINFO_HEADER_IN)
    return 0;

  while (end > start && (end[-1] == '\r' || end[-1] == '\n'))
    end--;
  for (const char *p = start; p < end; p++)
    if (*p == '\n')
      start = p + 1;
  if (end - start < 3 || (start[0] != '4' && start[0] != '5') || !g_ascii_isdigit (start[1])
      || !g_ascii_isdigit (start[2]))
    return 0;

  line = g_strndup (start, MIN ((gsize) (end - start), MAX_REPLY_LENGTH));
  for (char *p = line; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || (guchar) *p > 0x7e)
      *p = '?';
  g_free (transfer->error_reply);
  transfer->error_reply = g_steal_pointer (&line);
  return 0;
}

/* An EHLO with this host's name, when it has a dotted one and the URL names none: some
 * servers frown at curl's default "localhost". */
static char *
url_with_ehlo_domain (const char *smtp_url)
{
  const char *authority = strstr (smtp_url, "://");
  const char *host = g_get_host_name ();

  if (authority == NULL || strpbrk (authority + 3, "/?#") != NULL || strchr (host, '.') == NULL
      || !is_printable_ascii (host) || strpbrk (host, "/?#%@ ") != NULL)
    return g_strdup (smtp_url);
  return g_strconcat (smtp_url, "/", host, NULL);
}

static gboolean
is_tls_failure (CURLcode code)
{
  static const CURLcode tls_failures[] = {
    CURLE_SSL_CONNECT_ERROR,    CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM,
    CURLE_SSL_CIPHER,           CURLE_SSL_CACERT_BADFILE,       CURLE_SSL_ENGINE_NOTFOUND,
    CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_ENGINE_INITFAILED,    CURLE_SSL_CRL_BADFILE,
    CURLE_SSL_ISSUER_ERROR,     CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS,
    CURLE_SSL_SHUTDOWN_FAILED,  CURLE_SSL_CLIENTCERT,
  };

  for (guint i = 0; i < G_N_ELEMENTS (tls_failures); i++)
    if (code == tls_failures[i])
      return TRUE;
  return FALSE;
}

static void
set_smtp_error (GError **error, gboolean *permanent, CURLcode code, long reply_code,
                const char *reply, const char *error_buffer)
{
  const char *curl_text = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror (code);
  g_autofree char *detail = NULL;

  *permanent = FALSE;
  if (reply != NULL && reply_code >= 400)
    detail = g_strdup_printf ("“%s” (%s)", reply, curl_text);
  else
    detail = g_strdup (curl_text);

  if (code == CURLE_UNSUPPORTED_PROTOCOL || code == CURLE_URL_MALFORMAT
      || code == CURLE_NOT_BUILT_IN)
    g_set_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_CONFIG,
                 "The SMTP URL cannot be used: %s", curl_text);
  else if (code == CURLE_COULDNT_RESOLVE_HOST || code == CURLE_COULDNT_RESOLVE_PROXY
           || code == CURLE_COULDNT_CONNECT)
    g_set_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_CONNECT,
                 "Could not connect to the mail server: %s", curl_text);
  else if (code == CURLE_OPERATION_TIMEDOUT)
    g_set_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_CONNECT,
                 "The mail server did not answer in time: %s", curl_text);
  else if (code == CURLE_LOGIN_DENIED)
    g_set_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_AUTH,
                 "The mail server refused the login: %s", detail);
  else if (code == CURLE_USE_SSL_FAILED)
    g_set_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_TLS,
                 "The mail server does not offer STARTTLS, which is required: %s", curl_text);
  else if (is_tls_failure (code))
    g_set_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_TLS,
                 "The TLS connection to the mail server failed: %s", curl_text);
  else if (reply_code == 530)
    g_set_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_AUTH,
                 "The mail server requires a login: %s", detail);
  else if (reply_code == 534 || reply_code == 535 || reply_code == 538)
    g_set_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_AUTH,
                 "The mail server refused the login: %s", detail);
  else if (reply_code >= 500 && reply_code < 600)
    {
      *permanent = TRUE;
      g_set_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_REJECTED,
                   "The mail server refused the message: %s", detail);
    }
  else if (reply_code >= 400 && reply_code < 500)
    g_set_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_TEMPORARY,
                 "The mail server cannot take the message now: %s", detail);
  else
    g_set_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_CONNECT,
                 "Sending the message failed: %s", detail);
}

static gboolean
send_over_smtp (PurserdMailer *mailer, const char *const *recipients, GBytes *message,
                GCancellable *cancellable, gboolean *permanent, GError **error)
{
  g_autofree char *url = url_with_ehlo_domain (mailer->smtp_url);
  g_autofree char *mail_from = g_strdup_printf ("<%s>", mailer->envelope_from);
  char error_buffer[CURL_ERROR_SIZE] = "";
  struct curl_slist *rcpt = NULL;
  Transfer transfer = { cancellable, NULL };
  Reader reader = { 0 };
  long reply_code = 0;
  long timeout = mailer->timeout_seconds;
  CURLcode code;
  CURL *curl;

  *permanent = FALSE;
  curl = curl_easy_init ();
  if (curl == NULL)
    {
      g_set_error_literal (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_CONFIG,
                           "Could not set up libcurl");
      return FALSE;
    }

  reader.data = g_bytes_get_data (message, &reader.length);
  for (guint i = 0; recipients[i] != NULL; i++)
    {
      g_autofree char *address = g_strdup_printf ("<%s>", recipients[i]);

      rcpt = curl_slist_append (rcpt, address);
    }

  curl_easy_setopt (curl, CURLOPT_URL, url);
  curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt (curl, CURLOPT_USE_SSL,
                    (long) (mailer->require_tls ? CURLUSESSL_ALL : CURLUSESSL_TRY));
  if (mailer->ca_file != NULL)
    curl_easy_setopt (curl, CURLOPT_CAINFO, mailer->ca_file);
  if (mailer->username != NULL)
    curl_easy_setopt (curl, CURLOPT_USERNAME, mailer->username);
  if (mailer->password != NULL)
    curl_easy_setopt (curl, CURLOPT_PASSWORD, mailer->password);

  curl_easy_setopt (curl, CURLOPT_MAIL_FROM, mail_from);
  curl_easy_setopt (curl, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt (curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt (curl, CURLOPT_READFUNCTION, read_message_cb);
  curl_easy_setopt (curl, CURLOPT_READDATA, &reader);
  curl_easy_setopt (curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t) reader.length);

  /* To connect, for each reply, against a stalled upload; and a cap on the whole. */
  curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT, timeout);
  curl_easy_setopt (curl, CURLOPT_SERVER_RESPONSE_TIMEOUT, timeout);
  curl_easy_setopt (curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt (curl, CURLOPT_LOW_SPEED_TIME, timeout);
  curl_easy_setopt (curl, CURLOPT_TIMEOUT, timeout * 10);

  curl_easy_setopt (curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt (curl, CURLOPT_XFERINFOFUNCTION, progress_cb);
  curl_easy_setopt (curl, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt (curl, CURLOPT_VERBOSE, 1L);
  curl_easy_setopt (curl, CURLOPT_DEBUGFUNCTION, debug_cb);
  curl_easy_setopt (curl, CURLOPT_DEBUGDATA, &transfer);

  code = curl_easy_perform (curl);
  curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &reply_code);
  curl_easy_cleanup (curl);
  curl_slist_free_all (rcpt);

  if (code == CURLE_ABORTED_BY_CALLBACK && g_cancellable_is_cancelled (cancellable))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                           "Sending the message was cancelled");
      g_free (transfer.error_reply);
      return FALSE;
    }
  if (code != CURLE_OK)
    {
      set_smtp_error (error, permanent, code, reply_code, transfer.error_reply, error_buffer);
      g_free (transfer.error_reply);
      return FALSE;
    }
  g_free (transfer.error_reply);
  return TRUE;
}

/* ---- Sending ----------------------------------------------------------------------- */

static void
send_data_free (gpointer data)
{
  SendData *send = data;

  purserd_mailer_free (send->mailer);
  g_strfreev (send->recipients);
  g_bytes_unref (send->message);
  g_free (send);
}

static void
send_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  SendData *send = task_data;
  PurserdMailer *mailer = send->mailer;
  const char *const *recipients = (const char *const *) send->recipients;
  GError *error = NULL;
  gboolean sent = FALSE;

  send->permanent = FALSE;
  if (g_cancellable_set_error_if_cancelled (cancellable, &error))
    ;
  else if (mailer->smtp_url != NULL && GPOINTER_TO_INT (curl_once.retval) != CURLE_OK)
    g_set_error_literal (&error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_CONFIG,
                         "libcurl could not be initialized");
  else if (mailer->smtp_url != NULL && mailer->envelope_from == NULL)
    g_set_error (&error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_CONFIG,
                 "The configured sender “%s” is not an e-mail address",
                 mailer->from != NULL ? mailer->from : "");
  else if (mailer->smtp_url != NULL)
    sent
        = send_over_smtp (mailer, recipients, send->message, cancellable, &send->permanent, &error);
  else if (mailer->maildir != NULL)
    sent = deliver_to_maildir (mailer, recipients, send->message, &error);
  else
    g_set_error_literal (&error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_CONFIG,
                         "Neither an SMTP server nor a maildir is configured");

  if (sent)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
purserd_mailer_send_async (PurserdMailer *self, const char *const *recipients, GBytes *message,
                           GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  SendData *send;

  g_return_if_fail (self != NULL);
  g_return_if_fail (message != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, purserd_mailer_send_async);
  g_task_set_name (task, "[purserd] send mail");
  /* A message that went out is reported as sent, cancelled or not. */
  g_task_set_check_cancellable (task, FALSE);

  send = g_new0 (SendData, 1);
  send->mailer = g_atomic_rc_box_acquire (self);
  send->recipients = g_strdupv ((GStrv) recipients);
  send->message = g_bytes_ref (message);
  g_task_set_task_data (task, send, send_data_free);

  if (recipients == NULL || recipients[0] == NULL)
    {
      send->permanent = TRUE;
      g_task_return_new_error (task, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_RECIPIENT,
                               "The message has no recipients");
      return;
    }
  for (guint i = 0; recipients[i] != NULL; i++)
    if (!purserd_mail_address_is_valid (recipients[i]))
      {
        g_autofree char *shown = g_utf8_make_valid (recipients[i], -1);

        send->permanent = TRUE;
        g_task_return_new_error (task, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_RECIPIENT,
                                 "“%s” is not an e-mail address", shown);
        return;
      }

  g_task_run_in_thread (task, send_thread);
}

gboolean
purserd_mailer_send_finish (PurserdMailer *self, GAsyncResult *result, gboolean *permanent,
                            GError **error)
{
  SendData *send;
  gboolean sent;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == purserd_mailer_send_async,
                        FALSE);

  send = g_task_get_task_data (G_TASK (result));
  sent = g_task_propagate_boolean (G_TASK (result), error);
  if (permanent != NULL)
    *permanent = sent ? FALSE : send->permanent;
  return sent;
}
