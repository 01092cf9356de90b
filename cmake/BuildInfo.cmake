# Writes OUT: one line, `git describe --always --dirty --tags` of the source
# tree, with "-dirty" also when untracked (not ignored) files exist, which git
# describe alone does not count.  Rewritten only when it changes.
execute_process(COMMAND git describe --always --dirty --tags
  WORKING_DIRECTORY ${SRC} OUTPUT_VARIABLE GIT_DESCRIBE
  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR GIT_DESCRIBE STREQUAL "")
  set(GIT_DESCRIBE "unknown")
elseif(NOT GIT_DESCRIBE MATCHES "-dirty$")
  execute_process(COMMAND git status --porcelain --untracked-files=normal
    WORKING_DIRECTORY ${SRC} OUTPUT_VARIABLE status ERROR_QUIET)
  if(NOT status STREQUAL "")
    string(APPEND GIT_DESCRIBE "-dirty")
  endif()
endif()
set(text "${GIT_DESCRIBE}\n")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
else()
  set(old "")
endif()
if(NOT old STREQUAL text)
  file(WRITE ${OUT} "${text}")
endif()
