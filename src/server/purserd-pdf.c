/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <cairo-pdf.h>
#include <gio/gio.h>
#include <pango/pangocairo.h>

#include "purser-tax.h"
#include "purserd-pdf.h"

/* A document is drawn twice: once into a PDF surface that writes nothing, to learn how
 * many pages it takes, then for real with "Page N of M" in the footers. Both passes lay
 * out the same text in the same places, so they break pages alike.
 *
 *   ┌──────────────────────────────────────────┐  ← TOP_MARGIN
 *   │ Invoice                    Seller (brand)│  masthead (page 1 only)
 *   │ Invoice number  …                [PAID]  │
 *   │ From …            Bill to …              │
 *   │ $1,234.56 due Apr 10, 2026               │
 *   │ Description          Qty  Unit    Amount │  table header, repeated after a break
 *   │ …                                        │
 *   │ Pay by bank …          Subtotal  …       │  blocks kept together
 *   ├──────────────────────────────────────────┤  ← BODY_BOTTOM
 *   │ NWL-2026-0007 · …           Page 1 of 2  │  footer
 *   └──────────────────────────────────────────┘
 */

#define PAGE_WIDTH    612.0 /* US Letter, in points */
#define PAGE_HEIGHT   792.0
#define MARGIN        54.0
#define CONTENT_WIDTH (PAGE_WIDTH - 2 * MARGIN)
#define RIGHT_EDGE    (PAGE_WIDTH - MARGIN)
#define TOP_MARGIN    44.0
#define FOOTER_Y      (PAGE_HEIGHT - 38.0)
#define BODY_BOTTOM   (PAGE_HEIGHT - 54.0)
#define COLUMN_GAP    10.0
#define ROW_PAD       5.0
#define FONT_FAMILY   "DejaVu Sans"

/* Descriptions longer than this many lines are cut with an ellipsis: a row never
 * outgrows a page. */
#define MAX_DESCRIPTION_LINES 30
/* A receipt sums an invoice up; the invoice itself has every line. */
#define RECEIPT_MAX_ITEMS 10

typedef struct
{
  double r, g, b;
} Rgb;

static const Rgb INK = { 0.11, 0.12, 0.14 };
static const Rgb MUTED = { 0.42, 0.44, 0.48 };
static const Rgb RULE = { 0.84, 0.85, 0.87 };
static const Rgb STRONG_RULE = { 0.55, 0.57, 0.60 };
static const Rgb ACCENT = { 0.19, 0.29, 0.60 };
static const Rgb GREEN = { 0.13, 0.50, 0.24 };
static const Rgb AMBER = { 0.80, 0.43, 0.00 };
static const Rgb GREY = { 0.45, 0.47, 0.50 };
static const Rgb RED = { 0.75, 0.15, 0.15 };
static const Rgb NOTE_FILL = { 0.96, 0.97, 0.99 };

typedef struct
{
  double size;
  gboolean bold;
  const Rgb *color;
} Style;

static const Style TITLE = { 22.0, TRUE, &INK };
static const Style BRAND = { 12.0, TRUE, &ACCENT };
static const Style HEADLINE = { 15.0, TRUE, &INK };
static const Style HEADING = { 10.0, TRUE, &INK };
static const Style BODY = { 9.0, FALSE, &INK };
static const Style BODY_BOLD = { 9.0, TRUE, &INK };
static const Style META_LABEL = { 9.0, FALSE, &MUTED };
static const Style SMALL = { 8.0, FALSE, &MUTED };
static const Style LABEL = { 7.5, TRUE, &MUTED };
static const Style TOTAL = { 10.5, TRUE, &INK };

typedef struct
{
  const char *title;
  double width; /* 0: what the other columns leave */
  PangoAlignment align;
} Column;

typedef struct
{
  const Column *columns;
  guint n_columns;
} Table;

static const Column item_columns[] = {
  { "Description", 0, PANGO_ALIGN_LEFT },
  { "Qty", 44, PANGO_ALIGN_RIGHT },
  { "Unit price", 84, PANGO_ALIGN_RIGHT },
  { "Amount", 84, PANGO_ALIGN_RIGHT },
};
static const Table item_table = { item_columns, G_N_ELEMENTS (item_columns) };

static const Column payment_columns[] = {
  { "Date", 68, PANGO_ALIGN_LEFT },    { "Receipt", 100, PANGO_ALIGN_LEFT },
  { "Method", 0, PANGO_ALIGN_LEFT },   { "Reference", 150, PANGO_ALIGN_LEFT },
  { "Amount", 70, PANGO_ALIGN_RIGHT },
};
static const Table payment_table = { payment_columns, G_N_ELEMENTS (payment_columns) };

static const Column credit_columns[] = {
  { "Description", 0, PANGO_ALIGN_LEFT },
  { "Amount", 84, PANGO_ALIGN_RIGHT },
};
static const Table credit_table = { credit_columns, G_N_ELEMENTS (credit_columns) };

typedef struct
{
  cairo_t *cr;
  PangoContext *pango;
  const char *footer;  /* left of the footer */
  const char *running; /* top of the pages after the first */
  int page;            /* the page being drawn, from 1 */
  int n_pages;         /* 0 while counting */
  double y;            /* where the next block goes */
  double page_top;     /* where the content of this page starts */
  const Table *table;  /* the table being drawn: its header is repeated after a break */
} Doc;

typedef void (*DrawFunc) (Doc *doc, gconstpointer data);

typedef struct
{
  const char *title;  /* PDF metadata */
  const char *author; /* the seller */
  const char *subject;
  gint64 created; /* unix seconds, the document's own time */
  const char *footer;
  const char *running;
} DocInfo;

typedef struct
{
  const char *label;
  char *value;
  const Style *style;
  gboolean rule_above;
} Pair;

/* Helpers */

static gboolean
has_text (const char *text)
{
  return text != NULL && *text != '\0';
}

static char *
format_date (PurserDate date)
{
  if (date == PURSER_DATE_INVALID)
    return g_strdup ("—");
  return purser_date_format_human (date);
}

static char *
format_day_of (gint64 unix_seconds)
{
  return format_date (purser_date_from_unix (unix_seconds));
}

static gboolean
period_is_set (const PurserPeriod *period)
{
  return period->start != PURSER_DATE_INVALID && period->end != PURSER_DATE_INVALID
         && period->end > period->start;
}

/* Periods are half-open; people read the last day included. */
static char *
format_period (const PurserPeriod *period)
{
  g_autofree char *first = purser_date_format_human (period->start);
  g_autofree char *last = NULL;

  if (period->end - 1 == period->start)
    return g_steal_pointer (&first);
  last = purser_date_format_human (period->end - 1);
  return g_strdup_printf ("%s – %s", first, last);
}

static void
set_color (Doc *doc, const Rgb *color)
{
  cairo_set_source_rgb (doc->cr, color->r, color->g, color->b);
}

/* A layout of plain text (never markup): names and notes are shown as typed. Text that
 * is not UTF-8 is repaired rather than refused. A positive `width` wraps the text. */
static PangoLayout *
make_layout (Doc *doc, const char *text, const Style *style, double width, PangoAlignment align)
{
  PangoLayout *layout = pango_layout_new (doc->pango);
  g_autoptr (PangoFontDescription) font = pango_font_description_new ();
  g_autoptr (PangoAttrList) attrs = pango_attr_list_new ();
  g_autofree char *valid = NULL;

  if (text == NULL)
    text = "";
  if (!g_utf8_validate (text, -1, NULL))
    text = valid = g_utf8_make_valid (text, -1);

  pango_font_description_set_family_static (font, FONT_FAMILY);
  pango_font_description_set_weight (font, style->bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
  pango_font_description_set_absolute_size (font, style->size * PANGO_SCALE);
  pango_layout_set_font_description (layout, font);
  if (width > 0)
    {
      pango_layout_set_width (layout, pango_units_from_double (width));
      pango_layout_set_wrap (layout, PANGO_WRAP_WORD_CHAR);
    }
  pango_layout_set_alignment (layout, align);
  /* Charge ids and IBANs break anywhere, without a hyphen that is not theirs. */
  pango_attr_list_insert (attrs, pango_attr_insert_hyphens_new (FALSE));
  pango_layout_set_attributes (layout, attrs);
  pango_layout_set_text (layout, text, -1);
  return layout;
}

static double
layout_height (PangoLayout *layout)
{
  int height;

  pango_layout_get_size (layout, NULL, &height);
  return pango_units_to_double (height);
}

static double
layout_width (PangoLayout *layout)
{
  PangoRectangle logical;

  pango_layout_get_extents (layout, NULL, &logical);
  return pango_units_to_double (logical.width);
}

static void
show_layout (Doc *doc, PangoLayout *layout, double x, double y, const Rgb *color)
{
  set_color (doc, color);
  cairo_move_to (doc->cr, x, y);
  pango_cairo_show_layout (doc->cr, layout);
}

/* Draws `text` in a box of `width` at (x, y); returns its height. */
static double
put (Doc *doc, double x, double y, double width, const char *text, const Style *style,
     PangoAlignment align)
{
  g_autoptr (PangoLayout) layout = make_layout (doc, text, style, width, align);

  show_layout (doc, layout, x, y, style->color);
  return layout_height (layout);
}

static double
measure (Doc *doc, double width, const char *text, const Style *style)
{
  g_autoptr (PangoLayout) layout = make_layout (doc, text, style, width, PANGO_ALIGN_LEFT);

  return layout_height (layout);
}

static void
hline (Doc *doc, double x0, double x1, double y, double line_width, const Rgb *color)
{
  set_color (doc, color);
  cairo_set_line_width (doc->cr, line_width);
  cairo_move_to (doc->cr, x0, y);
  cairo_line_to (doc->cr, x1, y);
  cairo_stroke (doc->cr);
}

static void
rounded_rectangle (cairo_t *cr, double x, double y, double width, double height, double radius)
{
  cairo_new_sub_path (cr);
  cairo_arc (cr, x + width - radius, y + radius, radius, -G_PI / 2, 0);
  cairo_arc (cr, x + width - radius, y + height - radius, radius, 0, G_PI / 2);
  cairo_arc (cr, x + radius, y + height - radius, radius, G_PI / 2, G_PI);
  cairo_arc (cr, x + radius, y + radius, radius, G_PI, 3 * G_PI / 2);
  cairo_close_path (cr);
}

/* The left edge and width of a table's column. */
static double
column_x (const Table *table, guint index, double *width)
{
  double fixed = 0;
  double x = MARGIN;

  for (guint i = 0; i < table->n_columns; i++)
    fixed += table->columns[i].width;
  fixed += COLUMN_GAP * (table->n_columns - 1);

  for (guint i = 0; i < index; i++)
    x += (table->columns[i].width > 0 ? table->columns[i].width : CONTENT_WIDTH - fixed)
         + COLUMN_GAP;
  *width = table->columns[index].width > 0 ? table->columns[index].width : CONTENT_WIDTH - fixed;
  return x;
}

/* Pages */

static void
draw_table_header (Doc *doc, const Table *table)
{
  double height = 0;

  for (guint i = 0; i < table->n_columns; i++)
    {
      double width;
      double x = column_x (table, i, &width);

      height = MAX (height, put (doc, x, doc->y, width, table->columns[i].title, &LABEL,
                                 table->columns[i].align));
    }
  doc->y += height + 4;
  hline (doc, MARGIN, RIGHT_EDGE, doc->y, 0.8, &STRONG_RULE);
  doc->y += 1;
}

static void
start_page (Doc *doc)
{
  doc->page++;
  doc->y = TOP_MARGIN;
  if (doc->page > 1)
    {
      g_autofree char *continued = g_strdup_printf ("%s (continued)", doc->running);

      doc->y += put (doc, MARGIN, doc->y, CONTENT_WIDTH, continued, &SMALL, PANGO_ALIGN_LEFT);
      doc->y += 6;
      hline (doc, MARGIN, RIGHT_EDGE, doc->y, 0.5, &RULE);
      doc->y += 14;
      if (doc->table != NULL)
        draw_table_header (doc, doc->table);
    }
  doc->page_top = doc->y;
}

static void
finish_page (Doc *doc)
{
  g_autofree char *page = NULL;

  if (doc->n_pages > 0)
    page = g_strdup_printf ("Page %d of %d", doc->page, doc->n_pages);
  else
    page = g_strdup_printf ("Page %d", doc->page);

  hline (doc, MARGIN, RIGHT_EDGE, FOOTER_Y - 6, 0.5, &RULE);
  put (doc, MARGIN, FOOTER_Y, CONTENT_WIDTH - 90, doc->footer, &SMALL, PANGO_ALIGN_LEFT);
  put (doc, RIGHT_EDGE - 90, FOOTER_Y, 90, page, &SMALL, PANGO_ALIGN_RIGHT);
  cairo_show_page (doc->cr);
}

/* Starts a new page unless `height` still fits on this one. A block taller than a whole
 * page is drawn where it is rather than pushed on forever. */
static void
ensure_space (Doc *doc, double height)
{
  if (doc->y + height <= BODY_BOTTOM || doc->y <= doc->page_top)
    return;
  finish_page (doc);
  start_page (doc);
}

/* Text that may run over several pages, broken between its lines. */
typedef struct
{
  PangoLayoutLine *line;
  double top;      /* of its logical extents, in the layout */
  double baseline; /* below `top` */
  double x;
} FlowLine;

static void
flow (Doc *doc, double x, double width, const char *text, const Style *style)
{
  g_autoptr (PangoLayout) layout = make_layout (doc, text, style, width, PANGO_ALIGN_LEFT);
  g_autoptr (GArray) lines = g_array_new (FALSE, FALSE, sizeof (FlowLine));
  PangoLayoutIter *iter;

  pango_layout_set_line_spacing (layout, 1.25);
  iter = pango_layout_get_iter (layout);
  do
    {
      PangoRectangle logical;
      FlowLine line;

      pango_layout_iter_get_line_extents (iter, NULL, &logical);
      line.line = pango_layout_iter_get_line_readonly (iter);
      line.top = pango_units_to_double (logical.y);
      line.baseline = pango_units_to_double (pango_layout_iter_get_baseline (iter) - logical.y);
      line.x = pango_units_to_double (logical.x);
      g_array_append_val (lines, line);
  } while (pango_layout_iter_next_line (iter));
  pango_layout_iter_free (iter);

  for (guint i = 0; i < lines->len; i++)
    {
      const FlowLine *line = &g_array_index (lines, FlowLine, i);
      /* To the next line's top, spacing included; the last line ends the layout. */
      double advance = i + 1 < lines->len ? g_array_index (lines, FlowLine, i + 1).top - line->top
                                          : layout_height (layout) - line->top;

      ensure_space (doc, advance);
      set_color (doc, style->color);
      cairo_move_to (doc->cr, x + line->x, doc->y + line->baseline);
      pango_cairo_show_layout_line (doc->cr, line->line);
      doc->y += advance;
    }
}

/* A heading kept with what follows it, up to `keep` points of it. */
static void
draw_heading (Doc *doc, const char *text, double keep)
{
  double height = measure (doc, CONTENT_WIDTH, text, &HEADING);

  ensure_space (doc, height + 5 + keep);
  doc->y += put (doc, MARGIN, doc->y, CONTENT_WIDTH, text, &HEADING, PANGO_ALIGN_LEFT);
  doc->y += 5;
}

/* A heading and text flowing under it, its first three lines kept with the heading. */
static void
draw_section (Doc *doc, const char *heading, const char *text)
{
  double height = measure (doc, CONTENT_WIDTH, text, &BODY);

  draw_heading (doc, heading, MIN (height * 1.25, 3 * 1.25 * BODY.size * 1.2));
  flow (doc, MARGIN, CONTENT_WIDTH, text, &BODY);
}

/* Tables */

static void
begin_table (Doc *doc, const Table *table)
{
  /* The header and at least one row together. */
  ensure_space (doc, 48);
  draw_table_header (doc, table);
  doc->table = table;
}

static void
end_table (Doc *doc)
{
  doc->table = NULL;
}

/* One row: `cells` has a text per column; `detail`, if any, goes under the first cell.
 * `keep` points of what follows stay on the same page as the row. */
static void
draw_row (Doc *doc, const char *const *cells, const char *detail, const Style *style, double keep)
{
  const Table *table = doc->table;
  g_autoptr (GPtrArray) layouts = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (PangoLayout) detail_layout = NULL;
  double height = 0;
  double first_width;

  g_assert (table != NULL);

  column_x (table, 0, &first_width);
  for (guint i = 0; i < table->n_columns; i++)
    {
      double width;
      PangoLayout *layout;

      column_x (table, i, &width);
      layout = make_layout (doc, cells[i], style, width, table->columns[i].align);
      if (i == 0)
        {
          pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
          pango_layout_set_height (layout, -MAX_DESCRIPTION_LINES);
        }
      g_ptr_array_add (layouts, layout);
      height = MAX (height, layout_height (layout));
    }
  if (has_text (detail))
    {
      detail_layout = make_layout (doc, detail, &SMALL, first_width, PANGO_ALIGN_LEFT);
      height = MAX (height, layout_height (g_ptr_array_index (layouts, 0)) + 2
                                + layout_height (detail_layout));
    }

  ensure_space (doc, height + 2 * ROW_PAD + keep);
  doc->y += ROW_PAD;
  for (guint i = 0; i < table->n_columns; i++)
    {
      double width;
      double x = column_x (table, i, &width);

      show_layout (doc, g_ptr_array_index (layouts, i), x, doc->y, style->color);
    }
  if (detail_layout != NULL)
    show_layout (doc, detail_layout, MARGIN,
                 doc->y + layout_height (g_ptr_array_index (layouts, 0)) + 2, &MUTED);
  doc->y += height + ROW_PAD;
  hline (doc, MARGIN, RIGHT_EDGE, doc->y, 0.4, &RULE);
}

static void
pair_clear (gpointer data)
{
  Pair *pair = data;

  g_free (pair->value);
}

static GArray *
pairs_new (void)
{
  GArray *pairs = g_array_new (FALSE, FALSE, sizeof (Pair));

  g_array_set_clear_func (pairs, pair_clear);
  return pairs;
}

static void
pairs_add (GArray *pairs, const char *label, char *value, const Style *style, gboolean rule_above)
{
  Pair pair = { label, value, style, rule_above };

  g_array_append_val (pairs, pair);
}

/* What may go left of the totals: how to pay. */
typedef struct
{
  const char *heading;
  const char *text;   /* several lines */
  const char *strong; /* a last line in bold */
} Aside;

#define TOTALS_X    (RIGHT_EDGE - 270)
#define ASIDE_WIDTH (TOTALS_X - MARGIN - 24)

static double
aside_height (Doc *doc, const Aside *aside)
{
  return measure (doc, ASIDE_WIDTH, aside->heading, &HEADING) + 5
         + measure (doc, ASIDE_WIDTH, aside->text, &BODY) + 3
         + measure (doc, ASIDE_WIDTH, aside->strong, &BODY_BOLD);
}

static double
draw_aside (Doc *doc, const Aside *aside, double y)
{
  double top = y;

  y += put (doc, MARGIN, y, ASIDE_WIDTH, aside->heading, &HEADING, PANGO_ALIGN_LEFT) + 5;
  y += put (doc, MARGIN, y, ASIDE_WIDTH, aside->text, &BODY, PANGO_ALIGN_LEFT) + 3;
  y += put (doc, MARGIN, y, ASIDE_WIDTH, aside->strong, &BODY_BOLD, PANGO_ALIGN_LEFT);
  return y - top;
}

/* The totals: labels and amounts in a block on the right, and `aside` (or NULL) on the
 * left, kept together. */
#define TOTALS_LABEL_WIDTH 170.0
#define TOTALS_VALUE_WIDTH 96.0

static double
totals_height (Doc *doc, GArray *pairs, const Aside *aside)
{
  double height = 0;

  for (guint i = 0; i < pairs->len; i++)
    {
      const Pair *pair = &g_array_index (pairs, Pair, i);

      height += measure (doc, TOTALS_LABEL_WIDTH, pair->label, pair->style) + 4
                + (pair->rule_above ? 5 : 0);
    }
  if (aside != NULL)
    height = MAX (height, aside_height (doc, aside) + 6);
  return height + 10;
}

static void
draw_totals (Doc *doc, GArray *pairs, const Aside *aside)
{
  const double label_width = TOTALS_LABEL_WIDTH;
  const double value_width = TOTALS_VALUE_WIDTH;
  double top;
  double aside_bottom = 0;

  ensure_space (doc, totals_height (doc, pairs, aside));
  doc->y += 10;
  top = doc->y;

  if (aside != NULL)
    aside_bottom = top + 6 + draw_aside (doc, aside, top + 6);

  for (guint i = 0; i < pairs->len; i++)
    {
      const Pair *pair = &g_array_index (pairs, Pair, i);
      double row;

      if (pair->rule_above)
        {
          hline (doc, TOTALS_X, RIGHT_EDGE, doc->y, 0.6, &STRONG_RULE);
          doc->y += 5;
        }
      row = put (doc, TOTALS_X, doc->y, label_width, pair->label, pair->style, PANGO_ALIGN_LEFT);
      row = MAX (row, put (doc, RIGHT_EDGE - value_width, doc->y, value_width, pair->value,
                           pair->style, PANGO_ALIGN_RIGHT));
      doc->y += row + 4;
    }
  doc->y = MAX (doc->y, aside_bottom);
}

/* Masthead: the title, the document's facts, the status stamp and both parties. */

typedef struct
{
  const char *label;
  char *value; /* owned; rows with NULL are left out */
} Fact;

static void
facts_clear (Fact *facts, guint n_facts)
{
  for (guint i = 0; i < n_facts; i++)
    g_free (facts[i].value);
}

/* A stamp: the status in capitals in a rounded box at the right edge, a line under it. */
typedef struct
{
  const char *word; /* NULL: no stamp */
  const Rgb *color;
  char *detail;
} Stamp;

static double
draw_stamp (Doc *doc, double y, const Stamp *stamp)
{
  static const Style WORD = { 13.0, TRUE, &INK };
  g_autoptr (PangoLayout) word = make_layout (doc, stamp->word, &WORD, -1, PANGO_ALIGN_LEFT);
  double width, height, x;
  const double pad_x = 12, pad_y = 5, detail_width = 190;

  width = layout_width (word) + 2 * pad_x;
  height = layout_height (word) + 2 * pad_y;
  x = RIGHT_EDGE - width;

  rounded_rectangle (doc->cr, x, y, width, height, 4);
  cairo_set_source_rgba (doc->cr, stamp->color->r, stamp->color->g, stamp->color->b, 0.10);
  cairo_fill_preserve (doc->cr);
  set_color (doc, stamp->color);
  cairo_set_line_width (doc->cr, 1.6);
  cairo_stroke (doc->cr);
  show_layout (doc, word, x + pad_x, y + pad_y, stamp->color);

  if (has_text (stamp->detail))
    height += 4
              + put (doc, RIGHT_EDGE - detail_width, y + height + 4, detail_width, stamp->detail,
                     &BODY, PANGO_ALIGN_RIGHT);
  return height;
}

/* A party's block: a label, the name in bold, then the lines that are set. */
static double
draw_party (Doc *doc, double x, double y, double width, const char *label, const char *name,
            const char *const *lines, guint n_lines)
{
  double top = y;

  y += put (doc, x, y, width, label, &LABEL, PANGO_ALIGN_LEFT) + 3;
  y += put (doc, x, y, width, name, &BODY_BOLD, PANGO_ALIGN_LEFT) + 1;
  for (guint i = 0; i < n_lines; i++)
    if (has_text (lines[i]))
      y += put (doc, x, y, width, lines[i], &BODY, PANGO_ALIGN_LEFT) + 1;
  return y - top;
}

static void
draw_masthead (Doc *doc, const char *title, const Fact *facts, guint n_facts, const Stamp *stamp,
               const PurserdSeller *seller, const PurserOrgRecord *buyer, const char *headline)
{
  const double half = (CONTENT_WIDTH - 24) / 2;
  double title_height, facts_height = 0, stamp_height = 0, from, to;
  g_autofree char *seller_tax = NULL;
  g_autofree char *buyer_tax = NULL;

  title_height = put (doc, MARGIN, doc->y, 300, title, &TITLE, PANGO_ALIGN_LEFT);
  put (doc, RIGHT_EDGE - 220, doc->y + 6, 220, seller->name, &BRAND, PANGO_ALIGN_RIGHT);
  doc->y += title_height + 10;

  for (guint i = 0; i < n_facts; i++)
    {
      double row;

      if (facts[i].value == NULL)
        continue;
      row = put (doc, MARGIN, doc->y + facts_height, 100, facts[i].label, &META_LABEL,
                 PANGO_ALIGN_LEFT);
      row = MAX (row, put (doc, MARGIN + 104, doc->y + facts_height, 190, facts[i].value,
                           &BODY_BOLD, PANGO_ALIGN_LEFT));
      facts_height += row + 3;
    }
  if (stamp->word != NULL)
    stamp_height = draw_stamp (doc, doc->y, stamp);
  doc->y += MAX (facts_height, stamp_height) + 18;

  if (has_text (seller->tax_id))
    seller_tax = g_strdup_printf ("Tax ID: %s", seller->tax_id);
  if (has_text (buyer->tax_id))
    buyer_tax = g_strdup_printf (
        "%s: %s", purser_country_is_eu (buyer->country) ? "VAT ID" : "Tax ID", buyer->tax_id);
  from = draw_party (doc, MARGIN, doc->y, half, "From", seller->name,
                     (const char *const[]){ seller->address, seller->email, seller_tax }, 3);
  to = draw_party (doc, MARGIN + half + 24, doc->y, half, "Bill to", buyer->name,
                   (const char *const[]){ buyer->address, buyer->billing_email, buyer_tax }, 3);
  doc->y += MAX (from, to) + 16;

  doc->y += put (doc, MARGIN, doc->y, CONTENT_WIDTH, headline, &HEADLINE, PANGO_ALIGN_LEFT);
  doc->y += 18;
}

/* Rendering */

static cairo_status_t
write_cb (void *closure, const unsigned char *data, unsigned int length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

/* Cairo fails the whole document on a metadata string that is not UTF-8. */
static void
set_metadata (cairo_surface_t *surface, cairo_pdf_metadata_t key, const char *value)
{
  g_autofree char *valid = NULL;

  if (!has_text (value))
    return;
  if (!g_utf8_validate (value, -1, NULL))
    value = valid = g_utf8_make_valid (value, -1);
  cairo_pdf_surface_set_metadata (surface, key, value);
}

/* Draws one pass; returns the number of pages, or 0 with `error` set. */
static int
render_pass (DrawFunc draw, gconstpointer data, const DocInfo *info, int n_pages, GByteArray *out,
             GError **error)
{
  cairo_surface_t *surface;
  cairo_t *cr;
  PangoContext *pango;
  cairo_font_options_t *options;
  cairo_status_t status;
  g_autofree char *created = purser_time_format (info->created);
  Doc doc = { 0 };

  surface = cairo_pdf_surface_create_for_stream (out != NULL ? write_cb : NULL, out, PAGE_WIDTH,
                                                 PAGE_HEIGHT);
  set_metadata (surface, CAIRO_PDF_METADATA_TITLE, info->title);
  set_metadata (surface, CAIRO_PDF_METADATA_AUTHOR, info->author);
  set_metadata (surface, CAIRO_PDF_METADATA_SUBJECT, info->subject);
  cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_CREATOR, "Purser");
  cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_CREATE_DATE, created);
  cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_MOD_DATE, created);

  cr = cairo_create (surface);
  pango = pango_cairo_create_context (cr);
  /* Unhinted metrics: the same layout whatever the resolution it is viewed at. */
  options = cairo_font_options_create ();
  cairo_font_options_set_hint_metrics (options, CAIRO_HINT_METRICS_OFF);
  cairo_font_options_set_hint_style (options, CAIRO_HINT_STYLE_NONE);
  pango_cairo_context_set_font_options (pango, options);
  cairo_font_options_destroy (options);
  pango_cairo_context_set_resolution (pango, 72);
  pango_context_set_round_glyph_positions (pango, FALSE);

  doc.cr = cr;
  doc.pango = pango;
  doc.footer = info->footer;
  doc.running = info->running;
  doc.n_pages = n_pages;

  start_page (&doc);
  draw (&doc, data);
  finish_page (&doc);

  status = cairo_status (cr);
  g_object_unref (pango);
  cairo_destroy (cr);
  cairo_surface_finish (surface);
  if (status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_status (surface);
  cairo_surface_destroy (surface);

  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Could not draw the PDF of %s: %s",
                   info->title, cairo_status_to_string (status));
      return 0;
    }
  return doc.page;
}

static GBytes *
render (DrawFunc draw, gconstpointer data, const DocInfo *info, GError **error)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  int n_pages;

  n_pages = render_pass (draw, data, info, 0, NULL, error);
  if (n_pages == 0)
    return NULL;
  if (render_pass (draw, data, info, n_pages, out, error) != n_pages)
    {
      /* Both passes lay out the same text; only a failure gets here. */
      if (error == NULL || *error == NULL)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                     "Could not draw the PDF of %s: the page count changed", info->title);
      return NULL;
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

/* Invoice lines as the documents show them */

typedef struct
{
  GPtrArray *items;           /* const PurserLine *, the TAX and credit-applied lines left out */
  PurserCents subtotal;       /* of the items */
  PurserCents credit_applied; /* shown in the totals, 0 when there is no such line */
} Items;

static void
items_init (Items *items, const PurserInvoiceRecord *invoice)
{
  const GArray *lines = invoice->draft.lines;
  int applied = -1;

  items->items = g_ptr_array_new ();
  items->subtotal = 0;
  items->credit_applied = 0;
  if (lines == NULL)
    return;

  /* purser_invoice_assemble() puts the balance applied right before the tax line. */
  if (invoice->draft.credit_applied > 0)
    for (int i = (int) lines->len - 1; i >= 0; i--)
      {
        const PurserLine *line = &g_array_index (lines, PurserLine, i);

        if (line->kind == PURSER_LINE_TAX)
          continue;
        if (line->kind == PURSER_LINE_CREDIT && line->amount == -invoice->draft.credit_applied)
          {
            applied = i;
            items->credit_applied = invoice->draft.credit_applied;
          }
        break;
      }

  for (guint i = 0; i < lines->len; i++)
    {
      const PurserLine *line = &g_array_index (lines, PurserLine, i);

      if (line->kind == PURSER_LINE_TAX || (int) i == applied)
        continue;
      g_ptr_array_add (items->items, (gpointer) line);
      items->subtotal += line->amount;
    }
}

static void
items_clear (Items *items)
{
  g_clear_pointer (&items->items, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Items, items_clear)

/* The items, the last one kept with `keep` points of what follows (the totals). */
static void
draw_items (Doc *doc, const Items *items, guint max_items, const char *more_where, double keep)
{
  guint shown = MIN (items->items->len, max_items);

  begin_table (doc, &item_table);
  for (guint i = 0; i < shown; i++)
    {
      const PurserLine *line = g_ptr_array_index (items->items, i);
      g_autofree char *quantity = g_strdup_printf ("%" G_GINT64_FORMAT, line->quantity);
      g_autofree char *unit = purser_cents_format (line->unit_amount);
      g_autofree char *amount = purser_cents_format (line->amount);
      g_autofree char *period
          = period_is_set (&line->period) ? format_period (&line->period) : NULL;

      draw_row (doc, (const char *const[]){ line->description, quantity, unit, amount }, period,
                &BODY, i + 1 == items->items->len ? keep : 0);
    }
  if (shown < items->items->len)
    {
      g_autofree char *more
          = g_strdup_printf ("… and %u more %s on %s", items->items->len - shown,
                             items->items->len - shown == 1 ? "item" : "items", more_where);

      draw_row (doc, (const char *const[]){ more, "", "", "" }, NULL, &SMALL, keep);
    }
  if (items->items->len == 0)
    draw_row (doc, (const char *const[]){ "No items", "", "", "" }, NULL, &SMALL, keep);
  end_table (doc);
}

/* Subtotal, credit applied, tax, total. */
static void
add_invoice_totals (GArray *pairs, const PurserInvoiceRecord *invoice, const Items *items)
{
  pairs_add (pairs, "Subtotal", purser_cents_format (items->subtotal), &BODY, FALSE);
  if (items->credit_applied > 0)
    pairs_add (pairs, "Credit applied", purser_cents_format (-items->credit_applied), &BODY, FALSE);
  pairs_add (pairs, "Tax", purser_cents_format (invoice->draft.tax), &BODY, FALSE);
  pairs_add (pairs, "Total", purser_cents_format (invoice->draft.total), &BODY_BOLD, TRUE);
}

static PurserCents
amount_due (const PurserInvoiceRecord *invoice)
{
  if (invoice->status == PURSER_INVOICE_VOID)
    return 0;
  return MAX (invoice->draft.total - invoice->amount_paid, 0);
}

static const char *
invoice_number (const PurserInvoiceRecord *invoice)
{
  return has_text (invoice->number) ? invoice->number : "Draft";
}

/* A boxed paragraph: the reverse-charge note. */
static void
draw_note_box (Doc *doc, const char *text)
{
  const double pad = 8;
  double height = measure (doc, CONTENT_WIDTH - 2 * pad - 3, text, &BODY_BOLD);

  ensure_space (doc, height + 2 * pad + 10);
  doc->y += 10;
  cairo_rectangle (doc->cr, MARGIN, doc->y, CONTENT_WIDTH, height + 2 * pad);
  set_color (doc, &NOTE_FILL);
  cairo_fill (doc->cr);
  cairo_rectangle (doc->cr, MARGIN, doc->y, 3, height + 2 * pad);
  set_color (doc, &ACCENT);
  cairo_fill (doc->cr);
  put (doc, MARGIN + pad + 3, doc->y + pad, CONTENT_WIDTH - 2 * pad - 3, text, &BODY_BOLD,
       PANGO_ALIGN_LEFT);
  doc->y += height + 2 * pad;
}

/* The invoice */

typedef struct
{
  const PurserdSeller *seller;
  const PurserOrgRecord *buyer;
  const PurserInvoiceRecord *invoice;
  const char *payment_terms;
  const PurserdPdfPayment *payments;
  guint n_payments;
  const char *headline;
} InvoiceData;

static void
invoice_stamp (const PurserInvoiceRecord *invoice, Stamp *stamp)
{
  g_autofree char *due = NULL;
  g_autofree char *when = NULL;

  switch (invoice->status)
    {
      case PURSER_INVOICE_PAID:
        stamp->word = "PAID";
        stamp->color = &GREEN;
        if (invoice->paid_at > 0)
          {
            when = format_day_of (invoice->paid_at);
            stamp->detail = g_strdup_printf ("Paid on %s", when);
          }
        break;
      case PURSER_INVOICE_VOID:
        stamp->word = "VOID";
        stamp->color = &GREY;
        when = invoice->voided_at > 0 ? format_day_of (invoice->voided_at) : NULL;
        if (when != NULL && has_text (invoice->void_reason))
          stamp->detail = g_strdup_printf ("Voided on %s: %s", when, invoice->void_reason);
        else if (when != NULL)
          stamp->detail = g_strdup_printf ("Voided on %s", when);
        else if (has_text (invoice->void_reason))
          stamp->detail = g_strdup_printf ("Voided: %s", invoice->void_reason);
        break;
      case PURSER_INVOICE_UNCOLLECTIBLE:
        stamp->word = "UNCOLLECTIBLE";
        stamp->color = &RED;
        due = purser_cents_format (amount_due (invoice));
        stamp->detail = g_strdup_printf ("%s written off as uncollectible", due);
        break;
      case PURSER_INVOICE_DRAFT:
        stamp->word = "DRAFT";
        stamp->color = &GREY;
        stamp->detail = g_strdup ("Not issued yet");
        break;
      case PURSER_INVOICE_OPEN:
      default:
        stamp->word = "OPEN";
        stamp->color = &AMBER;
        if (invoice->due_on != PURSER_DATE_INVALID)
          {
            when = purser_date_format_human (invoice->due_on);
            stamp->detail = g_strdup_printf ("Due %s", when);
          }
        break;
    }
}

/* "$1,234.56 due Apr 10, 2026", "$1,234.56 paid on Mar 12, 2026", … */
static char *
invoice_headline (const PurserInvoiceRecord *invoice)
{
  g_autofree char *total = purser_cents_format (invoice->draft.total);
  g_autofree char *due = purser_cents_format (amount_due (invoice));
  g_autofree char *when = NULL;

  switch (invoice->status)
    {
      case PURSER_INVOICE_PAID:
        if (invoice->paid_at <= 0)
          return g_strdup_printf ("%s paid", total);
        when = format_day_of (invoice->paid_at);
        return g_strdup_printf ("%s paid on %s", total, when);
      case PURSER_INVOICE_VOID:
        return g_strdup ("Void: nothing is due");
      case PURSER_INVOICE_UNCOLLECTIBLE:
        return g_strdup_printf ("%s uncollectible", due);
      case PURSER_INVOICE_DRAFT:
      case PURSER_INVOICE_OPEN:
      default:
        if (invoice->due_on == PURSER_DATE_INVALID)
          return g_strdup_printf ("%s due", due);
        when = purser_date_format_human (invoice->due_on);
        return g_strdup_printf ("%s due %s", due, when);
    }
}

static void
draw_invoice (Doc *doc, gconstpointer data)
{
  const InvoiceData *d = data;
  const PurserInvoiceRecord *invoice = d->invoice;
  g_auto (Items) items = { 0 };
  g_autoptr (GArray) pairs = pairs_new ();
  g_autofree char *reference = NULL;
  Aside bank;
  const Aside *aside = NULL;
  Stamp stamp = { 0 };
  Fact facts[] = {
    { "Invoice number", g_strdup (invoice_number (invoice)) },
    { "Date of issue", format_date (invoice->issued_on) },
    { "Date due", invoice->due_on != PURSER_DATE_INVALID ? format_date (invoice->due_on) : NULL },
    { "Service period",
      period_is_set (&invoice->period) ? format_period (&invoice->period) : NULL },
    { "PO number", has_text (invoice->po_number) ? g_strdup (invoice->po_number) : NULL },
  };

  invoice_stamp (invoice, &stamp);
  draw_masthead (doc, "Invoice", facts, G_N_ELEMENTS (facts), &stamp, d->seller, d->buyer,
                 d->headline);
  facts_clear (facts, G_N_ELEMENTS (facts));
  g_free (stamp.detail);

  items_init (&items, invoice);
  add_invoice_totals (pairs, invoice, &items);
  pairs_add (pairs, "Amount paid", purser_cents_format (invoice->amount_paid), &BODY, FALSE);
  pairs_add (pairs, "Amount due", purser_cents_format (amount_due (invoice)), &TOTAL, TRUE);
  /* How to pay, beside the totals, while there is something to pay. */
  if (has_text (d->seller->bank_details) && amount_due (invoice) > 0)
    {
      reference = g_strdup_printf ("Reference: %s", invoice_number (invoice));
      bank = (Aside){ "Pay by bank transfer", d->seller->bank_details, reference };
      aside = &bank;
    }

  draw_items (doc, &items, G_MAXUINT, NULL, totals_height (doc, pairs, aside));
  draw_totals (doc, pairs, aside);

  if (has_text (invoice->draft.tax_note))
    draw_note_box (doc, invoice->draft.tax_note);

  if (has_text (d->payment_terms))
    {
      doc->y += 12;
      flow (doc, MARGIN, CONTENT_WIDTH, d->payment_terms, &BODY);
    }

  if (d->n_payments > 0)
    {
      doc->y += 16;
      draw_heading (doc, "Payments", 48);
      begin_table (doc, &payment_table);
      for (guint i = 0; i < d->n_payments; i++)
        {
          const PurserdPdfPayment *payment = &d->payments[i];
          g_autofree char *date = format_day_of (payment->paid_at);
          g_autofree char *amount = purser_cents_format (payment->amount);

          draw_row (doc,
                    (const char *const[]){ date, payment->number, payment->method,
                                           has_text (payment->reference) ? payment->reference : "—",
                                           amount },
                    NULL, &BODY, 0);
        }
      end_table (doc);
    }

  if (has_text (invoice->notes))
    {
      doc->y += 16;
      draw_section (doc, "Notes", invoice->notes);
    }
}

static gint64
invoice_time (const PurserInvoiceRecord *invoice)
{
  if (invoice->created_at > 0 || invoice->issued_on == PURSER_DATE_INVALID)
    return invoice->created_at;
  return purser_date_to_unix (invoice->issued_on);
}

GBytes *
purserd_pdf_invoice (const PurserdSeller *seller, const PurserOrgRecord *buyer,
                     const PurserInvoiceRecord *invoice, const char *payment_terms,
                     const PurserdPdfPayment *payments, guint n_payments, GError **error)
{
  g_autofree char *headline = NULL;
  g_autofree char *title = NULL;
  g_autofree char *footer = NULL;
  g_autofree char *running = NULL;
  InvoiceData data;
  DocInfo info;

  g_return_val_if_fail (seller != NULL && seller->name != NULL, NULL);
  g_return_val_if_fail (buyer != NULL, NULL);
  g_return_val_if_fail (invoice != NULL, NULL);
  g_return_val_if_fail (payments != NULL || n_payments == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  headline = invoice_headline (invoice);
  title = g_strdup_printf ("Invoice %s", invoice_number (invoice));
  footer = g_strdup_printf ("%s · %s", invoice_number (invoice), headline);
  running = g_strdup_printf ("%s · Invoice %s", seller->name, invoice_number (invoice));

  data = (InvoiceData){ seller, buyer, invoice, payment_terms, payments, n_payments, headline };
  info = (DocInfo){ title, seller->name, buyer->name, invoice_time (invoice), footer, running };
  return render (draw_invoice, &data, &info, error);
}

/* The receipt */

typedef struct
{
  const PurserdSeller *seller;
  const PurserOrgRecord *buyer;
  const PurserInvoiceRecord *invoice;
  const PurserdPdfPayment *payment;
  const char *headline;
} ReceiptData;

static void
draw_receipt (Doc *doc, gconstpointer data)
{
  const ReceiptData *d = data;
  const PurserInvoiceRecord *invoice = d->invoice;
  const PurserdPdfPayment *payment = d->payment;
  g_auto (Items) items = { 0 };
  g_autoptr (GArray) pairs = pairs_new ();
  g_autofree char *more_where = g_strdup_printf ("invoice %s", invoice_number (invoice));
  g_autofree char *paid_on = format_day_of (payment->paid_at);
  Stamp stamp = { "PAID", &GREEN, g_strdup_printf ("Paid on %s", paid_on) };
  Fact facts[] = {
    { "Receipt number", g_strdup (payment->number) },
    { "Invoice number", g_strdup (invoice_number (invoice)) },
    { "Date paid", g_strdup (paid_on) },
    { "Payment method", g_strdup (payment->method) },
    { "Reference", has_text (payment->reference) ? g_strdup (payment->reference) : NULL },
  };
  PurserCents remaining = amount_due (invoice);

  draw_masthead (doc, "Receipt", facts, G_N_ELEMENTS (facts), &stamp, d->seller, d->buyer,
                 d->headline);
  facts_clear (facts, G_N_ELEMENTS (facts));
  g_free (stamp.detail);

  {
    g_autofree char *summary = g_strdup_printf ("Summary of invoice %s", invoice_number (invoice));

    draw_heading (doc, summary, 48);
  }
  items_init (&items, invoice);
  add_invoice_totals (pairs, invoice, &items);
  pairs_add (pairs, "Amount paid", purser_cents_format (payment->amount), &TOTAL, TRUE);
  if (remaining > 0)
    pairs_add (pairs, "Remaining due", purser_cents_format (remaining), &BODY, FALSE);
  draw_items (doc, &items, RECEIPT_MAX_ITEMS, more_where, totals_height (doc, pairs, NULL));
  draw_totals (doc, pairs, NULL);

  if (has_text (invoice->draft.tax_note))
    draw_note_box (doc, invoice->draft.tax_note);

  doc->y += 24;
  if (has_text (d->seller->email))
    {
      g_autofree char *contact = g_strdup_printf (
          "Thank you for your payment. Questions about this receipt? Write to %s and quote %s.",
          d->seller->email, payment->number);

      flow (doc, MARGIN, CONTENT_WIDTH, contact, &BODY);
    }
  else
    flow (doc, MARGIN, CONTENT_WIDTH, "Thank you for your payment.", &BODY);
}

GBytes *
purserd_pdf_receipt (const PurserdSeller *seller, const PurserOrgRecord *buyer,
                     const PurserInvoiceRecord *invoice, const PurserdPdfPayment *payment,
                     GError **error)
{
  g_autofree char *amount = NULL;
  g_autofree char *paid_on = NULL;
  g_autofree char *headline = NULL;
  g_autofree char *title = NULL;
  g_autofree char *footer = NULL;
  g_autofree char *running = NULL;
  ReceiptData data;
  DocInfo info;

  g_return_val_if_fail (seller != NULL && seller->name != NULL, NULL);
  g_return_val_if_fail (buyer != NULL, NULL);
  g_return_val_if_fail (invoice != NULL, NULL);
  g_return_val_if_fail (payment != NULL && payment->number != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  amount = purser_cents_format (payment->amount);
  paid_on = format_day_of (payment->paid_at);
  headline = g_strdup_printf ("%s paid on %s", amount, paid_on);
  title = g_strdup_printf ("Receipt %s", payment->number);
  footer = g_strdup_printf ("Receipt %s · Invoice %s · %s", payment->number,
                            invoice_number (invoice), headline);
  running = g_strdup_printf ("%s · Receipt %s", seller->name, payment->number);

  data = (ReceiptData){ seller, buyer, invoice, payment, headline };
  info = (DocInfo){ title, seller->name, buyer->name, payment->paid_at, footer, running };
  return render (draw_receipt, &data, &info, error);
}

/* The credit note */

typedef struct
{
  const PurserdSeller *seller;
  const PurserOrgRecord *buyer;
  const PurserInvoiceRecord *invoice;
  const PurserdPdfCreditNote *note;
  const char *headline;
} CreditNoteData;

static void
draw_credit_note (Doc *doc, gconstpointer data)
{
  const CreditNoteData *d = data;
  const PurserInvoiceRecord *invoice = d->invoice;
  const PurserdPdfCreditNote *note = d->note;
  g_autoptr (GArray) pairs = pairs_new ();
  g_autofree char *description = NULL;
  g_autofree char *detail = NULL;
  g_autofree char *issued = format_date (invoice->issued_on);
  g_autofree char *invoice_total = purser_cents_format (invoice->draft.total);
  g_autofree char *amount = purser_cents_format (note->amount);
  Stamp stamp = { "CREDIT", &ACCENT, NULL };
  Fact facts[] = {
    { "Credit note number", g_strdup (note->number) },
    { "Invoice number", g_strdup (invoice_number (invoice)) },
    { "Invoice date", g_strdup (issued) },
    { "Date of issue", format_day_of (note->created_at) },
  };
  PurserCents to_balance = note->amount - note->refunded;

  draw_masthead (doc, "Credit note", facts, G_N_ELEMENTS (facts), &stamp, d->seller, d->buyer,
                 d->headline);
  facts_clear (facts, G_N_ELEMENTS (facts));

  if (has_text (note->reason))
    {
      draw_section (doc, "Reason", note->reason);
      doc->y += 20;
    }

  description = g_strdup_printf ("Credit against invoice %s", invoice_number (invoice));
  detail = g_strdup_printf ("Invoice of %s, total %s", issued, invoice_total);
  begin_table (doc, &credit_table);
  draw_row (doc, (const char *const[]){ description, amount }, detail, &BODY, 0);
  end_table (doc);

  pairs_add (pairs, "Invoice total", g_strdup (invoice_total), &BODY, FALSE);
  pairs_add (pairs, "This credit note", purser_cents_format (-note->amount), &BODY, FALSE);
  pairs_add (pairs, "Adjusted invoice total",
             purser_cents_format (invoice->draft.total - note->amount), &BODY_BOLD, TRUE);
  draw_totals (doc, pairs, NULL);
  g_array_set_size (pairs, 0);

  doc->y += 6;
  pairs_add (pairs, "Refunded to payment method", purser_cents_format (note->refunded), &BODY,
             FALSE);
  pairs_add (pairs, "Credited to your balance", purser_cents_format (to_balance), &BODY, FALSE);
  pairs_add (pairs, "Total credited", g_strdup (amount), &TOTAL, TRUE);
  draw_totals (doc, pairs, NULL);

  doc->y += 24;
  if (to_balance > 0)
    {
      g_autofree char *balance = purser_cents_format (to_balance);
      g_autofree char *text = g_strdup_printf (
          "%s stays on your account and is taken off your next invoices.", balance);

      flow (doc, MARGIN, CONTENT_WIDTH, text, &BODY);
      doc->y += 4;
    }
  if (note->refunded > 0)
    {
      g_autofree char *refunded = purser_cents_format (note->refunded);
      g_autofree char *text = g_strdup_printf (
          "%s is refunded to the original payment method; it may take 5–10 business days to "
          "appear.",
          refunded);

      flow (doc, MARGIN, CONTENT_WIDTH, text, &BODY);
    }
}

GBytes *
purserd_pdf_credit_note (const PurserdSeller *seller, const PurserOrgRecord *buyer,
                         const PurserInvoiceRecord *invoice, const PurserdPdfCreditNote *note,
                         GError **error)
{
  g_autofree char *amount = NULL;
  g_autofree char *headline = NULL;
  g_autofree char *title = NULL;
  g_autofree char *footer = NULL;
  g_autofree char *running = NULL;
  CreditNoteData data;
  DocInfo info;

  g_return_val_if_fail (seller != NULL && seller->name != NULL, NULL);
  g_return_val_if_fail (buyer != NULL, NULL);
  g_return_val_if_fail (invoice != NULL, NULL);
  g_return_val_if_fail (note != NULL && note->number != NULL, NULL);
  g_return_val_if_fail (note->refunded >= 0 && note->refunded <= note->amount, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  amount = purser_cents_format (note->amount);
  headline = g_strdup_printf ("%s credited on invoice %s", amount, invoice_number (invoice));
  title = g_strdup_printf ("Credit note %s", note->number);
  footer = g_strdup_printf ("Credit note %s · Invoice %s", note->number, invoice_number (invoice));
  running = g_strdup_printf ("%s · Credit note %s", seller->name, note->number);

  data = (CreditNoteData){ seller, buyer, invoice, note, headline };
  info = (DocInfo){ title, seller->name, buyer->name, note->created_at, footer, running };
  return render (draw_credit_note, &data, &info, error);
}
