/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "purserd-mail-templates.h"
#include "purserd-outbox.h"
#include "purserd-payments.h"

#define MAX_BACKOFF_SECONDS (30 * 60)
#define MAX_ATTEMPTS        40 /* about a day at the longest back-off */

struct _PurserdOutbox
{
  PurserdServer *server;
  PurserdMailer *mailer;
};

gboolean
purserd_outbox_queue (PurserDb *db, const char *org_id, const char *template_id, JsonObject *vars,
                      const char *const *recipients, const char *attachment, GError **error)
{
  g_auto (PurserMailRecord) mail = { 0 };
  g_autoptr (JsonBuilder) builder = json_builder_new_immutable ();
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (JsonNode) root = NULL;
  gint64 wall = g_get_real_time () / G_USEC_PER_SEC;
  guint count = 0;

  json_builder_begin_array (builder);
  for (guint i = 0; recipients != NULL && recipients[i] != NULL; i++)
    {
      g_autofree char *key = g_ascii_strdown (recipients[i], -1);

      if (*recipients[i] == '\0' || !purserd_mail_address_is_valid (recipients[i])
          || g_hash_table_contains (seen, key))
        continue;
      g_hash_table_add (seen, g_steal_pointer (&key));
      json_builder_add_string_value (builder, recipients[i]);
      count++;
    }
  json_builder_end_array (builder);
  if (count == 0)
    return TRUE;

  if (!purserd_mail_render (template_id, vars, &mail.subject, &mail.text_body, &mail.html_body,
                            error))
    return FALSE;
  root = json_builder_get_root (builder);
  mail.recipients = json_to_string (root, FALSE);
  mail.id = purser_db_new_id ("mail");
  mail.org_id = g_strdup (org_id);
  mail.template_id = g_strdup (template_id);
  mail.attachment = g_strdup (attachment);
  mail.status = g_strdup ("queued");
  mail.next_attempt_at = wall;
  mail.created_at = wall;
  return purser_store_mail_insert (db, &mail, error);
}

GStrv
purserd_outbox_billing_recipients (PurserDb *db, const char *org_id)
{
  g_auto (PurserOrgRecord) org = { 0 };
  g_auto (GStrv) admins = purser_store_user_emails_with_role (db, org_id, "admin");
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  if (purser_store_org_get (db, org_id, &org, NULL) && org.billing_email != NULL)
    g_strv_builder_add (builder, org.billing_email);
  g_strv_builder_addv (builder, (const char **) admins);
  return g_strv_builder_end (builder);
}

PurserdOutbox *
purserd_outbox_new (PurserdServer *server, PurserdMailer *mailer)
{
  PurserdOutbox *outbox = g_new0 (PurserdOutbox, 1);

  outbox->server = server;
  outbox->mailer = mailer;
  return outbox;
}

void
purserd_outbox_free (PurserdOutbox *outbox)
{
  g_free (outbox);
}

typedef struct
{
  PurserdOutbox *outbox;
  char *id;
} Sending;

static void
sending_free (Sending *sending)
{
  g_free (sending->id);
  g_free (sending);
}

/* Marks the message after an attempt, in its own transaction. */
static void
record_attempt (PurserdOutbox *self, const char *id, gboolean sent, gboolean permanent,
                const char *failure)
{
  PurserDb *db = purserd_server_db (self->server);
  g_auto (PurserMailRecord) mail = { 0 };
  g_autoptr (GError) error = NULL;
  gint64 wall = g_get_real_time () / G_USEC_PER_SEC;

  if (!purser_db_begin (db, &error))
    goto out;
  if (!purser_store_mail_get (db, id, &mail, &error))
    goto rollback;
  mail.attempts++;
  g_free (mail.last_error);
  mail.last_error = g_strdup (failure);
  g_free (mail.status);
  if (sent)
    {
      mail.status = g_strdup ("sent");
      mail.sent_at = wall;
    }
  else if (permanent || mail.attempts >= MAX_ATTEMPTS)
    mail.status = g_strdup ("failed");
  else
    {
      mail.status = g_strdup ("queued");
      mail.next_attempt_at
          = wall + MIN ((gint64) 5 << MIN (mail.attempts - 1, 12), MAX_BACKOFF_SECONDS);
    }
  if (!purser_store_mail_update (db, &mail, &error))
    goto rollback;
  if (purser_db_commit (db, &error))
    goto out;
rollback:
  purser_db_rollback (db);
out:
  if (error != NULL)
    g_warning ("outbox: %s: %s", id, error->message);
  else if (!sent)
    g_message ("outbox: %s not sent (%s): %s", id,
               g_str_equal (mail.status, "failed") ? "gave up" : "will retry", failure);
}

static void
sent_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Sending *sending = user_data;
  PurserdOutbox *self = sending->outbox;
  g_autoptr (GError) error = NULL;
  gboolean permanent = FALSE;
  gboolean sent = purserd_mailer_send_finish (self->mailer, result, &permanent, &error);

  record_attempt (self, sending->id, sent, permanent, error ? error->message : NULL);
  purserd_server_worker_done (self->server, self);
  sending_free (sending);
}

/* The attachment, drawn now (so it shows the document as it is when sent). */
static gboolean
add_attachment (PurserdOutbox *self, const PurserMailRecord *mail, PurserdMail *message,
                GError **error)
{
  PurserDb *db = purserd_server_db (self->server);
  const char *colon = mail->attachment ? strchr (mail->attachment, ':') : NULL;
  g_autofree char *kind = NULL;
  g_autofree char *filename = NULL;
  g_autoptr (GBytes) pdf = NULL;
  const char *id;

  if (colon == NULL)
    return TRUE;
  kind = g_strndup (mail->attachment, (gsize) (colon - mail->attachment));
  id = colon + 1;
  if (g_str_equal (kind, "invoice"))
    {
      g_auto (PurserInvoiceRecord) invoice = { 0 };

      if (!purser_store_invoice_get (db, mail->org_id, id, &invoice, error))
        return FALSE;
      filename = g_strdup_printf ("Invoice %s.pdf", invoice.number);
      pdf = purserd_payments_invoice_pdf (self->server, db, mail->org_id, id, error);
    }
  else if (g_str_equal (kind, "receipt"))
    {
      g_auto (PurserPaymentRecord) payment = { 0 };

      if (!purser_store_payment_get (db, mail->org_id, id, &payment, error))
        return FALSE;
      filename = g_strdup_printf ("Receipt %s.pdf", payment.receipt_number);
      pdf = purserd_payments_receipt_pdf (self->server, db, mail->org_id, id, error);
    }
  else if (g_str_equal (kind, "credit_note"))
    {
      g_auto (PurserCreditNoteRecord) note = { 0 };

      if (!purser_store_credit_note_get (db, mail->org_id, id, &note, error))
        return FALSE;
      filename = g_strdup_printf ("Credit note %s.pdf", note.number);
      pdf = purserd_payments_credit_note_pdf (self->server, db, mail->org_id, id, error);
    }
  else
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "unknown attachment %s",
                   mail->attachment);
      return FALSE;
    }
  if (pdf == NULL)
    return FALSE;
  purserd_mail_add_attachment (message, filename, "application/pdf", pdf);
  return TRUE;
}

gboolean
purserd_outbox_run (gpointer data)
{
  PurserdOutbox *self = data;
  PurserDb *db = purserd_server_db (self->server);
  g_autoptr (GPtrArray) due = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_auto (PurserMailRecord) mail = { 0 };
  g_auto (PurserdMail) message = { 0 };
  g_autoptr (GStrvBuilder) to = g_strv_builder_new ();
  g_auto (GStrv) recipients = NULL;
  g_autoptr (GBytes) bytes = NULL;
  const char *from = purserd_mailer_get_from (self->mailer);
  Sending *sending;
  JsonArray *array;

  due = purser_store_mail_due (db, g_get_real_time () / G_USEC_PER_SEC, &error);
  if (due == NULL || due->len == 0)
    return FALSE;
  if (!purser_store_mail_get (db, g_ptr_array_index (due, 0), &mail, &error))
    goto broken;
  if (!json_parser_load_from_data (parser, mail.recipients, -1, &error))
    goto broken;
  array = json_node_get_array (json_parser_get_root (parser));
  for (guint i = 0; i < json_array_get_length (array); i++)
    g_strv_builder_add (to, json_array_get_string_element (array, i));
  recipients = g_strv_builder_end (to);

  message.from = g_strdup (from ? from : "Purser Billing <billing@purser.invalid>");
  message.to = g_strdupv (recipients);
  message.subject = g_strdup (mail.subject);
  message.text = g_strdup (mail.text_body);
  message.html = g_strdup (mail.html_body);
  /* Stable across retries, so a receiving server can drop a copy it already took. */
  message.message_id = g_strdup_printf ("<%s@purser>", mail.id);
  if (!add_attachment (self, &mail, &message, &error))
    goto broken;
  bytes = purserd_mail_compose (&message, mail.created_at);

  sending = g_new0 (Sending, 1);
  sending->outbox = self;
  sending->id = g_strdup (mail.id);
  purserd_mailer_send_async (self->mailer, (const char *const *) recipients, bytes, NULL, sent_cb,
                             sending);
  return TRUE;

broken:
  /* A message that cannot even be built is not retried forever. */
  record_attempt (self, g_ptr_array_index (due, 0), FALSE, TRUE,
                  error ? error->message : "could not build the message");
  purserd_server_kick (self->server);
  return FALSE;
}
