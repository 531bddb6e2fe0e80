# Debian's FFTW3Config.cmake is incomplete (it names targets it does not ship), so find the
# double-precision library and its thread support by hand.
find_path(FFTW3_INCLUDE_DIR fftw3.h REQUIRED)
find_library(FFTW3_LIBRARY fftw3 REQUIRED)
find_library(FFTW3_THREADS_LIBRARY fftw3_threads REQUIRED)
add_library(mpisweep_fftw3 INTERFACE)
add_library(mpisweep::fftw3 ALIAS mpisweep_fftw3)
target_include_directories(mpisweep_fftw3 SYSTEM INTERFACE ${FFTW3_INCLUDE_DIR})
target_link_libraries(mpisweep_fftw3 INTERFACE ${FFTW3_THREADS_LIBRARY} ${FFTW3_LIBRARY} Threads::Threads)
