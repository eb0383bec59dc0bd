// SPDX-License-Identifier: Apache-2.0
// `tfckpt match CKPT --graph G.meta|G.pb [--json]` (seed 001): which of the graph's variables the
// checkpoint can restore, and which are missing, unexpected or mismatched, all at once
// (tfckpt::graph::graph_variables + tfckpt::match_variables).
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/str_format.h"
#include "commands.hpp"
#include "output.hpp"
#include "tfckpt/graph/freeze.hpp"
#include "tfckpt/graph/graph_io.hpp"
#include "tfckpt/graph/summary.hpp"
#include "tfckpt/views/match.hpp"

namespace tfckpt_cli {
namespace {

struct match_options {
  std::string checkpoint;
  std::string graph;
  bool json = false;
};

int run_match(const match_options& opt) {
  auto graph = tfckpt::graph::load_model_graph(opt.graph);
  if (!graph.ok()) return report_error(graph.status());
  auto ckpt = tfckpt::open(opt.checkpoint);
  if (!ckpt.ok()) return report_error(ckpt.status());
  // The model's variables under the keys its saver restores them from (partitioned ones whole).
  const std::vector<tfckpt::variable_spec> model =
      tfckpt::graph::variable_specs(tfckpt::graph::graph_variables(graph->graph(), graph->saver(), graph->variable_defs));
  const tfckpt::match_report r = tfckpt::match_variables(tfckpt::entries(*ckpt), model);
  stdout_writer out;
  if (opt.json) {
    nlohmann::ordered_json j;
    j["complete"] = r.complete();
    j["matched"] = r.matched;
    j["missing"] = r.missing;
    j["unexpected"] = r.unexpected;
    j["mismatched"] = nlohmann::ordered_json::array();
    for (const auto& m : r.mismatched)
      j["mismatched"].push_back({{"name", m.name},
                                 {"graph_dtype", std::string(tfckpt::dtype_name(m.model_dtype))},
                                 {"graph_shape", m.model_shape},
                                 {"checkpoint_dtype", std::string(tfckpt::dtype_name(m.checkpoint_dtype))},
                                 {"checkpoint_shape", m.checkpoint_shape}});
    out.buf() += j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } else {
    out.buf() += r.describe();
  }
  return out.finish(r.complete() ? kExitOk : kExitCheckFailed);
}

}  // namespace

command add_match(CLI::App& parent) {
  auto opt = std::make_shared<match_options>();
  CLI::App* app = parent.add_subcommand("match", "Which graph variables a checkpoint can restore (missing, unexpected, mismatched)");
  app->add_option("CKPT", opt->checkpoint, kCheckpointHelp)->type_name("PATH")->required();
  app->add_option("--graph,-g", opt->graph, "The model: a MetaGraphDef (.meta), a GraphDef (.pb, .pbtxt) or a SavedModel directory")
      ->type_name("FILE")
      ->required();
  app->add_flag("--json", opt->json, "The report as JSON");
  app->footer(
      "Variables are matched under the checkpoint keys the graph's saver uses (from a .meta), else by\n"
      "node name; the parts of a partitioned variable (`w/part_0`...) as the full tensor their\n"
      "VariableDefs (or the saver's slice specs) name. Exit 0 when every variable can be restored, 1\n"
      "when some are missing or mismatched.\n"
      "\n"
      "Examples:\n"
      "  tfckpt match old/model.ckpt-1000 --graph new/model.ckpt-0.meta\n"
      "  tfckpt match old/ --graph graph.pbtxt --json");
  return {app, [opt] { return run_match(*opt); }};
}

}  // namespace tfckpt_cli
