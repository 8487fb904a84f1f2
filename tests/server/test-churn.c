/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "purserd-harness.h"
#include "purserd-test-util.h"

/* 50,000 keep-alive connections, each closed by the client right after its answer: the
 * server's file descriptors and memory stay flat (libsoup 3.2's server leaked a socket in
 * CLOSE-WAIT per connection here, see PLATFORM.md). */

#define WARM_UP     2000
#define CONNECTIONS 50000
/* Source addresses 127.0.0.1 … 127.0.0.N take turns, so the client's TIME-WAIT sockets
 * never run out of ports whatever the kernel's port range and reuse settings. */
#define SOURCES       8
#define FD_SLACK      10
#define RSS_SLACK_KIB (8 * 1024)

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#else
#define UNDER_ASAN 0
#endif

static const char request[] = "GET /healthz HTTP/1.1\r\n"
                              "Host: 127.0.0.1\r\n"
                              "Connection: keep-alive\r\n"
                              "Accept: application/json\r\n"
                              "\r\n";

static guint
open_fds (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/fd", (int) pid);
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) dir = g_dir_open (path, 0, &error);
  guint n = 0;

  g_assert_no_error (error);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

static gint64
rss_kib (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", (int) pid);
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  const char *line;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  line = strstr (text, "\nVmRSS:");
  g_assert_nonnull (line);
  return g_ascii_strtoll (line + strlen ("\nVmRSS:"), NULL, 10);
}

static struct sockaddr_in
server_address (PurserdHarness *h)
{
  const char *authority = harness_url (h) + strlen ("http://");
  const char *colon = strrchr (authority, ':');
  g_autofree char *host = NULL;
  struct sockaddr_in address = { 0 };

  g_assert_nonnull (colon);
  host = g_strndup (authority, (gsize) (colon - authority));
  address.sin_family = AF_INET;
  address.sin_port = htons ((guint16) g_ascii_strtoull (colon + 1, NULL, 10));
  g_assert_cmpint (inet_pton (AF_INET, host, &address.sin_addr), ==, 1);
  return address;
}

/* One connection: connect, ask, read the whole answer, close. */
static void
churn_one (const struct sockaddr_in *server, guint n)
{
  struct sockaddr_in source = { 0 };
  struct timeval timeout = { .tv_sec = 20 };
  char buffer[4096];
  gsize have = 0;
  const char *end_of_head = NULL;
  gsize wanted = 0;
  int one = 1;
  int fd;

  fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (fd, >=, 0);
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  setsockopt (fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  source.sin_family = AF_INET;
  source.sin_addr.s_addr = htonl (INADDR_LOOPBACK + n % SOURCES);
  if (bind (fd, (const struct sockaddr *) &source, sizeof source) != 0)
    g_error ("connection %u: bind: %s", n, g_strerror (errno));
  if (connect (fd, (const struct sockaddr *) server, sizeof *server) != 0)
    g_error ("connection %u: connect: %s", n, g_strerror (errno));
  if (send (fd, request, sizeof request - 1, MSG_NOSIGNAL) != (ssize_t) (sizeof request - 1))
    g_error ("connection %u: send: %s", n, g_strerror (errno));

  for (;;)
    {
      ssize_t got = recv (fd, buffer + have, sizeof buffer - 1 - have, 0);

      if (got <= 0)
        g_error ("connection %u: the answer ended after %" G_GSIZE_FORMAT " bytes (%s)", n, have,
                 got < 0 ? g_strerror (errno) : "closed");
      have += (gsize) got;
      buffer[have] = '\0';
      if (end_of_head == NULL && (end_of_head = strstr (buffer, "\r\n\r\n")) != NULL)
        {
          const char *length = g_strstr_len (buffer, end_of_head - buffer, "\r\nContent-Length:");

          if (length == NULL)
            length = g_strstr_len (buffer, end_of_head - buffer, "\r\ncontent-length:");
          g_assert_nonnull (length);
          wanted = (gsize) (end_of_head + 4 - buffer)
                   + (gsize) g_ascii_strtoull (length + strlen ("\r\nContent-Length:"), NULL, 10);
          g_assert_cmpuint (wanted, <, sizeof buffer);
        }
      if (end_of_head != NULL && have >= wanted)
        break;
      g_assert_cmpuint (have, <, sizeof buffer - 1);
    }
  if (!g_str_has_prefix (buffer, "HTTP/1.1 200 "))
    g_error ("connection %u answered: %.200s", n, buffer);
  g_assert_nonnull (strstr (end_of_head, "\"status\":\"ok\""));
  close (fd);
}

/* The server notices the last closes on its own time: wait for them, a while at most. */
static guint
settled_fds (GPid pid, guint limit)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
  guint fds = open_fds (pid);

  while (fds > limit && g_get_monotonic_time () < deadline)
    {
      g_usleep (20 * 1000);
      fds = open_fds (pid);
    }
  return fds;
}

static void
test_churn (void)
{
  PurserdHarness *h = harness_start (NULL, NULL);
  GPid pid = harness_pid (h);
  struct sockaddr_in server = server_address (h);
  g_autoptr (JsonNode) health = NULL;
  guint fds_start, fds_warm, fds_end;
  gint64 rss_start, rss_warm, rss_end;
  gint64 t0, t1;

  fds_start = open_fds (pid);
  rss_start = rss_kib (pid);
  for (guint i = 0; i < WARM_UP; i++)
    churn_one (&server, i);
  fds_warm = settled_fds (pid, fds_start + FD_SLACK);
  rss_warm = rss_kib (pid);
  g_test_message ("start: %u fds, %" G_GINT64_FORMAT " KiB; after %d connections: %u fds, "
                  "%" G_GINT64_FORMAT " KiB",
                  fds_start, rss_start, WARM_UP, fds_warm, rss_warm);

  t0 = g_get_monotonic_time ();
  for (guint i = WARM_UP; i < CONNECTIONS; i++)
    churn_one (&server, i);
  t1 = g_get_monotonic_time ();
  fds_end = settled_fds (pid, fds_warm + FD_SLACK);
  rss_end = rss_kib (pid);
  g_test_message ("after %d connections: %u fds, %" G_GINT64_FORMAT " KiB (%+" G_GINT64_FORMAT
                  " KiB); %.0f connections/s",
                  CONNECTIONS, fds_end, rss_end, rss_end - rss_warm,
                  (CONNECTIONS - WARM_UP) / ((t1 - t0) / (double) G_USEC_PER_SEC));

  g_assert_cmpuint (fds_end, <=, fds_warm + FD_SLACK);
  if (UNDER_ASAN)
    g_test_message ("AddressSanitizer's quarantine holds freed memory: RSS not checked");
  else
    g_assert_cmpint (rss_end - rss_warm, <, RSS_SLACK_KIB);

  /* Still serving, through an ordinary client too. */
  health = call_ok (h, "GET", "/healthz", NULL, NULL, 200);
  g_assert_cmpstr (harness_get_str (health, "status"), ==, "ok");
  harness_stop (h);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/purser/server/churn/client-closed-keep-alive", test_churn);
  return g_test_run ();
}
