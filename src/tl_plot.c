/* tl_plot: scientific figures drawn directly on cairo; see tl_plot.h.
 *
 * The module has four layers, in this order in the file:
 *   1. ticks (extended Wilkinson) and tick-label formatting, pure numerics;
 *   2. markup: a tiny TeX-like label language laid out into runs measured with
 *      cairo_text_extents;
 *   3. the figure object: panels and copied series, with a sticky status;
 *   4. save: layout (margins measured from the labels, iterated because the
 *      ticks depend on the axes length and the margins on the ticks), drawing
 *      (the same code for the PDF and the PNG), and the TSV of all series.
 */
#include "tl_plot.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl_atomic.h"
#include "tl_error.h"

/* ---- Named constants ------------------------------------------------------
 * Lengths are in PostScript points (1/72 in), the unit of cairo's PDF surface. */

#define TL_PI 3.14159265358979323846
#define TL_PT_PER_MM (72.0 / 25.4)

/* Fonts (fontconfig family names) and sizes. */
#define TL_FAMILY_TEXT "Latin Modern Roman"
#define TL_FAMILY_MATH "Latin Modern Math"
#define TL_FONT_BOLD 3 /* internal font id beyond tl_plot_font: panel letters */
#define TL_SIZE_LABEL 9.0
#define TL_SIZE_TITLE 9.0
#define TL_SIZE_LETTER 9.0
#define TL_SIZE_TICK 8.0
#define TL_SIZE_LEGEND 8.0

/* Markup: TeX's scriptstyle is 70% of the base size; the shifts are close to
 * plain TeX's sup1/sub1 font parameters for Computer Modern. */
#define TL_SCRIPT_SCALE 0.7
#define TL_SCRIPT_MIN_SIZE 4.0  /* deeper scripts stop shrinking: still legible */
#define TL_SUP_RISE 0.37        /* em of the base size */
#define TL_SUB_DROP 0.20        /* em of the base size */
#define TL_ITALIC_KERN 0.06     /* em: a superscript after an italic letter clears its slant */
#define TL_ACCENT_GAP 0.04      /* em between the base's ink top and an accent */
#define TL_MARKUP_MAX_DEPTH 12  /* nesting beyond this is drawn flat, never recursed */
#define TL_LABEL_RUNS 40        /* runs kept per drawn label */
#define TL_SPACE_EM_THIN (3.0 / 18.0)
#define TL_SPACE_EM_MEDIUM (4.0 / 18.0)
#define TL_SPACE_EM_THICK (5.0 / 18.0)

/* Layout. */
#define TL_OUTER_PAD 2.5        /* blank border around every grid cell */
#define TL_TICK_LEN 3.0         /* major ticks, drawn outwards */
#define TL_MINOR_TICK_LEN 1.7
#define TL_TICK_PAD 2.0         /* tick end to tick label */
#define TL_LABEL_PAD 3.5        /* tick labels to axis label */
#define TL_TITLE_PAD 4.0        /* axes top to the title's baseline region */
#define TL_MULT_PAD 2.0         /* axes top to a y axis' x10^e */
#define TL_LETTER_GAP 4.0       /* panel letter to a title pushed left */
#define TL_FRAME_WIDTH 0.6
#define TL_TICK_WIDTH 0.6
#define TL_MINOR_TICK_WIDTH 0.45
#define TL_TICK_SPACING_X 38.0  /* wanted distance between labelled ticks, pt */
#define TL_TICK_SPACING_Y 28.0
#define TL_TICK_M_MIN 3
#define TL_TICK_M_MAX 9
#define TL_TICK_GAP_X 5.0       /* least blank between adjacent x tick labels */
#define TL_TICK_GAP_Y 2.0       /* least blank between adjacent y tick labels */
#define TL_TICK_MAX 24
#define TL_MINOR_MAX 160
#define TL_MIN_AXES 20.0        /* an axes box smaller than this is an error */
#define TL_LAYOUT_PASSES 3      /* margins <-> ticks fixed point; 3 passes settle */
#define TL_RANGE_LIMIT 1e307    /* automatic linear ranges stay within +-this */
#define TL_RANGE_LIMIT_LOG 307.0 /* and log ranges within 10^+-this */

/* Ticks: extended Wilkinson (Talbot, Lin, Hanrahan 2010). */
#define TL_TICK_NQ 6
#define TL_TICK_EPS 1e-10       /* relative: "lmin is a multiple of lstep" */
#define TL_TICK_J_MAX 64        /* safety cap; the pruning bound stops far earlier */
#define TL_TICK_Z_SPAN 40       /* safety cap on decades tried per (j, q, k) */
#define TL_TICK_INSIDE_TOL 1e-9 /* relative to the span: a tick at an end is inside */
#define TL_TICK_DEGENERATE 1e3  /* span <= this * DBL_EPSILON * |bound|: one value */
#define TL_TICK_FIXED_MIN 1e-4  /* steps below: scientific labels */
#define TL_TICK_FIXED_MAX 1e6   /* steps at or above: scientific labels */
#define TL_TICK_MAX_DECIMALS 17
#define TL_TICK_INTEGER_TOL 1e-6 /* step * 10^d within this of an integer (a step
                                    from a difference of ticks carries rounding) */
#define TL_TICK_FIXED_VALUE 1e-2 /* small steps on values this large stay fixed-point:
                                    1.000000001, not 1.000000001e0 */

/* Log axes. */
#define TL_LOG_MINOR_MAX_DECADES 6.5 /* "few decades": minor ticks 2..9 */
#define TL_LOG_MINOR_MIN_DECADE 14.0 /* and each decade at least this long, pt */
#define TL_MINOR_MIN_SPACING 2.5     /* minor ticks closer than this (pt) are dropped */

/* Colour bar. */
#define TL_CBAR_GAP 6.0
#define TL_CBAR_WIDTH 7.0
#define TL_CBAR_STEPS 256
#define TL_CBAR_FRAME_WIDTH 0.5

/* Legend. */
#define TL_LEGEND_INSET 4.0     /* legend box to the axes frame */
#define TL_LEGEND_PAD 3.0       /* legend frame to its content */
#define TL_LEGEND_SAMPLE 14.0   /* length of the line sample */
#define TL_LEGEND_SAMPLE_GAP 4.0
#define TL_LEGEND_ROW_GAP 1.5
#define TL_LEGEND_ALPHA 0.85    /* white background, data faintly visible through it */
#define TL_LEGEND_FRAME_GREY 0.75
#define TL_LEGEND_FRAME_WIDTH 0.4
#define TL_LEGEND_OUTSIDE_GAP 6.0
#define TL_LEGEND_PATCH_HEIGHT 0.65 /* of the row: patches (bands, bars, spans) */

/* Series defaults (see tl_plot.h). */
#define TL_REF_WIDTH 0.8
#define TL_FILL_ALPHA 0.25
#define TL_SPAN_ALPHA 0.15
#define TL_OUTLINE_WIDTH 0.8
#define TL_ERRORBAR_WIDTH 0.8
#define TL_ERRORBAR_CAP 1.6     /* half width of the caps */
#define TL_OPEN_MARKER_WIDTH 0.8
#define TL_REF_LABEL_PAD 2.0
#define TL_SIZE_REF_LABEL 7.5
#define TL_DASH_MIN_SCALE 0.8   /* dash patterns scale with the width, but not below */
/* cairo stores coordinates in 24.8 fixed point; points at 1e300 would wrap.
 * Everything is clamped to this many pt around the page, far outside the clip. */
#define TL_COORD_LIMIT 1e5

/* PDF: a fixed creation date, so two runs give byte-identical files. */
#define TL_PDF_DATE "2000-01-01T00:00:00Z"
#define TL_REASON_MAX 256

/* Okabe and Ito (2008), "Color Universal Design": blue, vermillion, bluish
 * green, orange, reddish purple, sky blue, black, yellow. */
static const unsigned tl_palette[8] = {0x0072B2, 0xD55E00, 0x009E73, 0xE69F00,
                                       0xCC79A7, 0x56B4E9, 0x000000, 0xF0E442};

/* Colormap control points in sRGB, interpolated in CIELAB.  Viridis sampled at
 * nine equally spaced points (van der Walt and Smith's matplotlib map), and a
 * blue-white-red diverging map (ColorBrewer RdBu, reversed). */
static const unsigned tl_cmap_viridis[] = {0x440154, 0x472D7B, 0x3B528B, 0x2C728E, 0x21908C,
                                           0x27AD81, 0x5DC863, 0xAADC32, 0xFDE725};
static const unsigned tl_cmap_diverging[] = {0x2166AC, 0x67A9CF, 0xD1E5F0, 0xF7F7F7,
                                             0xFDDBC7, 0xEF8A62, 0xB2182B};

/* ===========================================================================
 * 1. Ticks
 * ===========================================================================
 *
 * Extended Wilkinson: a labeling is (q, j, k, z, start): k labels with step
 * j*q*10^z starting at start*q*10^z.  Its score is
 *   w . (simplicity, coverage, density, legibility)
 * and the search enumerates j (skipping), q, k (count) and z (decade) in an
 * order along which each criterion's upper bound only decreases, so a branch
 * is abandoned as soon as its best possible score cannot beat the best found. */

static const double tl_tick_q[TL_TICK_NQ] = {1, 5, 2, 2.5, 4, 3};
static const double tl_tick_w[4] = {0.25, 0.2, 0.5, 0.05};

typedef struct {
  double lmin, lstep, score;
  int k;
} tl_labeling;

/* Simplicity: earlier q in Q, no skipping (j = 1), and 0 among the labels. */
static double tick_simplicity(int qi, double j, double lmin, double lmax, double lstep) {
  double r = fmod(lmin, lstep);
  if (r < 0)
    r += lstep;
  double eps = TL_TICK_EPS * lstep;
  double v = ((r < eps || lstep - r < eps) && lmin <= 0 && lmax >= 0) ? 1.0 : 0.0;
  return 1.0 - qi / (TL_TICK_NQ - 1.0) - j + v;
}

static double tick_simplicity_max(int qi, double j) { return 2.0 - qi / (TL_TICK_NQ - 1.0) - j; }

/* Coverage: the labels should span the data, neither less nor much more. */
static double tick_coverage(double dmin, double dmax, double lmin, double lmax) {
  double r = 0.1 * (dmax - dmin);
  return 1.0 - 0.5 * ((dmax - lmax) * (dmax - lmax) + (dmin - lmin) * (dmin - lmin)) / (r * r);
}

static double tick_coverage_max(double dmin, double dmax, double span) {
  double range = dmax - dmin;
  if (span <= range)
    return 1.0;
  double half = 0.5 * (span - range), r = 0.1 * range;
  return 1.0 - 0.5 * (2.0 * half * half) / (r * r);
}

/* Density: about m labels over the union of the data and label ranges. */
static double tick_density(int k, int m, double dmin, double dmax, double lmin, double lmax) {
  double r = (k - 1.0) / (lmax - lmin);
  double rt = (m - 1.0) / (fmax(lmax, dmax) - fmin(dmin, lmin));
  return 2.0 - fmax(r / rt, rt / r);
}

static double tick_density_max(int k, int m) {
  return k >= m ? 2.0 - (k - 1.0) / (m - 1.0) : 1.0;
}

/* The search.  only_inside keeps labelings within [dmin, dmax] (an axis with
 * a fixed range); the paper's variant "only loose" is the opposite and is not
 * needed here.  Legibility is the constant 1, as the brief allows. */
static int tick_search(double dmin, double dmax, int m, int max_k, int only_inside,
                       tl_labeling *best) {
  const double *w = tl_tick_w;
  const double legibility = 1.0;
  double best_score = -2.0, tol = TL_TICK_INSIDE_TOL * (dmax - dmin);
  int found = 0;
  for (int ji = 1; ji < TL_TICK_J_MAX; ji++) {
    double j = ji;
    int stop = 0;
    for (int qi = 0; qi < TL_TICK_NQ && !stop; qi++) {
      double q = tl_tick_q[qi];
      double sm = tick_simplicity_max(qi, j);
      if (w[0] * sm + w[1] + w[2] + w[3] * legibility < best_score) {
        stop = 1; /* larger j only lowers simplicity further: done */
        break;
      }
      for (int k = 2; k <= max_k; k++) {
        double dm = tick_density_max(k, m);
        if (w[0] * sm + w[1] + w[2] * dm + w[3] * legibility < best_score)
          break;
        double delta = (dmax - dmin) / (k + 1) / j / q;
        int z0 = (int)ceil(log10(delta));
        for (int z = z0; z < z0 + TL_TICK_Z_SPAN; z++) {
          double step = j * q * pow(10.0, z);
          double cm = tick_coverage_max(dmin, dmax, step * (k - 1));
          if (w[0] * sm + w[1] * cm + w[2] * dm + w[3] * legibility < best_score)
            break;
          double min_start = floor(dmax / step) * j - (k - 1) * j;
          double max_start = ceil(dmin / step) * j;
          for (double start = min_start; start <= max_start; start += 1.0) {
            double lmin = start * (step / j), lmax = lmin + step * (k - 1);
            double s = tick_simplicity(qi, j, lmin, lmax, step);
            double c = tick_coverage(dmin, dmax, lmin, lmax);
            double g = tick_density(k, m, dmin, dmax, lmin, lmax);
            double score = w[0] * s + w[1] * c + w[2] * g + w[3] * legibility;
            if (score > best_score &&
                (!only_inside || (lmin >= dmin - tol && lmax <= dmax + tol))) {
              best_score = score;
              best->lmin = lmin;
              best->lstep = step;
              best->k = k;
              best->score = score;
              found = 1;
            }
          }
        }
      }
    }
    if (stop)
      break;
  }
  return found;
}

static int tick_degenerate(double lo, double hi) {
  return hi - lo <= TL_TICK_DEGENERATE * DBL_EPSILON * fmax(fabs(lo), fabs(hi)) ||
         hi - lo < DBL_MIN;
}

/* The i-th value of a labeling; a value within rounding of 0 is 0. */
static double tick_value(const tl_labeling *lab, int i) {
  double v = lab->lmin + i * lab->lstep;
  return fabs(v) < TL_TICK_EPS * lab->lstep ? 0.0 : v;
}

int tl_plot_ticks(double lo, double hi, int m_target, double *ticks, int max_ticks, int *n_ticks) {
  if (!ticks || !n_ticks)
    TL_ERROR(GSL_EINVAL, "tl_plot_ticks: NULL output");
  *n_ticks = 0;
  if (!isfinite(lo) || !isfinite(hi))
    TL_ERROR(GSL_EINVAL, "tl_plot_ticks: non-finite range [%g, %g]", lo, hi);
  if (m_target < 2 || max_ticks < 2)
    TL_ERROR(GSL_EINVAL, "tl_plot_ticks: m_target %d and max_ticks %d must be >= 2", m_target,
             max_ticks);
  if (lo > hi) {
    double t = lo;
    lo = hi;
    hi = t;
  }
  if (tick_degenerate(lo, hi)) {
    ticks[0] = lo;
    *n_ticks = 1;
    return TL_SUCCESS;
  }
  tl_labeling lab;
  if (!tick_search(lo, hi, m_target, max_ticks, 0, &lab)) {
    ticks[0] = lo;
    ticks[1] = hi;
    *n_ticks = 2;
    return TL_SUCCESS;
  }
  for (int i = 0; i < lab.k; i++)
    ticks[i] = tick_value(&lab, i);
  *n_ticks = lab.k;
  return TL_SUCCESS;
}

/* Smallest d (may be negative) with step * 10^d an integer: the decimals a
 * label needs so that consecutive ticks print differently. */
static int step_decimals(double step) {
  int d0 = -(int)floor(log10(step));
  for (int d = d0; d < d0 + TL_TICK_MAX_DECIMALS; d++) {
    double s = step * pow(10.0, d);
    if (fabs(s - nearbyint(s)) <= TL_TICK_INTEGER_TOL * s)
      return d;
  }
  return d0 + TL_TICK_MAX_DECIMALS;
}

/* "-0", "-0.00" and "-0e0" lose their sign. */
static void strip_negative_zero(char *buf) {
  if (buf[0] != '-')
    return;
  for (const char *p = buf + 1; *p && *p != 'e'; p++)
    if (*p >= '1' && *p <= '9')
      return;
  memmove(buf, buf + 1, strlen(buf));
}

int tl_plot_tick_label(double value, double step, char *buf, size_t size) {
  char tmp[64];
  int n;
  if (!isfinite(value)) {
    n = snprintf(tmp, sizeof tmp, "%g", value);
  } else if (!isfinite(step) || step <= 0) {
    n = snprintf(tmp, sizeof tmp, "%.15g", value);
  } else {
    int d = step_decimals(step);
    if (fabs(value) < TL_TICK_EPS * step)
      value = 0.0;
    int fixed = step >= TL_TICK_FIXED_MIN && step < TL_TICK_FIXED_MAX;
    if (step < TL_TICK_FIXED_MIN && fabs(value) >= TL_TICK_FIXED_VALUE &&
        fabs(value) < TL_TICK_FIXED_MAX)
      fixed = 1;
    if (fixed) {
      /* 0 keeps the axis' decimals ("0.00" next to "0.25"), never a sign. */
      n = snprintf(tmp, sizeof tmp, "%.*f", d > 0 ? d : 0, value);
    } else if (value == 0.0) {
      n = snprintf(tmp, sizeof tmp, "0");
    } else {
      /* Scientific: the mantissa keeps the digits the step needs. */
      int e = (int)floor(log10(fabs(value)));
      int md = e + d > 0 ? e + d : 0;
      if (md > TL_TICK_MAX_DECIMALS)
        md = TL_TICK_MAX_DECIMALS;
      double mant = value / pow(10.0, e);
      char mbuf[48];
      snprintf(mbuf, sizeof mbuf, "%.*f", md, mant);
      if (fabs(atof(mbuf)) >= 10.0) { /* 9.99.. rounded up to 10 */
        e += 1;
        md = md > 0 ? md - 1 : 0;
        snprintf(mbuf, sizeof mbuf, "%.*f", md, value / pow(10.0, e));
      }
      n = snprintf(tmp, sizeof tmp, "%se%d", mbuf, e);
    }
  }
  strip_negative_zero(tmp);
  n = (int)strlen(tmp);
  if (buf && size > 0)
    snprintf(buf, size, "%s", tmp);
  return n;
}

/* ===========================================================================
 * 2. Markup
 * =========================================================================== */

static void font_select(cairo_t *cr, int font, double size) {
  switch (font) {
  case TL_PLOT_FONT_ITALIC:
    cairo_select_font_face(cr, TL_FAMILY_TEXT, CAIRO_FONT_SLANT_ITALIC, CAIRO_FONT_WEIGHT_NORMAL);
    break;
  case TL_PLOT_FONT_MATH:
    cairo_select_font_face(cr, TL_FAMILY_MATH, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    break;
  case TL_FONT_BOLD:
    cairo_select_font_face(cr, TL_FAMILY_TEXT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    break;
  default:
    cairo_select_font_face(cr, TL_FAMILY_TEXT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    break;
  }
  cairo_set_font_size(cr, size);
}

/* Metric hinting would round advances to device pixels, so the PNG (at 200
 * dpi) and the PDF would lay text out differently; switched off everywhere. */
static void font_options_apply(cairo_t *cr) {
  cairo_font_options_t *fo = cairo_font_options_create();
  cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
  cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
  cairo_set_font_options(cr, fo);
  cairo_font_options_destroy(fo);
}

/* TeX's atom classes, for the spacing of math mode: binary operators get a
 * medium space on each side (none when unary), relations a thick one. */
enum { TL_ATOM_NONE = 0, TL_ATOM_ORD, TL_ATOM_BIN, TL_ATOM_REL };

typedef struct {
  const char *name;
  const char *utf8;
  int font;
  int atom; /* 0: ordinary */
} tl_symbol;

/* Lowercase Greek in math italic (Unicode's mathematical alphanumerics, which
 * Latin Modern Math has; Latin Modern Roman has no lowercase Greek), uppercase
 * upright as TeX does, operators and relations from the math font. */
static const tl_symbol tl_symbols[] = {
    {"alpha", "\U0001D6FC", TL_PLOT_FONT_MATH, 0}, {"beta", "\U0001D6FD", TL_PLOT_FONT_MATH, 0},
    {"gamma", "\U0001D6FE", TL_PLOT_FONT_MATH, 0}, {"delta", "\U0001D6FF", TL_PLOT_FONT_MATH, 0},
    {"epsilon", "\U0001D716", TL_PLOT_FONT_MATH, 0},
    {"varepsilon", "\U0001D700", TL_PLOT_FONT_MATH, 0},
    {"zeta", "\U0001D701", TL_PLOT_FONT_MATH, 0}, {"eta", "\U0001D702", TL_PLOT_FONT_MATH, 0},
    {"theta", "\U0001D703", TL_PLOT_FONT_MATH, 0}, {"vartheta", "\U0001D717", TL_PLOT_FONT_MATH, 0},
    {"iota", "\U0001D704", TL_PLOT_FONT_MATH, 0}, {"kappa", "\U0001D705", TL_PLOT_FONT_MATH, 0},
    {"lambda", "\U0001D706", TL_PLOT_FONT_MATH, 0}, {"mu", "\U0001D707", TL_PLOT_FONT_MATH, 0},
    {"nu", "\U0001D708", TL_PLOT_FONT_MATH, 0}, {"xi", "\U0001D709", TL_PLOT_FONT_MATH, 0},
    {"pi", "\U0001D70B", TL_PLOT_FONT_MATH, 0}, {"rho", "\U0001D70C", TL_PLOT_FONT_MATH, 0},
    {"varrho", "\U0001D71A", TL_PLOT_FONT_MATH, 0}, {"sigma", "\U0001D70E", TL_PLOT_FONT_MATH, 0},
    {"tau", "\U0001D70F", TL_PLOT_FONT_MATH, 0}, {"upsilon", "\U0001D710", TL_PLOT_FONT_MATH, 0},
    {"phi", "\U0001D719", TL_PLOT_FONT_MATH, 0}, {"varphi", "\U0001D711", TL_PLOT_FONT_MATH, 0},
    {"chi", "\U0001D712", TL_PLOT_FONT_MATH, 0}, {"psi", "\U0001D713", TL_PLOT_FONT_MATH, 0},
    {"omega", "\U0001D714", TL_PLOT_FONT_MATH, 0}, {"Gamma", "\u0393", TL_PLOT_FONT_ROMAN, 0},
    {"Delta", "\u0394", TL_PLOT_FONT_ROMAN, 0}, {"Theta", "\u0398", TL_PLOT_FONT_ROMAN, 0},
    {"Lambda", "\u039B", TL_PLOT_FONT_ROMAN, 0}, {"Xi", "\u039E", TL_PLOT_FONT_ROMAN, 0},
    {"Pi", "\u03A0", TL_PLOT_FONT_ROMAN, 0}, {"Sigma", "\u03A3", TL_PLOT_FONT_ROMAN, 0},
    {"Upsilon", "\u03A5", TL_PLOT_FONT_ROMAN, 0}, {"Phi", "\u03A6", TL_PLOT_FONT_ROMAN, 0},
    {"Psi", "\u03A8", TL_PLOT_FONT_ROMAN, 0}, {"Omega", "\u03A9", TL_PLOT_FONT_ROMAN, 0},
    {"ell", "\u2113", TL_PLOT_FONT_MATH, 0}, {"infty", "\u221E", TL_PLOT_FONT_MATH, 0},
    {"le", "\u2264", TL_PLOT_FONT_MATH, TL_ATOM_REL},
    {"leq", "\u2264", TL_PLOT_FONT_MATH, TL_ATOM_REL},
    {"ge", "\u2265", TL_PLOT_FONT_MATH, TL_ATOM_REL},
    {"geq", "\u2265", TL_PLOT_FONT_MATH, TL_ATOM_REL},
    {"approx", "\u2248", TL_PLOT_FONT_MATH, TL_ATOM_REL},
    {"times", "\u00D7", TL_PLOT_FONT_MATH, TL_ATOM_BIN},
    {"cdot", "\u22C5", TL_PLOT_FONT_MATH, TL_ATOM_BIN},
    {"perp", "\u22A5", TL_PLOT_FONT_MATH, TL_ATOM_REL}, {"|", "\u2016", TL_PLOT_FONT_MATH, 0},
    {"pm", "\u00B1", TL_PLOT_FONT_MATH, TL_ATOM_BIN},
    {"mp", "\u2213", TL_PLOT_FONT_MATH, TL_ATOM_BIN},
    {"sim", "\u223C", TL_PLOT_FONT_MATH, TL_ATOM_REL},
    {"partial", "\U0001D715", TL_PLOT_FONT_MATH, 0}, {"nabla", "\u2207", TL_PLOT_FONT_MATH, 0},
    {"to", "\u2192", TL_PLOT_FONT_MATH, TL_ATOM_REL},
    {"rightarrow", "\u2192", TL_PLOT_FONT_MATH, TL_ATOM_REL},
    {"leftarrow", "\u2190", TL_PLOT_FONT_MATH, TL_ATOM_REL},
    {"in", "\u2208", TL_PLOT_FONT_MATH, TL_ATOM_REL},
    {"ne", "\u2260", TL_PLOT_FONT_MATH, TL_ATOM_REL},
    {"neq", "\u2260", TL_PLOT_FONT_MATH, TL_ATOM_REL},
    {"propto", "\u221D", TL_PLOT_FONT_MATH, TL_ATOM_REL},
    {"equiv", "\u2261", TL_PLOT_FONT_MATH, TL_ATOM_REL},
    {"ll", "\u226A", TL_PLOT_FONT_MATH, TL_ATOM_REL},
    {"gg", "\u226B", TL_PLOT_FONT_MATH, TL_ATOM_REL}, {"sum", "\u2211", TL_PLOT_FONT_MATH, 0},
    {"prod", "\u220F", TL_PLOT_FONT_MATH, 0}, {"sqrt", "\u221A", TL_PLOT_FONT_MATH, 0},
    {"circ", "\u2218", TL_PLOT_FONT_MATH, TL_ATOM_BIN},
    {"ast", "\u2217", TL_PLOT_FONT_MATH, TL_ATOM_BIN},
    {"star", "\u22C6", TL_PLOT_FONT_MATH, TL_ATOM_BIN}, {"langle", "\u27E8", TL_PLOT_FONT_MATH, 0},
    {"rangle", "\u27E9", TL_PLOT_FONT_MATH, 0}, {"ldots", "\u2026", TL_PLOT_FONT_ROMAN, 0},
    {"cdots", "\u22EF", TL_PLOT_FONT_MATH, 0},
};

/* Operator names, upright as in TeX (\sin x). */
static const char *const tl_operators[] = {"sin", "cos", "tan", "exp", "log", "ln",  "max",
                                           "min", "sup", "inf", "det", "tr",  "arg", "lim",
                                           "sgn", "diag", "rank", "argmin", "argmax"};

/* Accents: the glyph is centred over the ink of its argument. */
static const tl_symbol tl_accents[] = {
    {"bar", "\u00AF", TL_PLOT_FONT_ROMAN, 0}, {"tilde", "\u02DC", TL_PLOT_FONT_ROMAN, 0},
    {"hat", "\u02C6", TL_PLOT_FONT_ROMAN, 0},
};

typedef struct {
  double em; /* spacing commands, in em */
  const char *name;
} tl_space;

static const tl_space tl_spaces[] = {
    {TL_SPACE_EM_THIN, ","},   {TL_SPACE_EM_MEDIUM, ":"}, {TL_SPACE_EM_THICK, ";"},
    {-TL_SPACE_EM_THIN, "!"},  {1.0, "quad"},             {2.0, "qquad"},
};

typedef struct {
  cairo_t *cr;
  tl_plot_run *runs;
  int max_runs, n_runs, overflow;
  int open;   /* the last run may still be extended */
  double pen; /* current advance, pt */
  int last;   /* class of the last math atom: TL_ATOM_NONE at a start or after '(' */
} tl_markup;

static double run_advance(cairo_t *cr, int font, double size, const char *text) {
  cairo_text_extents_t e;
  font_select(cr, font, size);
  cairo_text_extents(cr, text, &e);
  return e.x_advance;
}

/* Append text in one style; merged into the last run when the style matches. */
static void markup_emit(tl_markup *mk, const char *utf8, size_t len, int font, double size,
                        double rise) {
  if (len == 0)
    return;
  tl_plot_run *r = NULL;
  if (mk->open && mk->n_runs > 0) {
    r = &mk->runs[mk->n_runs - 1];
    if (r->font != font || r->size != size || r->rise != rise ||
        strlen(r->text) + len >= TL_PLOT_RUN_TEXT_MAX)
      r = NULL;
  }
  if (!r) {
    if (mk->n_runs >= mk->max_runs) {
      /* Out of runs: keep measuring so the total width stays right. */
      char tmp[TL_PLOT_RUN_TEXT_MAX];
      if (len >= sizeof tmp)
        len = sizeof tmp - 1;
      memcpy(tmp, utf8, len);
      tmp[len] = '\0';
      mk->overflow = 1;
      mk->pen += run_advance(mk->cr, font, size, tmp);
      mk->open = 0;
      return;
    }
    r = &mk->runs[mk->n_runs++];
    memset(r, 0, sizeof *r);
    r->font = font;
    r->size = size;
    r->rise = rise;
    r->x = mk->pen;
  }
  size_t used = strlen(r->text);
  if (len >= TL_PLOT_RUN_TEXT_MAX - used)
    len = TL_PLOT_RUN_TEXT_MAX - 1 - used;
  memcpy(r->text + used, utf8, len);
  r->text[used + len] = '\0';
  r->width = run_advance(mk->cr, font, size, r->text);
  mk->pen = r->x + r->width;
  mk->open = 1;
}

static size_t utf8_length(const char *s) {
  unsigned char c = (unsigned char)s[0];
  size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  for (size_t i = 1; i < n; i++)
    if (s[i] == '\0')
      return i;
  return n;
}

static int is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* A binary operator or relation: in math mode (not in scripts, as in TeX's
 * script style) spaced on both sides; a binary operator with nothing before
 * it (or after an opening bracket or another operator) is unary, unspaced. */
static void markup_operator(tl_markup *mk, const char *utf8, int font, int atom, int math,
                            int script, double size, double rise) {
  if (!math || script || (atom == TL_ATOM_BIN && mk->last != TL_ATOM_ORD)) {
    markup_emit(mk, utf8, strlen(utf8), font, size, rise);
    mk->last = atom;
    return;
  }
  double space = (atom == TL_ATOM_REL ? TL_SPACE_EM_THICK : TL_SPACE_EM_MEDIUM) * size;
  if (mk->last != TL_ATOM_NONE)
    mk->pen += space;
  mk->open = 0;
  markup_emit(mk, utf8, strlen(utf8), font, size, rise);
  mk->pen += space;
  mk->open = 0;
  mk->last = atom;
}

/* One character.  In math mode Latin letters are italic and '-' is a minus
 * sign; in text mode '-' is a minus too unless it joins two letters (a hyphen,
 * as in "x-axis"), because labels like "1 - C" or "^{-1/2}" mean subtraction. */
static void markup_char(tl_markup *mk, const char **s, const char *begin, int math, int script,
                        double size, double rise) {
  const char *p = *s;
  size_t len = utf8_length(p);
  *s += len;
  if (len == 1) {
    char c = p[0];
    if (math && c == ' ')
      return; /* math mode spaces itself */
    if (math && is_letter(c)) {
      markup_emit(mk, p, 1, TL_PLOT_FONT_ITALIC, size, rise);
      mk->last = TL_ATOM_ORD;
      return;
    }
    if (c == '-') {
      int hyphen = !math && !script && p > begin && is_letter(p[-1]) && is_letter(p[1]);
      if (!hyphen) {
        markup_operator(mk, "\u2212", TL_PLOT_FONT_ROMAN, TL_ATOM_BIN, math, script, size, rise);
        return;
      }
    }
    if (c == '+' || c == '=' || c == '<' || c == '>') {
      char op[2] = {c, '\0'};
      markup_operator(mk, op, TL_PLOT_FONT_ROMAN, c == '+' ? TL_ATOM_BIN : TL_ATOM_REL, math,
                      script, size, rise);
      return;
    }
    if (c == '*' && (math || script)) {
      markup_emit(mk, "\u2217", strlen("\u2217"), TL_PLOT_FONT_ROMAN, size, rise);
      mk->last = TL_ATOM_ORD;
      return;
    }
    if (c == '(' || c == '[' || c == ',' || c == ';') {
      markup_emit(mk, p, 1, TL_PLOT_FONT_ROMAN, size, rise);
      mk->last = TL_ATOM_NONE; /* a following minus is unary */
      return;
    }
  }
  markup_emit(mk, p, len, TL_PLOT_FONT_ROMAN, size, rise);
  mk->last = TL_ATOM_ORD;
}

static void markup_sequence(tl_markup *mk, const char **s, const char *begin, int math, int script,
                            double size, double rise, int depth, int in_group);

/* Ink top of runs [first, n_runs) relative to the baseline, pt. */
static double markup_ink_top(tl_markup *mk, int first, double fallback) {
  double top = -INFINITY;
  for (int i = first; i < mk->n_runs; i++) {
    cairo_text_extents_t e;
    font_select(mk->cr, mk->runs[i].font, mk->runs[i].size);
    cairo_text_extents(mk->cr, mk->runs[i].text, &e);
    if (e.width > 0 || e.height > 0)
      top = fmax(top, -e.y_bearing + mk->runs[i].rise);
  }
  return isfinite(top) ? top : fallback;
}

static void markup_argument(tl_markup *mk, const char **s, const char *begin, int math,
                            int script, double size, double rise, int depth);

/* \name after the backslash: Greek, symbols, spaces, accents, escapes. */
static void markup_command(tl_markup *mk, const char **s, const char *begin, int math, int script,
                           double size, double rise, int depth) {
  const char *name = *s;
  size_t len = 0;
  if (is_letter(name[0]))
    while (is_letter(name[len]))
      len++;
  else if (name[0] != '\0')
    len = utf8_length(name);
  *s += len;
  if (len == 0) { /* a trailing backslash */
    markup_emit(mk, "\\", 1, TL_PLOT_FONT_ROMAN, size, rise);
    return;
  }
  if (len == 1 && strchr("{}$_^\\%&#", name[0])) {
    markup_emit(mk, name, 1, TL_PLOT_FONT_ROMAN, size, rise);
    return;
  }
  if (len == 1 && name[0] == ' ') {
    markup_emit(mk, " ", 1, TL_PLOT_FONT_ROMAN, size, rise);
    return;
  }
  for (size_t i = 0; i < sizeof tl_spaces / sizeof tl_spaces[0]; i++)
    if (strlen(tl_spaces[i].name) == len && memcmp(tl_spaces[i].name, name, len) == 0) {
      mk->pen += tl_spaces[i].em * size;
      mk->open = 0;
      return;
    }
  for (size_t i = 0; i < sizeof tl_symbols / sizeof tl_symbols[0]; i++)
    if (strlen(tl_symbols[i].name) == len && memcmp(tl_symbols[i].name, name, len) == 0) {
      if (tl_symbols[i].atom != TL_ATOM_NONE) {
        markup_operator(mk, tl_symbols[i].utf8, tl_symbols[i].font, tl_symbols[i].atom, math,
                        script, size, rise);
        return;
      }
      markup_emit(mk, tl_symbols[i].utf8, strlen(tl_symbols[i].utf8), tl_symbols[i].font, size,
                  rise);
      mk->last = TL_ATOM_ORD;
      return;
    }
  for (size_t i = 0; i < sizeof tl_operators / sizeof tl_operators[0]; i++)
    if (strlen(tl_operators[i]) == len && memcmp(tl_operators[i], name, len) == 0) {
      markup_emit(mk, name, len, TL_PLOT_FONT_ROMAN, size, rise);
      mk->last = TL_ATOM_NONE; /* \sin -x: the minus is unary */
      return;
    }
  for (size_t i = 0; i < sizeof tl_accents / sizeof tl_accents[0]; i++)
    if (strlen(tl_accents[i].name) == len && memcmp(tl_accents[i].name, name, len) == 0) {
      if (**s == ' ')
        (*s)++;
      double x0 = mk->pen;
      int first = mk->n_runs;
      mk->open = 0;
      markup_argument(mk, s, begin, math, script, size, rise, depth + 1);
      double x1 = mk->pen;
      double top = markup_ink_top(mk, first, rise + 0.45 * size);
      /* Place the accent: centred, its ink bottom just above the base's ink. */
      cairo_text_extents_t e;
      font_select(mk->cr, tl_accents[i].font, size);
      cairo_text_extents(mk->cr, tl_accents[i].utf8, &e);
      double ink_bottom = -(e.y_bearing + e.height); /* above the baseline */
      double lift = top + TL_ACCENT_GAP * size - ink_bottom;
      /* Italic bases lean right: shift the accent by the slant at mid-height. */
      double slant = 0.0;
      if (first < mk->n_runs && mk->runs[first].font != TL_PLOT_FONT_ROMAN)
        slant = 0.12 * (top - rise);
      mk->pen = 0.5 * (x0 + x1) - (e.x_bearing + 0.5 * e.width) + slant;
      mk->open = 0;
      markup_emit(mk, tl_accents[i].utf8, strlen(tl_accents[i].utf8), tl_accents[i].font, size,
                  lift);
      mk->pen = x1;
      mk->open = 0;
      mk->last = TL_ATOM_ORD;
      return;
    }
  /* Unknown: drawn as written. */
  markup_emit(mk, "\\", 1, TL_PLOT_FONT_ROMAN, size, rise);
  markup_emit(mk, name, len, TL_PLOT_FONT_ROMAN, size, rise);
}

/* The argument of a script or accent: a {group}, a \command or one character. */
static void markup_argument(tl_markup *mk, const char **s, const char *begin, int math,
                            int script, double size, double rise, int depth) {
  char c = **s;
  if (c == '\0')
    return;
  if (c == '{') {
    (*s)++;
    markup_sequence(mk, s, begin, math, script, size, rise, depth + 1, 1);
  } else if (c == '\\') {
    (*s)++;
    markup_command(mk, s, begin, math, script, size, rise, depth + 1);
  } else {
    markup_char(mk, s, begin, math, script, size, rise);
  }
}

/* _x and ^x; a sub- and a superscript on the same base are stacked: both
 * start at the base's end and the pen moves past the wider one. */
static void markup_scripts(tl_markup *mk, const char **s, const char *begin, int math,
                           double size, double rise, int depth) {
  double start = mk->pen, end = start;
  int after_italic = mk->n_runs > 0 && mk->runs[mk->n_runs - 1].font == TL_PLOT_FONT_ITALIC;
  double ssize = fmax(size * TL_SCRIPT_SCALE, fmin(size, TL_SCRIPT_MIN_SIZE));
  int done_sub = 0, done_sup = 0;
  while ((**s == '^' && !done_sup) || (**s == '_' && !done_sub)) {
    int sup = **s == '^';
    (*s)++;
    mk->pen = start + (sup && after_italic ? TL_ITALIC_KERN * size : 0.0);
    mk->open = 0;
    double srise = rise + (sup ? TL_SUP_RISE : -TL_SUB_DROP) * size;
    markup_argument(mk, s, begin, math, 1, ssize, srise, depth + 1);
    end = fmax(end, mk->pen);
    mk->open = 0;
    if (sup)
      done_sup = 1;
    else
      done_sub = 1;
  }
  mk->pen = end;
  mk->open = 0;
  mk->last = TL_ATOM_ORD;
}

static int is_alnum(char c) { return is_letter(c) || (c >= '0' && c <= '9'); }

/* In text mode an underscore inside an identifier (two or more letters or
 * digits before it, not a command name, and two letters after it, as in
 * hess_zero_tol) is the character itself: a subscript would need braces there
 * anyway (x_{ab}), and identifiers are common in labels. */
static int snake_underscore(const char *p, const char *begin) {
  const char *q = p;
  while (q > begin && is_alnum(q[-1]))
    q--;
  if (p - q < 2 || (q > begin && q[-1] == '\\'))
    return 0;
  return is_letter(p[1]) && is_letter(p[2]);
}

static void markup_sequence(tl_markup *mk, const char **s, const char *begin, int math, int script,
                            double size, double rise, int depth, int in_group) {
  while (**s) {
    char c = **s;
    if (c == '}') {
      (*s)++;
      if (in_group)
        return;
      continue; /* stray closing brace: ignored */
    }
    if (depth >= TL_MARKUP_MAX_DEPTH && (c == '{' || c == '_' || c == '^')) {
      (*s)++; /* too deep: structure flattened, text kept */
      continue;
    }
    if (c == '{') {
      (*s)++;
      markup_sequence(mk, s, begin, math, script, size, rise, depth + 1, 1);
    } else if (c == '$') {
      (*s)++;
      math = !math;
    } else if (c == '_' && !math && !script && snake_underscore(*s, begin)) {
      markup_char(mk, s, begin, math, script, size, rise);
    } else if (c == '_' || c == '^') {
      markup_scripts(mk, s, begin, math, size, rise, depth);
    } else if (c == '\\') {
      (*s)++;
      markup_command(mk, s, begin, math, script, size, rise, depth);
    } else {
      markup_char(mk, s, begin, math, script, size, rise);
    }
  }
}

static int markup_run(cairo_t *cr, const char *markup, double size, tl_plot_run *runs,
                      int max_runs, int *n_runs, double *width) {
  tl_markup mk = {cr, runs, max_runs, 0, 0, 0, 0.0, TL_ATOM_NONE};
  const char *s = markup;
  markup_sequence(&mk, &s, markup, 0, 0, size, 0.0, 0, 0);
  *n_runs = mk.n_runs;
  /* A negative space at the end must not make the width negative. */
  double w = 0.0;
  for (int i = 0; i < mk.n_runs; i++)
    w = fmax(w, runs[i].x + runs[i].width);
  *width = fmax(w, mk.pen);
  return mk.overflow ? GSL_EBADLEN : TL_SUCCESS;
}

/* A scratch context for measuring text outside a figure. */
static cairo_t *measure_context(void) {
  cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_A8, 1, 1);
  cairo_t *cr = cairo_create(surf);
  cairo_surface_destroy(surf); /* the context holds its reference */
  font_options_apply(cr);
  return cr;
}

int tl_plot_markup_layout(const char *markup, double size_pt, tl_plot_run *runs, int max_runs,
                          int *n_runs, double *width) {
  if (!markup || !runs || !n_runs || !width)
    TL_ERROR(GSL_EINVAL, "tl_plot_markup_layout: NULL argument");
  if (!(size_pt > 0) || !isfinite(size_pt) || max_runs < 0)
    TL_ERROR(GSL_EINVAL, "tl_plot_markup_layout: bad size %g or max_runs %d", size_pt, max_runs);
  cairo_t *cr = measure_context();
  int status = markup_run(cr, markup, size_pt, runs, max_runs, n_runs, width);
  int cstatus = cairo_status(cr);
  cairo_destroy(cr);
  if (cstatus != CAIRO_STATUS_SUCCESS)
    TL_ERROR(GSL_EFAILED, "tl_plot_markup_layout: cairo: %s",
             cairo_status_to_string((cairo_status_t)cstatus));
  if (status != TL_SUCCESS)
    TL_ERROR(status, "tl_plot_markup_layout: '%s' needs more than %d runs", markup, max_runs);
  return TL_SUCCESS;
}

/* A laid-out label with its ink box: ascent above and descent below the
 * baseline, measured from the glyphs (so a label centres on its ink). */
typedef struct {
  tl_plot_run runs[TL_LABEL_RUNS];
  int n;
  double width, ascent, descent;
} tl_label;

static void label_box(cairo_t *cr, tl_label *lb) {
  lb->ascent = lb->descent = 0.0;
  for (int i = 0; i < lb->n; i++) {
    cairo_text_extents_t e;
    font_select(cr, lb->runs[i].font, lb->runs[i].size);
    cairo_text_extents(cr, lb->runs[i].text, &e);
    if (e.width <= 0 && e.height <= 0)
      continue;
    lb->ascent = fmax(lb->ascent, -e.y_bearing + lb->runs[i].rise);
    lb->descent = fmax(lb->descent, e.height + e.y_bearing - lb->runs[i].rise);
  }
}

static void label_measure(cairo_t *cr, const char *markup, double size, tl_label *lb) {
  memset(lb, 0, sizeof *lb);
  if (!markup || !markup[0])
    return;
  markup_run(cr, markup, size, lb->runs, TL_LABEL_RUNS, &lb->n, &lb->width);
  label_box(cr, lb);
}

static void label_plain(cairo_t *cr, const char *text, int font, double size, tl_label *lb) {
  memset(lb, 0, sizeof *lb);
  snprintf(lb->runs[0].text, sizeof lb->runs[0].text, "%s", text);
  lb->runs[0].font = font;
  lb->runs[0].size = size;
  lb->runs[0].width = run_advance(cr, font, size, lb->runs[0].text);
  lb->n = 1;
  lb->width = lb->runs[0].width;
  label_box(cr, lb);
}

static double label_height(const tl_label *lb) { return lb->ascent + lb->descent; }

/* Draw with the anchor point of the label's box at (x, y), rotated by angle
 * (radians, counter-clockwise on the page) about that point. */
static void label_draw(cairo_t *cr, const tl_label *lb, double x, double y, int anchor,
                       double angle) {
  if (lb->n == 0)
    return;
  double dx, dy;
  switch (anchor) {
  case TL_PLOT_ANCHOR_W: case TL_PLOT_ANCHOR_NW: case TL_PLOT_ANCHOR_SW: dx = 0; break;
  case TL_PLOT_ANCHOR_E: case TL_PLOT_ANCHOR_NE: case TL_PLOT_ANCHOR_SE: dx = -lb->width; break;
  default: dx = -0.5 * lb->width; break;
  }
  switch (anchor) {
  case TL_PLOT_ANCHOR_N: case TL_PLOT_ANCHOR_NW: case TL_PLOT_ANCHOR_NE: dy = lb->ascent; break;
  case TL_PLOT_ANCHOR_S: case TL_PLOT_ANCHOR_SW: case TL_PLOT_ANCHOR_SE: dy = -lb->descent; break;
  default: dy = 0.5 * (lb->ascent - lb->descent); break;
  }
  cairo_save(cr);
  cairo_translate(cr, x, y);
  cairo_rotate(cr, -angle);
  for (int i = 0; i < lb->n; i++) {
    const tl_plot_run *r = &lb->runs[i];
    font_select(cr, r->font, r->size);
    cairo_move_to(cr, dx + r->x, dy - r->rise);
    cairo_show_text(cr, r->text);
  }
  cairo_restore(cr);
}

/* ===========================================================================
 * 3. The figure object
 * =========================================================================== */

typedef enum {
  TL_SERIES_LINE,
  TL_SERIES_SCATTER,
  TL_SERIES_ERRORBAR,
  TL_SERIES_BAND,
  TL_SERIES_HISTOGRAM,
  TL_SERIES_HEATMAP,
  TL_SERIES_HLINE,
  TL_SERIES_VLINE,
  TL_SERIES_XSPAN,
  TL_SERIES_YSPAN,
  TL_SERIES_POLYGON,
  TL_SERIES_TEXT
} tl_series_kind;

static const char *const tl_series_names[] = {"line",  "scatter", "errorbar", "band",
                                              "histogram", "heatmap", "hline", "vline",
                                              "xspan", "yspan", "polygon", "text"};

typedef struct {
  double r, g, b;
} tl_rgb;

typedef struct {
  int kind;
  size_t n;        /* points; bins for histograms; cells for heatmaps */
  double *x, *y;   /* points; histogram: x = edges (n + 1), y = heights */
  double *lo, *hi; /* band bounds */
  double *err;     /* error bars */
  double *z;       /* heatmap cells */
  size_t nx, ny;
  double box[4];   /* heatmap x0 x1 y0 y1; hline/vline/span values in box[0..1] */
  char *label;     /* legend entry, reference-line label or text */
  tl_rgb color;
  double alpha, width, marker_size;
  int line, marker;
  /* heatmap */
  char *cbar_label;
  double zlo, zhi;
  int cmap, zlog, no_colorbar;
  /* text */
  double text_size;
  int anchor, axes_fraction;
} tl_series;

typedef struct {
  char *title, *label[2]; /* axis labels: [0] x, [1] y */
  double range[2][2];      /* [axis][lo, hi]; NaN: automatic */
  int scale[2];
  int legend;
  tl_series *series;
  size_t n_series, cap_series;
  int next_color;
} tl_panel;

struct tl_plot_figure {
  double width, height; /* pt */
  int rows, cols, n_panels;
  tl_panel *panels;
  int status;
  char reason[TL_REASON_MAX];
};

/* Record the first error; later ones are consequences and are dropped. */
static void fig_fail(tl_plot_figure *fig, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fig_fail(tl_plot_figure *fig, int code, const char *fmt, ...) {
  if (fig->status != TL_SUCCESS)
    return;
  fig->status = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(fig->reason, sizeof fig->reason, fmt, ap);
  va_end(ap);
}

/* The panel for a call, or NULL (figure NULL, in error, or bad index). */
static tl_panel *fig_panel(tl_plot_figure *fig, int panel, const char *who) {
  if (!fig || fig->status != TL_SUCCESS)
    return NULL;
  if (panel < 0 || panel >= fig->n_panels) {
    fig_fail(fig, GSL_EINVAL, "%s: panel %d out of range 0..%d", who, panel, fig->n_panels - 1);
    return NULL;
  }
  return &fig->panels[panel];
}

static char *fig_strdup(tl_plot_figure *fig, const char *s) {
  if (!s || !s[0])
    return NULL;
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (!d) {
    fig_fail(fig, GSL_ENOMEM, "out of memory");
    return NULL;
  }
  memcpy(d, s, n);
  return d;
}

static double *fig_copy(tl_plot_figure *fig, const double *src, size_t n) {
  if (n == 0)
    return NULL;
  double *d = malloc(n * sizeof *d);
  if (!d) {
    fig_fail(fig, GSL_ENOMEM, "out of memory");
    return NULL;
  }
  memcpy(d, src, n * sizeof *d);
  return d;
}

static void series_clear(tl_series *s) {
  free(s->x);
  free(s->y);
  free(s->lo);
  free(s->hi);
  free(s->err);
  free(s->z);
  free(s->label);
  free(s->cbar_label);
}

tl_plot_figure *tl_plot_figure_alloc(double width_mm, double height_mm, int rows, int cols) {
  tl_plot_figure *fig = calloc(1, sizeof *fig);
  if (!fig)
    return NULL;
  if (!(width_mm > 0) || !(height_mm > 0) || !isfinite(width_mm) || !isfinite(height_mm)) {
    fig_fail(fig, GSL_EINVAL, "tl_plot_figure_alloc: bad size %g x %g mm", width_mm, height_mm);
    return fig;
  }
  if (rows < 1 || cols < 1 || rows > TL_PLOT_MAX_PANELS || cols > TL_PLOT_MAX_PANELS ||
      rows * cols > TL_PLOT_MAX_PANELS) {
    fig_fail(fig, GSL_EINVAL, "tl_plot_figure_alloc: bad grid %d x %d (at most %d panels)", rows,
             cols, TL_PLOT_MAX_PANELS);
    return fig;
  }
  fig->panels = calloc((size_t)(rows * cols), sizeof *fig->panels);
  if (!fig->panels) {
    free(fig);
    return NULL;
  }
  fig->width = width_mm * TL_PT_PER_MM;
  fig->height = height_mm * TL_PT_PER_MM;
  fig->rows = rows;
  fig->cols = cols;
  fig->n_panels = rows * cols;
  for (int i = 0; i < fig->n_panels; i++)
    for (int a = 0; a < 2; a++)
      fig->panels[i].range[a][0] = fig->panels[i].range[a][1] = NAN;
  return fig;
}

void tl_plot_figure_free(tl_plot_figure *fig) {
  if (!fig)
    return;
  for (int i = 0; i < fig->n_panels; i++) {
    tl_panel *p = &fig->panels[i];
    for (size_t k = 0; k < p->n_series; k++)
      series_clear(&p->series[k]);
    free(p->series);
    free(p->title);
    free(p->label[0]);
    free(p->label[1]);
  }
  free(fig->panels);
  free(fig);
}

int tl_plot_figure_status(const tl_plot_figure *fig) {
  return fig ? fig->status : GSL_EINVAL;
}

/* ---- Panel settings ---- */

static void panel_text(tl_plot_figure *fig, int panel, char **slot, const char *text,
                       const char *who) {
  tl_panel *p = fig_panel(fig, panel, who);
  if (!p)
    return;
  char *d = fig_strdup(fig, text);
  if (text && text[0] && !d)
    return;
  free(*slot);
  *slot = d;
}

void tl_plot_title(tl_plot_figure *fig, int panel, const char *title) {
  tl_panel *p = fig_panel(fig, panel, "tl_plot_title");
  if (p)
    panel_text(fig, panel, &p->title, title, "tl_plot_title");
}

void tl_plot_xlabel(tl_plot_figure *fig, int panel, const char *label) {
  tl_panel *p = fig_panel(fig, panel, "tl_plot_xlabel");
  if (p)
    panel_text(fig, panel, &p->label[0], label, "tl_plot_xlabel");
}

void tl_plot_ylabel(tl_plot_figure *fig, int panel, const char *label) {
  tl_panel *p = fig_panel(fig, panel, "tl_plot_ylabel");
  if (p)
    panel_text(fig, panel, &p->label[1], label, "tl_plot_ylabel");
}

static void panel_range(tl_plot_figure *fig, int panel, int axis, double lo, double hi,
                        const char *who) {
  tl_panel *p = fig_panel(fig, panel, who);
  if (!p)
    return;
  if (isinf(lo) || isinf(hi) || (!isnan(lo) && !isnan(hi) && !(lo < hi))) {
    fig_fail(fig, GSL_EINVAL, "%s: bad range [%g, %g]", who, lo, hi);
    return;
  }
  p->range[axis][0] = lo;
  p->range[axis][1] = hi;
}

void tl_plot_xrange(tl_plot_figure *fig, int panel, double lo, double hi) {
  panel_range(fig, panel, 0, lo, hi, "tl_plot_xrange");
}

void tl_plot_yrange(tl_plot_figure *fig, int panel, double lo, double hi) {
  panel_range(fig, panel, 1, lo, hi, "tl_plot_yrange");
}

static void panel_scale(tl_plot_figure *fig, int panel, int axis, tl_plot_scale scale,
                        const char *who) {
  tl_panel *p = fig_panel(fig, panel, who);
  if (!p)
    return;
  if (scale != TL_PLOT_LINEAR && scale != TL_PLOT_LOG10) {
    fig_fail(fig, GSL_EINVAL, "%s: unknown scale %d", who, (int)scale);
    return;
  }
  p->scale[axis] = scale;
}

void tl_plot_xscale(tl_plot_figure *fig, int panel, tl_plot_scale scale) {
  panel_scale(fig, panel, 0, scale, "tl_plot_xscale");
}

void tl_plot_yscale(tl_plot_figure *fig, int panel, tl_plot_scale scale) {
  panel_scale(fig, panel, 1, scale, "tl_plot_yscale");
}

void tl_plot_legend(tl_plot_figure *fig, int panel, tl_plot_legend_position position) {
  tl_panel *p = fig_panel(fig, panel, "tl_plot_legend");
  if (!p)
    return;
  if ((int)position < TL_PLOT_LEGEND_UPPER_RIGHT || position > TL_PLOT_LEGEND_NONE) {
    fig_fail(fig, GSL_EINVAL, "tl_plot_legend: unknown position %d", (int)position);
    return;
  }
  p->legend = position;
}

/* ---- Series ---- */

static tl_rgb rgb_of(unsigned hex) {
  tl_rgb c = {((hex >> 16) & 0xFF) / 255.0, ((hex >> 8) & 0xFF) / 255.0, (hex & 0xFF) / 255.0};
  return c;
}

/* Decode a tl_plot colour (not 0); returns 0 for a malformed value. */
static int color_decode(long c, tl_rgb *out) {
  long tag = c >> 24, v = c & 0xFFFFFFL;
  if (tag == 1) {
    *out = rgb_of((unsigned)v);
    return 1;
  }
  if (tag == 2) {
    *out = rgb_of(tl_palette[v % 8]);
    return 1;
  }
  return 0;
}

typedef enum { TL_COLOR_ADVANCE, TL_COLOR_PEEK, TL_COLOR_BLACK, TL_COLOR_GREY } tl_color_default;

/* Copy and resolve a style: defaults per kind, validation, palette colour. */
static int style_resolve(tl_plot_figure *fig, tl_panel *p, const tl_plot_style *st, tl_series *s,
                         tl_color_default cdef, int line_def, int marker_def, double width_def,
                         double alpha_def, const char *who) {
  static const tl_plot_style none = {0};
  if (!st)
    st = &none;
  if (st->line < 0 || st->line > TL_PLOT_LINE_NONE || st->marker < 0 ||
      st->marker > TL_PLOT_MARKER_PLUS) {
    fig_fail(fig, GSL_EINVAL, "%s: unknown line style %d or marker %d", who, st->line, st->marker);
    return 0;
  }
  if (!(st->width >= 0) || !isfinite(st->width) || !(st->marker_size >= 0) ||
      !isfinite(st->marker_size) || !(st->alpha >= 0 && st->alpha <= 1)) {
    fig_fail(fig, GSL_EINVAL, "%s: bad width %g, marker size %g or alpha %g", who, st->width,
             st->marker_size, st->alpha);
    return 0;
  }
  if (st->color != 0) {
    if (!color_decode(st->color, &s->color)) {
      fig_fail(fig, GSL_EINVAL, "%s: malformed colour %#lx", who, (unsigned long)st->color);
      return 0;
    }
  } else if (cdef == TL_COLOR_BLACK) {
    s->color = rgb_of(0x000000);
  } else if (cdef == TL_COLOR_GREY) {
    s->color = rgb_of(0x808080);
  } else {
    s->color = rgb_of(tl_palette[p->next_color % 8]);
    if (cdef == TL_COLOR_ADVANCE)
      p->next_color++;
  }
  s->line = st->line == TL_PLOT_LINE_DEFAULT ? line_def : st->line;
  s->marker = st->marker == TL_PLOT_MARKER_DEFAULT ? marker_def : st->marker;
  s->width = st->width > 0 ? st->width : width_def;
  s->marker_size = st->marker_size > 0 ? st->marker_size : TL_PLOT_MARKER_SIZE;
  s->alpha = st->alpha > 0 ? st->alpha : alpha_def;
  s->label = fig_strdup(fig, st->label);
  return fig->status == TL_SUCCESS;
}

/* A new zeroed series at the end of the panel (NULL when out of memory). */
static tl_series *series_push(tl_plot_figure *fig, tl_panel *p, int kind) {
  if (p->n_series == p->cap_series) {
    size_t cap = p->cap_series ? 2 * p->cap_series : 8;
    tl_series *ns = realloc(p->series, cap * sizeof *ns);
    if (!ns) {
      fig_fail(fig, GSL_ENOMEM, "out of memory");
      return NULL;
    }
    p->series = ns;
    p->cap_series = cap;
  }
  tl_series *s = &p->series[p->n_series];
  memset(s, 0, sizeof *s);
  s->kind = kind;
  return s;
}

/* Keep the series pushed last only if everything succeeded. */
static void series_commit(tl_plot_figure *fig, tl_panel *p, tl_series *s) {
  if (fig->status == TL_SUCCESS)
    p->n_series++;
  else
    series_clear(s);
}

static int check_data(tl_plot_figure *fig, const void *a, const void *b, const void *c, size_t n,
                      const char *who) {
  if (n > 0 && (!a || !b || !c)) {
    fig_fail(fig, GSL_EINVAL, "%s: NULL data with n = %zu", who, n);
    return 0;
  }
  return 1;
}

static void add_points(tl_plot_figure *fig, int panel, int kind, const double *x, const double *y,
                       const double *err, size_t n, const tl_plot_style *style, const char *who) {
  tl_panel *p = fig_panel(fig, panel, who);
  if (!p || !check_data(fig, x, y, kind == TL_SERIES_ERRORBAR ? (const void *)err : x, n, who))
    return;
  tl_series *s = series_push(fig, p, kind);
  if (!s)
    return;
  int line_def = kind == TL_SERIES_LINE ? TL_PLOT_LINE_SOLID : TL_PLOT_LINE_NONE;
  int marker_def = kind == TL_SERIES_LINE ? TL_PLOT_MARKER_NONE : TL_PLOT_MARKER_CIRCLE;
  if (style_resolve(fig, p, style, s, TL_COLOR_ADVANCE, line_def, marker_def, TL_PLOT_LINE_WIDTH,
                    1.0, who)) {
    s->n = n;
    s->x = fig_copy(fig, x, n);
    s->y = fig_copy(fig, y, n);
    if (kind == TL_SERIES_ERRORBAR)
      s->err = fig_copy(fig, err, n);
  }
  series_commit(fig, p, s);
}

void tl_plot_line(tl_plot_figure *fig, int panel, const double *x, const double *y, size_t n,
                  const tl_plot_style *style) {
  add_points(fig, panel, TL_SERIES_LINE, x, y, NULL, n, style, "tl_plot_line");
}

void tl_plot_scatter(tl_plot_figure *fig, int panel, const double *x, const double *y, size_t n,
                     const tl_plot_style *style) {
  add_points(fig, panel, TL_SERIES_SCATTER, x, y, NULL, n, style, "tl_plot_scatter");
}

void tl_plot_errorbar(tl_plot_figure *fig, int panel, const double *x, const double *y,
                      const double *err, size_t n, const tl_plot_style *style) {
  add_points(fig, panel, TL_SERIES_ERRORBAR, x, y, err, n, style, "tl_plot_errorbar");
}

/* A filled series (band between lo and hi, or polygon through y when hi is
 * NULL): the colour of the next line by default, no outline, fill alpha. */
static void add_filled(tl_plot_figure *fig, int panel, int kind, const double *x,
                       const double *a, const double *b, size_t n, const tl_plot_style *style,
                       const char *who) {
  tl_panel *p = fig_panel(fig, panel, who);
  if (!p || !check_data(fig, x, a, b ? b : x, n, who))
    return;
  tl_series *s = series_push(fig, p, kind);
  if (!s)
    return;
  if (style_resolve(fig, p, style, s, TL_COLOR_PEEK, TL_PLOT_LINE_NONE, TL_PLOT_MARKER_NONE,
                    TL_OUTLINE_WIDTH, TL_FILL_ALPHA, who)) {
    s->n = n;
    s->x = fig_copy(fig, x, n);
    if (b) {
      s->lo = fig_copy(fig, a, n);
      s->hi = fig_copy(fig, b, n);
    } else {
      s->y = fig_copy(fig, a, n);
    }
  }
  series_commit(fig, p, s);
}

void tl_plot_band(tl_plot_figure *fig, int panel, const double *x, const double *lo,
                  const double *hi, size_t n, const tl_plot_style *style) {
  add_filled(fig, panel, TL_SERIES_BAND, x, lo, hi, n, style, "tl_plot_band");
}

static void add_histogram(tl_plot_figure *fig, tl_panel *p, const double *edges,
                          const double *counts, size_t nbins, const tl_plot_style *style,
                          const char *who) {
  tl_series *s = series_push(fig, p, TL_SERIES_HISTOGRAM);
  if (!s)
    return;
  if (style_resolve(fig, p, style, s, TL_COLOR_ADVANCE, TL_PLOT_LINE_SOLID, TL_PLOT_MARKER_NONE,
                    TL_OUTLINE_WIDTH, TL_FILL_ALPHA, who)) {
    s->n = nbins;
    if (nbins > 0) {
      s->x = fig_copy(fig, edges, nbins + 1);
      s->y = fig_copy(fig, counts, nbins);
    }
  }
  series_commit(fig, p, s);
}

void tl_plot_histogram(tl_plot_figure *fig, int panel, const double *edges, const double *counts,
                       size_t nbins, const tl_plot_style *style) {
  tl_panel *p = fig_panel(fig, panel, "tl_plot_histogram");
  if (!p || !check_data(fig, edges, counts, edges, nbins, "tl_plot_histogram"))
    return;
  add_histogram(fig, p, edges, counts, nbins, style, "tl_plot_histogram");
}

void tl_plot_histogram_data(tl_plot_figure *fig, int panel, const double *data, size_t n,
                            size_t nbins, tl_plot_hist_mode mode, const tl_plot_style *style) {
  const char *who = "tl_plot_histogram_data";
  tl_panel *p = fig_panel(fig, panel, who);
  if (!p || !check_data(fig, data, data, data, n, who))
    return;
  if (mode != TL_PLOT_HIST_COUNT && mode != TL_PLOT_HIST_DENSITY) {
    fig_fail(fig, GSL_EINVAL, "%s: unknown mode %d", who, (int)mode);
    return;
  }
  size_t finite = 0;
  double lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < n; i++)
    if (isfinite(data[i])) {
      finite++;
      lo = fmin(lo, data[i]);
      hi = fmax(hi, data[i]);
    }
  if (finite == 0) { /* nothing to count: an empty series keeps the legend entry */
    add_histogram(fig, p, NULL, NULL, 0, style, who);
    return;
  }
  if (nbins == 0) /* Sturges: 1 + ceil(log2 n) */
    nbins = 1 + (size_t)ceil(log2((double)finite));
  if (hi - lo <= 0) { /* all equal: one unit-wide bin range around the value */
    lo -= 0.5;
    hi += 0.5;
  }
  double *edges = malloc((nbins + 1) * sizeof *edges);
  double *counts = calloc(nbins, sizeof *counts);
  if (!edges || !counts) {
    free(edges);
    free(counts);
    fig_fail(fig, GSL_ENOMEM, "out of memory");
    return;
  }
  double w = (hi - lo) / (double)nbins;
  for (size_t b = 0; b <= nbins; b++)
    edges[b] = b == nbins ? hi : lo + w * (double)b;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(data[i]))
      continue;
    double t = floor((data[i] - lo) / w);
    size_t b = t < 0 ? 0 : (size_t)t;
    if (b >= nbins)
      b = nbins - 1; /* the maximum belongs to the last bin */
    counts[b] += 1.0;
  }
  if (mode == TL_PLOT_HIST_DENSITY)
    for (size_t b = 0; b < nbins; b++)
      counts[b] /= (double)finite * (edges[b + 1] - edges[b]);
  add_histogram(fig, p, edges, counts, nbins, style, who);
  free(edges);
  free(counts);
}

void tl_plot_heatmap(tl_plot_figure *fig, int panel, const double *z, size_t nx, size_t ny,
                     double x0, double x1, double ylo, double yhi,
                     const tl_plot_heatmap_style *style) {
  const char *who = "tl_plot_heatmap";
  tl_panel *p = fig_panel(fig, panel, who);
  if (!p)
    return;
  static const tl_plot_heatmap_style none = {0};
  if (!style)
    style = &none;
  if (!z || nx == 0 || ny == 0 || nx > INT16_MAX || ny > INT16_MAX) {
    fig_fail(fig, GSL_EINVAL, "%s: need z and 1 <= nx, ny <= %d (got %zu x %zu)", who, INT16_MAX,
             nx, ny);
    return;
  }
  if (!isfinite(x0) || !isfinite(x1) || !isfinite(ylo) || !isfinite(yhi) || !(x0 < x1) ||
      !(ylo < yhi)) {
    fig_fail(fig, GSL_EINVAL, "%s: bad box [%g, %g] x [%g, %g]", who, x0, x1, ylo, yhi);
    return;
  }
  if (style->colormap != TL_PLOT_CMAP_VIRIDIS && style->colormap != TL_PLOT_CMAP_DIVERGING) {
    fig_fail(fig, GSL_EINVAL, "%s: unknown colormap %d", who, style->colormap);
    return;
  }
  int zlog = style->log_scale != 0;
  double zlo = style->zmin, zhi = style->zmax;
  size_t cells = nx * ny;
  if (zlo == 0 && zhi == 0) {
    zlo = INFINITY;
    zhi = -INFINITY;
    for (size_t i = 0; i < cells; i++)
      if (isfinite(z[i]) && (!zlog || z[i] > 0)) {
        zlo = fmin(zlo, z[i]);
        zhi = fmax(zhi, z[i]);
      }
    if (!(zlo <= zhi)) { /* no usable value */
      zlo = zlog ? 1.0 : 0.0;
      zhi = zlog ? 10.0 : 1.0;
    }
    if (style->colormap == TL_PLOT_CMAP_DIVERGING && !zlog) {
      double m = fmax(fabs(zlo), fabs(zhi));
      zlo = -m;
      zhi = m;
    }
    if (zlo == zhi) { /* constant data: a range around the value */
      if (zlog) {
        zlo /= 10.0;
        zhi *= 10.0;
      } else {
        double d = zlo == 0 ? 1.0 : 0.1 * fabs(zlo);
        zlo -= d;
        zhi += d;
      }
    }
  } else if (!isfinite(zlo) || !isfinite(zhi) || !(zlo < zhi) || (zlog && !(zlo > 0))) {
    fig_fail(fig, GSL_EINVAL, "%s: bad colour range [%g, %g]%s", who, zlo, zhi,
             zlog ? " (log scale)" : "");
    return;
  }
  tl_series *s = series_push(fig, p, TL_SERIES_HEATMAP);
  if (!s)
    return;
  s->n = cells;
  s->nx = nx;
  s->ny = ny;
  s->box[0] = x0;
  s->box[1] = x1;
  s->box[2] = ylo;
  s->box[3] = yhi;
  s->zlo = zlo;
  s->zhi = zhi;
  s->zlog = zlog;
  s->cmap = style->colormap;
  s->no_colorbar = style->no_colorbar != 0;
  s->z = fig_copy(fig, z, cells);
  s->cbar_label = fig_strdup(fig, style->label);
  s->alpha = 1.0;
  series_commit(fig, p, s);
}

static void add_reference(tl_plot_figure *fig, int panel, int kind, double a, double b,
                          const tl_plot_style *style, const char *who) {
  tl_panel *p = fig_panel(fig, panel, who);
  if (!p)
    return;
  /* A non-finite value is not an error: the line is not drawn, but it still
   * goes to the TSV, so the record is complete. */
  int span = kind == TL_SERIES_XSPAN || kind == TL_SERIES_YSPAN;
  tl_series *s = series_push(fig, p, kind);
  if (!s)
    return;
  if (span)
    style_resolve(fig, p, style, s, TL_COLOR_GREY, TL_PLOT_LINE_NONE, TL_PLOT_MARKER_NONE,
                  TL_OUTLINE_WIDTH, TL_SPAN_ALPHA, who);
  else
    style_resolve(fig, p, style, s, TL_COLOR_BLACK, TL_PLOT_LINE_DASHED, TL_PLOT_MARKER_NONE,
                  TL_REF_WIDTH, 1.0, who);
  /* Not fmin/fmax: they drop a NaN, and a span with a NaN end is not drawn. */
  s->box[0] = span && b < a ? b : a;
  s->box[1] = span && b < a ? a : b;
  series_commit(fig, p, s);
}

void tl_plot_hline(tl_plot_figure *fig, int panel, double y, const tl_plot_style *style) {
  add_reference(fig, panel, TL_SERIES_HLINE, y, y, style, "tl_plot_hline");
}

void tl_plot_vline(tl_plot_figure *fig, int panel, double x, const tl_plot_style *style) {
  add_reference(fig, panel, TL_SERIES_VLINE, x, x, style, "tl_plot_vline");
}

void tl_plot_xspan(tl_plot_figure *fig, int panel, double a, double b, const tl_plot_style *style) {
  add_reference(fig, panel, TL_SERIES_XSPAN, a, b, style, "tl_plot_xspan");
}

void tl_plot_yspan(tl_plot_figure *fig, int panel, double a, double b, const tl_plot_style *style) {
  add_reference(fig, panel, TL_SERIES_YSPAN, a, b, style, "tl_plot_yspan");
}

void tl_plot_polygon(tl_plot_figure *fig, int panel, const double *x, const double *y, size_t n,
                     const tl_plot_style *style) {
  add_filled(fig, panel, TL_SERIES_POLYGON, x, y, NULL, n, style, "tl_plot_polygon");
}

void tl_plot_text(tl_plot_figure *fig, int panel, double x, double y, const char *text,
                  const tl_plot_text_style *style) {
  tl_panel *p = fig_panel(fig, panel, "tl_plot_text");
  if (!p)
    return;
  static const tl_plot_text_style none = {0};
  if (!style)
    style = &none;
  if (!text) {
    fig_fail(fig, GSL_EINVAL, "tl_plot_text: NULL text");
    return;
  }
  if (style->anchor < TL_PLOT_ANCHOR_CENTER || style->anchor > TL_PLOT_ANCHOR_SE ||
      !(style->size >= 0) || !isfinite(style->size)) {
    fig_fail(fig, GSL_EINVAL, "tl_plot_text: bad anchor %d or size %g", style->anchor, style->size);
    return;
  }
  tl_series *s = series_push(fig, p, TL_SERIES_TEXT);
  if (!s)
    return;
  s->color = rgb_of(0x000000);
  if (style->color != 0 && !color_decode(style->color, &s->color))
    fig_fail(fig, GSL_EINVAL, "tl_plot_text: malformed colour %#lx", (unsigned long)style->color);
  s->alpha = 1.0;
  s->text_size = style->size > 0 ? style->size : TL_PLOT_ANNOTATION_SIZE;
  s->anchor = style->anchor;
  s->axes_fraction = style->axes_fraction != 0;
  s->n = 1;
  s->x = fig_copy(fig, &x, 1);
  s->y = fig_copy(fig, &y, 1);
  s->label = fig_strdup(fig, text);
  series_commit(fig, p, s);
}

/* ===========================================================================
 * 4. Layout, drawing, files
 * =========================================================================== */

typedef struct {
  int scale;
  double lo, hi;   /* range, data units */
  double flo, fhi; /* range in the scale's units (log10 for log axes) */
  int n_major, n_minor;
  double major[TL_TICK_MAX], minor[TL_MINOR_MAX];
  tl_label label[TL_TICK_MAX];
  double max_width, max_ascent, max_descent; /* of the tick labels */
  int has_mult;  /* labels are multiples of 10^e, written once as x10^e */
  tl_label mult;
} tl_axis;

typedef struct {
  double ax, ay, aw, ah; /* axes box, pt, y downwards */
  tl_axis axis[2];       /* x, y */
  int cbar;              /* heatmap series with the colour bar, -1: none */
  tl_axis cb;
  tl_label title, label[2], letter, cb_label;
  size_t n_legend;
  size_t *legend_series;
  tl_label *legend_label;
  double legend_w, legend_h;
  double need[4]; /* margins this panel needs: left, right, top, bottom */
} tl_layout;

enum { TL_LEFT, TL_RIGHT, TL_TOP, TL_BOTTOM };

static int axis_valid(int scale, double v) {
  return isfinite(v) && (scale != TL_PLOT_LOG10 || v > 0);
}

static double axis_f(const tl_axis *a, double v) { return a->scale == TL_PLOT_LOG10 ? log10(v) : v; }

static double axis_t(const tl_axis *a, double v) { return (axis_f(a, v) - a->flo) / (a->fhi - a->flo); }

static double clamp_coord(double v) {
  return v < -TL_COORD_LIMIT ? -TL_COORD_LIMIT : v > TL_COORD_LIMIT ? TL_COORD_LIMIT : v;
}

/* Page coordinates of data values (callers check axis_valid first). */
static double page_x(const tl_layout *L, double v) {
  return clamp_coord(L->ax + L->aw * axis_t(&L->axis[0], v));
}

static double page_y(const tl_layout *L, double v) {
  return clamp_coord(L->ay + L->ah * (1.0 - axis_t(&L->axis[1], v)));
}

/* ---- Data extents ---- */

typedef struct {
  double lo, hi;   /* data */
  double slo, shi; /* sticky bounds: never padded past (histogram base, heatmap box) */
} tl_extent;

static void extent_add(tl_extent *e, int scale, double v) {
  if (!axis_valid(scale, v))
    return;
  e->lo = fmin(e->lo, v);
  e->hi = fmax(e->hi, v);
}

static void extent_sticky(tl_extent *e, int scale, double lo, double hi) {
  if (axis_valid(scale, lo)) {
    extent_add(e, scale, lo);
    e->slo = fmin(e->slo, lo);
  }
  if (axis_valid(scale, hi)) {
    extent_add(e, scale, hi);
    e->shi = fmax(e->shi, hi);
  }
}

static void panel_extents(const tl_panel *p, tl_extent ext[2]) {
  const int sx = p->scale[0], sy = p->scale[1];
  for (int a = 0; a < 2; a++) {
    ext[a].lo = ext[a].slo = INFINITY;
    ext[a].hi = ext[a].shi = -INFINITY;
  }
  for (size_t k = 0; k < p->n_series; k++) {
    const tl_series *s = &p->series[k];
    switch (s->kind) {
    case TL_SERIES_LINE:
    case TL_SERIES_SCATTER:
    case TL_SERIES_POLYGON:
    case TL_SERIES_ERRORBAR:
      for (size_t i = 0; i < s->n; i++) {
        if (!axis_valid(sx, s->x[i]) || !axis_valid(sy, s->y[i]))
          continue;
        extent_add(&ext[0], sx, s->x[i]);
        extent_add(&ext[1], sy, s->y[i]);
        if (s->kind == TL_SERIES_ERRORBAR && isfinite(s->err[i])) {
          extent_add(&ext[1], sy, s->y[i] - fabs(s->err[i]));
          extent_add(&ext[1], sy, s->y[i] + fabs(s->err[i]));
        }
      }
      break;
    case TL_SERIES_BAND:
      for (size_t i = 0; i < s->n; i++) {
        if (!axis_valid(sx, s->x[i]) || !axis_valid(sy, s->lo[i]) || !axis_valid(sy, s->hi[i]))
          continue;
        extent_add(&ext[0], sx, s->x[i]);
        extent_add(&ext[1], sy, s->lo[i]);
        extent_add(&ext[1], sy, s->hi[i]);
      }
      break;
    case TL_SERIES_HISTOGRAM:
      for (size_t i = 0; i < s->n; i++) {
        if (!axis_valid(sx, s->x[i]) || !axis_valid(sx, s->x[i + 1]) ||
            !axis_valid(sy, s->y[i]))
          continue;
        extent_add(&ext[0], sx, s->x[i]);
        extent_add(&ext[0], sx, s->x[i + 1]);
        extent_add(&ext[1], sy, s->y[i]);
        /* Bars stand on 0: the range does not pad below (above) it. */
        if (sy == TL_PLOT_LINEAR && s->y[i] >= 0)
          extent_sticky(&ext[1], sy, 0.0, NAN);
        else if (sy == TL_PLOT_LINEAR)
          extent_sticky(&ext[1], sy, NAN, 0.0);
      }
      break;
    case TL_SERIES_HEATMAP:
      if (axis_valid(sx, s->box[0]) && axis_valid(sy, s->box[2])) {
        extent_sticky(&ext[0], sx, s->box[0], s->box[1]);
        extent_sticky(&ext[1], sy, s->box[2], s->box[3]);
      }
      break;
    case TL_SERIES_HLINE:
    case TL_SERIES_YSPAN:
      extent_add(&ext[1], sy, s->box[0]);
      extent_add(&ext[1], sy, s->box[1]);
      break;
    case TL_SERIES_VLINE:
    case TL_SERIES_XSPAN:
      extent_add(&ext[0], sx, s->box[0]);
      extent_add(&ext[0], sx, s->box[1]);
      break;
    default:
      break;
    }
  }
}

/* The axis range: fixed ends as given, automatic ends from the data plus
 * TL_PLOT_PAD_FRACTION of the span (in the scale's units), except at a
 * sticky bound.  Returns 0 (and fails the figure) on an impossible range. */
static int axis_resolve(tl_plot_figure *fig, const tl_panel *p, int pi, int a, const tl_extent *e,
                        tl_axis *ax) {
  int logs = p->scale[a] == TL_PLOT_LOG10;
  double ulo = p->range[a][0], uhi = p->range[a][1];
  const char *name = a == 0 ? "x" : "y";
  if ((!isnan(ulo) && logs && !(ulo > 0)) || (!isnan(uhi) && logs && !(uhi > 0))) {
    fig_fail(fig, GSL_EINVAL, "panel %d: %s range [%g, %g] not positive on a log axis", pi, name,
             ulo, uhi);
    return 0;
  }
  ax->scale = p->scale[a];
  double flo, fhi;
  if (e->lo <= e->hi) {
    flo = logs ? log10(e->lo) : e->lo;
    fhi = logs ? log10(e->hi) : e->hi;
    if (tick_degenerate(flo, fhi)) { /* one value: a range around it */
      double d = logs ? 0.5 : (flo == 0 ? 0.5 : 0.1 * fabs(flo));
      flo -= d;
      fhi += d;
    } else {
      double pad = TL_PLOT_PAD_FRACTION * (fhi - flo);
      if (!(e->slo <= e->lo)) /* not sticky */
        flo -= pad;
      if (!(e->shi >= e->hi))
        fhi += pad;
    }
  } else { /* no data */
    flo = 0.0;
    fhi = 1.0;
  }
  /* Padding must not leave the double range (data near 1e308, or spanning
   * hundreds of decades on a log axis). */
  double limit = logs ? TL_RANGE_LIMIT_LOG : TL_RANGE_LIMIT;
  flo = fmax(flo, -limit);
  fhi = fmin(fhi, limit);
  /* Fixed ends override; a lone fixed end beyond the data keeps a range. */
  if (!isnan(ulo))
    flo = logs ? log10(ulo) : ulo;
  if (!isnan(uhi))
    fhi = logs ? log10(uhi) : uhi;
  if (!(flo < fhi) || tick_degenerate(flo, fhi)) {
    if (!isnan(ulo) && !isnan(uhi)) {
      fig_fail(fig, GSL_EINVAL, "panel %d: empty %s range", pi, name);
      return 0;
    }
    double d = fmax(fabs(isnan(ulo) ? fhi : flo), 1.0);
    if (isnan(ulo))
      flo = fhi - d;
    else
      fhi = flo + d;
  }
  ax->flo = flo;
  ax->fhi = fhi;
  ax->lo = logs ? pow(10.0, flo) : flo;
  ax->hi = logs ? pow(10.0, fhi) : fhi;
  if (!isfinite(ax->lo) || !isfinite(ax->hi) || !(ax->lo < ax->hi)) {
    fig_fail(fig, GSL_EINVAL, "panel %d: %s range out of the double range", pi, name);
    return 0;
  }
  return 1;
}

/* ---- Ticks of a laid-out axis ---- */

/* The drawn form of an ASCII tick label: a minus sign, and 2.5e-5 as
 * 2.5x10^-5. */
static void tick_markup(const char *ascii, char *out, size_t size) {
  const char *e = strchr(ascii, 'e');
  if (!e) {
    snprintf(out, size, "$%s$", ascii);
    return;
  }
  int mlen = (int)(e - ascii);
  if (mlen == 1 && ascii[0] == '1')
    snprintf(out, size, "$10^{%s}$", e + 1);
  else if (mlen == 2 && ascii[0] == '-' && ascii[1] == '1')
    snprintf(out, size, "$-10^{%s}$", e + 1);
  else
    snprintf(out, size, "$%.*s\\times10^{%s}$", mlen, ascii, e + 1);
}

static void axis_metrics(tl_axis *a) {
  a->max_width = a->max_ascent = a->max_descent = 0;
  for (int i = 0; i < a->n_major; i++) {
    a->max_width = fmax(a->max_width, a->label[i].width);
    a->max_ascent = fmax(a->max_ascent, a->label[i].ascent);
    a->max_descent = fmax(a->max_descent, a->label[i].descent);
  }
}

/* Do the labels of adjacent ticks keep a gap?  x: widths; y: heights. */
static int axis_labels_fit(const tl_axis *a, double length, int vertical) {
  for (int i = 0; i + 1 < a->n_major; i++) {
    double d = length * fabs(axis_t(a, a->major[i + 1]) - axis_t(a, a->major[i]));
    double need = vertical ? 0.5 * (label_height(&a->label[i]) + label_height(&a->label[i + 1])) +
                                 TL_TICK_GAP_Y
                           : 0.5 * (a->label[i].width + a->label[i + 1].width) + TL_TICK_GAP_X;
    if (d < need)
      return 0;
  }
  return 1;
}

static int axis_target(double length, int vertical) {
  int m = (int)lround(length / (vertical ? TL_TICK_SPACING_Y : TL_TICK_SPACING_X)) + 1;
  return m < TL_TICK_M_MIN ? TL_TICK_M_MIN : m > TL_TICK_M_MAX ? TL_TICK_M_MAX : m;
}

static int tick_inside(const tl_axis *a, double v) {
  double tol = TL_TICK_INSIDE_TOL * (a->fhi - a->flo);
  if (!axis_valid(a->scale, v))
    return 0;
  double f = axis_f(a, v);
  return f >= a->flo - tol && f <= a->fhi + tol;
}

/* Linear Wilkinson ticks inside the range, fewer until the labels fit.
 * Where the labels would be scientific (tiny or huge steps), they are written
 * as multiples of one power of ten, given once at the axis end (x10^-6), as
 * 0, 1, 2 read better than 0, 1x10^-6, 2x10^-6. */
static void axis_ticks_linear(cairo_t *cr, tl_axis *a, double length, int vertical, int m0) {
  for (int m = m0; m >= 2; m--) {
    tl_labeling lab;
    a->n_major = 0;
    a->has_mult = 0;
    if (!tick_search(a->lo, a->hi, m, TL_TICK_MAX, 1, &lab) &&
        !tick_search(a->lo, a->hi, m, TL_TICK_MAX, 0, &lab))
      return;
    double vmax = 0;
    for (int i = 0; i < lab.k; i++)
      vmax = fmax(vmax, fabs(tick_value(&lab, i)));
    double scale = 1.0;
    if ((lab.lstep < TL_TICK_FIXED_MIN || lab.lstep >= TL_TICK_FIXED_MAX) &&
        !(vmax >= TL_TICK_FIXED_VALUE && vmax < TL_TICK_FIXED_MAX) && vmax > 0) {
      int e = (int)floor(log10(vmax));
      char mark[48];
      snprintf(mark, sizeof mark, "$\\times10^{%d}$", e);
      label_measure(cr, mark, TL_SIZE_TICK, &a->mult);
      a->has_mult = 1;
      scale = pow(10.0, e);
    }
    for (int i = 0; i < lab.k && a->n_major < TL_TICK_MAX; i++) {
      double v = tick_value(&lab, i);
      if (!tick_inside(a, v))
        continue;
      char ascii[64], mark[96];
      tl_plot_tick_label(v / scale, lab.lstep / scale, ascii, sizeof ascii);
      tick_markup(ascii, mark, sizeof mark);
      a->major[a->n_major] = v;
      label_measure(cr, mark, TL_SIZE_TICK, &a->label[a->n_major]);
      a->n_major++;
    }
    if (axis_labels_fit(a, length, vertical))
      return;
  }
}

static int floor_mod(int k, int n) { return ((k % n) + n) % n; }

static void axis_add_minor(tl_axis *a, double v) {
  if (a->n_minor >= TL_MINOR_MAX || !tick_inside(a, v))
    return;
  for (int i = 0; i < a->n_major; i++)
    if (fabs(a->major[i] - v) <= TL_TICK_INSIDE_TOL * v)
      return;
  a->minor[a->n_minor++] = v;
}

/* Log axes: powers of ten labelled 10^k, every thin-th decade when there are
 * too many to label; minor ticks at 2..9 when few decades are shown (or at
 * the unlabelled powers when thinned). */
static void axis_ticks_log(cairo_t *cr, tl_axis *a, double length, int vertical) {
  double tol = TL_TICK_INSIDE_TOL * (a->fhi - a->flo);
  int kmin = (int)ceil(a->flo - tol), kmax = (int)floor(a->fhi + tol);
  double decades = a->fhi - a->flo;
  a->n_major = a->n_minor = 0;
  if (kmax - kmin + 1 >= 2) {
    static const int thins[] = {1, 2, 3, 4, 5, 10, 20, 25, 50, 100};
    int m = axis_target(length, vertical) + 1; /* "10^k" labels are compact */
    int thin = 1;
    for (size_t t = 0; t < sizeof thins / sizeof thins[0]; t++) {
      thin = thins[t];
      a->n_major = 0;
      for (int k = kmin; k <= kmax && a->n_major < TL_TICK_MAX; k++) {
        if (floor_mod(k, thin) != 0)
          continue;
        char mark[48];
        snprintf(mark, sizeof mark, "$10^{%d}$", k);
        a->major[a->n_major] = pow(10.0, k);
        label_measure(cr, mark, TL_SIZE_TICK, &a->label[a->n_major]);
        a->n_major++;
      }
      int fits = a->n_major <= m && a->n_major <= TL_TICK_MAX && axis_labels_fit(a, length, vertical);
      if (fits)
        break;
      /* Keep at least two labels: the next thinning must still leave two. */
      int next_count = 0;
      if (t + 1 < sizeof thins / sizeof thins[0])
        for (int k = kmin; k <= kmax; k++)
          next_count += floor_mod(k, thins[t + 1]) == 0;
      if (next_count < 2)
        break;
    }
    if (thin == 1 && decades <= TL_LOG_MINOR_MAX_DECADES &&
        length / decades >= TL_LOG_MINOR_MIN_DECADE) {
      for (int k = (int)floor(a->flo); k <= kmax; k++)
        for (int d = 2; d <= 9; d++)
          axis_add_minor(a, d * pow(10.0, k));
    } else if (thin > 1) {
      /* Minor ticks at the unlabelled powers, or at every sub-th power when
       * single decades would be too dense to see. */
      int sub = 0;
      for (size_t t = 0; t < sizeof thins / sizeof thins[0] && thins[t] < thin; t++)
        if (thin % thins[t] == 0 && length * thins[t] / decades >= TL_MINOR_MIN_SPACING) {
          sub = thins[t];
          break;
        }
      for (int k = kmin; sub > 0 && k <= kmax; k++)
        if (floor_mod(k, thin) != 0 && floor_mod(k, sub) == 0)
          axis_add_minor(a, pow(10.0, k));
    }
  } else {
    /* Less than two powers of ten in range: plain numbers at 1, 2, 5 times
     * powers of ten when that gives three labels that fit, otherwise linear
     * Wilkinson ticks (still on the log scale); minor ticks at 1..9. */
    static const double nice[3] = {1, 2, 5};
    for (int k = (int)floor(a->flo); k <= (int)ceil(a->fhi); k++)
      for (int d = 0; d < 3 && a->n_major < TL_TICK_MAX; d++) {
        double v = nice[d] * pow(10.0, k);
        if (!tick_inside(a, v))
          continue;
        char ascii[64], mark[96];
        tl_plot_tick_label(v, v, ascii, sizeof ascii);
        tick_markup(ascii, mark, sizeof mark);
        a->major[a->n_major] = v;
        label_measure(cr, mark, TL_SIZE_TICK, &a->label[a->n_major]);
        a->n_major++;
      }
    if (a->n_major < 3 || !axis_labels_fit(a, length, vertical))
      axis_ticks_linear(cr, a, length, vertical, TL_TICK_M_MIN);
    for (int k = (int)floor(a->flo); k <= (int)ceil(a->fhi); k++)
      for (int d = 1; d <= 9; d++)
        axis_add_minor(a, d * pow(10.0, k));
  }
}

static void axis_ticks(cairo_t *cr, tl_axis *a, double length, int vertical) {
  a->n_major = a->n_minor = 0;
  a->has_mult = 0;
  if (a->scale == TL_PLOT_LOG10)
    axis_ticks_log(cr, a, length, vertical);
  else
    axis_ticks_linear(cr, a, length, vertical, axis_target(length, vertical));
  axis_metrics(a);
}

/* ---- Layout ---- */

static int legend_has(const tl_series *s) {
  return s->label && s->label[0] && s->kind != TL_SERIES_HLINE && s->kind != TL_SERIES_VLINE &&
         s->kind != TL_SERIES_TEXT && s->kind != TL_SERIES_HEATMAP;
}

/* Legend rows: the label's cap height is centred on the sample. */
#define TL_CAP_HEIGHT 0.68 /* em; Latin Modern's capitals and digits */

static void legend_row(const tl_layout *L, const tl_panel *p, size_t i, double *above,
                       double *below) {
  const tl_series *s = &p->series[L->legend_series[i]];
  const tl_label *lb = &L->legend_label[i];
  double half_cap = 0.5 * TL_CAP_HEIGHT * TL_SIZE_LEGEND;
  double sample = s->marker != TL_PLOT_MARKER_NONE ? 0.5 * s->marker_size : 0.0;
  if (s->kind == TL_SERIES_ERRORBAR)
    sample = fmax(sample, half_cap);
  *above = fmax(fmax(lb->ascent - half_cap, half_cap), sample);
  *below = fmax(fmax(lb->descent + half_cap, half_cap), sample);
}

static void legend_size(tl_layout *L, const tl_panel *p) {
  double w = 0, h = 0;
  for (size_t i = 0; i < L->n_legend; i++) {
    double a, b;
    legend_row(L, p, i, &a, &b);
    w = fmax(w, L->legend_label[i].width);
    h += a + b + (i ? TL_LEGEND_ROW_GAP : 0);
  }
  L->legend_w = 2 * TL_LEGEND_PAD + TL_LEGEND_SAMPLE + TL_LEGEND_SAMPLE_GAP + w;
  L->legend_h = 2 * TL_LEGEND_PAD + h;
}

/* Labels that do not depend on the axes size. */
static int layout_labels(tl_plot_figure *fig, cairo_t *cr, int pi, tl_layout *L) {
  const tl_panel *p = &fig->panels[pi];
  label_measure(cr, p->title, TL_SIZE_TITLE, &L->title);
  label_measure(cr, p->label[0], TL_SIZE_LABEL, &L->label[0]);
  label_measure(cr, p->label[1], TL_SIZE_LABEL, &L->label[1]);
  if (fig->n_panels > 1) {
    char letter[8];
    snprintf(letter, sizeof letter, "(%c)", 'a' + pi);
    label_plain(cr, letter, TL_FONT_BOLD, TL_SIZE_LETTER, &L->letter);
  }
  L->cbar = -1;
  for (size_t k = 0; k < p->n_series; k++)
    if (p->series[k].kind == TL_SERIES_HEATMAP)
      L->cbar = p->series[k].no_colorbar ? -1 : (int)k;
  if (L->cbar >= 0) {
    const tl_series *s = &p->series[L->cbar];
    memset(&L->cb, 0, sizeof L->cb);
    L->cb.scale = s->zlog ? TL_PLOT_LOG10 : TL_PLOT_LINEAR;
    L->cb.lo = s->zlo;
    L->cb.hi = s->zhi;
    L->cb.flo = s->zlog ? log10(s->zlo) : s->zlo;
    L->cb.fhi = s->zlog ? log10(s->zhi) : s->zhi;
    label_measure(cr, s->cbar_label, TL_SIZE_LABEL, &L->cb_label);
  }
  L->n_legend = 0;
  if (p->legend != TL_PLOT_LEGEND_NONE) {
    size_t n = 0;
    for (size_t k = 0; k < p->n_series; k++)
      if (legend_has(&p->series[k]))
        n++;
    if (n > 0) {
      L->legend_series = malloc(n * sizeof *L->legend_series);
      L->legend_label = malloc(n * sizeof *L->legend_label);
      if (!L->legend_series || !L->legend_label) {
        fig_fail(fig, GSL_ENOMEM, "out of memory");
        return 0;
      }
      for (size_t k = 0; k < p->n_series; k++)
        if (legend_has(&p->series[k])) {
          L->legend_series[L->n_legend] = k;
          label_measure(cr, p->series[k].label, TL_SIZE_LEGEND, &L->legend_label[L->n_legend]);
          L->n_legend++;
        }
      legend_size(L, p);
    }
  }
  return 1;
}

/* Width of everything right of the axes box for the colour bar. */
static double cbar_extent(const tl_layout *L) {
  if (L->cbar < 0)
    return 0.0;
  double w = TL_CBAR_GAP + TL_CBAR_WIDTH + TL_TICK_LEN + TL_TICK_PAD + L->cb.max_width;
  if (L->cb_label.n)
    w += TL_LABEL_PAD + label_height(&L->cb_label);
  return w;
}

/* The x10^e of a y axis or colour bar sits just above the axes; a title and
 * panel letter go above it. */
static double title_lift(const tl_layout *L) {
  double h = 0;
  if (L->axis[1].has_mult)
    h = label_height(&L->axis[1].mult);
  if (L->cbar >= 0 && L->cb.has_mult)
    h = fmax(h, label_height(&L->cb.mult));
  return h > 0 ? h + TL_MULT_PAD : 0.0;
}

/* The margins one panel needs around an axes box of size aw x ah. */
static void layout_needs(cairo_t *cr, const tl_plot_figure *fig, int pi, tl_layout *L, double aw,
                         double ah) {
  const tl_panel *p = &fig->panels[pi];
  axis_ticks(cr, &L->axis[0], aw, 0);
  axis_ticks(cr, &L->axis[1], ah, 1);
  if (L->cbar >= 0)
    axis_ticks(cr, &L->cb, ah, 1);
  const tl_axis *x = &L->axis[0], *y = &L->axis[1];
  /* Left: y tick labels and the rotated y label; also the first x tick
   * label's overhang past the axes' left edge. */
  double left = TL_TICK_LEN + TL_TICK_PAD + y->max_width;
  if (L->label[1].n)
    left += TL_LABEL_PAD + label_height(&L->label[1]);
  double over_l = 0, over_r = 0;
  for (int i = 0; i < x->n_major; i++) {
    double px = aw * axis_t(x, x->major[i]);
    over_l = fmax(over_l, 0.5 * x->label[i].width - px);
    over_r = fmax(over_r, px + 0.5 * x->label[i].width - aw);
  }
  left = fmax(left, over_l);
  if (L->letter.n)
    left = fmax(left, L->letter.width);
  double right = fmax(over_r, cbar_extent(L));
  if (p->legend == TL_PLOT_LEGEND_OUTSIDE && L->n_legend)
    right = cbar_extent(L) + TL_LEGEND_OUTSIDE_GAP + L->legend_w;
  /* Top: title and panel letter share a band; otherwise the top y tick
   * label may stick out above the axes by half its height. */
  double top = 0;
  for (int i = 0; i < y->n_major; i++)
    top = fmax(top, ah * axis_t(y, y->major[i]) + 0.5 * label_height(&y->label[i]) - ah);
  if (L->cbar >= 0)
    for (int i = 0; i < L->cb.n_major; i++)
      top = fmax(top, ah * axis_t(&L->cb, L->cb.major[i]) + 0.5 * label_height(&L->cb.label[i]) - ah);
  double lift = title_lift(L);
  top = fmax(top, lift);
  double band = fmax(L->title.ascent, L->letter.ascent) + fmax(L->title.descent, L->letter.descent);
  if (band > 0)
    top = fmax(top, band + TL_TITLE_PAD + lift);
  double bottom = TL_TICK_LEN + TL_TICK_PAD + x->max_ascent + x->max_descent;
  if (L->label[0].n || x->has_mult) /* the x multiplier shares the x label's row */
    bottom += TL_LABEL_PAD + fmax(label_height(&L->label[0]), label_height(&x->mult));
  double under = 0;
  for (int i = 0; i < y->n_major; i++)
    under = fmax(under, 0.5 * label_height(&y->label[i]) - ah * axis_t(y, y->major[i]));
  bottom = fmax(bottom, under);
  L->need[TL_LEFT] = left + TL_OUTER_PAD;
  L->need[TL_RIGHT] = right + TL_OUTER_PAD;
  L->need[TL_TOP] = top + TL_OUTER_PAD;
  L->need[TL_BOTTOM] = bottom + TL_OUTER_PAD;
}

/* Lay the grid out: per-column left/right and per-row top/bottom margins (the
 * widest need in that column or row), one axes size for all panels. */
static int figure_layout(tl_plot_figure *fig, cairo_t *cr, tl_layout *lay, double *col_left,
                         double *row_top) {
  for (int pi = 0; pi < fig->n_panels; pi++) {
    tl_extent ext[2];
    panel_extents(&fig->panels[pi], ext);
    for (int a = 0; a < 2; a++) {
      memset(&lay[pi].axis[a], 0, sizeof lay[pi].axis[a]);
      if (!axis_resolve(fig, &fig->panels[pi], pi, a, &ext[a], &lay[pi].axis[a]))
        return 0;
    }
    if (!layout_labels(fig, cr, pi, &lay[pi]))
      return 0;
  }
  int rows = fig->rows, cols = fig->cols;
  double *lm = calloc((size_t)(2 * cols + 2 * rows), sizeof *lm);
  if (!lm) {
    fig_fail(fig, GSL_ENOMEM, "out of memory");
    return 0;
  }
  double *rm = lm + cols, *tm = rm + cols, *bm = tm + rows;
  /* A first guess, then passes until ticks and margins agree. */
  double aw = 0.75 * fig->width / cols, ah = 0.7 * fig->height / rows;
  for (int pass = 0; pass < TL_LAYOUT_PASSES; pass++) {
    for (int i = 0; i < 2 * cols + 2 * rows; i++)
      lm[i] = 0;
    for (int pi = 0; pi < fig->n_panels; pi++) {
      int r = pi / cols, c = pi % cols;
      layout_needs(cr, fig, pi, &lay[pi], aw, ah);
      lm[c] = fmax(lm[c], lay[pi].need[TL_LEFT]);
      rm[c] = fmax(rm[c], lay[pi].need[TL_RIGHT]);
      tm[r] = fmax(tm[r], lay[pi].need[TL_TOP]);
      bm[r] = fmax(bm[r], lay[pi].need[TL_BOTTOM]);
    }
    double sw = 0, sh = 0;
    for (int c = 0; c < cols; c++)
      sw += lm[c] + rm[c];
    for (int r = 0; r < rows; r++)
      sh += tm[r] + bm[r];
    aw = (fig->width - sw) / cols;
    ah = (fig->height - sh) / rows;
    if (aw < TL_MIN_AXES || ah < TL_MIN_AXES) {
      free(lm);
      fig_fail(fig, GSL_EINVAL,
               "figure %.0f x %.0f mm too small for its %d x %d panels and labels",
               fig->width / TL_PT_PER_MM, fig->height / TL_PT_PER_MM, rows, cols);
      return 0;
    }
  }
  /* Final ticks for the final size (the margins were measured for nearly the
   * same size; the last pass changed it by a fraction of a point). */
  double x = 0;
  for (int c = 0; c < cols; c++) {
    col_left[c] = x;
    x += lm[c] + aw + rm[c];
  }
  double y = 0;
  for (int r = 0; r < rows; r++) {
    row_top[r] = y;
    y += tm[r] + ah + bm[r];
  }
  for (int pi = 0; pi < fig->n_panels; pi++) {
    int r = pi / cols, c = pi % cols;
    tl_layout *L = &lay[pi];
    layout_needs(cr, fig, pi, L, aw, ah);
    L->ax = col_left[c] + lm[c];
    L->ay = row_top[r] + tm[r];
    L->aw = aw;
    L->ah = ah;
  }
  free(lm);
  return 1;
}

/* ---- Drawing ---- */

static void set_color(cairo_t *cr, tl_rgb c, double alpha) {
  cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha);
}

static void set_line(cairo_t *cr, int line, double width) {
  double s = fmax(width, TL_DASH_MIN_SCALE);
  cairo_set_line_width(cr, width);
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  switch (line) {
  case TL_PLOT_LINE_DASHED: {
    const double d[2] = {3.7 * s, 1.6 * s};
    cairo_set_dash(cr, d, 2, 0);
    break;
  }
  case TL_PLOT_LINE_DOTTED: { /* round dots: zero-length dashes with round caps */
    const double d[2] = {0.0, 2.0 * s};
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    cairo_set_dash(cr, d, 2, 0);
    break;
  }
  case TL_PLOT_LINE_DASHDOT: {
    const double d[4] = {5.5 * s, 1.8 * s, 0.0, 1.8 * s};
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    cairo_set_dash(cr, d, 4, 0);
    break;
  }
  default:
    cairo_set_dash(cr, NULL, 0, 0);
    break;
  }
}

static void draw_marker(cairo_t *cr, int marker, double x, double y, double size) {
  double r = 0.5 * size;
  cairo_new_path(cr);
  cairo_set_dash(cr, NULL, 0, 0);
  cairo_set_line_width(cr, TL_OPEN_MARKER_WIDTH);
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_MITER);
  switch (marker) {
  case TL_PLOT_MARKER_CIRCLE:
    cairo_arc(cr, x, y, r, 0, 2 * TL_PI);
    cairo_fill(cr);
    break;
  case TL_PLOT_MARKER_OPEN_CIRCLE:
    cairo_arc(cr, x, y, r - 0.5 * TL_OPEN_MARKER_WIDTH, 0, 2 * TL_PI);
    cairo_stroke(cr);
    break;
  case TL_PLOT_MARKER_SQUARE: /* a square of the circle's area looks the same size */
    r *= 0.886;
    cairo_rectangle(cr, x - r, y - r, 2 * r, 2 * r);
    cairo_fill(cr);
    break;
  case TL_PLOT_MARKER_OPEN_SQUARE:
    r = 0.886 * r - 0.5 * TL_OPEN_MARKER_WIDTH;
    cairo_rectangle(cr, x - r, y - r, 2 * r, 2 * r);
    cairo_stroke(cr);
    break;
  case TL_PLOT_MARKER_TRIANGLE: { /* equilateral, of about the circle's area */
    double R = 1.17 * r;
    cairo_move_to(cr, x, y - R);
    cairo_line_to(cr, x + 0.866 * R, y + 0.5 * R);
    cairo_line_to(cr, x - 0.866 * R, y + 0.5 * R);
    cairo_close_path(cr);
    cairo_fill(cr);
    break;
  }
  case TL_PLOT_MARKER_CROSS:
    r *= 0.8;
    cairo_move_to(cr, x - r, y - r);
    cairo_line_to(cr, x + r, y + r);
    cairo_move_to(cr, x - r, y + r);
    cairo_line_to(cr, x + r, y - r);
    cairo_stroke(cr);
    break;
  case TL_PLOT_MARKER_PLUS:
    cairo_move_to(cr, x - r, y);
    cairo_line_to(cr, x + r, y);
    cairo_move_to(cr, x, y - r);
    cairo_line_to(cr, x, y + r);
    cairo_stroke(cr);
    break;
  default:
    break;
  }
}

static int point_valid(const tl_layout *L, double x, double y) {
  return axis_valid(L->axis[0].scale, x) && axis_valid(L->axis[1].scale, y);
}

/* A polyline broken at invalid points. */
static void draw_polyline(cairo_t *cr, const tl_layout *L, const double *x, const double *y,
                          size_t n) {
  int pen_down = 0;
  cairo_new_path(cr);
  for (size_t i = 0; i < n; i++) {
    if (!point_valid(L, x[i], y[i])) {
      pen_down = 0;
      continue;
    }
    double px = page_x(L, x[i]), py = page_y(L, y[i]);
    if (pen_down)
      cairo_line_to(cr, px, py);
    else
      cairo_move_to(cr, px, py);
    pen_down = 1;
  }
}

static void draw_points(cairo_t *cr, const tl_layout *L, const tl_series *s) {
  if (s->kind == TL_SERIES_ERRORBAR) {
    set_color(cr, s->color, s->alpha);
    set_line(cr, TL_PLOT_LINE_SOLID, TL_ERRORBAR_WIDTH);
    cairo_new_path(cr);
    for (size_t i = 0; i < s->n; i++) {
      if (!point_valid(L, s->x[i], s->y[i]) || !isfinite(s->err[i]))
        continue;
      double e = fabs(s->err[i]), px = page_x(L, s->x[i]);
      double lo = s->y[i] - e, hi = s->y[i] + e;
      double plo = axis_valid(L->axis[1].scale, lo) ? page_y(L, lo) : L->ay + L->ah + 1.0;
      double phi = page_y(L, hi);
      cairo_move_to(cr, px, plo);
      cairo_line_to(cr, px, phi);
      cairo_move_to(cr, px - TL_ERRORBAR_CAP, phi);
      cairo_line_to(cr, px + TL_ERRORBAR_CAP, phi);
      if (axis_valid(L->axis[1].scale, lo)) {
        cairo_move_to(cr, px - TL_ERRORBAR_CAP, plo);
        cairo_line_to(cr, px + TL_ERRORBAR_CAP, plo);
      }
    }
    cairo_stroke(cr);
  }
  if (s->line != TL_PLOT_LINE_NONE) {
    set_color(cr, s->color, s->alpha);
    set_line(cr, s->line, s->width);
    draw_polyline(cr, L, s->x, s->y, s->n);
    cairo_stroke(cr);
  }
  if (s->marker != TL_PLOT_MARKER_NONE) {
    set_color(cr, s->color, s->alpha);
    for (size_t i = 0; i < s->n; i++)
      if (point_valid(L, s->x[i], s->y[i]))
        draw_marker(cr, s->marker, page_x(L, s->x[i]), page_y(L, s->y[i]), s->marker_size);
  }
}

/* A band: one closed polygon per run of valid points. */
static void draw_band(cairo_t *cr, const tl_layout *L, const tl_series *s) {
  set_color(cr, s->color, s->alpha);
  size_t i = 0;
  while (i < s->n) {
    while (i < s->n && (!point_valid(L, s->x[i], s->lo[i]) || !point_valid(L, s->x[i], s->hi[i])))
      i++;
    size_t start = i;
    while (i < s->n && point_valid(L, s->x[i], s->lo[i]) && point_valid(L, s->x[i], s->hi[i]))
      i++;
    if (i - start < 2)
      continue;
    cairo_new_path(cr);
    for (size_t k = start; k < i; k++)
      cairo_line_to(cr, page_x(L, s->x[k]), page_y(L, s->lo[k]));
    for (size_t k = i; k-- > start;)
      cairo_line_to(cr, page_x(L, s->x[k]), page_y(L, s->hi[k]));
    cairo_close_path(cr);
    cairo_fill(cr);
  }
}

static void draw_histogram(cairo_t *cr, const tl_layout *L, const tl_series *s) {
  double base = L->axis[1].scale == TL_PLOT_LOG10 ? L->ay + L->ah + 1.0 : page_y(L, 0.0);
  cairo_new_path(cr);
  for (size_t i = 0; i < s->n; i++) {
    if (!axis_valid(L->axis[0].scale, s->x[i]) || !axis_valid(L->axis[0].scale, s->x[i + 1]) ||
        !axis_valid(L->axis[1].scale, s->y[i]))
      continue;
    double x0 = page_x(L, s->x[i]), x1 = page_x(L, s->x[i + 1]), top = page_y(L, s->y[i]);
    cairo_rectangle(cr, x0, fmin(base, top), x1 - x0, fabs(base - top));
  }
  set_color(cr, s->color, s->alpha);
  cairo_fill_preserve(cr);
  if (s->line != TL_PLOT_LINE_NONE) {
    set_color(cr, s->color, 1.0);
    set_line(cr, s->line, s->width);
    cairo_stroke(cr);
  }
  cairo_new_path(cr);
}

static void draw_polygon(cairo_t *cr, const tl_layout *L, const tl_series *s) {
  draw_polyline(cr, L, s->x, s->y, s->n);
  cairo_close_path(cr);
  set_color(cr, s->color, s->alpha);
  cairo_fill_preserve(cr);
  if (s->line != TL_PLOT_LINE_NONE) {
    set_color(cr, s->color, 1.0);
    set_line(cr, s->line, s->width);
    cairo_stroke(cr);
  }
  cairo_new_path(cr);
}

/* ---- Colour maps ---- */

typedef struct {
  double L, a, b;
} tl_lab;

static double srgb_to_linear(double c) {
  return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

static double linear_to_srgb(double c) {
  c = c < 0 ? 0 : c > 1 ? 1 : c;
  return c <= 0.0031308 ? 12.92 * c : 1.055 * pow(c, 1.0 / 2.4) - 0.055;
}

/* CIE 1976 L*a*b* with the D65 white point (sRGB's). */
#define TL_D65_X 0.95047
#define TL_D65_Z 1.08883
#define TL_LAB_EPS (216.0 / 24389.0)
#define TL_LAB_KAPPA (24389.0 / 27.0)

static double lab_f(double t) {
  return t > TL_LAB_EPS ? cbrt(t) : (TL_LAB_KAPPA * t + 16.0) / 116.0;
}

static double lab_finv(double f) {
  double t = f * f * f;
  return t > TL_LAB_EPS ? t : (116.0 * f - 16.0) / TL_LAB_KAPPA;
}

static tl_lab rgb_to_lab(tl_rgb c) {
  double r = srgb_to_linear(c.r), g = srgb_to_linear(c.g), b = srgb_to_linear(c.b);
  double X = 0.4124564 * r + 0.3575761 * g + 0.1804375 * b;
  double Y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b;
  double Z = 0.0193339 * r + 0.1191920 * g + 0.9503041 * b;
  double fx = lab_f(X / TL_D65_X), fy = lab_f(Y), fz = lab_f(Z / TL_D65_Z);
  tl_lab out = {116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)};
  return out;
}

static tl_rgb lab_to_rgb(tl_lab c) {
  double fy = (c.L + 16.0) / 116.0, fx = fy + c.a / 500.0, fz = fy - c.b / 200.0;
  double X = TL_D65_X * lab_finv(fx), Y = lab_finv(fy), Z = TL_D65_Z * lab_finv(fz);
  double r = 3.2404542 * X - 1.5371385 * Y - 0.4985314 * Z;
  double g = -0.9692660 * X + 1.8760108 * Y + 0.0415560 * Z;
  double b = 0.0556434 * X - 0.2040259 * Y + 1.0572252 * Z;
  tl_rgb out = {linear_to_srgb(r), linear_to_srgb(g), linear_to_srgb(b)};
  return out;
}

static tl_rgb colormap(int cmap, double t) {
  const unsigned *pts = cmap == TL_PLOT_CMAP_DIVERGING ? tl_cmap_diverging : tl_cmap_viridis;
  size_t n = cmap == TL_PLOT_CMAP_DIVERGING ? sizeof tl_cmap_diverging / sizeof(unsigned)
                                            : sizeof tl_cmap_viridis / sizeof(unsigned);
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  double u = t * (double)(n - 1);
  size_t i = (size_t)floor(u);
  if (i >= n - 1)
    i = n - 2;
  double f = u - (double)i;
  tl_lab a = rgb_to_lab(rgb_of(pts[i])), b = rgb_to_lab(rgb_of(pts[i + 1]));
  tl_lab m = {a.L + f * (b.L - a.L), a.a + f * (b.a - a.a), a.b + f * (b.b - a.b)};
  return lab_to_rgb(m);
}

static uint32_t pixel_of(tl_rgb c) {
  uint32_t r = (uint32_t)lround(255.0 * c.r), g = (uint32_t)lround(255.0 * c.g),
           b = (uint32_t)lround(255.0 * c.b);
  return 0xFF000000u | (r << 16) | (g << 8) | b;
}

/* Colour-map position of a value: NaN when not drawable. */
static double heat_t(const tl_series *s, double z) {
  if (!isfinite(z) || (s->zlog && !(z > 0)))
    return NAN;
  if (s->zlog)
    return (log10(z) - log10(s->zlo)) / (log10(s->zhi) - log10(s->zlo));
  return (z - s->zlo) / (s->zhi - s->zlo);
}

/* Paint an image (ARGB32, w x h) into a page rectangle, pixels kept sharp. */
static void paint_image(cairo_t *cr, cairo_surface_t *img, int w, int h, double x, double y,
                        double pw, double ph) {
  cairo_save(cr);
  cairo_translate(cr, x, y);
  cairo_scale(cr, pw / w, ph / h);
  cairo_set_source_surface(cr, img, 0, 0);
  cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
  cairo_rectangle(cr, 0, 0, w, h);
  cairo_fill(cr);
  cairo_restore(cr);
}

static void draw_heatmap(cairo_t *cr, const tl_layout *L, const tl_series *s) {
  if (!point_valid(L, s->box[0], s->box[2]))
    return; /* the box is not on the (log) axes: nothing to draw */
  int w = (int)s->nx, h = (int)s->ny;
  cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
  if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(img);
    return; /* out of memory: cairo's status on the page would not show it; skip */
  }
  cairo_surface_flush(img);
  unsigned char *data = cairo_image_surface_get_data(img);
  int stride = cairo_image_surface_get_stride(img);
  for (int row = 0; row < h; row++) {
    uint32_t *px = (uint32_t *)(void *)(data + (size_t)row * (size_t)stride);
    size_t j = (size_t)(h - 1 - row); /* image rows run downwards, j upwards */
    for (int i = 0; i < w; i++) {
      double t = heat_t(s, s->z[j * s->nx + (size_t)i]);
      px[i] = isnan(t) ? 0u : pixel_of(colormap(s->cmap, t));
    }
  }
  cairo_surface_mark_dirty(img);
  double x0 = page_x(L, s->box[0]), x1 = page_x(L, s->box[1]);
  double ytop = page_y(L, s->box[3]), ybot = page_y(L, s->box[2]);
  paint_image(cr, img, w, h, x0, ytop, x1 - x0, ybot - ytop);
  cairo_surface_destroy(img);
}

static void draw_span(cairo_t *cr, const tl_layout *L, const tl_series *s) {
  int vertical = s->kind == TL_SERIES_XSPAN;
  const tl_axis *a = &L->axis[vertical ? 0 : 1];
  if (!axis_valid(a->scale, s->box[0]) || !axis_valid(a->scale, s->box[1]))
    return;
  set_color(cr, s->color, s->alpha);
  cairo_new_path(cr);
  if (vertical) {
    double x0 = page_x(L, s->box[0]), x1 = page_x(L, s->box[1]);
    cairo_rectangle(cr, x0, L->ay, x1 - x0, L->ah);
  } else {
    double ya = page_y(L, s->box[1]), yb = page_y(L, s->box[0]);
    cairo_rectangle(cr, L->ax, ya, L->aw, yb - ya);
  }
  cairo_fill(cr);
}

static void draw_reference(cairo_t *cr, const tl_layout *L, const tl_series *s) {
  int vertical = s->kind == TL_SERIES_VLINE;
  if (!axis_valid(L->axis[vertical ? 0 : 1].scale, s->box[0]))
    return;
  set_color(cr, s->color, s->alpha);
  set_line(cr, s->line, s->width);
  cairo_new_path(cr);
  if (vertical) {
    double x = page_x(L, s->box[0]);
    cairo_move_to(cr, x, L->ay);
    cairo_line_to(cr, x, L->ay + L->ah);
  } else {
    double y = page_y(L, s->box[0]);
    cairo_move_to(cr, L->ax, y);
    cairo_line_to(cr, L->ax + L->aw, y);
  }
  if (s->line != TL_PLOT_LINE_NONE)
    cairo_stroke(cr);
  cairo_new_path(cr);
}


/* Top-left corner of the legend box. */
static void legend_origin(const tl_layout *L, const tl_panel *p, double *x, double *y) {
  double w = L->legend_w, h = L->legend_h;
  switch (p->legend) {
  case TL_PLOT_LEGEND_UPPER_LEFT:
    *x = L->ax + TL_LEGEND_INSET;
    *y = L->ay + TL_LEGEND_INSET;
    break;
  case TL_PLOT_LEGEND_LOWER_LEFT:
    *x = L->ax + TL_LEGEND_INSET;
    *y = L->ay + L->ah - TL_LEGEND_INSET - h;
    break;
  case TL_PLOT_LEGEND_LOWER_RIGHT:
    *x = L->ax + L->aw - TL_LEGEND_INSET - w;
    *y = L->ay + L->ah - TL_LEGEND_INSET - h;
    break;
  case TL_PLOT_LEGEND_OUTSIDE:
    *x = L->ax + L->aw + cbar_extent(L) + TL_LEGEND_OUTSIDE_GAP;
    *y = L->ay;
    break;
  default:
    *x = L->ax + L->aw - TL_LEGEND_INSET - w;
    *y = L->ay + TL_LEGEND_INSET;
    break;
  }
}

/* Does the page rectangle [x0,x1] x [y0,y1] meet the legend box? */
static int legend_overlaps(const tl_layout *L, const tl_panel *p, double x0, double x1, double y0,
                           double y1) {
  if (L->n_legend == 0)
    return 0;
  double lx, ly;
  legend_origin(L, p, &lx, &ly);
  return x0 < lx + L->legend_w && x1 > lx && y0 < ly + L->legend_h && y1 > ly;
}

/* Labels of reference lines: at the line's far end, inside the axes, on the
 * side with room (and away from the legend when the other side is free). */
static void draw_reference_label(cairo_t *cr, const tl_layout *L, const tl_panel *p,
                                 const tl_series *s) {
  int vertical = s->kind == TL_SERIES_VLINE;
  if (!s->label || !axis_valid(L->axis[vertical ? 0 : 1].scale, s->box[0]))
    return;
  tl_label lb;
  label_measure(cr, s->label, TL_SIZE_REF_LABEL, &lb);
  set_color(cr, s->color, 1.0);
  if (vertical) {
    /* Along the line, reading upwards, ending near the top: narrow, so it
     * rarely meets a legend or the data. */
    double x = page_x(L, s->box[0]);
    if (x < L->ax || x > L->ax + L->aw)
      return;
    double lw = label_height(&lb), top = L->ay + TL_REF_LABEL_PAD, bottom = top + lb.width;
    double xr = x + TL_REF_LABEL_PAD + lw, xl = x - TL_REF_LABEL_PAD - lw;
    int left = xr > L->ax + L->aw;
    int hit_r = legend_overlaps(L, p, x, xr, top, bottom);
    int hit_l = legend_overlaps(L, p, xl, x, top, bottom);
    if (!left && hit_r && xl >= L->ax && !hit_l)
      left = 1;
    if (left ? hit_l : hit_r) { /* both sides under the legend: start below it */
      double lx, ly;
      legend_origin(L, p, &lx, &ly);
      if (ly + L->legend_h + TL_REF_LABEL_PAD + lb.width <= L->ay + L->ah)
        top = ly + L->legend_h + TL_REF_LABEL_PAD;
    }
    label_draw(cr, &lb, left ? x - TL_REF_LABEL_PAD : x + TL_REF_LABEL_PAD, top,
               left ? TL_PLOT_ANCHOR_SE : TL_PLOT_ANCHOR_NE, 0.5 * TL_PI);
  } else {
    double y = page_y(L, s->box[0]);
    if (y < L->ay || y > L->ay + L->ah)
      return;
    double lh = label_height(&lb), right = L->ax + L->aw - TL_REF_LABEL_PAD;
    int below = y - TL_REF_LABEL_PAD - lh < L->ay;
    double y0 = below ? y : y - TL_REF_LABEL_PAD - lh, y1 = y0 + TL_REF_LABEL_PAD + lh;
    /* At the right end unless the legend is there and the left end is free. */
    int at_left = legend_overlaps(L, p, right - lb.width, right, y0, y1) &&
                  !legend_overlaps(L, p, L->ax, L->ax + TL_REF_LABEL_PAD + lb.width, y0, y1);
    label_draw(cr, &lb, at_left ? L->ax + TL_REF_LABEL_PAD : right,
               below ? y + TL_REF_LABEL_PAD : y - TL_REF_LABEL_PAD,
               at_left ? (below ? TL_PLOT_ANCHOR_NW : TL_PLOT_ANCHOR_SW)
                       : (below ? TL_PLOT_ANCHOR_NE : TL_PLOT_ANCHOR_SE),
               0);
  }
}

/* Draw a label with its baseline origin at (x, y). */
static void label_draw_origin(cairo_t *cr, const tl_label *lb, double x, double y) {
  for (int i = 0; i < lb->n; i++) {
    const tl_plot_run *r = &lb->runs[i];
    font_select(cr, r->font, r->size);
    cairo_move_to(cr, x + r->x, y - r->rise);
    cairo_show_text(cr, r->text);
  }
}

/* One set of tick marks (major or minor) at the values v[0..n-1]. */
static void draw_tick_set(cairo_t *cr, const tl_axis *a, const double *v, int n, double x0,
                          double y0, double length, int vertical, double dir, double tick,
                          double width) {
  cairo_new_path(cr);
  for (int i = 0; i < n; i++) {
    double t = axis_t(a, v[i]);
    if (vertical) {
      double y = y0 + length * (1 - t);
      cairo_move_to(cr, x0, y);
      cairo_line_to(cr, x0 + dir * tick, y);
    } else {
      double x = x0 + length * t;
      cairo_move_to(cr, x, y0);
      cairo_line_to(cr, x, y0 + dir * tick);
    }
  }
  set_line(cr, TL_PLOT_LINE_SOLID, width);
  cairo_stroke(cr);
}

static void draw_ticks(cairo_t *cr, const tl_axis *a, double x0, double y0, double length,
                       int vertical, double dir) {
  /* Ticks leave the axis line at (x0, y0) in direction dir (+1: right/down). */
  draw_tick_set(cr, a, a->major, a->n_major, x0, y0, length, vertical, dir, TL_TICK_LEN,
                TL_TICK_WIDTH);
  draw_tick_set(cr, a, a->minor, a->n_minor, x0, y0, length, vertical, dir, TL_MINOR_TICK_LEN,
                TL_MINOR_TICK_WIDTH);
}

static void draw_axes(cairo_t *cr, const tl_layout *L) {
  const tl_axis *x = &L->axis[0], *y = &L->axis[1];
  cairo_set_source_rgb(cr, 0, 0, 0);
  set_line(cr, TL_PLOT_LINE_SOLID, TL_FRAME_WIDTH);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_MITER);
  cairo_rectangle(cr, L->ax, L->ay, L->aw, L->ah);
  cairo_stroke(cr);
  draw_ticks(cr, x, L->ax, L->ay + L->ah, L->aw, 0, 1.0);
  draw_ticks(cr, y, L->ax, L->ay, L->ah, 1, -1.0);
  /* x tick labels share one baseline, so 10^k and plain numbers line up. */
  double base = L->ay + L->ah + TL_TICK_LEN + TL_TICK_PAD + x->max_ascent;
  for (int i = 0; i < x->n_major; i++) {
    double px = L->ax + L->aw * axis_t(x, x->major[i]);
    label_draw_origin(cr, &x->label[i], px - 0.5 * x->label[i].width, base);
  }
  for (int i = 0; i < y->n_major; i++) {
    double py = L->ay + L->ah * (1 - axis_t(y, y->major[i]));
    label_draw(cr, &y->label[i], L->ax - TL_TICK_LEN - TL_TICK_PAD, py, TL_PLOT_ANCHOR_E, 0);
  }
}

static void draw_colorbar(cairo_t *cr, const tl_layout *L, const tl_series *s) {
  double bx = L->ax + L->aw + TL_CBAR_GAP;
  cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, TL_CBAR_STEPS);
  if (cairo_surface_status(img) == CAIRO_STATUS_SUCCESS) {
    cairo_surface_flush(img);
    unsigned char *data = cairo_image_surface_get_data(img);
    int stride = cairo_image_surface_get_stride(img);
    for (int row = 0; row < TL_CBAR_STEPS; row++) {
      uint32_t *px = (uint32_t *)(void *)(data + (size_t)row * (size_t)stride);
      px[0] = pixel_of(colormap(s->cmap, 1.0 - (row + 0.5) / TL_CBAR_STEPS));
    }
    cairo_surface_mark_dirty(img);
    paint_image(cr, img, 1, TL_CBAR_STEPS, bx, L->ay, TL_CBAR_WIDTH, L->ah);
  }
  cairo_surface_destroy(img);
  cairo_set_source_rgb(cr, 0, 0, 0);
  set_line(cr, TL_PLOT_LINE_SOLID, TL_CBAR_FRAME_WIDTH);
  cairo_rectangle(cr, bx, L->ay, TL_CBAR_WIDTH, L->ah);
  cairo_stroke(cr);
  double right = bx + TL_CBAR_WIDTH;
  draw_ticks(cr, &L->cb, right, L->ay, L->ah, 1, 1.0);
  for (int i = 0; i < L->cb.n_major; i++) {
    double py = L->ay + L->ah * (1 - axis_t(&L->cb, L->cb.major[i]));
    label_draw(cr, &L->cb.label[i], right + TL_TICK_LEN + TL_TICK_PAD, py, TL_PLOT_ANCHOR_W, 0);
  }
  if (L->cb.has_mult)
    label_draw(cr, &L->cb.mult, bx, L->ay - TL_MULT_PAD, TL_PLOT_ANCHOR_SW, 0);
  if (L->cb_label.n) {
    double lx = right + TL_TICK_LEN + TL_TICK_PAD + L->cb.max_width + TL_LABEL_PAD +
                L->cb_label.ascent;
    cairo_save(cr);
    cairo_translate(cr, lx, L->ay + 0.5 * L->ah);
    cairo_rotate(cr, -0.5 * TL_PI);
    label_draw_origin(cr, &L->cb_label, -0.5 * L->cb_label.width, 0);
    cairo_restore(cr);
  }
}

static void draw_legend_sample(cairo_t *cr, const tl_series *s, double x, double cy, double rh) {
  double x1 = x + TL_LEGEND_SAMPLE, xm = x + 0.5 * TL_LEGEND_SAMPLE;
  switch (s->kind) {
  case TL_SERIES_BAND:
  case TL_SERIES_POLYGON:
  case TL_SERIES_HISTOGRAM:
  case TL_SERIES_XSPAN:
  case TL_SERIES_YSPAN: {
    double ph = TL_LEGEND_PATCH_HEIGHT * rh;
    cairo_new_path(cr);
    cairo_rectangle(cr, x, cy - 0.5 * ph, TL_LEGEND_SAMPLE, ph);
    set_color(cr, s->color, s->alpha);
    cairo_fill_preserve(cr);
    if (s->line != TL_PLOT_LINE_NONE) {
      set_color(cr, s->color, 1.0);
      set_line(cr, s->line, fmin(s->width, TL_OUTLINE_WIDTH));
      cairo_stroke(cr);
    }
    cairo_new_path(cr);
    break;
  }
  default:
    set_color(cr, s->color, s->alpha);
    if (s->kind == TL_SERIES_ERRORBAR) {
      double e = 0.5 * TL_CAP_HEIGHT * TL_SIZE_LEGEND;
      set_line(cr, TL_PLOT_LINE_SOLID, TL_ERRORBAR_WIDTH);
      cairo_move_to(cr, xm, cy - e);
      cairo_line_to(cr, xm, cy + e);
      cairo_move_to(cr, xm - TL_ERRORBAR_CAP, cy - e);
      cairo_line_to(cr, xm + TL_ERRORBAR_CAP, cy - e);
      cairo_move_to(cr, xm - TL_ERRORBAR_CAP, cy + e);
      cairo_line_to(cr, xm + TL_ERRORBAR_CAP, cy + e);
      cairo_stroke(cr);
    }
    if (s->line != TL_PLOT_LINE_NONE) {
      set_line(cr, s->line, s->width);
      cairo_move_to(cr, x, cy);
      cairo_line_to(cr, x1, cy);
      cairo_stroke(cr);
    }
    if (s->marker != TL_PLOT_MARKER_NONE)
      draw_marker(cr, s->marker, xm, cy, s->marker_size);
    break;
  }
}

static void draw_legend(cairo_t *cr, const tl_layout *L, const tl_panel *p) {
  if (L->n_legend == 0)
    return;
  double w = L->legend_w, h = L->legend_h, x, y;
  legend_origin(L, p, &x, &y);
  cairo_new_path(cr);
  cairo_rectangle(cr, x, y, w, h);
  cairo_set_source_rgba(cr, 1, 1, 1, TL_LEGEND_ALPHA);
  cairo_fill_preserve(cr);
  cairo_set_source_rgb(cr, TL_LEGEND_FRAME_GREY, TL_LEGEND_FRAME_GREY, TL_LEGEND_FRAME_GREY);
  set_line(cr, TL_PLOT_LINE_SOLID, TL_LEGEND_FRAME_WIDTH);
  cairo_stroke(cr);
  double cy = y + TL_LEGEND_PAD;
  for (size_t i = 0; i < L->n_legend; i++) {
    double above, below;
    legend_row(L, p, i, &above, &below);
    cy += above;
    const tl_series *s = &p->series[L->legend_series[i]];
    draw_legend_sample(cr, s, x + TL_LEGEND_PAD, cy, above + below);
    cairo_set_source_rgb(cr, 0, 0, 0);
    label_draw_origin(cr, &L->legend_label[i],
                      x + TL_LEGEND_PAD + TL_LEGEND_SAMPLE + TL_LEGEND_SAMPLE_GAP,
                      cy + 0.5 * TL_CAP_HEIGHT * TL_SIZE_LEGEND);
    cy += below + TL_LEGEND_ROW_GAP;
  }
}

static void draw_text(cairo_t *cr, const tl_layout *L, const tl_series *s) {
  double x, y;
  if (s->axes_fraction) {
    if (!isfinite(s->x[0]) || !isfinite(s->y[0]))
      return;
    x = L->ax + s->x[0] * L->aw;
    y = L->ay + (1 - s->y[0]) * L->ah;
  } else {
    if (!point_valid(L, s->x[0], s->y[0]))
      return;
    x = page_x(L, s->x[0]);
    y = page_y(L, s->y[0]);
  }
  tl_label lb;
  label_measure(cr, s->label, s->text_size, &lb);
  set_color(cr, s->color, s->alpha);
  label_draw(cr, &lb, x, y, s->anchor, 0);
}

typedef struct {
  double cell_left, cell_right, xlabel_base, ylabel_base;
} tl_cell;

static void draw_panel(cairo_t *cr, const tl_plot_figure *fig, int pi, const tl_layout *L,
                       const tl_cell *cell) {
  const tl_panel *p = &fig->panels[pi];
  cairo_save(cr);
  cairo_rectangle(cr, L->ax, L->ay, L->aw, L->ah);
  cairo_clip(cr);
  /* Spans behind everything, then heatmaps, then the rest in call order. */
  for (size_t k = 0; k < p->n_series; k++)
    if (p->series[k].kind == TL_SERIES_XSPAN || p->series[k].kind == TL_SERIES_YSPAN)
      draw_span(cr, L, &p->series[k]);
  for (size_t k = 0; k < p->n_series; k++)
    if (p->series[k].kind == TL_SERIES_HEATMAP)
      draw_heatmap(cr, L, &p->series[k]);
  for (size_t k = 0; k < p->n_series; k++) {
    const tl_series *s = &p->series[k];
    switch (s->kind) {
    case TL_SERIES_LINE:
    case TL_SERIES_SCATTER:
    case TL_SERIES_ERRORBAR: draw_points(cr, L, s); break;
    case TL_SERIES_BAND: draw_band(cr, L, s); break;
    case TL_SERIES_HISTOGRAM: draw_histogram(cr, L, s); break;
    case TL_SERIES_POLYGON: draw_polygon(cr, L, s); break;
    case TL_SERIES_HLINE:
    case TL_SERIES_VLINE: draw_reference(cr, L, s); break;
    default: break;
    }
  }
  for (size_t k = 0; k < p->n_series; k++)
    if (p->series[k].kind == TL_SERIES_HLINE || p->series[k].kind == TL_SERIES_VLINE)
      draw_reference_label(cr, L, p, &p->series[k]);
  cairo_restore(cr);
  draw_axes(cr, L);
  cairo_set_source_rgb(cr, 0, 0, 0);
  if (L->label[0].n)
    label_draw_origin(cr, &L->label[0], L->ax + 0.5 * (L->aw - L->label[0].width),
                      cell->xlabel_base);
  if (L->axis[0].has_mult)
    label_draw_origin(cr, &L->axis[0].mult, L->ax + L->aw - L->axis[0].mult.width,
                      cell->xlabel_base);
  if (L->axis[1].has_mult)
    label_draw(cr, &L->axis[1].mult, L->ax, L->ay - TL_MULT_PAD, TL_PLOT_ANCHOR_SW, 0);
  if (L->label[1].n) {
    cairo_save(cr);
    cairo_translate(cr, cell->ylabel_base, L->ay + 0.5 * L->ah);
    cairo_rotate(cr, -0.5 * TL_PI);
    label_draw_origin(cr, &L->label[1], -0.5 * L->label[1].width, 0);
    cairo_restore(cr);
  }
  double band_base =
      L->ay - TL_TITLE_PAD - fmax(L->title.descent, L->letter.descent) - title_lift(L);
  if (L->title.n) {
    /* Centred over the axes, but kept inside the cell and clear of the
     * panel letter when it is wider than the axes. */
    double tx = L->ax + 0.5 * (L->aw - L->title.width);
    tx = fmin(tx, cell->cell_right - TL_OUTER_PAD - L->title.width);
    double left = cell->cell_left + TL_OUTER_PAD + (L->letter.n ? L->letter.width + TL_LETTER_GAP : 0);
    label_draw_origin(cr, &L->title, fmax(tx, left), band_base);
  }
  if (L->letter.n)
    label_draw_origin(cr, &L->letter, cell->cell_left + TL_OUTER_PAD, band_base);
  if (L->cbar >= 0)
    draw_colorbar(cr, L, &p->series[L->cbar]);
  draw_legend(cr, L, p);
  for (size_t k = 0; k < p->n_series; k++)
    if (p->series[k].kind == TL_SERIES_TEXT)
      draw_text(cr, L, &p->series[k]);
}

static void draw_figure(cairo_t *cr, const tl_plot_figure *fig, const tl_layout *lay,
                        const tl_cell *cells) {
  font_options_apply(cr);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  for (int pi = 0; pi < fig->n_panels; pi++)
    draw_panel(cr, fig, pi, &lay[pi], &cells[pi]);
}

/* ---- TSV ---- */

static void tsv_label(FILE *fp, const char *s) {
  for (; s && *s; s++)
    fputc(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s, fp);
}

enum { TL_COL_X = 1, TL_COL_Y = 2, TL_COL_LO = 4, TL_COL_HI = 8, TL_COL_ERR = 16, TL_COL_Z = 32 };

typedef struct {
  FILE *fp;
  int columns; /* which optional columns the file has */
  int panel;
  size_t series;
  const tl_series *s;
} tl_tsv;

static void tsv_row(tl_tsv *t, int have, double x, double y, double lo, double hi, double err,
                    double z) {
  FILE *fp = t->fp;
  fprintf(fp, "%c\t%zu\t%s\t", 'a' + t->panel, t->series, tl_series_names[t->s->kind]);
  tsv_label(fp, t->s->kind == TL_SERIES_HEATMAP ? t->s->cbar_label : t->s->label);
  const double v[6] = {x, y, lo, hi, err, z};
  const int bit[6] = {TL_COL_X, TL_COL_Y, TL_COL_LO, TL_COL_HI, TL_COL_ERR, TL_COL_Z};
  for (int c = 0; c < 6; c++) {
    if (c >= 2 && !(t->columns & bit[c]))
      continue;
    fputc('\t', fp);
    if (have & bit[c])
      fprintf(fp, "%.17g", v[c]);
  }
  fputc('\n', fp);
}

static int write_tsv(FILE *fp, const tl_plot_figure *fig) {
  int columns = TL_COL_X | TL_COL_Y;
  for (int pi = 0; pi < fig->n_panels; pi++)
    for (size_t k = 0; k < fig->panels[pi].n_series; k++) {
      int kind = fig->panels[pi].series[k].kind;
      if (kind == TL_SERIES_BAND || kind == TL_SERIES_HISTOGRAM || kind == TL_SERIES_XSPAN ||
          kind == TL_SERIES_YSPAN)
        columns |= TL_COL_LO | TL_COL_HI;
      if (kind == TL_SERIES_ERRORBAR)
        columns |= TL_COL_ERR;
      if (kind == TL_SERIES_HEATMAP)
        columns |= TL_COL_Z;
    }
  fputs("panel\tseries\tkind\tlabel\tx\ty", fp);
  if (columns & TL_COL_LO)
    fputs("\tlo\thi", fp);
  if (columns & TL_COL_ERR)
    fputs("\terr", fp);
  if (columns & TL_COL_Z)
    fputs("\tz", fp);
  fputc('\n', fp);
  tl_tsv t = {fp, columns, 0, 0, NULL};
  for (int pi = 0; pi < fig->n_panels; pi++) {
    const tl_panel *p = &fig->panels[pi];
    t.panel = pi;
    for (size_t k = 0; k < p->n_series; k++) {
      const tl_series *s = &p->series[k];
      t.series = k;
      t.s = s;
      switch (s->kind) {
      case TL_SERIES_LINE:
      case TL_SERIES_SCATTER:
      case TL_SERIES_POLYGON:
      case TL_SERIES_TEXT:
        for (size_t i = 0; i < s->n; i++)
          tsv_row(&t, TL_COL_X | TL_COL_Y, s->x[i], s->y[i], 0, 0, 0, 0);
        break;
      case TL_SERIES_ERRORBAR:
        for (size_t i = 0; i < s->n; i++)
          tsv_row(&t, TL_COL_X | TL_COL_Y | TL_COL_ERR, s->x[i], s->y[i], 0, 0, s->err[i], 0);
        break;
      case TL_SERIES_BAND:
        for (size_t i = 0; i < s->n; i++)
          tsv_row(&t, TL_COL_X | TL_COL_LO | TL_COL_HI, s->x[i], 0, s->lo[i], s->hi[i], 0, 0);
        break;
      case TL_SERIES_HISTOGRAM: /* x: bin centre, lo/hi: bin edges, y: height */
        for (size_t i = 0; i < s->n; i++)
          tsv_row(&t, TL_COL_X | TL_COL_Y | TL_COL_LO | TL_COL_HI, 0.5 * (s->x[i] + s->x[i + 1]),
                  s->y[i], s->x[i], s->x[i + 1], 0, 0);
        break;
      case TL_SERIES_HEATMAP: { /* x, y: cell centre in the axes' scale */
        int lx = p->scale[0] == TL_PLOT_LOG10, ly = p->scale[1] == TL_PLOT_LOG10;
        double fx0 = lx ? log10(s->box[0]) : s->box[0], fx1 = lx ? log10(s->box[1]) : s->box[1];
        double fy0 = ly ? log10(s->box[2]) : s->box[2], fy1 = ly ? log10(s->box[3]) : s->box[3];
        for (size_t j = 0; j < s->ny; j++)
          for (size_t i = 0; i < s->nx; i++) {
            double fx = fx0 + (fx1 - fx0) * ((double)i + 0.5) / (double)s->nx;
            double fy = fy0 + (fy1 - fy0) * ((double)j + 0.5) / (double)s->ny;
            tsv_row(&t, TL_COL_X | TL_COL_Y | TL_COL_Z, lx ? pow(10.0, fx) : fx,
                    ly ? pow(10.0, fy) : fy, 0, 0, 0, s->z[j * s->nx + i]);
          }
        break;
      }
      case TL_SERIES_HLINE:
        tsv_row(&t, TL_COL_Y, 0, s->box[0], 0, 0, 0, 0);
        break;
      case TL_SERIES_VLINE:
        tsv_row(&t, TL_COL_X, s->box[0], 0, 0, 0, 0, 0);
        break;
      case TL_SERIES_XSPAN:
      case TL_SERIES_YSPAN:
        tsv_row(&t, TL_COL_LO | TL_COL_HI, 0, 0, s->box[0], s->box[1], 0, 0);
        break;
      default:
        break;
      }
    }
  }
  return ferror(fp) ? TL_EIO : TL_SUCCESS;
}

/* ---- Save ---- */

static void layout_free(tl_layout *lay, int n) {
  if (!lay)
    return;
  for (int i = 0; i < n; i++) {
    free(lay[i].legend_series);
    free(lay[i].legend_label);
  }
  free(lay);
}

static int cairo_failed(cairo_status_t st, const char *what, const char *path) {
  if (st == CAIRO_STATUS_SUCCESS)
    return TL_SUCCESS;
  TL_ERROR(TL_EIO, "cannot write %s (%s): %s", path, what, cairo_status_to_string(st));
}

static int save_pdf(const tl_plot_figure *fig, const tl_layout *lay, const tl_cell *cells,
                    const char *tmp, const char *final_path) {
  cairo_surface_t *surf = cairo_pdf_surface_create(tmp, fig->width, fig->height);
  cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_CREATE_DATE, TL_PDF_DATE);
  cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_CREATOR, "twolayer tl_plot");
  cairo_t *cr = cairo_create(surf);
  draw_figure(cr, fig, lay, cells);
  cairo_status_t st = cairo_status(cr);
  cairo_destroy(cr);
  cairo_surface_finish(surf);
  if (st == CAIRO_STATUS_SUCCESS)
    st = cairo_surface_status(surf);
  cairo_surface_destroy(surf);
  return cairo_failed(st, "PDF", final_path);
}

static int save_png(const tl_plot_figure *fig, const tl_layout *lay, const tl_cell *cells,
                    const char *tmp, const char *final_path) {
  double scale = TL_PLOT_PNG_DPI / 72.0;
  int w = (int)ceil(fig->width * scale), h = (int)ceil(fig->height * scale);
  cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
  cairo_t *cr = cairo_create(surf);
  cairo_scale(cr, scale, scale);
  draw_figure(cr, fig, lay, cells);
  cairo_status_t st = cairo_status(cr);
  cairo_destroy(cr);
  if (st == CAIRO_STATUS_SUCCESS)
    st = cairo_surface_write_to_png(surf, tmp);
  cairo_surface_destroy(surf);
  return cairo_failed(st, "PNG", final_path);
}

/* Where the axis labels of each cell go: x labels of a row share a baseline
 * at the row's bottom, y labels of a column at the column's left edge. */
static void layout_cells(const tl_plot_figure *fig, const tl_layout *lay, tl_cell *cells) {
  for (int pi = 0; pi < fig->n_panels; pi++) {
    int r = pi / fig->cols, c = pi % fig->cols;
    double desc = 0, asc = 0, left = INFINITY, right = -INFINITY, bottom = -INFINITY;
    for (int q = 0; q < fig->n_panels; q++) {
      const tl_layout *M = &lay[q];
      if (q / fig->cols == r) {
        desc = fmax(desc, fmax(M->label[0].descent, M->axis[0].mult.descent));
        bottom = fmax(bottom, M->ay + M->ah + M->need[TL_BOTTOM]);
      }
      if (q % fig->cols == c) {
        asc = fmax(asc, M->label[1].ascent);
        left = fmin(left, M->ax - M->need[TL_LEFT]);
        right = fmax(right, M->ax + M->aw + M->need[TL_RIGHT]);
      }
    }
    cells[pi].cell_left = left;
    cells[pi].cell_right = right;
    cells[pi].xlabel_base = bottom - TL_OUTER_PAD - desc;
    cells[pi].ylabel_base = left + TL_OUTER_PAD + asc;
  }
}

int tl_plot_figure_save(tl_plot_figure *fig, const char *path) {
  if (!fig)
    TL_ERROR(GSL_EINVAL, "tl_plot_figure_save: NULL figure");
  if (fig->status != TL_SUCCESS) {
    tl_error_set(fig->status, __FILE__, __LINE__, "figure: %s", fig->reason);
    return fig->status;
  }
  if (!path || !path[0])
    TL_ERROR(GSL_EINVAL, "tl_plot_figure_save: no path");
  char pdf_path[TL_ATOMIC_PATH_MAX], png_path[TL_ATOMIC_PATH_MAX], tsv_path[TL_ATOMIC_PATH_MAX];
  if ((size_t)snprintf(pdf_path, sizeof pdf_path, "%s.pdf", path) >= sizeof pdf_path)
    TL_ERROR(TL_EIO, "figure path too long: %s", path);
  snprintf(png_path, sizeof png_path, "%s.png", path);
  snprintf(tsv_path, sizeof tsv_path, "%s.tsv", path);

  tl_layout *lay = calloc((size_t)fig->n_panels, sizeof *lay);
  tl_cell *cells = calloc((size_t)fig->n_panels, sizeof *cells);
  double *col_left = calloc((size_t)(fig->cols + fig->rows), sizeof *col_left);
  cairo_t *mcr = measure_context();
  int status = TL_SUCCESS;
  if (!lay || !cells || !col_left) {
    fig_fail(fig, GSL_ENOMEM, "out of memory");
  } else if (figure_layout(fig, mcr, lay, col_left, col_left + fig->cols)) {
    layout_cells(fig, lay, cells);
  }
  if (cairo_status(mcr) != CAIRO_STATUS_SUCCESS)
    fig_fail(fig, GSL_EFAILED, "cairo: %s", cairo_status_to_string(cairo_status(mcr)));
  cairo_destroy(mcr);
  free(col_left);
  if (fig->status != TL_SUCCESS) { /* a layout error is the figure's: sticky */
    layout_free(lay, fig->n_panels);
    free(cells);
    tl_error_set(fig->status, __FILE__, __LINE__, "figure: %s", fig->reason);
    return fig->status;
  }

  /* All three files under temporary names; renamed only when all succeeded. */
  tl_atomic a_pdf, a_png, a_tsv;
  int have_pdf = 0, have_png = 0, have_tsv = 0;
  status = tl_atomic_begin(&a_pdf, pdf_path);
  have_pdf = status == TL_SUCCESS;
  if (status == TL_SUCCESS)
    status = save_pdf(fig, lay, cells, a_pdf.tmp_path, pdf_path);
  if (status == TL_SUCCESS) {
    status = tl_atomic_begin(&a_png, png_path);
    have_png = status == TL_SUCCESS;
  }
  if (status == TL_SUCCESS)
    status = save_png(fig, lay, cells, a_png.tmp_path, png_path);
  if (status == TL_SUCCESS) {
    status = tl_atomic_open(&a_tsv, tsv_path);
    have_tsv = status == TL_SUCCESS;
  }
  if (status == TL_SUCCESS && write_tsv(a_tsv.fp, fig) != TL_SUCCESS) {
    tl_error_set(TL_EIO, __FILE__, __LINE__, "cannot write %s", tsv_path);
    status = TL_EIO;
  }
  layout_free(lay, fig->n_panels);
  free(cells);
  if (status == TL_SUCCESS) {
    status = tl_atomic_commit(&a_pdf);
    have_pdf = 0;
  }
  if (status == TL_SUCCESS) {
    status = tl_atomic_commit(&a_png);
    have_png = 0;
  }
  if (status == TL_SUCCESS) {
    status = tl_atomic_commit(&a_tsv);
    have_tsv = 0;
  }
  if (have_pdf)
    tl_atomic_abort(&a_pdf);
  if (have_png)
    tl_atomic_abort(&a_png);
  if (have_tsv)
    tl_atomic_abort(&a_tsv);
  return status;
}
