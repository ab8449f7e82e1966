# cmake --install: the library, its headers, the CLI and warpgate-pnpd, a CMake package
# (find_package(warpgate CONFIG) -> warpgate::warpgate) and a pkg-config file.
include(CMakePackageConfigHelpers)

install(TARGETS warpgate EXPORT warpgateTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY include/warpgate DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.hpp")
install(TARGETS warpgate_cli warpgate-pnpd RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

set(WARPGATE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/warpgate)
install(EXPORT warpgateTargets NAMESPACE warpgate:: DESTINATION ${WARPGATE_CMAKE_DIR})
configure_package_config_file(cmake/warpgateConfig.cmake.in ${PROJECT_BINARY_DIR}/warpgateConfig.cmake
                              INSTALL_DESTINATION ${WARPGATE_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/warpgateConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)  # 0.x: a minor release may break the API
install(FILES ${PROJECT_BINARY_DIR}/warpgateConfig.cmake ${PROJECT_BINARY_DIR}/warpgateConfigVersion.cmake
        DESTINATION ${WARPGATE_CMAKE_DIR})

file(RELATIVE_PATH WARPGATE_PC_PREFIX /${CMAKE_INSTALL_LIBDIR}/pkgconfig /)
string(REGEX REPLACE "/$" "" WARPGATE_PC_PREFIX "${WARPGATE_PC_PREFIX}")
configure_file(cmake/warpgate.pc.in ${PROJECT_BINARY_DIR}/warpgate.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/warpgate.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
