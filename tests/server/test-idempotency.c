/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "purserd-harness.h"
#include "purserd-test-util.h"

/* Idempotency-Key on every POST: the same key and body replay the first answer without
 * doing the work again; the same key with another body is refused; keys are each user's. */

typedef enum
{
  FRESH,    /* the work is done now */
  REPLAYED, /* the answer of the first request with that key, sent again */
} Replay;

/* A POST with an Idempotency-Key that must answer `expected` (an error: with the code
 * `code`, NULL for any), done now or replayed as `replay` says; returns the answer. */
static JsonNode *
post_keyed_check (const char *file, int line, const char *func, TestTwoOrgs *f, const char *path,
                  const char *token, const char *key, const char *body, guint expected,
                  const char *code, Replay replay)
{
  const char *const headers[] = { "Idempotency-Key", key, NULL };
  g_autoptr (SoupMessageHeaders) response = NULL;
  g_autofree char *text = NULL;
  gboolean replayed;
  guint status = 0;
  JsonNode *answer;

  answer = harness_request_full (f->h, "POST", path, token, "application/json", body,
                                 body ? strlen (body) : 0, headers, &status, &response);
  if (expected >= 400)
    test_check_error (file, line, func, answer, status, expected, code);
  else
    test_check_status (file, line, func, answer, status, expected);
  replayed
      = g_strcmp0 (soup_message_headers_get_one (response, "Idempotent-Replayed"), "true") == 0;
  if (replayed != (replay == REPLAYED))
    {
      text = g_strdup_printf ("POST %s with key \"%s\": %s", path, key,
                              replayed ? "replayed, expected done now" : "not a replay");
      g_assertion_message (G_LOG_DOMAIN, file, line, func, text);
    }
  return answer;
}

/* A keyed POST that must succeed with `expected`. */
#define post_keyed_ok(f, path, token, key, body, expected, replay)                      \
  post_keyed_check (__FILE__, __LINE__, G_STRFUNC, (f), (path), (token), (key), (body), \
                    (expected), NULL, (replay))

/* A keyed POST that must be refused with `expected` and the error `code` (NULL: any). */
#define post_keyed_error(f, path, token, key, body, expected, code, replay)             \
  post_keyed_check (__FILE__, __LINE__, G_STRFUNC, (f), (path), (token), (key), (body), \
                    (expected), (code), (replay))

/* A subscribes with `body`. */
static void
subscribe_a (TestTwoOrgs *f, const char *body)
{
  g_autofree char *path = test_path ("/v1/orgs/%s/subscription", f->org_a);

  json_node_unref (call_ok (f->h, "POST", path, f->token_a, body, 201));
}

static guint
count_invoices (TestTwoOrgs *f, const char *org, const char *token)
{
  g_autofree char *path = test_path ("/v1/orgs/%s/invoices", org);
  g_autoptr (JsonArray) all = test_list_all (f->h, path, token);

  return json_array_get_length (all);
}

static gint64
last_seq (TestTwoOrgs *f, const char *org, const char *token)
{
  g_autofree char *path = test_path ("/v1/orgs/%s/events?after=0&limit=1", org);
  g_autoptr (JsonNode) answer = call_ok (f->h, "GET", path, token, NULL, 200);

  return harness_get_int (answer, "last_seq");
}

static gint64
seats_of (TestTwoOrgs *f, const char *org, const char *token)
{
  g_autofree char *path = test_path ("/v1/orgs/%s/subscription", org);
  g_autoptr (JsonNode) answer = call_ok (f->h, "GET", path, token, NULL, 200);

  return harness_get_int (answer, "subscription.seats");
}

static const char *create_body = "{\"plan\": \"business\", \"cycle\": \"monthly\", \"seats\": 10, "
                                 "\"billing_day\": 1}";

static void
test_replay_create (TestTwoOrgs *f, gconstpointer data)
{
  g_autofree char *path = test_path ("/v1/orgs/%s/subscription", f->org_a);
  g_autoptr (JsonNode) first = NULL;
  g_autoptr (JsonNode) second = NULL;
  g_autoptr (JsonNode) third = NULL;
  guint status = 0;
  gint64 seq;

  first = post_keyed_ok (f, path, f->token_a, "create-1", create_body, 201, FRESH);
  seq = last_seq (f, f->org_a, f->token_a);
  g_assert_cmpuint (count_invoices (f, f->org_a, f->token_a), ==, 1);

  /* The retry gets the first answer, not "subscription_exists", and no second invoice. */
  second = post_keyed_ok (f, path, f->token_a, "create-1", create_body, 201, REPLAYED);
  g_assert_true (json_node_equal (first, second));
  g_assert_cmpuint (count_invoices (f, f->org_a, f->token_a), ==, 1);
  g_assert_cmpint (last_seq (f, f->org_a, f->token_a), ==, seq);

  /* Without the key it is a new request, refused. */
  third = harness_request (f->h, "POST", path, f->token_a, create_body, &status);
  assert_error (third, status, 409, "subscription_exists");
}

static void
test_replay_change (TestTwoOrgs *f, gconstpointer data)
{
  g_autofree char *change = test_path ("/v1/orgs/%s/subscription/change", f->org_a);
  g_autoptr (JsonNode) first = NULL;
  g_autoptr (JsonNode) second = NULL;
  g_autoptr (JsonNode) other = NULL;
  g_autoptr (JsonNode) late = NULL;
  gint64 seq;

  subscribe_a (f, create_body);
  harness_set_clock (f->h, "2026-03-11T09:00:00Z");
  first = post_keyed_ok (f, change, f->token_a, "change-15", "{\"seats\": 15}", 200, FRESH);
  g_assert_cmpint (harness_get_int (first, "invoice.total.amount"), ==, 9823);
  seq = last_seq (f, f->org_a, f->token_a);

  /* A retry: the same answer (the same invoice), nothing done again. */
  second = post_keyed_ok (f, change, f->token_a, "change-15", "{\"seats\": 15}", 200, REPLAYED);
  g_assert_true (json_node_equal (first, second));
  g_assert_cmpint (seats_of (f, f->org_a, f->token_a), ==, 15);
  g_assert_cmpuint (count_invoices (f, f->org_a, f->token_a), ==, 2);
  g_assert_cmpint (last_seq (f, f->org_a, f->token_a), ==, seq);

  /* Later changes do not alter what the key replays. */
  other = post_keyed_ok (f, change, f->token_a, "change-20", "{\"seats\": 20}", 200, FRESH);
  g_assert_cmpint (seats_of (f, f->org_a, f->token_a), ==, 20);
  late = post_keyed_ok (f, change, f->token_a, "change-15", "{\"seats\": 15}", 200, REPLAYED);
  g_assert_true (json_node_equal (first, late));
  g_assert_cmpint (seats_of (f, f->org_a, f->token_a), ==, 20);
  g_assert_cmpuint (count_invoices (f, f->org_a, f->token_a), ==, 3);
}

static void
test_key_reused (TestTwoOrgs *f, gconstpointer data)
{
  g_autofree char *change = test_path ("/v1/orgs/%s/subscription/change", f->org_a);
  g_autofree char *preview = test_path ("/v1/orgs/%s/subscription/preview", f->org_a);
  g_autoptr (JsonNode) first = NULL;
  g_autoptr (JsonNode) reused = NULL;
  g_autoptr (JsonNode) elsewhere = NULL;
  g_autoptr (JsonNode) spaced = NULL;
  gint64 seq;

  subscribe_a (f, create_body);
  harness_set_clock (f->h, "2026-03-11T09:00:00Z");
  first = post_keyed_ok (f, change, f->token_a, "key-1", "{\"seats\": 15}", 200, FRESH);
  seq = last_seq (f, f->org_a, f->token_a);

  /* The same key with another body. */
  reused = post_keyed_error (f, change, f->token_a, "key-1", "{\"seats\": 16}", 409,
                             "idempotency_key_reused", FRESH);
  /* Even a body that only differs in its spacing is another body. */
  spaced = post_keyed_error (f, change, f->token_a, "key-1", "{\"seats\":15}", 409,
                             "idempotency_key_reused", FRESH);
  /* The same key and body on another route. */
  elsewhere = post_keyed_error (f, preview, f->token_a, "key-1", "{\"seats\": 15}", 409,
                                "idempotency_key_reused", FRESH);

  /* None of them did anything. */
  g_assert_cmpint (seats_of (f, f->org_a, f->token_a), ==, 15);
  g_assert_cmpint (last_seq (f, f->org_a, f->token_a), ==, seq);
  g_assert_cmpuint (count_invoices (f, f->org_a, f->token_a), ==, 2);
}

/* Two users picking the same key each get their own work done. */
static void
test_users_apart (TestTwoOrgs *f, gconstpointer data)
{
  g_autofree char *sub_a = test_path ("/v1/orgs/%s/subscription", f->org_a);
  g_autofree char *sub_b = test_path ("/v1/orgs/%s/subscription", f->org_b);
  g_autoptr (JsonNode) a = NULL;
  g_autoptr (JsonNode) b = NULL;
  g_autoptr (JsonNode) a_again = NULL;

  a = post_keyed_ok (f, sub_a, f->token_a, "same-key", create_body, 201, FRESH);
  b = post_keyed_ok (f, sub_b, f->token_b, "same-key",
                     "{\"plan\": \"business\", \"cycle\": \"annual\", \"seats\": 7}", 201, FRESH);
  g_assert_cmpstr (harness_get_str (b, "subscription.org_id"), ==, f->org_b);
  g_assert_cmpstr (harness_get_str (b, "subscription.id"), !=,
                   harness_get_str (a, "subscription.id"));
  g_assert_cmpstr (harness_get_str (b, "invoice.number"), ==, "GLOBEX-2026-0001");
  g_assert_cmpint (seats_of (f, f->org_a, f->token_a), ==, 10);
  g_assert_cmpint (seats_of (f, f->org_b, f->token_b), ==, 7);

  /* And each still replays their own. */
  a_again = post_keyed_ok (f, sub_a, f->token_a, "same-key", create_body, 201, REPLAYED);
  g_assert_true (json_node_equal (a, a_again));
}

/* A refusal is an answer too: its retry gets the refusal, even once the cause is gone. */
static void
test_refusal_replayed (TestTwoOrgs *f, gconstpointer data)
{
  g_autofree char *change = test_path ("/v1/orgs/%s/subscription/change", f->org_a);
  g_autofree char *revoke = test_path ("/v1/orgs/%s/licenses/revoke", f->org_a);
  g_autofree char *e1 = NULL;
  g_autofree char *e2 = NULL;
  g_autofree char *revoke_body = NULL;
  g_autoptr (JsonNode) refused = NULL;
  g_autoptr (JsonNode) revoked = NULL;
  g_autoptr (JsonNode) retry = NULL;
  g_autoptr (JsonNode) fresh = NULL;

  subscribe_a (f, "{\"plan\": \"business\", \"cycle\": \"monthly\", \"seats\": 2}");
  e1 = test_create_employee (f->h, f->org_a, f->token_a, "e1@acme.test", "Ed One", NULL);
  e2 = test_create_employee (f->h, f->org_a, f->token_a, "e2@acme.test", "Em Two", NULL);
  revoke_body = g_strdup_printf ("{\"employee_ids\": [\"%s\"]}", e2);
  {
    const char *ids[] = { e1, e2, NULL };

    test_assign (f->h, f->org_a, f->token_a, ids);
  }
  harness_set_clock (f->h, "2026-03-11T09:00:00Z");
  refused = post_keyed_error (f, change, f->token_a, "down-1", "{\"seats\": 1}", 409,
                              "seats_below_assigned", FRESH);

  revoked = call_ok (f->h, "POST", revoke, f->token_a, revoke_body, 200);
  retry = post_keyed_error (f, change, f->token_a, "down-1", "{\"seats\": 1}", 409,
                            "seats_below_assigned", REPLAYED);
  g_assert_true (json_node_equal (refused, retry));
  g_assert_cmpint (seats_of (f, f->org_a, f->token_a), ==, 2);

  fresh = post_keyed_ok (f, change, f->token_a, "down-2", "{\"seats\": 1}", 200, FRESH);
  g_assert_cmpint (seats_of (f, f->org_a, f->token_a), ==, 1);
}

static void
test_operator_replay (TestTwoOrgs *f, gconstpointer data)
{
  const char *body
      = "{\"name\": \"Initech\", \"code\": \"INIT\", \"admin\": {\"email\": "
        "\"boss@initech.test\", \"name\": \"Bill\", \"password\": \"" HARNESS_PASSWORD "\"}}";
  g_autoptr (JsonNode) first = NULL;
  g_autoptr (JsonNode) second = NULL;

  first = post_keyed_ok (f, "/v1/orgs", HARNESS_OPERATOR_TOKEN, "org-init", body, 201, FRESH);
  second = post_keyed_ok (f, "/v1/orgs", HARNESS_OPERATOR_TOKEN, "org-init", body, 201, REPLAYED);
  g_assert_cmpstr (harness_get_str (first, "org.id"), ==, harness_get_str (second, "org.id"));
  g_assert_true (json_node_equal (first, second));
}

static void
test_bad_keys (TestTwoOrgs *f, gconstpointer data)
{
  g_autofree char *sub = test_path ("/v1/orgs/%s/subscription", f->org_a);
  g_autofree char *long_key = g_strnfill (300, 'k');
  g_autoptr (JsonNode) too_long = NULL;
  g_autoptr (JsonNode) fetched = NULL;
  guint status = 0;

  too_long = post_keyed_error (f, sub, f->token_a, long_key, create_body, 400, NULL, FRESH);
  fetched = harness_request (f->h, "GET", sub, f->token_a, NULL, &status);
  assert_error (fetched, status, 404, "no_subscription");
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  test_add_two_orgs ("/purser/server/idempotency/replay-create", test_replay_create);
  test_add_two_orgs ("/purser/server/idempotency/replay-change", test_replay_change);
  test_add_two_orgs ("/purser/server/idempotency/key-reused", test_key_reused);
  test_add_two_orgs ("/purser/server/idempotency/users-apart", test_users_apart);
  test_add_two_orgs ("/purser/server/idempotency/refusal-replayed", test_refusal_replayed);
  test_add_two_orgs ("/purser/server/idempotency/operator-replay", test_operator_replay);
  test_add_two_orgs ("/purser/server/idempotency/bad-keys", test_bad_keys);

  return g_test_run ();
}
