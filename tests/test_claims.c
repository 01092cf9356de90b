/* Unit test of tl_claims: every relation at and just past its boundary
 * (one ulp), @key and [lo,hi] expectations, NaN, infinite, missing and
 * non-numeric quantities failing, and every kind of malformed claims.tsv
 * refused with TL_EFORMAT and a "<file>:<line>:" message.
 *
 * The boundary values are dyadic (2.5, 0.125, ...), so that o - e and e + t
 * are exact and the boundary is where the relation puts it, not where
 * rounding does. */
#define _XOPEN_SOURCE 700 /* mkdtemp */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_test.h>

#include "tl_claims.h"
#include "tl_error.h"
#include "tl_results.h"
#include "tl_testing.h"

#define HEADER TL_CLAIMS_HEADER "\n"

static char scratch[] = "/tmp/tl_test_claims.XXXXXX";

static const char *in_scratch(const char *name) { return tl_testing_path(scratch, name); }

static void spit(const char *path, const char *text, size_t n) { tl_testing_write(path, text, n); }

/* Evaluate one claim line (header added) with observed value o under key
 * "q" and "ref" = 2.5 in the results; returns the verdict. */
static tl_claim_verdict eval_line(const char *line, double o) {
  char text[1024];
  snprintf(text, sizeof text, HEADER "%s\n", line);
  tl_claims *c = NULL;
  tl_claim_verdict v;
  memset(&v, 0, sizeof v);
  if (tl_claims_parse("claims.tsv", text, strlen(text), &c) != TL_SUCCESS) {
    snprintf(v.message, sizeof v.message, "parse error: %s", tl_error_message());
    v.outcome = TL_CLAIM_FAIL;
    return v;
  }
  tl_results *r = tl_results_alloc("99-test");
  tl_results_set(r, "q", o, "%.3g");
  tl_results_set(r, "ref", 2.5, "%.3g");
  tl_results_set(r, "ref.nan", NAN, "%.3g");
  tl_claims_eval(tl_claims_get(c, 0), r, &v);
  tl_results_free(r);
  tl_claims_free(c);
  return v;
}

static void check(const char *line, double o, int pass, const char *what) {
  tl_claim_verdict v = eval_line(line, o);
  gsl_test(v.pass != pass, "%s: o = %.17g %s (%s)", what, o, pass ? "passes" : "fails",
           v.message);
}

static void test_relations(void) {
  const char *le = "c.le\tThm 1\tbound\tq\tle\t2.5\t0.125\t-\tdyadic";
  check(le, 2.625, 1, "le at e + t");
  check(le, nextafter(2.625, INFINITY), 0, "le one ulp above e + t");
  check(le, -1e300, 1, "le far below");
  const char *ge = "c.ge\tThm 1\tbound\tq\tge\t2.5\t0.125\t-\tdyadic";
  check(ge, 2.375, 1, "ge at e - t");
  check(ge, nextafter(2.375, -INFINITY), 0, "ge one ulp below e - t");
  check(ge, 1e300, 1, "ge far above");
  const char *abs = "c.abs\tThm 1\texact\tq\teq_abs\t2.5\t0.125\t-\tdyadic";
  check(abs, 2.625, 1, "eq_abs at e + t");
  check(abs, 2.375, 1, "eq_abs at e - t");
  check(abs, nextafter(2.625, INFINITY), 0, "eq_abs one ulp above e + t");
  check(abs, nextafter(2.375, -INFINITY), 0, "eq_abs one ulp below e - t");
  check("c.abs0\tThm 1\texact\tq\teq_abs\t2.5\t0\t-\texact", 2.5, 1, "eq_abs with t = 0, o = e");
  check("c.abs0\tThm 1\texact\tq\teq_abs\t2.5\t0\t-\texact", nextafter(2.5, 3.0), 0,
        "eq_abs with t = 0, o one ulp off");
  const char *rel = "c.rel\tThm 1\texact\tq\teq_rel\t-4\t0.0625\t-\tt|e| = 0.25";
  check(rel, -4.25, 1, "eq_rel at e - t|e|");
  check(rel, -3.75, 1, "eq_rel at e + t|e|");
  check(rel, nextafter(-4.25, -INFINITY), 0, "eq_rel one ulp past e - t|e|");
  check(rel, nextafter(-3.75, INFINITY), 0, "eq_rel one ulp past e + t|e|");
  const char *rel0 = "c.rel0\tThm 1\texact\tq\teq_rel\t0\t0.5\t-\tt|e| = 0";
  check(rel0, 0.0, 1, "eq_rel with e = 0 and o = 0");
  check(rel0, 1e-300, 0, "eq_rel with e = 0 and o != 0");
  const char *in = "c.in\tFig. 2\ttrend\tq\tin\t[1.5,2.5]\t0.25\t-\twidened";
  check(in, 1.25, 1, "in at lo - t");
  check(in, 2.75, 1, "in at hi + t");
  check(in, 2.0, 1, "in inside");
  check(in, nextafter(1.25, -INFINITY), 0, "in one ulp below lo - t");
  check(in, nextafter(2.75, INFINITY), 0, "in one ulp above hi + t");
  const char *in0 = "c.in0\tFig. 2\ttrend\tq\tin\t[ -1.5 , 2.5 ]\t0\t-\tspaces allowed";
  check(in0, -1.5, 1, "in at lo with t = 0");
  check(in0, nextafter(-1.5, -INFINITY), 0, "in one ulp below lo with t = 0");
  const char *key = "c.key\tThm 1\tbound\tq\tle\t@ref\t0\t-\tagainst another value";
  check(key, 2.5, 1, "le @key at the resolved value");
  check(key, nextafter(2.5, 3.0), 0, "le @key one ulp above");
  tl_claim_verdict v = eval_line("c.key\tThm 1\tbound\tq\tle\t@absent\t0\t-\tx", 1.0);
  gsl_test(v.pass || v.outcome != TL_CLAIM_EXPECTED_MISSING, "missing @key fails");
  gsl_test_str(v.message, "FAIL: c.key expected '@absent' missing from results",
               "missing @key message");
  v = eval_line("c.key\tThm 1\tbound\tq\tge\t@ref.nan\t1e300\t-\tx", 1.0);
  gsl_test(v.pass || v.outcome != TL_CLAIM_NOT_FINITE, "NaN @key fails");

  const char *lines[] = {le, ge, abs, rel, in};
  for (int i = 0; i < 5; i++) {
    v = eval_line(lines[i], NAN);
    gsl_test(v.pass || v.outcome != TL_CLAIM_NOT_FINITE, "NaN observed fails %s (%s)",
             lines[i], v.message);
  }
  v = eval_line(ge, INFINITY);
  gsl_test(v.pass || v.outcome != TL_CLAIM_NOT_FINITE, "+inf observed fails ge (%s)",
           v.message);
  v = eval_line("c.wide\tThm 1\tbound\tq\tle\t1\t1e300\t-\thuge tolerance", NAN);
  gsl_test(v.pass, "NaN fails even with a huge tolerance");
}

static void test_messages(void) {
  tl_claim_verdict v = eval_line("c.le\tThm 1\tbound\tq\tle\t2.5\t0.125\t-\tdyadic", 2.625);
  gsl_test_str(v.message, "PASS: c.le observed=2.625 expected le 2.5 tol=0.125 (Thm 1)",
               "PASS line");
  v = eval_line("c.le\tThm 1\tbound\tq\tle\t2.5\t0.125\t-\tdyadic", 2.385);
  gsl_test_str(v.message,
               "PASS: c.le observed=2.3849999999999998 expected le 2.5 tol=0.125 (Thm 1)",
               "observed in %%.17g");
  v = eval_line("c.in\tFig. 2\ttrend\tq\tin\t[1.5,2.5]\t0.25\t-\tw", 3.0);
  gsl_test_str(v.message, "FAIL: c.in observed=3 expected in [1.5,2.5] tol=0.25 (Fig. 2)",
               "FAIL line of an interval");
  v = eval_line("c.n\tA1 \"sharp\"\texact\tq\teq_abs\t1e-10\t1e-12\t-\tw", -NAN);
  gsl_test_str(v.message,
               "FAIL: c.n observed=nan expected eq_abs 1e-10 tol=9.9999999999999998e-13 "
               "(A1 \"sharp\")",
               "NaN printed as nan, even a negative NaN");
  v = eval_line("c.m\tThm 1\tbound\tnot.there\tle\t1\t0\t-\tw", 1.0);
  gsl_test(v.pass || v.outcome != TL_CLAIM_MISSING, "missing quantity fails");
  gsl_test_str(v.message, "FAIL: c.m quantity 'not.there' missing from results",
               "missing quantity message");
  gsl_test_str(tl_claim_outcome_name(v.outcome), "missing", "outcome name");
}

static void test_types(void) {
  const char *text = HEADER "c.int\tThm 1\texact\tcount\teq_abs\t7\t0\t-\tinteger\n"
                            "c.bool\tThm 1\texact\tflag\teq_abs\t1\t0\t-\tboolean\n"
                            "c.str\tThm 1\texact\tname\teq_abs\t1\t0\t-\tstring\n";
  tl_claims *c = NULL;
  tl_claims_parse("claims.tsv", text, strlen(text), &c);
  tl_results *r = tl_results_alloc("99-test");
  tl_results_set_int(r, "count", 7);
  tl_results_set_bool(r, "flag", 1);
  tl_results_set_string(r, "name", "Haswell");
  tl_claim_verdict v;
  tl_claims_eval(tl_claims_find(c, "c.int"), r, &v);
  gsl_test(!v.pass, "integer quantity compares as a number");
  tl_claims_eval(tl_claims_find(c, "c.bool"), r, &v);
  gsl_test(!v.pass, "boolean quantity compares as 1");
  tl_claims_eval(tl_claims_find(c, "c.str"), r, &v);
  gsl_test(v.pass || v.outcome != TL_CLAIM_NOT_NUMBER, "string quantity fails (%s)", v.message);
  gsl_test_int(tl_claims_eval(NULL, r, &v), GSL_EINVAL, "NULL claim refused");
  tl_results_free(r);
  tl_claims_free(c);
}

static void test_parse(void) {
  const char *text = "# claims of chapter 99\n"
                     "\n" HEADER "# a comment between claims\n"
                     "a.1\tThm 3.1\texact\tx.err\teq_rel\t-2.385e-3\t1e-10\tflip-sign\t64 n eps\n"
                     "  \t \n"
                     "a.2\tFig. 2 \"rate\"\ttrend\tx.rate\tin\t[0.5,1.5]\t0\t-\tbinomial\n"
                     "a.3\tLemma 2\tbound\tx.gap\tge\t@x.floor\t0.25\t-\tslack"; /* no '\n' */
  spit(in_scratch("good.tsv"), text, strlen(text));
  tl_claims *c = NULL;
  gsl_test(tl_claims_read(in_scratch("good.tsv"), &c), "parse a valid claims file");
  gsl_test_int((int)tl_claims_count(c), 3, "three claims, comments and blanks skipped");
  const tl_claim *a = tl_claims_get(c, 0);
  gsl_test_str(a->id, "a.1", "id");
  gsl_test_str(a->paper_ref, "Thm 3.1", "paper_ref");
  gsl_test_int(a->kind, TL_CLAIM_EXACT, "kind exact");
  gsl_test_str(a->quantity, "x.err", "quantity");
  gsl_test_int(a->relation, TL_CLAIM_EQ_REL, "relation eq_rel");
  gsl_test(a->expected_form != TL_CLAIM_EXPECTED_NUMBER || a->expected != -2.385e-3,
           "expected number parsed exactly");
  gsl_test(a->tolerance != 1e-10, "tolerance parsed exactly");
  gsl_test_str(a->sabotage, "flip-sign", "sabotage id");
  gsl_test_str(a->reason, "64 n eps", "reason");
  gsl_test_int(a->line, 5, "line number of the first claim");
  const tl_claim *b = tl_claims_get(c, 1);
  gsl_test(b->sabotage != NULL, "sabotage '-' is NULL");
  gsl_test_str(b->paper_ref, "Fig. 2 \"rate\"", "paper_ref with quotes kept verbatim");
  gsl_test(b->expected_form != TL_CLAIM_EXPECTED_INTERVAL || b->lo != 0.5 || b->hi != 1.5,
           "interval parsed");
  gsl_test_str(b->expected_text, "[0.5,1.5]", "interval text kept as written");
  const tl_claim *k = tl_claims_find(c, "a.3");
  gsl_test(k == NULL || k->expected_form != TL_CLAIM_EXPECTED_KEY, "@key parsed");
  gsl_test_str(k ? k->expected_key : "", "x.floor", "@key name without '@'");
  gsl_test_int(k ? k->line : 0, 8, "last line without newline parsed");
  gsl_test(tl_claims_find(c, "a.9") != NULL, "find of an unknown id is NULL");
  gsl_test(tl_claims_get(c, 3) != NULL, "get out of range is NULL");
  tl_claims_free(c);
  tl_claims_free(NULL);
  tl_claims *none = (tl_claims *)1;
  gsl_test_int(tl_claims_read(in_scratch("absent.tsv"), &none), TL_EIO,
               "missing file is TL_EIO");
  gsl_test(none != NULL, "failed read gives NULL");
}

typedef struct {
  const char *what;
  const char *text; /* the whole file */
  size_t size;      /* 0: strlen(text) */
  int line;         /* the line the message must name */
  const char *says; /* a fragment the message must contain */
} malformed_case;

#define GOOD "g.1\tThm 1\tbound\tq\tle\t1\t0\t-\tr\n"

static const malformed_case malformed[] = {
    {"empty file", "", 0, 1, "empty file"},
    {"only comments and blanks", "# nothing\n\n", 0, 2, "empty file"},
    {"header only", HEADER, 0, 1, "no claims"},
    {"header with columns swapped",
     "id\tkind\tpaper_ref\tquantity\trelation\texpected\ttolerance\tsabotage\treason\n" GOOD, 0, 1,
     "bad header"},
    {"header with spaces for tabs",
     "id paper_ref kind quantity relation expected tolerance sabotage reason\n" GOOD, 0, 1,
     "bad header"},
    {"bad header after a comment", "# c\nid\tpaper_ref\n" GOOD, 0, 2, "bad header"},
    {"eight fields", HEADER GOOD "g.2\tThm 1\tbound\tq\tle\t1\t0\t-\n", 0, 3, "8 tab-separated"},
    {"ten fields", HEADER "g.2\tThm 1\tbound\tq\tle\t1\t0\t-\tr\textra\n", 0, 2,
     "10 tab-separated"},
    {"space-separated line", HEADER "g.2 Thm1 bound q le 1 0 - r\n", 0, 2, "1 tab-separated"},
    {"empty field", HEADER "g.2\tThm 1\tbound\tq\tle\t\t0\t-\tr\n", 0, 2,
     "empty field 'expected'"},
    {"empty reason", HEADER "g.2\tThm 1\tbound\tq\tle\t1\t0\t-\t\n", 0, 2,
     "empty field 'reason'"},
    {"unknown kind", HEADER "g.2\tThm 1\texactly\tq\tle\t1\t0\t-\tr\n", 0, 2,
     "unknown kind 'exactly'"},
    {"duplicate id", HEADER GOOD GOOD, 0, 3, "duplicate id 'g.1' (first on line 2)"},
    {"unknown relation lt", HEADER "g.2\tThm 1\tbound\tq\tlt\t1\t0\t-\tr\n", 0, 2,
     "unknown relation 'lt'"},
    {"relation with a trailing space", HEADER "g.2\tThm 1\tbound\tq\tle \t1\t0\t-\tr\n", 0, 2,
     "unknown relation 'le '"},
    {"bad expected number", HEADER "g.2\tThm 1\tbound\tq\tle\t1.0x\t0\t-\tr\n", 0, 2,
     "bad expected value '1.0x'"},
    {"expected nan", HEADER "g.2\tThm 1\tbound\tq\tle\tnan\t0\t-\tr\n", 0, 2,
     "bad expected value"},
    {"expected inf", HEADER "g.2\tThm 1\tbound\tq\tle\tinf\t0\t-\tr\n", 0, 2,
     "bad expected value"},
    {"expected overflows", HEADER "g.2\tThm 1\tbound\tq\tle\t1e999\t0\t-\tr\n", 0, 2,
     "bad expected value"},
    {"expected hexadecimal", HEADER "g.2\tThm 1\tbound\tq\tle\t0x10\t0\t-\tr\n", 0, 2,
     "bad expected value"},
    {"expected bare @", HEADER "g.2\tThm 1\tbound\tq\tle\t@\t0\t-\tr\n", 0, 2,
     "bad results key"},
    {"negative tolerance", HEADER "g.2\tThm 1\tbound\tq\tle\t1\t-1e-10\t-\tr\n", 0, 2,
     "bad tolerance '-1e-10'"},
    {"tolerance expression", HEADER "g.2\tThm 1\tbound\tq\tle\t1\t64*n*eps\t-\tr\n", 0, 2,
     "bad tolerance"},
    {"tolerance with a space", HEADER "g.2\tThm 1\tbound\tq\tle\t1\t 1e-3\t-\tr\n", 0, 2,
     "bad tolerance"},
    {"interval with le", HEADER "g.2\tThm 1\tbound\tq\tle\t[1,2]\t0\t-\tr\n", 0, 2,
     "needs relation 'in'"},
    {"in with a number", HEADER "g.2\tThm 1\tbound\tq\tin\t1\t0\t-\tr\n", 0, 2,
     "needs expected [lo,hi]"},
    {"in with @key", HEADER "g.2\tThm 1\tbound\tq\tin\t@ref\t0\t-\tr\n", 0, 2,
     "needs expected [lo,hi]"},
    {"interval lo > hi", HEADER "g.2\tThm 1\tbound\tq\tin\t[2,1]\t0\t-\tr\n", 0, 2,
     "empty interval"},
    {"interval with ;", HEADER "g.2\tThm 1\tbound\tq\tin\t[1;2]\t0\t-\tr\n", 0, 2,
     "bad interval"},
    {"interval unclosed", HEADER "g.2\tThm 1\tbound\tq\tin\t[1,2\t0\t-\tr\n", 0, 2,
     "bad interval"},
    {"interval of three", HEADER "g.2\tThm 1\tbound\tq\tin\t[1,2,3]\t0\t-\tr\n", 0, 2,
     "bad interval"},
    {"interval with a word", HEADER "g.2\tThm 1\tbound\tq\tin\t[1,big]\t0\t-\tr\n", 0, 2,
     "bad number in interval"},
    {"id with a space", HEADER "g 2\tThm 1\tbound\tq\tle\t1\t0\t-\tr\n", 0, 2, "bad claim id"},
    {"quantity with a space", HEADER "g.2\tThm 1\tbound\tq r\tle\t1\t0\t-\tr\n", 0, 2,
     "bad quantity"},
    {"sabotage with a space", HEADER "g.2\tThm 1\tbound\tq\tle\t1\t0\tdrop bias\tr\n", 0, 2,
     "bad sabotage id"},
    {"CRLF line ends", TL_CLAIMS_HEADER "\r\n" GOOD, 0, 1, "carriage return"},
    {"NUL byte", HEADER GOOD "g.2\tThm\0 1\tbound\tq\tle\t1\t0\t-\tr\n",
     sizeof(HEADER GOOD "g.2\tThm\0 1\tbound\tq\tle\t1\t0\t-\tr\n") - 1, 3, "NUL byte"},
    {"error after good lines", HEADER "# c\n" GOOD "\n" GOOD, 0, 5, "duplicate id"},
};

static void test_malformed(void) {
  size_t n = sizeof malformed / sizeof malformed[0];
  for (size_t i = 0; i < n; i++) {
    const malformed_case *m = &malformed[i];
    char name[64];
    snprintf(name, sizeof name, "bad%02zu.tsv", i);
    const char *path = in_scratch(name);
    spit(path, m->text, m->size ? m->size : strlen(m->text));
    tl_claims *c = (tl_claims *)1;
    tl_error_clear();
    int status = tl_claims_read(path, &c);
    char where[600];
    snprintf(where, sizeof where, "%s:%d: ", path, m->line);
    const char *msg = tl_error_message();
    gsl_test(status != TL_EFORMAT || c != NULL, "%s: TL_EFORMAT", m->what);
    gsl_test(strncmp(msg, where, strlen(where)) != 0 || !strstr(msg, m->says),
             "%s: message '%s' names %s:%d and says '%s'", m->what, msg, name, m->line,
             m->says);
  }
  /* The message of the conventions' example, word for word. */
  const char *text = HEADER GOOD "\n# x\n\n\n"
                                 "g.7\tThm 1\tbound\tq\tlt\t1\t0\t-\tr\n";
  tl_claims *c = NULL;
  tl_claims_parse("claims.tsv", text, strlen(text), &c);
  gsl_test_str(tl_error_message(),
               "claims.tsv:7: unknown relation 'lt' (le, ge, eq_abs, eq_rel, in)",
               "message of an unknown relation");
}

int main(void) {
  if (!mkdtemp(scratch)) {
    perror("mkdtemp");
    return 1;
  }
  test_relations();
  test_messages();
  test_types();
  test_parse();
  test_malformed();
  size_t n = sizeof malformed / sizeof malformed[0];
  char name[64];
  for (size_t i = 0; i < n; i++) {
    snprintf(name, sizeof name, "bad%02zu.tsv", i);
    unlink(in_scratch(name));
  }
  unlink(in_scratch("good.tsv"));
  rmdir(scratch);
  return gsl_test_summary();
}
