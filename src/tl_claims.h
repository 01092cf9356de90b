/* tl_claims: the parser and evaluator of a chapter's claims.tsv, shared by
 * the checker (tl-check) and the report.
 *
 * claims.tsv is tab-separated with the header
 *   id  paper_ref  kind  quantity  relation  expected  tolerance  sabotage  reason
 * and one claim per line, all nine fields present and non-empty.  Blank lines
 * and lines whose first character is '#' are skipped (also before the
 * header).  Fields:
 *   id         unique name of the claim: letters, digits, '_', '.', '-'
 *   paper_ref  where the paper states it ("Thm 3.1", "Fig. 2")
 *   kind       exact | bound | trend
 *   quantity   a key of the chapter's results.json
 *   relation   le | ge | eq_abs | eq_rel | in
 *   expected   a finite decimal number, "@key" (another results value), or,
 *              for `in` only, "[lo,hi]" with lo <= hi
 *   tolerance  a finite decimal number >= 0 (its derivation goes in reason)
 *   sabotage   the fault id that must make this claim fail, or "-"
 *   reason     why the tolerance is what it is
 *
 * Semantics, with observed o, expected e, tolerance t:
 *   le      o <= e + t          ge      o >= e - t
 *   eq_abs  |o - e| <= t        eq_rel  |o - e| <= t |e|
 *   in      lo - t <= o <= hi + t
 * A claim fails when its quantity (or an @key expected) is missing from the
 * results, is not a number (a string), or is not finite: NaN, and also an
 * infinity, because a value stored as null cannot be compared with a bound
 * (a divergent quantity never passes a claim silently).  Booleans count as 1
 * and 0, integers as their value.
 *
 * Every malformed input (bad header, empty file, no claims, wrong field
 * count, empty field, unknown kind or relation, bad number, bad interval,
 * duplicate id) is TL_EFORMAT with a message "<file>:<line>: <problem>".
 */
#ifndef TL_CLAIMS_H
#define TL_CLAIMS_H

#include <stddef.h>
#include <stdio.h>

#include "tl_results.h"

/* The header line, without its newline. */
#define TL_CLAIMS_HEADER \
  "id\tpaper_ref\tkind\tquantity\trelation\texpected\ttolerance\tsabotage\treason"

typedef enum { TL_CLAIM_EXACT, TL_CLAIM_BOUND, TL_CLAIM_TREND } tl_claim_kind;

typedef enum {
  TL_CLAIM_LE,
  TL_CLAIM_GE,
  TL_CLAIM_EQ_ABS,
  TL_CLAIM_EQ_REL,
  TL_CLAIM_IN
} tl_claim_relation;

/* How `expected` is written. */
typedef enum {
  TL_CLAIM_EXPECTED_NUMBER,   /* a number: expected */
  TL_CLAIM_EXPECTED_KEY,      /* "@key": expected_key */
  TL_CLAIM_EXPECTED_INTERVAL  /* "[lo,hi]": lo, hi */
} tl_claim_expected_form;

typedef struct {
  const char *id;
  const char *paper_ref;
  tl_claim_kind kind;
  const char *quantity;
  tl_claim_relation relation;
  const char *expected_text; /* the field as written */
  tl_claim_expected_form expected_form;
  double expected;           /* for TL_CLAIM_EXPECTED_NUMBER */
  const char *expected_key;  /* for TL_CLAIM_EXPECTED_KEY, without the '@' */
  double lo, hi;             /* for TL_CLAIM_EXPECTED_INTERVAL */
  double tolerance;
  const char *sabotage;      /* NULL for "-" */
  const char *reason;
  int line;                  /* line number in the file, from 1 */
} tl_claim;

typedef struct tl_claims tl_claims;

/* Parse a claims file.  TL_EIO when it cannot be read, TL_EFORMAT when it is
 * malformed (see above); *out is NULL on error. */
int tl_claims_read(const char *path, tl_claims **out);

/* Parse claims from memory (size bytes of text); name stands for the file in
 * messages. */
int tl_claims_parse(const char *name, const char *text, size_t size, tl_claims **out);

void tl_claims_free(tl_claims *c);

size_t tl_claims_count(const tl_claims *c);
/* Claim i (0-based, in file order); NULL when i is out of range. */
const tl_claim *tl_claims_get(const tl_claims *c, size_t i);
/* The claim with this id, or NULL. */
const tl_claim *tl_claims_find(const tl_claims *c, const char *id);

/* The outcome of one claim against one set of results. */
typedef enum {
  TL_CLAIM_PASS,
  TL_CLAIM_FAIL,             /* compared, and the relation does not hold */
  TL_CLAIM_MISSING,          /* quantity not in the results */
  TL_CLAIM_EXPECTED_MISSING, /* "@key" not in the results */
  TL_CLAIM_NOT_NUMBER,       /* quantity or "@key" holds a string */
  TL_CLAIM_NOT_FINITE        /* quantity or "@key" is NaN or infinite */
} tl_claim_outcome;

#define TL_CLAIM_MESSAGE_MAX 1024

typedef struct {
  int pass;                  /* 1 exactly when outcome is TL_CLAIM_PASS */
  tl_claim_outcome outcome;
  double observed;           /* NaN when missing or not a number */
  double expected;           /* resolved; NaN when unresolved or for `in` */
  double lo, hi;             /* for `in`; NaN otherwise */
  double tolerance;
  char message[TL_CLAIM_MESSAGE_MAX]; /* the standard line, without "\n" */
} tl_claim_verdict;

/* Evaluate claim c against results r.  Returns TL_SUCCESS whatever the
 * verdict (a failing claim is not an error); GSL_EINVAL only for NULL
 * arguments.  The standard line in out->message is
 *   PASS: <id> observed=<o> expected <rel> <e> tol=<t> (<paper_ref>)
 *   FAIL: <id> observed=<o> expected in [<lo>,<hi>] tol=<t> (<paper_ref>)
 *   FAIL: <id> quantity '<q>' missing from results
 * with numbers in %.17g. */
int tl_claims_eval(const tl_claim *c, const tl_results *r, tl_claim_verdict *out);

/* Print out->message and a newline. */
int tl_claim_verdict_print(FILE *fp, const tl_claim_verdict *v);

/* "exact", "le", "pass", ...: the names used in claims.tsv and the status. */
const char *tl_claim_kind_name(tl_claim_kind kind);
const char *tl_claim_relation_name(tl_claim_relation relation);
const char *tl_claim_outcome_name(tl_claim_outcome outcome);

#endif
