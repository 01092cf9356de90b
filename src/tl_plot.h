/* tl_plot: scientific figures drawn directly on cairo.
 *
 * A figure is a grid of panels (rows x cols, addressed by index 0 .. rows*cols-1
 * in reading order), each with its own axes.  Series are added with one short
 * call each (tl_plot_line, tl_plot_scatter, tl_plot_errorbar, tl_plot_band,
 * tl_plot_histogram, tl_plot_heatmap, tl_plot_hline, tl_plot_xspan,
 * tl_plot_polygon, tl_plot_text, ...); the data are copied, so the caller may
 * free its arrays at once.  Nothing is drawn until tl_plot_figure_save, which
 * lays the grid out (margins measured from the tick labels, so nothing is
 * clipped and all axes boxes of the grid have the same size), draws it twice,
 * and writes three files atomically (tl_atomic): path.pdf (vector, with a fixed
 * creation date, so two runs give byte-identical files), path.png
 * (TL_PLOT_PNG_DPI) and path.tsv (every plotted value, %.17g, one row per point:
 * columns panel (letter), series (index in the panel), kind, label, x, y, and
 * lo, hi (bands, histogram bin edges, spans), err, z (heatmap cells, at the
 * cell centres) when the figure has such series; empty where not applicable).
 *
 * Errors are sticky, as in cairo: the first bad call (panel index out of range,
 * NULL data, bad range, out of memory) records a status and a reason in the
 * figure, every later call is a no-op, and tl_plot_figure_save returns the
 * status (with the reason given to tl_error_set).  Every function accepts a NULL
 * figure as a no-op, so a chapter checks the status once, at save.  Non-finite
 * data (NaN, inf, or <= 0 on a log axis) are never an error: such points are
 * skipped and break lines.
 *
 * Ticks follow the extended Wilkinson algorithm (Talbot, Lin, Hanrahan 2010,
 * "An extension of Wilkinson's algorithm for positioning tick labels on axes",
 * IEEE TVCG 16(6)): the labeling maximising
 *   0.25 simplicity + 0.2 coverage + 0.5 density + 0.05 legibility
 * over steps j*q*10^z, q in Q = (1, 5, 2, 2.5, 4, 3).  Log10 axes tick integer
 * powers of ten (thinned to every k-th decade when there are many), with minor
 * ticks at 2..9 when few decades are shown; a log range holding fewer than two
 * powers of ten gets ticks at 1, 2, 5 x 10^k or, failing that, linear ones.
 *
 * Labels accept a small TeX-like markup: _x or _{...} subscript, ^x or ^{...}
 * superscript (a sub- and a superscript on the same base are stacked, as in
 * C^*_{fwd}), Greek letters by TeX name (\alpha .. \omega, \Delta, \Lambda,
 * \Sigma, ...; lowercase in math italic), \ell \infty \le \ge \approx \times
 * \cdot \perp \| \pm \sim \partial \nabla \to \in \ne (and a few more), spaces
 * \, \: \; \! \quad \qquad, accents \bar \tilde \hat (\bar x, \tilde{W}),
 * upright operator names (\sin \log \exp \max \min ...), and $...$ for math
 * mode (Latin letters italic, spaces ignored, TeX's spacing around binary
 * operators and relations, none in scripts).  '-' is a minus sign except between two letters
 * in text mode (a hyphen, "x-axis"); in text mode an underscore inside an
 * identifier (hess_zero_tol: two letters or digits before, two letters after)
 * is the character itself.  \{ \} \$ \_ \^ \\ give the character itself; an
 * unknown command is drawn as written.
 * Fonts are Latin Modern Roman (text) and Latin Modern Math (symbols), Debian
 * package fonts-lmodern, through cairo's toy font API.
 *
 * Styles are zero-initialised structs in which 0 means "default", so that
 *   tl_plot_line(fig, 0, x, y, n, &(tl_plot_style){.label = "GD"});
 * draws a solid line in the next palette colour with a legend entry.
 */
#ifndef TL_PLOT_H
#define TL_PLOT_H

#include <stddef.h>

typedef struct tl_plot_figure tl_plot_figure;

/* Defaults named in this header. */
#define TL_PLOT_PNG_DPI 200.0        /* resolution of path.png */
#define TL_PLOT_LINE_WIDTH 1.0       /* pt */
#define TL_PLOT_MARKER_SIZE 4.0      /* marker diameter, pt */
#define TL_PLOT_ANNOTATION_SIZE 8.0  /* tl_plot_text, pt */
#define TL_PLOT_PAD_FRACTION 0.05    /* automatic range: data span padded by this each side */
#define TL_PLOT_MAX_PANELS 26        /* panels are lettered (a) .. (z) */

/* Colours are a long: 0 means "default" (the next colour of the panel's
 * palette for data series, black for reference lines and text, grey for
 * spans); TL_PLOT_RGB / TL_PLOT_HEX give an explicit colour; TL_PLOT_PALETTE(k)
 * the k-th palette colour.  The palette is Okabe and Ito's colour-blind-safe
 * set (blue, vermillion, bluish green, orange, reddish purple, sky blue, black,
 * yellow), cycling per panel. */
#define TL_PLOT_RGB(r, g, b) (0x1000000L | ((long)(r) << 16) | ((long)(g) << 8) | (long)(b))
#define TL_PLOT_HEX(h) (0x1000000L | (long)(h))
#define TL_PLOT_PALETTE(k) (0x2000000L | (long)(k))
#define TL_PLOT_BLACK TL_PLOT_HEX(0x000000)
#define TL_PLOT_GREY TL_PLOT_HEX(0x808080)
#define TL_PLOT_RED TL_PLOT_HEX(0xD62728) /* e.g. "negative" points */
#define TL_PLOT_BLUE TL_PLOT_HEX(0x0072B2)

typedef enum {
  TL_PLOT_LINE_DEFAULT = 0, /* solid for lines, none for scatter/error bars */
  TL_PLOT_LINE_SOLID,
  TL_PLOT_LINE_DASHED,
  TL_PLOT_LINE_DOTTED,
  TL_PLOT_LINE_DASHDOT,
  TL_PLOT_LINE_NONE
} tl_plot_line_style;

typedef enum {
  TL_PLOT_MARKER_DEFAULT = 0, /* filled circle for scatter/error bars, none for lines */
  TL_PLOT_MARKER_NONE,
  TL_PLOT_MARKER_CIRCLE,       /* filled */
  TL_PLOT_MARKER_OPEN_CIRCLE,
  TL_PLOT_MARKER_SQUARE,       /* filled */
  TL_PLOT_MARKER_OPEN_SQUARE,
  TL_PLOT_MARKER_TRIANGLE,     /* filled, pointing up */
  TL_PLOT_MARKER_CROSS,        /* x */
  TL_PLOT_MARKER_PLUS          /* + */
} tl_plot_marker;

/* Per-series style; every field 0 means the documented default. */
typedef struct {
  const char *label;  /* legend entry (markup); NULL or "": no entry */
  long color;         /* 0: palette (see above) */
  int line;           /* tl_plot_line_style */
  double width;       /* line width in pt; 0: TL_PLOT_LINE_WIDTH (1.0) */
  int marker;         /* tl_plot_marker */
  double marker_size; /* marker diameter in pt; 0: TL_PLOT_MARKER_SIZE (4.0) */
  double alpha;       /* opacity in (0,1]; 0: 1 for lines and markers, 0.25 for
                         bands, polygons and histogram bars' fill, 0.15 for spans */
} tl_plot_style;

typedef enum { TL_PLOT_LINEAR = 0, TL_PLOT_LOG10 } tl_plot_scale;

typedef enum {
  TL_PLOT_LEGEND_UPPER_RIGHT = 0,
  TL_PLOT_LEGEND_UPPER_LEFT,
  TL_PLOT_LEGEND_LOWER_LEFT,
  TL_PLOT_LEGEND_LOWER_RIGHT,
  TL_PLOT_LEGEND_OUTSIDE, /* right of the axes (and of a colour bar) */
  TL_PLOT_LEGEND_NONE
} tl_plot_legend_position;

typedef enum { TL_PLOT_HIST_COUNT = 0, TL_PLOT_HIST_DENSITY } tl_plot_hist_mode;

typedef enum {
  TL_PLOT_CMAP_VIRIDIS = 0, /* sequential, perceptually uniform (interpolated in CIELAB) */
  TL_PLOT_CMAP_DIVERGING    /* blue-white-red; automatic range symmetric about 0 */
} tl_plot_colormap;

typedef struct {
  const char *label; /* colour bar label (markup) */
  double zmin, zmax; /* colour range; both 0: from the finite data */
  int colormap;      /* tl_plot_colormap */
  int log_scale;     /* nonzero: log10 colour scale (values <= 0 left blank) */
  int no_colorbar;   /* nonzero: no colour bar */
} tl_plot_heatmap_style;

/* Which point of the text's box is placed at (x, y). */
typedef enum {
  TL_PLOT_ANCHOR_CENTER = 0,
  TL_PLOT_ANCHOR_W, /* left edge, vertically centred: text extends to the right */
  TL_PLOT_ANCHOR_E,
  TL_PLOT_ANCHOR_N,
  TL_PLOT_ANCHOR_S,
  TL_PLOT_ANCHOR_NW,
  TL_PLOT_ANCHOR_NE,
  TL_PLOT_ANCHOR_SW,
  TL_PLOT_ANCHOR_SE
} tl_plot_anchor;

typedef struct {
  long color;        /* 0: black */
  double size;       /* pt; 0: TL_PLOT_ANNOTATION_SIZE (8) */
  int anchor;        /* tl_plot_anchor */
  int axes_fraction; /* nonzero: (x, y) in [0,1]^2 of the axes box, not data */
} tl_plot_text_style;

/* ---- Figure ---- */

/* A figure of width_mm x height_mm with a rows x cols grid of panels (at most
 * 26 panels, lettered (a), (b), ... when more than one).  Returns NULL only when
 * out of memory; bad arguments give a figure in the error state. */
tl_plot_figure *tl_plot_figure_alloc(double width_mm, double height_mm, int rows, int cols);
void tl_plot_figure_free(tl_plot_figure *fig);
/* The sticky status: TL_SUCCESS or the first error's code. */
int tl_plot_figure_status(const tl_plot_figure *fig);
/* Write path.pdf, path.png, path.tsv (path without extension; the folder must
 * exist).  All three or none are written.  The figure may be saved again. */
int tl_plot_figure_save(tl_plot_figure *fig, const char *path);

/* ---- Panel settings ---- */

void tl_plot_title(tl_plot_figure *fig, int panel, const char *title);
void tl_plot_xlabel(tl_plot_figure *fig, int panel, const char *label);
void tl_plot_ylabel(tl_plot_figure *fig, int panel, const char *label);
/* Axis range; a NaN end stays automatic (data range plus TL_PLOT_PAD_FRACTION). */
void tl_plot_xrange(tl_plot_figure *fig, int panel, double lo, double hi);
void tl_plot_yrange(tl_plot_figure *fig, int panel, double lo, double hi);
void tl_plot_xscale(tl_plot_figure *fig, int panel, tl_plot_scale scale);
void tl_plot_yscale(tl_plot_figure *fig, int panel, tl_plot_scale scale);
void tl_plot_legend(tl_plot_figure *fig, int panel, tl_plot_legend_position position);

/* ---- Series (style may be NULL: all defaults) ---- */

/* Polyline through (x[i], y[i]); add .marker for line + markers. */
void tl_plot_line(tl_plot_figure *fig, int panel, const double *x, const double *y, size_t n,
                  const tl_plot_style *style);
/* Markers at (x[i], y[i]); add .line for markers joined by a line. */
void tl_plot_scatter(tl_plot_figure *fig, int panel, const double *x, const double *y, size_t n,
                     const tl_plot_style *style);
/* Markers at (x[i], y[i]) with vertical bars y[i] +- err[i] (capped). */
void tl_plot_errorbar(tl_plot_figure *fig, int panel, const double *x, const double *y,
                      const double *err, size_t n, const tl_plot_style *style);
/* Shaded region between lo(x) and hi(x).  With color 0 it takes the colour the
 * next series will get without advancing the palette: add the band first, then
 * its line, and both share a colour. */
void tl_plot_band(tl_plot_figure *fig, int panel, const double *x, const double *lo,
                  const double *hi, size_t n, const tl_plot_style *style);
/* Bars over bin edges[0..nbins] with heights counts[0..nbins-1]. */
void tl_plot_histogram(tl_plot_figure *fig, int panel, const double *edges, const double *counts,
                       size_t nbins, const tl_plot_style *style);
/* Histogram of the finite values of data[0..n-1] in nbins equal bins over
 * their range (nbins 0: Sturges' rule, 1 + ceil(log2 n)); mode COUNT or
 * DENSITY (integrates to 1). */
void tl_plot_histogram_data(tl_plot_figure *fig, int panel, const double *data, size_t n,
                            size_t nbins, tl_plot_hist_mode mode, const tl_plot_style *style);
/* nx x ny cells z[j*nx + i] (i along x, j along y, j = 0 at y0) over the box
 * [x0,x1] x [y0,y1], cells equally spaced in the axes' scale; NaN cells blank.
 * Draws a colour bar right of the axes (the last heatmap of a panel wins). */
void tl_plot_heatmap(tl_plot_figure *fig, int panel, const double *z, size_t nx, size_t ny,
                     double x0, double x1, double y0, double y1,
                     const tl_plot_heatmap_style *style);
/* Reference lines across the axes (default black, dashed, 0.8 pt); a label is
 * written next to the line, not in the legend. */
void tl_plot_hline(tl_plot_figure *fig, int panel, double y, const tl_plot_style *style);
void tl_plot_vline(tl_plot_figure *fig, int panel, double x, const tl_plot_style *style);
/* Shaded spans x in [a,b] (full height) or y in [a,b] (full width); drawn
 * behind the data; a label goes to the legend. */
void tl_plot_xspan(tl_plot_figure *fig, int panel, double a, double b, const tl_plot_style *style);
void tl_plot_yspan(tl_plot_figure *fig, int panel, double a, double b, const tl_plot_style *style);
/* Filled polygon (closed automatically); outlined when .line is set.  Colour
 * 0 behaves as for tl_plot_band. */
void tl_plot_polygon(tl_plot_figure *fig, int panel, const double *x, const double *y, size_t n,
                     const tl_plot_style *style);
/* Text (markup) at data coordinates (or axes fractions, see the style). */
void tl_plot_text(tl_plot_figure *fig, int panel, double x, double y, const char *text,
                  const tl_plot_text_style *style);

/* ---- Building blocks, exposed for tests and for other modules ---- */

/* Extended Wilkinson ticks for the data range [lo, hi] with about m_target
 * ticks (>= 2): writes n_ticks <= max_ticks ascending values (which may lie a
 * little outside [lo, hi]).  lo == hi gives the single tick lo.  Returns
 * TL_SUCCESS, or GSL_EINVAL for non-finite bounds, m_target < 2 or
 * max_ticks < 2. */
int tl_plot_ticks(double lo, double hi, int m_target, double *ticks, int max_ticks, int *n_ticks);

/* Format a tick value with the decimals that the tick spacing step needs
 * (0.30000000000000004 with step 0.1 prints "0.3"; a negative zero, or a
 * value within rounding of zero, prints "0", or "0.00" with step 0.25).
 * Steps below 1e-4 or from 1e6 on give scientific labels ("2.5e-5"), which
 * the axes draw as 2.5 x 10^-5.  ASCII; returns the length snprintf would have
 * written. */
int tl_plot_tick_label(double value, double step, char *buf, size_t size);

typedef enum { TL_PLOT_FONT_ROMAN = 0, TL_PLOT_FONT_ITALIC, TL_PLOT_FONT_MATH } tl_plot_font;

#define TL_PLOT_RUN_TEXT_MAX 48
/* One run of a laid-out label: text in one font at one size and baseline. */
typedef struct {
  char text[TL_PLOT_RUN_TEXT_MAX]; /* UTF-8 */
  int font;                        /* tl_plot_font */
  double size;                     /* pt */
  double x;                        /* start of the run, pt from the label's origin */
  double rise;                     /* baseline shift, pt, positive upwards */
  double width;                    /* advance width, pt (cairo_text_extents) */
} tl_plot_run;

/* Parse and measure a markup label at size_pt: writes up to max_runs runs and
 * the total advance width.  Returns TL_SUCCESS, GSL_EINVAL for NULL arguments,
 * or GSL_EBADLEN when the label needs more than max_runs runs (the first
 * max_runs are written). */
int tl_plot_markup_layout(const char *markup, double size_pt, tl_plot_run *runs, int max_runs,
                          int *n_runs, double *width);

#endif
