/* tl_cli: see tl_cli.h. */
#define _POSIX_C_SOURCE 200809L
#include "tl_cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl_error.h"

/* Parse one number: the whole string, finite, in range, integral for ints. */
static int tl_cli_number(const char *key, const char *s, tl_param_kind kind, double lo, double hi,
                         double *out) {
  char *end = NULL;
  errno = 0;
  while (*s == ' ')
    s++;
  if (*s == '\0')
    TL_ERROR(TL_EUSAGE, "%s: empty value", key);
  /* Decimal notation only: strtod would also take hexadecimal ("0x10"),
   * "inf" and "nan", none of which a parameter should be given as. */
  for (const char *q = s; *q; q++) {
    if (*q == 'i' || *q == 'I' || *q == 'n' || *q == 'N')
      TL_ERROR(TL_EUSAGE, "%s: value must be finite, got '%s'", key, s);
    if (!strchr("0123456789+-.eE ", *q))
      TL_ERROR(TL_EUSAGE, "%s: '%s' is not a number", key, s);
  }
  double v = strtod(s, &end);
  while (end && *end == ' ')
    end++;
  if (end == s || (end && *end != '\0'))
    TL_ERROR(TL_EUSAGE, "%s: '%s' is not a number", key, s);
  if (!isfinite(v))
    TL_ERROR(TL_EUSAGE, "%s: value must be finite, got '%s'", key, s);
  if (errno == ERANGE && v != 0)
    TL_ERROR(TL_EUSAGE, "%s: '%s' is out of range", key, s);
  if (kind == TL_PARAM_INT && v != floor(v))
    TL_ERROR(TL_EUSAGE, "%s: '%s' is not an integer", key, s);
  if (v < lo || v > hi)
    TL_ERROR(TL_EUSAGE, "%s: %s is outside the allowed range [%g, %g]", key, s, lo, hi);
  *out = v;
  return TL_SUCCESS;
}

static int tl_cli_value_parse(const tl_param *p, const char *text, tl_param_value *val) {
  val->text = text;
  val->n = 0;
  if (p->kind != TL_PARAM_LIST) {
    val->n = 1;
    return tl_cli_number(p->key, text, p->kind, p->min, p->max, &val->v[0]);
  }
  char buf[1024];
  if (strlen(text) >= sizeof buf)
    TL_ERROR(TL_EUSAGE, "%s: list too long", p->key);
  strcpy(buf, text);
  char *save = NULL;
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    if (val->n >= TL_PARAM_LIST_MAX)
      TL_ERROR(TL_EUSAGE, "%s: more than %d entries", p->key, TL_PARAM_LIST_MAX);
    TL_TRY(tl_cli_number(p->key, tok, TL_PARAM_DOUBLE, p->min, p->max, &val->v[val->n]));
    val->n++;
  }
  if (val->n == 0)
    TL_ERROR(TL_EUSAGE, "%s: empty list", p->key);
  return TL_SUCCESS;
}

static int tl_cli_in_list(const char *const *list, const char *s) {
  for (size_t i = 0; list && list[i]; i++)
    if (strcmp(list[i], s) == 0)
      return 1;
  return 0;
}

static void tl_cli_join(const char *const *list, char *buf, size_t size) {
  buf[0] = '\0';
  for (size_t i = 0; list && list[i]; i++) {
    if (i)
      strncat(buf, ", ", size - strlen(buf) - 1);
    strncat(buf, list[i], size - strlen(buf) - 1);
  }
}

static void tl_cli_help(const tl_chapter_info *info) {
  char buf[1024];
  printf("Usage: %s [OPTION]...\n%s\n\n", info->program, info->title);
  printf("Options:\n"
         "  --profile quick|full  parameter profile (default full)\n"
         "  --out DIR             output folder (required)\n"
         "  --figures DIR         figure folder (default DIR/figures)\n"
         "  --seed N              base seed (default %llu)\n"
         "  --set key=value       override a parameter (repeatable; recorded as non-default)\n"
         "  --shard i/N           run the sweep tasks t with t = i (mod N); 0 <= i < N\n"
         "  --threads N           OpenBLAS threads (default: OpenBLAS's)\n"
         "  --sabotage ID         inject a documented fault (sabotage tests)\n"
         "  --only PART           run one part (repeatable)\n"
         "  --merge DIR           combine the outputs of --shard runs (once per shard)\n"
         "  --quiet               no progress output\n"
         "  --help, --version\n\n",
         (unsigned long long)info->default_seed);
  tl_cli_join(info->parts, buf, sizeof buf);
  printf("Parts: %s\n", buf);
  tl_cli_join(info->sabotages, buf, sizeof buf);
  printf("Sabotages: %s\n\nParameters (quick / full):\n", buf);
  for (const tl_param *p = info->params; p->key; p++)
    printf("  %-16s %-14s %-16s %s\n", p->key, p->quick, p->full ? p->full : p->quick,
           p->help);
}

static int tl_cli_parse_uint(const char *what, const char *s, unsigned long long *out) {
  char *end = NULL;
  errno = 0;
  if (*s == '\0' || *s == '-' || *s == '+')
    TL_ERROR(TL_EUSAGE, "%s: '%s' is not a non-negative integer", what, s);
  unsigned long long v = strtoull(s, &end, 10);
  if (*end != '\0' || errno == ERANGE)
    TL_ERROR(TL_EUSAGE, "%s: '%s' is not a non-negative integer", what, s);
  *out = v;
  return TL_SUCCESS;
}

static int tl_cli_find(const tl_chapter_info *info, const char *key, size_t len) {
  for (int i = 0; info->params[i].key; i++)
    if (strlen(info->params[i].key) == len && strncmp(info->params[i].key, key, len) == 0)
      return i;
  return -1;
}

int tl_cli_parse(tl_cli *cli, const tl_chapter_info *info, int argc, char **argv) {
  memset(cli, 0, sizeof *cli);
  cli->info = info;
  cli->full = 1;
  cli->seed = info->default_seed;
  cli->shard_count = 1;
  const char *sets[TL_CLI_MAX_PARAMS];
  size_t n_sets = 0;
  const char *figures = NULL;
  enum { O_PROFILE = 256, O_OUT, O_FIGURES, O_SEED, O_SET, O_SHARD, O_THREADS, O_SABOTAGE,
         O_ONLY, O_QUIET, O_HELP, O_VERSION, O_MERGE };
  static const struct option longopts[] = {
      {"profile", required_argument, NULL, O_PROFILE}, {"out", required_argument, NULL, O_OUT},
      {"figures", required_argument, NULL, O_FIGURES}, {"seed", required_argument, NULL, O_SEED},
      {"set", required_argument, NULL, O_SET},         {"shard", required_argument, NULL, O_SHARD},
      {"threads", required_argument, NULL, O_THREADS},
      {"sabotage", required_argument, NULL, O_SABOTAGE},
      {"only", required_argument, NULL, O_ONLY},       {"quiet", no_argument, NULL, O_QUIET},
      {"merge", required_argument, NULL, O_MERGE},
      {"help", no_argument, NULL, O_HELP},             {"version", no_argument, NULL, O_VERSION},
      {NULL, 0, NULL, 0}};
  opterr = 0;
  optind = 1;
  for (;;) {
    int c = getopt_long(argc, argv, ":", longopts, NULL);
    if (c == -1)
      break;
    unsigned long long u = 0;
    switch (c) {
    case O_PROFILE:
      if (strcmp(optarg, "quick") == 0)
        cli->full = 0;
      else if (strcmp(optarg, "full") == 0)
        cli->full = 1;
      else
        TL_ERROR(TL_EUSAGE, "--profile: '%s' is not quick or full", optarg);
      break;
    case O_OUT: cli->out = optarg; break;
    case O_FIGURES: figures = optarg; break;
    case O_SEED:
      TL_TRY(tl_cli_parse_uint("--seed", optarg, &u));
      cli->seed = (uint64_t)u;
      cli->seed_overridden = cli->seed != info->default_seed;
      break;
    case O_SET:
      if (n_sets >= TL_CLI_MAX_PARAMS)
        TL_ERROR(TL_EUSAGE, "--set: too many overrides");
      sets[n_sets++] = optarg;
      break;
    case O_SHARD: {
      int i = -1, n = -1, used = 0;
      if (sscanf(optarg, "%d/%d%n", &i, &n, &used) != 2 || optarg[used] != '\0')
        TL_ERROR(TL_EUSAGE, "--shard: '%s' is not i/N", optarg);
      if (n < 1 || i < 0 || i >= n)
        TL_ERROR(TL_EUSAGE, "--shard: '%s' needs 0 <= i < N", optarg);
      cli->shard_index = i;
      cli->shard_count = n;
      break;
    }
    case O_THREADS:
      TL_TRY(tl_cli_parse_uint("--threads", optarg, &u));
      if (u < 1 || u > 256)
        TL_ERROR(TL_EUSAGE, "--threads: '%s' is outside [1, 256]", optarg);
      cli->threads = (int)u;
      break;
    case O_SABOTAGE:
      if (!tl_cli_in_list(info->sabotages, optarg))
        TL_ERROR(TL_EUSAGE, "--sabotage: unknown fault '%s'", optarg);
      cli->sabotage = optarg;
      break;
    case O_ONLY:
      if (!tl_cli_in_list(info->parts, optarg))
        TL_ERROR(TL_EUSAGE, "--only: unknown part '%s'", optarg);
      if (cli->n_only >= TL_CLI_MAX_ONLY)
        TL_ERROR(TL_EUSAGE, "--only: too many parts");
      cli->only[cli->n_only++] = optarg;
      break;
    case O_MERGE:
      if (cli->n_merge >= TL_CLI_MAX_MERGE)
        TL_ERROR(TL_EUSAGE, "--merge: more than %d folders", TL_CLI_MAX_MERGE);
      cli->merge[cli->n_merge++] = optarg;
      break;
    case O_QUIET: cli->quiet = 1; break;
    case O_HELP: tl_cli_help(info); return -1;
    case O_VERSION: printf("%s (twolayer) %s\n", info->program, TL_VERSION_STRING); return -1;
    case ':': TL_ERROR(TL_EUSAGE, "option '%s' needs a value", argv[optind - 1]);
    default: TL_ERROR(TL_EUSAGE, "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc)
    TL_ERROR(TL_EUSAGE, "unexpected argument '%s'", argv[optind]);
  if (!cli->out)
    TL_ERROR(TL_EUSAGE, "--out DIR is required");
  if (cli->n_merge > 0 && cli->shard_count > 1)
    TL_ERROR(TL_EUSAGE, "--merge and --shard exclude each other");
  if (snprintf(cli->figures, sizeof cli->figures, "%s%s", figures ? figures : cli->out,
               figures ? "" : "/figures") >= (int)sizeof cli->figures)
    TL_ERROR(TL_EUSAGE, "--figures: path too long");

  /* Defaults of the profile, then overrides. */
  for (size_t i = 0; info->params[i].key; i++) {
    if (i >= TL_CLI_MAX_PARAMS)
      TL_ERROR(TL_EUSAGE, "too many parameters in the chapter table");
    const tl_param *p = &info->params[i];
    const char *text = (cli->full && p->full) ? p->full : p->quick;
    TL_TRY(tl_cli_value_parse(p, text, &cli->values[i]));
    cli->n_params = i + 1;
  }
  for (size_t s = 0; s < n_sets; s++) {
    const char *eq = strchr(sets[s], '=');
    if (!eq || eq == sets[s])
      TL_ERROR(TL_EUSAGE, "--set: '%s' is not key=value", sets[s]);
    int k = tl_cli_find(info, sets[s], (size_t)(eq - sets[s]));
    if (k < 0)
      TL_ERROR(TL_EUSAGE, "--set: unknown parameter '%.*s'", (int)(eq - sets[s]), sets[s]);
    TL_TRY(tl_cli_value_parse(&info->params[k], eq + 1, &cli->values[k]));
    cli->values[k].overridden = 1;
  }
  return TL_SUCCESS;
}

const tl_param_value *tl_cli_value(const tl_cli *cli, const char *key) {
  int k = tl_cli_find(cli->info, key, strlen(key));
  if (k < 0) {
    fprintf(stderr, "%s: internal error: unknown parameter '%s'\n", cli->info->program, key);
    abort();
  }
  return &cli->values[k];
}

long tl_cli_int(const tl_cli *cli, const char *key) { return (long)tl_cli_value(cli, key)->v[0]; }
double tl_cli_double(const tl_cli *cli, const char *key) { return tl_cli_value(cli, key)->v[0]; }

const double *tl_cli_list(const tl_cli *cli, const char *key, size_t *n) {
  const tl_param_value *v = tl_cli_value(cli, key);
  *n = v->n;
  return v->v;
}

int tl_cli_runs(const tl_cli *cli, const char *part) {
  if (cli->n_only == 0)
    return 1;
  for (size_t i = 0; i < cli->n_only; i++)
    if (strcmp(cli->only[i], part) == 0)
      return 1;
  return 0;
}

int tl_cli_sabotage(const tl_cli *cli, const char *id) {
  return cli->sabotage && strcmp(cli->sabotage, id) == 0;
}

int tl_cli_shard_runs(const tl_cli *cli, size_t task) {
  return (int)(task % (size_t)cli->shard_count) == cli->shard_index;
}

size_t tl_cli_n_overrides(const tl_cli *cli) {
  size_t n = 0;
  for (size_t i = 0; i < cli->n_params; i++)
    n += cli->values[i].overridden != 0;
  return n + (cli->seed_overridden != 0);
}

void tl_cli_print_error(const tl_cli *cli, const char *program) {
  (void)cli;
  fprintf(stderr, "%s: error: %s\n", program, tl_error_message());
}
