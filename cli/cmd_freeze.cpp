// SPDX-License-Identifier: Apache-2.0
// `tfckpt freeze`: a graph plus a checkpoint into one frozen GraphDef, with TensorFlow's
// freeze_graph flag names (tfckpt::graph::freeze).
#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "output.hpp"
#include "pipeline.hpp"
#include "parse.hpp"
#include "tfckpt/graph/freeze.hpp"
#include "tfckpt/graph/graph_io.hpp"
#include "tfckpt/graph/saved_model_freeze.hpp"
#include "tfckpt/graph/summary.hpp"

namespace tfckpt_cli {
namespace {

struct freeze_cli_options {
  std::string input_graph;
  bool input_binary = false;
  std::string input_meta_graph;
  std::string input_saved_model_dir;
  std::string saved_model_tags = "serve";
  std::string signature = "serving_default";
  std::string input_saver;
  std::string input_checkpoint;
  std::string output_node_names;
  std::string output_graph;
  bool clear_devices = true;
  std::string whitelist;
  std::string blacklist;
  std::string restore_op_name;       // accepted for compatibility; unused, as in newer TensorFlow
  std::string filename_tensor_name;  // likewise
  bool allow_over_2gib = false;
  write_flags write;
};

// The graph, its saver and the checkpoint prefix, from whichever input flag was given.
struct loaded_input {
  tensorflow::GraphDef graph;
  std::optional<tensorflow::SaverDef> saver;
  std::vector<tensorflow::VariableDef> variable_defs;
  std::string checkpoint;
  std::vector<std::string> signature_outputs;  // a SavedModel's, when no output names were given
};

absl::StatusOr<loaded_input> load_input(const freeze_cli_options& opt) {
  loaded_input in;
  in.checkpoint = opt.input_checkpoint;
  if (!opt.input_saved_model_dir.empty()) {
    TFCKPT_ASSIGN_OR_RETURN(auto model,
                            tfckpt::graph::load_saved_model(opt.input_saved_model_dir, split_commas(opt.saved_model_tags)));
    TFCKPT_ASSIGN_OR_RETURN(in.variable_defs, tfckpt::graph::variable_defs(model.meta_graph));
    if (split_commas(opt.output_node_names).empty()) {
      TFCKPT_ASSIGN_OR_RETURN(in.signature_outputs,
                              tfckpt::graph::signature_outputs(model.meta_graph, opt.signature, opt.input_saved_model_dir));
      // A TF2 signature's outputs come from calls into the function library, which must be inlined first.
      for (const auto& node : model.meta_graph.graph_def().node())
        if (std::ranges::find(in.signature_outputs, node.name()) != in.signature_outputs.end() &&
            (node.op() == "StatefulPartitionedCall" || node.op() == "PartitionedCall"))
          return absl::UnimplementedError(absl::StrFormat(
              "%s: signature '%s' computes in functions (its output node '%s' is a %s, as in TF2 SavedModels); the "
              "graph holds no computation to freeze without inlining them",
              opt.input_saved_model_dir, opt.signature, node.name(), node.op()));
    }
    in.graph = std::move(*model.meta_graph.mutable_graph_def());
    if (model.meta_graph.has_saver_def()) in.saver = model.meta_graph.saver_def();
    if (in.checkpoint.empty()) in.checkpoint = model.variables_prefix.string();
  } else if (!opt.input_meta_graph.empty()) {
    TFCKPT_ASSIGN_OR_RETURN(auto meta, tfckpt::graph::load_meta_graph(opt.input_meta_graph));
    TFCKPT_ASSIGN_OR_RETURN(in.variable_defs, tfckpt::graph::variable_defs(meta));
    in.graph = std::move(*meta.mutable_graph_def());
    if (meta.has_saver_def()) in.saver = meta.saver_def();
  } else {
    TFCKPT_ASSIGN_OR_RETURN(in.graph, tfckpt::graph::load_graph_def(opt.input_graph, opt.input_binary
                                                                                        ? tfckpt::graph::graph_format::binary
                                                                                        : tfckpt::graph::graph_format::detect));
  }
  if (!opt.input_saver.empty()) {
    TFCKPT_ASSIGN_OR_RETURN(in.saver, tfckpt::graph::detail::load_message<tensorflow::SaverDef>(
                                          opt.input_saver, tfckpt::graph::graph_format::detect, "SaverDef"));
  }
  return in;
}

int print_freeze_plan(const tfckpt::graph::freeze_plan& plan, const tfckpt::graph::graph_plan& size,
               const freeze_cli_options& opt, const tfckpt::graph::saved_model_freeze_plan* signature = nullptr) {
  stdout_writer out;
  if (opt.write.json) {
    nlohmann::ordered_json j;
    j["output_graph"] = opt.output_graph;
    j["bytes"] = size.bytes;
    j["nodes"] = size.nodes;
    j["input_nodes"] = plan.input_nodes;
    j["pruned_nodes"] = plan.pruned_nodes;
    if (signature != nullptr) {
      j["signature"] = opt.signature;
      j["inputs"] = signature->inputs;
      j["outputs"] = signature->outputs;
    }
    j["variables"] = nlohmann::ordered_json::array();
    for (const auto& v : plan.variables)
      j["variables"].push_back({{"node", v.node},
                                {"op", v.op},
                                {"key", v.key},
                                {"slice", v.slice},
                                {"dtype", std::string(tfckpt::dtype_name(v.type))},
                                {"shape", v.shape},
                                {"bytes", v.bytes}});
    j["kept_variables"] = plan.kept_variables;
    j["unmatched_names"] = plan.unmatched_listed;
    out.buf() += j.dump(2) + "\n";
    return out.finish(kExitOk);
  }
  if (signature != nullptr)
    absl::StrAppendFormat(&out.buf(), "signature '%s': inputs %s; outputs %s\n", opt.signature,
                          signature->inputs.empty() ? "none" : absl::StrJoin(signature->inputs, ", "),
                          absl::StrJoin(signature->outputs, ", "));
  std::size_t width = 8;
  for (const auto& v : plan.variables) width = std::max(width, v.node.size());
  out.buf() += absl::StrFormat("%-*s  %-9s %-14s %12s  %s\n", width, "VARIABLE", "DTYPE", "SHAPE", "BYTES", "CHECKPOINT KEY");
  std::uint64_t bytes = 0;
  for (const auto& v : plan.variables) {
    out.buf() += absl::StrFormat("%-*s  %-9s %-14s %12d  %s%s\n", width, v.node, tfckpt::dtype_name(v.type),
                                 tfckpt::shape_string(v.shape), v.bytes, v.key, v.slice.empty() ? "" : " [" + v.slice + "]");
    bytes += v.bytes;
  }
  out.buf() += absl::StrFormat("%d variables frozen (%d bytes of values)", plan.variables.size(), bytes);
  if (!plan.kept_variables.empty())
    absl::StrAppendFormat(&out.buf(), "; kept as variables: %s", absl::StrJoin(plan.kept_variables, ", "));
  out.buf() += "\n";
  if (!plan.unmatched_listed.empty())
    absl::StrAppendFormat(&out.buf(), "note: not variables of the graph: %s\n", absl::StrJoin(plan.unmatched_listed, ", "));
  absl::StrAppendFormat(&out.buf(), "%s would be %d bytes: %d of the graph's %d nodes (%d pruned)\n", opt.output_graph,
                        size.bytes, size.nodes, plan.input_nodes, plan.pruned_nodes);
  return out.finish(kExitOk);
}

// Writes (or with --dry-run describes) a planned frozen graph.
int write_frozen(const tfckpt::graph::freeze_plan& plan, const freeze_cli_options& opt,
                 const tfckpt::graph::saved_model_freeze_plan* signature = nullptr) {
  if (opt.write.dry_run) {
    auto size = tfckpt::graph::plan_graph(plan.nodes, plan.tail, opt.output_graph, /*allow_over_2gib=*/true);
    if (!size.ok()) return report_error(size.status());
    const int rc = print_freeze_plan(plan, *size, opt, signature);
    if (rc == kExitOk && size->bytes > tfckpt::graph::kMaxGraphDefBytes && !opt.allow_over_2gib)
      return report_error(absl::StrFormat("%s would exceed protobuf's 2 GiB limit (TensorFlow cannot load it)", opt.output_graph));
    return rc;
  }
  tfckpt::graph::graph_write_options write;
  write.overwrite = opt.write.force;
  write.allow_over_2gib = opt.allow_over_2gib;
  progress_line progress("freezing");
  if (show_progress(opt.write.quiet))
    write.progress = [&progress](std::uint64_t done, std::uint64_t total) { progress.update(done, total); };
  if (absl::Status s = tfckpt::graph::write_graph_def(plan.nodes, plan.tail, opt.output_graph, write); !s.ok()) {
    if (s.code() == absl::StatusCode::kAlreadyExists && !opt.write.force)
      return report_error(absl::StrFormat("%s already exists (pass --force to replace it)", opt.output_graph));
    return report_error(s);
  }
  if (!opt.write.quiet)
    std::fprintf(stderr, "wrote %s: %zu nodes, %zu variables frozen\n", opt.output_graph.c_str(), plan.nodes.size(),
                 plan.variables.size());
  return kExitOk;
}

int run_freeze_graph(const freeze_cli_options& opt) {
  if (opt.input_checkpoint.empty() && opt.input_saved_model_dir.empty()) {
    std::fprintf(stderr, "tfckpt freeze: --input_checkpoint is required (except with --input_saved_model_dir)\n");
    return kExitUsage;
  }
  tfckpt::graph::freeze_options options;
  options.output_node_names = split_commas(opt.output_node_names);
  if (options.output_node_names.empty() && opt.input_saved_model_dir.empty()) {
    std::fprintf(stderr, "tfckpt freeze: --output_node_names needs at least one node name (a SavedModel's default: "
                         "its --signature's outputs)\n");
    return kExitUsage;
  }
  options.clear_devices = opt.clear_devices;
  options.variable_names_whitelist = split_commas(opt.whitelist);
  options.variable_names_blacklist = split_commas(opt.blacklist);
  auto in = load_input(opt);
  if (!in.ok()) return report_error(in.status());
  if (options.output_node_names.empty()) options.output_node_names = in->signature_outputs;
  options.saver_def = in->saver;
  options.variable_defs = in->variable_defs;
  auto ckpt = tfckpt::open(in->checkpoint);
  if (!ckpt.ok()) return report_error(ckpt.status());
  auto plan = tfckpt::graph::plan_freeze(in->graph, *ckpt, options);
  if (!plan.ok()) return report_error(plan.status());
  return write_frozen(*plan, opt);
}

// A TF2 SavedModel: its signature's functions inlined, the captured variables frozen.
int run_freeze_functions(const freeze_cli_options& opt, const tensorflow::MetaGraphDef& meta_graph,
                         const std::string& variables_prefix) {
  tfckpt::graph::saved_model_freeze_options options;
  options.signature = opt.signature;
  options.output_node_names = split_commas(opt.output_node_names);
  options.clear_devices = opt.clear_devices;
  options.variable_names_whitelist = split_commas(opt.whitelist);
  options.variable_names_blacklist = split_commas(opt.blacklist);
  auto ckpt = tfckpt::open(opt.input_checkpoint.empty() ? variables_prefix : opt.input_checkpoint);
  if (!ckpt.ok()) return report_error(ckpt.status());
  auto plan = tfckpt::graph::plan_saved_model_freeze(meta_graph, *ckpt, options);
  if (!plan.ok()) return report_error(plan.status());
  return write_frozen(plan->freeze, opt, &*plan);
}

int run_freeze(const freeze_cli_options& opt) {
  const int inputs = !opt.input_graph.empty() + !opt.input_meta_graph.empty() + !opt.input_saved_model_dir.empty();
  if (inputs != 1) {
    std::fprintf(stderr, "tfckpt freeze: give exactly one of --input_graph, --input_meta_graph, --input_saved_model_dir\n");
    return kExitUsage;
  }
  if (!opt.input_saved_model_dir.empty()) {
    auto model = tfckpt::graph::load_saved_model(opt.input_saved_model_dir, split_commas(opt.saved_model_tags));
    if (!model.ok()) return report_error(model.status());
    if (tfckpt::graph::is_object_based(model->meta_graph))
      return run_freeze_functions(opt, model->meta_graph, model->variables_prefix.string());
  }
  return run_freeze_graph(opt);
}

}  // namespace

command add_freeze(CLI::App& parent) {
  auto opt = std::make_shared<freeze_cli_options>();
  CLI::App* app = parent.add_subcommand("freeze", "Freeze a graph's variables into constants (TensorFlow's freeze_graph)");
  app->add_option("--input_graph", opt->input_graph, "GraphDef file, binary (.pb) or text (.pbtxt)")->type_name("FILE");
  app->add_flag("--input_binary", opt->input_binary, "Read --input_graph as binary (default: detected)");
  app->add_option("--input_meta_graph", opt->input_meta_graph, "MetaGraphDef file (.meta); its saver names the checkpoint keys")
      ->type_name("FILE");
  app->add_option("--input_saved_model_dir", opt->input_saved_model_dir,
                  "SavedModel directory; its variables/ checkpoint is used unless --input_checkpoint is given")
      ->type_name("DIR");
  app->add_option("--saved_model_tags", opt->saved_model_tags, "Tag set of the SavedModel's graph, comma-separated")
      ->capture_default_str()
      ->type_name("TAGS");
  app->add_option("--input_saver", opt->input_saver, "A SaverDef file (binary or text) naming the checkpoint keys")
      ->type_name("FILE");
  app->add_option("--signature", opt->signature,
                  "With --input_saved_model_dir: the signature to freeze (a TF2 SavedModel's function is inlined); "
                  "its outputs are the default --output_node_names")
      ->capture_default_str()
      ->type_name("NAME");
  app->add_option("--input_checkpoint", opt->input_checkpoint, kCheckpointHelp)->type_name("CKPT");
  app->add_option("--output_node_names", opt->output_node_names,
                  "Nodes the frozen graph computes, comma-separated (a SavedModel's default: its signature's outputs)")
      ->type_name("NAMES");
  app->add_option("--output_graph", opt->output_graph, "Frozen GraphDef to write (binary)")->type_name("FILE")->required();
  app->add_flag("--clear_devices", opt->clear_devices, "Empty every node's device (default true; --clear_devices=false keeps them)");
  app->add_option("--variable_names_whitelist", opt->whitelist, "Freeze only these variables, comma-separated")
      ->type_name("NAMES");
  app->add_option("--variable_names_blacklist", opt->blacklist, "Leave these variables as variables, comma-separated")
      ->type_name("NAMES");
  app->add_option("--restore_op_name", opt->restore_op_name, "Ignored (deprecated in TensorFlow too)")->type_name("NAME");
  app->add_option("--filename_tensor_name", opt->filename_tensor_name, "Ignored (deprecated in TensorFlow too)")
      ->type_name("NAME");
  app->add_flag("--allow_over_2gib", opt->allow_over_2gib,
                "Write a graph over protobuf's 2 GiB limit anyway (TensorFlow cannot load it)");
  add_write_flags(app, opt->write, "an existing --output_graph");
  app->footer(
      "Prunes the graph to what --output_node_names need, turns every variable (VariableV2, Variable,\n"
      "VarHandleOp) into a Const holding its checkpoint value, and writes the result atomically. Values\n"
      "stream from the checkpoint's mapped files. Every problem (missing outputs, variables without a\n"
      "value, dtype or shape mismatches) is reported before anything is written.\n"
      "\n"
      "A TF2 SavedModel (tf.saved_model.save, Keras) computes in functions: the --signature's call tree\n"
      "is inlined into one graph, its inputs become Placeholders and its outputs Identity nodes named\n"
      "after the signature's keys, and the captured variables become Consts (keys from the object graph),\n"
      "as TensorFlow's convert_variables_to_constants_v2 does.\n"
      "\n"
      "Examples:\n"
      "  tfckpt freeze --input_meta_graph train/model.ckpt-1000.meta --input_checkpoint train/model.ckpt-1000 \\\n"
      "                --output_node_names softmax --output_graph frozen.pb\n"
      "  tfckpt freeze --input_graph graph.pbtxt --input_checkpoint train/ --output_node_names y --output_graph y.pb\n"
      "  tfckpt freeze --input_saved_model_dir export/1 --output_node_names y --output_graph y.pb --dry-run\n"
      "  tfckpt freeze --input_saved_model_dir keras_export --signature serving_default --output_graph frozen.pb\n"
      "  tfckpt freeze --input_saved_model_dir export/1 --signature regress_x_to_y --output_graph y.pb");
  return {app, [opt] { return run_freeze(*opt); }};
}

}  // namespace tfckpt_cli
