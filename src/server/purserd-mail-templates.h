/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "purserd-mail.h"

G_BEGIN_DECLS

/* E-mail templates, compiled into purserd's resources. A template is up to three files in
 * src/server/mail/ listed in purserd.gresource.xml:
 *
 *   <id>.subject   one line
 *   <id>.txt       the text/plain part
 *   <id>.html      the text/html part, a fragment that mail/layout.html wraps (optional)
 *
 * {{name}} (spaces inside the braces allowed) is replaced by the member `name` of `vars`:
 * a string as it is, an integer as a number, a double as a number. In HTML the value is
 * escaped; in the subject and the text it is not. A {{name}} without a value (absent or
 * null) fails with PURSERD_MAIL_ERROR_MISSING_VARIABLE, never renders as a blank. The
 * layout has {{{body}}} for the rendered body and may use {{subject}} and the same vars.
 *
 * Adding a template: write the three files, add them to purserd.gresource.xml, add a row
 * to the table in tests/server/test-mail.c. */

#define PURSERD_MAIL_TEMPLATE_PATH "/io/github/purser/purserd/mail/"

/* Renders `template_id` ("invoice-issued"). *html is NULL when the template has no HTML. */
gboolean purserd_mail_render (const char *template_id, JsonObject *vars, char **subject,
                              char **text, char **html, GError **error);

/* Renders into mail->subject, ->text and ->html (replacing what they held). */
gboolean purserd_mail_render_into (PurserdMail *mail, const char *template_id, JsonObject *vars,
                                   GError **error);

/* The ids of the templates in the resources, sorted. */
GStrv purserd_mail_template_list (void);

G_END_DECLS
