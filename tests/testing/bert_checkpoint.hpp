// SPDX-License-Identifier: Apache-2.0
// A small checkpoint with the layout google-research/bert writes (embeddings, L encoder layers,
// pooler, the pre-training heads, AdamWeightDecay's adam_m/adam_v slots, global_step), written
// through the library, and for every weight the name Hugging Face's PyTorch BERT gives it, spelled
// out here by hand (not by the rules files under test).
#ifndef TFCKPT_TESTING_BERT_CHECKPOINT_HPP_
#define TFCKPT_TESTING_BERT_CHECKPOINT_HPP_

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "tfckpt/sinks/write_bundle.hpp"

namespace tfckpt_testing {

struct bert_weight {
  std::string tf_name;
  std::string hf_name;  // Hugging Face transformers' BertForPreTraining state_dict key
  std::vector<std::int64_t> shape;  // as TensorFlow stores it
  bool transposed = false;          // PyTorch holds it [out, in]
  std::vector<float> values;
};

struct bert_sizes {
  int layers = 2, hidden = 8, intermediate = 12, vocab = 20, positions = 6;
};

/// The model's weights (no slots, no global_step), each with distinct values.
inline std::vector<bert_weight> bert_weights(const bert_sizes& s = {}) {
  std::vector<bert_weight> w;
  const std::int64_t h = s.hidden;
  const auto add = [&w](std::string tf, std::string hf, std::vector<std::int64_t> shape, bool transposed = false) {
    std::int64_t n = 1;
    for (std::int64_t d : shape) n *= d;
    bert_weight b{std::move(tf), std::move(hf), std::move(shape), transposed, {}};
    for (std::int64_t i = 0; i < n; ++i) b.values.push_back(static_cast<float>(w.size()) + 0.001f * static_cast<float>(i));
    w.push_back(std::move(b));
  };
  const auto dense = [&](const std::string& tf, const std::string& hf, std::int64_t in, std::int64_t out) {
    add(tf + "/kernel", hf + ".weight", {in, out}, true);
    add(tf + "/bias", hf + ".bias", {out});
  };
  const auto norm = [&](const std::string& tf, const std::string& hf) {
    add(tf + "/gamma", hf + ".weight", {h});
    add(tf + "/beta", hf + ".bias", {h});
  };
  add("bert/embeddings/word_embeddings", "bert.embeddings.word_embeddings.weight", {s.vocab, h});
  add("bert/embeddings/position_embeddings", "bert.embeddings.position_embeddings.weight", {s.positions, h});
  add("bert/embeddings/token_type_embeddings", "bert.embeddings.token_type_embeddings.weight", {2, h});
  norm("bert/embeddings/LayerNorm", "bert.embeddings.LayerNorm");
  for (int i = 0; i < s.layers; ++i) {
    const std::string tf = absl::StrFormat("bert/encoder/layer_%d/", i);
    const std::string hf = absl::StrFormat("bert.encoder.layer.%d.", i);
    for (const char* part : {"query", "key", "value"})
      dense(tf + "attention/self/" + part, hf + "attention.self." + part, h, h);
    dense(tf + "attention/output/dense", hf + "attention.output.dense", h, h);
    norm(tf + "attention/output/LayerNorm", hf + "attention.output.LayerNorm");
    dense(tf + "intermediate/dense", hf + "intermediate.dense", h, s.intermediate);
    dense(tf + "output/dense", hf + "output.dense", s.intermediate, h);
    norm(tf + "output/LayerNorm", hf + "output.LayerNorm");
  }
  dense("bert/pooler/dense", "bert.pooler.dense", h, h);
  dense("cls/predictions/transform/dense", "cls.predictions.transform.dense", h, h);
  norm("cls/predictions/transform/LayerNorm", "cls.predictions.transform.LayerNorm");
  add("cls/predictions/output_bias", "cls.predictions.bias", {s.vocab});
  add("cls/seq_relationship/output_weights", "cls.seq_relationship.weight", {2, h});  // already [out, in]
  add("cls/seq_relationship/output_bias", "cls.seq_relationship.bias", {2});
  return w;
}

/// Writes the weights, an adam_m and adam_v slot for each, and global_step to `prefix`.
inline absl::Status write_bert_checkpoint(const std::filesystem::path& prefix, const bert_sizes& s = {}) {
  std::vector<tfckpt::tensor> planned;
  const auto add = [&planned](std::string name, tfckpt::dtype dtype, std::vector<std::int64_t> shape, std::string bytes) {
    tfckpt::tensor t;
    t.name = std::move(name);
    t.dtype = dtype;
    t.shape = std::move(shape);
    t.source = tfckpt::byte_source::from_bytes(std::move(bytes));
    planned.push_back(std::move(t));
  };
  for (const bert_weight& w : bert_weights(s)) {
    const std::string bytes(reinterpret_cast<const char*>(w.values.data()), w.values.size() * sizeof(float));
    add(w.tf_name, tfckpt::dtype::float32, w.shape, bytes);
    add(w.tf_name + "/adam_m", tfckpt::dtype::float32, w.shape, std::string(bytes.size(), '\0'));
    add(w.tf_name + "/adam_v", tfckpt::dtype::float32, w.shape, std::string(bytes.size(), '\0'));
  }
  const std::int64_t step = 1000;
  add("global_step", tfckpt::dtype::int64, {}, std::string(reinterpret_cast<const char*>(&step), sizeof step));
  std::sort(planned.begin(), planned.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return tfckpt::write_bundle(planned, prefix);
}

}  // namespace tfckpt_testing

#endif  // TFCKPT_TESTING_BERT_CHECKPOINT_HPP_
