/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "purser-store.h"
#include "purser-wire.h"
#include "purserd-http.h"
#include "purserd-mail.h"
#include "purserd-stripe.h"

G_BEGIN_DECLS

typedef struct
{
  char *database; /* path of the SQLite file */
  PurserdHttpConfig http;
  char *operator_token; /* NULL: provisioning is off */
  gboolean demo;
  gboolean test_clock;
  gint64 start_time; /* --now: where a fresh test clock starts; 0: wall clock */
  char *seller_country;
  char *tax_table_path;
  PurserdStripeConfig stripe;
  char **webhook_secrets;    /* endpoint secrets (several while rotating); NULL: webhooks off */
  guint stripe_poll_seconds; /* how long a processing debit waits for its webhook */
  PurserdMailConfig mail;
  char *public_url; /* where people reach this service: links in mail, Stripe return URLs */
  /* The seller on invoices. */
  char *seller_name;
  char *seller_address;
  char *seller_email;
  char *seller_tax_id;
  char *seller_bank_details; /* for invoices paid by transfer */
} PurserdConfig;

typedef struct _PurserdServer PurserdServer;

/* ── what route handlers see ───────────────────────────────────────────────────── */

typedef enum
{
  PURSERD_ROLE_ADMIN = 1 << 0,
  PURSERD_ROLE_EXECUTIVE = 1 << 1,
  PURSERD_ROLE_MANAGER = 1 << 2,
  PURSERD_ROLE_EMPLOYEE = 1 << 3,
} PurserdRole;

#define PURSERD_ROLES_ALL \
  (PURSERD_ROLE_ADMIN | PURSERD_ROLE_EXECUTIVE | PURSERD_ROLE_MANAGER | PURSERD_ROLE_EMPLOYEE)
#define PURSERD_ROLES_READERS (PURSERD_ROLE_ADMIN | PURSERD_ROLE_EXECUTIVE)
#define PURSERD_ROLES_STAFF   (PURSERD_ROLE_ADMIN | PURSERD_ROLE_EXECUTIVE | PURSERD_ROLE_MANAGER)

typedef struct
{
  PurserdServer *server;
  PurserDb *db;
  PurserdRequest *request;
  PurserdResponse *response;
  GHashTable *params;     /* {org}, {id} → value */
  PurserUserRecord *user; /* NULL for public and operator routes */
  PurserdRole role;
  gboolean is_operator;
  const char *actor; /* user id or "operator" */
  guint8 token_hash[32];
  gint64 now; /* the billing clock */
  PurserDate today;
  gboolean failed; /* an error answer was set: the transaction rolls back */
  /* private */
  const PurserUserRecord *as_user;
  char *idempotency_key;
  char *request_hash;
} PurserdCall;

typedef void (*PurserdRouteFunc) (PurserdCall *call);

typedef enum
{
  PURSERD_AUTH_NONE,
  PURSERD_AUTH_OPERATOR,
  PURSERD_AUTH_USER, /* a bearer token of a user of the {org} in the path, if any */
} PurserdAuth;

typedef enum
{
  PURSERD_ROUTE_DEFAULT = 0,
  /* The handler opens its own transactions (it runs the billing clock). */
  PURSERD_ROUTE_OWN_TRANSACTIONS = 1 << 0,
  /* The handler answers later (it calls Stripe): it opens its own transactions and ends
   * with purserd_call_finish, on the main context. */
  PURSERD_ROUTE_DEFERRED = 1 << 1,
} PurserdRouteFlags;

typedef struct
{
  const char *method;
  const char *pattern; /* "/v1/orgs/{org}/departments/{id}" */
  PurserdAuth auth;
  guint roles; /* PurserdRole bits allowed (AUTH_USER) */
  PurserdRouteFunc func;
  PurserdRouteFlags flags;
} PurserdRoute;

const char *purserd_call_param (PurserdCall *call, const char *name);
const char *purserd_call_org_id (PurserdCall *call);

/* Answers */
void purserd_call_reply (PurserdCall *call, guint status, JsonBuilder *builder);
void purserd_call_reply_text (PurserdCall *call, guint status, const char *content_type,
                              const char *body, gsize length);
void purserd_call_error (PurserdCall *call, guint status, const char *code, const char *field,
                         const char *format, ...) G_GNUC_PRINTF (5, 6);
/* Maps store, core and wire errors onto the envelope. */
void purserd_call_fail (PurserdCall *call, const GError *error);
/* The same, naming the request field the error is about. */
void purserd_call_fail_field (PurserdCall *call, const GError *error, const char *field);
/* Answers with a resource as it is. */
void purserd_call_reply_node (PurserdCall *call, guint status, JsonNode *node);
/* Ends reading a body: unknown members are refused; on any failure answers 400 and
 * returns FALSE. */
gboolean purserd_call_reader_done (PurserdCall *call, PurserWireReader *reader);
/* 400 from a reader's first failure. */
void purserd_call_reader_error (PurserdCall *call, PurserWireReader *reader);
/* Parses the body into `reader`; answers 400 and returns FALSE when it is not an object. */
gboolean purserd_call_read_body (PurserdCall *call, PurserWireReader *reader);
/* ?limit= (1..max, default) and ?after=; answers 400 on bad values. */
gboolean purserd_call_page (PurserdCall *call, int default_limit, int max_limit, int *limit,
                            const char **after);

/* For deferred routes (and own-transaction routes that answer later): */
/* Answers later; the call stays valid until purserd_call_finish. */
void purserd_call_defer (PurserdCall *call);
/* Sends the answer set on the call and frees it. */
void purserd_call_finish (PurserdCall *call);

/* Appends a BillingEvent in the request's transaction; entity JSON as built by the caller
 * (NULL before for a creation, NULL after for a deletion). */
gboolean purserd_call_event (PurserdCall *call, const char *type, const char *entity_type,
                             const char *entity_id, const char *department_id, JsonNode *before,
                             JsonNode *after);

/* ── the server ────────────────────────────────────────────────────────────────── */

PurserdServer *purserd_server_new (const PurserdConfig *config, GError **error);
gboolean purserd_server_listen (PurserdServer *self, GError **error);
guint16 purserd_server_port (PurserdServer *self);
void purserd_server_run (PurserdServer *self);
void purserd_server_free (PurserdServer *self);

/* Runs one request in-process as `as_user` (NULL: the operator) at time `now`, through the
 * same routes, checks and transactions as HTTP. Returns the parsed answer, or fails with
 * the answer's status and body. */
JsonNode *purserd_server_invoke (PurserdServer *self, const PurserUserRecord *as_user, gint64 now,
                                 const char *method, const char *path, const char *body,
                                 GError **error);

PurserDb *purserd_server_db (PurserdServer *self);
const PurserTaxTable *purserd_server_tax_table (PurserdServer *self);
const char *purserd_server_seller_country (PurserdServer *self);
const PurserdConfig *purserd_server_config (PurserdServer *self);
PurserdStripe *purserd_server_stripe (PurserdServer *self);
PurserdMailer *purserd_server_mailer (PurserdServer *self);
struct _PurserdPayments *purserd_server_payments (PurserdServer *self);

/* Background work (charges, refunds, webhooks, mail) runs on the main loop, one item at a
 * time per worker. A worker's function starts one due item and returns TRUE (it then calls
 * purserd_server_worker_done when it is finished), or returns FALSE when nothing is due. */
typedef gboolean (*PurserdWorkerFunc) (gpointer data);
void purserd_server_add_worker (PurserdServer *self, PurserdWorkerFunc func, gpointer data);
void purserd_server_worker_done (PurserdServer *self, gpointer data);
/* Looks for due work soon (after a change commits). */
void purserd_server_kick (PurserdServer *self);
/* Calls `func` once every worker has run out of due work. */
void purserd_server_when_idle (PurserdServer *self, GSourceFunc func, gpointer data);

/* The billing clock: the test clock when enabled, else the wall clock. */
gint64 purserd_server_now (PurserdServer *self);
void purserd_server_set_now (PurserdServer *self, gint64 now);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PurserdServer, purserd_server_free)

G_END_DECLS
