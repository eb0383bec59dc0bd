// SPDX-License-Identifier: Apache-2.0
// What most test files include, precompiled once for every test executable (tests/CMakeLists.txt,
// option TFCKPT_PCH): GoogleTest, the test helpers and the checkpoint API are about a third of
// a test unit's compile time when each unit parses them itself. Test files still include what they
// use; this header only makes it cheaper.
#ifndef TFCKPT_TESTING_PRECOMPILED_HPP_
#define TFCKPT_TESTING_PRECOMPILED_HPP_

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "testing/bundle_builder.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"

#endif  // TFCKPT_TESTING_PRECOMPILED_HPP_
