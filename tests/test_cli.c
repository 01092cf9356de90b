/* Unit test of tl_cli: strict parsing of the shared options and parameters. */
#include <string.h>

#include <gsl/gsl_test.h>

#include "tl_cli.h"
#include "tl_error.h"

static const tl_param params[] = {
    {"n", TL_PARAM_INT, "6", "64", 1, 1000, "size"},
    {"eps", TL_PARAM_DOUBLE, "0.1", NULL, 0, 1, "noise"},
    {"amps", TL_PARAM_LIST, "0,.25,2.5", NULL, 0, 10, "amplitudes"},
    {NULL, 0, NULL, NULL, 0, 0, NULL}};
static const char *const parts[] = {"sweep", "gd", NULL};
static const char *const sabotages[] = {"b2-zero", NULL};
static const tl_chapter_info info = {"tl-test", "test", "test program", 42, params, parts,
                                     sabotages};

static int parse(tl_cli *cli, const char *a1, const char *a2, const char *a3) {
  char *argv[8];
  int argc = 0;
  argv[argc++] = (char *)"tl-test";
  argv[argc++] = (char *)"--out";
  argv[argc++] = (char *)"/tmp/x";
  if (a1) argv[argc++] = (char *)a1;
  if (a2) argv[argc++] = (char *)a2;
  if (a3) argv[argc++] = (char *)a3;
  argv[argc] = NULL;
  tl_error_clear();
  return tl_cli_parse(cli, &info, argc, argv);
}

int main(void) {
  static tl_cli cli;
  gsl_test(parse(&cli, NULL, NULL, NULL), "defaults parse");
  gsl_test(tl_cli_int(&cli, "n") != 64, "full profile is the default");
  gsl_test(parse(&cli, "--profile", "quick", NULL), "quick parses");
  gsl_test(tl_cli_int(&cli, "n") != 6, "quick default n = 6");
  size_t n = 0;
  const double *amps = tl_cli_list(&cli, "amps", &n);
  gsl_test(n != 3 || amps[2] != 2.5, "list parsed");
  gsl_test(parse(&cli, "--set", "eps=0.385", NULL), "--set parses");
  gsl_test_rel(tl_cli_double(&cli, "eps"), 0.385, 0, "--set value");
  gsl_test(tl_cli_n_overrides(&cli) != 1, "override counted");
  gsl_test(strcmp(cli.figures, "/tmp/x/figures") != 0, "figures default");
  gsl_test(parse(&cli, "--bogus", NULL, NULL) != TL_EUSAGE, "unknown option rejected");
  gsl_test(strstr(tl_error_message(), "--bogus") == NULL, "message names the option");
  gsl_test(parse(&cli, "--set", "nope=1", NULL) != TL_EUSAGE, "unknown key rejected");
  gsl_test(strstr(tl_error_message(), "nope") == NULL, "message names the key");
  gsl_test(parse(&cli, "--set", "n=abc", NULL) != TL_EUSAGE, "non-numeric rejected");
  gsl_test(parse(&cli, "--set", "n=2.5", NULL) != TL_EUSAGE, "non-integer rejected");
  gsl_test(parse(&cli, "--set", "n=0", NULL) != TL_EUSAGE, "out of range rejected");
  gsl_test(parse(&cli, "--set", "eps=nan", NULL) != TL_EUSAGE, "NaN rejected");
  gsl_test(parse(&cli, "--set", "eps=inf", NULL) != TL_EUSAGE, "inf rejected");
  gsl_test(parse(&cli, "--set", "eps=0x0.8p0", NULL) != TL_EUSAGE, "hexadecimal rejected");
  gsl_test(parse(&cli, "--set", "eps=2.5e-1", NULL), "exponent accepted");
  gsl_test(parse(&cli, "--set", "amps=1,,x", NULL) != TL_EUSAGE, "bad list rejected");
  gsl_test(parse(&cli, "--shard", "3/2", NULL) != TL_EUSAGE, "--shard 3/2 rejected");
  gsl_test(parse(&cli, "--shard", "1/2", NULL), "--shard 1/2 accepted");
  gsl_test(!tl_cli_shard_runs(&cli, 3) || tl_cli_shard_runs(&cli, 4), "shard 1/2 runs odd tasks");
  gsl_test(parse(&cli, "--only", "nothing", NULL) != TL_EUSAGE, "unknown part rejected");
  gsl_test(parse(&cli, "--only", "gd", NULL), "--only gd");
  gsl_test(!tl_cli_runs(&cli, "gd") || tl_cli_runs(&cli, "sweep"), "--only selects");
  gsl_test(parse(&cli, "--sabotage", "b2-zero", NULL), "known sabotage");
  gsl_test(!tl_cli_sabotage(&cli, "b2-zero"), "sabotage active");
  gsl_test(parse(&cli, "--sabotage", "zzz", NULL) != TL_EUSAGE, "unknown sabotage rejected");
  gsl_test(parse(&cli, "--seed", "-3", NULL) != TL_EUSAGE, "negative seed rejected");
  gsl_test(parse(&cli, "--threads", "0", NULL) != TL_EUSAGE, "zero threads rejected");
  gsl_test(parse(&cli, "extra", NULL, NULL) != TL_EUSAGE, "stray argument rejected");
  gsl_test(parse(&cli, "--out", NULL, NULL) != TL_EUSAGE, "missing value rejected");
  return gsl_test_summary();
}
