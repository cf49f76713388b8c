# Install rules: lucidgen (it embeds its Lua, templates and runtime sources,
# so it needs no source tree), the runtime library with its headers, the
# classifier sources lucidgen_add_classifier() compiles, the CMake package
# (find_package(lucidgen CONFIG)), a pkg-config file for the runtime and the
# man page.
#
#   <prefix>/bin/lucidgen
#   <prefix>/lib/liblg_runtime.a                   lucidgen::lg_runtime
#   <prefix>/include/lucidgen/lg_*.h
#   <prefix>/share/lucidgen/lg_classifier.c, lg_profile.c
#   <prefix>/lib/cmake/lucidgen/                   lucidgenConfig.cmake, version, targets,
#                                                  LucidgenAddModel.cmake
#   <prefix>/lib/pkgconfig/lucidgen-runtime.pc
#   <prefix>/share/man/man1/lucidgen.1
include(CMakePackageConfigHelpers)
set(LUCIDGEN_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/lucidgen)
set(LUCIDGEN_INSTALL_DATADIR ${CMAKE_INSTALL_DATADIR}/lucidgen)

set(_lg_installed lg_runtime)
if(LUCIDGEN_BUILD_GENERATOR)
  list(APPEND _lg_installed lucidgen)
endif()
install(TARGETS ${_lg_installed} EXPORT lucidgenTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
file(GLOB _lg_runtime_headers ${PROJECT_SOURCE_DIR}/runtime/lg_*.h)
install(FILES ${_lg_runtime_headers} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/lucidgen)
install(FILES ${LUCIDGEN_CLASSIFIER_SOURCES} DESTINATION ${LUCIDGEN_INSTALL_DATADIR})
if(TARGET lucidgen_man)
  install(FILES ${PROJECT_BINARY_DIR}/lucidgen.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()

install(EXPORT lucidgenTargets NAMESPACE lucidgen:: DESTINATION ${LUCIDGEN_INSTALL_CMAKEDIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/lucidgenConfig.cmake.in
  ${PROJECT_BINARY_DIR}/lucidgenConfig.cmake
  INSTALL_DESTINATION ${LUCIDGEN_INSTALL_CMAKEDIR}
  PATH_VARS LUCIDGEN_INSTALL_DATADIR)
# 0.x: a new minor version may change the generated API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/lucidgenConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/lucidgenConfig.cmake
  ${PROJECT_BINARY_DIR}/lucidgenConfigVersion.cmake
  ${CMAKE_CURRENT_LIST_DIR}/LucidgenAddModel.cmake
  DESTINATION ${LUCIDGEN_INSTALL_CMAKEDIR})

# pkg-config finds the prefix relative to the .pc file, so the install can move.
file(RELATIVE_PATH LUCIDGEN_PC_TO_PREFIX
  ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" LUCIDGEN_PC_TO_PREFIX ${LUCIDGEN_PC_TO_PREFIX})
configure_file(${CMAKE_CURRENT_LIST_DIR}/lucidgen-runtime.pc.in
  ${PROJECT_BINARY_DIR}/lucidgen-runtime.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/lucidgen-runtime.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
