/* tl_claims: see tl_claims.h.
 *
 * The parser keeps one copy of the file's text and cuts it in place: every
 * string of a tl_claim points into that copy, so a claims set is two
 * allocations however many claims it holds. */
#include "tl_claims.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tl_error.h"

#define TL_CLAIMS_FIELDS 9

/* Claim ids and keys longer than this are surely a mistake. */
#define TL_CLAIMS_NAME_MAX 200

struct tl_claims {
  char *text; /* the file, NUL-terminated, cut into fields */
  tl_claim *items;
  size_t n;
};

static const char *const tl_claim_kind_names[] = {"exact", "bound", "trend"};
static const char *const tl_claim_relation_names[] = {"le", "ge", "eq_abs", "eq_rel", "in"};
static const char *const tl_claim_field_names[TL_CLAIMS_FIELDS] = {
    "id", "paper_ref", "kind", "quantity", "relation", "expected", "tolerance", "sabotage",
    "reason"};

const char *tl_claim_kind_name(tl_claim_kind kind) {
  return (unsigned)kind < 3 ? tl_claim_kind_names[kind] : "?";
}

const char *tl_claim_relation_name(tl_claim_relation relation) {
  return (unsigned)relation < 5 ? tl_claim_relation_names[relation] : "?";
}

const char *tl_claim_outcome_name(tl_claim_outcome outcome) {
  switch (outcome) {
  case TL_CLAIM_PASS: return "pass";
  case TL_CLAIM_FAIL: return "fail";
  case TL_CLAIM_MISSING: return "missing";
  case TL_CLAIM_EXPECTED_MISSING: return "expected_missing";
  case TL_CLAIM_NOT_NUMBER: return "not_number";
  case TL_CLAIM_NOT_FINITE: return "not_finite";
  }
  return "?";
}

/* Names (ids, results keys, fault ids): the alphabet of tl_results keys. */
static int tl_claims_name_ok(const char *s) {
  size_t n = 0;
  for (; s[n]; n++) {
    unsigned char c = (unsigned char)s[n];
    if (!isalnum(c) && c != '_' && c != '.' && c != '-')
      return 0;
  }
  return n > 0 && n <= TL_CLAIMS_NAME_MAX;
}

/* A finite decimal number and nothing else: no spaces, no "inf", "nan" or
 * hexadecimal, which strtod alone would accept. */
static int tl_claims_number(const char *s, double *x) {
  int digits = 0;
  for (const char *p = s; *p; p++) {
    if (isdigit((unsigned char)*p))
      digits = 1;
    else if (!strchr("+-.eE", *p))
      return 0;
  }
  if (!digits)
    return 0;
  char *end;
  errno = 0;
  *x = strtod(s, &end);
  return *end == '\0' && end != s && isfinite(*x);
}

/* Trim spaces at both ends, in place. */
static char *tl_claims_trim(char *s) {
  while (*s == ' ')
    s++;
  size_t n = strlen(s);
  while (n > 0 && s[n - 1] == ' ')
    s[--n] = '\0';
  return s;
}

static int tl_claims_lookup_name(const char *s, const char *const *names, int n) {
  for (int i = 0; i < n; i++)
    if (strcmp(s, names[i]) == 0)
      return i;
  return -1;
}

#define TL_CLAIMS_FAIL(...) TL_ERROR(TL_EFORMAT, __VA_ARGS__)

/* Parse the `expected` field; c->expected_text must already point at it. */
static int tl_claims_parse_expected(const char *name, int line, tl_claim *c) {
  const char *text = c->expected_text;
  c->expected = NAN;
  if (text[0] == '[') {
    if (c->relation != TL_CLAIM_IN)
      TL_CLAIMS_FAIL("%s:%d: interval expected '%s' needs relation 'in', not '%s'", name, line,
                     text, tl_claim_relation_name(c->relation));
    /* Cut a copy, so that the field stays as written for messages. */
    char interval[128];
    size_t n = strlen(text);
    if (n >= sizeof interval)
      TL_CLAIMS_FAIL("%s:%d: interval '%s' too long", name, line, text);
    memcpy(interval, text, n + 1);
    char *comma = strchr(interval, ',');
    if (interval[n - 1] != ']' || !comma || strchr(comma + 1, ','))
      TL_CLAIMS_FAIL("%s:%d: bad interval '%s' (write [lo,hi])", name, line, text);
    interval[n - 1] = '\0';
    *comma = '\0';
    if (!tl_claims_number(tl_claims_trim(interval + 1), &c->lo) ||
        !tl_claims_number(tl_claims_trim(comma + 1), &c->hi))
      TL_CLAIMS_FAIL("%s:%d: bad number in interval '%s'", name, line, text);
    if (!(c->lo <= c->hi))
      TL_CLAIMS_FAIL("%s:%d: empty interval '%s' (lo > hi)", name, line, text);
    c->expected_form = TL_CLAIM_EXPECTED_INTERVAL;
    return TL_SUCCESS;
  }
  if (c->relation == TL_CLAIM_IN)
    TL_CLAIMS_FAIL("%s:%d: relation 'in' needs expected [lo,hi], not '%s'", name, line, text);
  if (text[0] == '@') {
    if (!tl_claims_name_ok(text + 1))
      TL_CLAIMS_FAIL("%s:%d: bad results key in expected '%s'", name, line, text);
    c->expected_form = TL_CLAIM_EXPECTED_KEY;
    c->expected_key = text + 1;
    return TL_SUCCESS;
  }
  if (!tl_claims_number(text, &c->expected))
    TL_CLAIMS_FAIL("%s:%d: bad expected value '%s' (a number, @key or [lo,hi])", name, line,
                   text);
  c->expected_form = TL_CLAIM_EXPECTED_NUMBER;
  return TL_SUCCESS;
}

/* Parse one claim line (cut in place). */
static int tl_claims_parse_line(const tl_claims *set, const char *name, int line, char *text,
                                tl_claim *c) {
  char *f[TL_CLAIMS_FIELDS];
  int n = 0;
  for (char *p = text;; n++) {
    char *tab = strchr(p, '\t');
    if (n < TL_CLAIMS_FIELDS)
      f[n] = p;
    if (!tab) {
      n++;
      break;
    }
    *tab = '\0';
    p = tab + 1;
  }
  if (n != TL_CLAIMS_FIELDS)
    TL_CLAIMS_FAIL("%s:%d: %d tab-separated fields, expected %d", name, line, n,
                   TL_CLAIMS_FIELDS);
  for (int i = 0; i < TL_CLAIMS_FIELDS; i++)
    if (!*f[i])
      TL_CLAIMS_FAIL("%s:%d: empty field '%s'", name, line, tl_claim_field_names[i]);
  memset(c, 0, sizeof *c);
  c->line = line;
  c->lo = c->hi = NAN;
  c->id = f[0];
  c->paper_ref = f[1];
  c->quantity = f[3];
  c->reason = f[8];
  if (!tl_claims_name_ok(c->id))
    TL_CLAIMS_FAIL("%s:%d: bad claim id '%s' (letters, digits, '_', '.', '-')", name, line,
                   c->id);
  for (size_t i = 0; i < set->n; i++)
    if (strcmp(set->items[i].id, c->id) == 0)
      TL_CLAIMS_FAIL("%s:%d: duplicate id '%s' (first on line %d)", name, line, c->id,
                     set->items[i].line);
  int kind = tl_claims_lookup_name(f[2], tl_claim_kind_names, 3);
  if (kind < 0)
    TL_CLAIMS_FAIL("%s:%d: unknown kind '%s' (exact, bound, trend)", name, line, f[2]);
  c->kind = (tl_claim_kind)kind;
  if (!tl_claims_name_ok(c->quantity))
    TL_CLAIMS_FAIL("%s:%d: bad quantity '%s' (a results key)", name, line, c->quantity);
  int relation = tl_claims_lookup_name(f[4], tl_claim_relation_names, 5);
  if (relation < 0)
    TL_CLAIMS_FAIL("%s:%d: unknown relation '%s' (le, ge, eq_abs, eq_rel, in)", name, line,
                   f[4]);
  c->relation = (tl_claim_relation)relation;
  c->expected_text = f[5];
  TL_TRY(tl_claims_parse_expected(name, line, c));
  if (!tl_claims_number(f[6], &c->tolerance) || c->tolerance < 0)
    TL_CLAIMS_FAIL("%s:%d: bad tolerance '%s' (a number >= 0)", name, line, f[6]);
  c->tolerance = fabs(c->tolerance); /* "-0" is 0, and prints so */
  if (strcmp(f[7], "-") == 0)
    c->sabotage = NULL;
  else if (tl_claims_name_ok(f[7]))
    c->sabotage = f[7];
  else
    TL_CLAIMS_FAIL("%s:%d: bad sabotage id '%s' (a fault id or '-')", name, line, f[7]);
  return TL_SUCCESS;
}

static int tl_claims_blank(const char *s) {
  for (; *s; s++)
    if (*s != ' ' && *s != '\t')
      return 0;
  return 1;
}

/* Say which column of the header is wrong: more use than "bad header". */
static int tl_claims_bad_header(const char *name, int line, const char *s) {
  int column = 0;
  for (const char *p = s;; column++) {
    size_t n = strcspn(p, "\t");
    if (column >= TL_CLAIMS_FIELDS)
      TL_CLAIMS_FAIL("%s:%d: bad header: more than %d tab-separated columns", name, line,
                     TL_CLAIMS_FIELDS);
    const char *want = tl_claim_field_names[column];
    if (n != strlen(want) || strncmp(p, want, n) != 0)
      TL_CLAIMS_FAIL("%s:%d: bad header: column %d is '%.*s', expected '%s' (the header is "
                     "the nine tab-separated names %s)",
                     name, line, column + 1, (int)(n > 40 ? 40 : n), p, want,
                     "id paper_ref kind quantity relation expected tolerance sabotage reason");
    p += n;
    if (!*p)
      break;
    p++;
  }
  TL_CLAIMS_FAIL("%s:%d: bad header: %d columns, expected %d", name, line, column + 1,
                 TL_CLAIMS_FIELDS);
}

static int tl_claims_parse_text(const char *name, tl_claims *set) {
  size_t lines = 1;
  for (const char *p = set->text; *p; p++)
    lines += *p == '\n';
  set->items = calloc(lines, sizeof *set->items);
  if (!set->items)
    TL_ERROR(GSL_ENOMEM, "%s: out of memory", name);
  int line = 0, seen_header = 0;
  char *p = set->text;
  while (*p) {
    char *s = p;
    char *nl = strchr(s, '\n');
    if (nl) {
      *nl = '\0';
      p = nl + 1;
    } else {
      p = s + strlen(s);
    }
    line++;
    if (strchr(s, '\r'))
      TL_CLAIMS_FAIL("%s:%d: carriage return in line (write '\\n' line ends)", name, line);
    if (tl_claims_blank(s) || s[0] == '#')
      continue;
    if (!seen_header) {
      if (strcmp(s, TL_CLAIMS_HEADER) != 0)
        return tl_claims_bad_header(name, line, s);
      seen_header = 1;
      continue;
    }
    TL_TRY(tl_claims_parse_line(set, name, line, s, &set->items[set->n]));
    set->n++;
  }
  if (!seen_header)
    TL_CLAIMS_FAIL("%s:%d: empty file (no header)", name, line > 0 ? line : 1);
  if (set->n == 0)
    TL_CLAIMS_FAIL("%s:%d: no claims after the header", name, line);
  return TL_SUCCESS;
}

int tl_claims_parse(const char *name, const char *text, size_t size, tl_claims **out) {
  *out = NULL;
  const char *nul = memchr(text, '\0', size);
  if (nul) {
    int line = 1;
    for (const char *p = text; p < nul; p++)
      line += *p == '\n';
    TL_CLAIMS_FAIL("%s:%d: NUL byte in file", name, line);
  }
  tl_claims *set = calloc(1, sizeof *set);
  if (!set)
    TL_ERROR(GSL_ENOMEM, "%s: out of memory", name);
  set->text = malloc(size + 1);
  if (!set->text) {
    free(set);
    TL_ERROR(GSL_ENOMEM, "%s: out of memory", name);
  }
  memcpy(set->text, text, size);
  set->text[size] = '\0';
  int status = tl_claims_parse_text(name, set);
  if (status != TL_SUCCESS) {
    tl_claims_free(set);
    return status;
  }
  *out = set;
  return TL_SUCCESS;
}

int tl_claims_read(const char *path, tl_claims **out) {
  *out = NULL;
  FILE *fp = fopen(path, "rb");
  if (!fp)
    TL_ERROR(TL_EIO, "cannot read %s: %s", path, strerror(errno));
  char *text = NULL;
  size_t size = 0, cap = 0;
  for (;;) {
    if (size == cap) {
      cap = cap ? 2 * cap : 4096;
      char *t = realloc(text, cap);
      if (!t) {
        free(text);
        fclose(fp);
        TL_ERROR(GSL_ENOMEM, "%s: out of memory", path);
      }
      text = t;
    }
    size_t n = fread(text + size, 1, cap - size, fp);
    size += n;
    if (n == 0)
      break;
  }
  int bad = ferror(fp);
  fclose(fp);
  if (bad) {
    free(text);
    TL_ERROR(TL_EIO, "read error on %s", path);
  }
  int status = tl_claims_parse(path, text, size, out);
  free(text);
  return status;
}

void tl_claims_free(tl_claims *c) {
  if (!c)
    return;
  free(c->text);
  free(c->items);
  free(c);
}

size_t tl_claims_count(const tl_claims *c) { return c->n; }

const tl_claim *tl_claims_get(const tl_claims *c, size_t i) {
  return i < c->n ? &c->items[i] : NULL;
}

const tl_claim *tl_claims_find(const tl_claims *c, const char *id) {
  for (size_t i = 0; i < c->n; i++)
    if (strcmp(c->items[i].id, id) == 0)
      return &c->items[i];
  return NULL;
}

/* The standard line with numbers: PASS/FAIL, observed vs expected. */
static void tl_claims_standard_line(const tl_claim *c, tl_claim_verdict *v) {
  char o[TL_RESULTS_RAW_MAX], t[TL_RESULTS_RAW_MAX];
  const char *word = v->pass ? "PASS" : "FAIL";
  tl_results_format_raw(v->observed, o);
  tl_results_format_raw(v->tolerance, t);
  if (c->relation == TL_CLAIM_IN) {
    char lo[TL_RESULTS_RAW_MAX], hi[TL_RESULTS_RAW_MAX];
    tl_results_format_raw(v->lo, lo);
    tl_results_format_raw(v->hi, hi);
    snprintf(v->message, sizeof v->message, "%s: %s observed=%s expected in [%s,%s] tol=%s (%s)",
             word, c->id, o, lo, hi, t, c->paper_ref);
  } else {
    char e[TL_RESULTS_RAW_MAX];
    tl_results_format_raw(v->expected, e);
    snprintf(v->message, sizeof v->message, "%s: %s observed=%s expected %s %s tol=%s (%s)",
             word, c->id, o, tl_claim_relation_name(c->relation), e, t, c->paper_ref);
  }
}

static int tl_claims_holds(const tl_claim *c, double o, double e, double lo, double hi) {
  double t = c->tolerance;
  switch (c->relation) {
  case TL_CLAIM_LE: return o <= e + t;
  case TL_CLAIM_GE: return o >= e - t;
  case TL_CLAIM_EQ_ABS: return fabs(o - e) <= t;
  case TL_CLAIM_EQ_REL: return fabs(o - e) <= t * fabs(e);
  case TL_CLAIM_IN: return lo - t <= o && o <= hi + t;
  }
  return 0;
}

int tl_claims_eval(const tl_claim *c, const tl_results *r, tl_claim_verdict *out) {
  if (!c || !r || !out)
    TL_ERROR(GSL_EINVAL, "tl_claims_eval: NULL argument");
  memset(out, 0, sizeof *out);
  out->pass = 0;
  out->observed = out->expected = out->lo = out->hi = NAN;
  out->tolerance = c->tolerance;
  tl_results_entry q;
  if (!tl_results_lookup(r, c->quantity, &q)) {
    out->outcome = TL_CLAIM_MISSING;
    snprintf(out->message, sizeof out->message, "FAIL: %s quantity '%s' missing from results",
             c->id, c->quantity);
    return TL_SUCCESS;
  }
  if (q.type == TL_RESULTS_STRING) {
    out->outcome = TL_CLAIM_NOT_NUMBER;
    snprintf(out->message, sizeof out->message,
             "FAIL: %s quantity '%s' is not a number (\"%s\")", c->id, c->quantity, q.text);
    return TL_SUCCESS;
  }
  out->observed = q.value;
  if (c->expected_form == TL_CLAIM_EXPECTED_NUMBER) {
    out->expected = c->expected;
  } else if (c->expected_form == TL_CLAIM_EXPECTED_INTERVAL) {
    out->lo = c->lo;
    out->hi = c->hi;
  } else {
    tl_results_entry e;
    if (!tl_results_lookup(r, c->expected_key, &e)) {
      out->outcome = TL_CLAIM_EXPECTED_MISSING;
      snprintf(out->message, sizeof out->message,
               "FAIL: %s expected '@%s' missing from results", c->id, c->expected_key);
      return TL_SUCCESS;
    }
    if (e.type == TL_RESULTS_STRING) {
      out->outcome = TL_CLAIM_NOT_NUMBER;
      snprintf(out->message, sizeof out->message,
               "FAIL: %s expected '@%s' is not a number (\"%s\")", c->id, c->expected_key,
               e.text);
      return TL_SUCCESS;
    }
    out->expected = e.value;
  }
  if (!isfinite(out->observed) || (c->relation != TL_CLAIM_IN && !isfinite(out->expected)))
    out->outcome = TL_CLAIM_NOT_FINITE;
  else if (tl_claims_holds(c, out->observed, out->expected, out->lo, out->hi))
    out->outcome = TL_CLAIM_PASS;
  else
    out->outcome = TL_CLAIM_FAIL;
  out->pass = out->outcome == TL_CLAIM_PASS;
  tl_claims_standard_line(c, out);
  return TL_SUCCESS;
}

int tl_claim_verdict_print(FILE *fp, const tl_claim_verdict *v) {
  if (fprintf(fp, "%s\n", v->message) < 0)
    TL_ERROR(TL_EIO, "cannot print a claim verdict");
  return TL_SUCCESS;
}
