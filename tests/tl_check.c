/* tl-check: evaluate a chapter's claims.tsv against its results.json.
 *
 *   tl-check --claims FILE --results FILE [--only ID[,ID...]] [--status OUT.json] [--quiet]
 *
 * Prints one PASS:/FAIL: line per claim, observed against expected in %.17g
 * (the standard line of tl_claims_eval), then exactly "N passed, N failed".
 * --quiet leaves out the PASS lines (FAIL lines and the count stay, so the
 * sabotage tests' regular expressions still match).  --status writes the
 * claims-status JSON the report reads: an array, in file order, of
 *   {"id", "paper_ref", "kind", "quantity", "relation", "expected",
 *    "expected_text", "tolerance", "sabotage", "reason", "observed",
 *    "verdict", "outcome", "message"}
 * where "expected" is the resolved number ([lo, hi] for `in`, null when it
 * could not be resolved), "observed" is null when missing or not finite, and
 * "verdict" is "PASS" or "FAIL".
 *
 * Exit status: 0 when every evaluated claim passes, 1 when any fails, 2 on a
 * usage or input error (one line "tl-check: error: <message>" on stderr).
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tl_atomic.h"
#include "tl_claims.h"
#include "tl_error.h"
#include "tl_results.h"

enum { TL_CHECK_PASS = 0, TL_CHECK_FAIL = 1, TL_CHECK_ERROR = 2 };

static const char *const tl_check_usage =
    "usage: tl-check --claims FILE --results FILE [--only ID[,ID...]] [--status OUT.json] "
    "[--quiet]\n"
    "Evaluate the claims of FILE (claims.tsv) against results.json; print one PASS:/FAIL:\n"
    "line per claim and \"N passed, N failed\".  Exit 0 when all pass, 1 when any fails,\n"
    "2 on a usage or input error.\n"
    "  --claims FILE     the chapter's claims.tsv\n"
    "  --results FILE    the chapter's results.json\n"
    "  --only IDS        evaluate only these claims (comma-separated ids)\n"
    "  --status FILE     write the claims-status JSON for the report\n"
    "  --quiet           print FAIL lines and the count only\n"
    "  --help            print this help and exit\n";

static int tl_check_error(const char *fmt, const char *arg) {
  fputs("tl-check: error: ", stderr);
  fprintf(stderr, fmt, arg);
  fputc('\n', stderr);
  return TL_CHECK_ERROR;
}

/* Mark the claims named in a comma-separated list; every name must exist. */
static int tl_check_select(const tl_claims *claims, const char *list, unsigned char *selected) {
  char *copy = malloc(strlen(list) + 1);
  if (!copy)
    TL_ERROR(GSL_ENOMEM, "out of memory");
  strcpy(copy, list);
  int status = TL_SUCCESS;
  for (char *p = copy; status == TL_SUCCESS;) {
    size_t n = strcspn(p, ",");
    char *next = p[n] ? p + n + 1 : NULL;
    p[n] = '\0';
    const tl_claim *c = NULL;
    size_t i = 0;
    for (; i < tl_claims_count(claims); i++)
      if (strcmp((c = tl_claims_get(claims, i))->id, p) == 0)
        break;
    if (!*p)
      tl_error_set(status = TL_EUSAGE, __FILE__, __LINE__, "--only: empty claim id in '%s'",
                   list);
    else if (i == tl_claims_count(claims))
      tl_error_set(status = TL_EUSAGE, __FILE__, __LINE__, "--only: no claim with id '%s'", p);
    else
      selected[i] = 1;
    if (!next)
      break;
    p = next;
  }
  free(copy);
  return status;
}

/* A double for the status file: null when not finite (JSON has no NaN). */
static json_t *tl_check_number(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static json_t *tl_check_status_entry(const tl_claim *c, const tl_claim_verdict *v) {
  json_t *e = json_object();
  if (!e)
    return NULL;
  json_t *expected;
  if (c->relation == TL_CLAIM_IN) {
    expected = json_array();
    json_array_append_new(expected, tl_check_number(v->lo));
    json_array_append_new(expected, tl_check_number(v->hi));
  } else {
    expected = tl_check_number(v->expected);
  }
  json_t *sabotage = c->sabotage ? json_string(c->sabotage) : json_null();
  int bad = json_object_set_new(e, "id", json_string(c->id)) ||
            json_object_set_new(e, "paper_ref", json_string(c->paper_ref)) ||
            json_object_set_new(e, "kind", json_string(tl_claim_kind_name(c->kind))) ||
            json_object_set_new(e, "quantity", json_string(c->quantity)) ||
            json_object_set_new(e, "relation", json_string(tl_claim_relation_name(c->relation))) ||
            json_object_set_new(e, "expected", expected) ||
            json_object_set_new(e, "expected_text", json_string(c->expected_text)) ||
            json_object_set_new(e, "tolerance", json_real(c->tolerance)) ||
            json_object_set_new(e, "sabotage", sabotage) ||
            json_object_set_new(e, "reason", json_string(c->reason)) ||
            json_object_set_new(e, "observed", tl_check_number(v->observed)) ||
            json_object_set_new(e, "verdict", json_string(v->pass ? "PASS" : "FAIL")) ||
            json_object_set_new(e, "outcome", json_string(tl_claim_outcome_name(v->outcome))) ||
            json_object_set_new(e, "message", json_string(v->message));
  if (bad) {
    json_decref(e);
    return NULL;
  }
  return e;
}

static int tl_check_write_status(const char *path, json_t *status) {
  return tl_json_write(path, status, JSON_SORT_KEYS | JSON_INDENT(1) | JSON_REAL_PRECISION(17));
}

int main(int argc, char **argv) {
  static const struct option options[] = {{"claims", required_argument, NULL, 'c'},
                                          {"results", required_argument, NULL, 'r'},
                                          {"only", required_argument, NULL, 'o'},
                                          {"status", required_argument, NULL, 's'},
                                          {"quiet", no_argument, NULL, 'q'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
  const char *claims_path = NULL, *results_path = NULL, *only = NULL, *status_path = NULL;
  int quiet = 0;
  tl_atomic_install_signal_handlers();
  opterr = 0; /* our own one-line messages */
  int opt;
  while ((opt = getopt_long(argc, argv, ":", options, NULL)) != -1) {
    switch (opt) {
    case 'c': claims_path = optarg; break;
    case 'r': results_path = optarg; break;
    case 'o': only = optarg; break;
    case 's': status_path = optarg; break;
    case 'q': quiet = 1; break;
    case 'h': fputs(tl_check_usage, stdout); return TL_CHECK_PASS;
    case ':': return tl_check_error("option %s needs a value (see --help)", argv[optind - 1]);
    default: return tl_check_error("unknown option '%s' (see --help)", argv[optind - 1]);
    }
  }
  if (optind < argc)
    return tl_check_error("unexpected argument '%s' (see --help)", argv[optind]);
  if (!claims_path)
    return tl_check_error("%s", "--claims FILE is required (see --help)");
  if (!results_path)
    return tl_check_error("%s", "--results FILE is required (see --help)");

  tl_claims *claims = NULL;
  tl_results *results = NULL;
  if (tl_claims_read(claims_path, &claims) != TL_SUCCESS)
    return tl_check_error("%s", tl_error_message());
  if (tl_results_read(results_path, &results) != TL_SUCCESS) {
    tl_claims_free(claims);
    return tl_check_error("%s", tl_error_message());
  }
  /* Evaluate everything and write the status file before printing, so that
   * an error leaves exactly one line (on stderr) and no partial report. */
  size_t n = tl_claims_count(claims);
  unsigned char *selected = calloc(n, 1);
  tl_claim_verdict *verdicts = calloc(n, sizeof *verdicts);
  json_t *status = json_array();
  int rc = selected && verdicts && status ? TL_SUCCESS : GSL_ENOMEM;
  if (rc != TL_SUCCESS)
    tl_error_set(rc, __FILE__, __LINE__, "out of memory");
  if (rc == TL_SUCCESS && only)
    rc = tl_check_select(claims, only, selected);
  else if (rc == TL_SUCCESS)
    memset(selected, 1, n);
  for (size_t i = 0; rc == TL_SUCCESS && i < n; i++) {
    if (!selected[i])
      continue;
    const tl_claim *c = tl_claims_get(claims, i);
    rc = tl_claims_eval(c, results, &verdicts[i]);
    if (rc == TL_SUCCESS && json_array_append_new(status, tl_check_status_entry(c, &verdicts[i])))
      tl_error_set(rc = GSL_ENOMEM, __FILE__, __LINE__, "out of memory");
  }
  if (rc == TL_SUCCESS && status_path)
    rc = tl_check_write_status(status_path, status);
  size_t passed = 0, failed = 0;
  for (size_t i = 0; rc == TL_SUCCESS && i < n; i++) {
    if (!selected[i])
      continue;
    if (verdicts[i].pass)
      passed++;
    else
      failed++;
    if (!verdicts[i].pass || !quiet)
      tl_claim_verdict_print(stdout, &verdicts[i]);
  }
  if (rc == TL_SUCCESS)
    printf("%zu passed, %zu failed\n", passed, failed);
  json_decref(status);
  free(verdicts);
  free(selected);
  tl_results_free(results);
  tl_claims_free(claims);
  if (fflush(stdout) != 0 || ferror(stdout))
    return tl_check_error("%s", "cannot write to standard output");
  if (rc != TL_SUCCESS)
    return tl_check_error("%s", tl_error_message());
  return failed > 0 ? TL_CHECK_FAIL : TL_CHECK_PASS;
}
