/* SPDX-License-Identifier: GPL-3.0-or-later */
/* purserd's outbox over SMTP, end to end: a real aiosmtpd (Debian's python3-aiosmtpd) on
 * loopback receives the billing mail with its PDF, exactly once, also when it was down
 * when the mail was written. */
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "purserd-test-util.h"

#define PYTHON "/usr/bin/python3"

/* Writes each message it accepts to <spool>/message-NNN.eml. */
static const char sink_script[]
    = "import asyncio, os, sys, warnings, logging\n"
      "from aiosmtpd.smtp import SMTP\n"
      "warnings.simplefilter('ignore')\n"
      "logging.disable(logging.CRITICAL)\n"
      "port, spool = int(sys.argv[1]), sys.argv[2]\n"
      "class Handler:\n"
      "    async def handle_DATA(self, server, session, envelope):\n"
      "        n = len([f for f in os.listdir(spool) if f.endswith('.eml')]) + 1\n"
      "        path = os.path.join(spool, 'message-%03d' % n)\n"
      "        with open(path + '.tmp', 'wb') as f:\n"
      "            f.write(envelope.original_content)\n"
      "        os.rename(path + '.tmp', path + '.eml')\n"
      "        return '250 2.0.0 OK'\n"
      "async def main():\n"
      "    loop = asyncio.get_running_loop()\n"
      "    server = await loop.create_server(lambda: SMTP(Handler(), hostname='mail.test'),\n"
      "                                      '127.0.0.1', port)\n"
      "    print('ready', flush=True)\n"
      "    await loop.create_future()\n"
      "asyncio.run(main())\n";

typedef struct
{
  PurserdHarness *h;
  char *spool;
  guint16 port;
  GSubprocess *smtp;
  char *org;
  char *token;
} Fixture;

static guint16
free_port (void)
{
  g_autoptr (GSocket) socket
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;

  g_assert_true (g_socket_bind (socket, address, TRUE, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static void
smtp_start (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *port = g_strdup_printf ("%u", f->port);
  g_autoptr (GDataInputStream) out = NULL;
  g_autofree char *line = NULL;

  f->smtp = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                              &error, PYTHON, "-c", sink_script, port, f->spool, NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (f->smtp));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (line, ==, "ready");
}

static void
smtp_stop (Fixture *f)
{
  if (f->smtp == NULL)
    return;
  g_subprocess_force_exit (f->smtp);
  g_subprocess_wait (f->smtp, NULL, NULL);
  g_clear_object (&f->smtp);
}

/* The messages received so far, in order. */
static GPtrArray *
received (Fixture *f)
{
  g_autoptr (GDir) dir = g_dir_open (f->spool, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  GPtrArray *messages = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (dir && (name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (name, ".eml"))
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (f->spool, g_ptr_array_index (names, i), NULL);
      char *text = NULL;

      g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
      g_ptr_array_add (messages, text);
    }
  return messages;
}

static guint
count_with (GPtrArray *messages, const char *needle)
{
  guint n = 0;

  for (guint i = 0; i < messages->len; i++)
    if (strstr (g_ptr_array_index (messages, i), needle) != NULL)
      n++;
  return n;
}

/* Waits until a received message contains `needle`. */
static void
wait_for_message (Fixture *f, const char *needle, int seconds)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) seconds * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr (GPtrArray) messages = received (f);

      if (count_with (messages, needle) > 0)
        return;
      g_usleep (100 * 1000);
    }
  g_error ("no message with \"%s\" arrived within %d s", needle, seconds);
}

static JsonNode *
org_call (Fixture *f, const char *method, const char *what, const char *body, guint expected)
{
  g_autofree char *path = g_strdup_printf ("/v1/orgs/%s/%s", f->org, what);
  guint status = 0;
  JsonNode *answer = harness_request (f->h, method, path, f->token, body, &status);

  assert_status (answer, status, expected);
  return answer;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autofree char *url = NULL;
  g_autoptr (GError) error = NULL;

  f->spool = g_dir_make_tmp ("purser-smtp-XXXXXX", &error);
  g_assert_no_error (error);
  f->port = free_port ();
  url = g_strdup_printf ("smtp://127.0.0.1:%u", f->port);
  {
    const char *args[]
        = { "--smtp-url", url, "--mail-from", "Acme Billing <billing@acme.test>", NULL };

    f->h = harness_start ("2026-03-01T09:00:00Z", args);
  }
  harness_create_org (f->h, "Acme Corp", "ACME", &f->org, &f->token);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  smtp_stop (f);
  harness_stop (f->h);
  g_free (f->org);
  g_free (f->token);
  {
    g_autoptr (GDir) dir = g_dir_open (f->spool, 0, NULL);
    const char *name;

    while (dir && (name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *path = g_build_filename (f->spool, name, NULL);

        g_unlink (path);
      }
  }
  g_rmdir (f->spool);
  g_free (f->spool);
}

/* Mail written while the SMTP server is down waits in the outbox, then arrives once, with
 * its PDF; nothing is sent again when the server comes back a second time. */
static void
test_outbox_survives_outage (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonNode) wire = NULL;
  g_autoptr (JsonNode) sub = NULL;
  g_autoptr (JsonNode) invoices = NULL;
  g_autoptr (JsonNode) emails = NULL;
  g_autoptr (JsonNode) paid = NULL;
  g_autoptr (GPtrArray) first = NULL;
  g_autoptr (GPtrArray) last = NULL;
  g_autofree char *invoice_number = NULL;
  g_autofree char *mark_paid = NULL;
  JsonArray *list;

  /* The server is down: the invoice mail of a new subscription is queued and retried. */
  wire = org_call (f, "POST", "payment-methods", "{\"type\": \"wire\"}", 201);
  sub = org_call (f, "POST", "subscription",
                  "{\"plan\": \"business\", \"cycle\": \"monthly\", \"seats\": 5, "
                  "\"billing_day\": 1}",
                  201);
  invoices = org_call (f, "GET", "invoices", NULL, 200);
  invoice_number = g_strdup (harness_get_str (invoices, "data.0.number"));
  g_usleep (1500 * 1000);
  emails = org_call (f, "GET", "emails", NULL, 200);
  list = json_node_get_array (harness_get (emails, "data"));
  g_assert_cmpuint (json_array_get_length (list), ==, 1);
  g_assert_cmpstr (harness_get_str (emails, "data.0.template"), ==, "invoice-issued");
  g_assert_cmpstr (harness_get_str (emails, "data.0.status"), ==, "queued");
  g_assert_cmpint (harness_get_int (emails, "data.0.attempts"), >=, 1);
  g_assert_nonnull (harness_get_str (emails, "data.0.last_error"));
  g_assert_nonnull (strstr (harness_get_str (emails, "delivery"), "SMTP"));

  /* It comes up: the queued mail arrives by itself, with the invoice PDF. */
  smtp_start (f);
  wait_for_message (f, invoice_number, 40);
  first = received (f);
  g_assert_cmpuint (first->len, ==, 1);
  g_assert_nonnull (strstr (g_ptr_array_index (first, 0), "Content-Type: application/pdf"));
  g_assert_nonnull (strstr (g_ptr_array_index (first, 0), "multipart/alternative"));
  g_assert_nonnull (strstr (g_ptr_array_index (first, 0), "text/html"));

  /* A payment: its receipt follows, once. */
  mark_paid = g_strdup_printf ("invoices/%s/mark-paid", harness_get_str (invoices, "data.0.id"));
  paid = org_call (f, "POST", mark_paid, "{\"reference\": \"WT-2026-0042\"}", 200);
  wait_for_message (f, harness_get_str (paid, "payment.receipt_number"), 20);

  /* Down and up again: nothing is sent twice. */
  smtp_stop (f);
  g_usleep (3 * G_USEC_PER_SEC);
  smtp_start (f);
  g_usleep (7 * G_USEC_PER_SEC);
  last = received (f);
  g_assert_cmpuint (last->len, ==, 2);
  g_assert_cmpuint (count_with (last, invoice_number), ==, 2); /* the invoice, the receipt */
  g_assert_cmpuint (count_with (last, "Message-ID: <mail_"), ==, 2);
  g_assert_nonnull (strstr (g_ptr_array_index (last, 1), "Content-Type: application/pdf"));
  g_clear_pointer (&emails, json_node_unref);
  emails = org_call (f, "GET", "emails", NULL, 200);
  g_assert_cmpstr (harness_get_str (emails, "data.0.status"), ==, "sent");
  g_assert_cmpstr (harness_get_str (emails, "data.1.status"), ==, "sent");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (!g_file_test (PYTHON, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip (PYTHON " is needed (tools/install-deps installs python3-aiosmtpd)");
      return g_test_run ();
    }
  g_test_add ("/mail-delivery/outbox-survives-outage", Fixture, NULL, fixture_setup,
              test_outbox_survives_outage, fixture_teardown);
  return g_test_run ();
}
