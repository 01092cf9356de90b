# Dependencies, all Debian 12 packages.  GSL is linked *without* its reference
# CBLAS (libgslcblas): the CBLAS symbols GSL calls are resolved by OpenBLAS, so
# every dgemm in the suite, ours and GSL's, runs on the optimised library.
# GSL::gsl from FindGSL would drag gslcblas in, so the library is found by hand.
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
target_link_libraries(tl_deps INTERFACE ${GSL_LIBRARY} ${OPENBLAS_LIBRARY}
  PkgConfig::CAIRO PkgConfig::JANSSON PkgConfig::NETTLE ${MATH_LIBRARY} ${CMAKE_DL_LIBS})

# Find the Latin Modern fonts the figures use (fonts-lmodern); cairo finds them
# through fontconfig, this only checks that they are installed.
find_file(TL_LMODERN_FONT lmroman10-regular.otf
  PATHS /usr/share/texmf/fonts/opentype/public/lm /usr/share/fonts/opentype/lmodern)
if(NOT TL_LMODERN_FONT)
  message(FATAL_ERROR "Latin Modern fonts not found: install fonts-lmodern (scripts/install-deps)")
endif()
