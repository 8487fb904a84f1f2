/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "purser-store-private.h"

/* The server's schema. Migrations only ever get appended: a released script never
 * changes, since files in the field have already run it.
 *
 * Conventions of every table:
 * - dates (PurserDate) are INTEGER day numbers since 1970-01-01, times are INTEGER unix
 *   seconds (UTC), money is INTEGER cents; a NULL date or time means "none";
 * - enums are TEXT, the strings of the core's *_to_string functions; booleans 0/1;
 * - public ids are TEXT ("org_…"); tables listed in creation order carry an explicit
 *   `seq INTEGER PRIMARY KEY`, because VACUUM may renumber an implicit rowid;
 * - tenancy is in the keys: a parent department, an employee's department and a license's
 *   employee must belong to the same organization (composite foreign keys);
 * - tables are STRICT, so a value of the wrong type is refused, not converted. */
/* clang-format off */
static const char server_v1[] =
  "CREATE TABLE orgs ("
  "  id            TEXT PRIMARY KEY,"
  "  name          TEXT NOT NULL,"
  "  code          TEXT NOT NULL UNIQUE,"
  "  country       TEXT,"
  "  region        TEXT,"
  "  tax_id        TEXT,"
  "  tax_exempt    INTEGER NOT NULL DEFAULT 0,"
  "  billing_email TEXT,"
  "  address       TEXT,"
  "  created_at    INTEGER NOT NULL"
  ") STRICT;"

  /* Departments (parent_id NULL) and their teams. A department with teams or employees
   * cannot be deleted (CONFLICT): people are moved first, never silently orphaned. */
  "CREATE TABLE departments ("
  "  id              TEXT PRIMARY KEY,"
  "  org_id          TEXT NOT NULL REFERENCES orgs (id),"
  "  parent_id       TEXT,"
  "  name            TEXT NOT NULL,"
  "  cost_center     TEXT,"
  "  seat_allocation INTEGER," /* NULL: no allocation */
  "  created_at      INTEGER NOT NULL,"
  "  UNIQUE (org_id, id),"
  "  FOREIGN KEY (org_id, parent_id) REFERENCES departments (org_id, id)"
  ") STRICT;"
  "CREATE UNIQUE INDEX departments_sibling_name"
  "  ON departments (org_id, IFNULL (parent_id, ''), name COLLATE NOCASE);"
  "CREATE INDEX departments_parent ON departments (org_id, parent_id);"

  "CREATE TABLE employees ("
  "  seq             INTEGER PRIMARY KEY,"
  "  id              TEXT NOT NULL UNIQUE,"
  "  org_id          TEXT NOT NULL REFERENCES orgs (id),"
  "  email           TEXT NOT NULL COLLATE NOCASE,"
  "  name            TEXT NOT NULL,"
  "  department_id   TEXT,"
  "  title           TEXT,"
  "  status          TEXT NOT NULL DEFAULT 'active',"
  "  created_at      INTEGER NOT NULL,"
  "  last_session_at INTEGER,"
  "  UNIQUE (org_id, email),"
  "  UNIQUE (org_id, id),"
  "  FOREIGN KEY (org_id, department_id) REFERENCES departments (org_id, id)"
  ") STRICT;"
  "CREATE INDEX employees_department ON employees (org_id, department_id);"

  /* Users log in by e-mail alone, so e-mails are unique across organizations. */
  "CREATE TABLE users ("
  "  id            TEXT PRIMARY KEY,"
  "  org_id        TEXT NOT NULL REFERENCES orgs (id),"
  "  email         TEXT NOT NULL UNIQUE COLLATE NOCASE,"
  "  name          TEXT NOT NULL,"
  "  role          TEXT NOT NULL,"
  "  password_hash TEXT,"
  "  employee_id   TEXT REFERENCES employees (id),"
  "  created_at    INTEGER NOT NULL"
  ") STRICT;"

  "CREATE TABLE manager_departments ("
  "  user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
  "  department_id TEXT NOT NULL REFERENCES departments (id) ON DELETE CASCADE,"
  "  PRIMARY KEY (user_id, department_id)"
  ") STRICT;"
  "CREATE INDEX manager_departments_department ON manager_departments (department_id);"

  /* Bearer tokens are stored as their SHA-256, never in clear. */
  "CREATE TABLE tokens ("
  "  hash       BLOB PRIMARY KEY,"
  "  user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
  "  created_at INTEGER NOT NULL,"
  "  expires_at INTEGER NOT NULL"
  ") STRICT;"
  "CREATE INDEX tokens_user ON tokens (user_id);"

  /* The history of licenses: a row per assignment, closed by revoked_at. The partial
   * index is what makes "one live license per employee" true. */
  "CREATE TABLE licenses ("
  "  seq         INTEGER PRIMARY KEY,"
  "  org_id      TEXT NOT NULL,"
  "  employee_id TEXT NOT NULL,"
  "  assigned_at INTEGER NOT NULL,"
  "  assigned_by TEXT,"
  "  revoked_at  INTEGER,"
  "  revoked_by  TEXT,"
  "  FOREIGN KEY (org_id, employee_id) REFERENCES employees (org_id, id)"
  ") STRICT;"
  "CREATE UNIQUE INDEX licenses_live ON licenses (employee_id) WHERE revoked_at IS NULL;"
  "CREATE INDEX licenses_org_live ON licenses (org_id) WHERE revoked_at IS NULL;"
  "CREATE INDEX licenses_employee ON licenses (org_id, employee_id);"

  /* A column per field of PurserSubscription; scheduled_* are NULL when nothing is
   * scheduled (scheduled_billing_day NULL = unchanged). */
  "CREATE TABLE subscriptions ("
  "  seq                             INTEGER PRIMARY KEY,"
  "  id                              TEXT NOT NULL UNIQUE,"
  "  org_id                          TEXT NOT NULL REFERENCES orgs (id),"
  "  plan                            TEXT NOT NULL,"
  "  cycle                           TEXT NOT NULL,"
  "  seats                           INTEGER NOT NULL,"
  "  contract_seat_price             INTEGER NOT NULL DEFAULT 0,"
  "  contract_platform_fee           INTEGER NOT NULL DEFAULT 0,"
  "  contract_interval               TEXT NOT NULL,"
  "  billing_day                     INTEGER NOT NULL,"
  "  period_start                    INTEGER,"
  "  period_end                      INTEGER,"
  "  basis_start                     INTEGER,"
  "  basis_end                       INTEGER,"
  "  status                          TEXT NOT NULL,"
  "  cancel_at_period_end            INTEGER NOT NULL DEFAULT 0,"
  "  auto_renew                      INTEGER NOT NULL DEFAULT 1,"
  "  proration_billing               TEXT NOT NULL,"
  "  scheduled_plan                  TEXT,"
  "  scheduled_contract_seat_price   INTEGER,"
  "  scheduled_contract_platform_fee INTEGER,"
  "  scheduled_contract_interval     TEXT,"
  "  scheduled_cycle                 TEXT,"
  "  scheduled_billing_day           INTEGER,"
  "  credit_balance                  INTEGER NOT NULL DEFAULT 0,"
  "  cancel_reason                   TEXT,"
  "  cancel_comment                  TEXT,"
  "  canceled_at                     INTEGER,"
  "  po_number                       TEXT,"
  "  invoice_notes                   TEXT,"
  "  created_at                      INTEGER NOT NULL,"
  "  updated_at                      INTEGER NOT NULL"
  ") STRICT;"
  "CREATE INDEX subscriptions_org ON subscriptions (org_id, seq);"
  "CREATE INDEX subscriptions_period_end ON subscriptions (period_end);"

  "CREATE TABLE subscription_pending_lines ("
  "  subscription_id TEXT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,"
  "  position        INTEGER NOT NULL,"
  "  kind            TEXT NOT NULL,"
  "  description     TEXT,"
  "  quantity        INTEGER NOT NULL,"
  "  unit_amount     INTEGER NOT NULL,"
  "  amount          INTEGER NOT NULL,"
  "  period_start    INTEGER,"
  "  period_end      INTEGER,"
  "  PRIMARY KEY (subscription_id, position)"
  ") STRICT;"

  "CREATE TABLE invoices ("
  "  seq             INTEGER PRIMARY KEY,"
  "  id              TEXT NOT NULL UNIQUE,"
  "  org_id          TEXT NOT NULL REFERENCES orgs (id),"
  "  subscription_id TEXT REFERENCES subscriptions (id),"
  "  number          TEXT NOT NULL UNIQUE,"
  "  status          TEXT NOT NULL,"
  "  reason          TEXT,"
  "  subtotal        INTEGER NOT NULL,"
  "  tax             INTEGER NOT NULL,"
  "  total           INTEGER NOT NULL,"
  "  credit_applied  INTEGER NOT NULL DEFAULT 0,"
  "  tax_note        TEXT,"
  "  period_start    INTEGER,"
  "  period_end      INTEGER,"
  "  issued_on       INTEGER NOT NULL,"
  "  due_on          INTEGER,"
  "  po_number       TEXT,"
  "  notes           TEXT,"
  "  amount_paid     INTEGER NOT NULL DEFAULT 0,"
  "  created_at      INTEGER NOT NULL,"
  "  paid_at         INTEGER,"
  "  voided_at       INTEGER,"
  "  void_reason     TEXT"
  ") STRICT;"
  "CREATE INDEX invoices_org ON invoices (org_id, seq);"
  "CREATE INDEX invoices_subscription ON invoices (subscription_id);"

  "CREATE TABLE invoice_lines ("
  "  invoice_id   TEXT NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,"
  "  position     INTEGER NOT NULL,"
  "  kind         TEXT NOT NULL,"
  "  description  TEXT,"
  "  quantity     INTEGER NOT NULL,"
  "  unit_amount  INTEGER NOT NULL,"
  "  amount       INTEGER NOT NULL,"
  "  period_start INTEGER,"
  "  period_end   INTEGER,"
  "  PRIMARY KEY (invoice_id, position)"
  ") STRICT;"

  /* The last invoice number given per organization and year. Bumped inside the
   * transaction that inserts the invoice, so a rolled-back invoice leaves no gap. */
  "CREATE TABLE invoice_counters ("
  "  org_id TEXT NOT NULL REFERENCES orgs (id),"
  "  year   INTEGER NOT NULL,"
  "  last   INTEGER NOT NULL,"
  "  PRIMARY KEY (org_id, year)"
  ") STRICT;"

  /* The audit log and the clients' sync feed. AUTOINCREMENT: a sequence number is never
   * given twice, even after the newest events are deleted. department_id has no foreign
   * key: the log outlives the departments it mentions. */
  "CREATE TABLE events ("
  "  seq           INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  id            TEXT NOT NULL UNIQUE,"
  "  org_id        TEXT NOT NULL REFERENCES orgs (id),"
  "  time          INTEGER NOT NULL,"
  "  actor         TEXT NOT NULL,"
  "  type          TEXT NOT NULL,"
  "  entity_type   TEXT,"
  "  entity_id     TEXT,"
  "  department_id TEXT,"
  "  before_json   TEXT,"
  "  after_json    TEXT"
  ") STRICT;"
  "CREATE INDEX events_org ON events (org_id, seq);"

  "CREATE TABLE idempotency ("
  "  scope        TEXT NOT NULL,"
  "  key          TEXT NOT NULL,"
  "  request_hash TEXT NOT NULL,"
  "  status       INTEGER NOT NULL,"
  "  body         TEXT,"
  "  created_at   INTEGER NOT NULL,"
  "  PRIMARY KEY (scope, key)"
  ") STRICT;"
  "CREATE INDEX idempotency_created ON idempotency (created_at);"

  /* The test clock: at most one row. */
  "CREATE TABLE clock ("
  "  id  INTEGER PRIMARY KEY CHECK (id = 1),"
  "  now INTEGER NOT NULL"
  ") STRICT;";

/* Payments: Stripe customers and payment methods, charges and dunning, credit notes,
 * Stripe's webhook events and the mail outbox. Card and bank numbers are never stored:
 * only what Stripe shows (brand, last 4, expiry, bank name). */
static const char server_v2[] =
  "ALTER TABLE orgs ADD COLUMN stripe_customer_id TEXT;"
  "CREATE UNIQUE INDEX orgs_stripe_customer ON orgs (stripe_customer_id);"

  /* charge_automatically (the default method is charged) or send_invoice (net 30, paid
   * by transfer). next_attempt_at: when the next charge is due, NULL when none is. */
  "ALTER TABLE invoices ADD COLUMN collection TEXT NOT NULL DEFAULT 'send_invoice';"
  "ALTER TABLE invoices ADD COLUMN attempt_count INTEGER NOT NULL DEFAULT 0;"
  "ALTER TABLE invoices ADD COLUMN next_attempt_at INTEGER;"
  "ALTER TABLE invoices ADD COLUMN first_failed_at INTEGER;"
  "ALTER TABLE invoices ADD COLUMN amount_refunded INTEGER NOT NULL DEFAULT 0;"
  "CREATE INDEX invoices_attempts ON invoices (next_attempt_at) WHERE next_attempt_at IS NOT NULL;"

  "CREATE TABLE payment_methods ("
  "  seq         INTEGER PRIMARY KEY,"
  "  id          TEXT NOT NULL UNIQUE,"
  "  org_id      TEXT NOT NULL REFERENCES orgs (id),"
  "  type        TEXT NOT NULL CHECK (type IN ('card', 'us_bank_account', 'sepa_debit', 'wire')),"
  "  stripe_id   TEXT UNIQUE,"
  "  brand       TEXT,"
  "  last4       TEXT,"
  "  exp_month   INTEGER,"
  "  exp_year    INTEGER,"
  "  country     TEXT,"
  "  label       TEXT,"
  "  is_default  INTEGER NOT NULL DEFAULT 0,"
  "  status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'removed')),"
  "  created_at  INTEGER NOT NULL,"
  "  removed_at  INTEGER,"
  "  stripe_seen INTEGER NOT NULL DEFAULT 0"
  ") STRICT;"
  "CREATE INDEX payment_methods_org ON payment_methods (org_id, seq);"
  "CREATE UNIQUE INDEX payment_methods_one_default ON payment_methods (org_id)"
  "  WHERE is_default = 1 AND status = 'active';"

  /* Checkout Sessions in setup mode that we started. */
  "CREATE TABLE payment_setups ("
  "  id           TEXT PRIMARY KEY,"
  "  org_id       TEXT NOT NULL REFERENCES orgs (id),"
  "  type         TEXT NOT NULL,"
  "  session_id   TEXT UNIQUE,"
  "  url          TEXT,"
  "  status       TEXT NOT NULL,"
  "  method_id    TEXT,"
  "  created_at   INTEGER NOT NULL,"
  "  completed_at INTEGER"
  ") STRICT;"

  /* One row per attempt to collect an invoice. pending: sent (or about to be) to Stripe
   * and not answered yet; processing: Stripe is collecting a bank debit. */
  "CREATE TABLE payments ("
  "  seq             INTEGER PRIMARY KEY,"
  "  id              TEXT NOT NULL UNIQUE,"
  "  org_id          TEXT NOT NULL REFERENCES orgs (id),"
  "  invoice_id      TEXT NOT NULL REFERENCES invoices (id),"
  "  method_id       TEXT REFERENCES payment_methods (id),"
  "  method_type     TEXT NOT NULL,"
  "  method_label    TEXT,"
  "  amount          INTEGER NOT NULL,"
  "  status          TEXT NOT NULL CHECK (status IN ('pending', 'processing', 'succeeded', 'failed')),"
  "  stripe_payment_intent TEXT UNIQUE,"
  "  stripe_charge   TEXT,"
  "  failure_code    TEXT,"
  "  failure_message TEXT,"
  "  reference       TEXT,"
  "  receipt_number  TEXT UNIQUE,"
  "  amount_refunded INTEGER NOT NULL DEFAULT 0,"
  "  attempt         INTEGER NOT NULL,"
  "  actor           TEXT NOT NULL,"
  "  created_at      INTEGER NOT NULL,"
  "  updated_at      INTEGER NOT NULL,"
  "  stripe_seen     INTEGER NOT NULL DEFAULT 0"
  ") STRICT;"
  "CREATE INDEX payments_org ON payments (org_id, seq);"
  "CREATE INDEX payments_invoice ON payments (invoice_id, seq);"
  "CREATE INDEX payments_pending ON payments (status) WHERE status = 'pending';"

  "CREATE TABLE credit_notes ("
  "  seq              INTEGER PRIMARY KEY,"
  "  id               TEXT NOT NULL UNIQUE,"
  "  org_id           TEXT NOT NULL REFERENCES orgs (id),"
  "  invoice_id       TEXT NOT NULL REFERENCES invoices (id),"
  "  payment_id       TEXT REFERENCES payments (id),"
  "  number           TEXT NOT NULL UNIQUE,"
  "  amount           INTEGER NOT NULL,"
  "  refunded         INTEGER NOT NULL DEFAULT 0,"
  "  refund_status    TEXT NOT NULL CHECK (refund_status IN ('none', 'pending', 'succeeded', 'failed', 'manual')),"
  "  stripe_refund_id TEXT UNIQUE,"
  "  reason           TEXT,"
  "  created_at       INTEGER NOT NULL"
  ") STRICT;"
  "CREATE INDEX credit_notes_org ON credit_notes (org_id, seq);"

  /* Every Stripe event received, once (its id), processed in order of creation. */
  "CREATE TABLE stripe_events ("
  "  seq             INTEGER PRIMARY KEY,"
  "  id              TEXT NOT NULL UNIQUE,"
  "  type            TEXT NOT NULL,"
  "  created         INTEGER NOT NULL,"
  "  object_id       TEXT,"
  "  payload         TEXT NOT NULL,"
  "  status          TEXT NOT NULL CHECK (status IN ('pending', 'processed', 'ignored', 'failed')),"
  "  attempts        INTEGER NOT NULL DEFAULT 0,"
  "  next_attempt_at INTEGER,"
  "  note            TEXT,"
  "  received_at     INTEGER NOT NULL,"
  "  processed_at    INTEGER"
  ") STRICT;"
  "CREATE INDEX stripe_events_due ON stripe_events (created, seq) WHERE status IN ('pending', 'failed');"

  /* Mail written in the transaction of the change that causes it; the sender delivers it
   * and marks it sent. The attachment is drawn when it is sent. */
  "CREATE TABLE outbox ("
  "  seq             INTEGER PRIMARY KEY,"
  "  id              TEXT NOT NULL UNIQUE,"
  "  org_id          TEXT REFERENCES orgs (id),"
  "  template        TEXT NOT NULL,"
  "  recipients      TEXT NOT NULL,"
  "  subject         TEXT NOT NULL,"
  "  text_body       TEXT NOT NULL,"
  "  html_body       TEXT,"
  "  attachment      TEXT,"
  "  status          TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),"
  "  attempts        INTEGER NOT NULL DEFAULT 0,"
  "  next_attempt_at INTEGER NOT NULL,"
  "  last_error      TEXT,"
  "  created_at      INTEGER NOT NULL,"
  "  sent_at         INTEGER"
  ") STRICT;"
  "CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'queued';"
  "CREATE INDEX outbox_org ON outbox (org_id, seq);";
/* clang-format on */

static const char *const server_migrations[] = {
  server_v1,
  server_v2,
};

/* The desktop client's cache: every resource as the API shows it (a JSON blob keyed by
 * type and id, e.g. "employee"/"emp_…"), with the few columns lists sort and filter on
 * generated from the blob, and one row of sync state (the cursor: the seq of the newest
 * event applied; synced_at: unix seconds of the last successful sync). */
/* clang-format off */
static const char cache_v1[] =
  "CREATE TABLE resources ("
  "  type          TEXT NOT NULL,"
  "  id            TEXT NOT NULL,"
  "  json          TEXT NOT NULL CHECK (json_valid (json)),"
  "  name          TEXT GENERATED ALWAYS AS (json_extract (json, '$.name')) VIRTUAL,"
  "  email         TEXT GENERATED ALWAYS AS (json_extract (json, '$.email')) VIRTUAL,"
  "  status        TEXT GENERATED ALWAYS AS (json_extract (json, '$.status')) VIRTUAL,"
  "  department_id TEXT GENERATED ALWAYS AS (json_extract (json, '$.department_id')) VIRTUAL,"
  "  parent_id     TEXT GENERATED ALWAYS AS (json_extract (json, '$.parent_id')) VIRTUAL,"
  "  PRIMARY KEY (type, id)"
  ") STRICT;"
  "CREATE INDEX resources_type_name ON resources (type, name COLLATE NOCASE);"
  "CREATE INDEX resources_type_department ON resources (type, department_id);"

  "CREATE TABLE sync_state ("
  "  id        INTEGER PRIMARY KEY CHECK (id = 1),"
  "  cursor    INTEGER NOT NULL DEFAULT 0,"
  "  synced_at INTEGER"
  ") STRICT;"
  "INSERT INTO sync_state (id, cursor) VALUES (1, 0);";
/* clang-format on */

static const char *const cache_migrations[] = {
  cache_v1,
};

const char *const *
purser_schema_migrations (PurserSchema schema, guint *n_scripts)
{
  switch (schema)
    {
      case PURSER_SCHEMA_SERVER:
        *n_scripts = G_N_ELEMENTS (server_migrations);
        return server_migrations;

      case PURSER_SCHEMA_CACHE:
        *n_scripts = G_N_ELEMENTS (cache_migrations);
        return cache_migrations;

      default:
        g_assert_not_reached ();
    }
}

guint32
purser_schema_application_id (PurserSchema schema)
{
  switch (schema)
    {
      case PURSER_SCHEMA_SERVER:
        return 0x50727372; /* "Prsr" */

      case PURSER_SCHEMA_CACHE:
        return 0x50727343; /* "PrsC" */

      default:
        g_assert_not_reached ();
    }
}
