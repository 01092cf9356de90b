# tl_add_chapter_tests(slug program claims.tsv PARTS id=part ...)
#
# Reads the chapter's claims.tsv at configure time (it is a configure
# dependency, so editing it reconfigures) and registers:
#   <slug>.quick             the quick run, a fixture for the claim tests
#   claim.<slug>.<id>        tl-check on that run, one test per claim
#   sabotage.<slug>.<id>     the chapter rerun with the claim's fault on the part
#                            that computes it; passes only on that claim's FAIL line
#   <slug>.quick.threads2 and threads2.<slug>.<id>: the same claims at 2 threads
#   determinism.<slug>       two quick runs give byte-identical results and PDFs
#   shards.<slug>            two shards merged equal the unsharded quick run
#   badinput.<slug>.*        bad input: non-zero exit, one line, no partial file
#                            (generic cases, and the chapter's BAD_INPUT ones)
#   interrupt.<slug>         SIGTERM mid-run leaves no half-written file
#   memcheck.<slug>          the quick run under valgrind memcheck
# and adds the chapter's full (or TL_PROFILE) run to the `report` target.
set(TL_TEST_SCRIPTS ${PROJECT_SOURCE_DIR}/tests/scripts)
# The report's profile as a file that changes (content and time) only when the
# profile does: switching `make report PROFILE=...` reruns every chapter.
file(CONFIGURE OUTPUT ${CMAKE_BINARY_DIR}/stamps/profile.txt CONTENT "${TL_PROFILE}\n")

function(tl_add_chapter_tests slug program claims)
  cmake_parse_arguments(ARG "" "" "PARTS;BAD_INPUT" ${ARGN})
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${claims})
  set(out ${CMAKE_BINARY_DIR}/test-out/${slug})
  get_filename_component(chapter_dir ${claims} DIRECTORY)
  set(env OPENBLAS_NUM_THREADS=1)

  add_test(NAME ${slug}.quick COMMAND ${CMAKE_COMMAND} -DPROG=$<TARGET_FILE:${program}>
           -DOUT=${out}/quick "-DARGS=--profile;quick;--quiet" -P ${TL_TEST_SCRIPTS}/run_chapter.cmake)
  set_tests_properties(${slug}.quick PROPERTIES FIXTURES_SETUP ${slug}_quick
                       LABELS "quick;${slug}" ENVIRONMENT "${env}")
  add_test(NAME ${slug}.quick.threads2 COMMAND ${CMAKE_COMMAND} -DPROG=$<TARGET_FILE:${program}>
           -DOUT=${out}/threads2 "-DARGS=--profile;quick;--quiet;--threads;2"
           -P ${TL_TEST_SCRIPTS}/run_chapter.cmake)
  set_tests_properties(${slug}.quick.threads2 PROPERTIES FIXTURES_SETUP ${slug}_threads2
                       LABELS "threads2;${slug}" ENVIRONMENT "OPENBLAS_NUM_THREADS=2")

  # Semicolons are CMake's list separator: neutralise them before splitting.
  file(READ ${claims} text)
  string(REPLACE ";" "," text "${text}")
  # Square brackets would group list elements across lines (CMake's bracket
  # rules): neutralise them too; only id, sabotage and part are read here.
  string(REPLACE "[" "(" text "${text}")
  string(REPLACE "]" ")" text "${text}")
  string(REPLACE "\n" ";" lines "${text}")
  list(POP_FRONT lines header)
  foreach(line IN LISTS lines)
    if(line MATCHES "^[ \t]*$" OR line MATCHES "^#")
      continue()
    endif()
    string(REPLACE "\t" ";" fields "${line}")
    list(GET fields 0 id)
    list(GET fields 7 fault)
    set(part "")
    foreach(pair IN LISTS ARG_PARTS)
      if(pair MATCHES "^${id}=(.+)$")
        set(part ${CMAKE_MATCH_1})
      endif()
    endforeach()
    if(part STREQUAL "")
      message(FATAL_ERROR "${claims}: claim ${id} has no PARTS entry in its chapter's CMakeLists.txt")
    endif()
    string(REPLACE "." "\\." id_re "${id}")

    add_test(NAME claim.${slug}.${id} COMMAND tl-check --claims ${claims}
             --results ${out}/quick/results.json --only ${id})
    set_tests_properties(claim.${slug}.${id} PROPERTIES FIXTURES_REQUIRED ${slug}_quick
                         LABELS "claim;${slug}")
    add_test(NAME threads2.${slug}.${id} COMMAND tl-check --claims ${claims}
             --results ${out}/threads2/results.json --only ${id})
    set_tests_properties(threads2.${slug}.${id} PROPERTIES FIXTURES_REQUIRED ${slug}_threads2
                         LABELS "threads2;${slug}")
    if(fault STREQUAL "-" OR fault STREQUAL "")
      message(FATAL_ERROR "${claims}: claim ${id} names no sabotage: every claim must be able to fail")
    endif()
    add_test(NAME sabotage.${slug}.${id} COMMAND ${CMAKE_COMMAND}
             -DPROG=$<TARGET_FILE:${program}> -DCHECK=$<TARGET_FILE:tl-check>
             -DCLAIMS=${claims} -DID=${id} -DOUT=${out}/sabotage-${id}
             "-DARGS=--profile;quick;--quiet;--only;${part};--sabotage;${fault}"
             -P ${TL_TEST_SCRIPTS}/sabotage.cmake)
    set_tests_properties(sabotage.${slug}.${id} PROPERTIES
                         PASS_REGULAR_EXPRESSION "FAIL: ${id_re} "
                         LABELS "sabotage;${slug}" ENVIRONMENT "${env}")
  endforeach()

  add_test(NAME placeholders.${slug} COMMAND ${CMAKE_COMMAND} -DMD=${chapter_dir}/chapter.md
           -DRESULTS=${out}/quick/results.json -P ${TL_TEST_SCRIPTS}/placeholders.cmake)
  set_tests_properties(placeholders.${slug} PROPERTIES FIXTURES_REQUIRED ${slug}_quick
                       LABELS "quick;${slug}")

  add_test(NAME shards.${slug} COMMAND ${CMAKE_COMMAND} -DPROG=$<TARGET_FILE:${program}>
           -DOUT=${out}/shards -DREF=${out}/quick -P ${TL_TEST_SCRIPTS}/shards.cmake)
  set_tests_properties(shards.${slug} PROPERTIES FIXTURES_REQUIRED ${slug}_quick
                       LABELS "shards;${slug}" ENVIRONMENT "${env}")

  # Uninitialised reads are invisible to ASan: the quick run under memcheck
  # (GD shortened, which valgrind slows most).
  find_program(TL_VALGRIND valgrind)
  if(TL_VALGRIND)
    add_test(NAME memcheck.${slug} COMMAND ${TL_VALGRIND} -q --error-exitcode=9
             --track-origins=yes $<TARGET_FILE:${program}> --profile quick --quiet
             --set gd_steps=300 --out ${out}/memcheck)
    set_tests_properties(memcheck.${slug} PROPERTIES LABELS "memcheck;${slug}"
                         ENVIRONMENT "${env}")
  endif()

  add_test(NAME determinism.${slug} COMMAND ${CMAKE_COMMAND} -DPROG=$<TARGET_FILE:${program}>
           -DOUT=${out}/determinism -P ${TL_TEST_SCRIPTS}/determinism.cmake)
  set_tests_properties(determinism.${slug} PROPERTIES LABELS "determinism;${slug}"
                       ENVIRONMENT "${env}")
  add_test(NAME determinism.${slug}.threads2 COMMAND ${CMAKE_COMMAND}
           -DPROG=$<TARGET_FILE:${program}> -DOUT=${out}/determinism2 -DTHREADS=2
           -P ${TL_TEST_SCRIPTS}/determinism.cmake)
  set_tests_properties(determinism.${slug}.threads2 PROPERTIES LABELS "determinism;threads2;${slug}"
                       ENVIRONMENT "OPENBLAS_NUM_THREADS=2")

  # Bad input: each case is "name|regex of the one stderr line|arguments,..."
  # The chapter adds its own (BAD_INPUT): non-numeric, out-of-range, NaN and
  # infinite values of its parameters, violated preconditions.
  set(cases
    "unknown-option|unknown option '--bogus'|--bogus"
    "unknown-key|unknown parameter 'nope'|--set,nope=1"
    "shard|--shard: '3/2' needs 0 <= i < N|--shard,3/2"
    "bad-profile|is not quick or full|--profile,huge"
    "stray-argument|unexpected argument|extra"
    ${ARG_BAD_INPUT})
  foreach(c IN LISTS cases)
    string(REPLACE "|" ";" parts "${c}")
    list(POP_FRONT parts name regex args)
    add_test(NAME badinput.${slug}.${name} COMMAND ${CMAKE_COMMAND}
             -DPROG=$<TARGET_FILE:${program}> -DOUT=${out}/bad-${name} "-DREGEX=${regex}"
             "-DARGS=${args}" -DMODE=out -P ${TL_TEST_SCRIPTS}/expect_error.cmake)
    set_tests_properties(badinput.${slug}.${name} PROPERTIES LABELS "badinput;${slug}")
  endforeach()
  add_test(NAME badinput.${slug}.unwritable-out COMMAND ${CMAKE_COMMAND}
           -DPROG=$<TARGET_FILE:${program}> -DOUT=${out}/bad-unwritable "-DREGEX=cannot create folder"
           -DMODE=unwritable -P ${TL_TEST_SCRIPTS}/expect_error.cmake)
  add_test(NAME badinput.${slug}.missing-out COMMAND ${CMAKE_COMMAND}
           -DPROG=$<TARGET_FILE:${program}> -DOUT=${out}/bad-missing "-DREGEX=--out DIR is required"
           -DMODE=noout -P ${TL_TEST_SCRIPTS}/expect_error.cmake)
  set_tests_properties(badinput.${slug}.unwritable-out badinput.${slug}.missing-out
                       PROPERTIES LABELS "badinput;${slug}")
  add_test(NAME interrupt.${slug} COMMAND bash ${TL_TEST_SCRIPTS}/interrupt.sh
           $<TARGET_FILE:${program}> ${out}/interrupt $<TARGET_FILE:tl-check> ${claims})
  set_tests_properties(interrupt.${slug} PROPERTIES LABELS "interrupt;${slug}"
                       ENVIRONMENT "${env}")

  # The report run: out/<slug>/ and figures/<slug>/ in the source tree.
  set(rout ${PROJECT_SOURCE_DIR}/out/${slug})
  set(rfig ${PROJECT_SOURCE_DIR}/figures/${slug})
  set(stamp ${CMAKE_BINARY_DIR}/stamps/${slug}.stamp)
  add_custom_command(OUTPUT ${stamp}
    COMMAND ${CMAKE_COMMAND} -E echo "[${slug}] running the ${TL_PROFILE} profile"
    # A fresh folder: provenance hashes everything in it, so nothing stale
    # (an earlier run's claims-status.json, a removed output) may remain.
    COMMAND ${CMAKE_COMMAND} -E rm -rf ${rout} ${rfig}
    COMMAND ${CMAKE_COMMAND} -E env OPENBLAS_NUM_THREADS=1
            $<TARGET_FILE:${program}> --profile ${TL_PROFILE} --out ${rout} --figures ${rfig}
    COMMAND ${CMAKE_COMMAND} -E echo "[${slug}] checking claims"
    COMMAND ${CMAKE_COMMAND} -DCHECK=$<TARGET_FILE:tl-check> -DCLAIMS=${claims} -DDIR=${rout}
            -P ${TL_TEST_SCRIPTS}/check_status.cmake
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/stamps
    COMMAND ${CMAKE_COMMAND} -E touch ${stamp}
    DEPENDS ${program} tl-check ${claims} ${CMAKE_BINARY_DIR}/stamps/profile.txt
    VERBATIM)
  add_custom_target(report-${slug} DEPENDS ${stamp})
  add_dependencies(report report-${slug})
  # What the report needs from this chapter (report/CMakeLists.txt).
  set_property(GLOBAL APPEND PROPERTY TL_REPORT_CHAPTERS "${slug}|${chapter_dir}|${rout}|${rfig}")
  set_property(GLOBAL APPEND PROPERTY TL_REPORT_QUICK "${slug}|${chapter_dir}|${out}/quick|${out}/quick/figures")
  set_property(GLOBAL APPEND PROPERTY TL_REPORT_STAMPS ${stamp})
  set_property(GLOBAL APPEND PROPERTY TL_REPORT_TARGETS report-${slug})
  file(GLOB chapter_sources ${chapter_dir}/*.c ${chapter_dir}/*.md)
  set_property(GLOBAL APPEND PROPERTY TL_REPORT_SOURCES ${chapter_sources})

  # The claim verdicts of the quick run, for the report test.
  add_test(NAME ${slug}.quick.status COMMAND ${CMAKE_COMMAND} -DCHECK=$<TARGET_FILE:tl-check>
           -DCLAIMS=${claims} -DDIR=${out}/quick -P ${TL_TEST_SCRIPTS}/check_status.cmake)
  set_tests_properties(${slug}.quick.status PROPERTIES FIXTURES_REQUIRED ${slug}_quick
                       FIXTURES_SETUP ${slug}_status LABELS "report;${slug}")
  set_property(GLOBAL APPEND PROPERTY TL_REPORT_FIXTURES ${slug}_status)
endfunction()
