/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "purserd-mail.h"
#include "purserd-server.h"

G_BEGIN_DECLS

/* The mail outbox: a message is queued in the transaction of the change that causes it,
 * rendered from its template there (so a template error refuses the change, never loses
 * the mail), and delivered afterwards by the sender, which retries with back-off and marks
 * each message sent once its server accepted it. */

/* Queues `template_id` rendered with `vars` to `recipients` (NULL-terminated; duplicates
 * and empty addresses dropped). `attachment`: "invoice:<id>", "receipt:<payment id>",
 * "credit_note:<id>" or NULL. Nothing is queued (and TRUE returned) without recipients. */
gboolean purserd_outbox_queue (PurserDb *db, const char *org_id, const char *template_id,
                               JsonObject *vars, const char *const *recipients,
                               const char *attachment, GError **error);

/* Who gets billing mail: the organization's billing e-mail and its admins. */
GStrv purserd_outbox_billing_recipients (PurserDb *db, const char *org_id);

typedef struct _PurserdOutbox PurserdOutbox;

PurserdOutbox *purserd_outbox_new (PurserdServer *server, PurserdMailer *mailer);
void purserd_outbox_free (PurserdOutbox *outbox);
/* The worker: starts sending the next due message; FALSE when none is due. */
gboolean purserd_outbox_run (gpointer outbox);

G_END_DECLS
