# tfckpt_add_precompiled_owner(target header [link libraries...]): an object library whose only job
# is to own a precompiled `header`, built with the given link libraries' flags. Executables reuse it
# (target_precompile_headers(... REUSE_FROM target)) and so wait only for the header, not for another
# executable to be compiled and linked first.
function(tfckpt_add_precompiled_owner target header)
  set(source ${CMAKE_CURRENT_BINARY_DIR}/${target}_owner.cpp)
  file(CONFIGURE OUTPUT ${source} CONTENT "// Generated: the unit that owns ${header} precompiled.\n")
  add_library(${target} OBJECT ${source})
  target_link_libraries(${target} PRIVATE ${ARGN})
  target_precompile_headers(${target} PRIVATE ${header})
endfunction()
