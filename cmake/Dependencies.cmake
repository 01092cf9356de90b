# Dependencies, all Debian 12 packages.  We never link GSL's reference CBLAS
# ourselves (FindGSL's GSL::gsl would add -lgslcblas): programs link libgsl
# and OpenBLAS.  Debian's libgsl.so.27 itself depends on libgslcblas.so.0, so
# that library is loaded too, but OpenBLAS comes first in the symbol lookup
# order, so every cblas_* call, ours and GSL's, binds to OpenBLAS; the unit
# tests (test_linalg, test_prov) prove it with dladdr, and provenance.json
# records the bound library of every run.
find_package(PkgConfig REQUIRED)
find_path(GSL_INCLUDE_DIR gsl/gsl_version.h REQUIRED)
find_library(GSL_LIBRARY NAMES gsl REQUIRED)
find_library(OPENBLAS_LIBRARY NAMES openblas REQUIRED)
pkg_check_modules(CAIRO REQUIRED IMPORTED_TARGET cairo)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
pkg_check_modules(NETTLE REQUIRED IMPORTED_TARGET nettle)
find_library(MATH_LIBRARY m REQUIRED)

add_library(tl_deps INTERFACE)
target_include_directories(tl_deps INTERFACE ${GSL_INCLUDE_DIR})
# GSL's accessors (gsl_matrix_get, ...) as inline functions, as its manual
# advises for speed; range checking stays on.
target_compile_definitions(tl_deps INTERFACE HAVE_INLINE)
target_link_libraries(tl_deps INTERFACE ${GSL_LIBRARY} ${OPENBLAS_LIBRARY}
  PkgConfig::CAIRO PkgConfig::JANSSON PkgConfig::NETTLE ${MATH_LIBRARY} ${CMAKE_DL_LIBS})

# Find the Latin Modern fonts the figures use (fonts-lmodern); cairo finds them
# through fontconfig, this only checks that they are installed.
find_file(TL_LMODERN_FONT lmroman10-regular.otf
  PATHS /usr/share/texmf/fonts/opentype/public/lm /usr/share/fonts/opentype/lmodern)
if(NOT TL_LMODERN_FONT)
  message(FATAL_ERROR "Latin Modern fonts not found: install fonts-lmodern (scripts/install-deps)")
endif()
