// SPDX-License-Identifier: Apache-2.0
// A small float32 interpreter for frozen GraphDefs in tests: Const, Placeholder (fed), Identity,
// Mul/Add/AddV2/Sub (with scalar broadcast), MatMul, BiasAdd, Relu, Softmax, Reshape (to a Const
// shape) and NHWC Conv2D (VALID or SAME, stride 1); control inputs are ignored. Enough to check
// that a frozen graph computes what its weights say, independently of the code that froze it.
#ifndef TFCKPT_TESTING_GRAPH_EVAL_HPP_
#define TFCKPT_TESTING_GRAPH_EVAL_HPP_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "tfckpt/proto/graph.pb.h"

namespace tfckpt_testing {

struct float_array {
  std::vector<std::int64_t> shape;
  std::vector<float> values;
};

class graph_eval {
 public:
  explicit graph_eval(const tensorflow::GraphDef& g) {
    for (const auto& n : g.node()) nodes_.emplace(n.name(), &n);
  }
  void feed(const std::string& name, float_array t) { cache_[name] = std::move(t); }

  /// The value of `name` (output 0); throws std::runtime_error for what it cannot evaluate.
  const float_array& run(const std::string& name) {
    if (const auto it = cache_.find(name); it != cache_.end()) return it->second;
    const auto it = nodes_.find(name);
    if (it == nodes_.end()) throw std::runtime_error("no node " + name);
    const tensorflow::NodeDef& n = *it->second;
    std::vector<const float_array*> in;
    for (const auto& i : n.input()) {
      if (!i.empty() && i.front() == '^') continue;
      if (i.find(':') != std::string::npos && i.substr(i.find(':')) != ":0") throw std::runtime_error("output > 0 of " + i);
      in.push_back(&run(i.substr(0, i.find(':'))));
    }
    return cache_[name] = compute(n, in);
  }

 private:
  static float_array constant(const tensorflow::NodeDef& n) {
    const tensorflow::TensorProto& t = n.attr().at("value").tensor();
    if (t.dtype() != tensorflow::DT_FLOAT && t.dtype() != tensorflow::DT_INT32)
      throw std::runtime_error("Const " + n.name() + " is not float or int32");
    float_array out;
    std::int64_t count = 1;
    for (const auto& d : t.tensor_shape().dim()) {
      out.shape.push_back(d.size());
      count *= d.size();
    }
    out.values.resize(static_cast<std::size_t>(count));
    if (!t.tensor_content().empty()) {
      if (t.dtype() == tensorflow::DT_FLOAT) {
        std::memcpy(out.values.data(), t.tensor_content().data(), out.values.size() * 4);
      } else {
        std::vector<std::int32_t> ints(out.values.size());
        std::memcpy(ints.data(), t.tensor_content().data(), ints.size() * 4);
        std::copy(ints.begin(), ints.end(), out.values.begin());
      }
    } else {
      for (std::size_t i = 0; i < out.values.size(); ++i) {
        const int at = static_cast<int>(i);
        if (t.dtype() == tensorflow::DT_FLOAT)
          out.values[i] = t.float_val_size() == 0 ? 0.f : t.float_val(std::min(at, t.float_val_size() - 1));
        else
          out.values[i] = t.int_val_size() == 0 ? 0.f : static_cast<float>(t.int_val(std::min(at, t.int_val_size() - 1)));
      }
    }
    return out;
  }

  static float_array elementwise(const float_array& a, const float_array& b, float (*f)(float, float)) {
    const bool a_scalar = a.values.size() == 1, b_scalar = b.values.size() == 1;
    if (!a_scalar && !b_scalar && a.values.size() != b.values.size()) throw std::runtime_error("broadcast");
    float_array out = a_scalar && !b_scalar ? b : a;
    for (std::size_t i = 0; i < out.values.size(); ++i)
      out.values[i] = f(a.values[a_scalar ? 0 : i], b.values[b_scalar ? 0 : i]);
    return out;
  }

  static float_array compute(const tensorflow::NodeDef& n, const std::vector<const float_array*>& in) {
    const std::string& op = n.op();
    if (op == "Const") return constant(n);
    if (op == "Identity") return *in.at(0);
    if (op == "Mul") return elementwise(*in.at(0), *in.at(1), [](float x, float y) { return x * y; });
    if (op == "Add" || op == "AddV2") return elementwise(*in.at(0), *in.at(1), [](float x, float y) { return x + y; });
    if (op == "Sub") return elementwise(*in.at(0), *in.at(1), [](float x, float y) { return x - y; });
    if (op == "Relu") {
      float_array out = *in.at(0);
      for (float& v : out.values) v = std::max(v, 0.f);
      return out;
    }
    if (op == "BiasAdd") {
      float_array out = *in.at(0);
      const auto& b = in.at(1)->values;
      for (std::size_t i = 0; i < out.values.size(); ++i) out.values[i] += b[i % b.size()];
      return out;
    }
    if (op == "Softmax") {
      float_array out = *in.at(0);
      const std::size_t c = static_cast<std::size_t>(out.shape.back());
      for (std::size_t r = 0; r < out.values.size() / c; ++r) {
        float* row = out.values.data() + r * c;
        const float m = *std::max_element(row, row + c);
        float sum = 0;
        for (std::size_t j = 0; j < c; ++j) sum += row[j] = std::exp(row[j] - m);
        for (std::size_t j = 0; j < c; ++j) row[j] /= sum;
      }
      return out;
    }
    if (op == "MatMul") {
      const float_array &a = *in.at(0), &b = *in.at(1);
      const std::int64_t m = a.shape.at(0), k = a.shape.at(1), nn = b.shape.at(1);
      if (b.shape.at(0) != k) throw std::runtime_error("MatMul shapes");
      float_array out{{m, nn}, std::vector<float>(static_cast<std::size_t>(m * nn), 0.f)};
      for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = 0; j < nn; ++j) {
          float s = 0;
          for (std::int64_t x = 0; x < k; ++x) s += a.values[static_cast<std::size_t>(i * k + x)] * b.values[static_cast<std::size_t>(x * nn + j)];
          out.values[static_cast<std::size_t>(i * nn + j)] = s;
        }
      return out;
    }
    if (op == "Reshape") {
      float_array out = *in.at(0);
      std::vector<std::int64_t> shape;
      std::int64_t known = 1, unknown = -1;
      for (std::size_t i = 0; i < in.at(1)->values.size(); ++i) {
        const auto d = static_cast<std::int64_t>(in.at(1)->values[i]);
        if (d < 0) unknown = static_cast<std::int64_t>(i); else known *= d;
        shape.push_back(d);
      }
      if (unknown >= 0) shape[static_cast<std::size_t>(unknown)] = static_cast<std::int64_t>(out.values.size()) / known;
      out.shape = shape;
      return out;
    }
    if (op == "Conv2D") {  // NHWC input, HWIO filter, stride 1
      const float_array &x = *in.at(0), &f = *in.at(1);
      const bool same = n.attr().at("padding").s() == "SAME";
      const std::int64_t N = x.shape.at(0), H = x.shape.at(1), W = x.shape.at(2), C = x.shape.at(3);
      const std::int64_t KH = f.shape.at(0), KW = f.shape.at(1), O = f.shape.at(3);
      const std::int64_t OH = same ? H : H - KH + 1, OW = same ? W : W - KW + 1;
      const std::int64_t pt = same ? (KH - 1) / 2 : 0, pl = same ? (KW - 1) / 2 : 0;
      float_array out{{N, OH, OW, O}, std::vector<float>(static_cast<std::size_t>(N * OH * OW * O), 0.f)};
      for (std::int64_t b = 0; b < N; ++b)
        for (std::int64_t i = 0; i < OH; ++i)
          for (std::int64_t j = 0; j < OW; ++j)
            for (std::int64_t o = 0; o < O; ++o) {
              float s = 0;
              for (std::int64_t di = 0; di < KH; ++di)
                for (std::int64_t dj = 0; dj < KW; ++dj) {
                  const std::int64_t y = i + di - pt, z = j + dj - pl;
                  if (y < 0 || y >= H || z < 0 || z >= W) continue;
                  for (std::int64_t c = 0; c < C; ++c)
                    s += x.values[static_cast<std::size_t>(((b * H + y) * W + z) * C + c)] *
                         f.values[static_cast<std::size_t>(((di * KW + dj) * C + c) * O + o)];
                }
              out.values[static_cast<std::size_t>(((b * OH + i) * OW + j) * O + o)] = s;
            }
      return out;
    }
    throw std::runtime_error("cannot evaluate " + op + " (" + n.name() + ")");
  }

  std::map<std::string, const tensorflow::NodeDef*> nodes_;
  std::map<std::string, float_array> cache_;
};

}  // namespace tfckpt_testing

#endif  // TFCKPT_TESTING_GRAPH_EVAL_HPP_
