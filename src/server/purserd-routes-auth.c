/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <sodium.h>
#include <string.h>

#include "purserd-auth.h"
#include "purserd-json.h"
#include "purserd-routes.h"

#define SESSION_SECONDS (30 * 24 * 60 * 60)

static void
login (PurserdCall *call)
{
  PurserWireReader reader;
  g_auto (PurserUserRecord) user = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonBuilder) b = NULL;
  g_autofree char *email = NULL;
  g_autofree char *password = NULL;
  g_autofree char *token = NULL;
  guint8 hash[32];
  gint64 wall = g_get_real_time () / G_USEC_PER_SEC;
  gboolean known;

  if (!purserd_call_read_body (call, &reader))
    return;
  purser_wire_read_string (&reader, "email", TRUE, PURSER_WIRE_EMAIL_MAX, &email);
  purser_wire_read_string (&reader, "password", TRUE, PURSERD_PASSWORD_MAX, &password);
  if (!purserd_call_reader_done (call, &reader))
    {
      purser_wire_reader_clear (&reader);
      return;
    }
  purser_wire_reader_clear (&reader);

  known = purser_store_user_get_by_email (call->db, email, &user, NULL);
  /* An unknown e-mail costs the same time as a wrong password. */
  if (!purserd_password_verify (known ? user.password_hash : NULL, password) || !known)
    {
      purserd_call_error (call, 401, "invalid_credentials", NULL,
                          "The e-mail address or the password is wrong.");
      return;
    }

  token = purserd_token_new (hash);
  if (!purser_store_token_insert (call->db, hash, user.id, wall, wall + SESSION_SECONDS, &error))
    {
      purserd_call_fail (call, error);
      return;
    }

  b = json_builder_new_immutable ();
  json_builder_begin_object (b);
  purser_wire_add_string (b, "token", token);
  purser_wire_add_time (b, "expires_at", wall + SESSION_SECONDS);
  purserd_json_add_node (b, "user", purserd_json_user (&user));
  json_builder_end_object (b);
  purserd_call_reply (call, 200, b);
  sodium_memzero (token, strlen (token));
}

static void
logout (PurserdCall *call)
{
  g_autoptr (GError) error = NULL;

  if (!purser_store_token_delete (call->db, call->token_hash, &error))
    purserd_call_fail (call, error);
  else
    purserd_call_reply_text (call, 204, NULL, "", 0);
}

static void
me (PurserdCall *call)
{
  g_autoptr (JsonBuilder) b = json_builder_new_immutable ();
  g_auto (PurserOrgRecord) org = { 0 };
  g_autoptr (GError) error = NULL;

  if (!purser_store_org_get (call->db, call->user->org_id, &org, &error))
    {
      purserd_call_fail (call, error);
      return;
    }
  json_builder_begin_object (b);
  purserd_json_add_node (b, "user", purserd_json_user (call->user));
  purserd_json_add_node (b, "org", purserd_json_org (&org));
  json_builder_end_object (b);
  purserd_call_reply (call, 200, b);
}

const PurserdRoute purserd_auth_routes[] = {
  { "POST", "/v1/auth/login", PURSERD_AUTH_NONE, 0, login },
  { "POST", "/v1/auth/logout", PURSERD_AUTH_USER, PURSERD_ROLES_ALL, logout },
  { "GET", "/v1/me", PURSERD_AUTH_USER, PURSERD_ROLES_ALL, me },
  { NULL },
};
