/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <sodium.h>
#include <string.h>

#include "purserd-auth.h"

char *
purserd_password_hash (const char *password)
{
  char hash[crypto_pwhash_STRBYTES];

  if (crypto_pwhash_str (hash, password, strlen (password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                         crypto_pwhash_MEMLIMIT_INTERACTIVE)
      != 0)
    return NULL;
  return g_strdup (hash);
}

gboolean
purserd_password_verify (const char *hash, const char *password)
{
  static char dummy[crypto_pwhash_STRBYTES];

  if (hash == NULL)
    {
      if (dummy[0] == '\0'
          && crypto_pwhash_str (dummy, "purser-dummy-password", 21,
                                crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                crypto_pwhash_MEMLIMIT_INTERACTIVE)
                 != 0)
        return FALSE;
      /* Spend the time a real check takes; the answer is no either way. */
      if (crypto_pwhash_str_verify (dummy, password, strlen (password)) != 0)
        return FALSE;
      return FALSE;
    }
  return crypto_pwhash_str_verify (hash, password, strlen (password)) == 0;
}

void
purserd_token_hash (const char *token, guint8 hash[32])
{
  crypto_hash_sha256 (hash, (const guchar *) token, strlen (token));
}

char *
purserd_token_new (guint8 hash[32])
{
  guint8 bytes[32];
  char encoded[sodium_base64_ENCODED_LEN (32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  char *token;

  randombytes_buf (bytes, sizeof bytes);
  sodium_bin2base64 (encoded, sizeof encoded, bytes, sizeof bytes,
                     sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero (bytes, sizeof bytes);
  token = g_strconcat ("pst_", encoded, NULL);
  purserd_token_hash (token, hash);
  sodium_memzero (encoded, sizeof encoded);
  return token;
}
