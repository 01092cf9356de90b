# Run a chapter program into a fresh folder: -DPROG -DOUT -DARGS (a list).
file(REMOVE_RECURSE ${OUT})
execute_process(COMMAND ${PROG} ${ARGS} --out ${OUT} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PROG} exited with ${rc}")
endif()
