/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The HTTP layer: GNU libmicrohttpd with its internal poll thread reads requests; each
 * complete request is suspended and handed to the writer's GMainContext, whose answer
 * resumes the connection. So SQLite stays on one thread while slow clients never block
 * the others. */

typedef struct
{
  char *method;
  char *path;          /* decoded, without the query */
  GHashTable *query;   /* name → value */
  GHashTable *headers; /* lower-case name → value */
  GByteArray *body;
} PurserdRequest;

typedef struct _PurserdResponse PurserdResponse;

struct _PurserdResponse
{
  guint status;
  const char *content_type; /* static string */
  GBytes *body;
  GPtrArray *headers; /* name, value, name, value… (owned strings) */
  /* A handler that answers later (after a call to Stripe) sets `deferred` and returns;
   * purserd_response_complete sends the answer then. */
  gboolean deferred;
  void (*complete) (PurserdResponse *response, gpointer data);
  gpointer complete_data;
};

const char *purserd_request_header (PurserdRequest *request, const char *lower_name);
const char *purserd_request_query (PurserdRequest *request, const char *name);
void purserd_response_add_header (PurserdResponse *response, const char *name, const char *value);

/* Sends a deferred answer; on the writer's main context. */
void purserd_response_complete (PurserdResponse *response);

/* Runs on the writer's main context; must fill `response` (or defer it). */
typedef void (*PurserdHandler) (PurserdRequest *request, PurserdResponse *response,
                                gpointer user_data);

typedef struct
{
  char *listen; /* "127.0.0.1:8080", "[::1]:0", "0.0.0.0:8080" */
  guint connection_limit;
  guint per_ip_limit;
  guint timeout_seconds;
  gsize body_limit;       /* bytes; 413 above it */
  gsize large_body_limit; /* for paths that accept uploads (CSV import) */
} PurserdHttpConfig;

typedef struct _PurserdHttp PurserdHttp;

PurserdHttp *purserd_http_start (const PurserdHttpConfig *config, GMainContext *writer,
                                 PurserdHandler handler, gpointer user_data, GError **error);
guint16 purserd_http_port (PurserdHttp *http);
/* Stops accepting, finishes the requests in flight (iterating `writer`), stops. */
void purserd_http_stop (PurserdHttp *http);

G_END_DECLS
