/* Chapter 01 (upper-bound): shard records and their merge; see ub_shard.h.
 *
 * shard.tsv has one number per line: record, index, field, value, with the
 * value in C99 hexadecimal floating point ("%a"), which round-trips every
 * double exactly, so that a merged run equals an unsharded one bit for bit. */
#define _POSIX_C_SOURCE 200809L
#include "ub_shard.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tl_atomic.h"
#include "tl_error.h"

#define UB_SHARD_FILE "shard.tsv"
#define UB_POINT_DOUBLES (sizeof(ub_point) / sizeof(double))
_Static_assert(sizeof(ub_point) % sizeof(double) == 0, "ub_point holds only doubles");

/* The figure data gathered outside the grid (eps0 and hessian parts), as named
 * arrays: a double array (d) or int array (i) of *count (or fixed) entries. */
typedef struct {
  const char *name;
  double *d;
  int *i;
  size_t *count;
  size_t fixed;
} ub_fd_field;

static size_t ub_fd_fields(ub_figure_data *fd, ub_fd_field *f) {
  size_t n = 0;
#define D(nm, ptr, cnt) f[n++] = (ub_fd_field){nm, ptr, NULL, cnt, 0}
#define DF(nm, ptr, len) f[n++] = (ub_fd_field){nm, ptr, NULL, NULL, len}
#define I(nm, ptr, cnt) f[n++] = (ub_fd_field){nm, NULL, ptr, cnt, 0}
#define IF(nm, ptr, len) f[n++] = (ub_fd_field){nm, NULL, ptr, NULL, len}
  D("perp_eta", fd->perp_eta, &fd->n_perp);
  D("perp_cost", fd->perp_cost, &fd->n_perp);
  D("perp_delta_P", fd->perp_delta_P, &fd->n_perp);
  D("perp_delta", fd->perp_delta, &fd->n_perp);
  D("perp_cost_int", fd->perp_cost_int, &fd->n_perp);
  D("beta_ratio", fd->beta_ratio, &fd->n_beta);
  D("beta_cost_ratio", fd->beta_cost_ratio, &fd->n_beta);
  DF("beta_default_ratio", &fd->beta_default_ratio, 1);
  for (int m = 0; m < 3; m++) {
    static const char *const dn[3] = {"eig_abs0", "eig_abs1", "eig_abs2"};
    static const char *const in[3] = {"eig_neg0", "eig_neg1", "eig_neg2"};
    D(dn[m], fd->eig_abs[m], &fd->n_eig[m]);
    I(in[m], fd->eig_negative[m], &fd->n_eig[m]);
  }
  D("plane_c0", fd->plane_c0, &fd->plane_N);
  D("plane_c1", fd->plane_c1, &fd->plane_N);
  I("plane_cls", fd->plane_cls, &fd->plane_N);
  DF("plane_avg", &fd->plane_avg[0][0], 4);
  DF("plane_U", &fd->plane_U[0][0], 6);
  DF("plane_XbarYinv", &fd->plane_XbarYinv[0][0], 6);
  DF("plane_Pen", &fd->plane_Pen[0][0], 6);
  DF("plane_beta", &fd->plane_beta, 1);
  D("pair_d", fd->pair_d, &fd->n_pairs);
  D("pair_out", fd->pair_out, &fd->n_pairs);
  I("pair_in", fd->pair_in, &fd->n_pairs);
  f[n++] = (ub_fd_field){"eig_zeros_expected", NULL, NULL, &fd->eig_zeros_expected, 0};
  IF("have", &fd->have_plane, 1);
#undef D
#undef DF
#undef I
#undef IF
  return n;
}

/* The flags after have_plane are written one by one. */
static int *ub_fd_flag(ub_figure_data *fd, int k) {
  int *flags[5] = {&fd->have_plane, &fd->have_pairs, &fd->have_perp, &fd->have_beta,
                   &fd->have_eig};
  return flags[k];
}

int ub_shard_write(ub_state *s, const ub_figure_data *fdc) {
  ub_figure_data *fd = (ub_figure_data *)fdc; /* read only; the table needs pointers */
  char path[4096];
  if ((size_t)snprintf(path, sizeof path, "%s/%s", s->out, UB_SHARD_FILE) >= sizeof path)
    TL_ERROR(TL_EIO, "path too long");
  tl_atomic a;
  TL_TRY(tl_atomic_open(&a, path));
  FILE *f = a.fp;
  fprintf(f, "record\tindex\tfield\tvalue\n");
  fprintf(f, "meta\t0\tshard_index\t%d\nmeta\t0\tshard_count\t%d\n", s->cli.shard_index,
          s->cli.shard_count);
  for (size_t k = 0; k < s->n_eps; k++) {
    if (!tl_cli_shard_runs(&s->cli, k))
      continue;
    const double *v = (const double *)&s->points[k];
    for (size_t i = 0; i < UB_POINT_DOUBLES; i++)
      fprintf(f, "point\t%zu\t%zu\t%a\n", k, i, v[i]);
  }
  for (size_t r = 0; r < s->n_runs; r++) {
    if (!tl_cli_shard_runs(&s->cli, s->n_eps + r))
      continue;
    const ub_gdrun *g = &s->runs[r];
    fprintf(f, "run\t%zu\tcost0\t%a\nrun\t%zu\tcostT\t%a\nrun\t%zu\teta_final\t%a\n", r, g->cost0,
            r, g->costT, r, g->eta_final);
    fprintf(f, "run\t%zu\trejections\t%zu\nrun\t%zu\titerations\t%zu\nrun\t%zu\tn_record\t%zu\n", r,
            g->rejections, r, g->iterations, r, g->n_record);
    for (size_t i = 0; i < g->n_record; i++)
      fprintf(f, "rec\t%zu\t%zu\t%a\t%a\n", r, i, g->record_iter[i], g->record_cost[i]);
  }
  if (s->cli.shard_index == 0) {
    ub_fd_field fields[64];
    size_t nf = ub_fd_fields(fd, fields);
    for (size_t j = 0; j < nf; j++) {
      size_t n = fields[j].count ? *fields[j].count : fields[j].fixed;
      if (strcmp(fields[j].name, "have") == 0) {
        for (int k = 0; k < 5; k++)
          fprintf(f, "fig\t%d\thave\t%d\n", k, *ub_fd_flag(fd, k));
        continue;
      }
      fprintf(f, "fign\t0\t%s\t%zu\n", fields[j].name, n);
      for (size_t i = 0; i < n && (fields[j].d || fields[j].i); i++) {
        if (fields[j].d)
          fprintf(f, "fig\t%zu\t%s\t%a\n", i, fields[j].name, fields[j].d[i]);
        else
          fprintf(f, "fig\t%zu\t%s\t%d\n", i, fields[j].name, fields[j].i[i]);
      }
    }
  }
  return tl_atomic_commit(&a);
}

/* Copy one file into the merged folder (atomically). */
static int ub_copy_file(const char *from, const char *to) {
  FILE *in = fopen(from, "rb");
  if (!in)
    TL_ERROR(TL_EIO, "cannot read %s: %s", from, strerror(errno));
  tl_atomic a;
  int status = tl_atomic_open(&a, to);
  char buf[65536];
  size_t n;
  while (!status && (n = fread(buf, 1, sizeof buf, in)) > 0)
    if (fwrite(buf, 1, n, a.fp) != n)
      status = TL_EIO;
  if (!status && ferror(in))
    status = TL_EIO;
  fclose(in);
  if (status) {
    tl_atomic_abort(&a);
    TL_ERROR(TL_EIO, "cannot copy %s to %s", from, to);
  }
  return tl_atomic_commit(&a);
}

/* Data sets and networks a shard wrote (every *.tsv but its records). */
static int ub_copy_outputs(const ub_state *s, const char *dir) {
  DIR *d = opendir(dir);
  if (!d)
    TL_ERROR(TL_EIO, "--merge: cannot open %s: %s", dir, strerror(errno));
  int status = TL_SUCCESS;
  struct dirent *e;
  while (!status && (e = readdir(d)) != NULL) {
    size_t len = strlen(e->d_name);
    if (len < 4 || strcmp(e->d_name + len - 4, ".tsv") != 0 || strcmp(e->d_name, UB_SHARD_FILE) == 0 ||
        strstr(e->d_name, ".tmp.") != NULL)
      continue;
    char from[4096], to[4096];
    if ((size_t)snprintf(from, sizeof from, "%s/%s", dir, e->d_name) >= sizeof from ||
        (size_t)snprintf(to, sizeof to, "%s/%s", s->out, e->d_name) >= sizeof to) {
      status = TL_EIO;
      tl_error_set(status, __FILE__, __LINE__, "path too long");
      break;
    }
    status = ub_copy_file(from, to);
  }
  closedir(d);
  return status;
}

static int ub_read_shard(ub_state *s, const char *dir, ub_figure_data *fd, unsigned char *seen_pt,
                         unsigned char *seen_run, int *count, int *index) {
  char path[4096], line[512];
  if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, UB_SHARD_FILE) >= sizeof path)
    TL_ERROR(TL_EIO, "path too long");
  FILE *f = fopen(path, "r");
  if (!f)
    TL_ERROR(TL_EIO, "--merge: %s: %s (not the output of a --shard run?)", path, strerror(errno));
  ub_fd_field fields[64];
  size_t nf = ub_fd_fields(fd, fields);
  size_t lineno = 0;
  int status = TL_SUCCESS;
  while (!status && fgets(line, sizeof line, f)) {
    lineno++;
    if (lineno == 1)
      continue;
    char rec[16], field[64], v1[64], v2[64] = "";
    size_t idx = 0;
    int got = sscanf(line, "%15s %zu %63s %63s %63s", rec, &idx, field, v1, v2);
    if (got < 4) {
      status = TL_EFORMAT;
      tl_error_set(status, __FILE__, __LINE__, "%s:%zu: malformed shard record", path, lineno);
      break;
    }
    double x = strtod(v1, NULL);
    if (strcmp(rec, "meta") == 0) {
      if (strcmp(field, "shard_count") == 0) *count = (int)x;
      if (strcmp(field, "shard_index") == 0) *index = (int)x;
    } else if (strcmp(rec, "point") == 0) {
      size_t fi = (size_t)strtoul(field, NULL, 10);
      if (idx >= s->n_eps || fi >= UB_POINT_DOUBLES) {
        status = TL_EFORMAT;
        tl_error_set(status, __FILE__, __LINE__, "%s:%zu: grid point %zu out of range", path, lineno, idx);
        break;
      }
      if (fi == 0) {
        if (seen_pt[idx]) {
          status = TL_EFORMAT;
          tl_error_set(status, __FILE__, __LINE__, "--merge: grid point %zu appears in two shards", idx);
          break;
        }
        seen_pt[idx] = 1;
      }
      ((double *)&s->points[idx])[fi] = x;
    } else if (strcmp(rec, "run") == 0 || strcmp(rec, "rec") == 0) {
      if (idx >= s->n_runs) {
        status = TL_EFORMAT;
        tl_error_set(status, __FILE__, __LINE__, "%s:%zu: GD run %zu out of range", path, lineno, idx);
        break;
      }
      ub_gdrun *g = &s->runs[idx];
      if (strcmp(rec, "rec") == 0) {
        size_t i = (size_t)strtoul(field, NULL, 10);
        if (i >= (size_t)tl_cli_int(&s->cli, "gd_record")) {
          status = TL_EFORMAT;
          tl_error_set(status, __FILE__, __LINE__, "%s:%zu: record out of range", path, lineno);
          break;
        }
        g->record_iter[i] = x;
        g->record_cost[i] = strtod(v2, NULL);
      } else if (strcmp(field, "cost0") == 0) {
        if (seen_run[idx]) {
          status = TL_EFORMAT;
          tl_error_set(status, __FILE__, __LINE__, "--merge: GD run %zu appears in two shards", idx);
          break;
        }
        seen_run[idx] = 1;
        g->cost0 = x;
      } else if (strcmp(field, "costT") == 0) g->costT = x;
      else if (strcmp(field, "eta_final") == 0) g->eta_final = x;
      else if (strcmp(field, "rejections") == 0) g->rejections = (size_t)x;
      else if (strcmp(field, "iterations") == 0) g->iterations = (size_t)x;
      else if (strcmp(field, "n_record") == 0) g->n_record = (size_t)x;
    } else if (strcmp(rec, "fig") == 0 || strcmp(rec, "fign") == 0) {
      if (strcmp(field, "have") == 0) {
        if (idx < 5) *ub_fd_flag(fd, (int)idx) = (int)x;
        continue;
      }
      for (size_t j = 0; j < nf; j++) {
        if (strcmp(fields[j].name, field) != 0)
          continue;
        if (strcmp(rec, "fign") == 0) {
          if (fields[j].count) *fields[j].count = (size_t)x;
        } else if (fields[j].d) {
          fields[j].d[idx] = x;
        } else {
          fields[j].i[idx] = (int)x;
        }
      }
    }
  }
  fclose(f);
  return status;
}

int ub_shard_merge(ub_state *s, ub_figure_data *fd) {
  unsigned char *seen_pt = calloc(s->n_eps, 1), *seen_run = calloc(s->n_runs, 1);
  int status = (seen_pt && seen_run) ? TL_SUCCESS : GSL_ENOMEM;
  int count0 = -1;
  for (size_t m = 0; m < s->cli.n_merge && !status; m++) {
    int count = -1, index = -1;
    status = ub_read_shard(s, s->cli.merge[m], fd, seen_pt, seen_run, &count, &index);
    if (!status && (count < 1 || (count0 >= 0 && count != count0))) {
      status = TL_EFORMAT;
      tl_error_set(status, __FILE__, __LINE__, "--merge: %s is from a different split", s->cli.merge[m]);
    }
    count0 = count;
    char path[4096];
    tl_results *r = NULL;
    if (!status && (size_t)snprintf(path, sizeof path, "%s/results.json", s->cli.merge[m]) >= sizeof path)
      status = TL_EIO;
    if (!status) status = tl_results_read(path, &r);
    if (!status) status = tl_results_merge(s->res, r);
    tl_results_free(r);
    if (!status) status = ub_copy_outputs(s, s->cli.merge[m]);
  }
  if (!status && count0 != (int)s->cli.n_merge) {
    status = TL_EUSAGE;
    tl_error_set(status, __FILE__, __LINE__, "--merge: %zu folders for a split into %d shards",
                 s->cli.n_merge, count0);
  }
  for (size_t k = 0; k < s->n_eps && !status; k++)
    if (!seen_pt[k]) {
      status = TL_EFORMAT;
      tl_error_set(status, __FILE__, __LINE__, "--merge: grid point %zu is in no shard", k);
    }
  for (size_t r = 0; r < s->n_runs && !status; r++)
    if (!seen_run[r] && tl_cli_runs(&s->cli, "gd")) {
      status = TL_EFORMAT;
      tl_error_set(status, __FILE__, __LINE__, "--merge: GD run %zu is in no shard", r);
    }
  free(seen_pt);
  free(seen_run);
  if (status == GSL_ENOMEM)
    TL_ERROR(GSL_ENOMEM, "out of memory");
  return status;
}
