/* tl_build_info: see tl_build_info.h.  Compiler, flags and build type are
 * compiled in (they are fixed when the build is configured); the git
 * description is read, once, from the file the build rewrites on every build,
 * so that editing a file does not relink every program. */
#include "tl_build_info.h"

#include <stdio.h>
#include <string.h>

#ifndef TL_BUILD_VERSION
#define TL_BUILD_VERSION "unknown"
#define TL_BUILD_COMPILER "unknown"
#define TL_BUILD_CFLAGS "unknown"
#define TL_BUILD_TYPE "unknown"
#define TL_BUILD_INFO_FILE ""
#endif

static char tl_git_describe[128];
static tl_build_info tl_build_info_value = {TL_BUILD_VERSION, tl_git_describe, TL_BUILD_COMPILER,
                                            TL_BUILD_CFLAGS, TL_BUILD_TYPE};

const tl_build_info *tl_build_info_get(void) {
  if (tl_git_describe[0] == '\0') {
    FILE *f = TL_BUILD_INFO_FILE[0] ? fopen(TL_BUILD_INFO_FILE, "r") : NULL;
    if (!f || !fgets(tl_git_describe, sizeof tl_git_describe, f))
      snprintf(tl_git_describe, sizeof tl_git_describe, "unknown");
    if (f)
      fclose(f);
    tl_git_describe[strcspn(tl_git_describe, "\n")] = '\0';
  }
  return &tl_build_info_value;
}
