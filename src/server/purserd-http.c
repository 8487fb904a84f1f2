/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gio/gio.h>
#include <microhttpd.h>
#include <string.h>

#include "purser-wire.h"
#include "purserd-http.h"

struct _PurserdHttp
{
  struct MHD_Daemon *daemon;
  GMainContext *writer;
  PurserdHandler handler;
  gpointer user_data;
  gsize body_limit;
  gsize large_body_limit;
  gint in_flight; /* requests handed to the writer, not yet answered */
};

typedef struct
{
  PurserdHttp *http;
  struct MHD_Connection *connection;
  PurserdRequest request;
  PurserdResponse response;
  struct MHD_Response *mhd_response;
  gsize limit;
  gboolean too_large;
  gboolean in_handler; /* the writer is running the handler */
  gboolean answered;
} Job;

const char *
purserd_request_header (PurserdRequest *request, const char *lower_name)
{
  return g_hash_table_lookup (request->headers, lower_name);
}

const char *
purserd_request_query (PurserdRequest *request, const char *name)
{
  return g_hash_table_lookup (request->query, name);
}

void
purserd_response_add_header (PurserdResponse *response, const char *name, const char *value)
{
  if (response->headers == NULL)
    response->headers = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (response->headers, g_strdup (name));
  g_ptr_array_add (response->headers, g_strdup (value));
}

static void
job_free (Job *job)
{
  g_free (job->request.method);
  g_free (job->request.path);
  g_clear_pointer (&job->request.query, g_hash_table_unref);
  g_clear_pointer (&job->request.headers, g_hash_table_unref);
  g_clear_pointer (&job->request.body, g_byte_array_unref);
  g_clear_pointer (&job->response.body, g_bytes_unref);
  g_clear_pointer (&job->response.headers, g_ptr_array_unref);
  if (job->mhd_response != NULL)
    MHD_destroy_response (job->mhd_response);
  g_free (job);
}

static struct MHD_Response *
build_response (PurserdResponse *response)
{
  struct MHD_Response *mhd;
  gsize size = 0;
  gconstpointer data = response->body ? g_bytes_get_data (response->body, &size) : NULL;

  mhd = MHD_create_response_from_buffer (size, (void *) data, MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header (mhd, MHD_HTTP_HEADER_CONTENT_TYPE,
                           response->content_type ? response->content_type
                                                  : "application/json; charset=utf-8");
  MHD_add_response_header (mhd, "Cache-Control", "no-store");
  for (guint i = 0; response->headers && i + 1 < response->headers->len; i += 2)
    MHD_add_response_header (mhd, g_ptr_array_index (response->headers, i),
                             g_ptr_array_index (response->headers, i + 1));
  return mhd;
}

static enum MHD_Result
queue_error (struct MHD_Connection *connection, guint status, const char *code, const char *message)
{
  g_autofree char *body = purser_wire_error_body (code, message, NULL);
  struct MHD_Response *response;
  enum MHD_Result ret;

  response = MHD_create_response_from_buffer (strlen (body), body, MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE,
                           "application/json; charset=utf-8");
  MHD_add_response_header (response, MHD_HTTP_HEADER_CONNECTION, "close");
  ret = MHD_queue_response (connection, status, response);
  MHD_destroy_response (response);
  return ret;
}

static enum MHD_Result
collect_value (void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
  GHashTable *table = cls;

  if (key == NULL)
    return MHD_YES;
  if (kind == MHD_HEADER_KIND)
    g_hash_table_insert (table, g_ascii_strdown (key, -1), g_strdup (value ? value : ""));
  else
    g_hash_table_insert (table, g_strdup (key), g_strdup (value ? value : ""));
  return MHD_YES;
}

void
purserd_response_complete (PurserdResponse *response)
{
  response->complete (response, response->complete_data);
}

static void
job_resume (Job *job)
{
  g_atomic_int_dec_and_test (&job->http->in_flight);
  /* From here on MHD's thread may finish the request and free the job. */
  MHD_resume_connection (job->connection);
}

static void
job_answer (PurserdResponse *response, gpointer data)
{
  Job *job = data;

  job->mhd_response = build_response (response);
  job->answered = TRUE;
  /* A deferred answer given inside its own handler is sent when the handler returns. */
  if (!job->in_handler)
    job_resume (job);
}

static gboolean
run_job (gpointer data)
{
  Job *job = data;

  job->response.complete = job_answer;
  job->response.complete_data = job;
  job->in_handler = TRUE;
  job->http->handler (&job->request, &job->response, job->http->user_data);
  job->in_handler = FALSE;
  if (!job->response.deferred && !job->answered)
    {
      job->mhd_response = build_response (&job->response);
      job->answered = TRUE;
    }
  if (job->answered)
    job_resume (job);
  return G_SOURCE_REMOVE;
}

static gsize
too_large_message_limit (Job *job)
{
  return job->limit / 1024;
}

static enum MHD_Result
access_cb (void *cls, struct MHD_Connection *connection, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
  PurserdHttp *http = cls;
  Job *job = *con_cls;

  if (job == NULL)
    {
      const char *length;

      job = g_new0 (Job, 1);
      job->http = http;
      job->connection = connection;
      job->request.method = g_strdup (method);
      job->request.path = g_strdup (url);
      job->request.query = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      job->request.headers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      job->request.body = g_byte_array_new ();
      job->limit = g_str_has_suffix (url, "/import") ? http->large_body_limit : http->body_limit;
      MHD_get_connection_values (connection, MHD_HEADER_KIND, collect_value, job->request.headers);
      MHD_get_connection_values (connection, MHD_GET_ARGUMENT_KIND, collect_value,
                                 job->request.query);
      *con_cls = job;

      /* A declared body over the limit is refused before a byte of it is read. */
      length = g_hash_table_lookup (job->request.headers, "content-length");
      if (length != NULL && g_ascii_strtoull (length, NULL, 10) > job->limit)
        {
          g_autofree char *message
              = g_strdup_printf ("The request body is larger than %" G_GSIZE_FORMAT " KiB.",
                                 too_large_message_limit (job));
          job->too_large = TRUE;
          return queue_error (connection, 413, "body_too_large", message);
        }
      return MHD_YES;
    }

  if (job->mhd_response != NULL)
    return MHD_queue_response (connection, job->response.status, job->mhd_response);

  if (*upload_data_size > 0)
    {
      if (!job->too_large && job->request.body->len + *upload_data_size <= job->limit)
        g_byte_array_append (job->request.body, (const guint8 *) upload_data, *upload_data_size);
      else
        {
          job->too_large = TRUE;
          g_byte_array_set_size (job->request.body, 0);
        }
      *upload_data_size = 0;
      return MHD_YES;
    }

  if (job->too_large)
    {
      g_autofree char *message
          = g_strdup_printf ("The request body is larger than %" G_GSIZE_FORMAT " KiB.",
                             too_large_message_limit (job));
      return queue_error (connection, 413, "body_too_large", message);
    }

  g_atomic_int_inc (&http->in_flight);
  MHD_suspend_connection (connection);
  g_main_context_invoke (http->writer, run_job, job);
  return MHD_YES;
}

static void
completed_cb (void *cls, struct MHD_Connection *connection, void **con_cls,
              enum MHD_RequestTerminationCode toe)
{
  g_clear_pointer ((Job **) con_cls, job_free);
}

static void
log_cb (void *cls, const char *format, va_list ap)
{
  g_autofree char *message = g_strdup_vprintf (format, ap);

  g_debug ("microhttpd: %s", g_strchomp (message));
}

static gboolean
parse_listen (const char *listen, struct sockaddr_storage *storage, gboolean *ipv6, GError **error)
{
  g_autoptr (GSocketConnectable) connectable = NULL;
  g_autoptr (GInetAddress) address = NULL;
  g_autoptr (GSocketAddress) socket_address = NULL;
  g_autofree char *host = NULL;
  guint16 port = 0;

  connectable = g_network_address_parse (listen, 8080, error);
  if (connectable == NULL)
    return FALSE;
  host = g_strdup (g_network_address_get_hostname (G_NETWORK_ADDRESS (connectable)));
  port = g_network_address_get_port (G_NETWORK_ADDRESS (connectable));
  if (g_str_equal (host, "localhost"))
    {
      g_free (host);
      host = g_strdup ("127.0.0.1");
    }
  address = g_inet_address_new_from_string (host);
  if (address == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Listen on an IP address and port such as 127.0.0.1:8080, not \"%s\"", listen);
      return FALSE;
    }
  socket_address = g_inet_socket_address_new (address, port);
  *ipv6 = g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6;
  return g_socket_address_to_native (socket_address, storage, sizeof *storage, error);
}

PurserdHttp *
purserd_http_start (const PurserdHttpConfig *config, GMainContext *writer, PurserdHandler handler,
                    gpointer user_data, GError **error)
{
  g_autofree PurserdHttp *http = g_new0 (PurserdHttp, 1);
  struct sockaddr_storage address;
  gboolean ipv6 = FALSE;
  unsigned int flags;

  if (!parse_listen (config->listen, &address, &ipv6, error))
    return NULL;

  http->writer = writer;
  http->handler = handler;
  http->user_data = user_data;
  http->body_limit = config->body_limit;
  http->large_body_limit = config->large_body_limit;

  /* Poll, not epoll: in 0.9.75's epoll modes a half-closed client stays in CLOSE-WAIT. */
  flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_ALLOW_SUSPEND_RESUME
          | MHD_USE_ERROR_LOG | (ipv6 ? MHD_USE_IPv6 : 0);
  http->daemon = MHD_start_daemon (
      flags, 0, NULL, NULL, access_cb, http, MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &address,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned int) config->connection_limit,
      MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int) config->per_ip_limit,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) config->timeout_seconds,
      MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int) 1024, MHD_OPTION_NOTIFY_COMPLETED,
      completed_cb, http, MHD_OPTION_EXTERNAL_LOGGER, log_cb, http, MHD_OPTION_END);
  if (http->daemon == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
                   "Cannot listen on %s: the address is in use or not available here",
                   config->listen);
      return NULL;
    }
  return g_steal_pointer (&http);
}

guint16
purserd_http_port (PurserdHttp *http)
{
  const union MHD_DaemonInfo *info = MHD_get_daemon_info (http->daemon, MHD_DAEMON_INFO_BIND_PORT);

  return info ? info->port : 0;
}

void
purserd_http_stop (PurserdHttp *http)
{
  MHD_quiesce_daemon (http->daemon);
  while (g_atomic_int_get (&http->in_flight) > 0)
    g_main_context_iteration (http->writer, TRUE);
  /* Let resumed connections send their answers. */
  for (int i = 0;
       i < 50
       && MHD_get_daemon_info (http->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS)->num_connections
              > 0;
       i++)
    g_usleep (10 * 1000);
  MHD_stop_daemon (http->daemon);
  g_free (http);
}
