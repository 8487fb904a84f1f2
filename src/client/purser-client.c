/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include <libsoup/soup.h>

#include "purser-client.h"

/* How long one exchange may take before the server counts as unreachable. */
#define REQUEST_TIMEOUT_SECONDS 30

struct _PurserClient
{
  GObject parent_instance;

  SoupSession *session;
  char *base_url;
  char *host;
  char *token;
};

G_DEFINE_FINAL_TYPE (PurserClient, purser_client, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_BASE_URL,
  PROP_TOKEN,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* What a request's task carries until the answer is read. */
typedef struct
{
  SoupMessage *message;
  gboolean login;
} Request;

static void
request_free (Request *request)
{
  g_clear_object (&request->message);
  g_free (request);
}

/* ── helpers ───────────────────────────────────────────────────────────────────── */

static void
sent_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  PurserClient *self = g_task_get_source_object (task);
  Request *request = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (JsonNode) node = NULL;
  guint status;
  gsize size = 0;
  const char *data;

  bytes = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  if (bytes == NULL)
    {
      g_task_return_error (task, purser_client_error_from_transport (self->host, error));
      return;
    }
  status = soup_message_get_status (request->message);
  data = g_bytes_get_data (bytes, &size);
  if (size > 0)
    {
      node = json_from_string (data, &error);
      /* A proxy's HTML page or a truncated body: not the API talking. */
      if (node == NULL && status >= 200 && status < 300)
        {
          g_task_return_new_error (task, PURSER_CLIENT_ERROR, PURSER_CLIENT_ERROR_SERVER,
                                   "%s answered with something that is not Purser's API. "
                                   "Check the server address.",
                                   self->host);
          return;
        }
    }
  if (status < 200 || status >= 300)
    {
      g_task_return_error (
          task, purser_client_error_from_status (self->host, status, node, request->login));
      return;
    }
  if (node == NULL)
    node = json_node_new (JSON_NODE_NULL);
  g_task_return_pointer (task, g_steal_pointer (&node), (GDestroyNotify) json_node_unref);
}

static void
send_request (PurserClient *self, const char *method, const char *path, JsonNode *body,
              const char *idempotency_key, gboolean login, gpointer source_tag,
              GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autofree char *url = g_strconcat (self->base_url, path, NULL);
  g_autoptr (GError) error = NULL;
  SoupMessageHeaders *headers;
  Request *request;

  g_task_set_source_tag (task, source_tag);
  request = g_new0 (Request, 1);
  request->login = login;
  g_task_set_task_data (task, request, (GDestroyNotify) request_free);

  request->message = soup_message_new (method, url);
  if (request->message == NULL)
    {
      g_task_return_new_error (task, PURSER_CLIENT_ERROR, PURSER_CLIENT_ERROR_FAILED,
                               "“%s” is not a server address Purser can use.", self->base_url);
      return;
    }
  headers = soup_message_get_request_headers (request->message);
  soup_message_headers_replace (headers, "Accept", "application/json");
  if (self->token != NULL && !login)
    {
      g_autofree char *value = g_strconcat ("Bearer ", self->token, NULL);

      soup_message_headers_replace (headers, "Authorization", value);
    }
  if (idempotency_key != NULL)
    soup_message_headers_replace (headers, "Idempotency-Key", idempotency_key);
  if (g_strcmp0 (method, "GET") != 0)
    {
      g_autofree char *text = body != NULL ? json_to_string (body, FALSE) : g_strdup ("{}");
      gsize length = strlen (text);
      g_autoptr (GBytes) bytes = g_bytes_new_take (g_steal_pointer (&text), length);

      soup_message_set_request_body_from_bytes (request->message, "application/json", bytes);
    }
  soup_session_send_and_read_async (self->session, request->message, G_PRIORITY_DEFAULT,
                                    cancellable, sent_cb, g_steal_pointer (&task));
}

static JsonNode *
finish_request (PurserClient *self, GAsyncResult *result, gpointer source_tag, GError **error)
{
  g_return_val_if_fail (PURSER_IS_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ── overrides ─────────────────────────────────────────────────────────────────── */

static void
purser_client_finalize (GObject *object)
{
  PurserClient *self = PURSER_CLIENT (object);

  g_clear_object (&self->session);
  g_clear_pointer (&self->base_url, g_free);
  g_clear_pointer (&self->host, g_free);
  g_clear_pointer (&self->token, g_free);
  G_OBJECT_CLASS (purser_client_parent_class)->finalize (object);
}

static void
purser_client_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  PurserClient *self = PURSER_CLIENT (object);

  switch (prop_id)
    {
      case PROP_BASE_URL:
        g_value_set_string (value, self->base_url);
        break;

      case PROP_TOKEN:
        g_value_set_string (value, self->token);
        break;

      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
purser_client_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  PurserClient *self = PURSER_CLIENT (object);

  switch (prop_id)
    {
        case PROP_BASE_URL: {
          const char *url = g_value_get_string (value);
          g_autoptr (GUri) uri = url != NULL ? g_uri_parse (url, G_URI_FLAGS_NONE, NULL) : NULL;

          self->base_url = g_strdup (url != NULL ? url : "");
          /* "https://host/" and "https://host" both end up without the slash. */
          while (g_str_has_suffix (self->base_url, "/"))
            self->base_url[strlen (self->base_url) - 1] = '\0';
          self->host = g_strdup (uri != NULL && g_uri_get_host (uri) != NULL ? g_uri_get_host (uri)
                                                                             : self->base_url);
          break;
        }

      case PROP_TOKEN:
        purser_client_set_token (self, g_value_get_string (value));
        break;

      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
purser_client_class_init (PurserClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = purser_client_finalize;
  object_class->get_property = purser_client_get_property;
  object_class->set_property = purser_client_set_property;

  properties[PROP_BASE_URL]
      = g_param_spec_string ("base-url", NULL, NULL, NULL,
                             G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TOKEN]
      = g_param_spec_string ("token", NULL, NULL, NULL,
                             G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
purser_client_init (PurserClient *self)
{
  self->session = g_object_new (SOUP_TYPE_SESSION, "timeout", REQUEST_TIMEOUT_SECONDS, "user-agent",
                                "Purser/" PACKAGE_VERSION " ", NULL);
}

/* ── public API ────────────────────────────────────────────────────────────────── */

PurserClient *
purser_client_new (const char *base_url)
{
  g_return_val_if_fail (base_url != NULL, NULL);

  return g_object_new (PURSER_TYPE_CLIENT, "base-url", base_url, NULL);
}

const char *
purser_client_get_base_url (PurserClient *self)
{
  g_return_val_if_fail (PURSER_IS_CLIENT (self), NULL);

  return self->base_url;
}

const char *
purser_client_get_host (PurserClient *self)
{
  g_return_val_if_fail (PURSER_IS_CLIENT (self), NULL);

  return self->host;
}

const char *
purser_client_get_token (PurserClient *self)
{
  g_return_val_if_fail (PURSER_IS_CLIENT (self), NULL);

  return self->token;
}

void
purser_client_set_token (PurserClient *self, const char *token)
{
  g_return_if_fail (PURSER_IS_CLIENT (self));

  if (g_strcmp0 (self->token, token) == 0)
    return;
  g_free (self->token);
  self->token = g_strdup (token);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOKEN]);
}

void
purser_client_sign_in_async (PurserClient *self, const char *email, const char *password,
                             GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) body = NULL;
  g_return_if_fail (PURSER_IS_CLIENT (self));
  g_return_if_fail (email != NULL && password != NULL);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "email");
  json_builder_add_string_value (b, email);
  json_builder_set_member_name (b, "password");
  json_builder_add_string_value (b, password);
  json_builder_end_object (b);
  body = json_builder_get_root (b);
  send_request (self, "POST", "/v1/auth/login", body, NULL, TRUE, purser_client_sign_in_async,
                cancellable, callback, user_data);
}

JsonNode *
purser_client_sign_in_finish (PurserClient *self, GAsyncResult *result, GError **error)
{
  JsonNode *node = finish_request (self, result, purser_client_sign_in_async, error);
  JsonObject *object;

  if (node == NULL)
    return NULL;
  object = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  if (object == NULL || json_object_get_string_member_with_default (object, "token", NULL) == NULL)
    {
      json_node_unref (node);
      g_set_error (error, PURSER_CLIENT_ERROR, PURSER_CLIENT_ERROR_SERVER,
                   "%s answered the sign-in without a token. Check the server address.",
                   self->host);
      return NULL;
    }
  purser_client_set_token (self, json_object_get_string_member (object, "token"));
  return node;
}

void
purser_client_get_me_async (PurserClient *self, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (PURSER_IS_CLIENT (self));

  send_request (self, "GET", "/v1/me", NULL, NULL, FALSE, purser_client_get_me_async, cancellable,
                callback, user_data);
}

JsonNode *
purser_client_get_me_finish (PurserClient *self, GAsyncResult *result, GError **error)
{
  return finish_request (self, result, purser_client_get_me_async, error);
}

void
purser_client_get_json_async (PurserClient *self, const char *path, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (PURSER_IS_CLIENT (self));
  g_return_if_fail (path != NULL && path[0] == '/');

  send_request (self, "GET", path, NULL, NULL, FALSE, purser_client_get_json_async, cancellable,
                callback, user_data);
}

JsonNode *
purser_client_get_json_finish (PurserClient *self, GAsyncResult *result, GError **error)
{
  return finish_request (self, result, purser_client_get_json_async, error);
}

void
purser_client_post_json_async (PurserClient *self, const char *path, JsonNode *body,
                               const char *idempotency_key, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (PURSER_IS_CLIENT (self));
  g_return_if_fail (path != NULL && path[0] == '/');

  send_request (self, "POST", path, body, idempotency_key, FALSE, purser_client_post_json_async,
                cancellable, callback, user_data);
}

JsonNode *
purser_client_post_json_finish (PurserClient *self, GAsyncResult *result, GError **error)
{
  return finish_request (self, result, purser_client_post_json_async, error);
}
