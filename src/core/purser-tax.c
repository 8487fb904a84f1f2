/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "purser-tax.h"

#include "purser-subscription.h"

#include <string.h>

#define BPS_MAX 10000

struct _PurserTaxTable
{
  GHashTable *rates; /* jurisdiction → GINT_TO_POINTER (bps) */
};

typedef struct
{
  const char *jurisdiction;
  int bps;
} DefaultRate;

/* US: states that tax SaaS / remotely accessed software or data-processing services; the
 * rest, California included, do not. State rates only: local rates need a configured table.
 * EU: standard VAT rates. */
static const DefaultRate default_rates[] = {
  { "US-AZ", 560 }, { "US-CT", 635 }, { "US-DC", 600 }, { "US-HI", 400 }, { "US-MS", 700 },
  { "US-NM", 488 }, { "US-NY", 400 }, { "US-OH", 575 }, { "US-PA", 600 }, { "US-RI", 700 },
  { "US-SC", 600 }, { "US-SD", 420 }, { "US-TN", 700 }, { "US-TX", 625 }, { "US-UT", 610 },
  { "US-WA", 650 }, { "US-WV", 600 }, { "US-CA", 0 },   { "US", 0 },

  { "AT", 2000 },   { "BE", 2100 },   { "BG", 2000 },   { "CY", 1900 },   { "CZ", 2100 },
  { "DE", 1900 },   { "DK", 2500 },   { "EE", 2200 },   { "ES", 2100 },   { "FI", 2550 },
  { "FR", 2000 },   { "GR", 2400 },   { "HR", 2500 },   { "HU", 2700 },   { "IE", 2300 },
  { "IT", 2200 },   { "LT", 2100 },   { "LU", 1700 },   { "LV", 2100 },   { "MT", 1800 },
  { "NL", 2100 },   { "PL", 2300 },   { "PT", 2300 },   { "RO", 1900 },   { "SE", 2500 },
  { "SI", 2200 },   { "SK", 2300 },

  { "GB", 2000 },
};

static const char *const eu_countries[] = {
  "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
  "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
};

static const PurserTaxContext no_tax = { PURSER_TAX_STANDARD, 0, "" };

static PurserTaxTable *
tax_table_new_empty (void)
{
  PurserTaxTable *table = g_new0 (PurserTaxTable, 1);

  table->rates = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return table;
}

PurserTaxTable *
purser_tax_table_new_default (void)
{
  PurserTaxTable *table = tax_table_new_empty ();

  for (gsize i = 0; i < G_N_ELEMENTS (default_rates); i++)
    g_hash_table_insert (table->rates, g_strdup (default_rates[i].jurisdiction),
                         GINT_TO_POINTER (default_rates[i].bps));
  return table;
}

/* "DE" or "US-CA": a country, then optionally a region of 1–3 letters or digits. */
static gboolean
jurisdiction_is_valid (const char *text)
{
  gsize len = strlen (text);

  if (len < 2 || !g_ascii_isupper (text[0]) || !g_ascii_isupper (text[1]))
    return FALSE;
  if (len == 2)
    return TRUE;
  if (text[2] != '-' || len < 4 || len > 6)
    return FALSE;
  for (gsize i = 3; i < len; i++)
    if (!g_ascii_isupper (text[i]) && !g_ascii_isdigit (text[i]))
      return FALSE;
  return TRUE;
}

/* Splits a line into blank-separated fields; returns how many there were (at most 3 kept). */
static guint
split_fields (char *line, char *fields[3])
{
  char *state = NULL;
  guint n = 0;

  for (char *token = strtok_r (line, " \t\r", &state); token != NULL;
       token = strtok_r (NULL, " \t\r", &state))
    {
      if (n < 3)
        fields[n] = token;
      n++;
    }
  return n;
}

static gboolean
parse_bps (const char *text, int *out)
{
  guint64 value;

  if (!g_ascii_string_to_unsigned (text, 10, 0, BPS_MAX, &value, NULL))
    return FALSE;
  *out = (int) value;
  return TRUE;
}

PurserTaxTable *
purser_tax_table_new_parse (const char *text, GError **error)
{
  g_autoptr (PurserTaxTable) table = NULL;
  g_auto (GStrv) lines = NULL;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  table = tax_table_new_empty ();
  lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *fields[3] = { NULL, NULL, NULL };
      char *comment = strchr (lines[i], '#');
      guint n_fields;
      int bps;

      if (comment != NULL)
        *comment = '\0';
      n_fields = split_fields (lines[i], fields);
      if (n_fields == 0)
        continue;

      if (n_fields != 2)
        {
          g_set_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_INVALID,
                       "Tax table line %u: expected “JURISDICTION BPS”, like “US-WA 650”", i + 1);
          return NULL;
        }
      if (!jurisdiction_is_valid (fields[0]))
        {
          g_set_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_INVALID,
                       "Tax table line %u: “%s” is not a jurisdiction like “DE” or “US-WA”", i + 1,
                       fields[0]);
          return NULL;
        }
      if (!parse_bps (fields[1], &bps))
        {
          g_set_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_INVALID,
                       "Tax table line %u: “%s” is not a rate in basis points (0–%d)", i + 1,
                       fields[1], BPS_MAX);
          return NULL;
        }
      if (g_hash_table_contains (table->rates, fields[0]))
        {
          g_set_error (error, PURSER_CORE_ERROR, PURSER_CORE_ERROR_INVALID,
                       "Tax table line %u: “%s” is listed twice", i + 1, fields[0]);
          return NULL;
        }

      g_hash_table_insert (table->rates, g_strdup (fields[0]), GINT_TO_POINTER (bps));
    }

  return g_steal_pointer (&table);
}

void
purser_tax_table_free (PurserTaxTable *table)
{
  if (table == NULL)
    return;
  g_hash_table_unref (table->rates);
  g_free (table);
}

int
purser_tax_table_lookup (const PurserTaxTable *table, const char *country, const char *region)
{
  gpointer value;

  g_return_val_if_fail (table != NULL, 0);

  if (country == NULL || *country == '\0')
    return 0;

  if (region != NULL && *region != '\0')
    {
      g_autofree char *key = g_strdup_printf ("%s-%s", country, region);

      if (g_hash_table_lookup_extended (table->rates, key, NULL, &value))
        return GPOINTER_TO_INT (value);
    }

  if (g_hash_table_lookup_extended (table->rates, country, NULL, &value))
    return GPOINTER_TO_INT (value);
  return 0;
}

gboolean
purser_country_is_eu (const char *country)
{
  if (country == NULL)
    return FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (eu_countries); i++)
    if (strcmp (country, eu_countries[i]) == 0)
      return TRUE;
  return FALSE;
}

/* Greece is GR in ISO 3166 but EL in VAT ids. */
static const char *
vat_prefix (const char *country)
{
  return strcmp (country, "GR") == 0 ? "EL" : country;
}

gboolean
purser_vat_id_is_valid (const char *country, const char *vat_id)
{
  gsize len;

  if (!purser_country_is_eu (country) || vat_id == NULL)
    return FALSE;
  if (strncmp (vat_id, vat_prefix (country), 2) != 0)
    return FALSE;

  len = strlen (vat_id + 2);
  if (len < 2 || len > 12)
    return FALSE;
  for (gsize i = 2; vat_id[i] != '\0'; i++)
    if (!g_ascii_isdigit (vat_id[i]) && !g_ascii_isupper (vat_id[i]))
      return FALSE;
  return TRUE;
}

gboolean
purser_country_is_valid (const char *country)
{
  return country != NULL && g_ascii_isupper (country[0]) && g_ascii_isupper (country[1])
         && country[2] == '\0';
}

void
purser_tax_resolve (const PurserTaxTable *table, const char *seller_country,
                    const PurserTaxParty *buyer, PurserTaxContext *out)
{
  const char *country;
  const char *region;

  g_return_if_fail (table != NULL);
  g_return_if_fail (buyer != NULL);
  g_return_if_fail (out != NULL);

  memset (out, 0, sizeof *out);
  country = purser_country_is_valid (buyer->country) ? buyer->country : NULL;
  region = (buyer->region != NULL && *buyer->region != '\0') ? buyer->region : NULL;

  if (country != NULL && region != NULL)
    g_snprintf (out->jurisdiction, sizeof out->jurisdiction, "%s-%s", country, region);
  else if (country != NULL)
    g_strlcpy (out->jurisdiction, country, sizeof out->jurisdiction);

  if (buyer->exempt)
    {
      out->treatment = PURSER_TAX_EXEMPT;
      return;
    }

  /* A seller outside the EU (or unknown) is "another country" too: the buyer self-accounts. */
  if (country != NULL && purser_country_is_eu (country)
      && purser_vat_id_is_valid (country, buyer->tax_id)
      && g_strcmp0 (seller_country, country) != 0)
    {
      out->treatment = PURSER_TAX_REVERSE_CHARGE;
      return;
    }

  out->treatment = PURSER_TAX_STANDARD;
  out->rate_bps = purser_tax_table_lookup (table, country, region);
}

PurserCents
purser_tax_for_amount (const PurserTaxContext *tax, PurserCents amount)
{
  if (tax == NULL || tax->treatment != PURSER_TAX_STANDARD)
    return 0;
  return purser_mul_div_round (amount, tax->rate_bps, BPS_MAX);
}

/* 725 → "7.25", 650 → "6.5", 1900 → "19" */
static char *
format_rate (int bps)
{
  if (bps % 100 == 0)
    return g_strdup_printf ("%d", bps / 100);
  if (bps % 10 == 0)
    return g_strdup_printf ("%d.%d", bps / 100, bps / 10 % 10);
  return g_strdup_printf ("%d.%02d", bps / 100, bps % 100);
}

char *
purser_tax_describe (const PurserTaxContext *tax)
{
  g_autofree char *rate = NULL;
  char country[3] = { 0 };
  const char *name;

  if (tax == NULL)
    tax = &no_tax;

  switch (tax->treatment)
    {
      case PURSER_TAX_EXEMPT:
        return g_strdup ("Tax exempt");
      case PURSER_TAX_REVERSE_CHARGE:
        return g_strdup ("Reverse charge");
      case PURSER_TAX_STANDARD:
        break;
      default:
        g_return_val_if_reached (NULL);
    }

  rate = format_rate (tax->rate_bps);
  if (tax->jurisdiction[0] == '\0')
    return g_strdup_printf ("Tax %s%%", rate);

  memcpy (country, tax->jurisdiction, 2);
  if (purser_country_is_eu (country) || strcmp (country, "GB") == 0)
    name = "VAT";
  else if (strcmp (country, "US") == 0)
    name = "Sales tax";
  else
    name = "Tax";

  return g_strdup_printf ("%s %s%% (%s)", name, rate, tax->jurisdiction);
}
