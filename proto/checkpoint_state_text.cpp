// SPDX-License-Identifier: Apache-2.0
// The state file's text format (include/tfckpt/checkpoint/checkpoint_state.hpp), through protobuf's
// own TextFormat, compiled once here instead of in every translation unit that reads a state file.
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <string>

#include "tfckpt/checkpoint/checkpoint_state.hpp"
#include "tfckpt/proto/checkpoint_state.pb.h"

namespace tfckpt::detail {

namespace {
// Keeps protobuf's first error (instead of its stderr logging) for the caller's status.
struct first_error_collector : google::protobuf::io::ErrorCollector {
  std::string first;
  void AddError(int line, google::protobuf::io::ColumnNumber column, const std::string& message) override {
    if (first.empty()) first = "line " + std::to_string(line + 1) + " column " + std::to_string(column + 1) + ": " + message;
  }
};

class double_printer : public google::protobuf::TextFormat::FastFieldValuePrinter {
 public:
  explicit double_printer(std::string (*print)(double)) : print_(print) {}
  void PrintDouble(double v, google::protobuf::TextFormat::BaseTextGenerator* out) const override {
    out->PrintString(print_(v));
  }

 private:
  std::string (*print_)(double);
};
}  // namespace

bool parse_checkpoint_state_text(std::string_view text, checkpoint_state* state, std::string* error) {
  tensorflow::CheckpointState message;
  first_error_collector errors;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(text), &message)) {
    *error = errors.first;
    return false;
  }
  *state = checkpoint_state();
  state->set_model_checkpoint_path(message.model_checkpoint_path());
  for (const std::string& p : message.all_model_checkpoint_paths()) state->add_all_model_checkpoint_paths(p);
  for (double t : message.all_model_checkpoint_timestamps()) state->add_all_model_checkpoint_timestamps(t);
  state->set_last_preserved_timestamp(message.last_preserved_timestamp());
  return true;
}

std::string print_checkpoint_state_text(const checkpoint_state& state, std::string (*print_double)(double)) {
  tensorflow::CheckpointState message;
  message.set_model_checkpoint_path(state.model_checkpoint_path());
  for (const std::string& p : state.all_model_checkpoint_paths()) message.add_all_model_checkpoint_paths(p);
  for (double t : state.all_model_checkpoint_timestamps()) message.add_all_model_checkpoint_timestamps(t);
  message.set_last_preserved_timestamp(state.last_preserved_timestamp());
  google::protobuf::TextFormat::Printer printer;
  printer.SetDefaultFieldValuePrinter(new double_printer(print_double));  // the printer owns it
  std::string text;
  printer.PrintToString(message, &text);
  return text;
}

}  // namespace tfckpt::detail
