/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "purser-wire.h"

GQuark
purser_wire_error_quark (void)
{
  return g_quark_from_static_string ("purser-wire-error-quark");
}

static char *
member_path (PurserWireReader *reader, const char *member)
{
  return g_strconcat (reader->prefix ? reader->prefix : "", member, NULL);
}

static gboolean
failed (PurserWireReader *reader)
{
  return reader->error != NULL;
}

void
purser_wire_reader_fail (PurserWireReader *reader, const char *member, const char *format, ...)
{
  va_list args;
  g_autofree char *message = NULL;

  if (failed (reader))
    return;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  reader->field = member ? member_path (reader, member) : NULL;
  reader->error = g_error_new_literal (PURSER_WIRE_ERROR, PURSER_WIRE_ERROR_INVALID, message);
}

static void
reader_setup (PurserWireReader *reader, JsonObject *object, const char *prefix)
{
  memset (reader, 0, sizeof *reader);
  reader->object = json_object_ref (object);
  reader->prefix = g_strdup (prefix);
  reader->seen = g_ptr_array_new ();
}

#define NESTING_MAX 32

/* Checked before json-glib sees the body: it accepts "{…} {…}" (a body is one value and
 * nothing after it but spaces), and it recurses once per nesting level, so a deep enough
 * body would overflow the stack. */
static gboolean
scan_body (const char *data, gsize length, GError **error)
{
  gboolean in_string = FALSE, escaped = FALSE;
  int depth = 0;
  gsize i = 0;

  while (i < length && g_ascii_isspace (data[i]))
    i++;
  for (; i < length; i++)
    {
      char c = data[i];

      if (in_string)
        {
          if (escaped)
            escaped = FALSE;
          else if (c == '\\')
            escaped = TRUE;
          else if (c == '"')
            in_string = FALSE;
          continue;
        }
      if (c == '"')
        in_string = TRUE;
      else if (c == '{' || c == '[')
        {
          if (++depth > NESTING_MAX)
            {
              g_set_error (error, PURSER_WIRE_ERROR, PURSER_WIRE_ERROR_MALFORMED,
                           "The body nests deeper than %d levels.", NESTING_MAX);
              return FALSE;
            }
        }
      else if (c == '}' || c == ']')
        {
          if (--depth == 0)
            break;
        }
    }
  for (i++; i < length; i++)
    if (!g_ascii_isspace (data[i]))
      {
        g_set_error_literal (error, PURSER_WIRE_ERROR, PURSER_WIRE_ERROR_MALFORMED,
                             "The body is not valid JSON: there is more after the object.");
        return FALSE;
      }
  return TRUE;
}

gboolean
purser_wire_reader_init_body (PurserWireReader *reader, const char *data, gsize length,
                              GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) local_error = NULL;
  JsonNode *root;

  memset (reader, 0, sizeof *reader);

  if (length == 0)
    {
      g_set_error_literal (error, PURSER_WIRE_ERROR, PURSER_WIRE_ERROR_MALFORMED,
                           "The request needs a JSON object as its body.");
      return FALSE;
    }
  if (!g_utf8_validate_len (data, length, NULL))
    {
      g_set_error_literal (error, PURSER_WIRE_ERROR, PURSER_WIRE_ERROR_MALFORMED,
                           "The body is not valid UTF-8.");
      return FALSE;
    }
  if (!scan_body (data, length, error))
    return FALSE;
  if (!json_parser_load_from_data (parser, data, (gssize) length, &local_error))
    {
      g_set_error (error, PURSER_WIRE_ERROR, PURSER_WIRE_ERROR_MALFORMED,
                   "The body is not valid JSON: %s", local_error->message);
      return FALSE;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, PURSER_WIRE_ERROR, PURSER_WIRE_ERROR_MALFORMED,
                           "The body must be a JSON object.");
      return FALSE;
    }

  reader_setup (reader, json_node_get_object (root), NULL);
  return TRUE;
}

void
purser_wire_reader_clear (PurserWireReader *reader)
{
  g_clear_pointer (&reader->object, json_object_unref);
  g_clear_pointer (&reader->prefix, g_free);
  g_clear_pointer (&reader->seen, g_ptr_array_unref);
  g_clear_pointer (&reader->field, g_free);
  g_clear_error (&reader->error);
}

gboolean
purser_wire_reader_failed (PurserWireReader *reader)
{
  return failed (reader);
}

gboolean
purser_wire_reader_has (PurserWireReader *reader, const char *member)
{
  return reader->object != NULL && json_object_has_member (reader->object, member);
}

gboolean
purser_wire_reader_finish (PurserWireReader *reader)
{
  g_autoptr (GList) members = NULL;

  if (failed (reader))
    return FALSE;

  members = json_object_get_members (reader->object);
  for (GList *l = members; l != NULL; l = l->next)
    {
      gboolean known = FALSE;

      for (guint i = 0; i < reader->seen->len && !known; i++)
        known = g_str_equal (g_ptr_array_index (reader->seen, i), l->data);
      if (!known)
        {
          purser_wire_reader_fail (reader, l->data, "Unknown field \"%s%s\".",
                                   reader->prefix ? reader->prefix : "", (const char *) l->data);
          return FALSE;
        }
    }
  return TRUE;
}

/* The member's node, or NULL when absent (a required one records the failure). */
static JsonNode *
lookup (PurserWireReader *reader, const char *member, gboolean required)
{
  JsonNode *node;

  if (failed (reader))
    return NULL;

  g_ptr_array_add (reader->seen, (gpointer) member);
  node = json_object_get_member (reader->object, member);
  if (node == NULL && required)
    purser_wire_reader_fail (reader, member, "The field \"%s\" is required.", member);
  return node;
}

static gboolean
node_is_string (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING;
}

static gboolean
check_string (PurserWireReader *reader, const char *member, JsonNode *node, gsize max_chars)
{
  const char *value;

  if (!node_is_string (node))
    {
      purser_wire_reader_fail (reader, member, "The field \"%s\" must be a string.", member);
      return FALSE;
    }
  value = json_node_get_string (node);
  if (g_utf8_strlen (value, -1) > (glong) max_chars)
    {
      purser_wire_reader_fail (
          reader, member, "The field \"%s\" is too long (at most %" G_GSIZE_FORMAT " characters).",
          member, max_chars);
      return FALSE;
    }
  for (const char *p = value; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c < 0x20 && c != '\n' && c != '\t')
        {
          purser_wire_reader_fail (reader, member, "The field \"%s\" contains a control character.",
                                   member);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
purser_wire_read_string (PurserWireReader *reader, const char *member, gboolean required,
                         gsize max_chars, char **out)
{
  JsonNode *node = lookup (reader, member, required);
  g_autofree char *value = NULL;

  if (node == NULL || !check_string (reader, member, node, max_chars))
    return FALSE;

  value = g_strstrip (g_strdup (json_node_get_string (node)));
  if (required && *value == '\0')
    {
      purser_wire_reader_fail (reader, member, "The field \"%s\" must not be empty.", member);
      return FALSE;
    }
  g_free (*out);
  *out = g_steal_pointer (&value);
  return TRUE;
}

gboolean
purser_wire_read_nullable_string (PurserWireReader *reader, const char *member, gsize max_chars,
                                  char **out, gboolean *present)
{
  JsonNode *node = lookup (reader, member, FALSE);

  *present = FALSE;
  if (node == NULL)
    return FALSE;
  if (JSON_NODE_HOLDS_NULL (node))
    {
      g_clear_pointer (out, g_free);
      *present = TRUE;
      return TRUE;
    }
  if (!check_string (reader, member, node, max_chars))
    return FALSE;

  g_free (*out);
  *out = g_strstrip (g_strdup (json_node_get_string (node)));
  if (**out == '\0')
    g_clear_pointer (out, g_free);
  *present = TRUE;
  return TRUE;
}

static gboolean
node_is_integer (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64;
}

gboolean
purser_wire_read_int (PurserWireReader *reader, const char *member, gboolean required, gint64 min,
                      gint64 max, gint64 *out)
{
  JsonNode *node = lookup (reader, member, required);
  gint64 value;

  if (node == NULL)
    return FALSE;
  if (!node_is_integer (node))
    {
      purser_wire_reader_fail (reader, member, "The field \"%s\" must be an integer.", member);
      return FALSE;
    }
  value = json_node_get_int (node);
  if (value < min || value > max)
    {
      purser_wire_reader_fail (reader, member,
                               "The field \"%s\" must be between %" G_GINT64_FORMAT
                               " and %" G_GINT64_FORMAT ".",
                               member, min, max);
      return FALSE;
    }
  *out = value;
  return TRUE;
}

gboolean
purser_wire_read_bool (PurserWireReader *reader, const char *member, gboolean required,
                       gboolean *out)
{
  JsonNode *node = lookup (reader, member, required);

  if (node == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    {
      purser_wire_reader_fail (reader, member, "The field \"%s\" must be true or false.", member);
      return FALSE;
    }
  *out = json_node_get_boolean (node);
  return TRUE;
}

gboolean
purser_wire_read_enum (PurserWireReader *reader, const char *member, gboolean required,
                       const char *const *allowed, int *out)
{
  JsonNode *node = lookup (reader, member, required);
  g_autofree char *choices = NULL;
  const char *value;

  if (node == NULL)
    return FALSE;
  if (node_is_string (node))
    {
      value = json_node_get_string (node);
      for (int i = 0; allowed[i] != NULL; i++)
        if (g_str_equal (allowed[i], value))
          {
            *out = i;
            return TRUE;
          }
    }
  choices = g_strjoinv (", ", (char **) allowed);
  purser_wire_reader_fail (reader, member, "The field \"%s\" must be one of: %s.", member, choices);
  return FALSE;
}

gboolean
purser_wire_read_money (PurserWireReader *reader, const char *member, gboolean required,
                        PurserCents min, PurserCents max, PurserCents *out)
{
  PurserWireReader child;
  gint64 amount = 0;
  char *currency = NULL;
  gboolean ok;

  if (!purser_wire_read_object (reader, member, required, &child))
    return FALSE;

  ok = purser_wire_read_int (&child, "amount", TRUE, min, max, &amount);
  if (purser_wire_read_string (&child, "currency", FALSE, 3, &currency)
      && g_ascii_strcasecmp (currency, PURSER_CURRENCY) != 0)
    purser_wire_reader_fail (&child, "currency", "Only \"usd\" is supported.");
  g_free (currency);
  purser_wire_reader_finish (&child);
  ok = ok && !purser_wire_reader_failed (&child);
  purser_wire_reader_close_child (reader, &child);
  if (ok)
    *out = amount;
  return ok && !failed (reader);
}

gboolean
purser_wire_read_date (PurserWireReader *reader, const char *member, gboolean required,
                       PurserDate *out)
{
  JsonNode *node = lookup (reader, member, required);

  if (node == NULL)
    return FALSE;
  if (!node_is_string (node) || !purser_date_parse (json_node_get_string (node), out))
    {
      purser_wire_reader_fail (reader, member, "The field \"%s\" must be a date (YYYY-MM-DD).",
                               member);
      return FALSE;
    }
  return TRUE;
}

gboolean
purser_wire_read_time (PurserWireReader *reader, const char *member, gboolean required, gint64 *out)
{
  JsonNode *node = lookup (reader, member, required);

  if (node == NULL)
    return FALSE;
  if (!node_is_string (node) || !purser_time_parse (json_node_get_string (node), out))
    {
      purser_wire_reader_fail (reader, member,
                               "The field \"%s\" must be an RFC 3339 time such as "
                               "2026-03-11T00:00:00Z.",
                               member);
      return FALSE;
    }
  return TRUE;
}

gboolean
purser_wire_read_strings (PurserWireReader *reader, const char *member, gboolean required,
                          guint max_items, gsize max_chars, GPtrArray **out)
{
  JsonNode *node = lookup (reader, member, required);
  g_autoptr (GPtrArray) values = NULL;
  g_autoptr (GHashTable) unique = NULL;
  JsonArray *array;
  guint n;

  if (node == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      purser_wire_reader_fail (reader, member, "The field \"%s\" must be an array of strings.",
                               member);
      return FALSE;
    }
  array = json_node_get_array (node);
  n = json_array_get_length (array);
  if (n == 0 || n > max_items)
    {
      purser_wire_reader_fail (reader, member, "The field \"%s\" must hold 1 to %u items.", member,
                               max_items);
      return FALSE;
    }

  values = g_ptr_array_new_with_free_func (g_free);
  unique = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < n; i++)
    {
      JsonNode *item = json_array_get_element (array, i);
      const char *value;

      if (!node_is_string (item) || strlen (json_node_get_string (item)) > max_chars
          || *json_node_get_string (item) == '\0')
        {
          purser_wire_reader_fail (reader, member,
                                   "Item %u of \"%s\" must be a non-empty string of at most "
                                   "%" G_GSIZE_FORMAT " characters.",
                                   i + 1, member, max_chars);
          return FALSE;
        }
      value = json_node_get_string (item);
      if (g_hash_table_contains (unique, value))
        {
          purser_wire_reader_fail (reader, member, "\"%s\" appears twice in \"%s\".", value,
                                   member);
          return FALSE;
        }
      g_hash_table_add (unique, (gpointer) value);
      g_ptr_array_add (values, g_strdup (value));
    }

  if (*out)
    g_ptr_array_unref (*out);
  *out = g_steal_pointer (&values);
  return TRUE;
}

gboolean
purser_wire_read_object (PurserWireReader *reader, const char *member, gboolean required,
                         PurserWireReader *child)
{
  JsonNode *node = lookup (reader, member, required);
  g_autofree char *path = NULL;
  g_autofree char *prefix = NULL;

  memset (child, 0, sizeof *child);
  if (node == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      purser_wire_reader_fail (reader, member, "The field \"%s\" must be an object.", member);
      return FALSE;
    }
  path = member_path (reader, member);
  prefix = g_strconcat (path, ".", NULL);
  reader_setup (child, json_node_get_object (node), prefix);
  return TRUE;
}

void
purser_wire_reader_close_child (PurserWireReader *reader, PurserWireReader *child)
{
  if (child->error != NULL && !failed (reader))
    {
      reader->field = g_steal_pointer (&child->field);
      reader->error = g_steal_pointer (&child->error);
    }
  purser_wire_reader_clear (child);
}

/* ── writing ──────────────────────────────────────────────────────────────────── */

void
purser_wire_add_string (JsonBuilder *builder, const char *member, const char *value)
{
  json_builder_set_member_name (builder, member);
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

void
purser_wire_add_int (JsonBuilder *builder, const char *member, gint64 value)
{
  json_builder_set_member_name (builder, member);
  json_builder_add_int_value (builder, value);
}

void
purser_wire_add_bool (JsonBuilder *builder, const char *member, gboolean value)
{
  json_builder_set_member_name (builder, member);
  json_builder_add_boolean_value (builder, value);
}

void
purser_wire_add_money (JsonBuilder *builder, const char *member, PurserCents amount)
{
  json_builder_set_member_name (builder, member);
  json_builder_begin_object (builder);
  purser_wire_add_int (builder, "amount", amount);
  purser_wire_add_string (builder, "currency", PURSER_CURRENCY);
  json_builder_end_object (builder);
}

void
purser_wire_add_date (JsonBuilder *builder, const char *member, PurserDate date)
{
  g_autofree char *text = date == PURSER_DATE_INVALID ? NULL : purser_date_format (date);

  purser_wire_add_string (builder, member, text);
}

void
purser_wire_add_time (JsonBuilder *builder, const char *member, gint64 unix_seconds)
{
  g_autofree char *text = unix_seconds == 0 ? NULL : purser_time_format (unix_seconds);

  purser_wire_add_string (builder, member, text);
}

void
purser_wire_add_period (JsonBuilder *builder, const char *member, const PurserPeriod *period)
{
  json_builder_set_member_name (builder, member);
  json_builder_begin_object (builder);
  purser_wire_add_date (builder, "start", period->start);
  purser_wire_add_date (builder, "end", period->end);
  json_builder_end_object (builder);
}

void
purser_wire_add_contract (JsonBuilder *builder, const char *member, const PurserContract *contract)
{
  json_builder_set_member_name (builder, member);
  if (contract == NULL)
    {
      json_builder_add_null_value (builder);
      return;
    }
  json_builder_begin_object (builder);
  purser_wire_add_money (builder, "seat_price", contract->seat_price);
  purser_wire_add_money (builder, "platform_fee", contract->platform_fee);
  purser_wire_add_string (builder, "interval",
                          contract->interval == PURSER_CYCLE_ANNUAL ? "year" : "month");
  json_builder_end_object (builder);
}

void
purser_wire_add_lines (JsonBuilder *builder, const char *member, const GArray *lines)
{
  json_builder_set_member_name (builder, member);
  json_builder_begin_array (builder);
  for (guint i = 0; lines != NULL && i < lines->len; i++)
    {
      const PurserLine *line = &g_array_index (lines, PurserLine, i);

      json_builder_begin_object (builder);
      purser_wire_add_string (builder, "kind", purser_line_kind_to_string (line->kind));
      purser_wire_add_string (builder, "description", line->description);
      purser_wire_add_int (builder, "quantity", line->quantity);
      purser_wire_add_money (builder, "unit_amount", line->unit_amount);
      purser_wire_add_money (builder, "amount", line->amount);
      purser_wire_add_period (builder, "period", &line->period);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
}

void
purser_wire_add_quote_members (JsonBuilder *builder, const PurserQuote *quote)
{
  purser_wire_add_lines (builder, "lines", quote->lines);
  purser_wire_add_money (builder, "amount_due_now", quote->amount_due_now);
  purser_wire_add_string (builder, "effective", purser_effective_to_string (quote->effective));
  json_builder_set_member_name (builder, "next_invoice");
  if (quote->has_next_invoice)
    {
      json_builder_begin_object (builder);
      purser_wire_add_date (builder, "date", quote->next_invoice_date);
      purser_wire_add_money (builder, "total", quote->next_invoice_total);
      json_builder_end_object (builder);
    }
  else
    json_builder_add_null_value (builder);
}

char *
purser_wire_to_string (JsonNode *node)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();

  json_generator_set_root (generator, node);
  return json_generator_to_data (generator, NULL);
}

char *
purser_wire_builder_finish (JsonBuilder *builder)
{
  g_autoptr (JsonNode) root = json_builder_get_root (builder);

  return purser_wire_to_string (root);
}

char *
purser_wire_error_body (const char *code, const char *message, const char *field)
{
  g_autoptr (JsonBuilder) builder = json_builder_new_immutable ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "error");
  json_builder_begin_object (builder);
  purser_wire_add_string (builder, "code", code);
  purser_wire_add_string (builder, "message", message);
  if (field != NULL)
    purser_wire_add_string (builder, "field", field);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  return purser_wire_builder_finish (builder);
}
