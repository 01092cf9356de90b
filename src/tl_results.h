/* tl_results: the numbers a chapter computes (results.json) and the data it
 * generates (TSV files), written so that the claim checker, the report and
 * anyone re-checking a result with independent code read exactly what the
 * program computed.
 *
 * Every value is stored twice: raw, as a JSON number written with 17
 * significant digits ("%.17g", which round-trips every double exactly), and as
 * display strings made once, here, so that the report never re-formats a
 * number.  Keys are flat names ("bound.rms_max_ratio"): dots and underscores
 * are part of the name, never nesting, because claims.tsv and the report's
 * {{key}} placeholders spell them verbatim.
 *
 * results.json layout (keys sorted, one-space indent, byte-deterministic for
 * the same content):
 *
 *   {
 *    "chapter": "<slug>",
 *    "files": [ {"columns": ["x", "y"], "description": "...", "path": "<relpath>"}, ... ],
 *    "params": { "<key>": {"default": true|false, "value": "<as given>"}, ... },
 *    "values": { "<key>": {"display": "...", "latex": "...", "value": <raw>}, ... }
 *   }
 *
 * - "value" is a JSON number for doubles (a real, always with '.' or an
 *   exponent) and integers, true/false for booleans, a string for strings.
 *   A NaN or infinite double is stored as null (JSON has no NaN), with
 *   display "NaN", "inf" or "-inf"; tl_results_read gives NaN, or the
 *   infinity the display names.  A claim on a null value always fails.
 * - "display" is plain text for tables and prose ("1.23e-05", "0.482").
 * - "latex" is inline math for numbers ("$1.23\times 10^{-5}$",
 *   "$-\infty$"), the plain text itself for strings and booleans.
 * - "files" lists the output files (data sets, networks, series) sorted by
 *   path; "columns" is the TSV header, empty for non-tabular files.
 * - "params" records every parameter of the run as the string it was given
 *   and whether it is the chapter's default ("default": false marks an
 *   override, which the report shows as a banner).
 *
 * TSV files: tab-separated, one header line, numbers written "%.17g" (NaN as
 * "nan", infinities as "inf"/"-inf"), '\n' line ends, written atomically.
 */
#ifndef TL_RESULTS_H
#define TL_RESULTS_H

#include <stddef.h>

#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>

typedef struct tl_results tl_results;

/* Room for any "%.17g" rendering of a double, with its terminator. */
#define TL_RESULTS_RAW_MAX 32

/* Significant digits accepted by tl_results_set_sci. */
#define TL_RESULTS_SCI_DIGITS_MAX 17

/* An empty set of results for the chapter with this slug (e.g.
 * "03-hessian-spectrum"); NULL when out of memory or the slug is empty. */
tl_results *tl_results_alloc(const char *chapter_slug);
void tl_results_free(tl_results *r);

/* The chapter slug given to alloc or read from the file. */
const char *tl_results_chapter(const tl_results *r);

/* Store a double with its display string made by the printf format fmt,
 * which must hold exactly one floating conversion (%e %f %g %a and upper
 * case, with flags, width and precision) and may hold "%%".  The latex
 * string is the display with an exponent rewritten as "\times 10^{k}".
 * Setting a key again replaces its value.  GSL_EINVAL for a bad key or
 * format. */
int tl_results_set(tl_results *r, const char *key, double value, const char *fmt);

/* Store a double in scientific notation with `digits` significant digits
 * (1 to TL_RESULTS_SCI_DIGITS_MAX): display "1.23e-5" (no exponent when it is
 * 0: "2.39"), latex "$1.23\times 10^{-5}$". */
int tl_results_set_sci(tl_results *r, const char *key, double value, int digits);

int tl_results_set_int(tl_results *r, const char *key, long long value);
int tl_results_set_bool(tl_results *r, const char *key, int value);
int tl_results_set_string(tl_results *r, const char *key, const char *value);

/* Record a parameter of the run: its value as given (or as the default
 * prints) and whether it is the default.  Setting a key again replaces it. */
int tl_results_set_param(tl_results *r, const char *key, const char *value, int is_default);

/* List an output file: relpath is relative to the output folder (no leading
 * '/', no ".." component); columns are the TSV column names separated by
 * tabs or commas, NULL or "" for a file that is not a table.  Adding the same
 * path again replaces its entry. */
int tl_results_add_file(tl_results *r, const char *relpath, const char *description,
                        const char *columns);

/* Write results.json atomically (see the layout above). */
int tl_results_write(const tl_results *r, const char *path);

/* Write a jansson document to path atomically with a final newline; flags
 * are json_dumps's (e.g. JSON_SORT_KEYS | JSON_INDENT(1)). */
struct json_t;
int tl_json_write(const char *path, const struct json_t *root, size_t flags);

/* Read a results.json written by tl_results_write.  TL_EIO when the file
 * cannot be read, TL_EFORMAT for malformed JSON (the message names the file,
 * line and column, as jansson reports them) or a document that does not have
 * the layout above.  *out is NULL on error. */
int tl_results_read(const char *path, tl_results **out);

/* Add every value, parameter and file of `from` (a shard) to `into`.  A key
 * present in both with a different entry (raw value, display or latex) is a
 * conflict: GSL_EINVAL naming the key, and `into` is left unchanged.  The two
 * must belong to the same chapter. */
int tl_results_merge(tl_results *into, const tl_results *from);

/* What a key holds. */
typedef enum {
  TL_RESULTS_MISSING = 0, /* no such key */
  TL_RESULTS_REAL,        /* a double (NaN or infinite when stored as null) */
  TL_RESULTS_INTEGER,     /* an integer (value holds it converted to double) */
  TL_RESULTS_BOOL,        /* a boolean (value is 1 or 0) */
  TL_RESULTS_STRING       /* a string (value is NaN, text holds it) */
} tl_results_type;

typedef struct {
  tl_results_type type;
  double value;        /* raw value as a double (see tl_results_type) */
  const char *display; /* the display string */
  const char *latex;   /* the latex string */
  const char *text;    /* the string, for TL_RESULTS_STRING; NULL otherwise */
} tl_results_entry;

/* Look up key: returns 1 and fills *out when present, returns 0 and sets
 * out->type = TL_RESULTS_MISSING when not.  The strings belong to r and live
 * until r is modified or freed. */
int tl_results_lookup(const tl_results *r, const char *key, tl_results_entry *out);

/* Number of values stored. */
size_t tl_results_count(const tl_results *r);

/* Render x as "%.17g" does, except that every NaN is "nan" (glibc prints a
 * negative NaN as "-nan"). */
void tl_results_format_raw(double x, char buf[TL_RESULTS_RAW_MAX]);

/* TSV: ncols columns of nrows doubles each, cols[j][i] is row i of column j,
 * names[j] its header.  Names must be non-empty and hold no tab or newline. */
int tl_tsv_write_columns(const char *path, size_t ncols, const char *const *names,
                         size_t nrows, const double *const *cols);

/* The same with a leading integer column named index_name; index NULL means
 * 0, 1, ..., nrows - 1. */
int tl_tsv_write_indexed(const char *path, const char *index_name, const long *index,
                         size_t ncols, const char *const *names, size_t nrows,
                         const double *const *cols);

/* The same with a leading string column (labels[i] for row i, no tab or
 * newline). */
int tl_tsv_write_labeled(const char *path, const char *label_name,
                         const char *const *labels, size_t ncols, const char *const *names,
                         size_t nrows, const double *const *cols);

/* One named block of a network's parameters: element (i, j) is
 * data[i * tda + j] for i < rows, j < cols.  A vector is a one-column block
 * (cols = 1, tda = its stride). */
typedef struct {
  const char *name; /* "W1", "b1", "W2", "b2", ... */
  size_t rows;
  size_t cols;
  size_t tda;
  const double *data;
} tl_tsv_block;

tl_tsv_block tl_tsv_block_matrix(const char *name, const gsl_matrix *m);
tl_tsv_block tl_tsv_block_vector(const char *name, const gsl_vector *v);

/* Write blocks in long format, header "block\trow\tcol\tvalue", one line per
 * element, blocks in the order given, rows then columns, 0-based indices. */
int tl_tsv_write_matrix_blocks(const char *path, size_t nblocks, const tl_tsv_block *blocks);

#endif
