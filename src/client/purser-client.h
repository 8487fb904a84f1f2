/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "purser-client-error.h"

G_BEGIN_DECLS

/* The API client: one SoupSession for one server, the bearer token of the signed-in user.
 * Every call is async on the caller's thread-default main context and cancellable; errors
 * are PURSER_CLIENT_ERROR (or G_IO_ERROR_CANCELLED). */
#define PURSER_TYPE_CLIENT (purser_client_get_type ())
G_DECLARE_FINAL_TYPE (PurserClient, purser_client, PURSER, CLIENT, GObject)

/* base_url: "https://billing.example.com" (the API is under /v1). */
PurserClient *purser_client_new (const char *base_url);
const char *purser_client_get_base_url (PurserClient *self);
/* The server's host name, as messages show it and the cache folder is named. */
const char *purser_client_get_host (PurserClient *self);
const char *purser_client_get_token (PurserClient *self);
void purser_client_set_token (PurserClient *self, const char *token);

/* POST /v1/auth/login; on success the token is kept for every later call. Hands back the
 * Login answer ({"token", "expires_at", "user"}). */
void purser_client_sign_in_async (PurserClient *self, const char *email, const char *password,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data);
JsonNode *purser_client_sign_in_finish (PurserClient *self, GAsyncResult *result, GError **error);

/* GET /v1/me: {"user", "org"}. */
void purser_client_get_me_async (PurserClient *self, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data);
JsonNode *purser_client_get_me_finish (PurserClient *self, GAsyncResult *result, GError **error);

/* GET of a path under the base URL ("/v1/orgs/org_…/employees?limit=100"): the parsed
 * answer of a 2xx. */
void purser_client_get_json_async (PurserClient *self, const char *path, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data);
JsonNode *purser_client_get_json_finish (PurserClient *self, GAsyncResult *result, GError **error);

/* POST of a JSON body (NULL: "{}"), with an Idempotency-Key when given. Hands back the
 * parsed answer (a JSON null node for an empty 2xx body). */
void purser_client_post_json_async (PurserClient *self, const char *path, JsonNode *body,
                                    const char *idempotency_key, GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data);
JsonNode *purser_client_post_json_finish (PurserClient *self, GAsyncResult *result, GError **error);

G_END_DECLS
