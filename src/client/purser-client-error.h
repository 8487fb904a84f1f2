/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The client layer's one error domain. Every message is a sentence a person can act on;
 * cancellation stays G_IO_ERROR_CANCELLED, as everywhere in GIO. */
#define PURSER_CLIENT_ERROR (purser_client_error_quark ())
GQuark purser_client_error_quark (void);

typedef enum
{
  PURSER_CLIENT_ERROR_FAILED,         /* anything else */
  PURSER_CLIENT_ERROR_AUTH,           /* 401: wrong password, or the session expired */
  PURSER_CLIENT_ERROR_FORBIDDEN,      /* 403: the role may not do this */
  PURSER_CLIENT_ERROR_OFFLINE,        /* the server can't be reached */
  PURSER_CLIENT_ERROR_NOT_FOUND,      /* 404 */
  PURSER_CLIENT_ERROR_REFUSED,        /* 400/409/422/429: the server said no, and why */
  PURSER_CLIENT_ERROR_CURSOR_UNKNOWN, /* 410 cursor_unknown: the cache needs a full resync */
  PURSER_CLIENT_ERROR_SERVER,         /* 5xx or an answer that is not the API's */
  PURSER_CLIENT_ERROR_CACHE,          /* the local cache could not be read or written */
} PurserClientError;

/* An HTTP answer that is not a success: status, the host asked and the parsed body (the
 * API's error envelope, or NULL). `login` says the request was a sign-in, where 401 means
 * the password was refused rather than the session expired. */
GError *purser_client_error_from_status (const char *host, guint status, JsonNode *body,
                                         gboolean login);
/* A transport failure (GIO, resolver, TLS or libsoup): OFFLINE, naming the host; a
 * cancellation is handed back as a copy. */
GError *purser_client_error_from_transport (const char *host, const GError *error);

G_END_DECLS
