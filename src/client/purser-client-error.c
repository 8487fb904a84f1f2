/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gio/gio.h>

#include "purser-client-error.h"

/* Written out rather than G_DEFINE_QUARK, which the formatter mangles. */
GQuark
purser_client_error_quark (void)
{
  static GQuark quark;

  if (G_UNLIKELY (quark == 0))
    quark = g_quark_from_static_string ("purser-client-error-quark");
  return quark;
}

/* The envelope's {"error": {"code", "message"}} when the body is one. */
static const char *
envelope_member (JsonNode *body, const char *member)
{
  JsonObject *object, *error;
  JsonNode *node;

  if (body == NULL || !JSON_NODE_HOLDS_OBJECT (body))
    return NULL;
  object = json_node_get_object (body);
  if (!json_object_has_member (object, "error"))
    return NULL;
  node = json_object_get_member (object, "error");
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  error = json_node_get_object (node);
  node = json_object_get_member (error, member);
  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

GError *
purser_client_error_from_status (const char *host, guint status, JsonNode *body, gboolean login)
{
  const char *message = envelope_member (body, "message");
  const char *code = envelope_member (body, "code");

  g_return_val_if_fail (host != NULL, NULL);

  switch (status)
    {
      case 401:
        if (login)
          return g_error_new (PURSER_CLIENT_ERROR, PURSER_CLIENT_ERROR_AUTH,
                              "The server refused the password. Check the e-mail address and "
                              "the password, then try again.");
        return g_error_new (PURSER_CLIENT_ERROR, PURSER_CLIENT_ERROR_AUTH,
                            "Your session on %s has ended. Sign in again.", host);

      case 403:
        return g_error_new (PURSER_CLIENT_ERROR, PURSER_CLIENT_ERROR_FORBIDDEN,
                            "Your role doesn't allow this. Ask an administrator of your "
                            "organization.");

      case 404:
        return g_error_new (PURSER_CLIENT_ERROR, PURSER_CLIENT_ERROR_NOT_FOUND, "%s",
                            message != NULL ? message
                                            : "This no longer exists on the server. Refresh to "
                                              "see the current state.");

      case 410:
        if (g_strcmp0 (code, "cursor_unknown") == 0)
          return g_error_new (PURSER_CLIENT_ERROR, PURSER_CLIENT_ERROR_CURSOR_UNKNOWN,
                              "The saved data doesn't match %s any more; it will be fetched "
                              "again.",
                              host);
        break;

      case 429:
        return g_error_new (PURSER_CLIENT_ERROR, PURSER_CLIENT_ERROR_REFUSED,
                            "%s is busy. Try again in a moment.", host);

      default:
        break;
    }

  if (status >= 400 && status < 500 && message != NULL)
    return g_error_new (PURSER_CLIENT_ERROR, PURSER_CLIENT_ERROR_REFUSED, "%s", message);
  if (status >= 500)
    return g_error_new (PURSER_CLIENT_ERROR, PURSER_CLIENT_ERROR_SERVER,
                        "%s had a problem (HTTP %u). Try again later; your saved data is still "
                        "shown.",
                        host, status);
  return g_error_new (PURSER_CLIENT_ERROR, PURSER_CLIENT_ERROR_FAILED,
                      "%s answered in a way Purser doesn't understand (HTTP %u).", host, status);
}

GError *
purser_client_error_from_transport (const char *host, const GError *error)
{
  g_return_val_if_fail (host != NULL, NULL);
  g_return_val_if_fail (error != NULL, NULL);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return g_error_copy (error);
  if (error->domain == G_TLS_ERROR)
    return g_error_new (PURSER_CLIENT_ERROR, PURSER_CLIENT_ERROR_OFFLINE,
                        "Can't reach %s securely (%s) — showing saved data.", host, error->message);
  return g_error_new (PURSER_CLIENT_ERROR, PURSER_CLIENT_ERROR_OFFLINE,
                      "Can't reach %s — showing saved data.", host);
}
