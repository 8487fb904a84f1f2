/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "purserd-harness.h"

/* How long purserd may take to say it listens: --demo under ASan is slow. */
#define START_TIMEOUT_SECONDS 60
/* How long it may take to stop after SIGTERM before it is killed. */
#define STOP_TIMEOUT_SECONDS 30
/* How long one HTTP exchange may take. */
#define REQUEST_TIMEOUT_SECONDS 60

#define LISTENING_PREFIX "purserd: listening on "

struct _PurserdHarness
{
  GSubprocess *process;
  GPid pid;
  char *dir;
  char *stderr_path;
  char *url;
  SoupSession *session;

  /* stdout is read by a thread of its own until purserd closes it, so purserd never
   * blocks on a full pipe whatever it prints. */
  GThread *reader;
  GMutex lock;
  GCond cond;
  GString *output;
  gboolean listening;
  gboolean eof;
};

/* ── starting and stopping ─────────────────────────────────────────────────────── */

/* In the child: die with the test, so a failed assertion never leaves a server behind. */
static void
child_setup (gpointer user_data)
{
  pid_t parent = GPOINTER_TO_INT (user_data);

  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != parent)
    _exit (1);
}

static gpointer
read_stdout (gpointer data)
{
  PurserdHarness *h = data;
  g_autoptr (GDataInputStream) lines = NULL;

  lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (h->process));
  for (;;)
    {
      g_autofree char *line = g_data_input_stream_read_line_utf8 (lines, NULL, NULL, NULL);

      g_mutex_lock (&h->lock);
      if (line == NULL)
        {
          h->eof = TRUE;
          g_cond_broadcast (&h->cond);
          g_mutex_unlock (&h->lock);
          break;
        }
      g_string_append (h->output, line);
      g_string_append_c (h->output, '\n');
      if (!h->listening && g_str_has_prefix (line, LISTENING_PREFIX))
        {
          h->url = g_strdup (line + strlen (LISTENING_PREFIX));
          g_strchomp (h->url);
          h->listening = TRUE;
          g_cond_broadcast (&h->cond);
        }
      g_mutex_unlock (&h->lock);
    }
  return NULL;
}

static char *
read_stderr (PurserdHarness *h)
{
  char *text = NULL;

  if (h->stderr_path == NULL || !g_file_get_contents (h->stderr_path, &text, NULL, NULL))
    return g_strdup ("(nothing)");
  return text;
}

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *child = g_build_filename (path, name, NULL);

        if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
          remove_tree (child);
        else
          g_unlink (child);
      }
  g_rmdir (path);
}

static void
wait_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  gboolean *done = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *done = TRUE;
}

static gboolean
timeout_cb (gpointer user_data)
{
  gboolean *expired = user_data;

  *expired = TRUE;
  return G_SOURCE_REMOVE;
}

/* Waits for the process to end, at most `seconds`, on a main context of our own; kills it
 * then when `kill_late`. */
static gboolean
wait_for_exit (PurserdHarness *h, guint seconds, gboolean kill_late)
{
  g_autoptr (GMainContext) context = g_main_context_new ();
  g_autoptr (GSource) timeout = g_timeout_source_new_seconds (seconds);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  gboolean done = FALSE, expired = FALSE;

  g_main_context_push_thread_default (context);
  g_subprocess_wait_async (h->process, cancellable, wait_done_cb, &done);
  g_source_set_callback (timeout, timeout_cb, &expired, NULL);
  g_source_attach (timeout, context);
  while (!done && !expired)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (timeout);
  /* The wait's callback must run before `done` goes out of scope. */
  if (!done)
    {
      if (kill_late)
        g_subprocess_force_exit (h->process);
      else
        g_cancellable_cancel (cancellable);
      while (!done)
        g_main_context_iteration (context, TRUE);
    }
  g_main_context_pop_thread_default (context);
  return !expired;
}

/* After a request got no answer: did purserd die? */
static char *
describe_death (PurserdHarness *h)
{
  if (!wait_for_exit (h, 2, FALSE))
    return g_strdup ("purserd is still running");
  if (g_subprocess_get_if_signaled (h->process))
    return g_strdup_printf ("purserd died of signal %d (%s)",
                            g_subprocess_get_term_sig (h->process),
                            g_strsignal (g_subprocess_get_term_sig (h->process)));
  return g_strdup_printf ("purserd exited with status %d",
                          g_subprocess_get_exit_status (h->process));
}

static void
harness_free (PurserdHarness *h)
{
  if (h->reader != NULL)
    g_thread_join (h->reader);
  g_clear_object (&h->session);
  g_clear_object (&h->process);
  if (h->dir != NULL)
    remove_tree (h->dir);
  g_free (h->dir);
  g_free (h->stderr_path);
  g_free (h->url);
  if (h->output != NULL)
    g_string_free (h->output, TRUE);
  g_mutex_clear (&h->lock);
  g_cond_clear (&h->cond);
  g_free (h);
}

static const char *const scrubbed_variables[] = {
  "STRIPE_SECRET_KEY",         "STRIPE_SECRET_KEY_FILE",
  "STRIPE_WEBHOOK_SECRET",     "STRIPE_WEBHOOK_SECRET_FILE",
  "STRIPE_API_BASE",           "PURSER_SMTP_URL",
  "PURSER_SMTP_USER",          "PURSER_SMTP_PASSWORD",
  "PURSER_SMTP_PASSWORD_FILE", "PURSER_MAILDIR",
  "PURSER_PUBLIC_URL",
};

PurserdHarness *
harness_start (const char *now, const char *const *extra_args)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autofree char *database = NULL;
  const char *purserd = g_getenv ("PURSERD");
  PurserdHarness *h;
  gint64 deadline;
  gboolean listening, eof;

  if (purserd == NULL || *purserd == '\0')
    g_error ("PURSERD is not set: run the server tests with `meson test --suite server`, "
             "which points it at the purserd of the build tree");

  h = g_new0 (PurserdHarness, 1);
  g_mutex_init (&h->lock);
  g_cond_init (&h->cond);
  h->output = g_string_new (NULL);
  h->dir = g_dir_make_tmp ("purserd-test-XXXXXX", &error);
  g_assert_no_error (error);
  h->stderr_path = g_build_filename (h->dir, "stderr.log", NULL);
  database = g_build_filename (h->dir, "purserd.db", NULL);

  g_ptr_array_add (argv, g_strdup (purserd));
  g_ptr_array_add (argv, g_strdup ("--database"));
  g_ptr_array_add (argv, g_strdup (database));
  g_ptr_array_add (argv, g_strdup ("--listen"));
  g_ptr_array_add (argv, g_strdup ("127.0.0.1:0"));
  g_ptr_array_add (argv, g_strdup ("--operator-token"));
  g_ptr_array_add (argv, g_strdup (HARNESS_OPERATOR_TOKEN));
  g_ptr_array_add (argv, g_strdup ("--test-clock"));
  /* Mail stays in the test's directory unless a test passes --smtp-url. */
  g_ptr_array_add (argv, g_strdup ("--maildir"));
  g_ptr_array_add (argv, g_build_filename (h->dir, "mail", NULL));
  if (now != NULL)
    {
      g_ptr_array_add (argv, g_strdup ("--now"));
      g_ptr_array_add (argv, g_strdup (now));
    }
  for (guint i = 0; extra_args != NULL && extra_args[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (extra_args[i]));
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_stderr_file_path (launcher, h->stderr_path);
  /* Nothing of the developer's own configuration leaks into a test's server. */
  for (guint i = 0; i < G_N_ELEMENTS (scrubbed_variables); i++)
    g_subprocess_launcher_unsetenv (launcher, scrubbed_variables[i]);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, GINT_TO_POINTER (getpid ()), NULL);
  h->process = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  if (h->process == NULL)
    g_error ("could not start %s: %s", purserd, error->message);
  h->pid = (GPid) g_ascii_strtoll (g_subprocess_get_identifier (h->process), NULL, 10);
  h->reader = g_thread_new ("purserd-stdout", read_stdout, h);

  deadline = g_get_monotonic_time () + START_TIMEOUT_SECONDS * G_TIME_SPAN_SECOND;
  g_mutex_lock (&h->lock);
  while (!h->listening && !h->eof)
    if (!g_cond_wait_until (&h->cond, &h->lock, deadline))
      break;
  listening = h->listening;
  eof = h->eof;
  g_mutex_unlock (&h->lock);

  if (!listening)
    {
      g_autofree char *command = g_strjoinv (" ", (char **) argv->pdata);
      g_autofree char *err = NULL;
      g_autofree char *out = NULL;

      if (!eof)
        g_subprocess_force_exit (h->process);
      g_subprocess_wait (h->process, NULL, NULL);
      g_mutex_lock (&h->lock);
      out = g_strdup (h->output->str);
      g_mutex_unlock (&h->lock);
      err = read_stderr (h);
      g_error ("purserd did not start listening %s:\n  %s\n"
               "--- its stdout ---\n%s--- its stderr ---\n%s",
               eof ? "(it exited)" : "within " G_STRINGIFY (START_TIMEOUT_SECONDS) " s", command,
               out, err);
    }

  h->session = g_object_new (SOUP_TYPE_SESSION, "proxy-resolver", NULL, "timeout",
                             REQUEST_TIMEOUT_SECONDS, "user-agent", "purserd-tests", NULL);
  return h;
}

void
harness_stop (PurserdHarness *h)
{
  g_autofree char *err = NULL;
  gboolean in_time;

  if (h == NULL)
    return;
  /* Idle keep-alive connections would only slow the server's shutdown down. */
  g_clear_object (&h->session);
  g_subprocess_send_signal (h->process, SIGTERM);
  in_time = wait_for_exit (h, STOP_TIMEOUT_SECONDS, TRUE);
  err = read_stderr (h);
  if (!in_time)
    g_error ("purserd did not stop within %d s of SIGTERM and was killed; its stderr:\n%s",
             STOP_TIMEOUT_SECONDS, err);
  /* A clean exit: no crash, no fatal warning, no leak report under the sanitizers. */
  if (!g_subprocess_get_if_exited (h->process) || g_subprocess_get_exit_status (h->process) != 0)
    {
      if (g_subprocess_get_if_signaled (h->process))
        g_error ("purserd died of signal %d when asked to stop; its stderr:\n%s",
                 g_subprocess_get_term_sig (h->process), err);
      g_error ("purserd exited with status %d when asked to stop; its stderr:\n%s",
               g_subprocess_get_exit_status (h->process), err);
    }
  harness_free (h);
}

const char *
harness_dir (PurserdHarness *h)
{
  return h->dir;
}

char *
harness_stdout (PurserdHarness *h)
{
  char *out;

  g_mutex_lock (&h->lock);
  out = g_strdup (h->output->str);
  g_mutex_unlock (&h->lock);
  return out;
}

const char *
harness_stderr_path (PurserdHarness *h)
{
  return h->stderr_path;
}

const char *
harness_url (PurserdHarness *h)
{
  return h->url;
}

GPid
harness_pid (PurserdHarness *h)
{
  return h->pid;
}

/* ── requests ──────────────────────────────────────────────────────────────────── */

static JsonNode *
parse_answer (const char *method, const char *path, guint status, GBytes *bytes)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) error = NULL;
  gsize length = 0;
  const char *data = bytes ? g_bytes_get_data (bytes, &length) : NULL;

  if (length == 0)
    return NULL;
  if (!json_parser_load_from_data (parser, data, (gssize) length, &error))
    {
      g_autofree char *message
          = g_strdup_printf ("%s %s answered %u with a body that is not JSON (%s): %.*s", method,
                             path, status, error->message, (int) MIN (length, 2000), data);

      g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, message);
    }
  return json_node_copy (json_parser_get_root (parser));
}

JsonNode *
harness_request_full (PurserdHarness *h, const char *method, const char *path, const char *token,
                      const char *content_type, const char *body, gsize length,
                      const char *const *headers, guint *status,
                      SoupMessageHeaders **response_headers)
{
  g_autoptr (SoupMessage) message = NULL;
  g_autoptr (GBytes) answer = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *url = g_strconcat (h->url, path, NULL);
  SoupMessageHeaders *request_headers;

  message = soup_message_new (method, url);
  if (message == NULL)
    {
      g_autofree char *text = g_strdup_printf ("not a valid request: %s %s", method, url);

      g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, text);
    }
  request_headers = soup_message_get_request_headers (message);
  if (token != NULL)
    {
      g_autofree char *bearer = g_strconcat ("Bearer ", token, NULL);

      soup_message_headers_replace (request_headers, "Authorization", bearer);
    }
  for (guint i = 0; headers != NULL && headers[i] != NULL && headers[i + 1] != NULL; i += 2)
    soup_message_headers_append (request_headers, headers[i], headers[i + 1]);
  if (body != NULL)
    {
      g_autoptr (GBytes) bytes = g_bytes_new (body, length);

      soup_message_set_request_body_from_bytes (message, content_type, bytes);
    }

  answer = soup_session_send_and_read (h->session, message, NULL, &error);
  if (answer == NULL)
    {
      g_autofree char *death = describe_death (h);
      g_autofree char *err = read_stderr (h);
      g_autofree char *text = g_strdup_printf ("%s %s got no answer: %s; %s. Its stderr:\n%s",
                                               method, path, error->message, death, err);

      g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, text);
    }

  if (status != NULL)
    *status = soup_message_get_status (message);
  if (response_headers != NULL)
    *response_headers = soup_message_headers_ref (soup_message_get_response_headers (message));
  return parse_answer (method, path, soup_message_get_status (message), answer);
}

JsonNode *
harness_request (PurserdHarness *h, const char *method, const char *path, const char *token,
                 const char *body, guint *status)
{
  return harness_request_full (h, method, path, token, body ? "application/json" : NULL, body,
                               body ? strlen (body) : 0, NULL, status, NULL);
}

static char *
describe (JsonNode *node)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();

  if (node == NULL)
    return g_strdup ("(no body)");
  json_generator_set_root (generator, node);
  return json_generator_to_data (generator, NULL);
}

static void
expect_status (const char *what, guint status, guint expected, JsonNode *answer)
{
  g_autofree char *body = NULL;
  g_autofree char *text = NULL;

  if (status == expected)
    return;
  body = describe (answer);
  text = g_strdup_printf ("%s answered %u, expected %u: %s", what, status, expected, body);
  g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, text);
}

char *
harness_login (PurserdHarness *h, const char *email, const char *password)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (JsonNode) answer = NULL;
  g_autofree char *body = NULL;
  guint status = 0;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "email");
  json_builder_add_string_value (builder, email);
  json_builder_set_member_name (builder, "password");
  json_builder_add_string_value (builder, password);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  body = json_to_string (root, FALSE);

  answer = harness_request (h, "POST", "/v1/auth/login", NULL, body, &status);
  expect_status ("POST /v1/auth/login", status, 200, answer);
  return g_strdup (harness_get_str (answer, "token"));
}

void
harness_create_org (PurserdHarness *h, const char *name, const char *code, char **org_id,
                    char **admin_token)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (JsonNode) answer = NULL;
  g_autofree char *lower = g_ascii_strdown (code, -1);
  g_autofree char *email = g_strdup_printf ("admin@%s.test", lower);
  g_autofree char *admin_name = g_strdup_printf ("Admin of %s", name);
  g_autofree char *body = NULL;
  guint status = 0;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, name);
  json_builder_set_member_name (builder, "code");
  json_builder_add_string_value (builder, code);
  json_builder_set_member_name (builder, "admin");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "email");
  json_builder_add_string_value (builder, email);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, admin_name);
  json_builder_set_member_name (builder, "password");
  json_builder_add_string_value (builder, HARNESS_PASSWORD);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  body = json_to_string (root, FALSE);

  answer = harness_request (h, "POST", "/v1/orgs", HARNESS_OPERATOR_TOKEN, body, &status);
  expect_status ("POST /v1/orgs", status, 201, answer);
  if (org_id != NULL)
    *org_id = g_strdup (harness_get_str (answer, "org.id"));
  if (admin_token != NULL)
    *admin_token = harness_login (h, email, HARNESS_PASSWORD);
}

void
harness_set_clock (PurserdHarness *h, const char *now)
{
  g_autofree char *body = g_strdup_printf ("{\"now\": \"%s\"}", now);
  g_autofree char *what = g_strdup_printf ("POST /v1/test-clock to %s", now);
  g_autoptr (JsonNode) answer = NULL;
  guint status = 0;

  answer = harness_request (h, "POST", "/v1/test-clock", HARNESS_OPERATOR_TOKEN, body, &status);
  expect_status (what, status, 200, answer);
}

/* ── JSON paths ────────────────────────────────────────────────────────────────── */

static JsonNode *
lookup_path (JsonNode *root, const char *path, char **missing)
{
  g_auto (GStrv) parts = g_strsplit (path, ".", -1);
  JsonNode *node = root;

  for (guint i = 0; node != NULL && parts[i] != NULL; i++)
    {
      if (JSON_NODE_HOLDS_OBJECT (node))
        node = json_object_get_member (json_node_get_object (node), parts[i]);
      else if (JSON_NODE_HOLDS_ARRAY (node))
        {
          JsonArray *array = json_node_get_array (node);
          guint64 index;

          if (g_ascii_string_to_unsigned (parts[i], 10, 0, G_MAXUINT, &index, NULL)
              && index < json_array_get_length (array))
            node = json_array_get_element (array, (guint) index);
          else
            node = NULL;
        }
      else
        node = NULL;
      if (node == NULL && missing != NULL)
        *missing = g_strdup (parts[i]);
    }
  return node;
}

static void
path_failure (JsonNode *root, const char *path, const char *problem)
{
  g_autofree char *json = describe (root);
  g_autofree char *text = NULL;

  if (strlen (json) > 4000)
    strcpy (json + 3990, "…");
  text = g_strdup_printf ("JSON path \"%s\": %s in %s", path, problem, json);
  g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, text);
}

JsonNode *
harness_get (JsonNode *root, const char *path)
{
  g_autofree char *missing = NULL;
  JsonNode *node;

  if (root == NULL)
    path_failure (root, path, "no answer");
  node = lookup_path (root, path, &missing);
  if (node == NULL)
    {
      g_autofree char *problem = g_strdup_printf ("no \"%s\"", missing ? missing : path);

      path_failure (root, path, problem);
    }
  return node;
}

gint64
harness_get_int (JsonNode *root, const char *path)
{
  JsonNode *node = harness_get (root, path);

  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    path_failure (root, path, "not an integer");
  return json_node_get_int (node);
}

const char *
harness_get_str (JsonNode *root, const char *path)
{
  JsonNode *node = harness_get (root, path);

  if (JSON_NODE_HOLDS_NULL (node))
    return NULL;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    path_failure (root, path, "not a string");
  return json_node_get_string (node);
}

gboolean
harness_get_bool (JsonNode *root, const char *path)
{
  JsonNode *node = harness_get (root, path);

  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    path_failure (root, path, "not a boolean");
  return json_node_get_boolean (node);
}

gboolean
harness_has (JsonNode *root, const char *path)
{
  return root != NULL && lookup_path (root, path, NULL) != NULL;
}
