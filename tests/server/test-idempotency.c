/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "purserd-harness.h"
#include "purserd-test-util.h"

/* Idempotency-Key on every POST: the same key and body replay the first answer without
 * doing the work again; the same key with another body is refused; keys are each user's. */

typedef struct
{
  PurserdHarness *h;
  char *org_a;
  char *token_a;
  char *org_b;
  char *token_b;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->h = harness_start ("2026-03-01T09:00:00Z", NULL);
  harness_create_org (f->h, "Acme Corp", "ACME", &f->org_a, &f->token_a);
  harness_create_org (f->h, "Globex", "GLOBEX", &f->org_b, &f->token_b);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  harness_stop (f->h);
  g_free (f->org_a);
  g_free (f->token_a);
  g_free (f->org_b);
  g_free (f->token_b);
}

/* A POST with an Idempotency-Key; the answer, its status and whether it was a replay. */
static JsonNode *
post_with_key (Fixture *f, const char *path, const char *token, const char *key, const char *body,
               guint *status, gboolean *replayed)
{
  const char *const headers[] = { "Idempotency-Key", key, NULL };
  g_autoptr (SoupMessageHeaders) response = NULL;
  JsonNode *answer;

  answer = harness_request_full (f->h, "POST", path, token, "application/json", body,
                                 body ? strlen (body) : 0, headers, status, &response);
  *replayed
      = g_strcmp0 (soup_message_headers_get_one (response, "Idempotent-Replayed"), "true") == 0;
  return answer;
}

static guint
count_invoices (Fixture *f, const char *org, const char *token)
{
  g_autofree char *path = test_path ("/v1/orgs/%s/invoices", org);
  g_autoptr (JsonArray) all = test_list_all (f->h, path, token);

  return json_array_get_length (all);
}

static gint64
last_seq (Fixture *f, const char *org, const char *token)
{
  g_autofree char *path = test_path ("/v1/orgs/%s/events?after=0&limit=1", org);
  g_autoptr (JsonNode) answer = call_ok (f->h, "GET", path, token, NULL, 200);

  return harness_get_int (answer, "last_seq");
}

static gint64
seats_of (Fixture *f, const char *org, const char *token)
{
  g_autofree char *path = test_path ("/v1/orgs/%s/subscription", org);
  g_autoptr (JsonNode) answer = call_ok (f->h, "GET", path, token, NULL, 200);

  return harness_get_int (answer, "subscription.seats");
}

static const char *create_body = "{\"plan\": \"business\", \"cycle\": \"monthly\", \"seats\": 10, "
                                 "\"billing_day\": 1}";

static void
test_replay_create (Fixture *f, gconstpointer data)
{
  g_autofree char *path = test_path ("/v1/orgs/%s/subscription", f->org_a);
  g_autoptr (JsonNode) first = NULL;
  g_autoptr (JsonNode) second = NULL;
  g_autoptr (JsonNode) third = NULL;
  gboolean replayed = TRUE;
  guint status = 0;
  gint64 seq;

  first = post_with_key (f, path, f->token_a, "create-1", create_body, &status, &replayed);
  assert_status (first, status, 201);
  g_assert_false (replayed);
  seq = last_seq (f, f->org_a, f->token_a);
  g_assert_cmpuint (count_invoices (f, f->org_a, f->token_a), ==, 1);

  /* The retry gets the first answer, not "subscription_exists", and no second invoice. */
  second = post_with_key (f, path, f->token_a, "create-1", create_body, &status, &replayed);
  assert_status (second, status, 201);
  g_assert_true (replayed);
  g_assert_true (json_node_equal (first, second));
  g_assert_cmpuint (count_invoices (f, f->org_a, f->token_a), ==, 1);
  g_assert_cmpint (last_seq (f, f->org_a, f->token_a), ==, seq);

  /* Without the key it is a new request, refused. */
  third = harness_request (f->h, "POST", path, f->token_a, create_body, &status);
  assert_error (third, status, 409, "subscription_exists");
}

static void
test_replay_change (Fixture *f, gconstpointer data)
{
  g_autofree char *sub = test_path ("/v1/orgs/%s/subscription", f->org_a);
  g_autofree char *change = test_path ("/v1/orgs/%s/subscription/change", f->org_a);
  g_autoptr (JsonNode) created = call_ok (f->h, "POST", sub, f->token_a, create_body, 201);
  g_autoptr (JsonNode) first = NULL;
  g_autoptr (JsonNode) second = NULL;
  g_autoptr (JsonNode) other = NULL;
  g_autoptr (JsonNode) late = NULL;
  gboolean replayed = TRUE;
  guint status = 0;
  gint64 seq;

  harness_set_clock (f->h, "2026-03-11T09:00:00Z");
  first = post_with_key (f, change, f->token_a, "change-15", "{\"seats\": 15}", &status, &replayed);
  assert_status (first, status, 200);
  g_assert_false (replayed);
  g_assert_cmpint (harness_get_int (first, "invoice.total.amount"), ==, 9823);
  seq = last_seq (f, f->org_a, f->token_a);

  /* A retry: the same answer (the same invoice), nothing done again. */
  second
      = post_with_key (f, change, f->token_a, "change-15", "{\"seats\": 15}", &status, &replayed);
  assert_status (second, status, 200);
  g_assert_true (replayed);
  g_assert_true (json_node_equal (first, second));
  g_assert_cmpint (seats_of (f, f->org_a, f->token_a), ==, 15);
  g_assert_cmpuint (count_invoices (f, f->org_a, f->token_a), ==, 2);
  g_assert_cmpint (last_seq (f, f->org_a, f->token_a), ==, seq);

  /* Later changes do not alter what the key replays. */
  other = post_with_key (f, change, f->token_a, "change-20", "{\"seats\": 20}", &status, &replayed);
  assert_status (other, status, 200);
  g_assert_false (replayed);
  g_assert_cmpint (seats_of (f, f->org_a, f->token_a), ==, 20);
  late = post_with_key (f, change, f->token_a, "change-15", "{\"seats\": 15}", &status, &replayed);
  assert_status (late, status, 200);
  g_assert_true (replayed);
  g_assert_true (json_node_equal (first, late));
  g_assert_cmpint (seats_of (f, f->org_a, f->token_a), ==, 20);
  g_assert_cmpuint (count_invoices (f, f->org_a, f->token_a), ==, 3);
}

static void
test_key_reused (Fixture *f, gconstpointer data)
{
  g_autofree char *sub = test_path ("/v1/orgs/%s/subscription", f->org_a);
  g_autofree char *change = test_path ("/v1/orgs/%s/subscription/change", f->org_a);
  g_autofree char *preview = test_path ("/v1/orgs/%s/subscription/preview", f->org_a);
  g_autoptr (JsonNode) created = call_ok (f->h, "POST", sub, f->token_a, create_body, 201);
  g_autoptr (JsonNode) first = NULL;
  g_autoptr (JsonNode) reused = NULL;
  g_autoptr (JsonNode) elsewhere = NULL;
  g_autoptr (JsonNode) spaced = NULL;
  gboolean replayed = FALSE;
  guint status = 0;
  gint64 seq;

  harness_set_clock (f->h, "2026-03-11T09:00:00Z");
  first = post_with_key (f, change, f->token_a, "key-1", "{\"seats\": 15}", &status, &replayed);
  assert_status (first, status, 200);
  seq = last_seq (f, f->org_a, f->token_a);

  /* The same key with another body. */
  reused = post_with_key (f, change, f->token_a, "key-1", "{\"seats\": 16}", &status, &replayed);
  assert_error (reused, status, 409, "idempotency_key_reused");
  g_assert_false (replayed);
  /* Even a body that only differs in its spacing is another body. */
  spaced = post_with_key (f, change, f->token_a, "key-1", "{\"seats\":15}", &status, &replayed);
  assert_error (spaced, status, 409, "idempotency_key_reused");
  /* The same key and body on another route. */
  elsewhere
      = post_with_key (f, preview, f->token_a, "key-1", "{\"seats\": 15}", &status, &replayed);
  assert_error (elsewhere, status, 409, "idempotency_key_reused");

  /* None of them did anything. */
  g_assert_cmpint (seats_of (f, f->org_a, f->token_a), ==, 15);
  g_assert_cmpint (last_seq (f, f->org_a, f->token_a), ==, seq);
  g_assert_cmpuint (count_invoices (f, f->org_a, f->token_a), ==, 2);
}

/* Two users picking the same key each get their own work done. */
static void
test_users_apart (Fixture *f, gconstpointer data)
{
  g_autofree char *sub_a = test_path ("/v1/orgs/%s/subscription", f->org_a);
  g_autofree char *sub_b = test_path ("/v1/orgs/%s/subscription", f->org_b);
  g_autoptr (JsonNode) a = NULL;
  g_autoptr (JsonNode) b = NULL;
  g_autoptr (JsonNode) a_again = NULL;
  gboolean replayed = TRUE;
  guint status = 0;

  a = post_with_key (f, sub_a, f->token_a, "same-key", create_body, &status, &replayed);
  assert_status (a, status, 201);
  g_assert_false (replayed);
  b = post_with_key (f, sub_b, f->token_b, "same-key",
                     "{\"plan\": \"business\", \"cycle\": \"annual\", \"seats\": 7}", &status,
                     &replayed);
  assert_status (b, status, 201);
  g_assert_false (replayed);
  g_assert_cmpstr (harness_get_str (b, "subscription.org_id"), ==, f->org_b);
  g_assert_cmpstr (harness_get_str (b, "subscription.id"), !=,
                   harness_get_str (a, "subscription.id"));
  g_assert_cmpstr (harness_get_str (b, "invoice.number"), ==, "GLOBEX-2026-0001");
  g_assert_cmpint (seats_of (f, f->org_a, f->token_a), ==, 10);
  g_assert_cmpint (seats_of (f, f->org_b, f->token_b), ==, 7);

  /* And each still replays their own. */
  a_again = post_with_key (f, sub_a, f->token_a, "same-key", create_body, &status, &replayed);
  assert_status (a_again, status, 201);
  g_assert_true (replayed);
  g_assert_true (json_node_equal (a, a_again));
}

/* A refusal is an answer too: its retry gets the refusal, even once the cause is gone. */
static void
test_refusal_replayed (Fixture *f, gconstpointer data)
{
  g_autofree char *sub = test_path ("/v1/orgs/%s/subscription", f->org_a);
  g_autofree char *change = test_path ("/v1/orgs/%s/subscription/change", f->org_a);
  g_autofree char *revoke = test_path ("/v1/orgs/%s/licenses/revoke", f->org_a);
  g_autoptr (JsonNode) created = call_ok (f->h, "POST", sub, f->token_a,
                                          "{\"plan\": \"business\", \"cycle\": \"monthly\", "
                                          "\"seats\": 2}",
                                          201);
  g_autofree char *e1
      = test_create_employee (f->h, f->org_a, f->token_a, "e1@acme.test", "Ed One", NULL);
  g_autofree char *e2
      = test_create_employee (f->h, f->org_a, f->token_a, "e2@acme.test", "Em Two", NULL);
  const char *ids[] = { e1, e2, NULL };
  g_autofree char *revoke_body = g_strdup_printf ("{\"employee_ids\": [\"%s\"]}", e2);
  g_autoptr (JsonNode) refused = NULL;
  g_autoptr (JsonNode) revoked = NULL;
  g_autoptr (JsonNode) retry = NULL;
  g_autoptr (JsonNode) fresh = NULL;
  gboolean replayed = FALSE;
  guint status = 0;

  test_assign (f->h, f->org_a, f->token_a, ids);
  harness_set_clock (f->h, "2026-03-11T09:00:00Z");
  refused = post_with_key (f, change, f->token_a, "down-1", "{\"seats\": 1}", &status, &replayed);
  assert_error (refused, status, 409, "seats_below_assigned");

  revoked = call_ok (f->h, "POST", revoke, f->token_a, revoke_body, 200);
  retry = post_with_key (f, change, f->token_a, "down-1", "{\"seats\": 1}", &status, &replayed);
  assert_error (retry, status, 409, "seats_below_assigned");
  g_assert_true (replayed);
  g_assert_true (json_node_equal (refused, retry));
  g_assert_cmpint (seats_of (f, f->org_a, f->token_a), ==, 2);

  fresh = post_with_key (f, change, f->token_a, "down-2", "{\"seats\": 1}", &status, &replayed);
  assert_status (fresh, status, 200);
  g_assert_false (replayed);
  g_assert_cmpint (seats_of (f, f->org_a, f->token_a), ==, 1);
}

static void
test_operator_replay (Fixture *f, gconstpointer data)
{
  const char *body
      = "{\"name\": \"Initech\", \"code\": \"INIT\", \"admin\": {\"email\": "
        "\"boss@initech.test\", \"name\": \"Bill\", \"password\": \"" HARNESS_PASSWORD "\"}}";
  g_autoptr (JsonNode) first = NULL;
  g_autoptr (JsonNode) second = NULL;
  gboolean replayed = TRUE;
  guint status = 0;

  first
      = post_with_key (f, "/v1/orgs", HARNESS_OPERATOR_TOKEN, "org-init", body, &status, &replayed);
  assert_status (first, status, 201);
  g_assert_false (replayed);
  second
      = post_with_key (f, "/v1/orgs", HARNESS_OPERATOR_TOKEN, "org-init", body, &status, &replayed);
  assert_status (second, status, 201);
  g_assert_true (replayed);
  g_assert_cmpstr (harness_get_str (first, "org.id"), ==, harness_get_str (second, "org.id"));
  g_assert_true (json_node_equal (first, second));
}

static void
test_bad_keys (Fixture *f, gconstpointer data)
{
  g_autofree char *sub = test_path ("/v1/orgs/%s/subscription", f->org_a);
  g_autofree char *long_key = g_strnfill (300, 'k');
  g_autoptr (JsonNode) too_long = NULL;
  g_autoptr (JsonNode) fetched = NULL;
  gboolean replayed = FALSE;
  guint status = 0;

  too_long = post_with_key (f, sub, f->token_a, long_key, create_body, &status, &replayed);
  assert_error (too_long, status, 400, NULL);
  fetched = harness_request (f->h, "GET", sub, f->token_a, NULL, &status);
  assert_error (fetched, status, 404, "no_subscription");
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func)                                                               \
  g_test_add ("/purser/server/idempotency/" name, Fixture, NULL, fixture_setup, func, \
              fixture_teardown)

  ADD ("replay-create", test_replay_create);
  ADD ("replay-change", test_replay_change);
  ADD ("key-reused", test_key_reused);
  ADD ("users-apart", test_users_apart);
  ADD ("refusal-replayed", test_refusal_replayed);
  ADD ("operator-replay", test_operator_replay);
  ADD ("bad-keys", test_bad_keys);

#undef ADD

  return g_test_run ();
}
