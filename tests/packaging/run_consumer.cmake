# Builds and runs one consumer project of tests/packaging (cmake -P script).
#   -DMODE=find_package|add_subdirectory|fetch_content
#   -DTFCKPT_SRC=<tfckpt source tree>  -DCONSUMER_DIR=<consumer project>  -DWORK_DIR=<scratch dir>
#   -DCXX_COMPILER=<compiler to use, optional>
#   -DBUILD_TREE=<a built tfckpt build tree, optional; find_package mode only>  -DBUILD_CONFIG=<its configuration>
# find_package mode installs tfckpt into WORK_DIR/prefix: from BUILD_TREE where given (ctest passes
# the tree it tests: the install is then of the very library the suite has just run), else from a
# build of its own (tests, bench, CLI and examples off), deleted after the install. Either way the
# consumer can only see the install.
# The consumer projects (and tfckpt's own build, in the other modes) compile at -O0 without debug
# info: what they check is the CMake wiring and that the code links and runs, and -O0 builds fastest.
cmake_minimum_required(VERSION 3.25)

foreach(var IN ITEMS MODE TFCKPT_SRC CONSUMER_DIR WORK_DIR)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT MODE MATCHES "^(find_package|add_subdirectory|fetch_content)$")
  message(FATAL_ERROR "run_consumer.cmake: unknown MODE '${MODE}'")
endif()

set(common_args -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O0)
if(CXX_COMPILER)
  list(APPEND common_args -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
endif()

function(run step)
  message(STATUS "[${MODE}] ${step}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc COMMAND_ECHO STDOUT)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "[${MODE}] ${step} failed (${rc})")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(consumer_args ${common_args} -DTFCKPT_SRC=${TFCKPT_SRC})

if(MODE STREQUAL "find_package")
  set(prefix ${WORK_DIR}/prefix)
  if(BUILD_TREE)
    set(config)
    if(BUILD_CONFIG)
      set(config --config ${BUILD_CONFIG})
    endif()
    run("install tfckpt from ${BUILD_TREE}" ${CMAKE_COMMAND} --install ${BUILD_TREE} ${config} --prefix ${prefix})
  else()
    set(lib_build ${WORK_DIR}/tfckpt-build)
    run("configure tfckpt" ${CMAKE_COMMAND} -S ${TFCKPT_SRC} -B ${lib_build} ${common_args}
        -DTFCKPT_BUILD_TESTS=OFF -DTFCKPT_BUILD_BENCH=OFF -DTFCKPT_BUILD_CLI=OFF
        -DTFCKPT_BUILD_EXAMPLES=OFF -DTFCKPT_INSTALL=ON -DCMAKE_INSTALL_PREFIX=${prefix})
    run("build tfckpt" ${CMAKE_COMMAND} --build ${lib_build} -j2)
    run("install tfckpt" ${CMAKE_COMMAND} --install ${lib_build} --prefix ${prefix})
    file(REMOVE_RECURSE ${lib_build})
  endif()

  # The install must be self-contained: headers, generated proto headers, library, package files.
  foreach(pattern IN ITEMS include/tfckpt/status.hpp include/tfckpt/proto/tensor_bundle.pb.h
                           lib*/libtfckpt_proto.a lib*/libtfckpt_compiled.a lib*/cmake/tfckpt/tfckpt-config.cmake
                           lib*/cmake/tfckpt/tfckpt-config-version.cmake lib*/cmake/tfckpt/tfckpt-targets.cmake)
    file(GLOB found ${prefix}/${pattern})
    if(NOT found)
      message(FATAL_ERROR "[${MODE}] install is missing ${pattern} (under ${prefix})")
    endif()
  endforeach()
  list(APPEND consumer_args -DCMAKE_PREFIX_PATH=${prefix})
endif()

set(consumer_build ${WORK_DIR}/consumer-build)
run("configure consumer" ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${consumer_build} ${consumer_args})

if(MODE STREQUAL "find_package")
  # Make sure the package came from our prefix and not from somewhere else on the system.
  file(STRINGS ${consumer_build}/CMakeCache.txt tfckpt_dir_line REGEX "^tfckpt_DIR:")
  string(REGEX REPLACE "^tfckpt_DIR:[A-Z]+=" "" tfckpt_dir "${tfckpt_dir_line}")
  file(REAL_PATH "${tfckpt_dir}" tfckpt_dir)
  file(REAL_PATH "${prefix}" real_prefix)
  string(FIND "${tfckpt_dir}" "${real_prefix}/" at)
  if(NOT at EQUAL 0)
    message(FATAL_ERROR "[${MODE}] tfckpt was found at '${tfckpt_dir}', not under ${prefix}")
  endif()
endif()

run("build consumer" ${CMAKE_COMMAND} --build ${consumer_build} -j2)
run("run consumer" ${consumer_build}/app)
if(MODE STREQUAL "find_package")
  run("run consumer on tfckpt::compiled" ${consumer_build}/app_compiled)
endif()
if(EXISTS ${consumer_build}/app_remote)
  run("run remote consumer" ${consumer_build}/app_remote)
elseif(EXPECT_REMOTE)
  message(FATAL_ERROR "[${MODE}] tfckpt::remote was built here, but the consumer did not get it")
endif()
message(STATUS "[${MODE}] OK")
