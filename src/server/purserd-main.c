/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <locale.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "purserd-demo.h"
#include "purserd-server.h"

static const char *
env_or (const char *name, const char *fallback)
{
  const char *value = g_getenv (name);

  return value && *value ? value : fallback;
}

/* Each connection is a file descriptor: take what the system allows. */
static guint
usable_connection_limit (guint wanted)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) != 0)
    return MIN (wanted, 900);
  if (limit.rlim_cur < limit.rlim_max)
    {
      limit.rlim_cur = limit.rlim_max;
      setrlimit (RLIMIT_NOFILE, &limit);
      getrlimit (RLIMIT_NOFILE, &limit);
    }
  if (limit.rlim_cur < 128)
    return 32;
  return (guint) MIN ((rlim_t) wanted, limit.rlim_cur - 64);
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (PurserdServer) server = NULL;
  g_autofree char *database = NULL;
  g_autofree char *listen = NULL;
  g_autofree char *operator_token = NULL;
  g_autofree char *operator_token_file = NULL;
  g_autofree char *seller_country = NULL;
  g_autofree char *tax_table = NULL;
  g_autofree char *now = NULL;
  g_autofree char *default_database = NULL;
  g_autofree char *host = NULL;
  gboolean demo = FALSE, test_clock = FALSE, version = FALSE;
  int max_connections = 1000, per_ip = 100, timeout = 30, max_body_kib = 1024;
  PurserdConfig config = { 0 };
  GOptionEntry entries[] = {
    { "database", 'd', 0, G_OPTION_ARG_FILENAME, &database,
      "SQLite database file (PURSER_DATABASE; default $XDG_DATA_HOME/purser/purserd.db)", "PATH" },
    { "listen", 'l', 0, G_OPTION_ARG_STRING, &listen,
      "Address and port to serve (PURSER_LISTEN; default 127.0.0.1:8080; port 0 picks one)",
      "ADDR:PORT" },
    { "operator-token", 0, 0, G_OPTION_ARG_STRING, &operator_token,
      "Token of the platform operator, who creates organizations (PURSER_OPERATOR_TOKEN)",
      "TOKEN" },
    { "operator-token-file", 0, 0, G_OPTION_ARG_FILENAME, &operator_token_file,
      "Read the operator token from a file", "PATH" },
    { "demo", 0, 0, G_OPTION_ARG_NONE, &demo,
      "Create the demo organization Northwind Labs if the database lacks it, and print its logins",
      NULL },
    { "test-clock", 0, 0, G_OPTION_ARG_NONE, &test_clock,
      "Run billing on a test clock moved by POST /v1/test-clock (PURSER_TEST_CLOCK=1)", NULL },
    { "now", 0, 0, G_OPTION_ARG_STRING, &now,
      "Where a new test clock starts (RFC 3339; default: the real time)", "TIME" },
    { "seller-country", 0, 0, G_OPTION_ARG_STRING, &seller_country,
      "Country of the seller, for EU reverse charge (PURSER_SELLER_COUNTRY; default US)", "CC" },
    { "tax-table", 0, 0, G_OPTION_ARG_FILENAME, &tax_table,
      "Tax rates file, lines of \"JURISDICTION BASIS-POINTS\" (PURSER_TAX_TABLE)", "PATH" },
    { "max-connections", 0, 0, G_OPTION_ARG_INT, &max_connections,
      "Connections served at once (default 1000)", "N" },
    { "max-connections-per-ip", 0, 0, G_OPTION_ARG_INT, &per_ip,
      "Connections from one address at once (default 100)", "N" },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout,
      "Seconds an idle or slow connection may stay (default 30)", "SECONDS" },
    { "max-body", 0, 0, G_OPTION_ARG_INT, &max_body_kib,
      "Largest request body in KiB (default 1024; CSV imports may be 16 times larger)", "KIB" },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version", NULL },
    { NULL },
  };

  setlocale (LC_ALL, "");
  context = g_option_context_new ("— the Purser billing server");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("purserd: %s\n", error->message);
      return 2;
    }
  if (version)
    {
      g_print ("purserd %s\n", PACKAGE_VERSION);
      return 0;
    }
  if (sodium_init () < 0)
    {
      g_printerr ("purserd: libsodium could not start\n");
      return 1;
    }

  default_database = g_build_filename (g_get_user_data_dir (), "purser", "purserd.db", NULL);
  config.database = database ? database : (char *) env_or ("PURSER_DATABASE", default_database);
  config.http.listen = listen ? listen : (char *) env_or ("PURSER_LISTEN", "127.0.0.1:8080");
  config.http.connection_limit = usable_connection_limit ((guint) MAX (max_connections, 1));
  config.http.per_ip_limit = (guint) CLAMP (per_ip, 1, max_connections);
  config.http.timeout_seconds = (guint) MAX (timeout, 1);
  config.http.body_limit = (gsize) MAX (max_body_kib, 1) * 1024;
  config.http.large_body_limit = config.http.body_limit * 16;
  config.demo = demo;
  config.test_clock = test_clock || g_strcmp0 (g_getenv ("PURSER_TEST_CLOCK"), "1") == 0;
  config.seller_country
      = seller_country ? seller_country : (char *) env_or ("PURSER_SELLER_COUNTRY", "US");
  config.tax_table_path = tax_table ? tax_table : (char *) env_or ("PURSER_TAX_TABLE", NULL);

  if (operator_token_file != NULL)
    {
      if (!g_file_get_contents (operator_token_file, &operator_token, NULL, &error))
        {
          g_printerr ("purserd: %s\n", error->message);
          return 2;
        }
      g_strstrip (operator_token);
    }
  config.operator_token
      = operator_token ? operator_token : (char *) env_or ("PURSER_OPERATOR_TOKEN", NULL);
  if (now != NULL && !purser_time_parse (now, &config.start_time))
    {
      g_printerr ("purserd: --now wants an RFC 3339 time such as 2026-03-01T00:00:00Z\n");
      return 2;
    }

  if (g_strcmp0 (config.database, ":memory:") != 0)
    {
      g_autofree char *dir = g_path_get_dirname (config.database);

      if (g_mkdir_with_parents (dir, 0700) != 0)
        {
          g_printerr ("purserd: cannot create %s\n", dir);
          return 1;
        }
    }

  server = purserd_server_new (&config, &error);
  if (server == NULL)
    {
      g_printerr ("purserd: %s\n", error->message);
      return 1;
    }
  if (demo && !purserd_demo_seed (server, &error))
    {
      g_printerr ("purserd: the demo could not be created: %s\n", error->message);
      return 1;
    }
  if (!purserd_server_listen (server, &error))
    {
      g_printerr ("purserd: %s\n", error->message);
      return 1;
    }

  g_print ("purserd: database %s\n", config.database);
  if (config.test_clock)
    g_print ("purserd: test clock on (POST /v1/test-clock moves it)\n");
  if (config.operator_token == NULL)
    g_print ("purserd: no operator token; organizations cannot be created over the API\n");
  if (demo)
    purserd_demo_print_logins (server);
  host = g_strdup (config.http.listen);
  if (strrchr (host, ':') != NULL)
    *strrchr (host, ':') = '\0';
  g_print ("purserd: listening on http://%s:%u\n", host, purserd_server_port (server));
  fflush (stdout);

  purserd_server_run (server);
  return 0;
}
