/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PURSERD_PASSWORD_MIN 10
#define PURSERD_PASSWORD_MAX 128

/* Argon2id through libsodium's crypto_pwhash_str (interactive limits). NULL on failure
 * (out of memory). */
char *purserd_password_hash (const char *password);
/* A NULL hash verifies against a dummy, so unknown users cost the same time. */
gboolean purserd_password_verify (const char *hash, const char *password);

/* A new bearer token ("pst_" + 43 base64url characters from 32 random bytes) and the
 * SHA-256 the database keeps instead of it. */
char *purserd_token_new (guint8 hash[32]);
void purserd_token_hash (const char *token, guint8 hash[32]);

G_END_DECLS
