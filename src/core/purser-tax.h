/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "purser-money.h"

G_BEGIN_DECLS

/* Tax is exclusive, by the buyer's jurisdiction, in basis points (725 = 7.25 %).
 * A jurisdiction is a country code ("DE") or country and region ("US-CA"); the most
 * specific entry wins, then the country, then 0. */
typedef struct _PurserTaxTable PurserTaxTable;

typedef enum
{
  PURSER_TAX_STANDARD,       /* rate_bps of the jurisdiction (may be 0) */
  PURSER_TAX_EXEMPT,         /* the organization is tax-exempt */
  PURSER_TAX_REVERSE_CHARGE, /* EU B2B with a valid VAT id, buyer in another country */
} PurserTaxTreatment;

typedef struct
{
  PurserTaxTreatment treatment;
  int rate_bps;
  char jurisdiction[16]; /* "US-WA", "DE", or "" when unknown */
} PurserTaxContext;

/* The buyer as tax sees it. Strings may be NULL. */
typedef struct
{
  const char *country; /* ISO 3166-1 alpha-2, upper case */
  const char *region;  /* e.g. "CA" for US states */
  const char *tax_id;  /* VAT id for EU buyers, e.g. "DE123456789" */
  gboolean exempt;
} PurserTaxParty;

#define PURSER_REVERSE_CHARGE_NOTE                                                            \
  "Reverse charge: VAT to be accounted for by the recipient (Article 196, Council Directive " \
  "2006/112/EC)."

/* The built-in table: US states with a sales tax on this kind of service, EU VAT rates,
 * the UK. A configured file replaces it. */
PurserTaxTable *purser_tax_table_new_default (void);
/* Lines "JURISDICTION BPS", '#' comments, blank lines. Fails with the line number. */
PurserTaxTable *purser_tax_table_new_parse (const char *text, GError **error);
void purser_tax_table_free (PurserTaxTable *table);
int purser_tax_table_lookup (const PurserTaxTable *table, const char *country, const char *region);

gboolean purser_country_is_eu (const char *country);
/* Format check of an EU VAT id: the country's prefix (EL for Greece) then 2–12 letters or
 * digits. Real validation (VIES) happens outside the core. */
gboolean purser_vat_id_is_valid (const char *country, const char *vat_id);
/* Any ISO 3166-1 alpha-2 shape: two upper-case letters. */
gboolean purser_country_is_valid (const char *country);

void purser_tax_resolve (const PurserTaxTable *table, const char *seller_country,
                         const PurserTaxParty *buyer, PurserTaxContext *out);

/* Tax on one line: amount × rate_bps / 10000, half away from zero (negative lines give
 * negative tax). 0 unless the treatment is standard. */
PurserCents purser_tax_for_amount (const PurserTaxContext *tax, PurserCents amount);

/* "Sales tax 7.25% (US-WA)", "VAT 19% (DE)", "Reverse charge", "Tax exempt" */
char *purser_tax_describe (const PurserTaxContext *tax);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PurserTaxTable, purser_tax_table_free)

G_END_DECLS
