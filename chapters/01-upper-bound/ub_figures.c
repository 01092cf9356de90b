/* Chapter 01 (upper-bound): the four figures of spec section 4. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl_error.h"
#include "tl_plot.h"
#include "ub_main.h"
#include "ub_train.h"

#define P_INT(s, k) ((size_t)tl_cli_int(&(s)->cli, k))
#define P_DBL(s, k) tl_cli_double(&(s)->cli, k)

/* Sizes of spec section 4 (mm). */
#define UB_W1 120.0
#define UB_H1 85.0
#define UB_W2 170.0
#define UB_H2 75.0
#define UB_W3 170.0
#define UB_H3 60.0
/* Floor of |lambda| / lambda_max on the log axis of thm-mq-local-min (b). */
#define UB_EIG_FLOOR 1e-17
static const double ub_pi = 3.14159265358979323846;

int ub_figure_data_alloc(ub_figure_data *fd, size_t beta_count, size_t n_pairs, size_t plane_N,
                         size_t p_max) {
  memset(fd, 0, sizeof *fd);
  fd->beta_ratio = calloc(beta_count, sizeof(double));
  fd->beta_cost_ratio = calloc(beta_count, sizeof(double));
  fd->n_pairs = n_pairs;
  fd->pair_d = calloc(n_pairs, sizeof(double));
  fd->pair_out = calloc(n_pairs, sizeof(double));
  fd->pair_in = calloc(n_pairs, sizeof(int));
  fd->plane_N = plane_N;
  fd->plane_c0 = calloc(plane_N, sizeof(double));
  fd->plane_c1 = calloc(plane_N, sizeof(double));
  fd->plane_cls = calloc(plane_N, sizeof(int));
  int ok = fd->beta_ratio && fd->beta_cost_ratio && fd->pair_d && fd->pair_out && fd->pair_in &&
           fd->plane_c0 && fd->plane_c1 && fd->plane_cls;
  for (int i = 0; i < 3; i++) {
    fd->eig_abs[i] = calloc(p_max, sizeof(double));
    fd->eig_negative[i] = calloc(p_max, sizeof(int));
    ok = ok && fd->eig_abs[i] && fd->eig_negative[i];
  }
  if (!ok) {
    ub_figure_data_free(fd);
    TL_ERROR(GSL_ENOMEM, "out of memory");
  }
  return TL_SUCCESS;
}

void ub_figure_data_free(ub_figure_data *fd) {
  free(fd->beta_ratio);
  free(fd->beta_cost_ratio);
  free(fd->pair_d);
  free(fd->pair_out);
  free(fd->pair_in);
  free(fd->plane_c0);
  free(fd->plane_c1);
  free(fd->plane_cls);
  for (int i = 0; i < 3; i++) {
    free(fd->eig_abs[i]);
    free(fd->eig_negative[i]);
  }
  memset(fd, 0, sizeof *fd);
}

static int ub_save(ub_state *s, tl_plot_figure *fig, const char *id) {
  char path[4096];
  if ((size_t)snprintf(path, sizeof path, "%s/%s", s->cli.figures, id) >= sizeof path) {
    tl_plot_figure_free(fig);
    TL_ERROR(TL_EIO, "figure path too long");
  }
  int status = tl_plot_figure_save(fig, path);
  tl_plot_figure_free(fig);
  /* List the plotted series in results.json when the figures live below the
   * output folder (relative paths only); the columns are the TSV's header. */
  size_t n_out = strlen(s->out);
  if (!status && strncmp(s->cli.figures, s->out, n_out) == 0 && s->cli.figures[n_out] == '/') {
    char tsv[4200], rel[4200], header[1024] = "";
    snprintf(tsv, sizeof tsv, "%s.tsv", path);
    snprintf(rel, sizeof rel, "%s/%s.tsv", s->cli.figures + n_out + 1, id);
    FILE *f = fopen(tsv, "r");
    if (f) {
      if (!fgets(header, sizeof header, f))
        header[0] = '\0';
      fclose(f);
    }
    header[strcspn(header, "\n")] = '\0';
    char desc[160];
    snprintf(desc, sizeof desc, "plotted series of figure %s", id);
    status = tl_results_add_file(s->res, rel, desc, header);
  }
  return status;
}

/* Guide line of slope k through (x0, y0) over the x range [a, b] (log-log). */
static void ub_guide(tl_plot_figure *fig, int panel, double a, double b, double x0, double y0,
                     double k, const char *label) {
  double x[2] = {a, b}, y[2] = {y0 * pow(a / x0, k), y0 * pow(b / x0, k)};
  tl_plot_style st = {label, TL_PLOT_GREY, TL_PLOT_LINE_DOTTED, 0.8, 0, 0, 0};
  tl_plot_line(fig, panel, x, y, 2, &st);
}

/* excerpt: figure-upper-bound */
static int ub_fig_upper_bound(ub_state *s, ub_figure_data *fd) {
  size_t n = s->n_eps;
  double *x = malloc(n * sizeof *x), *y[6];
  for (int i = 0; i < 6; i++)
    y[i] = malloc(n * sizeof(double));
  for (size_t k = 0; k < n; k++) {
    const ub_point *p = &s->points[k];
    x[k] = p->delta_P[0];
    y[0][k] = p->cost_fwd[0];
    y[1][k] = p->bound_rms[0];
    y[2][k] = p->bound_sup[0];
    y[3][k] = p->bound_chain[0];
    y[4][k] = p->bound_tilde[0];
    y[5][k] = p->cost_int[0];
  }
  tl_results_entry slope;
  tl_results_lookup(s->res, "bound.slope", &slope);
  char lab[96];
  snprintf(lab, sizeof lab, "C^*_{fwd} (slope %.4f)", slope.value);
  tl_plot_figure *fig = tl_plot_figure_alloc(UB_W3, UB_H3, 1, 3);
  tl_plot_xscale(fig, 0, TL_PLOT_LOG10);
  tl_plot_yscale(fig, 0, TL_PLOT_LOG10);
  tl_plot_xlabel(fig, 0, "\\delta_P");
  tl_plot_ylabel(fig, 0, "cost");
  /* Head room above the data holds the legend clear of every point. */
  double ymax = 0, ymin = INFINITY;
  for (size_t k = 0; k < n; k++) {
    ymax = fmax(ymax, y[3][k]);
    ymin = fmin(ymin, y[5][k]);
  }
  tl_plot_yrange(fig, 0, 0.3 * ymin, 1e5 * ymax);
  tl_plot_legend(fig, 0, TL_PLOT_LEGEND_UPPER_LEFT);
  tl_plot_style st_bound[4] = {
      {"\\|Y Pen\\| \\delta_P^{rms}", TL_PLOT_PALETTE(1), TL_PLOT_LINE_SOLID, 1, 0, 0, 0},
      {"\\|Y Pen\\| \\delta_P", TL_PLOT_PALETTE(2), TL_PLOT_LINE_DASHED, 1, 0, 0, 0},
      {"\\|Y\\| \\|Pen\\| \\delta_P", TL_PLOT_PALETTE(3), TL_PLOT_LINE_DOTTED, 1, 0, 0, 0},
      {"\\|Y\\| \\tilde\\delta_P", TL_PLOT_PALETTE(4), TL_PLOT_LINE_DASHDOT, 1, 0, 0, 0}};
  for (int i = 0; i < 4; i++)
    tl_plot_line(fig, 0, x, y[1 + i], n, &st_bound[i]);
  tl_plot_style st_int = {"C_{int}", TL_PLOT_PALETTE(5), TL_PLOT_LINE_NONE, 0,
                          TL_PLOT_MARKER_OPEN_SQUARE, 4, 0};
  tl_plot_scatter(fig, 0, x, y[5], n, &st_int);
  tl_plot_style st_c = {lab, TL_PLOT_PALETTE(0), TL_PLOT_LINE_NONE, 0, TL_PLOT_MARKER_CIRCLE, 3.5, 0};
  tl_plot_scatter(fig, 0, x, y[0], n, &st_c);
  ub_guide(fig, 0, x[0], x[n - 1], x[0], 0.5 * y[0][0], 1.0, "slope 1");
  /* (b) perp noise: what moves and what does not. */
  tl_plot_xlabel(fig, 1, "\\eta");
  tl_plot_ylabel(fig, 1, "value / value at \\eta = 0");
  tl_plot_yscale(fig, 1, TL_PLOT_LOG10);
  tl_plot_legend(fig, 1, TL_PLOT_LEGEND_UPPER_LEFT);
  const double *pv[4] = {fd->perp_cost, fd->perp_delta_P, fd->perp_delta, fd->perp_cost_int};
  const char *pl[4] = {"C^*_{fwd}", "\\delta_P", "\\delta", "C_{int}"};
  const int pm[4] = {TL_PLOT_MARKER_CIRCLE, TL_PLOT_MARKER_PLUS, TL_PLOT_MARKER_TRIANGLE,
                     TL_PLOT_MARKER_OPEN_SQUARE};
  for (int i = 0; i < 4; i++) {
    tl_plot_style st = {pl[i], TL_PLOT_PALETTE(i), i == 1 ? TL_PLOT_LINE_DASHED : TL_PLOT_LINE_SOLID,
                        1, pm[i], 4, 0};
    tl_plot_line(fig, 1, fd->perp_eta, pv[i], fd->n_perp, &st);
  }
  /* (c) beta degeneracy. */
  tl_plot_xlabel(fig, 2, "\\beta / \\beta_{min}");
  tl_plot_ylabel(fig, 2, "C / C^*");
  tl_plot_legend(fig, 2, TL_PLOT_LEGEND_UPPER_RIGHT);
  tl_plot_style st_b = {"C_{fwd} / C^*", TL_PLOT_PALETTE(0), TL_PLOT_LINE_SOLID, 1.2, 0, 0, 0};
  tl_plot_line(fig, 2, fd->beta_ratio, fd->beta_cost_ratio, fd->n_beta, &st_b);
  tl_plot_style st_v1 = {NULL, TL_PLOT_GREY, TL_PLOT_LINE_DASHED, 0.8, 0, 0, 0};
  tl_plot_vline(fig, 2, 1.0, &st_v1);
  tl_plot_style st_v2 = {NULL, TL_PLOT_PALETTE(2), TL_PLOT_LINE_DOTTED, 0.8, 0, 0, 0};
  tl_plot_vline(fig, 2, fd->beta_default_ratio, &st_v2);
  int status = ub_save(s, fig, "thm-upper-bound");
  free(x);
  for (int i = 0; i < 6; i++)
    free(y[i]);
  return status;
}
/* end excerpt */

static int ub_fig_mq(ub_state *s, ub_figure_data *fd) {
  size_t n = s->n_eps;
  double *x = malloc(n * sizeof *x), *y[5];
  for (int i = 0; i < 5; i++)
    y[i] = malloc(n * sizeof(double));
  double xlo = NAN, xhi = NAN;
  for (size_t k = 0; k < n; k++) {
    const ub_point *p = &s->points[k];
    const ub_mq *q = &p->mq[0];
    x[k] = p->delta_P[2]; /* trig-mq; delta_P does not depend on Y */
    y[0][k] = q->rho;
    y[1][k] = p->mq[1].rho;
    y[2][k] = q->kappa_P * x[k] * x[k];
    y[3][k] = 1.0 - q->ratio_lower;
    y[4][k] = 1.0 - q->cost_int / q->cost_star;
    if (p->eps >= P_DBL(s, "fit_lo") * (1 - 1e-9) && isnan(xlo))
      xlo = x[k];
    if (p->eps <= P_DBL(s, "fit_hi") * (1 + 1e-9))
      xhi = x[k];
  }
  tl_plot_figure *fig = tl_plot_figure_alloc(UB_W2, UB_H2, 1, 2);
  tl_plot_xscale(fig, 0, TL_PLOT_LOG10);
  tl_plot_yscale(fig, 0, TL_PLOT_LOG10);
  tl_plot_xlabel(fig, 0, "\\delta_P");
  tl_plot_ylabel(fig, 0, "relative gap");
  tl_plot_legend(fig, 0, TL_PLOT_LEGEND_LOWER_RIGHT);
  tl_plot_style st_span = {"fit range", TL_PLOT_GREY, 0, 0, 0, 0, 0.15};
  if (!isnan(xlo) && !isnan(xhi))
    tl_plot_xspan(fig, 0, xlo, xhi, &st_span);
  tl_plot_style st_k = {"\\kappa_P \\delta_P^2", TL_PLOT_PALETTE(0), TL_PLOT_LINE_SOLID, 0.8, 0, 0, 0};
  tl_plot_line(fig, 0, x, y[2], n, &st_k);
  tl_plot_style st_lb = {"1 - (1+\\|K\\|)^{-1/2}", TL_PLOT_PALETTE(2), TL_PLOT_LINE_DASHED, 0.8, 0, 0, 0};
  tl_plot_line(fig, 0, x, y[3], n, &st_lb);
  tl_plot_style st_ci = {"1 - C_{int}/C^*", TL_PLOT_PALETTE(3), TL_PLOT_LINE_NONE, 0,
                         TL_PLOT_MARKER_OPEN_SQUARE, 4, 0};
  tl_plot_scatter(fig, 0, x, y[4], n, &st_ci);
  tl_plot_style st_r1 = {"\\rho, Y = I", TL_PLOT_PALETTE(0), TL_PLOT_LINE_NONE, 0,
                         TL_PLOT_MARKER_CIRCLE, 3.5, 0};
  tl_plot_scatter(fig, 0, x, y[0], n, &st_r1);
  tl_plot_style st_r2 = {"\\rho, Y = Y_2", TL_PLOT_PALETTE(1), TL_PLOT_LINE_NONE, 0,
                         TL_PLOT_MARKER_TRIANGLE, 4, 0};
  tl_plot_scatter(fig, 0, x, y[1], n, &st_r2);
  ub_guide(fig, 0, x[0], x[n - 1], x[0], 0.3 * y[0][0], 2.0, "slope 2");
  /* (b) Hessian spectra. */
  tl_plot_xlabel(fig, 1, "index");
  tl_plot_ylabel(fig, 1, "|\\lambda| / \\lambda_{max}");
  tl_plot_yscale(fig, 1, TL_PLOT_LOG10);
  tl_plot_legend(fig, 1, TL_PLOT_LEGEND_LOWER_LEFT);
  const char *names[3] = {"free minimum", "tied minimum", "tied point (free model)"};
  const int marks[3] = {TL_PLOT_MARKER_CIRCLE, TL_PLOT_MARKER_OPEN_SQUARE, TL_PLOT_MARKER_PLUS};
  size_t pmax = fd->n_eig[0];
  double *ix = malloc(pmax * sizeof *ix), *iy = malloc(pmax * sizeof *iy);
  double *nx = malloc(pmax * sizeof *nx), *ny = malloc(pmax * sizeof *ny);
  for (int m = 0; m < 3; m++) {
    size_t nn = 0;
    for (size_t i = 0; i < fd->n_eig[m]; i++) {
      ix[i] = (double)(i + 1);
      iy[i] = fmax(fd->eig_abs[m][i], UB_EIG_FLOOR);
      if (fd->eig_negative[m][i]) {
        nx[nn] = ix[i];
        ny[nn] = iy[i];
        nn++;
      }
    }
    tl_plot_style st = {names[m], TL_PLOT_PALETTE(m), TL_PLOT_LINE_NONE, 0, marks[m], 4, 0};
    tl_plot_scatter(fig, 1, ix, iy, fd->n_eig[m], &st);
    tl_plot_style st_neg = {m == 0 ? "\\lambda < 0" : NULL, TL_PLOT_RED, TL_PLOT_LINE_NONE, 0,
                            TL_PLOT_MARKER_CROSS, 5, 0};
    if (nn)
      tl_plot_scatter(fig, 1, nx, ny, nn, &st_neg);
  }
  tl_plot_style st_tol = {"zero threshold", TL_PLOT_GREY, TL_PLOT_LINE_DASHED, 0.8, 0, 0, 0};
  tl_plot_hline(fig, 1, P_DBL(s, "hess_zero_tol"), &st_tol);
  /* Where the M^2+M expected zeros begin, for the free and the tied model. */
  tl_plot_style st_mm = {"M^2+M zeros (free)", TL_PLOT_GREY, TL_PLOT_LINE_DOTTED, 0.8, 0, 0, 0};
  tl_plot_vline(fig, 1, (double)(fd->n_eig[0] - fd->eig_zeros_expected) + 0.5, &st_mm);
  tl_plot_style st_mt = {"(tied)", TL_PLOT_PALETTE(1), TL_PLOT_LINE_DOTTED, 0.8, 0, 0, 0};
  tl_plot_vline(fig, 1, (double)(fd->n_eig[1] - fd->eig_zeros_expected) + 0.5, &st_mt);
  int status = ub_save(s, fig, "thm-mq-local-min");
  free(x);
  for (int i = 0; i < 5; i++)
    free(y[i]);
  free(ix);
  free(iy);
  free(nx);
  free(ny);
  return status;
}

/* Clip the box [x0,x1] x [y0,y1] to the half-plane a . c < b
 * (Sutherland-Hodgman on a rectangle); returns the vertex count. */
static size_t ub_clip_halfplane(double ax, double ay, double b, double x0, double x1, double y0,
                                double y1, double *px, double *py) {
  double bx[4] = {x0, x1, x1, x0}, by[4] = {y0, y0, y1, y1};
  size_t n = 0;
  for (int i = 0; i < 4; i++) {
    int j = (i + 1) % 4;
    double fi = ax * bx[i] + ay * by[i] - b, fj = ax * bx[j] + ay * by[j] - b;
    if (fi < 0) {
      px[n] = bx[i];
      py[n] = by[i];
      n++;
    }
    if ((fi < 0) != (fj < 0)) {
      double t = fi / (fi - fj);
      px[n] = bx[i] + t * (bx[j] - bx[i]);
      py[n] = by[i] + t * (by[j] - by[i]);
      n++;
    }
  }
  return n;
}

/* excerpt: figure-metrization */
static int ub_fig_metrization(ub_state *s, ub_figure_data *fd) {
  tl_plot_figure *fig = tl_plot_figure_alloc(UB_W2, UB_H2, 1, 2);
  /* (a) the plane set in coordinates c = U^T x. */
  double lo0 = INFINITY, hi0 = -INFINITY, lo1 = INFINITY, hi1 = -INFINITY;
  for (size_t n = 0; n < fd->plane_N; n++) {
    lo0 = fmin(lo0, fd->plane_c0[n]);
    hi0 = fmax(hi0, fd->plane_c0[n]);
    lo1 = fmin(lo1, fd->plane_c1[n]);
    hi1 = fmax(hi1, fd->plane_c1[n]);
  }
  double pad0 = 0.6 * (hi0 - lo0) + 0.5, pad1 = 0.6 * (hi1 - lo1) + 0.5;
  double X0 = lo0 - pad0, X1 = hi0 + pad0, Y0 = lo1 - pad1, Y1 = hi1 + pad1;
  tl_plot_xrange(fig, 0, X0, X1);
  tl_plot_yrange(fig, 0, Y0, Y1);
  tl_plot_xlabel(fig, 0, "c_1");
  tl_plot_ylabel(fig, 0, "c_2");
  tl_plot_legend(fig, 0, TL_PLOT_LEGEND_OUTSIDE);
  /* Truncation region: some (U c)_m + beta < 0, one half-plane per unit. */
  double px[8], py[8];
  int labelled = 0;
  for (int m = 0; m < 3; m++) {
    size_t k = ub_clip_halfplane(fd->plane_U[m][0], fd->plane_U[m][1], -fd->plane_beta, X0, X1,
                                 Y0, Y1, px, py);
    tl_plot_style st = {labelled ? NULL : "truncation", TL_PLOT_GREY, 0, 0, 0, 0, 0.25};
    if (k >= 3) {
      tl_plot_polygon(fig, 0, px, py, k, &st);
      labelled = 1;
    }
  }
  double *cx = malloc(fd->plane_N * sizeof *cx), *cy = malloc(fd->plane_N * sizeof *cy);
  for (int j = 0; j < 2; j++) {
    size_t k = 0;
    for (size_t n = 0; n < fd->plane_N; n++)
      if (fd->plane_cls[n] == j) {
        cx[k] = fd->plane_c0[n];
        cy[k] = fd->plane_c1[n];
        k++;
      }
    char lab[32];
    snprintf(lab, sizeof lab, "class %d", j + 1);
    tl_plot_style st = {lab, TL_PLOT_PALETTE(j), TL_PLOT_LINE_NONE, 0, TL_PLOT_MARKER_CIRCLE, 2.5, 0.7};
    tl_plot_scatter(fig, 0, cx, cy, k, &st);
  }
  /* Ellipses d(., xbar_j) = r: U^T (xbar_j + r Xbar Y^{-1} (cos t, sin t)). */
  static const double radii[3] = {0.25, 0.5, 1.0};
  enum { NT = 181 };
  double ex[NT], ey[NT];
  for (int j = 0; j < 2; j++)
    for (int r = 0; r < 3; r++) {
      for (int t = 0; t < NT; t++) {
        double th = 2 * ub_pi * t / (NT - 1), v[3];
        for (int m = 0; m < 3; m++)
          v[m] = radii[r] * (fd->plane_XbarYinv[m][0] * cos(th) + fd->plane_XbarYinv[m][1] * sin(th));
        ex[t] = fd->plane_avg[j][0];
        ey[t] = fd->plane_avg[j][1];
        for (int m = 0; m < 3; m++) {
          ex[t] += fd->plane_U[m][0] * v[m];
          ey[t] += fd->plane_U[m][1] * v[m];
        }
      }
      tl_plot_style st = {j == 0 && r == 0 ? "d = 0.25, 0.5, 1" : NULL, TL_PLOT_PALETTE(j),
                          TL_PLOT_LINE_SOLID, 0.7, 0, 0, 0};
      tl_plot_line(fig, 0, ex, ey, NT, &st);
    }
  double ax[2] = {fd->plane_avg[0][0], fd->plane_avg[1][0]};
  double ay[2] = {fd->plane_avg[0][1], fd->plane_avg[1][1]};
  tl_plot_style st_avg = {"averages", TL_PLOT_BLACK, TL_PLOT_LINE_NONE, 0, TL_PLOT_MARKER_SQUARE, 5, 0};
  tl_plot_scatter(fig, 0, ax, ay, 2, &st_avg);
  /* Decision line (Pen U c)_0 = (Pen U c)_1: a . c = 0. */
  double a0 = 0, a1 = 0;
  for (int m = 0; m < 3; m++) {
    a0 += (fd->plane_Pen[0][m] - fd->plane_Pen[1][m]) * fd->plane_U[m][0];
    a1 += (fd->plane_Pen[0][m] - fd->plane_Pen[1][m]) * fd->plane_U[m][1];
  }
  double lx[2], ly[2];
  if (fabs(a1) > fabs(a0)) {
    lx[0] = X0; lx[1] = X1;
    ly[0] = -a0 * X0 / a1; ly[1] = -a0 * X1 / a1;
  } else {
    ly[0] = Y0; ly[1] = Y1;
    lx[0] = -a1 * Y0 / a0; lx[1] = -a1 * Y1 / a0;
  }
  tl_plot_style st_dec = {"decision line", TL_PLOT_BLACK, TL_PLOT_LINE_DASHED, 1, 0, 0, 0};
  tl_plot_line(fig, 0, lx, ly, 2, &st_dec);
  /* (b) label distance against the metric, trig-qm, Y_2, R_s. */
  size_t n = fd->n_pairs, ni = 0, no = 0;
  double *ix = malloc(n * sizeof *ix), *iy = malloc(n * sizeof *iy);
  double *ox = malloc(n * sizeof *ox), *oy = malloc(n * sizeof *oy);
  double mx = 0;
  for (size_t i = 0; i < n; i++) {
    mx = fmax(mx, fmax(fd->pair_d[i], fd->pair_out[i]));
    if (fd->pair_in[i]) {
      ix[ni] = fd->pair_d[i];
      iy[ni++] = fd->pair_out[i];
    } else {
      ox[no] = fd->pair_d[i];
      oy[no++] = fd->pair_out[i];
    }
  }
  tl_plot_xlabel(fig, 1, "d(Px_t, \\bar x_j)");
  tl_plot_ylabel(fig, 1, "|x^{(2)}(x_t) - y_j|");
  tl_plot_legend(fig, 1, TL_PLOT_LEGEND_UPPER_LEFT);
  double idx[2] = {0, mx}, idy[2] = {0, mx};
  tl_plot_style st_in = {"linear region", TL_PLOT_PALETTE(0), TL_PLOT_LINE_NONE, 0,
                         TL_PLOT_MARKER_CIRCLE, 1.8, 0.6};
  tl_plot_scatter(fig, 1, ix, iy, ni, &st_in);
  tl_plot_style st_out = {"outside", TL_PLOT_PALETTE(1), TL_PLOT_LINE_NONE, 0,
                          TL_PLOT_MARKER_CROSS, 3, 0.8};
  if (no)
    tl_plot_scatter(fig, 1, ox, oy, no, &st_out);
  tl_plot_style st_id = {"identity", TL_PLOT_BLACK, TL_PLOT_LINE_DASHED, 0.8, 0, 0, 0};
  tl_plot_line(fig, 1, idx, idy, 2, &st_id);
  int status = ub_save(s, fig, "metrization");
  free(cx);
  free(cy);
  free(ix);
  free(iy);
  free(ox);
  free(oy);
  return status;
}
/* end excerpt */

static int ub_fig_gd(ub_state *s) {
  double cstar = NAN, brms = NAN, cint = NAN;
  TL_TRY(ub_gd_levels(s, &cstar, &brms, &cint));
  tl_plot_figure *fig = tl_plot_figure_alloc(UB_W1, UB_H1, 1, 1);
  tl_plot_xscale(fig, 0, TL_PLOT_LOG10);
  tl_plot_yscale(fig, 0, TL_PLOT_LOG10);
  tl_plot_xlabel(fig, 0, "iteration");
  tl_plot_ylabel(fig, 0, "C");
  tl_plot_legend(fig, 0, TL_PLOT_LEGEND_LOWER_LEFT);
  size_t seeds = s->n_runs - 1;
  for (size_t r = 0; r <= seeds; r++) {
    const ub_gdrun *g = &s->runs[r];
    tl_plot_style st = {r == 0 ? "He runs" : r == seeds ? "warm start" : NULL,
                        r == seeds ? TL_PLOT_PALETTE(1) : TL_PLOT_PALETTE(0), TL_PLOT_LINE_SOLID,
                        r == seeds ? 2.0 : 0.7, 0, 0, r == seeds ? 1.0 : 0.7};
    tl_plot_line(fig, 0, g->record_iter, g->record_cost, g->n_record, &st);
  }
  tl_plot_style st1 = {"C^*", TL_PLOT_BLACK, TL_PLOT_LINE_DASHED, 0.8, 0, 0, 0};
  tl_plot_hline(fig, 0, cstar, &st1);
  tl_plot_style st2 = {"\\|Y Pen\\| \\delta_P^{rms}", TL_PLOT_PALETTE(2), TL_PLOT_LINE_DOTTED, 0.8, 0, 0, 0};
  tl_plot_hline(fig, 0, brms, &st2);
  tl_plot_style st3 = {"C_{int}", TL_PLOT_PALETTE(3), TL_PLOT_LINE_DASHDOT, 0.8, 0, 0, 0};
  tl_plot_hline(fig, 0, cint, &st3);
  return ub_save(s, fig, "gd-comparison");
}

int ub_draw_figures(ub_state *s, ub_figure_data *fd) {
  TL_TRY(ub_fig_upper_bound(s, fd));
  TL_TRY(ub_fig_mq(s, fd));
  TL_TRY(ub_fig_metrization(s, fd));
  TL_TRY(ub_fig_gd(s));
  return TL_SUCCESS;
}
