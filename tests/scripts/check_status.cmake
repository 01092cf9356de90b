# Check a chapter's claims and write claims-status.json for the report.  A
# failing claim (exit 1) is recorded, not fatal: the report shows it as
# failing.  A malformed file or a usage error (exit 2) is fatal.
# -DCHECK -DCLAIMS -DDIR
execute_process(COMMAND ${CHECK} --claims ${CLAIMS} --results ${DIR}/results.json
                --status ${DIR}/claims-status.json --quiet RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 AND NOT rc EQUAL 1)
  message(FATAL_ERROR "tl-check failed (${rc}) on ${DIR}/results.json")
endif()
