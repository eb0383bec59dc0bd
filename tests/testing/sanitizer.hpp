// SPDX-License-Identifier: Apache-2.0
// Whether this test is built with AddressSanitizer: a few tests scale their work or their memory
// bounds to it.
#ifndef TFCKPT_TESTING_SANITIZER_HPP_
#define TFCKPT_TESTING_SANITIZER_HPP_

namespace tfckpt_testing {

// g++ says __SANITIZE_ADDRESS__; clang (the sanitizer build's compiler) says it through __has_feature.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#else
inline constexpr bool kAddressSanitizer = false;
#endif

}  // namespace tfckpt_testing

#endif  // TFCKPT_TESTING_SANITIZER_HPP_
