// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/tensor/xtensor.hpp
//
// xtensor views of tensor values, without copying (`xt::adapt` with no ownership). The adaptor
// borrows from the tensor_values object, which must outlive it. xtensor 0.26 moved xadapt.hpp
// under containers/; Debian 12 ships 0.24, so both locations are tried.
//
// Example:
//   TFCKPT_ASSIGN_OR_RETURN(auto w, entry.values<float>());
//   auto x = tfckpt::as_xtensor(w);       // x.shape() == the tensor's shape
//   double total = xt::sum(x)();
#ifndef TFCKPT_TENSOR_XTENSOR_HPP_
#define TFCKPT_TENSOR_XTENSOR_HPP_

#include <cstddef>
#include <vector>

#if __has_include(<xtensor/containers/xadapt.hpp>)
#include <xtensor/containers/xadapt.hpp>
#else
#include <xtensor/xadapt.hpp>
#endif

#include "tfckpt/tensor/tensor_values.hpp"

namespace tfckpt {

/// The values as a read-only xtensor expression with the tensor's shape (row-major).
template <class T>
auto as_xtensor(const tensor_values<T>& v) {
  std::vector<std::size_t> shape(v.shape().begin(), v.shape().end());
  return xt::adapt(v.data(), v.size(), xt::no_ownership(), shape);
}

}  // namespace tfckpt

#endif  // TFCKPT_TENSOR_XTENSOR_HPP_
