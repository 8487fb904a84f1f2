/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Every vector of Stripe's webhook-vectors.json (made and judged by Stripe's official Node
 * SDK) gets the SDK's verdict. PURSER_WEBHOOK_VECTORS may name another file of the same
 * shape, e.g. vectors made fresh. */
#include "config.h"

#include <json-glib/json-glib.h>

#include "purserd-stripe-signature.h"

static char *
vectors_path (void)
{
  const char *path = g_getenv ("PURSER_WEBHOOK_VECTORS");

  if (path != NULL)
    return g_strdup (path);
  return g_build_filename (g_getenv ("PURSER_STRIPE_DIR"), "webhook-vectors.json", NULL);
}

typedef struct
{
  JsonObject *vector;
  char *dir;
} Vector;

static void
vector_free (gpointer data)
{
  Vector *v = data;

  json_object_unref (v->vector);
  g_free (v->dir);
  g_free (v);
}

static void
test_vector (gconstpointer data)
{
  const Vector *v = data;
  JsonObject *verify = json_object_get_object_member (v->vector, "verify");
  const char *secret = json_object_get_string_member (v->vector, "secret");
  const char *header = json_object_get_string_member (v->vector, "header");
  gboolean valid = json_object_get_boolean_member (verify, "valid");
  gint64 received_at = json_object_get_int_member (verify, "received_at");
  gint64 tolerance = json_object_get_int_member (verify, "tolerance");
  const char *secrets[] = { secret, NULL };
  g_autofree char *payload = NULL;
  g_autoptr (GError) error = NULL;
  gsize length = 0;
  gboolean ok;

  if (json_object_has_member (v->vector, "file"))
    {
      g_autofree char *path
          = g_build_filename (v->dir, json_object_get_string_member (v->vector, "file"), NULL);

      g_assert_true (g_file_get_contents (path, &payload, &length, NULL));
    }
  else
    {
      payload = g_strdup (json_object_get_string_member (v->vector, "payload"));
      length = strlen (payload);
    }

  ok = purserd_stripe_signature_verify (header, (const guint8 *) payload, length, secrets,
                                        received_at, tolerance, &error);
  if (valid)
    g_assert_no_error (error);
  else
    g_assert_nonnull (error);
  g_assert_cmpint (ok, ==, valid);
}

static void
test_sign_round_trip (void)
{
  const char *body = "{\"id\":\"evt_1\"}";
  const char *secrets[] = { "whsec_other", "whsec_round_trip", NULL };
  g_autofree char *header = purserd_stripe_signature_sign ("whsec_round_trip", 1767225600,
                                                           (const guint8 *) body, strlen (body));
  g_autoptr (GError) error = NULL;

  g_assert_true (purserd_stripe_signature_verify (header, (const guint8 *) body, strlen (body),
                                                  secrets, 1767225600, 300, &error));
  g_assert_false (purserd_stripe_signature_verify (NULL, (const guint8 *) body, strlen (body),
                                                   secrets, 1767225600, 300, &error));
  g_assert_error (error, PURSERD_STRIPE_SIGNATURE_ERROR, PURSERD_STRIPE_SIGNATURE_MISSING);
}

int
main (int argc, char **argv)
{
  g_autofree char *path = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) vectors = g_ptr_array_new_with_free_func (vector_free);
  JsonArray *array;

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/webhook-signature/sign-round-trip", test_sign_round_trip);

  path = vectors_path ();
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_test_skip_printf ("no webhook vectors at %s (../shared/stripe is absent)", path);
      return g_test_run ();
    }
  if (!json_parser_load_from_file (parser, path, &error))
    g_error ("%s: %s", path, error->message);
  array = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)),
                                        "vectors");
  g_assert_cmpuint (json_array_get_length (array), >, 0);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      Vector *v = g_new0 (Vector, 1);
      g_autofree char *name = NULL;

      v->vector = json_object_ref (json_array_get_object_element (array, i));
      v->dir = g_path_get_dirname (path);
      g_ptr_array_add (vectors, v);
      name = g_strdup_printf ("/webhook-signature/vector/%u-%s", i,
                              json_object_get_string_member (v->vector, "name"));
      g_strdelimit (name + 1, ":.", '-');
      g_test_add_data_func (name, v, test_vector);
    }
  return g_test_run ();
}
