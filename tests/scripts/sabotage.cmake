# A sabotage test: run the chapter with a fault injected on the part that
# computes the claim, then check that one claim.  The test passes only when
# tl-check prints that claim's FAIL line (PASS_REGULAR_EXPRESSION): a crash
# or a chapter error prints no FAIL line, so it cannot pass by accident.
# -DPROG -DCHECK -DCLAIMS -DID -DOUT -DARGS
file(REMOVE_RECURSE ${OUT})
execute_process(COMMAND ${PROG} ${ARGS} --out ${OUT} RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the sabotaged run failed (${rc}): ${err}")
endif()
execute_process(COMMAND ${CHECK} --claims ${CLAIMS} --results ${OUT}/results.json --only ${ID}
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
message("${out}${err}")
