# include/warpgate/version.hpp is written by hand (a generated header would put the build tree
# on every include path); configuring fails when it disagrees with project(VERSION).
file(STRINGS ${PROJECT_SOURCE_DIR}/include/warpgate/version.hpp WARPGATE_VERSION_LINE
     REGEX "^#define WARPGATE_VERSION_STRING ")
foreach(part MAJOR MINOR PATCH)
  file(STRINGS ${PROJECT_SOURCE_DIR}/include/warpgate/version.hpp line REGEX "^#define WARPGATE_VERSION_${part} ")
  string(REGEX REPLACE ".* " "" header_${part} "${line}")
endforeach()
if(NOT WARPGATE_VERSION_LINE STREQUAL "#define WARPGATE_VERSION_STRING \"${PROJECT_VERSION}\""
   OR NOT "${header_MAJOR}.${header_MINOR}.${header_PATCH}" STREQUAL PROJECT_VERSION)
  message(FATAL_ERROR "include/warpgate/version.hpp does not say ${PROJECT_VERSION} (project(VERSION)): update it")
endif()
