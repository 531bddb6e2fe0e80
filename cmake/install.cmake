# `cmake --install build --prefix P`: the binary, the public headers, the static libraries with a
# CMake package (find_package(mpisweep CONFIG) -> mpisweep::mpisweep), the man page, a bash
# completion and the Python package (docs/your-experiment.md).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(MPISWEEP_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/mpisweep)

# mpisweep::mpisweep: everything a user's own binary needs to call mpisweep::main.
add_library(mpisweep_mpisweep INTERFACE)
add_library(mpisweep::mpisweep ALIAS mpisweep_mpisweep)
target_link_libraries(mpisweep_mpisweep INTERFACE mpisweep::cli)
target_include_directories(mpisweep_mpisweep INTERFACE
                           $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>)
set_target_properties(mpisweep_mpisweep PROPERTIES EXPORT_NAME mpisweep)
set_target_properties(mpisweep_warnings PROPERTIES EXPORT_NAME warnings)
set_target_properties(mpisweep_sanitize PROPERTIES EXPORT_NAME sanitize)

get_property(mpisweep_layers GLOBAL PROPERTY MPISWEEP_LAYERS)
install(TARGETS mpisweep_mpisweep ${mpisweep_layers} mpisweep_warnings mpisweep_sanitize
        EXPORT mpisweepTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(TARGET mpisweep)
  install(TARGETS mpisweep RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/mpisweep
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.hpp")
install(EXPORT mpisweepTargets NAMESPACE mpisweep:: DESTINATION ${MPISWEEP_CMAKE_DIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/mpisweepConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/mpisweepConfig.cmake
                              INSTALL_DESTINATION ${MPISWEEP_CMAKE_DIR})
# 0.x: a minor version may change the experiment interface.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/mpisweepConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/mpisweepConfig.cmake
              ${PROJECT_BINARY_DIR}/mpisweepConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/fftw.cmake
        DESTINATION ${MPISWEEP_CMAKE_DIR})

install(FILES ${PROJECT_SOURCE_DIR}/cmake/completion/mpisweep
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)

# Debian's layout for python3 modules outside /usr/lib/python3:
# PYTHONPATH=P/lib/python3/dist-packages.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/python/mpisweep DESTINATION lib/python3/dist-packages
        PATTERN __pycache__ EXCLUDE PATTERN "*.pyc" EXCLUDE)

# The man page, generated from the built binary's --help (and each subcommand's) by help2man.
find_program(HELP2MAN help2man)
if(HELP2MAN AND TARGET mpisweep)
  set(man ${PROJECT_BINARY_DIR}/mpisweep.1)
  add_custom_command(
    OUTPUT ${man}
    COMMAND ${CMAKE_COMMAND} -DHELP2MAN=${HELP2MAN} -DBIN=$<TARGET_FILE:mpisweep>
            -DVERSION=${PROJECT_VERSION} -DINCLUDE=${PROJECT_SOURCE_DIR}/cmake/mpisweep.h2m
            -DOUT=${man} -P ${PROJECT_SOURCE_DIR}/cmake/manpage.cmake
    DEPENDS mpisweep ${PROJECT_SOURCE_DIR}/cmake/manpage.cmake
            ${PROJECT_SOURCE_DIR}/cmake/mpisweep.h2m
    COMMENT "man page mpisweep.1 (help2man)")
  add_custom_target(mpisweep_man ALL DEPENDS ${man})
  install(FILES ${man} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
else()
  message(STATUS "help2man not found: no man page (scripts/setup installs it)")
endif()
