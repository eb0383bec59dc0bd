// SPDX-License-Identifier: Apache-2.0
// `tfckpt graph GRAPH [--tag T] [--signature S] [--checkpoint CKPT] [--json]`: a graph before
// freezing it: signatures, inputs, likely outputs, variables and whether a checkpoint holds them,
// op counts (tfckpt::graph::load_model_graph + summarize_graph).
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "commands.hpp"
#include "output.hpp"
#include "parse.hpp"
#include "tfckpt/graph/summary.hpp"

namespace tfckpt_cli {
namespace {

struct graph_options {
  std::string graph;
  std::string tags = "serve";
  std::string signature;
  std::string checkpoint;
  bool json = false;
};

std::string shape_text(const tfckpt::graph::tensor_summary& t) {
  return t.unknown_rank ? "<unknown>" : tfckpt::shape_string(t.shape);
}

nlohmann::ordered_json tensor_json(const tfckpt::graph::tensor_summary& t) {
  nlohmann::ordered_json j = {{"key", t.key}, {"tensor", t.tensor}, {"dtype", std::string(tfckpt::dtype_name(t.dtype))}};
  if (t.unknown_rank) j["shape"] = nullptr; else j["shape"] = t.shape;
  return j;
}

void print_json(const tfckpt::graph::graph_summary& s, const graph_options& opt, stdout_writer& out) {
  nlohmann::ordered_json j;
  j["graph"] = opt.graph;
  j["kind"] = std::string(tfckpt::graph::model_kind_name(s.kind));
  j["tags"] = s.tags;
  j["nodes"] = s.nodes;
  j["functions"] = s.functions;
  j["signatures"] = nlohmann::ordered_json::array();
  for (const auto& sig : s.signatures) {
    nlohmann::ordered_json js = {{"key", sig.key}, {"method", sig.method}, {"inputs", nlohmann::ordered_json::array()},
                                 {"outputs", nlohmann::ordered_json::array()}};
    for (const auto& t : sig.inputs) js["inputs"].push_back(tensor_json(t));
    for (const auto& t : sig.outputs) js["outputs"].push_back(tensor_json(t));
    j["signatures"].push_back(std::move(js));
  }
  j["inputs"] = nlohmann::ordered_json::array();
  for (const auto& t : s.inputs) j["inputs"].push_back(tensor_json(t));
  j["likely_outputs"] = s.likely_outputs;
  j["checkpoint"] = s.checkpoint.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(s.checkpoint);
  j["variables"] = nlohmann::ordered_json::array();
  for (const auto& v : s.variables) {
    nlohmann::ordered_json jv = {{"node", v.variable.node},
                                 {"op", v.variable.op},
                                 {"key", v.variable.key},
                                 {"slice", v.variable.slice},
                                 {"dtype", std::string(tfckpt::dtype_name(v.variable.dtype))}};
    if (v.variable.unknown_rank) jv["shape"] = nullptr; else jv["shape"] = v.variable.shape;
    jv["status"] = std::string(tfckpt::graph::variable_status_name(v.status));
    if (v.status == tfckpt::graph::variable_status::held || v.status == tfckpt::graph::variable_status::mismatched) {
      jv["checkpoint_dtype"] = std::string(tfckpt::dtype_name(v.checkpoint_dtype));
      jv["checkpoint_shape"] = v.checkpoint_shape;
    }
    j["variables"].push_back(std::move(jv));
  }
  j["ops"] = nlohmann::ordered_json::object();
  for (const auto& o : s.ops) j["ops"][o.op] = o.count;
  j["notes"] = s.notes;
  out.buf() += j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void print_text(const tfckpt::graph::graph_summary& s, const graph_options& opt, stdout_writer& out) {
  std::string& b = out.buf();
  absl::StrAppendFormat(&b, "%s: %s%s, %d nodes, %d functions\n", opt.graph, tfckpt::graph::model_kind_name(s.kind),
                        s.tags.empty() ? "" : " {" + absl::StrJoin(s.tags, ",") + "}", s.nodes, s.functions);
  if (!s.signatures.empty()) {
    b += "\nSIGNATURES\n";
    for (const auto& sig : s.signatures) {
      absl::StrAppendFormat(&b, "  %s%s\n", sig.key, sig.method.empty() ? "" : " (" + sig.method + ")");
      for (const auto* list : {&sig.inputs, &sig.outputs})
        for (const auto& t : *list)
          absl::StrAppendFormat(&b, "    %-6s %s: %s %s %s\n", list == &sig.inputs ? "input" : "output", t.key,
                                t.tensor.empty() ? "<composite>" : t.tensor, tfckpt::dtype_name(t.dtype), shape_text(t));
    }
  }
  b += "\nINPUTS (placeholders)\n";
  for (const auto& t : s.inputs) absl::StrAppendFormat(&b, "  %s %s %s\n", t.key, tfckpt::dtype_name(t.dtype), shape_text(t));
  if (s.inputs.empty()) b += "  none\n";
  b += "\nLIKELY OUTPUTS (nothing consumes them)\n";
  for (const auto& o : s.likely_outputs) absl::StrAppendFormat(&b, "  %s\n", o);
  if (s.likely_outputs.empty()) b += "  none\n";
  absl::StrAppendFormat(&b, "\nVARIABLES (%d%s)\n", s.variables.size(),
                        s.checkpoint.empty() ? ", no checkpoint checked" : ", checked against " + s.checkpoint);
  std::size_t width = 4;
  for (const auto& v : s.variables) width = std::max(width, v.variable.node.size());
  if (!s.variables.empty())
    absl::StrAppendFormat(&b, "  %-*s  %-9s %-12s %-10s %s\n", width, "NODE", "DTYPE", "SHAPE", "STATUS", "CHECKPOINT KEY");
  for (const auto& v : s.variables) {
    std::string key = v.variable.key;
    if (!v.variable.slice.empty()) absl::StrAppendFormat(&key, " [%s]", v.variable.slice);
    if (v.status == tfckpt::graph::variable_status::mismatched)
      absl::StrAppendFormat(&key, " (checkpoint: %s %s)", tfckpt::dtype_name(v.checkpoint_dtype),
                            tfckpt::shape_string(v.checkpoint_shape));
    absl::StrAppendFormat(&b, "  %-*s  %-9s %-12s %-10s %s\n", width, v.variable.node, tfckpt::dtype_name(v.variable.dtype),
                          v.variable.unknown_rank ? "<unknown>" : tfckpt::shape_string(v.variable.shape),
                          tfckpt::graph::variable_status_name(v.status), key);
  }
  b += "\nOPS\n";
  for (const auto& o : s.ops) absl::StrAppendFormat(&b, "  %5d %s\n", o.count, o.op);
  for (const auto& n : s.notes) absl::StrAppendFormat(&b, "\nnote: %s\n", n);
}

int run_graph(const graph_options& opt) {
  auto model = tfckpt::graph::load_model_graph(opt.graph, split_commas(opt.tags));
  if (!model.ok()) return report_error(model.status());
  std::optional<tfckpt::checkpoint> ckpt;
  if (!opt.checkpoint.empty() || !model->variables_prefix.empty()) {
    auto opened = tfckpt::open(opt.checkpoint.empty() ? model->variables_prefix : std::filesystem::path(opt.checkpoint));
    // A SavedModel may have no variables at all; only a checkpoint asked for must open.
    if (!opened.ok() && !opt.checkpoint.empty()) return report_error(opened.status());
    if (opened.ok()) ckpt = std::move(*opened);
  }
  tfckpt::graph::graph_summary s = tfckpt::graph::summarize_graph(*model, ckpt ? &*ckpt : nullptr);
  if (!opt.signature.empty()) {
    // Only the signature asked for, which must exist.
    if (auto outputs = tfckpt::graph::signature_outputs(*model, opt.signature); !outputs.ok())
      return report_error(outputs.status());
    std::erase_if(s.signatures, [&](const auto& sig) { return sig.key != opt.signature; });
  }
  stdout_writer out;
  if (opt.json) print_json(s, opt, out); else print_text(s, opt, out);
  return out.finish(kExitOk);
}

}  // namespace

command add_graph(CLI::App& parent) {
  auto opt = std::make_shared<graph_options>();
  CLI::App* app = parent.add_subcommand(
      "graph", "A graph before freezing: signatures, inputs, likely outputs, variables and whether a checkpoint holds them");
  app->add_option("GRAPH", opt->graph, "A GraphDef (.pb, .pbtxt), a MetaGraphDef (.meta) or a SavedModel directory")
      ->type_name("PATH")
      ->required();
  app->add_option("--tag", opt->tags, "Tag set of the SavedModel's graph, comma-separated")->capture_default_str()->type_name("TAGS");
  app->add_option("--signature", opt->signature, "Show only this signature")->type_name("KEY");
  app->add_option("--checkpoint,-c", opt->checkpoint,
                  "Check the variables against this checkpoint (default: a SavedModel's own variables)")
      ->type_name("CKPT");
  app->add_flag("--json", opt->json, "The summary as JSON");
  app->footer(
      "Likely outputs are the nodes nothing consumes, less constants, placeholders, variables, initializers,\n"
      "the saver and summaries (as TensorFlow's summarize_graph finds them): candidates for\n"
      "`tfckpt freeze --output_node_names`. A SavedModel's signatures name its outputs exactly.\n"
      "\n"
      "Examples:\n"
      "  tfckpt graph export/1\n"
      "  tfckpt graph train/model.ckpt-1000.meta --checkpoint train/ --json\n"
      "  tfckpt graph frozen.pb");
  return {app, [opt] { return run_graph(*opt); }};
}

}  // namespace tfckpt_cli
