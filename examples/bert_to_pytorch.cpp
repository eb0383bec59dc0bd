// SPDX-License-Identifier: Apache-2.0
// Bridge to PyTorch: a BERT checkpoint as google-research/bert writes it, written as a safetensors
// file under the names Hugging Face transformers' BertForPreTraining loads. Dense kernels are
// transposed ([in, out] -> PyTorch's [out, in]) in tiles as they stream; optimizer slots and
// global_step stay behind. No TensorFlow, no PyTorch, no copy of the weights in memory.
// The command-line tool does the same with a rules file:
//   tfckpt convert CKPT --to safetensors OUT --rules examples/rules/bert_to_pytorch.rules
//
//   example_bert_to_pytorch OUT.safetensors [CKPT]   (without CKPT, a one-layer BERT is generated)
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "tfckpt/tfckpt.hpp"

namespace {

// google-research/bert's variable name -> Hugging Face's state_dict key.
std::string hugging_face_name(std::string_view tf) {
  std::string name(tf);
  const auto replace_suffix = [&name](std::string_view from, std::string_view to) {
    if (!name.ends_with(from)) return false;
    name.replace(name.size() - from.size(), from.size(), to);
    return true;
  };
  replace_suffix("/kernel", "/weight") || replace_suffix("/gamma", "/weight") || replace_suffix("/beta", "/bias") ||
      replace_suffix("_embeddings", "_embeddings/weight") || replace_suffix("/output_weights", "/weight") ||
      replace_suffix("/output_bias", "/bias");
  if (const auto at = name.find("/layer_"); at != std::string::npos) name[at + 6] = '/';  // layer_3 -> layer/3
  for (char& c : name)
    if (c == '/') c = '.';
  return name;
}

// A one-layer BERT with hidden size 4, each weight holding 0, 1, 2, ... and an Adam slot beside it.
absl::Status write_small_bert(const std::filesystem::path& prefix) {
  const std::vector<std::pair<std::string, std::vector<std::int64_t>>> weights = {
      {"bert/embeddings/word_embeddings", {10, 4}},
      {"bert/embeddings/LayerNorm/gamma", {4}},
      {"bert/encoder/layer_0/attention/self/query/kernel", {4, 4}},
      {"bert/encoder/layer_0/attention/self/query/bias", {4}},
      {"bert/encoder/layer_0/intermediate/dense/kernel", {4, 6}},
      {"bert/encoder/layer_0/output/dense/kernel", {6, 4}},
      {"cls/seq_relationship/output_weights", {2, 4}},
  };
  std::vector<tfckpt::tensor> planned;
  for (const auto& [name, shape] : weights) {
    std::vector<float> v(static_cast<std::size_t>(tfckpt::checked_num_elements(shape).value()));
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
    for (const std::string& suffix : {std::string(), std::string("/adam_m")}) {
      tfckpt::tensor t;
      t.name = name + suffix;
      t.dtype = tfckpt::dtype::float32;
      t.shape = shape;
      t.source = tfckpt::byte_source::from_bytes(std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4));
      planned.push_back(std::move(t));
    }
  }
  const std::int64_t step = 1000;
  tfckpt::tensor global_step;
  global_step.name = "global_step";
  global_step.dtype = tfckpt::dtype::int64;
  global_step.source = tfckpt::byte_source::from_bytes(std::string(reinterpret_cast<const char*>(&step), sizeof step));
  planned.push_back(std::move(global_step));
  std::ranges::sort(planned, {}, &tfckpt::tensor::name);
  return tfckpt::write_bundle(planned, prefix, {.writer = {.sync = false, .overwrite = true}});
}

int fail(const absl::Status& s) { return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 3; }

}  // namespace

int main(int argc, char** argv) {
  const std::filesystem::path out = argc > 1 ? argv[1] : "bert-demo/model.safetensors";
  std::filesystem::path input = argc > 2 ? std::filesystem::path(argv[2]) : out.parent_path() / "bert_model.ckpt";
  if (argc <= 2) {
    std::filesystem::create_directories(out.parent_path());
    if (absl::Status s = write_small_bert(input); !s.ok()) return fail(s);
  }
  auto ckpt = tfckpt::open(input);
  if (!ckpt.ok()) return fail(ckpt.status());

  const auto pytorch = tfckpt::collect(
      tfckpt::entries(*ckpt)                                                                   //
      | tfckpt::views::filter(tfckpt::not_optimizer_slot())                                   // adam_m, adam_v
      | tfckpt::views::filter([](const tfckpt::tensor& t) { return t.name != "global_step"; })  //
      | tfckpt::views::transpose({.select = tfckpt::name_regex("/kernel$")})                  // [in,out] -> [out,in]
      | tfckpt::views::transform_names(hugging_face_name));
  std::fputs(tfckpt::describe_plan(pytorch).c_str(), stdout);
  if (absl::Status s = tfckpt::write_safetensors(pytorch, out, {.overwrite = true}); !s.ok()) return fail(s);
  std::printf("wrote %zu tensors to %s\n", pytorch.size(), out.string().c_str());
  return 0;
}
