/* Unit test of tl_plot: extended-Wilkinson ticks (the paper's worked case
 * and edge cases), tick labels without float noise, markup layout, a figure
 * using every series type, byte-identical PDFs, non-finite data, failures
 * that leave no file behind, and the sticky error status.
 *
 * With a folder argument (test_plot DIR) the figures are also saved there,
 * for looking at them. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cairo.h>
#include <gsl/gsl_test.h>

#include "tl_error.h"
#include "tl_plot.h"

#define N_TICKS 32
#define PI 3.14159265358979323846

static char scratch[] = "/tmp/tl_test_plot.XXXXXX";
static const char *keep_dir; /* optional: also save figures here */

static const char *in_dir(const char *dir, const char *name) {
  static char path[4][2048];
  static int next;
  char *p = path[next++ % 4];
  snprintf(p, sizeof path[0], "%s/%s", dir, name);
  return p;
}

static const char *with_ext(const char *base, const char *ext) {
  static char path[4][2048];
  static int next;
  char *p = path[next++ % 4];
  snprintf(p, sizeof path[0], "%s%s", base, ext);
  return p;
}

static int file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

static long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* The whole file (NULL when unreadable); *n its length. */
static unsigned char *slurp(const char *path, size_t *n) {
  FILE *fp = fopen(path, "rb");
  if (!fp)
    return NULL;
  fseek(fp, 0, SEEK_END);
  long len = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  unsigned char *buf = malloc((size_t)len + 1);
  *n = fread(buf, 1, (size_t)len, fp);
  buf[*n] = '\0';
  fclose(fp);
  return buf;
}

static int same_file(const char *a, const char *b) {
  size_t na = 0, nb = 0;
  unsigned char *x = slurp(a, &na), *y = slurp(b, &nb);
  int same = x && y && na == nb && na > 0 && memcmp(x, y, na) == 0;
  free(x);
  free(y);
  return same;
}

static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  if (!d)
    return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  closedir(d);
  return n;
}

static void remove_tree(const char *dir) {
  DIR *d = opendir(dir);
  if (!d)
    return;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      remove(in_dir(dir, e->d_name));
  closedir(d);
  rmdir(dir);
}

static int count_lines(const char *path) {
  size_t n = 0;
  unsigned char *s = slurp(path, &n);
  if (!s)
    return -1;
  int lines = 0;
  for (size_t i = 0; i < n; i++)
    lines += s[i] == '\n';
  free(s);
  return lines;
}

/* ---- Ticks ---- */

static int evenly_spaced_tol(const double *t, int n, double tol) {
  if (n < 2)
    return 0;
  double step = t[1] - t[0];
  for (int i = 1; i < n; i++)
    if (!(t[i] > t[i - 1]) || fabs((t[i] - t[i - 1]) - step) > tol * fabs(step))
      return 0;
  return 1;
}

static int evenly_spaced(const double *t, int n) { return evenly_spaced_tol(t, n, 1e-9); }

/* A step of the form q * 10^z with q in Q (j = 1) or a small multiple. */
static int nice_step(double step) {
  static const double q[] = {1, 5, 2, 2.5, 4, 3};
  double z = floor(log10(step));
  double m = step / pow(10.0, z);
  for (int j = 1; j <= 3; j++)
    for (int i = 0; i < 6; i++)
      for (int dz = -1; dz <= 0; dz++)
        if (fabs(m - j * q[i] * pow(10.0, dz)) < 1e-9 * m)
          return 1;
  return 0;
}

static void test_ticks(void) {
  double t[N_TICKS];
  int n = 0;
  /* The paper's example: data 8.1 .. 14.1, m = 4. */
  int status = tl_plot_ticks(8.1, 14.1, 4, t, N_TICKS, &n);
  gsl_test(status, "ticks: 8.1..14.1 status");
  gsl_test_int(n, 4, "ticks: 8.1..14.1 m=4 gives 4 ticks");
  const double want[4] = {8, 10, 12, 14};
  for (int i = 0; i < 4 && i < n; i++)
    gsl_test_abs(t[i], want[i], 0.0, "ticks: 8.1..14.1 tick %d", i);

  tl_plot_ticks(0.0, 1.0, 5, t, N_TICKS, &n);
  gsl_test(!(n >= 3 && n <= 7), "ticks: 0..1 m=5 count %d in 3..7", n);
  gsl_test_abs(t[0], 0.0, 0.0, "ticks: 0..1 starts at 0");
  gsl_test_abs(t[n - 1], 1.0, 1e-15, "ticks: 0..1 ends at 1");
  gsl_test(!evenly_spaced(t, n), "ticks: 0..1 evenly spaced");
  gsl_test(!nice_step(t[1] - t[0]), "ticks: 0..1 step %g is q*10^z", t[1] - t[0]);

  tl_plot_ticks(-3.7, 2.2, 5, t, N_TICKS, &n);
  int has_zero = 0;
  for (int i = 0; i < n; i++)
    has_zero |= t[i] == 0.0;
  gsl_test(!(n >= 3 && n <= 8), "ticks: -3.7..2.2 count %d", n);
  gsl_test(!has_zero, "ticks: -3.7..2.2 includes 0");
  gsl_test(!evenly_spaced(t, n), "ticks: -3.7..2.2 evenly spaced");
  gsl_test(!nice_step(t[1] - t[0]), "ticks: -3.7..2.2 step %g nice", t[1] - t[0]);
  gsl_test(!(t[0] <= -3.7 + 0.5 * (t[1] - t[0]) && t[n - 1] >= 2.2 - 0.5 * (t[1] - t[0])),
           "ticks: -3.7..2.2 cover the data to within half a step");

  /* Tiny spans, absolute and relative. */
  tl_plot_ticks(1.2e-9, 3.7e-9, 5, t, N_TICKS, &n);
  gsl_test(!(n >= 3 && evenly_spaced(t, n)), "ticks: 1.2e-9..3.7e-9 evenly spaced, n = %d", n);
  gsl_test(!nice_step(t[1] - t[0]), "ticks: 1.2e-9..3.7e-9 step %g nice", t[1] - t[0]);
  gsl_test(!(t[0] > 0.5e-9 && t[n - 1] < 4.5e-9), "ticks: 1.2e-9..3.7e-9 near the data");
  tl_plot_ticks(1.0, 1.0 + 3e-9, 4, t, N_TICKS, &n);
  /* Spacing exact to rounding: 1 ulp of 1.0 is 2.2e-16, 1e-7 of the step. */
  gsl_test(!(n >= 2 && evenly_spaced_tol(t, n, 1e-6)), "ticks: 1..1+3e-9 evenly spaced, n = %d",
           n);
  gsl_test(!(t[0] >= 1.0 - 2e-9 && t[n - 1] <= 1.0 + 5e-9), "ticks: 1..1+3e-9 near the data");

  /* Reversed bounds are the same range; lo == hi is a single tick. */
  int n2 = 0;
  double t2[N_TICKS];
  tl_plot_ticks(14.1, 8.1, 4, t2, N_TICKS, &n2);
  gsl_test(!(n2 == 4 && t2[0] == 8.0 && t2[3] == 14.0), "ticks: reversed bounds");
  status = tl_plot_ticks(2.385, 2.385, 5, t, N_TICKS, &n);
  gsl_test(!(status == TL_SUCCESS && n == 1 && t[0] == 2.385), "ticks: lo == hi gives one tick");

  /* max_ticks bounds the count. */
  tl_plot_ticks(0.0, 100.0, 10, t, 3, &n);
  gsl_test(!(n >= 2 && n <= 3), "ticks: max_ticks 3 respected (n = %d)", n);

  gsl_test_int(tl_plot_ticks(NAN, 1.0, 5, t, N_TICKS, &n), GSL_EINVAL, "ticks: NaN bound");
  gsl_test_int(tl_plot_ticks(0.0, INFINITY, 5, t, N_TICKS, &n), GSL_EINVAL, "ticks: inf bound");
  gsl_test_int(tl_plot_ticks(0.0, 1.0, 1, t, N_TICKS, &n), GSL_EINVAL, "ticks: m_target 1");
  gsl_test_int(tl_plot_ticks(0.0, 1.0, 5, t, 1, &n), GSL_EINVAL, "ticks: max_ticks 1");
}

static void test_tick_labels(void) {
  char buf[64];
  tl_plot_tick_label(0.1 + 0.2, 0.1, buf, sizeof buf);
  gsl_test_str(buf, "0.3", "label: 0.1+0.2 with step 0.1");
  tl_plot_tick_label(-0.0, 1.0, buf, sizeof buf);
  gsl_test_str(buf, "0", "label: -0");
  tl_plot_tick_label(-0.0, 0.25, buf, sizeof buf);
  gsl_test_str(buf, "0.00", "label: -0 with step 0.25 keeps the decimals, not the sign");
  tl_plot_tick_label(-1e-17, 0.2, buf, sizeof buf);
  gsl_test_str(buf, "0.0", "label: rounding noise around 0");
  tl_plot_tick_label(-1e-22, 1e-5, buf, sizeof buf);
  gsl_test_str(buf, "0", "label: 0 on a scientific axis");
  tl_plot_tick_label(2.5, 0.5, buf, sizeof buf);
  gsl_test_str(buf, "2.5", "label: 2.5 step 0.5");
  tl_plot_tick_label(7.5, 2.5, buf, sizeof buf);
  gsl_test_str(buf, "7.5", "label: 7.5 step 2.5");
  tl_plot_tick_label(12.0, 2.0, buf, sizeof buf);
  gsl_test_str(buf, "12", "label: 12 step 2");
  tl_plot_tick_label(-3.0, 1.0, buf, sizeof buf);
  gsl_test_str(buf, "-3", "label: -3");
  tl_plot_tick_label(0.7000000000000001, 0.1, buf, sizeof buf);
  gsl_test_str(buf, "0.7", "label: 0.7000000000000001");
  tl_plot_tick_label(-0.30000000000000004, 0.05, buf, sizeof buf);
  gsl_test_str(buf, "-0.30", "label: -0.3 with step 0.05 keeps two decimals");
  tl_plot_tick_label(2.5e-5, 5e-6, buf, sizeof buf);
  gsl_test_str(buf, "2.5e-5", "label: 2.5e-5 scientific");
  tl_plot_tick_label(1.000000002, 1e-9, buf, sizeof buf);
  gsl_test_str(buf, "1.000000002", "label: a small step on a value near 1 stays fixed-point");
  tl_plot_tick_label(1.0 + 2e-9, (1.0 + 3e-9) - (1.0 + 2e-9), buf, sizeof buf);
  gsl_test_str(buf, "1.000000002", "label: a step carrying rounding still gives 9 decimals");
  tl_plot_tick_label(3e6, 1e6, buf, sizeof buf);
  gsl_test_str(buf, "3e6", "label: 3e6 scientific");
  int n = tl_plot_tick_label(1234.5, 0.5, buf, 4);
  gsl_test(!(n == 6 && strcmp(buf, "123") == 0), "label: truncation returns the full length");
}

/* ---- Markup ---- */

static void test_markup(void) {
  tl_plot_run runs[16];
  int n = 0;
  double w = 0;
  int status = tl_plot_markup_layout("\\delta_P", 9.0, runs, 16, &n, &w);
  gsl_test(status, "markup: \\delta_P status");
  gsl_test_int(n, 2, "markup: \\delta_P has two runs");
  gsl_test(!(runs[0].font == TL_PLOT_FONT_MATH && strcmp(runs[0].text, "\U0001D6FF") == 0),
           "markup: \\delta is math-italic delta");
  gsl_test(!(runs[1].font == TL_PLOT_FONT_ROMAN && strcmp(runs[1].text, "P") == 0),
           "markup: subscript P in roman");
  gsl_test(!(runs[0].width > 0 && runs[1].width > 0), "markup: \\delta_P run widths > 0");
  gsl_test(!(runs[1].size < 9.0 && runs[1].rise < 0), "markup: subscript smaller and lowered");
  gsl_test_rel(runs[1].x, runs[0].width, 1e-12, "markup: subscript starts after the delta");
  gsl_test_rel(w, runs[1].x + runs[1].width, 1e-12, "markup: \\delta_P total width");

  status = tl_plot_markup_layout("x^{(1)}", 9.0, runs, 16, &n, &w);
  gsl_test(status, "markup: x^{(1)} status");
  gsl_test_int(n, 2, "markup: x^{(1)} has two runs");
  gsl_test(!(strcmp(runs[0].text, "x") == 0 && strcmp(runs[1].text, "(1)") == 0),
           "markup: x^{(1)} texts");
  gsl_test(!(runs[0].width > 0 && runs[1].width > 0 && w > runs[0].width),
           "markup: x^{(1)} widths > 0");
  gsl_test(!(runs[1].rise > 0 && runs[1].size < 9.0), "markup: superscript raised and smaller");

  /* Stacked scripts start at the same x. */
  tl_plot_markup_layout("C^*_{fwd}", 9.0, runs, 16, &n, &w);
  gsl_test(!(n == 3 && runs[1].x == runs[2].x && runs[1].rise > 0 && runs[2].rise < 0),
           "markup: C^*_{fwd} stacks its scripts");
  gsl_test_rel(w, runs[2].x + runs[2].width, 1e-12, "markup: stacked width is the wider script");

  tl_plot_markup_layout("$x$", 9.0, runs, 16, &n, &w);
  gsl_test(!(n == 1 && runs[0].font == TL_PLOT_FONT_ITALIC), "markup: $x$ is italic");
  tl_plot_markup_layout("$a-b$", 9.0, runs, 16, &n, &w);
  gsl_test(!(n == 3 && strcmp(runs[1].text, "\u2212") == 0), "markup: $a-b$ has a minus sign");
  tl_plot_markup_layout("x-axis", 9.0, runs, 16, &n, &w);
  gsl_test(!(n == 1 && strcmp(runs[0].text, "x-axis") == 0), "markup: hyphen between letters");
  tl_plot_markup_layout("hess_zero_tol", 9.0, runs, 16, &n, &w);
  gsl_test(!(n == 1 && strcmp(runs[0].text, "hess_zero_tol") == 0),
           "markup: underscores inside an identifier are literal");
  tl_plot_markup_layout("\\beta_{min}", 9.0, runs, 16, &n, &w);
  gsl_test(!(n == 2 && strcmp(runs[1].text, "min") == 0 && runs[1].rise < 0),
           "markup: \\beta_{min} is a subscript");
  tl_plot_markup_layout("\\tilde\\delta_P", 9.0, runs, 16, &n, &w);
  gsl_test(!(n == 3 && runs[1].rise > 0 && runs[1].x > 0 && runs[1].x < runs[0].width),
           "markup: \\tilde sits over its base");
  tl_plot_markup_layout("\\sin t", 9.0, runs, 16, &n, &w);
  gsl_test(!(n == 1 && strcmp(runs[0].text, "sin t") == 0), "markup: \\sin is upright");
  tl_plot_markup_layout("\\{\\}\\$\\_", 9.0, runs, 16, &n, &w);
  gsl_test(!(n == 1 && strcmp(runs[0].text, "{}$_") == 0), "markup: escapes");
  tl_plot_markup_layout("\\foo", 9.0, runs, 16, &n, &w);
  gsl_test(!(n == 1 && strcmp(runs[0].text, "\\foo") == 0), "markup: unknown command as written");
  tl_plot_markup_layout("a\\quad b", 9.0, runs, 16, &n, &w);
  gsl_test(!(n == 2 && runs[1].x > runs[0].width + 8.9), "markup: \\quad is an em of space");
  tl_plot_markup_layout("", 9.0, runs, 16, &n, &w);
  gsl_test(!(n == 0 && w == 0), "markup: empty label");
  /* Deep nesting and stray braces never crash. */
  status = tl_plot_markup_layout("{{{{{{{{{{{{{{{{{{{{x}}}}}}}}}}}}}}}}}} }}^^__{", 9.0, runs,
                                 16, &n, &w);
  gsl_test(!(status == TL_SUCCESS && w > 0), "markup: pathological nesting");

  status = tl_plot_markup_layout("\\delta_P", 9.0, runs, 1, &n, &w);
  gsl_test_int(status, GSL_EBADLEN, "markup: too few runs is GSL_EBADLEN");
  gsl_test(!(n == 1 && w > runs[0].width), "markup: width still complete when truncated");
  gsl_test_int(tl_plot_markup_layout(NULL, 9.0, runs, 16, &n, &w), GSL_EINVAL,
               "markup: NULL label");
}

/* ---- Figures ---- */

enum { NPTS = 60, NHX = 40, NHY = 30 };

/* A 3-panel figure using every series type: (a) linear, lines, band,
 * error bars, scatter, spans, reference lines, polygon, text;
 * (b) log-log with a legend; (c) a heatmap with colour bar. */
static tl_plot_figure *build_figure(void) {
  static double x[NPTS], y[NPTS], lo[NPTS], hi[NPTS], err[NPTS], lx[NPTS], ly1[NPTS], ly2[NPTS],
      ly3[NPTS], z[NHX * NHY];
  for (int i = 0; i < NPTS; i++) {
    x[i] = 0.1 * i;
    y[i] = sin(x[i]) + 0.2385 * x[i];
    lo[i] = y[i] - 0.3;
    hi[i] = y[i] + 0.3;
    err[i] = 0.1 + 0.02 * (i % 5);
    lx[i] = pow(10.0, -2.0 + 4.5 * i / (NPTS - 1));
    ly1[i] = 3.7 * lx[i] * lx[i];
    ly2[i] = 0.9 * pow(lx[i], 1.5);
    ly3[i] = 2.0 * lx[i];
  }
  for (int j = 0; j < NHY; j++)
    for (int i = 0; i < NHX; i++)
      z[j * NHX + i] = sin(0.2 * i) * cos(0.25 * j) * exp(0.03 * i);
  z[5 * NHX + 7] = NAN; /* a blank cell */

  tl_plot_figure *fig = tl_plot_figure_alloc(180, 62, 1, 3);
  /* (a) */
  tl_plot_title(fig, 0, "Linear axes");
  tl_plot_xlabel(fig, 0, "time $t$ (s)");
  tl_plot_ylabel(fig, 0, "\\delta_P");
  tl_plot_legend(fig, 0, TL_PLOT_LEGEND_LOWER_RIGHT);
  tl_plot_yrange(fig, 0, -1.6, 2.2);
  tl_plot_xspan(fig, 0, 1.2, 2.0, &(tl_plot_style){.label = "fit range"});
  tl_plot_yspan(fig, 0, 1.9, 2.2, NULL);
  tl_plot_band(fig, 0, x, lo, hi, NPTS, &(tl_plot_style){.label = "\\pm 0.3"});
  tl_plot_line(fig, 0, x, y, NPTS, &(tl_plot_style){.label = "\\sin t + 0.2385 t"});
  tl_plot_errorbar(fig, 0, x, y, err, NPTS / 4, &(tl_plot_style){.label = "measured"});
  double px[3] = {0.3, 1.0, 0.65}, py[3] = {-1.4, -1.4, -0.7};
  tl_plot_polygon(fig, 0, px, py, 3, &(tl_plot_style){.line = TL_PLOT_LINE_SOLID});
  tl_plot_scatter(fig, 0, x + 30, y + 30, 10,
                  &(tl_plot_style){.marker = TL_PLOT_MARKER_OPEN_SQUARE, .label = "C^*_{fwd}"});
  tl_plot_hline(fig, 0, 0.0, &(tl_plot_style){.label = "y = 0", .color = TL_PLOT_GREY});
  tl_plot_vline(fig, 0, 4.2, &(tl_plot_style){.line = TL_PLOT_LINE_DOTTED});
  tl_plot_text(fig, 0, 0.03, 0.95, "\\eta = 0.1", &(tl_plot_text_style){.anchor = TL_PLOT_ANCHOR_NW,
                                                                      .axes_fraction = 1});
  /* (b) log-log with a legend. */
  tl_plot_xscale(fig, 1, TL_PLOT_LOG10);
  tl_plot_yscale(fig, 1, TL_PLOT_LOG10);
  tl_plot_xlabel(fig, 1, "\\varepsilon");
  tl_plot_ylabel(fig, 1, "cost C^*_{fwd}");
  tl_plot_legend(fig, 1, TL_PLOT_LEGEND_UPPER_LEFT);
  tl_plot_line(fig, 1, lx, ly1, NPTS, &(tl_plot_style){.label = "3.7 \\varepsilon^2"});
  tl_plot_line(fig, 1, lx, ly2, NPTS,
               &(tl_plot_style){.label = "0.9 \\varepsilon^{3/2}", .line = TL_PLOT_LINE_DASHED});
  tl_plot_scatter(fig, 1, lx, ly3, NPTS,
                  &(tl_plot_style){.label = "2 \\varepsilon", .marker = TL_PLOT_MARKER_TRIANGLE,
                                   .line = TL_PLOT_LINE_DOTTED});
  tl_plot_hline(fig, 1, 1e-3, &(tl_plot_style){.label = "tolerance", .color = TL_PLOT_GREY});
  /* (c) heatmap with colour bar; histograms are in build_figure2. */
  tl_plot_xlabel(fig, 2, "\\beta / \\beta_{min}");
  tl_plot_ylabel(fig, 2, "\\lambda");
  tl_plot_heatmap(fig, 2, z, NHX, NHY, 0.0, 4.0, -1.5, 1.5,
                  &(tl_plot_heatmap_style){.label = "\\ell(\\beta, \\lambda)"});
  return fig;
}

/* Histograms (given bins and binned data), diverging heatmap, markers. */
static tl_plot_figure *build_figure2(void) {
  static double data[800], edges[9], counts[8], z[24 * 24], mx[8], my[8];
  for (int i = 0; i < 800; i++)
    data[i] = sin(1.3 * i) + sin(2.9 * i) * cos(0.37 * i) + 0.3 * sin(0.011 * i * i);
  for (int b = 0; b <= 8; b++)
    edges[b] = -2.0 + 0.5 * b;
  for (int b = 0; b < 8; b++)
    counts[b] = 0.05 + 0.5 * exp(-0.5 * (edges[b] + 0.25) * (edges[b] + 0.25));
  for (int j = 0; j < 24; j++)
    for (int i = 0; i < 24; i++)
      z[j * 24 + i] = (i - 11.5) * (j - 11.5) / 30.0;
  tl_plot_figure *fig = tl_plot_figure_alloc(120, 95, 2, 2);
  tl_plot_xlabel(fig, 0, "value");
  tl_plot_ylabel(fig, 0, "density");
  tl_plot_histogram_data(fig, 0, data, 800, 0, TL_PLOT_HIST_DENSITY,
                         &(tl_plot_style){.label = "sample"});
  tl_plot_histogram(fig, 0, edges, counts, 8, &(tl_plot_style){.label = "given bins"});
  tl_plot_xlabel(fig, 1, "value");
  tl_plot_ylabel(fig, 1, "count");
  tl_plot_yscale(fig, 1, TL_PLOT_LOG10);
  tl_plot_histogram_data(fig, 1, data, 800, 25, TL_PLOT_HIST_COUNT, NULL);
  tl_plot_heatmap(fig, 2, z, 24, 24, -1, 1, -1, 1,
                  &(tl_plot_heatmap_style){.label = "z", .colormap = TL_PLOT_CMAP_DIVERGING});
  tl_plot_title(fig, 2, "diverging");
  tl_plot_legend(fig, 3, TL_PLOT_LEGEND_OUTSIDE);
  tl_plot_xrange(fig, 3, 0, 9);
  tl_plot_yrange(fig, 3, NAN, 6.5);
  static const int markers[8] = {TL_PLOT_MARKER_CIRCLE,      TL_PLOT_MARKER_OPEN_CIRCLE,
                                 TL_PLOT_MARKER_SQUARE,      TL_PLOT_MARKER_OPEN_SQUARE,
                                 TL_PLOT_MARKER_TRIANGLE,    TL_PLOT_MARKER_CROSS,
                                 TL_PLOT_MARKER_PLUS,        TL_PLOT_MARKER_CIRCLE};
  static const char *names[8] = {"\\alpha", "\\beta", "\\gamma", "\\Delta",
                                 "\\theta", "\\kappa", "\\mu",   "\\omega"};
  for (int k = 0; k < 8; k++) {
    for (int i = 0; i < 8; i++) {
      mx[i] = i + 1;
      my[i] = 0.7 * k + 0.1 * i;
    }
    tl_plot_line(fig, 3, mx, my, 8, &(tl_plot_style){.label = names[k], .marker = markers[k],
                                                   .line = 1 + k % 4});
  }
  tl_plot_xlabel(fig, 3, "iteration");
  tl_plot_ylabel(fig, 3, "\\|\\nabla \\ell\\| \\cdot 10^3");
  return fig;
}

static void save_kept(tl_plot_figure *fig, const char *name) {
  if (keep_dir)
    tl_plot_figure_save(fig, in_dir(keep_dir, name));
}

static void test_figure(void) {
  tl_plot_figure *fig = build_figure();
  gsl_test(tl_plot_figure_status(fig), "figure: building status");
  const char *base = in_dir(scratch, "fig3");
  int status = tl_plot_figure_save(fig, base);
  gsl_test(status, "figure: 3-panel save (%s)", status ? tl_error_message() : "ok");
  gsl_test(!(file_size(with_ext(base, ".pdf")) > 1000), "figure: PDF written");
  gsl_test(!(file_size(with_ext(base, ".png")) > 1000), "figure: PNG written");
  gsl_test(!file_exists(with_ext(base, ".tsv")), "figure: TSV written");
  size_t n = 0;
  unsigned char *tsv = slurp(with_ext(base, ".tsv"), &n);
  gsl_test(!(tsv && strncmp((char *)tsv, "panel\tseries\tkind\tlabel\tx\ty\tlo\thi\terr\tz\n",
                            strlen("panel\tseries\tkind\tlabel\tx\ty\tlo\thi\terr\tz\n")) == 0),
           "figure: TSV header");
  /* Rows: (a) 1+1 spans, band 60, line 60, errorbar 15, polygon 3, scatter 10,
   * hline 1, vline 1, text 1; (b) 60*3 + 1; (c) 40*30 cells. */
  int rows = 2 + NPTS + NPTS + NPTS / 4 + 3 + 10 + 1 + 1 + 1 + 3 * NPTS + 1 + NHX * NHY;
  gsl_test_int(count_lines(with_ext(base, ".tsv")), rows + 1, "figure: TSV has one row a point");
  gsl_test(!(tsv && strstr((char *)tsv, "b\t1\tline\t0.9 \\varepsilon^{3/2}\t0.01\t0.0")),
           "figure: TSV row with %%.17g values");
  free(tsv);
  gsl_test_int(count_entries(scratch), 3, "figure: exactly three files, no temporaries");

  /* Saved again, under another name: byte-identical PDF (fixed creation
   * date, nothing time- or address-dependent) and PNG. */
  const char *again = in_dir(scratch, "fig3-again");
  status = tl_plot_figure_save(fig, again);
  gsl_test(status, "figure: second save");
  gsl_test(!same_file(with_ext(base, ".pdf"), with_ext(again, ".pdf")),
           "figure: two saves give byte-identical PDFs");
  gsl_test(!same_file(with_ext(base, ".png"), with_ext(again, ".png")),
           "figure: two saves give byte-identical PNGs");
  gsl_test(!same_file(with_ext(base, ".tsv"), with_ext(again, ".tsv")),
           "figure: two saves give identical TSVs");
  save_kept(fig, "fig3");
  tl_plot_figure_free(fig);

  fig = build_figure2();
  status = tl_plot_figure_save(fig, in_dir(scratch, "fig4"));
  gsl_test(status, "figure: 2x2 histograms, diverging heatmap, markers (%s)",
           status ? tl_error_message() : "ok");
  save_kept(fig, "fig4");
  tl_plot_figure_free(fig);

  /* A single panel: no panel letter, everything default. */
  fig = tl_plot_figure_alloc(80, 60, 1, 1);
  double sx[4] = {1, 2, 3, 4}, sy[4] = {2.385, 1.1, 3.3, 0.4};
  tl_plot_line(fig, 0, sx, sy, 4, NULL);
  status = tl_plot_figure_save(fig, in_dir(scratch, "single"));
  gsl_test(status, "figure: single panel with defaults");
  save_kept(fig, "single");
  tl_plot_figure_free(fig);
}

static void test_nonfinite(void) {
  double x[8] = {1, 2, NAN, 4, 5, INFINITY, 7, 8};
  double y[8] = {1, -2, 3, NAN, 0, 6, 1e300, 8};
  double nan8[8] = {NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN};
  double z[4] = {NAN, NAN, NAN, NAN};
  tl_plot_figure *fig = tl_plot_figure_alloc(120, 50, 1, 3);
  tl_plot_yscale(fig, 0, TL_PLOT_LOG10);
  tl_plot_line(fig, 0, x, y, 8, &(tl_plot_style){.label = "gaps", .marker = TL_PLOT_MARKER_CIRCLE});
  tl_plot_errorbar(fig, 0, x, y, x, 8, NULL);
  tl_plot_band(fig, 0, x, y, nan8, 8, NULL);
  tl_plot_histogram(fig, 0, x, y, 7, NULL);
  tl_plot_hline(fig, 0, -1.0, NULL);
  tl_plot_vline(fig, 0, NAN, NULL);
  tl_plot_xspan(fig, 0, NAN, 2, NULL);
  tl_plot_line(fig, 1, nan8, nan8, 8, &(tl_plot_style){.label = "all NaN"});
  tl_plot_histogram_data(fig, 1, nan8, 8, 0, TL_PLOT_HIST_COUNT, NULL);
  tl_plot_text(fig, 1, NAN, 0.5, "nowhere", NULL);
  tl_plot_heatmap(fig, 2, z, 2, 2, 0, 1, 0, 1, NULL);
  tl_plot_heatmap(fig, 2, y, 4, 2, 1, 2, 1, 2, &(tl_plot_heatmap_style){.log_scale = 1});
  int status = tl_plot_figure_save(fig, in_dir(scratch, "nonfinite"));
  gsl_test(status, "nonfinite: NaN, inf, <= 0 on log axes draw without error (%s)",
           status ? tl_error_message() : "ok");
  save_kept(fig, "nonfinite");
  tl_plot_figure_free(fig);
}

static void test_failures(void) {
  double x[3] = {1, 2, 3};
  /* A folder that does not exist: an error, and nothing is left behind. */
  char missing[1200];
  snprintf(missing, sizeof missing, "%s/missing", scratch);
  tl_plot_figure *fig = tl_plot_figure_alloc(80, 60, 1, 1);
  tl_plot_line(fig, 0, x, x, 3, NULL);
  int before = count_entries(scratch);
  int status = tl_plot_figure_save(fig, in_dir(missing, "fig"));
  gsl_test_int(status, TL_EIO, "failure: missing folder is TL_EIO");
  gsl_test_int(count_entries(scratch), before, "failure: no file left in the parent folder");
  gsl_test(file_exists(missing), "failure: the folder was not created");
  /* Unwritable: a path under a regular file (fails even for root). */
  FILE *fp = fopen(in_dir(scratch, "plain"), "w");
  fclose(fp);
  status = tl_plot_figure_save(fig, in_dir(scratch, "plain/fig"));
  gsl_test_int(status, TL_EIO, "failure: folder that is a file is TL_EIO");
  gsl_test_int(count_entries(scratch), before + 1, "failure: still no new file");
  remove(in_dir(scratch, "plain"));
  /* The figure is fine after an I/O error and can be saved elsewhere. */
  gsl_test(tl_plot_figure_status(fig), "failure: I/O errors are not sticky");
  tl_plot_figure_free(fig);

  /* Sticky error: the first bad call wins, later calls are no-ops, save
   * reports it and writes nothing. */
  fig = tl_plot_figure_alloc(80, 60, 1, 2);
  tl_plot_line(fig, 0, x, x, 3, NULL);
  tl_plot_line(fig, 5, x, x, 3, NULL); /* panel out of range */
  gsl_test_int(tl_plot_figure_status(fig), GSL_EINVAL, "sticky: bad panel sets GSL_EINVAL");
  tl_plot_line(fig, 0, NULL, x, 3, NULL); /* would be another error */
  tl_plot_xrange(fig, 0, 2, 1);
  tl_plot_line(fig, 1, x, x, 3, NULL); /* a good call: still a no-op */
  gsl_test_int(tl_plot_figure_status(fig), GSL_EINVAL, "sticky: status unchanged");
  before = count_entries(scratch);
  tl_error_clear();
  status = tl_plot_figure_save(fig, in_dir(scratch, "sticky"));
  gsl_test_int(status, GSL_EINVAL, "sticky: save returns the first error");
  gsl_test(!strstr(tl_error_message(), "panel 5"), "sticky: the reason names the first error (%s)",
           tl_error_message());
  gsl_test_int(count_entries(scratch), before, "sticky: nothing written");
  tl_plot_figure_free(fig);

  /* Other bad calls, each on a fresh figure. */
  fig = tl_plot_figure_alloc(80, 60, 1, 1);
  tl_plot_line(fig, 0, NULL, x, 3, NULL);
  gsl_test_int(tl_plot_figure_status(fig), GSL_EINVAL, "sticky: NULL data");
  tl_plot_figure_free(fig);
  fig = tl_plot_figure_alloc(80, 60, 1, 1);
  tl_plot_yrange(fig, 0, 3, 3);
  gsl_test_int(tl_plot_figure_status(fig), GSL_EINVAL, "sticky: empty range");
  tl_plot_figure_free(fig);
  fig = tl_plot_figure_alloc(80, 60, 1, 1);
  tl_plot_xscale(fig, 0, TL_PLOT_LOG10);
  tl_plot_xrange(fig, 0, -1, 10);
  status = tl_plot_figure_save(fig, in_dir(scratch, "badlog"));
  gsl_test_int(status, GSL_EINVAL, "sticky: negative range on a log axis fails at save");
  gsl_test_int(tl_plot_figure_status(fig), GSL_EINVAL, "sticky: ... and stays failed");
  tl_plot_figure_free(fig);
  fig = tl_plot_figure_alloc(80, 60, 1, 1);
  tl_plot_line(fig, 0, x, x, 3, &(tl_plot_style){.color = 0x5000000L});
  gsl_test_int(tl_plot_figure_status(fig), GSL_EINVAL, "sticky: malformed colour");
  tl_plot_figure_free(fig);
  fig = tl_plot_figure_alloc(8, 6, 3, 3);
  tl_plot_line(fig, 4, x, x, 3, NULL);
  status = tl_plot_figure_save(fig, in_dir(scratch, "tiny"));
  gsl_test_int(status, GSL_EINVAL, "sticky: a figure too small for its grid");
  tl_plot_figure_free(fig);
  fig = tl_plot_figure_alloc(80, 60, 6, 5);
  gsl_test_int(tl_plot_figure_status(fig), GSL_EINVAL, "sticky: more than 26 panels");
  tl_plot_line(fig, 0, x, x, 3, NULL);
  tl_plot_figure_free(fig);
  gsl_test_int(count_entries(scratch), before, "sticky: failed saves wrote nothing");

  /* NULL figure: every call is a no-op. */
  tl_plot_line(NULL, 0, x, x, 3, NULL);
  tl_plot_title(NULL, 0, "x");
  tl_plot_figure_free(NULL);
  gsl_test_int(tl_plot_figure_status(NULL), GSL_EINVAL, "sticky: NULL figure status");
  gsl_test_int(tl_plot_figure_save(NULL, "x"), GSL_EINVAL, "sticky: NULL figure save");
}

int main(int argc, char **argv) {
  tl_error_install_gsl_handler();
  if (argc > 1)
    keep_dir = argv[1];
  if (!mkdtemp(scratch)) {
    perror("mkdtemp");
    return 1;
  }
  test_ticks();
  test_tick_labels();
  test_markup();
  test_figure();
  test_nonfinite();
  test_failures();
  remove_tree(scratch);
  /* cairo keeps font caches for the process' lifetime; release them so that
   * LeakSanitizer (the asan preset) sees only our allocations. */
  cairo_debug_reset_static_data();
  return gsl_test_summary();
}
