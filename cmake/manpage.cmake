# cmake -DHELP2MAN=... -DBIN=... -DVERSION=... -DINCLUDE=... -DOUT=... -P manpage.cmake
# Writes the man page of BIN with help2man: the top-level --help, a COMMANDS section with every
# subcommand's --help (so the page documents every option) and the hand-written sections of
# INCLUDE (exit status, environment, examples).
execute_process(COMMAND ${BIN} --help OUTPUT_VARIABLE top RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${BIN} --help failed (${rc})")
endif()
string(REGEX REPLACE ".*\nSubcommands:\n" "" subs "${top}")
string(REGEX MATCHALL "(^|\n)  [a-z]+" names "${subs}")

set(commands "[COMMANDS]\n")
foreach(name ${names})
  string(STRIP "${name}" name)
  execute_process(COMMAND ${BIN} ${name} --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${BIN} ${name} --help failed (${rc})")
  endif()
  # roff: a backslash is \e, a minus \-, and a line may not start with a dot or a quote.
  string(REPLACE "\\" "\\e" help "${help}")
  string(REPLACE "-" "\\-" help "${help}")  # a minus sign, so options copy and paste
  string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" help "${help}")
  string(APPEND commands ".SS ${name}\n.nf\n${help}.fi\n")
endforeach()
file(READ ${INCLUDE} static)
get_filename_component(dir ${OUT} DIRECTORY)
set(include ${dir}/mpisweep-man.h2m)
file(WRITE ${include} "${commands}\n${static}")

execute_process(COMMAND ${HELP2MAN} --no-info --no-discard-stderr --version-string=${VERSION}
                        --name=parameter\ sweeps\ under\ MPI\ into\ one\ HDF5\ archive
                        --section=1 --include=${include} --output=${OUT} ${BIN}
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "help2man failed (${rc})")
endif()
