# Two shards merged equal an unsharded run byte for byte (every output the
# program writes but provenance.json).  -DPROG -DOUT -DREF (unsharded run)
file(REMOVE_RECURSE ${OUT})
foreach(i 0 1)
  execute_process(COMMAND ${PROG} --profile quick --quiet --shard ${i}/2 --out ${OUT}/shard${i}
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "shard ${i}/2 exited with ${rc}")
  endif()
endforeach()
execute_process(COMMAND ${PROG} --profile quick --quiet --merge ${OUT}/shard0 --merge ${OUT}/shard1
                --out ${OUT}/merged RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "merge exited with ${rc}")
endif()
file(GLOB_RECURSE ref RELATIVE ${REF} ${REF}/*)
file(GLOB_RECURSE got RELATIVE ${OUT}/merged ${OUT}/merged/*)
# provenance.json holds timings; claims-status.json is tl-check's, written
# next to the reference run by the report's fixture.
list(REMOVE_ITEM ref provenance.json claims-status.json)
list(REMOVE_ITEM got provenance.json claims-status.json)
if(NOT ref STREQUAL got)
  message(FATAL_ERROR "merged outputs differ in their file lists:\n${ref}\n${got}")
endif()
foreach(f IN LISTS ref)
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${REF}/${f} ${OUT}/merged/${f}
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "merged output differs from the unsharded run: ${f}")
  endif()
endforeach()
list(LENGTH ref n)
message("2 shards merged: ${n} files byte-identical to the unsharded run")
