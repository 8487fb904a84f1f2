/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* E-mail for purserd: composing a message (MIME, RFC 5322) and delivering it, over SMTP
 * with libcurl or, when no SMTP server is configured, into a maildir. The outbox decides
 * what to send and when to retry; this layer only tells it whether retrying can help.
 *
 * Nothing here logs. Errors carry the server's reply ("550 5.1.1 No such user") but never
 * the password or the message. */

#define PURSERD_MAIL_ERROR (purserd_mail_error_quark ())
GQuark purserd_mail_error_quark (void);

typedef enum
{
  PURSERD_MAIL_ERROR_TEMPLATE_NOT_FOUND, /* no such template in the resources */
  PURSERD_MAIL_ERROR_TEMPLATE_INVALID,   /* a template with a broken {{placeholder}} */
  PURSERD_MAIL_ERROR_MISSING_VARIABLE,   /* a {{name}} without a value */
  PURSERD_MAIL_ERROR_INVALID_VARIABLE,   /* a value that is not a string or a number */
  PURSERD_MAIL_ERROR_CONFIG,             /* a bad SMTP URL or sender, nowhere to deliver */
  PURSERD_MAIL_ERROR_RECIPIENT,          /* no recipients, or one that is not an address */
  PURSERD_MAIL_ERROR_CONNECT,            /* the server cannot be reached or stops answering */
  PURSERD_MAIL_ERROR_TLS,                /* STARTTLS missing though required, a bad certificate */
  PURSERD_MAIL_ERROR_AUTH,               /* login refused, or required and not configured */
  PURSERD_MAIL_ERROR_TEMPORARY,          /* a 4xx reply: try again later */
  PURSERD_MAIL_ERROR_REJECTED,           /* a 5xx reply: the server will not take it */
  PURSERD_MAIL_ERROR_MAILDIR,            /* writing into the maildir failed */
} PurserdMailError;

/* Addresses as purserd accepts them everywhere (purserd_email_is_valid), and ASCII only:
 * the messages are not sent with SMTPUTF8. */
gboolean purserd_mail_address_is_valid (const char *address);
/* The bare address of "Display Name <local@domain>" or "local@domain"; NULL when there is
 * none or it is not valid. */
char *purserd_mail_address_from_mailbox (const char *mailbox);

/* ---- Messages ---------------------------------------------------------------------- */

typedef struct
{
  char *filename;     /* "INV-2026-0007.pdf"; UTF-8 */
  char *content_type; /* "application/pdf"; NULL or not type/subtype: application/octet-stream */
  GBytes *data;
} PurserdMailAttachment;

PurserdMailAttachment *purserd_mail_attachment_new (const char *filename, const char *content_type,
                                                    GBytes *data);
void purserd_mail_attachment_free (PurserdMailAttachment *attachment);

typedef struct
{
  char *from;    /* "Purser Billing <billing@example.com>" */
  GStrv to;      /* bare addresses, at least one */
  char *subject; /* UTF-8; encoded as RFC 2047 when not ASCII */
  char *text;    /* the text/plain part, UTF-8; required */
  char *html;    /* the text/html part, may be NULL */
  /* PurserdMailAttachment*, may be NULL; an array made by purserd_mail_add_attachment, or
   * by the caller with g_ptr_array_new_with_free_func (purserd_mail_attachment_free). */
  GPtrArray *attachments;
  char *message_id; /* "<outbox-id@purser>", stable across retries; NULL: a random one */
} PurserdMail;

/* Frees the members and zeroes the struct (for g_auto (PurserdMail) mail = { 0 }). */
void purserd_mail_clear (PurserdMail *mail);
/* Appends a copy of the name and type and a reference to `data`. */
void purserd_mail_add_attachment (PurserdMail *mail, const char *filename, const char *content_type,
                                  GBytes *data);

/* The RFC 5322 message, CRLF line ends, no line over 998 octets (headers folded at 78 where
 * they can be, encoded bodies at 76). Headers: Date (date_unix, in UTC), From, To,
 * Subject, Message-ID, MIME-Version, Auto-Submitted. Body:
 *   multipart/mixed { multipart/alternative { text/plain; text/html }; attachments }
 * and the smaller shapes when there is no HTML or no attachment, down to a lone text/plain.
 * Text parts are UTF-8 quoted-printable, attachments base64. The same mail and date give
 * the same bytes (the boundaries derive from them).
 *
 * `from` must hold a valid address and every `to` must be one (purserd_mail_address_is_valid):
 * check addresses that come from users before queueing a message. Control characters in
 * the subject, names and file names become spaces; they cannot start a header. */
GBytes *purserd_mail_compose (const PurserdMail *mail, gint64 date_unix);

/* ---- Delivery ---------------------------------------------------------------------- */

typedef struct
{
  /* "smtp://host:587" (STARTTLS when offered, or required), "smtps://host:465";
   * NULL or empty: no SMTP, mail goes into `maildir`. */
  char *smtp_url;
  char *username, *password; /* may be NULL: no login */
  gboolean require_tls;      /* on smtp://, fail unless STARTTLS works */
  char *ca_file;             /* PEM bundle to verify the server with; NULL: the system's */
  char *from;                /* envelope sender (its bare address) and header From */
  char *maildir;             /* where mail goes without SMTP; created when missing */
  guint timeout_seconds;     /* to connect and for each reply; 0: 60 */
} PurserdMailConfig;

void purserd_mail_config_clear (PurserdMailConfig *config);
/* What a server should check at start-up: a valid `from`, an smtp:// or smtps:// URL with a
 * host, a readable CA file, and somewhere to deliver (SMTP or a maildir). */
gboolean purserd_mail_config_check (const PurserdMailConfig *config, GError **error);

typedef struct _PurserdMailer PurserdMailer;

/* Copies the configuration. Sending with a configuration that purserd_mail_config_check
 * refuses fails with PURSERD_MAIL_ERROR_CONFIG (not permanent). */
PurserdMailer *purserd_mailer_new (const PurserdMailConfig *config);
/* Sends still running keep what they need; the mailer can be freed while they finish. */
void purserd_mailer_free (PurserdMailer *mailer);

/* "SMTP smtp://mail.example.com:587 as billing@example.com (STARTTLS required)" or
 * "maildir /var/lib/purser/mail (SMTP is not configured)", for the log at start-up. Never
 * the password, not even one written into the URL. */
char *purserd_mailer_describe (PurserdMailer *mailer);
gboolean purserd_mailer_uses_smtp (PurserdMailer *mailer);
/* The configured header From, for PurserdMail.from; may be NULL. */
const char *purserd_mailer_get_from (PurserdMailer *mailer);

/* Delivers one composed message to `recipients` (bare addresses; the envelope, so Bcc
 * works): over SMTP in one transaction, or as one file written into maildir/tmp and then
 * linked into maildir/new under a unique name (Return-Path and X-Original-To prepended).
 * The blocking work runs in a GTask thread; the callback runs on the thread-default main
 * context of the caller.
 *
 * Cancelling stops the transfer (G_IO_ERROR_CANCELLED, not permanent). Once the transfer
 * has completed, the result is reported even when the cancellable was cancelled meanwhile,
 * so a message that was sent is never reported as unsent. */
void purserd_mailer_send_async (PurserdMailer *mailer, const char *const *recipients,
                                GBytes *message, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data);
/* *permanent is TRUE when retrying cannot help: a 5xx reply (a recipient, the sender or the
 * message refused; one refused recipient fails the whole message), a recipient that is not
 * an address. FALSE for everything that can heal: no connection, time-outs, 4xx replies,
 * TLS and login failures (530, 534, 535, 538: fixed in the configuration, not in the
 * message), maildir errors, cancellation. */
gboolean purserd_mailer_send_finish (PurserdMailer *mailer, GAsyncResult *result,
                                     gboolean *permanent, GError **error);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PurserdMail, purserd_mail_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PurserdMailConfig, purserd_mail_config_clear)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PurserdMailAttachment, purserd_mail_attachment_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PurserdMailer, purserd_mailer_free)

G_END_DECLS
