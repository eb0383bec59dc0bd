// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/tensor/eigen.hpp
//
// Eigen views of tensor values, without copying: a flat vector, a row-major matrix (rank 2), or an
// Eigen::TensorMap of any rank (row-major, as TensorFlow stores tensors). The maps borrow from the
// tensor_values object, which must outlive them.
//
// Including this header also makes Eigen::half and Eigen::bfloat16 element types (dtype_of,
// values<Eigen::half>()), interchangeable with tfckpt::float16 / tfckpt::bfloat16 (same bits).
//
// Example:
//   TFCKPT_ASSIGN_OR_RETURN(auto w, ckpt.get("dense/kernel").value()->values<float>());
//   TFCKPT_ASSIGN_OR_RETURN(auto m, tfckpt::as_eigen_matrix(w));   // m.rows() x m.cols()
//   TFCKPT_ASSIGN_OR_RETURN(auto t, tfckpt::as_eigen_tensor<4>(conv));
#ifndef TFCKPT_TENSOR_EIGEN_HPP_
#define TFCKPT_TENSOR_EIGEN_HPP_

#include <array>
#include <cstddef>

#include <Eigen/Core>
#include <unsupported/Eigen/CXX11/Tensor>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "tfckpt/tensor/dtype.hpp"
#include "tfckpt/tensor/shape.hpp"
#include "tfckpt/tensor/tensor_values.hpp"

namespace tfckpt {

namespace detail {
template <> struct dtype_of_impl<Eigen::half> : dtype_impl<dtype::float16> {};
template <> struct dtype_of_impl<Eigen::bfloat16> : dtype_impl<dtype::bfloat16> {};
}  // namespace detail

static_assert(sizeof(Eigen::half) == sizeof(float16) && sizeof(Eigen::bfloat16) == sizeof(bfloat16));

template <class T>
using eigen_vector_map = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>>;
template <class T>
using eigen_matrix_map = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
template <class T, int Rank>
using eigen_tensor_map = Eigen::TensorMap<Eigen::Tensor<const T, Rank, Eigen::RowMajor>>;

/// All elements as one column vector (any rank).
template <class T>
eigen_vector_map<T> as_eigen_vector(const tensor_values<T>& v) {
  return eigen_vector_map<T>(v.data(), static_cast<Eigen::Index>(v.size()));
}

/// A rank-2 tensor as a row-major matrix; kInvalidArgument for another rank.
template <class T>
absl::StatusOr<eigen_matrix_map<T>> as_eigen_matrix(const tensor_values<T>& v) {
  if (v.shape().size() != 2)
    return absl::InvalidArgumentError(
        absl::StrFormat("as_eigen_matrix needs a rank-2 tensor, got shape %s", shape_string(v.shape())));
  return eigen_matrix_map<T>(v.data(), static_cast<Eigen::Index>(v.shape()[0]),
                             static_cast<Eigen::Index>(v.shape()[1]));
}

/// A tensor of rank `Rank` as a row-major Eigen::TensorMap; kInvalidArgument for another rank.
template <int Rank, class T>
absl::StatusOr<eigen_tensor_map<T, Rank>> as_eigen_tensor(const tensor_values<T>& v) {
  if (v.shape().size() != static_cast<std::size_t>(Rank))
    return absl::InvalidArgumentError(absl::StrFormat("as_eigen_tensor<%d> got shape %s", Rank, shape_string(v.shape())));
  std::array<Eigen::Index, Rank> dims{};
  for (int i = 0; i < Rank; ++i) dims[static_cast<std::size_t>(i)] = static_cast<Eigen::Index>(v.shape()[static_cast<std::size_t>(i)]);
  return eigen_tensor_map<T, Rank>(v.data(), dims);
}

}  // namespace tfckpt

#endif  // TFCKPT_TENSOR_EIGEN_HPP_
