/* tl_build_info: what built this binary (for provenance.json).  The values are
 * generated at build time by cmake/BuildInfo.cmake. */
#ifndef TL_BUILD_INFO_H
#define TL_BUILD_INFO_H

typedef struct {
  const char *version;      /* project version */
  const char *git_describe; /* git describe --always --dirty --tags */
  const char *compiler;     /* compiler id and version */
  const char *cflags;       /* C flags of the build type */
  const char *build_type;   /* CMAKE_BUILD_TYPE */
} tl_build_info;

const tl_build_info *tl_build_info_get(void);

#endif
