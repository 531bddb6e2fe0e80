# Debian's FFTW3Config.cmake is incomplete (it names targets it does not ship), so find the
# double-precision library and its thread support by hand. An IMPORTED target, so that the
# installed package (cmake/mpisweepConfig.cmake.in includes this file) recreates it in the
# user's project instead of exporting our build machine's paths.
if(NOT TARGET mpisweep::fftw3)
  find_path(FFTW3_INCLUDE_DIR fftw3.h REQUIRED)
  find_library(FFTW3_LIBRARY fftw3 REQUIRED)
  find_library(FFTW3_THREADS_LIBRARY fftw3_threads REQUIRED)
  add_library(mpisweep::fftw3 INTERFACE IMPORTED)
  target_include_directories(mpisweep::fftw3 SYSTEM INTERFACE ${FFTW3_INCLUDE_DIR})
  target_link_libraries(mpisweep::fftw3 INTERFACE ${FFTW3_THREADS_LIBRARY} ${FFTW3_LIBRARY}
                        Threads::Threads)
endif()
