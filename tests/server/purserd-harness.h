/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/* A real purserd for a test: started from the build tree (env PURSERD) on a fresh database
 * in a temporary directory, on 127.0.0.1 with a port it picks, with the operator token
 * HARNESS_OPERATOR_TOKEN and the test clock starting at `now` (RFC 3339, or NULL for the
 * real time). Talked to over HTTP with libsoup. */

#define HARNESS_OPERATOR_TOKEN "test-operator-token"
#define HARNESS_PASSWORD       "correct-horse-battery"

typedef struct _PurserdHarness PurserdHarness;

/* extra_args: more purserd arguments (NULL-terminated), e.g. { "--demo", NULL }. */
PurserdHarness *harness_start (const char *now, const char *const *extra_args);
void harness_stop (PurserdHarness *h);
const char *harness_url (PurserdHarness *h);
/* The test's directory: purserd.db, stderr.log, mail/ (the maildir). */
const char *harness_dir (PurserdHarness *h);
const char *harness_stderr_path (PurserdHarness *h);
/* What purserd printed on stdout so far. */
char *harness_stdout (PurserdHarness *h);
GPid harness_pid (PurserdHarness *h);

/* JSON request; body may be NULL. Returns the parsed answer (NULL for an empty body) and
 * the status. Adds "Authorization: Bearer token" when token is not NULL. */
JsonNode *harness_request (PurserdHarness *h, const char *method, const char *path,
                           const char *token, const char *body, guint *status);
/* The same with any content type, extra headers (name, value, …, NULL) and the response
 * headers handed back (may be NULL). */
JsonNode *harness_request_full (PurserdHarness *h, const char *method, const char *path,
                                const char *token, const char *content_type, const char *body,
                                gsize length, const char *const *headers, guint *status,
                                SoupMessageHeaders **response_headers);

char *harness_login (PurserdHarness *h, const char *email, const char *password);

/* A new organization through POST /v1/orgs (admin e-mail "admin@<code>.test", password
 * HARNESS_PASSWORD), signed in: fills the org id and an admin token. */
void harness_create_org (PurserdHarness *h, const char *name, const char *code, char **org_id,
                         char **admin_token);

/* POST /v1/test-clock {"now"}; asserts 200. */
void harness_set_clock (PurserdHarness *h, const char *now);

/* Small JSON path helpers for assertions: "subscription.current_period.start",
 * "lines.0.amount.amount". Abort with a clear message when the path is missing. */
JsonNode *harness_get (JsonNode *root, const char *path);
gint64 harness_get_int (JsonNode *root, const char *path);
const char *harness_get_str (JsonNode *root, const char *path);
gboolean harness_get_bool (JsonNode *root, const char *path);
gboolean harness_has (JsonNode *root, const char *path);

G_END_DECLS
