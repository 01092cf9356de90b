/* tl_cli: the command line every chapter program shares.
 *
 *   --profile quick|full  parameter profile (default full)
 *   --out DIR             output folder (results.json, provenance.json, TSVs)
 *   --figures DIR         figure folder (default DIR/figures)
 *   --seed N              base seed (default: the chapter's)
 *   --set key=value       override any parameter (repeatable); recorded
 *   --shard i/N           run the sweep tasks t = i (mod N)
 *   --merge DIR           combine shard outputs (repeatable, one per shard)
 *   --threads N           OpenBLAS threads
 *   --sabotage ID         inject a documented fault (for sabotage tests)
 *   --only PART           run one part of the chapter (repeatable)
 *   --quiet, --help, --version
 *
 * A chapter describes its parameters in a table of tl_param (key, kind,
 * quick and full defaults, allowed range, help).  Every value, from the table
 * or from --set, is parsed strictly: the whole string must be a finite number
 * inside the range (integers integral), lists are comma-separated.  Any bad
 * input is a TL_EUSAGE error with a one-line reason naming the problem.
 */
#ifndef TL_CLI_H
#define TL_CLI_H

#include <stddef.h>
#include <stdint.h>

typedef enum { TL_PARAM_INT, TL_PARAM_DOUBLE, TL_PARAM_LIST } tl_param_kind;

#define TL_PARAM_LIST_MAX 64
#define TL_CLI_MAX_PARAMS 96
#define TL_CLI_MAX_ONLY 16
#define TL_CLI_MAX_MERGE 256

typedef struct {
  const char *key;
  tl_param_kind kind;
  const char *quick; /* default in the quick profile */
  const char *full;  /* default in the full profile (NULL: same as quick) */
  double min, max;   /* allowed range of every value (inclusive) */
  const char *help;
} tl_param;

typedef struct {
  const char *program;          /* e.g. "tl-upper-bound" */
  const char *slug;             /* e.g. "upper-bound" */
  const char *title;            /* one line for --help */
  uint64_t default_seed;
  const tl_param *params;       /* table, terminated by key == NULL */
  const char *const *parts;     /* --only values, NULL-terminated */
  const char *const *sabotages; /* --sabotage values, NULL-terminated */
} tl_chapter_info;

typedef struct {
  const char *text;     /* the value as given or defaulted */
  int overridden;       /* set with --set */
  size_t n;             /* entries (1 for scalars) */
  double v[TL_PARAM_LIST_MAX];
} tl_param_value;

typedef struct {
  const tl_chapter_info *info;
  int full;             /* profile: 1 full, 0 quick */
  const char *out;
  char figures[4096];
  uint64_t seed;
  int seed_overridden;
  int shard_index, shard_count;
  int threads;          /* 0: leave OpenBLAS's default */
  const char *sabotage; /* NULL when none */
  const char *only[TL_CLI_MAX_ONLY];
  size_t n_only;
  const char *merge[TL_CLI_MAX_MERGE]; /* shard folders to combine */
  size_t n_merge;
  int quiet;
  size_t n_params;
  tl_param_value values[TL_CLI_MAX_PARAMS];
  char set_buffer[8192]; /* holds --set values */
  size_t set_used;
} tl_cli;

/* Parse argv.  Returns TL_SUCCESS, TL_EUSAGE (reason in tl_error_message), or
 * -1 after printing --help/--version (the caller exits 0). */
int tl_cli_parse(tl_cli *cli, const tl_chapter_info *info, int argc, char **argv);

/* Typed access by key; an unknown key is a programming error (aborts). */
long tl_cli_int(const tl_cli *cli, const char *key);
double tl_cli_double(const tl_cli *cli, const char *key);
const double *tl_cli_list(const tl_cli *cli, const char *key, size_t *n);
const tl_param_value *tl_cli_value(const tl_cli *cli, const char *key);

/* Is this part selected (no --only means every part)? */
int tl_cli_runs(const tl_cli *cli, const char *part);
/* Is this the active sabotage? */
int tl_cli_sabotage(const tl_cli *cli, const char *id);
/* Does this shard run sweep task t? */
int tl_cli_shard_runs(const tl_cli *cli, size_t task);
/* Number of --set overrides (a run with any is not canonical). */
size_t tl_cli_n_overrides(const tl_cli *cli);

/* Print "program: error: reason" on stderr (one line). */
void tl_cli_print_error(const tl_cli *cli, const char *program);

#endif
