/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "purser-subscription.h"

G_BEGIN_DECLS

/* The API contract in C: reading request bodies field by field with errors that name the
 * field, and writing money, dates, periods, lines and quotes the one way the API shows them. */

#define PURSER_WIRE_ERROR (purser_wire_error_quark ())
GQuark purser_wire_error_quark (void);

typedef enum
{
  PURSER_WIRE_ERROR_MALFORMED, /* not JSON, or not an object */
  PURSER_WIRE_ERROR_INVALID,   /* a member of the wrong type or out of range */
} PurserWireError;

#define PURSER_WIRE_NAME_MAX  200
#define PURSER_WIRE_EMAIL_MAX 254
#define PURSER_WIRE_TEXT_MAX  2000

/* Reads one JSON object. The first failure is kept (with the member's path, e.g.
 * "contract.seat_price") and every later read is a no-op returning FALSE. */
typedef struct
{
  JsonObject *object;
  char *prefix;    /* "contract." for a nested object, or NULL */
  GPtrArray *seen; /* members read so far (for purser_wire_reader_finish) */
  char *field;     /* the member of the first failure */
  GError *error;
} PurserWireReader;

/* Parses a body that must be one JSON object. */
gboolean purser_wire_reader_init_body (PurserWireReader *reader, const char *data, gsize length,
                                       GError **error);
void purser_wire_reader_clear (PurserWireReader *reader);
/* Fails on members that nobody read: a typo must not be silently ignored. */
gboolean purser_wire_reader_finish (PurserWireReader *reader);
gboolean purser_wire_reader_failed (PurserWireReader *reader);
gboolean purser_wire_reader_has (PurserWireReader *reader, const char *member);

/* Each reader returns TRUE when the member is present and valid (and stores it), FALSE
 * when absent or invalid; absent `required` members and invalid ones record the failure. */
gboolean purser_wire_read_string (PurserWireReader *reader, const char *member, gboolean required,
                                  gsize max_chars, char **out);
/* A string that may also be JSON null (stored as NULL; *present tells it was given). */
gboolean purser_wire_read_nullable_string (PurserWireReader *reader, const char *member,
                                           gsize max_chars, char **out, gboolean *present);
gboolean purser_wire_read_int (PurserWireReader *reader, const char *member, gboolean required,
                               gint64 min, gint64 max, gint64 *out);
gboolean purser_wire_read_bool (PurserWireReader *reader, const char *member, gboolean required,
                                gboolean *out);
/* One of `allowed` (NULL-terminated); *out is its index. */
gboolean purser_wire_read_enum (PurserWireReader *reader, const char *member, gboolean required,
                                const char *const *allowed, int *out);
/* {"amount": integer, "currency": "usd"} with min <= amount <= max */
gboolean purser_wire_read_money (PurserWireReader *reader, const char *member, gboolean required,
                                 PurserCents min, PurserCents max, PurserCents *out);
gboolean purser_wire_read_date (PurserWireReader *reader, const char *member, gboolean required,
                                PurserDate *out);
gboolean purser_wire_read_time (PurserWireReader *reader, const char *member, gboolean required,
                                gint64 *out);
/* An array of 1..max_items distinct strings of at most max_chars. */
gboolean purser_wire_read_strings (PurserWireReader *reader, const char *member, gboolean required,
                                   guint max_items, gsize max_chars, GPtrArray **out);
/* Opens a nested object; read from `child`, then purser_wire_reader_close_child(). */
gboolean purser_wire_read_object (PurserWireReader *reader, const char *member, gboolean required,
                                  PurserWireReader *child);
void purser_wire_reader_close_child (PurserWireReader *reader, PurserWireReader *child);
/* Records a failure found by the caller (a rule of its own). */
void purser_wire_reader_fail (PurserWireReader *reader, const char *member, const char *format, ...)
    G_GNUC_PRINTF (3, 4);

/* Writing. Members whose value is absent are written as null. */
void purser_wire_add_string (JsonBuilder *builder, const char *member, const char *value);
void purser_wire_add_int (JsonBuilder *builder, const char *member, gint64 value);
void purser_wire_add_bool (JsonBuilder *builder, const char *member, gboolean value);
void purser_wire_add_money (JsonBuilder *builder, const char *member, PurserCents amount);
/* PURSER_DATE_INVALID → null */
void purser_wire_add_date (JsonBuilder *builder, const char *member, PurserDate date);
/* 0 → null */
void purser_wire_add_time (JsonBuilder *builder, const char *member, gint64 unix_seconds);
void purser_wire_add_period (JsonBuilder *builder, const char *member, const PurserPeriod *period);
void purser_wire_add_contract (JsonBuilder *builder, const char *member,
                               const PurserContract *contract);
void purser_wire_add_lines (JsonBuilder *builder, const char *member, const GArray *lines);
/* The members of a preview/change answer: lines, amount_due_now, effective, next_invoice. */
void purser_wire_add_quote_members (JsonBuilder *builder, const PurserQuote *quote);

/* {"error": {"code", "message", "field"?}} */
char *purser_wire_error_body (const char *code, const char *message, const char *field);
char *purser_wire_to_string (JsonNode *node);
/* Ends the builder's root and serializes it. */
char *purser_wire_builder_finish (JsonBuilder *builder);

G_END_DECLS
