/* tl_results: see tl_results.h.
 *
 * The results live in jansson objects from the start, so that writing,
 * reading back and merging shards all work on one representation and the
 * file holds exactly what the program stored.  Entries are never modified in
 * place: setting a key again replaces its entry, which lets a merge share
 * nothing by accident. */
#include "tl_results.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tl_atomic.h"
#include "tl_error.h"

/* Keys longer than this are surely a mistake (and would not fit a line of
 * the checker's output). */
#define TL_RESULTS_KEY_MAX 200

/* Flags of every JSON document the suite writes: sorted keys make the bytes a
 * function of the content alone; 17 digits round-trip every double. */
#define TL_RESULTS_JSON_FLAGS (JSON_SORT_KEYS | JSON_INDENT(1) | JSON_REAL_PRECISION(17))

struct tl_results {
  char *chapter;
  json_t *values; /* key -> {"value", "display", "latex"} */
  json_t *params; /* key -> {"value", "default"} */
  json_t *files;  /* relpath -> {"path", "description", "columns"}; an array on disk */
};

static char *tl_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d)
    memcpy(d, s, n);
  return d;
}

tl_results *tl_results_alloc(const char *chapter_slug) {
  if (!chapter_slug || !*chapter_slug)
    return NULL;
  tl_results *r = calloc(1, sizeof *r);
  if (!r)
    return NULL;
  r->chapter = tl_strdup(chapter_slug);
  r->values = json_object();
  r->params = json_object();
  r->files = json_object();
  if (!r->chapter || !r->values || !r->params || !r->files) {
    tl_results_free(r);
    return NULL;
  }
  return r;
}

void tl_results_free(tl_results *r) {
  if (!r)
    return;
  free(r->chapter);
  json_decref(r->values);
  json_decref(r->params);
  json_decref(r->files);
  free(r);
}

const char *tl_results_chapter(const tl_results *r) { return r->chapter; }

size_t tl_results_count(const tl_results *r) { return json_object_size(r->values); }

void tl_results_format_raw(double x, char buf[TL_RESULTS_RAW_MAX]) {
  if (isnan(x))
    snprintf(buf, TL_RESULTS_RAW_MAX, "nan");
  else
    snprintf(buf, TL_RESULTS_RAW_MAX, "%.17g", x);
}

/* A key is a flat name: letters, digits, '_', '.', '-'.  The same alphabet
 * works unquoted in claims.tsv, in "@key" references and in {{key}}. */
static int tl_results_key_ok(const char *key) {
  if (!key || !*key)
    return 0;
  size_t n = 0;
  for (const char *p = key; *p; p++, n++) {
    unsigned char c = (unsigned char)*p;
    if (!isalnum(c) && c != '_' && c != '.' && c != '-')
      return 0;
  }
  return n <= TL_RESULTS_KEY_MAX;
}

#define TL_RESULTS_CHECK_KEY(key)                                                      \
  do {                                                                                 \
    if (!tl_results_key_ok(key))                                                       \
      TL_ERROR(GSL_EINVAL, "results: bad key '%s' (letters, digits, '_', '.', '-')", \
               (key) ? (key) : "(null)");                                              \
  } while (0)

/* Check that fmt is a printf format for exactly one double: returns the
 * conversion character, or 0 when fmt is anything else. */
static char tl_results_format_conversion(const char *fmt) {
  char conversion = 0;
  for (const char *p = fmt; *p; p++) {
    if (*p != '%')
      continue;
    p++;
    if (*p == '%')
      continue;
    while (*p && strchr("-+ #0", *p))
      p++;
    while (isdigit((unsigned char)*p))
      p++;
    if (*p == '.') {
      p++;
      while (isdigit((unsigned char)*p))
        p++;
    }
    if (*p == 'l') /* "%lf" is common and, for printf, means "%f" */
      p++;
    if (!*p || !strchr("eEfFgGaA", *p) || conversion)
      return 0;
    conversion = *p;
  }
  return conversion;
}

/* A growing string; a failed allocation makes it sticky-bad. */
typedef struct {
  char *s;
  size_t len, cap;
  int bad;
} tl_buf;

static void tl_buf_add(tl_buf *b, const char *s) {
  size_t n = strlen(s);
  if (b->bad)
    return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + n + 1)
      cap *= 2;
    char *t = realloc(b->s, cap);
    if (!t) {
      b->bad = 1;
      return;
    }
    b->s = t;
    b->cap = cap;
  }
  memcpy(b->s + b->len, s, n + 1);
  b->len += n;
}

/* Inline math for a display string: a decimal exponent ("e-05", "E+10")
 * becomes "\times 10^{-5}", and TeX's specials (% # & _ $) that a format's
 * literal text may hold are escaped.  The exponent of a hexadecimal float
 * (%a) is left alone: its digits include 'e'. */
static char *tl_results_latex_of(const char *display, char conversion) {
  tl_buf b = {0};
  char one[2] = {0, 0};
  int hex = conversion == 'a' || conversion == 'A';
  tl_buf_add(&b, "$");
  for (const char *p = display; *p; p++) {
    const char *q = p + 1;
    if (*q == '+' || *q == '-')
      q++;
    if (!hex && (*p == 'e' || *p == 'E') && p > display &&
        (isdigit((unsigned char)p[-1]) || p[-1] == '.') && isdigit((unsigned char)*q)) {
      int negative = p[1] == '-';
      while (*q == '0' && isdigit((unsigned char)q[1]))
        q++;
      tl_buf_add(&b, "\\times 10^{");
      if (negative)
        tl_buf_add(&b, "-");
      while (isdigit((unsigned char)*q)) {
        one[0] = *q++;
        tl_buf_add(&b, one);
      }
      tl_buf_add(&b, "}");
      p = q - 1;
    } else if (strchr("%#&_$", *p)) { /* TeX specials from a format's literal text */
      one[0] = *p;
      tl_buf_add(&b, "\\");
      tl_buf_add(&b, one);
    } else {
      one[0] = *p;
      tl_buf_add(&b, one);
    }
  }
  tl_buf_add(&b, "$");
  if (b.bad) {
    free(b.s);
    return NULL;
  }
  return b.s;
}

/* Store {"value": raw, "display": display, "latex": latex} under key; raw is
 * consumed (also on error). */
static int tl_results_store(tl_results *r, const char *key, json_t *raw, const char *display,
                            const char *latex) {
  json_t *entry = json_object();
  json_t *d = json_string(display);
  json_t *l = json_string(latex);
  if (!entry || !raw || !d || !l) {
    json_decref(entry);
    json_decref(raw);
    json_decref(d);
    json_decref(l);
    /* json_string refuses invalid UTF-8; memory is the other reason. */
    TL_ERROR(GSL_EINVAL, "results: cannot store '%s' (invalid UTF-8 or out of memory)", key);
  }
  json_object_set_new(entry, "value", raw);
  json_object_set_new(entry, "display", d);
  json_object_set_new(entry, "latex", l);
  if (json_object_set_new(r->values, key, entry) != 0)
    TL_ERROR(GSL_ENOMEM, "results: cannot store '%s'", key);
  return TL_SUCCESS;
}

/* NaN and infinities: JSON null, with a display that says which. */
static int tl_results_store_nonfinite(tl_results *r, const char *key, double value) {
  if (isnan(value))
    return tl_results_store(r, key, json_null(), "NaN", "$\\mathrm{NaN}$");
  if (value > 0)
    return tl_results_store(r, key, json_null(), "inf", "$\\infty$");
  return tl_results_store(r, key, json_null(), "-inf", "$-\\infty$");
}

int tl_results_set(tl_results *r, const char *key, double value, const char *fmt) {
  TL_RESULTS_CHECK_KEY(key);
  char conversion = fmt ? tl_results_format_conversion(fmt) : 0;
  if (!conversion)
    TL_ERROR(GSL_EINVAL, "results: '%s': format '%s' is not a format for one double", key,
             fmt ? fmt : "(null)");
  if (!isfinite(value))
    return tl_results_store_nonfinite(r, key, value);
  int n = snprintf(NULL, 0, fmt, value);
  if (n < 0)
    TL_ERROR(GSL_EINVAL, "results: '%s': format '%s' failed", key, fmt);
  char *display = malloc((size_t)n + 1);
  if (!display)
    TL_ERROR(GSL_ENOMEM, "results: out of memory");
  snprintf(display, (size_t)n + 1, fmt, value);
  char *latex = tl_results_latex_of(display, conversion);
  if (!latex) {
    free(display);
    TL_ERROR(GSL_ENOMEM, "results: out of memory");
  }
  int status = tl_results_store(r, key, json_real(value), display, latex);
  free(display);
  free(latex);
  return status;
}

int tl_results_set_sci(tl_results *r, const char *key, double value, int digits) {
  TL_RESULTS_CHECK_KEY(key);
  if (digits < 1 || digits > TL_RESULTS_SCI_DIGITS_MAX)
    TL_ERROR(GSL_EINVAL, "results: '%s': %d significant digits (1 to %d)", key, digits,
             TL_RESULTS_SCI_DIGITS_MAX);
  if (!isfinite(value))
    return tl_results_store_nonfinite(r, key, value);
  char mantissa[64], display[96], latex[128];
  snprintf(mantissa, sizeof mantissa, "%.*e", digits - 1, value);
  char *e = strchr(mantissa, 'e');
  int exponent = (int)strtol(e + 1, NULL, 10);
  *e = '\0';
  if (exponent == 0) {
    snprintf(display, sizeof display, "%s", mantissa);
    snprintf(latex, sizeof latex, "$%s$", mantissa);
  } else {
    snprintf(display, sizeof display, "%se%d", mantissa, exponent);
    snprintf(latex, sizeof latex, "$%s\\times 10^{%d}$", mantissa, exponent);
  }
  return tl_results_store(r, key, json_real(value), display, latex);
}

int tl_results_set_int(tl_results *r, const char *key, long long value) {
  TL_RESULTS_CHECK_KEY(key);
  char display[32], latex[40];
  snprintf(display, sizeof display, "%lld", value);
  snprintf(latex, sizeof latex, "$%lld$", value);
  return tl_results_store(r, key, json_integer((json_int_t)value), display, latex);
}

int tl_results_set_bool(tl_results *r, const char *key, int value) {
  TL_RESULTS_CHECK_KEY(key);
  const char *text = value ? "true" : "false";
  return tl_results_store(r, key, json_boolean(value), text, text);
}

int tl_results_set_string(tl_results *r, const char *key, const char *value) {
  TL_RESULTS_CHECK_KEY(key);
  if (!value)
    TL_ERROR(GSL_EINVAL, "results: '%s': NULL string", key);
  return tl_results_store(r, key, json_string(value), value, value);
}

int tl_results_set_param(tl_results *r, const char *key, const char *value, int is_default) {
  TL_RESULTS_CHECK_KEY(key);
  if (!value)
    TL_ERROR(GSL_EINVAL, "results: parameter '%s': NULL value", key);
  json_t *v = json_string(value);
  json_t *entry = json_object();
  if (!v || !entry) {
    json_decref(v);
    json_decref(entry);
    TL_ERROR(GSL_EINVAL, "results: parameter '%s': invalid UTF-8 or out of memory", key);
  }
  json_object_set_new(entry, "value", v);
  json_object_set_new(entry, "default", json_boolean(is_default));
  if (json_object_set_new(r->params, key, entry) != 0)
    TL_ERROR(GSL_ENOMEM, "results: cannot store parameter '%s'", key);
  return TL_SUCCESS;
}

/* A relative path that stays inside the output folder. */
static int tl_results_relpath_ok(const char *p) {
  if (!p || !*p || *p == '/')
    return 0;
  for (const char *s = p; *s;) {
    size_t n = strcspn(s, "/");
    if (n == 0 || (n == 2 && s[0] == '.' && s[1] == '.'))
      return 0;
    s += n;
    if (*s == '/')
      s++;
  }
  for (const char *s = p; *s; s++)
    if (*s == '\n' || *s == '\t')
      return 0;
  return 1;
}

/* "x\ty" or "x, y" -> ["x", "y"]; NULL for an empty field or no memory. */
static json_t *tl_results_split_columns(const char *columns) {
  json_t *a = json_array();
  if (!a || !columns || !*columns)
    return a;
  const char *s = columns;
  for (;;) {
    size_t n = strcspn(s, "\t,");
    const char *b = s, *e = s + n;
    while (b < e && *b == ' ')
      b++;
    while (e > b && e[-1] == ' ')
      e--;
    json_t *name = b < e ? json_stringn(b, (size_t)(e - b)) : NULL;
    if (!name || json_array_append_new(a, name) != 0) {
      json_decref(a);
      return NULL;
    }
    s += n;
    if (!*s)
      break;
    s++;
  }
  return a;
}

int tl_results_add_file(tl_results *r, const char *relpath, const char *description,
                        const char *columns) {
  if (!tl_results_relpath_ok(relpath))
    TL_ERROR(GSL_EINVAL, "results: file '%s' is not a relative path inside the output folder",
             relpath ? relpath : "(null)");
  if (!description || !*description)
    TL_ERROR(GSL_EINVAL, "results: file '%s' needs a description", relpath);
  json_t *cols = tl_results_split_columns(columns);
  json_t *entry = json_object();
  json_t *p = json_string(relpath);
  json_t *d = json_string(description);
  if (!cols || !entry || !p || !d) {
    json_decref(cols);
    json_decref(entry);
    json_decref(p);
    json_decref(d);
    TL_ERROR(GSL_EINVAL, "results: file '%s': empty column name, invalid UTF-8 or out of memory",
             relpath);
  }
  json_object_set_new(entry, "path", p);
  json_object_set_new(entry, "description", d);
  json_object_set_new(entry, "columns", cols);
  if (json_object_set_new(r->files, relpath, entry) != 0)
    TL_ERROR(GSL_ENOMEM, "results: cannot store file '%s'", relpath);
  return TL_SUCCESS;
}

static int tl_results_strcmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The files object as an array sorted by path, so the order in which a
 * program (or its shards) listed them does not change the bytes. */
static json_t *tl_results_files_array(const json_t *files) {
  size_t n = json_object_size(files);
  const char **keys = malloc((n ? n : 1) * sizeof *keys);
  json_t *a = json_array();
  if (!keys || !a) {
    free(keys);
    json_decref(a);
    return NULL;
  }
  size_t i = 0;
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)files, k, v) keys[i++] = k;
  qsort(keys, n, sizeof *keys, tl_results_strcmp);
  for (i = 0; i < n; i++)
    json_array_append(a, json_object_get(files, keys[i]));
  free(keys);
  return a;
}

int tl_results_write(const tl_results *r, const char *path) {
  json_t *root = json_object();
  json_t *files = tl_results_files_array(r->files);
  json_t *chapter = json_string(r->chapter);
  if (!root || !files || !chapter) {
    json_decref(root);
    json_decref(files);
    json_decref(chapter);
    TL_ERROR(GSL_ENOMEM, "results: out of memory writing %s", path);
  }
  json_object_set_new(root, "chapter", chapter);
  json_object_set(root, "values", r->values);
  json_object_set(root, "params", r->params);
  json_object_set_new(root, "files", files);
  int status = tl_json_write(path, root, TL_RESULTS_JSON_FLAGS);
  json_decref(root);
  return status;
}

int tl_json_write(const char *path, const json_t *root, size_t flags) {
  char *text = json_dumps(root, flags);
  if (!text)
    TL_ERROR(GSL_ENOMEM, "cannot serialise %s", path);
  size_t n = strlen(text);
  char *line = realloc(text, n + 2);
  if (!line) {
    free(text);
    TL_ERROR(GSL_ENOMEM, "out of memory writing %s", path);
  }
  line[n] = '\n';
  line[n + 1] = '\0';
  int status = tl_atomic_write_buffer(path, line, n + 1);
  free(line);
  return status;
}

/* Reading.  The checker trusts what it reads, so the layout is validated
 * here, once, with a message that names the file and the offending key. */

static int tl_results_check_values(const char *path, json_t *values) {
  const char *k;
  json_t *v;
  json_object_foreach(values, k, v) {
    if (!json_is_object(v))
      TL_ERROR(TL_EFORMAT, "%s: value '%s' is not an object", path, k);
    json_t *raw = json_object_get(v, "value");
    if (!raw || json_is_array(raw) || json_is_object(raw))
      TL_ERROR(TL_EFORMAT, "%s: value '%s' has no scalar \"value\"", path, k);
    if (!json_is_string(json_object_get(v, "display")))
      TL_ERROR(TL_EFORMAT, "%s: value '%s' has no \"display\" string", path, k);
    if (!json_is_string(json_object_get(v, "latex")))
      TL_ERROR(TL_EFORMAT, "%s: value '%s' has no \"latex\" string", path, k);
  }
  return TL_SUCCESS;
}

static int tl_results_check_params(const char *path, json_t *params) {
  const char *k;
  json_t *v;
  json_object_foreach(params, k, v) {
    if (!json_is_object(v) || !json_is_string(json_object_get(v, "value")) ||
        !json_is_boolean(json_object_get(v, "default")))
      TL_ERROR(TL_EFORMAT, "%s: parameter '%s' is not {\"value\": string, \"default\": bool}",
               path, k);
  }
  return TL_SUCCESS;
}

/* The on-disk array of files back into the path-keyed object. */
static int tl_results_read_files(const char *path, json_t *array, json_t *files) {
  size_t i;
  json_t *v;
  json_array_foreach(array, i, v) {
    json_t *p = json_object_get(v, "path");
    json_t *cols = json_object_get(v, "columns");
    if (!json_is_object(v) || !json_is_string(p) ||
        !json_is_string(json_object_get(v, "description")) || !json_is_array(cols))
      TL_ERROR(TL_EFORMAT, "%s: files[%zu] is not {\"path\", \"description\", \"columns\"}",
               path, i);
    size_t j;
    json_t *c;
    json_array_foreach(cols, j, c) {
      if (!json_is_string(c))
        TL_ERROR(TL_EFORMAT, "%s: files[%zu] has a column name that is not a string", path, i);
    }
    if (json_object_get(files, json_string_value(p)))
      TL_ERROR(TL_EFORMAT, "%s: file '%s' listed twice", path, json_string_value(p));
    json_object_set(files, json_string_value(p), v);
  }
  return TL_SUCCESS;
}

int tl_results_read(const char *path, tl_results **out) {
  *out = NULL;
  FILE *fp = fopen(path, "rb");
  if (!fp)
    TL_ERROR(TL_EIO, "cannot read %s: %s", path, strerror(errno));
  json_error_t err;
  json_t *root = json_loadf(fp, JSON_REJECT_DUPLICATES, &err);
  int read_error = ferror(fp);
  fclose(fp);
  if (read_error) {
    json_decref(root);
    TL_ERROR(TL_EIO, "read error on %s", path);
  }
  if (!root)
    TL_ERROR(TL_EFORMAT, "%s:%d:%d: %s", path, err.line, err.column, err.text);
  json_t *chapter = json_object_get(root, "chapter");
  json_t *values = json_object_get(root, "values");
  json_t *params = json_object_get(root, "params");
  json_t *files = json_object_get(root, "files");
  int status = TL_SUCCESS;
  if (!json_is_object(root))
    tl_error_set(status = TL_EFORMAT, __FILE__, __LINE__, "%s: not a JSON object", path);
  else if (!json_is_string(chapter) || !*json_string_value(chapter))
    tl_error_set(status = TL_EFORMAT, __FILE__, __LINE__, "%s: no \"chapter\" string", path);
  else if (!json_is_object(values))
    tl_error_set(status = TL_EFORMAT, __FILE__, __LINE__, "%s: no \"values\" object", path);
  else if (!json_is_object(params))
    tl_error_set(status = TL_EFORMAT, __FILE__, __LINE__, "%s: no \"params\" object", path);
  else if (!json_is_array(files))
    tl_error_set(status = TL_EFORMAT, __FILE__, __LINE__, "%s: no \"files\" array", path);
  if (status == TL_SUCCESS)
    status = tl_results_check_values(path, values);
  if (status == TL_SUCCESS)
    status = tl_results_check_params(path, params);
  tl_results *r = NULL;
  if (status == TL_SUCCESS) {
    r = tl_results_alloc(json_string_value(chapter));
    if (!r)
      tl_error_set(status = GSL_ENOMEM, __FILE__, __LINE__, "%s: out of memory", path);
  }
  if (status == TL_SUCCESS) {
    json_object_update(r->values, values);
    json_object_update(r->params, params);
    status = tl_results_read_files(path, files, r->files);
  }
  json_decref(root);
  if (status != TL_SUCCESS) {
    tl_results_free(r);
    return status;
  }
  *out = r;
  return TL_SUCCESS;
}

int tl_results_lookup(const tl_results *r, const char *key, tl_results_entry *out) {
  json_t *e = key ? json_object_get(r->values, key) : NULL;
  memset(out, 0, sizeof *out);
  out->value = NAN;
  if (!e) {
    out->type = TL_RESULTS_MISSING;
    return 0;
  }
  json_t *v = json_object_get(e, "value");
  out->display = json_string_value(json_object_get(e, "display"));
  out->latex = json_string_value(json_object_get(e, "latex"));
  switch (json_typeof(v)) {
  case JSON_REAL:
    out->type = TL_RESULTS_REAL;
    out->value = json_real_value(v);
    break;
  case JSON_INTEGER:
    out->type = TL_RESULTS_INTEGER;
    out->value = (double)json_integer_value(v);
    break;
  case JSON_TRUE:
  case JSON_FALSE:
    out->type = TL_RESULTS_BOOL;
    out->value = json_is_true(v) ? 1.0 : 0.0;
    break;
  case JSON_STRING:
    out->type = TL_RESULTS_STRING;
    out->text = json_string_value(v);
    break;
  default: /* null: a double that was not finite; the display says which */
    out->type = TL_RESULTS_REAL;
    if (out->display && strcmp(out->display, "inf") == 0)
      out->value = INFINITY;
    else if (out->display && strcmp(out->display, "-inf") == 0)
      out->value = -INFINITY;
    break;
  }
  return 1;
}

/* First key of `from` whose entry differs from the one in `into`. */
static const char *tl_results_conflict(const json_t *into, const json_t *from) {
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)from, k, v) {
    json_t *old = json_object_get(into, k);
    if (old && !json_equal(old, v))
      return k;
  }
  return NULL;
}

static int tl_results_update_copy(json_t *into, const json_t *from) {
  json_t *copy = json_deep_copy(from);
  if (!copy)
    return GSL_ENOMEM;
  int bad = json_object_update(into, copy) != 0;
  json_decref(copy);
  return bad ? GSL_ENOMEM : TL_SUCCESS;
}

int tl_results_merge(tl_results *into, const tl_results *from) {
  if (strcmp(into->chapter, from->chapter) != 0)
    TL_ERROR(GSL_EINVAL, "results: cannot merge chapter '%s' into '%s'", from->chapter,
             into->chapter);
  const char *k;
  if ((k = tl_results_conflict(into->values, from->values))) {
    /* Raw values, since two shards may well agree on the display only. */
    tl_results_entry a, b;
    char ra[TL_RESULTS_RAW_MAX], rb[TL_RESULTS_RAW_MAX];
    tl_results_lookup(into, k, &a);
    tl_results_lookup(from, k, &b);
    tl_results_format_raw(a.value, ra);
    tl_results_format_raw(b.value, rb);
    TL_ERROR(GSL_EINVAL, "results: conflicting values for '%s': %s (\"%s\") and %s (\"%s\")",
             k, ra, a.display, rb, b.display);
  }
  if ((k = tl_results_conflict(into->params, from->params)))
    TL_ERROR(GSL_EINVAL, "results: conflicting values for parameter '%s'", k);
  if ((k = tl_results_conflict(into->files, from->files)))
    TL_ERROR(GSL_EINVAL, "results: conflicting entries for file '%s'", k);
  if (tl_results_update_copy(into->values, from->values) ||
      tl_results_update_copy(into->params, from->params) ||
      tl_results_update_copy(into->files, from->files))
    TL_ERROR(GSL_ENOMEM, "results: out of memory merging");
  return TL_SUCCESS;
}

/* TSV writers. */

static int tl_tsv_cell_ok(const char *s) { return s && *s && !strpbrk(s, "\t\n\r"); }

static void tl_tsv_put_double(FILE *fp, double x) {
  char buf[TL_RESULTS_RAW_MAX];
  tl_results_format_raw(x, buf);
  fputs(buf, fp);
}

/* The three column writers share this: an optional leading column (integer
 * index or string label), then the double columns. */
typedef enum { TL_TSV_LEAD_NONE, TL_TSV_LEAD_INDEX, TL_TSV_LEAD_LABEL } tl_tsv_lead;

static int tl_tsv_write(const char *path, tl_tsv_lead lead, const char *lead_name,
                        const long *index, const char *const *labels, size_t ncols,
                        const char *const *names, size_t nrows, const double *const *cols) {
  if (lead == TL_TSV_LEAD_NONE && ncols == 0)
    TL_ERROR(GSL_EINVAL, "tsv %s: no columns", path);
  if (lead != TL_TSV_LEAD_NONE && !tl_tsv_cell_ok(lead_name))
    TL_ERROR(GSL_EINVAL, "tsv %s: bad name for the first column", path);
  if (ncols > 0 && !names)
    TL_ERROR(GSL_EINVAL, "tsv %s: no column names", path);
  for (size_t j = 0; j < ncols; j++) {
    if (!tl_tsv_cell_ok(names[j]))
      TL_ERROR(GSL_EINVAL, "tsv %s: column %zu has an empty name or one with a tab or newline",
               path, j);
    if (nrows > 0 && (!cols || !cols[j]))
      TL_ERROR(GSL_EINVAL, "tsv %s: column '%s' has no data", path, names[j]);
  }
  if (lead == TL_TSV_LEAD_LABEL) {
    if (nrows > 0 && !labels)
      TL_ERROR(GSL_EINVAL, "tsv %s: no labels", path);
    for (size_t i = 0; i < nrows; i++)
      if (!tl_tsv_cell_ok(labels[i]))
        TL_ERROR(GSL_EINVAL, "tsv %s: label of row %zu is empty or has a tab or newline", path,
                 i);
  }
  tl_atomic a;
  TL_TRY(tl_atomic_open(&a, path));
  const char *sep = "";
  if (lead != TL_TSV_LEAD_NONE) {
    fputs(lead_name, a.fp);
    sep = "\t";
  }
  for (size_t j = 0; j < ncols; j++) {
    fputs(sep, a.fp);
    fputs(names[j], a.fp);
    sep = "\t";
  }
  fputc('\n', a.fp);
  for (size_t i = 0; i < nrows; i++) {
    sep = "";
    if (lead == TL_TSV_LEAD_INDEX) {
      fprintf(a.fp, "%ld", index ? index[i] : (long)i);
      sep = "\t";
    } else if (lead == TL_TSV_LEAD_LABEL) {
      fputs(labels[i], a.fp);
      sep = "\t";
    }
    for (size_t j = 0; j < ncols; j++) {
      fputs(sep, a.fp);
      tl_tsv_put_double(a.fp, cols[j][i]);
      sep = "\t";
    }
    fputc('\n', a.fp);
  }
  return tl_atomic_commit(&a);
}

int tl_tsv_write_columns(const char *path, size_t ncols, const char *const *names,
                         size_t nrows, const double *const *cols) {
  return tl_tsv_write(path, TL_TSV_LEAD_NONE, NULL, NULL, NULL, ncols, names, nrows, cols);
}

int tl_tsv_write_indexed(const char *path, const char *index_name, const long *index,
                         size_t ncols, const char *const *names, size_t nrows,
                         const double *const *cols) {
  return tl_tsv_write(path, TL_TSV_LEAD_INDEX, index_name, index, NULL, ncols, names, nrows,
                      cols);
}

int tl_tsv_write_labeled(const char *path, const char *label_name,
                         const char *const *labels, size_t ncols, const char *const *names,
                         size_t nrows, const double *const *cols) {
  return tl_tsv_write(path, TL_TSV_LEAD_LABEL, label_name, NULL, labels, ncols, names, nrows,
                      cols);
}

tl_tsv_block tl_tsv_block_matrix(const char *name, const gsl_matrix *m) {
  tl_tsv_block b = {name, m->size1, m->size2, m->tda, m->data};
  return b;
}

tl_tsv_block tl_tsv_block_vector(const char *name, const gsl_vector *v) {
  tl_tsv_block b = {name, v->size, 1, v->stride, v->data};
  return b;
}

int tl_tsv_write_matrix_blocks(const char *path, size_t nblocks, const tl_tsv_block *blocks) {
  if (nblocks == 0 || !blocks)
    TL_ERROR(GSL_EINVAL, "tsv %s: no blocks", path);
  for (size_t k = 0; k < nblocks; k++) {
    const tl_tsv_block *b = &blocks[k];
    if (!tl_tsv_cell_ok(b->name))
      TL_ERROR(GSL_EINVAL, "tsv %s: block %zu has an empty name or one with a tab or newline",
               path, k);
    if (b->rows > 0 && b->cols > 0 && (!b->data || b->tda < b->cols))
      TL_ERROR(GSL_EINVAL, "tsv %s: block '%s' has no data or tda < cols", path, b->name);
  }
  tl_atomic a;
  TL_TRY(tl_atomic_open(&a, path));
  fputs("block\trow\tcol\tvalue\n", a.fp);
  for (size_t k = 0; k < nblocks; k++) {
    const tl_tsv_block *b = &blocks[k];
    for (size_t i = 0; i < b->rows; i++)
      for (size_t j = 0; j < b->cols; j++) {
        fprintf(a.fp, "%s\t%zu\t%zu\t", b->name, i, j);
        tl_tsv_put_double(a.fp, b->data[i * b->tda + j]);
        fputc('\n', a.fp);
      }
  }
  return tl_atomic_commit(&a);
}
