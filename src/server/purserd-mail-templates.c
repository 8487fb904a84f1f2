/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "purserd-mail-templates.h"

typedef enum
{
  FORMAT_TEXT,
  FORMAT_HTML,
} Format;

/* What the layout gets beside the vars. */
typedef struct
{
  const char *subject;
  const char *body; /* HTML, inserted as it is by {{{body}}} */
} Layout;

static gboolean
template_id_is_valid (const char *template_id)
{
  if (template_id == NULL || template_id[0] == '\0' || template_id[0] == '-')
    return FALSE;
  for (const char *p = template_id; *p != '\0'; p++)
    if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p) && *p != '-')
      return FALSE;
  return TRUE;
}

/* The file's text, or NULL: with `error` set, or without when `optional` and absent. */
static char *
load (const char *template_id, const char *extension, gboolean optional, GError **error)
{
  g_autofree char *path
      = g_strdup_printf (PURSERD_MAIL_TEMPLATE_PATH "%s.%s", template_id, extension);
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GBytes) bytes
      = g_resources_lookup_data (path, G_RESOURCE_LOOKUP_FLAGS_NONE, &local_error);
  gsize size = 0;
  const char *data;

  if (bytes == NULL)
    {
      if (!optional)
        g_set_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_TEMPLATE_NOT_FOUND,
                     "There is no mail template “%s.%s”", template_id, extension);
      return NULL;
    }

  data = g_bytes_get_data (bytes, &size);
  if (!g_utf8_validate_len (data, size, NULL))
    {
      g_set_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_TEMPLATE_INVALID,
                   "The mail template “%s.%s” is not UTF-8", template_id, extension);
      return NULL;
    }
  return g_strndup (data, size);
}

static char *
format_value (JsonObject *vars, const char *name, const Layout *layout, const char *file,
              GError **error)
{
  JsonNode *node = vars != NULL ? json_object_get_member (vars, name) : NULL;
  GType type;

  if (layout != NULL && node == NULL && strcmp (name, "subject") == 0)
    return g_strdup (layout->subject);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    {
      g_set_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_MISSING_VARIABLE,
                   "The mail template “%s” needs a value for “%s”", file, name);
      return NULL;
    }

  type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;
  if (type == G_TYPE_STRING)
    return g_strdup (json_node_get_string (node));
  if (type == G_TYPE_INT64)
    return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
  if (type == G_TYPE_DOUBLE)
    {
      double value = json_node_get_double (node);
      char buffer[G_ASCII_DTOSTR_BUF_SIZE];

      if (value == (double) (gint64) value && ABS (value) < 9007199254740992.0)
        return g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) value);
      return g_strdup (g_ascii_dtostr (buffer, sizeof buffer, value));
    }

  g_set_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_INVALID_VARIABLE,
               "The value of “%s” for the mail template “%s” is not a string or a number", name,
               file);
  return NULL;
}

/* For text and attribute values alike; &#39; rather than &apos;, which HTML 4 lacks. */
static void
append_html_escaped (GString *out, const char *value)
{
  for (const char *p = value; *p != '\0'; p++)
    {
      switch (*p)
        {
          case '&':
            g_string_append (out, "&amp;");
            break;
          case '<':
            g_string_append (out, "&lt;");
            break;
          case '>':
            g_string_append (out, "&gt;");
            break;
          case '"':
            g_string_append (out, "&quot;");
            break;
          case '\'':
            g_string_append (out, "&#39;");
            break;
          default:
            g_string_append_c (out, *p);
            break;
        }
    }
}

static guint
line_of (const char *start, const char *position)
{
  guint line = 1;

  for (const char *p = start; p < position; p++)
    if (*p == '\n')
      line++;
  return line;
}

/* Replaces the {{name}}s of `source`, and {{{body}}} in the layout. */
static char *
expand (const char *source, const char *file, JsonObject *vars, Format format, const Layout *layout,
        GError **error)
{
  g_autoptr (GString) out = g_string_sized_new (strlen (source) + 256);
  const char *p = source;
  const char *open;

  while ((open = strstr (p, "{{")) != NULL)
    {
      gboolean raw = open[2] == '{';
      const char *close = raw ? "}}}" : "}}";
      const char *q = open + (raw ? 3 : 2);
      const char *name_start;
      g_autofree char *name = NULL;
      g_autofree char *value = NULL;

      g_string_append_len (out, p, open - p);

      while (*q == ' ')
        q++;
      name_start = q;
      while (g_ascii_isalnum (*q) || *q == '_')
        q++;
      name = g_strndup (name_start, q - name_start);
      while (*q == ' ')
        q++;
      if (name[0] == '\0' || !g_str_has_prefix (q, close))
        {
          g_set_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_TEMPLATE_INVALID,
                       "The mail template “%s”, line %u: “{{” starts no {{name}}", file,
                       line_of (source, open));
          return NULL;
        }
      p = q + strlen (close);

      if (raw)
        {
          if (layout == NULL || strcmp (name, "body") != 0)
            {
              g_set_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_TEMPLATE_INVALID,
                           "The mail template “%s”, line %u: only the layout may insert "
                           "{{{body}}} unescaped",
                           file, line_of (source, open));
              return NULL;
            }
          g_string_append (out, layout->body);
          continue;
        }

      value = format_value (vars, name, layout, file, error);
      if (value == NULL)
        return NULL;
      if (format == FORMAT_HTML)
        append_html_escaped (out, value);
      else
        g_string_append (out, value);
    }
  g_string_append (out, p);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* One line, single spaces: a value with a line break cannot break the header. */
static char *
one_line (const char *text)
{
  GString *out = g_string_new (NULL);
  gboolean space = FALSE;

  for (const char *p = text; *p != '\0'; p++)
    {
      if (g_ascii_isspace (*p))
        space = out->len > 0;
      else
        {
          if (space)
            g_string_append_c (out, ' ');
          space = FALSE;
          g_string_append_c (out, *p);
        }
    }
  return g_string_free (out, FALSE);
}

static int
compare_ids (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

gboolean
purserd_mail_render (const char *template_id, JsonObject *vars, char **subject, char **text,
                     char **html, GError **error)
{
  g_autofree char *subject_source = NULL;
  g_autofree char *text_source = NULL;
  g_autofree char *html_source = NULL;
  g_autofree char *subject_file = NULL;
  g_autofree char *text_file = NULL;
  g_autofree char *expanded_subject = NULL;
  g_autofree char *rendered_subject = NULL;
  g_autofree char *rendered_text = NULL;
  g_autofree char *rendered_html = NULL;
  GError *local_error = NULL;

  g_return_val_if_fail (template_id != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!template_id_is_valid (template_id))
    {
      g_set_error (error, PURSERD_MAIL_ERROR, PURSERD_MAIL_ERROR_TEMPLATE_NOT_FOUND,
                   "“%s” is not the name of a mail template", template_id);
      return FALSE;
    }

  subject_source = load (template_id, "subject", FALSE, error);
  if (subject_source == NULL)
    return FALSE;
  text_source = load (template_id, "txt", FALSE, error);
  if (text_source == NULL)
    return FALSE;
  html_source = load (template_id, "html", TRUE, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }

  subject_file = g_strconcat (template_id, ".subject", NULL);
  expanded_subject = expand (subject_source, subject_file, vars, FORMAT_TEXT, NULL, error);
  if (expanded_subject == NULL)
    return FALSE;
  rendered_subject = one_line (expanded_subject);

  text_file = g_strconcat (template_id, ".txt", NULL);
  rendered_text = expand (text_source, text_file, vars, FORMAT_TEXT, NULL, error);
  if (rendered_text == NULL)
    return FALSE;

  if (html_source != NULL)
    {
      g_autofree char *html_file = g_strconcat (template_id, ".html", NULL);
      g_autofree char *body = NULL;
      g_autofree char *layout_source = NULL;
      Layout layout = { rendered_subject, NULL };

      body = expand (html_source, html_file, vars, FORMAT_HTML, NULL, error);
      if (body == NULL)
        return FALSE;
      layout_source = load ("layout", "html", FALSE, error);
      if (layout_source == NULL)
        return FALSE;
      layout.body = body;
      rendered_html = expand (layout_source, "layout.html", vars, FORMAT_HTML, &layout, error);
      if (rendered_html == NULL)
        return FALSE;
    }

  if (subject != NULL)
    *subject = g_steal_pointer (&rendered_subject);
  if (text != NULL)
    *text = g_steal_pointer (&rendered_text);
  if (html != NULL)
    *html = g_steal_pointer (&rendered_html);
  return TRUE;
}

gboolean
purserd_mail_render_into (PurserdMail *mail, const char *template_id, JsonObject *vars,
                          GError **error)
{
  g_autofree char *subject = NULL;
  g_autofree char *text = NULL;
  g_autofree char *html = NULL;

  g_return_val_if_fail (mail != NULL, FALSE);

  if (!purserd_mail_render (template_id, vars, &subject, &text, &html, error))
    return FALSE;
  g_free (mail->subject);
  mail->subject = g_steal_pointer (&subject);
  g_free (mail->text);
  mail->text = g_steal_pointer (&text);
  g_free (mail->html);
  mail->html = g_steal_pointer (&html);
  return TRUE;
}

GStrv
purserd_mail_template_list (void)
{
  g_auto (GStrv) children = g_resources_enumerate_children (PURSERD_MAIL_TEMPLATE_PATH,
                                                            G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; children != NULL && children[i] != NULL; i++)
    if (g_str_has_suffix (children[i], ".txt"))
      g_ptr_array_add (ids, g_strndup (children[i], strlen (children[i]) - strlen (".txt")));
  g_ptr_array_sort (ids, compare_ids);
  g_ptr_array_add (ids, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&ids), FALSE);
}
