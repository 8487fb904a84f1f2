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

/* A secret from --X-file, or the environment variable NAME, or NAME_FILE (a path). */
static char *
read_secret (const char *file, const char *name, GError **error)
{
  g_autofree char *file_variable = g_strconcat (name, "_FILE", NULL);
  char *value = NULL;

  if (file == NULL)
    file = env_or (file_variable, NULL);
  if (file != NULL)
    {
      if (!g_file_get_contents (file, &value, NULL, error))
        return NULL;
      return g_strstrip (value);
    }
  return g_strdup (env_or (name, NULL));
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
  g_autofree char *stripe_key_file = NULL;
  g_autofree char *stripe_api_base = NULL;
  g_autofree char *webhook_secret_file = NULL;
  g_autofree char *stripe_key = NULL;
  g_autofree char *webhook_secret = NULL;
  g_autofree char *smtp_url = NULL;
  g_autofree char *smtp_user = NULL;
  g_autofree char *smtp_password_file = NULL;
  g_autofree char *smtp_password = NULL;
  g_autofree char *mail_from = NULL;
  g_autofree char *maildir = NULL;
  g_autofree char *default_maildir = NULL;
  g_autofree char *public_url = NULL;
  g_autofree char *mailer_description = NULL;
  g_auto (GStrv) webhook_secrets = NULL;
  gboolean demo = FALSE, test_clock = FALSE, version = FALSE, smtp_require_tls = FALSE;
  int stripe_retry_ms = 500, stripe_poll_seconds = 3600;
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
    { "stripe-key-file", 0, 0, G_OPTION_ARG_FILENAME, &stripe_key_file,
      "File holding the Stripe secret key (or STRIPE_SECRET_KEY / STRIPE_SECRET_KEY_FILE); "
      "without one, cards and bank debits are off and wire transfer still works",
      "PATH" },
    { "stripe-api-base", 0, 0, G_OPTION_ARG_STRING, &stripe_api_base,
      "Stripe's API address (STRIPE_API_BASE; default https://api.stripe.com)", "URL" },
    { "stripe-retry-ms", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &stripe_retry_ms,
      "First back-off of Stripe retries, in ms (default 500)", "MS" },
    { "stripe-poll-seconds", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &stripe_poll_seconds,
      "Ask Stripe about a debit still processing after this long without its webhook "
      "(default 3600)",
      "SECONDS" },
    { "webhook-secret-file", 0, 0, G_OPTION_ARG_FILENAME, &webhook_secret_file,
      "File holding the Stripe webhook endpoint secret(s), one per line while rotating "
      "(or STRIPE_WEBHOOK_SECRET, comma-separated / STRIPE_WEBHOOK_SECRET_FILE)",
      "PATH" },
    { "smtp-url", 0, 0, G_OPTION_ARG_STRING, &smtp_url,
      "Mail server, smtp://host:587 (STARTTLS) or smtps://host:465 (PURSER_SMTP_URL); "
      "without one, mail goes to the maildir",
      "URL" },
    { "smtp-user", 0, 0, G_OPTION_ARG_STRING, &smtp_user, "SMTP login (PURSER_SMTP_USER)", "NAME" },
    { "smtp-password-file", 0, 0, G_OPTION_ARG_FILENAME, &smtp_password_file,
      "File holding the SMTP password (or PURSER_SMTP_PASSWORD / PURSER_SMTP_PASSWORD_FILE)",
      "PATH" },
    { "smtp-require-tls", 0, 0, G_OPTION_ARG_NONE, &smtp_require_tls,
      "Refuse to send on smtp:// unless STARTTLS works (PURSER_SMTP_REQUIRE_TLS=1)", NULL },
    { "mail-from", 0, 0, G_OPTION_ARG_STRING, &mail_from,
      "Sender of billing mail (PURSER_MAIL_FROM; default \"Purser Billing "
      "<billing@purser.localhost>\")",
      "ADDRESS" },
    { "maildir", 0, 0, G_OPTION_ARG_FILENAME, &maildir,
      "Where mail goes without SMTP (PURSER_MAILDIR; default $XDG_DATA_HOME/purser/mail)", "PATH" },
    { "public-url", 0, 0, G_OPTION_ARG_STRING, &public_url,
      "Where people reach this server, for links in mail and Stripe's return pages "
      "(PURSER_PUBLIC_URL; default the listen address)",
      "URL" },
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

  /* Payments and mail. Secrets are read here and handed to the gateway and the mailer only;
   * they are never printed or stored. */
  stripe_key = read_secret (stripe_key_file, "STRIPE_SECRET_KEY", &error);
  if (error == NULL)
    webhook_secret = read_secret (webhook_secret_file, "STRIPE_WEBHOOK_SECRET", &error);
  if (error == NULL)
    smtp_password = read_secret (smtp_password_file, "PURSER_SMTP_PASSWORD", &error);
  if (error != NULL)
    {
      g_printerr ("purserd: %s\n", error->message);
      return 2;
    }
  config.stripe.secret_key = stripe_key;
  config.stripe.api_base
      = stripe_api_base ? stripe_api_base : (char *) env_or ("STRIPE_API_BASE", NULL);
  config.stripe.max_retries = 3;
  config.stripe.retry_base_ms = (guint) MAX (stripe_retry_ms, 1);
  config.stripe_poll_seconds = (guint) MAX (stripe_poll_seconds, 1);
  if (webhook_secret != NULL)
    {
      webhook_secrets = g_strsplit_set (webhook_secret, ",\n", -1);
      for (guint i = 0; webhook_secrets[i] != NULL; i++)
        g_strstrip (webhook_secrets[i]);
      /* drop empty entries */
      {
        g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

        for (guint i = 0; webhook_secrets[i] != NULL; i++)
          if (*webhook_secrets[i] != '\0')
            g_strv_builder_add (builder, webhook_secrets[i]);
        g_strfreev (webhook_secrets);
        webhook_secrets = g_strv_builder_end (builder);
      }
      config.webhook_secrets = webhook_secrets;
    }
  default_maildir = g_build_filename (g_get_user_data_dir (), "purser", "mail", NULL);
  config.mail.smtp_url = smtp_url ? smtp_url : (char *) env_or ("PURSER_SMTP_URL", NULL);
  config.mail.username = smtp_user ? smtp_user : (char *) env_or ("PURSER_SMTP_USER", NULL);
  config.mail.password = smtp_password;
  config.mail.require_tls
      = smtp_require_tls || g_strcmp0 (g_getenv ("PURSER_SMTP_REQUIRE_TLS"), "1") == 0;
  config.mail.from = mail_from ? mail_from
                               : (char *) env_or ("PURSER_MAIL_FROM",
                                                  "Purser Billing <billing@purser.localhost>");
  config.mail.maildir = maildir ? maildir : (char *) env_or ("PURSER_MAILDIR", default_maildir);
  config.public_url = public_url ? public_url : (char *) env_or ("PURSER_PUBLIC_URL", NULL);
  config.seller_name = (char *) env_or ("PURSER_SELLER_NAME", "Purser Coaching, Inc.");
  config.seller_address = (char *) env_or (
      "PURSER_SELLER_ADDRESS", "500 Market Street\nSan Francisco, CA 94105\nUnited States");
  config.seller_email = (char *) env_or ("PURSER_SELLER_EMAIL", "billing@purser.example");
  config.seller_tax_id = (char *) env_or ("PURSER_SELLER_TAX_ID", NULL);
  config.seller_bank_details = (char *) env_or (
      "PURSER_SELLER_BANK",
      "Bank: First Example Bank, San Francisco\nAccount name: Purser Coaching, Inc.\n"
      "Routing (ABA): 000000000 · Account: 0000000000\nSWIFT: EXAMPLEUS33");
  if (!purserd_mail_config_check (&config.mail, &error))
    {
      g_printerr ("purserd: mail: %s\n", error->message);
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
  if (config.stripe.secret_key != NULL)
    g_print ("purserd: Stripe at %s (API %s)\n",
             purserd_stripe_api_base (purserd_server_stripe (server)), PURSERD_STRIPE_API_VERSION);
  else
    g_print ("purserd: Stripe is not configured (no STRIPE_SECRET_KEY): cards and bank debits "
             "are off, wire transfer works\n");
  if (config.webhook_secrets == NULL)
    g_print ("purserd: no Stripe webhook secret (STRIPE_WEBHOOK_SECRET): "
             "POST /v1/webhooks/stripe refuses events\n");
  mailer_description = purserd_mailer_describe (purserd_server_mailer (server));
  g_print ("purserd: mail goes to %s\n", mailer_description);
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
